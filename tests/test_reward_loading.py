"""Loading and calling the racer's reward function: every bad input of spec §1.1.

The simapp imports the file, takes ``reward_function``, calls it once per RUN step with a deep
copy of the params and converts the result with ``float()``; an exception, NaN/inf or a value
outside [-1e5, 1e5] stops the job. Here each of those is a ``RewardFunctionError`` naming the
file (and line), and for run-time failures the step and the params.
"""

from __future__ import annotations

import copy
import math
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from deepracer_sim import RewardFunctionError as TopLevelError
from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.reward import (
    RewardCaller,
    RewardFunctionError,
    center_line_reward,
    load_reward_function,
    make_reward_caller,
)
from deepracer_sim.sim.params import PARAM_KEYS, reward_params
from deepracer_sim.track import load_track

REPO = Path(__file__).resolve().parents[1]
REWARDS_DIR = REPO / "rewards"
REWARD_FILES = sorted(REWARDS_DIR.glob("*.py"))


@pytest.fixture(scope="module")
def track():
    return load_track("dr_sim_default")


@pytest.fixture(scope="module")
def start_params(track):
    # start pose of dr_sim_default: reference point (0.14, -3.4), heading 0
    return reward_params(track, 0.14, -3.4, 0.0)


def write(tmp_path: Path, text: str, name: str = "reward.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_error_class_is_exported():
    assert TopLevelError is RewardFunctionError


# --------------------------------------------------------------------------- loading


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope" / "reward_function.py"
    with pytest.raises(RewardFunctionError) as exc:
        load_reward_function(path)
    assert str(path) in str(exc.value)
    with pytest.raises(RewardFunctionError, match="does not exist"):
        DeepRacerEnv(reward_function=str(path))


def test_directory_is_not_a_reward_file(tmp_path):
    with pytest.raises(RewardFunctionError) as exc:
        load_reward_function(tmp_path)
    assert str(tmp_path) in str(exc.value)


def test_syntax_error_has_file_and_line(tmp_path):
    path = write(tmp_path, """
        def reward_function(params):
            x = params["x"]
            return (x +
    """)
    # the unclosed parenthesis opens on line 3
    with pytest.raises(RewardFunctionError) as exc:
        load_reward_function(path)
    assert f"{path}:3:" in str(exc.value)
    assert "syntax" in str(exc.value).lower()


def test_indentation_error_has_file_and_line(tmp_path):
    path = write(tmp_path, """
        def reward_function(params):
            a = 1
              b = 2
            return 1.0
    """)
    with pytest.raises(RewardFunctionError) as exc:
        load_reward_function(path)
    assert f"{path}:3:" in str(exc.value)


def test_import_time_exception(tmp_path):
    path = write(tmp_path, """
        import math
        SCALE = 1 / 0

        def reward_function(params):
            return 1.0
    """)
    with pytest.raises(RewardFunctionError) as exc:
        load_reward_function(path)
    msg = str(exc.value)
    assert f"{path}:2:" in msg
    assert "ZeroDivisionError" in msg


def test_import_of_missing_module(tmp_path):
    path = write(tmp_path, """
        import not_a_module_that_exists_xyz

        def reward_function(params):
            return 1.0
    """)
    with pytest.raises(RewardFunctionError) as exc:
        load_reward_function(path)
    assert f"{path}:1:" in str(exc.value)
    assert "not_a_module_that_exists_xyz" in str(exc.value)


def test_no_reward_function(tmp_path):
    path = write(tmp_path, """
        def reward(params):
            return 1.0
    """)
    with pytest.raises(RewardFunctionError) as exc:
        load_reward_function(path)
    assert str(path) in str(exc.value)
    assert "reward_function" in str(exc.value)


@pytest.mark.parametrize("value", ["1.0", "[1, 2]", "3", "'reward'"])
def test_reward_function_not_callable(tmp_path, value):
    path = write(tmp_path, f"reward_function = {value}\n")
    with pytest.raises(RewardFunctionError) as exc:
        load_reward_function(path)
    assert str(path) in str(exc.value)
    assert "not a function" in str(exc.value)


def test_reward_function_none(tmp_path):
    path = write(tmp_path, "reward_function = None\n")
    with pytest.raises(RewardFunctionError) as exc:
        load_reward_function(path)
    assert str(path) in str(exc.value)
    assert "reward_function" in str(exc.value)


def test_two_files_with_the_same_function_name_stay_separate(tmp_path):
    a = write(tmp_path, "def reward_function(params):\n    return 1.0\n", "a.py")
    b = write(tmp_path, "def reward_function(params):\n    return 2.0\n", "b.py")
    fa, fb = load_reward_function(a), load_reward_function(b)
    assert (fa({}), fb({})) == (1.0, 2.0)


def test_file_with_allowed_imports_loads(tmp_path, start_params):
    # a file using the allowed imports (spec §1.1) loads and runs
    path = write(tmp_path, """
        import math
        import numpy as np

        def reward_function(params):
            return float(np.clip(math.cos(math.radians(params["heading"])), 1e-3, 1.0))
    """)
    fn = load_reward_function(path)
    # heading 0 -> cos 0 = 1
    assert fn(dict(start_params)) == 1.0


# --------------------------------------------------------------------------- run-time errors


RAISING = """
def helper(params):
    return params["steps"] * 0.0


def reward_function(params):
    if params["steps"] >= 5:
        raise ValueError("boom")
    return 1.0 + helper(params)
"""

RAISING_IN_HELPER = """
def helper(params):
    return params["no_such_key"]


def reward_function(params):
    if params["steps"] >= 4:
        return helper(params)
    return 1.0
"""


def _twin_params(step: int) -> dict:
    """The params of ``step`` of the same episode, from an env with a harmless reward."""
    seen = []
    env = DeepRacerEnv(reward_function=lambda p: seen.append(p) or 1.0, training=False)
    env.reset()
    for _ in range(step):
        env.step(5)
    return seen[-1]


def test_runtime_exception_in_env_names_file_line_step_params(tmp_path):
    path = write(tmp_path, RAISING)
    env = DeepRacerEnv(reward_function=path, training=False)
    env.reset()
    for _ in range(4):  # steps 1 (PREPARE) .. 4 are fine
        env.step(5)
    with pytest.raises(RewardFunctionError) as exc:
        env.step(5)
    msg = str(exc.value)
    # the raise is on line 7 of the file
    assert f"{path}:7:" in msg
    assert "ValueError" in msg and "boom" in msg
    assert "step 5.0" in msg
    twin = _twin_params(5)
    assert twin["steps"] == 5.0
    for key in ("x", "y", "progress", "distance_from_center"):
        assert f"{key}={twin[key]!r}" in msg
    assert isinstance(exc.value.__cause__, ValueError)


def test_runtime_exception_in_helper_names_the_deepest_line(tmp_path):
    path = write(tmp_path, RAISING_IN_HELPER)
    env = DeepRacerEnv(reward_function=path, training=False)
    env.reset()
    for _ in range(3):
        env.step(5)
    with pytest.raises(RewardFunctionError) as exc:
        env.step(5)
    msg = str(exc.value)
    # KeyError raised inside helper, line 2
    assert f"{path}:2:" in msg
    assert "KeyError" in msg and "no_such_key" in msg
    assert "step 4.0" in msg


def test_runtime_exception_of_a_callable(start_params):
    def bad(params):
        raise RuntimeError("nope")

    with pytest.raises(RewardFunctionError) as exc:
        make_reward_caller(bad)(dict(start_params))
    assert "bad" in str(exc.value)
    assert "nope" in str(exc.value)
    assert "step 2.0" in str(exc.value)


# --------------------------------------------------------------------------- return values


@pytest.mark.parametrize("value", ["1.0", None, [1.0], (1.0,), {"r": 1.0}, 1 + 0j,
                                   np.array([1.0])])
def test_return_value_not_a_real_number(start_params, value):
    caller = RewardCaller(lambda p: value)
    with pytest.raises(RewardFunctionError) as exc:
        caller(dict(start_params))
    assert "returned" in str(exc.value)
    assert "step 2.0" in str(exc.value)


def test_string_return_fails_inside_env(tmp_path):
    path = write(tmp_path, """
        def reward_function(params):
            return "1.0"
    """)
    env = DeepRacerEnv(reward_function=path, training=False)
    env.reset()
    _, r, _, _, _ = env.step(0)  # PREPARE: not called
    assert r == 0.0
    with pytest.raises(RewardFunctionError) as exc:
        env.step(0)
    assert str(path) in str(exc.value)
    assert "'1.0'" in str(exc.value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan"),
                                   np.float32("inf")])
