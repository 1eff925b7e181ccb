"""Objects on the track: box placement, bot cars, the object params keys, the crash rule, the
``crashed`` status and the training start rule, with hand-worked layouts.

The circle track: centre radius 3 m, borders 2.5 / 3.5 m, 120 chords of 3 degrees, CCW in row
order, so the inner lane is at radius 2.75, the outer at 3.25, and 25 % of the lap is vertex 30
at 90 degrees.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.interpolate import spalde, splprep

from deepracer_sim.constants import STATUS_CODES
from deepracer_sim.envs import DeepRacerEnv
from deepracer_sim.errors import UsageError
from deepracer_sim.sim import layout
from deepracer_sim.sim.bots import (
    build_lane_change,
    lane_change_rows,
    lane_change_work,
    update_bots,
)
from deepracer_sim.sim.car import car_params
from deepracer_sim.sim.lanes import build_lanes, lane_point, line_interpolate, line_project
from deepracer_sim.sim.lidar import LIDAR_MOUNT_X, RAY_ANGLES, scan, sector_observation
from deepracer_sim.sim.objects import OBS_OBJECTS, OBS_PER_OBJECT
from deepracer_sim.sim.observation import OBS_DIM
from deepracer_sim.sim.params import reward_params
from deepracer_sim.sim.simulator import Simulator, make_config
from deepracer_sim.sim.world import ObjectsConfig, unpack_objects
from deepracer_sim.track import load_track, track_from_array

SEGMENTS = 120
L = SEGMENTS * 2 * 3.0 * math.sin(math.pi / SEGMENTS)  # centre-line length: 120 chords
S15 = math.sin(math.radians(1.5))
C15 = math.cos(math.radians(1.5))


@pytest.fixture(scope="module")
def circle():
    th = np.linspace(0.0, 2 * math.pi, SEGMENTS + 1)
    c, s = np.cos(th), np.sin(th)
    wp = np.column_stack([3.0 * c, 3.0 * s, 2.5 * c, 2.5 * s, 3.5 * c, 3.5 * s])
    wp[-1] = wp[0]
    return track_from_array(wp, "circle")


def make_sim(track, objects, training=False, n=1, start=0.0):
    cfg = make_config(0.05, training, False, 10_000, 0.0)
    return Simulator(track, n, car_params("v6").as_array(), cfg, np.full(n, start),
                     objects=objects)


def test_crashed_is_the_last_status_code():
    assert STATUS_CODES[layout.ST_CRASHED] == "crashed"
    assert layout.ST_CRASHED == len(STATUS_CODES) - 1 == 7


def test_boxes_by_lane_and_fraction_of_the_lap(circle):
    sim = make_sim(circle, ObjectsConfig(box_positions=((0.25, 1), (0.5, -1))))
    b0, b1 = sim.obj[0, 0], sim.obj[0, 1]
    # inside: inner lane vertex 30 at (0, 2.75); on a vertex bisect_right gives prev 30, next
    # 31 (central difference): the chord 30 -> 31 at 181.5 degrees
    assert (b0[layout.O_X], b0[layout.O_Y]) == pytest.approx((0.0, 2.75), abs=1e-12)
    assert math.degrees(b0[layout.O_YAW]) == pytest.approx(-178.5, abs=1e-9)
    # outside, half a lap: the centre vertex 60 (-3, 0) projects on the outer lane chord 59-60
    # 0.25 sin 1.5 deg before its vertex 60 (-3.25, 0)
    back = 0.25 * S15
    assert (b1[layout.O_X], b1[layout.O_Y]) == pytest.approx(
        (-3.25 + back * S15, back * C15), abs=1e-12)
    # the keys: distance along the centre line, from it, and the side
    assert b0[layout.O_PROJ] == pytest.approx(0.25 * L - 0.25 * S15, abs=1e-12)
    assert b0[layout.O_DCENTER] == pytest.approx(0.25 * C15, abs=1e-12)
    assert b0[layout.O_LEFT] == 1.0  # the inner side of a CCW track is the left
    assert b1[layout.O_PROJ] == pytest.approx(0.5 * L, abs=1e-12)
    assert b1[layout.O_LEFT] == 0.0
    # the crash rectangle is 0.5 m along the lane, 0.4 m across
    assert (b0[layout.O_HALF_LEN], b0[layout.O_HALF_WID]) == (0.25, 0.2)


def test_generated_boxes_alternate_lanes_and_random_boxes_change(circle):
    sim = make_sim(circle, ObjectsConfig(boxes=3, box_min_distance=2.0))
    # linspace(2, L - 1, 3) along the centre line, inside, outside, inside
    expected = np.linspace(2.0, L - 1.0, 3)
    assert sim.obj[0, :, layout.O_DIST0] == pytest.approx(expected)
    assert sim.obj[0, :, layout.O_LANE].tolist() == [0.0, 1.0, 0.0]
    sim = make_sim(circle, ObjectsConfig(boxes=3, randomize_boxes=True, seed=3))
    first = sim.obj[0, :, layout.O_DIST0].copy()
    sim.reset_car(0)
    again = sim.obj[0, :, layout.O_DIST0]
    assert not np.allclose(first, again)
    assert np.all(np.diff(again) >= 2.0 - 1e-9)  # the gaps hold


def test_object_keys_of_reward_params(circle):
    # car on the centre line at 20 % heading along the track, a box at (0, 2.75), a bot at
    # half a lap on the outer lane
    a = 2 * math.pi * 0.2
    params = reward_params(circle, 3.0 * math.cos(a), 3.0 * math.sin(a),
                           math.degrees(a) + 90.0,
                           objects=[(0.0, 2.75, 0.0, 0.0), (-3.25, 0.0, -math.pi / 2, 1.0)])
    assert params["objects_location"] == [[0.0, 2.75], [-3.25, 0.0]]
    assert params["objects_distance"][0] == pytest.approx(0.25 * L - 0.25 * S15, abs=1e-9)
    assert params["objects_distance_from_center"][0] == pytest.approx(0.25 * C15, abs=1e-9)
    assert params["objects_left_of_center"] == [True, False]
    # with a bot car present every object reports its heading (rad) and speed
    assert params["objects_heading"] == [0.0, -math.pi / 2]
    assert params["objects_speed"] == [0.0, 1.0]
    # the car at 20 %: the next object is the box (index 0), the previous one wraps to the bot
    assert params["closest_objects"] == [1, 0]
    assert params["is_crashed"] is False
    # boxes only: headings and speeds are 0.0
    boxes = reward_params(circle, 3.0, 0.0, 90.0, objects=[(0.0, 2.75, 1.0, 0.0)])
    assert boxes["objects_heading"] == [0.0] and boxes["objects_speed"] == [0.0]
    with pytest.raises(UsageError):
        reward_params(circle, 3.0, 0.0, 90.0, objects=[(0.0, 2.75, 1.0)])


@pytest.mark.parametrize(("gap", "crashed"), [(0.40, True), (0.42, False)])
def test_crash_rear_corners_inside_a_box(circle, gap, crashed):
    # box at (0, 0) yaw 0; the car origin `gap` m ahead heading +x: its rear corners are
    # gap - 0.16176 m from the box centre, inside the 0.25 m half length when gap < 0.41176
    x_ref = gap + 0.14
    params = reward_params(circle, x_ref, 0.0, 0.0, objects=[(0.0, 0.0, 0.0, 0.0)])
    assert params["is_crashed"] is crashed


def test_a_bot_the_car_is_ahead_of_does_not_count(circle):
    # car on the centre line at 10 % of the lap heading along the track; a bot 0.2 m beside it
    # (its front point 0.14 m ahead of its origin): with the bot's origin just behind the car's
    # origin its progress is still ahead... place the bot 0.25 m ahead / 0.25 m behind instead
    a = 2 * math.pi * 0.1
    tx, ty = -math.sin(a), math.cos(a)
    cx, cy = 3.0 * math.cos(a), 3.0 * math.sin(a)
    car_ref = (cx + 0.14 * tx, cy + 0.14 * ty)
    heading = math.degrees(a) + 90.0
    ahead = (cx + 0.2 * tx, cy + 0.2 * ty, a + math.pi / 2, 1.0)
    behind = (cx - 0.3 * tx, cy - 0.3 * ty, a + math.pi / 2, 1.0)
    assert reward_params(circle, *car_ref, heading, objects=[ahead])["is_crashed"] is True
    assert reward_params(circle, *car_ref, heading, objects=[behind])["is_crashed"] is False


def test_episode_ends_crashed_into_a_box(circle):
    sim = make_sim(circle, ObjectsConfig(box_positions=((0.25, 1),)))
    box = sim.obj[0, 0]
    sim.step(np.zeros(1), np.zeros(1))  # PREPARE
    # put the car 0.3 m behind the box, on its lane, heading along it
    yaw = box[layout.O_YAW]
    sim.s[0, layout.S_X] = box[layout.O_X] - 0.3 * math.cos(yaw)
    sim.s[0, layout.S_Y] = box[layout.O_Y] - 0.3 * math.sin(yaw)
    sim.s[0, layout.S_YAW] = yaw
    sim.s[0, layout.S_START_NDIST] = 0.2
    sim.refresh(0)
    sim.step(np.zeros(1), np.ones(1))
    row = sim.rec[0]
    assert layout.status(row) == "crashed"
    assert row[layout.R_DONE] == 1.0 and row[layout.R_IS_CRASHED] == 1.0
    assert sim.oparams[0, layout.P_CRASHED] == 1.0


def test_training_start_moves_to_the_free_lane(circle):
    # a box on the inner lane 0.5 m past the start line: training starts on the outer lane
    frac = 0.5 / L
    train = make_sim(circle, ObjectsConfig(box_positions=((frac, 1),)), training=True)
    x, y = train.s[0, layout.S_X], train.s[0, layout.S_Y]
    assert math.hypot(x, y) == pytest.approx(3.25, abs=2e-3)
    # evaluation starts on the centre line
    ev = make_sim(circle, ObjectsConfig(box_positions=((frac, 1),)))
    assert math.hypot(ev.s[0, layout.S_X], ev.s[0, layout.S_Y]) == pytest.approx(3.0)


def test_bot_drives_its_lane_at_its_speed(circle):
    sim = make_sim(circle, ObjectsConfig(bots=2, bot_speed=1.0, bot_min_distance=2.0))
    bot = sim.obj[0, 0]
    # the lane spline through the chords' lane points projects within 1 cm of its parameter
    start = bot[layout.O_PROJ]
    assert start == pytest.approx(2.0, abs=1e-2)
    assert math.hypot(bot[layout.O_X], bot[layout.O_Y]) == pytest.approx(2.75, abs=1e-3)
    for _ in range(16):  # PREPARE (the bots wait), then 15 steps = 1 s at 1 m/s
        sim.step(np.zeros(1), np.full(1, 0.1))
    assert bot[layout.O_PROJ] - start == pytest.approx(1.0, abs=1e-2)  # spline vs chords
    assert sim.obj[0, 1, layout.O_LANE] == 1.0  # the second bot is on the outer lane
    # the params of this step saw the bot one step late (the simapp's order)
    k = layout.P_OBJ + layout.PO_DIST
    assert 0.04 < bot[layout.O_PROJ] - sim.oparams[0, k] < 0.1  # 1/15 m, spline vs chords


def test_bot_changes_lanes(circle):
    cfg = ObjectsConfig(bots=1, bot_speed=1.0, lane_change=True, lower_lane_change_time=1.0,
                        upper_lane_change_time=1.0, lane_change_distance=1.0)
    sim = make_sim(circle, cfg)
    bot = sim.obj[0, 0]
    radii = []
    left = []
    for _ in range(1 + 44):  # on the inner lane until 1 s, changing 1-2 s, outer 2-3 s
        sim.step(np.zeros(1), np.full(1, 0.1))
        radii.append(math.hypot(bot[layout.O_X], bot[layout.O_Y]))
        left.append(bot[layout.O_LEFT])
    assert radii[10] == pytest.approx(2.75, abs=2e-3) and left[10] == 1.0
    assert radii[40] == pytest.approx(3.25, abs=2e-3) and left[40] == 0.0


def test_lane_change_spline_equals_scipy(circle):
    """A lane-change spline (inner lane to outer, starting 1.2 m ahead, 1 m long) is scipy's
    ``splprep(k=3, s=0)`` through the same knots, to 1e-9 m."""
    lanes = build_lanes(circle.arrays.lines, True, True)
    rows = lane_change_rows(lanes.dists, L, 1.0, 5.0)
    out = np.zeros((rows, 5))
    work = lane_change_work(rows)
    current = 2.0
    n = build_lane_change(lanes.spl, lanes.spl_n, lanes.pts, lanes.dists, 0, 0, 1, L, True,
                          current, current + 1.2, current + 2.2, out, work)
    m = n - 4
    u, x, y = work[6, :m].copy(), work[7, :m].copy(), work[8, :m].copy()
    # the knots (lane vertex k sits at k * 0.15703 m along the centre line): the bot's vertex
    # 12 (1.884 m) and the 3 behind it, vertices 13-20 up to s0 = 3.2 m, the two change points,
    # then the outer lane's vertices 27-30 after s1 = 4.2 m
    assert m == 4 + 8 + 2 + 4
    assert math.hypot(x[0], y[0]) == pytest.approx(2.75, abs=1e-9)
    assert math.hypot(x[-1], y[-1]) == pytest.approx(3.25, abs=1e-9)
    tck, _ = splprep([x, y], u=u, k=3, s=0)
    for dist in np.linspace(current, current + 2.2, 23):
        xs, ys, dxs, dys = lane_point(out, n, L, dist)
        (x0, dx0), (y0, dy0) = (v[:2] for v in spalde(dist, tck))
        assert (xs, ys, dxs, dys) == pytest.approx((x0, y0, dx0, dy0), abs=1e-9)


@pytest.mark.parametrize("name", ["Virtual_May19_Train_track", "reInvent2019_track"])
def test_every_lane_change_is_built_on_dense_tracks(shared_dir, name):
    """Waypoints 9-30 cm apart: a change scheduled up to 5 s (at 2 m/s, 10 m) ahead needs up to
    ~115 knots; every change is built (O_LC_N > 0) and every bot ends on its other lane."""
    track = load_track(str(shared_dir / "tracks" / f"{name}.npy"))
    cfg = ObjectsConfig(bots=3, bot_speed=2.0, lane_change=True, lower_lane_change_time=4.0,
                        upper_lane_change_time=5.0, lane_change_distance=1.0)
    sim = make_sim(track, cfg)
    lines, lens, fmeta, _, iarr = track.arrays
    obj, world, lc, _, _, lane_pts, _, _, lane_dists, spl, spl_n, _ = unpack_objects(
        sim.F, sim.I, 1)
    lanes0 = obj[0, :, layout.O_LANE].copy()
    work = lane_change_work(lc.shape[2])
    built = 0
    for _ in range(int(5.5 * 15) + 2):  # the first change ends by 5 s + 1 m / 2 m/s
        update_bots(spl, spl_n, lane_pts, lane_dists, lines, lens, fmeta, iarr, obj[0], world[0],
                    lc[0], 0, 1.0 / 15.0, work)
        built += int((obj[0, :, layout.O_LC_N] > 0).all())
    assert built == int(5.5 * 15) + 2
    assert (obj[0, :, layout.O_LANE] == 1.0 - lanes0).all()


def test_lane_splines_equal_scipy(circle):
    lanes = build_lanes(circle.arrays.lines, True, True)
    d, lane = 0, 1
    p, c = lanes.pts[d, lane], lanes.cum[d, lane]
    centre = circle.arrays.lines[d, 0]
    u = lanes.dists[d, lane]
    uu, ui = np.unique(u, return_index=True)
    xy = p[ui].copy()
    if uu[0] > 0.0:
        xy[0] = line_interpolate(p, c, line_project(p, c, *centre[0])[0])
        uu[0] = 0.0
    if uu[-1] < L:
        uu[-1] = L
    xy[-1] = xy[0]
    tck, _ = splprep(xy.T, u=uu, k=3, s=0, per=1)
    for dist in np.linspace(0.05, L - 0.05, 50):
        x, y, dx, dy = lane_point(lanes.spl[d, lane], lanes.spl_n[d, lane], L, dist)
        (x0, dx0), (y0, dy0) = (v[:2] for v in spalde(dist, tck))
        assert (x, y, dx, dy) == pytest.approx((x0, y0, dx0, dy0), abs=1e-9)


def test_observation_gains_object_features_only_with_objects(circle):
    assert make_sim(circle, None).obs.shape == (1, OBS_DIM)
    sim = make_sim(circle, ObjectsConfig(box_positions=((0.25, 1),)))
    assert sim.obs.shape == (1, OBS_DIM + OBS_OBJECTS * OBS_PER_OBJECT)
    # at the start the box projects 0.25 L - 0.25 sin 1.5 deg along the line, the reference
    # point 0.14 m: the gap over the 6 m range
    gap = 0.25 * L - 0.25 * S15 - 0.14
    assert sim.obs[0, OBS_DIM] == pytest.approx(gap / 6.0, abs=1e-4)
    assert sim.obs[0, OBS_DIM + OBS_PER_OBJECT] == 1.0  # no second object
    env = DeepRacerEnv(circle, objects=ObjectsConfig(box_positions=((0.5, 1),)), training=False)
    obs, _ = env.reset()
    assert obs[OBS_DIM] == 1.0  # half a lap ahead: out of range
    _, _, _, _, info = env.step(0)
    assert len(info["params"]["objects_location"]) == 1


def test_bad_objects_config():
    with pytest.raises(UsageError, match="box position"):
        ObjectsConfig(box_positions=((1.5, 1),)).check()
    with pytest.raises(UsageError, match="positive speed"):
        ObjectsConfig(bots=1, bot_speed=0.0).check()
    with pytest.raises(UsageError, match="at most"):
        ObjectsConfig(boxes=20).check()


def test_lidar_sees_a_box_behind_and_to_the_side(circle):
    # a box (footprint 0.4 x 0.3 m) 0.5 m behind the laser, across the car's axis: the ray
    # straight back (samples 31/32 straddle 180 degrees) hits its near face at 0.5 - 0.15
    obj = np.zeros((1, layout.NO))
    obj[0, layout.O_X] = LIDAR_MOUNT_X - 0.5
    obj[0, layout.O_LIDAR_HALF_LEN], obj[0, layout.O_LIDAR_HALF_WID] = 0.2, 0.15
    obj[0, layout.O_YAW] = math.pi / 2  # its length across the car's axis
    world = np.zeros(layout.NW)
    world[layout.W_NBOX] = 1
    ranges = np.zeros(64)
    scan(obj, world, 0.0, 0.0, 0.0, 12.0, 0.0, ranges)
    back = int(np.argmin(np.abs(np.cos(RAY_ANGLES) + 1.0)))
    expected = 0.35 / abs(math.cos(RAY_ANGLES[back]))  # the face at x = -0.35 from the laser
    assert ranges[back] == pytest.approx(expected, abs=1e-9)
    assert np.isinf(ranges[0]) and np.isinf(ranges[63])  # the sides see nothing
    sectors = np.zeros(8)
    sector_observation(ranges, sectors)
    assert sectors.tolist() == [0, 0, 0, 1, 1, 0, 0, 0]  # sectors 3 and 4 look straight back


def test_lidar_observation_in_the_env(circle):
    sim = make_sim(circle, ObjectsConfig(box_positions=((0.25, 1),), lidar="SECTOR_LIDAR"))
    assert sim.obs.shape == (1, OBS_DIM + OBS_OBJECTS * OBS_PER_OBJECT + 8)
    assert sim.obs[0, -8:].tolist() == [0.0] * 8  # nothing within 0.5 m at the start
    full = make_sim(circle, ObjectsConfig(box_positions=((0.25, 1),), lidar="LIDAR"))
    assert full.obs[0, -64:].tolist() == [1.0] * 64  # clipped at 1 m: no returns
