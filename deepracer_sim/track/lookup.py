"""Finding a track by name: the project's ``tracks/``, ``DEEPRACER_TRACKS_PATH``, the download
cache; loading it (cached per file).

Name lookup (``--track NAME``): ``NAME`` or ``NAME.npy`` in the project's ``tracks/`` folder,
then in each folder listed in the ``DEEPRACER_TRACKS_PATH`` environment variable
(``os.pathsep``-separated), then in the user cache that ``deepracer-sim tracks get`` downloads
official tracks into. A path (anything containing a path separator or ending in ``.npy``) is used
as is.

The track of a run's logs (:func:`track_for_logs`): an explicit name or path, else the run's
``run_config.json`` track or the logs' WORLD_NAME, else the track file whose length and
waypoint numbers match the logged ``track_len`` and ``closest_waypoint``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from deepracer_sim.errors import TrackError, missing_file_text
from deepracer_sim.track.catalog import CATALOG
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


def _looks_like_path(text: str) -> bool:
    """A ``--track`` value that names a file (a ``.npy`` name or one with a separator)."""
    return text.endswith(".npy") or os.sep in text or (os.altsep or os.sep) in text


def resolve_track_path(name_or_path: str | os.PathLike) -> Path:
    """The file a ``--track`` value refers to.

    Raises:
        TrackError: a missing path, or a name found in none of :func:`search_dirs`.
    """
    text = os.fspath(name_or_path)
    if _looks_like_path(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise TrackError(f"track file {missing_file_text(path)}. {OFFICIAL_TRACKS_HINT}")
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


# ------------------------------------------------------------------------------------------
# the track of a run's logs
# ------------------------------------------------------------------------------------------
#: Largest relative difference between a track's centre-line length and the logged
#: ``track_len`` for the track to be a candidate (older sim-traces round ``track_len``).
LENGTH_TOLERANCE = 0.01
#: Smallest share of the sampled logged rows whose ``closest_waypoint`` a candidate must
#: reproduce (within one index) to be the logs' track.
MIN_WAYPOINT_AGREEMENT = 0.5
#: Logged rows sampled (evenly) for the waypoint agreement.
AGREEMENT_SAMPLES = 400


def _track_dirs(extra_dirs: Iterable[str | os.PathLike | None]) -> list[Path]:
    """The extra folders, then :func:`search_dirs`; existing folders only, each once."""
    dirs: list[Path] = []
    for folder in [*(Path(d).expanduser() for d in extra_dirs if d is not None),
                   *search_dirs()]:
        if folder.is_dir() and folder.resolve() not in {d.resolve() for d in dirs}:
            dirs.append(folder)
    return dirs


def _track_by_name(text: str, dirs: Sequence[Path], stem_of_missing_path: bool) -> Track:
    """``text`` as a file, else ``NAME.npy`` in ``dirs``, loaded. A path that does not exist
    is an error, or (``stem_of_missing_path``: a path recorded on another machine) its file
    name is looked up in ``dirs``.

    Raises:
        TrackError: found nowhere, or not a valid track file.
    """
    name = text
    if _looks_like_path(text) or Path(text).expanduser().is_file():
        path = Path(text).expanduser()
        if path.is_file() or not stem_of_missing_path:
            return load_track(path)
        name = path.stem
    for folder in dirs:
        if (folder / f"{name}.npy").is_file():
            return load_track(folder / f"{name}.npy")
    places = "\n  ".join(str(d) for d in dirs) or "(no folders)"
    raise TrackError(f"unknown track {text!r}. Searched:\n  {places}\n{OFFICIAL_TRACKS_HINT}")


def _centre_length(path: Path) -> float | None:
    """The centre-line length of a track file, m (None: not an (N, 6) numeric array)."""
    try:
        wp = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if wp.ndim != 2 or wp.shape[1] != 6 or wp.dtype.kind not in "fiu" or len(wp) < 2:
        return None
    centre = wp[:, 0:2].astype(np.float64)
    return float(np.hypot(*np.diff(centre, axis=0).T).sum())


def waypoint_agreement(centre: np.ndarray, positions: np.ndarray,
                       closest_waypoint: np.ndarray) -> tuple[float, float]:
    """How well a track's waypoint numbers explain logged rows: of (up to
    :data:`AGREEMENT_SAMPLES` evenly sampled) rows, the share whose ``closest_waypoint`` is
    within one index of the centre point nearest to the logged (x, y) in the row order, and the
    share that is so in the row order or in the reversed order (index ``N - 1 - i``: episodes
    driven in the reversed direction, which number the reversed waypoint list).

    Args:
        centre: (N, 2) centre line, m; positions: (M, 2) logged X, Y, m;
        closest_waypoint: (M,) logged indices.
    """
    m = len(positions)
    if m == 0 or len(closest_waypoint) != m:
        return 0.0, 0.0
    idx = np.linspace(0, m - 1, min(m, AGREEMENT_SAMPLES)).astype(int)
    pts = np.asarray(positions, dtype=np.float64)[idx]
    nearest = np.argmin(((pts[:, None, :] - centre[None]) ** 2).sum(-1), axis=1)
    n = len(centre)
    logged = np.asarray(closest_waypoint)[idx].astype(np.int64) % n

    def near(index: np.ndarray) -> np.ndarray:
        diff = np.abs(index - logged)
        return np.minimum(diff, n - 1 - diff) <= 1  # the last row of a loop repeats the first

    forward = near(nearest)
    return float(np.mean(forward)), float(np.mean(forward | near(n - 1 - nearest)))


def _by_length(track_len: float, dirs: Sequence[Path], positions: np.ndarray | None,
               closest_waypoint: np.ndarray | None) -> list[Path]:
    """Track files of about ``track_len`` metres, best first. With logged rows: those whose
    waypoint numbers agree with more than :data:`MIN_WAYPOINT_AGREEMENT` of the rows (in either
    direction), ranked by the agreement in the row order, then in either order (a track and its
    reversed copy differ only in the first); without: by the length difference. Ties keep the
    search order."""
    scored: list[tuple[float, float, int, Path]] = []
    for folder in dirs:
        for path in sorted(folder.glob("*.npy")):
            length = _centre_length(path)
            if length is None or abs(length - track_len) > LENGTH_TOLERANCE * track_len:
                continue
            if positions is not None and closest_waypoint is not None:
                wp = np.load(path, allow_pickle=False).astype(np.float64)
                forward, either = waypoint_agreement(wp[:, 0:2], positions, closest_waypoint)
                if either <= MIN_WAYPOINT_AGREEMENT:
                    continue
                key = (-forward, -either)
            else:
                key = (abs(length - track_len), 0.0)
            scored.append((*key, len(scored), path))
    return [entry[-1] for entry in sorted(scored, key=lambda e: e[:3])]


def _official_hint(track_len: float) -> str:
    """Official tracks of about ``track_len`` metres that could be downloaded."""
    near = sorted((abs(t.length - track_len), t.name) for t in CATALOG.values()
                  if abs(t.length - track_len) <= LENGTH_TOLERANCE * track_len)
    if not near:
        return ""
    names = ", ".join(name for _, name in near[:5])
    return (f" The logged track_len {track_len:.4f} m matches the official track(s) {names}: "
            "download one with deepracer-sim tracks get NAME (or pass --track NAME|PATH).")


def track_for_logs(track: str | os.PathLike | Track | None = None, *,
                   config: Mapping[str, object] | None = None,
                   world_name: str | None = None,
                   track_len: float | None = None,
                   positions: np.ndarray | None = None,
                   closest_waypoint: np.ndarray | None = None,
                   extra_dirs: Iterable[str | os.PathLike | None] = (),
                   required: bool = True) -> Track | None:
    """The track a run's logs were driven on; the one matcher of logs to tracks.

    In order: ``track`` (a :class:`Track`, a ``.npy`` path, or a name looked up in
    ``extra_dirs`` and then :func:`search_dirs`); else the run's ``run_config.json`` values
    ``config["track_path"]`` and ``config["track"]`` and the text logs' ``world_name``
    (DeepRacer's WORLD_NAME is the track file's stem), the first that loads; else the track
    file in those folders whose centre-line length is within :data:`LENGTH_TOLERANCE` of the
    logged ``track_len`` (m) and, when the logged ``positions`` ((M, 2) X, Y) and
    ``closest_waypoint`` ((M,)) are given, whose waypoint numbers match them best
    (:func:`waypoint_agreement`, more than :data:`MIN_WAYPOINT_AGREEMENT`), else whose length
    is closest. The callers read the run's files; this function takes their values.

    Returns:
        the loaded :class:`Track`, or None when nothing fits and ``required`` is False.

    Raises:
        TrackError: an explicit ``track`` that is not found or not valid; nothing fits and
            ``required`` (the message names the official tracks of that length).
    """
    if isinstance(track, Track):
        return track
    dirs = _track_dirs(extra_dirs)
    if track is not None:
        return _track_by_name(os.fspath(track), dirs, stem_of_missing_path=False)
    config = config or {}
    for value in (config.get("track_path"), config.get("track"), world_name):
        if value:
            try:
                return _track_by_name(str(value), dirs, stem_of_missing_path=True)
            except TrackError:
                continue
    if track_len is None or not math.isfinite(track_len) or track_len <= 0:
        if required:
            raise TrackError("cannot tell the track (no run_config.json track, no WORLD_NAME, "
                             "no logged track_len); give --track NAME|PATH")
        return None
    for path in _by_length(track_len, dirs, positions, closest_waypoint):
        try:
            return load_track(path)
        except TrackError:
            continue
    if required:
        raise TrackError(f"cannot tell the track (track_len {track_len:.4f} m; no track file "
                         f"of that length and those waypoints in "
                         f"{', '.join(str(d) for d in dirs) or 'no folders'}); give --track "
                         f"NAME|PATH.{_official_hint(track_len)}")
    return None
