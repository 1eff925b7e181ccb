"""Finding a track by name: the project's ``tracks/``, ``DEEPRACER_TRACKS_PATH``, the download
cache; loading it (cached per file).

Name lookup (``--track NAME``): ``NAME`` or ``NAME.npy`` in the project's ``tracks/`` folder,
then in each folder listed in the ``DEEPRACER_TRACKS_PATH`` environment variable
(``os.pathsep``-separated), then in the user cache that ``deepracer-sim tracks get`` downloads
official tracks into. A path (anything containing a path separator or ending in ``.npy``) is used
as is.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from deepracer_sim.errors import TrackError
from deepracer_sim.track.model import Track, validate_waypoints

#: The project's own tracks (``tracks/`` at the repository root).
PROJECT_TRACKS_DIR = Path(__file__).resolve().parents[2] / "tracks"


#: The track ``gym.make("DeepRacer-v0")`` and ``train.py`` use when none is given.
DEFAULT_TRACK = "dr_sim_default"


#: Environment variable with extra folders to search for track names.
TRACKS_PATH_ENV = "DEEPRACER_TRACKS_PATH"


OFFICIAL_TRACKS_HINT = (
    "Official DeepRacer tracks are the .npy files in the simapp's bundle/routes/ folder "
    "(aws-deepracer-community/deepracer-simapp): 'deepracer-sim tracks list' shows "
    "them and 'deepracer-sim tracks get NAME' downloads one; or pass a file with "
    "--track PATH/TO/FILE.npy, or add its folder to DEEPRACER_TRACKS_PATH."
)


def search_dirs() -> list[Path]:
    """Folders searched for a track name, in order: the project's ``tracks/``, the folders of
    ``DEEPRACER_TRACKS_PATH``, then the user cache that ``deepracer-sim tracks get``
    downloads official tracks into (:func:`cache_dir`)."""
    dirs = [PROJECT_TRACKS_DIR]
    extra = os.environ.get(TRACKS_PATH_ENV, "")
    dirs += [Path(p).expanduser() for p in extra.split(os.pathsep) if p.strip()]
    dirs.append(cache_dir())
    return dirs


def resolve_track_path(name_or_path: str | os.PathLike) -> Path:
    """The file a ``--track`` value refers to.

    Raises:
        TrackError: a missing path, or a name found in none of :func:`search_dirs`.
    """
    text = os.fspath(name_or_path)
    looks_like_path = text.endswith(".npy") or os.sep in text or (os.altsep or os.sep) in text
    if looks_like_path:
        path = Path(text).expanduser()
        if not path.is_file():
            raise TrackError(f"track file {path} does not exist. {OFFICIAL_TRACKS_HINT}")
        return path
    for folder in search_dirs():
        candidate = folder / f"{text}.npy"
        if candidate.is_file():
            return candidate
    places = "\n  ".join(str(d) for d in search_dirs())
    available = sorted({p.stem for d in search_dirs() if d.is_dir() for p in d.glob("*.npy")})
    raise TrackError(
        f"unknown track {text!r}. Searched:\n  {places}\n"
        f"Available names: {', '.join(available) or '(none)'}.\n{OFFICIAL_TRACKS_HINT}"
    )


_CACHE: dict[tuple[str, float, int], Track] = {}


def load_track(name_or_path: str | os.PathLike = DEFAULT_TRACK) -> Track:
    """Load a DeepRacer track by name or path (see the module docstring for the lookup).

    Returns:
        a :class:`Track` (cached per file and modification time; treat it as immutable).

    Raises:
        TrackError: unknown name, missing or unreadable file, or invalid contents.
    """
    path = resolve_track_path(name_or_path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    if key in _CACHE:
        return _CACHE[key]
    try:
        raw = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises several types for a bad file
        raise TrackError(f"{path}: cannot be read as a .npy array ({exc}). Track files are "
                         "numpy.save'd float64 arrays of shape (N, 6).") from None
    track = Track(path.stem, path, validate_waypoints(raw, str(path)))
    _CACHE[key] = track
    return track


def cache_dir() -> Path:
    """The user cache folder ``get`` writes to: ``$XDG_CACHE_HOME/deepracer-sim/tracks``
    (``~/.cache/deepracer-sim/tracks`` when ``XDG_CACHE_HOME`` is unset)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "deepracer-sim" / "tracks"


def local_path(name: str) -> Path | None:
    """Where ``--track NAME`` would find the track now (None: nowhere)."""
    for folder in search_dirs():
        candidate = folder / f"{name}.npy"
        if candidate.is_file():
            return candidate
    return None
