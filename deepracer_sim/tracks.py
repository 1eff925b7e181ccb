"""Official DeepRacer tracks by name: catalog, download, drawing.

``python -m deepracer_sim.tracks list`` shows the catalog of the official tracks (the simapp's
``bundle/routes/*.npy``, spec §9: simapp name, console display name, length, width, direction)
and where each one is found locally; ``get NAME...`` downloads tracks from the simapp
repository at the pinned commit into the user cache (:func:`cache_dir`), each file verified
against the SHA-256 recorded in the catalog, after which ``--track NAME`` finds them (the cache is
the last folder of :func:`deepracer_sim.track.search_dirs`); ``show NAME --out track.png`` draws a
track with its waypoint indices (waypoint-based reward functions need them).

The catalog (:mod:`deepracer_sim.track_catalog`) is generated once by
``tools/make_track_catalog.py`` from the simapp's files.

Environment: ``XDG_CACHE_HOME`` (the cache is ``$XDG_CACHE_HOME/deepracer-sim/tracks``, default
``~/.cache/deepracer-sim/tracks``); ``DEEPRACER_TRACKS_URL`` replaces the download base URL
(a folder URL holding ``NAME.npy`` files, e.g. a mirror).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from . import track_catalog
from .track import TrackError, load_track, search_dirs

#: Where ``get`` downloads from: the simapp's route files at the pinned commit.
DEFAULT_BASE_URL = (f"https://raw.githubusercontent.com/{track_catalog.SIMAPP_REPO}/"
                    f"{track_catalog.SIMAPP_COMMIT}/bundle/routes/")
#: Environment variable that replaces :data:`DEFAULT_BASE_URL`.
BASE_URL_ENV = "DEEPRACER_TRACKS_URL"
#: Seconds to wait for the server before giving up.
DOWNLOAD_TIMEOUT = 20.0
#: Largest file accepted (the biggest official track is ~20 KB).
MAX_DOWNLOAD_BYTES = 10 * 1024 * 1024


class OfficialTrack(NamedTuple):
    """One row of the catalog (values measured from the simapp's file)."""

    name: str
    display_name: str
    waypoints: int
    is_loop: bool
    direction: str
    length: float
    width: float
    size: int
    sha256: str


#: The official tracks by simapp name, in catalog order.
CATALOG: dict[str, OfficialTrack] = {
    row[0]: OfficialTrack(*row) for row in track_catalog.ROWS
}


class TrackDownloadError(RuntimeError):
    """A track that could not be downloaded (offline, HTTP error, checksum mismatch); nothing
    was cached."""


class TrackOfflineError(TrackDownloadError):
    """The server could not be reached (no network, DNS failure, refused connection)."""


def cache_dir() -> Path:
    """The user cache folder ``get`` writes to: ``$XDG_CACHE_HOME/deepracer-sim/tracks``
    (``~/.cache/deepracer-sim/tracks`` when ``XDG_CACHE_HOME`` is unset)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "deepracer-sim" / "tracks"


def base_url() -> str:
    """The download base URL (``DEEPRACER_TRACKS_URL`` or :data:`DEFAULT_BASE_URL`)."""
    url = os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def lookup(name: str) -> OfficialTrack:
    """The catalog entry of a simapp name (``NAME`` or ``NAME.npy``, case-insensitive).

    Raises:
        KeyError: not in the catalog; the message lists close names and display-name matches.
    """
    key = name[:-4] if name.endswith(".npy") else name
    if key in CATALOG:
        return CATALOG[key]
    folded = {k.lower(): k for k in CATALOG}
    if key.lower() in folded:
        return CATALOG[folded[key.lower()]]
    by_display = [t.name for t in CATALOG.values() if t.display_name.lower() == key.lower()]
    if by_display:
        hint = f"{name!r} is the display name of: {', '.join(by_display)}"
    else:
        import difflib

        close = difflib.get_close_matches(key, list(CATALOG), n=5, cutoff=0.6)
        hint = f"did you mean: {', '.join(close)}?" if close else \
            "run `python -m deepracer_sim.tracks list` for the names"
    raise KeyError(f"{name!r} is not an official DeepRacer track name; {hint}")


def local_path(name: str) -> Path | None:
    """Where ``--track NAME`` would find the track now (None: nowhere)."""
    for folder in search_dirs():
        candidate = folder / f"{name}.npy"
        if candidate.is_file():
            return candidate
    return None


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Downloaded:
    """The result of :func:`download` for one track."""

    name: str
    path: Path
    fetched: bool  # False: a verified copy was already cached


def download(name: str, *, dest: Path | None = None, url: str | None = None,
             force: bool = False, timeout: float = DOWNLOAD_TIMEOUT) -> Downloaded:
    """Download one official track into the cache, verified by its catalog SHA-256.

    The file is written to a temporary name in ``dest`` and renamed only after its checksum
    matches, so a failed or corrupted download leaves nothing behind.

    Args:
        name: simapp name (see :func:`lookup`).
        dest: target folder (default :func:`cache_dir`).
        url: base URL (default :func:`base_url`).
        force: download even if a verified copy is cached.
        timeout: seconds to wait for the server.

    Raises:
        KeyError: unknown name.
        TrackOfflineError: offline / unreachable server.
        TrackDownloadError: HTTP error, oversized file, checksum mismatch.
    """
    entry = lookup(name)
    dest = Path(dest) if dest is not None else cache_dir()
    target = dest / f"{entry.name}.npy"
    if not force and target.is_file() and file_sha256(target) == entry.sha256:
        return Downloaded(entry.name, target, False)
    source = (url or base_url())
    source = (source if source.endswith("/") else source + "/") + f"{entry.name}.npy"
    try:
        with urllib.request.urlopen(source, timeout=timeout) as response:
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise TrackDownloadError(f"{entry.name}: {source} answered HTTP {exc.code} "
                                 f"{exc.reason}; nothing was cached") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackOfflineError(
            f"{entry.name}: cannot reach {source} ({reason}). Are you offline? Downloading "
            f"needs internet access; alternatively copy {entry.name}.npy from the simapp "
            f"repository ({track_catalog.SIMAPP_REPO}, bundle/routes/) into {dest} or a folder "
            "listed in DEEPRACER_TRACKS_PATH; nothing was cached"
        ) from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise TrackDownloadError(f"{entry.name}: {source} sent more than "
                                 f"{MAX_DOWNLOAD_BYTES} bytes; nothing was cached")
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        raise TrackDownloadError(
            f"{entry.name}: checksum mismatch for {source}: got SHA-256 {digest} "
            f"({len(data)} bytes), the catalog expects {entry.sha256} ({entry.size} bytes). "
            "The file is corrupted or not the pinned version; nothing was cached"
        )
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{entry.name}.", suffix=".part", dir=dest)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Downloaded(entry.name, target, True)


# ---------------------------------------------------------------------------------------------
# drawing


def draw_track(track, out: str | os.PathLike, *, every: int | None = None,
               reversed_direction: bool = False, dpi: int = 120) -> Path:
    """Draw a track with its borders, centre line and waypoint indices into a PNG.

    Args:
        track: a :class:`~deepracer_sim.track.Track`.
        out: PNG path.
        every: label every k-th waypoint (default: about 60 labels at most; index 0 and every
            k-th are labelled, all waypoints get a dot).
        reversed_direction: number the waypoints as ``params['waypoints']`` in the reversed
            direction.

    Raises:
        RuntimeError: matplotlib is not installed.
    """
    plt = _pyplot()
    wp = track.waypoints[::-1] if reversed_direction else track.waypoints
    n = len(wp)
    k = every if every and every > 0 else max(1, -(-n // 60))
    fig, ax = plt.subplots(figsize=(12, 8))
    try:
        ax.plot(wp[:, 2], wp[:, 3], color="0.25", lw=1.5, label="inner border")
        ax.plot(wp[:, 4], wp[:, 5], color="0.55", lw=1.5, label="outer border")
        ax.plot(wp[:, 0], wp[:, 1], color="tab:orange", lw=0.8, ls="--", label="centre line")
        ax.scatter(wp[:, 0], wp[:, 1], s=6, color="tab:blue", zorder=3)
        limit = n - 1 if track.is_loop else n  # a loop's last row repeats waypoint 0
        for i in range(0, limit, k):
            ax.annotate(str(i), (wp[i, 0], wp[i, 1]), xytext=(3, 3),
                        textcoords="offset points", fontsize=7, color="tab:blue")
        ax.scatter([wp[0, 0]], [wp[0, 1]], s=60, marker="o", color="tab:green", zorder=4,
                   label="waypoint 0 (start)")
        j = 1
        while j < n - 1 and (wp[j, 0], wp[j, 1]) == (wp[0, 0], wp[0, 1]):
            j += 1
        j = max(j, min(n - 1, n // 25))  # an arrow long enough to see
        ax.annotate("", xy=(wp[j, 0], wp[j, 1]), xytext=(wp[0, 0], wp[0, 1]),
                    arrowprops={"arrowstyle": "->", "color": "tab:green", "lw": 2})
        ax.set_aspect("equal")
        direction = "open" if not track.is_loop else ("CCW" if track.is_ccw else "CW")
        if reversed_direction and track.is_loop:
            direction = "CW" if direction == "CCW" else "CCW"
        ax.set_title(f"{track.name}: {n} waypoints, {track.length:.3f} m, "
                     f"{track.width:.3f} m wide, {direction}"
                     f"{' (reversed)' if reversed_direction else ''}; labels every {k}")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        ax.grid(True, lw=0.3)
        ax.legend(loc="best", fontsize=8)
        out = Path(out)
        if out.parent != Path():
            out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return out


def _pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend."""
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the installation
        raise RuntimeError("drawing needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------------------------------------
# command line


def _cmd_list(args: argparse.Namespace) -> int:
    rows = []
    for t in CATALOG.values():
        where = local_path(t.name)
        if args.local and where is None:
            continue
        rows.append((t, where))
    if args.json:
        import json

        print(json.dumps([{**t._asdict(), "local_path": str(w) if w else None}
                          for t, w in rows], indent=1))
        return 0
    print(f"{'name':<30} {'display name':<38} {'length':>8} {'width':>6} {'dir':<4} "
          f"{'wps':>4}  local")
    for t, where in rows:
        print(f"{t.name:<30} {t.display_name or '-':<38} {t.length:>8.3f} {t.width:>6.3f} "
              f"{t.direction:<4} {t.waypoints:>4}  {where if where else '-'}")
    present = sum(1 for _, w in rows if w)
    print(f"\n{len(rows)} tracks, {present} present locally. Download: python -m "
          f"deepracer_sim.tracks get NAME... (into {cache_dir()})")
    return 0


def _cmd_get(args: argparse.Namespace) -> int:
    names = list(CATALOG) if args.all else args.names
    if not names:
        print("tracks get: give track names (see `list`) or --all", file=sys.stderr)
        return 2
    try:
        entries = [lookup(n) for n in names]
    except KeyError as exc:
        print(f"tracks get: {exc.args[0]}", file=sys.stderr)
        return 2
    dest = Path(args.dest) if args.dest else cache_dir()
    failed = 0
    for entry in entries:
        try:
            result = download(entry.name, dest=dest, url=args.url, force=args.force)
        except TrackDownloadError as exc:
            print(f"tracks get: {exc}", file=sys.stderr)
            if isinstance(exc, TrackOfflineError):
                return 1  # offline: fail at once rather than once per track
            failed += 1
            continue
        state = "downloaded" if result.fetched else "already cached"
        print(f"{entry.name}: {state} ({result.path}), SHA-256 verified")
    return 1 if failed else 0


def _cmd_show(args: argparse.Namespace) -> int:
    try:
        track = load_track(args.name)
    except TrackError as exc:
        hint = ""
        if args.name in CATALOG or args.name.lower() in {k.lower() for k in CATALOG}:
            hint = (f"\n{args.name} is an official track: download it with python -m "
                    f"deepracer_sim.tracks get {args.name}")
        print(f"tracks show: {exc}{hint}", file=sys.stderr)
        return 2
    try:
        out = draw_track(track, args.out, every=args.every, reversed_direction=args.reversed)
    except RuntimeError as exc:
        print(f"tracks show: {exc}", file=sys.stderr)
        return 1
    print(f"{track!r} -> {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deepracer_sim.tracks",
        description="Official DeepRacer tracks: catalog, download into the user cache, drawing.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="the official tracks and where they are found locally")
    p.add_argument("--local", action="store_true", help="only tracks present locally")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("get", help="download official tracks into the user cache")
    p.add_argument("names", nargs="*", metavar="NAME", help="simapp track names")
    p.add_argument("--all", action="store_true", help="every track of the catalog")
    p.add_argument("--force", action="store_true", help="download even if cached")
    p.add_argument("--dest", help=f"target folder (default {cache_dir()})")
    p.add_argument("--url", help=f"base URL (default ${BASE_URL_ENV} or the simapp repository "
                                 "at the pinned commit)")
    p.set_defaults(func=_cmd_get)
    p = sub.add_parser("show", help="draw a track with its waypoint indices (PNG)")
    p.add_argument("name", metavar="NAME", help="track name or .npy path")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--every", type=int, help="label every k-th waypoint (default: auto)")
    p.add_argument("--reversed", action="store_true",
                   help="number the waypoints of the reversed direction")
    p.set_defaults(func=_cmd_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
