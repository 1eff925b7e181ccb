"""Driving a racing line in the simulator, and replaying the recorded commands.

:func:`drive_line` drives the car along the line in the simulator with a tracking controller
that knows the line and the car model (a one-step shooting controller over a preview horizon,
with the lags in its model) and records the (steering, speed) commands; :func:`replay_commands`
replays them open loop in a fresh :class:`~deepracer_sim.envs.DeepRacerEnv` (the simulator is
deterministic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from deepracer_sim.constants import (
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_SPEED,
    STATUS_CODES,
    STEP_DT,
)
from deepracer_sim.envs import DeepRacerEnv
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.raceline.lap import Dense, standing_lap
from deepracer_sim.raceline.limits import CarLimits
from deepracer_sim.raceline.line import RacingLine
from deepracer_sim.sim import layout
from deepracer_sim.sim.car import N_STATE, S_V, CarParams, advance_car
from deepracer_sim.sim.simulator import Simulator, make_config
from deepracer_sim.track import Track

#: Steps the controller looks ahead (0.6 s: about four steering time constants of the v6 car).
HORIZON = 9
#: Fraction of the car's lateral envelope the driven speeds use (the rest is kept for the
#: controller's corrections: at its envelope the car steers at full lock).
DRIVE_RESERVE = 0.9
#: Feedback of the controller's look-ahead policy: rad of steering per m of lateral error and
#: per rad of heading error.
K_LATERAL = 1.5
K_HEADING = 0.8
#: Speed kept back per metre of lateral error, 1/m, and the least fraction of the line's speed.
K_SLOW = 1.5
SLOW_FLOOR = 0.7
#: The speed target is the line's slowest speed this far ahead, s (the car builds its yaw rate
#: over a few steps: it enters a corner slower than the steady profile).
PREVIEW_S = 0.2


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
def _speed_command(state: np.ndarray, steer: float, target: float, car: np.ndarray) -> float:
    """Speed command (m/s, within [0.1, 4]) whose step from ``state`` under ``steer`` (rad) ends
    nearest the forward speed ``target`` (bisection: the response rises with the command)."""
    trial = np.empty(N_STATE)
    trial[:] = state
    advance_car(trial, steer, MAX_SPEED, car)
    if trial[S_V] <= target:
        return MAX_SPEED
    trial[:] = state
    advance_car(trial, steer, MIN_SPEED, car)
    if trial[S_V] >= target:
        return MIN_SPEED
    lo = MIN_SPEED
    hi = MAX_SPEED
    for _ in range(20):
        mid = 0.5 * (lo + hi)
        trial[:] = state
        advance_car(trial, steer, mid, car)
        if trial[S_V] < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@njit(cache=True)
def _target_speed(s, v_line, closed: bool, q: float, v: float, e: float) -> float:
    """The line's speed a step ahead of arc length ``q`` (m), lowered by ``K_SLOW`` per metre of
    lateral error ``e`` (to at most ``SLOW_FLOOR`` of it): a car off its line slows to get back."""
    ahead = max(v, 0.5)
    target = _at(s, v_line, closed, q + ahead * STEP_DT)
    for i in range(1, 6):  # the slowest point of the preview
        target = min(target, _at(s, v_line, closed, q + ahead * (STEP_DT + PREVIEW_S * i / 5)))
    return target * max(SLOW_FLOOR, 1.0 - K_SLOW * abs(e))


@njit(cache=True)
def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


@njit(cache=True)
def _rollout(pose0: np.ndarray, first: float, xy, s, heading, v_line, c_ff, closed: bool,
             hint: int, car: np.ndarray, horizon: int, cmd_max: float) -> float:
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
        target = _target_speed(s, v_line, closed, q, pose[3], e)
        u = _speed_command(pose, steer, target, car)
        advance_car(pose, steer, u, car)
        j, q, e, _hd = _project_line(xy, s, closed, pose[0], pose[1], h, 5, 40)
        h = j
        psi = _wrap(pose[2] - _at(s, heading, closed, q))
        cost += e * e + 0.01 * psi * psi
    return cost


@njit(cache=True)
def _control(pose: np.ndarray, xy, s, heading, v_line, c_ff, closed: bool, hint: int,
             car: np.ndarray, horizon: int):
    """(steering command deg, speed command m/s, segment) for the car in state ``pose``."""
    cmd_max = math.radians(MAX_STEERING_ANGLE)
    j, q, e, _hd = _project_line(xy, s, closed, pose[0], pose[1], hint, 5, 40)
    target = _target_speed(s, v_line, closed, q, pose[3], e)
    # grid, then golden section around the best grid value
    n = 31
    best = 0.0
    best_cost = 1e300
    for i in range(n):
        c = -cmd_max + 2.0 * cmd_max * i / (n - 1)
        cost = _rollout(pose, c, xy, s, heading, v_line, c_ff, closed, j, car, horizon, cmd_max)
        if cost < best_cost:
            best_cost = cost
            best = c
    step = 2.0 * cmd_max / (n - 1)
    a = max(best - step, -cmd_max)
    b = min(best + step, cmd_max)
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c1 = b - g * (b - a)
    c2 = a + g * (b - a)
    f1 = _rollout(pose, c1, xy, s, heading, v_line, c_ff, closed, j, car, horizon, cmd_max)
    f2 = _rollout(pose, c2, xy, s, heading, v_line, c_ff, closed, j, car, horizon, cmd_max)
    for _ in range(25):
        if f1 <= f2:
            b, c2, f2 = c2, c1, f1
            c1 = b - g * (b - a)
            f1 = _rollout(pose, c1, xy, s, heading, v_line, c_ff, closed, j, car, horizon,
                          cmd_max)
        else:
            a, c1, f1 = c1, c2, f2
            c2 = a + g * (b - a)
            f2 = _rollout(pose, c2, xy, s, heading, v_line, c_ff, closed, j, car, horizon,
                          cmd_max)
    c = 0.5 * (a + b)
    if min(f1, f2) > best_cost:
        c = best
    return math.degrees(c), _speed_command(pose, c, target, car), j


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
        poses: (steps, N_STATE) car state after each step (the ``sim.car`` ``S_*`` slots).
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
    speed = driven_speed(line)
    steer, _ = line.commands(speed=speed)
    return (np.ascontiguousarray(line.xy), np.ascontiguousarray(line.s),
            np.ascontiguousarray(np.unwrap(line.heading)), np.ascontiguousarray(speed),
            np.ascontiguousarray(np.radians(steer)))


def driven_speed(line: RacingLine, reserve: float = DRIVE_RESERVE) -> np.ndarray:
    """(K,) the speeds the controller drives the line at, m/s: the standing-start lap's speed
    profile under the simulated car's own (fitted) envelope with its lateral part times
    ``reserve`` (grip kept back for the controller's corrections)."""
    if line.grip == reserve:
        return line.speed
    dense = Dense(line.xy, line.s, line.heading, line.kappa)
    return standing_lap(line.track, dense, CarLimits.of(line.car, reserve)).v


def drive_line(line: RacingLine, horizon: int = HORIZON, max_steps: int | None = None) -> Drive:
    """Drive one evaluation lap along the line in the simulator with a tracking controller
    that knows the line and the car (see :func:`_control`), recording its commands.

    The controller picks each step's steering by simulating the car over ``horizon`` steps (the
    chosen command now, then the line's lag-inverted feed-forward with feedback) and its speed
    command by inverting the car's one-step speed response towards the line's speed profile
    under the car's own envelope with a reserve (:func:`driven_speed`), taking the slowest of
    the next ``PREVIEW_S`` seconds and slowing by ``K_SLOW`` per metre off the line.
    """
    track = line.track
    car = line.car.as_array()
    lap = line.lap_time if math.isfinite(line.lap_time) else line.length / 0.5
    cfg = make_config(0.0, False, False, max_steps or 10 * int(lap / STEP_DT + 10), 0.0)
    simulator = Simulator(track, 1, car, cfg, np.zeros(1))
    xy, s, heading, v_line, c_ff = _line_arrays(line)
    commands: list[tuple[float, float]] = []
    poses: list[np.ndarray] = []
    hint = 0
    wheels = 4
    err = 0.0
    status = "prepare"
    while True:
        state = simulator.s[0, :N_STATE].copy()
        if commands:
            steer, speed, hint = _control(state, xy, s, heading, v_line, c_ff, line.closed,
                                          hint, car, horizon)
        else:  # the PREPARE step: the car is held whatever the action
            steer, speed = 0.0, MIN_SPEED
        commands.append((steer, speed))
        simulator.step(np.array([steer]), np.array([speed]))
        rec = simulator.rec[0]
        status = _status(rec)
        wheels = min(wheels, int(simulator.s[0, layout.S_WHEELS_ON]))
        poses.append(simulator.s[0, :N_STATE].copy())
        _, _, e, _ = _project_line(xy, s, line.closed, poses[-1][0], poses[-1][1], hint, 5, 40)
        if status != "lap_complete":  # the step that reports the finish has driven past it
            err = max(err, abs(e))
        if rec[layout.R_DONE] > 0.5 or rec[layout.R_TRUNCATED] > 0.5:
            break
    return Drive(np.array(commands), status, (rec[layout.R_STEPS] - 1.0) * STEP_DT,
                 int(rec[layout.R_STEPS]), wheels, np.array(poses), err)


def _status(rec: np.ndarray) -> str:
    """The episode status label of a kernel record row."""
    return STATUS_CODES[int(rec[layout.R_STATUS])]


def replay_commands(track: Track, commands: np.ndarray, physics: str | None = None,
                    car: CarParams | None = None) -> Drive:
    """Replay recorded commands open loop in a fresh :class:`~deepracer_sim.envs.DeepRacerEnv`
    (evaluation mode, a continuous action space over the full steering and speed range) with
    the car of ``physics`` (None: the default version's) or the custom ``car``."""
    space = ActionSpace(np.array([[-MAX_STEERING_ANGLE, MAX_STEERING_ANGLE],
                                  [MIN_SPEED, MAX_SPEED]]), continuous=True)
    env = DeepRacerEnv(track, reward_function=lambda params: 1.0, action_space=space,
                       physics=physics, training=False, max_steps=len(commands) + 1)
    if car is not None:  # a custom car: swap its parameters into the kernel's config
        env.sim.cfg[layout.C_CAR:] = car.as_array()
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
        poses.append(env.sim.s[0, :N_STATE].copy())
        wheels = min(wheels, int(env.sim.s[0, layout.S_WHEELS_ON]))
        if terminated or truncated:
            commands = commands[:k + 1]
            break
    return Drive(np.asarray(commands), status, float(info.get("lap_time", math.nan)),
                 int(info.get("steps", 0)), wheels, np.array(poses))
