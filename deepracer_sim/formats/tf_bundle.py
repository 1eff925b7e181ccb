"""TensorFlow's V2 checkpoint ("tensor bundle") files, written and read with numpy, no TensorFlow.

A checkpoint ``PREFIX`` is two files (TensorFlow ``tensorflow/core/util/tensor_bundle/
tensor_bundle.cc``, ``BundleWriter``/``BundleReader``, tensorflow/tensorflow@v2.21.0):

* ``PREFIX.data-00000-of-00001``: the tensors' raw little-endian bytes, one after the other in
  sorted key order (the order ``tf.compat.v1.train.Saver`` hands them to ``SaveV2``), no padding;
* ``PREFIX.index``: a LevelDB-format table (``tensorflow/core/lib/io/table_builder.cc``,
  uncompressed blocks, restart interval 16, block size 256 KiB) mapping ``""`` to a
  ``BundleHeaderProto`` and each tensor name to a ``BundleEntryProto`` (dtype, shape, offset,
  size, masked CRC-32C of the bytes).

:func:`write_bundle` produces the same bytes as TensorFlow's ``Saver`` for the same tensors;
:func:`read_bundle_index` / :func:`read_bundle` read any single-shard bundle back, checking sizes
before reading and the CRC-32C of every tensor.

Every block and tensor carries a masked CRC-32C (:mod:`deepracer_sim.formats.crc32c`). Errors
raise :class:`~deepracer_sim.errors.TensorFlowFileError` naming the file, the tensor and the fix.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepracer_sim.errors import TensorFlowFileError
from deepracer_sim.formats import tf_proto
from deepracer_sim.formats.crc32c import crc32c, mask_crc
from deepracer_sim.formats.run_folder import TF_DATA_SUFFIX, TF_INDEX_SUFFIX

#: ``tensor_bundle.h`` kTensorBundleVersion / kTensorBundleMinConsumer.
BUNDLE_VERSION = 1
#: ``table_builder`` defaults that TensorFlow's BundleWriter keeps.
BLOCK_SIZE = 256 * 1024
BLOCK_RESTART_INTERVAL = 16
#: ``table/format.h`` kTableMagicNumber, footer length and block trailer length.
TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
BLOCK_TRAILER_BYTES = 5
#: Largest index file :func:`read_bundle_index` reads (a DeepRacer index is ~1 KiB).
MAX_INDEX_BYTES = 16 * 2**20
#: Largest data file :func:`read_bundle` accepts (DeepRacer-on-AWS imports at most 1 GiB).
MAX_DATA_BYTES = 2**30

# --------------------------------------------------------------------------------------------
# LevelDB table (TensorFlow's copy: tensorflow/core/lib/io/{block_builder,table_builder,format}.cc)

def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(buf: bytes, pos: int, where: str) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise TensorFlowFileError(f"{where}: truncated or corrupt varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _shared_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class _BlockBuilder:
    def __init__(self, restart_interval: int) -> None:
        self.interval = restart_interval
        self.buf = bytearray()
        self.restarts = [0]
        self.counter = 0
        self.last = b""

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.counter < self.interval:
            shared = _shared_prefix(self.last, key)
        else:
            self.restarts.append(len(self.buf))
            self.counter = 0
        self.buf += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        self.buf += key[shared:] + value
        self.last = key
        self.counter += 1

    def size_estimate(self) -> int:
        return len(self.buf) + 4 * len(self.restarts) + 4

    def empty(self) -> bool:
        return not self.buf

    def finish(self) -> bytes:
        out = bytes(self.buf) + b"".join(struct.pack("<I", r) for r in self.restarts)
        return out + struct.pack("<I", len(self.restarts))


def _shortest_separator(start: bytes, limit: bytes) -> bytes:
    """BytewiseComparator::FindShortestSeparator."""
    i = _shared_prefix(start, limit)
    if i >= min(len(start), len(limit)):
        return start
    byte = start[i]
    if byte < 0xFF and byte + 1 < limit[i]:
        return start[:i] + bytes([byte + 1])
    return start


def _short_successor(key: bytes) -> bytes:
    """BytewiseComparator::FindShortSuccessor."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes([byte + 1])
    return key


