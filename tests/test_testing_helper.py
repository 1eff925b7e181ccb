"""``deepracer_sim.testing.make_params``: params dicts for racers' unit tests of reward files.

Hand-worked geometry of dr_sim_default (tracks/README.md; rows read from the file): the start
straight runs along y = -3.4 in +x from waypoint 0 (0, -3.4) to waypoint 10 (2.005192, -3.4),
waypoints 0.200519 m apart; the inner border (left of travel, CCW) is y = -3.019, the outer
y = -3.781 (width 0.762); the right straight (waypoints ~18-40) runs in +y along x = 3.162478.
Shapely is the oracle for distances and the centre-line length.
"""

from __future__ import annotations

import math

import pytest
from shapely.geometry import LinearRing, LineString, Point

from deepracer_sim.constants import WHEEL_POSITIONS
from deepracer_sim.sim.params import PARAM_KEYS
from deepracer_sim.testing import load_reward, make_params, track_direction
from deepracer_sim.track import PROJECT_TRACKS_DIR, load_track

TRACK = "dr_sim_default"


@pytest.fixture(scope="module")
def track():
    return load_track(TRACK)


@pytest.fixture(scope="module")
def centre_length(track):
    return LineString(track.waypoints[:, 0:2]).length


def test_all_keys_at_a_waypoint(track, centre_length):
    p = make_params(TRACK, waypoint=5)
    assert set(p) == set(PARAM_KEYS) and len(p) == 26
    assert (p["x"], p["y"]) == pytest.approx((1.002596, -3.4), abs=1e-12)
    assert p["heading"] == pytest.approx(0.0, abs=1e-9)
    assert p["distance_from_center"] == pytest.approx(0.0, abs=1e-12)
    assert p["closest_waypoints"] == [5, 6]
    assert p["track_width"] == pytest.approx(0.762, abs=1e-9)
    assert p["track_length"] == pytest.approx(centre_length, abs=1e-9)
    # the episode started at waypoint 0: progress = 1.002596 m of the lap
    assert p["progress"] == pytest.approx(100 * 1.002596 / centre_length, abs=1e-9)
    assert p["all_wheels_on_track"] is True and p["is_offtrack"] is False
    assert p["steps"] == 2.0 and p["speed"] == 1.0 and p["steering_angle"] == 0.0
    assert p["is_reversed"] is False
    assert p["waypoints"] == [tuple(r) for r in track.waypoints[:, 0:2].tolist()]


def test_offset_left_and_right():
    left = make_params(TRACK, waypoint=5, offset=0.2)
    right = make_params(TRACK, waypoint=5, offset=-0.2)
    # + = left of travel; travel is +x, so left is +y
    assert (left["x"], left["y"]) == pytest.approx((1.002596, -3.2), abs=1e-12)
    assert (right["x"], right["y"]) == pytest.approx((1.002596, -3.6), abs=1e-12)
    assert left["distance_from_center"] == pytest.approx(0.2, abs=1e-12)
    assert right["distance_from_center"] == pytest.approx(0.2, abs=1e-12)
    assert left["is_left_of_center"] is True and right["is_left_of_center"] is False
    # wheels stay within 0.2 + max |wheel y| of the centre: inside the 0.381 half width
    assert 0.2 + max(abs(w[1]) for w in WHEEL_POSITIONS) < 0.381
    assert left["all_wheels_on_track"] is True


def test_off_track():
    # reference point 0.6 m left of the centre: y = -2.8, beyond the inner border y = -3.019;
    # every wheel is at y >= -2.8 - max |wheel y| > -3.019, so all four are off the road
    assert -2.8 - max(abs(w[1]) for w in WHEEL_POSITIONS) > -3.019
    p = make_params(TRACK, waypoint=5, offset=0.6)
    assert p["is_offtrack"] is True and p["all_wheels_on_track"] is False
    assert p["distance_from_center"] == pytest.approx(0.6, abs=1e-12)


def test_distance_and_xy():
    p = make_params(TRACK, distance=1.1)
    assert (p["x"], p["y"]) == pytest.approx((1.1, -3.4), abs=1e-12)
    q = make_params(TRACK, x=0.5, y=-3.3)
    assert (q["x"], q["y"]) == pytest.approx((0.5, -3.3), abs=1e-12)
    assert q["distance_from_center"] == pytest.approx(0.1, abs=1e-12)
    assert q["is_left_of_center"] is True
    assert q["heading"] == pytest.approx(0.0, abs=1e-9)  # default: along the track


