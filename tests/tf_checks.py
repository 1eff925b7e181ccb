"""Cross-checks of our TensorFlow files against TensorFlow and OpenVINO themselves (the
optional ``[tf]`` extra): the simapp's graph rebuilt with ``tf.compat.v1``, its restore, TF's
own ``Saver``, and the car's OpenVINO conversion. Imported only by test_tf_verification.py,
after it has checked that tensorflow imports."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from deepracer_sim.formats.tf_variables import ModelSpec


def _tf():
    import tensorflow as tf  # the optional extra: only where the test module found it

    return tf


def build_rl_coach_graph(spec: ModelSpec):
    """The ClippedPPO online network as rl_coach builds it (deepracer-simapp@01f5f015
    ``general_network.py::get_model``, ``embedder.py``, ``fc_middleware.py``, ``layers.py``,
    ``ppo_head.py``, ``v_head.py``): ``tf.compat.v1.variable_scope`` per module, Keras
    ``Conv2D``/``Dense`` named ``Conv2d_<i>``/``Dense_<i>``, ReLU after each, Keras
    ``Flatten``, one scalar rescaler per tower, the input placeholder created in network_0.

    Returns:
        (graph, input tensor, policy tensor, value tensor).
    """
    tf = _tf()
    g = tf.Graph()
    net = spec.network
    with g.as_default(), tf.compat.v1.variable_scope("main_level/agent/main/online"):
        image = None
        outputs = []
        for tower in (0, 1):
            with tf.compat.v1.variable_scope(f"network_{tower}"):
                with tf.compat.v1.variable_scope(spec.sensor):
                    if image is None:
                        image = tf.compat.v1.placeholder("float", [None, 120, 160, 1],
                                                         name=spec.sensor)
                    x = image / 255.0
                    x -= 0.0  # input_offset
                    idx = 0
                    for filters, k, s in net.convs:
                        x = tf.keras.layers.Conv2D(filters, k, s, data_format="channels_last",
                                                   name=f"Conv2d_{idx}")(x)
                        x = tf.nn.relu(x, name=f"BatchnormActivationDropout_{idx + 1}_activation")
                        idx += 2
                    for units in net.embedder_dense:
                        x = tf.keras.layers.Dense(units, name=f"Dense_{idx}")(x)
                        x = tf.nn.relu(x, name=f"BatchnormActivationDropout_{idx + 1}_activation")
                        idx += 2
                    x = tf.keras.layers.Flatten()(x)
                with tf.compat.v1.variable_scope("middleware_fc_embedder"):
                    for j, units in enumerate(net.middleware_dense):
                        x = tf.keras.layers.Dense(units, name=f"Dense_{2 * j}")(x)
                        x = tf.nn.relu(x, name=f"BatchnormActivationDropout_{2 * j + 1}"
                                              "_activation")
                r = tf.compat.v1.get_variable("gradients_from_head_0-0_rescalers",
                                              initializer=1.0, dtype=tf.float32)
                x = (1 - r) * tf.stop_gradient(x) + r * x
                if tower == 0:
                    with tf.compat.v1.variable_scope("v_values_head_0"):
                        outputs.append(tf.keras.layers.Dense(1, name="output")(x))
                else:
                    with tf.compat.v1.variable_scope("ppo_head_0"):
                        if spec.continuous:
                            mean = tf.keras.layers.Dense(2, name="policy_mean")(x)
                            outputs.append(tf.identity(mean, name="policy"))
                            tf.Variable(np.zeros((1, 2)), dtype="float32", name="policy_log_std")
                        else:
                            logits = tf.keras.layers.Dense(spec.n_actions, name="policy_fc")(x)
                            outputs.append(tf.nn.softmax(logits, name="policy"))
    return g, image, outputs[1], outputs[0]


def restore_like_global_variable_saver(sess, graph, prefix: str | Path) -> list[str]:
    """rl_coach ``savers.py::GlobalVariableSaver.restore``: trainable variables of
    ``agent/`` without ``/target``, read with ``tf.compat.v1.train.load_checkpoint``, matched
    by exact name (strict here: no fallback), all assigned in one ``session.run``.

    Returns:
        the restored variable names. Raises KeyError / ValueError on a missing name or shape.
    """
    tf = _tf()
    with graph.as_default():
        reader = tf.compat.v1.train.load_checkpoint(str(prefix))
        shapes = reader.get_variable_to_shape_map()
        variables = [v for v in tf.compat.v1.trainable_variables()
                     if "/target" not in v.name and "agent/" in v.name]
        feeds, ops, names = {}, [], []
        for v in variables:
            name = v.name.split(":")[0]
            if name not in shapes:
                raise KeyError(f"checkpoint has no {name}")
            if list(shapes[name]) != v.get_shape().as_list():
                raise ValueError(f"{name}: checkpoint {shapes[name]} vs graph {v.get_shape()}")
            ph = tf.compat.v1.placeholder(v.dtype.base_dtype, v.get_shape(),
                                          name=f"{name}_placeholder")
            ops.append(v.assign(ph))
            feeds[ph] = reader.get_tensor(name)
            names.append(name)
    sess.run(ops, feeds)
    return names


def rl_coach_outputs(spec: ModelSpec, prefix: str | Path, frames: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, list[str], object]:
    """(policy, value, restored names, frozen GraphDef of TF's own freeze) of our checkpoint
    restored into :func:`build_rl_coach_graph`."""
    tf = _tf()
    g, image, policy, value = build_rl_coach_graph(spec)
    with tf.compat.v1.Session(graph=g) as sess:
        with g.as_default():
            sess.run(tf.compat.v1.global_variables_initializer())
        names = restore_like_global_variable_saver(sess, g, prefix)
        pi, v = sess.run([policy, value], {image: frames.astype(np.float32)})
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, g.as_graph_def(), [spec.output_node])
    return pi, v[:, 0], names, frozen


def save_rl_coach_checkpoint(spec: ModelSpec, prefix: str | Path, frames: np.ndarray,
                             seed: int = 5) -> np.ndarray:
    """A checkpoint as TensorFlow writes one of the simapp's graph: :func:`build_rl_coach_graph`
    with Keras' random initialisation (the action head scaled so the probabilities differ),
    saved by ``tf.compat.v1.train.Saver``; returns the graph's policy output on ``frames``."""
    tf = _tf()
    g, image, policy, _ = build_rl_coach_graph(spec)
    with g.as_default():
        tf.compat.v1.set_random_seed(seed)
        head = [v for v in tf.compat.v1.trainable_variables() if "ppo_head_0" in v.name]
        scale = [v.assign(v * 20.0) for v in head]
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(scale)
            saver.save(sess, str(prefix), write_meta_graph=True)
            return sess.run(policy, {image: frames.astype(np.float32)})


def tf_saver_bytes(variables: dict[str, np.ndarray], prefix: str | Path) -> list[Path]:
    """Save ``variables`` with TensorFlow's own ``tf.compat.v1.train.Saver`` (V2)."""
    tf = _tf()
    g = tf.Graph()
    with g.as_default():
        tf_vars = {name: tf.compat.v1.Variable(value, name=f"v{i}")
                   for i, (name, value) in enumerate(variables.items())}
        saver = tf.compat.v1.train.Saver(var_list=tf_vars)
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(prefix), write_meta_graph=False)
    return [Path(f"{prefix}.index"), Path(f"{prefix}.data-00000-of-00001")]


