"""Hand-worked tests of the car model (``deepracer_sim.sim.car``) and its use by the kernel and
the envs.

The model (``car.py``'s docstring): all four wheels run at the rim speed ``V = min(command /
0.035, 100 rad/s) * wheel_radius``; each contact, at its URDF wheel centre with the load
``m g / 4``, pushes back ``-(m g / 4) (mu_x z_l / sqrt(1 + z_l^2), mu_y z_t / sqrt(1 + z_t^2))``
with ``z = slip / slip_x|y`` (the slip velocity in the wheel frame); the hinge follows the
command with a first-order lag ``steer_tau``; ``substeps`` semi-implicit Euler sub-steps per
1/15 s step. Cars whose tyres saturate within a millimetre per second of slip (``slip_x`` or
``slip_y`` 0.001 m/s) make the friction terms constant, which the hand-worked cases use.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace

import numpy as np
import pytest

from deepracer_sim.constants import (
    CMD_WHEEL_RADIUS,
    FRONT_LEFT_TOE,
    FRONT_RIGHT_TOE,
    GRAVITY,
    REFERENCE_POINT_X,
    WHEEL_SPEED_LIMIT,
)
from deepracer_sim.envs import setup as env_module
from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.envs.vector import DeepRacerVectorEnv
from deepracer_sim.errors import UsageError
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.sim import layout
from deepracer_sim.sim.car import (
    CAR_PARAMS,
    CAR_V4,
    CAR_V5,
    CAR_V6,
    N_PARAMS,
    N_STATE,
    P_MU_X,
    P_SUBSTEPS,
    P_WHEEL_RADIUS,
    PHYSICS,
    S_DELTA,
    S_V,
    S_VY,
    S_X,
    S_Y,
    S_YAW,
    S_YAW_RATE,
    CarParams,
    advance_car,
    advance_car_dt,
    car_params,
    clip_command,
    physics_for_version,
    resolve_physics,
)
from deepracer_sim.sim.simulator import Simulator, make_config
from deepracer_sim.track import load_track

DT = 1.0 / 15.0
GENS = ("v4", "v5", "v6")


def state(v=0.0, delta=0.0, yaw=0.0, vy=0.0, r=0.0, x=0.0, y=0.0) -> np.ndarray:
    st = np.zeros(N_STATE)
    st[S_X], st[S_Y], st[S_YAW] = x, y, yaw
    st[S_V], st[S_DELTA], st[S_VY], st[S_YAW_RATE] = v, delta, vy, r
    return st


def drive(st: np.ndarray, steer: float, speed: float, car: CarParams, steps: int) -> np.ndarray:
    """Advance ``steps`` steps in place; returns the (steps + 1, N_STATE) states."""
    p = car.as_array()
    out = [st.copy()]
    for _ in range(steps):
        advance_car(st, steer, speed, p)
        out.append(st.copy())
    return np.array(out)


#: Tyres that saturate within 1 mm/s of slip: constant friction forces (module docstring).
GRIPPY = CarParams(mu_x=0.35, mu_y=0.33, slip_x=0.001, slip_y=1.0, wheel_radius=0.036,
                   steer_tau=0.0, substeps=10.0)


# --- slots, parameters, generations ---------------------------------------------------------------

def test_state_slots_are_the_kernels_first_columns():
    assert tuple(range(N_STATE)) == (S_X, S_Y, S_YAW, S_V, S_DELTA, S_VY, S_YAW_RATE)
    assert (layout.S_X, layout.S_V, layout.S_VY, layout.S_YAW_RATE) == (S_X, S_V, S_VY,
                                                                       S_YAW_RATE)
    # the kernel's own columns follow the car's state row
    assert layout.S_START_NDIST == N_STATE
    assert layout.NS == N_STATE + 17
    a = CAR_V5.as_array()
    assert a.dtype == np.float64 and a.shape == (N_PARAMS,) == (len(fields(CarParams)),)
    assert a[P_MU_X] == CAR_V5.mu_x and a[P_WHEEL_RADIUS] == CAR_V5.wheel_radius
    assert a[P_SUBSTEPS] == 5.0
    assert layout.C_CAR == layout.NC


def test_code_facts():
    # URDF and simapp values (racing-speed-physics.md §2-§3)
    assert CMD_WHEEL_RADIUS == 0.035 and WHEEL_SPEED_LIMIT == 100.0 and GRAVITY == 9.8
    assert (FRONT_LEFT_TOE, FRONT_RIGHT_TOE) == (0.0022537, 0.0065592)
    for car in CAR_PARAMS.values():
        assert (car.mass, car.wheel_speed_max, car.cmd_radius, car.substeps) == \
            (6.564, 100.0, 0.035, 5.0)
    assert CAR_V6.mu_y == 0.5  # the URDF's mu, not identified below 2.5 m/s


def test_generations_follow_the_model_version():
    assert PHYSICS == ("v4", "v5", "v6")
    assert [physics_for_version(v) for v in (3.0, 4.0, 4.99, 5.0, 5.5, 6.0, 7.0)] == \
        ["v4", "v4", "v4", "v5", "v5", "v6", "v6"]
    assert car_params("v4") is CAR_V4 and car_params("v6") is CAR_V6
    assert resolve_physics(None, 5.0) == "v5" and resolve_physics("v6", 4.0) == "v6"
    for bad in ("v7", "5", None):
        with pytest.raises(UsageError, match="unknown simulator generation"):
            car_params(bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="v3"):
        resolve_physics("v3", 6.0)


@pytest.mark.parametrize("bad", [{"mu_x": 0.0}, {"slip_y": -1.0}, {"steer_tau": -0.1},
                                 {"substeps": 0.0}, {"substeps": 2.5}, {"mu_y": math.nan},
                                 {"wheel_speed_max": -1.0}, {"yaw_inertia": math.inf}])
def test_invalid_parameters_raise(bad):
    with pytest.raises(UsageError, match="CarParams"):
        replace(CAR_V5, **bad)


def test_clip_command():
    # steering clipped to +-30 degrees and returned in radians; speed to [0.1, 4] m/s
    assert clip_command(45.0, 1.0) == pytest.approx((math.pi / 6.0, 1.0), abs=1e-15)
    assert clip_command(-45.0, 1.0) == pytest.approx((-math.pi / 6.0, 1.0), abs=1e-15)
    assert clip_command(0.0, 5.0) == pytest.approx((0.0, 4.0), abs=1e-15)
    assert clip_command(0.0, 0.0) == pytest.approx((0.0, 0.1), abs=1e-15)
    assert clip_command(10.0, 2.5) == pytest.approx((math.pi / 18.0, 2.5), abs=1e-15)


# --- straight line: the wheel-speed cap and the traction-limited ramp ---------------------------

@pytest.mark.parametrize("gen", GENS)
def test_straight_line_speed_is_capped_by_the_wheel_joints(gen):
    car = CAR_PARAMS[gen]
    # command 4 asks 4 / 0.035 = 114.3 rad/s; the joints stop at 100 rad/s, so the car settles
    # at 100 * wheel_radius (v4/v5: 3.600 m/s, v6: 3.587 m/s)
    st = state()
    drive(st, 0.0, 4.0, car, 90)
    assert st[S_V] == pytest.approx(100.0 * car.wheel_radius, abs=1e-3)
    assert car.top_speed(4.0) == pytest.approx(100.0 * car.wheel_radius, abs=1e-15)
    # 3.5 m/s asks exactly 100 rad/s: the same speed; 2 m/s asks 57.14 rad/s: 2 * 0.036 /
    # 0.035 = 2.0571 m/s (v6: 2.0497)
    assert car.top_speed(3.5) == pytest.approx(car.top_speed(4.0), abs=1e-12)
    st2 = state()
    drive(st2, 0.0, 2.0, car, 90)
    assert st2[S_V] == pytest.approx(2.0 / 0.035 * car.wheel_radius, abs=1e-3)
    # the URDF toe and the offset curve the "straight" path a little: at most the yaw rate of
    # a 0.012 rad bicycle, 3.6 * 0.012 / 0.164 rad/s
    assert abs(st[S_VY]) < 5e-3 and abs(st[S_YAW_RATE]) < st[S_V] * 0.012 / 0.163974


def test_issue_top_speed_goals():
    # measured on the v5 logs' straights at command 4.0: 3.58-3.66 m/s; at 2.0: 2.0-2.1
    for car in CAR_PARAMS.values():
        assert 3.58 <= car.top_speed(4.0) <= 3.66
        assert 2.0 <= car.top_speed(2.0) <= 2.1


def test_traction_limited_ramp_by_hand():
    # every wheel slides forward at full traction while V - u >> slip_x = 1 mm/s: a = mu_x g =
    # 0.35 * 9.8 = 3.43 m/s^2, constant; semi-implicit Euler with h = 1/150 s gives u_k = k h a
    # after k sub-steps and x = h^2 a k (k + 1) / 2. After 5 steps (50 sub-steps):
    # u = 50 / 150 * 3.43 = 1.14333 m/s, x = 3.43 / 22500 * 1275 = 0.194367 m
    st = state()
    drive(st, 0.0, 4.0, GRIPPY, 5)
    assert st[S_V] == pytest.approx(1.143333, rel=1e-4)
    assert st[S_X] == pytest.approx(0.194367, rel=1e-4)
    # the front wheels' toe (0.002-0.007 rad) under a soft lateral law: well under a millimetre
    assert abs(st[S_Y]) < 1e-3


@pytest.mark.parametrize("gen", GENS)
def test_first_step_from_rest_is_traction_limited(gen):
    car = CAR_PARAMS[gen]
    st = state()
    drive(st, 0.0, 4.0, car, 1)
    # the wheels slip by ~V >> slip_x: a ~ mu_x g V / sqrt(slip_x^2 + V^2) (v5: 3.40 m/s^2)
    vrim = car.top_speed(4.0)
    hand = car.mu_x * GRAVITY * vrim / math.hypot(car.slip_x, vrim)
    assert st[S_V] / DT == pytest.approx(hand, rel=0.03)
    if gen in ("v4", "v5"):  # the real v4/v5 ramps: 3.3-3.55 m/s^2 (racing-speed doc §5.2)
        assert 3.2 <= st[S_V] / DT <= 3.8


def test_zero_command_brakes_to_rest():
    st = state(v=2.0)
    drive(st, 0.0, 0.0, CAR_V5, 30)
    assert abs(st[S_V]) < 1e-3


def test_wheels_that_cannot_turn_hold_the_car_at_rest():
    # wheel_speed_max 0: the rim speed is 0 and a car at rest feels no force at all
    held = replace(CAR_V5, wheel_speed_max=0.0)
    st = state(x=1.5, y=2.5, yaw=0.4)
    drive(st, 0.3, 4.0, held, 10)
    assert (st[S_X], st[S_Y], st[S_YAW], st[S_V]) == (1.5, 2.5, 0.4, 0.0)


# --- the lateral friction limit ---------------------------------------------------------------

def test_sideways_slide_decelerates_at_mu_y_g():
    # sliding sideways at 1 m/s with the wheels braked (command 0): every contact slides across
    # at full lateral friction, so w falls at mu_y g: after 3 steps (0.2 s)
    # w = 1 - 0.33 * 9.8 * 0.2 = 0.3532 m/s
    car = replace(GRIPPY, slip_y=0.001)
    st = state(vy=1.0)
    drive(st, 0.0, 0.0, car, 3)
    assert st[S_VY] == pytest.approx(1.0 - 0.33 * GRAVITY * 0.2, abs=2e-3)


@pytest.mark.parametrize("gen", GENS)
def test_steady_circle_radius_against_the_friction_limit(gen):
    car = CAR_PARAMS[gen]
    # each contact pushes at most (m g / 4) sqrt(mu_x^2 + mu_y^2) (the friction box's corner), so
    # the circle of a steady turn at speed v has radius R >= v^2 / (g sqrt(mu_x^2 + mu_y^2))
    bound = GRAVITY * math.hypot(car.mu_x, car.mu_y)
    radii = []
    for cmd in (1.0, 2.0, 3.0):
        st = state(v=car.top_speed(cmd), delta=math.radians(15))
        drive(st, math.radians(15), cmd, car, 150)
        speed = math.hypot(st[S_V], st[S_VY])
        radius = speed / abs(st[S_YAW_RATE])
        assert radius >= speed**2 / bound
        radii.append(radius)
    # the car plows: at 15 degrees the radius grows with the speed, and at 3 m/s it is far
    # beyond the kinematic bicycle's 0.164 / tan(15 deg) = 0.612 m
    assert radii[0] < radii[1] < radii[2]
    assert radii[2] > 4.0 * 0.163974 / math.tan(math.radians(15))


# --- steering lag -------------------------------------------------------------------------------

@pytest.mark.parametrize(("gen", "tau_range"), [("v4", (0.35, 0.65)), ("v5", (0.0, 0.0)),
                                                ("v6", (0.13, 0.21))])
def test_steering_lag_per_generation(gen, tau_range):
    car = CAR_PARAMS[gen]
    # the code's hinge laws: v4 PD d/p = 0.5 s, v5 derivative kick ~0, v6 1/(0.1 * 60 Hz) s
    assert tau_range[0] <= car.steer_tau <= tau_range[1]
    target = 0.3 + car.steer_offset
    st = state(v=1.0)
    for k in (1, 2):
        drive(st, 0.3, 1.0, car, 1)
        # the exact first-order lag: delta = target (1 - exp(-k dt / tau)); v5: target at once
        expect = target if car.steer_tau == 0.0 else \
            target * (1.0 - math.exp(-k * DT / car.steer_tau))
        assert st[S_DELTA] == pytest.approx(expect, rel=1e-9)
    # v4: 11 % of the way after one step (1 - exp(-0.0667 / 0.5624) = 0.112)
    if gen == "v4":
        assert st[S_DELTA] / target == pytest.approx(1.0 - math.exp(-2 * DT / 0.5624), rel=1e-9)


# --- integration ----------------------------------------------------------------------------------

def test_advance_dt_of_one_step_equals_advance():
    a = state(v=2.0, delta=0.1, vy=0.05, r=0.4)
    b = a.copy()
    p = CAR_V4.as_array()
    for k in range(20):
        advance_car(a, 0.3 * math.sin(k), 1.0 + k / 10.0, p)
        advance_car_dt(b, 0.3 * math.sin(k), 1.0 + k / 10.0, p, DT)
    assert np.array_equal(a, b)


def test_yaw_stays_in_range_and_the_car_circles():
    st = state(v=1.0, yaw=3.0)
    poses = drive(st, math.radians(30), 1.0, CAR_V5, 300)
    assert np.all(poses[:, S_YAW] > -math.pi) and np.all(poses[:, S_YAW] <= math.pi)
    # 20 s at ~1.6 rad/s: several full turns to the left
    assert np.sum(np.diff(np.unwrap(poses[:, S_YAW]))) > 4 * math.pi


def test_mirror_symmetry_but_for_the_toe():
    car = replace(CAR_V5, steer_offset=0.0)
    left = drive(state(v=2.0), math.radians(20), 2.0, car, 10)[-1]
    right = drive(state(v=2.0), -math.radians(20), 2.0, car, 10)[-1]
    # the toe (both front wheels 0.002-0.007 rad to the left) makes the left turn a bit tighter
    assert left[S_X] == pytest.approx(right[S_X], abs=0.02)
    assert left[S_Y] == pytest.approx(-right[S_Y], abs=0.03)


def test_determinism_and_bounded_random_driving():
    rng = np.random.default_rng(1)
    cmds = [(rng.uniform(-0.5236, 0.5236), rng.uniform(0.1, 4.0)) for _ in range(5000)]
    for car in CAR_PARAMS.values():
        p = car.as_array()
        runs = []
        for _ in range(2):
            st = state()
            top = 0.0
            for steer, speed in cmds:
                advance_car(st, steer, speed, p)
                top = max(top, math.hypot(st[S_V], st[S_VY]))
            runs.append(st.copy())
        assert np.array_equal(runs[0], runs[1])
        assert np.all(np.isfinite(runs[0])) and -math.pi < runs[0][S_YAW] <= math.pi
        # never faster than the rim speed cap (plus rounding)
        assert top <= car.top_speed(4.0) + 0.05


def test_five_substeps_are_close_to_twenty():
    # the shipped cars use 5 sub-steps; 20 move a 15-step path by far less than the model's
    # error (docs/fidelity.md: 15-step medians move by <= 1 cm)
    for car in CAR_PARAMS.values():
        a = drive(state(v=2.5), math.radians(15), 3.0, car, 15)[-1]
        b = drive(state(v=2.5), math.radians(15), 3.0, replace(car, substeps=20.0), 15)[-1]
        assert math.hypot(a[S_X] - b[S_X], a[S_Y] - b[S_Y]) < 0.03


# --- the kernel and the envs ----------------------------------------------------------------

def test_simulator_drives_the_whole_car():
    # the step kernel drives the car's N_STATE slots with every parameter: its states equal
    # advance_car's (after the PREPARE step, which holds the car) with the clipped commands
    track = load_track("dr_sim_default")
    cfg = make_config(0.05, False, False, 1000, 0.0)
    for car in (CAR_V4, CAR_V5, CAR_V6, replace(CAR_V5, mu_x=0.8, steer_tau=0.3)):
        s = Simulator(track, 1, car.as_array(), cfg, np.array([0.0]))
        st = s.s[0, :N_STATE].copy()
        cmds = [(5.0, 1.0)] + [(25.0 * math.sin(k / 3.0), 1.0 + 0.2 * (k % 5)) for k in range(12)]
        for k, (deg, sp) in enumerate(cmds):
            s.step(np.array([deg]), np.array([sp]), False)
            if k > 0:  # the first step is PREPARE
                advance_car(st, math.radians(deg), sp, car.as_array())
        np.testing.assert_allclose(s.s[0, :N_STATE], st, rtol=0, atol=1e-12)
        assert st[S_V] > 0.5  # it drove


def test_reset_puts_the_car_at_rest():
    track = load_track("dr_sim_default")
    s = Simulator(track, 1, CAR_V5.as_array(), make_config(0.05, True, False, 1000, 0.0),
                  np.array([0.0]))
    for _ in range(10):
        s.step(np.array([30.0]), np.array([3.0]), False)
    assert s.s[0, S_YAW_RATE] != 0.0 and s.s[0, S_VY] != 0.0
    s.reset_car(0)
    assert np.all(s.s[0, S_V:N_STATE] == 0.0)


@pytest.mark.parametrize("raw, clipped", [((45.0, 5.0), (30.0, 4.0)),
                                          ((-45.0, 0.05), (-30.0, 0.1))])
def test_driving_clipped_command_equals_clipped_value(raw, clipped):
    track = load_track("dr_sim_default")
    cfg = make_config(0.05, False, False, 1000, 0.0)
    s = Simulator(track, 2, CAR_V5.as_array(), cfg, np.array([0.25, 0.25]))
    for _ in range(8):
        s.step(np.array([raw[0], clipped[0]]), np.array([raw[1], clipped[1]]), False)
    assert np.array_equal(s.s[0, :N_STATE], s.s[1, :N_STATE])
    assert s.s[0, S_V] > 0.0
    # the record reports the commanded (unclipped) values (spec §1.3)
    assert s.rec[0, layout.R_STEER] == raw[0] and s.rec[0, layout.R_SPEED] == raw[1]


def test_env_physics_keyword():
    for env_cls in (DeepRacerEnv, DeepRacerVecEnv, DeepRacerVectorEnv):
        for physics, version, expect in (("v4", None, "v4"), ("v5", 6.0, "v5"),
                                         (None, 5.0, "v5"), (None, 4.0, "v4"),
                                         (None, None, "v6")):
            env = env_cls(physics=physics, version=version)
            assert env.physics == expect, (env_cls, physics, version)
            assert np.array_equal(env.sim.cfg[layout.C_CAR:], CAR_PARAMS[expect].as_array())
        with pytest.raises(UsageError, match="unknown simulator generation"):
            env_cls(physics="v9")


def test_env_ramp_from_rest_by_hand(monkeypatch):
    # the GRIPPY car in the env: dr_sim_default starts at (0, -3.4) heading 0; straight at
    # 2 m/s. The params of step k show n = k - 2 driven steps (step 1 PREPARE holds the car,
    # action k acts after step k's params): x = 0.14 + h^2 a N (N + 1) / 2 with N = 10 n
    # sub-steps of h = 1/150 s at a = 3.43 m/s^2 while u < 2 * 0.036 / 0.035 = 2.057 m/s
    # (n <= 8)
    monkeypatch.setattr(env_module, "car_params", lambda physics: GRIPPY)
    env = DeepRacerEnv("dr_sim_default", action_space=ActionSpace(np.array([[0.0, 2.0]])),
                       training=False)
    env.reset(seed=0)
    xs = [env.step(0)[4]["params"]["x"] for _ in range(8)]
    h, a = 1.0 / 150.0, 0.35 * GRAVITY
    expected = [REFERENCE_POINT_X + h * h * a * (10 * n) * (10 * n + 1) / 2 for n in range(7)]
    assert xs[1:] == pytest.approx(expected, rel=1e-4, abs=1e-9)
    assert xs[0] == xs[1] == pytest.approx(REFERENCE_POINT_X, abs=1e-12)
