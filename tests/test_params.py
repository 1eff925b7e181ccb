"""Hand-worked tests of ``deepracer_sim.sim.params.reward_params`` (the reward function's params
dict).

Most tests use a track built here so that every number can be worked out by hand: a 10 m x 6 m
rectangle driven counter-clockwise, width 1.0 m, one waypoint per metre:

    centre rows   0..10  (0,0) -> (10,0)   bottom straight, travel +x
                 10..16  (10,0) -> (10,6)  right side, travel +y
                 16..26  (10,6) -> (0,6)   top straight, travel -x
                 26..32  (0,6) -> (0,0)    left side, travel -y   (row 32 == row 0)

    perimeter L = 10 + 6 + 10 + 6 = 32 m, so waypoint i lies i metres along the centre line and
    its normalised projection (the simapp's ``ndists``) is i / 32.

The inner border is the rectangle (0.5, 0.5)-(9.5, 5.5) (the left of travel on a CCW loop), the
outer one (-0.5, -0.5)-(10.5, 6.5); on the bottom straight the road is -0.5 < y < 0.5.
Expected values follow spec §1.2/§1.3 (``../shared/docs/deepracer-interface.md``); shapely (which
the simapp itself uses for the geometry) is the oracle of the property test.
"""

from __future__ import annotations

import bisect
import copy
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LinearRing, LineString, Point, Polygon

from deepracer_sim.constants import REFERENCE_POINT_X, WHEEL_POSITIONS
from deepracer_sim.sim.params import PARAM_KEYS, reward_params
from deepracer_sim.track import track_from_array

L = 32.0  # rectangle perimeter, m (10 + 6 + 10 + 6)

SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "docs" / "deepracer-interface.md"

# The 26 keys of spec §1.3, in the table's order, without the community-only ``sim_time``.
SPEC_KEYS = (
    "all_wheels_on_track", "x", "y", "heading", "distance_from_center", "is_left_of_center",
    "is_offtrack", "is_crashed", "is_reversed", "progress", "steps", "speed", "steering_angle",
    "track_width", "track_length", "waypoints", "closest_waypoints", "projection_distance",
    "closest_objects", "objects_location", "objects_left_of_center", "objects_distance",
    "objects_distance_from_center", "objects_heading", "objects_speed", "object_in_camera",
)


def rectangle_centre() -> list[tuple[float, float]]:
    pts = [(float(x), 0.0) for x in range(0, 11)]
    pts += [(10.0, float(y)) for y in range(1, 7)]
    pts += [(float(x), 6.0) for x in range(9, -1, -1)]
    pts += [(0.0, float(y)) for y in range(5, -1, -1)]
    return pts


def rectangle_array(width_bottom: float = 1.0, width_top: float = 1.0) -> np.ndarray:
    """(33, 6) rows; the left/right sides are 1.0 m wide, the straights as given."""
    rows = []
    for x, y in rectangle_centre():
        # inner point: the centre point clamped into the inner rectangle
        ix = min(max(x, 0.5), 9.5)
        iy = min(max(y, width_bottom / 2), 6.0 - width_top / 2)
        # outer point: pushed outwards on the sides the point lies on
        ox = x - 0.5 if x == 0.0 else (x + 0.5 if x == 10.0 else x)
        oy = y - width_bottom / 2 if y == 0.0 else (y + width_top / 2 if y == 6.0 else y)
        rows.append((x, y, ix, iy, ox, oy))
    return np.array(rows, dtype=np.float64)


@pytest.fixture(scope="module")
def rect():
    return track_from_array(rectangle_array(), "rect10x6")


def test_rectangle_track_basics(rect):
    # 33 rows, first == last => loop; perimeter 32 m; counter-clockwise row order
    assert rect.num_waypoints == 33
    assert rect.is_loop
    assert rect.length == pytest.approx(L, abs=1e-12)
    assert rect.is_ccw


