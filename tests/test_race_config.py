"""The race type and objects from the racer's files (deepracer-for-cloud run.env, a
DeepRacer-on-AWS-shaped JSON), the train options, and what the export writes back."""

from __future__ import annotations

import argparse
import json

import pytest

from deepracer_sim.cli.race_options import add_race_arguments, race_from_args
from deepracer_sim.constants import DROA_DEFAULT_OBJECT_POSITIONS
from deepracer_sim.errors import UsageError
from deepracer_sim.formats.model_metadata import (
    check_metadata_dict,
    discrete_action_space,
    metadata_text,
)
from deepracer_sim.formats.problems import ERROR
from deepracer_sim.formats.race import (
    drfc_env_lines,
    objects_from_json,
    objects_to_json,
    parse_positions,
    race_from_json,
    read_race_files,
    world_params,
)
from deepracer_sim.formats.training_params import dump_training_params, parse_training_params
from deepracer_sim.sim.world import ObjectsConfig

RUN_ENV = """# deepracer-for-cloud run.env
DR_WORLD_NAME=reInvent2019_track
DR_RACE_TYPE=OBJECT_AVOIDANCE
DR_OA_NUMBER_OF_OBSTACLES=6
DR_OA_MIN_DISTANCE_BETWEEN_OBSTACLES=2.0
DR_OA_RANDOMIZE_OBSTACLE_LOCATIONS=False
DR_OA_IS_OBSTACLE_BOT_CAR=False
DR_OA_OBJECT_POSITIONS="0.23,-1;0.46,1"
DR_H2B_NUMBER_OF_BOT_CARS=3
DR_H2B_BOT_CAR_SPEED=0.5
"""


def test_drfc_object_avoidance_positions_set_the_box_count(tmp_path):
    env = tmp_path / "run.env"
    env.write_text(RUN_ENV)
    race, objects = read_race_files([env])
    assert race == "OBJECT_AVOIDANCE"
    assert objects is not None
    # the positions replace DR_OA_NUMBER_OF_OBSTACLES; H2B keys do not apply to OA
    assert objects.box_positions == ((0.23, -1), (0.46, 1))
    assert objects.num_boxes == 2 and objects.bots == 0


def test_drfc_head_to_bot_and_merged_files(tmp_path):
    run = tmp_path / "run.env"
    run.write_text(RUN_ENV.replace("OBJECT_AVOIDANCE", "HEAD_TO_BOT"))
    system = tmp_path / "system.env"
    system.write_text("DR_H2B_IS_LANE_CHANGE=True\nexport DR_H2B_BOT_CAR_SPEED='1.0'\n")
    race, objects = read_race_files([run, system])
    assert race == "HEAD_TO_BOT"
    assert objects is not None
    assert (objects.bots, objects.bot_speed, objects.lane_change) == (3, 1.0, True)
    assert objects.num_boxes == 0  # the OA keys do not apply to head-to-bot


def test_time_trial_has_no_objects(tmp_path):
    env = tmp_path / "run.env"
    env.write_text("DR_RACE_TYPE=TIME_TRIAL\nDR_OA_NUMBER_OF_OBSTACLES=6\n")
    assert read_race_files([env]) == ("TIME_TRIAL", None)


def test_droa_json():
    data = {"raceType": "OBJECT_AVOIDANCE", "objectAvoidanceConfig": {
        "numberOfObjects": 2, "objectPositions": [{"trackPercentage": 0.1, "laneNumber": -1},
                                                  {"trackPercentage": 0.24, "laneNumber": 1}]}}
    race, objects = race_from_json(data, "race.json")
    assert race == "OBJECT_AVOIDANCE"
    assert objects is not None and objects.box_positions == ((0.1, -1), (0.24, 1))
    # no positions: that many boxes, re-drawn every episode
    _, random_boxes = race_from_json({"raceType": "OBJECT_AVOIDANCE",
                                      "objectAvoidanceConfig": {"numberOfObjects": 4}}, "x")
    assert random_boxes is not None
    assert (random_boxes.num_boxes, random_boxes.randomize_boxes) == (4, True)


def test_bad_values_name_the_file_and_key(tmp_path):
    env = tmp_path / "run.env"
    env.write_text("DR_RACE_TYPE=OBJECT_AVOIDANCE\nDR_OA_NUMBER_OF_OBSTACLES=many\n")
    with pytest.raises(UsageError, match="DR_OA_NUMBER_OF_OBSTACLES"):
        read_race_files([env])
    with pytest.raises(UsageError, match="box position 1"):
        parse_positions("0.1,1;oops", "--box-positions")
    with pytest.raises(UsageError, match="raceType"):
        race_from_json({"raceType": "DRAG_RACE"}, "race.json")


def _args(*argv):
    p = argparse.ArgumentParser()
    add_race_arguments(p)
    return p.parse_args(list(argv))


def test_train_options_defaults_per_race_type():
    assert race_from_args(_args()) == ("TIME_TRIAL", None)
    _, objects = race_from_args(_args("--race-type", "OBJECT_AVOIDANCE"))
    assert objects is not None and objects.box_positions == DROA_DEFAULT_OBJECT_POSITIONS
    _, objects = race_from_args(_args("--race-type", "HEAD_TO_BOT", "--bot-speed", "1",
                                         "--lane-change", "--lane-change-time", "1", "2"))
    assert objects is not None
    assert (objects.bots, objects.bot_speed, objects.lower_lane_change_time,
            objects.upper_lane_change_time) == (3, 1.0, 1.0, 2.0)
    with pytest.raises(UsageError, match="race-type"):
        race_from_args(_args("--boxes", "2"))


@pytest.mark.parametrize("argv", [("--boxes", "-1"), ("--bots", "13"), ("--bot-speed", "0"),
                                  ("--bot-speed", "nan"), ("--lane-change-time", "1", "-2"),
                                  ("--objects-seed", "-1")])
def test_object_numbers_are_checked_on_the_command_line(argv, capsys):
    with pytest.raises(SystemExit):
        _args(*argv)
    assert "out of range" in capsys.readouterr().err


def test_export_keys_round_trip():
    objects = ObjectsConfig(box_positions=DROA_DEFAULT_OBJECT_POSITIONS)
    params = world_params("OBJECT_AVOIDANCE", objects)
    assert params["OBJECT_POSITIONS"] == ["0.15,1", "0.3,-1", "0.45,1"]
    assert params["NUMBER_OF_OBSTACLES"] == "3"
    parsed, problems = parse_training_params(dump_training_params(params))
    assert not problems and parsed["OBJECT_POSITIONS"] == params["OBJECT_POSITIONS"]
    lines = drfc_env_lines("OBJECT_AVOIDANCE", objects)
    assert 'DR_OA_OBJECT_POSITIONS="0.15,1;0.3,-1;0.45,1"' in lines
    assert objects_from_json(json.loads(json.dumps(objects_to_json(objects))), "x") == objects


def test_a_lidar_joins_the_camera_in_model_metadata():
    meta = json.loads(metadata_text(discrete_action_space(), 6.0, lidar="SECTOR_LIDAR"))
    assert meta["sensor"] == ["FRONT_FACING_CAMERA", "SECTOR_LIDAR"]
    assert not [p for p in check_metadata_dict(meta) if p.level == ERROR]
    assert json.loads(metadata_text(discrete_action_space(), 6.0))["sensor"] == [
        "FRONT_FACING_CAMERA"]
