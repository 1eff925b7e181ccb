"""Small training runs shared by the run-safety, stop-signal, resume and fault-injection tests:
2 cars x 64 steps = 128 steps per update, so ``timesteps=256`` is 2 updates (checkpoints 0, 1
and 2); and a checkpoint with a pickle payload."""

from __future__ import annotations

import base64
import json
import pickle
import zipfile
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


class CreatesAFile:
    """Unpickling it calls ``open(path, "w")``: the file appears."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def poison_checkpoint(checkpoint: Path, marker: Path) -> None:
    """Replace a stable-baselines3 zip's ``data`` member by one whose pickled payload creates
    ``marker`` when ``PPO.load`` unpickles it; the weights stay."""
    with zipfile.ZipFile(checkpoint) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    payload = base64.b64encode(pickle.dumps(CreatesAFile(marker))).decode()
    data = json.loads(members["data"])
    data["policy_class"] = {":type:": "<class 'abc.ABCMeta'>", ":serialized:": payload}
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(checkpoint, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
