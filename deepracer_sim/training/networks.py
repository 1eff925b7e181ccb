"""DeepRacer's camera networks in torch, as a stable-baselines3 actor-critic policy with separate
policy and value towers (as rl_coach's ClippedPPO has).

``model_metadata.json`` names them (``neural_network``): ``DEEP_CONVOLUTIONAL_NETWORK_SHALLOW``
(the default; exactly stable-baselines3's ``NatureCNN``, same module names) and
``DEEP_CONVOLUTIONAL_NETWORK`` (spec §8; its embedder's Dense(64) acts on each pixel, a 1x1
convolution here). The layers and their TensorFlow names are
:mod:`deepracer_sim.formats.tf_variables`'s; :mod:`deepracer_sim.training.tf_weights` maps the
weights to and from DeepRacer's TensorFlow checkpoint.

Observation: one grey 120x160 frame, uint8 0-255 (the simapp's, spec §8). The policy's
observation space is channels-first ``Box(0, 255, (1, 120, 160), uint8)``; an environment may
emit DeepRacer's own ``(120, 160, 1)`` layout, which stable-baselines3 transposes for the
policy (``VecTransposeImage``, added by ``PPO`` itself). stable-baselines3 divides by 255
(``normalize_images``), as the TensorFlow graph does.

Each tower (:class:`DeepRacerCameraExtractor`) is embedder + middleware with a ReLU after every
layer, 512 features out; the policy head ``action_net`` sits directly on the policy tower's
features (logits; the graph's ``policy`` is their softmax, or the Gaussian mean of a continuous
space with stable-baselines3's state-independent ``log_std``) and ``value_net`` on the value
tower's (``net_arch=[]``, ``share_features_extractor=False``).

Use::

    PPO(DeepRacerCnnPolicy, env, policy_kwargs=camera_policy_kwargs(neural_network))

with ``Discrete(K)`` or ``Box(-1, 1, (2,))`` actions (continuous: [steering, speed] in [-1, 1],
scaled by the environment as the simapp does), or build one from a ``model_metadata.json``
(:func:`camera_policy_from_metadata`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from deepracer_sim.errors import ActionSpaceError, CheckpointError, NetworkError
from deepracer_sim.formats.model_metadata import (
    ActionSpace,
    action_space_from_metadata,
    metadata_network,
)
from deepracer_sim.formats.problems import read_json
from deepracer_sim.formats.tf_variables import (
    DEFAULT_NETWORK,
    IMAGE_SHAPE,
    TF_CAMERA_SENSORS,
    network_spec,
)

#: The policy's observation shape (channels-first); DeepRacer's is ``IMAGE_SHAPE``.
OBSERVATION_SHAPE = (IMAGE_SHAPE[2], IMAGE_SHAPE[0], IMAGE_SHAPE[1])
#: State-dict keys that mark a camera policy (its own towers, or stable-baselines3's shared
#: ``NatureCNN``).
CAMERA_KEYS = ("pi_features_extractor.cnn.0.weight", "features_extractor.cnn.0.weight")


def camera_observation_space(channels_first: bool = True) -> gym.spaces.Box:
    """``Box(0, 255, (1, 120, 160) or (120, 160, 1), uint8)``: one grey camera frame."""
    shape = OBSERVATION_SHAPE if channels_first else IMAGE_SHAPE
    return gym.spaces.Box(0, 255, shape, np.uint8)


def is_camera_observation(space: gym.spaces.Space) -> bool:
    """Whether an environment's observation space is one camera frame (uint8, ``(120, 160, 1)``
    as DeepRacer's sensor gives it, or channels-first ``(1, 120, 160)``), which the camera
    networks read; anything else (the feature vector) is for the MLP policy."""
    return (isinstance(space, gym.spaces.Box) and space.dtype == np.uint8
            and tuple(space.shape) in (IMAGE_SHAPE, OBSERVATION_SHAPE))


def gym_action_space(space: ActionSpace) -> gym.spaces.Space:
    """The policy's action space: ``Discrete(K)``, or ``Box(-1, 1, (2,))`` for a continuous
    DeepRacer space (steering, speed; scaled by the environment)."""
    if space.continuous:
        return gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    return gym.spaces.Discrete(len(space))


class DeepRacerCameraExtractor(BaseFeaturesExtractor):
    """One tower of a DeepRacer camera network: embedder + middleware, ReLU after each layer.

    Input ``[N, 1, 120, 160]`` float (grey level / 255, stable-baselines3's preprocessing);
    output ``[N, 512]``. Modules: ``cnn`` (Conv2d/ReLU pairs, a 1x1 Conv2d per embedder dense
    layer, Flatten) and ``linear`` (Linear/ReLU pairs), named as ``NatureCNN``'s.

    Raises:
        NetworkError: another observation shape, or a ``neural_network`` that is not supported.
    """

    def __init__(self, observation_space: gym.spaces.Box,
                 neural_network: str = DEFAULT_NETWORK) -> None:
        spec = network_spec(neural_network)
        if tuple(observation_space.shape) != OBSERVATION_SHAPE:
            raise NetworkError(
                f"observation space {observation_space.shape}: DeepRacer's camera network takes "
                f"one 120x160 grey frame, Box(0, 255, {OBSERVATION_SHAPE}, uint8) (an env may "
                f"emit {IMAGE_SHAPE}; stable-baselines3 transposes it)")
        super().__init__(observation_space, spec.features)
        self.neural_network = neural_network
        layers: list[nn.Module] = []
        cin = OBSERVATION_SHAPE[0]
        for filters, k, s in spec.convs:
            layers += [nn.Conv2d(cin, filters, k, s, padding=0), nn.ReLU()]
            cin = filters
        for units in spec.embedder_dense:
            layers += [nn.Conv2d(cin, units, 1, 1), nn.ReLU()]
            cin = units
        layers.append(nn.Flatten())
        self.cnn = nn.Sequential(*layers)
        lin: list[nn.Module] = []
        n = spec.flat_features
        for units in spec.middleware_dense:
            lin += [nn.Linear(n, units), nn.ReLU()]
            n = units
        self.linear = nn.Sequential(*lin)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.linear(self.cnn(observations))


class DeepRacerCnnPolicy(ActorCriticPolicy):
    """stable-baselines3 actor-critic policy with DeepRacer's camera network in two separate
    towers (``pi_features_extractor`` = TensorFlow ``network_1``, ``vf_features_extractor`` =
    ``network_0``) and the heads directly on the 512 features (``net_arch=[]``).

    Args:
        neural_network: ``DEEP_CONVOLUTIONAL_NETWORK_SHALLOW`` (default) or
            ``DEEP_CONVOLUTIONAL_NETWORK``.
        **kwargs: as ``ActorCriticPolicy``'s; ``features_extractor_class``,
            ``share_features_extractor`` (False) and ``net_arch`` ([]) default as DeepRacer.

    Raises:
        NetworkError: a ``neural_network`` that differs from
            ``features_extractor_kwargs["neural_network"]``, or an action space DeepRacer does
            not have.
    """

    def __init__(self, observation_space: gym.spaces.Space, action_space: gym.spaces.Space,
                 lr_schedule: Any, neural_network: str | None = None, **kwargs: Any) -> None:
        fek = dict(kwargs.pop("features_extractor_kwargs", None) or {})
        if neural_network is not None:
            if fek.get("neural_network", neural_network) != neural_network:
                raise NetworkError(f"neural_network {neural_network!r} differs from "
                                   f"features_extractor_kwargs {fek['neural_network']!r}")
            fek["neural_network"] = neural_network
        fek.setdefault("neural_network", DEFAULT_NETWORK)
        if isinstance(action_space, gym.spaces.Box) and tuple(action_space.shape) != (2,):
            raise NetworkError(f"continuous action space {action_space.shape}: DeepRacer's is "
                               "Box(-1, 1, (2,)) (steering, speed)")
        if not isinstance(action_space, (gym.spaces.Box, gym.spaces.Discrete)):
            raise NetworkError(f"action space {action_space}: use Discrete(K) or "
                               "Box(-1, 1, (2,))")
        kwargs.setdefault("features_extractor_class", DeepRacerCameraExtractor)
        kwargs.setdefault("share_features_extractor", False)
        kwargs.setdefault("net_arch", [])
        super().__init__(observation_space, action_space, lr_schedule,
                         features_extractor_kwargs=fek, **kwargs)

    @property
    def neural_network(self) -> str:
        """The DeepRacer ``neural_network`` name of the towers."""
        return str(self.features_extractor_kwargs["neural_network"])

    def action_probabilities(self, obs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """What the frozen graph's ``policy`` node outputs: softmax probabilities ``[N, K]``
        (discrete) or the mean action ``[N, 2]`` in [-1, 1] (continuous).

        Args:
            obs: uint8 frames ``[N, 1, 120, 160]`` or ``[N, 120, 160, 1]`` (or one frame).
        """
        array = obs.cpu().numpy() if torch.is_tensor(obs) else np.asarray(obs)
        with torch.no_grad():
            obs_t, _ = self.obs_to_tensor(array)
            dist = self.get_distribution(obs_t).distribution
            assert not isinstance(dist, list)  # one action head
            if isinstance(self.action_space, gym.spaces.Box):
                return dist.mean
            assert isinstance(dist, torch.distributions.Categorical)
            return dist.probs


def camera_policy_kwargs(neural_network: str = DEFAULT_NETWORK, **extra: Any) -> dict:
    """``policy_kwargs`` of ``PPO(DeepRacerCnnPolicy, env, policy_kwargs=...)``.

    Raises:
        NetworkError: an unsupported ``neural_network``.
    """
    network_spec(neural_network)
    return {"neural_network": neural_network, **extra}


def build_camera_policy(space: ActionSpace, neural_network: str = DEFAULT_NETWORK,
                        ortho_init: bool = False) -> DeepRacerCnnPolicy:
    """A fresh :class:`DeepRacerCnnPolicy` for ``space`` on the CPU (``ortho_init=False``: the
    weights are loaded right after; stable-baselines3's QR init of the 11264x512 layer is
    slow).

    Raises:
        NetworkError: an unsupported ``neural_network``.
    """
    return DeepRacerCnnPolicy(camera_observation_space(), gym_action_space(space),
                              lambda _: 0.0, neural_network=neural_network,
                              ortho_init=ortho_init)


def camera_network(meta: Mapping) -> tuple[str, str]:
    """(camera sensor, ``neural_network``) of a ``model_metadata.json`` dict for the camera
    networks here.

    Raises:
        NetworkError: no single supported camera (``FRONT_FACING_CAMERA``), a lidar or stereo
            model, or an unsupported network; the message names the field and the fix.
    """
    sensors, neural_network = metadata_network(dict(meta))
    cameras = [s for s in sensors if s in TF_CAMERA_SENSORS]
    if len(cameras) != 1 or len(sensors) != 1:
        raise NetworkError(f"sensor {sensors}: the camera networks here read one front camera; "
                           f"write \"sensor\": [\"{TF_CAMERA_SENSORS[0]}\"] (stereo cameras and "
                           "lidar are not supported)")
    network_spec(neural_network)
    return cameras[0], neural_network


def camera_policy_from_metadata(meta: object,
                                ortho_init: bool = True) -> DeepRacerCnnPolicy:
    """A fresh :class:`DeepRacerCnnPolicy` for a ``model_metadata.json`` (a path, or its dict):
    its ``neural_network``, its ``sensor`` (one front camera) and its action space.

    Raises:
        ActionSpaceError: a broken file or action space; NetworkError: another sensor or an
            unsupported network.
    """
    source = "model_metadata.json"
    if isinstance(meta, (str, os.PathLike)):
        source = str(meta)
        meta = read_json(Path(meta), ActionSpaceError, " (expected a model_metadata.json)")
    space = action_space_from_metadata(meta, source)
    assert isinstance(meta, Mapping)  # a non-object is an error above
    _, neural_network = camera_network(meta)
    return build_camera_policy(space, neural_network, ortho_init)


def is_camera_state_dict(state: Mapping) -> bool:
    """Whether a policy state dict is a camera policy's (else a feature-vector MLP's)."""
    return any(key in state for key in CAMERA_KEYS)


def camera_policy_from_state_dict(state: Mapping[str, torch.Tensor], space: ActionSpace,
                                  neural_network: str = DEFAULT_NETWORK,
                                  source: str = "checkpoint") -> DeepRacerCnnPolicy:
    """A :class:`DeepRacerCnnPolicy` with the weights of ``state`` (a run's camera checkpoint),
    in evaluation mode.

    Raises:
        CheckpointError: weights that do not fit ``neural_network`` or ``space`` (the message
            names the tensor).
    """
    policy = build_camera_policy(space, neural_network)
    try:
        policy.load_state_dict(dict(state), strict=True)
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(f"{source}: the weights are not a {neural_network} camera policy "
                              f"for {len(space) or 'a continuous'} actions ("
                              f"{first[0] if first else exc} ...); the model_metadata.json does "
                              "not belong to these weights") from None
    policy.set_training_mode(False)
    return policy
