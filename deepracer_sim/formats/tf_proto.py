"""TensorFlow's protobuf messages (those a checkpoint and a frozen graph need), without TensorFlow.

The message classes are built at import from a ``FileDescriptorProto`` written here in code, in a
private ``DescriptorPool``: the ``protobuf`` runtime (a dependency, 3.20 to 7.x) then does all
encoding and decoding. The field numbers, types and names are TensorFlow's own, so the
bytes are TensorFlow's wire format and TensorFlow parses them (and we parse TensorFlow's). A
private pool never clashes with TensorFlow's own ``tensorflow.*`` messages when both are loaded in
one process, and there is no generated ``*_pb2`` code whose version must match the runtime.

Source of every field number: tensorflow/tensorflow@v2.21.0
``tensorflow/core/framework/{types,tensor_shape,tensor,attr_value,node_def,graph,versions,
variable}.proto``, ``tensorflow/core/protobuf/{tensor_bundle,meta_graph,saver}.proto``,
``tensorflow/core/framework/tensor_slice.proto``. Only the fields used here are declared;
others (e.g. ``GraphDef.library``) are kept as unknown fields when parsing and re-serialising.

Public names: the message classes (``GraphDef``, ``NodeDef``, ``AttrValue``, ``TensorProto``,
``TensorShapeProto``, ``VersionDef``, ``BundleHeaderProto``, ``BundleEntryProto``,
``MetaGraphDef``, ``CollectionDef``, ``SaverDef``, ``VariableDef``), the ``DataType`` numbers
(``DT_FLOAT`` ...) and the numpy dtype table :data:`NUMPY_DTYPES`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from deepracer_sim.errors import TensorFlowFileError

_FDP = descriptor_pb2.FieldDescriptorProto
_SCALAR = {
    "int32": _FDP.TYPE_INT32, "int64": _FDP.TYPE_INT64, "uint32": _FDP.TYPE_UINT32,
    "uint64": _FDP.TYPE_UINT64, "float": _FDP.TYPE_FLOAT, "double": _FDP.TYPE_DOUBLE,
    "bool": _FDP.TYPE_BOOL, "string": _FDP.TYPE_STRING, "bytes": _FDP.TYPE_BYTES,
    "fixed32": _FDP.TYPE_FIXED32,
}

#: tensorflow/core/framework/types.proto ``DataType`` (the values this module knows by name).
DATA_TYPES = {
    "DT_INVALID": 0, "DT_FLOAT": 1, "DT_DOUBLE": 2, "DT_INT32": 3, "DT_UINT8": 4,
    "DT_INT16": 5, "DT_INT8": 6, "DT_STRING": 7, "DT_COMPLEX64": 8, "DT_INT64": 9,
    "DT_BOOL": 10, "DT_BFLOAT16": 14, "DT_UINT16": 17, "DT_COMPLEX128": 18, "DT_HALF": 19,
    "DT_RESOURCE": 20, "DT_VARIANT": 21, "DT_UINT32": 22, "DT_UINT64": 23,
    "DT_FLOAT_REF": 101,
}
DT_FLOAT = DATA_TYPES["DT_FLOAT"]
DT_INT32 = DATA_TYPES["DT_INT32"]
DT_INT64 = DATA_TYPES["DT_INT64"]
DT_STRING = DATA_TYPES["DT_STRING"]
#: DataType number -> little-endian numpy dtype, for the types a tensor bundle stores as raw bytes.
NUMPY_DTYPES: dict[int, np.dtype] = {
    DATA_TYPES["DT_FLOAT"]: np.dtype("<f4"), DATA_TYPES["DT_DOUBLE"]: np.dtype("<f8"),
    DATA_TYPES["DT_INT32"]: np.dtype("<i4"), DATA_TYPES["DT_UINT8"]: np.dtype("u1"),
    DATA_TYPES["DT_INT16"]: np.dtype("<i2"), DATA_TYPES["DT_INT8"]: np.dtype("i1"),
    DATA_TYPES["DT_INT64"]: np.dtype("<i8"), DATA_TYPES["DT_BOOL"]: np.dtype("?"),
    DATA_TYPES["DT_UINT16"]: np.dtype("<u2"), DATA_TYPES["DT_HALF"]: np.dtype("<f2"),
    DATA_TYPES["DT_UINT32"]: np.dtype("<u4"), DATA_TYPES["DT_UINT64"]: np.dtype("<u8"),
}
DATA_TYPE_NAMES = {v: k for k, v in DATA_TYPES.items()}


def _field(msg: descriptor_pb2.DescriptorProto, name: str, number: int, ftype: str,
           repeated: bool = False, oneof: int | None = None) -> None:
    """Add a field; ``ftype`` is a scalar name, ``.tensorflow.Msg`` or ``enum:.tensorflow.E``."""
    f = msg.field.add(name=name, number=number,
                      label=_FDP.LABEL_REPEATED if repeated else _FDP.LABEL_OPTIONAL)
    if ftype in _SCALAR:
        f.type = _SCALAR[ftype]
    elif ftype.startswith("enum:"):
        f.type = _FDP.TYPE_ENUM
        f.type_name = ftype[5:]
    else:
        f.type = _FDP.TYPE_MESSAGE
        f.type_name = ftype
    if oneof is not None:
        f.oneof_index = oneof


def _map_entry(msg: descriptor_pb2.DescriptorProto, entry: str, value_type: str) -> None:
    """Declare the nested ``map<string, value_type>`` entry message ``entry``."""
    m = msg.nested_type.add(name=entry)
    m.options.map_entry = True
    _field(m, "key", 1, "string")
    _field(m, "value", 2, value_type)


#: Type-name prefix of the messages, and the DataType enum field type.
T = ".tensorflow."
DTYPE = "enum:.tensorflow.DataType"


def _file() -> descriptor_pb2.FileDescriptorProto:
    """The subset of TensorFlow's ``.proto`` files the checkpoint and graphs need
    (``tensorflow/core/framework/*.proto``, ``protobuf/{saver,meta_graph,tensor_bundle}``)."""
    fd = descriptor_pb2.FileDescriptorProto(name="deepracer_sim/tensorflow_subset.proto",
                                            package="tensorflow", syntax="proto3")
    dt = fd.enum_type.add(name="DataType")
    for name, number in DATA_TYPES.items():
        dt.value.add(name=name, number=number)
    _graph_messages(fd)
    _bundle_messages(fd)
    _meta_graph_messages(fd)
    return fd


def _graph_messages(fd: descriptor_pb2.FileDescriptorProto) -> None:
    """VersionDef, TensorShapeProto, TensorProto, NameAttrList, AttrValue, NodeDef, GraphDef."""
    m = fd.message_type.add(name="VersionDef")
    _field(m, "producer", 1, "int32")
    _field(m, "min_consumer", 2, "int32")
    _field(m, "bad_consumers", 3, "int32", repeated=True)

    m = fd.message_type.add(name="TensorShapeProto")
    d = m.nested_type.add(name="Dim")
    _field(d, "size", 1, "int64")
    _field(d, "name", 2, "string")
    _field(m, "dim", 2, T + "TensorShapeProto.Dim", repeated=True)
    _field(m, "unknown_rank", 3, "bool")

    m = fd.message_type.add(name="TensorProto")
    _field(m, "dtype", 1, DTYPE)
    _field(m, "tensor_shape", 2, T + "TensorShapeProto")
    _field(m, "version_number", 3, "int32")
    _field(m, "tensor_content", 4, "bytes")
    _field(m, "float_val", 5, "float", repeated=True)
    _field(m, "double_val", 6, "double", repeated=True)
    _field(m, "int_val", 7, "int32", repeated=True)
    _field(m, "string_val", 8, "bytes", repeated=True)
    _field(m, "int64_val", 10, "int64", repeated=True)
    _field(m, "bool_val", 11, "bool", repeated=True)
    _field(m, "half_val", 13, "int32", repeated=True)

    m = fd.message_type.add(name="NameAttrList")
    _field(m, "name", 1, "string")
    _map_entry(m, "AttrEntry", T + "AttrValue")
    _field(m, "attr", 2, T + "NameAttrList.AttrEntry", repeated=True)

    m = fd.message_type.add(name="AttrValue")
    lv = m.nested_type.add(name="ListValue")
    _field(lv, "s", 2, "bytes", repeated=True)
    _field(lv, "i", 3, "int64", repeated=True)
    _field(lv, "f", 4, "float", repeated=True)
    _field(lv, "b", 5, "bool", repeated=True)
    _field(lv, "type", 6, DTYPE, repeated=True)
    _field(lv, "shape", 7, T + "TensorShapeProto", repeated=True)
    _field(lv, "tensor", 8, T + "TensorProto", repeated=True)
    _field(lv, "func", 9, T + "NameAttrList", repeated=True)
    m.oneof_decl.add(name="value")
    _field(m, "list", 1, T + "AttrValue.ListValue", oneof=0)
    _field(m, "s", 2, "bytes", oneof=0)
    _field(m, "i", 3, "int64", oneof=0)
    _field(m, "f", 4, "float", oneof=0)
    _field(m, "b", 5, "bool", oneof=0)
    _field(m, "type", 6, DTYPE, oneof=0)
    _field(m, "shape", 7, T + "TensorShapeProto", oneof=0)
    _field(m, "tensor", 8, T + "TensorProto", oneof=0)
    _field(m, "placeholder", 9, "string", oneof=0)
    _field(m, "func", 10, T + "NameAttrList", oneof=0)

    m = fd.message_type.add(name="NodeDef")
    _field(m, "name", 1, "string")
    _field(m, "op", 2, "string")
    _field(m, "input", 3, "string", repeated=True)
    _field(m, "device", 4, "string")
    _map_entry(m, "AttrEntry", T + "AttrValue")
    _field(m, "attr", 5, T + "NodeDef.AttrEntry", repeated=True)

    m = fd.message_type.add(name="GraphDef")
    _field(m, "node", 1, T + "NodeDef", repeated=True)
    _field(m, "version", 3, "int32")
    _field(m, "versions", 4, T + "VersionDef")


def _bundle_messages(fd: descriptor_pb2.FileDescriptorProto) -> None:
    """TensorSliceProto, BundleHeaderProto, BundleEntryProto (the checkpoint index)."""
    m = fd.message_type.add(name="TensorSliceProto")
    e = m.nested_type.add(name="Extent")
    e.oneof_decl.add(name="has_length")
    _field(e, "start", 1, "int64")
    _field(e, "length", 2, "int64", oneof=0)
    _field(m, "extent", 1, T + "TensorSliceProto.Extent", repeated=True)

    m = fd.message_type.add(name="BundleHeaderProto")
    en = m.enum_type.add(name="Endianness")
    en.value.add(name="LITTLE", number=0)
    en.value.add(name="BIG", number=1)
    _field(m, "num_shards", 1, "int32")
    _field(m, "endianness", 2, "enum:.tensorflow.BundleHeaderProto.Endianness")
    _field(m, "version", 3, T + "VersionDef")

    m = fd.message_type.add(name="BundleEntryProto")
    _field(m, "dtype", 1, DTYPE)
    _field(m, "shape", 2, T + "TensorShapeProto")
    _field(m, "shard_id", 3, "int32")
    _field(m, "offset", 4, "int64")
    _field(m, "size", 5, "int64")
    _field(m, "crc32c", 6, "fixed32")
    _field(m, "slices", 7, T + "TensorSliceProto", repeated=True)


def _meta_graph_messages(fd: descriptor_pb2.FileDescriptorProto) -> None:
    """SaverDef, VariableDef, CollectionDef, MetaGraphDef (the ``.ckpt.meta``)."""
    m = fd.message_type.add(name="SaverDef")
    en = m.enum_type.add(name="CheckpointFormatVersion")
    for i, name in enumerate(("LEGACY", "V1", "V2")):
        en.value.add(name=name, number=i)
    _field(m, "filename_tensor_name", 1, "string")
    _field(m, "save_tensor_name", 2, "string")
    _field(m, "restore_op_name", 3, "string")
    _field(m, "max_to_keep", 4, "int32")
    _field(m, "sharded", 5, "bool")
    _field(m, "keep_checkpoint_every_n_hours", 6, "float")
    _field(m, "version", 7, "enum:.tensorflow.SaverDef.CheckpointFormatVersion")

    m = fd.message_type.add(name="VariableDef")
    _field(m, "variable_name", 1, "string")
    _field(m, "initializer_name", 2, "string")
    _field(m, "snapshot_name", 3, "string")
    _field(m, "is_resource", 5, "bool")
    _field(m, "initial_value_name", 6, "string")
    _field(m, "trainable", 7, "bool")

    m = fd.message_type.add(name="CollectionDef")
    for name, vtype in (("NodeList", "string"), ("BytesList", "bytes"),
                        ("Int64List", "int64"), ("FloatList", "float")):
        _field(m.nested_type.add(name=name), "value", 1, vtype, repeated=True)
    m.oneof_decl.add(name="kind")
    _field(m, "node_list", 1, T + "CollectionDef.NodeList", oneof=0)
    _field(m, "bytes_list", 2, T + "CollectionDef.BytesList", oneof=0)
    _field(m, "int64_list", 3, T + "CollectionDef.Int64List", oneof=0)
    _field(m, "float_list", 4, T + "CollectionDef.FloatList", oneof=0)

    m = fd.message_type.add(name="MetaGraphDef")
    mi = m.nested_type.add(name="MetaInfoDef")
    _field(mi, "meta_graph_version", 1, "string")
    _field(mi, "tags", 4, "string", repeated=True)
    _field(mi, "tensorflow_version", 5, "string")
    _field(mi, "tensorflow_git_version", 6, "string")
    _field(mi, "stripped_default_attrs", 7, "bool")
    _map_entry(m, "CollectionDefEntry", T + "CollectionDef")
    _field(m, "meta_info_def", 1, T + "MetaGraphDef.MetaInfoDef")
    _field(m, "graph_def", 2, T + "GraphDef")
    _field(m, "saver_def", 3, T + "SaverDef")
    _field(m, "collection_def", 4, T + "MetaGraphDef.CollectionDefEntry", repeated=True)


def _message_classes() -> dict[str, Any]:
    pool = descriptor_pool.DescriptorPool()
    fd = _file()
    pool.AddSerializedFile(fd.SerializeToString())
    out = {}
    for msg in fd.message_type:
        desc = pool.FindMessageTypeByName(f"tensorflow.{msg.name}")
        if hasattr(message_factory, "GetMessageClass"):
            out[msg.name] = message_factory.GetMessageClass(desc)
        else:  # protobuf < 4.21
            out[msg.name] = message_factory.MessageFactory(pool).GetPrototype(desc)
    return out


_CLASSES = _message_classes()
VersionDef = _CLASSES["VersionDef"]
TensorShapeProto = _CLASSES["TensorShapeProto"]
TensorProto = _CLASSES["TensorProto"]
NameAttrList = _CLASSES["NameAttrList"]
AttrValue = _CLASSES["AttrValue"]
NodeDef = _CLASSES["NodeDef"]
GraphDef = _CLASSES["GraphDef"]
TensorSliceProto = _CLASSES["TensorSliceProto"]
BundleHeaderProto = _CLASSES["BundleHeaderProto"]
BundleEntryProto = _CLASSES["BundleEntryProto"]
SaverDef = _CLASSES["SaverDef"]
VariableDef = _CLASSES["VariableDef"]
CollectionDef = _CLASSES["CollectionDef"]
MetaGraphDef = _CLASSES["MetaGraphDef"]


def shape_proto(shape: tuple[int, ...] | list[int], out=None):
    """A ``TensorShapeProto`` for ``shape`` (``-1`` = unknown size), present even when empty
    (a scalar), as TensorFlow writes it.

    Args:
        shape: the dimensions.
        out: an existing ``TensorShapeProto`` field to fill (else a new message is returned).
    """
    msg = TensorShapeProto() if out is None else out
    msg.SetInParent()
    for size in shape:
        msg.dim.add(size=int(size))
    return msg


def shape_of(msg) -> tuple[int, ...]:
    """The dimensions of a ``TensorShapeProto`` (``-1`` for unknown sizes).

    Raises:
        TensorFlowFileError: an unknown-rank shape.
    """
    if msg.unknown_rank:
        raise TensorFlowFileError("shape of unknown rank")
    return tuple(int(d.size) for d in msg.dim)


def tensor_proto(array: np.ndarray):
    """A ``TensorProto`` holding ``array`` (float32/int32 as ``tensor_content``, strings as
    ``string_val``), the form ``convert_variables_to_constants`` writes.

    Raises:
        TensorFlowFileError: a dtype other than float32, int32, int64 or bytes/str.
    """
    array = np.asarray(array)
    msg = TensorProto()
    shape_proto(array.shape, msg.tensor_shape)
    if array.dtype.kind in "SUO":
        msg.dtype = DT_STRING
        msg.string_val.extend(s.encode() if isinstance(s, str) else bytes(s)
                              for s in array.reshape(-1).tolist())
        return msg
    for number, dtype in ((DT_FLOAT, np.dtype("<f4")), (DT_INT32, np.dtype("<i4")),
                          (DT_INT64, np.dtype("<i8"))):
        if array.dtype == dtype or array.dtype == dtype.newbyteorder("="):
            msg.dtype = number
            msg.tensor_content = array.astype(dtype, copy=False).tobytes()
            return msg
    raise TensorFlowFileError(f"tensor_proto: unsupported dtype {array.dtype}; use float32, "
                              "int32, int64 or strings")


def tensor_value(msg) -> np.ndarray:
    """The numpy array of a ``TensorProto`` (``tensor_content`` or the ``*_val`` fields, the
    last value repeated to fill the shape as TensorFlow does).

    Raises:
        TensorFlowFileError: a dtype without a numpy equivalent here, or content of the wrong
            size.
    """
    shape = shape_of(msg.tensor_shape)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if msg.dtype == DT_STRING:
        strings = list(msg.string_val)
        if count and not strings:
            raise TensorFlowFileError("string tensor without values")
        strings = strings + [strings[-1]] * (count - len(strings)) if count else []
        return np.array(strings, dtype=object).reshape(shape)
    if msg.dtype not in NUMPY_DTYPES:
        raise TensorFlowFileError(f"tensor of dtype {DATA_TYPE_NAMES.get(msg.dtype, msg.dtype)} "
                                  "is not supported")
    dtype = NUMPY_DTYPES[msg.dtype]
    if msg.tensor_content:
        if len(msg.tensor_content) != count * dtype.itemsize:
            raise TensorFlowFileError(f"tensor_content holds {len(msg.tensor_content)} bytes, "
                                      f"shape {list(shape)} of {dtype} needs "
                                      f"{count * dtype.itemsize}")
        return np.frombuffer(msg.tensor_content, dtype=dtype).reshape(shape).copy()
    field = {np.dtype("<f4"): msg.float_val, np.dtype("<f8"): msg.double_val,
             np.dtype("<i8"): msg.int64_val, np.dtype("?"): msg.bool_val,
             np.dtype("<f2"): msg.half_val}.get(dtype, msg.int_val)
    values: np.ndarray = np.array(list(field),
                                  dtype=dtype if dtype != np.dtype("<f2") else np.int32)
    if dtype == np.dtype("<f2"):
        values = values.astype(np.uint16).view(np.float16)
    if count and values.size == 0:
        values = np.zeros(1, dtype=dtype)
    if values.size < count:
        values = np.concatenate([values, np.full(count - values.size, values[-1], dtype)])
    if values.size != count:
        raise TensorFlowFileError(f"{values.size} values for shape {list(shape)}")
    return values.reshape(shape)
