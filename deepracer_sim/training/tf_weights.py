"""The camera policy's weights as DeepRacer's TensorFlow variables, and back: the layout
mapping between :mod:`deepracer_sim.training.networks` and
:mod:`deepracer_sim.formats.tf_variables` (cloud-model-format.md §7).

* convolution kernel: torch ``[out, in, kh, kw]`` -> TensorFlow ``[kh, kw, in, out]``;
* linear layer: ``W`` -> ``W.T``; an embedder dense layer (``DEEP_CONVOLUTIONAL_NETWORK``) is a
  1x1 convolution ``[out, in, 1, 1]`` in torch and a ``[in, out]`` kernel in TensorFlow;
* the first middleware layer's rows are reordered from torch's (C, H, W) flatten to
  TensorFlow's (H, W, C): ``w.reshape(512, C, H, W).transpose(2, 3, 1, 0).reshape(H*W*C, 512)``
  (the easy-to-miss step: without it the checkpoint still restores, and drives badly);
* ``log_std [2] -> policy_log_std [1, 2]``; the two ``gradients_from_head_0-0_rescalers`` are 1.0;
* the policy tower (``pi_features_extractor``, ``action_net``) is ``network_1``, the value
  tower (``vf_features_extractor``, ``value_net``) ``network_0``; a stable-baselines3
  ``CnnPolicy`` whose one ``features_extractor`` both heads share is written into both towers
  (the same function).

:func:`write_tf_model` writes a policy as DeepRacer's checkpoint files (the export);
:func:`load_tf_checkpoint` reads a cloud model's checkpoint into a policy (``train --clone``).
The mapping is exact both ways (values are only moved).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from deepracer_sim.errors import NetworkError, TensorFlowFileError
from deepracer_sim.formats.tf_checkpoint import infer_model_spec, read_checkpoint, write_model_files
from deepracer_sim.formats.tf_variables import (
    DEFAULT_NETWORK,
    DEFAULT_SENSOR,
    SCOPE,
    Layer,
    ModelSpec,
    network_spec,
    validate_variables,
)
from deepracer_sim.training.networks import DeepRacerCnnPolicy

_PI = "pi_features_extractor."
_VF = "vf_features_extractor."
_SHARED = "features_extractor."
_VALUE = f"{SCOPE}/network_0/v_values_head_0/output"
_HEAD = f"{SCOPE}/network_1/ppo_head_0"


def _tower_prefixes(state: Mapping[str, torch.Tensor]) -> tuple[str, str]:
    """(policy tower prefix, value tower prefix) in a stable-baselines3 state dict."""
    if _PI + "cnn.0.weight" in state:
        return _PI, _VF
    if _SHARED + "cnn.0.weight" in state:
        return _SHARED, _SHARED  # one shared extractor: both towers
    raise NetworkError("not a DeepRacer camera policy state dict (no "
                       f"{_PI}cnn.0.weight or {_SHARED}cnn.0.weight): train with "
                       "DeepRacerCnnPolicy or stable-baselines3's NatureCNN")


def model_spec_of(state: Mapping[str, torch.Tensor], neural_network: str = DEFAULT_NETWORK,
                  sensor: str = DEFAULT_SENSOR) -> ModelSpec:
    """The :class:`ModelSpec` of a camera policy's state dict (head type and size from
    ``action_net`` / ``log_std``).

    Raises:
        NetworkError: not such a state dict, or hidden layers between the towers and the heads.
    """
    _tower_prefixes(state)
    if any(k.startswith("mlp_extractor.") for k in state):
        raise NetworkError("the policy has hidden layers after the extractor (net_arch); "
                           "DeepRacer's heads sit directly on the 512 middleware features: "
                           "train with net_arch=[]")
    if "action_net.weight" not in state:
        raise NetworkError("no action_net.weight in the policy state dict")
    return ModelSpec(network_spec(neural_network), int(state["action_net.weight"].shape[0]),
                     "log_std" in state, sensor)


class _Reader:
    """Tensors of a state dict as float32 numpy arrays of checked shapes."""

    def __init__(self, state: Mapping[str, torch.Tensor], spec: ModelSpec) -> None:
        self.state = state
        self.spec = spec

    def get(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        if key not in self.state:
            raise NetworkError(f"policy state dict: no {key} for a {self.spec.network.name} "
                               "tower: the policy was trained with another network")
        a = self.state[key].detach().cpu().to(torch.float32).numpy()
        if a.shape != shape:
            raise NetworkError(f"policy state dict: {key} has shape {list(a.shape)}, a "
                               f"{self.spec.network.name} tower on 120x160 frames has "
                               f"{list(shape)}")
        return a


def _torch_key(spec: ModelSpec, prefix: str, i: int) -> str:
    """The torch module of the ``i``-th weight layer of a tower."""
    n_embedder = len(spec.network.convs) + len(spec.network.embedder_dense)
    return f"{prefix}cnn.{2 * i}" if i < n_embedder else f"{prefix}linear.{2 * (i - n_embedder)}"


def _tf_kernel(reader: _Reader, layer: Layer, key: str, first_dense: bool) -> np.ndarray:
    """A layer's TensorFlow kernel from its torch weight."""
    spec = reader.spec
    if layer.kind == "conv":
        kh, kw, cin, cout = layer.kernel
        return reader.get(f"{key}.weight", (cout, cin, kh, kw)).transpose(2, 3, 1, 0)
    cin, cout = layer.kernel
    if layer.kind == "pixel_dense":
        return reader.get(f"{key}.weight", (cout, cin, 1, 1))[:, :, 0, 0].T
    weight = reader.get(f"{key}.weight", (cout, cin))
    if first_dense:  # torch flattens (C, H, W), TensorFlow (H, W, C)
        h, w, c = spec.network.feature_map()
        return weight.reshape(cout, c, h, w).transpose(2, 3, 1, 0).reshape(cin, cout)
    return weight.T


