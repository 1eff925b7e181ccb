"""A camera run's way out and back in: ``train.py --network`` choosing the camera policy,
``deepracer-sim export`` writing DeepRacer's TensorFlow files (checkpoint, frozen graph, car
archive), ``export --check`` verifying them, and ``train.py --clone`` of a DeepRacer model folder
with a TensorFlow checkpoint. The camera renderer is not needed: the run's checkpoints come from
a policy trained on synthetic uint8 (120, 160, 1) frames."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from export_helpers import REWARD, rel_files
from stable_baselines3.common.vec_env import DummyVecEnv
from tf_reference import SHALLOW, CameraEnv, make_frames, make_policy, run_graph

from deepracer_sim.cli import main as cli_main
from deepracer_sim.errors import TensorFlowFileError, UsageError
from deepracer_sim.export import check_path, clone_source, export_run
from deepracer_sim.formats import tf_bundle
from deepracer_sim.formats.checkpoints import write_checkpoints_json
from deepracer_sim.formats.hyperparameters import read_hyperparameters
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.formats.problems import errors
from deepracer_sim.formats.run_folder import RunFolder
from deepracer_sim.formats.tf_checkpoint import read_checkpoint
from deepracer_sim.formats.tf_graph import read_graph_def
from deepracer_sim.formats.tf_variables import SCOPE, model_spec
from deepracer_sim.track import load_track
from deepracer_sim.training import ppo as training
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.networks import DeepRacerCnnPolicy, camera_policy_from_state_dict
from deepracer_sim.training.policy import load_policy, read_checkpoint_state
from deepracer_sim.training.runs import write_run_files
from deepracer_sim.training.tf_weights import tf_variables_to_sb3, write_tf_model

#: 3 steering angles x 1 speed: 3 actions.
SPACE = discrete_action_space(30.0, 3, 1.0, 1)
DEEP = "DEEP_CONVOLUTIONAL_NETWORK"


def _cfg(out: Path, **kw) -> TrainConfig:
    return TrainConfig(reward=REWARD, action_space=SPACE, version=6.0, out=out, n_envs=1,
                       n_steps=8, **kw)


def _camera_env() -> DummyVecEnv:
    return DummyVecEnv([lambda: CameraEnv(n_actions=len(SPACE))])


def test_policy_choice_follows_the_observation(tmp_path):
    cfg = _cfg(tmp_path)
    camera = CameraEnv().observation_space
    assert training.policy_choice(cfg, camera) == (DeepRacerCnnPolicy,
                                                   {"neural_network": SHALLOW})
    cfg.neural_network = DEEP
    assert training.policy_choice(cfg, camera) == (DeepRacerCnnPolicy, {"neural_network": DEEP})
    features = gym.spaces.Box(-1.0, 1.0, (19,), np.float32)
    with pytest.raises(UsageError, match=r"DEEP_CONVOLUTIONAL_NETWORK: .*camera frame.*\(19,\)"):
        training.policy_choice(cfg, features)
    cfg.neural_network = None
    assert training.policy_choice(cfg, features) == (
        "MlpPolicy", {"net_arch": {"pi": [64, 64], "vf": [64, 64]}})


def test_train_refuses_a_network_for_the_feature_vector(tmp_path):
    """--network needs a camera observation; nothing is written when it does not fit."""
    with pytest.raises(UsageError, match="drop --network"):
        training.train(_cfg(tmp_path / "run", neural_network=SHALLOW, timesteps=8),
                       progress_bar=False)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def camera_run(tmp_path_factory) -> tuple[Path, dict[str, DeepRacerCnnPolicy]]:
    """A run folder as train.py writes it for a camera model: two checkpoints of a
    SHALLOW policy (one PPO iteration on synthetic frames, then distinct weights), best = 1."""
    out = tmp_path_factory.mktemp("camera") / "run"
    cfg = _cfg(out, neural_network=SHALLOW)
    hp = read_hyperparameters(None)
    out.mkdir(parents=True)
    write_run_files(RunFolder(out), cfg, load_track(cfg.track), hp)
    model = training.make_model(cfg, _camera_env(), hp)
    model.learn(8)
    model.save(out / "model" / "1_Step-8.zip")
    with torch.no_grad():
        model.policy.action_net.weight.mul_(50.0)
    model.save(out / "model" / "2_Step-16.zip")
    write_checkpoints_json(out / "model" / "deepracer_checkpoints.json",
                           {"name": "1_Step-8.zip", "avg_eval_metric": 50.0, "time_stamp": 1.0},
                           {"name": "2_Step-16.zip", "avg_eval_metric": 20.0, "time_stamp": 2.0})
    policies = {}
    for name in ("1_Step-8", "2_Step-16"):
        state, _ = read_checkpoint_state(out / "model" / f"{name}.zip")
        policies[name] = camera_policy_from_state_dict(state, SPACE)
    return out, policies


@pytest.fixture(scope="module")
def camera_export(camera_run) -> Path:
    run, _ = camera_run
    out = run.parent / "exported"
    export_run(run, out)
    return out


def test_camera_run_folder(camera_run):
    run, _ = camera_run
    meta = json.loads((run / "model" / "model_metadata.json").read_text())
    assert meta["neural_network"] == SHALLOW
    assert meta["sensor"] == ["FRONT_FACING_CAMERA"]
    assert json.loads((run / "run_config.json").read_text())["neural_network"] == SHALLOW


def test_export_writes_deepracer_tensorflow_files(camera_export):
    out = camera_export
    ckpt = [f"model/{n}_Step-{s}.ckpt{x}" for n, s in ((1, 8), (2, 16))
            for x in (".index", ".data-00000-of-00001", ".meta", ".zip")]
    model_files = {f for f in rel_files(out) if f.startswith("model/")}
    assert model_files == {*ckpt, "model/model_1.pb", "model/model_metadata.json",
                           "model/.coach_checkpoint", "model/deepracer_checkpoints.json"}
    assert (out / "model" / ".coach_checkpoint").read_text().strip() == "1_Step-8.ckpt"
    meta = (out / "model_metadata.json").read_text()
    assert (out / "model" / "model_metadata.json").read_text() == meta
    assert json.loads(meta)["neural_network"] == SHALLOW
    with tarfile.open(out / "model.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["agent/model.pb", "model_metadata.json"]
        pb = tar.extractfile("agent/model.pb")
        assert pb is not None and pb.read() == (out / "model" / "model_1.pb").read_bytes()
        inner = tar.extractfile("model_metadata.json")
        assert inner is not None and inner.read().decode() == meta
    problems = check_path(out)
    assert errors(problems) == []
    assert not [p for p in problems if "model_1.pb" in p.where or ".ckpt" in p.where]


def test_exported_checkpoint_and_graph_are_the_trained_policy(camera_run, camera_export):
    """Each checkpoint reads back to its policy's exact weights; model_1.pb (the best) gives its
    action probabilities (numpy interpreter of the graph, float64)."""
    _, policies = camera_run
    spec = model_spec(SHALLOW, SPACE)
    for name, policy in policies.items():
        variables, got = read_checkpoint(camera_export / "model" / f"{name}.ckpt", spec)
        assert got == spec and len(variables) == 22
        state = tf_variables_to_sb3(variables, spec)
        assert all(torch.equal(state[k], v) for k, v in policy.state_dict().items())
    frames = make_frames(n_random=2)
    graph = read_graph_def(camera_export / "model" / "model_1.pb")
    probs = run_graph(graph, {spec.input_node: frames.astype(np.float32)}, spec.output_node)
    want = policies["1_Step-8"].action_probabilities(frames).numpy()
    np.testing.assert_allclose(probs, want, atol=1e-5)


def test_check_finds_a_checkpoint_and_a_graph_that_do_not_fit(camera_export, tmp_path):
    out = shutil.copytree(camera_export, tmp_path / "broken")
    prefix = out / "model" / "1_Step-8.ckpt"
    tensors = tf_bundle.read_bundle(prefix)
    dropped = f"{SCOPE}/network_0/v_values_head_0/output/bias"
    del tensors[dropped]
    tf_bundle.write_bundle(prefix, tensors)
    five = make_policy(SHALLOW, n_actions=5)
    other = tmp_path / "other"
    other.mkdir()
    write_tf_model(five, other, "1_Step-8.ckpt")
    shutil.copyfile(other / "model_1.pb", out / "model" / "model_1.pb")
    found = [(p.where, p.message) for p in errors(check_path(out))]
    assert ("model/1_Step-8.ckpt.index", f"no variable {dropped}") in found
    assert any(w == "model/model_1.pb" and "policy_fc/kernel" in m and "[512, 5]" in m
               for w, m in found), found


def test_feature_vector_exports_are_unchanged(tmp_path):
    """A feature-vector run's metadata is written as before (the simapp's defaults)."""
    cfg = _cfg(tmp_path / "run")
    (tmp_path / "run").mkdir()
    write_run_files(RunFolder(tmp_path / "run"), cfg, load_track(cfg.track),
                    read_hyperparameters(None))
    meta = json.loads((tmp_path / "run" / "model" / "model_metadata.json").read_text())
    assert meta["neural_network"] == SHALLOW and meta["sensor"] == ["FRONT_FACING_CAMERA"]
    assert json.loads((tmp_path / "run" / "run_config.json").read_text())[
        "neural_network"] is None


def _cloud_folder(root: Path, policy: DeepRacerCnnPolicy, n_actions: int) -> Path:
    """A DeepRacer-on-AWS model folder: model/ with the TensorFlow checkpoint, its
    model_metadata.json and .coach_checkpoint (no stable-baselines3 files)."""
    model = root / "model"
    model.mkdir(parents=True)
    write_tf_model(policy, model, "7_Step-3200.ckpt", frozen_graph=False)
    (model / ".coach_checkpoint").write_text("7_Step-3200.ckpt\n")
    space = discrete_action_space(30.0, n_actions, 1.0, 1)
    (model / "model_metadata.json").write_text(json.dumps(space.to_metadata(5.0)))
    return root


def test_clone_of_a_cloud_model_loads_its_weights(tmp_path):
    source = make_policy(SHALLOW, n_actions=len(SPACE), seed=3)
    root = _cloud_folder(tmp_path / "cloud", source, len(SPACE))
    src = clone_source(root)
    assert (src.kind, src.neural_network, src.net_arch) == ("cloud", SHALLOW, ())
    assert src.checkpoint == root / "model" / "7_Step-3200.ckpt"
    assert src.version == 5.0 and src.hyperparameters is None
    cfg = _cfg(tmp_path / "run", neural_network=SHALLOW)
    cfg.init_tf_checkpoint = src.checkpoint
    model = training.make_model(cfg, _camera_env(), read_hyperparameters(None))
    got = model.policy.state_dict()
    assert all(torch.equal(got[k], v) for k, v in source.state_dict().items())


def test_clone_refuses_a_checkpoint_of_another_action_space(tmp_path):
    root = _cloud_folder(tmp_path / "cloud", make_policy(SHALLOW, n_actions=5), 3)
    with pytest.raises(TensorFlowFileError,
                       match=r"(?s)--clone .*policy_fc/kernel has shape \[512, 5\].*\[512, 3\]"):
        clone_source(root)


def test_train_cli_refuses_a_cloud_clone_on_the_feature_vector(tmp_path, capsys):
    """The cloud model's action space, network and camera are taken; asking it to train on the
    feature vector is refused before the run folder is written."""
    root = _cloud_folder(tmp_path / "cloud", make_policy(SHALLOW, n_actions=3), 3)
    code = cli_main(["train", "--reward", str(REWARD), "--clone", str(root), "--out",
                     str(tmp_path / "run"), "--timesteps", "8", "--sensor", "FEATURES",
                     "--no-progress-bar"])
    assert code == 2
    err = capsys.readouterr().err
    assert "the cloned policy sees FRONT_FACING_CAMERA, not --sensor FEATURES" in err
    assert not (tmp_path / "run").exists()


def test_load_policy_of_a_camera_checkpoint(camera_run):
    """evaluate's loader rebuilds a camera checkpoint as DeepRacerCnnPolicy (weights only)."""
    run, policies = camera_run
    policy = load_policy(run / "model" / "2_Step-16.zip", SPACE)
    assert isinstance(policy, DeepRacerCnnPolicy) and policy.neural_network == SHALLOW
    frames = make_frames(n_random=1)
    assert torch.equal(policy.action_probabilities(frames),
                       policies["2_Step-16"].action_probabilities(frames))