def test_heading():
    assert make_params(TRACK, waypoint=5, heading_offset=90.0)["heading"] == pytest.approx(90.0)
    assert make_params(TRACK, waypoint=5, heading=-45.0)["heading"] == pytest.approx(-45.0)
    # the right straight runs in +y
    assert make_params(TRACK, waypoint=25)["heading"] == pytest.approx(90.0, abs=1e-9)
    assert track_direction(TRACK, waypoint=25) == pytest.approx(90.0, abs=1e-9)


def test_on_a_curve_matches_shapely(track):
    ring = LinearRing(track.waypoints[:-1, 0:2])
    for wp in (13, 47, 66, 90):
        for offset in (-0.25, 0.1, 0.3):
            p = make_params(track, waypoint=wp, offset=offset)
            assert p["distance_from_center"] == pytest.approx(
                ring.distance(Point(p["x"], p["y"])), abs=1e-9)
            assert p["is_left_of_center"] is (offset > 0)


def test_progress_steps_action():
    p = make_params(TRACK, waypoint=30, progress=42.0, steps=120, speed=2.5,
                    steering_angle=-15.0)
    assert p["progress"] == 42.0
    assert p["steps"] == 120.0 and p["speed"] == 2.5 and p["steering_angle"] == -15.0


def test_reversed(track):
    n = track.num_waypoints
    p = make_params(TRACK, waypoint=5, reversed=True)
    assert p["is_reversed"] is True
    rev = track.waypoints[::-1, 0:2]
    assert p["waypoints"] == [tuple(r) for r in rev.tolist()]
    # waypoint 5 of the reversed list is row n - 1 - 5 of the file
    assert (p["x"], p["y"]) == pytest.approx(tuple(track.waypoints[n - 6, 0:2]), abs=1e-12)
    assert p["closest_waypoints"] == [5, 6]
    d = rev[6] - rev[5]
    assert p["heading"] == pytest.approx(math.degrees(math.atan2(d[1], d[0])), abs=1e-9)


def test_overrides_and_errors():
    p = make_params(TRACK, is_crashed=True, objects_location=[[1.0, 2.0]])
    assert p["is_crashed"] is True and p["objects_location"] == [[1.0, 2.0]]
    with pytest.raises(TypeError, match="distance_from_centre"):
        make_params(TRACK, distance_from_centre=0.1)
    with pytest.raises(TypeError):
        make_params(TRACK, waypoint=3, distance=1.0)
    with pytest.raises(TypeError):
        make_params(TRACK, x=1.0)
    with pytest.raises(TypeError):
        make_params(TRACK, x=1.0, y=2.0, offset=0.1)
    with pytest.raises(IndexError, match="117 waypoints"):
        make_params(TRACK, waypoint=117)


def test_fresh_dicts():
    a = make_params(TRACK, waypoint=3)
    a["waypoints"].append((0.0, 0.0))
    a["closest_waypoints"][0] = 99
    b = make_params(TRACK, waypoint=3)
    assert len(b["waypoints"]) == 117 and b["closest_waypoints"] == [3, 4]


def test_track_object_and_path(track):
    by_path = make_params(PROJECT_TRACKS_DIR / f"{TRACK}.npy", waypoint=7)
    by_obj = make_params(track, waypoint=7)
    assert by_path == by_obj


# the README's example, as a racer would write it
reward_function = load_reward(PROJECT_TRACKS_DIR.parent / "rewards" / "center.py")


def test_readme_example_centre_pays_more_than_the_edge():
    centre = make_params("dr_sim_default", waypoint=10)
    edge = make_params("dr_sim_default", waypoint=10, offset=0.3)  # 0.3 m left of centre
    assert reward_function(centre) > reward_function(edge)
    # center.py's bands on a 0.762 m track: 0 <= 0.0762 -> 1.0; 0.3 in (0.1905, 0.381] -> 0.1
    assert reward_function(centre) == 1.0
    assert reward_function(edge) == 0.1
