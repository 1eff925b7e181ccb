"""Racing line: each track's lap-time limit under our car, and the line that reaches it.

    python -m deepracer_sim.raceline TRACK [--out line.npy] [--plot line.png]
        [--reward-file out.py] [--action-space out.json] [--version 6] [--actions 12]

Method (Braghin et al. 2008, "Race driver model", Computers & Structures 86; the QP of
Heilmeier et al. 2019, "Minimum curvature trajectory planning", Vehicle System Dynamics 58):

1. **Corridor.** The centre line, resampled every ``spacing`` m and smoothed over ~0.3 m, is the
   reference; the line is ``p_i + alpha_i * n_i`` (``n_i`` the reference's left normal).
   ``alpha_i`` is bounded so that a disc of radius ``CAR_WIDTH / 2 + margin`` around the line
   point lies on the road (a k-d tree of the densified borders and
   :func:`~deepracer_sim.geometry.point_on_road`): the wheel centres are 0.116 m from the car
   origin, so a car whose origin is within ``margin - 0.018`` m of the line keeps all four
   wheels on the road in any heading. ``alpha_0`` is pinned to 0: an evaluation lap starts at
   rest on the centre line at waypoint 0.
2. **Line.** For a weight ``lam`` (1/m^2), minimise ``sum kappa_i^2 h + lam * sum |r_i+1 -
   r_i|^2 / h`` under the bounds, with ``kappa_i`` the points' exact discrete curvature (see
   below). ``lam = 0`` is the minimum-curvature line, ``lam -> inf`` the shortest path.
3. **Speed.** A forward/backward pass along the line (:func:`speed_profile`) under the car of
   :mod:`deepracer_sim.car` read at run time (:class:`CarLimits`): top speed ``MAX_SPEED *
   speed_gain``; curvature <= ``yaw_gain * tan(steering) / WHEELBASE`` with the steering within
   30 degrees (less ``steer_offset`` and a control reserve), softly capped by ``max_lat_accel``
   (``k = (a / v^2) tanh(k0 v^2 / a)``); the steering lag (``steer_tau``): the command that
   makes the wheels follow the line, ``delta + steer_tau * d(delta)/dt``, must stay within 30
   degrees, which bounds the speed where the curvature changes fast; acceleration and braking
   from the speed response (``speed_tau`` lag, ``max_accel`` ramp). The lap is the standing-start
   evaluation lap: from rest on waypoint 0 until the params' reference point (0.14 m ahead of
   the origin) reaches progress 100, counted in whole 1/15 s steps plus the PREPARE step, as
   ``DeepRacerEnv`` reports ``lap_time``.
4. **Choice.** The weight ``lam`` is the one whose line has the shortest lap (a scan over a log
   grid, then a golden-section refinement): Braghin's combination of the shortest path and the
   minimum-curvature path. Why not the minimum-curvature line alone: the calibrated v5/v6 car has
   no lateral-acceleration limit (its grip was not identifiable from the real logs), so within
   the steering limit it drives every curve at top speed and a shorter line is faster (on
   reinvent_base the minimum-curvature line's lap is 4.60 s, the chosen line's 4.07 s); a car
   with a lateral cap (the v4 car) gets a line closer to minimum curvature. The lap time is
   measured under the full car model, so the choice needs no tuning per car.

The curvature is the exact discrete (Menger) curvature of the points, minimised by Gauss-Newton
with Levenberg damping; each step is a box-constrained QP solved by Bertsekas's projected Newton
method on scipy's sparse LU (:func:`box_qp`; scipy's ``lsq_linear`` TRF when it stalls). The
linear "second differences" form of the minimum-curvature QP measures the points' acceleration
along the reference, not the curvature, and pulls the line to the inside of every curve.

**Two limits.** ``lap_time`` (the limit) keeps all four wheels on the road with the margin: the
line racers should follow. The env, like the simapp, ends an episode only when all four wheel
centres are off the road, so a policy may cut corners with up to three wheels off;
:data:`RULES_MARGIN` lets the car origin run up to the wheels' radius (0.116 m) outside the
border, the most the rule allows with a wheel still on: ``compute_raceline(track,
margin=RULES_MARGIN)`` is the rules bound (the CLI's second column). Neither is a proof of
optimality (the line is the best of a one-parameter family, and the rule is only checked at the
15 Hz step poses), but the rules bound was never beaten: not by the trained policies, nor by
perturbed command sequences.

:func:`drive_line` then drives the car along the line in the simulator with a tracking
controller that knows the line and the car model (a one-step shooting controller over a
preview horizon, with the lags in its model) and records the (steering, speed) commands;
:func:`replay_commands` replays them open loop in a fresh :class:`~deepracer_sim.env.DeepRacerEnv`
(the simulator is deterministic). :func:`reward_source` writes a plain DeepRacer reward file
that rewards following the line at its speed, and :func:`line_action_space` a discrete action
space clustered from the commands the line needs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from numba import njit

from deepracer_sim.constants import (
    CAR_WIDTH,
    MAX_DISCRETE_ACTIONS,
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_DISCRETE_ACTIONS,
    MIN_SPEED,
    REAR_AXLE_X,
    REFERENCE_POINT_X,
    STEP_DT,
    WHEEL_POSITIONS,
    WHEELBASE,
)
from deepracer_sim.errors import RacelineError, UsageError
from deepracer_sim.formats.model_metadata import DEFAULT_VERSION, ActionSpace
from deepracer_sim.sim.car import Dynamics, advance_car, dynamics_for_version
from deepracer_sim.sim.car import speed_profile as car_speed_step
from deepracer_sim.track import Track, load_track
from deepracer_sim.track.geometry import point_on_road

#: Clearance kept between the car's side and the border, on top of half the car's width, m.
SAFETY_MARGIN = 0.04
#: Distance of the wheel centres from the car origin, m (0.1159).
WHEEL_RADIUS = max(math.hypot(x, y) for x, y in WHEEL_POSITIONS)
#: The margin of the rules bound: the env ends an episode only when all four wheel centres are
#: off the road, so the origin may run up to WHEEL_RADIUS outside the border.
RULES_MARGIN = -0.5 * CAR_WIDTH - WHEEL_RADIUS
#: Spacing of the reference points, m (raised on long tracks to keep <= MAX_POINTS).
SPACING = 0.10
MAX_POINTS = 900
#: Steering kept in reserve for the tracking controller, degrees (the line needs at most
#: 30 - |steer_offset| - this).
STEER_RESERVE_DEG = 3.0
#: The scan of the length weight ``lam`` (1/m^2); 0 = minimum curvature.
LAM_GRID = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
#: Spacing of the dense line used for the speed profile, the controller and the outputs, m.
DENSE_SPACING = 0.02


# --------------------------------------------------------------------------------------------
# the car's limits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CarLimits:
    """What the line may ask of the car, from a :class:`~deepracer_sim.car.Dynamics`.

    Attributes:
        v_max, v_min: steady speeds at the commands 4 and 0.1 m/s (``speed_gain`` applied), m/s.
        steer_max: wheel angle the line may use, rad (30 degrees less ``|steer_offset|`` and
            ``reserve``).
        cmd_max: command magnitude available around the offset, rad (30 degrees less
            ``|steer_offset|``).
        k_max: curvature of the rear axle at ``steer_max`` at low speed, 1/m.
        lat_accel: soft cap of the lateral acceleration, m/s^2 (inf = none).
        speed_tau, max_accel, steer_tau, yaw_gain, speed_gain, steer_offset: the dynamics.
    """

    v_max: float
    v_min: float
    steer_max: float
    cmd_max: float
    k_max: float
    lat_accel: float
    speed_tau: float
    max_accel: float
    steer_tau: float
    yaw_gain: float
    speed_gain: float
    steer_offset: float

    @classmethod
    def from_dynamics(cls, dyn: Dynamics, reserve_deg: float = STEER_RESERVE_DEG) -> CarLimits:
        cmd_max = math.radians(MAX_STEERING_ANGLE) - abs(dyn.steer_offset)
        steer_max = cmd_max - math.radians(reserve_deg)
        return cls(v_max=MAX_SPEED * dyn.speed_gain, v_min=MIN_SPEED * dyn.speed_gain,
                   steer_max=steer_max, cmd_max=cmd_max,
                   k_max=dyn.yaw_gain * math.tan(steer_max) / WHEELBASE,
                   lat_accel=dyn.max_lat_accel, speed_tau=dyn.speed_tau,
                   max_accel=dyn.max_accel, steer_tau=dyn.steer_tau, yaw_gain=dyn.yaw_gain,
                   speed_gain=dyn.speed_gain, steer_offset=dyn.steer_offset)

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)


# index of CarLimits.as_array
_LV_MAX, _LV_MIN, _LSTEER, _LCMD, _LK, _LLAT, _LSTAU, _LACC, _LDTAU, _LGAIN, _LSGAIN, \
    _LOFF = range(12)


# --------------------------------------------------------------------------------------------
# speed profile (numba)
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _max_speed_for_curvature(k_abs: float, lim: np.ndarray) -> float:
    """Largest rear-axle speed at which the car can hold curvature ``k_abs`` with the wheels at
    most ``steer_max``: ``(a / v^2) tanh(k_max v^2 / a) >= k`` (0 if impossible)."""
    v_max = lim[_LV_MAX]
    k_max = lim[_LK]
    a = lim[_LLAT]
    if k_abs > k_max:
        return 0.0
    if a == np.inf or k_abs <= 1e-12:
        return v_max
    # the reachable curvature falls with speed: bisect on v^2
    hi = v_max * v_max
    if (a / hi) * math.tanh(k_max * hi / a) >= k_abs:
        return v_max
    lo = 0.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if (a / mid) * math.tanh(k_max * mid / a) >= k_abs:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo)


@njit(cache=True)
def _wheel_angle(k: float, v: float, lim: np.ndarray) -> float:
    """Wheel angle (rad, signed) that gives rear-axle curvature ``k`` at speed ``v``."""
    a = lim[_LLAT]
    k0 = k
    if a != np.inf and abs(k) > 1e-12:
        q = abs(k) * v * v / a
        if q >= 0.999999:
            q = 0.999999
        k0 = k * math.atanh(q) / q
    return math.atan(k0 * WHEELBASE / lim[_LGAIN])


@njit(cache=True)
def _cover(v0: float, ds: float, u: float, lim: np.ndarray):
    """Drive ``ds`` m from speed ``v0`` under the speed command ``u`` (steady speed, m/s):
    (speed at the end, time taken)."""
    tau = lim[_LSTAU]
    amax = lim[_LACC]
    if ds <= 0.0:
        return v0, 0.0
    lo = 0.0
    hi = ds / max(min(v0, u), 1e-3) + 10.0 * tau + 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        _, d = car_speed_step(v0, u, mid, tau, amax)
        if d < ds:
            lo = mid
        else:
            hi = mid
    v1, _ = car_speed_step(v0, u, hi, tau, amax)
    return v1, hi


@njit(cache=True)
def _lag_ok(k: float, dkds: float, v: float, cmd: float, stau: float, lim: np.ndarray) -> bool:
    """Whether the steering command that keeps the lagging wheels on a curvature changing by
    ``dkds`` per m at speed ``v`` stays within +-``cmd``."""
    d = _wheel_angle(k, v, lim)
    eps = 1e-6
    rate = (_wheel_angle(k + eps, v, lim) - d) / eps * dkds * v
    return abs(d + stau * rate) <= cmd


@njit(cache=True)
def _profile(ds: np.ndarray, k_rear: np.ndarray, ratio: np.ndarray, dkds: np.ndarray,
             lim: np.ndarray, v_start: float):
    """Rear-axle speeds at the M points of a line and the time of each of its M - 1 segments;
    see :func:`speed_profile`."""
    m = k_rear.shape[0]
    v_max = lim[_LV_MAX]
    cmd = lim[_LCMD]
    stau = lim[_LDTAU]
    cap = np.empty(m)
    for i in range(m):
        cap[i] = _max_speed_for_curvature(abs(k_rear[i]), lim)
    # the steering lag: the command that makes the wheels follow the line,
    # delta + steer_tau * v * d(delta)/ds, must stay within +-cmd (bisect the speed: the
    # wheel angle grows with the speed under a lateral cap)
    if stau > 0.0:
        for i in range(m):
            if cap[i] <= 0.0 or dkds[i] == 0.0:
                continue
            if _lag_ok(k_rear[i], dkds[i], cap[i], cmd, stau, lim):
                continue
            lo = 0.0
            hi = cap[i]
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                if _lag_ok(k_rear[i], dkds[i], mid, cmd, stau, lim):
                    lo = mid
                else:
                    hi = mid
            cap[i] = lo
    v = cap.copy()
    # rear-axle distance of each segment (the origin's path is longer by ``ratio`` in curves)
    dr = np.empty(m - 1)
    for i in range(m - 1):
        dr[i] = ds[i] * 0.5 * (1.0 / ratio[i] + 1.0 / ratio[i + 1])
    # forward: acceleration from the speed response under the top-speed command
    v[0] = min(cap[0], v_start)
    for i in range(m - 1):
        v1, _ = _cover(v[i], dr[i], v_max, lim)
        v[i + 1] = min(v[i + 1], v1)
    # backward: braking under the lowest command (bisect the entry speed)
    u_min = lim[_LV_MIN]
    for i in range(m - 2, -1, -1):
        v_end, _ = _cover(v[i], dr[i], u_min, lim)
        if v_end <= v[i + 1] + 1e-12:
            continue
        lo = 0.0
        hi = v[i]
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            ve, _ = _cover(mid, dr[i], u_min, lim)
            if ve <= v[i + 1]:
                lo = mid
            else:
                hi = mid
        v[i] = lo
    # segment times: the response's own time while accelerating, else the mean speed
    t = np.empty(m - 1)
    for i in range(m - 1):
        v1, ti = _cover(v[i], dr[i], v_max, lim)
        if v1 <= v[i + 1] * (1.0 + 1e-9):  # full acceleration across this segment
            t[i] = ti
        else:
            vm = 0.5 * (v[i] + v[i + 1])
            t[i] = dr[i] / vm if vm > 1e-9 else np.inf
    return v, t, cap


def speed_profile(ds: np.ndarray, k_rear: np.ndarray, limits: CarLimits, *, v_start: float = 0.0,
                  ratio: np.ndarray | None = None,
                  dkds: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Time-optimal speeds along an open stretch of line under the car's limits
    (forward/backward pass).

    Args:
        ds: (M - 1,) segment lengths of the origin's path, m.
        k_rear: (M,) signed curvature of the rear axle's path at the points, 1/m.
        limits: the car.
        v_start: speed at point 0, m/s (0: standing start).
        ratio: (M,) origin speed / rear-axle speed (1 if None).
        dkds: (M,) d(k_rear)/ds, 1/m^2, for the steering lag (0 if None).

    Returns:
        (v (M,) rear-axle speed, m/s; t (M - 1,) seconds per segment). A curvature beyond the
        steering limit gives v = 0 there and an infinite segment time.
    """
    k_rear = np.ascontiguousarray(k_rear, dtype=np.float64)
    m = len(k_rear)
    ratio = np.ones(m) if ratio is None else np.ascontiguousarray(ratio, dtype=np.float64)
    dkds = np.zeros(m) if dkds is None else np.ascontiguousarray(dkds, dtype=np.float64)
    with np.errstate(divide="ignore"):
        v, t, _ = _profile(np.ascontiguousarray(ds, dtype=np.float64), k_rear, ratio, dkds,
                           limits.as_array(), float(v_start))
    return v, t


