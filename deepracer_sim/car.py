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

Steering is applied at once in both (a kinematic bicycle). The constants live in
:data:`DYNAMICS` so that a calibrated model can replace them without touching the kernel.
Integration: 4 sub-steps per 1/15 s step; within each the speed is updated exactly for the lag and
the rear axle follows the exact circular arc for the mean speed, so straight-line distance and
turning radius are exact.
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

#: Simulated seconds per physics sub-step.
SUBSTEP_DT = STEP_DT / SUBSTEPS


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
        """(4,) float64 per-sub-step factors the kernel reads: [speed decay, max speed change
        per sub-step (m/s), steering decay, yaw gain]."""
        def decay(tau: float) -> float:
            return math.exp(-SUBSTEP_DT / tau) if tau > 0 else 0.0
        return np.array([decay(self.speed_tau), self.max_accel * SUBSTEP_DT,
                         decay(self.steer_tau), self.yaw_gain], dtype=np.float64)


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


@njit(cache=True)
def advance_car(pose: np.ndarray, steer_cmd: float, speed_cmd: float, dyn: np.ndarray) -> None:
    """Drive one 1/15 s step in place.

    Args:
        pose: (5,) float64 [x, y (car origin, m), yaw (rad), speed (m/s), steering (rad)];
            updated in place.
        steer_cmd: commanded steering, rad (already clipped).
        speed_cmd: commanded speed, m/s (already clipped; 0 holds the car).
        dyn: (4,) float64 from :meth:`Dynamics.as_array`.
    """
    x, y, yaw, v, delta = pose[0], pose[1], pose[2], pose[3], pose[4]
    speed_decay, max_dv, steer_decay, yaw_gain = dyn[0], dyn[1], dyn[2], dyn[3]
    # rear axle position
    xr = x + REAR_AXLE_X * math.cos(yaw)
    yr = y + REAR_AXLE_X * math.sin(yaw)
    for _ in range(SUBSTEPS):
        v_new = speed_cmd + (v - speed_cmd) * speed_decay
        dv = v_new - v
        if dv > max_dv:
            v_new = v + max_dv
        elif dv < -max_dv:
            v_new = v - max_dv
        delta = steer_cmd + (delta - steer_cmd) * steer_decay
        v_mean = 0.5 * (v + v_new)
        v = v_new
        omega = yaw_gain * v_mean * math.tan(delta) / WHEELBASE
        dyaw = omega * SUBSTEP_DT
        if abs(dyaw) < 1e-12:
            xr += v_mean * SUBSTEP_DT * math.cos(yaw)
            yr += v_mean * SUBSTEP_DT * math.sin(yaw)
        else:
            radius = v_mean / omega
            xr += radius * (math.sin(yaw + dyaw) - math.sin(yaw))
            yr += radius * (math.cos(yaw) - math.cos(yaw + dyaw))
            yaw += dyaw
    yaw = math.atan2(math.sin(yaw), math.cos(yaw))
    pose[0] = xr - REAR_AXLE_X * math.cos(yaw)
    pose[1] = yr - REAR_AXLE_X * math.sin(yaw)
    pose[2] = yaw
    pose[3] = v
    pose[4] = delta
