"""A camera model's TensorFlow files against independent implementations (the optional
``[tf]`` extra: ``pip install -e .[tf]``; every test here skips without it):

* TensorFlow restores our checkpoint into the simapp's graph rebuilt with ``tf.compat.v1``
  (rl_coach's scopes, layer names and strict by-name restore) and gives the torch policy's
  action probabilities and value to 1e-5;
* TensorFlow imports our ``model_<N>.pb`` (checking each node against its OpDefs) and our
  ``.ckpt.meta`` (``import_meta_graph`` + ``restore``) and runs them, to 1e-5;
* our index and data files are byte-identical to TensorFlow's own ``Saver``;
* a checkpoint TensorFlow wrote of the simapp's graph is read without TensorFlow into our
  policy (``train --clone``), which then gives TensorFlow's probabilities to 1e-5;
* OpenVINO converts our ``.pb`` as the car does (the camera placeholder as input, shape
  [1, 120, 160, 1], FP16 IR) and gives the probabilities to 1e-3 with the same argmax.

``DEEPRACER_SIM_REQUIRE_TF=1`` (CI, after installing the extra) makes a missing tensorflow or
openvino a failure instead of a skip.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REQUIRED = os.environ.get("DEEPRACER_SIM_REQUIRE_TF") == "1"


def _extra(name: str):
    """The optional package ``name``: skip without it, or fail where CI requires it."""
    return importlib.import_module(name) if REQUIRED else pytest.importorskip(name)


tf = _extra("tensorflow")

import torch  # noqa: E402
from tf_checks import (  # noqa: E402
    openvino_fp16,
    rl_coach_outputs,
    run_frozen_graph_tf,
    run_meta_graph_tf,
    save_rl_coach_checkpoint,
    tf_saver_bytes,
)
from tf_reference import SHALLOW, make_frames, make_policy  # noqa: E402

from deepracer_sim.export import clone_source  # noqa: E402
from deepracer_sim.formats.model_metadata import discrete_action_space  # noqa: E402
from deepracer_sim.formats.tf_checkpoint import infer_model_spec  # noqa: E402
from deepracer_sim.formats.tf_graph import check_frozen_graph  # noqa: E402
from deepracer_sim.formats.tf_variables import ModelSpec, model_spec  # noqa: E402
from deepracer_sim.training.networks import build_camera_policy  # noqa: E402
from deepracer_sim.training.tf_weights import (  # noqa: E402
    load_tf_checkpoint,
    sb3_to_tf_variables,
    write_tf_model,
)

MODELS = ["discrete", "continuous"]


@dataclass
class Exported:
    policy: object
    spec: ModelSpec
    paths: dict[str, Path]
    prefix: Path
    frames: np.ndarray
    pi: np.ndarray
    v: np.ndarray


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """"discrete" / "continuous" -> a SHALLOW policy written by write_tf_model, with the torch
    outputs on the test frames (random, black, white, ramp, a synthetic track view)."""
    cache: dict[str, Exported] = {}

    def get(kind: str) -> Exported:
        if kind not in cache:
            policy = make_policy(SHALLOW, kind == "continuous")
            d = tmp_path_factory.mktemp(kind)
            paths = write_tf_model(policy, d, "5_Step-6789.ckpt")
            frames = make_frames(4)
            pi = policy.action_probabilities(frames).double().numpy()
            with torch.no_grad():
                v = policy.predict_values(policy.obs_to_tensor(frames)[0]).double().numpy()
            cache[kind] = Exported(policy, infer_model_spec(d / "5_Step-6789.ckpt"), paths,
                                   d / "5_Step-6789.ckpt", frames, pi, v[:, 0])
        return cache[kind]

    return get


@pytest.mark.parametrize("kind", MODELS)
def test_tf_restores_checkpoint_into_the_simapp_graph(kind, exported):
    e = exported(kind)
    pi, v, restored, _ = rl_coach_outputs(e.spec, e.prefix, e.frames)
    assert sorted(restored) == sorted(e.spec.variables())
    assert np.abs(pi - e.pi).max() < 1e-5
    assert np.abs(v - e.v).max() < 1e-5
    assert (pi.argmax(1) == e.pi.argmax(1)).all()


@pytest.mark.parametrize("kind", MODELS)
def test_frozen_graph_and_meta_graph_run_in_tensorflow(kind, exported):
    e = exported(kind)
    pi = run_frozen_graph_tf(e.paths["pb"], e.spec, e.frames)
    assert np.abs(pi - e.pi).max() < 1e-5
    assert (pi.argmax(1) == e.pi.argmax(1)).all()
    pi, v = run_meta_graph_tf(e.paths["meta"], e.prefix, e.spec, e.frames)
    assert np.abs(pi - e.pi).max() < 1e-5
    assert np.abs(v - e.v).max() < 1e-5


def test_bundle_bytes_identical_to_tensorflow_saver(exported, tmp_path):
    e = exported("discrete")
    variables, _ = sb3_to_tf_variables(e.policy.state_dict())
    tf_index, tf_data = tf_saver_bytes(variables, tmp_path / "tf.ckpt")
    assert tf_data.read_bytes() == e.paths["data"].read_bytes()
    assert tf_index.read_bytes() == e.paths["index"].read_bytes()
    listed = dict(tf.compat.v1.train.list_variables(str(e.prefix)))
    assert {k: tuple(v) for k, v in listed.items()} == e.spec.variables()


def test_clone_reads_a_checkpoint_tensorflow_wrote(tmp_path):
    """A cloud model folder whose checkpoint TensorFlow's Saver wrote from the simapp's graph:
    clone_source accepts it and the policy loaded without TensorFlow matches TF."""
    space = discrete_action_space(30.0, 5, 1.0, 1)
    spec = model_spec(SHALLOW, space)
    model = tmp_path / "cloud" / "model"
    model.mkdir(parents=True)
    frames = make_frames(4)
    want = save_rl_coach_checkpoint(spec, model / "3_Step-900.ckpt", frames)
    (model / ".coach_checkpoint").write_text("3_Step-900.ckpt\n")
    (model / "model_metadata.json").write_text(json.dumps(space.to_metadata(5.0)))
    src = clone_source(tmp_path / "cloud")
    assert (src.kind, src.neural_network) == ("cloud", SHALLOW)
    policy = build_camera_policy(space)
    load_tf_checkpoint(policy, src.checkpoint)
    got = policy.action_probabilities(frames).double().numpy()
    assert np.abs(got - want).max() < 1e-5
    assert (got.argmax(1) == want.argmax(1)).all()


def test_checker_on_tensorflows_own_freeze(exported, tmp_path):
    """TensorFlow >= 2.1x writes MatMul grad_a/grad_b attrs into a frozen graph (the car's
    TensorFlow 2.4 rejects them); the checker reports exactly those for TF's own freeze."""
    e = exported("discrete")
    frozen = rl_coach_outputs(e.spec, e.prefix, e.frames[:1])[3]
    pb = tmp_path / "tf_frozen.pb"
    pb.write_bytes(frozen.SerializeToString())
    problems = [p for p in check_frozen_graph(pb, e.spec) if p.level == "error"]
    assert problems and all("grad_a" in p.message or "grad_b" in p.message for p in problems)


@pytest.mark.parametrize("kind", MODELS)
def test_openvino_fp16_ir_matches_torch(kind, exported, tmp_path):
    _extra("openvino")
    e = exported(kind)
    got = openvino_fp16(e.paths["pb"], e.spec, e.frames, tmp_path)
    assert got["input_names"] == [f"{e.spec.input_node}:0"]
    assert f"{e.spec.output_node}:0" in got["output_names"]  # Identity may merge into BiasAdd
    assert np.abs(got["outputs"] - e.pi).max() < 1e-3
    if not e.spec.continuous:
        assert (got["outputs"].argmax(1) == e.pi.argmax(1)).all()