def test_nan_and_inf_rejected(start_params, value):
    with pytest.raises(RewardFunctionError) as exc:
        RewardCaller(lambda p: value)(dict(start_params))
    assert "finite" in str(exc.value)


@pytest.mark.parametrize("value", [1e5 + 1, -1e5 - 1, 1e6, -1e300, 100001])
def test_out_of_range_rejected(start_params, value):
    with pytest.raises(RewardFunctionError) as exc:
        RewardCaller(lambda p: value)(dict(start_params))
    assert "range" in str(exc.value) or "within" in str(exc.value)


@pytest.mark.parametrize("value", [1e5, -1e5, 100000, -100000, 0.0, -0.0, 1e-300])
def test_range_edges_accepted(start_params, value):
    out = RewardCaller(lambda p: value)(dict(start_params))
    assert type(out) is float
    assert out == float(value)


@pytest.mark.parametrize(("value", "expected"), [
    (True, 1.0), (False, 0.0), (3, 3.0), (-7, -7.0),
    (np.float32(0.25), 0.25), (np.float64(0.125), 0.125), (np.int64(2), 2.0),
    (np.int32(-4), -4.0), (Fraction(1, 4), 0.25),
])
def test_real_numbers_accepted_as_float(start_params, value, expected):
    out = RewardCaller(lambda p: value)(dict(start_params))
    assert type(out) is float
    assert out == expected


