"""The car: a four-wheel planar rigid body whose tyres slide, one parameter set per simulator
generation.

Why this structure (``../shared/docs/racing-speed-physics.md`` §2-§5, read from
aws-deepracer-community/deepracer-simapp @ 01f5f015 ``bundle/urdf/deepracer/
deepracer_single_cam.urdf``, ``racecar.gazebo`` and ``bundle/markov/agent_ctrl/utils.py``; the
same URDF in v3.0.3 and v5.3.3): the simapp drives all four wheels at one angular velocity
``speed / 0.035`` (no differential), steers both front hinges to one angle (no Ackermann), caps
every wheel joint at 100 rad/s and gives each tyre Coulomb friction 0.5 without slip
compliance. In a turn no wheel can roll freely: every contact slides, and the sliding forces set
the path. So the car understeers more the faster and harder it steers, its straight-line speed
saturates at ``100 rad/s x wheel_radius`` (~3.6 m/s) and it accelerates at its traction limit.

Model, per call ``substeps`` semi-implicit Euler sub-steps of ``dt / substeps``
(:class:`CarParams` holds the constants):

* rim speed of all four wheels ``V = min(speed command / cmd_radius, wheel_speed_max) *
  wheel_radius`` (the wheel velocity controllers' 1 N m per rad/s gain holds the wheel speed
  against the ~0.3 N m a tyre can transmit);
* hinge angle ``delta``: exact first-order lag towards ``steering command + steer_offset`` with
  time constant ``steer_tau`` (the hinge controllers: v3/v4 ros_control PD, d/p = 0.5 s; v5
  gazebo_ros_control PID with the derivative kick, ~0 s; v6 gz_ros2_control's position-to-
  velocity law, 1/(0.1 x 60 Hz) s); the front wheels point at ``delta`` plus their URDF toe
  (:data:`~deepracer_sim.constants.FRONT_LEFT_TOE`, ``FRONT_RIGHT_TOE``);
* contact ``i`` at its URDF wheel centre with the static load ``m g / 4``: slip velocity
  ``(s_l, s_t)`` = the contact's velocity in its wheel frame minus ``(V, 0)``; force
  ``-(m g / 4) (mu_x z_l / sqrt(1 + z_l^2), mu_y z_t / sqrt(1 + z_t^2))`` with ``z_l = s_l /
  slip_x``, ``z_t = s_t / slip_y``: a smoothed box (pyramid) friction law, as Gazebo-classic's
  ODE bounds each friction direction by ``mu N`` separately;
* rigid body in the car frame (origin ``base_link``, taken as the centre of mass):
  ``du/dt = Fx / m + r w``, ``dw/dt = Fy / m - r u``, ``dr/dt = sum(x_i Fy_i - y_i Fx_i) / I``;
  the pose moves with the new velocities.

State row (float64, :data:`N_STATE` slots; the kernel keeps them as the first columns of its
state array, :mod:`deepracer_sim.sim.layout`):

====  ============  ==========================================================================
slot  name          meaning
====  ============  ==========================================================================
0     S_X           car origin (``base_link``) x, m
1     S_Y           car origin y, m
2     S_YAW         heading, rad, in (-pi, pi]
3     S_V           forward velocity of the origin in the car frame, m/s (the car's speed)
4     S_DELTA       hinge (steering) angle, rad, + = left
5     S_VY          lateral velocity of the origin in the car frame, m/s, + = left
6     S_YAW_RATE    yaw rate, rad/s, + = counter-clockwise
====  ============  ==========================================================================

A car at rest has zeros in S_V .. S_YAW_RATE; a car set moving straight at ``v`` needs only
``S_V = v``. Commands are clipped as the simapp's ``send_action`` (:func:`clip_command`).

Generations (``--physics``; :func:`physics_for_version` follows the simapp's choice of car,
``launch/racetrack_with_racecar.launch`` (v5.3.3) and ``.launch.py`` (master)):

* ``v4``: the ROS1 / Gazebo-classic car of model versions 3-4 (effort-controlled hinges: slow
  steering);
* ``v5``: the ROS1 / Gazebo-classic ``deepracer_kinematics`` car of simapp 5.x (the 2022-2025
  console league, deepracer-for-cloud 5.x images);
* ``v6``: the ROS 2 / Gazebo Harmonic (DART) car of simapp 6.x and DeepRacer-on-AWS.

:data:`CAR_V4`, :data:`CAR_V5`, :data:`CAR_V6` are fitted to the real simulator's sim-traces by
``deepracer-sim calibrate``; their data, split, errors and validated speed range are in
``docs/fidelity.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from numba import njit

from deepracer_sim.constants import (
    CAR_MASS,
    CAR_YAW_INERTIA,
    CMD_WHEEL_RADIUS,
    FRONT_AXLE_X,
    FRONT_HALF_TRACK,
    FRONT_LEFT_TOE,
    FRONT_RIGHT_TOE,
    GRAVITY,
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_SPEED,
    REAR_AXLE_X,
    REAR_HALF_TRACK,
    STEP_DT,
    WHEEL_SPEED_LIMIT,
)
from deepracer_sim.errors import UsageError

# state slots (module docstring)
S_X, S_Y, S_YAW, S_V, S_DELTA = 0, 1, 2, 3, 4
S_VY = 5
S_YAW_RATE = 6
N_STATE = 7

_COS_TL = math.cos(FRONT_LEFT_TOE)
_SIN_TL = math.sin(FRONT_LEFT_TOE)
_COS_TR = math.cos(FRONT_RIGHT_TOE)
_SIN_TR = math.sin(FRONT_RIGHT_TOE)


@dataclass(frozen=True)
class CarParams:
    """Constants of one simulator generation's car (see the module docstring).

    Attributes:
        mu_x: friction coefficient along the wheel (traction limit ``mu_x g``, m/s^2).
        mu_y: friction coefficient across the wheel (sets the cornering limit).
        slip_x: slip speed along the wheel at which the force reaches 1/sqrt(2) of its limit,
            m/s (the force builds up as ``z / sqrt(1 + z^2)``, ``z = slip / slip_x``).
        slip_y: the same across the wheel, m/s.
        wheel_radius: effective rolling radius, m (rim speed = wheel speed x this).
        steer_tau: first-order lag of the hinge angle, s (0 = the command at once).
        steer_offset: added to the commanded hinge angle, rad (+ = left).
        yaw_inertia: yaw moment of inertia about the car origin, kg m^2.
        mass: total mass, kg (only ``mass / yaw_inertia`` matters).
        wheel_speed_max: wheel joint velocity limit, rad/s (0: the wheels cannot turn).
        cmd_radius: the radius the simapp turns the speed command into a wheel speed with, m.
        substeps: integration sub-steps per call (a whole number >= 1).

    Raises:
        UsageError: a value that is not finite or out of its range.
    """

    mu_x: float
    mu_y: float
    slip_x: float
    slip_y: float
    wheel_radius: float
    steer_tau: float
    steer_offset: float = 0.0
    yaw_inertia: float = CAR_YAW_INERTIA
    mass: float = CAR_MASS
    wheel_speed_max: float = WHEEL_SPEED_LIMIT
    cmd_radius: float = CMD_WHEEL_RADIUS
    substeps: float = 5.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value):
                raise UsageError(f"CarParams.{f.name} = {value}: must be a finite number")
        for name in ("mu_x", "mu_y", "slip_x", "slip_y", "wheel_radius", "yaw_inertia", "mass",
                     "cmd_radius"):
            if getattr(self, name) <= 0.0:
                raise UsageError(f"CarParams.{name} = {getattr(self, name)}: must be > 0")
        for name in ("steer_tau", "wheel_speed_max"):
            if getattr(self, name) < 0.0:
                raise UsageError(f"CarParams.{name} = {getattr(self, name)}: must be >= 0")
        if self.substeps < 1.0 or self.substeps != int(self.substeps):
            raise UsageError(f"CarParams.substeps = {self.substeps}: must be a whole number "
                             ">= 1")

    def as_array(self) -> np.ndarray:
        """(N_PARAMS,) float64 in field order (the ``P_*`` slots), for the kernels."""
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)

    def top_speed(self, speed_cmd: float = MAX_SPEED) -> float:
        """Straight-line speed a speed command settles at (the rim speed), m/s."""
        return min(speed_cmd / self.cmd_radius, self.wheel_speed_max) * self.wheel_radius


#: Length of :meth:`CarParams.as_array` (``kernel.step_cars`` slices this many from its config).
N_PARAMS = len(fields(CarParams))
_SLOT = {f.name: i for i, f in enumerate(fields(CarParams))}
#: Slots of :meth:`CarParams.as_array`, by field name (the kernels index the array by these).
P_MU_X = _SLOT["mu_x"]
P_MU_Y = _SLOT["mu_y"]
P_SLIP_X = _SLOT["slip_x"]
P_SLIP_Y = _SLOT["slip_y"]
P_WHEEL_RADIUS = _SLOT["wheel_radius"]
P_STEER_TAU = _SLOT["steer_tau"]
P_STEER_OFFSET = _SLOT["steer_offset"]
P_YAW_INERTIA = _SLOT["yaw_inertia"]
P_MASS = _SLOT["mass"]
P_WHEEL_SPEED_MAX = _SLOT["wheel_speed_max"]
P_CMD_RADIUS = _SLOT["cmd_radius"]
P_SUBSTEPS = _SLOT["substeps"]

#: v4: the ROS1 car of model versions 3-4 (``docs/fidelity.md``: data, fit, errors).
CAR_V4 = CarParams(mu_x=0.3836, mu_y=0.3236, slip_x=0.6144, slip_y=0.06766, wheel_radius=0.03600,
                   steer_tau=0.5624, steer_offset=0.003588, yaw_inertia=0.04625)
#: v5: the ROS1 ``deepracer_kinematics`` car of simapp 5.x (``docs/fidelity.md``).
CAR_V5 = CarParams(mu_x=0.3473, mu_y=0.3349, slip_x=0.2629, slip_y=0.1533, wheel_radius=0.03600,
                   steer_tau=0.0, steer_offset=-0.001709, yaw_inertia=0.1123)
#: v6: the ROS 2 / DART car of simapp 6.x and DeepRacer-on-AWS (``docs/fidelity.md``; above
#: 2.5 m/s only its code facts are known).
CAR_V6 = CarParams(mu_x=0.7107, mu_y=0.5, slip_x=0.3494, slip_y=0.08037, wheel_radius=0.03587,
                   steer_tau=0.1580, steer_offset=0.0002753, yaw_inertia=0.1549)

#: Generation name -> car: the ``--physics`` choices.
CAR_PARAMS = {"v4": CAR_V4, "v5": CAR_V5, "v6": CAR_V6}
#: The ``--physics`` names.
PHYSICS = tuple(CAR_PARAMS)


def car_params(physics: str) -> CarParams:
    """The car of a simulator generation: ``"v4"``, ``"v5"`` or ``"v6"``.

    Raises:
        UsageError: an unknown name.
    """
    try:
        return CAR_PARAMS[physics]
    except (KeyError, TypeError):
        raise UsageError(f"physics {physics!r}: unknown simulator generation; use one of "
                         f"{', '.join(PHYSICS)}") from None


def physics_for_version(version: float) -> str:
    """The generation a ``model_metadata.json`` ``version`` runs on by default: < 5 ``"v4"``
    (the ROS1 car of versions 3-4), 5.x ``"v5"`` (the ROS1 car of simapp 5.x: the 2022-2025
    console league and deepracer-for-cloud 5.x images), >= 6 ``"v6"`` (DeepRacer-on-AWS writes
    6). deepracer-for-cloud 6.x images run the ROS 2 car for any version >= 5: their racers pass
    ``physics="v6"``."""
    v = float(version)
    return "v4" if v < 5.0 else ("v5" if v < 6.0 else "v6")


def resolve_physics(physics: str | None, version: float) -> str:
    """``physics`` if given (checked), else :func:`physics_for_version` of ``version``.

    Raises:
        UsageError: an unknown ``physics``.
    """
    if physics is None:
        return physics_for_version(version)
    car_params(physics)
    return physics


@njit(cache=True, inline="always")
def clip_command(steering_deg: float, speed: float):
    """The simapp's clip before driving: steering to +-30 degrees, speed to [0.1, 4] m/s.

    Returns (steering in rad, speed in m/s).
    """
    steer = max(min(steering_deg, MAX_STEERING_ANGLE), -MAX_STEERING_ANGLE)
    return steer * math.pi / 180.0, max(min(speed, MAX_SPEED), MIN_SPEED)


@njit(cache=True, inline="always")
def _sincos(a: float):
    """(sin a, cos a) by Taylor series; error below 3e-6 for |a| <= 0.8 rad (a sub-step's yaw
    change and a hinge angle are far smaller)."""
    a2 = a * a
    s = a * (1.0 - a2 / 6.0 * (1.0 - a2 / 20.0 * (1.0 - a2 / 42.0)))
    c = 1.0 - a2 / 2.0 * (1.0 - a2 / 12.0 * (1.0 - a2 / 30.0 * (1.0 - a2 / 56.0)))
    return s, c


@njit(cache=True, inline="always")
def _sat(z: float) -> float:
    """Smooth saturation z / sqrt(1 + z^2)."""
    return z / math.sqrt(1.0 + z * z)


@njit(cache=True)
def _drive(st: np.ndarray, steer_cmd: float, speed_cmd: float, p: np.ndarray, dt: float) -> None:
    n = int(p[P_SUBSTEPS])
    h = dt / n
    # per-wheel friction limits as accelerations of the car (load m g / 4 per wheel)
    gx = 0.25 * GRAVITY * p[P_MU_X]
    gy = 0.25 * GRAVITY * p[P_MU_Y]
    inv_sx = 1.0 / p[P_SLIP_X]
    inv_sy = 1.0 / p[P_SLIP_Y]
    m_over_i = p[P_MASS] / p[P_YAW_INERTIA]
    rim = min(speed_cmd / p[P_CMD_RADIUS], p[P_WHEEL_SPEED_MAX]) * p[P_WHEEL_RADIUS]
    target = steer_cmd + p[P_STEER_OFFSET]
    tau = p[P_STEER_TAU]
    decay = math.exp(-h / tau) if tau > 0.0 else 0.0
    yf = FRONT_HALF_TRACK
    yr = REAR_HALF_TRACK
    xf = FRONT_AXLE_X
    xr = REAR_AXLE_X
    x = st[S_X]
    y = st[S_Y]
    yaw = st[S_YAW]
    u = st[S_V]
    w = st[S_VY]
    r = st[S_YAW_RATE]
    delta = st[S_DELTA]
    c = math.cos(yaw)
    s = math.sin(yaw)
    for _ in range(n):
        delta = target + (delta - target) * decay
        sd, cd = _sincos(delta)
        # front wheel headings: delta + toe (angle addition)
        cl = cd * _COS_TL - sd * _SIN_TL
        sl = sd * _COS_TL + cd * _SIN_TL
        cr = cd * _COS_TR - sd * _SIN_TR
        sr = sd * _COS_TR + cd * _SIN_TR
        # contact velocities in the car frame: (u - r y_i, w + r x_i)
        vfy = w + r * xf
        vry = w + r * xr
        vfl = u - r * yf
        vfr = u + r * yf
        # front left / right: slip in the wheel frame -> force -> car frame
        al = -gx * _sat((cl * vfl + sl * vfy - rim) * inv_sx)
        at = -gy * _sat((cl * vfy - sl * vfl) * inv_sy)
        f1x = cl * al - sl * at
        f1y = sl * al + cl * at
        al = -gx * _sat((cr * vfr + sr * vfy - rim) * inv_sx)
        at = -gy * _sat((cr * vfy - sr * vfr) * inv_sy)
        f2x = cr * al - sr * at
        f2y = sr * al + cr * at
        # rear left / right (no steering, no toe)
        f3x = -gx * _sat((u - r * yr - rim) * inv_sx)
        f4x = -gx * _sat((u + r * yr - rim) * inv_sx)
        f34y = -2.0 * gy * _sat(vry * inv_sy)
        ax = f1x + f2x + f3x + f4x
        ay = f1y + f2y + f34y
        alpha = m_over_i * (xf * (f1y + f2y) + xr * f34y - yf * (f1x - f2x) - yr * (f3x - f4x))
        u_old = u
        u += h * (ax + r * w)
        w += h * (ay - r * u_old)
        r += h * alpha
        # the pose moves with the new velocities (semi-implicit Euler)
        x += h * (u * c - w * s)
        y += h * (u * s + w * c)
        dyaw = r * h
        sy, cy = _sincos(dyaw)
        c, s = c * cy - s * sy, s * cy + c * sy
        yaw += dyaw
    while yaw > math.pi:  # (-pi, pi], as the simapp's heading
        yaw -= 2.0 * math.pi
    while yaw <= -math.pi:
        yaw += 2.0 * math.pi
    st[S_X] = x
    st[S_Y] = y
    st[S_YAW] = yaw
    st[S_V] = u
    st[S_DELTA] = delta
    st[S_VY] = w
    st[S_YAW_RATE] = r


@njit(cache=True)
def advance_car(state: np.ndarray, steer_cmd: float, speed_cmd: float, params: np.ndarray) -> None:
    """Drive one car one 1/15 s step in place (the model: module docstring).

    Args:
        state: (N_STATE,) float64 state row (the ``S_*`` slots); updated in place.
        steer_cmd: commanded steering, rad, already clipped (:func:`clip_command`).
        speed_cmd: commanded speed, m/s, already clipped (0 locks the wheels: the car brakes).
        params: (N_PARAMS,) float64 from :meth:`CarParams.as_array`.
    """
    _drive(state, steer_cmd, speed_cmd, params, STEP_DT)


@njit(cache=True)
def advance_car_dt(state: np.ndarray, steer_cmd: float, speed_cmd: float, params: np.ndarray,
                   dt: float) -> None:
    """:func:`advance_car` over ``dt`` seconds instead of one step (replaying real logs, whose
    steps last a little more or less than 1/15 s): ``substeps`` sub-steps of ``dt / substeps``."""
    _drive(state, steer_cmd, speed_cmd, params, dt)
