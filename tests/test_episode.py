"""Episode rules of spec §2 as implemented by ``DeepRacerEnv`` and the kernel ``kernel.step_cars``.

Expected numbers are worked out by hand (arithmetic in the comments), taken from the real
DeepRacer sim-traces in ``shared/real-logs`` or computed with shapely (the simapp's geometry
library, spec §1.2).
"""

from __future__ import annotations

import csv
import itertools
import math
import warnings
from dataclasses import replace
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon

import deepracer_sim  # noqa: F401  (registers DeepRacer-v0)
from deepracer_sim.constants import REFERENCE_POINT_X, STEP_DT, WHEEL_POSITIONS
from deepracer_sim.envs import setup as env_module
from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.sim import layout
from deepracer_sim.sim.car import CAR_V6, CarParams
from deepracer_sim.sim.simulator import Simulator, make_config
from deepracer_sim.track import load_track

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

CONTINUOUS = {
    "action_space_type": "continuous",
    "action_space": {"steering_angle": {"low": -30, "high": 30},
                     "speed": {"low": 0.5, "high": 1.0}},
}
# two discrete actions: 0 = straight at 1 m/s, 1 = 30 degrees left at 1 m/s
STRAIGHT_OR_LEFT = {"action_space": [{"steering_angle": 0.0, "speed": 1.0},
                                     {"steering_angle": 30.0, "speed": 1.0}]}
# 0 = 15 degrees left at 2 m/s (a wide circle that leaves the road), 1 = straight
WIDE_LEFT = {"action_space": [{"steering_angle": 15.0, "speed": 2.0},
                              {"steering_angle": 0.0, "speed": 1.0}]}
BUILTIN_REWARDS = {1.0, 0.5, 0.1, 1e-3}


class Recorder:
    """A reward function that remembers (a copy of) every params dict it is called with."""

    def __init__(self, value: float = 1.0) -> None:
        self.calls: list[dict] = []
        self.value = value

    def __call__(self, params: dict) -> float:
        self.calls.append({k: (list(v) if isinstance(v, list) else v)
                           for k, v in params.items()})
        return self.value


def pure_reward(params: dict) -> float:
    """Depends on the pose only (not on the commanded action)."""
    return 1.0 + params["distance_from_center"] + 0.01 * params["progress"]


@pytest.fixture(scope="module")
def default_track():
    return load_track("dr_sim_default")


@pytest.fixture(scope="module")
def reinvent():
    path = SHARED / "tracks" / "reinvent_base.npy"
    if not path.is_file():
        pytest.skip(f"{path} missing (shared data not available)")
    return load_track(path)


def shapely_lines(track, reversed_direction=False):
    w = np.asarray(track.waypoints)
    if reversed_direction:
        w = w[::-1]
    return LineString(w[:, 0:2]), Polygon(w[:, 4:6], [w[:, 2:4]])


def origin_of(params):
    """Car origin from the params reference point (0.14 m ahead along the heading)."""
    h = math.radians(params["heading"])
    return (params["x"] - REFERENCE_POINT_X * math.cos(h),
            params["y"] - REFERENCE_POINT_X * math.sin(h), h)


def wheels_on_road(params, road: Polygon) -> int:
    x, y, h = origin_of(params)
    c, s = math.cos(h), math.sin(h)
    return sum(road.contains(Point(x + c * wx - s * wy, y + s * wx + c * wy))
               for wx, wy in WHEEL_POSITIONS)


def circ_diff(a, b, length):
    d = abs(a - b) % length
    return min(d, length - d)


def run_episode(env, policy, limit=5000):
    """Step until the episode ends; returns the list of (obs, reward, term, trunc, info)."""
    out = []
    action = policy(None)
    for _ in range(limit):
        step = env.step(action)
        out.append(step)
        if step[2] or step[3]:
            return out
        action = policy(step[4]["params"])
    raise AssertionError("episode did not end")


def index_of(env, steer, speed):
    acts = env.deepracer_action_space.actions
    (idx,) = np.nonzero((acts[:, 0] == steer) & (acts[:, 1] == speed))[0]
    return int(idx)


