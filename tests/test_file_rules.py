"""One set of rules per DeepRacer file: the training reader and ``export --check`` agree.

Each ``model_metadata.json`` / ``hyperparameters.json`` below gets the same verdict from the
reader training uses (``deepracer-sim train --action-space`` / ``--hyperparameters``, strict:
exit 2 with the message) and from ``--check``'s validator (every problem), with the same
message. The accepted speed ranges are DeepRacer-on-AWS's API model (model.smithy):
``DiscreteSpeed`` [0.1, 4.0] m/s, ``ContinuousSpeedValue`` [0.5, 4.0] m/s.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.errors import (
    ActionSpaceError,
    CheckpointError,
    ExportError,
    HyperparameterError,
    MetricsError,
)
from deepracer_sim.formats.checkpoints import (
    check_checkpoints_json,
    read_checkpoints_json,
    read_coach_checkpoint,
    write_checkpoints_json,
)
from deepracer_sim.formats.hyperparameters import check_hyperparameters, read_hyperparameters
from deepracer_sim.formats.metrics import read_metrics
from deepracer_sim.formats.model_metadata import check_model_metadata, read_model_metadata
from deepracer_sim.formats.training_params import dump_training_params, read_training_params

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "deepracer_sim"
REWARD = ROOT / "rewards" / "center.py"


def _discrete(*speeds: object) -> dict:
    return {"action_space": [{"steering_angle": -15 + 10 * k, "speed": v}
                             for k, v in enumerate(speeds)],
            "sensor": ["FRONT_FACING_CAMERA"], "neural_network":
            "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "training_algorithm": "clipped_ppo",
            "action_space_type": "discrete", "version": "5"}


def _continuous(speed_low: object, speed_high: object = 2.0) -> dict:
    meta = _discrete(1.0, 2.0)
    meta.update(action_space_type="continuous", action_space={
        "steering_angle": {"low": -30, "high": 30}, "speed": {"low": speed_low,
                                                              "high": speed_high}})
    return meta


# (model_metadata.json, the message of its one error, or None when it is valid)
METADATA = {
    "discrete 0.05 m/s": (_discrete(1.0, 0.05), "action_space[1].speed = 0.05 is outside "
                          "[0.1, 4]"),
    "discrete 4.01 m/s": (_discrete(4.01, 1.0), "action_space[0].speed = 4.01 is outside "
                          "[0.1, 4]"),
    "discrete speed of the wrong type": (_discrete(1.0, "2"),
                                         "action_space[1].speed = '2' is not a number"),
    "continuous low 0.3 m/s": (_continuous(0.3), "action_space.speed.low = 0.3 is outside "
                               "[0.5, 4]"),
    "continuous high 4.5 m/s": (_continuous(1.0, 4.5), "action_space.speed.high = 4.5 is "
                                "outside [0.5, 4]"),
    "continuous of the wrong type": (_continuous(None), 'action_space.speed must be {"low": '
                                     'number, "high": number}'),
    "version of the wrong type": ({**_discrete(1.0, 2.0), "version": True},
                                  "version = True is not a number"),
    "one action": (_discrete(1.0), "1 discrete actions"),
    "unknown sensor": ({**_discrete(1.0, 2.0), "sensor": ["FRONT_FACING_CAMERA", "RADAR"]},
                       "unknown sensor ['RADAR']"),
    "discrete 0.1 and 4 m/s": (_discrete(0.1, 4), None),
    "continuous 0.5-4 m/s": (_continuous(0.5, 4), None),
}


@pytest.mark.parametrize("case", sorted(METADATA))
def test_metadata_gets_one_verdict(case: str, tmp_path: Path, capsys) -> None:
    meta, message = METADATA[case]
    path = tmp_path / "model_metadata.json"
    path.write_text(json.dumps(meta))
    errors = [p for p in check_model_metadata(path) if p.level == "error"]
    if message is None:
        assert errors == []
        read_model_metadata(path)
        return
    # --check: exactly this error, naming the field, with a fix
    assert [p.message for p in errors] == [message]
    assert errors[0].field and errors[0].fix
    # training's reader: the same message, the file and the fix
    with pytest.raises(ActionSpaceError) as err:
        read_model_metadata(path)
    assert str(err.value) == f"{path}: {message}; fix: {errors[0].fix}"
    # and the command line: train stops before anything is written (exit 2)
    out = tmp_path / "run"
    code = cli_main(["train", "--reward", str(REWARD), "--action-space", str(path), "--out",
                     str(out), "--no-progress-bar"])
    assert code == 2
    assert f"error: {path}: {message}; fix: " in capsys.readouterr().err
    assert not out.exists()


def test_every_metadata_error_is_listed_and_raised_together(tmp_path: Path) -> None:
    path = tmp_path / "model_metadata.json"
    path.write_text(json.dumps(_discrete(0.05, 4.01)))
    assert [p.message for p in check_model_metadata(path)] == [
        "action_space[0].speed = 0.05 is outside [0.1, 4]",
        "action_space[1].speed = 4.01 is outside [0.1, 4]"]
    with pytest.raises(ActionSpaceError, match=r"2 problems:\n  - action_space\[0\].speed = "
                                               r"0.05 .*\n  - action_space\[1\].speed = 4.01"):
        read_model_metadata(path)


# (hyperparameters.json, --check's problem (level, message), training's verdict)
HYPERPARAMETERS = {
    "discount above 1": ({"discount_factor": 1.5}, "error",
                         "discount_factor = 1.5 is outside [0, 1]"),
    "stack size 0": ({"stack_size": 0}, "error", "stack_size = 0 is outside [1, 64]"),
    "learning rate 2": ({"lr": 2.0}, "error", "lr = 2.0 is outside [1e-12, 1]"),
    "epochs not an integer": ({"num_epochs": 2.5}, "error", "num_epochs = 2.5 is not an integer"),
    "a string": ({"beta_entropy": "0.01"}, "error", "beta_entropy = '0.01' is not a number"),
    "unknown key": ({"gamma": 0.9}, "error", "unknown key 'gamma'"),
    "loss type": ({"loss_type": "mse"}, "error", "loss_type = 'mse'"),
    "infinite score": ({"term_cond_avg_score": float("inf")}, "error",
                       "term_cond_avg_score = inf is not a number"),
    # valid for DeepRacer, not trainable here: a warning for --check, an error for training
    "e-greedy": ({"exploration_type": "e-greedy"}, "warning",
                 "exploration_type 'e-greedy' is not supported locally (PPO samples its "
                 "policy)"),
    # outside DeepRacer-on-AWS's form, but valid: a warning, and training accepts it
    "20 epochs": ({"num_epochs": 20}, "warning",
                  "num_epochs = 20 is outside DeepRacer-on-AWS's form range [3, 10]"),
}


@pytest.mark.parametrize("case", sorted(HYPERPARAMETERS))
def test_hyperparameters_get_one_verdict(case: str, tmp_path: Path, capsys) -> None:
    hp, level, message = HYPERPARAMETERS[case]
    path = tmp_path / "hyperparameters.json"
    path.write_text(json.dumps(hp))
    problems = check_hyperparameters(path)
    assert [(p.level, p.message) for p in problems] == [(level, message)]
    if case == "20 epochs":
        assert read_hyperparameters(path)["num_epochs"] == 20
        return
    with pytest.raises(HyperparameterError) as err:
        read_hyperparameters(path)
    assert str(err.value) == f"{path}: {message}; fix: {problems[0].fix}"
    out = tmp_path / "run"
    code = cli_main(["train", "--reward", str(REWARD), "--hyperparameters", str(path),
                     "--timesteps", "64", "--n-envs", "1", "--out", str(out),
                     "--no-progress-bar"])
    assert code == 2
    assert f"error: {path}: {message}; fix: " in capsys.readouterr().err


def test_the_drfc_default_hyperparameters_pass_both(tmp_path: Path) -> None:
    hp = {"batch_size": 64, "beta_entropy": 0.01, "discount_factor": 0.99,
          "e_greedy_value": 0.05, "epsilon_steps": 10000, "exploration_type": "categorical",
          "loss_type": "huber", "lr": 0.0003, "num_episodes_between_training": 20,
          "num_epochs": 5, "stack_size": 1, "term_cond_avg_score": 350.0,
          "term_cond_max_episodes": 1000, "sac_alpha": 0.2}
    path = tmp_path / "hyperparameters.json"
    path.write_text(json.dumps(hp))
    assert check_hyperparameters(path) == []
    assert read_hyperparameters(path)["batch_size"] == 64


# --- the other files' strict readers ---------------------------------------------------------

def test_checkpoints_json_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "deepracer_checkpoints.json"
    best = {"name": "2_Step-3072.ckpt", "avg_eval_metric": 21.5, "time_stamp": 25.6}
    last = {"name": "3_Step-4096.ckpt", "avg_eval_metric": float("nan"), "time_stamp": 34.133}
    write_checkpoints_json(path, best, last)
    # no indent, NaN written as null (JSON has no NaN)
    assert path.read_text() == (
        '{"best_checkpoint": {"name": "2_Step-3072.ckpt", "avg_eval_metric": 21.5, '
        '"time_stamp": 25.6}, "last_checkpoint": {"name": "3_Step-4096.ckpt", '
        '"avg_eval_metric": null, "time_stamp": 34.133}}\n')
    assert read_checkpoints_json(path)["best_checkpoint"] == best
    problems, named = check_checkpoints_json(path, "model/deepracer_checkpoints.json")
    assert [(p.level, p.message) for p in problems] == [
        ("warning", "last_checkpoint.avg_eval_metric is missing or null (the checkpoint was "
                    "never evaluated)")]
    assert [n for _, n in named] == ["2_Step-3072.ckpt", "3_Step-4096.ckpt"]
    path.write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="expected a JSON object"):
        read_checkpoints_json(path)
    with pytest.raises(CheckpointError, match="the run saved no checkpoint yet"):
        read_checkpoints_json(tmp_path / "nope.json")
    coach = tmp_path / ".coach_checkpoint"
    coach.write_text("latest")
    with pytest.raises(CheckpointError, match=r"'latest' is not <iteration>_Step-<steps>\.ckpt"):
        read_coach_checkpoint(coach)
    # a CheckpointError is both an export error and a run-folder error
    assert issubclass(CheckpointError, ExportError) and issubclass(CheckpointError,
                                                                   FileNotFoundError)


def test_training_params_strict_reader(tmp_path: Path) -> None:
    path = tmp_path / "training_params.yaml"
    path.write_text(dump_training_params({"WORLD_NAME": "reInvent2019_track",
                                          "RACE_TYPE": "TIME_TRIAL"}))
    assert read_training_params(path)["WORLD_NAME"] == "reInvent2019_track"  # warnings only
    path.write_text(dump_training_params({"RACE_TYPE": "DRAG_RACE"}))
    with pytest.raises(ExportError, match=r"2 problems:\n  - no WORLD_NAME; fix: .*\n  - "
                                          r"RACE_TYPE = 'DRAG_RACE'"):
        read_training_params(path)


def test_metrics_strict_reader(tmp_path: Path) -> None:
    path = tmp_path / "TrainingMetrics.json"
    entry = {"reward_score": 3, "metric_time": 1, "start_time": 0,
             "elapsed_time_in_milliseconds": 1, "episode": 1, "trial": 1, "phase": "training",
             "completion_percentage": 5, "episode_status": "Off track"}
    path.write_text(json.dumps({"metrics": [entry], "best_model_metric": "progress"}))
    assert read_metrics(path)["metrics"] == [entry]
    path.write_text(json.dumps({"metrics": [{**entry, "reward_score": 3.5}],
                                "best_model_metric": "progress"}))
    with pytest.raises(MetricsError, match=r"metrics\[0\]: \['reward_score'\] are not integers"):
        read_metrics(path)


# --- each rule's constants live in one place ---------------------------------------------------

@pytest.mark.parametrize("name", ["MIN_SPEED", "MAX_SPEED", "MIN_CONTINUOUS_SPEED",
                                  "MAX_STEERING_ANGLE", "MIN_DISCRETE_ACTIONS",
                                  "MAX_DISCRETE_ACTIONS", "MAX_REWARD_FUNCTION_CHARS",
                                  "DISCRETE_SPEED_LIMITS", "CONTINUOUS_SPEED_LIMITS", "RANGES",
                                  "DROA_FORM_RANGES", "CHECKPOINT_NAME",
                                  "TRAINING_PARAMS_KEYS", "MODEL_METADATA", "CHECKPOINTS_JSON"])
def test_each_rule_constant_is_defined_once(name: str) -> None:
    pattern = re.compile(rf"^{name}(: [^=]+)? = ", re.M)
    found = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
             if pattern.search(p.read_text())]
    assert len(found) == 1, found
