"""Session fixtures of the export, ``--check`` and clone tests: one briefly trained run
(4096 steps = 4 iterations of 8 cars x 128 steps) and its export, made once per test session.

The test files load this module as a plugin (``pytest_plugins = ["export_fixtures"]``), so the
fixtures are shared by all of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from export_helpers import REWARD, SPACE_ARGS

from deepracer_sim.export import export_run
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.training import ppo as training
from deepracer_sim.training.config import TrainConfig


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "run"
    cfg = TrainConfig(reward=REWARD, track="dr_sim_default",
                      action_space=discrete_action_space(*SPACE_ARGS), version=6.0,
                      out=out, timesteps=4096, n_envs=8, n_steps=128, eval_episodes=2)
    training.train(cfg, progress_bar=False)
    return out


@pytest.fixture(scope="session")
def exported(run_dir: Path) -> Path:
    out = run_dir.parent / "exported"
    export_run(run_dir, out)
    return out


@pytest.fixture(scope="session")
def run_info(run_dir: Path) -> dict:
    return json.loads((run_dir / "model" / "deepracer_checkpoints.json").read_text())
