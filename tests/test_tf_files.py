"""DeepRacer's checkpoint variables, frozen graph, meta graph, readers and validators (numpy and
protobuf only; the same files against TensorFlow itself: test_tf_verification.py)."""

from __future__ import annotations

import numpy as np
import pytest
from tf_reference import make_frames, run_graph, tf_layout_forward

from deepracer_sim.errors import NetworkError, TensorFlowFileError
from deepracer_sim.formats import tf_bundle, tf_checkpoint, tf_graph, tf_proto
from deepracer_sim.formats.tf_variables import ModelSpec, network_spec, rescaler_names

P = "main_level/agent/main/online"
# cloud-model-format.md §2.2 (listed from the real rl_coach graph), discrete, 5 actions
DOC_DISCRETE_5 = {
    f"{P}/network_0/FRONT_FACING_CAMERA/Conv2d_0/kernel": (8, 8, 1, 32),
    f"{P}/network_0/FRONT_FACING_CAMERA/Conv2d_0/bias": (32,),
    f"{P}/network_0/FRONT_FACING_CAMERA/Conv2d_2/kernel": (4, 4, 32, 64),
    f"{P}/network_0/FRONT_FACING_CAMERA/Conv2d_2/bias": (64,),
    f"{P}/network_0/FRONT_FACING_CAMERA/Conv2d_4/kernel": (3, 3, 64, 64),
    f"{P}/network_0/FRONT_FACING_CAMERA/Conv2d_4/bias": (64,),
    f"{P}/network_0/middleware_fc_embedder/Dense_0/kernel": (11264, 512),
    f"{P}/network_0/middleware_fc_embedder/Dense_0/bias": (512,),
    f"{P}/network_0/gradients_from_head_0-0_rescalers": (),
    f"{P}/network_0/v_values_head_0/output/kernel": (512, 1),
    f"{P}/network_0/v_values_head_0/output/bias": (1,),
    f"{P}/network_1/FRONT_FACING_CAMERA/Conv2d_0/kernel": (8, 8, 1, 32),
    f"{P}/network_1/FRONT_FACING_CAMERA/Conv2d_0/bias": (32,),
    f"{P}/network_1/FRONT_FACING_CAMERA/Conv2d_2/kernel": (4, 4, 32, 64),
    f"{P}/network_1/FRONT_FACING_CAMERA/Conv2d_2/bias": (64,),
    f"{P}/network_1/FRONT_FACING_CAMERA/Conv2d_4/kernel": (3, 3, 64, 64),
    f"{P}/network_1/FRONT_FACING_CAMERA/Conv2d_4/bias": (64,),
    f"{P}/network_1/middleware_fc_embedder/Dense_0/kernel": (11264, 512),
    f"{P}/network_1/middleware_fc_embedder/Dense_0/bias": (512,),
    f"{P}/network_1/gradients_from_head_0-0_rescalers": (),
    f"{P}/network_1/ppo_head_0/policy_fc/kernel": (512, 5),
    f"{P}/network_1/ppo_head_0/policy_fc/bias": (5,),
}
DOC_CONTINUOUS = {k: v for k, v in DOC_DISCRETE_5.items() if "policy_fc" not in k}
DOC_CONTINUOUS.update({f"{P}/network_1/ppo_head_0/policy_mean/kernel": (512, 2),
                       f"{P}/network_1/ppo_head_0/policy_mean/bias": (2,),
                       f"{P}/network_1/ppo_head_0/policy_log_std": (1, 2)})
# listed from the real rl_coach graph (tools/verify_rl_coach.py, results/rl_coach_*.json):
# the embedder's Dense_8 acts per pixel, so the middleware sees 25 * 35 * 64 = 56000 features
DEEP_TOWER = {"FRONT_FACING_CAMERA/Conv2d_0/kernel": (5, 5, 1, 32),
              "FRONT_FACING_CAMERA/Conv2d_2/kernel": (3, 3, 32, 32),
              "FRONT_FACING_CAMERA/Conv2d_4/kernel": (3, 3, 32, 64),
              "FRONT_FACING_CAMERA/Conv2d_6/kernel": (3, 3, 64, 64),
              "FRONT_FACING_CAMERA/Dense_8/kernel": (64, 64),
              "middleware_fc_embedder/Dense_0/kernel": (56000, 512)}

SHALLOW = network_spec("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW")
DEEP = network_spec("DEEP_CONVOLUTIONAL_NETWORK")


