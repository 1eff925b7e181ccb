"""Where numba keeps the compiled kernels (``cache=True``).

numba invalidates a cached function when its own source file changes, but not when a jitted
function it calls from another module changes, so an updated ``sim/car.py`` could keep running the
old car inside a cached ``sim.kernel.step_cars``. The cache folder is therefore keyed by a hash of
every module of the package that uses numba and of every package module those import (numba
compiles imported constants and functions into the kernel), found by reading the sources so that
a new or moved kernel module is included without a list to keep up to date: ``$NUMBA_CACHE_DIR`` (or
``$XDG_CACHE_HOME``/``~/.cache``) + ``/deepracer-sim/<hash>``. The package imports this module
before any kernel module.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from numba.core import config

PACKAGE_DIR = Path(__file__).resolve().parent


_NUMBA = re.compile(rb"^(?:from numba|import numba)", re.M)
_PACKAGE_IMPORT = re.compile(rb"^from (deepracer_sim(?:\.\w+)*) import (\([^)]*\)|[^\n]*)", re.M)


def _module_files(package_dir: Path, module: str, names: str) -> list[Path]:
    """The files of ``from module import names`` (a name may itself be a submodule)."""
    rel = Path(*module.split(".")[1:])
    out = []
    for candidate in (package_dir / rel).with_suffix(".py"), package_dir / rel / "__init__.py":
        if candidate.is_file():
            out.append(candidate)
    for name in re.findall(r"\w+", names):
        sub = package_dir / rel / f"{name}.py"
        if sub.is_file():
            out.append(sub)
    return out


def kernel_sources(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Every ``.py`` file under ``package_dir`` that imports numba, and every package module
    those import (transitively), sorted by path."""
    todo = [p for p in package_dir.rglob("*.py") if _NUMBA.search(p.read_bytes())]
    found: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.add(path)
        for module, names in _PACKAGE_IMPORT.findall(path.read_bytes()):
            todo.extend(_module_files(package_dir, module.decode(), names.decode()))
    return sorted(found)


def kernel_cache_dir(package_dir: Path = PACKAGE_DIR) -> Path:
    """The cache folder for the current kernel sources (see the module docstring)."""
    digest = hashlib.sha256()
    for path in kernel_sources(package_dir):
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "deepracer-sim")
    return Path(base) / digest.hexdigest()[:16]


config.CACHE_DIR = str(kernel_cache_dir())  # type: ignore[attr-defined]  # set at run time
