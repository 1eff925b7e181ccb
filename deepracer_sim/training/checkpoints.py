"""Checkpoints: saving, evaluating, committing and pointing at the best and the last.

Numbering (DeepRacer's, :mod:`deepracer_sim.formats.checkpoints`): ``0_Step-0.zip`` is the
policy training starts from (untrained, or the cloned one), saved when the run is created;
``k_Step-<steps>.zip`` is the policy after the ``k``-th PPO update. Sim-trace iteration ``i``
holds the episodes driven by checkpoint ``i``.

Each checkpoint is written in two steps:

1. :meth:`Checkpointer.save` writes the zip atomically (the whole file is built in memory,
   written to a temporary file, ``fsync``-ed and renamed) and evaluates it;
2. after the logs of its iteration are written, :meth:`Checkpointer.commit` records it:
   ``training_state.json`` (what ``train --resume`` needs to continue from it: the logs' sizes
   and counters) and then ``model/deepracer_checkpoints.json`` (the commit point), both
   atomically; only then are checkpoints no longer kept deleted.

So a process killed at any moment leaves a pointer that names existing, complete checkpoints,
and logs that hold at least what that pointer's last checkpoint needs.
"""

from __future__ import annotations

import io
import json
import math
import os

import numpy as np

from deepracer_sim.constants import STEP_DT
from deepracer_sim.envs.setup import default_max_steps
from deepracer_sim.errors import ResumeError
from deepracer_sim.formats.checkpoints import (
    run_checkpoint_name,
    run_checkpoint_parts,
    write_checkpoints_json,
)
from deepracer_sim.formats.files import atomic_write_bytes, atomic_write_text
from deepracer_sim.formats.jsonio import jsonable
from deepracer_sim.formats.run_folder import CHECKPOINT_STEP, SB3_SUFFIX, RunFolder
from deepracer_sim.logs.events import IterationStats, LapResult
from deepracer_sim.reward import make_reward_callers
from deepracer_sim.track.model import Track
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.evaluation import run_laps, sb3_predict

#: Checkpoints kept besides the best (the simapp's NUM_MODELS_TO_KEEP).
KEEP_CHECKPOINTS = 4
#: ``training_state.json``'s format version.
STATE_FORMAT = 1


