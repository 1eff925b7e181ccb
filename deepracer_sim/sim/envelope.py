"""What a car of :mod:`deepracer_sim.sim.car` can do: steady circles, straight-line ramps, top
speeds, and the quasi-steady envelope a racing line needs.

Everything here drives the car kernel itself (:func:`~deepracer_sim.sim.car.advance_car`) under
constant commands, so the numbers are the model's, not a separate formula:

* :func:`steady_turn`: hold (steering, speed command) from straight driving at the command's rim
  speed until the motion settles (:data:`SETTLE_STEPS`), then average :data:`AVERAGE_STEPS`
  steps: speed, yaw rate, radius of the car origin's circle, lateral acceleration
  ``speed * |yaw rate|``, side slip; a turn whose yaw rate still varies by more than 1 % (or
  0.01 rad/s) is not settled (a spin);
* :func:`ramp`, :func:`top_speed`, :func:`time_to_speed`: a straight run under a speed command;
* :func:`car_envelope` -> :class:`CarEnvelope`: on a speed grid, the largest settled lateral
  acceleration over every steering angle and speed command (``a_lat_max(v)``), the straight-line
  acceleration under the full command (``a_long_max(v)``) and deceleration under the least
  (``a_brake_max(v)``), the top speed, and the steady curvature of each steering command
  (:meth:`CarEnvelope.steer_for` inverts it).

The measured figures per generation are in ``docs/fidelity.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from deepracer_sim.constants import MAX_SPEED, MAX_STEERING_ANGLE, MIN_SPEED, STEP_DT
from deepracer_sim.sim.car import (
    N_STATE,
    S_DELTA,
    S_V,
    S_VY,
    S_YAW_RATE,
    CarParams,
    advance_car,
)

#: Steps driven before a constant-command turn counts as settled, and the steps averaged after.
SETTLE_STEPS = 120
AVERAGE_STEPS = 30
#: The envelope's grids: steering commands (degrees), speed commands (m/s), speeds (m/s).
STEER_GRID_DEG = np.arange(0.0, MAX_STEERING_ANGLE + 1e-9, 1.0)
CMD_GRID = np.round(np.arange(MIN_SPEED, MAX_SPEED + 1e-9, 0.05), 4)
SPEED_STEP = 0.05


@njit(cache=True)
def _steady(params, steer_rad, speed_cmd, v0, settle, average):
    """Mean (forward velocity, lateral velocity, yaw rate) over ``average`` steps after
    ``settle`` steps of constant commands from straight driving at ``v0`` with the hinge at the
    command, and the spread (max - min) of the yaw rate over the averaged steps."""
    st = np.zeros(N_STATE)
    st[S_V] = v0
    st[S_DELTA] = steer_rad
    for _ in range(settle):
        advance_car(st, steer_rad, speed_cmd, params)
    u = 0.0
    w = 0.0
    r = 0.0
    r_lo = 1e9
    r_hi = -1e9
    for _ in range(average):
        advance_car(st, steer_rad, speed_cmd, params)
        u += st[S_V]
        w += st[S_VY]
        r += st[S_YAW_RATE]
        r_lo = min(r_lo, st[S_YAW_RATE])
        r_hi = max(r_hi, st[S_YAW_RATE])
    return u / average, w / average, r / average, r_hi - r_lo


@njit(cache=True)
def _turn_grid(params, steers, cmds, v0s, settle, average):
    """(len(steers), len(cmds), 3) settled [speed, signed yaw rate, settled 1/0] of every
    (steering, command) pair."""
    out = np.zeros((len(steers), len(cmds), 3))
    for i in range(len(steers)):
        for j in range(len(cmds)):
            u, w, r, spread = _steady(params, steers[i], cmds[j], v0s[j], settle, average)
            out[i, j, 0] = math.sqrt(u * u + w * w)
            out[i, j, 1] = r
            out[i, j, 2] = 1.0 if spread < max(0.01, 0.01 * abs(r)) else 0.0
    return out


@dataclass(frozen=True)
class SteadyTurn:
    """A settled constant-command motion (see :func:`steady_turn`).

    Attributes:
        steer_deg, speed_cmd: the commands (degrees, m/s).
        speed: ground speed of the car origin, m/s.
        yaw_rate: rad/s (+ = left).
        radius: radius of the origin's circle, m (inf when going straight).
        a_lat: lateral (centripetal) acceleration ``speed * |yaw_rate|``, m/s^2.
        side_slip_deg: angle between the origin's velocity and the car's heading, degrees.
        settled: the yaw rate varied by less than 1 % (or 0.01 rad/s) over the averaged steps.
    """

    steer_deg: float
    speed_cmd: float
    speed: float
    yaw_rate: float
    radius: float
    a_lat: float
    side_slip_deg: float
    settled: bool


def steady_turn(car: CarParams, steer_deg: float, speed_cmd: float) -> SteadyTurn:
    """Settled motion under constant (steering, speed) commands from straight driving at the
    command's rim speed."""
    u, w, r, spread = _steady(car.as_array(), math.radians(steer_deg), speed_cmd,
                              car.top_speed(speed_cmd), SETTLE_STEPS, AVERAGE_STEPS)
    speed = math.hypot(u, w)
    radius = speed / abs(r) if abs(r) > 1e-9 else math.inf
    return SteadyTurn(steer_deg, speed_cmd, speed, r, radius, speed * abs(r),
                      math.degrees(math.atan2(w, u)), spread < max(0.01, 0.01 * abs(r)))