def test_bottom_straight_left_of_centre(rect):
    p = reward_params(rect, 3.0, 0.2, 0.0)
    # nearest centre point (3, 0): distance 0.2
    assert p["distance_from_center"] == pytest.approx(0.2, abs=1e-12)
    # near_in = (3, 0.5) at 0.3, near_out = (3, -0.5) at 0.7 -> closer to inner, CCW -> left
    assert p["is_left_of_center"] is True
    # local width |(3, 0.5) - (3, -0.5)| = 1.0
    assert p["track_width"] == pytest.approx(1.0, abs=1e-12)
    # projection 3 m from waypoint 0; ndist 3/32 equals ndists[3] -> bisect_right gives next 4
    assert p["projection_distance"] == pytest.approx(3.0, abs=1e-12)
    assert p["closest_waypoints"] == [3, 4]
    # progress = 100 * 3 / 32 = 9.375 %
    assert p["progress"] == pytest.approx(100 * 3.0 / L, abs=1e-9)
    assert p["track_length"] == pytest.approx(L, abs=1e-12)
    assert p["heading"] == pytest.approx(0.0, abs=1e-12)
    # x, y are the reference point given
    assert p["x"] == pytest.approx(3.0, abs=1e-12)
    assert p["y"] == pytest.approx(0.2, abs=1e-12)
    assert p["is_reversed"] is False
    assert p["all_wheels_on_track"] is True
    assert p["is_offtrack"] is False
    assert p["is_crashed"] is False


def test_between_waypoints(rect):
    # (6.4, -0.3): projection 6.4 m, between waypoints 6 and 7; distance 0.3; right of travel
    p = reward_params(rect, 6.4, -0.3, 0.0)
    assert p["projection_distance"] == pytest.approx(6.4, abs=1e-12)
    assert p["closest_waypoints"] == [6, 7]
    assert p["distance_from_center"] == pytest.approx(0.3, abs=1e-12)
    assert p["is_left_of_center"] is False
    assert p["progress"] == pytest.approx(100 * 6.4 / L, abs=1e-9)  # 20.0 %


def test_right_of_centre(rect):
    p = reward_params(rect, 3.0, -0.2, 0.0)
    assert p["distance_from_center"] == pytest.approx(0.2, abs=1e-12)
    # near_in (3, 0.5) at 0.7, near_out (3, -0.5) at 0.3 -> closer to outer -> right on CCW
    assert p["is_left_of_center"] is False


@pytest.mark.parametrize("heading", [-179.5, -90.0, -30.0, 0.0, 45.0, 120.0, 180.0])
def test_heading_and_reference_point_echo(rect, heading):
    # reward_params takes the reference point itself: any heading reports the same x, y and
    # the same centre-line geometry (which only depends on the reference point)
    p = reward_params(rect, 3.0, 0.2, heading)
    assert p["heading"] == pytest.approx(heading, abs=1e-9)
    assert p["x"] == pytest.approx(3.0, abs=1e-12)
    assert p["y"] == pytest.approx(0.2, abs=1e-12)
    assert p["distance_from_center"] == pytest.approx(0.2, abs=1e-12)
    assert p["projection_distance"] == pytest.approx(3.0, abs=1e-12)


def test_right_side_and_top_straight(rect):
    # right side: (10.3, 2.5) -> centre (10, 2.5), 10 + 2.5 = 12.5 m along; outside = right
    p = reward_params(rect, 10.3, 2.5, 90.0)
    assert p["projection_distance"] == pytest.approx(12.5, abs=1e-12)
    assert p["closest_waypoints"] == [12, 13]
    assert p["distance_from_center"] == pytest.approx(0.3, abs=1e-12)
    assert p["is_left_of_center"] is False
    # top straight: (7.5, 5.9) -> centre (7.5, 6), 16 + (10 - 7.5) = 18.5 m; inside = left
    p = reward_params(rect, 7.5, 5.9, 180.0)
    assert p["projection_distance"] == pytest.approx(18.5, abs=1e-12)
    assert p["closest_waypoints"] == [18, 19]
    assert p["distance_from_center"] == pytest.approx(0.1, abs=1e-12)
    assert p["is_left_of_center"] is True


# --- reversed direction ---------------------------------------------------------------------

