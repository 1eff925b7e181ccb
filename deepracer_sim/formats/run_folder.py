"""The run folder: the one owner of its layout (which file lives where)."""

from __future__ import annotations

import json
from pathlib import Path

from deepracer_sim.errors import RunFolderError


class RunFolder:
    """Paths of a run folder (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.model_dir = self.root / "model"
        self.model_metadata = self.model_dir / "model_metadata.json"
        self.hyperparameters = self.root / "ip" / "hyperparameters.json"
        self.reward_file = self.root / "reward_function.py"
        self.config = self.root / "run_config.json"
        self.checkpoints_json = self.model_dir / "deepracer_checkpoints.json"
        self.iterations_log = self.root / "metrics" / "iterations.jsonl"

    def read_config(self) -> dict:
        if not self.config.is_file():
            raise RunFolderError(f"{self.root} is not a training run folder (no "
                                    "run_config.json); give the --out folder of train.py")
        return json.loads(self.config.read_text())

    def checkpoint_path(self, name: str) -> Path:
        return self.model_dir / name

    def checkpoint_name(self, which: str) -> str:
        """The file name of checkpoint "best", "last", or a name/iteration number."""
        if which in ("best", "last"):
            if not self.checkpoints_json.is_file():
                raise RunFolderError(f"{self.checkpoints_json} is missing: the run saved no "
                                        "checkpoint yet")
            info = json.loads(self.checkpoints_json.read_text())
            entry = info.get(f"{which}_checkpoint") or info.get("last_checkpoint")
            return entry["name"]
        if which.isdigit():
            found = sorted(self.model_dir.glob(f"{which}_Step-*.zip"))
            if found:
                return found[0].name
        if (self.model_dir / which).is_file():
            return which
        raise RunFolderError(f"no checkpoint {which!r} in {self.model_dir}")
