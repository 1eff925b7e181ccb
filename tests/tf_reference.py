"""Independent numpy references for the camera-network tests: DeepRacer's network forward pass
in TensorFlow's layout (NHWC, TF kernels, (H, W, C) flatten), a tiny interpreter of the frozen
GraphDef's ops, test frames, and policies with distinct action probabilities."""

from __future__ import annotations

from collections.abc import Mapping

import gymnasium as gym
import numpy as np
import torch

from deepracer_sim.formats import tf_proto
from deepracer_sim.formats.tf_variables import SCOPE, ModelSpec
from deepracer_sim.training.networks import DeepRacerCnnPolicy, camera_observation_space

SHALLOW = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
DEEP = "DEEP_CONVOLUTIONAL_NETWORK"


class CameraEnv(gym.Env):
    """A stub env with DeepRacer's observation: one grey frame, uint8, (120, 160, 1) (the
    simapp's layout) or (1, 120, 160); random frames and rewards."""

    def __init__(self, continuous: bool = False, channels_first: bool = False,
                 n_actions: int = 5) -> None:
        self.observation_space = camera_observation_space(channels_first)
        self.action_space = (gym.spaces.Box(-1, 1, (2,), np.float32) if continuous
                             else gym.spaces.Discrete(n_actions))
        self._rng = np.random.default_rng(0)

    def reset(self, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), float(self._rng.random()), False, False, {}