# --------------------------------------------------------------------------------------------
# geometry: reference, corridor, the quadratic programme
# --------------------------------------------------------------------------------------------


def _resample(points: np.ndarray, spacing: float, closed: bool) -> np.ndarray:
    """Points every ~``spacing`` m along a polyline (a loop: without the closing point),
    starting at its first point; an open line keeps its last point."""
    pts = np.asarray(points, dtype=np.float64)
    if closed:
        pts = np.vstack([pts, pts[:1]]) if np.any(pts[0] != pts[-1]) else pts
    seg = np.hypot(*np.diff(pts, axis=0).T)
    keep = np.concatenate([[True], seg > 1e-9])
    pts = pts[keep]
    cum = np.concatenate([[0.0], np.cumsum(seg[seg > 1e-9])])
    n = max(round(cum[-1] / spacing), 8)
    s = np.linspace(0.0, cum[-1], n + 1)
    out = np.column_stack([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])])
    return out[:-1] if closed else out


def _normals(points: np.ndarray, closed: bool) -> np.ndarray:
    """(M, 2) unit left normals from central differences."""
    if closed:
        d = np.roll(points, -1, axis=0) - np.roll(points, 1, axis=0)
    else:
        d = np.gradient(points, axis=0)
    d /= np.hypot(d[:, 0], d[:, 1])[:, None]
    return np.column_stack([-d[:, 1], d[:, 0]])


