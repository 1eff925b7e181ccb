"""Writing files so that a reader never sees a half-written one, and a crash never leaves one.

Every file a run or an export writes goes through this module:

* :func:`atomic_write_bytes` / :func:`atomic_write_text`: the data goes to a temporary file in
  the same folder (``.<name>.<random>.tmp``), is flushed and ``fsync``-ed, and is renamed over
  the final name (``os.replace``, atomic on POSIX and Windows), then the folder is ``fsync``-ed
  so the rename itself survives a power cut. A reader sees the old file or the new one, never a
  part; a process killed at any point leaves the old file (and at worst a stray ``.tmp``).
* :func:`atomic_copy`: a byte copy written the same way;
* :func:`atomic_path`: for a writer that only takes a path (``torch.onnx.export``): it writes
  a temporary path, which is then ``fsync``-ed and renamed the same way.
* :func:`append_text`: for the append-only text logs (``logs/training.log``,
  ``metrics/iterations.jsonl``): whole lines in one ``write`` call, then ``fsync``. A killed
  process leaves the file as it was or with the lines appended (a power cut can leave a part
  of the last line; ``train --resume`` cuts the logs back to the last checkpoint's sizes).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

#: Temporary files are ``.<name>.<TMP_MARK><hex>.tmp`` beside the final file.
TMP_MARK = "part-"
TMP_SUFFIX = ".tmp"


def temporary_name(path: Path) -> Path:
    """A fresh temporary name beside ``path`` (hidden, unique per call)."""
    return path.with_name(f".{path.name}.{TMP_MARK}{secrets.token_hex(4)}{TMP_SUFFIX}")


def is_temporary(path: str | os.PathLike) -> bool:
    """Whether ``path`` is one of :func:`temporary_name`'s names."""
    name = Path(path).name
    return name.startswith(".") and f".{TMP_MARK}" in name and name.endswith(TMP_SUFFIX)


def fsync_folder(folder: str | os.PathLike) -> None:
    """``fsync`` a folder, so that renames and new files in it are on disk (a no-op where
    folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (module docstring): temporary file in the same
    folder, ``fsync``, rename, ``fsync`` of the folder.

    Raises:
        OSError: the folder is missing or not writable, the disk is full, ... (the temporary
            file is removed and ``path`` is untouched).
    """
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` (encoded, newlines kept as given) to ``path`` atomically (see
    :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Copy the bytes of ``src`` to ``dst`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(dst, Path(src).read_bytes())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; once the block ends, it is
    ``fsync``-ed and renamed to ``path`` (on an exception it is removed and ``path`` is
    untouched)."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_folder(path.parent)


def append_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Append ``text`` (whole lines) to ``path`` in one ``write`` call, then ``fsync``
    (module docstring); creates the file if missing."""
    if not text:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        _write_all(fd, text.encode(encoding))
        os.fsync(fd)
    finally:
        os.close(fd)