def ramp(car: CarParams, speed_cmd: float, steps: int,
         v0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Straight run under ``speed_cmd`` from speed ``v0``: (speeds (steps + 1,) m/s including
    the start, accelerations (steps,) m/s^2 = each step's speed change / step time)."""
    p = car.as_array()
    st = np.zeros(N_STATE)
    st[S_V] = v0
    v = [v0]
    for _ in range(steps):
        advance_car(st, 0.0, speed_cmd, p)
        v.append(st[S_V])
    speeds = np.array(v)
    return speeds, np.diff(speeds) / STEP_DT


def top_speed(car: CarParams, speed_cmd: float = MAX_SPEED, steps: int = 90) -> float:
    """Straight-line forward speed after ``steps`` steps from rest under ``speed_cmd``, m/s."""
    return float(ramp(car, speed_cmd, steps)[0][-1])


def time_to_speed(car: CarParams, target: float, speed_cmd: float = MAX_SPEED) -> float:
    """Seconds from rest until the forward speed first reaches ``target`` (linear interpolation
    within the step; inf if not within 10 s)."""
    v, _ = ramp(car, speed_cmd, 150)
    idx = np.flatnonzero(v >= target)
    if len(idx) == 0:
        return math.inf
    k = int(idx[0])
    return (k - 1 + (target - v[k - 1]) / (v[k] - v[k - 1])) * STEP_DT


@njit(cache=True)
def steer_command(k: float, v: float, speeds: np.ndarray, steer_deg: np.ndarray,
                  curvature: np.ndarray) -> float:
    """Steering command (degrees, signed as ``k``; at most the table's largest) whose steady
    turn has the path curvature ``k`` (1/m, + = left) at speed ``v`` (m/s), from a curvature
    table (``CarEnvelope.curvature`` on the grids ``speeds`` and ``steer_deg``)."""
    x = min(max(v, speeds[0]), speeds[-1])
    j = min(np.searchsorted(speeds, x), len(speeds) - 1)
    i = max(j - 1, 0)
    f = 0.0 if j == i else (x - speeds[i]) / (speeds[j] - speeds[i])
    target = abs(k)
    prev_k = 0.0
    prev_s = 0.0
    for s in range(1, len(steer_deg)):
        ks = (1.0 - f) * curvature[i, s] + f * curvature[j, s]
        if not np.isfinite(ks):  # no settled turn of this steering at this speed
            continue
        if ks >= target:
            t = (target - prev_k) / (ks - prev_k) if ks > prev_k else 1.0
            return math.copysign(prev_s + t * (steer_deg[s] - prev_s), k)
        prev_k = ks
        prev_s = steer_deg[s]
    return math.copysign(prev_s, k)


@dataclass(frozen=True, eq=False)
class CarEnvelope:
    """Quasi-steady limits of one car on a speed grid (see :func:`car_envelope`).

    Attributes:
        v: (K,) speed grid, m/s, from 0 to the top speed.
        a_lat_max: (K,) largest settled lateral acceleration at speed ``v`` over every steering
            angle and speed command, m/s^2.
        max_curvature: (K,) ``a_lat_max / v^2``: the tightest steady path at speed ``v``, 1/m
            (at 0: the slowest settled turn's).
        a_long_max: (K,) straight-line acceleration at speed ``v`` under the command 4 m/s,
            m/s^2 (0 at the top speed).
        a_brake_max: (K,) straight-line deceleration at speed ``v`` under the command 0.1 m/s,
            m/s^2 (a positive number).
        top_speed: straight-line speed under the command 4 m/s, m/s.
        steer_deg: (S,) steering commands of the curvature table, degrees (0 .. 30).
        curvature: (K, S) steady path curvature of the car origin at speed ``v[k]`` under the
            steering command ``steer_deg[s]``, 1/m (NaN where no settled turn has that speed).
        steer_offset: the car's hinge offset, rad (steady hinge angle = command + offset).
        steer_tau: the car's hinge lag, s.
    """

    v: np.ndarray
    a_lat_max: np.ndarray
    max_curvature: np.ndarray
    a_long_max: np.ndarray
    a_brake_max: np.ndarray
    top_speed: float
    steer_deg: np.ndarray
    curvature: np.ndarray
    steer_offset: float
    steer_tau: float

    def steer_for(self, k: float, v: float) -> float:
        """Steering command (degrees, signed as ``k``; at most 30) whose steady turn has path
        curvature ``k`` (1/m, + = left) at speed ``v`` (m/s)."""
        return float(steer_command(k, v, self.v, self.steer_deg, self.curvature))

    def as_dict(self) -> dict:
        """The speed tables as lists (JSON)."""
        return {"v": self.v.tolist(), "a_lat_max": self.a_lat_max.tolist(),
                "a_long_max": self.a_long_max.tolist(), "a_brake_max": self.a_brake_max.tolist(),
                "top_speed": self.top_speed}


def _along(speeds: np.ndarray, accels: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Acceleration at each grid speed from a ramp's (speed at each step's start, acceleration);
    0 outside the speeds the ramp covered."""
    v = speeds[:-1]
    order = np.argsort(v)
    v, a = v[order], accels[order]
    keep = np.concatenate([[True], np.diff(v) > 1e-9])
    return np.interp(grid, v[keep], a[keep], left=0.0, right=0.0)


def _curvature_table(grid: np.ndarray, turns: np.ndarray) -> np.ndarray:
    """(len(grid), S) curvature of each steering command at each grid speed, interpolated along
    its sweep of speed commands (settled turns only)."""
    table = np.full((len(grid), turns.shape[0]), np.nan)
    table[:, 0] = 0.0
    for i in range(1, turns.shape[0]):
        speed, rate, ok = turns[i, :, 0], turns[i, :, 1], turns[i, :, 2] > 0.5
        if ok.sum() < 2:
            continue
        sp, k = speed[ok], np.abs(rate[ok]) / np.maximum(speed[ok], 1e-9)
        order = np.argsort(sp)
        sp, k = sp[order], k[order]
        inside = (grid >= sp[0]) & (grid <= sp[-1])
        table[inside, i] = np.interp(grid[inside], sp, k)
        table[grid < sp[0], i] = k[0]  # slower than the slowest command: its curvature
        if ok[-1] and sp[-1] > grid[-1] - SPEED_STEP:  # at the top speed but for rounding
            table[grid > sp[-1], i] = k[-1]
    for r in range(1, len(grid)):  # a speed no settled turn reaches (the top): the one below
        if not np.isfinite(table[r, 1:]).any():
            table[r] = table[r - 1]
    return table


@lru_cache(maxsize=8)
def car_envelope(car: CarParams) -> CarEnvelope:
    """The quasi-steady envelope of ``car`` (see :class:`CarEnvelope`), from steady turns on
    the grid :data:`STEER_GRID_DEG` x :data:`CMD_GRID` and straight ramps (cached per car)."""
    top = car.top_speed(MAX_SPEED)
    grid = np.round(np.arange(0.0, top + SPEED_STEP, SPEED_STEP), 6)
    grid[-1] = top
    steers = np.radians(STEER_GRID_DEG)
    v0s = np.array([car.top_speed(c) for c in CMD_GRID])
    turns = _turn_grid(car.as_array(), steers, CMD_GRID, v0s, SETTLE_STEPS, AVERAGE_STEPS)
    curvature = _curvature_table(grid, turns)
    with np.errstate(invalid="ignore"):
        k_best = np.nanmax(np.where(np.isfinite(curvature), curvature, -np.inf), axis=1)
    k_best[0] = k_best[1]
    a_lat = k_best * grid**2
    v_up, a_up = ramp(car, MAX_SPEED, 90)
    v_dn, a_dn = ramp(car, MIN_SPEED, 90, v0=top)
    a_long = _along(v_up, a_up, grid)
    a_long[-1] = 0.0
    a_brake = np.maximum(-_along(v_dn, a_dn, grid), 0.0)
    return CarEnvelope(grid, a_lat, k_best, a_long, a_brake, top, STEER_GRID_DEG.copy(),
                       curvature, car.steer_offset, car.steer_tau)
