"""Creating a run folder: never over an existing run, and all at once.

``train --out DIR``:

* DIR missing, or an empty folder: the run is built in ``.<DIR>.creating-<random>`` beside it
  (``model/model_metadata.json``, ``ip/hyperparameters.json``, ``reward_function.py``,
  ``run_config.json``, ``model/0_Step-0.zip`` (the policy training starts from),
  ``training_state.json`` and ``model/deepracer_checkpoints.json`` naming it best and last,
  the empty log folders) and renamed to DIR only when all of it is written, so DIR never
  exists as a part of a run: a process killed during creation leaves no DIR (at worst the
  hidden ``.creating-`` folder);
* DIR holds files: :class:`~deepracer_sim.errors.RunExistsError` naming ``--resume`` and
  ``--force``, before anything is written;
* ``--force``: DIR is moved aside to ``DIR.replaced-<YYYYmmdd-HHMMSS>`` (never deleted) just
  before the new run is renamed into place.

``--resume`` continues DIR itself (:mod:`deepracer_sim.training.resume`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path

from deepracer_sim.envs.sensors import FEATURES
from deepracer_sim.errors import DeepRacerSimError, ResumeError, RunExistsError
from deepracer_sim.formats.checkpoints import LAST, entry_name, read_checkpoints_json
from deepracer_sim.formats.files import atomic_copy, atomic_write_text, fsync_folder
from deepracer_sim.formats.hyperparameters import effective_hyperparameters
from deepracer_sim.formats.model_metadata import DEFAULT_NEURAL_NETWORK, write_model_metadata
from deepracer_sim.formats.run_folder import RUN_CONFIG, RunFolder
from deepracer_sim.sim.car import resolve_physics
from deepracer_sim.track import Track
from deepracer_sim.training.checkpoints import Checkpointer
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.tracks import tracks_config


def _describe_run(run: RunFolder) -> str:
    """"holds a training run (last checkpoint ...)" or "is not empty"."""
    if not run.config.is_file():
        return "is not empty (and is not a training run)"
    try:
        last = entry_name(read_checkpoints_json(run.checkpoints_json), LAST)
    except (DeepRacerSimError, OSError):  # a damaged pointer: still a run to keep
        last = None
    return "holds a training run" + (f" (last checkpoint {last})" if last else "")


def check_out_folder(out: Path, resume: bool = False, force: bool = False) -> None:
    """Refuse an ``--out`` that training may not use as asked (before anything is written).

    Raises:
        RunExistsError: DIR is a file, or holds files and neither ``--resume`` nor ``--force``
            was given.
        ResumeError: ``--resume`` and ``--force`` together, or ``--resume`` on a folder that is
            not a run.
    """
    run = RunFolder(out)
    if resume and force:
        raise ResumeError("give either --resume (continue the run) or --force (move it aside "
                          "and start a new one), not both")
    if resume:
        if not run.config.is_file():
            raise ResumeError(f"--resume: {out} is not a training run folder (no {RUN_CONFIG});"
                              " give the --out folder of an earlier train")
        return
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise RunExistsError(f"--out {out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        aside = run.replaced("<YYYYmmdd-HHMMSS>").name
        raise RunExistsError(
            f"--out {out} {_describe_run(run)}; training never overwrites it. Give --resume to "
            f"continue it (same folder, next checkpoint, logs appended), --force to move it "
            f"aside to {aside} and start a new run, or choose another --out")


def move_aside(run: RunFolder) -> Path:
    """Rename the folder to ``<name>.replaced-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``... if taken);
    returns the new path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = run.replaced(stamp)
    n = 2
    while target.exists() or target.is_symlink():
        target = run.replaced(f"{stamp}-{n}")
        n += 1
    os.rename(run.root, target)
    return target


