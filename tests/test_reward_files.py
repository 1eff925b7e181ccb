"""Tests for the plain AWS DeepRacer reward-function files in ``rewards/``.

The files must run unchanged in the AWS DeepRacer cloud, so they are loaded
straight from their paths with importlib (no package import, no dependency on
``deepracer_sim``) and fed hand-built 26-key params dicts. Expected numbers
below are worked out by hand from each file's documented formula.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import itertools
import math
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REWARDS_DIR = Path(__file__).parent.parent / "rewards"

REWARD_FILES = [
    "center.py",
    "steering_penalty.py",
    "speed.py",
    "progress_efficiency.py",
    "heading.py",
]

# Modules the AWS DeepRacer cloud lets a reward function import.
ALLOWED_IMPORTS = {"math", "random", "numpy", "scipy", "shapely"}
# Names the cloud validator rejects anywhere in the file text.
FORBIDDEN_NAMES = ["open", "eval", "exec", "compile", "input", "__import__"]
FORBIDDEN_SUBSTRINGS = [
    "load",
    "save",
    "fromfile",
    "tofile",
    "memmap",
    "genfromtxt",
    "loadtxt",
    "savez",
    "savetxt",
]

PARAMS_KEYS = {
    "all_wheels_on_track",
    "x",
    "y",
    "heading",
    "distance_from_center",
    "is_left_of_center",
    "is_offtrack",
    "is_crashed",
    "is_reversed",
    "progress",
    "steps",
    "speed",
    "steering_angle",
    "track_width",
    "track_length",
    "waypoints",
    "closest_waypoints",
    "projection_distance",
    "closest_objects",
    "objects_location",
    "objects_left_of_center",
    "objects_distance",
    "objects_distance_from_center",
    "objects_heading",
    "objects_speed",
    "object_in_camera",
}


def _rectangle_track() -> list[tuple[float, float]]:
    """A 10 m x 4 m counter-clockwise rectangle loop, 1 m between waypoints.

    Bottom side runs +x along the x-axis, right side +y (with the point
    (10, 2) repeated once), top side -x, left side -y; the last waypoint
    equals the first, as on a real loop track.
    """
    bottom = [(float(i), 0.0) for i in range(0, 10)]  # (0,0) .. (9,0)
    right = [(10.0, 0.0), (10.0, 1.0), (10.0, 2.0), (10.0, 2.0), (10.0, 3.0)]
    top = [(float(10 - i), 4.0) for i in range(0, 10)]  # (10,4) .. (1,4)
    left = [(0.0, float(4 - j)) for j in range(0, 5)]  # (0,4) .. (0,0)
    return bottom + right + top + left


WAYPOINTS = _rectangle_track()
TRACK_LENGTH = 28.0
DUPLICATE_INDEX = WAYPOINTS.index((10.0, 2.0))  # first of the repeated pair
# A degenerate "track" where every waypoint is the same point.
DEGENERATE_WAYPOINTS = [(1.0, 1.0), (1.0, 1.0), (1.0, 1.0)]


def make_params(**overrides):
    """A full 26-key params dict: car on the bottom straight, heading +x."""
    params = {
        "all_wheels_on_track": True,
        "x": 2.5,
        "y": 0.0,
        "heading": 0.0,
        "distance_from_center": 0.0,
        "is_left_of_center": False,
        "is_offtrack": False,
        "is_crashed": False,
        "is_reversed": False,
        "progress": 10.0,
        "steps": 20.0,
        "speed": 2.0,
        "steering_angle": 0.0,
        "track_width": 1.0,
        "track_length": TRACK_LENGTH,
        "waypoints": list(WAYPOINTS),
        "closest_waypoints": [2, 3],
        "projection_distance": 2.5,
        "closest_objects": [0, 0],
        "objects_location": [],
        "objects_left_of_center": [],
        "objects_distance": [],
        "objects_distance_from_center": [],
        "objects_heading": [],
        "objects_speed": [],
        "object_in_camera": False,
    }
    unknown = set(overrides) - set(params)
    assert not unknown, f"unknown params keys: {unknown}"
    params.update(overrides)
    assert set(params) == PARAMS_KEYS
    return params


@cache
def load_reward(file_name: str):
    """Load ``rewards/<file_name>`` from its path and return reward_function."""
    path = REWARDS_DIR / file_name
    spec = importlib.util.spec_from_file_location(f"reward_file_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_function


def call(file_name: str, **overrides):
    return load_reward(file_name)(make_params(**overrides))


# --------------------------------------------------------------------------- #
# center.py
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("distance", "expected"),
    [
        (0.0, 1.0),
        (0.05, 1.0),
        (0.1, 1.0),  # edge of band 1: 0.1 * 1.0, inclusive
        (0.15, 0.5),
        (0.25, 0.5),  # edge of band 2, inclusive
        (0.3, 0.1),
        (0.5, 0.1),  # edge of band 3, inclusive
        (0.6, 1e-3),
        (3.0, 1e-3),
    ],
)
def test_center_bands(distance, expected):
    assert call("center.py", distance_from_center=distance, track_width=1.0) == expected


def test_center_bands_scale_with_track_width():
    # track_width 2.0: bands end at 0.2, 0.5, 1.0 m.
    assert call("center.py", distance_from_center=0.15, track_width=2.0) == 1.0
    assert call("center.py", distance_from_center=0.3, track_width=2.0) == 0.5
    assert call("center.py", distance_from_center=0.6, track_width=2.0) == 0.1
    assert call("center.py", distance_from_center=1.2, track_width=2.0) == 1e-3


# --------------------------------------------------------------------------- #
# steering_penalty.py
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("distance", "steering", "expected"),
    [
        (0.05, 0.0, 1.0),
        (0.05, 15.0, 1.0),  # threshold is "> 15", so exactly 15 is not penalised
        (0.05, 20.0, 0.8),  # 1.0 * 0.8
        (0.05, -20.0, 0.8),  # abs() of the steering angle
        (0.05, 30.0, 0.8),
        (0.15, 20.0, 0.4),  # 0.5 * 0.8
        (0.3, 0.0, 0.1),
        (0.3, -25.0, 0.08),  # 0.1 * 0.8
        (0.6, 0.0, 1e-3),
        (0.6, 20.0, 1e-3),  # 1e-3 * 0.8 = 8e-4 is raised to the 1e-3 floor
    ],
)
def test_steering_penalty(distance, steering, expected):
    got = call(
        "steering_penalty.py",
        distance_from_center=distance,
        track_width=1.0,
        steering_angle=steering,
    )
    assert got == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- #
# speed.py
# --------------------------------------------------------------------------- #


def test_speed_strictly_increases_with_speed_on_track():
    for distance in (0.0, 0.2, 0.5, 0.9):
        speeds = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
        rewards = [call("speed.py", speed=s, distance_from_center=distance) for s in speeds]
        assert all(a < b for a, b in itertools.pairwise(rewards)), (distance, rewards)


def test_speed_values():
    # 1e-3 + (4/4)**2 + 0.5 * (1 - 0/0.5) = 1.501
    assert call("speed.py", speed=4.0, distance_from_center=0.0) == pytest.approx(1.501)
    # 1e-3 + (2/4)**2 + 0.5 * (1 - 0.25/0.5) = 0.001 + 0.25 + 0.25 = 0.501
    assert call("speed.py", speed=2.0, distance_from_center=0.25) == pytest.approx(0.501)
    # 1e-3 + (1/4)**2 + 0 (at the edge: 0.5 m of a 1 m track) = 0.0635
    assert call("speed.py", speed=1.0, distance_from_center=0.5) == pytest.approx(0.0635)


def test_speed_off_track_is_floor():
    for speed in (0.0, 2.0, 4.0):
        got = call("speed.py", speed=speed, all_wheels_on_track=False, is_offtrack=True)
        assert got == 1e-3


def test_speed_on_track_beats_off_track():
    on_track = call("speed.py", speed=0.5, distance_from_center=0.45)
    off_track = call("speed.py", speed=4.0, distance_from_center=0.0, all_wheels_on_track=False)
    assert on_track > off_track


# --------------------------------------------------------------------------- #
# progress_efficiency.py
# --------------------------------------------------------------------------- #


def test_progress_efficiency_target_pace_earns_one():
    # 50 % in 112.5 steps is a 225-step lap pace: (50/112.5) / (100/225) = 1.0
    got = call("progress_efficiency.py", progress=50.0, steps=112.5)
    assert got == pytest.approx(1.0)
    # 10 % in 45 steps: (10/45) / (100/225) = 0.5
    got = call("progress_efficiency.py", progress=10.0, steps=45.0)
    assert got == pytest.approx(0.5)


def test_progress_efficiency_faster_pace_pays_more():
    slow = call("progress_efficiency.py", progress=10.0, steps=45.0)
    fast = call("progress_efficiency.py", progress=20.0, steps=45.0)
    same_progress_fewer_steps = call("progress_efficiency.py", progress=10.0, steps=30.0)
    assert fast > slow
    assert same_progress_fewer_steps > slow


def test_progress_efficiency_completion_bonus():
    # 225-step lap: pace 1.0 + bonus 100 * 225/225 = 101
    assert call("progress_efficiency.py", progress=100.0, steps=225.0) == pytest.approx(101.0)
    # 450-step lap: pace 0.5 + bonus 100 * 225/450 = 50.5
    assert call("progress_efficiency.py", progress=100.0, steps=450.0) == pytest.approx(50.5)
    # Not quite finished: (99.9/225) / (100/225) = 0.999, no bonus
    assert call("progress_efficiency.py", progress=99.9, steps=225.0) == pytest.approx(0.999)


def test_progress_efficiency_start_and_odd_values():
    # First call: steps 2.0 and no progress yet -> floor, not zero.
    assert call("progress_efficiency.py", progress=0.0, steps=2.0) == 1e-3
    # Slightly negative progress is treated as 0.
    assert call("progress_efficiency.py", progress=-0.3, steps=2.0) == 1e-3
    # Zero or negative steps do not divide by zero.
    for steps in (0.0, -1.0):
        got = call("progress_efficiency.py", progress=0.5, steps=steps)
        assert math.isfinite(got) and got > 0


def test_progress_efficiency_off_track_is_floor():
    got = call("progress_efficiency.py", progress=100.0, steps=100.0, all_wheels_on_track=False)
    assert got == 1e-3


# --------------------------------------------------------------------------- #
# heading.py
# --------------------------------------------------------------------------- #


def test_heading_aligned_beats_45_degrees_off():
    # Bottom straight: waypoints 2 -> 3 point along +x (0 degrees).
    aligned = call("heading.py", heading=0.0, closest_waypoints=[2, 3])
    off_45 = call("heading.py", heading=45.0, closest_waypoints=[2, 3])
    assert aligned == 1.0
    assert off_45 == 0.5
    assert aligned > off_45


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        (0.0, 1.0),
        (10.0, 1.0),  # exactly the threshold: not penalised
        (-10.0, 1.0),
        (11.0, 0.5),
        (-45.0, 0.5),
        (180.0, 0.5),
    ],
)
def test_heading_threshold_on_straight(heading, expected):
    assert call("heading.py", heading=heading, closest_waypoints=[2, 3]) == expected


def test_heading_wraps_around_180():
    # Top side runs -x: track direction atan2(0, -1) = 180 degrees.
    index = WAYPOINTS.index((6.0, 4.0))
    closest = [index, index + 1]
    # |180 - (-179)| = 359 -> 1 degree apart
    assert call("heading.py", heading=-179.0, closest_waypoints=closest) == 1.0
    # |180 - (-170)| = 350 -> 10 degrees, not over the threshold
    assert call("heading.py", heading=-170.0, closest_waypoints=closest) == 1.0
    # |180 - (-169)| = 349 -> 11 degrees
    assert call("heading.py", heading=-169.0, closest_waypoints=closest) == 0.5
    assert call("heading.py", heading=170.0, closest_waypoints=closest) == 1.0


def test_heading_duplicate_waypoints_look_further_ahead():
    # Waypoints DUPLICATE_INDEX and +1 are both (10, 2) on the right side, which
    # runs +y (90 degrees). A zero-length segment would give atan2(0, 0) = 0.
    closest = [DUPLICATE_INDEX, DUPLICATE_INDEX + 1]
    assert WAYPOINTS[closest[0]] == WAYPOINTS[closest[1]]
    assert call("heading.py", heading=90.0, closest_waypoints=closest) == 1.0
    assert call("heading.py", heading=0.0, closest_waypoints=closest) == 0.5


def test_heading_loop_closure_duplicate():
    # On a loop the last waypoint equals the first: [last, 0] is zero length,
    # so the segment to waypoint 1 (+x, 0 degrees) is used.
    last = len(WAYPOINTS) - 1
    assert WAYPOINTS[last] == WAYPOINTS[0]
    assert call("heading.py", heading=0.0, closest_waypoints=[last, 0]) == 1.0
    assert call("heading.py", heading=-90.0, closest_waypoints=[last, 0]) == 0.5


def test_heading_all_waypoints_identical_does_not_crash():
    got = call(
        "heading.py",
        heading=123.0,
        waypoints=list(DEGENERATE_WAYPOINTS),
        closest_waypoints=[0, 1],
    )
    assert got == 1.0


def test_heading_off_track_is_floor():
    got = call("heading.py", heading=0.0, closest_waypoints=[2, 3], all_wheels_on_track=False)
    assert got == 1e-3


# --------------------------------------------------------------------------- #
# Properties shared by every file
# --------------------------------------------------------------------------- #


def _finite(lo, hi):
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


@st.composite
def params_strategy(draw):
    waypoints = draw(st.sampled_from([WAYPOINTS, DEGENERATE_WAYPOINTS]))
    index = draw(st.integers(min_value=0, max_value=len(waypoints) - 1))
    closest = [index, (index + 1) % len(waypoints)]
    return make_params(
        all_wheels_on_track=draw(st.booleans()),
        x=draw(_finite(-50.0, 50.0)),
        y=draw(_finite(-50.0, 50.0)),
        heading=draw(_finite(-180.0, 180.0)),
        distance_from_center=draw(_finite(0.0, 5.0)),
        is_left_of_center=draw(st.booleans()),
        is_offtrack=draw(st.booleans()),
        is_crashed=draw(st.booleans()),
        is_reversed=draw(st.booleans()),
        progress=draw(st.one_of(_finite(-5.0, 100.0), st.just(100.0), st.just(0.0))),
        steps=draw(st.one_of(_finite(0.0, 10000.0), st.just(2.0), st.just(1.0))),
        speed=draw(_finite(-1.0, 10.0)),
        steering_angle=draw(_finite(-30.0, 30.0)),
        track_width=draw(_finite(0.0, 3.0)),
        waypoints=list(waypoints),
        closest_waypoints=closest,
        projection_distance=draw(_finite(0.0, TRACK_LENGTH)),
    )


@pytest.mark.parametrize("file_name", REWARD_FILES)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=params_strategy())
def test_reward_is_bounded_finite_nonzero_and_pure(file_name, params):
    reward_function = load_reward(file_name)
    snapshot = copy.deepcopy(params)
    reward = reward_function(params)
    assert isinstance(reward, (float, int)) and not isinstance(reward, bool)
    assert math.isfinite(reward)
    assert reward != 0
    assert -1e5 <= reward <= 1e5
    assert params == snapshot, "reward_function mutated params"


# --------------------------------------------------------------------------- #
# Static checks: what the cloud validator accepts
# --------------------------------------------------------------------------- #


def test_all_expected_files_exist():
    for file_name in REWARD_FILES:
        assert (REWARDS_DIR / file_name).is_file(), file_name


@pytest.mark.parametrize("file_name", REWARD_FILES)
def test_file_text_has_no_forbidden_words(file_name):
    text = (REWARDS_DIR / file_name).read_text(encoding="utf-8").lower()
    for word in FORBIDDEN_NAMES + FORBIDDEN_SUBSTRINGS:
        assert word.lower() not in text, f"{file_name} contains {word!r}"


@pytest.mark.parametrize("file_name", REWARD_FILES)
def test_file_structure(file_name):
    text = (REWARDS_DIR / file_name).read_text(encoding="utf-8")
    tree = ast.parse(text, filename=file_name)

    # Imports: only cloud-allowed modules, no relative imports.
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] in ALLOWED_IMPORTS, alias.name
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import"
            assert (node.module or "").split(".")[0] in ALLOWED_IMPORTS, node.module

    # No forbidden names used as identifiers or attributes.
    forbidden = set(FORBIDDEN_NAMES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert node.id not in forbidden, node.id
        elif isinstance(node, ast.Attribute):
            assert node.attr not in forbidden, node.attr

    # Exactly one module-level reward_function(params).
    functions = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "reward_function"
    ]
    assert len(functions) == 1
    args = functions[0].args
    assert [a.arg for a in args.args] == ["params"]
    assert not (args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs)

    # Module docstring that names every params key read and every constant.
    docstring = ast.get_docstring(tree)
    assert docstring, f"{file_name} has no module docstring"
    keys_read = {
        node.slice.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "params"
        and isinstance(node.slice, ast.Constant)
    }
    assert keys_read, "reads no params keys"
    assert keys_read <= PARAMS_KEYS, keys_read - PARAMS_KEYS
    for key in keys_read:
        assert key in docstring, f"docstring of {file_name} does not mention {key!r}"

    # Module-level assignments are UPPER_CASE tunable constants, documented.
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                assert isinstance(target, ast.Name), ast.dump(target)
                assert target.id.isupper(), f"{target.id} is not UPPER_CASE"
                assert target.id in docstring or _covered_by_range(target.id, docstring), (
                    f"docstring of {file_name} does not mention {target.id}"
                )


def _covered_by_range(name: str, docstring: str) -> bool:
    """True for MARKER_2 when the docstring says MARKER_1..3, and similar."""
    stem, _, number = name.rpartition("_")
    return bool(stem) and number.isdigit() and f"{stem}_1.." in docstring
