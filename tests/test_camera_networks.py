"""DeepRacer's camera networks in torch, their stable-baselines3 policy, and the exact torch <->
TensorFlow mapping (checked against independent numpy references, no TensorFlow)."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.policies import ActorCriticCnnPolicy
from stable_baselines3.common.torch_layers import NatureCNN
from tf_reference import (
    DEEP,
    SHALLOW,
    CameraEnv,
    make_frames,
    make_policy,
    run_graph,
    tf_layout_forward,
)

from deepracer_sim.errors import NetworkError, TensorFlowFileError
from deepracer_sim.formats import tf_proto
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.formats.tf_variables import SCOPE
from deepracer_sim.training import networks as camera_net
from deepracer_sim.training import tf_weights

pytest_plugins = ["camera_fixtures"]


def test_shallow_is_natures_cnn():
    space = camera_net.camera_observation_space()
    ours = camera_net.DeepRacerCameraExtractor(space)
    nature = NatureCNN(space, features_dim=512)
    assert list(ours.state_dict()) == list(nature.state_dict())
    ours.load_state_dict(nature.state_dict())
    x = th.rand(3, 1, 120, 160)
    assert th.equal(ours(x), nature(x))


def test_extractor_rejects_other_observations():
    with pytest.raises(NetworkError, match=r"one 120x160 grey frame"):
        camera_net.DeepRacerCameraExtractor(gym.spaces.Box(0, 255, (3, 120, 160), np.uint8))


@pytest.mark.parametrize("continuous, channels_first", [(False, False), (True, True)])
def test_sb3_ppo_trains_with_separate_towers(continuous, channels_first):
    model = PPO(camera_net.DeepRacerCnnPolicy, CameraEnv(continuous, channels_first),
                n_steps=16, batch_size=8, n_epochs=1, device="cpu", seed=0,
                policy_kwargs=camera_net.camera_policy_kwargs(SHALLOW, ortho_init=False))
    policy = model.policy
    # DeepRacer's (120, 160, 1) frames are transposed by SB3 for the channels-first policy
    assert policy.observation_space.shape == (1, 120, 160)
    assert policy.pi_features_extractor is not policy.vf_features_extractor
    assert policy.neural_network == SHALLOW
    before = policy.pi_features_extractor.cnn[0].weight.detach().clone()
    model.learn(16)
    assert not th.equal(before, policy.pi_features_extractor.cnn[0].weight)
    frames = make_frames(2)
    out = policy.action_probabilities(frames)  # DeepRacer layout in, graph output out
    assert out.shape == (frames.shape[0], 2 if continuous else 5)
    if not continuous:
        assert th.allclose(out.sum(1), th.ones(len(frames)))
    # the SB3 state dict maps onto exactly the simapp's variables
    variables, spec = tf_weights.sb3_to_tf_variables(policy.state_dict())
    assert list(variables) == list(spec.variables())
    assert len(variables) == (23 if continuous else 22)


def test_policy_rejects_other_action_spaces():
    with pytest.raises(NetworkError, match=r"Box\(-1, 1, \(2,\)\)"):
        camera_net.DeepRacerCnnPolicy(camera_net.camera_observation_space(),
                                      gym.spaces.Box(-1, 1, (3,)), lambda _: 1e-4)


@pytest.mark.parametrize("fixture", ["shallow_discrete", "shallow_continuous", "deep_discrete"])
def test_torch_equals_tf_layout_reference(fixture, request):
    """The mapped variables, run by an independent NHWC numpy forward pass, give the torch
    policy's outputs: transposes, the (C,H,W)->(H,W,C) flatten reorder and the towers."""
    policy = request.getfixturevalue(fixture)
    variables, spec = tf_weights.sb3_to_tf_variables(policy.state_dict(),
                                                     policy.neural_network)
    frames = make_frames(3)
    want_pi, want_v = tf_layout_forward(variables, spec, frames)
    got_pi = policy.action_probabilities(frames).double().numpy()
    with th.no_grad():
        got_v = policy.predict_values(policy.obs_to_tensor(frames)[0]).double().numpy()[:, 0]
    assert np.abs(got_pi - want_pi).max() < 1e-5
    assert np.abs(got_v - want_v).max() < 1e-5
    if not spec.continuous:
        assert (want_pi.max(1) - np.sort(want_pi, 1)[:, -2]).min() > 1e-3  # distinct actions


