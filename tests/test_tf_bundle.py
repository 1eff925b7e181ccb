"""The TensorFlow V2 checkpoint format (tensor bundle) and CRC-32C, written and read without
TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from deepracer_sim.errors import TensorFlowFileError
from deepracer_sim.formats import crc32c, tf_bundle, tf_proto

# tf.compat.v1.train.Saver(var_list=...).save output of TensorFlow 2.21.0 for GOLDEN_TENSORS,
# hex-dumped; the writer must reproduce it byte for byte (test_tf_verification.py also compares
# whole DeepRacer checkpoints with TensorFlow's Saver where TensorFlow is installed).
GOLDEN_TENSORS = {
    "net/b": np.array([1.5, -2.0, 3.25], np.float32),
    "net/a/kernel": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
    "net/gradients_from_head_0-0_rescalers": np.float32(1.0),
}
GOLDEN_INDEX = bytes.fromhex(
    "00000608011a020801000c136e65742f612f6b65726e656c0801120812020802120208032818358fb22f0e04"
    "01116208011204120208032018280c3522931b9004210d6772616469656e74735f66726f6d5f686561645f30"
    "2d305f72657363616c65727308011200202428043581a5da2b000000000100000000abd5fe2c000000000100"
    "000000c0f2a1b00001026f0079000000000100000000755231db7e088b010e00000000000000000000000000"
    "0000000000000000000000000000000000000000000057fb808b247547db")
GOLDEN_DATA = bytes.fromhex(
    "000000002549123e2549923eb76ddb3e2549123f6edb363f0000c03f000000c0000050400000803f")


def test_crc32c_known_values():
    # RFC 3720 B.4 / the usual check value of CRC-32C
    assert crc32c.crc32c(b"123456789") == 0xE3069283
    assert crc32c.crc32c(b"") == 0
    assert crc32c.crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c.crc32c(bytes([0xFF] * 32)) == 0x62A8AB43


@pytest.mark.parametrize("n", [0, 1, 4095, 4096, 70_001, 1_000_003])
def test_numpy_crc32c_equals_bytewise_definition(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    want = crc32c.crc_register(0xFFFFFFFF, data) ^ 0xFFFFFFFF if n <= 70_001 else None
    got = crc32c.crc32c_numpy(data)
    if want is not None:
        assert got == want
    assert got == crc32c.crc32c(data)  # the C backend when installed


def test_mask_roundtrip_and_leveldb_value():
    # leveldb crc32c_test.cc: Mask(crc) != crc, Unmask(Mask(crc)) == crc
    crc = crc32c.crc32c(b"foo")
    assert crc32c.mask_crc(crc) != crc
    assert crc32c.unmask_crc(crc32c.mask_crc(crc)) == crc
    assert crc32c.mask_crc(0) == 0xA282EAD8


def test_write_bundle_is_byte_identical_to_tensorflow(tmp_path):
    index, data = tf_bundle.write_bundle(tmp_path / "m.ckpt", GOLDEN_TENSORS)
    assert data.read_bytes() == GOLDEN_DATA
    assert index.read_bytes() == GOLDEN_INDEX


def test_read_tensorflow_written_bundle(tmp_path):
    (tmp_path / "m.ckpt.index").write_bytes(GOLDEN_INDEX)
    (tmp_path / "m.ckpt.data-00000-of-00001").write_bytes(GOLDEN_DATA)
    entries = tf_bundle.read_bundle_index(tmp_path / "m.ckpt")
    assert list(entries) == sorted(GOLDEN_TENSORS)
    assert entries["net/gradients_from_head_0-0_rescalers"].shape == ()
    # sorted order: net/a/kernel (24 B) at 0, net/b (12 B) at 24, the scalar at 36
    assert [(e.offset, e.size) for e in entries.values()] == [(0, 24), (24, 12), (36, 4)]
    arrays = tf_bundle.read_bundle(tmp_path / "m.ckpt")
    for name, value in GOLDEN_TENSORS.items():
        assert arrays[name].shape == np.shape(value)
        assert np.array_equal(arrays[name], value)
        assert arrays[name].flags.writeable


def test_roundtrip_dtypes_and_scalars(tmp_path):
    tensors = {"f64": np.linspace(0, 1, 7), "i32": np.arange(-3, 3, dtype=np.int32),
               "i64": np.array([2**40], dtype=np.int64), "u8": np.arange(5, dtype=np.uint8),
               "b": np.array([True, False]), "h": np.array([0.5, 2.0], np.float16),
               "scalar": np.array(3.0, np.float32), "empty": np.zeros((0, 4), np.float32)}
    tf_bundle.write_bundle(tmp_path / "x.ckpt", tensors)
    back = tf_bundle.read_bundle(tmp_path / "x.ckpt")
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        assert np.array_equal(back[k], v)


def test_table_with_many_blocks_roundtrips():
    # 40 values of 20 KiB: the 256 KiB block size forces several data blocks and index keys
    # from FindShortestSeparator
    items = [(f"key/{i:03d}".encode(), bytes([i]) * 20_000) for i in range(40)]
    table = tf_bundle.build_table(items)
    assert tf_bundle.read_table(table) == items


def test_separator_and_successor():
    assert tf_bundle._shortest_separator(b"abc1", b"abd") == b"abc1"  # c+1 == d: unchanged
    assert tf_bundle._shortest_separator(b"abc1", b"abz") == b"abd"
    assert tf_bundle._short_successor(b"main_level/x") == b"n"
    assert tf_bundle._short_successor(b"\xff\xffa") == b"\xff\xffb"


def test_unsorted_keys_rejected():
    with pytest.raises(TensorFlowFileError, match="must increase"):
        tf_bundle.build_table([(b"b", b""), (b"a", b"")])


def _golden(tmp_path):
    tf_bundle.write_bundle(tmp_path / "m.ckpt", GOLDEN_TENSORS)
    return tmp_path / "m.ckpt"


def test_missing_data_file(tmp_path):
    prefix = _golden(tmp_path)
    (tmp_path / "m.ckpt.data-00000-of-00001").unlink()
    with pytest.raises(TensorFlowFileError, match=r"data-00000-of-00001: missing"):
        tf_bundle.read_bundle(prefix)


def test_truncated_data_file_is_caught_before_reading(tmp_path):
    prefix = _golden(tmp_path)
    data = tmp_path / "m.ckpt.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:30])
    with pytest.raises(TensorFlowFileError, match=r"net/b.*outside.*truncated"):
        tf_bundle.read_bundle(prefix)


def test_corrupt_tensor_fails_crc(tmp_path):
    prefix = _golden(tmp_path)
    data = tmp_path / "m.ckpt.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[25] ^= 1  # inside net/b
    data.write_bytes(bytes(raw))
    with pytest.raises(TensorFlowFileError, match=r"net/b.*CRC-32C"):
        tf_bundle.read_bundle(prefix)
    assert tf_bundle.read_bundle(prefix, ["net/a/kernel"])["net/a/kernel"].shape == (2, 3)


def test_corrupt_index_block_fails_crc(tmp_path):
    prefix = _golden(tmp_path)
    index = tmp_path / "m.ckpt.index"
    raw = bytearray(index.read_bytes())
    raw[10] ^= 0x40
    index.write_bytes(bytes(raw))
    with pytest.raises(TensorFlowFileError, match="CRC-32C"):
        tf_bundle.read_bundle_index(prefix)


def test_not_an_index(tmp_path):
    (tmp_path / "m.ckpt.index").write_bytes(b"x" * 100)
    with pytest.raises(TensorFlowFileError, match="wrong magic"):
        tf_bundle.read_bundle_index(tmp_path / "m.ckpt")


def test_size_limits_checked_first(tmp_path):
    prefix = _golden(tmp_path)
    with pytest.raises(TensorFlowFileError, match="over the 100-byte limit"):
        tf_bundle.read_bundle_index(prefix, max_index_bytes=100)
    with pytest.raises(TensorFlowFileError, match="over the 39-byte limit"):
        tf_bundle.read_bundle(prefix, max_data_bytes=39)


def test_missing_name(tmp_path):
    with pytest.raises(TensorFlowFileError, match="no tensor 'net/c'"):
        tf_bundle.read_bundle(_golden(tmp_path), ["net/c"])


def test_entry_size_must_match_shape(tmp_path):
    # an index whose entry claims 3 floats in 8 bytes
    entry = tf_proto.BundleEntryProto(dtype=tf_proto.DT_FLOAT, size=8)
    tf_proto.shape_proto((3,), entry.shape)
    header = tf_proto.BundleHeaderProto(num_shards=1)
    header.version.producer = 1
    (tmp_path / "m.ckpt.index").write_bytes(tf_bundle.build_table(
        [(b"", header.SerializeToString()), (b"w", entry.SerializeToString())]))
    (tmp_path / "m.ckpt.data-00000-of-00001").write_bytes(bytes(12))
    with pytest.raises(TensorFlowFileError, match="size 8 bytes does not match shape"):
        tf_bundle.read_bundle(tmp_path / "m.ckpt")