def build_table(items: Iterable[tuple[bytes, bytes]]) -> bytes:
    """A LevelDB table of ``items`` (keys strictly increasing) as TensorFlow's ``TableBuilder``
    writes it: uncompressed data blocks, an empty meta-index block, an index block (restart
    interval 1) and the 48-byte footer.

    Raises:
        TensorFlowFileError: keys not strictly increasing.
    """
    out = bytearray()
    data = _BlockBuilder(BLOCK_RESTART_INTERVAL)
    index = _BlockBuilder(1)
    pending: tuple[int, int] | None = None
    last: bytes | None = None

    def write_block(block: _BlockBuilder) -> tuple[int, int]:
        contents = block.finish()
        handle = (len(out), len(contents))
        out.extend(contents)
        out.extend(b"\x00" + struct.pack("<I", mask_crc(crc32c(contents + b"\x00"))))
        return handle

    for key, value in items:
        if last is not None and key <= last:
            raise TensorFlowFileError(f"table keys must increase: {key!r} after {last!r}")
        if pending is not None and last is not None:
            index.add(_shortest_separator(last, key), _varint(pending[0]) + _varint(pending[1]))
            pending = None
        data.add(key, value)
        last = key
        if data.size_estimate() >= BLOCK_SIZE:
            pending = write_block(data)
            data = _BlockBuilder(BLOCK_RESTART_INTERVAL)
    if not data.empty():
        pending = write_block(data)
    if pending is not None:
        index.add(_short_successor(last if last is not None else b""),
                  _varint(pending[0]) + _varint(pending[1]))
    meta_handle = write_block(_BlockBuilder(BLOCK_RESTART_INTERVAL))
    index_handle = write_block(index)
    footer = _varint(meta_handle[0]) + _varint(meta_handle[1])
    footer += _varint(index_handle[0]) + _varint(index_handle[1])
    footer = footer.ljust(40, b"\x00")
    footer += struct.pack("<II", TABLE_MAGIC & 0xFFFFFFFF, TABLE_MAGIC >> 32)
    out.extend(footer)
    return bytes(out)


def _read_block(table: bytes, handle: tuple[int, int], where: str) -> bytes:
    offset, size = handle
    if offset < 0 or size < 0 or offset + size + BLOCK_TRAILER_BYTES > len(table):
        raise TensorFlowFileError(f"{where}: block handle ({offset}, {size}) points past the end "
                                  f"of the file ({len(table)} bytes): the file is truncated; copy "
                                  "it again")
    contents = table[offset:offset + size]
    kind = table[offset + size]
    (stored,) = struct.unpack_from("<I", table, offset + size + 1)
    if mask_crc(crc32c(contents + bytes([kind]))) != stored:
        raise TensorFlowFileError(f"{where}: block at offset {offset} fails its CRC-32C check: "
                                  "the file is corrupt; copy it again")
    if kind != 0:
        raise TensorFlowFileError(f"{where}: block at offset {offset} is compressed (type "
                                  f"{kind}); TensorFlow writes checkpoint indexes uncompressed, "
                                  "so this is not a TensorFlow V2 checkpoint index")
    return contents