def test_deep_network_mapping_is_exact_both_ways(deep_discrete):
    """DEEP_CONVOLUTIONAL_NETWORK (its per-pixel Dense as a 1x1 convolution): torch -> TF
    layout -> torch is exact (the file round trip is the SHALLOW tests'; a DEEP checkpoint is
    230 MB)."""
    state = deep_discrete.state_dict()
    variables, spec = tf_weights.sb3_to_tf_variables(state, DEEP)
    assert variables[f"{SCOPE}/network_1/FRONT_FACING_CAMERA/Dense_8/kernel"].shape == (64, 64)
    back = tf_weights.tf_variables_to_sb3(variables, spec)
    assert sorted(back) == sorted(state)
    assert all(th.equal(back[k], state[k]) for k in state)


@pytest.mark.parametrize("fixture", ["shallow_discrete", "shallow_continuous"])
def test_roundtrip_torch_bundle_reader_torch_exact(fixture, request, tmp_path):
    policy = request.getfixturevalue(fixture)
    paths = tf_weights.write_tf_model(policy, tmp_path, "4_Step-5000.ckpt")
    fresh = make_policy(policy.neural_network, fixture.endswith("continuous"),
                        policy.action_space.n if hasattr(policy.action_space, "n") else 5,
                        seed=9)
    spec = tf_weights.load_tf_checkpoint(fresh, tmp_path / "4_Step-5000.ckpt")
    assert spec.network.name == policy.neural_network
    a, b = policy.state_dict(), fresh.state_dict()
    assert list(a) == list(b)
    assert all(th.equal(a[k], b[k]) for k in a)
    # the frozen graph computes the policy's outputs
    graph = tf_proto.GraphDef()
    graph.ParseFromString(paths["pb"].read_bytes())
    frames = make_frames(2)
    got = run_graph(graph, {spec.input_node: frames}, spec.output_node)
    assert np.abs(got - policy.action_probabilities(frames).double().numpy()).max() < 1e-5


def test_load_checkpoint_of_another_model_is_refused(shallow_discrete, tmp_path):
    tf_weights.write_tf_model(shallow_discrete, tmp_path, "1_Step-2.ckpt")
    other = make_policy(SHALLOW, False, n_actions=4)
    with pytest.raises(TensorFlowFileError, match=r"5-action discrete model, the policy is .* "
                                                  r"4-action discrete"):
        tf_weights.load_tf_checkpoint(other, tmp_path / "1_Step-2.ckpt")


def test_shared_extractor_and_natures_cnn_policy_export(tmp_path):
    """SB3's stock CnnPolicy (NatureCNN, one shared extractor) with net_arch=[] exports: the
    shared trunk goes into both towers, so the graph computes the same function."""
    policy = ActorCriticCnnPolicy(camera_net.camera_observation_space(), gym.spaces.Discrete(3),
                                  lambda _: 1e-4, net_arch=[], ortho_init=False)
    variables, spec = tf_weights.sb3_to_tf_variables(policy.state_dict())
    k = "middleware_fc_embedder/Dense_0/kernel"
    assert np.array_equal(variables[f"{SCOPE}/network_0/{k}"],
                          variables[f"{SCOPE}/network_1/{k}"])
    frames = make_frames(1)
    want, _ = tf_layout_forward(variables, spec, frames)
    with th.no_grad():
        got = policy.get_distribution(policy.obs_to_tensor(frames)[0]).distribution.probs
    assert np.abs(got.double().numpy() - want).max() < 1e-5


def test_hidden_layers_are_refused():
    policy = camera_net.DeepRacerCnnPolicy(camera_net.camera_observation_space(),
                                           gym.spaces.Discrete(3), lambda _: 1e-4,
                                           net_arch=[64], ortho_init=False)
    with pytest.raises(NetworkError, match="net_arch=\\[\\]"):
        tf_weights.sb3_to_tf_variables(policy.state_dict())