def test_reversed_direction(rect):
    # reversed line = rows[::-1]: index j is forward row 32 - j; it runs (0,0) -> (0,6) ->
    # (10,6) -> (10,0) -> (0,0), so (3, 0) lies 6 + 10 + 6 + 7 = 29 m along it
    p = reward_params(rect, 3.0, 0.2, 180.0, reversed=True)
    assert p["is_reversed"] is True
    assert p["waypoints"] == rectangle_centre()[::-1]
    assert p["waypoints"][0] == (0.0, 0.0)
    assert p["waypoints"][1] == (0.0, 1.0)
    assert p["projection_distance"] == pytest.approx(29.0, abs=1e-12)
    # ndist 29/32 equals ndists[29] of the reversed line -> bisect_right -> next 30
    assert p["closest_waypoints"] == [29, 30]
    assert p["track_length"] == pytest.approx(L, abs=1e-12)
    assert p["distance_from_center"] == pytest.approx(0.2, abs=1e-12)
    # spec §1.3: is_ccw = forward_ccw XOR reversed = False; the point is closer to the inner
    # border (0.3 vs 0.7) -> True XOR (not False) = False. Travelling -x, y = 0.2 is indeed
    # on the right of travel.
    assert p["is_left_of_center"] is False
    q = reward_params(rect, 3.0, -0.2, 180.0, reversed=True)
    assert q["is_left_of_center"] is True  # closer to outer: False XOR True


def test_reversed_progress_measured_on_reversed_line(rect):
    # start 27 m along the reversed line = forward point (5, 0); car at (3, 0.2) is at 29 m
    # -> progress = 100 * (29 - 27) / 32 = 6.25 %
    p = reward_params(rect, 3.0, 0.2, 180.0, reversed=True, start_distance=27.0)
    assert p["progress"] == pytest.approx(6.25, abs=1e-9)
    # same pose, forward direction, same start distance: forward 3 m vs start 27 m
    # -> 100 * (3 - 27) / 32 = -75 -> +100 = 25 % (prev 0: no further wrap)
    q = reward_params(rect, 3.0, 0.2, 0.0, start_distance=27.0)
    assert q["progress"] == pytest.approx(25.0, abs=1e-9)


# --- wheels -----------------------------------------------------------------------------------

def reference_point(ox: float, oy: float, heading_deg: float) -> tuple[float, float]:
    """The params x, y of a car whose origin is (ox, oy): origin + 0.14 m forward."""
    yaw = math.radians(heading_deg)
    return ox + REFERENCE_POINT_X * math.cos(yaw), oy + REFERENCE_POINT_X * math.sin(yaw)


def test_wheel_positions_constant():
    # spec §3.1: rear axle x -0.081663, half track 0.08105; front x 0.082311, half track 0.079601;
    # order left rear, left front, right rear, right front
    assert WHEEL_POSITIONS == (
        (-0.081663, 0.08105), (0.082311, 0.079601), (-0.081663, -0.08105), (0.082311, -0.079601),
    )


def test_car_on_inner_border_two_wheels_off(rect):
    # origin (3, 0.5), heading 0: left wheels at y = 0.5 + 0.08105 / 0.5 + 0.079601 (off, the
    # road is y < 0.5), right wheels at y = 0.41895 / 0.420399 (on)
    x, y = reference_point(3.0, 0.5, 0.0)
    p = reward_params(rect, x, y, 0.0)
    assert p["all_wheels_on_track"] is False
    assert p["is_offtrack"] is False


def test_exactly_one_wheel_off(rect):
    # origin y = 0.4195: LR y = 0.4195 + 0.08105 = 0.50055 (off), LF y = 0.4195 + 0.079601 =
    # 0.499101 (on) -> only the left rear wheel is off
    x, y = reference_point(3.0, 0.4195, 0.0)
    p = reward_params(rect, x, y, 0.0)
    assert p["all_wheels_on_track"] is False
    assert p["is_offtrack"] is False
    # 1 mm further in (origin y = 0.4185): LR y = 0.49955 -> all four on
    x, y = reference_point(3.0, 0.4185, 0.0)
    assert reward_params(rect, x, y, 0.0)["all_wheels_on_track"] is True


def test_rear_wheels_off_front_on(rect):
    # heading +90 on the bottom straight with the origin at y = -0.54: the car frame's x axis is
    # world +y, so rear wheels at y = -0.54 - 0.081663 = -0.621663 (off, road y > -0.5) and
    # front wheels at y = -0.54 + 0.082311 = -0.457689 (on)
    x, y = reference_point(4.0, -0.54, 90.0)
    p = reward_params(rect, x, y, 90.0)
    assert p["all_wheels_on_track"] is False
    assert p["is_offtrack"] is False


