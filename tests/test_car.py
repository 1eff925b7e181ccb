"""Hand-worked tests of the car model (``deepracer_sim.car``) and its use by the env.

Model (spec §3.1/§3.2, ``car.py``'s docstring): a kinematic bicycle whose rear axle (0.081663 m
behind the car origin) runs on a circle of radius WHEELBASE / tan(steering); one step is 1/15 s
in 4 sub-steps of 1/60 s. Speed response:

* DYNAMICS_V5: first-order lag with tau = one step (1/15 s): each sub-step multiplies the gap to
  the command by exp(-(1/60) / (1/15)) = exp(-1/4), so one step multiplies it by exp(-1);
* DYNAMICS_V4: no lag, but the speed changes by at most 3.3 m/s^2 * 1/60 s = 0.055 m/s per
  sub-step, i.e. 3.3 / 15 = 0.22 m/s per step.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepracer_sim import sim
from deepracer_sim.action_space import ActionSpace
from deepracer_sim.car import (
    DYNAMICS_V4,
    DYNAMICS_V5,
    Dynamics,
    advance_car,
    clip_command,
    dynamics_for_version,
)
from deepracer_sim.constants import REAR_AXLE_X, REFERENCE_POINT_X, WHEELBASE
from deepracer_sim.env import DeepRacerEnv
from deepracer_sim.track import load_track

# the order of the kernel's dynamics array is an implementation detail: only build it here
V5 = DYNAMICS_V5.as_array()
V4 = DYNAMICS_V4.as_array()
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
    # v5: lag tau = one step, no acceleration limit; v4: no lag, 3.3 m/s^2 (spec §3.2)
    assert DYNAMICS_V5.speed_tau == pytest.approx(1.0 / 15.0, abs=1e-15)
    assert DYNAMICS_V5.max_accel == math.inf
    assert DYNAMICS_V4.speed_tau == 0.0
    assert DYNAMICS_V4.max_accel == 3.3


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
    cfg = sim.make_config(0.05, False, False, 1000, 0.0)
    s = sim.Simulator(track, 2, V5, cfg, np.array([0.25, 0.25]))
    steer = np.array([raw[0], clipped[0]])
    speed = np.array([raw[1], clipped[1]])
    for _ in range(8):
        s.step(steer, speed, False)
    # bitwise identical poses (x, y, yaw, speed, steering)
    assert np.array_equal(s.s[0, :5], s.s[1, :5])
    # the car moved (the check is not on a held car)
    assert s.s[0, 3] > 0.0
    # the record reports the commanded (unclipped) values (spec §1.3)
    assert s.rec[0, sim.R_STEER] == raw[0]
    assert s.rec[0, sim.R_SPEED] == raw[1]
    assert s.rec[1, sim.R_STEER] == clipped[0]


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


# --- env level ------------------------------------------------------------------------------

def test_env_straight_action_moves_reference_point():
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
