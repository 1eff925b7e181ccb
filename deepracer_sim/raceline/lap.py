"""A line's laps: the dense line, its speed profiles and its lap times.

The line's points are sampled every ``DENSE_SPACING`` m from a cubic spline (:func:`dense_line`);
the speeds are :func:`~.limits.speed_profile`'s along the car origin's path (the car's
envelope is measured on the origin's circles). Two laps:

* the standing-start evaluation lap: from rest on waypoint 0 until the params' reference point
  (``REFERENCE_POINT_X`` = 0.14 m ahead of the origin) reaches progress 100, counted in whole
  1/15 s steps plus the PREPARE step, as ``DeepRacerEnv`` reports ``lap_time``;
* the flying lap (a loop only): the lap after a lap, as laps 2 and 3 of a race are: the speed
  profile is periodic around the closed line and the lap time is the time once round it
  (continuous: a race's later laps start and end between steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from deepracer_sim.constants import REFERENCE_POINT_X, STEP_DT
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
    """The laps along a dense line (arrays (K,) at its points)."""

    v: np.ndarray  # (K,) origin speed of the standing-start lap, m/s
    t: np.ndarray  # (K,) time at each point, s (from the start at rest)
    drive_time: float  # s until the reference point reaches progress 100
    lap_time: float  # as DeepRacerEnv reports it: whole steps + the PREPARE step
    s_end: float  # origin arc length at the finish, m
    dkds: np.ndarray  # (K,) d(kappa)/ds, 1/m^2
    v_flying: np.ndarray  # (K,) speed of the flying lap (an open line: entered at top speed)
    flying_time: float  # the flying lap's time, s (inf: an open track has none)


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
    """The standing-start evaluation lap and the flying lap of the dense line ``d`` under
    ``limits`` (module docstring); a lap time is inf when the line exceeds what the car can
    turn."""
    # d(steer)/dt is felt over about a step of driving at the top speed
    dkds = smooth_slope(d.kappa, d.s, limits.v_max * STEP_DT, track.is_loop)
    ds = np.diff(d.s)
    v, seg_t = speed_profile(ds, d.kappa, limits, v_start=0.0, dkds=dkds)
    t = np.concatenate([[0.0], np.cumsum(seg_t)])
    if track.is_loop:  # points 0..K-2 round the loop (point K-1 repeats point 0)
        v_loop, t_loop = speed_profile(ds, d.kappa[:-1], limits, dkds=dkds[:-1], loop=True)
        v_fly = np.concatenate([v_loop, v_loop[:1]])
        flying = float(np.sum(t_loop))
    else:
        v_fly, _ = speed_profile(ds, d.kappa, limits, v_start=limits.v_max, dkds=dkds)
        flying = math.inf
    s_end = _finish_arc(track, d)
    drive = float(np.interp(s_end, d.s, t)) if np.all(np.isfinite(t)) else math.inf
    steps = math.ceil(drive / STEP_DT - 1e-9) if math.isfinite(drive) else math.inf
    return Lap(v, t, drive, (steps + 1) * STEP_DT, s_end, dkds, v_fly, flying)
