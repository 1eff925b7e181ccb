"""A checkpoint zip as a file: its members read within size limits, and what its ``data``
member holds.

stable-baselines3 saves a model (``model.save``) as a zip of ``policy.pth`` and
``policy.optimizer.pth`` (PyTorch's own zip format each: the tensors), ``data`` (a JSON document
whose values JSON cannot hold are pickled: base64 strings under a ``":serialized:"`` key),
``pytorch_variables.pth``, ``_stable_baselines3_version`` and ``system_info.txt``. A ``.pt``
state dict (``torch.save``) is a zip too.

Nothing is inflated before its size is known: :func:`check_zip_sizes` reads each member's size
from the zip's central directory and refuses a member or a total above
:data:`MAX_CHECKPOINT_BYTES`, or a large member that inflates more than
:data:`MAX_COMPRESSION_RATIO` times (a zip bomb), and :func:`read_member` then reads no more than
the limit whatever the directory claims. Every refusal raises
:class:`~deepracer_sim.errors.CheckpointError` naming the file, the member and the sizes.

:func:`pickled_entries` lists the ``data`` entries stable-baselines3's ``PPO.load`` would unpickle
(``export --check`` warns about them; deepracer-sim never reads them, see
:mod:`deepracer_sim.training.policy`).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from pathlib import Path

from deepracer_sim.errors import CheckpointError

#: Largest a checkpoint may inflate to, every member together, bytes. The largest models a
#: racer brings are DeepRacer's camera networks: a DEEP_CONVOLUTIONAL_NETWORK checkpoint is
#: ~230 MB, a DEEP_CONVOLUTIONAL_NETWORK_SHALLOW one ~47 MB, and this simulator's MLP policies
#: are under 1 MB; 1 GiB (DeepRacer-on-AWS's import limit for a whole model folder) leaves four
#: times the largest, and stops a crafted zip long before it fills the memory.
MAX_CHECKPOINT_BYTES = 1024**3
#: Largest inflated-to-compressed size ratio of a member bigger than :data:`RATIO_FLOOR_BYTES`.
#: Trained weights are noise-like floats that deflate by a few percent (ratios near 1; the
#: zeros of a fresh optimizer state are small), a zip bomb inflates a thousand times.
MAX_COMPRESSION_RATIO = 100
#: Members up to this size are not held to :data:`MAX_COMPRESSION_RATIO` (small JSON and text
#: members compress well and cannot fill the memory), bytes.
RATIO_FLOOR_BYTES = 1024**2
#: The stable-baselines3 member whose non-JSON values are pickled.
DATA_MEMBER = "data"
#: The key stable-baselines3 stores a pickled value under (base64 of the pickle).
SERIALIZED_KEY = ":serialized:"
#: Largest ``data`` member :func:`pickled_entries` parses (ours are ~10 KB), bytes.
MAX_DATA_BYTES = 16 * 1024**2


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def check_zip_sizes(zf: zipfile.ZipFile, source: str,
                    limit: int | None = None) -> None:
    """Refuse a zip whose members, by its central directory, inflate beyond the limits
    (nothing is inflated here).

    Args:
        zf: the open zip; source: the file, for messages.
        limit: the largest total (default :data:`MAX_CHECKPOINT_BYTES`).

    Raises:
        CheckpointError: a member or the total above ``limit``, or a member above
            :data:`RATIO_FLOOR_BYTES` that inflates more than :data:`MAX_COMPRESSION_RATIO`
            times; the message names the member and its sizes.
    """
    limit = MAX_CHECKPOINT_BYTES if limit is None else limit
    total = 0
    for info in zf.infolist():
        size, packed = info.file_size, max(info.compress_size, 1)
        if size > limit:
            raise CheckpointError(
                f"{source}: member {info.filename!r} inflates to {_mib(size)}, more than the "
                f"{_mib(limit)} a checkpoint may hold (DeepRacer's largest camera model is "
                "~230 MB); refusing to read it. Fix: use a checkpoint written by train.py or "
                "export (a crafted zip can fill the memory)")
        if size > RATIO_FLOOR_BYTES and size > MAX_COMPRESSION_RATIO * packed:
            raise CheckpointError(
                f"{source}: member {info.filename!r} inflates {size / packed:,.0f} times "
                f"({_mib(packed)} to {_mib(size)}; trained weights hardly compress): a zip "
                "bomb, refusing to read it. Fix: use a checkpoint written by train.py or export")
        total += size
        if total > limit:
            raise CheckpointError(
                f"{source}: the members inflate to more than {_mib(limit)} together, more than "
                "a checkpoint may hold; refusing to read them. Fix: use a checkpoint written "
                "by train.py or export")


def read_member(zf: zipfile.ZipFile, name: str, source: str, limit: int | None = None) -> bytes:
    """The bytes of member ``name``, reading no more than ``limit`` whatever the central
    directory claims (call :func:`check_zip_sizes` first).

    Raises:
        CheckpointError: the member inflates beyond ``limit`` (default
            :data:`MAX_CHECKPOINT_BYTES`), or its data is damaged (CRC, truncated).
    """
    limit = MAX_CHECKPOINT_BYTES if limit is None else limit
    try:
        with zf.open(name) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise CheckpointError(f"{source}: member {name!r} is damaged ({exc}); the file was cut "
                              "short or changed. Fix: use another checkpoint") from None
    if len(data) > limit:
        raise CheckpointError(f"{source}: member {name!r} inflates to more than {_mib(limit)} "
                              "(more than its zip directory says); refusing to read it. Fix: "
                              "use a checkpoint written by train.py or export")
    return data


def check_torch_file(data: bytes | Path, source: str) -> None:
    """Refuse a PyTorch file (``torch.save``'s zip format) whose records inflate beyond the
    limits, before ``torch.load`` reads it; a file in the legacy (not zip) format holds its
    tensors uncompressed and is left to ``torch.load``.

    Raises:
        CheckpointError: as :func:`check_zip_sizes`.
    """
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    if not zipfile.is_zipfile(stream):
        return
    if isinstance(stream, io.BytesIO):
        stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as zf:
            check_zip_sizes(zf, source)
    except CheckpointError:  # a FileNotFoundError too: not to be caught below
        raise
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckpointError(f"{source}: a damaged PyTorch file ({exc}). Fix: use another "
                              "checkpoint") from None


def pickled_entries(path: str | os.PathLike) -> list[str]:
    """The ``data`` entries of a stable-baselines3 checkpoint zip that hold pickled objects
    (stable-baselines3's ``PPO.load`` unpickles them; they are listed, never unpickled).

    Returns:
        the entry names, sorted; empty when there is no ``data`` member or it pickles nothing.

    Raises:
        CheckpointError: not a zip, sizes beyond the limits, or a ``data`` member that is not
            JSON.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip_sizes(zf, str(path))
            if DATA_MEMBER not in zf.namelist():
                return []
            raw = read_member(zf, DATA_MEMBER, str(path), MAX_DATA_BYTES)
    except CheckpointError:  # a FileNotFoundError too: not to be caught below
        raise
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"{path}: not a zip file ({exc})") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{path}: its {DATA_MEMBER!r} member is not JSON") from None
    if not isinstance(doc, dict):
        return []
    return sorted(str(k) for k, v in doc.items() if isinstance(v, dict) and SERIALIZED_KEY in v)
