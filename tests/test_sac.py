"""SAC for continuous action spaces: the hyperparameter mapping, and a short SAC run through
train, evaluate (plain and --race) and export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3.sac.policies import SACPolicy

from deepracer_sim.cli import main as cli_main
from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.formats.hyperparameters import (
    SAC_TRAIN_DEFAULTS,
    effective_hyperparameters,
    read_hyperparameters,
    sac_kwargs,
    validate_hyperparameters,
)
from deepracer_sim.formats.model_metadata import ActionSpace, read_training_algorithm
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.policy import load_policy, policy_architecture, read_checkpoint_state
from deepracer_sim.training.ppo import make_model

ROOT = Path(__file__).resolve().parents[1]
#: DeepRacer-on-AWS's SAC form defaults (CreateModel/constants.ts) as a hyperparameters file.
DROA_SAC = {"batch_size": 64, "discount_factor": 0.99, "loss_type": "mean squared error",
            "lr": 0.0003, "num_episodes_between_training": 1, "sac_alpha": 0.2}
SPACE = ActionSpace(np.array([[-30.0, 30.0], [0.5, 2.0]]), continuous=True)


def continuous_metadata(path: Path, algorithm: str = "sac") -> Path:
    meta = SPACE.to_metadata(6.0, algorithm)
    path.write_text(json.dumps(meta))
    return path


def test_sac_hyperparameters_map_onto_stable_baselines3() -> None:
    hp = validate_hyperparameters({**DROA_SAC, "sac_alpha": 0.35, "lr": 0.001}, "hp.json", "sac")
    assert sac_kwargs(hp) == {"batch_size": 64, "ent_coef": 0.35, "gamma": 0.99,
                              "learning_rate": 0.001, "gradient_steps": -1, "learning_starts": 0}
    assert read_hyperparameters(None, "sac") == SAC_TRAIN_DEFAULTS
    assert SAC_TRAIN_DEFAULTS["sac_alpha"] == 0.2 and SAC_TRAIN_DEFAULTS["batch_size"] == 64
    # the simapp's SAC key set: sac_alpha, no PPO-only keys
    eff = effective_hyperparameters(hp, "sac")
    assert "sac_alpha" in eff and "beta_entropy" not in eff and "num_epochs" not in eff
    assert list(eff) == sorted(eff)
    assert "sac_alpha" not in effective_hyperparameters(hp)  # PPO's set is unchanged


def test_sac_model_has_a_fixed_entropy_weight(tmp_path: Path) -> None:
    cfg = TrainConfig(reward=ROOT / "rewards" / "center.py", action_space=SPACE, version=6.0,
                      out=tmp_path, n_envs=2, n_steps=16, timesteps=64, algorithm="sac")
    env = DeepRacerVecEnv(2, reward_function=cfg.reward, action_space=SPACE, training=True)
    model = make_model(cfg, env, read_hyperparameters(None, "sac"))
    assert model.ent_coef_optimizer is None  # a float ent_coef is fixed, not tuned
    assert float(model.ent_coef_tensor) == pytest.approx(0.2)
    assert model.gradient_steps == -1 and model.train_freq.frequency == 16
    assert model.batch_size == 64 and model.gamma == 0.99
    assert model.policy.actor.optimizer.defaults["eps"] == 1e-5


@pytest.fixture(scope="module")
def sac_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sac")
    meta = continuous_metadata(tmp / "model_metadata.json")
    out = tmp / "run"
    assert cli_main(["train", "--reward", str(ROOT / "rewards" / "center.py"), "--action-space",
                     str(meta), "--out", str(out), "--timesteps", "128", "--n-envs", "2",
                     "--n-steps", "32", "--no-progress-bar"]) == 0
    return out


def test_sac_run_folder(sac_run: Path) -> None:
    assert read_training_algorithm(sac_run / "model" / "model_metadata.json") == "sac"
    hp = json.loads((sac_run / "ip" / "hyperparameters.json").read_text())
    assert hp["sac_alpha"] == 0.2 and "num_epochs" not in hp
    assert json.loads((sac_run / "run_config.json").read_text())["algorithm"] == "sac"
    ckpt = json.loads((sac_run / "model" / "deepracer_checkpoints.json").read_text())
    # 128 steps / (2 cars x 32 steps) = 2 iterations, numbered 0 and 1
    assert ckpt["last_checkpoint"]["name"] == "2_Step-128.zip"
    path = sac_run / "model" / ckpt["last_checkpoint"]["name"]
    state, _ = read_checkpoint_state(path)
    arch = policy_architecture(state)
    assert (arch.net_arch, arch.qf_arch, arch.n_outputs) == ((64, 64), (256, 256), 2)
    policy = load_policy(path, SPACE)
    assert isinstance(policy, SACPolicy)
    obs = np.zeros((3, arch.obs_dim), dtype=np.float32)
    actions, _ = policy.predict(obs, deterministic=True)
    with torch.no_grad():  # greedy = the squashed mean of the actor
        mean = torch.tanh(policy.actor.mu(policy.actor.latent_pi(torch.as_tensor(obs))))
    np.testing.assert_allclose(actions, mean.numpy(), atol=1e-6)


def test_sac_run_evaluates_races_and_exports(sac_run: Path, tmp_path: Path, capsys) -> None:
    assert cli_main(["evaluate", str(sac_run), "--laps", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["laps"]) == 1
    assert cli_main(["evaluate", str(sac_run), "--race", "--laps", "1", "--max-resets", "2",
                     "--json"]) == 0
    assert "LapCount" in json.loads(capsys.readouterr().out)
    out = tmp_path / "export"
    assert cli_main(["export", str(sac_run), "--out", str(out)]) == 0
    meta = json.loads((out / "model_metadata.json").read_text())
    assert meta["training_algorithm"] == "sac" and meta["action_space_type"] == "continuous"
    hp = json.loads((out / "ip" / "hyperparameters.json").read_text())
    assert hp["sac_alpha"] == 0.2
    capsys.readouterr()
    assert cli_main(["export", "--check", str(out)]) == 0, capsys.readouterr()


def test_sac_needs_a_continuous_space(tmp_path: Path, capsys) -> None:
    args = ["train", "--reward", str(ROOT / "rewards" / "center.py"), "--out",
            str(tmp_path / "run"), "--algorithm", "SAC"]
    assert cli_main(args) == 2
    assert "SAC needs a continuous action space" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