def conv2d_nhwc(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """Valid-padding convolution, x [N,H,W,C], kernel [kh,kw,C,O] -> [N,Ho,Wo,O]."""
    kh, kw = kernel.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    win = win[:, ::stride, ::stride]  # [N, Ho, Wo, C, kh, kw]
    return np.einsum("nhwcij,ijco->nhwo", win, kernel, optimize=True)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def tf_layout_forward(variables: Mapping[str, np.ndarray], spec: ModelSpec,
                      frames: np.ndarray, value: bool = True
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """(policy output, value or None) in float64 from TF-layout variables; frames
    [N,120,160,1] 0-255."""

    class _F64(dict):
        def __missing__(self, key):
            self[key] = np.asarray(variables[key], dtype=np.float64)
            return self[key]

    v = _F64()
    out = [None]
    for tower in (0, 1) if value else (1,):
        x = frames.astype(np.float64) / 255.0
        for layer in spec.tower_layers(tower):
            k, b = v[f"{layer.scope}/kernel"], v[f"{layer.scope}/bias"]
            if layer.kind == "conv":
                x = conv2d_nhwc(x, k, layer.stride)
            elif layer.kind == "pixel_dense":
                x = x @ k  # Dense on the last (channel) axis, as Keras does on a 4-D input
            else:
                x = x.reshape(x.shape[0], -1) @ k  # NHWC flatten: (H, W, C) order
            x = np.maximum(x + b, 0.0)
        if tower == 0:
            out[0] = x
        else:
            out.append(x)
    s = SCOPE
    v_out = None
    if value:
        v_out = (out[0] @ v[f"{s}/network_0/v_values_head_0/output/kernel"]
                 + v[f"{s}/network_0/v_values_head_0/output/bias"])[:, 0]
    head = f"{s}/network_1/ppo_head_0/" + ("policy_mean" if spec.continuous else "policy_fc")
    z = out[1] @ v[f"{head}/kernel"] + v[f"{head}/bias"]
    return (z if spec.continuous else softmax(z)), v_out


def run_graph(graph, feeds: Mapping[str, np.ndarray], output: str) -> np.ndarray:
    """Evaluate ``output`` of a GraphDef with numpy (the ops of tf_graph.FROZEN_GRAPH_OPS)."""
    nodes = {n.name: n for n in graph.node}
    cache: dict[str, np.ndarray] = {}

    def ev(name: str) -> np.ndarray:
        name = name.split(":")[0]
        if name in cache:
            return cache[name]
        n = nodes[name]
        ins = [ev(i) for i in n.input if not i.startswith("^")]
        if n.op == "Placeholder":
            val = np.asarray(feeds[name], dtype=np.float64)
        elif n.op == "Const":
            val = tf_proto.tensor_value(n.attr["value"].tensor)
            val = val.astype(np.float64) if val.dtype.kind == "f" else val
        elif n.op == "RealDiv":
            val = ins[0] / ins[1]
        elif n.op == "Conv2D":
            assert n.attr["padding"].s == b"VALID" and n.attr["data_format"].s == b"NHWC"
            strides = list(n.attr["strides"].list.i)
            assert strides[0] == strides[3] == 1 and strides[1] == strides[2]
            assert list(n.attr["dilations"].list.i) == [1, 1, 1, 1]
            val = conv2d_nhwc(ins[0], ins[1], strides[1])
        elif n.op == "BiasAdd":
            val = ins[0] + ins[1]
        elif n.op == "Relu":
            val = np.maximum(ins[0], 0.0)
        elif n.op == "Reshape":
            val = ins[0].reshape(tuple(int(d) for d in ins[1]))
        elif n.op == "MatMul":
            a = ins[0].T if n.attr["transpose_a"].b else ins[0]
            b = ins[1].T if n.attr["transpose_b"].b else ins[1]
            val = a @ b
        elif n.op == "Softmax":
            val = softmax(ins[0])
        elif n.op == "Identity":
            val = ins[0]
        else:
            raise NotImplementedError(n.op)
        cache[name] = val
        return val

    return ev(output)


def make_frames(n_random: int = 6, seed: int = 1) -> np.ndarray:
    """uint8 frames [N,120,160,1]: random noise, black, white, a horizontal grey ramp, and a
    synthetic track view with the grey levels of the simapp's sample frame
    (cloud-model-format.md §6.3: wall 84, field 160, road 85, border lines 254, centre line
    127) on a road that widens towards the car."""
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 256, (n_random, 120, 160, 1), dtype=np.uint8),
              np.zeros((1, 120, 160, 1), np.uint8), np.full((1, 120, 160, 1), 255, np.uint8),
              np.tile(np.linspace(0, 255, 160).astype(np.uint8)[None, None, :, None],
                      (1, 120, 1, 1))]
    track = np.full((120, 160), 160, np.uint8)
    track[:33] = 84  # wall
    rows = np.arange(33, 120)[:, None]
    cols = np.arange(160)[None, :]
    half = 10 + (rows - 33) * 0.9  # the road widens towards the car
    centre = 80 + (rows - 33) * 0.2
    road = np.abs(cols - centre) < half
    track[33:][road] = 85
    track[33:][np.abs(np.abs(cols - centre) - half) < 2] = 254
    track[33:][np.abs(cols - centre) < 1] = 127
    frames.append(track[None, :, :, None])
    return np.concatenate(frames)


def distinct_policy(policy, seed: int = 0) -> None:
    """Scale a fresh SB3 policy's action head so probabilities differ clearly between actions
    (SB3 initialises action_net with gain 0.01, i.e. near-uniform probabilities)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        w = policy.action_net.weight
        w.copy_(torch.randn(w.shape, generator=g) * 0.05)
        policy.action_net.bias.copy_(torch.randn(policy.action_net.bias.shape, generator=g) * 0.1)
        if hasattr(policy, "log_std") and isinstance(policy.log_std, torch.nn.Parameter):
            policy.log_std.copy_(torch.tensor([-0.5, 0.3]))


def make_policy(network: str = SHALLOW, continuous: bool = False, n_actions: int = 5,
                seed: int = 0) -> DeepRacerCnnPolicy:
    """A DeepRacerCnnPolicy with distinct action probabilities (ortho_init off: SB3's QR init
    of the 11264x512 layer is slow and irrelevant here)."""
    torch.manual_seed(seed)
    act = (gym.spaces.Box(-1, 1, (2,), np.float32) if continuous
           else gym.spaces.Discrete(n_actions))
    policy = DeepRacerCnnPolicy(camera_observation_space(), act, lambda _: 3e-4,
                                neural_network=network, ortho_init=False)
    distinct_policy(policy, seed)
    policy.set_training_mode(False)
    return policy