def _block_entries(block: bytes, where: str) -> list[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise TensorFlowFileError(f"{where}: block of {len(block)} bytes is too short")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * num_restarts
    if end < 0:
        raise TensorFlowFileError(f"{where}: block restart array is larger than the block")
    entries = []
    pos = 0
    last = b""
    while pos < end:
        shared, pos = _read_varint(block, pos, where)
        non_shared, pos = _read_varint(block, pos, where)
        value_len, pos = _read_varint(block, pos, where)
        if shared > len(last) or pos + non_shared + value_len > end:
            raise TensorFlowFileError(f"{where}: corrupt block entry at byte {pos}")
        key = last[:shared] + block[pos:pos + non_shared]
        pos += non_shared
        entries.append((key, block[pos:pos + value_len]))
        pos += value_len
        last = key
    return entries


def read_table(table: bytes, where: str = "table") -> list[tuple[bytes, bytes]]:
    """All (key, value) entries of a LevelDB table, checking every block's CRC-32C.

    Raises:
        TensorFlowFileError: not a table (bad magic), truncated, corrupt or compressed blocks.
    """
    if len(table) < FOOTER_BYTES:
        raise TensorFlowFileError(f"{where}: {len(table)} bytes is too short for a checkpoint "
                                  "index (the footer alone is 48 bytes)")
    footer = table[-FOOTER_BYTES:]
    lo, hi = struct.unpack_from("<II", footer, 40)
    if (hi << 32) | lo != TABLE_MAGIC:
        raise TensorFlowFileError(f"{where}: not a TensorFlow checkpoint index (wrong magic "
                                  "number); give the <name>.ckpt.index file of a V2 checkpoint")
    _, pos = _read_varint(footer, 0, where)
    _, pos = _read_varint(footer, pos, where)
    index_offset, pos = _read_varint(footer, pos, where)
    index_size, pos = _read_varint(footer, pos, where)
    entries = []
    for _, handle in _block_entries(_read_block(table, (index_offset, index_size), where),
                                    where):
        offset, p = _read_varint(handle, 0, where)
        size, _ = _read_varint(handle, p, where)
        entries += _block_entries(_read_block(table, (offset, size), where), where)
    return entries


# --------------------------------------------------------------------------------------------
# bundle

@dataclass(frozen=True)
class BundleEntry:
    """One tensor of a checkpoint index.

    Attributes:
        name: the tensor (variable) name, e.g. ``main_level/agent/main/online/...``.
        dtype: numpy dtype (None if the DataType has no raw-bytes numpy form here).
        dtype_name: TensorFlow's DataType name, e.g. ``DT_FLOAT``.
        shape: dimensions (``()`` for a scalar).
        offset, size: byte range in the data file.
        crc32c: masked CRC-32C of those bytes, as stored.
        sliced: the tensor is stored as partitions (not supported by :func:`read_bundle`).
    """

    name: str
    dtype: np.dtype | None
    dtype_name: str
    shape: tuple[int, ...]
    offset: int
    size: int
    crc32c: int
    shard_id: int = 0
    sliced: bool = False


def bundle_paths(prefix: str | os.PathLike) -> tuple[Path, Path]:
    """(index path, data path) of checkpoint ``prefix`` (e.g. ``model/3_Step-4096.ckpt``)."""
    prefix = str(prefix)
    return Path(prefix + TF_INDEX_SUFFIX), Path(prefix + TF_DATA_SUFFIX)


def write_bundle(prefix: str | os.PathLike, tensors: Mapping[str, np.ndarray]) -> list[Path]:
    """Write ``tensors`` as a TensorFlow V2 checkpoint ``prefix`` (index + data files).

    The files are byte-identical to those ``tf.compat.v1.train.Saver(...).save`` writes for the
    same tensors (names sorted bytewise, raw little-endian bytes, masked CRC-32C per tensor).

    Args:
        prefix: the checkpoint prefix; ``prefix.index`` and ``prefix.data-00000-of-00001`` are
            written (an existing file is replaced).
        tensors: name -> array; float32, float64, int32, int64, uint8, int8, int16, uint16,
            float16 or bool; scalars keep shape ``()``.

    Returns:
        [index path, data path].

    Raises:
        TensorFlowFileError: an empty name or an unsupported dtype.
    """
    index_path, data_path = bundle_paths(prefix)
    by_dtype = {dt: num for num, dt in tf_proto.NUMPY_DTYPES.items()}
    entries = []
    offset = 0
    with open(data_path, "wb") as data_file:
        for name in sorted(tensors, key=lambda s: s.encode()):
            if not name:
                raise TensorFlowFileError("write_bundle: empty tensor name (the empty key holds "
                                          "the bundle header)")
            array = np.asarray(tensors[name])
            dtype = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
            if dtype not in by_dtype:
                raise TensorFlowFileError(f"write_bundle: {name}: dtype {array.dtype} is not "
                                          "supported; convert it to float32")
            raw = array.astype(dtype, copy=False).tobytes(order="C")  # 0-d stays 0-d
            data_file.write(raw)
            entry = tf_proto.BundleEntryProto(dtype=by_dtype[dtype], offset=offset,
                                              size=len(raw), crc32c=mask_crc(crc32c(raw)))
            tf_proto.shape_proto(array.shape, entry.shape)
            entries.append((name.encode(), entry.SerializeToString(deterministic=True)))
            offset += len(raw)
    header = tf_proto.BundleHeaderProto(num_shards=1)
    header.version.producer = BUNDLE_VERSION
    items = [(b"", header.SerializeToString(deterministic=True)), *entries]
    index_path.write_bytes(build_table(items))
    return [index_path, data_path]


def _check_size(path: Path, limit: int, what: str) -> int:
    if path.is_symlink():
        raise TensorFlowFileError(f"{path}: is a symbolic link; links are not followed: replace "
                                  "it with the file itself")
    if not path.is_file():
        raise TensorFlowFileError(f"{path}: missing: a V2 checkpoint needs {what} next to its "
                                  ".index file (copy all <name>.ckpt.* files together)")
    size = path.stat().st_size
    if size > limit:
        raise TensorFlowFileError(f"{path}: {size} bytes is over the {limit}-byte limit for "
                                  f"{what}; this is not a DeepRacer checkpoint (or raise the "
                                  "limit)")
    return size


def read_bundle_index(prefix: str | os.PathLike,
                      max_index_bytes: int = MAX_INDEX_BYTES) -> dict[str, BundleEntry]:
    """The entries of checkpoint ``prefix``'s index (no tensor data is read).

    Raises:
        TensorFlowFileError: missing/oversized index file, not a V2 index, corrupt, several shards.
    """
    index_path, _ = bundle_paths(prefix)
    _check_size(index_path, max_index_bytes, "the index file")
    where = str(index_path)
    raw = read_table(index_path.read_bytes(), where)
    if not raw or raw[0][0] != b"":
        raise TensorFlowFileError(f"{where}: no bundle header entry: not a TensorFlow V2 "
                                  "checkpoint index")
    header = tf_proto.BundleHeaderProto()
    try:
        header.ParseFromString(raw[0][1])
    except Exception as exc:  # protobuf's DecodeError
        raise TensorFlowFileError(f"{where}: bundle header does not parse ({exc})") from None
    if header.num_shards != 1:
        raise TensorFlowFileError(f"{where}: the checkpoint has {header.num_shards} data shards; "
                                  "only single-shard checkpoints (what DeepRacer writes) are "
                                  "supported")
    if header.endianness != 0:
        raise TensorFlowFileError(f"{where}: big-endian checkpoint; only little-endian is "
                                  "supported")
    if header.version.min_consumer > BUNDLE_VERSION:
        raise TensorFlowFileError(f"{where}: needs a bundle reader of version "
                                  f"{header.version.min_consumer}; this one is {BUNDLE_VERSION}")
    out: dict[str, BundleEntry] = {}
    for key, value in raw[1:]:
        name = key.decode("utf-8", errors="replace")
        entry = tf_proto.BundleEntryProto()
        try:
            entry.ParseFromString(value)
        except Exception as exc:
            raise TensorFlowFileError(f"{where}: entry {name!r} does not parse ({exc})") from None
        try:
            shape = tf_proto.shape_of(entry.shape)
        except TensorFlowFileError:
            shape = (-1,)
        out[name] = BundleEntry(
            name=name, dtype=tf_proto.NUMPY_DTYPES.get(entry.dtype),
            dtype_name=tf_proto.DATA_TYPE_NAMES.get(entry.dtype, f"DataType {entry.dtype}"),
            shape=shape, offset=int(entry.offset), size=int(entry.size),
            crc32c=int(entry.crc32c), shard_id=int(entry.shard_id),
            sliced=len(entry.slices) > 0)
    return out


def read_bundle(prefix: str | os.PathLike, names: Iterable[str] | None = None,
                max_index_bytes: int = MAX_INDEX_BYTES,
                max_data_bytes: int = MAX_DATA_BYTES,
                verify_crc: bool = True) -> dict[str, np.ndarray]:
    """Read tensors of checkpoint ``prefix`` (TensorFlow V2 format) into numpy arrays.

    Every size is checked against the files before anything is read: the data file's size
    against ``max_data_bytes``, each entry's byte range against the data file, each entry's
    size against its dtype and shape.

    Args:
        prefix: checkpoint prefix (``.../3_Step-4096.ckpt``).
        names: tensors to read (default: all).
        max_index_bytes, max_data_bytes: size limits of the two files.
        verify_crc: check each tensor's CRC-32C (as TensorFlow's reader does).

    Returns:
        name -> array (writable, native byte order), in the order of ``names`` or the index.

    Raises:
        TensorFlowFileError: a missing/oversized/corrupt file, a missing name, an unsupported dtype,
            a sliced tensor, or a size that does not match the shape (message: file, field, fix).
    """
    entries = read_bundle_index(prefix, max_index_bytes)
    index_path, data_path = bundle_paths(prefix)
    data_size = _check_size(data_path, max_data_bytes, "the data file")
    wanted = list(entries) if names is None else list(names)
    missing = [n for n in wanted if n not in entries]
    if missing:
        raise TensorFlowFileError(f"{index_path}: no tensor {missing[0]!r}"
                          + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                          + "; the checkpoint does not hold this network's variables")
    for name in wanted:
        e = entries[name]
        where = f"{index_path}: tensor {name!r}"
        if e.sliced:
            raise TensorFlowFileError(f"{where} is stored in slices (a partitioned variable); not "
                                      "supported")
        if e.shard_id != 0:
            raise TensorFlowFileError(f"{where} is in shard {e.shard_id}; only one shard is "
                                      "supported")
        if e.dtype is None:
            raise TensorFlowFileError(f"{where} has dtype {e.dtype_name}, which is not read here")
        if any(d < 0 for d in e.shape):
            raise TensorFlowFileError(f"{where} has an unknown dimension in shape {list(e.shape)}")
        count = int(np.prod(e.shape, dtype=np.int64)) if e.shape else 1
        if count * e.dtype.itemsize != e.size:
            raise TensorFlowFileError(f"{where}: size {e.size} bytes does not match shape "
                                      f"{list(e.shape)} of {e.dtype_name} "
                                      f"({count * e.dtype.itemsize} bytes): corrupt index")
        if e.offset < 0 or e.offset + e.size > data_size:
            raise TensorFlowFileError(f"{where}: bytes {e.offset}..{e.offset + e.size} lie "
                                      f"outside {data_path} ({data_size} bytes): the data file is "
                                      "truncated or belongs to another checkpoint")
    out = {}
    with open(data_path, "rb") as fh:
        for name in wanted:
            e = entries[name]
            fh.seek(e.offset)
            raw = bytearray(fh.read(e.size))
            if verify_crc and mask_crc(crc32c(raw)) != e.crc32c:
                raise TensorFlowFileError(f"{data_path}: tensor {name!r} fails its CRC-32C check: "
                                          "the data file is corrupt or belongs to another "
                                          "checkpoint")
            dtype = e.dtype
            assert dtype is not None  # checked above
            array = np.frombuffer(raw, dtype=dtype).reshape(e.shape)
            out[name] = array.astype(dtype.newbyteorder("="), copy=False)
    return out