def _border_points(track: Track, step: float = 0.01) -> np.ndarray:
    """Points every <= ``step`` m along the inner and outer borders (an open track's end caps
    are no border: the car starts and finishes across them)."""
    w = track.waypoints
    out = []
    for col in (2, 4):
        line = w[:, col:col + 2]
        a, b = line[:-1], line[1:]
        length = np.hypot(*(b - a).T)
        counts = np.maximum(np.ceil(length / step).astype(int), 1)
        idx = np.repeat(np.arange(len(a)), counts)
        frac = np.concatenate([np.arange(c) / c for c in counts])
        out.append(a[idx] + frac[:, None] * (b[idx] - a[idx]))
        out.append(line[-1:])
    return np.vstack(out)


@njit(cache=True)
def _on_road(grid_meta, edges, cell_start, cell_edges, inside, xy: np.ndarray) -> np.ndarray:
    out = np.empty(xy.shape[0], dtype=np.bool_)
    for k in range(xy.shape[0]):
        out[k] = point_on_road(grid_meta, edges, cell_start, cell_edges, inside, xy[k, 0],
                               xy[k, 1])
    return out


class _Road:
    """The road of a track for clearance queries: a k-d tree of its densified border and its
    containment grid."""

    def __init__(self, track: Track) -> None:
        from scipy.spatial import cKDTree

        self.track = track
        self.tree = cKDTree(_border_points(track))
        self.grid = track.arrays.road_grid()
        w = track.waypoints
        self.max_width = float(np.max(np.hypot(*(w[:, 4:6] - w[:, 2:4]).T)))

    def clearance(self, xy: np.ndarray) -> np.ndarray:
        """Signed distance to the border, m (+ on the road), within ~0.1 mm."""
        d, _ = self.tree.query(xy)
        return np.where(_on_road(*self.grid, np.ascontiguousarray(xy)), d, -d)

    def corridor(self, p: np.ndarray, n: np.ndarray, radius: float,
                 step: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
        """Bounds (lb, ub) of alpha such that ``p + alpha n`` has clearance >= ``radius``: the
        run of such offsets (sampled every ``step`` m) nearest to alpha = 0."""
        span = 0.75 * self.max_width + 0.05
        a = np.arange(-span, span + step / 2, step)
        xy = p[:, None, :] + a[None, :, None] * n[:, None, :]
        if not self.track.is_loop:  # test the end points 1 cm inside the open track's caps
            t0 = np.array([n[0, 1], -n[0, 0]])
            t1 = np.array([n[-1, 1], -n[-1, 0]])
            xy[0] += 0.01 * t0
            xy[-1] -= 0.01 * t1
        ok = (self.clearance(xy.reshape(-1, 2)) >= radius).reshape(len(p), len(a))
        lb = np.empty(len(p))
        ub = np.empty(len(p))
        zero = len(a) // 2
        for i in range(len(p)):
            good = np.flatnonzero(ok[i])
            if len(good) == 0:
                raise RacelineError(
                    f"{self.track.name}: the road is narrower than the car plus margins "
                    f"({2 * radius:.3f} m) near ({p[i, 0]:.2f}, {p[i, 1]:.2f})")
            j = good[np.argmin(np.abs(good - zero))]
            lo = hi = j
            while lo > 0 and ok[i, lo - 1]:
                lo -= 1
            while hi < len(a) - 1 and ok[i, hi + 1]:
                hi += 1
            lb[i], ub[i] = a[lo], a[hi]
        return lb, ub


def _difference_rows(m: int, order: int, closed: bool):
    """Row, column and coefficient lists of the ``order``-th difference operator."""
    coef = {1: (-1.0, 1.0), 2: (1.0, -2.0, 1.0), 3: (-1.0, 3.0, -3.0, 1.0)}[order]
    rows, cols, vals = [], [], []
    count = m if closed else m - order
    for r in range(count):
        for k, c in enumerate(coef):
            j = r + k - (order // 2 if closed else 0)
            rows.append(r)
            cols.append(j % m)
            vals.append(c)
    return np.array(rows), np.array(cols), np.array(vals), count


def box_qp(h, f: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_iter: int = 200,
           tol: float = 1e-8) -> np.ndarray | None:
    """Minimise ``x^T h x / 2 - f^T x`` subject to ``lo <= x <= hi`` for a sparse symmetric
    positive definite ``h``: Bertsekas's projected Newton method (SIAM J. Control Optim. 20(2),
    1982): a Newton step on the variables not held at a bound, a scaled gradient step on the
    others, an Armijo search along the projection arc; each step one sparse solve (scipy's
    SuperLU). Returns None if it has not converged within ``max_iter`` steps.
    """
    from scipy.sparse.linalg import spsolve

    h = h.tocsr()
    diag = np.maximum(h.diagonal(), 1e-300)
    x = np.clip(np.zeros(len(f)), lo, hi)

    def q(z: np.ndarray) -> float:
        return 0.5 * float(z @ (h @ z)) - float(f @ z)

    qx = q(x)
    scale = max(float(np.max(np.abs(f))), float(np.max(diag)) * 1e-12, 1e-300)
    for _ in range(max_iter):
        g = h @ x - f
        w = np.clip(x - g / diag, lo, hi) - x  # scaled projected gradient: 0 at the optimum
        if float(np.max(np.abs(w * diag))) <= tol * scale:
            return x
        eps = min(1e-4, float(np.max(np.abs(w))))
        bound = ((x <= lo + eps) & (g > 0.0)) | ((x >= hi - eps) & (g < 0.0))
        d = -g / diag
        free = np.flatnonzero(~bound)
        if len(free):
            hf = h[free][:, free]
            d[free] = spsolve(hf.tocsc(), -g[free]) if len(free) > 1 else -g[free] / diag[free]
        step = 1.0
        while True:
            xn = np.clip(x + step * d, lo, hi)
            qn = q(xn)
            if qn <= qx + 1e-4 * float(g @ (xn - x)) or step < 1e-12:
                break
            step *= 0.5
        if qn >= qx - 1e-14 * abs(qx):  # no descent left: at the optimum within rounding
            return xn if qn < qx else x
        x, qx = xn, qn
    return None


def _menger(r: np.ndarray, closed: bool) -> np.ndarray:
    """Signed curvature (1/m, + = left turn) of the circle through each point and its two
    neighbours (a loop: every point; an open line: the M - 2 inner points)."""
    if closed:
        a, b, c = np.roll(r, 1, axis=0), r, np.roll(r, -1, axis=0)
    else:
        a, b, c = r[:-2], r[1:-1], r[2:]
    u = b - a
    w = c - b
    cross = u[:, 0] * w[:, 1] - u[:, 1] * w[:, 0]
    den = np.hypot(*u.T) * np.hypot(*w.T) * np.hypot(*(c - a).T)
    return 2.0 * cross / np.maximum(den, 1e-12)


class _Problem:
    """The line's optimisation on one reference: points ``p + alpha n`` with ``alpha`` in
    [lb, ub] and ``alpha_0 = 0``; objective ``sum kappa_i^2 h + lam sum |r_i+1 - r_i|^2 / h``
    with ``kappa_i`` the points' Menger curvature (Gauss-Newton with Levenberg damping, each
    step a box-constrained QP)."""

    def __init__(self, p: np.ndarray, n: np.ndarray, lb: np.ndarray, ub: np.ndarray,
                 closed: bool) -> None:
        from scipy.sparse import coo_matrix

        self.p, self.n, self.lb, self.ub, self.closed = p, n, lb, ub, closed
        self.m = len(p)
        self.h = float(np.mean(np.hypot(*np.diff(p, axis=0).T)))
        r, c, v, count = _difference_rows(self.m, 1, closed)
        d1 = coo_matrix((v, (r, c)), shape=(count, self.m)).tocsr()
        # segment vectors D1 (p + alpha n) = D1 p + S alpha, one block per axis
        self.seg_p = np.column_stack([d1 @ p[:, 0], d1 @ p[:, 1]])
        self.seg_s = [d1.multiply(n[:, k][None, :]).tocsr() for k in range(2)]
        self.seg_h = (self.seg_s[0].T @ self.seg_s[0] + self.seg_s[1].T @ self.seg_s[1]).tocsc()

    def points(self, alpha: np.ndarray) -> np.ndarray:
        return self.p + alpha[:, None] * self.n

    def kappa(self, alpha: np.ndarray) -> np.ndarray:
        return _menger(self.points(alpha), self.closed)

    def cost(self, alpha: np.ndarray, lam: float) -> float:
        seg = self.seg_p + np.column_stack([self.seg_s[0] @ alpha, self.seg_s[1] @ alpha])
        return float(np.sum(self.kappa(alpha) ** 2) * self.h + lam * np.sum(seg**2) / self.h)

    def jacobian(self, alpha: np.ndarray):
        """d kappa / d alpha (sparse, 3 entries a row) by differences over 3 colour classes."""
        from scipy.sparse import coo_matrix

        k0 = self.kappa(alpha)
        eps = 1e-6
        rows, cols, vals = [], [], []
        m = self.m
        off = 0 if self.closed else 1
        for colour in range(3):
            pert = np.zeros(m)
            pert[colour::3] = eps
            dk = (self.kappa(alpha + pert) - k0) / eps
            for shift in (-1, 0, 1):  # kappa row i depends on alpha_{i-1}, alpha_i, alpha_{i+1}
                i = np.arange(len(k0))
                j = i + off + shift
                if self.closed:
                    j %= m
                ok = (j >= 0) & (j < m) & (j % 3 == colour)
                rows.append(i[ok])
                cols.append(j[ok])
                vals.append(dk[ok])
        return k0, coo_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                      np.concatenate(cols))),
                              shape=(len(k0), m)).tocsc()

    def solve(self, alpha: np.ndarray, lam: float, steps: int = 30,
              tol: float = 1e-7) -> np.ndarray:
        """Gauss-Newton from ``alpha`` (which must lie in the bounds)."""
        from scipy.sparse import identity

        alpha = np.clip(alpha, self.lb, self.ub)
        alpha[0] = 0.0
        cost = self.cost(alpha, lam)
        mu = 1e-3 * self.h
        eye = identity(self.m - 1, format="csc")
        for _ in range(steps):
            k0, jac = self.jacobian(alpha)
            seg = self.seg_p + np.column_stack([self.seg_s[0] @ alpha, self.seg_s[1] @ alpha])
            grad = self.h * (jac.T @ k0) + (lam / self.h) * (self.seg_s[0].T @ seg[:, 0]
                                                             + self.seg_s[1].T @ seg[:, 1])
            hess = (self.h * (jac.T @ jac) + (lam / self.h) * self.seg_h).tocsc()
            hess = hess[1:, :][:, 1:]  # alpha_0 = 0
            improved = False
            while mu < 1e6:
                lo = self.lb[1:] - alpha[1:]
                hi = np.maximum(self.ub[1:] - alpha[1:], lo + 1e-12)
                step = box_qp((hess + mu * eye).tocsc(), -grad[1:], lo, hi)
                if step is None:  # not seen on the official tracks: scipy's bounded solver
                    from scipy.optimize import lsq_linear

                    chol = np.linalg.cholesky((hess + mu * eye).toarray())
                    step = lsq_linear(chol.T, -np.linalg.solve(chol, grad[1:]), bounds=(lo, hi),
                                      method="trf", lsq_solver="exact", tol=1e-12).x
                trial = alpha.copy()
                trial[1:] = np.clip(alpha[1:] + step, self.lb[1:], self.ub[1:])
                new = self.cost(trial, lam)
                if new <= cost:
                    improved = True
                    break
                mu *= 10.0
            if not improved:
                break
            mu = max(mu / 10.0, 1e-9)
            done = cost - new <= tol * max(cost, 1e-12)
            alpha, cost = trial, new
            if done:
                break
        return alpha


