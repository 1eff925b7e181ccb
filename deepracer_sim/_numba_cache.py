"""Where numba keeps the compiled kernels (``cache=True``).

numba invalidates a cached function when its own source file changes, but not when a jitted
function it calls from another module changes, so an updated ``car.py`` could keep running the old
car inside a cached ``sim.step_cars``. The cache folder is therefore keyed by a hash of every
kernel module: ``$NUMBA_CACHE_DIR`` (or ``$XDG_CACHE_HOME``/``~/.cache``) +
``/deepracer-sim/<hash>``. This module must be imported before any kernel module.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from numba.core import config

KERNEL_MODULES = ("constants.py", "geometry.py", "car.py", "observation.py", "track.py",
                  "sim.py")


def kernel_cache_dir() -> Path:
    """The cache folder for the current kernel sources."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in KERNEL_MODULES:
        digest.update((here / name).read_bytes())
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "deepracer-sim")
    return Path(base) / digest.hexdigest()[:16]


config.CACHE_DIR = str(kernel_cache_dir())
