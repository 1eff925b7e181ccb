"""Tests for ``deepracer_sim.formats.model_metadata``: discrete spaces, continuous scaling and
``model_metadata.json`` (spec §4).

Expected spaces are worked out by hand from DeepRacer-on-AWS's ``computeDiscreteActionSpace``
rule (spec §4.1: steering outer loop -max..+max in n levels, speed inner loop max/m..max) and
read from a real DRfC model (``../shared/real-logs/sample-drfc-3-logs/model/model_metadata.json``).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from deepracer_sim.formats.model_metadata import (
    ActionSpace,
    ActionSpaceError,
    action_space_from_metadata,
    discrete_action_space,
    read_model_metadata,
    write_model_metadata,
)

# spec §4.2, DRfC defaults/model_metadata_cont.json, verbatim
DRFC_CONTINUOUS = """{
    "action_space": {
        "speed": {
            "high": 2,
            "low": 1
        },
        "steering_angle": {
            "high": 30,
            "low": -30
        }
    },
    "sensor": [
        "FRONT_FACING_CAMERA"
    ],
    "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "training_algorithm": "clipped_ppo",
    "action_space_type": "continuous",
    "version": "5"
}
"""


def pairs(space: ActionSpace) -> list[tuple[float, float]]:
    return [(float(s), float(v)) for s, v in space.actions]


# --- discrete_action_space ---------------------------------------------------------------------


def test_default_is_droa_compute_discrete_action_space_30_5_1_2():
    space = discrete_action_space()
    # steering step = 2 * 30 / (5 - 1) = 15 -> -30, -15, 0, 15, 30 (outer loop)
    # speeds = 1 * 1/2, 1 * 2/2 = 0.5, 1.0 (inner loop)
    assert pairs(space) == [(-30.0, 0.5), (-30.0, 1.0), (-15.0, 0.5), (-15.0, 1.0),
                            (0.0, 0.5), (0.0, 1.0), (15.0, 0.5), (15.0, 1.0),
                            (30.0, 0.5), (30.0, 1.0)]
    assert len(space) == 10
    assert not space.continuous
    assert space.actions.dtype == np.float64
    np.testing.assert_array_equal(space.steering, [-30, -30, -15, -15, 0, 0, 15, 15, 30, 30])
    np.testing.assert_array_equal(space.speed, [0.5, 1.0] * 5)


def test_discrete_20_degrees_3_levels_3_mps_3_levels():
    space = discrete_action_space(20, 3, 3, 3)
    # steering step 40 / 2 = 20 -> -20, 0, 20; speeds 3/3, 6/3, 9/3 = 1, 2, 3
    assert pairs(space) == [(-20.0, 1.0), (-20.0, 2.0), (-20.0, 3.0),
                            (0.0, 1.0), (0.0, 2.0), (0.0, 3.0),
                            (20.0, 1.0), (20.0, 2.0), (20.0, 3.0)]


def test_discrete_4_steering_levels_and_max_limits():
    space = discrete_action_space(30, 4, 4, 1)
    # steering step 60 / 3 = 20 -> -30, -10, 10, 30; one speed level = max speed 4
    # (-30 * (2/3) + 30 * (1/3) is -10 only up to float rounding, as in DRoA's TypeScript)
    np.testing.assert_allclose(space.actions, [[-30, 4], [-10, 4], [10, 4], [30, 4]],
                               rtol=0, atol=1e-12)


def test_single_steering_level_is_straight():
    space = discrete_action_space(30, 1, 2, 2)
    # one steering level -> 0 deg; speeds 1, 2
    assert pairs(space) == [(0.0, 1.0), (0.0, 2.0)]


def test_action_count_outside_2_to_30_is_rejected():
    # DeepRacer-on-AWS's DiscreteActionSpace @length(2, 30); export --check rejects the same
    with pytest.raises(ActionSpaceError, match="1 discrete actions; fix: give 2 to 30 actions"):
        discrete_action_space(30, 1, 1, 1)
    with pytest.raises(ActionSpaceError, match="36 discrete actions"):
        discrete_action_space(30, 6, 3, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(discrete_action_space(30, 15, 2, 2)) == 30  # 15 x 2 = 30 is allowed
        assert len(discrete_action_space(30, 1, 2, 2)) == 2


def test_lowest_generated_speed_must_be_0_1():
    # speeds max/levels .. max: 0.3 / 3 = 0.1 is the lowest DeepRacer accepts (DiscreteSpeed)
    assert discrete_action_space(30, 2, 0.3, 3).speed.min() == pytest.approx(0.1)
    with pytest.raises(ActionSpaceError, match=r"max speed / speed levels = 0\.05 m/s, is "
                                               r"below 0\.1 m/s"):
        discrete_action_space(30, 2, 0.1, 2, source="command line")


@pytest.mark.parametrize("value", [31, -1, 30.0001, float("nan"), "30", True])
def test_bad_max_steering(value):
    with pytest.raises(ActionSpaceError, match="max steering angle"):
        discrete_action_space(max_steering=value)


def test_zero_max_steering_is_rejected():
    with pytest.raises(ActionSpaceError, match="max steering angle"):
        discrete_action_space(max_steering=0)


@pytest.mark.parametrize("value", [0, 0.0, -1, 4.5, float("inf")])
def test_bad_max_speed(value):
    with pytest.raises(ActionSpaceError, match="max speed"):
        discrete_action_space(max_speed=value)


def test_max_speed_4_and_max_steering_30_are_allowed():
    space = discrete_action_space(30, 3, 4, 2)
    assert pairs(space)[-1] == (30.0, 4.0)


@pytest.mark.parametrize("field", ["steering_levels", "speed_levels"])
@pytest.mark.parametrize("value", [0, -2, 1.5, 2.0, True])
def test_bad_levels(field, value):
    with pytest.raises(ActionSpaceError, match=field.replace("_", " ")):
        discrete_action_space(**{field: value})


def test_error_names_source():
    with pytest.raises(ActionSpaceError, match="my_cli_args"):
        discrete_action_space(max_speed=9, source="my_cli_args")
    assert issubclass(ActionSpaceError, ValueError)


# --- model_metadata.json ------------------------------------------------------------------------


@pytest.mark.shared_data
def test_read_real_drfc_model_metadata(shared_dir):
    path = shared_dir / "real-logs" / "sample-drfc-3-logs" / "model" / "model_metadata.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    space, version = read_model_metadata(path)
    assert version == 4.0  # "version" : "4"
    assert not space.continuous
    assert len(space) == 14
    # steering -30..30 in 10 degree steps (outer), speeds 1, 2 (inner)
    expected = [(float(s), float(v)) for s in range(-30, 31, 10) for v in (1, 2)]
    assert pairs(space) == expected


def test_read_drfc_continuous(tmp_path):
    path = tmp_path / "model_metadata.json"
    path.write_text(DRFC_CONTINUOUS)
    space, version = read_model_metadata(path)
    assert version == 5.0
    assert space.continuous
    assert len(space) == 0
    np.testing.assert_array_equal(space.actions, [[-30.0, 30.0], [1.0, 2.0]])


def test_continuous_scale():
    space = action_space_from_metadata(json.loads(DRFC_CONTINUOUS))
    # (high - low) / 2 * (a + 1) + low, a clipped to [-1, 1] (spec §4.1)
    # rows: steering [-30, 30], speed [1, 2]
    a = np.array([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0], [0.5, -0.5], [2.0, -3.0], [-7.0, 1.5]])
    steer, speed = space.scale(a)
    # 0.5: 30 * 1.5 - 30 = 15; -0.5: 0.5 * 0.5 + 1 = 1.25; 2 -> 1 -> 30; -3 -> -1 -> 1
    np.testing.assert_allclose(steer, [-30.0, 30.0, 0.0, 15.0, 30.0, -30.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(speed, [1.0, 2.0, 1.5, 1.25, 1.0, 2.0], rtol=0, atol=1e-12)


def test_discrete_scale_selects_by_list_position():
    space = discrete_action_space()
    steer, speed = space.scale(np.array([0, 4, 9]))
    np.testing.assert_array_equal(steer, [-30.0, 0.0, 30.0])
    np.testing.assert_array_equal(speed, [0.5, 0.5, 1.0])


def test_index_key_is_ignored():
    # spec §4.1: the policy index selects by list position; "index" is ignored
    meta = {"action_space": [{"steering_angle": 10, "speed": 2, "index": 1},
                             {"steering_angle": -10, "speed": 1, "index": 0}]}
    assert pairs(action_space_from_metadata(meta)) == [(10.0, 2.0), (-10.0, 1.0)]


def test_missing_version_is_legacy(tmp_path):
    # spec §4.1: missing version -> 2.0 if sensor present else 1.0; numbers are accepted too
    entries = [{"steering_angle": 0, "speed": 1}, {"steering_angle": 10, "speed": 1}]
    cases = [({"action_space": entries}, 1.0),
             ({"action_space": entries, "sensor": ["FRONT_FACING_CAMERA"]}, 2.0),
             ({"action_space": entries, "version": 6}, 6.0),
             ({"action_space": entries, "version": "3.0"}, 3.0)]
    for k, (meta, version) in enumerate(cases):
        path = tmp_path / f"m{k}.json"
        path.write_text(json.dumps(meta))
        assert read_model_metadata(path)[1] == version


def _meta_error(tmp_path, meta, name="model_metadata.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(meta) if not isinstance(meta, str) else meta)
    with pytest.raises(ActionSpaceError) as excinfo:
        read_model_metadata(path)
    msg = str(excinfo.value)
    assert str(path) in msg
    return msg


def _entries(n=4):
    return [{"steering_angle": -30 + 20 * k, "speed": 1.0} for k in range(n)]


def test_metadata_steering_35_names_the_entry(tmp_path):
    entries = _entries()
    entries[2]["steering_angle"] = 35
    msg = _meta_error(tmp_path, {"action_space": entries})
    assert "action_space[2].steering_angle" in msg
    assert "35" in msg
    entries[2]["steering_angle"] = -30.5
    assert "action_space[2].steering_angle" in _meta_error(tmp_path, {"action_space": entries})


@pytest.mark.parametrize("speed", [0, 0.0, -1, 0.05, 5, 4.01, "fast", None])
def test_metadata_bad_speed(tmp_path, speed):
    entries = _entries()
    entries[1]["speed"] = speed
    msg = _meta_error(tmp_path, {"action_space": entries})
    assert "action_space[1].speed" in msg


def test_metadata_limits_are_inclusive(tmp_path):
    meta = {"action_space": [{"steering_angle": -30, "speed": 4}, {"steering_angle": 30,
                                                                    "speed": 0.1}]}
    assert pairs(action_space_from_metadata(meta)) == [(-30.0, 4.0), (30.0, 0.1)]
    meta["action_space"][1]["speed"] = 0.0999
    with pytest.raises(ActionSpaceError, match=r"action_space\[1\].speed = 0.0999 is outside "
                                               r"\[0.1, 4\]"):
        action_space_from_metadata(meta)


def test_metadata_missing_keys(tmp_path):
    msg = _meta_error(tmp_path, {"sensor": ["FRONT_FACING_CAMERA"], "version": "5"})
    assert "action_space" in msg
    entries = _entries()
    del entries[3]["speed"]
    msg = _meta_error(tmp_path, {"action_space": entries})
    assert "action_space[3]" in msg
    assert "speed" in msg
    entries = _entries()
    del entries[0]["steering_angle"]
    assert "action_space[0]" in _meta_error(tmp_path, {"action_space": entries})
    # continuous without "high"
    msg = _meta_error(tmp_path, {"action_space": {"steering_angle": {"low": -30},
                                                  "speed": {"low": 1, "high": 2}},
                                 "action_space_type": "continuous"})
    assert "steering_angle" in msg


def test_metadata_continuous_errors(tmp_path):
    meta = json.loads(DRFC_CONTINUOUS)
    meta["action_space"]["speed"] = {"low": 2, "high": 1}
    assert "action_space.speed: low 2 > high 1; fix: swap low and high" in _meta_error(
        tmp_path, meta)
    meta = json.loads(DRFC_CONTINUOUS)
    meta["action_space"]["steering_angle"]["high"] = 45
    assert "action_space.steering_angle.high" in _meta_error(tmp_path, meta)
    meta = json.loads(DRFC_CONTINUOUS)
    meta["action_space"]["speed"]["low"] = 0
    assert "action_space.speed.low" in _meta_error(tmp_path, meta)
    meta = json.loads(DRFC_CONTINUOUS)
    meta["action_space"] = _entries()
    assert "continuous" in _meta_error(tmp_path, meta)
    meta = json.loads(DRFC_CONTINUOUS)
    meta["action_space_type"] = "box"
    assert "action_space_type" in _meta_error(tmp_path, meta)


def test_metadata_invalid_json_has_line_number(tmp_path):
    text = '{\n    "action_space": [\n        {"steering_angle": 0, "speed": 1,}\n    ]\n}\n'
    # the trailing comma on line 3 is the error
    msg = _meta_error(tmp_path, text)
    assert ":3:" in msg
    assert "invalid JSON" in msg


def test_metadata_missing_file(tmp_path):
    path = tmp_path / "nope" / "model_metadata.json"
    with pytest.raises(ActionSpaceError, match="not found") as excinfo:
        read_model_metadata(path)
    assert str(path) in str(excinfo.value)


def test_metadata_bad_version(tmp_path):
    meta = {"action_space": _entries(), "version": "five"}
    assert "version" in _meta_error(tmp_path, meta)


def test_metadata_empty_discrete_space(tmp_path):
    assert "empty" in _meta_error(tmp_path, {"action_space": []})


# --- writing --------------------------------------------------------------------------------------


def test_write_read_round_trip_discrete(tmp_path):
    space = discrete_action_space(20, 3, 3, 3)
    path = tmp_path / "model_metadata.json"
    write_model_metadata(path, space, version=5)
    meta = json.loads(path.read_text())
    assert meta["sensor"] == ["FRONT_FACING_CAMERA"]
    assert meta["neural_network"] == "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
    assert meta["training_algorithm"] == "clipped_ppo"
    assert meta["action_space_type"] == "discrete"
    assert meta["version"] == "5"
    assert [e["index"] for e in meta["action_space"]] == list(range(9))
    assert meta["action_space"][0] == {"steering_angle": -20.0, "speed": 1.0, "index": 0}
    back, version = read_model_metadata(path)
    assert version == 5.0
    assert pairs(back) == pairs(space)
    assert not back.continuous


def test_write_read_round_trip_continuous(tmp_path):
    space = action_space_from_metadata(json.loads(DRFC_CONTINUOUS))
    path = tmp_path / "model_metadata.json"
    write_model_metadata(path, space)
    meta = json.loads(path.read_text())
    assert meta["action_space_type"] == "continuous"
    assert meta["training_algorithm"] == "clipped_ppo"
    assert meta["action_space"] == {"steering_angle": {"low": -30.0, "high": 30.0},
                                    "speed": {"low": 1.0, "high": 2.0}}
    assert isinstance(meta["version"], str)
    assert meta["version"] == "6"  # default: DeepRacer-on-AWS writes 6
    back, version = read_model_metadata(path)
    assert back.continuous
    assert version == 6.0
    np.testing.assert_array_equal(back.actions, space.actions)


def test_to_metadata_version_strings():
    space = discrete_action_space()
    assert space.to_metadata(4)["version"] == "4"
    assert space.to_metadata(5.0)["version"] == "5"
    assert space.to_metadata(4.5)["version"] == "4.5"
    meta = space.to_metadata()
    assert set(meta) >= {"action_space", "sensor", "neural_network", "training_algorithm",
                         "action_space_type", "version"}
