"""The car's limits along a line and the time-optimal speed profile under them.

:class:`CarLimits` reads what a line may ask of the car from its quasi-steady envelope
(:func:`deepracer_sim.sim.envelope.car_envelope`, the car's own kernel driven under constant
commands): at speed ``v`` the path curvature at most ``grip * a_lat_max(v) / v^2``, the
acceleration at most ``a_long_max(v)``, the deceleration at most ``a_brake_max(v)``, the speed at
most the top speed (the wheel-speed limit). ``grip`` is the transient-grip factor of the racing
line (:data:`TRANSIENT_GRIP`): it multiplies the fitted car's lateral envelope here only. The
longitudinal and lateral limits apply separately, as the car's friction law bounds each
direction of a tyre's force separately (Gazebo-classic's friction pyramid). The steering lag
(``steer_tau``): the command that makes the lagging hinge follow the line, ``steer +
steer_tau * d(steer)/dt`` (``steer`` the steady command of the line's curvature at its speed),
must stay within 30 degrees, which bounds the speed where the curvature changes fast.

:func:`speed_profile` is the forward/backward pass along a stretch of line (a standing or
flying start) or around a closed loop (a lap after a lap). The kernels take the limits as the
arrays of :meth:`CarLimits.arrays`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from deepracer_sim.constants import MAX_STEERING_ANGLE
from deepracer_sim.errors import UsageError
from deepracer_sim.sim.car import CarParams, car_params
from deepracer_sim.sim.envelope import CarEnvelope, car_envelope, steer_command

#: Transient-grip factor of the racing line per generation: multiplies the fitted car's
#: lateral envelope ``a_lat_max(v)`` in the line's speed profile (the best racers' laps use
#: transient grip a quasi-steady line cannot express). v5: the smallest factor (0.02 steps)
#: under which no leaderboard record since November 2022 beats the flying rules bound; v4: the
#: same ODE car and tyres; v6: no records (1). The calibration: ``docs/raceline.md``.
TRANSIENT_GRIP = {"v4": 1.2, "v5": 1.2, "v6": 1.0}


@dataclass(frozen=True, eq=False)
class CarLimits:
    """What a line may ask of a car (see the module docstring).

    Attributes:
        envelope: the car's quasi-steady envelope.
        grip: the transient-grip factor on its lateral part.
    """

    envelope: CarEnvelope
    grip: float = 1.0

    @classmethod
    def of(cls, car: CarParams | str, grip: float = 1.0) -> CarLimits:
        """The limits of a car or of a generation's (``"v4"``, ``"v5"``, ``"v6"``).

        Raises:
            UsageError: an unknown generation, or a grip factor that is not a positive number.
        """
        if not (math.isfinite(grip) and grip > 0.0):
            raise UsageError(f"grip {grip}: the transient-grip factor must be a positive number")
        params = car_params(car) if isinstance(car, str) else car
        return cls(car_envelope(params), float(grip))

    @property
    def v_max(self) -> float:
        """Top speed, m/s."""
        return self.envelope.top_speed

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(speeds (K,), curvature cap (K,) = grip x max_curvature, a_long_max (K,),
        a_brake_max (K,), steering grid (S,) degrees, curvature table (K, S)) for the
        kernels."""
        env = self.envelope
        return (env.v, self.grip * env.max_curvature, env.a_long_max, env.a_brake_max,
                env.steer_deg, self.grip * env.curvature)

    def steer_for(self, k: float, v: float) -> float:
        """Steady steering command (degrees) of curvature ``k`` (1/m) at speed ``v`` (m/s)
        under these limits (the lateral envelope scaled by ``grip``)."""
        _, _, _, _, steer, table = self.arrays()
        return float(steer_command(k, v, self.envelope.v, steer, table))


@njit(cache=True)
def _at(grid: np.ndarray, values: np.ndarray, v: float) -> float:
    return np.interp(v, grid, values)


@njit(cache=True)
def _curvature_cap(k_abs: float, grid: np.ndarray, kcap: np.ndarray) -> float:
    """Largest speed on the grid's range at which curvature ``k_abs`` is within the cap
    ``kcap(v)`` (linear between grid speeds); 0 if none."""
    n = len(grid)
    if k_abs <= kcap[n - 1]:
        return grid[n - 1]
    for i in range(n - 2, -1, -1):
        if k_abs <= kcap[i]:  # crosses between grid[i] and grid[i + 1]
            f = (kcap[i] - k_abs) / (kcap[i] - kcap[i + 1])
            return grid[i] + f * (grid[i + 1] - grid[i])
    return 0.0


@njit(cache=True)
def _lag_ok(k: float, dkds: float, v: float, stau: float, grid, steer, table) -> bool:
    """Whether the command that keeps the lagging hinge on a curvature changing by ``dkds`` per
    m at speed ``v`` stays within 30 degrees."""
    s0 = steer_command(k, v, grid, steer, table)
    eps = 1e-4
    rate = (steer_command(k + eps, v, grid, steer, table) - s0) / eps * dkds * v
    return abs(s0 + stau * rate) <= MAX_STEERING_ANGLE + 1e-9


