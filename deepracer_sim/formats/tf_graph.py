"""DeepRacer's TensorFlow graphs without TensorFlow: the frozen policy graph ``model_<N>.pb``
(and the car's ``agent/model.pb``) and the checkpoint's ``.ckpt.meta``; their readers and
validators.

The frozen graph is the policy tower only (``tensorflow_model.py::write_frozen_graph`` freezes
``.../network_1/ppo_head_0/policy``), with the weights as ``Const`` nodes named as the variables:
input ``.../network_0/FRONT_FACING_CAMERA/FRONT_FACING_CAMERA`` (float ``[-1, 120, 160, 1]``,
grey levels 0-255), output ``.../network_1/ppo_head_0/policy`` (softmax over the discrete
actions, or the mean of a continuous head), nodes named as rl_coach's. The car converts it with
OpenVINO's model optimizer (aws-deepracer-model-optimizer-pkg@d2b4a65
``model_optimizer_node.py``: ``--input`` that node, ``--input_shape [1,120,160,1]``,
``--data_type FP16``, no ``--output``: the graph must have one sink). Only :data:`FROZEN_GRAPH_OPS`
are written, with the attrs the car's TensorFlow 2.4 knows (TensorFlow 2.1x adds ``grad_a`` /
``grad_b`` to MatMul, which 2.4's importer rejects: cloud-model-format.md §8).

The ``.meta`` is a TF1 ``MetaGraphDef`` without weights: the variables, both towers and a V2
saver; no DeepRacer loader reads it (cloud-model-format.md §2.3), the import docs list it.

:func:`check_frozen_graph` and :func:`check_meta_graph` are the validators (report mode,
:class:`~deepracer_sim.formats.problems.Problem`); :func:`read_graph_def` the reader (size limit
checked before reading; raises :class:`~deepracer_sim.errors.TensorFlowFileError`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from deepracer_sim.errors import TensorFlowFileError
from deepracer_sim.formats import tf_proto
from deepracer_sim.formats.problems import WARNING, Problem
from deepracer_sim.formats.tf_proto import AttrValue, GraphDef
from deepracer_sim.formats.tf_variables import (
    IMAGE_SHAPE,
    SCOPE,
    ModelSpec,
    rescaler_names,
    validate_variables,
)

#: ``GraphDef.versions.producer`` of the graphs written here: 27, the last TensorFlow GraphDef
#: version with a semantic change before date-based numbering (version.h), >= 22 so Placeholder
#: shapes are enforced, and older than any TensorFlow a car or converter runs.
GRAPH_PRODUCER = 27
#: Ops the frozen graphs written here use; all exist with these attrs in TensorFlow 2.4 and
#: OpenVINO 2021's TensorFlow front end (the car's toolchain).
FROZEN_GRAPH_OPS = frozenset(("Placeholder", "Const", "RealDiv", "Conv2D", "BiasAdd", "Relu",
                              "Reshape", "MatMul", "Softmax", "Identity"))
#: Ops the simapp's own frozen graphs have in addition (TF 2.21 freeze of the rl_coach graph:
#: rescaler arithmetic, Keras Flatten, Tensordot of an embedder Dense).
SIMAPP_EXTRA_OPS = frozenset(("AddV2", "Mul", "Pack", "Shape", "Squeeze", "StopGradient",
                              "StridedSlice", "Sub", "ConcatV2", "GatherV2", "Prod",
                              "Transpose"))
#: Attrs newer TensorFlow writes that TensorFlow 2.4's OpDefs lack (its importer rejects them).
TF24_UNKNOWN_ATTRS = {"MatMul": ("grad_a", "grad_b"), "BatchMatMulV2": ("grad_x", "grad_y")}
#: Largest graph file read (a DEEP_CONVOLUTIONAL_NETWORK frozen graph is 115 MB; DeepRacer-on-AWS
#: imports at most 1 GiB), bytes.
MAX_GRAPH_BYTES = 2**30
#: Largest ``.meta`` read (ours are ~50-70 KB, the simapp's 1-2 MB), bytes.
MAX_META_BYTES = 64 * 2**20


def _attr_type(dtype: int) -> AttrValue:
    return AttrValue(type=dtype)


def _attr_shape(shape: tuple[int, ...]) -> AttrValue:
    a = AttrValue()
    tf_proto.shape_proto(shape, a.shape)
    return a


def _attr_ints(values: list[int]) -> AttrValue:
    a = AttrValue()
    a.list.SetInParent()
    a.list.i.extend(values)
    return a


def _attr_types(values: list[int]) -> AttrValue:
    a = AttrValue()
    a.list.SetInParent()
    a.list.type.extend(values)
    return a


def _attr_tensor(array: np.ndarray) -> AttrValue:
    return AttrValue(tensor=tf_proto.tensor_proto(array))


def _attr_fill(shape: tuple[int, ...], value: float) -> AttrValue:
    """A float tensor of ``shape`` stored as one broadcast value (no weights in the file)."""
    t = tf_proto.TensorProto(dtype=tf_proto.DT_FLOAT)
    tf_proto.shape_proto(shape, t.tensor_shape)
    t.float_val.append(value)
    return AttrValue(tensor=t)


class _Graph:
    """A GraphDef under construction (names must be unique)."""

    def __init__(self) -> None:
        self.graph = GraphDef()
        self.graph.versions.producer = GRAPH_PRODUCER
        self.names: set[str] = set()

    def node(self, name: str, op: str, inputs: Sequence[str] = (), **attrs: AttrValue) -> str:
        if name in self.names:
            raise TensorFlowFileError(f"duplicate node name {name}")
        self.names.add(name)
        n = self.graph.node.add(name=name, op=op)
        n.input.extend(inputs)
        for key, value in attrs.items():
            n.attr[key].CopyFrom(value)
        return name

    def const(self, name: str, array: np.ndarray) -> str:
        array = np.asarray(array)
        dtype = tf_proto.DT_INT32 if array.dtype.kind in "iu" else tf_proto.DT_FLOAT
        array = array.astype(np.int32 if dtype == tf_proto.DT_INT32 else np.float32)
        return self.node(name, "Const", dtype=_attr_type(dtype), value=_attr_tensor(array))


_F = _attr_type(tf_proto.DT_FLOAT)


def _tower(g: _Graph, spec: ModelSpec, tower: int, image: str,
           weight: Callable[[str], str]) -> str:
    """Add ``network_<tower>``'s embedder + middleware; returns the middleware output node.

    A per-pixel (embedder) dense layer runs on the feature map reshaped to rows
    ``[N*h*w, c]``; the flatten before the middleware is one ``Reshape`` to ``[N, h*w*c]``
    (h, w, c order, as TensorFlow flattens NHWC).
    """
    emb = f"{SCOPE}/network_{tower}/{spec.sensor}"
    x = g.node(f"{emb}/truediv", "RealDiv",
               [image, g.const(f"{emb}/truediv/y", np.array(255.0, np.float32))], T=_F)
    h, w, c = IMAGE_SHAPE
    layout = "nhwc"  # then "rows" ([N*h*w, c]) inside per-pixel dense layers, then "flat"
    for layer in spec.tower_layers(tower):
        s = layer.scope
        if layer.kind == "conv":
            x = g.node(f"{s}/Conv2D", "Conv2D", [x, weight(f"{s}/kernel")], T=_F,
                       strides=_attr_ints([1, layer.stride, layer.stride, 1]),
                       padding=AttrValue(s=b"VALID"), data_format=AttrValue(s=b"NHWC"),
                       dilations=_attr_ints([1, 1, 1, 1]),
                       use_cudnn_on_gpu=AttrValue(b=True), explicit_paddings=_attr_ints([]))
            k = layer.kernel[0]
            h, w, c = (h - k) // layer.stride + 1, (w - k) // layer.stride + 1, layer.kernel[3]
        else:
            if layer.kind == "pixel_dense" and layout == "nhwc":
                x = g.node(f"{s}/Tensordot/Reshape", "Reshape",
                           [x, g.const(f"{s}/Tensordot/shape", np.array([-1, c]))],
                           T=_F, Tshape=_attr_type(tf_proto.DT_INT32))
                layout = "rows"
            elif layer.kind == "dense" and layout != "flat":
                x = g.node(f"{emb}/flatten/Reshape", "Reshape",
                           [x, g.const(f"{emb}/flatten/Reshape/shape",
                                       np.array([-1, h * w * c]))],
                           T=_F, Tshape=_attr_type(tf_proto.DT_INT32))
                layout = "flat"
            x = g.node(f"{s}/MatMul", "MatMul", [x, weight(f"{s}/kernel")], T=_F,
                       transpose_a=AttrValue(b=False), transpose_b=AttrValue(b=False))
            c = layer.kernel[1]
        x = g.node(f"{s}/BiasAdd", "BiasAdd", [x, weight(f"{s}/bias")], T=_F,
                   data_format=AttrValue(s=b"NHWC"))
        x = g.node(layer.activation, "Relu", [x], T=_F)
    return x


def _policy_head(g: _Graph, spec: ModelSpec, x: str, weight: Callable[[str], str]) -> str:
    head = f"{SCOPE}/network_1/ppo_head_0"
    layer = f"{head}/policy_mean" if spec.continuous else f"{head}/policy_fc"
    x = g.node(f"{layer}/MatMul", "MatMul", [x, weight(f"{layer}/kernel")], T=_F,
               transpose_a=AttrValue(b=False), transpose_b=AttrValue(b=False))
    x = g.node(f"{layer}/BiasAdd", "BiasAdd", [x, weight(f"{layer}/bias")], T=_F,
               data_format=AttrValue(s=b"NHWC"))
    return g.node(spec.output_node, "Identity" if spec.continuous else "Softmax", [x], T=_F)


def _value_head(g: _Graph, x: str, weight: Callable[[str], str]) -> str:
    v = f"{SCOPE}/network_0/v_values_head_0/output"
    x = g.node(f"{v}/MatMul", "MatMul", [x, weight(f"{v}/kernel")], T=_F,
               transpose_a=AttrValue(b=False), transpose_b=AttrValue(b=False))
    return g.node(f"{v}/BiasAdd", "BiasAdd", [x, weight(f"{v}/bias")], T=_F,
                  data_format=AttrValue(s=b"NHWC"))


def _placeholder(g: _Graph, spec: ModelSpec) -> str:
    return g.node(spec.input_node, "Placeholder", dtype=_F,
                  shape=_attr_shape((-1, *IMAGE_SHAPE)))


def frozen_graph(variables: Mapping[str, np.ndarray], spec: ModelSpec) -> GraphDef:
    """The frozen policy graph (``model_<N>.pb``): the policy tower with its weights as
    ``Const`` nodes named as the variables, from the input placeholder to ``.../policy``.

    Ops: :data:`FROZEN_GRAPH_OPS` only, with the attrs TensorFlow 2.4 knows.

    Raises:
        NetworkError: variables that do not fit ``spec`` (:func:`validate_variables`).
    """
    variables = validate_variables(variables, spec)
    g = _Graph()
    image = _placeholder(g, spec)

    def weight(name: str) -> str:
        return g.const(name, variables[name])

    _policy_head(g, spec, _tower(g, spec, 1, image, weight), weight)
    return g.graph


def write_frozen_graph(path: str | os.PathLike, variables: Mapping[str, np.ndarray],
                       spec: ModelSpec) -> Path:
    """Write :func:`frozen_graph` as a binary GraphDef (``model_<N>.pb`` / ``agent/model.pb``).

    Raises:
        NetworkError: variables that do not fit ``spec``.
    """
    path = Path(path)
    path.write_bytes(frozen_graph(variables, spec).SerializeToString(deterministic=True))
    return path


def meta_graph(spec: ModelSpec) -> tf_proto.MetaGraphDef:
    """A ``MetaGraphDef`` (the ``.ckpt.meta``) for ``spec``, without weights: the variables
    (``VariableV2`` + initializer + ``/read``), both towers' forward pass (policy output
    ``.../ppo_head_0/policy``, value ``.../v_values_head_0/output/BiasAdd``) and a V2 saver whose
    restore op loads the checkpoint. ``tf.compat.v1.train.import_meta_graph`` then
    ``saver.restore(sess, prefix)`` gives the trained network. No DeepRacer loader reads the
    ``.meta`` (cloud-model-format.md §2.3); it is shipped because the import docs list it.
    """
    g = _Graph()
    names = spec.variables()
    var_defs = []
    for name, shape in names.items():
        init = 1.0 if name in rescaler_names() else 0.0
        g.node(name, "VariableV2", dtype=_F, shape=_attr_shape(shape),
               container=AttrValue(s=b""), shared_name=AttrValue(s=b""))
        init_name = g.node(f"{name}/Initializer/Const", "Const", dtype=_F,
                           value=_attr_fill(shape, init))
        g.node(f"{name}/Assign", "Assign", [name, init_name], T=_F,
               validate_shape=AttrValue(b=True), use_locking=AttrValue(b=True))
        g.node(f"{name}/read", "Identity", [name], T=_F)
        var_defs.append(tf_proto.VariableDef(
            variable_name=f"{name}:0", initial_value_name=f"{init_name}:0",
            initializer_name=f"{name}/Assign", snapshot_name=f"{name}/read:0", trainable=True))
    image = _placeholder(g, spec)

    def weight(name: str) -> str:
        return f"{name}/read"

    _value_head(g, _tower(g, spec, 0, image, weight), weight)
    _policy_head(g, spec, _tower(g, spec, 1, image, weight), weight)

    # the saver, as tf.compat.v1.train.Saver builds it (saver.py::BaseSaverBuilder)
    ordered = sorted(names, key=lambda s: s.encode())
    string = _attr_type(tf_proto.DT_STRING)
    scalar = _attr_shape(())
    g.node("save/filename/input", "Const", dtype=string,
           value=_attr_tensor(np.array("model", dtype=object)))
    g.node("save/filename", "PlaceholderWithDefault", ["save/filename/input"], dtype=string,
           shape=scalar)
    g.node("save/Const", "PlaceholderWithDefault", ["save/filename"], dtype=string,
           shape=scalar)
    dtypes = _attr_types([tf_proto.DT_FLOAT] * len(ordered))
    for op in ("SaveV2", "RestoreV2"):
        g.node(f"save/{op}/tensor_names", "Const", dtype=string,
               value=_attr_tensor(np.array(ordered, dtype=object)))
        g.node(f"save/{op}/shape_and_slices", "Const", dtype=string,
               value=_attr_tensor(np.array([""] * len(ordered), dtype=object)))
    g.node("save/SaveV2", "SaveV2", ["save/Const", "save/SaveV2/tensor_names",
                                     "save/SaveV2/shape_and_slices", *ordered], dtypes=dtypes)
    g.node("save/control_dependency", "Identity", ["save/Const", "^save/SaveV2"], T=string)
    g.node("save/RestoreV2", "RestoreV2", ["save/Const", "save/RestoreV2/tensor_names",
                                           "save/RestoreV2/shape_and_slices"], dtypes=dtypes)
    assigns = []
    for i, name in enumerate(ordered):
        assigns.append(g.node(f"save/Assign{'' if i == 0 else f'_{i}'}", "Assign",
                              [name, f"save/RestoreV2:{i}" if i else "save/RestoreV2"], T=_F,
                              validate_shape=AttrValue(b=True), use_locking=AttrValue(b=True)))
    g.node("save/restore_all", "NoOp", [f"^{a}" for a in assigns])

    meta = tf_proto.MetaGraphDef()
    meta.meta_info_def.SetInParent()
    meta.graph_def.CopyFrom(g.graph)
    meta.saver_def.CopyFrom(tf_proto.SaverDef(
        filename_tensor_name="save/Const:0", save_tensor_name="save/control_dependency:0",
        restore_op_name="save/restore_all", max_to_keep=5, sharded=False,
        keep_checkpoint_every_n_hours=10000.0, version=2))
    for key in ("variables", "trainable_variables"):
        meta.collection_def[key].bytes_list.value.extend(
            v.SerializeToString(deterministic=True) for v in var_defs)
    return meta


def write_meta_graph(path: str | os.PathLike, spec: ModelSpec) -> Path:
    """Write :func:`meta_graph` to ``path`` (``<N>_Step-<S>.ckpt.meta``)."""
    path = Path(path)
    path.write_bytes(meta_graph(spec).SerializeToString(deterministic=True))
    return path



# --------------------------------------------------------------------------------------------
# the reader

def read_graph_def(source: str | os.PathLike | bytes, where: str | None = None,
                   max_bytes: int = MAX_GRAPH_BYTES) -> GraphDef:
    """The ``GraphDef`` of a binary ``.pb`` (a path, or the file's bytes), its size checked
    before it is read.

    Raises:
        TensorFlowFileError: a missing file or a link, more than ``max_bytes``, or bytes that do
            not parse as a binary GraphDef (the message names ``where`` and the fix).
    """
    if isinstance(source, bytes):
        data, where = source, where or "graph"
    else:
        path = Path(source)
        where = where or str(path)
        if path.is_symlink() or not path.is_file():
            raise TensorFlowFileError(f"{where}: missing (or a link); write the frozen graph "
                                      "(deepracer-sim export writes model_<N>.pb)")
        size = path.stat().st_size
        if size > max_bytes:
            raise TensorFlowFileError(f"{where}: {size:,} bytes is over the {max_bytes:,}-byte "
                                      "limit of a DeepRacer frozen graph")
        data = path.read_bytes()
    if len(data) > max_bytes:
        raise TensorFlowFileError(f"{where}: {len(data):,} bytes is over the {max_bytes:,}-byte "
                                  "limit of a DeepRacer frozen graph")
    graph = GraphDef()
    try:
        graph.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError (its class differs between versions)
        raise TensorFlowFileError(f"{where}: not a binary GraphDef ({exc}); write it with "
                                  "tf.io.write_graph(..., as_text=False) or deepracer-sim "
                                  "export") from None
    return graph


# --------------------------------------------------------------------------------------------
# the validators

def _check_input(graph_nodes: dict, spec: ModelSpec, where: str) -> list[Problem]:
    """The input placeholder: name, op, dtype and shape."""
    inp = graph_nodes.get(spec.input_node)
    if inp is None:
        return [Problem(where, f"no input node {spec.input_node}", "the car feeds the camera to "
                        "this exact name (model optimizer --input): name the placeholder so")]
    out = []
    if inp.op != "Placeholder":
        out.append(Problem(where, f"input {spec.input_node} is a {inp.op}, not a Placeholder",
                           "make the input a float Placeholder"))
    if inp.attr["dtype"].type != tf_proto.DT_FLOAT:
        out.append(Problem(where, "input placeholder is not DT_FLOAT", "feed float 0-255 grey "
                           "levels (the /255 is inside the graph)"))
    if "shape" in inp.attr and not inp.attr["shape"].shape.unknown_rank:
        shape = tf_proto.shape_of(inp.attr["shape"].shape)
        if len(shape) != 4 or shape[1:] != IMAGE_SHAPE or shape[0] not in (-1, 1):
            out.append(Problem(where, f"input shape {list(shape)}, the car feeds "
                               f"[1, {IMAGE_SHAPE[0]}, {IMAGE_SHAPE[1]}, {IMAGE_SHAPE[2]}]",
                               "give the placeholder shape [-1, 120, 160, 1]"))
    return out


def _check_output(graph: GraphDef, graph_nodes: dict, spec: ModelSpec,
                  where: str) -> list[Problem]:
    """The ``policy`` node's op, and that it is the graph's only sink."""
    out = []
    outp = graph_nodes.get(spec.output_node)
    want_op = "Identity" if spec.continuous else "Softmax"
    if outp is None:
        out.append(Problem(where, f"no output node {spec.output_node}",
                           "the simapp and the car read the policy from this exact name"))
    elif outp.op != want_op:
        out.append(Problem(where, f"output {spec.output_node} is a {outp.op}, a "
                           f"{'continuous' if spec.continuous else 'discrete'} head ends in "
                           f"{want_op}", "check model_metadata.json's action_space_type"))
    consumed = {i.lstrip("^").split(":")[0] for n in graph.node for i in n.input}
    sinks = sorted(n.name for n in graph.node if n.name not in consumed and n.op != "NoOp")
    if sinks != [spec.output_node]:
        out.append(Problem(where, f"{len(sinks)} output nodes {sinks[:4]}; the car's model "
                           "optimizer is given no --output and takes the graph's one output",
                           "freeze with only the policy output (prune the rest)"))
    return out


def _check_weights(graph_nodes: dict, spec: ModelSpec, where: str) -> list[Problem]:
    """The shapes of the policy tower's weight constants (named as the variables)."""
    want = {f"{layer.scope}/{k}": (layer.kernel if k == "kernel" else (layer.kernel[-1],))
            for layer in spec.tower_layers(1) for k in ("kernel", "bias")}
    want.update(spec.head_variables())
    out = []
    for name, shape in want.items():
        n = graph_nodes.get(name)
        if n is None or n.op != "Const":
            continue  # graphs from other writers may name their constants differently
        got = tf_proto.shape_of(n.attr["value"].tensor.tensor_shape)
        if got != shape:
            out.append(Problem(where, f"{name} has shape {list(got)}, expected {list(shape)}",
                               "the graph belongs to another network or action space: match "
                               "model_metadata.json's neural_network and action_space to it"))
    return out


def _check_ops(graph: GraphDef, where: str) -> list[Problem]:
    """Ops the car's converter may not know (warnings) and attrs TF 2.4 rejects (errors)."""
    out = []
    for op in sorted({n.op for n in graph.node} - FROZEN_GRAPH_OPS - SIMAPP_EXTRA_OPS):
        out.append(Problem(where, f"op {op} is not among the ops known to convert on the car "
                           f"({', '.join(sorted(FROZEN_GRAPH_OPS))})", "freeze the policy tower "
                           "only, with standard conv/dense layers", WARNING))
    for n in graph.node:
        for attr in TF24_UNKNOWN_ATTRS.get(n.op, ()):
            if attr in n.attr:
                out.append(Problem(where, f"{n.op} node {n.name} has attr {attr!r}, which the "
                                   "car's TensorFlow 2.4 does not know (its importer rejects it)",
                                   f"delete the {attr!r} attrs (their default is false)"))
                break
    return out


def check_frozen_graph(source: str | os.PathLike | bytes, spec: ModelSpec,
                       where: str | None = None,
                       max_bytes: int = MAX_GRAPH_BYTES) -> list[Problem]:
    """Every problem of a frozen graph for the car and the simapp (``spec`` from the folder's
    ``model_metadata.json``): the input placeholder (name, float, ``[-1|1, 120, 160, 1]``), the
    ``policy`` output (Softmax or Identity) as the graph's one sink, the policy tower's weight
    shapes, attrs the car's TensorFlow 2.4 rejects (errors) and ops outside the known sets
    (warnings).

    Args:
        source: the ``.pb`` path, or its bytes (``where`` names it).
    """
    where = where or (Path(source).name if not isinstance(source, bytes) else "graph")
    try:
        graph = read_graph_def(source, where, max_bytes)
    except TensorFlowFileError as exc:
        return [Problem(where, str(exc).removeprefix(f"{where}: "),
                        "export the model again (deepracer-sim export) or freeze it with "
                        "TensorFlow")]
    nodes = {n.name: n for n in graph.node}
    out = []
    if len(nodes) != len(graph.node):
        out.append(Problem(where, "duplicate node names", "rebuild the graph"))
    try:
        out += _check_input(nodes, spec, where) + _check_output(graph, nodes, spec, where)
        out += _check_weights(nodes, spec, where) + _check_ops(graph, where)
    except TensorFlowFileError as exc:  # a shape of unknown rank
        out.append(Problem(where, str(exc), "export the model again"))
    return out


def check_meta_graph(path: str | os.PathLike, spec: ModelSpec, where: str | None = None,
                     max_bytes: int = MAX_META_BYTES) -> list[Problem]:
    """Problems of a checkpoint's ``.meta``: no DeepRacer loader reads it (cloud-model-format.md
    §2.3), so every finding is a warning: missing, not a ``MetaGraphDef``, or a variable of
    ``spec`` it does not declare with the right shape."""
    path = Path(path)
    where = where or path.name
    fix = "export the model again (the import docs list a .meta; no loader reads it)"
    if path.is_symlink() or not path.is_file():
        return [Problem(where, "missing", fix, WARNING)]
    if path.stat().st_size > max_bytes:
        return [Problem(where, f"{path.stat().st_size:,} bytes is over the {max_bytes:,}-byte "
                        "limit of a .meta", fix, WARNING)]
    meta = tf_proto.MetaGraphDef()
    try:
        meta.ParseFromString(path.read_bytes())
    except Exception as exc:  # protobuf's DecodeError
        return [Problem(where, f"not a MetaGraphDef ({exc})", fix, WARNING)]
    nodes = {n.name: n for n in meta.graph_def.node if n.op in ("VariableV2", "VarHandleOp")}
    out = []
    for name, shape in spec.variables().items():
        node = nodes.get(name)
        try:
            got = None if node is None else tf_proto.shape_of(node.attr["shape"].shape)
        except TensorFlowFileError:
            got = None
        if got != shape:
            out.append(Problem(where, f"declares no variable {name} of shape {list(shape)}",
                               fix, WARNING))
    return out