# --------------------------------------------------------------------------- PREPARE step


def test_prepare_step_holds_car_and_skips_reward(default_track):
    rec = Recorder()
    env = DeepRacerEnv(default_track, reward_function=rec, training=False)
    _, info0 = env.reset(seed=0)
    assert info0["episode_status"] == "prepare"
    # a hard-left fast action on the PREPARE step must be ignored
    left = index_of(env, 30.0, 1.0)
    _, r1, te1, tr1, info1 = env.step(left)
    assert r1 == 0.0 and type(r1) is float
    assert not te1 and not tr1
    assert info1["reward_called"] is False
    assert info1["episode_status"] == "prepare"
    assert info1["steps"] == 1.0
    assert info1["params"]["steps"] == 1.0
    assert rec.calls == []
    _, r2, _, _, info2 = env.step(left)
    assert len(rec.calls) == 1
    assert info2["reward_called"] is True
    assert info2["episode_status"] == "in_progress"
    assert r2 == 1.0
    first = rec.calls[0]
    assert first["steps"] == 2.0 and isinstance(first["steps"], float)
    # the car did not move during the PREPARE step
    assert (info2["params"]["x"], info2["params"]["y"]) == (info1["params"]["x"],
                                                            info1["params"]["y"])
    assert info2["params"]["heading"] == info1["params"]["heading"]


def test_first_reward_call_sees_start_pose_dr_sim_default(default_track):
    rec = Recorder()
    env = DeepRacerEnv(default_track, reward_function=rec, training=False)
    env.reset()
    env.step(0)
    env.step(0)
    p = rec.calls[0]
    w = default_track.waypoints
    # start at waypoint 0 = (0, -3.4), heading at waypoint 1 = (0.2009.., -3.4): atan2(0, +) = 0
    heading = math.degrees(math.atan2(w[1, 1] - w[0, 1], w[1, 0] - w[0, 0]))
    assert heading == 0.0
    assert p["heading"] == pytest.approx(heading, abs=1e-9)
    # reference point 0.14 m ahead of the origin: (0.14, -3.4)
    assert p["x"] == pytest.approx(w[0, 0] + 0.14, abs=1e-9)
    assert p["y"] == pytest.approx(w[0, 1], abs=1e-9)
    # |wp1 - wp0| = 0.2 m > 0.14 m, so the reference point projects 0.14 m along the line
    assert p["progress"] == pytest.approx(0.14 / default_track.length * 100.0, abs=1e-9)
    assert p["projection_distance"] == pytest.approx(0.14, abs=1e-9)
    assert p["closest_waypoints"] == [0, 1]
    assert p["is_reversed"] is False