@pytest.mark.parametrize("origin_y", [0.7, -0.7])
def test_all_four_wheels_off(rect, origin_y):
    # origin y = 0.7: wheels at 0.618..0.781 (in the infield, y > 0.5); y = -0.7: -0.781..-0.618
    # (outside the outer border, y < -0.5)
    x, y = reference_point(3.0, origin_y, 0.0)
    p = reward_params(rect, x, y, 0.0)
    assert p["all_wheels_on_track"] is False
    assert p["is_offtrack"] is True


# --- progress wrap rules (spec §1.3 compute_current_prog) ---------------------------------------
# start 20 m along = (6, 6) on the top straight (travel -x)

def test_progress_just_behind_start_line(rect):
    # car at 19.5 m = (6.5, 6): cur = -0.5 / 32 -> p = -1.5625 -> <= 0 -> 98.4375
    p = reward_params(rect, 6.5, 6.0, 180.0, start_distance=20.0, prev_progress=97.0)
    assert p["progress"] == pytest.approx(98.4375, abs=1e-9)
    # prev 0: 98.4375 > 0 + 50 -> -100 -> -1.5625 (slightly negative, as the simapp)
    p = reward_params(rect, 6.5, 6.0, 180.0, start_distance=20.0, prev_progress=0.0)
    assert p["progress"] == pytest.approx(-1.5625, abs=1e-9)


def test_progress_crossing_finish_line(rect):
    # car at 20.5 m = (5.5, 6): p = 100 * 0.5 / 32 = 1.5625; prev 99 > 51.5625 -> +100 = 101.5625
    # -> capped at 100
    p = reward_params(rect, 5.5, 6.0, 180.0, start_distance=20.0, prev_progress=99.0)
    assert p["progress"] == 100.0
    p = reward_params(rect, 5.5, 6.0, 180.0, start_distance=20.0, prev_progress=0.0)
    assert p["progress"] == pytest.approx(1.5625, abs=1e-9)


def test_progress_at_start_point(rect):
    # cur = 0 -> p = 0 -> <= 0 -> 100 -> 100 > 0 + 50 -> 0
    p = reward_params(rect, 6.0, 6.0, 180.0, start_distance=20.0, prev_progress=0.0)
    assert p["progress"] == pytest.approx(0.0, abs=1e-9)


def test_progress_past_waypoint_zero(rect):
    # start 20 m, car at 2 m = (2, 0): cur = (2 - 20) / 32 -> -56.25 -> +100 = 43.75
    p = reward_params(rect, 2.0, 0.0, 0.0, start_distance=20.0, prev_progress=40.0)
    assert p["progress"] == pytest.approx(43.75, abs=1e-9)
    # start distance is taken modulo the lap: 20 + 32 = 52 m is the same start
    q = reward_params(rect, 2.0, 0.0, 0.0, start_distance=52.0, prev_progress=40.0)
    assert q["progress"] == pytest.approx(43.75, abs=1e-9)


def test_progress_jump_forward_is_capped(rect):
    # start 0, car at 3.2 m = (3.2, 0): p = 10; prev 70 > 60 -> +100 = 110 -> capped 100
    p = reward_params(rect, 3.2, 0.0, 0.0, prev_progress=70.0)
    assert p["progress"] == 100.0


def test_progress_near_lap_end(rect):
    # start 0, car at 31.5 m = (0, 0.5): p = 98.4375; prev 98 -> kept; prev 0 -> -1.5625
    p = reward_params(rect, 0.0, 0.5, -90.0, prev_progress=98.0)
    assert p["progress"] == pytest.approx(98.4375, abs=1e-9)
    p = reward_params(rect, 0.0, 0.5, -90.0, prev_progress=0.0)
    assert p["progress"] == pytest.approx(-1.5625, abs=1e-9)


# --- action values, steps, keys, types --------------------------------------------------------

def test_steps_speed_and_steering_passed_through(rect):
    p = reward_params(rect, 3.0, 0.2, 0.0, speed=5.0, steering_angle=45.0, steps=7)
    # steps is a float (spec §1.3: 2.0, not 2)
    assert type(p["steps"]) is float
    assert p["steps"] == 7.0
    # the commanded values, not clipped to [0.1, 4] m/s / +-30 degrees
    assert p["speed"] == 5.0
    assert p["steering_angle"] == 45.0
    q = reward_params(rect, 3.0, 0.2, 0.0, speed=0.05, steering_angle=-31.5)
    assert q["speed"] == 0.05
    assert q["steering_angle"] == -31.5
    # defaults: steps 2.0 (the first reward call), speed 1.0, steering 0.0
    d = reward_params(rect, 3.0, 0.2, 0.0)
    assert d["steps"] == 2.0
    assert d["speed"] == 1.0
    assert d["steering_angle"] == 0.0


