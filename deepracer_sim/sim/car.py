"""The car: a bicycle with DeepRacer's geometry and an actuator/tyre response fitted to real logs.

Geometry (spec §3.1): the state is the pose of the car origin (Gazebo ``base_link``, midway
between the axles), its yaw, its speed and its steering angle; the bicycle turns about the rear
axle, 0.081663 m behind the origin, with wheelbase 0.163974 m. Commands are clipped as the
simapp's ``send_action``: steering to +-30 degrees, speed to [0.1, 4] m/s.

Response (:class:`Dynamics`, one set per physics ``version``, spec §3.2):

* speed: approaches ``speed_gain * command`` as a first-order lag (``speed_tau``) whose rate of
  change is limited to ``max_accel``;
* steering: the wheel angle approaches ``command + steer_offset`` as a first-order lag
  (``steer_tau``);
* path curvature: ``yaw_gain * tan(steering) / WHEELBASE`` (the real car turns less sharply than
  the kinematic bicycle: tyre slip), softly capped at the lateral acceleration ``max_lat_accel``:
  ``k = k0 / sqrt(1 + (k0 * v^2 / a)^2)`` (tends to ``a / v^2``; a tanh cap fits the same but
  costs a third of the step's time).

With the plain values (:data:`KINEMATIC`: instant speed and steering, gain 1, no cap) this is
the kinematic bicycle, whose rear axle runs on a circle of radius ``WHEELBASE / tan(steering)``.

The defaults :data:`DYNAMICS_V4` and :data:`DYNAMICS_V5` are least-squares fits to the real
simulator's sim-traces in ``../shared/real-logs`` (``python -m deepracer_sim.calibration``
re-runs the fit; ``python -m deepracer_sim.fidelity`` measures any model against a log). Each
value below names its data and its fit error; the README's fidelity section has the tables.

Integration: one circular arc of the rear axle per step, whose length is the exact distance of
the speed response and whose curvature comes from the exact mean of the lagging steering over the
step (exact without a steering lag or lateral cap; the v4 car against a 64-sub-step reference on
the v4 logs' commands: median 0.7 mm, p99 2.3 mm after 15 steps, far below the model's error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from numba import njit

from deepracer_sim.constants import (
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_SPEED,
    REAR_AXLE_X,
    STEP_DT,
    WHEELBASE,
)


@dataclass(frozen=True)
class Dynamics:
    """Response constants of one physics version (defaults: the plain kinematic car).

    Attributes:
        speed_tau: first-order speed lag time constant, s (0 = instant).
        max_accel: magnitude limit of the speed change, m/s^2 (inf = none).
        steer_tau: first-order steering lag time constant, s (0 = instant).
        yaw_gain: path curvature / kinematic ``tan(steering) / WHEELBASE``.
        speed_gain: steady-state speed / commanded speed.
        steer_offset: added to the commanded steering angle, rad (+ = left).
        max_lat_accel: soft cap of the lateral acceleration ``v^2 * curvature``, m/s^2
            (inf = none).
    """

    speed_tau: float
    max_accel: float
    steer_tau: float = 0.0
    yaw_gain: float = 1.0
    speed_gain: float = 1.0
    steer_offset: float = 0.0
    max_lat_accel: float = math.inf

    def as_array(self) -> np.ndarray:
        """(N_DYN,) float64 in field order, for the kernel."""
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)


#: Length of :meth:`Dynamics.as_array` (``kernel.step_cars`` slices this many from its config).
N_DYN = len(fields(Dynamics))
_SLOT = {f.name: i for i, f in enumerate(fields(Dynamics))}
#: Slots of :meth:`Dynamics.as_array`, by field name (the kernels index the array by these).
D_SPEED_TAU = _SLOT["speed_tau"]
D_MAX_ACCEL = _SLOT["max_accel"]
D_STEER_TAU = _SLOT["steer_tau"]
D_YAW_GAIN = _SLOT["yaw_gain"]
D_SPEED_GAIN = _SLOT["speed_gain"]
D_STEER_OFFSET = _SLOT["steer_offset"]
D_MAX_LAT_ACCEL = _SLOT["max_lat_accel"]

#: The plain kinematic bicycle: speed and steering follow the command at once, no slip.
KINEMATIC = Dynamics(speed_tau=0.0, max_accel=math.inf)
#: The project's first, uncalibrated version >= 5 car: kinematic, speed lag of one step.
KINEMATIC_V5 = Dynamics(speed_tau=STEP_DT, max_accel=math.inf)
#: The project's first, uncalibrated version < 5 car: kinematic, speed ramp of 3.3 m/s^2.
KINEMATIC_V4 = Dynamics(speed_tau=0.0, max_accel=3.3)

#: version < 5 (3/4: effort-controlled wheels and steering hinges, spec §3.2). Fitted by
#: ``python -m deepracer_sim.calibration`` to ``sample-drfc-3-logs`` (deepracer-for-cloud,
#: model_metadata version 4, reinvent_base, 3 training workers + 3 evaluations: 45.9k rows,
#: 699 episodes, 33.8k 15-step windows; every 5th episode held out), fixed 1/15 s steps.
#: Held-out error, median / p90 position and median heading (kinematic bicycle in brackets):
#: 1 step 1.1 / 3.0 cm, 0.5 deg (5.3 / 11.2 cm, 9.0 deg); 15 steps 9.4 / 21.6 cm, 5.6 deg
#: (68.4 / 139.8 cm, 40.6 deg); 5-fold cross-validated 15 steps 9.4 / 21.5 cm, 5.6 deg;
#: without the replay's steering observer (``fidelity.ESTIMATORS``) 10.4 / 25.1 cm, 6.2 deg.
#: Refitted with each fifth of the episodes left out, every value stays within the range given.
#:
#: * speed_tau 0.165 s (0.164-0.166) with max_accel 3.43 m/s^2 (3.41-3.44): the speed ramps,
#:   then lags (the wheels' effort controllers); speed_gain 0.999 (0.999-1.000);
#: * steer_tau 0.517 s (0.517-0.525): the hinges' position controller (p = 1, d = 0.5:
#:   d / p = 0.5 s);
#: * yaw_gain 0.785 (0.785-0.796) and max_lat_accel 4.04 m/s^2 (3.96-4.06): the car turns
#:   less than the kinematic bicycle, and less the faster it goes (without the cap: 10.0 cm);
#: * steer_offset 0.0142 rad (0.0141-0.0152; 0.8 deg to the left): the v4 car yaws left of
#:   the symmetric model by ~0.3 deg per step, in left and right turns alike (without it:
#:   9.5 cm, 5.9 deg). All v4 data is one counter-clockwise track, so a track-direction effect
#:   cannot be ruled out: the least certain value.
DYNAMICS_V4 = Dynamics(speed_tau=0.165, max_accel=3.43, steer_tau=0.517, yaw_gain=0.785,
                       speed_gain=0.999, steer_offset=0.0142, max_lat_accel=4.04)
#: version >= 5 (5/6: velocity/position controllers, the "deepracer_kinematics" car). Fitted to
#: ``sample-droa-solution-logs`` (DeepRacer-on-AWS, version 6, Spain_track: 2.1k rows,
#: 43 episodes (40 short training episodes, 3 evaluation laps), 1.4k windows; every 5th
#: episode held out), with the logged step times. Held-out error: 1 step 1.1 / 3.2 cm,
#: 0.8 deg (3.0 / 6.3 cm, 5.0 deg); 15 steps 8.8 / 20.8 cm, 3.8 deg (55.9 / 109.4 cm,
#: 22.5 deg); 5-fold cross-validated 15 steps 8.8 / 19.5 cm, 3.7 deg. The data are small:
#: one model driving one track (speed commands 1-2.5 m/s); the values are stable across folds
#: (ranges below) but say nothing about faster driving.
#:
#: * speed_tau 0.055 s (0.055-0.061), no acceleration limit, speed_gain 1.015 (1.013-1.015);
#: * steer_tau 0.202 s (0.200-0.203), yaw_gain 0.639 (0.637-0.640); an acceleration limit, a
#:   lateral-acceleration cap or a steering offset fitted to ~0 effect on the held-out
#:   episodes (``--ablation``) and are left at none.
DYNAMICS_V5 = Dynamics(speed_tau=0.055, max_accel=math.inf, steer_tau=0.202, yaw_gain=0.639,
                       speed_gain=1.015)


def dynamics_for_version(version: float) -> Dynamics:
    """The calibrated car of a ``model_metadata.json`` ``version`` (< 5: v4 car; >= 5: v5 car)."""
    return DYNAMICS_V4 if float(version) < 5.0 else DYNAMICS_V5


@njit(cache=True, inline="always")
def clip_command(steering_deg: float, speed: float):
    """The simapp's clip before driving: steering to +-30 degrees, speed to [0.1, 4] m/s.

    Returns (steering in rad, speed in m/s).
    """
    steer = max(min(steering_deg, MAX_STEERING_ANGLE), -MAX_STEERING_ANGLE)
    return steer * math.pi / 180.0, max(min(speed, MAX_SPEED), MIN_SPEED)


@njit(cache=True, inline="always")
def speed_profile(v0: float, u: float, dt: float, tau: float, max_accel: float):
    """Exact speed response over ``dt`` seconds: (speed at the end, distance travelled, m).

    The speed approaches the command ``u`` as a first-order lag with time constant ``tau``
    (0: at once) with its rate of change limited to ``max_accel`` (inf: none): it ramps at
    ``max_accel`` while the lag would demand more, then follows the exponential.
    """
    if max_accel <= 0.0:  # the speed cannot change
        return v0, v0 * dt
    e = u - v0
    sign = 1.0 if e >= 0.0 else -1.0
    gap = abs(e)
    if tau <= 0.0:
        if max_accel == math.inf or gap <= max_accel * dt:
            if max_accel == math.inf:
                return u, u * dt
            t1 = gap / max_accel  # ramp, then hold u
            return u, 0.5 * (v0 + u) * t1 + u * (dt - t1)
        v1 = v0 + sign * max_accel * dt
        return v1, 0.5 * (v0 + v1) * dt
    t1 = 0.0
    v = v0
    dist = 0.0
    if max_accel != math.inf and gap > max_accel * tau:
        # the lag would exceed the limit: ramp until the gap is max_accel * tau
        t1 = min((gap - max_accel * tau) / max_accel, dt)
        v = v0 + sign * max_accel * t1
        dist = 0.5 * (v0 + v) * t1
    rest = dt - t1
    if rest <= 0.0:
        return v, dist
    decay = math.exp(-rest / tau)
    v_end = u + (v - u) * decay
    return v_end, dist + u * rest + (v - u) * tau * (1.0 - decay)


@njit(cache=True, inline="always")
def _drive(pose: np.ndarray, steer_cmd: float, speed_cmd: float, dyn: np.ndarray,
           dt: float) -> None:
    x, y, yaw, v, delta = pose[0], pose[1], pose[2], pose[3], pose[4]
    steer_tau, yaw_gain, max_lat = dyn[D_STEER_TAU], dyn[D_YAW_GAIN], dyn[D_MAX_LAT_ACCEL]
    target = steer_cmd + dyn[D_STEER_OFFSET]
    # steering: exact first-order lag; its exact mean over the step sets the curvature
    gap = delta - target
    if steer_tau > 0.0:
        decay = math.exp(-dt / steer_tau)
        steer = target + gap * (steer_tau / dt) * (1.0 - decay)
        delta = target + gap * decay
    else:
        steer = target
        delta = target
    v, dist = speed_profile(v, speed_cmd * dyn[D_SPEED_GAIN], dt, dyn[D_SPEED_TAU],
                            dyn[D_MAX_ACCEL])
    k = yaw_gain * math.tan(steer) / WHEELBASE  # curvature, 1/m
    if max_lat < math.inf:  # soft cap: k0 / sqrt(1 + (k0 v^2 / a)^2), v the step's mean speed
        q = k * dist * dist / (dt * dt * max_lat)
        k /= math.sqrt(1.0 + q * q)
    c = math.cos(yaw)
    s = math.sin(yaw)
    xr = x + REAR_AXLE_X * c  # rear axle
    yr = y + REAR_AXLE_X * s
    dyaw = k * dist
    if abs(dyaw) < 1e-9:  # straight (second-order term kept for continuity)
        xr += dist * (c - 0.5 * dyaw * s)
        yr += dist * (s + 0.5 * dyaw * c)
        yaw += dyaw
        c = math.cos(yaw)
        s = math.sin(yaw)
    else:  # the rear axle runs on an arc of radius 1 / k
        yaw += dyaw
        c2 = math.cos(yaw)
        s2 = math.sin(yaw)
        xr += (s2 - s) / k
        yr += (c - c2) / k
        c = c2
        s = s2
    if yaw > math.pi:  # (-pi, pi], as the simapp's heading (|dyaw| < 2 pi per step)
        yaw -= 2.0 * math.pi
    elif yaw <= -math.pi:
        yaw += 2.0 * math.pi
    pose[0] = xr - REAR_AXLE_X * c
    pose[1] = yr - REAR_AXLE_X * s
    pose[2] = yaw
    pose[3] = v
    pose[4] = delta


@njit(cache=True)
def advance_car(pose: np.ndarray, steer_cmd: float, speed_cmd: float, dyn: np.ndarray) -> None:
    """Drive one 1/15 s step in place (see the module docstring for the model).

    Args:
        pose: (5,) float64 [x, y (car origin, m), yaw (rad), speed (m/s), steering (rad)];
            updated in place.
        steer_cmd: commanded steering, rad (already clipped).
        speed_cmd: commanded speed, m/s (already clipped; 0 holds the car).
        dyn: (N_DYN,) float64 from :meth:`Dynamics.as_array`.
    """
    _drive(pose, steer_cmd, speed_cmd, dyn, STEP_DT)


@njit(cache=True)
def advance_car_dt(pose: np.ndarray, steer_cmd: float, speed_cmd: float, dyn: np.ndarray,
                   dt: float) -> None:
    """:func:`advance_car` over ``dt`` seconds instead of one step (replaying real logs, whose
    steps last a little more or less than 1/15 s)."""
    _drive(pose, steer_cmd, speed_cmd, dyn, dt)