def random_variables(spec: ModelSpec, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in spec.variables().items():
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        out[name] = rng.standard_normal(shape, dtype=np.float32) / np.float32(np.sqrt(fan_in))
    for name in rescaler_names():
        out[name] = np.array(1.0, np.float32)
    return out


def test_variables_are_the_documented_22_and_23():
    discrete = ModelSpec(SHALLOW, 5).variables()
    assert discrete == DOC_DISCRETE_5
    assert list(discrete) == list(DOC_DISCRETE_5)  # rl_coach's creation order
    continuous = ModelSpec(SHALLOW, 2, continuous=True).variables()
    assert continuous == DOC_CONTINUOUS and len(continuous) == 23


def test_parameter_counts_match_the_doc():
    # cloud-model-format.md §2.2: policy tower 5,842,086 (N=5), value tower 5,840,034
    v = ModelSpec(SHALLOW, 5).variables()
    count = {t: sum(int(np.prod(s)) for k, s in v.items() if f"/network_{t}/" in k)
             for t in (0, 1)}
    assert count == {0: 5_840_034, 1: 5_842_086}  # each includes its scalar rescaler


def test_deep_network_variables():
    v = ModelSpec(DEEP, 5).variables()
    assert len(v) == 30
    for tower in (0, 1):
        for name, shape in DEEP_TOWER.items():
            assert v[f"{P}/network_{tower}/{name}"] == shape
    assert DEEP.feature_map() == (25, 35, 64)


def test_legacy_observation_sensor_names():
    spec = ModelSpec(SHALLOW, 3, sensor="observation")
    assert spec.input_node == f"{P}/network_0/observation/observation"
    assert f"{P}/network_1/observation/Conv2d_0/kernel" in spec.variables()


def test_bad_specs():
    with pytest.raises(NetworkError, match="continuous DeepRacer head has 2"):
        ModelSpec(SHALLOW, 3, continuous=True)
    with pytest.raises(NetworkError, match="not supported"):
        network_spec("DEEP_CONVOLUTIONAL_NETWORK_DEEP")
    with pytest.raises(NetworkError, match="single camera"):
        ModelSpec(SHALLOW, 3, sensor="STEREO_CAMERAS")


def test_checkpoint_sizes_match_tensorflow(tmp_path):
    # TensorFlow's Saver wrote 46,728,480 B data / 1,156 B index for SHALLOW N=5 (doc §8 (0))
    spec = ModelSpec(SHALLOW, 5)
    paths = tf_checkpoint.write_checkpoint(tmp_path / "3_Step-4096.ckpt",
                                          random_variables(spec), spec)
    assert [p.name for p in paths] == ["3_Step-4096.ckpt.index",
                                       "3_Step-4096.ckpt.data-00000-of-00001",
                                       "3_Step-4096.ckpt.meta"]
    assert paths[1].stat().st_size == 46_728_480
    assert paths[0].stat().st_size == 1_156


def test_checkpoint_roundtrip_exact(tmp_path):
    spec = ModelSpec(SHALLOW, 2, continuous=True)
    variables = random_variables(spec, 3)
    tf_checkpoint.write_checkpoint(tmp_path / "1_Step-10.ckpt", variables, spec)
    back, got = tf_checkpoint.read_checkpoint(tmp_path / "1_Step-10.ckpt")
    assert got == spec
    assert list(back) == list(spec.variables())
    for k in variables:
        assert back[k].dtype == np.float32 and np.array_equal(back[k], variables[k])


def test_writer_rejects_wrong_weights(tmp_path):
    spec = ModelSpec(SHALLOW, 5)
    v = random_variables(spec)
    v[f"{P}/network_1/ppo_head_0/policy_fc/kernel"] = np.zeros((512, 4), np.float32)
    with pytest.raises(NetworkError, match=r"policy_fc/kernel has shape \[512, 4\]"):
        tf_checkpoint.write_checkpoint(tmp_path / "1_Step-1.ckpt", v, spec)
    v = random_variables(spec)
    v[f"{P}/network_0/v_values_head_0/output/bias"] = np.array([np.nan], np.float32)
    with pytest.raises(NetworkError, match="NaN"):
        tf_checkpoint.write_checkpoint(tmp_path / "1_Step-1.ckpt", v, spec)
    del v[f"{P}/network_0/v_values_head_0/output/bias"]
    with pytest.raises(NetworkError, match="missing"):
        tf_checkpoint.write_checkpoint(tmp_path / "1_Step-1.ckpt", v, spec)


def test_checker_and_reader_errors(tmp_path):
    spec5 = ModelSpec(SHALLOW, 5)
    v = random_variables(spec5)
    v["main_level/agent/main/online/global_step"] = np.int64(7)  # extra: ignored by loaders
    tf_bundle.write_bundle(tmp_path / "1_Step-1.ckpt", v)
    problems = tf_checkpoint.check_checkpoint(tmp_path / "1_Step-1.ckpt", spec5)
    assert [p.level for p in problems] == ["warning"]
    assert "global_step" in problems[0].message
    # same file read as a 4-action model: every problem names the variable and a fix
    spec4 = ModelSpec(SHALLOW, 4)
    problems = tf_checkpoint.check_checkpoint(tmp_path / "1_Step-1.ckpt", spec4)
    errors = [p for p in problems if p.level == "error"]
    assert len(errors) == 2
    assert "policy_fc/kernel has shape [512, 5], the simapp's graph has [512, 4]" \
        in errors[0].message
    with pytest.raises(TensorFlowFileError,
                       match=r"(?s)1_Step-1.ckpt.index: .*policy_fc/kernel.*fix"):
        tf_checkpoint.read_checkpoint(tmp_path / "1_Step-1.ckpt", spec4)
    # a variable missing
    del v[f"{P}/network_0/Conv2d_0/bias".replace("network_0/", "network_0/FRONT_FACING_CAMERA/")]
    tf_bundle.write_bundle(tmp_path / "2_Step-1.ckpt", v)
    problems = tf_checkpoint.check_checkpoint(tmp_path / "2_Step-1.ckpt", spec5)
    assert any(p.level == "error" and "no variable" in p.message and "Conv2d_0/bias"
               in p.message for p in problems)
    # no data file
    (tmp_path / "2_Step-1.ckpt.data-00000-of-00001").unlink()
    problems = tf_checkpoint.check_checkpoint(tmp_path / "2_Step-1.ckpt", spec5)
    assert problems[0].where.endswith(".data-00000-of-00001")


def write_index_only(prefix, shapes: dict[str, tuple[int, ...]]) -> None:
    """A checkpoint index listing float tensors of these shapes (no data file)."""
    header = tf_proto.BundleHeaderProto(num_shards=1)
    header.version.producer = 1
    items = [(b"", header.SerializeToString())]
    for name in sorted(shapes):
        entry = tf_proto.BundleEntryProto(dtype=tf_proto.DT_FLOAT)
        tf_proto.shape_proto(shapes[name], entry.shape)
        items.append((name.encode(), entry.SerializeToString()))
    (prefix.parent / (prefix.name + ".index")).write_bytes(tf_bundle.build_table(items))


def test_infer_model_spec(tmp_path):
    for spec in (ModelSpec(SHALLOW, 7), ModelSpec(DEEP, 2, True),
                 ModelSpec(SHALLOW, 3, sensor="observation")):
        write_index_only(tmp_path / "x.ckpt", spec.variables())
        assert tf_checkpoint.infer_model_spec(tmp_path / "x.ckpt") == spec
    tf_bundle.write_bundle(tmp_path / "y.ckpt", {"a": np.zeros(2, np.float32)})
    with pytest.raises(TensorFlowFileError, match="not a DeepRacer ClippedPPO camera"):
        tf_checkpoint.infer_model_spec(tmp_path / "y.ckpt")


@pytest.mark.parametrize("spec", [ModelSpec(SHALLOW, 5), ModelSpec(SHALLOW, 2, True),
                                  ModelSpec(DEEP, 3)], ids=["shallow-5", "shallow-cont",
                                                            "deep-3"])
def test_frozen_graph_nodes_and_forward(tmp_path, spec):
    v = random_variables(spec, 1)
    path = tf_graph.write_frozen_graph(tmp_path / "model_3.pb", v, spec)
    graph = tf_proto.GraphDef()
    graph.ParseFromString(path.read_bytes())
    nodes = {n.name: n for n in graph.node}
    inp = nodes[f"{P}/network_0/FRONT_FACING_CAMERA/FRONT_FACING_CAMERA"]
    assert inp.op == "Placeholder" and inp.attr["dtype"].type == tf_proto.DT_FLOAT
    assert tf_proto.shape_of(inp.attr["shape"].shape) == (-1, 120, 160, 1)
    out = nodes[f"{P}/network_1/ppo_head_0/policy"]
    assert out.op == ("Identity" if spec.continuous else "Softmax")
    assert {n.op for n in graph.node} <= tf_graph.FROZEN_GRAPH_OPS
    assert not any("network_0/v_values" in n for n in nodes)  # policy tower only
    assert graph.versions.producer == tf_graph.GRAPH_PRODUCER
    for n in graph.node:  # TF 2.4's MatMul has no grad_a/grad_b
        assert not {"grad_a", "grad_b"} & set(n.attr)
    assert tf_graph.check_frozen_graph(path, spec) == []
    if spec.network is SHALLOW:  # DEEP: test_camera_net runs its graph against torch
        frames = make_frames(2)
        got = run_graph(graph, {inp.name: frames}, out.name)
        want, _ = tf_layout_forward(v, spec, frames, value=False)
        assert np.abs(got - want).max() < 1e-9


def test_frozen_graph_checker_finds_problems(tmp_path):
    spec = ModelSpec(SHALLOW, 5)
    graph = tf_graph.frozen_graph(random_variables(spec), spec)
    path = tmp_path / "m.pb"
    path.write_bytes(graph.SerializeToString())
    problems = tf_graph.check_frozen_graph(path, ModelSpec(SHALLOW, 6))
    assert any("policy_fc/kernel has shape [512, 5], expected [512, 6]" in p.message
               for p in problems)
    assert any("is a Softmax, a continuous head ends in Identity" in p.message
               for p in tf_graph.check_frozen_graph(path, ModelSpec(SHALLOW, 2, True)))
    # a TF >= 2.1x MatMul attr, a second output, a renamed input
    g2 = tf_proto.GraphDef()
    g2.CopyFrom(graph)
    mm = next(n for n in g2.node if n.op == "MatMul")
    mm.attr["grad_a"].b = False
    g2.node.add(name="extra", op="Identity", input=[mm.name]).attr["T"].type = 1
    g2.node[0].name = "input"
    path.write_bytes(g2.SerializeToString())
    messages = [p.message for p in tf_graph.check_frozen_graph(path, spec)]
    assert any("grad_a" in m and "2.4" in m for m in messages)
    assert any("output nodes" in m and "extra" in m for m in messages)
    assert any("no input node" in m for m in messages)
    path.write_bytes(b"\x00garbage")
    assert "not a binary GraphDef" in tf_graph.check_frozen_graph(path, spec)[0].message


def test_meta_graph_structure():
    spec = ModelSpec(SHALLOW, 5)
    meta = tf_graph.meta_graph(spec)
    nodes = {n.name: n for n in meta.graph_def.node}
    for name, shape in spec.variables().items():
        assert nodes[name].op == "VariableV2"
        assert tf_proto.shape_of(nodes[name].attr["shape"].shape) == shape
    assert meta.saver_def.restore_op_name == "save/restore_all"
    assert meta.saver_def.version == 2
    restore = nodes["save/RestoreV2"]
    assert len(restore.attr["dtypes"].list.type) == 22
    names = tf_proto.tensor_value(nodes["save/RestoreV2/tensor_names"].attr["value"].tensor)
    assert list(names) == sorted(n.encode() for n in spec.variables())
    assert len(meta.collection_def["trainable_variables"].bytes_list.value) == 22
    assert f"{P}/network_1/ppo_head_0/policy" in nodes
    assert spec.value_node in nodes
    assert len(meta.SerializeToString()) < 100_000  # no weights inside


def test_write_model_files(tmp_path):
    spec = ModelSpec(SHALLOW, 3)
    paths = tf_checkpoint.write_model_files(tmp_path, "12_Step-34567.ckpt",
                                            random_variables(spec), spec)
    assert sorted(p.name for p in paths.values()) == [
        "12_Step-34567.ckpt.data-00000-of-00001", "12_Step-34567.ckpt.index",
        "12_Step-34567.ckpt.meta", "model_12.pb"]
    assert tf_graph.check_meta_graph(paths["meta"], spec) == []
    assert tf_graph.check_frozen_graph(paths["pb"], spec) == []
    assert tf_checkpoint.check_checkpoint(tmp_path / "12_Step-34567.ckpt", spec) == []