# --------------------------------------------------------------------------------------------
# the dense line and its lap
# --------------------------------------------------------------------------------------------


@dataclass
class _Dense:
    """A line sampled every ~DENSE_SPACING m from a cubic spline through its points."""

    xy: np.ndarray  # (K, 2) origin path; a loop repeats the first point at the end
    s: np.ndarray  # (K,) arc length, m
    heading: np.ndarray  # (K,) rad
    kappa: np.ndarray  # (K,) signed curvature of the origin's path, 1/m


def _dense(points: np.ndarray, closed: bool, spacing: float = DENSE_SPACING) -> _Dense:
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
    return _Dense(xy, s, np.arctan2(d1[:, 1], d1[:, 0]), kappa)


def _rear_axle(kappa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Curvature of the rear axle's path and origin speed / rear speed, for an origin path of
    curvature ``kappa`` (the origin runs |REAR_AXLE_X| ahead of the rear axle: R_o^2 = R_r^2 +
    b^2)."""
    b = -REAR_AXLE_X
    q = np.clip(1.0 - (b * kappa) ** 2, 1e-6, None)
    k_rear = kappa / np.sqrt(q)
    return k_rear, np.sqrt(1.0 + (b * k_rear) ** 2)


def _smooth_slope(y: np.ndarray, s: np.ndarray, window: float, closed: bool) -> np.ndarray:
    """dy/ds as a central difference over ~``window`` m (about a step of driving)."""
    k = max(round(0.5 * window / max(np.mean(np.diff(s)), 1e-9)), 1)
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
class _Lap:
    v: np.ndarray  # (K,) origin speed, m/s
    v_rear: np.ndarray  # (K,) rear-axle (the car's) speed, m/s
    t: np.ndarray  # (K,) time at each point, s (from the start at rest)
    drive_time: float  # s until the reference point reaches progress 100
    lap_time: float  # as DeepRacerEnv reports it: whole steps + the PREPARE step
    s_end: float  # origin arc length at the finish, m
    k_rear: np.ndarray
    dkds: np.ndarray
    v_flying: np.ndarray  # (K,) rear-axle speed of a flying lap (entered at top speed)


def _finish_arc(track: Track, d: _Dense) -> float:
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


def _lap(track: Track, d: _Dense, limits: CarLimits) -> _Lap:
    k_rear, ratio = _rear_axle(d.kappa)
    # d(delta)/dt is felt over about a step of driving at the top speed
    dkds = _smooth_slope(k_rear, d.s, limits.v_max * STEP_DT, track.is_loop)
    v_rear, seg_t = speed_profile(np.diff(d.s), k_rear, limits, v_start=0.0, ratio=ratio,
                                  dkds=dkds)
    t = np.concatenate([[0.0], np.cumsum(seg_t)])
    v_fly, _ = speed_profile(np.diff(d.s), k_rear, limits, v_start=limits.v_max, ratio=ratio,
                             dkds=dkds)
    s_end = _finish_arc(track, d)
    drive = float(np.interp(s_end, d.s, t)) if np.all(np.isfinite(t)) else math.inf
    steps = math.ceil(drive / STEP_DT - 1e-9) if math.isfinite(drive) else math.inf
    return _Lap(v_rear * ratio, v_rear, t, drive, (steps + 1) * STEP_DT, s_end, k_rear, dkds,
                v_fly)


# --------------------------------------------------------------------------------------------
# the racing line
# --------------------------------------------------------------------------------------------


@dataclass
class RacingLine:
    """A track's racing line under one car (see the module docstring).

    Attributes:
        track: the track.
        version: physics version whose car was used (None: a custom ``Dynamics``).
        dynamics: the car.
        xy: (K, 2) the car origin's path, m, every ~2 cm from the start point (waypoint 0, on the
            centre line); a loop ends on its first point.
        s: (K,) arc length, m.
        heading: (K,) rad.
        kappa: (K,) signed curvature of the origin's path, 1/m.
        speed: (K,) the car's speed (rear axle, as ``params['speed']`` is commanded) along the
            standing-start lap, m/s.
        time: (K,) time at each point from the start, s.
        flying_speed: (K,) the car's speed when it arrives at the start at speed (what a
            training episode starting anywhere needs), m/s.
        lap_time: the limit: the evaluation lap time (s) of this line, as ``DeepRacerEnv``
            reports it (the PREPARE step plus whole 1/15 s steps).
        drive_time: the same lap in continuous time from the first driven step, s.
        lam: the chosen length weight (1/m^2; 0 = minimum curvature).
        margin: clearance kept beyond half the car's width, m.
        min_clearance: the least distance from the line to a border, m.
        solve_seconds: optimiser wall time, s.
        scan: (lam, lap time, drive time) of each line tried, in the order tried.
    """

    track: Track
    version: float | None
    dynamics: Dynamics
    xy: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    kappa: np.ndarray
    speed: np.ndarray
    time: np.ndarray
    lap_time: float
    drive_time: float
    lam: float
    margin: float
    min_clearance: float
    solve_seconds: float
    scan: list[tuple[float, float, float]] = field(default_factory=list)
    s_end: float = 0.0
    flying_speed: np.ndarray | None = None

    @property
    def limits(self) -> CarLimits:
        return CarLimits.from_dynamics(self.dynamics)

    @property
    def length(self) -> float:
        """Length of the line (a full loop), m."""
        return float(self.s[-1])

    @property
    def closed(self) -> bool:
        return self.track.is_loop

    def steering(self, flying: bool = False) -> np.ndarray:
        """(K,) wheel angle the line needs at its speed, degrees (+ = left)."""
        k_rear, _ = _rear_axle(self.kappa)
        lim = self.limits.as_array()
        speed = self.flying_speed if flying else self.speed
        return np.degrees([_wheel_angle(k, v, lim) for k, v in zip(k_rear, speed, strict=True)])

    def commands(self, flying: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(K,) steering command (degrees; the lag and offset inverted) and speed command
        (m/s; ``speed / speed_gain``, within [0.1, 4]) along the line: of the standing-start
        lap, or with ``flying`` of a lap entered at speed."""
        lim = self.limits
        speed = self.flying_speed if flying else self.speed
        delta = np.radians(self.steering(flying))
        ddelta = _smooth_slope(delta, self.s, lim.v_max * STEP_DT, self.closed)
        cmd = delta + lim.steer_tau * speed * ddelta - lim.steer_offset
        steer = np.clip(np.degrees(cmd), -MAX_STEERING_ANGLE, MAX_STEERING_ANGLE)
        return steer, np.clip(speed / lim.speed_gain, MIN_SPEED, MAX_SPEED)

    def points(self, spacing: float = 0.1) -> np.ndarray:
        """(M, 4) [x, y, speed, time] every ~``spacing`` m (a loop without its closing point)."""
        n = max(round(self.length / spacing), 4)
        s = np.linspace(0.0, self.length, n + 1)
        if self.closed:
            s = s[:-1]
        return np.column_stack([np.interp(s, self.s, self.xy[:, 0]),
                                np.interp(s, self.s, self.xy[:, 1]),
                                np.interp(s, self.s, self.speed),
                                np.interp(s, self.s, self.time)])

    def summary(self) -> dict:
        return {"track": self.track.name, "version": self.version,
                "length": round(self.track.length, 3), "width": round(self.track.width, 4),
                "line_length": round(self.length, 3), "lap_time": round(self.lap_time, 4),
                "drive_time": round(self.drive_time, 4), "lam": self.lam,
                "min_clearance": round(self.min_clearance, 4),
                "solve_seconds": round(self.solve_seconds, 3)}


