"""DeepRacer's lidar sensors in 2-D: a batched ray cast against the objects and the simapp's
observation filters for ``LIDAR`` and ``SECTOR_LIDAR``.

Sensor (aws-deepracer-community/deepracer-simapp @ 01f5f015): 64 samples over
[-2.61799, 2.61799] rad (``bundle/src/deepracer_simulation_environment/launch/racecar.launch.py:
37-45``), ranges 0.15-12 m, Gaussian noise sigma 0.01 m; the ``laser`` link sits 0.02913 m ahead
of the car origin yawed by 3.1416 rad (``bundle/urdf/deepracer/deepracer_*_lidar.urdf``
``hokuyo_joint``): the scan looks backwards, sample 0 points 30 degrees left of the nose, the
samples sweep counter-clockwise through the left, the rear and the right to sample 63 at 30
degrees right of the nose; the 60 degrees in front of the car are not scanned.

What the rays hit: the objects' footprints at scan height (boxes 0.4 x 0.3 m, bot cars the car
rectangle). The road and its painted borders are flat: the rays never see the track edges. Not
modelled: the world's perimeter wall (>= 0.76 m outside the outer border on every track checked,
so SECTOR_LIDAR never sees it from the road) and the sensor's 10 Hz rate (the simapp's 15 Hz
steps read the latest scan: one step in three repeats the previous one; here every step scans).

Observations (``sagemaker_graph_manager.py:277-287`` input filters): ``LIDAR`` the 64 ranges
clipped to [0.15, 1.0] (no return -> 1.0); ``SECTOR_LIDAR`` 8 sectors of 8 consecutive samples,
1.0 where the nearest return is closer than 0.5 m, else 0.0
(``observation_sector_discretize_filter.py:53-71`` with (8, 1, 0.5)).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from deepracer_sim.sim.layout import (
    O_LIDAR_HALF_LEN,
    O_LIDAR_HALF_WID,
    O_X,
    O_Y,
    O_YAW,
    W_NBOT,
    W_NBOX,
)

LIDAR_SAMPLES = 64
LIDAR_MIN_ANGLE = -2.61799  # rad, in the laser frame
LIDAR_MAX_ANGLE = 2.61799
LIDAR_MIN_RANGE = 0.15  # m
LIDAR_MAX_RANGE = 12.0  # m
LIDAR_NOISE_STDDEV = 0.01  # m
LIDAR_MOUNT_X = 0.02913  # m ahead of the car origin
LIDAR_MOUNT_YAW = 3.1416  # rad
LIDAR_CLIP_LOW = 0.15  # ObservationClippingFilter(0.15, 1.0)
LIDAR_CLIP_HIGH = 1.0
SECTOR_LIDAR_SECTORS = 8  # NUMBER_OF_LIDAR_SECTORS
SECTOR_LIDAR_CLIP = 0.5  # SECTOR_LIDAR_CLIPPING_DIST, m

#: The sensors (model_metadata ``sensor``) and their observation sizes.
LIDAR_SENSORS = {"LIDAR": LIDAR_SAMPLES, "SECTOR_LIDAR": SECTOR_LIDAR_SECTORS}
#: Sensor codes in the world row (W_LIDAR).
LIDAR_NONE, LIDAR_FULL, LIDAR_SECTOR = 0, 1, 2

#: Ray directions in the car frame, rad.
RAY_ANGLES = LIDAR_MOUNT_YAW + np.linspace(LIDAR_MIN_ANGLE, LIDAR_MAX_ANGLE, LIDAR_SAMPLES)
_RAY_COS = np.cos(RAY_ANGLES)
_RAY_SIN = np.sin(RAY_ANGLES)
_PHI0 = float(RAY_ANGLES[0])
_DPHI = float(RAY_ANGLES[1] - RAY_ANGLES[0])
_TWO_PI = 2.0 * math.pi


def sensor_code(sensor: str | None) -> int:
    """W_LIDAR code of a sensor name (None or "" for none)."""
    return {None: LIDAR_NONE, "": LIDAR_NONE, "LIDAR": LIDAR_FULL,
            "SECTOR_LIDAR": LIDAR_SECTOR}[sensor]


@njit(cache=True, inline="always")
def _ray_box(qx: float, qy: float, dx: float, dy: float, hl: float, hw: float,
             r_min: float, r_max: float) -> float:
    """First hit of the ray q + t d (|d| = 1, box frame) with the box |x| <= hl, |y| <= hw for
    t in [r_min, r_max], or inf (slab test); a ray starting inside reports r_min."""
    t0 = -np.inf
    t1 = np.inf
    if dx != 0.0:
        a = (-hl - qx) / dx
        b = (hl - qx) / dx
        t0 = max(t0, min(a, b))
        t1 = min(t1, max(a, b))
    elif abs(qx) > hl:
        return np.inf
    if dy != 0.0:
        a = (-hw - qy) / dy
        b = (hw - qy) / dy
        t0 = max(t0, min(a, b))
        t1 = min(t1, max(a, b))
    elif abs(qy) > hw:
        return np.inf
    if t1 < t0 or t1 < r_min:
        return np.inf
    t = max(t0, r_min)
    return t if t <= r_max else np.inf


@njit(cache=True)
def scan(obj_i: np.ndarray, world_i: np.ndarray, car_x: float, car_y: float, car_yaw: float,
         max_range: float, noise_std: float, out: np.ndarray) -> None:
    """One scan: ranges (m) from the laser into ``out`` (64,), +inf where nothing is hit between
    LIDAR_MIN_RANGE and ``max_range`` (the observation's clipping distance). Each object is
    tested only against the rays inside the angle its bounding circle subtends."""
    c = math.cos(car_yaw)
    s = math.sin(car_yaw)
    lx = car_x + LIDAR_MOUNT_X * c
    ly = car_y + LIDAR_MOUNT_X * s
    r_max = min(max_range, LIDAR_MAX_RANGE)
    for j in range(LIDAR_SAMPLES):
        out[j] = np.inf
    n = int(world_i[W_NBOX] + world_i[W_NBOT])
    for k in range(n):
        o = obj_i[k]
        hl = o[O_LIDAR_HALF_LEN]
        hw = o[O_LIDAR_HALF_WID]
        rx = o[O_X] - lx
        ry = o[O_Y] - ly
        dist = math.hypot(rx, ry)
        radius = math.hypot(hl, hw)
        if dist - radius > r_max:
            continue
        oc = math.cos(o[O_YAW])
        osn = math.sin(o[O_YAW])
        qx = -(rx * oc + ry * osn)  # the laser in the box frame
        qy = -(-rx * osn + ry * oc)
        rc = c * oc + s * osn  # cos(car_yaw - box_yaw)
        rs = s * oc - c * osn  # sin(car_yaw - box_yaw)
        if dist <= radius:
            j0, j1, j2, j3 = 0, LIDAR_SAMPLES - 1, 0, -1
        else:  # the rays within the subtended angle: two index ranges (across the scan start)
            half = math.asin(radius / dist) + 1e-9
            a = (math.atan2(ry, rx) - car_yaw - half - _PHI0) % _TWO_PI
            j0 = math.ceil(a / _DPHI)
            j1 = min(math.floor((a + 2.0 * half) / _DPHI), LIDAR_SAMPLES - 1)
            j2 = 0
            j3 = min(math.floor((a + 2.0 * half - _TWO_PI) / _DPHI), LIDAR_SAMPLES - 1)
        for part in range(2):
            lo = j0 if part == 0 else j2
            hi = j1 if part == 0 else j3
            for j in range(lo, hi + 1):
                dx = rc * _RAY_COS[j] - rs * _RAY_SIN[j]
                dy = rs * _RAY_COS[j] + rc * _RAY_SIN[j]
                t = _ray_box(qx, qy, dx, dy, hl, hw, LIDAR_MIN_RANGE, r_max)
                if t < out[j]:
                    out[j] = t
    if noise_std > 0.0:
        for j in range(LIDAR_SAMPLES):
            if out[j] < np.inf:
                out[j] += noise_std * np.random.standard_normal()


@njit(cache=True)
def lidar_observation(ranges: np.ndarray, out: np.ndarray) -> None:
    """LIDAR: ranges clipped to [0.15, 1.0] (+inf -> 1.0) into ``out`` (64,)."""
    for j in range(ranges.shape[0]):
        out[j] = min(max(ranges[j], LIDAR_CLIP_LOW), LIDAR_CLIP_HIGH)


@njit(cache=True)
def sector_observation(ranges: np.ndarray, out: np.ndarray) -> None:
    """SECTOR_LIDAR: per sector of 8 samples, 1.0 when its nearest return is closer than 0.5 m
    (``floor(min(m, 0.5) / 0.5)`` is 0: the one-hot's kept bin), else 0.0; ``out`` (8,)."""
    per = ranges.shape[0] // SECTOR_LIDAR_SECTORS
    for q in range(SECTOR_LIDAR_SECTORS):
        m = SECTOR_LIDAR_CLIP
        for j in range(q * per, (q + 1) * per):
            m = min(m, ranges[j])
        out[q] = 1.0 if m < SECTOR_LIDAR_CLIP else 0.0


@njit(cache=True)
def write_lidar_observation(obj_i: np.ndarray, world_i: np.ndarray, code: int, car_x: float,
                            car_y: float, car_yaw: float, noise_std: float,
                            ranges: np.ndarray, out: np.ndarray) -> None:
    """Scan and write the observation of sensor ``code`` (LIDAR_FULL or LIDAR_SECTOR) into
    ``out``; ``ranges`` (64,) float64 scratch (the scan)."""
    clip = LIDAR_CLIP_HIGH if code == LIDAR_FULL else SECTOR_LIDAR_CLIP
    scan(obj_i, world_i, car_x, car_y, car_yaw, clip, noise_std, ranges)
    if code == LIDAR_FULL:
        lidar_observation(ranges, out)
    else:
        sector_observation(ranges, out)


def lidar_bounds(sensor: str) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) float32 of a sensor's observation."""
    n = LIDAR_SENSORS[sensor]
    if sensor == "LIDAR":
        return (np.full(n, LIDAR_CLIP_LOW, dtype=np.float32),
                np.full(n, LIDAR_CLIP_HIGH, dtype=np.float32))
    return np.zeros(n, dtype=np.float32), np.ones(n, dtype=np.float32)
