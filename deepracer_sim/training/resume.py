"""Continuing a run in its own folder: ``train --out DIR --resume [--timesteps N]``.

The run goes on from the last checkpoint ``model/deepracer_checkpoints.json`` names: its
policy and optimizer state (read as weights only, never unpickled), its step count, and the
next checkpoint number. It keeps its own files: ``reward_function.py``, ``model_metadata.json``,
``ip/hyperparameters.json`` and ``run_config.json``'s track and settings; an option given with
``--resume`` that differs from them (``--reward``, ``--action-space`` or the action flags,
``--version``, ``--hyperparameters``, ``--track``, ``--n-envs``, ``--n-steps``, ``--seed``, the
direction flags) is a :class:`~deepracer_sim.errors.ResumeError` naming each difference.
``--timesteps`` is the number of *more* steps.

A run killed at any moment (SIGKILL included) resumes from its pointer: whatever was written
after the pointer's last checkpoint was committed (a checkpoint zip, a sim-trace file, log
lines, a renumbering cut short) is removed or cut back first, using the sizes and counters
``training_state.json`` recorded with that checkpoint. The logs then continue: sim-trace
iteration files from the next number, TrainingMetrics.json, ``metrics/iterations.jsonl`` and
``logs/training.log`` appended, the simulated clock continued.

Not carried over (a fresh start within the run): the cars' round-robin start points and the
episodes running when the run stopped, and the random generators (reseeded with ``seed`` plus
the checkpoint number, so a resume from the same checkpoint is reproducible); the
``term_cond_max_episodes`` limit counts the episodes of each ``train`` command.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepracer_sim.envs.sensors import FEATURES
from deepracer_sim.errors import DeepRacerSimError, ResumeError
from deepracer_sim.formats.checkpoints import (
    LAST,
    entry_name,
    read_checkpoints_json,
    run_checkpoint_parts,
)
from deepracer_sim.formats.files import atomic_write_text, is_temporary
from deepracer_sim.formats.hyperparameters import (
    PPO,
    effective_hyperparameters,
    read_hyperparameters,
)
from deepracer_sim.formats.model_metadata import (
    ActionSpace,
    read_model_metadata,
    read_training_algorithm,
)
from deepracer_sim.formats.run_folder import RunFolder
from deepracer_sim.track import load_track
from deepracer_sim.training.checkpoints import log_snapshot, read_training_state, run_checkpoints
from deepracer_sim.training.config import TrainConfig


@dataclass
class ResumeRequest:
    """The options of ``train --resume``: ``out`` and ``timesteps`` (more steps), and any
    run setting given again (None / False: not given), which must equal the run's."""

    out: Path
    timesteps: int
    reward: Path | None = None
    action_space: ActionSpace | None = None
    version: float | None = None
    hyperparameters: Path | None = None
    track: str | None = None
    n_envs: int | None = None
    n_steps: int | None = None
    seed: int | None = None
    alternate_direction: bool = False
    reverse_direction: bool = False
    stop_when_complete: bool = False
    started_at: float | None = None


@dataclass
class ResumePoint:
    """Where a run continues: its last checkpoint (file name, number, steps), the pointer and
    the logs' snapshot recorded with that checkpoint."""

    run: RunFolder
    pointer: dict
    state: dict
    last: str
    number: int
    steps: int
    logs: dict