def _reference(points: np.ndarray, spacing: float, closed: bool,
               smooth: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Reference points every ~``spacing`` m (a loop: a multiple of 3 of them, for the
    Jacobian's colouring) smoothed over ~``smooth`` m, point 0 kept; and their normals."""
    ref = _resample(points, spacing, closed)
    if closed:
        length = float(np.sum(np.hypot(*np.diff(np.vstack([ref, ref[:1]]), axis=0).T)))
        m = max(3 * round(length / spacing / 3), 9)
        ref = _resample(points, length / m * (1.0 + 1e-12), closed)[:m]
        if len(ref) < m:
            ref = _resample(points, length / m * (1.0 - 1e-9), closed)[:m]
    start = ref[0].copy()
    passes = round(2.0 * (smooth / spacing) ** 2)
    for _ in range(passes):  # binomial filter ~ a Gaussian of sigma = smooth
        if closed:
            ref = 0.25 * np.roll(ref, 1, axis=0) + 0.5 * ref + 0.25 * np.roll(ref, -1, axis=0)
        else:
            ref[1:-1] = 0.25 * ref[:-2] + 0.5 * ref[1:-1] + 0.25 * ref[2:]
        ref[0] = start
    return ref, _normals(ref, closed)


def _evaluate(track: Track, prob: _Problem, alpha: np.ndarray, limits: CarLimits):
    dense = _dense(prob.points(alpha), prob.closed)
    return dense, _lap(track, dense, limits)


def compute_raceline(track: Track | str, version: float = DEFAULT_VERSION, *,
                     dynamics: Dynamics | None = None, margin: float = SAFETY_MARGIN,
                     spacing: float | None = None, lams: tuple[float, ...] = LAM_GRID,
                     refine: int = 6) -> RacingLine:
    """The racing line of a track for the car of ``version`` (or ``dynamics``).

    Args:
        track: a Track or a name/path.
        version: physics version (its car: :func:`~deepracer_sim.car.dynamics_for_version`).
        dynamics: a car to use instead of the version's.
        margin: clearance beyond half the car's width, m.
        spacing: reference point spacing, m (default SPACING, coarser on long tracks).
        lams: the length weights scanned (see the module docstring).
        refine: golden-section steps on log(lam) around the best of the scan.

    Raises:
        RacelineError: the track is too narrow for the car with the margin.
    """
    t0 = time.perf_counter()
    if not isinstance(track, Track):
        track = load_track(track)
    dyn = dynamics if dynamics is not None else dynamics_for_version(version)
    limits = CarLimits.from_dynamics(dyn)
    if spacing is None:
        spacing = max(SPACING, track.length / MAX_POINTS)
    road = _Road(track)
    radius = 0.5 * CAR_WIDTH + margin
    closed = track.is_loop

    def problem(points: np.ndarray) -> _Problem:
        ref, n = _reference(points, spacing, closed)
        lb, ub = road.corridor(ref, n, radius)
        if lb[0] > 0.0 or ub[0] < 0.0:
            raise RacelineError(f"{track.name}: the start point has less than "
                                f"{radius:.3f} m of road on a side")
        return _Problem(ref, n, lb, ub, closed)

    def key(lap: _Lap) -> tuple[float, float]:
        return (lap.lap_time, lap.drive_time)

    centre = track.waypoints[:, 0:2]
    results: list[tuple[float, int, np.ndarray, _Dense, _Lap]] = []  # (lam, -, alpha, ...)
    prob = problem(centre)
    # 1. scan the length weight, each solve warm-started from the previous weight's line
    alpha = np.zeros(prob.m)
    for lam in sorted(lams):
        alpha = prob.solve(alpha, lam)
        results.append((lam, 0, alpha, *_evaluate(track, prob, alpha, limits)))
    # 2. golden section on log(lam) around the best weight
    order = sorted(lams)
    best = min(range(len(order)), key=lambda i: key(results[i][4]))
    if refine and 0 < best < len(order) - 1 and order[best - 1] > 0.0:
        def run(loglam: float) -> tuple[float, float]:
            lam = math.exp(loglam)
            near = min(results, key=lambda r: abs(math.log(max(r[0], 1e-9)) - loglam))
            al = prob.solve(near[2], lam)
            results.append((lam, 0, al, *_evaluate(track, prob, al, limits)))
            return key(results[-1][4])

        a, b = math.log(order[best - 1]), math.log(order[best + 1])
        g = (math.sqrt(5.0) - 1.0) / 2.0
        c, d = b - g * (b - a), a + g * (b - a)
        fc, fd = run(c), run(d)
        for _ in range(refine - 2):
            if fc <= fd:
                b, d, fd = d, c, fc
                c = b - g * (b - a)
                fc = run(c)
            else:
                a, c, fc = c, d, fd
                d = a + g * (b - a)
                fd = run(d)
    lam, _, _, dense, lap = min(results, key=lambda r: key(r[4]))
    if not math.isfinite(lap.lap_time):
        raise RacelineError(f"{track.name}: no line within the car's steering limit")
    inner = (dense.s >= 0.01) & (dense.s <= dense.s[-1] - 0.01)  # an open track's caps aside
    clearance = float(np.min(road.clearance(dense.xy[inner]))) - 0.5 * CAR_WIDTH
    return RacingLine(track=track, version=None if dynamics is not None else float(version),
                      dynamics=dyn, xy=dense.xy, s=dense.s, heading=dense.heading,
                      kappa=dense.kappa, speed=lap.v_rear, time=lap.t, lap_time=lap.lap_time,
                      drive_time=lap.drive_time, lam=lam, margin=margin,
                      min_clearance=clearance, solve_seconds=time.perf_counter() - t0,
                      scan=[(r[0], r[4].lap_time, r[4].drive_time) for r in results],
                      s_end=lap.s_end, flying_speed=lap.v_flying)


# --------------------------------------------------------------------------------------------
# driving the line: a tracking controller that knows the line and the car
# --------------------------------------------------------------------------------------------

#: Steps the controller looks ahead (0.6 s: three steering time constants of the v5 car).
HORIZON = 9
#: Feedback of the controller's look-ahead policy: rad of steering per m of lateral error and
#: per rad of heading error.
K_LATERAL = 1.5
K_HEADING = 0.8


@njit(cache=True)
def _project_line(xy: np.ndarray, s: np.ndarray, closed: bool, px: float, py: float,
                  hint: int, back: int, ahead: int):
    """Nearest point of the line to (px, py) among the segments hint-back .. hint+ahead:
    (segment, arc length along the line, signed lateral offset (+ left), segment heading)."""
    nseg = xy.shape[0] - 1
    best = 1e300
    bj = 0
    bt = 0.0
    for k in range(-back, ahead + 1):
        j = hint + k
        if closed:
            j %= nseg
        elif j < 0 or j >= nseg:
            continue
        ax, ay = xy[j, 0], xy[j, 1]
        dx, dy = xy[j + 1, 0] - ax, xy[j + 1, 1] - ay
        l2 = dx * dx + dy * dy
        t = ((px - ax) * dx + (py - ay) * dy) / l2 if l2 > 0.0 else 0.0
        t = min(max(t, 0.0), 1.0)
        ex, ey = ax + t * dx - px, ay + t * dy - py
        d2 = ex * ex + ey * ey
        if d2 < best:
            best = d2
            bj = j
            bt = t
    ax, ay = xy[bj, 0], xy[bj, 1]
    dx, dy = xy[bj + 1, 0] - ax, xy[bj + 1, 1] - ay
    norm = math.sqrt(dx * dx + dy * dy)
    side = (dx * (py - ay) - dy * (px - ax)) / max(norm, 1e-12)
    return bj, s[bj] + bt * (s[bj + 1] - s[bj]), side, math.atan2(dy, dx)


@njit(cache=True)
def _at(s: np.ndarray, y: np.ndarray, closed: bool, q: float) -> float:
    """y interpolated at arc length q (a loop wraps)."""
    length = s[-1]
    if closed:
        q = q % length
    return np.interp(q, s, y)


@njit(cache=True)
def _speed_command(v: float, target: float, dyn: np.ndarray) -> float:
    """Speed command (m/s, within [0.1, 4]) whose response ends the step nearest ``target``."""
    gain = dyn[4]
    lo = 0.1
    hi = 4.0
    v_hi, _ = car_speed_step(v, hi * gain, STEP_DT, dyn[0], dyn[1])
    if v_hi <= target:
        return hi
    v_lo, _ = car_speed_step(v, lo * gain, STEP_DT, dyn[0], dyn[1])
    if v_lo >= target:
        return lo
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        vm, _ = car_speed_step(v, mid * gain, STEP_DT, dyn[0], dyn[1])
        if vm < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@njit(cache=True)
def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


@njit(cache=True)
def _rollout(pose0: np.ndarray, first: float, xy, s, heading, v_line, c_ff, closed: bool,
             hint: int, dyn: np.ndarray, horizon: int, cmd_max: float) -> float:
    """Cost of steering ``first`` now, then following the line's feed-forward commands with
    feedback, over ``horizon`` steps: sum of squared lateral errors (+ heading)."""
    pose = pose0.copy()
    cost = 0.0
    h = hint
    steer = first
    for k in range(horizon):
        j, q, e, _ = _project_line(xy, s, closed, pose[0], pose[1], h, 5, 40)
        h = j
        if k > 0:
            psi = _wrap(pose[2] - _at(s, heading, closed, q))
            steer = _at(s, c_ff, closed, q + pose[3] * STEP_DT) - K_LATERAL * e - K_HEADING * psi
            steer = min(max(steer, -cmd_max), cmd_max)
        target = _at(s, v_line, closed, q + max(pose[3], 0.5) * STEP_DT)
        u = _speed_command(pose[3], target, dyn)
        advance_car(pose, steer, u, dyn)
        j, q, e, _hd = _project_line(xy, s, closed, pose[0], pose[1], h, 5, 40)
        h = j
        psi = _wrap(pose[2] - _at(s, heading, closed, q))
        cost += e * e + 0.01 * psi * psi
    return cost


@njit(cache=True)
def _control(pose: np.ndarray, xy, s, heading, v_line, c_ff, closed: bool, hint: int,
             dyn: np.ndarray, horizon: int):
    """(steering command deg, speed command m/s, segment) for the car at ``pose``."""
    cmd_max = math.radians(30.0)
    j, q, _e, _hd = _project_line(xy, s, closed, pose[0], pose[1], hint, 5, 40)
    target = _at(s, v_line, closed, q + max(pose[3], 0.5) * STEP_DT)
    u = _speed_command(pose[3], target, dyn)
    # grid, then golden section around the best grid value
    n = 31
    best = 0.0
    best_cost = 1e300
    for i in range(n):
        c = -cmd_max + 2.0 * cmd_max * i / (n - 1)
        cost = _rollout(pose, c, xy, s, heading, v_line, c_ff, closed, j, dyn, horizon, cmd_max)
        if cost < best_cost:
            best_cost = cost
            best = c
    step = 2.0 * cmd_max / (n - 1)
    a = max(best - step, -cmd_max)
    b = min(best + step, cmd_max)
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c1 = b - g * (b - a)
    c2 = a + g * (b - a)
    f1 = _rollout(pose, c1, xy, s, heading, v_line, c_ff, closed, j, dyn, horizon, cmd_max)
    f2 = _rollout(pose, c2, xy, s, heading, v_line, c_ff, closed, j, dyn, horizon, cmd_max)
    for _ in range(25):
        if f1 <= f2:
            b, c2, f2 = c2, c1, f1
            c1 = b - g * (b - a)
            f1 = _rollout(pose, c1, xy, s, heading, v_line, c_ff, closed, j, dyn, horizon,
                          cmd_max)
        else:
            a, c1, f1 = c1, c2, f2
            c2 = a + g * (b - a)
            f2 = _rollout(pose, c2, xy, s, heading, v_line, c_ff, closed, j, dyn, horizon,
                          cmd_max)
    c = 0.5 * (a + b)
    if min(f1, f2) > best_cost:
        c = best
    return math.degrees(c), u, j


@dataclass
class Drive:
    """A lap driven by :func:`drive_line` or :func:`replay_commands`.

    Attributes:
        commands: (steps, 2) [steering deg, speed m/s] given at each env step (the first is the
            PREPARE step's, which the simulator ignores).
        status: the last step's episode status (``lap_complete`` when the lap was done).
        lap_time: ``info['lap_time']`` of the last step, s.
        steps: env steps, the PREPARE step included.
        min_wheels: fewest wheels on the road at any step.
        poses: (steps, 5) car state after each step [x, y, yaw, speed, steering rad].
        max_error: largest distance of the car origin from the line, m (drive_line only).
    """

    commands: np.ndarray
    status: str
    lap_time: float
    steps: int
    min_wheels: int
    poses: np.ndarray
    max_error: float = math.nan


def _line_arrays(line: RacingLine):
    steer, _ = line.commands()
    return (np.ascontiguousarray(line.xy), np.ascontiguousarray(line.s),
            np.ascontiguousarray(np.unwrap(line.heading)), np.ascontiguousarray(line.speed),
            np.ascontiguousarray(np.radians(steer)))


def drive_line(line: RacingLine, horizon: int = HORIZON, max_steps: int | None = None) -> Drive:
    """Drive one evaluation lap along the line in the simulator with a tracking controller
    that knows the line and the car (see :func:`_control`), recording its commands.

    The controller picks each step's steering by simulating the car over ``horizon`` steps (the
    chosen command now, then the line's lag-inverted feed-forward with feedback) and its speed
    command by inverting the speed response towards the line's speed profile.
    """
    from deepracer_sim.sim import layout
    from deepracer_sim.sim.simulator import Simulator, make_config

    track = line.track
    dyn = line.dynamics.as_array()
    cfg = make_config(0.0, False, False, max_steps or 10 * int(line.lap_time / STEP_DT + 10),
                          0.0)
    simulator = Simulator(track, 1, dyn, cfg, np.zeros(1))
    xy, s, heading, v_line, c_ff = _line_arrays(line)
    commands: list[tuple[float, float]] = []
    poses: list[np.ndarray] = []
    hint = 0
    wheels = 4
    err = 0.0
    status = "prepare"
    while True:
        pose = simulator.s[0, layout.S_X:layout.S_DELTA + 1].copy()
        if commands:
            steer, speed, hint = _control(pose, xy, s, heading, v_line, c_ff, line.closed, hint,
                                          dyn, horizon)
        else:  # the PREPARE step: the car is held whatever the action
            steer, speed = 0.0, MIN_SPEED
        commands.append((steer, speed))
        simulator.step(np.array([steer]), np.array([speed]))
        rec = simulator.rec[0]
        status = _status(rec)
        wheels = min(wheels, int(simulator.s[0, layout.S_WHEELS_ON]))
        poses.append(simulator.s[0, layout.S_X:layout.S_DELTA + 1].copy())
        _, _, e, _ = _project_line(xy, s, line.closed, poses[-1][0], poses[-1][1], hint, 5, 40)
        if status != "lap_complete":  # the step that reports the finish has driven past it
            err = max(err, abs(e))
        if rec[layout.R_DONE] > 0.5 or rec[layout.R_TRUNCATED] > 0.5:
            break
    return Drive(np.array(commands), status, (rec[layout.R_STEPS] - 1.0) * STEP_DT,
                 int(rec[layout.R_STEPS]), wheels, np.array(poses), err)


def _status(rec: np.ndarray) -> str:
    from deepracer_sim.constants import STATUS_CODES
    from deepracer_sim.sim import layout

    return STATUS_CODES[int(rec[layout.R_STATUS])]


def replay_commands(track: Track, commands: np.ndarray, version: float | None = DEFAULT_VERSION,
                    dynamics: Dynamics | None = None) -> Drive:
    """Replay recorded commands open loop in a fresh :class:`~deepracer_sim.env.DeepRacerEnv`
    (evaluation mode, a continuous action space over the full steering and speed range)."""
    from deepracer_sim.envs.env import DeepRacerEnv

    space = ActionSpace(np.array([[-MAX_STEERING_ANGLE, MAX_STEERING_ANGLE],
                                  [MIN_SPEED, MAX_SPEED]]), continuous=True)
    env = DeepRacerEnv(track, reward_function=lambda params: 1.0, action_space=space,
                       version=version if version is not None else DEFAULT_VERSION,
                       training=False, max_steps=len(commands) + 1)
    if dynamics is not None:  # a custom car: swap the dynamics in the kernel's config
        from deepracer_sim.sim import layout

        env.sim.cfg[layout.C_DYN:] = dynamics.as_array()
    env.reset(seed=0)
    lo = space.actions[:, 0]
    hi = space.actions[:, 1]
    poses = []
    wheels = 4
    info: dict = {}
    status = "prepare"
    for k, cmd in enumerate(commands):
        action = (np.asarray(cmd, dtype=np.float64) - lo) / (hi - lo) * 2.0 - 1.0
        _, _, terminated, truncated, info = env.step(action)
        status = info["episode_status"]
        poses.append(env.sim.s[0, 0:5].copy())
        wheels = min(wheels, int(env.sim.s[0, 17]))
        if terminated or truncated:
            commands = commands[:k + 1]
            break
    return Drive(np.asarray(commands), status, float(info.get("lap_time", math.nan)),
                 int(info.get("steps", 0)), wheels, np.array(poses))


# --------------------------------------------------------------------------------------------
# outputs: reward file, action space, plot, table
# --------------------------------------------------------------------------------------------

_REWARD_TEMPLATE = '''"""Racing-line reward for {track} (deepracer-sim raceline, physics version
{version}).

Rewards following the racing line at its speed. The line is the path of the params' (x, y)
point (0.14 m ahead of the car's centre) with the speed command it needs at each point; its
limit lap time under the simulator's car is {lap:.3f} s ({steps} steps). Plain Python with
only the math module: it runs unchanged in the DeepRacer console.
"""

import math

# (x, y, target speed command m/s of a lap at speed) every ~{spacing:.2f} m along the racing line
LINE = [
{points}
]
#: steps of the limit lap (pace 1.0 = on the limit's schedule)
LIMIT_STEPS = {steps}
#: lateral distance from the line at which the distance reward reaches 0, m
DIST_SCALE = {dist_scale}
#: speed error at which the speed reward reaches 0, m/s
SPEED_SCALE = 2.0


def nearest(x, y):
    """(distance to the line, index of the nearer end of the nearest segment)."""
    best = 1e9
    best_i = 0
    n = len(LINE)
    for i in range(n):
        ax, ay = LINE[i][0], LINE[i][1]
        bx, by = LINE[(i + 1) % n][0], LINE[(i + 1) % n][1]
        dx, dy = bx - ax, by - ay
        l2 = dx * dx + dy * dy
        t = 0.0 if l2 == 0.0 else ((x - ax) * dx + (y - ay) * dy) / l2
        t = min(max(t, 0.0), 1.0)
        d = math.hypot(ax + t * dx - x, ay + t * dy - y)
        if d < best:
            best = d
            best_i = i if t < 0.5 else (i + 1) % n
    return best, best_i


def reward_function(params):
    if params["is_offtrack"] or not params["all_wheels_on_track"]:
        return 1e-3
    dist, i = nearest(params["x"], params["y"])
    dist_reward = max(0.0, 1.0 - dist / DIST_SCALE)
    speed_error = abs(params["speed"] - LINE[i][2])
    speed_reward = max(0.0, 1.0 - speed_error / SPEED_SCALE)
    # lap pace: progress made per step, relative to the limit lap's
    steps = max(params["steps"] - 1.0, 1.0)
    pace = min(params["progress"] / 100.0 * LIMIT_STEPS / steps, 1.5)
    reward = dist_reward ** 2 + speed_reward ** 2 + pace
    if params["progress"] >= 100.0:
        reward += 10.0 * min(LIMIT_STEPS / steps, 1.0) ** 2
    return float(max(reward, 1e-3))
'''


def reward_source(line: RacingLine, spacing: float = 0.1, dist_scale: float = 0.3) -> str:
    """A plain DeepRacer reward file (Python source) that rewards following ``line`` at its
    speed (see the file's docstring); the line's points and speeds are inlined."""
    pts = line.points(spacing)
    # the params' (x, y) is the reference point 0.14 m ahead of the car origin
    head = np.interp(np.linspace(0.0, line.length, len(pts) + (1 if line.closed else 0))
                     [:len(pts)], line.s, np.unwrap(line.heading))
    rx = pts[:, 0] + REFERENCE_POINT_X * np.cos(head)
    ry = pts[:, 1] + REFERENCE_POINT_X * np.sin(head)
    _, speed_cmd = line.commands(flying=True)
    cmd = np.interp(np.linspace(0.0, line.length, len(pts) + (1 if line.closed else 0))
                    [:len(pts)], line.s, speed_cmd)
    rows = ",\n".join(f"    ({x:.4f}, {y:.4f}, {v:.3f})"
                      for x, y, v in zip(rx, ry, cmd, strict=True))
    steps = round(line.lap_time / STEP_DT) - 1
    version = "custom" if line.version is None else f"{line.version:g}"
    return _REWARD_TEMPLATE.format(track=line.track.name, version=version, lap=line.lap_time,
                                   steps=steps, spacing=spacing, points=rows,
                                   dist_scale=dist_scale)


def line_action_space(line: RacingLine, n_actions: int = 15) -> ActionSpace:
    """A discrete action space from the (steering, speed) commands the line needs.

    The commands sampled once per step along the lap are clustered (k-means on the steering
    magnitude / 30 degrees and speed / 4 m/s, deterministic start); each centre gives a left and
    a right action, and a straight action at the line's top speed command is always included:
    ``n_actions`` = 2k + 1 (an even count adds the line's fastest command pair).
    """
    from scipy.cluster.vq import kmeans2

    if not MIN_DISCRETE_ACTIONS <= n_actions <= MAX_DISCRETE_ACTIONS:
        raise UsageError(f"n_actions={n_actions}: DeepRacer accepts {MIN_DISCRETE_ACTIONS}-"
                         f"{MAX_DISCRETE_ACTIONS} discrete actions")
    steer, speed = line.commands(flying=True)
    t = np.arange(0.0, line.length, line.limits.v_max * STEP_DT)  # about a step apart
    st = np.interp(t, line.s, steer)
    sp = np.interp(t, line.s, speed)
    top = float(np.round(np.max(sp), 2))
    k = (n_actions - 1) // 2
    actions = [(0.0, top)]
    if k > 0:
        data = np.column_stack([np.abs(st) / MAX_STEERING_ANGLE, sp / MAX_SPEED])
        # deterministic start: quantiles of the steering magnitude
        order = np.argsort(data[:, 0], kind="stable")
        start = data[order[((np.arange(k) + 0.5) / k * len(order)).astype(int)]]
        centres, _ = kmeans2(data, start, iter=50, minit="matrix")
        centres = centres[np.argsort(centres[:, 0])]
        for a, v in centres:
            mag = float(np.clip(np.round(a * MAX_STEERING_ANGLE, 1), 0.5, MAX_STEERING_ANGLE))
            vel = float(np.clip(np.round(v * MAX_SPEED, 2), MIN_SPEED, MAX_SPEED))
            actions += [(-mag, vel), (mag, vel)]
    if len(actions) < n_actions:  # the hardest steering of the line, both ways
        i = int(np.argmax(np.abs(st)))
        mag = float(np.clip(np.round(abs(st[i]), 1), 0.5, MAX_STEERING_ANGLE))
        actions += [(-mag, float(np.round(sp[i], 2))), (mag, float(np.round(sp[i], 2)))]
    actions = sorted(set(actions[:n_actions]))
    return ActionSpace(np.array(actions, dtype=np.float64), continuous=False)


def plot_line(line: RacingLine, path: str | Path) -> None:
    """PNG of the track with the line coloured by speed and the lap time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    w = line.track.waypoints
    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    ax.plot(w[:, 2], w[:, 3], color="0.2", lw=1.2)
    ax.plot(w[:, 4], w[:, 5], color="0.2", lw=1.2)
    ax.plot(w[:, 0], w[:, 1], color="0.6", lw=0.8, ls="--")
    seg = np.stack([line.xy[:-1], line.xy[1:]], axis=1)
    lc = LineCollection(seg, cmap="plasma", linewidths=2.5)
    lc.set_array(0.5 * (line.speed[:-1] + line.speed[1:]))
    lc.set_clim(min(float(np.min(line.flying_speed)), float(np.max(line.speed)) - 0.1),
                float(np.max(line.speed)))
    ax.add_collection(lc)
    fig.colorbar(lc, ax=ax, label="speed (m/s)", shrink=0.8)
    ax.plot(*line.xy[0], "o", color="green", ms=7, label="start")
    ax.set_aspect("equal")
    ax.set_title(f"{line.track.name}: limit lap {line.lap_time:.3f} s "
                 f"(line {line.length:.2f} m, version {_version_text(line)})")
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _version_text(line: RacingLine) -> str:
    return "custom" if line.version is None else f"{line.version:g}"


TABLE_HEADER = ("| track | length (m) | width (m) | line (m) | limit lap (s) | rules bound (s) |\n"
                "|---|---:|---:|---:|---:|---:|")


def table_row(line: RacingLine, bound: RacingLine | None = None) -> str:
    """A markdown row: track, centre-line length, width, line length, limit lap time (all four
    wheels on the road) and the rules bound (``bound``: the line with RULES_MARGIN)."""
    rules = f"{bound.lap_time:.3f}" if bound is not None else "-"
    return (f"| `{line.track.name}` | {line.track.length:.2f} | {line.track.width:.4f} | "
            f"{line.length:.2f} | {line.lap_time:.3f} | {rules} |")


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
