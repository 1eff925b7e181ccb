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
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.policies import (
    ActorCriticCnnPolicy,
    ActorCriticPolicy,
    MultiInputActorCriticPolicy,
)
from stable_baselines3.sac.policies import SACPolicy

from deepracer_sim.envs.sensors import (
    FEATURES,
    FEATURES_AND_CAMERA,
    FRONT_FACING_CAMERA,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    features_space,
)
from deepracer_sim.errors import CheckpointError, missing_file_text
from deepracer_sim.formats.checkpoint_zip import check_torch_file, check_zip_sizes, read_member
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.formats.run_folder import STATE_DICT_SUFFIX
from deepracer_sim.formats.tf_variables import DEFAULT_NETWORK
from deepracer_sim.sim.observation import OBS_DIM
from deepracer_sim.training.networks import camera_policy_from_state_dict, is_camera_state_dict

#: The members of a stable-baselines3 checkpoint zip (PPO, SAC); any other member is refused.
SB3_MEMBERS = frozenset(("data", "policy.pth", "policy.optimizer.pth", "pytorch_variables.pth",
                         "_stable_baselines3_version", "system_info.txt", "actor.optimizer.pth",
                         "critic.optimizer.pth", "ent_coef_optimizer.pth"))
#: A policy rebuilt from weights: PPO's actor-critic or SAC's actor and twin critics.
Policy = ActorCriticPolicy | SACPolicy
#: The weight that marks a SAC policy state dict (its actor's mean head).
SAC_MEAN = "actor.mu.weight"
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
    qf_arch: tuple[int, ...] = ()  # SAC: the Q networks' hidden layers; () for PPO

    @property
    def sac(self) -> bool:
        """Whether this is a SAC policy (actor and twin critics)."""
        return bool(self.qf_arch)


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
    if SAC_MEAN in state:
        return _sac_architecture(state)
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


def _sac_architecture(state: dict) -> Architecture:
    """The :class:`Architecture` of a stable-baselines3 SAC MlpPolicy state dict."""
    pi = _layers(state, r"actor\.latent_pi")
    qf = _layers(state, r"critic\.qf0")
    if not pi or not qf:
        raise CheckpointError("not a stable-baselines3 SAC MLP policy (no actor.latent_pi / "
                              "critic.qf0 weights)")
    return Architecture(int(pi[0][1]), tuple(int(s[0]) for s in pi),
                        int(state[SAC_MEAN].shape[0]), True,
                        tuple(int(s[0]) for s in qf[:-1]))


def state_sensor(state: dict) -> str:
    """The sensor a policy state dict reads (:mod:`deepracer_sim.envs.sensors`): DeepRacer's
    camera network (:func:`~deepracer_sim.training.networks.is_camera_state_dict`) or a
    NatureCNN (``features_extractor.cnn``) reads the camera, a dict extractor both, else the
    features."""
    if any(k.startswith("features_extractor.extractors.") for k in state):
        return FEATURES_AND_CAMERA
    if is_camera_state_dict(state) or any(k.startswith("features_extractor.cnn.")
                                          for k in state):
        return FRONT_FACING_CAMERA
    return FEATURES


def state_sensor_of(policy: Policy) -> str:
    """The sensor a loaded policy reads (:func:`state_sensor` of its weights)."""
    return state_sensor(policy.state_dict())


def gym_spaces(space: ActionSpace, sensor: str = FEATURES) -> tuple[gym.Space, gym.Space]:
    """(observation space, action space) of the policy for ``space`` and ``sensor`` (as
    :mod:`deepracer_sim.envs.setup` builds them; camera frames channel-first, as
    stable-baselines3's ``VecTransposeImage`` gives them to the policy)."""
    first = gym.spaces.Box(0, 255, (1, IMAGE_HEIGHT, IMAGE_WIDTH), np.uint8)
    obs: gym.Space = features_space()
    if sensor == FRONT_FACING_CAMERA:
        obs = first
    elif sensor == FEATURES_AND_CAMERA:
        obs = gym.spaces.Dict({FEATURES: features_space(), FRONT_FACING_CAMERA: first})
    act: gym.spaces.Space = (gym.spaces.Box(-1.0, 1.0, (2,), np.float32) if space.continuous
                             else gym.spaces.Discrete(len(space)))
    return obs, act


def build_policy(space: ActionSpace, net_arch: tuple[int, ...],
                 sensor: str = FEATURES) -> ActorCriticPolicy:
    """A fresh stable-baselines3 policy as ``train.py`` builds it for ``sensor`` (CPU)."""
    obs, act = gym_spaces(space, sensor)
    kind: Any = {FEATURES: ActorCriticPolicy, FRONT_FACING_CAMERA: ActorCriticCnnPolicy,
            FEATURES_AND_CAMERA: MultiInputActorCriticPolicy}[sensor]
    # ortho_init=False: the weights are loaded right after, no need for the (slow) QR init
    return kind(obs, act, lambda _: 0.0, ortho_init=False,
                net_arch={"pi": list(net_arch), "vf": list(net_arch)})


def build_sac_policy(space: ActionSpace, net_arch: tuple[int, ...],
                     qf_arch: tuple[int, ...]) -> SACPolicy:
    """A fresh stable-baselines3 ``SACPolicy`` as ``train.py --algorithm SAC`` builds it."""
    obs, act = gym_spaces(space)
    assert isinstance(act, gym.spaces.Box)  # SAC policies are only built for continuous spaces
    return SACPolicy(obs, act, lambda _: 0.0,
                     net_arch={"pi": list(net_arch), "qf": list(qf_arch)})


def policy_from_state_dict(state: dict, space: ActionSpace,
                           source: str = "checkpoint") -> Policy:
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
    sensor = state_sensor(state)
    if sensor == FEATURES and arch.obs_dim != OBS_DIM:
        raise CheckpointError(f"{source}: the network reads {arch.obs_dim} inputs, this "
                              f"simulator's observation has {OBS_DIM}: it was trained by "
                              "another version")
    policy: Policy = (build_sac_policy(space, arch.net_arch, arch.qf_arch) if arch.sac
                      else build_policy(space, arch.net_arch, sensor))
    try:
        policy.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{source}: the weights do not fit a {sensor} policy ({exc})") \
            from None
    policy.set_training_mode(False)
    return policy


def load_policy(path: str | os.PathLike, action_space: ActionSpace,
                neural_network: str = DEFAULT_NETWORK) -> Policy:
    """The policy of a checkpoint (a stable-baselines3 ``.zip`` or a ``.pt`` state dict) for
    ``action_space`` (the run's ``model_metadata.json``), on the CPU, weights only.

    The result is stable-baselines3's ``ActorCriticPolicy`` (PPO) or ``SACPolicy`` (SAC):
    ``policy.predict(obs, deterministic=True)`` gives the greedy actions, exactly as
    ``PPO.load(path).predict`` does (the algorithm's ``predict`` calls the policy's). A camera
    policy's weights give a :class:`~deepracer_sim.training.networks.DeepRacerCnnPolicy` of
    ``neural_network`` (the run's ``model_metadata.json`` names it).

    Raises:
        CheckpointError: a missing or damaged checkpoint, or weights that do not fit
            ``action_space`` (or ``neural_network``).
    """
    path = Path(path)
    if path.suffix == STATE_DICT_SUFFIX:
        state = read_state_dict(path)
    else:
        state, _ = read_checkpoint_state(path)
    if is_camera_state_dict(state):
        return camera_policy_from_state_dict(state, action_space, neural_network, str(path))
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