def save_model_zip(model, path: os.PathLike | str) -> None:
    """Write a stable-baselines3 model's standard zip (``model.save``) atomically."""
    buffer = io.BytesIO()
    model.save(buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _size(path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def run_checkpoints(run: RunFolder) -> list[tuple[int, str]]:
    """(number, file name) of the run's checkpoint zips, by number."""
    found = []
    for path in run.model_dir.glob(f"*{CHECKPOINT_STEP}*{SB3_SUFFIX}"):
        parts = run_checkpoint_parts(path.name)
        if parts is not None:
            found.append((parts[0], path.name))
    return sorted(found)


class Checkpointer:
    """Saves checkpoints, evaluates them, keeps ``deepracer_checkpoints.json`` and
    ``training_state.json`` (see the module docstring).

    Attributes:
        run: the run folder (set by the caller once it exists).
        best: the best evaluated checkpoint's entry (None: none evaluated yet).
        last: the last committed checkpoint's entry.
        saved: the checkpoint files on disk, oldest first.
    """

    def __init__(self, run: RunFolder | None, cfg: TrainConfig, track: Track) -> None:
        self.run = run
        self.cfg = cfg
        self.track = track
        self.saved: list[str] = []
        self.best: dict | None = None
        self.last: dict | None = None
        self.snapshots: dict[str, dict] = {}
        self.counts: dict[str, list[int]] = {"counts": [], "eval_counts": []}
        self.eval_max_steps = cfg.max_steps or default_max_steps(track)
        # one reward instance per evaluation lap (the laps run side by side)
        self.rewards = make_reward_callers(cfg.reward, cfg.eval_episodes)

    @property
    def folder(self) -> RunFolder:
        if self.run is None:
            raise RuntimeError("Checkpointer: no run folder yet")
        return self.run

    @property
    def last_number(self) -> int:
        """The last committed checkpoint's number (-1 before the first)."""
        parts = run_checkpoint_parts(self.last["name"]) if self.last else None
        return parts[0] if parts else -1

    @property
    def last_steps(self) -> int:
        """The environment steps of the last committed checkpoint (0 before the first)."""
        parts = run_checkpoint_parts(self.last["name"]) if self.last else None
        return parts[1] if parts else 0

    @property
    def pointer_best(self) -> dict | None:
        """The best entry as the pointer names it: the best evaluated one, else the last."""
        return self.best or self.last

    def evaluate(self, model, should_stop=None) -> list[LapResult]:
        """Greedy episodes from ``eval_episodes`` evenly spaced start points ([] if
        ``should_stop()`` became true meanwhile)."""
        n = self.cfg.eval_episodes
        if n <= 0:
            return []
        return run_laps(sb3_predict(model), self.track, self.cfg.action_space,
                        self.cfg.version, [k / n for k in range(n)], self.eval_max_steps,
                        reward=self.rewards, reversed_direction=self.cfg.reverse_direction,
                        should_stop=should_stop, sensor=self.cfg.sensor,
                        physics=self.cfg.physics)

    def save(self, model, number: int, evaluate: bool = True, should_stop=None
             ) -> tuple[dict, list[LapResult]]:
        """Write checkpoint ``number`` (atomically) and evaluate it; it counts once
        :meth:`commit` records it.

        Returns:
            (its ``deepracer_checkpoints.json`` entry, its evaluation laps).
        """
        name = run_checkpoint_name(number, model.num_timesteps)
        save_model_zip(model, self.folder.checkpoint_path(name))
        laps = self.evaluate(model, should_stop) if evaluate else []
        stats = IterationStats(eval_laps=laps)
        entry = {"name": name, "avg_eval_metric": stats.eval_progress,
                 "time_stamp": round(model.num_timesteps * STEP_DT / self.cfg.n_envs, 3),
                 "avg_lap_time": stats.eval_lap_time}
        return entry, laps

    def commit(self, entry: dict, laps: list[LapResult], logs: dict) -> None:
        """Record a saved checkpoint: ``training_state.json`` with the logs' ``snapshot``
        (:meth:`TrainingLogger.snapshot <deepracer_sim.logs.writer.TrainingLogger.snapshot>`)
        and their sizes, then the pointer, then delete the checkpoints no longer kept."""
        run = self.folder
        name = entry["name"]
        self.last = entry
        if laps and (self.best is None or _better(entry, self.best)):
            self.best = entry
        if name not in self.saved:
            self.saved.append(name)
        self.counts = {"counts": list(logs["counts"]), "eval_counts": list(logs["eval_counts"])}
        self.snapshots[name] = {
            **{k: v for k, v in logs.items() if k not in ("counts", "eval_counts")},
            "training_log_bytes": _size(run.training_log),
            "iterations_log_bytes": _size(run.iterations_log)}
        self._write_state()
        best = self.pointer_best
        assert best is not None
        write_checkpoints_json(run.checkpoints_json, best, entry, indent=2)
        self._prune()

    def _write_state(self) -> None:
        keep = self._kept()
        self.snapshots = {n: s for n, s in self.snapshots.items() if n in keep}
        state = {"format": STATE_FORMAT, **self.counts, "checkpoints": self.snapshots}
        atomic_write_text(self.folder.training_state, json.dumps(jsonable(state)) + "\n")

    def _kept(self) -> set[str]:
        """The checkpoints kept: the last :data:`KEEP_CHECKPOINTS` and the best (the
        previous pointer's last is among them, so its snapshot stays until the new pointer is
        written)."""
        keep = set(self.saved[-KEEP_CHECKPOINTS:])
        for entry in (self.best, self.last):
            if entry is not None:
                keep.add(entry["name"])
        return keep

    def _prune(self) -> None:
        keep = self._kept()
        for name in self.saved:
            if name not in keep:
                self.folder.checkpoint_path(name).unlink(missing_ok=True)
        self.saved = [n for n in self.saved if n in keep]

    def restore(self, pointer: dict, state: dict) -> None:
        """Continue from a run's pointer (``{"best_checkpoint", "last_checkpoint"}``) and
        training state (``train --resume``); the checkpoint files later than the last are
        the caller's to remove."""
        self.last = _entry(pointer["last_checkpoint"])
        best = _entry(pointer.get("best_checkpoint") or pointer["last_checkpoint"])
        self.best = best if math.isfinite(best["avg_eval_metric"]) else None
        last = self.last_number
        self.saved = [name for number, name in run_checkpoints(self.folder) if number <= last]
        self.counts = {"counts": list(state.get("counts", [])),
                       "eval_counts": list(state.get("eval_counts", []))}
        self.snapshots = {n: s for n, s in state.get("checkpoints", {}).items()
                          if n in self.saved}


def read_training_state(run: RunFolder) -> dict:
    """``training_state.json`` of a run.

    Raises:
        ResumeError: missing (a run written before ``--resume`` existed) or unreadable.
    """
    path = run.training_state
    if not path.is_file():
        raise ResumeError(f"{path} is missing: this run was made by an older deepracer-sim and "
                          "cannot be resumed; continue from it with --clone "
                          f"{run.root} --out NEW_DIR instead")
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ResumeError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise ResumeError(f"{path}: not a training state of format {STATE_FORMAT}")
    return state


def log_snapshot(state: dict, name: str, path) -> dict:
    """The logs' snapshot recorded for checkpoint ``name`` (counts included).

    Raises:
        ResumeError: the state has none for it.
    """
    entry = state.get("checkpoints", {}).get(name)
    if not isinstance(entry, dict):
        raise ResumeError(f"{path}: no training state for the last checkpoint {name}; the run "
                          f"cannot be resumed (continue from it with --clone)")
    return {**entry, "counts": state.get("counts", []),
            "eval_counts": state.get("eval_counts", [])}


def _entry(raw: dict) -> dict:
    """A pointer entry with NaN for a null metric or lap time."""
    metric = raw.get("avg_eval_metric")
    lap = raw.get("avg_lap_time")
    return {"name": raw["name"],
            "avg_eval_metric": float(metric) if isinstance(metric, (int, float)) else math.nan,
            "time_stamp": raw.get("time_stamp"),
            "avg_lap_time": float(lap) if isinstance(lap, (int, float)) else math.nan}


def _better(a: dict, b: dict) -> bool:
    if a["avg_eval_metric"] != b["avg_eval_metric"]:
        return a["avg_eval_metric"] > b["avg_eval_metric"]
    la = a["avg_lap_time"] if not np.isnan(a["avg_lap_time"]) else np.inf
    lb = b["avg_lap_time"] if not np.isnan(b["avg_lap_time"]) else np.inf
    return la < lb