def _tower_to_tf(reader: _Reader, tower: int, prefix: str, out: dict[str, np.ndarray]) -> None:
    spec = reader.spec
    n_embedder = len(spec.network.convs) + len(spec.network.embedder_dense)
    for i, layer in enumerate(spec.tower_layers(tower)):
        key = _torch_key(spec, prefix, i)
        out[f"{layer.scope}/kernel"] = np.ascontiguousarray(
            _tf_kernel(reader, layer, key, i == n_embedder))
        out[f"{layer.scope}/bias"] = reader.get(f"{key}.bias", (layer.kernel[-1],))
    out[f"{SCOPE}/network_{tower}/gradients_from_head_0-0_rescalers"] = \
        np.array(1.0, dtype=np.float32)


def _heads_to_tf(reader: _Reader, out: dict[str, np.ndarray]) -> None:
    spec = reader.spec
    f = spec.network.features
    out[f"{_VALUE}/kernel"] = np.ascontiguousarray(reader.get("value_net.weight", (1, f)).T)
    out[f"{_VALUE}/bias"] = reader.get("value_net.bias", (1,))
    layer = f"{_HEAD}/policy_mean" if spec.continuous else f"{_HEAD}/policy_fc"
    out[f"{layer}/kernel"] = np.ascontiguousarray(
        reader.get("action_net.weight", (spec.n_actions, f)).T)
    out[f"{layer}/bias"] = reader.get("action_net.bias", (spec.n_actions,))
    if spec.continuous:
        out[f"{_HEAD}/policy_log_std"] = reader.get("log_std", (2,)).reshape(1, 2)


def sb3_to_tf_variables(state: Mapping[str, torch.Tensor], neural_network: str = DEFAULT_NETWORK,
                        sensor: str = DEFAULT_SENSOR) -> tuple[dict[str, np.ndarray], ModelSpec]:
    """The TensorFlow variables (names, layouts, float32) of a camera policy's state dict
    (:class:`~deepracer_sim.training.networks.DeepRacerCnnPolicy`, or stable-baselines3's
    ``CnnPolicy`` with ``net_arch=[]``).

    Returns:
        (variables in :meth:`ModelSpec.variables` order, the spec).

    Raises:
        NetworkError: a state dict of another architecture (the message names the tensor).
    """
    spec = model_spec_of(state, neural_network, sensor)
    pi, vf = _tower_prefixes(state)
    reader = _Reader(state, spec)
    out: dict[str, np.ndarray] = {}
    _tower_to_tf(reader, 0, vf, out)
    _tower_to_tf(reader, 1, pi, out)
    _heads_to_tf(reader, out)
    return validate_variables(out, spec, "policy state dict"), spec


def _torch_weight(layer: Layer, kernel: np.ndarray, spec: ModelSpec,
                  first_dense: bool) -> np.ndarray:
    """A layer's torch weight from its TensorFlow kernel (the inverse of :func:`_tf_kernel`)."""
    if layer.kind == "conv":
        return kernel.transpose(3, 2, 0, 1)
    if layer.kind == "pixel_dense":
        return kernel.T[:, :, None, None]
    if first_dense:
        h, w, c = spec.network.feature_map()
        cin, cout = layer.kernel
        return kernel.reshape(h, w, c, cout).transpose(3, 2, 0, 1).reshape(cout, cin)
    return kernel.T


