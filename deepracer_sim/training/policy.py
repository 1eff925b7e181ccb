"""Loading a saved policy: weights only, never unpickling.

A checkpoint is a stable-baselines3 zip (``model.save``): ``policy.pth`` (the policy's
``state_dict``), ``policy.optimizer.pth``, and ``data``, a JSON document with pickled objects
inside. stable-baselines3's ``PPO.load`` unpickles ``data``, which runs whatever code a crafted
file carries; nothing here reads ``data``. The policy is rebuilt from

* the weights: ``policy.pth`` read with ``torch.load(weights_only=True)`` (plain tensors only);
* the architecture, inferred from the weights' shapes (:func:`policy_architecture`);
* the action space, from the run's ``model_metadata.json`` (given by the caller).

Evaluation (:func:`load_policy`), export and clone (:func:`read_checkpoint_state`,
:func:`policy_from_state_dict`) and training's ``--clone`` start
(:func:`load_checkpoint_into`) all read checkpoints through this module. Every member's size is
checked before it is inflated (:mod:`deepracer_sim.formats.checkpoint_zip`). Every failure raises
:class:`~deepracer_sim.errors.CheckpointError`.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.policies import ActorCriticPolicy

from deepracer_sim.errors import CheckpointError, missing_file_text
from deepracer_sim.formats.checkpoint_zip import check_torch_file, check_zip_sizes, read_member
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.formats.run_folder import STATE_DICT_SUFFIX
from deepracer_sim.sim.observation import OBS_DIM, observation_bounds

#: The members of a stable-baselines3 checkpoint zip; any other member is refused.
SB3_MEMBERS = frozenset(("data", "policy.pth", "policy.optimizer.pth", "pytorch_variables.pth",
                         "_stable_baselines3_version", "system_info.txt"))
#: The members read (``torch.load(weights_only=True)``): the policy and its optimizer.
POLICY_MEMBER = "policy.pth"
OPTIMIZER_MEMBER = "policy.optimizer.pth"


@dataclass(frozen=True)
class Architecture:
    """What a policy state dict is: observation size, hidden layer sizes (policy and value
    networks alike), action outputs, and whether it is a continuous (Gaussian) policy."""

    obs_dim: int
    net_arch: tuple[int, ...]
    n_outputs: int
    continuous: bool


def _torch_load(data: bytes | Path, source: str) -> object:
    check_torch_file(data, source)
    try:
        return torch.load(io.BytesIO(data) if isinstance(data, bytes) else data,
                          map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors of many kinds
        raise CheckpointError(f"{source}: cannot be loaded as plain weights ({exc})") from None


def read_checkpoint_state(path: str | os.PathLike) -> tuple[dict, dict | None]:
    """(policy state dict, optimizer state dict or None) of a stable-baselines3 checkpoint
    zip, read with ``torch.load(weights_only=True)`` only (the pickled ``data`` member is not
    read).

    Raises:
        CheckpointError: missing, not a zip, unexpected members, or no readable policy weights.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is missing" if not path.exists() else
                              f"checkpoint {missing_file_text(path)}")
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip_sizes(zf, str(path))
            names = set(zf.namelist())
            blobs = {n: read_member(zf, n, str(path)) for n in (POLICY_MEMBER, OPTIMIZER_MEMBER)
                     if n in names and not names - SB3_MEMBERS}
    except CheckpointError:  # a FileNotFoundError too: not to be caught below
        raise
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"{path}: not a stable-baselines3 checkpoint zip ({exc}): the "
                              "file is damaged (cut short while it was written?)") from None
    extra = sorted(names - SB3_MEMBERS)
    if extra:
        raise CheckpointError(f"{path}: unexpected members {extra} in a stable-baselines3 "
                              "checkpoint")
    if POLICY_MEMBER not in blobs:
        raise CheckpointError(f"{path}: no policy weights ({POLICY_MEMBER}) in the checkpoint")
    state = _torch_load(blobs[POLICY_MEMBER], f"{path} ({POLICY_MEMBER})")
    optimizer = (_torch_load(blobs[OPTIMIZER_MEMBER], f"{path} ({OPTIMIZER_MEMBER})")
                 if OPTIMIZER_MEMBER in blobs else None)
    if not isinstance(state, dict) or not (optimizer is None or isinstance(optimizer, dict)):
        raise CheckpointError(f"{path}: the weights are not state dicts")
    return state, optimizer


