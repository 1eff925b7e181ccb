"""DeepRacer ``hyperparameters.json`` (spec §5): validation, defaults and the PPO mapping."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from deepracer_sim.formats.hyperparameters import (
    DEEPRACER_DEFAULTS,
    TRAIN_DEFAULTS,
    HyperparameterError,
    effective_hyperparameters,
    ppo_kwargs,
    read_hyperparameters,
    validate_hyperparameters,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL_HP = SHARED / "real-logs" / "sample-drfc-3-logs" / "ip" / "hyperparameters.json"

# DRfC defaults/hyperparameters.json, verbatim from spec §5 (including sac_alpha)
DRFC_DEFAULT = """{
    "batch_size": 64,
    "beta_entropy": 0.01,
    "discount_factor": 0.99,
    "e_greedy_value": 0.05,
    "epsilon_steps": 10000,
    "exploration_type": "categorical",
    "loss_type": "huber",
    "lr": 0.0003,
    "num_episodes_between_training": 20,
    "num_epochs": 5,
    "stack_size": 1,
    "term_cond_avg_score": 350.0,
    "term_cond_max_episodes": 1000,
    "sac_alpha": 0.2
  }"""

# spec §5 table: the simapp's defaults for a missing key (sac_alpha is SAC only)
SPEC_DEFAULTS = {
    "batch_size": 64,
    "beta_entropy": 0.01,
    "discount_factor": 0.999,
    "e_greedy_value": 0.05,
    "epsilon_steps": 10000,
    "exploration_type": "categorical",
    "loss_type": "mean squared error",
    "lr": 0.0003,
    "num_episodes_between_training": 20,
    "num_epochs": 10,
    "stack_size": 1,
    "term_cond_avg_score": 100000,
    "term_cond_max_episodes": 100000,
}


def real_hp_path() -> Path:
    if not REAL_HP.is_file():
        pytest.skip(f"{REAL_HP} missing (shared data not available)")
    return REAL_HP


# --------------------------------------------------------------------------- accepted files


def test_drfc_default_file_accepted_and_mapped(tmp_path):
    path = tmp_path / "hyperparameters.json"
    path.write_text(DRFC_DEFAULT)
    hp = read_hyperparameters(path)
    assert hp["sac_alpha"] == 0.2
    kw = ppo_kwargs(hp)
    assert kw["batch_size"] == 64 and type(kw["batch_size"]) is int
    assert kw["ent_coef"] == 0.01
    assert kw["gamma"] == 0.99
    assert kw["learning_rate"] == 0.0003
    assert kw["n_epochs"] == 5 and type(kw["n_epochs"]) is int
    # DeepRacer's fixed PPO internals (spec §5): clip 0.2, GAE lambda 0.95
    assert kw["clip_range"] == 0.2
    assert kw["gae_lambda"] == 0.95
    # the same through validate_hyperparameters on the parsed dict
    assert validate_hyperparameters(json.loads(DRFC_DEFAULT), "x") == hp


@pytest.mark.shared_data
def test_real_log_hyperparameters_accepted():
    path = real_hp_path()
    hp = read_hyperparameters(path)
    assert hp["discount_factor"] == 0.95
    assert hp["num_epochs"] == 3
    assert hp["num_episodes_between_training"] == 30
    assert hp["loss_type"] == "huber"
    assert hp["e_greedy_value"] == 1.0
    kw = ppo_kwargs(hp)
    assert (kw["gamma"], kw["n_epochs"], kw["batch_size"]) == (0.95, 3, 64)


@pytest.mark.shared_data
def test_effective_hyperparameters_reproduce_the_uploaded_file():
    """The real file *is* what DeepRacer's trainer uploads (sorted keys, no sac_alpha, indent 2),
    so validate + effective_hyperparameters must round-trip it byte for byte."""
    path = real_hp_path()
    text = path.read_text()
    out = json.dumps(effective_hyperparameters(read_hyperparameters(path)), indent=2)
    assert out == text.rstrip("\n")


def test_effective_hyperparameters_sorted_without_sac_alpha():
    hp = validate_hyperparameters(json.loads(DRFC_DEFAULT), "drfc")
    eff = effective_hyperparameters(hp)
    assert "sac_alpha" not in eff
    assert list(eff) == sorted(eff)
    # the 13 PPO keys of spec §5's table
    assert list(eff) == sorted(SPEC_DEFAULTS)
    assert eff["num_epochs"] == 5 and eff["term_cond_avg_score"] == 350.0
    # the input is not modified
    assert hp["sac_alpha"] == 0.2


@pytest.mark.shared_data
def test_effective_keys_match_the_real_file():
    path = real_hp_path()
    real_keys = list(json.loads(path.read_text()))
    hp = validate_hyperparameters(json.loads(DRFC_DEFAULT), "drfc")
    assert list(effective_hyperparameters(hp)) == real_keys


# --------------------------------------------------------------------------- defaults


def test_deepracer_defaults_match_spec_table():
    assert DEEPRACER_DEFAULTS == SPEC_DEFAULTS


def test_train_defaults_are_a_full_valid_set():
    assert set(TRAIN_DEFAULTS) == set(SPEC_DEFAULTS)
    assert validate_hyperparameters(dict(TRAIN_DEFAULTS), "defaults") == TRAIN_DEFAULTS


def test_missing_keys_take_train_defaults():
    assert validate_hyperparameters({}, "empty") == TRAIN_DEFAULTS
    hp = validate_hyperparameters({"lr": 0.001, "num_epochs": 7}, "partial")
    assert hp["lr"] == 0.001 and hp["num_epochs"] == 7
    for key in set(TRAIN_DEFAULTS) - {"lr", "num_epochs"}:
        assert hp[key] == TRAIN_DEFAULTS[key], key


def test_read_none_gives_train_defaults_copy():
    hp = read_hyperparameters(None)
    assert hp == TRAIN_DEFAULTS
    hp["lr"] = 0.5
    assert TRAIN_DEFAULTS["lr"] == 0.0003


def test_validate_does_not_share_the_defaults_dict():
    hp = validate_hyperparameters({}, "empty")
    hp["batch_size"] = 1
    assert validate_hyperparameters({}, "empty")["batch_size"] == TRAIN_DEFAULTS["batch_size"]


def test_integral_floats_become_ints():
    hp = validate_hyperparameters({"batch_size": 128.0, "num_epochs": 3.0}, "f")
    assert hp["batch_size"] == 128 and type(hp["batch_size"]) is int
    assert type(ppo_kwargs(hp)["n_epochs"]) is int


def test_ppo_mapping_of_chosen_values():
    hp = validate_hyperparameters({"batch_size": 32, "beta_entropy": 0.05,
                                   "discount_factor": 0.9, "lr": 1e-4, "num_epochs": 2}, "x")
    assert ppo_kwargs(hp) == {"batch_size": 32, "ent_coef": 0.05, "gamma": 0.9,
                              "learning_rate": 1e-4, "n_epochs": 2, "clip_range": 0.2,
                              "gae_lambda": 0.95}


def test_ppo_accepts_the_mapped_kwargs():
    from stable_baselines3 import PPO

    from deepracer_sim.envs.env import DeepRacerEnv

    hp = validate_hyperparameters(json.loads(DRFC_DEFAULT), "drfc")
    model = PPO("MlpPolicy", DeepRacerEnv(), n_steps=64, device="cpu", **ppo_kwargs(hp))
    assert model.batch_size == 64
    assert model.gamma == 0.99
    assert model.ent_coef == 0.01
    assert model.n_epochs == 5
    assert model.gae_lambda == 0.95
    assert model.learning_rate == 0.0003


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("hp", "needle"), [
    ({"learning_rate": 0.0003}, "learning_rate"),
    ({"batch_size": 64, "epochs": 3}, "epochs"),
    ({"Batch_Size": 64}, "Batch_Size"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": -64}, "batch_size"),
    ({"batch_size": 64.5}, "batch_size"),
    ({"batch_size": "64"}, "batch_size"),
    ({"batch_size": True}, "batch_size"),
    ({"batch_size": None}, "batch_size"),
    ({"discount_factor": 1.5}, "discount_factor"),
    ({"discount_factor": -0.1}, "discount_factor"),
    ({"discount_factor": math.nan}, "discount_factor"),
    ({"discount_factor": "0.99"}, "discount_factor"),
    ({"lr": 0}, "lr"),
    ({"lr": -0.001}, "lr"),
    ({"lr": 2.0}, "lr"),
    ({"beta_entropy": -0.01}, "beta_entropy"),
    ({"num_epochs": 0}, "num_epochs"),
    ({"num_epochs": 2.5}, "num_epochs"),
    ({"num_episodes_between_training": 0}, "num_episodes_between_training"),
    ({"exploration_type": "e-greedy"}, "e-greedy"),
    ({"exploration_type": "foo"}, "foo"),
    ({"loss_type": "l1"}, "l1"),
    ({"loss_type": "mse"}, "mse"),
])
def test_invalid_values_rejected(hp, needle):
    with pytest.raises(HyperparameterError) as exc:
        validate_hyperparameters(hp, "my/hyperparameters.json")
    msg = str(exc.value)
    assert "my/hyperparameters.json" in msg
    assert needle in msg


def test_e_greedy_message_says_unsupported():
    with pytest.raises(HyperparameterError, match="not supported"):
        validate_hyperparameters({"exploration_type": "e-greedy"}, "hp.json")


def test_unknown_key_message_lists_the_real_keys():
    with pytest.raises(HyperparameterError) as exc:
        validate_hyperparameters({"learning_rate": 0.0003}, "hp.json")
    assert "lr" in str(exc.value) and "batch_size" in str(exc.value)


@pytest.mark.parametrize("value", [[1, 2], "text", 3, None])
def test_not_an_object(value, tmp_path):
    with pytest.raises(HyperparameterError):
        validate_hyperparameters(value, "hp.json")
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(value))
    with pytest.raises(HyperparameterError) as exc:
        read_hyperparameters(path)
    assert str(path) in str(exc.value)


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "hyperparameters.json"
    # a missing comma after line 2's value: the parser stops at line 3
    path.write_text('{\n  "batch_size": 64\n  "lr": 0.0003\n}\n')
    with pytest.raises(HyperparameterError) as exc:
        read_hyperparameters(path)
    assert f"{path}:3:" in str(exc.value)
    assert "JSON" in str(exc.value)


def test_trailing_comma_json_rejected(tmp_path):
    path = tmp_path / "hyperparameters.json"
    path.write_text('{\n  "batch_size": 64,\n}\n')
    with pytest.raises(HyperparameterError) as exc:
        read_hyperparameters(path)
    assert f"{path}:3:" in str(exc.value)


def test_missing_file(tmp_path):
    path = tmp_path / "ip" / "hyperparameters.json"
    with pytest.raises(HyperparameterError) as exc:
        read_hyperparameters(path)
    assert str(path) in str(exc.value)


def test_bad_value_in_file_names_the_file(tmp_path):
    path = tmp_path / "hyperparameters.json"
    path.write_text(json.dumps({"discount_factor": 1.5}))
    with pytest.raises(HyperparameterError) as exc:
        read_hyperparameters(path)
    assert str(path) in str(exc.value) and "discount_factor" in str(exc.value)


def test_error_is_a_value_error():
    assert issubclass(HyperparameterError, ValueError)
