"""Writing files so that a reader never sees a half-written one."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write_text(path: str | os.PathLike, text: str, durable: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so
    that a reader sees the old file or the new one, never a part.

    ``durable``: also flush the file and the folder to the disk (``fsync``) before returning,
    so that the new file survives a power cut or a killed machine, not only a killed process
    (the sweep's completion markers).
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as fh:
        fh.write(text)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    if durable:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