def read_state_dict(path: str | os.PathLike) -> dict:
    """The policy state dict of a ``.pt`` file (``torch.load(weights_only=True)``).

    Raises:
        CheckpointError: missing, or not plain weights.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is missing" if not path.exists() else
                              f"checkpoint {missing_file_text(path)}")
    state = _torch_load(path, str(path))
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a policy state dict (a mapping of names to tensors)")
    return state


def _layers(state: dict, prefix: str) -> list[tuple[int, ...]]:
    found = {}
    for key, value in state.items():
        m = re.fullmatch(prefix + r"\.(\d+)\.weight", key)
        if m:
            found[int(m.group(1))] = tuple(value.shape)
    return [found[k] for k in sorted(found)]


def policy_architecture(state: dict) -> Architecture:
    """The :class:`Architecture` of a stable-baselines3 ActorCritic MLP state dict.

    Raises:
        CheckpointError: not such a state dict, or policy and value networks of different
            sizes.
    """
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise CheckpointError("not a policy state dict (a mapping of names to tensors)")
    pi = _layers(state, r"mlp_extractor\.policy_net")
    vf = _layers(state, r"mlp_extractor\.value_net")
    if "action_net.weight" not in state or not pi:
        raise CheckpointError("not a stable-baselines3 MLP policy (no mlp_extractor.policy_net / "
                              "action_net weights)")
    arch = tuple(int(shape[0]) for shape in pi)
    if tuple(int(shape[0]) for shape in vf) != arch:
        raise CheckpointError(f"policy network {arch} and value network "
                              f"{tuple(s[0] for s in vf)} differ; train.py uses the same sizes")
    return Architecture(int(pi[0][1]), arch, int(state["action_net.weight"].shape[0]),
                        "log_std" in state)


def gym_spaces(space: ActionSpace) -> tuple[gym.spaces.Box, gym.spaces.Space]:
    """(observation space, action space) of the env a policy for ``space`` drives (as
    :mod:`deepracer_sim.envs.setup` builds them)."""
    low, high = observation_bounds()
    obs = gym.spaces.Box(low, high, (OBS_DIM,), np.float32)
    act: gym.spaces.Space = (gym.spaces.Box(-1.0, 1.0, (2,), np.float32) if space.continuous
                             else gym.spaces.Discrete(len(space)))
    return obs, act


def build_policy(space: ActionSpace, net_arch: tuple[int, ...]) -> ActorCriticPolicy:
    """A fresh stable-baselines3 ``ActorCriticPolicy`` as ``train.py`` builds it (CPU)."""
    obs, act = gym_spaces(space)
    # ortho_init=False: the weights are loaded right after, no need for the (slow) QR init
    return ActorCriticPolicy(obs, act, lambda _: 0.0, ortho_init=False,
                             net_arch={"pi": list(net_arch), "vf": list(net_arch)})


def policy_from_state_dict(state: dict, space: ActionSpace,
                           source: str = "checkpoint") -> ActorCriticPolicy:
    """A policy with the weights of ``state`` (checked against ``space`` and the observation),
    in evaluation mode.

    Raises:
        CheckpointError: a network that does not fit the action space or the observation.
    """
    try:
        arch = policy_architecture(state)
    except CheckpointError as exc:
        raise CheckpointError(f"{source}: {exc}") from None
    want = 2 if space.continuous else len(space)
    if arch.continuous != space.continuous or arch.n_outputs != want:
        raise CheckpointError(
            f"{source}: the network has {arch.n_outputs} "
            f"{'continuous' if arch.continuous else 'discrete'} outputs but the action space "
            f"has {want} ({'continuous' if space.continuous else 'discrete'}); the "
            "model_metadata.json does not belong to these weights")
    if arch.obs_dim != OBS_DIM:
        raise CheckpointError(f"{source}: the network reads {arch.obs_dim} inputs, this "
                              f"simulator's observation has {OBS_DIM}: it was trained by "
                              "another version")
    policy = build_policy(space, arch.net_arch)
    policy.load_state_dict(state, strict=True)
    policy.set_training_mode(False)
    return policy


def load_policy(path: str | os.PathLike, action_space: ActionSpace) -> ActorCriticPolicy:
    """The policy of a checkpoint (a stable-baselines3 ``.zip`` or a ``.pt`` state dict) for
    ``action_space`` (the run's ``model_metadata.json``), on the CPU, weights only.

    The result is stable-baselines3's ``ActorCriticPolicy``:
    ``policy.predict(obs, deterministic=True)`` gives the greedy actions, exactly as
    ``PPO.load(path).predict`` does (the algorithm's ``predict`` calls the policy's).

    Raises:
        CheckpointError: a missing or damaged checkpoint, or weights that do not fit
            ``action_space``.
    """
    path = Path(path)
    if path.suffix == STATE_DICT_SUFFIX:
        state = read_state_dict(path)
    else:
        state, _ = read_checkpoint_state(path)
    return policy_from_state_dict(state, action_space, str(path))


def load_checkpoint_into(model, path: str | os.PathLike, require_optimizer: bool = True) -> bool:
    """Load a checkpoint's policy and optimizer state into a stable-baselines3 ``model`` whose
    network has the same shape (training's ``--clone`` and ``--resume`` starts), weights only.

    Args:
        require_optimizer: refuse a checkpoint without optimizer state (``--clone``); else its
            policy alone is loaded (the optimizer starts afresh).

    Returns:
        whether the optimizer state was loaded.

    Raises:
        CheckpointError: a damaged checkpoint, no optimizer state (``require_optimizer``), or
            another network shape.
    """
    state, optimizer = read_checkpoint_state(path)
    if optimizer is None and require_optimizer:
        raise CheckpointError(f"{path}: no optimizer state ({OPTIMIZER_MEMBER}); it is not a "
                              "train.py checkpoint")
    try:
        model.policy.load_state_dict(state, strict=True)
        if optimizer is not None:
            model.policy.optimizer.load_state_dict(optimizer)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: does not fit the network being trained ({exc})") \
            from None
    return optimizer is not None