def test_keys_match_spec(rect):
    p = reward_params(rect, 3.0, 0.2, 0.0)
    assert len(PARAM_KEYS) == 26
    assert tuple(PARAM_KEYS) == SPEC_KEYS
    assert list(p.keys()) == list(SPEC_KEYS)
    assert "sim_time" not in p


@pytest.mark.shared_data
def test_keys_match_spec_table_file():
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} not found")
    text = SPEC.read_text()
    section = text.split("### 1.3 Key table", 1)[1].split("\n## ", 1)[0]
    keys = []
    for line in section.splitlines():
        if line.startswith("| `"):
            cell = line.split("|")[1]
            keys += [k for k in cell.replace("`", " ").replace(",", " ").split() if k]
    assert [k for k in keys if k != "sim_time"] == list(PARAM_KEYS)


def test_object_key_defaults(rect):
    p = reward_params(rect, 3.0, 0.2, 0.0)
    assert p["closest_objects"] == [0, 0]
    for k in ("objects_location", "objects_left_of_center", "objects_distance",
              "objects_distance_from_center", "objects_heading", "objects_speed"):
        assert p[k] == [], k
    assert p["object_in_camera"] is False
    assert p["is_crashed"] is False


def test_value_types(rect):
    p = reward_params(rect, 3.0, 0.2, 0.0)
    for k in ("all_wheels_on_track", "is_left_of_center", "is_offtrack", "is_crashed",
              "is_reversed", "object_in_camera"):
        assert type(p[k]) is bool, k
    for k in ("x", "y", "heading", "distance_from_center", "progress", "steps", "speed",
              "steering_angle", "track_width", "track_length", "projection_distance"):
        assert type(p[k]) is float, k
    assert type(p["closest_waypoints"]) is list
    assert len(p["closest_waypoints"]) == 2
    assert all(type(i) is int for i in p["closest_waypoints"])
    assert type(p["waypoints"]) is list
    assert len(p["waypoints"]) == 33  # N rows, closing duplicate included (spec §1.3)
    assert p["waypoints"][0] == p["waypoints"][-1] == (0.0, 0.0)
    assert all(type(w) is tuple and len(w) == 2 for w in p["waypoints"])
    assert all(type(c) is float for w in p["waypoints"] for c in w)
    assert p["waypoints"] == rectangle_centre()


def test_mutating_result_does_not_leak(rect):
    p = reward_params(rect, 3.0, 0.2, 0.0)
    reference = copy.deepcopy(p)
    p["waypoints"].append((99.0, 99.0))
    p["waypoints"][0] = (-1.0, -1.0)
    p["waypoints"].reverse()
    p["closest_waypoints"][0] = 77
    p["closest_objects"].append(5)
    p["objects_location"].append([1.0, 2.0])
    p["progress"] = -5.0
    del p["x"]
    q = reward_params(rect, 3.0, 0.2, 0.0)
    assert q == reference
    assert rect.waypoint_list() == rectangle_centre()
    assert rect.waypoint_list(True) == rectangle_centre()[::-1]


def test_non_finite_input_raises(rect):
    with pytest.raises(ValueError):
        reward_params(rect, float("nan"), 0.2, 0.0)
    with pytest.raises(ValueError):
        reward_params(rect, 3.0, 0.2, float("inf"))


# --- local track width ------------------------------------------------------------------------

def test_local_track_width():
    # bottom straight 1.0 m wide, top straight 0.8 m (inner y = 5.6, outer y = 6.4)
    track = track_from_array(rectangle_array(width_bottom=1.0, width_top=0.8), "rect-08")
    bottom = reward_params(track, 3.0, 0.2, 0.0)
    assert bottom["track_width"] == pytest.approx(1.0, abs=1e-12)
    top = reward_params(track, 5.0, 6.1, 180.0)
    # near_c (5, 6); near_in (5, 5.6); near_out (5, 6.4) -> 0.8
    assert top["track_width"] == pytest.approx(0.8, abs=1e-12)
    assert top["distance_from_center"] == pytest.approx(0.1, abs=1e-12)
    # (5, 6.1): 0.5 from the inner border, 0.3 from the outer one -> right of travel (-x)
    assert top["is_left_of_center"] is False
    # right side (x = 10, 1.0 m wide): (10.2, 3) -> 1.0
    assert reward_params(track, 10.2, 3.0, 90.0)["track_width"] == pytest.approx(1.0, abs=1e-12)
    # on the top straight the road is 5.6 < y < 6.4: origin y = 6.33 puts the right wheels
    # (heading 180: right = +y) at 6.33 + 0.08105 = 6.41105 / 6.409601 (off), the left at
    # 6.24895 / 6.250399 (on)
    x, y = reference_point(5.0, 6.33, 180.0)
    p = reward_params(track, x, y, 180.0)
    assert p["all_wheels_on_track"] is False
    assert p["is_offtrack"] is False