def _place(tmp: Path, final: RunFolder, force: bool) -> Path | None:
    """Rename the finished run into place; returns where an earlier DIR went (``force``)."""
    replaced = None
    root = final.root
    if root.is_dir() and not root.is_symlink() and not any(root.iterdir()):
        root.rmdir()
    elif root.exists() or root.is_symlink():
        if not force:
            raise RunExistsError(f"--out {root} appeared while the run was being created; "
                                 "give --resume, --force or another --out")
        replaced = move_aside(final)
    try:
        os.rename(tmp, root)
    except OSError as exc:
        raise RunExistsError(f"--out {root}: cannot put the new run there ({exc}); choose "
                             "another --out") from None
    fsync_folder(root.parent)
    return replaced


def run_config(cfg: TrainConfig, track: Track) -> dict:
    """``run_config.json``: the track(s), the car, the algorithm and network, and the local
    settings evaluation and resume need."""
    config = {
        "track": track.name,
        "algorithm": cfg.algorithm,
        "track_path": str(track.path) if track.path else None,
        "track_sha256": track.sha256,
        "version": cfg.version,
        "physics": resolve_physics(cfg.physics, cfg.version),
        "reverse_direction": cfg.reverse_direction,
        "alternate_direction": cfg.alternate_direction,
        "round_robin_advance": cfg.round_robin_advance,
        "max_steps": cfg.max_steps,
        "n_envs": cfg.n_envs,
        "n_steps": cfg.n_steps,
        "net_arch": list(cfg.net_arch),
        "neural_network": cfg.neural_network,
        "seed": cfg.seed,
        "eval_episodes": cfg.eval_episodes,
        "timesteps": cfg.timesteps,
        "reward_source": str(cfg.reward),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if cfg.sensor != FEATURES:  # FEATURES runs keep their files as before
        config["sensor"] = cfg.sensor
    config.update(tracks_config(cfg, track))  # several training tracks: all of them
    return config


def write_run_files(run: RunFolder, cfg: TrainConfig, track: Track, hp: dict) -> None:
    """Write the files a new run starts with into ``run`` (its folders, DeepRacer's
    ``model_metadata.json`` and ``hyperparameters.json``, the reward file, ``run_config.json``
    and empty logs), each atomically; :func:`create_run` calls it on the hidden folder."""
    for folder in (run.model_dir, run.hyperparameters.parent, run.metrics_dir,
                   run.training_simtrace_dir, run.training_log.parent):
        folder.mkdir(parents=True, exist_ok=True)
    write_model_metadata(run.model_metadata, cfg.action_space, cfg.version, cfg.algorithm,
                         neural_network=cfg.neural_network or DEFAULT_NEURAL_NETWORK)
    atomic_write_text(run.hyperparameters,
                      json.dumps(effective_hyperparameters(hp, cfg.algorithm), indent=2) + "\n")
    atomic_copy(cfg.reward, run.reward_file)
    atomic_write_text(run.config, json.dumps(run_config(cfg, track), indent=2) + "\n")
    atomic_write_text(run.training_log, "")
    atomic_write_text(run.iterations_log, "")


def create_run(cfg: TrainConfig, track: Track, hp: dict, model, checkpointer: Checkpointer,
               logs: dict) -> tuple[RunFolder, Path | None]:
    """Build the run folder beside ``cfg.out`` and rename it into place (module docstring);
    ``logs`` is the (empty) logs' snapshot recorded with ``0_Step-0``.

    Returns:
        (the run folder, where ``--force`` moved an earlier one, or None).

    Raises:
        RunExistsError: ``cfg.out`` holds files (and ``cfg.replace`` is not set).
    """
    final = RunFolder(cfg.out)
    final.root.parent.mkdir(parents=True, exist_ok=True)
    tmp = RunFolder(final.creating(secrets.token_hex(4)))
    tmp.root.mkdir()
    try:
        write_run_files(tmp, cfg, track, hp)
        checkpointer.run = tmp
        entry, _ = checkpointer.save(model, 0, evaluate=False)
        checkpointer.commit(entry, [], logs)
        for folder in (tmp.model_dir, tmp.hyperparameters.parent, tmp.root):
            fsync_folder(folder)
        replaced = _place(tmp.root, final, cfg.replace)
    except BaseException:
        shutil.rmtree(tmp.root, ignore_errors=True)
        checkpointer.run = None
        raise
    checkpointer.run = final
    return final, replaced
