"""The car: a kinematic bicycle with DeepRacer's geometry and actuator response (numba).

Geometry (spec §3.1): the state is the pose of the car origin (Gazebo ``base_link``, midway
between the axles) and its yaw; the bicycle turns about the rear axle, 0.081663 m behind the
origin, with wheelbase 0.163974 m, so the rear axle runs on a circle of radius
``WHEELBASE / tan(steering)``. Commands are clipped as the simapp's ``send_action``: steering to
+-30 degrees, speed to [0.1, 4] m/s.

Actuator response, selected by ``model_metadata.json``'s ``version`` (spec §3.2):

* version >= 5 (the default; DeepRacer-on-AWS writes 6, deepracer-for-cloud 5): ``kinematics``
  car with velocity controllers; the speed follows the command as a first-order lag with a time
  constant of one step (1/15 s), i.e. "about one step of lag" as measured in the DRoA v6 logs.
* version < 5 (3/4: the effort-controlled car): the speed ramps towards the command at most
  3.3 m/s^2 (the initial acceleration measured in the 2022 console v4 logs: 0.12, 0.34, 0.56 m/s
  mean speed over the first steps).

Steering is applied at once in both (a kinematic bicycle). The constants are :class:`Dynamics`
values, so a calibrated model replaces them without touching the kernel. Integration is exact:
the speed follows its closed-form response and the rear axle its circular arc (4 sub-steps only
when a steering lag is configured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from .constants import (
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_SPEED,
    REAR_AXLE_X,
    STEP_DT,
    SUBSTEPS,
    WHEELBASE,
)


@dataclass(frozen=True)
class Dynamics:
    """Actuator-response constants of one physics version.

    Attributes:
        speed_tau: first-order speed lag time constant, s (0 = instant).
        max_accel: magnitude limit of the speed change, m/s^2 (inf = none).
        steer_tau: first-order steering lag time constant, s (0 = instant).
        yaw_gain: realised yaw rate / kinematic ``v * tan(steering) / wheelbase``.
    """

    speed_tau: float
    max_accel: float
    steer_tau: float = 0.0
    yaw_gain: float = 1.0

    def as_array(self) -> np.ndarray:
        """(4,) float64 [speed_tau, max_accel, steer_tau, yaw_gain] for the kernel."""
        return np.array([self.speed_tau, self.max_accel, self.steer_tau, self.yaw_gain],
                        dtype=np.float64)


#: version >= 5: velocity controllers, about one step of speed lag (spec §3.2, DRoA v6 logs).
DYNAMICS_V5 = Dynamics(speed_tau=STEP_DT, max_accel=math.inf)
#: version < 5: effort controllers, speed ramps at about 3.3 m/s^2 (spec §3.2, console v4 logs).
DYNAMICS_V4 = Dynamics(speed_tau=0.0, max_accel=3.3)


def dynamics_for_version(version: float) -> Dynamics:
    """The actuator model of a ``model_metadata.json`` ``version`` (< 5: v4 car; >= 5: v5 car)."""
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


@njit(cache=True)
def advance_car(pose: np.ndarray, steer_cmd: float, speed_cmd: float, dyn: np.ndarray) -> None:
    """Drive one 1/15 s step in place.

    With constant steering the rear axle runs on one circular arc of curvature
    ``yaw_gain * tan(steering) / WHEELBASE`` whatever the speed does, so a step is one exact arc
    whose length comes from :func:`speed_profile`; a steering lag splits the step into
    ``SUBSTEPS`` arcs.

    Args:
        pose: (5,) float64 [x, y (car origin, m), yaw (rad), speed (m/s), steering (rad)];
            updated in place.
        steer_cmd: commanded steering, rad (already clipped).
        speed_cmd: commanded speed, m/s (already clipped; 0 holds the car).
        dyn: (4,) float64 from :meth:`Dynamics.as_array`.
    """
    x, y, yaw, v, delta = pose[0], pose[1], pose[2], pose[3], pose[4]
    speed_tau, max_accel, steer_tau, yaw_gain = dyn[0], dyn[1], dyn[2], dyn[3]
    c = math.cos(yaw)
    s = math.sin(yaw)
    xr = x + REAR_AXLE_X * c  # rear axle
    yr = y + REAR_AXLE_X * s
    n = 1 if steer_tau <= 0.0 else SUBSTEPS
    dt = STEP_DT / n
    steer_decay = math.exp(-dt / steer_tau) if steer_tau > 0.0 else 0.0
    for _ in range(n):
        delta = steer_cmd + (delta - steer_cmd) * steer_decay
        v, dist = speed_profile(v, speed_cmd, dt, speed_tau, max_accel)
        k = yaw_gain * math.tan(delta) / WHEELBASE  # curvature, 1/m
        dyaw = k * dist
        if abs(dyaw) < 1e-9:  # straight (second-order term kept for continuity)
            xr += dist * (c - 0.5 * dyaw * s)
            yr += dist * (s + 0.5 * dyaw * c)
            yaw += dyaw
            c = math.cos(yaw)
            s = math.sin(yaw)
        else:
            yaw += dyaw
            c2 = math.cos(yaw)
            s2 = math.sin(yaw)
            xr += (s2 - s) / k
            yr += (c - c2) / k
            c = c2
            s = s2
    yaw = math.atan2(s, c)
    if yaw <= -math.pi:  # (-pi, pi], as the simapp's heading
        yaw = math.pi
    pose[0] = xr - REAR_AXLE_X * c
    pose[1] = yr - REAR_AXLE_X * s
    pose[2] = yaw
    pose[3] = v
    pose[4] = delta