# --- shapely oracle (spec §1.2: the simapp computes all geometry with shapely) ----------------

_CENTRE = LinearRing(rectangle_centre()[:-1])
_RAW = rectangle_array()
_INNER = LinearRing(_RAW[:-1, 2:4])
_OUTER = LinearRing(_RAW[:-1, 4:6])
_ROAD = Polygon(_RAW[:-1, 4:6], [_RAW[:-1, 2:4]])
_SEGMENTS = [LineString(rectangle_centre()[i:i + 2]) for i in range(32)]
_NDISTS = [_CENTRE.project(Point(p), normalized=True) for p in rectangle_centre()[:-1]] + [1.0]


@settings(max_examples=200, deadline=None)
@given(
    along_um=st.integers(0, 31_999_999),
    offset_um=st.integers(-750_000, 750_000),
    heading=st.floats(-179.9, 180.0),
)
def test_matches_shapely(rect, along_um, offset_um, heading):
    # a reference point near the centre line: `along` metres from waypoint 0, `offset` to the
    # left (on a micrometre grid: sub-normal offsets would underflow the squared distances and
    # make the projection of a point at waypoint 0 an arbitrary 0 or 32 m)
    along, offset = along_um * 1e-6, offset_um * 1e-6
    c = _CENTRE.interpolate(along)
    k = int(along // 1.0)
    (ax, ay), (bx, by) = rectangle_centre()[k], rectangle_centre()[k + 1]
    nx, ny = -(by - ay), bx - ax  # unit left normal of the segment
    px, py = c.x + offset * nx, c.y + offset * ny
    pt = Point(px, py)
    # skip near-ties between segments with different nearest points (on the bisector of an
    # inner corner): there the nearest segment is decided by the last bit of two differently
    # computed distances
    seg_d = [seg.distance(pt) for seg in _SEGMENTS]
    nearest = {round((i + _SEGMENTS[i].project(pt)) % L, 6)
               for i in range(32) if seg_d[i] < min(seg_d) + 1e-9}
    assume(len(nearest) == 1)
    p = reward_params(rect, px, py, heading)
    ndist = _CENTRE.project(pt, normalized=True)
    assert p["distance_from_center"] == pytest.approx(_CENTRE.distance(pt), abs=1e-9)
    assert p["projection_distance"] == pytest.approx(ndist * L, abs=1e-9)
    nxt = bisect.bisect_right(_NDISTS, ndist)
    assert p["closest_waypoints"] == [nxt - 1, nxt]
    near_c = _CENTRE.interpolate(ndist, normalized=True)
    near_in = _INNER.interpolate(_INNER.project(near_c))
    near_out = _OUTER.interpolate(_OUTER.project(near_c))
    assert p["track_width"] == pytest.approx(near_in.distance(near_out), abs=1e-9)
    d_in, d_out = pt.distance(near_in), pt.distance(near_out)
    if abs(d_in - d_out) > 1e-9:
        assert p["is_left_of_center"] == (d_in < d_out)  # XOR (not is_ccw) with is_ccw True
    yaw = math.radians(heading)
    ox, oy = px - REFERENCE_POINT_X * math.cos(yaw), py - REFERENCE_POINT_X * math.sin(yaw)
    on = [
        _ROAD.contains(Point(ox + wx * math.cos(yaw) - wy * math.sin(yaw),
                             oy + wx * math.sin(yaw) + wy * math.cos(yaw)))
        for wx, wy in WHEEL_POSITIONS
    ]
    assert p["all_wheels_on_track"] == all(on)
    assert p["is_offtrack"] == (not any(on))
