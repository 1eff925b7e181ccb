"""What ``deepracer-sim train --clone DIR`` continues from: a run folder or an exported model
folder, as the DeepRacer console's clone.

A run folder (``run_config.json``) clones its best checkpoint; an exported folder the checkpoint
its ``model/.coach_checkpoint`` names. The folder's action space is locked (training refuses
another), and its network size and hyperparameters are kept. The checkpoint's weights are read
and checked here without unpickling (:mod:`deepracer_sim.training.policy`); training then starts
from them (:func:`~deepracer_sim.training.policy.load_checkpoint_into`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepracer_sim.errors import CheckpointError, ExportError
from deepracer_sim.export.safe_io import read_json, regular_file
from deepracer_sim.formats.checkpoints import (
    BEST,
    LAST,
    read_checkpoints_json,
    read_coach_checkpoint,
    run_checkpoint_files,
)
from deepracer_sim.formats.model_metadata import ActionSpace, read_model_metadata
from deepracer_sim.formats.run_folder import (
    CHECKPOINTS_JSON,
    COACH_CHECKPOINT,
    HYPERPARAMETERS,
    HYPERPARAMETERS_DIR,
    MODEL_DIR,
    MODEL_METADATA,
    POLICY_NETWORK,
    RUN_CONFIG,
    SB3_SUFFIX,
)
from deepracer_sim.training.policy import (
    OPTIMIZER_MEMBER,
    policy_architecture,
    policy_from_state_dict,
    read_checkpoint_state,
)


@dataclass(frozen=True)
class CloneSource:
    """What ``train.py --clone`` continues from.

    Attributes:
        path: the folder; kind: "run" (a train.py run folder) or "export".
        action_space, version: the folder's model_metadata.json (the action space is locked).
        checkpoint: the stable-baselines3 ``.zip`` training starts from (weights only).
        net_arch: hidden layer sizes of the cloned policy (and value) network.
        hyperparameters: the folder's ip/hyperparameters.json, or None.
    """

    path: Path
    kind: str
    action_space: ActionSpace
    version: float
    checkpoint: Path
    net_arch: tuple[int, ...]
    hyperparameters: Path | None

    def same_action_space(self, other: ActionSpace) -> bool:
        """Whether ``other`` is this action space (same kind, same values in the same order)."""
        a, b = self.action_space, other
        return (a.continuous == b.continuous and a.actions.shape == b.actions.shape
                and bool(np.allclose(a.actions, b.actions, rtol=0.0, atol=1e-9)))


def _run_checkpoint(root: Path) -> tuple[Path, Path, tuple[int, ...]]:
    """(model_metadata.json, the best checkpoint, run_config.json's net_arch) of a run folder."""
    config_path = regular_file(root, RUN_CONFIG)
    config = read_json(config_path)
    if not isinstance(config, dict):
        raise ExportError(f"{config_path}: expected a JSON object")
    meta = regular_file(root, Path(MODEL_DIR, MODEL_METADATA))
    files = run_checkpoint_files(root / MODEL_DIR)
    info_path = regular_file(root, Path(MODEL_DIR, CHECKPOINTS_JSON), (
        ": the run saved no checkpoint yet; clone another run" if not files else
        f": the pointer to the best and last checkpoints is missing, but {MODEL_DIR}/ holds "
        f"{', '.join(files)}: export one (deepracer-sim export {root} --checkpoint N --out DIR, "
        "N its checkpoint number) and clone that folder"))
    info = read_checkpoints_json(info_path)
    entry = info.get(BEST) or info.get(LAST)
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise CheckpointError(f"{info_path}: no {BEST}/{LAST} name")
    ckpt = regular_file(root / MODEL_DIR, Path(entry["name"]).name,
                        f" (named in {CHECKPOINTS_JSON})")
    return meta, ckpt, tuple(int(n) for n in config.get("net_arch") or ())


def _same_file_spaces(inner: Path, outer: Path) -> None:
    """Refuse an exported folder whose two model_metadata.json differ in action space."""
    inner_space, _ = read_model_metadata(inner)
    outer_space, _ = read_model_metadata(outer)
    if not (inner_space.continuous == outer_space.continuous
            and np.array_equal(inner_space.actions, outer_space.actions)):
        raise ExportError(f"{inner} and {outer} have different action spaces; make them the "
                          "same file")


def _export_checkpoint(root: Path) -> tuple[Path, Path, tuple[int, ...]]:
    """(model_metadata.json, the .coach_checkpoint's checkpoint zip, policy_network.json's
    net_arch) of an exported folder."""
    model = root / MODEL_DIR
    if not (model / COACH_CHECKPOINT).exists():
        raise ExportError(f"--clone {root}: neither a run folder (no {RUN_CONFIG}) nor an "
                          f"exported model folder (no {MODEL_DIR}/{COACH_CHECKPOINT}); export a "
                          "run with python -m deepracer_sim.export RUN_DIR --out DIR")
    meta = regular_file(root, MODEL_METADATA)
    name = read_coach_checkpoint(regular_file(root, Path(MODEL_DIR, COACH_CHECKPOINT)))
    ckpt = regular_file(model, name + SB3_SUFFIX,
                        f" (the stable-baselines3 checkpoint {name}{SB3_SUFFIX} that "
                        "train.py --clone starts from; re-export the run)")
    want_arch: tuple[int, ...] = ()
    if (model / POLICY_NETWORK).exists():
        desc = read_json(regular_file(root, Path(MODEL_DIR, POLICY_NETWORK)))
        if isinstance(desc, dict) and isinstance(desc.get("net_arch"), list):
            want_arch = tuple(int(n) for n in desc["net_arch"])
    if (model / MODEL_METADATA).exists():
        _same_file_spaces(regular_file(root, Path(MODEL_DIR, MODEL_METADATA)), meta)
    return meta, ckpt, want_arch


def clone_source(path: str | os.PathLike) -> CloneSource:
    """Read a run folder (``train.py --out``) or an exported folder for ``train.py --clone``.

    A run folder clones its best checkpoint; an export the checkpoint in
    ``model/.coach_checkpoint``.

    Raises:
        ExportError, ActionSpaceError, CheckpointError: not such a folder, or broken files (the
            message names the file and the fix).
    """
    root = Path(path)
    if not root.is_dir():
        raise ExportError(f"--clone {root}: not a folder; give a train.py run folder or a "
                          "folder written by python -m deepracer_sim.export")
    kind = "run" if (root / RUN_CONFIG).exists() else "export"
    meta, ckpt, want_arch = (_run_checkpoint if kind == "run" else _export_checkpoint)(root)
    space, version = read_model_metadata(meta)
    state, optimizer = read_checkpoint_state(ckpt)
    if optimizer is None:
        raise CheckpointError(f"{ckpt}: no optimizer state ({OPTIMIZER_MEMBER}); it is not a "
                              "train.py checkpoint")
    arch = policy_architecture(state).net_arch
    if want_arch and want_arch != arch:
        raise CheckpointError(f"{ckpt}: hidden layers {list(arch)} differ from the folder's "
                              f"net_arch {list(want_arch)}")
    policy_from_state_dict(state, space, str(ckpt))  # checks outputs and observation size
    hp = Path(HYPERPARAMETERS_DIR, HYPERPARAMETERS)
    hp_path = regular_file(root, hp) if (root / hp).exists() else None
    return CloneSource(root, kind, space, version, ckpt, arch, hp_path)