def test_conflicting_network_names():
    with pytest.raises(NetworkError, match="differs"):
        camera_net.DeepRacerCnnPolicy(camera_net.camera_observation_space(),
                                      gym.spaces.Discrete(3), lambda _: 1e-4,
                                      neural_network=DEEP,
                                      features_extractor_kwargs={"neural_network": SHALLOW})


def test_policy_rebuilds_from_its_constructor_parameters(deep_discrete):
    """What SB3 saves (constructor parameters + state dict) rebuilds the same network, so a
    run folder's .zip / .pt reloads (the project loads weights with weights_only=True)."""
    params = deep_discrete._get_constructor_parameters()
    assert params["features_extractor_kwargs"] == {"neural_network": DEEP}
    rebuilt = camera_net.DeepRacerCnnPolicy(**params)
    rebuilt.load_state_dict(deep_discrete.state_dict(), strict=True)
    frames = make_frames(1)
    assert th.equal(rebuilt.action_probabilities(frames),
                    deep_discrete.action_probabilities(frames))


def _metadata(network: str, continuous: bool, *sensors: str) -> dict:
    if continuous:
        space = {"steering_angle": {"low": -30, "high": 30}, "speed": {"low": 0.5, "high": 3}}
    else:
        space = discrete_action_space(30.0, 3, 2.0, 2).to_metadata()["action_space"]
    return {"action_space": space, "sensor": list(sensors or ["FRONT_FACING_CAMERA"]),
            "neural_network": network,
            "training_algorithm": "clipped_ppo",
            "action_space_type": "continuous" if continuous else "discrete", "version": "5"}


def test_policy_from_model_metadata(tmp_path):
    """model_metadata.json's neural_network, sensor and action space choose the network."""
    path = tmp_path / "model_metadata.json"
    path.write_text(json.dumps(_metadata(DEEP, True)))
    deep = camera_net.camera_policy_from_metadata(path, ortho_init=False)
    assert deep.neural_network == DEEP
    assert deep.action_space == gym.spaces.Box(-1, 1, (2,), np.float32)
    # DEEP_CONVOLUTIONAL_NETWORK: the Dense(64) per pixel makes the middleware 25*35*64 wide
    assert deep.pi_features_extractor.linear[0].weight.shape == (512, 56_000)
    shallow = camera_net.camera_policy_from_metadata(_metadata(SHALLOW, False), ortho_init=False)
    assert shallow.action_space == gym.spaces.Discrete(6)  # 3 steering x 2 speeds
    assert shallow.pi_features_extractor.linear[0].weight.shape == (512, 11 * 16 * 64)
    with pytest.raises(NetworkError, match=r"sensor \['FRONT_FACING_CAMERA', 'SECTOR_LIDAR'\]"
                       r".*lidar are not supported"):
        camera_net.camera_policy_from_metadata(
            _metadata(SHALLOW, False, "FRONT_FACING_CAMERA", "SECTOR_LIDAR"))
    with pytest.raises(NetworkError, match="DEEP_CONVOLUTIONAL_NETWORK_DEEP' is not supported"):
        camera_net.camera_policy_from_metadata(_metadata("DEEP_CONVOLUTIONAL_NETWORK_DEEP", False))


def test_flatten_reorder_of_the_first_dense_layer():
    """Torch flattens the 64x11x16 feature map (C, H, W), TensorFlow (H, W, C): torch weight
    [j, c*176 + h*16 + w] must land in the TF kernel's row h*16*64 + w*64 + c."""
    policy = make_policy(SHALLOW, False, n_actions=3, seed=4)
    variables, _ = tf_weights.sb3_to_tf_variables(policy.state_dict())
    torch_w = policy.pi_features_extractor.linear[0].weight.detach().numpy()
    tf_k = variables[f"{SCOPE}/network_1/middleware_fc_embedder/Dense_0/kernel"]
    for j, c, h, w in [(0, 0, 0, 1), (7, 63, 10, 15), (511, 5, 3, 0)]:
        assert tf_k[h * 16 * 64 + w * 64 + c, j] == torch_w[j, c * 176 + h * 16 + w]
