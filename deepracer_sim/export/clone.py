"""What ``deepracer-sim train --clone DIR`` continues from: a run folder, an exported model
folder, or a DeepRacer-on-AWS / deepracer-for-cloud model folder, as the DeepRacer console's
clone.

A run folder (``run_config.json``) clones its best checkpoint; an exported folder the checkpoint
its ``model/.coach_checkpoint`` names. The folder's action space is locked (training refuses
another), and its network (size, or camera ``neural_network``) and hyperparameters are kept. The
checkpoint's weights are read and checked here without unpickling
(:mod:`deepracer_sim.training.policy`); training then starts from them
(:func:`~deepracer_sim.training.policy.load_checkpoint_into`).

A cloud model folder (kind ``"cloud"``: ``model/.coach_checkpoint`` names a TensorFlow
checkpoint ``<N>_Step-<S>.ckpt.index`` / ``.data-00000-of-00001`` and there is no
stable-baselines3 zip of that name) holds a camera network; its ``model_metadata.json``
(``model/``'s, as DeepRacer-on-AWS reads it, else the root one) names the network and sensor,
and the checkpoint's variables are checked against them here (index only, no TensorFlow,
:func:`~deepracer_sim.formats.tf_checkpoint.check_checkpoint`); training loads them with
:func:`~deepracer_sim.training.tf_weights.load_tf_checkpoint` and a fresh optimizer (the
checkpoint holds none, as DeepRacer's own clone).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepracer_sim.envs.sensors import FEATURES, FRONT_FACING_CAMERA
from deepracer_sim.errors import CheckpointError, ExportError, TensorFlowFileError
from deepracer_sim.export.safe_io import read_json, regular_file
from deepracer_sim.formats.checkpoints import (
    BEST,
    LAST,
    read_checkpoints_json,
    read_coach_checkpoint,
    run_checkpoint_files,
)
from deepracer_sim.formats.model_metadata import (
    ActionSpace,
    action_space_from_metadata,
    read_model_metadata,
)
from deepracer_sim.formats.problems import raise_errors
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
    TF_INDEX_SUFFIX,
)
from deepracer_sim.formats.tf_checkpoint import check_checkpoint
from deepracer_sim.formats.tf_variables import model_spec
from deepracer_sim.training.networks import (
    camera_network,
    camera_policy_from_state_dict,
    is_camera_state_dict,
)
from deepracer_sim.training.policy import (
    OPTIMIZER_MEMBER,
    policy_architecture,
    policy_from_state_dict,
    read_checkpoint_state,
    state_sensor,
)


@dataclass(frozen=True)
class CloneSource:
    """What ``train.py --clone`` continues from.

    Attributes:
        path: the folder; kind: "run" (a train.py run folder), "export", or "cloud" (a
            DeepRacer model folder with a TensorFlow checkpoint).
        action_space, version: the folder's model_metadata.json (the action space is locked).
        checkpoint: the stable-baselines3 ``.zip`` training starts from (weights only), or,
            for "cloud", the TensorFlow checkpoint prefix ``.../<N>_Step-<S>.ckpt``.
        net_arch: hidden layer sizes of the cloned policy (and value) network (() for a
            camera network).
        hyperparameters: the folder's ip/hyperparameters.json, or None.
        neural_network: the camera network's ``neural_network`` (None: the feature-vector
            MLP).
        sensor: what the cloned policy sees (``FEATURES`` or a camera; from its weights).
    """

    path: Path
    kind: str
    action_space: ActionSpace
    version: float
    checkpoint: Path
    net_arch: tuple[int, ...]
    hyperparameters: Path | None
    neural_network: str | None = None
    sensor: str = FEATURES

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
                          "run with deepracer-sim export RUN_DIR --out DIR")
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
                          "folder written by deepracer-sim export")
    hp = Path(HYPERPARAMETERS_DIR, HYPERPARAMETERS)
    hp_path = regular_file(root, hp) if (root / hp).exists() else None
    cloud = _cloud_checkpoint(root)
    if cloud is not None:
        space, version, network = _check_cloud_checkpoint(root, cloud)
        return CloneSource(root, "cloud", space, version, cloud, (), hp_path, network,
                           FRONT_FACING_CAMERA)
    kind = "run" if (root / RUN_CONFIG).exists() else "export"
    meta, ckpt, want_arch = (_run_checkpoint if kind == "run" else _export_checkpoint)(root)
    space, version = read_model_metadata(meta)
    state, optimizer = read_checkpoint_state(ckpt)
    if optimizer is None:
        raise CheckpointError(f"{ckpt}: no optimizer state ({OPTIMIZER_MEMBER}); it is not a "
                              "train.py checkpoint")
    if is_camera_state_dict(state):
        meta_doc = read_json(meta)
        if not isinstance(meta_doc, dict):
            raise ExportError(f"{meta}: expected a JSON object")
        _, network = camera_network(meta_doc)
        camera_policy_from_state_dict(state, space, network, str(ckpt))  # checks the fit
        return CloneSource(root, kind, space, version, ckpt, (), hp_path, network,
                           FRONT_FACING_CAMERA)
    arch = policy_architecture(state).net_arch
    if want_arch and want_arch != arch:
        raise CheckpointError(f"{ckpt}: hidden layers {list(arch)} differ from the folder's "
                              f"net_arch {list(want_arch)}")
    policy_from_state_dict(state, space, str(ckpt))  # checks outputs and observation size
    return CloneSource(root, kind, space, version, ckpt, arch, hp_path, None, state_sensor(state))


def _cloud_checkpoint(root: Path) -> Path | None:
    """The TensorFlow checkpoint prefix ``model/.coach_checkpoint`` names when the folder has
    no stable-baselines3 zip of it (a DeepRacer model folder), else None."""
    model = root / MODEL_DIR
    if RUN_CONFIG in {p.name for p in root.iterdir()} or \
            not (model / COACH_CHECKPOINT).is_file():
        return None
    name = read_coach_checkpoint(regular_file(root, Path(MODEL_DIR, COACH_CHECKPOINT)))
    if (model / (name + SB3_SUFFIX)).exists() or not (model / (name + TF_INDEX_SUFFIX)).exists():
        return None
    return model / name


def _check_cloud_checkpoint(root: Path, prefix: Path) -> tuple[ActionSpace, float, str]:
    """(action space, version, ``neural_network``) of a DeepRacer model folder whose
    checkpoint holds the camera network its ``model_metadata.json`` names.

    Raises:
        ActionSpaceError: a broken model_metadata.json; NetworkError: not one front camera or
            an unsupported network; TensorFlowFileError: variables the network does not have.
    """
    inner = Path(MODEL_DIR, MODEL_METADATA)
    meta_path = regular_file(root, inner if (root / inner).exists() else Path(MODEL_METADATA))
    meta = read_json(meta_path)
    space = action_space_from_metadata(meta, str(meta_path))
    _, version = read_model_metadata(meta_path)
    assert isinstance(meta, dict)  # a non-object is an error above
    sensor, network = camera_network(meta)
    spec = model_spec(network, space, sensor)
    raise_errors(check_checkpoint(prefix, spec, f"{MODEL_DIR}/"), TensorFlowFileError,
                 f"--clone {root}")
    return space, version, network
