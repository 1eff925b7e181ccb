"""One car as the viewer shows it: :class:`CarView` (pose, last step record, rewards, best lap,
trail) and the functions that draw a car and its trail."""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Sequence

import numpy as np
import pygame

from deepracer_sim.constants import (
    CAR_LENGTH,
    CAR_WIDTH,
    REFERENCE_POINT_X,
    STATUS_CODES,
    STEP_DT,
    WHEEL_POSITIONS,
)
from deepracer_sim.sim import layout
from deepracer_sim.viewer.camera import Camera
from deepracer_sim.viewer.style import (
    BOT_BODY,
    BOX_FILL,
    CAR_BODY,
    CAR_GHOST,
    CAR_OUTLINE,
    CAR_WHEEL,
    RAMP_LEVELS,
    RAMP_TABLE,
    REFERENCE_DOT,
    TRAIL_MAX,
    TRAIL_WIDTH,
    WHEEL_LENGTH,
    WHEEL_WIDTH,
)


class CarView:
    """What the viewer shows of one car, fed one step at a time.

    :meth:`step` takes the pose after the step ``(x, y, yaw rad, speed m/s, steering rad)``
    (``simulator.s[i, :5]``), the step's record (``simulator.rec[i]``, ``R_*`` columns: the
    values the reward function saw) and its reward. A record with ``steps == 1`` (the PREPARE
    step) starts a new episode: the trail and the episode reward restart.

    Args:
        auto_reset: the simulator resets a car in the step that ends its episode (the
            vectorised env): the pose after such a step is the next episode's start, not part
            of the trail.
    """

    def __init__(self, auto_reset: bool = False, trail_max: int = TRAIL_MAX) -> None:
        self.auto_reset = auto_reset
        self.pose: tuple[float, ...] | None = None
        self.row: list[float] | None = None
        self.reward = 0.0
        self.episode_reward = 0.0
        self.best_lap = math.inf
        self.laps = 0
        self.episodes = 0
        self.last_end: tuple[str, float, float] | None = None  # status, progress, lap time
        self.trail: deque[tuple[float, float, float, float]] = deque(maxlen=trail_max)
        self._ended = False

    def start(self, pose: Sequence[float]) -> None:
        """A new episode at ``pose`` before its first step (e.g. after ``env.reset()``)."""
        self.pose = tuple(float(v) for v in pose[:5])
        self.row = None
        self.reward = 0.0
        self.episode_reward = 0.0
        self.trail.clear()
        self.trail.append((self.pose[0], self.pose[1], self.pose[3], 0.0))
        self._ended = False

    def step(self, pose: Sequence[float], row: Sequence[float], reward: float) -> None:
        """Take one step (see the class docstring)."""
        pose = tuple(float(v) for v in pose[:5])
        row = list(row)
        if row[layout.R_STEPS] <= 1.0 or self._ended:
            self.trail.clear()
            self.episode_reward = 0.0
            self._ended = False
        self.row = row
        self.reward = float(reward)
        self.episode_reward += self.reward
        ended = row[layout.R_DONE] > 0.5 or row[layout.R_TRUNCATED] > 0.5
        if not (ended and self.auto_reset):
            self.trail.append((pose[0], pose[1], pose[3], self.reward))
        self.pose = pose
        if ended:
            self._ended = True
            self.episodes += 1
            status = STATUS_CODES[int(row[layout.R_STATUS])]
            lap_time = (row[layout.R_STEPS] - 1.0) * STEP_DT
            self.last_end = (status, row[layout.R_PROGRESS], lap_time)
            if status == "lap_complete":
                self.laps += 1
                self.best_lap = min(self.best_lap, lap_time)

    # values the HUD shows -----------------------------------------------------------------
    @property
    def status(self) -> str:
        return STATUS_CODES[int(self.row[layout.R_STATUS])] if self.row is not None else "prepare"

    @property
    def steps(self) -> int:
        return int(self.row[layout.R_STEPS]) if self.row is not None else 0

    @property
    def lap_time(self) -> float:
        """Simulated seconds since the PREPARE step."""
        return max(self.steps - 1, 0) * STEP_DT

    @property
    def progress(self) -> float:
        return self.row[layout.R_PROGRESS] if self.row is not None else 0.0