def tf_variables_to_sb3(variables: Mapping[str, np.ndarray], spec: ModelSpec
                        ) -> dict[str, torch.Tensor]:
    """The :class:`~deepracer_sim.training.networks.DeepRacerCnnPolicy` state dict of
    TensorFlow-layout variables (the inverse of :func:`sb3_to_tf_variables`; exact). Keys:
    ``pi_features_extractor.*`` (also as ``features_extractor.*``, stable-baselines3's alias),
    ``vf_features_extractor.*``, ``action_net.*``, ``value_net.*`` and, continuous,
    ``log_std``.

    Raises:
        NetworkError: variables that do not fit ``spec``.
    """
    variables = validate_variables(variables, spec, "checkpoint")
    n_embedder = len(spec.network.convs) + len(spec.network.embedder_dense)
    out: dict[str, torch.Tensor] = {}

    def put(key: str, array: np.ndarray) -> None:
        out[key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32).copy())

    for tower, prefix in ((1, _PI), (0, _VF)):
        for i, layer in enumerate(spec.tower_layers(tower)):
            key = _torch_key(spec, prefix, i)
            put(f"{key}.weight", _torch_weight(layer, variables[f"{layer.scope}/kernel"], spec,
                                               i == n_embedder))
            put(f"{key}.bias", variables[f"{layer.scope}/bias"])
    for key in [k for k in out if k.startswith(_PI)]:
        out[_SHARED + key[len(_PI):]] = out[key]
    layer_name = f"{_HEAD}/policy_mean" if spec.continuous else f"{_HEAD}/policy_fc"
    put("action_net.weight", variables[f"{layer_name}/kernel"].T)
    put("action_net.bias", variables[f"{layer_name}/bias"])
    put("value_net.weight", variables[f"{_VALUE}/kernel"].T)
    put("value_net.bias", variables[f"{_VALUE}/bias"])
    if spec.continuous:
        put("log_std", variables[f"{_HEAD}/policy_log_std"].reshape(2))
    return out


def policy_network_name(policy: torch.nn.Module) -> str:
    """The ``neural_network`` of a camera policy (``NatureCNN``'s is SHALLOW)."""
    return str(getattr(policy, "neural_network", DEFAULT_NETWORK))


def write_tf_model(policy: torch.nn.Module, model_dir: str | os.PathLike, name: str,
                   frozen_graph: bool = True, sensor: str = DEFAULT_SENSOR) -> dict[str, Path]:
    """Write a camera policy as DeepRacer's ``<name>.index``, ``.data-00000-of-00001``,
    ``.meta`` and (``frozen_graph``) ``model_<N>.pb`` in ``model_dir``.

    Args:
        policy: a :class:`~deepracer_sim.training.networks.DeepRacerCnnPolicy` (or
            stable-baselines3's ``CnnPolicy`` with ``net_arch=[]``).
        name: ``<N>_Step-<S>.ckpt``.

    Returns:
        {"index", "data", "meta"[, "pb"]} -> path.

    Raises:
        NetworkError: a policy of another architecture, or weights that are not finite.
    """
    variables, spec = sb3_to_tf_variables(policy.state_dict(), policy_network_name(policy),
                                          sensor)
    return write_model_files(model_dir, name, variables, spec, frozen_graph)


def load_tf_checkpoint(policy: DeepRacerCnnPolicy, prefix: str | os.PathLike) -> ModelSpec:
    """Load a DeepRacer checkpoint (``.../<N>_Step-<S>.ckpt``, TensorFlow V2) into ``policy``,
    without TensorFlow: a cloud model's weights (``train --clone``; the optimizer starts
    afresh, as DeepRacer's clone: the checkpoint holds no optimizer state).

    Raises:
        TensorFlowFileError: unreadable files, or a checkpoint whose network or action head
            differs from the policy's (the message names both and the fix).
    """
    want = model_spec_of(policy.state_dict(), policy.neural_network)
    got = infer_model_spec(prefix)
    if (got.network.name, got.continuous, got.n_actions) != \
            (want.network.name, want.continuous, want.n_actions):
        def kind(s: ModelSpec) -> str:
            head = "continuous" if s.continuous else f"{s.n_actions}-action discrete"
            return f"{s.network.name} {head}"
        raise TensorFlowFileError(f"{prefix}: holds a {kind(got)} model, the policy is a "
                                  f"{kind(want)} one: build the policy from the cloud model's "
                                  "model_metadata.json")
    variables, spec = read_checkpoint(prefix, got)
    policy.load_state_dict(tf_variables_to_sb3(variables, spec), strict=True)
    return spec