def run_frozen_graph_tf(pb: str | Path, spec: ModelSpec, frames: np.ndarray) -> np.ndarray:
    """Our ``.pb`` imported with ``tf.compat.v1.import_graph_def`` (which checks every node
    against TensorFlow's OpDefs) and run."""
    tf = _tf()
    gd = tf.compat.v1.GraphDef()
    gd.ParseFromString(Path(pb).read_bytes())
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.import_graph_def(gd, name="")
    with tf.compat.v1.Session(graph=g) as sess:
        return sess.run(f"{spec.output_node}:0",
                        {f"{spec.input_node}:0": frames.astype(np.float32)})


def run_meta_graph_tf(meta: str | Path, prefix: str | Path, spec: ModelSpec,
                      frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``import_meta_graph(meta)`` then ``saver.restore(sess, prefix)``, run policy and value."""
    tf = _tf()
    g = tf.Graph()
    with g.as_default():
        saver = tf.compat.v1.train.import_meta_graph(str(meta))
        with tf.compat.v1.Session(graph=g) as sess:
            saver.restore(sess, str(prefix))
            pi, v = sess.run([f"{spec.output_node}:0", f"{spec.value_node}:0"],
                             {f"{spec.input_node}:0": frames.astype(np.float32)})
            n_vars = len(tf.compat.v1.trainable_variables())
    assert n_vars == len(spec.variables())
    return pi, v[:, 0]


def openvino_fp16(pb: str | Path, spec: ModelSpec, frames: np.ndarray, out_dir: str | Path,
                  precision: str | None = "f32") -> dict:
    """Convert our ``.pb`` as the car does (input = the camera placeholder, shape
    [1,120,160,1], FP16 IR), run it frame by frame on the CPU plugin.

    Args:
        precision: CPU ``INFERENCE_PRECISION_HINT`` ("f32": only the FP16 weights differ;
            None: the plugin's default, bf16 on CPUs that have it).

    Returns:
        {"outputs", "convert_s", "bin_bytes", "xml_bytes", "input_names", "output_names",
        "ops", "precision"}.
    """
    import time

    import openvino as ov  # the optional extra: only where the test module found it

    t0 = time.perf_counter()
    model = ov.convert_model(str(pb), input=[(f"{spec.input_node}:0", [1, 120, 160, 1])])
    xml = Path(out_dir) / "model.xml"
    ov.save_model(model, str(xml), compress_to_fp16=True)
    convert_s = time.perf_counter() - t0
    core = ov.Core()
    ir = core.read_model(str(xml))
    config = {} if precision is None else {"INFERENCE_PRECISION_HINT": precision}
    compiled = core.compile_model(ir, "CPU", config)
    out = np.concatenate([compiled(frames[i:i + 1].astype(np.float32))[0]
                          for i in range(len(frames))])
    return {"outputs": out, "convert_s": convert_s,
            "bin_bytes": xml.with_suffix(".bin").stat().st_size, "xml_bytes": xml.stat().st_size,
            "input_names": sorted(ir.inputs[0].get_names()),
            "output_names": sorted(ir.outputs[0].get_names()),
            "ops": sorted({op.get_type_name() for op in ir.get_ops()}),
            "precision": str(compiled.get_property("INFERENCE_PRECISION_HINT"))}