def _read_config(run: RunFolder) -> dict:
    try:
        config = json.loads(run.config.read_text())
    except (OSError, ValueError) as exc:
        raise ResumeError(f"{run.config}: not readable JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ResumeError(f"{run.config}: expected a JSON object")
    return config


def _space_differs(a: ActionSpace, b: ActionSpace) -> bool:
    return not (a.continuous == b.continuous and a.actions.shape == b.actions.shape
                and bool(np.allclose(a.actions, b.actions, rtol=0.0, atol=1e-9)))


def _hp_differences(given: Path, run: RunFolder, rollout: int) -> list[str]:
    """The given file's differences from the run's ``ip/hyperparameters.json`` (which holds the
    ``batch_size`` training used: at most the rollout of ``rollout`` steps)."""
    mine = effective_hyperparameters(read_hyperparameters(given))
    mine["batch_size"] = min(int(mine["batch_size"]), rollout)
    theirs = effective_hyperparameters(read_hyperparameters(run.hyperparameters))
    return [f"{key} = {mine.get(key)!r} (the run's: {theirs.get(key)!r})"
            for key in sorted(set(mine) | set(theirs)) if mine.get(key) != theirs.get(key)]


def _track_of(config: dict) -> str:
    """The run's track: its file if it is still there, else its name."""
    path = config.get("track_path")
    return path if path and Path(path).is_file() else str(config["track"])


def _differences(req: ResumeRequest, run: RunFolder, config: dict, space: ActionSpace,
                 version: float) -> list[str]:
    out = []
    if req.reward is not None and Path(req.reward).read_bytes() != run.reward_file.read_bytes():
        out.append(f"--reward {req.reward} is not the run's {run.reward_file.name}")
    if req.action_space is not None and _space_differs(req.action_space, space):
        same = len(req.action_space) == len(space)
        out.append(f"the action space given ({len(req.action_space)} actions"
                   f"{', other values' if same else ''}) is not the run's model_metadata.json "
                   f"({len(space)} actions)")
    if req.version is not None and float(req.version) != version:
        out.append(f"--version {req.version:g} (the run's: {version:g})")
    if req.hyperparameters is not None:
        diff = _hp_differences(req.hyperparameters, run,
                               int(config["n_envs"]) * int(config["n_steps"]))
        if diff:
            out.append(f"--hyperparameters {req.hyperparameters}: " + ", ".join(diff))
    if req.track is not None and load_track(req.track).sha256 != config.get("track_sha256"):
        out.append(f"--track {req.track} is not the run's track {config.get('track')}")
    for key in ("n_envs", "n_steps", "seed"):
        given = getattr(req, key)
        if given is not None and given != config.get(key):
            out.append(f"--{key.replace('_', '-')} {given} (the run's: {config.get(key)})")
    for key in ("alternate_direction", "reverse_direction"):
        if getattr(req, key) and not config.get(key):
            out.append(f"--{key.replace('_', '-')} (the run trained without it)")
    return out


def resume_config(req: ResumeRequest) -> TrainConfig:
    """The :class:`TrainConfig` that continues the run in ``req.out`` with its own settings.

    Raises:
        ResumeError: not a run, or options that differ from the run's (each named).
        ActionSpaceError, HyperparameterError, TrackError: the run's files are broken.
    """
    run = RunFolder(req.out)
    if not run.config.is_file():
        raise ResumeError(f"--resume: {req.out} is not a training run folder (no "
                          f"{run.config.name}); give the --out folder of an earlier train")
    config = _read_config(run)
    space, version = read_model_metadata(run.model_metadata)
    diff = _differences(req, run, config, space, version)
    if diff:
        raise ResumeError(f"--resume continues {req.out} with its own settings, but these "
                          "differ: " + "; ".join(diff) + ". Drop them, or start a new run "
                          "(another --out, or --force to move this one aside)")
    track = _track_of(config)
    if config.get("track_sha256") and load_track(track).sha256 != config["track_sha256"]:
        raise ResumeError(f"--resume: the run's track {track} has changed since it was "
                          "trained (its sha256 differs from run_config.json's)")
    algorithm = read_training_algorithm(run.model_metadata)
    if algorithm != PPO:
        raise ResumeError(f"--resume: {req.out} trained {algorithm}; resuming continues PPO "
                          "runs only: start a new run, or --clone it")
    tracks = tuple(str(t.get("track_path") or t["track"])
                   for t in config.get("training_tracks") or ())
    return TrainConfig(
        reward=run.reward_file, action_space=space, version=version, out=run.root,
        track=track, tracks=tracks, hyperparameters=run.hyperparameters,
        timesteps=req.timesteps, algorithm=algorithm, physics=config.get("physics"),
        neural_network=config.get("neural_network"),
        sensor=str(config.get("sensor", FEATURES)),
        n_envs=int(config["n_envs"]), n_steps=int(config["n_steps"]),
        net_arch=tuple(int(n) for n in config.get("net_arch") or (64, 64)),
        seed=int(config.get("seed", 0)), eval_episodes=int(config.get("eval_episodes", 5)),
        alternate_direction=bool(config.get("alternate_direction")),
        reverse_direction=bool(config.get("reverse_direction")),
        round_robin_advance=float(config["round_robin_advance"]),
        max_steps=config.get("max_steps"), started_at=req.started_at,
        stop_when_complete=req.stop_when_complete, resume=True)


def resume_point(run: RunFolder) -> ResumePoint:
    """The run's last committed checkpoint and the logs' snapshot recorded with it.

    Raises:
        ResumeError: no pointer, no training state for its last checkpoint, or a missing zip.
    """
    try:
        pointer = read_checkpoints_json(run.checkpoints_json)
    except DeepRacerSimError as exc:
        raise ResumeError(f"--resume: {exc}") from None
    last = entry_name(pointer, LAST)
    parts = run_checkpoint_parts(last) if last is not None else None
    if last is None or parts is None:
        raise ResumeError(f"{run.checkpoints_json}: the last checkpoint is not named "
                          "<N>_Step-<steps>.zip")
    if not run.checkpoint_path(last).is_file():
        raise ResumeError(f"{run.checkpoint_path(last)} (the last checkpoint) is missing")
    state = read_training_state(run)
    logs = log_snapshot(state, last, run.training_state)
    return ResumePoint(run, pointer, state, last, parts[0], parts[1], logs)


def _truncate(path: Path, size: int) -> None:
    if path.is_file() and path.stat().st_size > size:
        os.truncate(path, size)


def cut_back(point: ResumePoint) -> None:
    """Remove what was written after the last checkpoint was committed (module docstring):
    later checkpoint zips, temporary files of interrupted writes, and log lines beyond the
    recorded sizes (the sim-traces and TrainingMetrics.json are the logger's,
    :func:`~deepracer_sim.logs.continued.continued_logs`)."""
    run = point.run
    for number, name in run_checkpoints(run):
        if number > point.number:
            run.checkpoint_path(name).unlink(missing_ok=True)
    for folder, _, files in os.walk(run.root):
        for name in files:
            if is_temporary(name):
                Path(folder, name).unlink(missing_ok=True)
    _truncate(run.training_log, int(point.logs.get("training_log_bytes", 0)))
    _truncate(run.iterations_log, int(point.logs.get("iterations_log_bytes", 0)))


def record_resume(point: ResumePoint, cfg: TrainConfig) -> None:
    """Note the resume in ``run_config.json``: ``timesteps`` becomes the new total, and
    ``resumed`` lists each resume (when, from which checkpoint, how many more steps)."""
    config = _read_config(point.run)
    config["timesteps"] = point.steps + cfg.timesteps
    config.setdefault("resumed", []).append({
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"), "from": point.last,
        "timesteps": cfg.timesteps})
    atomic_write_text(point.run.config, json.dumps(config, indent=2) + "\n")