def test_env_reward_is_a_python_float(tmp_path):
    path = write(tmp_path, """
        import numpy as np

        def reward_function(params):
            return np.float32(0.5)
    """)
    env = DeepRacerEnv(reward_function=path, training=False)
    env.reset()
    env.step(0)
    _, r, _, _, _ = env.step(0)
    assert type(r) is float and r == 0.5


def test_bad_value_inside_env_stops_the_step(tmp_path):
    path = write(tmp_path, """
        def reward_function(params):
            if params["steps"] == 3.0:
                return float("nan")
            return 1.0
    """)
    env = DeepRacerEnv(reward_function=path, training=False)
    env.reset()
    env.step(0)
    env.step(0)
    with pytest.raises(RewardFunctionError) as exc:
        env.step(0)
    assert str(path) in str(exc.value)
    assert "nan" in str(exc.value)
    assert "step 3.0" in str(exc.value)


# --------------------------------------------------------------------------- mutation


def _run(reward, actions):
    env = DeepRacerEnv(reward_function=reward, training=True, max_steps=80)
    obs, _ = env.reset(seed=1)
    trace = [obs]
    for a in actions:
        ob, r, te, tr, info = env.step(int(a))
        trace.append((ob, r, te, tr, info["episode_status"], info["progress"], info["steps"]))
        if te or tr:
            ob, _ = env.reset()
            trace.append(ob)
    return env, trace


def _value(params):
    return 1.0 + params["distance_from_center"] + params["progress"] / 100.0 \
        + 0.1 * params["closest_waypoints"][0] + 1e-3 * len(params["waypoints"])


def _mutating_pair():
    pure_seen, mut_seen = [], []

    def pure(params):
        pure_seen.append(copy.deepcopy(params))
        return _value(params)

    def mutating(params):
        mut_seen.append(copy.deepcopy(params))
        value = _value(params)
        params["waypoints"].clear()
        params["x"] = 1e9
        params["closest_waypoints"].append(99)
        params["closest_waypoints"][0] = -5
        del params["progress"]
        params["track_width"] = -1.0
        params["objects_location"].append([0.0, 0.0])
        params["steps"] = 0.0
        return value

    return pure, pure_seen, mutating, mut_seen


