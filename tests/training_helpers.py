"""Small training runs shared by the run-safety, stop-signal, resume and fault-injection tests:
2 cars x 64 steps = 128 steps per update, so ``timesteps=256`` is 2 updates (checkpoints 0, 1
and 2)."""

from __future__ import annotations

import json
from pathlib import Path

from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
CENTER = ROOT / "rewards" / "center.py"
#: The command-line options of the small run (add --timesteps).
SMALL = ["--n-envs", "2", "--n-steps", "64", "--no-progress-bar"]


def small_config(out: Path, timesteps: int = 256, **kwargs) -> TrainConfig:
    """A :class:`TrainConfig` of the small run (1 evaluation lap per checkpoint)."""
    fields = {"reward": CENTER, "track": "dr_sim_default",
              "action_space": discrete_action_space(), "version": 6.0, "out": out,
              "timesteps": timesteps, "n_envs": 2, "n_steps": 64, "eval_episodes": 1}
    fields.update(kwargs)
    return TrainConfig(**fields)


def pointer(run: Path) -> dict:
    """The run's model/deepracer_checkpoints.json."""
    return json.loads((run / "model" / "deepracer_checkpoints.json").read_text())


def checkpoint_files(run: Path) -> list[str]:
    """The run's checkpoint zips, by number."""
    return sorted((p.name for p in (run / "model").glob("*_Step-*.zip")),
                  key=lambda n: int(n.split("_")[0]))


def simtrace_files(run: Path) -> list[str]:
    """The run's sim-trace files, by iteration."""
    return sorted((p.name for p in (run / "training-simtrace").glob("*-iteration.csv")),
                  key=lambda n: int(n.split("-")[0]))
