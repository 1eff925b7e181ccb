"""What objects a race puts on the track: :class:`ObjectsConfig`, its checks, and the arrays the
kernel keeps for it (the ``objs`` part of a :class:`~deepracer_sim.sim.simulator.Simulator`).

The settings are the simapp's world parameters (aws-deepracer-community/deepracer-simapp @
01f5f015 ``agent_ctrl/obstacles_agent_ctrl.py:43-60``, ``agent_ctrl/bot_cars_agent_ctrl.py:65-78``)
as deepracer-for-cloud's ``DR_OA_*`` / ``DR_H2B_*`` and DeepRacer-on-AWS set them; reading them
from those files is :mod:`deepracer_sim.formats.race`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from deepracer_sim.constants import (
    DEFAULT_BOT_CAR_SPEED,
    DEFAULT_BOT_PENALTY_SECONDS,
    DEFAULT_LANE_CHANGE_DISTANCE,
    DEFAULT_LOWER_LANE_CHANGE_TIME,
    DEFAULT_MIN_DISTANCE_BETWEEN,
    DEFAULT_UPPER_LANE_CHANGE_TIME,
    MAX_OBJECTS,
)
from deepracer_sim.errors import UsageError
from deepracer_sim.sim.bots import lane_change_rows
from deepracer_sim.sim.lanes import INNER, OUTER, LaneArrays, build_lanes
from deepracer_sim.sim.layout import (
    L_BOXES,
    L_K,
    L_LANES,
    L_LC,
    L_LCR,
    L_M,
    L_NPTS,
    L_NR,
    L_OBJ,
    L_OPAR,
    L_RANGES,
    L_SPL,
    L_SPLN,
    L_T,
    L_WORLD,
    NO,
    NPO,
    NW,
    P_OBJ,
    W_BOT_GAP,
    W_BOT_PENALTY,
    W_BOT_RANDOM,
    W_BOT_SPEED,
    W_BOX_GAP,
    W_BOX_RANDOM,
    W_LANE_CHANGE,
    W_LC_DIST,
    W_LC_LOWER,
    W_LC_UPPER,
    W_LIDAR,
    W_LIDAR_NOISE,
    W_NBOT,
    W_NBOX,
    W_VERSION,
)
from deepracer_sim.sim.lidar import (
    LIDAR_NOISE_STDDEV,
    LIDAR_SAMPLES,
    LIDAR_SENSORS,
    sensor_code,
)
from deepracer_sim.sim.objects import params_row_size

#: Race types (deepracer-for-cloud ``DR_RACE_TYPE``; DeepRacer-on-AWS ``race.smithy`` has the
#: first two).
RACE_TYPES = ("TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT")


@dataclass(frozen=True)
class ObjectsConfig:
    """The objects of a race (all default to none: a time trial).

    Boxes: ``box_positions`` ((fraction of the lap, lane), ...) with lane 1 = inside, -1 =
    outside (``OBJECT_POSITIONS``, DeepRacer-on-AWS's ``"<trackPercentage>, <laneNumber>"``)
    fixes them; otherwise ``boxes`` are spread from ``box_min_distance`` (m) to 1 m before the
    lap's end, alternating inside/outside, or re-drawn every episode (``randomize_boxes``).
    Bot cars: ``bots`` cars at ``bot_speed`` m/s spread from ``bot_min_distance`` m, alternating
    lanes from inside (or random), changing lanes every U(lower, upper) s over
    ``lane_change_distance`` m when ``lane_change``; after hitting the car from behind they wait
    ``bot_penalty`` s. ``seed`` seeds the random placement and lane changes. ``lidar``: the
    model's lidar sensor ("LIDAR", "SECTOR_LIDAR" or "" for none, model_metadata ``sensor``)
    and its range noise ``lidar_noise`` (m, standard deviation).
    """

    boxes: int = 0
    box_positions: tuple[tuple[float, int], ...] = ()
    randomize_boxes: bool = False
    box_min_distance: float = DEFAULT_MIN_DISTANCE_BETWEEN
    bots: int = 0
    bot_speed: float = DEFAULT_BOT_CAR_SPEED
    randomize_bots: bool = False
    bot_min_distance: float = DEFAULT_MIN_DISTANCE_BETWEEN
    lane_change: bool = False
    lower_lane_change_time: float = DEFAULT_LOWER_LANE_CHANGE_TIME
    upper_lane_change_time: float = DEFAULT_UPPER_LANE_CHANGE_TIME
    lane_change_distance: float = DEFAULT_LANE_CHANGE_DISTANCE
    bot_penalty: float = DEFAULT_BOT_PENALTY_SECONDS
    seed: int = 0
    lidar: str = ""
    lidar_noise: float = LIDAR_NOISE_STDDEV

    @property
    def num_boxes(self) -> int:
        """Boxes on the track (the positions' count when positions are given)."""
        return len(self.box_positions) if self.box_positions else self.boxes

    @property
    def count(self) -> int:
        """Object slots per car."""
        return self.num_boxes + self.bots

    def check(self, source: str = "objects") -> ObjectsConfig:
        """Raise UsageError naming ``source`` and the field for a setting the simapp would not
        run; return self."""
        if self.boxes < 0 or self.bots < 0:
            raise UsageError(f"{source}: boxes = {self.boxes}, bots = {self.bots}; counts "
                             "cannot be negative")
        if self.count > MAX_OBJECTS:
            raise UsageError(f"{source}: {self.count} objects; at most {MAX_OBJECTS} per car")
        for k, (frac, lane) in enumerate(self.box_positions):
            if not 0.0 <= frac < 1.0 or lane not in (1, -1):
                raise UsageError(f"{source}: box position {k} = ({frac}, {lane}); give a fraction "
                                 "of the lap in [0, 1) and lane 1 (inside) or -1 (outside)")
        if self.bots and not self.bot_speed > 0.0:
            raise UsageError(f"{source}: bot speed {self.bot_speed} m/s; bot cars need a "
                             "positive speed (the simapp default is 0.2)")
        if self.lane_change and not (self.lane_change_distance > 0.0
                                     and 0.0 <= self.lower_lane_change_time
                                     <= self.upper_lane_change_time):
            raise UsageError(f"{source}: lane changes need lane_change_distance > 0 m and "
                             "0 <= lower <= upper lane change time, got "
                             f"{self.lane_change_distance}, {self.lower_lane_change_time}, "
                             f"{self.upper_lane_change_time}")
        if self.lidar not in ("", *LIDAR_SENSORS):
            raise UsageError(f"{source}: lidar {self.lidar!r}; use LIDAR or SECTOR_LIDAR")
        if self.box_min_distance < 0.0 or self.bot_min_distance < 0.0 or self.bot_penalty < 0:
            raise UsageError(f"{source}: distances and the bot penalty cannot be negative")
        return self

    def world_row(self, version: float) -> np.ndarray:
        """(NW,) float64 world row of a car (columns ``W_*``)."""
        w = np.zeros(NW)
        w[W_NBOX] = self.num_boxes
        w[W_NBOT] = self.bots
        w[W_BOT_SPEED] = self.bot_speed
        w[W_LANE_CHANGE] = float(self.lane_change)
        w[W_LC_LOWER] = self.lower_lane_change_time
        w[W_LC_UPPER] = self.upper_lane_change_time
        w[W_LC_DIST] = self.lane_change_distance
        w[W_BOT_PENALTY] = self.bot_penalty
        w[W_BOX_RANDOM] = float(self.randomize_boxes)
        w[W_BOX_GAP] = self.box_min_distance
        w[W_BOT_RANDOM] = float(self.randomize_bots)
        w[W_BOT_GAP] = self.bot_min_distance
        w[W_VERSION] = version
        w[W_LIDAR] = sensor_code(self.lidar)
        w[W_LIDAR_NOISE] = self.lidar_noise
        return w

    def box_layout(self) -> np.ndarray:
        """(K, 2) float64 [fraction, lane index INNER/OUTER] of fixed boxes; (0, 2) if none."""
        out = np.zeros((len(self.box_positions), 2))
        for k, (frac, lane) in enumerate(self.box_positions):
            out[k] = (frac, OUTER if lane == -1 else INNER)
        return out


def object_parts(objects: ObjectsConfig | None, n: int, lines: np.ndarray, is_loop: bool,
                 length: float,
                 version: float) -> tuple[list[np.ndarray], dict[str, int], np.ndarray]:
    """The float parts of the packed buffer for the objects, in order obj, world, lc, oparams,
    boxes, lanes (pts, cum, nd, dists), spl, lidar ranges; the sizes M, K, T, LCR, NR; spl_n
    (4,) int64. ``length``: the lap, m (``Track.length``)."""
    cfg = objects if objects is not None and objects.count > 0 else None
    npts = lines.shape[2]
    m = cfg.count if cfg else 0
    lanes: LaneArrays | None = build_lanes(lines, is_loop, cfg.bots > 0) if cfg else None
    lcr = 0
    if cfg and cfg.bots and cfg.lane_change and lanes is not None:
        lcr = lane_change_rows(lanes.dists, length, cfg.bot_speed, cfg.upper_lane_change_time)
    world = np.tile(cfg.world_row(version), n) if cfg else np.zeros(n * NW)
    boxes = cfg.box_layout() if cfg else np.zeros((0, 2))
    if lanes is not None:
        lane_parts = np.concatenate([lanes.pts.ravel(), lanes.cum.ravel(), lanes.nd.ravel(),
                                     lanes.dists.ravel()])
        spl, spl_n = lanes.spl, lanes.spl_n
    else:
        lane_parts = np.zeros(5 * 4 * npts)
        spl, spl_n = np.zeros((2, 2, 0, 5)), np.zeros((2, 2), dtype=np.int64)
    nr = LIDAR_SAMPLES if cfg and cfg.lidar else 0
    parts = [np.zeros(n * m * NO), world, np.zeros(n * m * lcr * 5),
             np.zeros(n * params_row_size(m)), boxes.ravel(), lane_parts, spl.ravel(),
             np.zeros(n * nr)]
    sizes = {"M": m, "K": len(boxes), "T": spl.shape[2], "LCR": lcr, "NR": nr}
    return parts, sizes, spl_n.ravel().astype(np.int64)


def no_objects(n: int) -> tuple:
    """The ``objs`` tuple of cars without objects: (obj (n, 0, NO), world (n, NW), lc, oparams
    (n, P_OBJ), boxes (0, 2), lane pts, cum, nd, dists, spl, spl_n, lidar ranges (n, 0)), all
    empty but world."""
    return (np.zeros((n, 0, NO)), np.zeros((n, NW)), np.zeros((n, 0, 0, 5)), np.zeros((n, P_OBJ)),
            np.zeros((0, 2)), np.zeros((2, 2, 0, 2)), np.zeros((2, 2, 0)), np.zeros((2, 2, 0)),
            np.zeros((2, 2, 0)), np.zeros((2, 2, 0, 5)), np.zeros((2, 2), dtype=np.int64),
            np.zeros((n, 0)))


@njit(cache=True, inline="always")
def unpack_objects(F: np.ndarray, I: np.ndarray, n: int):  # noqa: E741
    """Views of the objects' part of the packed buffers (the ``objs`` tuple of
    :func:`no_objects`)."""
    m = I[L_M]
    lcr = I[L_LCR]
    k = I[L_K]
    t = I[L_T]
    npts = I[L_NPTS]
    obj = F[I[L_OBJ]:I[L_OBJ] + n * m * NO].reshape((n, m, NO))
    world = F[I[L_WORLD]:I[L_WORLD] + n * NW].reshape((n, NW))
    lc = F[I[L_LC]:I[L_LC] + n * m * lcr * 5].reshape((n, m, lcr, 5))
    npar = P_OBJ + NPO * m
    opar = F[I[L_OPAR]:I[L_OPAR] + n * npar].reshape((n, npar))
    boxes = F[I[L_BOXES]:I[L_BOXES] + 2 * k].reshape((k, 2))
    size = 4 * npts
    base = I[L_LANES]
    lane_pts = F[base:base + 2 * size].reshape((2, 2, npts, 2))
    lane_cum = F[base + 2 * size:base + 3 * size].reshape((2, 2, npts))
    lane_nd = F[base + 3 * size:base + 4 * size].reshape((2, 2, npts))
    lane_dists = F[base + 4 * size:base + 5 * size].reshape((2, 2, npts))
    spl = F[I[L_SPL]:I[L_SPL] + 20 * t].reshape((2, 2, t, 5))
    spl_n = I[I[L_SPLN]:I[L_SPLN] + 4].reshape((2, 2))
    nr = I[L_NR]
    ranges = F[I[L_RANGES]:I[L_RANGES] + n * nr].reshape((n, nr))
    return (obj, world, lc, opar, boxes, lane_pts, lane_cum, lane_nd, lane_dists, spl, spl_n,
            ranges)