@njit(cache=True)
def _lag_cap(k: float, dkds: float, cap: float, stau: float, grid, steer, table) -> float:
    """The speed cap ``cap`` lowered for the steering lag (bisect the speed)."""
    if cap <= 0.0 or dkds == 0.0 or _lag_ok(k, dkds, cap, stau, grid, steer, table):
        return cap
    lo = 0.0
    hi = cap
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if _lag_ok(k, dkds, mid, stau, grid, steer, table):
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def _forward(v: np.ndarray, ds: np.ndarray, grid, a_long, first: int, count: int) -> None:
    """Accelerate along ``count`` segments from point ``first`` (indices wrap)."""
    m = len(v)
    for n in range(count):
        i = (first + n) % m
        j = (i + 1) % m
        reach = math.sqrt(v[i] * v[i] + 2.0 * _at(grid, a_long, v[i]) * ds[i])
        if reach < v[j]:
            v[j] = reach


@njit(cache=True)
def _backward(v: np.ndarray, ds: np.ndarray, grid, a_brake, last: int, count: int) -> None:
    """Brake along ``count`` segments ending at point ``last`` (backwards; indices wrap)."""
    m = len(v)
    for n in range(count):
        j = (last - n) % m
        i = (j - 1) % m
        reach = math.sqrt(v[j] * v[j] + 2.0 * _at(grid, a_brake, v[j]) * ds[i])
        if reach < v[i]:
            v[i] = reach


@njit(cache=True)
def _profile(ds, k, dkds, grid, kcap, a_long, a_brake, steer, table, stau, v_start, loop):
    """Speeds at the M points of a line, their caps, and the time of each segment; see
    :func:`speed_profile` (``loop``: ``ds`` has M segments, the last from point M-1 to 0)."""
    m = k.shape[0]
    cap = np.empty(m)
    for i in range(m):
        cap[i] = _curvature_cap(abs(k[i]), grid, kcap)
        if stau > 0.0:
            cap[i] = _lag_cap(k[i], dkds[i], cap[i], stau, grid, steer, table)
    v = cap.copy()
    if loop:  # periodic: from the slowest point, twice round in each direction
        i0 = int(np.argmin(cap))
        for _ in range(2):
            _forward(v, ds, grid, a_long, i0, m)
        for _ in range(2):
            _backward(v, ds, grid, a_brake, i0, m)
    else:
        v[0] = min(v[0], v_start)
        _forward(v, ds, grid, a_long, 0, m - 1)
        _backward(v, ds, grid, a_brake, m - 1, m - 1)
    t = np.empty(len(ds))
    for i in range(len(ds)):
        vm = 0.5 * (v[i] + v[(i + 1) % m])
        t[i] = ds[i] / vm if vm > 1e-9 else np.inf
    return v, t, cap


def speed_profile(ds: np.ndarray, kappa: np.ndarray, limits: CarLimits, *, v_start: float = 0.0,
                  dkds: np.ndarray | None = None,
                  loop: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Time-optimal speeds along a line under the car's limits (forward/backward pass).

    Args:
        ds: segment lengths of the car origin's path, m: (M - 1,), or (M,) with ``loop`` (the
            last segment closes the loop from point M - 1 back to point 0).
        kappa: (M,) signed curvature of the origin's path at the points, 1/m.
        limits: the car.
        v_start: speed at point 0, m/s (0: standing start; ignored with ``loop``).
        dkds: (M,) d(kappa)/ds, 1/m^2, for the steering lag (0 if None).
        loop: a lap after a lap: the speed profile is periodic around the closed line.

    Returns:
        (v (M,) origin speed, m/s; t (M - 1,) or (M,) seconds per segment). A curvature the car
        cannot hold at any speed gives v = 0 there and an infinite segment time.
    """
    kappa = np.ascontiguousarray(kappa, dtype=np.float64)
    m = len(kappa)
    dkds = np.zeros(m) if dkds is None else np.ascontiguousarray(dkds, dtype=np.float64)
    grid, kcap, a_long, a_brake, steer, table = limits.arrays()
    with np.errstate(divide="ignore"):
        v, t, _ = _profile(np.ascontiguousarray(ds, dtype=np.float64), kappa, dkds, grid, kcap,
                           a_long, a_brake, steer, table, limits.envelope.steer_tau,
                           float(v_start), bool(loop))
    return v, t


def grip_for(physics: str | None) -> float:
    """:data:`TRANSIENT_GRIP` of a generation (1 for a custom car, ``physics`` None)."""
    return TRANSIENT_GRIP.get(physics, 1.0) if physics is not None else 1.0
