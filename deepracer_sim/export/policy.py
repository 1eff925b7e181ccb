"""The exported policy network: a checkpoint's weights as ONNX, and what its inputs and outputs
are (``model/policy_network.json``).

The weights are read by :mod:`deepracer_sim.training.policy` (``torch.load(weights_only=True)``,
never unpickling); this module turns the rebuilt policy into the ONNX graph of its policy tower:
input ``observation`` (batch, OBS_DIM) float32; output ``action_probabilities`` (batch, K)
(softmax over the discrete actions) or, for a continuous space, ``action_mean`` and
``action_log_std`` (batch, 2) in [-1, 1] units. A SAC policy's mean is its tanh-squashed
Gaussian mean (the action evaluation drives) and its log standard deviation is the pre-squash
one, clipped to [-20, 2] as stable-baselines3 samples it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from stable_baselines3.sac.policies import LOG_STD_MAX, LOG_STD_MIN, SACPolicy

from deepracer_sim.formats.files import atomic_path
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.formats.run_folder import (
    CHECKPOINT_STEP,
    CHECKPOINT_SUFFIX,
    SB3_SUFFIX,
    STATE_DICT_SUFFIX,
    onnx_name,
)
from deepracer_sim.sim.observation import LOOKAHEAD, OBS_DIM, observation_bounds
from deepracer_sim.training.policy import Policy

#: ONNX input/output names of the exported policy network.
ONNX_INPUT = "observation"
ONNX_PROBABILITIES = "action_probabilities"
ONNX_MEAN = "action_mean"
ONNX_LOG_STD = "action_log_std"
ONNX_OPSET = 17
#: Why the physical car cannot use the export (the summary and ``--check`` say it).
NOT_FOR_THE_CAR = (
    "the physical car cannot run this policy: it loads agent/model.pb, a TensorFlow graph over "
    "120x160 camera frames; this network reads deepracer-sim's feature vector")
#: ``<N>_Step-<S>.ckpt``: a checkpoint in the file descriptions.
_CKPT = f"<N>{CHECKPOINT_STEP}<S>{CHECKPOINT_SUFFIX}"


class PolicyNetwork(torch.nn.Module):
    """The torch module exported to ONNX: the policy tower and its head."""

    def __init__(self, policy: Policy, continuous: bool) -> None:
        super().__init__()
        self.continuous = continuous
        self.sac = isinstance(policy, SACPolicy)
        if isinstance(policy, SACPolicy):
            self.policy_net = policy.actor.latent_pi
            self.action_net = policy.actor.mu
            self.sac_log_std = policy.actor.log_std
            return
        self.policy_net = policy.mlp_extractor.policy_net
        self.action_net = policy.action_net
        if continuous:
            self.log_std = policy.log_std

    def forward(self, observation):
        if self.sac:
            latent = self.policy_net(observation)
            return (torch.tanh(self.action_net(latent)),
                    torch.clamp(self.sac_log_std(latent), LOG_STD_MIN, LOG_STD_MAX))
        out = self.action_net(self.policy_net(observation))
        if self.continuous:
            return out, self.log_std.expand_as(out)
        return torch.softmax(out, dim=-1)


def export_onnx(policy: Policy, space: ActionSpace, path: Path) -> None:
    """Write the policy network as ONNX (inputs/outputs: :func:`network_description`),
    atomically.

    Raises:
        ImportError: the ``onnx`` package (which torch's exporter needs) is not installed.
    """
    module = PolicyNetwork(policy, space.continuous).eval()
    outputs = [ONNX_MEAN, ONNX_LOG_STD] if space.continuous else [ONNX_PROBABILITIES]
    dummy = torch.zeros(1, OBS_DIM, dtype=torch.float32)
    axes = {name: {0: "batch"} for name in [ONNX_INPUT, *outputs]}
    with warnings.catch_warnings(), torch.no_grad(), atomic_path(path) as tmp:
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, (dummy,), str(tmp), input_names=[ONNX_INPUT],
                              output_names=outputs, dynamic_axes=axes,
                              opset_version=ONNX_OPSET, dynamo=False)
        except Exception as exc:
            if "onnx" in str(exc).lower() and "not installed" in str(exc).lower():
                raise ImportError(str(exc)) from None
            raise


def observation_features() -> list[str]:
    """Names of the observation vector's entries (:mod:`deepracer_sim.sim.observation`)."""
    names = ["speed / 4 m/s", "steering angle / 30 deg (+ = left)",
             "lateral offset from the centre line / (track width / 2) (+ = left)",
             "sin(yaw - centre-line direction)", "cos(yaw - centre-line direction)"]
    for d in LOOKAHEAD.tolist():
        names += [f"centre line {d:g} m ahead: forward / 3 m (car frame)",
                  f"centre line {d:g} m ahead: left / 3 m (car frame)"]
    return names


def _outputs(space: ActionSpace) -> list[dict]:
    if space.continuous:
        return [
            {"name": ONNX_MEAN, "shape": ["batch", 2], "dtype": "float32",
             "meaning": "mean action [steering, speed] in [-1, 1] units; clip to [-1, 1], then "
                        "scale (high - low) / 2 * (a + 1) + low with model_metadata.json's "
                        "steering_angle and speed (spec §4.1); evaluation drives the mean"},
            {"name": ONNX_LOG_STD, "shape": ["batch", 2], "dtype": "float32",
             "meaning": "log standard deviation of the Gaussian training samples from"},
        ]
    return [{"name": ONNX_PROBABILITIES, "shape": ["batch", len(space)], "dtype": "float32",
             "meaning": "probability of each model_metadata.json action_space entry, in "
                        "list order (softmax); evaluation drives the most likely one"}]


def network_description(space: ActionSpace, net_arch: tuple[int, ...],
                        algorithm: str = "clipped_ppo") -> dict:
    """The ``model/policy_network.json`` document (ONNX input/output names and shapes)."""
    low, high = observation_bounds()
    sac = algorithm == "sac"
    return {
        "format": f"deepracer-sim policy network (stable-baselines3 {'SAC' if sac else 'PPO'} "
                  "MlpPolicy, PyTorch)",
        "net_arch": list(net_arch),
        "activation": "relu" if sac else "tanh",
        "value_net_arch": [] if sac else list(net_arch),
        "onnx": {
            "opset": ONNX_OPSET,
            "inputs": [{"name": ONNX_INPUT, "shape": ["batch", OBS_DIM], "dtype": "float32",
                        "features": observation_features(),
                        "low": low.tolist(), "high": high.tolist()}],
            "outputs": _outputs(space),
        },
        "files": {
            _CKPT + SB3_SUFFIX: "stable-baselines3 checkpoint (policy + optimizer); "
                                "train.py --clone starts from it. PPO.load unpickles its "
                                "'data' member: load only files you trust",
            _CKPT + STATE_DICT_SUFFIX: "policy state_dict: torch.load(path, weights_only=True)",
            onnx_name("<N>"): "the policy network of checkpoint N (inputs/outputs above)",
        },
        "cloud": "The network sees deepracer-sim's feature vector, not DeepRacer's 120x160 "
                 "camera image: DeepRacer's simapp and the physical car cannot load these "
                 "weights. The reward function, action space, hyperparameters and track "
                 "transfer unchanged.",
    }