def draw_car(surface: pygame.Surface, cam: Camera, pose: Sequence[float],
             ghost: bool = False) -> None:
    """The car's footprint (CAR_LENGTH x CAR_WIDTH centred on the car origin, spec §3.1),
    its wheels (front ones turned by the steering angle) and the params' reference point."""
    x, y, yaw = float(pose[0]), float(pose[1]), float(pose[2])
    steer = float(pose[4]) if len(pose) > 4 else 0.0
    c, s = math.cos(yaw), math.sin(yaw)

    def place(px: np.ndarray, py: np.ndarray) -> list:
        wx = x + c * px - s * py
        wy = y + s * px + c * py
        return np.column_stack(cam.world_to_screen(wx, wy)).tolist()

    hl, hw = CAR_LENGTH / 2.0, CAR_WIDTH / 2.0
    body = place(np.array([-hl, hl, hl, -hl]), np.array([-hw, -hw, hw, hw]))
    if ghost:
        pygame.draw.polygon(surface, CAR_GHOST, body)
        return
    pygame.draw.polygon(surface, CAR_BODY, body)
    pygame.draw.polygon(surface, CAR_OUTLINE, body, max(1, round(0.012 * cam.scale)))
    if cam.scale >= 40:  # wheels and details once they are a few pixels large
        for k, (wx, wy) in enumerate(WHEEL_POSITIONS):
            a = steer if k in (1, 3) else 0.0
            ca, sa = math.cos(a), math.sin(a)
            lx = np.array([-1, 1, 1, -1]) * WHEEL_LENGTH / 2
            ly = np.array([-1, -1, 1, 1]) * WHEEL_WIDTH / 2
            pygame.draw.polygon(surface, CAR_WHEEL,
                                place(wx + ca * lx - sa * ly, wy + sa * lx + ca * ly))
        # windscreen: a lighter wedge towards the front
        wedge = place(np.array([0.03, 0.11, 0.03]), np.array([-0.06, 0.0, 0.06]))
        pygame.draw.polygon(surface, CAR_OUTLINE, wedge)
        ref = place(np.array([REFERENCE_POINT_X]), np.array([0.0]))[0]
        pygame.draw.circle(surface, REFERENCE_DOT, ref, max(2, round(0.015 * cam.scale)))


def draw_objects(surface: pygame.Surface, cam: Camera, obj: np.ndarray) -> None:
    """Boxes (their 0.4 x 0.3 m footprint) and bot cars (the car rectangle) of one car's
    objects (M, NO) (:mod:`deepracer_sim.sim.objects`); slots never placed (NaN) are skipped."""
    for o in obj:
        if not np.isfinite(o[layout.O_X]):
            continue
        c, s = math.cos(o[layout.O_YAW]), math.sin(o[layout.O_YAW])
        hl, hw = o[layout.O_LIDAR_HALF_LEN], o[layout.O_LIDAR_HALF_WID]
        px = np.array([-hl, hl, hl, -hl])
        py = np.array([-hw, -hw, hw, hw])
        sx, sy = cam.world_to_screen(o[layout.O_X] + c * px - s * py,
                                     o[layout.O_Y] + s * px + c * py)
        poly = np.column_stack([sx, sy]).tolist()
        bot = o[layout.O_KIND] == layout.KIND_BOT
        pygame.draw.polygon(surface, BOT_BODY if bot else BOX_FILL, poly)
        pygame.draw.polygon(surface, CAR_OUTLINE, poly, max(1, round(0.01 * cam.scale)))


def draw_trail(surface: pygame.Surface, cam: Camera, car: CarView, vals: np.ndarray,
               lo: float, hi: float) -> None:
    """The car's trail, each segment coloured by its end point's value in ``vals`` (P,) on the
    ramp from ``lo`` to ``hi``."""
    n = len(car.trail)
    if n < 2:
        return
    pts = np.array(car.trail)
    sx, sy = cam.world_to_screen(pts[:, 0], pts[:, 1])
    xy = np.column_stack([sx, sy])
    t = (vals - lo) / (hi - lo) if hi > lo else np.ones_like(vals)
    # segment k (point k to k+1) takes the colour of its end point: the step's value
    level = np.clip(np.rint(t[1:] * (RAMP_LEVELS - 1)), 0, RAMP_LEVELS - 1).astype(int)
    width = max(2, round(TRAIL_WIDTH * cam.scale))
    cuts = np.flatnonzero(np.diff(level)) + 1
    bounds = [0, *cuts.tolist(), len(level)]
    xy_list = xy.tolist()
    for a, b in itertools.pairwise(bounds):
        colour = RAMP_TABLE[level[a]]
        pygame.draw.lines(surface, colour, False, xy_list[a:b + 1], width)
