"""Hand-worked tests of the car model (``deepracer_sim.sim.car``) and its use by the env.

Model (spec §3.1/§3.2, ``car.py``'s docstring): a bicycle whose rear axle (0.081663 m behind the
car origin) runs on a circle of radius WHEELBASE / (yaw_gain * tan(steering)); one step is 1/15 s.
The plain kinematic cars (``yaw_gain`` 1, instant steering) are used explicitly where the tests
work out the kinematic behaviour by hand:

* KINEMATIC_V5: first-order speed lag with tau = one step (1/15 s): one step multiplies the gap
  to the command by exp(-1);
* KINEMATIC_V4: no lag, but the speed changes by at most 3.3 m/s^2, i.e. 3.3 / 15 = 0.22 m/s per
  step.

The calibrated defaults (DYNAMICS_V4/V5, fitted to the real logs) add a steering lag, a yaw gain,
a speed gain, a steering offset and a lateral-acceleration cap; each is checked by hand below.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepracer_sim.constants import REAR_AXLE_X, REFERENCE_POINT_X, WHEELBASE
from deepracer_sim.envs import setup as env_module
from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.sim import layout
from deepracer_sim.sim.car import (
    DYNAMICS_V4,
    DYNAMICS_V5,
    KINEMATIC,
    KINEMATIC_V4,
    KINEMATIC_V5,
    Dynamics,
    advance_car,
    advance_car_dt,
    clip_command,
    dynamics_for_version,
)
from deepracer_sim.sim.simulator import Simulator, make_config
from deepracer_sim.track import load_track

# the order of the kernel's dynamics array is an implementation detail: only build it here
V5 = KINEMATIC_V5.as_array()
V4 = KINEMATIC_V4.as_array()
DT = 1.0 / 15.0


def pose(x=0.0, y=0.0, yaw=0.0, v=0.0, delta=0.0) -> np.ndarray:
    return np.array([x, y, yaw, v, delta], dtype=np.float64)


def drive(p: np.ndarray, steer: float, speed: float, dyn: np.ndarray, steps: int) -> np.ndarray:
    """Advance ``steps`` steps; returns the (steps + 1, 5) poses including the initial one."""
    out = [p.copy()]
    for _ in range(steps):
        advance_car(p, steer, speed, dyn)
        out.append(p.copy())
    return np.array(out)


def rear_axle(poses: np.ndarray) -> np.ndarray:
    # rear axle = origin + REAR_AXLE_X * (cos yaw, sin yaw)  (REAR_AXLE_X = -0.081663)
    return np.stack([poses[:, 0] + REAR_AXLE_X * np.cos(poses[:, 2]),
                     poses[:, 1] + REAR_AXLE_X * np.sin(poses[:, 2])], axis=1)


def test_constants():
    assert REAR_AXLE_X == -0.081663
    assert abs(WHEELBASE - (0.082311 + 0.081663)) < 1e-15  # 0.163974
    assert dynamics_for_version(4) == DYNAMICS_V4
    assert dynamics_for_version(3.0) == DYNAMICS_V4
    assert dynamics_for_version(5) == DYNAMICS_V5
    assert dynamics_for_version(6) == DYNAMICS_V5
    # the plain cars: v5 lag tau = one step, no acceleration limit; v4 no lag, 3.3 m/s^2
    assert KINEMATIC_V5.speed_tau == pytest.approx(1.0 / 15.0, abs=1e-15)
    assert KINEMATIC_V5.max_accel == math.inf
    assert KINEMATIC_V4.speed_tau == 0.0
    assert KINEMATIC_V4.max_accel == 3.3
    for plain in (KINEMATIC, KINEMATIC_V4, KINEMATIC_V5):
        assert (plain.steer_tau, plain.yaw_gain, plain.speed_gain, plain.steer_offset,
                plain.max_lat_accel) == (0.0, 1.0, 1.0, 0.0, math.inf)


def test_calibrated_cars_are_not_the_kinematic_bicycle():
    # spec §3.2 (measured on the real logs): the yaw response peaks 2 steps (v6) or 3-5 steps
    # (v4) after the steering command and the realised yaw rate is well below the kinematic
    # v tan(delta) / L: both calibrated cars have a steering lag of more than one step and a yaw
    # gain below 1
    for dyn in (DYNAMICS_V4, DYNAMICS_V5):
        assert dyn.steer_tau > 1.0 / 15.0
        assert 0.3 < dyn.yaw_gain < 1.0
        assert dyn.speed_tau > 0.0
        assert 0.9 < dyn.speed_gain < 1.1
    # v4 responds more slowly than v5/v6 (spec §3.2: v4 ~0.6 s to reach the commanded speed)
    assert DYNAMICS_V4.steer_tau > DYNAMICS_V5.steer_tau
    assert DYNAMICS_V4.speed_tau > DYNAMICS_V5.speed_tau
    assert DYNAMICS_V4.max_accel < 10.0


# --- straight line --------------------------------------------------------------------------

@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.3, math.pi])
def test_steady_straight_line_v5(yaw):
    p = pose(1.0, -2.0, yaw, 0.0)
    drive(p, 0.0, 2.0, V5, 60)
    # after 60 steps the gap 2 * exp(-60) ~ 1e-26 is gone
    assert p[3] == pytest.approx(2.0, abs=1e-12)
    poses = drive(p, 0.0, 2.0, V5, 10)
    step = np.diff(poses[:, :2], axis=0)
    # 2 m/s * 1/15 s = 2/15 m along the heading every step
    expected = 2.0 / 15.0 * np.array([math.cos(yaw), math.sin(yaw)])
    np.testing.assert_allclose(step, np.tile(expected, (10, 1)), rtol=0, atol=1e-9)
    np.testing.assert_allclose(poses[:, 2], yaw, rtol=0, atol=1e-12)


def test_v5_lag_from_rest():
    p = pose()
    poses = drive(p, 0.0, 2.0, V5, 3)
    # gap 2 -> 2 * exp(-1/4)^4 = 2 * exp(-1) per step: v_k = 2 * (1 - exp(-k))
    for k in (1, 2, 3):
        assert poses[k, 3] == pytest.approx(2.0 * (1.0 - math.exp(-k)), rel=1e-12)
    # distance of step 1 (integration is exact, car.py docstring): the integral of
    # 2 (1 - exp(-t / tau)) over one tau = 2 tau - 2 tau (1 - exp(-1)) = 2/15 * exp(-1)
    # = 0.049050 m
    assert poses[1, 0] == pytest.approx(2.0 / 15.0 * math.exp(-1.0), rel=1e-9)
    assert poses[1, 1] == 0.0


def test_v5_lag_slowing_down():
    p = pose(v=2.0)
    advance_car(p, 0.0, 1.0, V5)
    # gap 1 -> exp(-1): 1 + exp(-1)
    assert p[3] == pytest.approx(1.0 + math.exp(-1.0), rel=1e-12)


def test_v4_ramp_from_rest():
    p = pose()
    poses = drive(p, 0.0, 2.0, V4, 12)
    for k in range(13):
        # +0.22 m/s per step until the command: min(2, 3.3 k / 15)
        assert poses[k, 3] == pytest.approx(min(2.0, 3.3 * k / 15.0), abs=1e-12)
    # constant acceleration: x(t) = 0.5 * 3.3 * t^2 for t = k/15 <= 9/15 (v = 1.98 < 2)
    assert poses[1, 0] == pytest.approx(0.5 * 3.3 * (1.0 / 15.0) ** 2, abs=1e-12)  # 7.333 mm
    assert poses[1, 0] == pytest.approx(0.0073333333333, abs=1e-12)
    for k in range(10):
        assert poses[k, 0] == pytest.approx(0.5 * 3.3 * (k / 15.0) ** 2, abs=1e-12)
    # from k = 10 at 2 m/s: 2/15 m per step
    assert poses[12, 0] - poses[11, 0] == pytest.approx(2.0 / 15.0, abs=1e-12)


def test_v4_ramp_down():
    p = pose(v=2.0)
    poses = drive(p, 0.0, 0.1, V4, 10)
    for k in range(11):
        # -0.22 m/s per step down to the command 0.1: max(0.1, 2 - 0.22 k)
        assert poses[k, 3] == pytest.approx(max(0.1, 2.0 - 0.22 * k), abs=1e-12)


def test_zero_speed_command_holds_the_car():
    # "0 holds the car": at rest with speed 0 the car does not move, whatever the steering
    p = pose(1.5, 2.5, 0.4)
    advance_car(p, 0.3, 0.0, V5)
    assert (p[0], p[1], p[2], p[3]) == (1.5, 2.5, 0.4, 0.0)
    assert p[4] == pytest.approx(0.3, abs=1e-15)  # steering applied at once (steer_tau 0)


# --- turning --------------------------------------------------------------------------------

@pytest.mark.parametrize("dyn", [V5, V4], ids=["v5", "v4"])
@pytest.mark.parametrize("delta_deg", [20.0, -30.0, 7.5])
def test_rear_axle_on_circle(dyn, delta_deg):
    delta = math.radians(delta_deg)
    p = pose(2.0, 1.0, 0.3, 0.0, delta)
    poses = drive(p, delta, 1.5, dyn, 120)
    rear = rear_axle(poses)
    # signed radius R = WHEELBASE / tan(delta); the centre lies R to the left of the heading
    r = WHEELBASE / math.tan(delta)
    yaw0 = poses[0, 2]
    centre = rear[0] + r * np.array([-math.sin(yaw0), math.cos(yaw0)])
    dist = np.hypot(rear[:, 0] - centre[0], rear[:, 1] - centre[1])
    np.testing.assert_allclose(dist, abs(r), rtol=0, atol=1e-9)
    # the car has gone round more than once (the check is not on a tiny arc)
    assert np.sum(np.abs(np.diff(np.unwrap(poses[:, 2])))) > 2 * math.pi
    # the origin is 0.081663 m ahead of the rear axle, tangent to the circle:
    # radius sqrt(R^2 + 0.081663^2)
    dist_origin = np.hypot(poses[:, 0] - centre[0], poses[:, 1] - centre[1])
    np.testing.assert_allclose(dist_origin, math.sqrt(r * r + 0.081663**2), rtol=0, atol=1e-9)


def test_turning_radius_hand_value():
    # 30 degrees: R = 0.163974 / tan(30 deg) = 0.163974 * sqrt(3) = 0.2840113... m
    delta = math.radians(30.0)
    p = pose(0.0, 0.0, 0.0, 0.0, delta)
    poses = drive(p, delta, 1.0, V5, 60)
    rear = rear_axle(poses)
    centre = rear[0] + np.array([0.0, 0.163974 * math.sqrt(3.0)])  # yaw 0: centre straight left
    dist = np.hypot(rear[:, 0] - centre[0], rear[:, 1] - centre[1])
    np.testing.assert_allclose(dist, 0.163974 * math.sqrt(3.0), rtol=0, atol=1e-9)


@pytest.mark.parametrize("delta_deg, v", [(20.0, 1.0), (-10.0, 3.0), (30.0, 0.5)])
def test_yaw_rate(delta_deg, v):
    delta = math.radians(delta_deg)
    p = pose(0.0, 0.0, 0.0, 0.0, delta)
    drive(p, delta, v, V5, 60)  # speed converged
    poses = drive(p, delta, v, V5, 5)
    dyaw = np.diff(np.unwrap(poses[:, 2]))
    # yaw rate v tan(delta) / WHEELBASE per second, 1/15 of it per step
    expected = v * math.tan(delta) / 0.163974 / 15.0
    np.testing.assert_allclose(dyaw, expected, rtol=1e-9, atol=0)
    # and the speed is the command
    assert p[3] == pytest.approx(v, rel=1e-12)


# --- commands ---------------------------------------------------------------------------------

def test_clip_command():
    # steering clipped to +-30 degrees and returned in radians; speed to [0.1, 4] m/s
    assert clip_command(45.0, 1.0) == pytest.approx((math.pi / 6.0, 1.0), abs=1e-15)
    assert clip_command(-45.0, 1.0) == pytest.approx((-math.pi / 6.0, 1.0), abs=1e-15)
    assert clip_command(0.0, 5.0) == pytest.approx((0.0, 4.0), abs=1e-15)
    assert clip_command(0.0, 0.05) == pytest.approx((0.0, 0.1), abs=1e-15)
    assert clip_command(0.0, 0.0) == pytest.approx((0.0, 0.1), abs=1e-15)
    # in range: unchanged (10 degrees = pi / 18 rad)
    assert clip_command(10.0, 2.5) == pytest.approx((math.pi / 18.0, 2.5), abs=1e-15)
    assert clip_command(30.0, 4.0) == pytest.approx((math.pi / 6.0, 4.0), abs=1e-15)
    assert clip_command(-30.0, 0.1) == pytest.approx((-math.pi / 6.0, 0.1), abs=1e-15)


@pytest.mark.parametrize("raw, clipped", [
    ((45.0, 5.0), (30.0, 4.0)),
    ((-45.0, 0.05), (-30.0, 0.1)),
    ((-90.0, 100.0), (-30.0, 4.0)),
])
def test_driving_clipped_command_equals_clipped_value(raw, clipped):
    # two cars on the same track and start: one commanded out of range, one at the limits
    track = load_track("dr_sim_default")
    cfg = make_config(0.05, False, False, 1000, 0.0)
    s = Simulator(track, 2, V5, cfg, np.array([0.25, 0.25]))
    steer = np.array([raw[0], clipped[0]])
    speed = np.array([raw[1], clipped[1]])
    for _ in range(8):
        s.step(steer, speed, False)
    # bitwise identical poses (x, y, yaw, speed, steering)
    assert np.array_equal(s.s[0, :5], s.s[1, :5])
    # the car moved (the check is not on a held car)
    assert s.s[0, 3] > 0.0
    # the record reports the commanded (unclipped) values (spec §1.3)
    assert s.rec[0, layout.R_STEER] == raw[0]
    assert s.rec[0, layout.R_SPEED] == raw[1]
    assert s.rec[1, layout.R_STEER] == clipped[0]


def test_determinism():
    rng = np.random.default_rng(3)
    cmds = [(rng.uniform(-0.5, 0.5), rng.uniform(0.1, 4.0)) for _ in range(200)]
    runs = []
    for _ in range(2):
        p = pose(0.3, -0.2, 1.0)
        out = []
        for st_, sp in cmds:
            advance_car(p, st_, sp, V5)
            out.append(p.copy())
        runs.append(np.array(out))
    assert np.array_equal(runs[0], runs[1])


def test_yaw_stays_in_range_while_circling():
    p = pose(0.0, 0.0, 3.0)
    poses = drive(p, math.radians(25.0), 2.0, V5, 300)
    assert np.all(poses[:, 2] > -math.pi)
    assert np.all(poses[:, 2] <= math.pi)
    # it did go round several times
    assert np.sum(np.diff(np.unwrap(poses[:, 2]))) > 6 * math.pi


def test_yaw_pi_is_kept_as_pi():
    p = pose(0.0, 0.0, math.pi, 1.0)
    advance_car(p, 0.0, 1.0, V5)
    assert p[2] == pytest.approx(math.pi, abs=1e-15)
    assert p[2] > 0.0


@settings(max_examples=200, deadline=None)
@given(
    yaw=st.floats(-math.pi, math.pi),
    v=st.floats(0.0, 4.0),
    steer=st.floats(-math.pi / 6, math.pi / 6),
    speed=st.floats(0.1, 4.0),
    v4=st.booleans(),
)
def test_yaw_range_and_rear_circle_property(yaw, v, steer, speed, v4):
    dyn = V4 if v4 else V5
    p = pose(1.0, 2.0, yaw, v, steer)
    before = p.copy()
    advance_car(p, steer, speed, dyn)
    assert -math.pi < p[2] <= math.pi
    rb = rear_axle(before[None])[0]
    ra = rear_axle(p[None])[0]
    if abs(math.tan(steer)) > 1e-3:
        r = WHEELBASE / math.tan(steer)
        centre = rb + r * np.array([-math.sin(yaw), math.cos(yaw)])
        assert math.hypot(*(ra - centre)) == pytest.approx(abs(r), abs=1e-9)
    else:
        # (nearly) straight: the rear axle moves at most max(v, command) * 1/15 s (the arc
        # formula (sin(yaw + dyaw) - sin(yaw)) / k loses ~1e-16 / k m at tiny curvature k)
        assert math.hypot(*(ra - rb)) <= max(v, speed) * DT + 1e-9


def test_custom_speed_lag():
    # tau = 0.1 s: one step of 1/15 s multiplies the gap by exp(-(1/15) / 0.1) = exp(-2/3)
    d = Dynamics(speed_tau=0.1, max_accel=math.inf).as_array()
    p = pose()
    advance_car(p, 0.0, 3.0, d)
    assert p[3] == pytest.approx(3.0 * (1.0 - math.exp(-2.0 / 3.0)), rel=1e-12)


def test_custom_steering_lag():
    # steer_tau = 1/15 s: the steering covers 1 - exp(-1) of the way in one step
    d = Dynamics(speed_tau=0.0, max_accel=math.inf, steer_tau=1.0 / 15.0).as_array()
    p = pose(v=1.0)
    advance_car(p, 0.4, 1.0, d)
    assert p[4] == pytest.approx(0.4 * (1.0 - math.exp(-1.0)), rel=1e-12)
    # with no steering lag (the v4/v5 cars) the steering is applied at once
    q = pose(v=1.0)
    advance_car(q, 0.4, 1.0, V5)
    assert q[4] == pytest.approx(0.4, abs=1e-15)


def test_custom_yaw_gain_doubles_radius():
    # yaw_gain 0.5 halves the curvature: rear-axle radius 2 * WHEELBASE / tan(delta)
    d = Dynamics(speed_tau=0.0, max_accel=math.inf, yaw_gain=0.5).as_array()
    delta = math.radians(20.0)
    poses = drive(pose(0.0, 0.0, 0.0, 0.0, delta), delta, 1.0, d, 40)
    rear = rear_axle(poses)
    r = 2.0 * 0.163974 / math.tan(delta)
    centre = rear[0] + np.array([0.0, r])
    np.testing.assert_allclose(np.hypot(*(rear - centre).T), r, rtol=0, atol=1e-9)
    # yaw per step at 1 m/s: 0.5 * tan(20 deg) / 0.163974 / 15
    dyaw = np.diff(np.unwrap(poses[:, 2]))
    np.testing.assert_allclose(dyaw, 0.5 * math.tan(delta) / 0.163974 / 15.0, rtol=1e-9)


def test_speed_gain():
    # speed_gain 1.5, instant: a 2 m/s command drives at 3 m/s, 3 / 15 = 0.2 m per step
    d = Dynamics(speed_tau=0.0, max_accel=math.inf, speed_gain=1.5).as_array()
    p = pose()
    advance_car(p, 0.0, 2.0, d)
    assert p[3] == pytest.approx(3.0, rel=1e-12)
    assert p[0] == pytest.approx(0.2, rel=1e-12)
    assert p[1] == 0.0


def test_steering_offset_turns_with_zero_command():
    # steer_offset 0.1 rad: a zero command steers 0.1 rad, the rear axle runs on a circle of
    # radius 0.163974 / tan(0.1) = 1.63426 m (centre to the left of the heading)
    d = Dynamics(speed_tau=0.0, max_accel=math.inf, steer_offset=0.1).as_array()
    poses = drive(pose(), 0.0, 1.0, d, 30)
    assert poses[-1, 4] == pytest.approx(0.1, abs=1e-15)
    rear = rear_axle(poses)
    r = 0.163974 / math.tan(0.1)
    centre = rear[0] + np.array([0.0, r])
    np.testing.assert_allclose(np.hypot(*(rear - centre).T), r, rtol=0, atol=1e-9)
    assert poses[-1, 2] > 0.0  # turned left


def test_lateral_acceleration_cap():
    # max_lat_accel a = 2 m/s^2 at a steady 2 m/s, steering 20 deg: the kinematic curvature
    # k0 = tan(20 deg) / 0.163974 = 0.36397 / 0.163974 = 2.21968 1/m (lateral acceleration
    # 4 * 2.21968 = 8.88 m/s^2) is capped to k = k0 / sqrt(1 + (k0 v^2 / a)^2)
    # = 2.21968 / sqrt(1 + 4.43937^2) = 2.21968 / 4.55060 = 0.487778 1/m (a / v^2 = 0.5 at most)
    a, v, delta = 2.0, 2.0, math.radians(20.0)
    d = Dynamics(speed_tau=0.0, max_accel=math.inf, max_lat_accel=a).as_array()
    poses = drive(pose(0.0, 0.0, 0.0, v, delta), delta, v, d, 20)
    k0 = math.tan(delta) / 0.163974
    k = k0 / math.sqrt(1.0 + (k0 * v**2 / a) ** 2)
    assert k == pytest.approx(0.487778, abs=1e-6)
    # yaw per step = k * v / 15; the rear axle on a circle of radius 1 / k
    np.testing.assert_allclose(np.diff(np.unwrap(poses[:, 2])), k * v / 15.0, rtol=1e-9)
    rear = rear_axle(poses)
    centre = rear[0] + np.array([0.0, 1.0 / k])
    np.testing.assert_allclose(np.hypot(*(rear - centre).T), 1.0 / k, rtol=0, atol=1e-9)
    # at low speed the cap hardly acts: 0.2 m/s: x = k0 * 0.04 / 2 = 0.044394,
    # 1 / sqrt(1 + x^2) = 0.999016
    slow = drive(pose(0.0, 0.0, 0.0, 0.2, delta), delta, 0.2, d, 1)
    assert slow[1, 2] == pytest.approx(k0 * 0.999016 * 0.2 / 15.0, rel=1e-6)


def test_steering_lag_uses_the_mean_steering_of_the_step():
    # steer_tau = 1/15 s, from 0 towards 0.3 rad at a steady 1 m/s: the steering
    # 0.3 (1 - exp(-t / tau)) averages 0.3 (1 - (1 - exp(-1))) = 0.3 exp(-1) = 0.110364 rad over
    # the step; yaw change = tan(0.110364) / 0.163974 / 15 = 0.110814 / 0.163974 / 15
    # = 0.675803 / 15 = 0.0450535 rad
    d = Dynamics(speed_tau=0.0, max_accel=math.inf, steer_tau=1.0 / 15.0).as_array()
    p = pose(v=1.0)
    advance_car(p, 0.3, 1.0, d)
    mean = 0.3 * math.exp(-1.0)
    assert p[2] == pytest.approx(math.tan(mean) / 0.163974 / 15.0, rel=1e-12)
    assert p[2] == pytest.approx(0.0450535, abs=1e-7)
    assert p[4] == pytest.approx(0.3 * (1.0 - math.exp(-1.0)), rel=1e-12)


def test_advance_car_dt():
    # dt = 0.1 s, instant car at 2 m/s straight: 0.2 m; dt = 1/15 s is advance_car bitwise
    d = KINEMATIC.as_array()
    p = pose(1.0, 1.0, 0.0)
    advance_car_dt(p, 0.0, 2.0, d, 0.1)
    assert p[0] == pytest.approx(1.2, abs=1e-15)
    for dyn in (DYNAMICS_V4, DYNAMICS_V5, KINEMATIC_V4):
        a = pose(0.5, -0.5, 1.0, 1.2, 0.1)
        b = a.copy()
        for k in range(20):
            advance_car(a, 0.3 * math.sin(k), 1.0 + k / 10.0, dyn.as_array())
            advance_car_dt(b, 0.3 * math.sin(k), 1.0 + k / 10.0, dyn.as_array(), 1.0 / 15.0)
        assert np.array_equal(a, b)


@settings(max_examples=200, deadline=None)
@given(
    yaw=st.floats(-math.pi, math.pi),
    v=st.floats(0.0, 4.0),
    delta=st.floats(-0.6, 0.6),
    steer=st.floats(-math.pi / 6, math.pi / 6),
    speed=st.floats(0.1, 4.0),
    v4=st.booleans(),
)
def test_calibrated_step_property(yaw, v, delta, steer, speed, v4):
    dyn = DYNAMICS_V4 if v4 else DYNAMICS_V5
    p = pose(1.0, 2.0, yaw, v, delta)
    advance_car(p, steer, speed, dyn.as_array())
    assert -math.pi < p[2] <= math.pi
    # the speed moves monotonically towards speed_gain * command, never past it
    u = speed * dyn.speed_gain
    assert min(v, u) - 1e-12 <= p[3] <= max(v, u) + 1e-12
    # the steering moves towards command + offset, covering 1 - exp(-dt / steer_tau) of the gap
    target = steer + dyn.steer_offset
    assert p[4] - target == pytest.approx((delta - target) * math.exp(-DT / dyn.steer_tau),
                                          abs=1e-12)
    # the origin moves at most max(v, u) / 15 (plus the rotation of the rear-axle offset)
    assert math.hypot(p[0] - 1.0, p[1] - 2.0) <= max(v, u) * DT + 2 * 0.081663 * abs(
        math.sin((p[2] - yaw) / 2)) + 1e-9


def test_simulator_uses_every_dynamics_parameter():
    # the step kernel drives with the whole Dynamics array (all 7 values): its poses equal
    # advance_car's
    # (after the PREPARE step, which holds the car) with the clipped commands
    track = load_track("dr_sim_default")
    cfg = make_config(0.05, False, False, 1000, 0.0)
    for dyn in (DYNAMICS_V4, DYNAMICS_V5, Dynamics(0.1, 2.0, 0.2, 0.7, 1.2, 0.05, 3.0)):
        s = Simulator(track, 1, dyn.as_array(), cfg, np.array([0.0]))
        p = s.s[0, :5].copy()
        cmds = [(5.0, 1.0)] + [(25.0 * math.sin(k / 3.0), 1.0 + 0.2 * (k % 5)) for k in range(12)]
        for k, (st_deg, sp) in enumerate(cmds):
            s.step(np.array([st_deg]), np.array([sp]), False)
            if k > 0:  # the first step is PREPARE
                advance_car(p, math.radians(st_deg), sp, dyn.as_array())
        # (equal up to rounding: the kernel is compiled inline, with its own instruction order)
        np.testing.assert_allclose(s.s[0, :5], p, rtol=0, atol=1e-12)
        assert p[3] > 0.5  # it drove


# --- env level ------------------------------------------------------------------------------

def test_env_first_step_of_calibrated_cars(monkeypatch):
    # dr_sim_default starts at (0, -3.4) heading 0; straight at 2 m/s from rest. The params of
    # step 3 show the first driven step (step 1 PREPARE holds the car, step 2's action acts
    # after its params).
    space = ActionSpace(np.array([[0.0, 2.0]]))
    # v6 car: u = 2 speed_gain approached with lag tau; distance of the first step
    # u dt - u tau (1 - exp(-dt / tau)); no steering offset: straight
    dyn = DYNAMICS_V5
    env = DeepRacerEnv("dr_sim_default", action_space=space, version=6, training=False)
    env.reset(seed=0)
    xs = [env.step(0)[4]["params"] for _ in range(3)]
    u, tau = 2.0 * dyn.speed_gain, dyn.speed_tau
    dist = u * DT - u * tau * (1.0 - math.exp(-DT / tau))
    assert xs[2]["x"] - xs[1]["x"] == pytest.approx(dist, abs=1e-12)
    assert xs[2]["y"] == pytest.approx(-3.4, abs=1e-12)
    # v4 car: the gap 2 speed_gain exceeds max_accel * speed_tau, so the first step is a ramp at
    # max_accel: 0.5 * a * (1/15)^2 = 7.6 mm. The steering lags towards the offset (0.8 deg)
    # and averages under 0.1 deg over the step: yaw change < 0.78 * tan(0.1 deg) / 0.164 * 0.0076
    # = 1.1e-4 rad, so the reference point (0.22 m ahead of the rear axle) moves sideways
    # < 2.5e-5 m and along by 7.6 mm * (1 - cos) ~ 1e-10 m less
    dyn = DYNAMICS_V4
    assert 2.0 * dyn.speed_gain - dyn.max_accel * dyn.speed_tau > dyn.max_accel * DT
    env = DeepRacerEnv("dr_sim_default", action_space=space, version=4, training=False)
    env.reset(seed=0)
    xs = [env.step(0)[4]["params"] for _ in range(3)]
    assert xs[2]["x"] - xs[1]["x"] == pytest.approx(0.5 * dyn.max_accel * DT**2, abs=1e-6)
    assert xs[2]["y"] == pytest.approx(-3.4, abs=2.5e-5)
    assert xs[2]["y"] > -3.4  # to the left (+y at heading 0)


def test_env_straight_action_moves_reference_point(monkeypatch):
    # the plain version-4 car (KINEMATIC_V4: ramp at 3.3 m/s^2, no steering lag) in the env
    monkeypatch.setattr(env_module, "dynamics_for_version", lambda version: KINEMATIC_V4)
    # dr_sim_default starts at waypoint 0 (0, -3.4) facing waypoint 1 (0.200519, -3.4): heading 0
    space = ActionSpace(np.array([[0.0, 1.0], [0.0, 2.0]]))
    env = DeepRacerEnv("dr_sim_default", action_space=space, version=4, training=False)
    env.reset(seed=0)
    infos = []
    for _ in range(5):
        _, _, terminated, truncated, info = env.step(1)  # straight, 2 m/s
        assert not terminated and not truncated
        infos.append(info)
    xs = [i["params"]["x"] for i in infos]
    ys = [i["params"]["y"] for i in infos]
    assert infos[0]["episode_status"] == "prepare"
    assert infos[0]["reward_called"] is False
    assert [i["steps"] for i in infos] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(i["episode_status"] == "in_progress" for i in infos[1:])
    # the reference point is the origin + 0.14 m forward: (0.14, -3.4)
    assert xs[0] == pytest.approx(REFERENCE_POINT_X, abs=1e-12)
    assert ys[0] == pytest.approx(-3.4, abs=1e-12)
    assert infos[0]["params"]["heading"] == pytest.approx(0.0, abs=1e-12)
    # params are the pose before the action: step 2 still shows the held start pose
    assert (xs[1], ys[1]) == (xs[0], ys[0])
    # the motion of step k shows in the params of step k + 1; v4 car from rest at 3.3 m/s^2:
    # 0.5 * 3.3 * ((k/15)^2 - ((k-1)/15)^2) = 7.333 mm, 22.0 mm, 36.667 mm
    dx = np.diff(xs)
    assert dx[0] == 0.0
    np.testing.assert_allclose(dx[1:], [0.5 * 3.3 / 225 * 1, 0.5 * 3.3 / 225 * 3,
                                        0.5 * 3.3 / 225 * 5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ys, -3.4, rtol=0, atol=1e-12)
    # progress follows: 100 * x / track length (start at waypoint 0, straight along +x)
    length = env.track.length
    for i in infos:
        assert i["params"]["progress"] == pytest.approx(100.0 * i["params"]["x"] / length,
                                                        abs=1e-9)
