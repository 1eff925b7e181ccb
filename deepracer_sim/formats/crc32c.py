"""CRC-32C (Castagnoli, RFC 3720), the checksum of TensorFlow's checkpoint files, and LevelDB's
masking of it.

``google-crc32c`` (an optional C extension, ``pip install google-crc32c``) computes it when
installed; otherwise the numpy implementation here gives the same values, 7-9 times slower
(about 0.9 s to write or read a SHALLOW checkpoint; docs/export.md has the figures). Both are
checked against RFC 3720's vectors by the tests.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

import numpy as np

#: The reflected CRC-32C polynomial.
POLYNOMIAL = 0x82F63B78
#: LevelDB ``crc32c::Mask``'s constant (leveldb/util/crc32c.h, kept by TensorFlow).
MASK_DELTA = 0xA282EAD8
#: Below this many bytes the numpy implementation feeds bytes one by one.
_PARALLEL_MIN_BYTES = 4096


def _crc_tables() -> np.ndarray:
    """Slicing-by-4 tables of :data:`POLYNOMIAL`; row 0 is the usual byte table."""
    tables = np.zeros((4, 256), dtype=np.uint32)
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ POLYNOMIAL if c & 1 else c >> 1
        tables[0, n] = c
    for k in range(1, 4):
        prev = tables[k - 1]
        tables[k] = (prev >> 8) ^ tables[0][prev & 0xFF]
    return tables


_TABLES = _crc_tables()
_TABLE_LIST = [int(v) for v in _TABLES[0]]


def _gf2_apply(cols: tuple[int, ...], v: int) -> int:
    out = 0
    i = 0
    while v:
        if v & 1:
            out ^= cols[i]
        v >>= 1
        i += 1
    return out


@functools.lru_cache(maxsize=64)
def _zeros_operator(length: int) -> list[np.ndarray]:
    """Byte-sliced tables of the linear map "feed ``length`` zero bytes" on the CRC register."""
    one = tuple((_TABLE_LIST[(1 << i) & 0xFF] ^ ((1 << i) >> 8)) for i in range(32))
    result = tuple(1 << i for i in range(32))  # identity
    power = one
    n = length
    while n:
        if n & 1:
            result = tuple(_gf2_apply(power, c) for c in result)
        n >>= 1
        if n:
            power = tuple(_gf2_apply(power, c) for c in power)
    tables = []
    for byte in range(4):
        t = np.zeros(256, dtype=np.uint32)
        for v in range(256):
            t[v] = _gf2_apply(result, v << (8 * byte))
        tables.append(t)
    return tables


def crc_register(reg: int, data: bytes | memoryview) -> int:
    """Feed ``data`` into the CRC register ``reg`` byte by byte (the definition; slow)."""
    table = _TABLE_LIST
    for b in bytes(data):
        reg = table[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg


def crc32c_numpy(data: bytes | bytearray | memoryview) -> int:
    """CRC-32C with numpy: equal chunks are fed in parallel, 4 bytes a step (slicing-by-4),
    then joined with the "feed zeros" operator; the tail is fed byte by byte."""
    buf = np.frombuffer(data, dtype=np.uint8)
    n = buf.size
    if n < _PARALLEL_MIN_BYTES:
        return crc_register(0xFFFFFFFF, buf.tobytes()) ^ 0xFFFFFFFF
    words = max(64, int(np.sqrt(n / 4)))  # 4-byte words per chunk
    length = 4 * words
    chunks = n // length
    cols = np.ascontiguousarray(buf[:chunks * length].view("<u4").reshape(chunks, words).T)
    t0, t1, t2, t3 = _TABLES
    regs = np.zeros(chunks, dtype=np.uint32)
    for j in range(words):
        regs ^= cols[j]
        regs = t3[regs & 0xFF] ^ t2[(regs >> 8) & 0xFF] ^ t1[(regs >> 16) & 0xFF] ^ t0[regs >> 24]
    z0, z1, z2, z3 = _zeros_operator(length)
    reg = 0xFFFFFFFF
    for c in regs.tolist():
        reg = int(z0[reg & 0xFF] ^ z1[(reg >> 8) & 0xFF] ^ z2[(reg >> 16) & 0xFF]
                  ^ z3[reg >> 24]) ^ c
    reg = crc_register(reg, buf[chunks * length:].tobytes())
    return reg ^ 0xFFFFFFFF


def _c_backend() -> Callable[[bytes | bytearray | memoryview], int] | None:
    """``google_crc32c``'s C implementation, or None when it is not installed."""
    try:
        module = importlib.import_module("google_crc32c")
    except ImportError:
        return None
    if getattr(module, "implementation", None) != "c":
        return None
    return lambda data: int(module.value(bytes(data)))


_C_CRC32C = _c_backend()
#: Which implementation :func:`crc32c` uses: "google-crc32c" or "numpy".
BACKEND = "numpy" if _C_CRC32C is None else "google-crc32c"


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC-32C of ``data`` as an unsigned 32-bit int."""
    if _C_CRC32C is not None:
        return _C_CRC32C(data)
    return crc32c_numpy(data)


def mask_crc(crc: int) -> int:
    """LevelDB/TensorFlow ``crc32c::Mask``: rotate right 15 bits and add 0xa282ead8."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + MASK_DELTA) & 0xFFFFFFFF


def unmask_crc(masked: int) -> int:
    """Inverse of :func:`mask_crc`."""
    rot = (masked - MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF
