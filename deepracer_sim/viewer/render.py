"""Drawing a DeepRacer scene with pygame: track, cars, trail and HUD, to any pygame Surface.

Nothing here opens a window: :class:`Renderer` draws onto a Surface the caller owns (the
window's, or an offscreen ``pygame.Surface`` for ``rgb_array`` frames and videos), so the same
code serves the live windows, the recorder and the tests.

* :class:`TrackArt` - the track's lines (numpy only), from a :class:`~deepracer_sim.track.Track`
  or a raw (N, 6) waypoint array: road, inner and outer border, dashed centre line, start/finish
  line, waypoint labels.
* :class:`Camera` - the world-to-screen transform (metres to pixels, y up): fit the whole track,
  follow the car, zoom, pan.
* :class:`CarView` - what is shown of one car: its pose, its last step record (``kernel.R_*``
  columns), the step and episode reward, the best lap and the trail.
* :class:`Renderer` - draws all of it; :meth:`Renderer.handle_event` implements the keys and
  mouse controls every viewer shares (:data:`HELP`).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pygame

from deepracer_sim.constants import (
    CAR_LENGTH,
    CAR_WIDTH,
    MAX_SPEED,
    REFERENCE_POINT_X,
    STATUS_CODES,
    STEP_DT,
    WHEEL_POSITIONS,
)
from deepracer_sim.sim import layout

# --- palette -------------------------------------------------------------------------------
BACKGROUND = (27, 43, 36)
ROAD = (64, 67, 74)
BORDER = (236, 236, 230)
CENTRE_LINE = (246, 196, 38)
START_DARK = (20, 20, 20)
START_LIGHT = (245, 245, 245)
WAYPOINT = (150, 190, 255)
CAR_BODY = (168, 85, 247)
CAR_OUTLINE = (250, 245, 255)
CAR_WHEEL = (18, 18, 22)
CAR_GHOST = (125, 105, 150)
REFERENCE_DOT = (255, 255, 255)
HUD_TEXT = (238, 240, 245)
HUD_DIM = (160, 168, 180)
HUD_BG = (12, 14, 20, 190)
STATUS_COLOURS = {
    "prepare": (160, 168, 180),
    "in_progress": (120, 220, 140),
    "lap_complete": (90, 200, 255),
    "off_track": (255, 110, 90),
    "reversed": (255, 170, 60),
    "immobilized": (255, 170, 60),
    "time_up": (255, 170, 60),
}
#: Trail colour ramp, low to high (speed or reward): blue, cyan, green, yellow, red.
RAMP = ((48, 110, 255), (0, 205, 220), (70, 215, 80), (250, 215, 40), (240, 60, 40))
RAMP_LEVELS = 48

# --- sizes in metres (DeepRacer tracks: 2-inch white borders, dashed yellow centre line) ---
BORDER_WIDTH = 0.05
CENTRE_WIDTH = 0.025
DASH_LENGTH = 0.15
DASH_GAP = 0.15
TRAIL_WIDTH = 0.035
WHEEL_LENGTH = 0.07  # wheel diameter (radius 0.035 m, spec §3.1)
WHEEL_WIDTH = 0.03
#: Trail points kept per car (an episode of 5000 steps is 333 simulated seconds).
TRAIL_MAX = 5000
#: Pixels between labelled waypoints (every k-th index is labelled).
LABEL_SPACING_PX = 26

HELP = (
    ("F", "follow the car / whole track"),
    ("T", "trail colour: speed / reward"),
    ("W", "waypoint indices"),
    ("wheel + -", "zoom"),
    ("drag", "pan"),
    ("0", "show the whole track"),
    ("Tab", "next car"),
    ("H", "hide the HUD"),
    ("F1 ?", "this help"),
)

_FONTS: dict[int, pygame.font.Font] = {}


def font(size: int) -> pygame.font.Font:
    """A monospace font of ``size`` pixels (DejaVu Sans Mono if installed, else pygame's)."""
    f = _FONTS.get(size)
    if f is None:
        if not pygame.font.get_init():
            pygame.font.init()
        try:
            f = pygame.font.SysFont("dejavusansmono,liberationmono,menlo,consolas,monospace",
                                    size)
        except Exception:  # no fontconfig: the default font
            f = pygame.font.Font(None, size)
        _FONTS[size] = f
    return f


def action_space_max_speed(space) -> float:
    """The highest speed an action space commands, m/s (the top of the trail colours)."""
    if space is None:
        return MAX_SPEED
    if space.continuous:
        return float(space.actions[1, 1])
    return float(np.max(space.speed))


def ramp_colour(t: float) -> tuple[int, int, int]:
    """The trail colour of a value ``t`` in [0, 1] (clipped), piecewise linear over RAMP."""
    t = min(max(t, 0.0), 1.0) * (len(RAMP) - 1)
    k = min(int(t), len(RAMP) - 2)
    f = t - k
    a, b = RAMP[k], RAMP[k + 1]
    return (round(a[0] + f * (b[0] - a[0])), round(a[1] + f * (b[1] - a[1])),
            round(a[2] + f * (b[2] - a[2])))


_RAMP_TABLE = [ramp_colour(k / (RAMP_LEVELS - 1)) for k in range(RAMP_LEVELS)]


class TrackArt:
    """The track's drawable lines, in metres.

    Args:
        track: a :class:`~deepracer_sim.track.Track` or an (N, 6) waypoint array
            (centre | inner | outer, the ``.npy`` layout).
        name: shown in the HUD (default: the track's name).
    """

    def __init__(self, track, name: str | None = None) -> None:
        wp = np.asarray(getattr(track, "waypoints", track), dtype=np.float64)
        self.name = name if name is not None else getattr(track, "name", "track")
        self.waypoints = wp
        self.centre = wp[:, 0:2]
        self.inner = wp[:, 2:4]
        self.outer = wp[:, 4:6]
        self.is_loop = bool(np.all(wp[0] == wp[-1]))
        pts = wp.reshape(-1, 2)
        lo = pts.min(axis=0)
        hi = pts.max(axis=0)
        #: (xmin, ymin, xmax, ymax) of all three lines, m.
        self.bounds = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
        seg = np.hypot(*np.diff(self.centre, axis=0).T)
        self.cum = np.concatenate([[0.0], np.cumsum(seg)])
        self.length = float(self.cum[-1])
        # the road as quads between consecutive rows (works for loops and open tracks)
        self.quads = np.stack([self.inner[:-1], self.inner[1:], self.outer[1:], self.outer[:-1]],
                              axis=1)
        self.dashes = self._dashes()
        self.start_squares = self._chequers(0)
        if not self.is_loop:
            self.start_squares += self._chequers(len(wp) - 1)

    def _dashes(self) -> np.ndarray:
        """(D, 4, 2) centre-line dashes, each sampled at 4 points."""
        period = DASH_LENGTH + DASH_GAP
        starts = np.arange(0.0, max(self.length - DASH_LENGTH, 0.0), period)
        if len(starts) == 0:
            return np.zeros((0, 4, 2))
        s = starts[:, None] + np.linspace(0.0, DASH_LENGTH, 4)[None, :]
        x = np.interp(s, self.cum, self.centre[:, 0])
        y = np.interp(s, self.cum, self.centre[:, 1])
        return np.stack([x, y], axis=-1)

    def _chequers(self, row: int) -> list[tuple[np.ndarray, tuple[int, int, int]]]:
        """A chequered start/finish band across the road at waypoint ``row``: 2 rows of 8."""
        inner = self.inner[row]
        outer = self.outer[row]
        n = len(self.centre)
        a = self.centre[min(row + 1, n - 1)] - self.centre[max(row - 1, 0)]
        if self.is_loop and row == 0:
            a = self.centre[1] - self.centre[-2]
        along = a / max(float(np.hypot(*a)), 1e-9)
        across = (outer - inner) / 8.0
        size = float(np.hypot(*across))
        squares = []
        for r in (0, 1):
            for k in range(8):
                p0 = inner + k * across + (r - 1) * size * along
                quad = np.array([p0, p0 + across, p0 + across + size * along, p0 + size * along])
                squares.append((quad, START_LIGHT if (k + r) % 2 == 0 else START_DARK))
        return squares


class Camera:
    """World (m, y up) to screen (pixels, y down) for a view of ``width`` x ``height`` pixels.

    ``screen = (width / 2 + (x - cx) * scale, height / 2 - (y - cy) * scale)``: ``scale`` pixels
    per metre with the world point (cx, cy) at the view's centre.

    Modes: ``"fit"`` (the whole track, refitted on resize), ``"follow"`` (centred on the car
    at ``follow_scale``), ``"free"`` (after the user pans).

    ``avoid`` (width, height): a box in the top-left corner (the HUD) that the fitted track
    keeps clear of, by fitting it to the right of or below the box, when that costs at most a
    fifth of the scale.
    """

    def __init__(self, bounds: Sequence[float], width: int, height: int,
                 margin: int = 16, avoid: tuple[int, int] | None = None) -> None:
        self.bounds = tuple(float(b) for b in bounds)
        self.width = int(width)
        self.height = int(height)
        self.margin = margin
        self.avoid = avoid
        self.mode = "fit"
        self.scale = 1.0
        self.cx = 0.0
        self.cy = 0.0
        self.follow_scale: float | None = None
        self.fit()

    def fit_scale(self, left: float = 0.0, top: float = 0.0) -> float:
        """Pixels per metre that fit the track into the view right of ``left``, below ``top``."""
        x0, y0, x1, y1 = self.bounds
        w = max(self.width - left - 2 * self.margin, 1)
        h = max(self.height - top - 2 * self.margin, 1)
        return min(w / max(x1 - x0, 1e-6), h / max(y1 - y0, 1e-6))

    def fit(self) -> None:
        """Show the whole track (clear of ``avoid`` if that costs little)."""
        x0, y0, x1, y1 = self.bounds
        self.mode = "fit"
        left = top = 0.0
        scale = self.fit_scale()
        if self.avoid is not None:
            aw, ah = self.avoid
            right, below = self.fit_scale(left=aw), self.fit_scale(top=ah)
            if max(right, below) >= 0.8 * scale:
                left, top = (aw, 0.0) if right >= below else (0.0, ah)
                scale = max(right, below)
        self.scale = scale
        # the track's centre goes to the centre of the area it is fitted into
        self.cx = 0.5 * (x0 + x1) - 0.5 * left / scale
        self.cy = 0.5 * (y0 + y1) + 0.5 * top / scale

    def follow(self, x: float | None = None, y: float | None = None) -> None:
        """Follow the car: centre on (x, y) at the follow zoom (about 4 m across)."""
        if self.follow_scale is None:
            self.follow_scale = max(min(self.width, self.height) / 4.0, self.fit_scale())
        self.mode = "follow"
        self.scale = self.follow_scale
        if x is not None and y is not None:
            self.cx, self.cy = float(x), float(y)

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = int(width), int(height)
        if self.mode == "fit":
            self.fit()

    def zoom(self, factor: float, at: tuple[float, float] | None = None) -> None:
        """Zoom by ``factor`` keeping the screen point ``at`` (default the centre) fixed."""
        new = min(max(self.scale * factor, 2.0), 5000.0)
        if at is not None and self.mode != "follow":
            wx, wy = self.screen_to_world(*at)
            self.scale = new
            sx, sy = self.world_to_screen(wx, wy)
            self.cx += (sx - at[0]) / new
            self.cy -= (sy - at[1]) / new
        else:
            self.scale = new
        if self.mode == "follow":
            self.follow_scale = new
        elif self.mode == "fit":
            self.mode = "free"

    def pan(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) pixels (drag)."""
        self.cx -= dx / self.scale
        self.cy += dy / self.scale
        self.mode = "free"

    def world_to_screen(self, x, y):
        """Screen pixel coordinates (floats; arrays in, arrays out) of world points."""
        return (self.width / 2.0 + (np.asarray(x) - self.cx) * self.scale,
                self.height / 2.0 - (np.asarray(y) - self.cy) * self.scale)

    def screen_to_world(self, sx, sy):
        return (self.cx + (np.asarray(sx) - self.width / 2.0) / self.scale,
                self.cy - (np.asarray(sy) - self.height / 2.0) / self.scale)

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        """The integer pixel (column, row) a world point falls in."""
        sx, sy = self.world_to_screen(x, y)
        return math.floor(float(sx)), math.floor(float(sy))


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


def hud_lines(car: CarView | None, best_lap: float = math.inf) -> list[tuple[str, str]]:
    """The HUD's (label, value) rows for a car (the values are what the tests read)."""
    if car is None or car.pose is None:
        return [("status", "waiting for the first step")]
    row = car.row
    speed_cmd = f"  (action {row[layout.R_SPEED]:.2f})" if row is not None else ""
    steer_cmd = f"  (action {row[layout.R_STEER]:+.1f}°)" if row is not None else ""
    best = min(best_lap, car.best_lap)
    return [
        ("step", f"{car.steps}"),
        ("speed", f"{car.pose[3]:.2f} m/s{speed_cmd}"),
        ("steering", f"{math.degrees(car.pose[4]):+.1f}°{steer_cmd}"),
        ("reward", f"{car.reward:.3f}"),
        ("episode", f"{car.episode_reward:.2f}"),
        ("progress", f"{car.progress:.1f} %"),
        ("lap time", f"{car.lap_time:.2f} s"),
        ("status", car.status),
        ("best lap", f"{best:.2f} s" if math.isfinite(best) else "-"),
    ]


class Renderer:
    """Draws the scene onto a pygame Surface (see the module docstring).

    Args:
        track: a Track or an (N, 6) waypoint array (or a :class:`TrackArt`).
        max_speed: the speed at the top of the trail's colour ramp, m/s (the action space's
            highest speed).
        follow: start following the car (else show the whole track).
    """

    def __init__(self, track, max_speed: float = MAX_SPEED, follow: bool = False) -> None:
        self.art = track if isinstance(track, TrackArt) else TrackArt(track)
        self.max_speed = float(max_speed) if max_speed and max_speed > 0 else MAX_SPEED
        self.camera: Camera | None = None
        self.follow = follow
        self.trail_mode = "speed"
        self.show_waypoints = False
        self.show_hud = True
        self.show_help = False
        self._layer: tuple[tuple, pygame.Surface, float, float] | None = None
        self._drag: tuple[int, int] | None = None

    # --- controls --------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> str | None:
        """Apply a key or mouse event; returns the action name it triggered (or None).

        "next_car" is returned for Tab (the caller decides what the next car is).
        """
        cam = self.camera
        if event.type == pygame.KEYDOWN:
            key = event.key
            if key == pygame.K_f:
                self.follow = not self.follow
                if cam is not None and not self.follow:
                    cam.fit()
                return "follow"
            if key == pygame.K_t:
                self.trail_mode = "reward" if self.trail_mode == "speed" else "speed"
                return "trail"
            if key == pygame.K_w:
                self.show_waypoints = not self.show_waypoints
                return "waypoints"
            if key in (pygame.K_h,):
                self.show_hud = not self.show_hud
                return "hud"
            if key in (pygame.K_F1, pygame.K_QUESTION, pygame.K_SLASH):
                self.show_help = not self.show_help
                return "help"
            if key in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS) and cam is not None:
                cam.zoom(1.25)
                return "zoom"
            if key in (pygame.K_MINUS, pygame.K_KP_MINUS) and cam is not None:
                cam.zoom(0.8)
                return "zoom"
            if key in (pygame.K_0, pygame.K_HOME) and cam is not None:
                self.follow = False
                cam.fit()
                return "fit"
            if key == pygame.K_TAB:
                return "next_car"
        elif event.type == pygame.MOUSEWHEEL and cam is not None:
            at = pygame.mouse.get_pos() if pygame.display.get_init() else None
            cam.zoom(1.15 ** event.y, at)
            return "zoom"
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            self._drag = event.pos
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self._drag = None
        elif event.type == pygame.MOUSEMOTION and self._drag is not None and cam is not None:
            dx = event.pos[0] - self._drag[0]
            dy = event.pos[1] - self._drag[1]
            self._drag = event.pos
            if dx or dy:
                self.follow = False
                cam.pan(dx, dy)
                return "pan"
        return None

    # --- drawing ---------------------------------------------------------------------------
    def prepare_camera(self, width: int, height: int, car: CarView | None = None) -> Camera:
        """The camera for a view of this size, following ``car`` when in follow mode."""
        if self.camera is None:
            self.camera = Camera(self.art.bounds, width, height)
        cam = self.camera
        avoid = self.hud_box(height) if self.show_hud else None
        if (cam.width, cam.height) != (width, height) or cam.avoid != avoid:
            cam.avoid = avoid
            cam.resize(width, height)
        if self.follow and car is not None and car.pose is not None:
            cam.follow(car.pose[0], car.pose[1])
        elif self.follow:
            cam.follow()
        elif cam.mode == "follow":
            cam.fit()
        return cam

    def draw(self, surface: pygame.Surface, car: CarView | None = None,
             others: Iterable[Sequence[float]] = (), title: str = "",
             info: Sequence[str] = (), best_lap: float = math.inf) -> Camera:
        """Draw the whole scene onto ``surface`` (the view is the whole surface).

        Args:
            car: the car in focus (trail and HUD), or None.
            others: poses ``(x, y, yaw[, speed, steering])`` of other cars, drawn dimmed.
            title: the HUD's first line; info: more lines under it.
            best_lap: best lap known to the caller (e.g. of all training cars), s.

        Returns:
            the camera used (its transform maps world points to this surface's pixels).
        """
        width, height = surface.get_size()
        cam = self.prepare_camera(width, height, car)
        surface.fill(BACKGROUND)
        self._blit_track(surface, cam)
        for pose in others:
            self._draw_car(surface, cam, pose, ghost=True)
        if car is not None and car.pose is not None:
            self._draw_trail(surface, cam, car)
            self._draw_car(surface, cam, car.pose)
        if self.show_hud:
            self._draw_hud(surface, car, title, info, best_lap)
        if self.show_help:
            self._draw_help(surface)
        return cam

    def _blit_track(self, surface: pygame.Surface, cam: Camera) -> None:
        """The static track, drawn once per zoom level into a cached layer, then blitted."""
        x0, y0, x1, y1 = self.art.bounds
        pad = 0.5  # m around the track (the labels may stick out)
        w = (x1 - x0 + 2 * pad) * cam.scale
        h = (y1 - y0 + 2 * pad) * cam.scale
        if w * h > 36e6 or w > 16000 or h > 16000:
            # too large to cache (deep zoom): draw straight onto the view
            self._draw_track(surface, lambda p: np.column_stack(cam.world_to_screen(
                p[..., 0], p[..., 1])), cam.scale)
            return
        key = (cam.scale, self.show_waypoints)
        if self._layer is None or self._layer[0] != key:
            layer = pygame.Surface((math.ceil(w), math.ceil(h)))
            layer.fill(BACKGROUND)
            ox, oy, s = x0 - pad, y1 + pad, cam.scale
            self._draw_track(layer, lambda p: np.stack([(p[..., 0] - ox) * s,
                                                        (oy - p[..., 1]) * s], axis=-1), s)
            self._layer = (key, layer, ox, oy)
        _, layer, ox, oy = self._layer
        sx, sy = cam.world_to_screen(ox, oy)
        surface.blit(layer, (round(float(sx)), round(float(sy))))

    def _draw_track(self, surface: pygame.Surface, to_px: Callable[[np.ndarray], np.ndarray],
                    scale: float) -> None:
        art = self.art
        for quad in to_px(art.quads).tolist():
            pygame.draw.polygon(surface, ROAD, quad)
        for quad, colour in art.start_squares:
            pygame.draw.polygon(surface, colour, to_px(quad).tolist())
        dash_w = max(1, round(CENTRE_WIDTH * scale))
        for dash in to_px(art.dashes).tolist():
            pygame.draw.lines(surface, CENTRE_LINE, False, dash, dash_w)
        border_w = max(2, round(BORDER_WIDTH * scale))
        for line in (art.inner, art.outer):
            pts = to_px(line).tolist()
            pygame.draw.lines(surface, BORDER, art.is_loop, pts, border_w)
            if border_w > 3:  # round the joints of thick lines
                r = border_w / 2.0
                for p in pts:
                    pygame.draw.circle(surface, BORDER, p, r)
        if self.show_waypoints:
            self._draw_waypoints(surface, to_px, scale)

    def _draw_waypoints(self, surface: pygame.Surface,
                        to_px: Callable[[np.ndarray], np.ndarray], scale: float) -> None:
        art = self.art
        n = len(art.centre) - (1 if art.is_loop else 0)
        spacing = art.length / max(n, 1) * scale
        every = max(1, math.ceil(LABEL_SPACING_PX / max(spacing, 1e-6)))
        pts = to_px(art.centre).tolist()
        # labels go outside the road, beyond the outer border
        normal = art.outer - art.centre
        norm = np.hypot(normal[:, 0], normal[:, 1])[:, None]
        label_at = to_px(art.outer + normal / np.maximum(norm, 1e-9) * 0.12).tolist()
        f = font(max(10, min(14, round(scale * 0.12))))
        for i in range(n):
            pygame.draw.circle(surface, WAYPOINT, pts[i], 2)
            if i % every == 0:
                text = f.render(str(i), True, WAYPOINT)
                rect = text.get_rect(center=(round(label_at[i][0]), round(label_at[i][1])))
                surface.blit(text, rect)

    def _draw_car(self, surface: pygame.Surface, cam: Camera, pose: Sequence[float],
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

    def trail_values(self, car: CarView) -> tuple[np.ndarray, float, float]:
        """(values (P,), low, high) of the trail points in the current colour mode."""
        col = 2 if self.trail_mode == "speed" else 3
        vals = np.fromiter((p[col] for p in car.trail), float, len(car.trail))
        if self.trail_mode == "speed":
            return vals, 0.0, self.max_speed
        if len(vals) == 0:
            return vals, 0.0, 1.0
        return vals, float(vals.min()), float(vals.max())

    def _draw_trail(self, surface: pygame.Surface, cam: Camera, car: CarView) -> None:
        n = len(car.trail)
        if n < 2:
            return
        pts = np.array(car.trail)
        sx, sy = cam.world_to_screen(pts[:, 0], pts[:, 1])
        xy = np.column_stack([sx, sy])
        vals, lo, hi = self.trail_values(car)
        t = (vals - lo) / (hi - lo) if hi > lo else np.ones_like(vals)
        # segment k (point k to k+1) takes the colour of its end point: the step's value
        level = np.clip(np.rint(t[1:] * (RAMP_LEVELS - 1)), 0, RAMP_LEVELS - 1).astype(int)
        width = max(2, round(TRAIL_WIDTH * cam.scale))
        cuts = np.flatnonzero(np.diff(level)) + 1
        bounds = [0, *cuts.tolist(), len(level)]
        xy_list = xy.tolist()
        for a, b in itertools.pairwise(bounds):
            colour = _RAMP_TABLE[level[a]]
            pygame.draw.lines(surface, colour, False, xy_list[a:b + 1], width)

    @staticmethod
    def _hud_fonts(height: int) -> tuple[int, pygame.font.Font, pygame.font.Font]:
        size = int(min(max(round(height / 46), 11), 18))
        return size, font(size), font(max(10, size - 3))

    def hud_box(self, height: int) -> tuple[int, int]:
        """The HUD's corner (width, height) in pixels for a view ``height`` pixels high, from
        fixed templates (so that the fitted camera does not move as values change)."""
        size, f, small = self._hud_fonts(height)
        label_w = f.size("best lap")[0] + size
        value_w = f.size("+30.0°  (action +30.0°)")[0]
        w = max(label_w + value_w, 16 * size) + 2 * size
        h = 2 * small.get_linesize() + 9 * f.get_linesize() + f.get_linesize() + 10 + size + 6
        return w + 8, h + 8

    def _draw_hud(self, surface: pygame.Surface, car: CarView | None, title: str,
                  info: Sequence[str], best_lap: float) -> None:
        height = surface.get_height()
        size, f, small = self._hud_fonts(height)
        rows = hud_lines(car, best_lap)
        line_h = f.get_linesize()
        label_w = f.size("best lap")[0] + size
        value_w = max(f.size(value)[0] for _, value in rows)
        head = [t for t in (title, *info) if t]
        head_w = max((small.size(t)[0] for t in head), default=0)
        legend_h = line_h + 10
        w = max(label_w + value_w, head_w, self.hud_box(height)[0] - 8 - 2 * size) + 2 * size
        h = len(head) * small.get_linesize() + len(rows) * line_h + legend_h + size + 6
        panel = pygame.Surface((w, h), pygame.SRCALPHA)
        panel.fill(HUD_BG)
        y = size // 2
        for text in head:
            panel.blit(small.render(text, True, HUD_DIM), (size, y))
            y += small.get_linesize()
        y += 4
        for label, value in rows:
            panel.blit(f.render(label, True, HUD_DIM), (size, y))
            colour = STATUS_COLOURS.get(value, HUD_TEXT) if label == "status" else HUD_TEXT
            panel.blit(f.render(value, True, colour), (size + label_w, y))
            y += line_h
        # the trail legend: the colour ramp with its range
        y += 4
        bar_w = w - 2 * size
        if car is not None:
            _, lo, hi = self.trail_values(car)
        else:
            lo, hi = 0.0, self.max_speed
        unit = " m/s" if self.trail_mode == "speed" else ""
        label = small.render(f"trail: {self.trail_mode}  {lo:.2f}..{hi:.2f}{unit}", True,
                             HUD_DIM)
        panel.blit(label, (size, y))
        y += small.get_linesize() + 2
        panel.blit(_ramp_bar(bar_w, 6), (size, y))
        surface.blit(panel, (8, 8))
        hint = small.render("F1: keys", True, HUD_DIM)
        surface.blit(hint, (8, surface.get_height() - hint.get_height() - 6))

    def _draw_help(self, surface: pygame.Surface) -> None:
        f = font(14)
        lines = [(k, v) for k, v in HELP]
        key_w = max(f.size(k)[0] for k, _ in lines) + 16
        w = key_w + max(f.size(v)[0] for _, v in lines) + 32
        h = len(lines) * f.get_linesize() + 24
        panel = pygame.Surface((w, h), pygame.SRCALPHA)
        panel.fill(HUD_BG)
        y = 12
        for k, v in lines:
            panel.blit(f.render(k, True, CENTRE_LINE), (16, y))
            panel.blit(f.render(v, True, HUD_TEXT), (16 + key_w, y))
            y += f.get_linesize()
        sw, sh = surface.get_size()
        surface.blit(panel, ((sw - w) // 2, (sh - h) // 2))


_BARS: dict[tuple[int, int], pygame.Surface] = {}


def _ramp_bar(width: int, height: int) -> pygame.Surface:
    """The colour ramp as a bar (cached)."""
    bar = _BARS.get((width, height))
    if bar is None:
        bar = pygame.Surface((width, height))
        for k in range(width):
            pygame.draw.line(bar, ramp_colour(k / max(width - 1, 1)), (k, 0), (k, height - 1))
        _BARS[(width, height)] = bar
    return bar


def surface_to_array(surface: pygame.Surface) -> np.ndarray:
    """(H, W, 3) uint8 copy of a surface's pixels."""
    w, h = surface.get_size()
    data = bytearray(pygame.image.tobytes(surface, "RGB"))
    return np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)


def render_frame(renderer: Renderer, size: tuple[int, int], car: CarView | None = None,
                 **kwargs) -> np.ndarray:
    """Draw offscreen (no window, no display needed) and return an (H, W, 3) uint8 frame."""
    surface = pygame.Surface(size)
    renderer.draw(surface, car, **kwargs)
    return surface_to_array(surface)
