"""A line's standing-start evaluation lap: the dense line, its speed profile and its lap time.

The line's points are sampled every ``DENSE_SPACING`` m from a cubic spline (:func:`dense_line`);
the rear axle's curvature and speed follow from the origin's path (:func:`rear_axle`, as
:mod:`deepracer_sim.sim.car` drives the car); the speeds are :func:`~.limits.speed_profile`'s.
The lap is the standing-start evaluation lap: from rest on waypoint 0 until the params'
reference point (``REFERENCE_POINT_X`` = 0.14 m ahead of the origin) reaches progress 100,
counted in whole 1/15 s steps plus the PREPARE step, as ``DeepRacerEnv`` reports ``lap_time``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from deepracer_sim.constants import REAR_AXLE_X, REFERENCE_POINT_X, STEP_DT
from deepracer_sim.raceline.limits import CarLimits, speed_profile
from deepracer_sim.track import Track

#: Spacing of the dense line used for the speed profile, the controller and the outputs, m.
DENSE_SPACING = 0.02


@dataclass
class Dense:
    """A line sampled every ~DENSE_SPACING m from a cubic spline through its points."""

    xy: np.ndarray  # (K, 2) origin path; a loop repeats the first point at the end
    s: np.ndarray  # (K,) arc length, m
    heading: np.ndarray  # (K,) rad
    kappa: np.ndarray  # (K,) signed curvature of the origin's path, 1/m


def dense_line(points: np.ndarray, closed: bool, spacing: float = DENSE_SPACING) -> Dense:
    """The line through ``points`` (M, 2), m (a loop: without the closing point) every
    ~``spacing`` m, from a cubic spline (periodic for a loop)."""
    from scipy.interpolate import CubicSpline

    pts = np.vstack([points, points[:1]]) if closed else points
    u = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    spline = CubicSpline(u, pts, bc_type="periodic" if closed else "not-a-knot")
    k = max(round(u[-1] / spacing), 16)
    uu = np.linspace(0.0, u[-1], k + 1)
    xy = spline(uu)
    d1 = spline(uu, 1)
    d2 = spline(uu, 2)
    speed = np.hypot(d1[:, 0], d1[:, 1])
    kappa = (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / speed**3
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    return Dense(xy, s, np.arctan2(d1[:, 1], d1[:, 0]), kappa)


def rear_axle(kappa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Curvature of the rear axle's path and origin speed / rear speed, for an origin path of
    curvature ``kappa`` (the origin runs |REAR_AXLE_X| ahead of the rear axle: R_o^2 = R_r^2 +
    b^2)."""
    b = -REAR_AXLE_X
    q = np.clip(1.0 - (b * kappa) ** 2, 1e-6, None)
    k_rear = kappa / np.sqrt(q)
    return k_rear, np.sqrt(1.0 + (b * k_rear) ** 2)


def smooth_slope(y: np.ndarray, s: np.ndarray, window: float, closed: bool) -> np.ndarray:
    """dy/ds as a central difference over ~``window`` m (about a step of driving)."""
    k = max(round(0.5 * window / max(float(np.mean(np.diff(s))), 1e-9)), 1)
    if closed:
        yy = y[:-1]
        m = len(yy)
        length = s[-1]
        idx = np.arange(m)
        ds = (s[(idx + k) % m] + length * ((idx + k) // m)) - (s[(idx - k) % m]
                                                                 - length * (idx - k < 0))
        out = (yy[(idx + k) % m] - yy[(idx - k) % m]) / ds
        return np.concatenate([out, out[:1]])
    idx = np.arange(len(y))
    a = np.clip(idx - k, 0, len(y) - 1)
    b = np.clip(idx + k, 0, len(y) - 1)
    return (y[b] - y[a]) / np.maximum(s[b] - s[a], 1e-9)


@dataclass
class Lap:
    """The standing-start lap along a dense line (arrays (K,) at its points)."""

    v: np.ndarray  # (K,) origin speed, m/s
    v_rear: np.ndarray  # (K,) rear-axle (the car's) speed, m/s
    t: np.ndarray  # (K,) time at each point, s (from the start at rest)
    drive_time: float  # s until the reference point reaches progress 100
    lap_time: float  # as DeepRacerEnv reports it: whole steps + the PREPARE step
    s_end: float  # origin arc length at the finish, m
    k_rear: np.ndarray
    dkds: np.ndarray
    v_flying: np.ndarray  # (K,) rear-axle speed of a flying lap (entered at top speed)


def _finish_arc(track: Track, d: Dense) -> float:
    """Origin arc length at which the params reference point (0.14 m ahead) reaches progress
    100: it passes the end of the centre line's last segment."""
    c = track.waypoints[:, 0:2]
    if track.is_loop:
        end = c[0]
        prev = c[-2]
    else:
        end = c[-1]
        prev = c[-2]
    tdir = (end - prev) / np.hypot(*(end - prev))
    ref = d.xy + REFERENCE_POINT_X * np.column_stack([np.cos(d.heading), np.sin(d.heading)])
    g = (ref - end) @ tdir
    near = np.hypot(*(ref - end).T) < max(track.width, 0.5)
    # the last crossing from behind near the finish
    cand = np.flatnonzero(near[1:] & (g[:-1] < 0.0) & (g[1:] >= 0.0))
    if len(cand) == 0:
        return float(d.s[-1])
    i = int(cand[-1])
    f = -g[i] / (g[i + 1] - g[i])
    return float(d.s[i] + f * (d.s[i + 1] - d.s[i]))


def standing_lap(track: Track, d: Dense, limits: CarLimits) -> Lap:
    """The standing-start evaluation lap of the dense line ``d`` under ``limits`` (module
    docstring); its ``lap_time`` is inf when the line exceeds the steering limit."""
    k_rear, ratio = rear_axle(d.kappa)
    # d(delta)/dt is felt over about a step of driving at the top speed
    dkds = smooth_slope(k_rear, d.s, limits.v_max * STEP_DT, track.is_loop)
    v_rear, seg_t = speed_profile(np.diff(d.s), k_rear, limits, v_start=0.0, ratio=ratio,
                                  dkds=dkds)
    t = np.concatenate([[0.0], np.cumsum(seg_t)])
    v_fly, _ = speed_profile(np.diff(d.s), k_rear, limits, v_start=limits.v_max, ratio=ratio,
                             dkds=dkds)
    s_end = _finish_arc(track, d)
    drive = float(np.interp(s_end, d.s, t)) if np.all(np.isfinite(t)) else math.inf
    steps = math.ceil(drive / STEP_DT - 1e-9) if math.isfinite(drive) else math.inf
    return Lap(v_rear * ratio, v_rear, t, drive, (steps + 1) * STEP_DT, s_end, k_rear, dkds,
                v_fly)

