"""The car's limits along a line and the time-optimal speed profile under them.

:class:`CarLimits` reads what a line may ask of the car from a
:class:`~deepracer_sim.sim.car.Dynamics` at run time; :func:`speed_profile` is the forward/backward
pass along a stretch of line: top speed ``MAX_SPEED * speed_gain``; curvature <= ``yaw_gain *
tan(steering) / WHEELBASE`` with the steering within 30 degrees (less ``steer_offset`` and a
control reserve), softly capped by ``max_lat_accel`` (``k = (a / v^2) tanh(k0 v^2 / a)``); the
steering lag (``steer_tau``): the command that makes the wheels follow the line, ``delta +
steer_tau * d(delta)/dt``, must stay within 30 degrees, which bounds the speed where the
curvature changes fast; acceleration and braking from the speed response (``speed_tau`` lag,
``max_accel`` ramp, :func:`deepracer_sim.sim.car.speed_profile`).

The kernels take the limits as the float64 array :meth:`CarLimits.as_array`, indexed by the
``L_*`` slots below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from numba import njit

from deepracer_sim.constants import MAX_SPEED, MAX_STEERING_ANGLE, MIN_SPEED, WHEELBASE
from deepracer_sim.sim.car import Dynamics
from deepracer_sim.sim.car import speed_profile as car_speed_step

#: Steering kept in reserve for the tracking controller, degrees (the line needs at most
#: 30 - |steer_offset| - this).
STEER_RESERVE_DEG = 3.0


@dataclass(frozen=True)
class CarLimits:
    """What the line may ask of the car, from a :class:`~deepracer_sim.sim.car.Dynamics`.

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


_SLOT = {f.name: i for i, f in enumerate(fields(CarLimits))}
#: Slots of :meth:`CarLimits.as_array`, by field name (the kernels index the array by these).
L_V_MAX = _SLOT["v_max"]
L_V_MIN = _SLOT["v_min"]
L_STEER_MAX = _SLOT["steer_max"]
L_CMD_MAX = _SLOT["cmd_max"]
L_K_MAX = _SLOT["k_max"]
L_LAT_ACCEL = _SLOT["lat_accel"]
L_SPEED_TAU = _SLOT["speed_tau"]
L_MAX_ACCEL = _SLOT["max_accel"]
L_STEER_TAU = _SLOT["steer_tau"]
L_YAW_GAIN = _SLOT["yaw_gain"]
L_SPEED_GAIN = _SLOT["speed_gain"]
L_STEER_OFFSET = _SLOT["steer_offset"]


@njit(cache=True)
def _max_speed_for_curvature(k_abs: float, lim: np.ndarray) -> float:
    """Largest rear-axle speed at which the car can hold curvature ``k_abs`` with the wheels at
    most ``steer_max``: ``(a / v^2) tanh(k_max v^2 / a) >= k`` (0 if impossible)."""
    v_max = lim[L_V_MAX]
    k_max = lim[L_K_MAX]
    a = lim[L_LAT_ACCEL]
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
def wheel_angle(k: float, v: float, lim: np.ndarray) -> float:
    """Wheel angle (rad, signed) that gives rear-axle curvature ``k`` at speed ``v``: the
    kinematic angle of ``k0`` with ``k = (a / v^2) tanh(k0 v^2 / a)`` (``k0 = k`` at rest)."""
    a = lim[L_LAT_ACCEL]
    k0 = k
    if a != np.inf and abs(k) > 1e-12:
        q = abs(k) * v * v / a
        if q >= 0.999999:
            q = 0.999999
        if q > 0.0:  # at rest the cap does not bind: k0 = k
            k0 = k * math.atanh(q) / q
    return math.atan(k0 * WHEELBASE / lim[L_YAW_GAIN])


@njit(cache=True)
def _cover(v0: float, ds: float, u: float, lim: np.ndarray):
    """Drive ``ds`` m from speed ``v0`` under the speed command ``u`` (steady speed, m/s):
    (speed at the end, time taken)."""
    tau = lim[L_SPEED_TAU]
    amax = lim[L_MAX_ACCEL]
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
    d = wheel_angle(k, v, lim)
    eps = 1e-6
    rate = (wheel_angle(k + eps, v, lim) - d) / eps * dkds * v
    return abs(d + stau * rate) <= cmd


@njit(cache=True)
def _lag_cap(k: float, dkds: float, cap: float, cmd: float, stau: float,
             lim: np.ndarray) -> float:
    """The speed cap ``cap`` lowered for the steering lag: the command that makes the wheels
    follow the line, ``delta + steer_tau * v * d(delta)/ds``, must stay within +-``cmd``
    (bisect the speed: the wheel angle grows with the speed under a lateral cap)."""
    if cap <= 0.0 or dkds == 0.0:
        return cap
    if _lag_ok(k, dkds, cap, cmd, stau, lim):
        return cap
    lo = 0.0
    hi = cap
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if _lag_ok(k, dkds, mid, cmd, stau, lim):
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def _profile(ds: np.ndarray, k_rear: np.ndarray, ratio: np.ndarray, dkds: np.ndarray,
             lim: np.ndarray, v_start: float):
    """Rear-axle speeds at the M points of a line and the time of each of its M - 1 segments;
    see :func:`speed_profile`."""
    m = k_rear.shape[0]
    v_max = lim[L_V_MAX]
    cmd = lim[L_CMD_MAX]
    stau = lim[L_STEER_TAU]
    cap = np.empty(m)
    for i in range(m):
        cap[i] = _max_speed_for_curvature(abs(k_rear[i]), lim)
    if stau > 0.0:  # the steering lag
        for i in range(m):
            cap[i] = _lag_cap(k_rear[i], dkds[i], cap[i], cmd, stau, lim)
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
    u_min = lim[L_V_MIN]
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