def test_mutating_reward_does_not_change_the_simulation(track):
    actions = np.random.default_rng(3).integers(0, 10, size=300)
    pure, pure_seen, mutating, mut_seen = _mutating_pair()
    n_waypoints = track.num_waypoints
    _, a = _run(pure, actions)
    env_b, b = _run(mutating, actions)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y)
        else:
            assert np.array_equal(x[0], y[0])
            assert x[1:] == y[1:]
    assert len(pure_seen) == len(mut_seen) > 100
    assert pure_seen == mut_seen
    # every call got the full, fresh dict
    for p in mut_seen:
        assert set(p) == set(PARAM_KEYS)
        assert len(p["waypoints"]) == n_waypoints
        assert len(p["closest_waypoints"]) == 2
        assert p["objects_location"] == []
    # the track's shared waypoint list is intact
    assert len(env_b.track.waypoint_list()) == n_waypoints
    assert len(env_b.track.waypoint_list(True)) == n_waypoints


def test_info_params_unaffected_by_a_mutating_reward():
    """The simapp calls the reward with copy.deepcopy(params) (spec §1.1): the env's own params
    (info["params"]) must not show the reward function's changes."""
    pure, _, mutating, _ = _mutating_pair()
    infos = []
    for reward in (pure, mutating):
        env = DeepRacerEnv(reward_function=reward, training=False)
        env.reset()
        env.step(0)
        infos.append(env.step(0)[4]["params"])
    assert infos[0] == infos[1]


# --------------------------------------------------------------------------- shipped files


@pytest.mark.parametrize("path", REWARD_FILES, ids=lambda p: p.name)
def test_shipped_reward_files_load_and_run(path, track, start_params):
    fn = load_reward_function(path)
    assert callable(fn)
    value = RewardCaller(fn, path)(copy.deepcopy(start_params))
    assert math.isfinite(value) and -1e5 <= value <= 1e5
    env = DeepRacerEnv(track, reward_function=path, training=False)
    env.reset()
    for k in range(40):
        _, r, te, tr, _ = env.step(4 if k % 7 else 5)
        assert type(r) is float and math.isfinite(r)
        if te or tr:
            env.reset()


def test_shipped_files_exist():
    assert REWARD_FILES, "rewards/ has no .py files"
    assert REWARDS_DIR / "center.py" in REWARD_FILES


def _band(d, w):
    # spec / rewards/center.py bands: <= 0.1 w -> 1.0, <= 0.25 w -> 0.5, <= 0.5 w -> 0.1, 1e-3
    if d <= 0.1 * w:
        return 1.0
    if d <= 0.25 * w:
        return 0.5
    if d <= 0.5 * w:
        return 0.1
    return 1e-3


@pytest.mark.parametrize(("d", "expected"), [
    (0.0, 1.0), (0.1, 1.0), (0.1000001, 0.5), (0.25, 0.5), (0.2500001, 0.1),
    (0.5, 0.1), (0.5000001, 1e-3), (3.0, 1e-3),
])
def test_center_line_reward_band_edges(start_params, d, expected):
    center = load_reward_function(REWARDS_DIR / "center.py")
    p = dict(start_params, distance_from_center=d, track_width=1.0)
    assert center_line_reward(p) == expected
    assert center(p) == expected


_CENTRE_FN = {}


@settings(max_examples=200, deadline=None)
@given(frac=st.floats(0.0, 1.0, exclude_max=True),
       offset=st.floats(-0.7, 0.7),
       heading=st.floats(-180.0, 180.0))
def test_center_line_reward_equals_center_file(frac, offset, heading):
    if "fn" not in _CENTRE_FN:
        _CENTRE_FN["fn"] = load_reward_function(REWARDS_DIR / "center.py")
        _CENTRE_FN["track"] = load_track("dr_sim_default")
        _CENTRE_FN["line"] = LineString(_CENTRE_FN["track"].waypoints[:, 0:2])
    center, trk, line = _CENTRE_FN["fn"], _CENTRE_FN["track"], _CENTRE_FN["line"]
    d0 = frac * line.length
    a, b = line.interpolate(d0), line.interpolate(min(d0 + 0.01, line.length))
    tx, ty = b.x - a.x, b.y - a.y
    n = math.hypot(tx, ty) or 1.0
    x, y = a.x - ty / n * offset, a.y + tx / n * offset
    p = reward_params(trk, x, y, heading)
    expected = center(copy.deepcopy(p))
    assert center_line_reward(p) == expected
    assert expected == _band(p["distance_from_center"], p["track_width"])
    # and the built-in reward is what a DeepRacerEnv without a reward file uses
    assert make_reward_caller(None)(p) == expected