@pytest.mark.parametrize("start", [0.25, 0.5, 0.73, 0.9])
def test_start_pose_at_other_start_positions(default_track, start):
    """Origin on the centre line at start*L, yaw at the next waypoint (spec §2.2)."""
    rec = Recorder()
    env = DeepRacerEnv(default_track, reward_function=rec, training=False,
                       start_position=start)
    env.reset()
    env.step(0)
    env.step(0)
    p = rec.calls[0]
    centre, _ = shapely_lines(default_track)
    L = centre.length
    origin = centre.interpolate(start * L)
    # next waypoint: bisect_right on the waypoints' normalised distances
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(default_track.waypoints[:, :2],
                                                              axis=0).T))])
    nxt = int(np.searchsorted(cum / L, start, side="right"))
    wx, wy = default_track.waypoints[nxt, 0:2]
    yaw = math.atan2(wy - origin.y, wx - origin.x)
    assert p["heading"] == pytest.approx(math.degrees(yaw), abs=1e-7)
    rx = origin.x + 0.14 * math.cos(yaw)
    ry = origin.y + 0.14 * math.sin(yaw)
    assert p["x"] == pytest.approx(rx, abs=1e-7)
    assert p["y"] == pytest.approx(ry, abs=1e-7)
    expected = 100.0 * (centre.project(Point(rx, ry)) / L - start)
    assert p["progress"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.shared_data
def test_first_reward_call_matches_real_log_reinvent_base(reinvent):
    """The real evaluation sim-trace on reinvent_base: step 2.0 (first reward call) at the start
    line has X, Y, yaw, progress = the values below (row copied from the log, read in place)."""
    log = (SHARED / "real-logs" / "sample-drfc-3-logs" / "evaluation-20220709201704"
           / "evaluation-simtrace" / "0-iteration.csv")
    if not log.is_file():
        pytest.skip(f"{log} missing")
    with log.open() as f:
        rows = [r for r in csv.DictReader(f) if r["steps"] == "2.0"]
    assert rows
    real = rows[0]
    rec = Recorder()
    env = DeepRacerEnv(reinvent, reward_function=rec, training=False)
    env.reset()
    env.step(0)
    env.step(0)
    p = rec.calls[0]
    L = reinvent.length
    assert float(real["track_len"]) == pytest.approx(L, abs=1e-9)
    assert p["x"] == pytest.approx(float(real["X"]), abs=1e-9)
    assert p["y"] == pytest.approx(float(real["Y"]), abs=1e-9)
    assert p["heading"] == pytest.approx(float(real["yaw"]), abs=1e-9)
    assert p["progress"] == pytest.approx(float(real["progress"]), abs=1e-9)
    # 0.14 / 17.70916 * 100 = 0.79055 %
    assert p["progress"] == pytest.approx(0.14 / L * 100.0, abs=1e-9)
    # heading by hand: atan2 from waypoint 0 to waypoint 1
    w = reinvent.waypoints
    assert p["heading"] == pytest.approx(
        math.degrees(math.atan2(w[1, 1] - w[0, 1], w[1, 0] - w[0, 0])), abs=1e-9)
    # the log's closest_waypoint (nearer of prev/next) is 1: 0.14 m from wp0, 0.0098 m from wp1
    assert p["closest_waypoints"] == [0, int(real["closest_waypoint"])]


def test_reverse_direction_start_faces_reversed_next_waypoint(default_track):
    rec = Recorder()
    env = DeepRacerEnv(default_track, reward_function=rec, training=False,
                       reverse_direction=True)
    env.reset()
    env.step(0)
    env.step(0)
    p = rec.calls[0]
    # reversed centre line starts at the last row (= (0, -3.4)) and goes to row N-2 = (-0.2, -3.4)
    assert p["is_reversed"] is True
    assert p["heading"] == pytest.approx(180.0, abs=1e-9) or p["heading"] == pytest.approx(
        -180.0, abs=1e-9)
    assert p["x"] == pytest.approx(-0.14, abs=1e-9)
    assert p["y"] == pytest.approx(-3.4, abs=1e-9)
    assert p["waypoints"] == [tuple(map(float, r)) for r in default_track.waypoints[::-1, :2]]
    assert p["progress"] == pytest.approx(0.14 / default_track.length * 100.0, abs=1e-9)


# --------------------------------------------------------------------------- pre-action pose


def test_params_are_the_pose_before_the_action(default_track):
    """Step k's params depend on action k-1, not on action k (spec §2.1)."""
    k = 6
    base = [0] * 10
    varied = list(base)
    varied[k - 1] = 1  # step k (1-based) turns left instead
    envs = []
    infos = []
    for actions in (base, varied):
        env = DeepRacerEnv(default_track, reward_function=pure_reward,
                           action_space=STRAIGHT_OR_LEFT, training=False)
        env.reset()
        infos.append([env.step(a) for a in actions])
        envs.append(env)
    a, b = infos
    for j in range(k):  # steps 1..k: identical pose and reward
        pa, pb = a[j][4]["params"], b[j][4]["params"]
        for key in ("x", "y", "heading", "progress", "distance_from_center"):
            assert pa[key] == pb[key], (j + 1, key)
        assert a[j][1] == b[j][1]
    # the commanded steering of step k is reported, but the pose is still the old one
    assert a[k - 1][4]["params"]["steering_angle"] == 0.0
    assert b[k - 1][4]["params"]["steering_angle"] == 30.0
    # step k+1 shows the effect of action k
    assert a[k][4]["params"]["heading"] != b[k][4]["params"]["heading"]
    # straight on: the URDF toe (both front wheels 0.002-0.007 rad left) turns the v6 car
    # by ~0.3 degrees in 5 steps at 1 m/s; the left action turns it further left
    assert abs(a[k][4]["params"]["heading"]) < 0.5
    assert b[k][4]["params"]["heading"] > a[k][4]["params"]["heading"] + 0.5


def test_traction_limited_ramp_positions_by_hand(default_track, monkeypatch):
    """A car whose tyres saturate within 1 mm/s of slip (``slip_x`` 0.001 m/s, ``mu_x`` =
    3.3 / 9.8, 10 sub-steps of h = 1/150 s) from rest at 1 m/s straight: every wheel slides at
    full traction, a = 3.3 m/s^2, so after N sub-steps u = N h a and the origin has moved
    h^2 a N (N + 1) / 2 (semi-implicit Euler) while u < the rim speed 1 * 0.036 / 0.035 =
    1.0286 m/s (n <= 4 steps); params of step k show n = k - 2 driving steps (step 1 PREPARE,
    action k acts after step k's params)."""
    car = CarParams(mu_x=3.3 / 9.8, mu_y=0.35, slip_x=0.001, slip_y=1.0, wheel_radius=0.036,
                    steer_tau=0.0, substeps=10.0)
    monkeypatch.setattr(env_module, "car_params", lambda physics: car)
    rec = Recorder()
    env = DeepRacerEnv(default_track, reward_function=rec, action_space=STRAIGHT_OR_LEFT,
                       physics="v4", training=False)
    env.reset()
    for _ in range(7):
        env.step(0)
    xs = [p["x"] for p in rec.calls]  # steps 2..7
    # n = 0: 0.14; n = 1 (N = 10): 0.14 + 3.3 / 22500 * 55 = 0.14 + 0.0080667; n = 2: + 0.0308;
    # n = 3: + 0.0680667; n = 4: + 0.1202667 (u = 0.88 m/s after 4 steps, still < 1.0286)
    h = 1.0 / 150.0
    expected = [0.14 + h * h * 3.3 * (10 * n) * (10 * n + 1) / 2 for n in range(5)]
    assert expected[1] == pytest.approx(0.14 + 0.0080667, abs=1e-7)
    assert xs[:5] == pytest.approx(expected, rel=1e-4, abs=1e-9)
    # the front wheels' toe (0.002-0.007 rad left) pulls the car a millimetre to the left
    assert [p["y"] for p in rec.calls] == pytest.approx([-3.4] * 6, abs=2e-3)
    # n = 5: the ramp reaches the rim speed at t = 1.0286 / 3.3 = 0.3117 s, inside the 5th step
    # (0.2667..0.3333 s), then holds it: x = 0.5 * 3.3 * (t1^2 + h t1) + 1.0286 * (1/3 - t1)
    # (the sub-steps' h t1 term: 3.4 mm), within a sub-step's travel
    t1 = (1.0 / 0.035 * 0.036) / 3.3
    assert xs[5] == pytest.approx(0.14 + 0.5 * 3.3 * (t1**2 + h * t1) + 1.0286 * (5 / 15 - t1),
                                  abs=1e-3)


# --------------------------------------------------------------------------- off track


def test_off_track_detected_on_pre_action_pose(default_track):
    rec = Recorder()
    env = DeepRacerEnv(default_track, reward_function=rec, action_space=WIDE_LEFT,
                       training=False)
    env.reset()
    steps = run_episode(env, lambda p: 0)
    _, road = shapely_lines(default_track)
    _, r, term, trunc, info = steps[-1]
    p = info["params"]
    assert info["episode_status"] == "off_track"
    assert term and not trunc
    assert p["is_offtrack"] is True and p["all_wheels_on_track"] is False
    # the reward function is called on the terminal step, with is_offtrack True
    assert info["reward_called"] is True
    assert rec.calls[-1]["is_offtrack"] is True
    assert len(rec.calls) == len(steps) - 1  # every RUN step, PREPARE excluded
    assert r == 1.0
    # shapely: all four wheel centres of the pre-action pose are outside the road polygon
    assert wheels_on_road(p, road) == 0
    # the step before: not yet off track, at least one wheel inside
    prev = steps[-2][4]["params"]
    assert prev["is_offtrack"] is False
    assert wheels_on_road(prev, road) >= 1
    # detected one step late: the observation of the previous step was already the off pose,
    # i.e. this step's params equal the pose the previous action produced
    assert steps[-2][4]["episode_status"] == "in_progress"
    assert not steps[-2][2]
    # every earlier step agrees with shapely too
    for _, _, _, _, inf in steps[1:-1]:
        assert inf["params"]["is_offtrack"] is (wheels_on_road(inf["params"], road) == 0)
        assert inf["params"]["all_wheels_on_track"] is (wheels_on_road(inf["params"], road) == 4)


# --------------------------------------------------------------------------- lap complete


def pursuit(params, lookahead=0.5):
    """Pure pursuit on the params waypoints: steer at a centre-line point ~0.5 m ahead."""
    if params is None:
        return np.array([0.0, 1.0], dtype=np.float32)
    wps = params["waypoints"][:-1]
    n = len(wps)
    x, y = params["x"], params["y"]
    i = params["closest_waypoints"][1]
    while math.hypot(wps[i % n][0] - x, wps[i % n][1] - y) < lookahead:
        i += 1
    tx, ty = wps[i % n]
    angle = math.degrees(math.atan2(ty - y, tx - x)) - params["heading"]
    angle = (angle + 180.0) % 360.0 - 180.0
    steer = max(-30.0, min(30.0, angle))
    # steering [-30, 30] -> [-1, 1]; speed 1.0 = high -> +1
    return np.array([steer / 30.0, 1.0], dtype=np.float32)


def test_lap_complete(default_track):
    env = DeepRacerEnv(default_track, reward_function=pure_reward, action_space=CONTINUOUS,
                       training=False)
    env.reset()
    steps = run_episode(env, pursuit)
    _, _, term, trunc, info = steps[-1]
    assert info["episode_status"] == "lap_complete"
    assert term and not trunc
    assert info["progress"] == 100.0
    assert info["params"]["progress"] == 100.0
    assert info["steps"] == float(len(steps))
    assert info["lap_time"] == pytest.approx((info["steps"] - 1.0) / 15.0, abs=1e-12)
    # all earlier steps were below 100 % and on track
    for _, _, te, tr, inf in steps[:-1]:
        assert inf["progress"] < 100.0 and not te and not tr
        assert inf["episode_status"] in ("prepare", "in_progress")
    # at most 1 m/s, the reference point covers at least the lap minus the corner cutting:
    # the lap takes longer than (L - 0.14) / 1.0 * 0.8 s (a sanity bound, 23.24 m lap)
    assert info["lap_time"] > (default_track.length - 0.14) * 0.8


# --------------------------------------------------------------------------- kernel rules


def refresh(s):
    """Recompute the geometry of car 0 after setting its pose by hand."""
    s.refresh(0)


def make_sim(track, car=CAR_V6, max_steps=100000):
    cfg = make_config(0.05, False, False, max_steps, 0.0)
    return Simulator(track, 1, car.as_array(), cfg, np.array([0.0]), False)


STATUS = {name: i for i, name in enumerate(
    ("prepare", "in_progress", "lap_complete", "off_track", "reversed", "immobilized",
     "time_up"))}


def test_reversed_after_15_decreasing_steps(default_track):
    """Car turned round at the start line, driving straight backwards along the start straight
    (x from 0 towards -2, y = -3.4) at 1 m/s.

    Step 1 (PREPARE): progress -0.14/L*100 (reference point 0.14 m behind the start), count 0.
    Step 2 (first RUN): the PREPARE step held the car, progress unchanged -> no decrease, 0.
    Steps 3..17: each pre-action pose is further back -> decreases 1..15 -> reversed at 17.
    """
    s = make_sim(default_track)
    s.s[0, layout.S_YAW] += math.pi
    refresh(s)
    statuses, progress = [], []
    for _ in range(17):
        s.step(np.array([0.0]), np.array([1.0]), False)
        statuses.append(int(s.rec[0, layout.R_STATUS]))
        progress.append(float(s.rec[0, layout.R_PROGRESS]))
        assert s.rec[0, layout.R_IS_OFFTRACK] == 0.0
        assert s.rec[0, layout.R_REVERSED] == 0.0  # track direction not reversed
    L = default_track.length
    assert progress[0] == pytest.approx(-0.14 / L * 100.0, abs=1e-9)
    assert progress[1] == progress[0]
    assert all(b < a for a, b in itertools.pairwise(progress[1:]))
    assert statuses[0] == STATUS["prepare"]
    assert statuses[1:16] == [STATUS["in_progress"]] * 15
    assert statuses[16] == STATUS["reversed"]
    assert s.rec[0, layout.R_DONE] == 1.0
    # ~1 m backwards after 16 steps at <= 1 m/s: ref point at about x = -0.14 - 15/15
    assert progress[16] > -(0.14 + 16 / 15) / L * 100.0


def test_reversed_count_resets_when_progress_stops_decreasing(default_track):
    """14 decreases, one step without a decrease, then 14 more: the count restarts, so the
    status becomes reversed only at the 15th decrease after the break.

    Backwards at 0.5 m/s: step 1 PREPARE, step 2 no decrease, steps 3..16 decrease (14).
    After step 16 the car is turned forward: the reference point jumps 0.28 m ahead, so step 17
    sees an increase (count 0). Before step 18 it is turned backwards again: the reference point
    jumps 0.28 m back (more than step 17's forward move of < 0.04 m) -> decrease 1 at step 18,
    then steps 19..32 decrease -> 15th decrease at step 32. Without the restart the count would
    have reached 15 at step 18.
    """
    s = make_sim(default_track)

    def turn():
        s.s[0, layout.S_YAW] += math.pi
        s.s[0, layout.S_V] = 0.0
        refresh(s)

    def step():
        s.step(np.array([0.0]), np.array([0.5]), False)
        assert s.rec[0, layout.R_IS_OFFTRACK] == 0.0
        return int(s.rec[0, layout.R_STATUS])

    turn()
    statuses = [step() for _ in range(16)]
    turn()
    statuses.append(step())  # step 17
    turn()
    statuses += [step() for _ in range(15)]  # steps 18..32
    assert statuses[:31] == [STATUS["prepare"]] + [STATUS["in_progress"]] * 30
    assert statuses[31] == STATUS["reversed"]


def test_immobilized_after_15_still_run_steps(default_track):
    """A car whose wheels cannot turn (wheel_speed_max 0: rim speed 0) feels no force at rest.

    Step 1 PREPARE resets the count to 0 (spec §2.3 counts RUN steps only); steps 2..16 are RUN
    steps with zero displacement from the previous step's position (step 2 included: the PREPARE
    step held the car), so the count reaches 15 at step 16 -> immobilized there, not before.
    """
    s = make_sim(default_track, car=replace(CAR_V6, wheel_speed_max=0.0))
    x0, y0 = s.s[0, layout.S_X], s.s[0, layout.S_Y]
    statuses = []
    for _ in range(16):
        s.step(np.array([0.0]), np.array([1.0]), False)
        statuses.append(int(s.rec[0, layout.R_STATUS]))
        assert (s.s[0, layout.S_X], s.s[0, layout.S_Y]) == (x0, y0)
    assert statuses[0] == STATUS["prepare"]
    assert statuses[1:15] == [STATUS["in_progress"]] * 14
    assert statuses[15] == STATUS["immobilized"]
    assert s.rec[0, layout.R_DONE] == 1.0
    assert s.rec[0, layout.R_STEPS] == 16.0


def _place_off_track_at_line(track, prev_progress):
    """Car origin at (0.05, -4.4), yaw 0: 1 m outside the start straight's outer border
    (road y in [-3.781, -3.019]), reference point (0.19, -4.4) projecting 0.19 m past the start."""
    s = make_sim(track)
    s.s[0, layout.S_X], s.s[0, layout.S_Y], s.s[0, layout.S_YAW] = 0.05, -4.4, 0.0
    refresh(s)
    s.si[0, layout.I_PHASE] = layout.RUN
    s.s[0, layout.S_STEPS] = 300.0
    s.s[0, layout.S_PREV_PROGRESS] = prev_progress
    s.s[0, layout.S_LAST_X], s.s[0, layout.S_LAST_Y] = 0.0, -4.4  # moved 0.05 m: not immobile
    return s


def test_lap_complete_beats_off_track(default_track):
    centre, road = shapely_lines(default_track)
    L = centre.length
    # shapely: all four wheels off, reference point projects to 0.19 m
    params = {"x": 0.19, "y": -4.4, "heading": 0.0}
    assert wheels_on_road(params, road) == 0
    assert centre.project(Point(0.19, -4.4)) == pytest.approx(0.19, abs=1e-9)
    # prev 99.9: p = 100 * 0.19 / L = 0.8175; prev > p + 50 -> p += 100 -> 100.8 -> min 100
    s = _place_off_track_at_line(default_track, 99.9)
    s.step(np.array([0.0]), np.array([1.0]), False)
    r = s.rec[0]
    assert r[layout.R_PROGRESS] == 100.0
    assert r[layout.R_IS_OFFTRACK] == 1.0
    assert int(r[layout.R_STATUS]) == STATUS["lap_complete"]
    assert r[layout.R_DONE] == 1.0
    # control: with prev 0 the same pose is only off track (progress 0.8175 %)
    s = _place_off_track_at_line(default_track, 0.0)
    s.step(np.array([0.0]), np.array([1.0]), False)
    r = s.rec[0]
    assert r[layout.R_PROGRESS] == pytest.approx(19.0 / L, abs=1e-9)
    assert int(r[layout.R_STATUS]) == STATUS["off_track"]
    assert r[layout.R_DONE] == 1.0


# --------------------------------------------------------------------------- round robin


def start_distance(track, params):
    """Distance along the (driving-direction) centre line of the car origin, by shapely."""
    centre, _ = shapely_lines(track, params["is_reversed"])
    x, y, _ = origin_of(params)
    return centre.project(Point(x, y))


def episode_starts(env, n, track):
    """Run n short episodes (max_steps small); the origin distance of each PREPARE step."""
    out = []
    for _ in range(n):
        env.reset()
        first = env.step(0)[4]["params"]
        out.append((start_distance(track, first), first["is_reversed"]))
        while True:
            _, _, te, tr, _ = env.step(0)
            if te or tr:
                break
    return out


def test_round_robin_training_advances_5_percent(default_track):
    env = DeepRacerEnv(default_track, reward_function=pure_reward, training=True, max_steps=3)
    L = default_track.length
    starts = episode_starts(env, 5, default_track)
    for k, (d, rev) in enumerate(starts):
        # episode k starts at 0.05 * k of the lap: 0, 1.162, 2.324, 3.486, 4.648 m
        assert circ_diff(d, 0.05 * k * L, L) < 1e-6, k
        assert rev is False
    assert env.sim.s[0, layout.S_START_NDIST] == pytest.approx(0.25, abs=1e-12)


def test_round_robin_advance_parameter_and_wrap(default_track):
    env = DeepRacerEnv(default_track, reward_function=pure_reward, training=True, max_steps=3,
                       round_robin_advance=0.4)
    L = default_track.length
    starts = episode_starts(env, 4, default_track)
    # 0, 0.4, 0.8, 1.2 % 1 = 0.2 of the lap
    for (d, _), frac in zip(starts, (0.0, 0.4, 0.8, 0.2), strict=True):
        assert circ_diff(d, frac * L, L) < 1e-6


def test_evaluation_always_starts_at_start_line(default_track):
    env = DeepRacerEnv(default_track, reward_function=pure_reward, training=False,
                       max_steps=3, alternate_direction=True)
    L = default_track.length
    for d, rev in episode_starts(env, 4, default_track):
        assert circ_diff(d, 0.0, L) < 1e-6
        assert rev is False  # alternate_direction applies to training only


def test_seeded_reset_restores_initial_start(default_track):
    env = DeepRacerEnv(default_track, reward_function=pure_reward, training=True, max_steps=3,
                       start_position=0.3)
    L = default_track.length
    starts = episode_starts(env, 3, default_track)
    for (d, _), frac in zip(starts, (0.3, 0.35, 0.4), strict=True):
        assert circ_diff(d, frac * L, L) < 1e-6
    env.reset(seed=123)
    first = env.step(0)[4]["params"]
    assert circ_diff(start_distance(default_track, first), 0.3 * L, L) < 1e-6


def test_alternate_direction_flips_every_training_episode(default_track):
    env = DeepRacerEnv(default_track, reward_function=pure_reward, training=True, max_steps=3,
                       alternate_direction=True)
    L = default_track.length
    starts = episode_starts(env, 4, default_track)
    assert [rev for _, rev in starts] == [False, True, False, True]
    # start_ndist advances regardless and is measured on the current direction's centre line
    for k, (d, _) in enumerate(starts):
        assert circ_diff(d, 0.05 * k * L, L) < 1e-6


# --------------------------------------------------------------------------- truncation


def test_truncation_at_max_steps(default_track):
    env = DeepRacerEnv(default_track, reward_function=pure_reward, training=False, max_steps=10)
    env.reset()
    slow = index_of(env, 0.0, 0.5)
    results = [env.step(slow) for _ in range(10)]
    for k, (_, _, te, tr, info) in enumerate(results[:-1], start=1):
        assert not te and not tr, k
        assert info["steps"] == float(k)
    _, _, te, tr, info = results[-1]
    assert tr is True and te is False
    assert info["episode_status"] == "time_up"
    assert info["steps"] == 10.0
    assert info["lap_time"] == pytest.approx(9 / 15, abs=1e-12)


def test_default_max_steps_is_a_lap_at_min_speed(default_track):
    env = DeepRacerEnv(default_track)
    # ceil(23.24 m / 0.1 m/s * 15 steps/s) = ceil(3486.2) steps
    assert env.max_steps == math.ceil(default_track.length / 0.1 / STEP_DT)
    assert 3480 < env.max_steps < 3490


# --------------------------------------------------------------------------- determinism


def test_determinism_same_seed_same_actions(default_track):
    rng = np.random.default_rng(7)
    actions = rng.integers(0, 10, size=400)
    runs = []
    for _ in range(2):
        env = DeepRacerEnv(default_track, training=True, max_steps=60)
        obs, _ = env.reset(seed=5)
        trace = [obs]
        for a in actions:
            ob, r, te, tr, info = env.step(int(a))
            trace.append((ob, r, te, tr, info))
            if te or tr:
                ob, _ = env.reset()
                trace.append(ob)
        runs.append(trace)
    a, b = runs
    assert len(a) == len(b)
    ends = 0
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y)
            continue
        assert np.array_equal(x[0], y[0])
        assert x[1:4] == y[1:4]
        assert x[4] == y[4]
        ends += x[2] or x[3]
    assert ends >= 2  # several episodes, so round robin is exercised too


# --------------------------------------------------------------------------- env checkers


@pytest.mark.parametrize("space", [None, CONTINUOUS])
def test_gymnasium_and_sb3_env_checkers(space):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make("DeepRacer-v0", action_space=space)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)


def test_gym_make_defaults_to_default_track_and_builtin_reward():
    env = gym.make("DeepRacer-v0")
    assert env.unwrapped.track.name == "dr_sim_default"
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert isinstance(env.action_space, gym.spaces.Discrete) and env.action_space.n == 10
    rewards = []
    for k in range(200):
        ob, r, te, tr, info = env.step(k % 10)
        assert env.observation_space.contains(ob)
        if info["episode_status"] == "prepare":
            assert r == 0.0
        else:
            rewards.append(r)
        if te or tr:
            env.reset()
    assert rewards
    assert set(rewards) <= BUILTIN_REWARDS
    # the start straight is driven near the centre line at least once -> the top band
    assert 1.0 in rewards
