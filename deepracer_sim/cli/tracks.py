"""``deepracer-sim tracks``: the official tracks' catalog, download, drawing."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deepracer_sim.cli import values
from deepracer_sim.errors import (
    TrackDownloadError,
    TrackError,
    TrackOfflineError,
    check_output_file,
    check_output_folder,
    writing,
)
from deepracer_sim.track.catalog import CATALOG, lookup
from deepracer_sim.track.download import BASE_URL_ENV, download
from deepracer_sim.track.draw import draw_track
from deepracer_sim.track.lookup import cache_dir, load_track, local_path


def _cmd_list(args: argparse.Namespace) -> int:
    rows = []
    for t in CATALOG.values():
        where = local_path(t.name)
        if args.local and where is None:
            continue
        rows.append((t, where))
    if args.json:
        print(json.dumps([{**t._asdict(), "local_path": str(w) if w else None}
                          for t, w in rows], indent=1))
        return 0
    print(f"{'name':<30} {'display name':<38} {'length':>8} {'width':>6} {'dir':<4} "
          f"{'wps':>4}  local")
    for t, where in rows:
        print(f"{t.name:<30} {t.display_name or '-':<38} {t.length:>8.3f} {t.width:>6.3f} "
              f"{t.direction:<4} {t.waypoints:>4}  {where if where else '-'}")
    present = sum(1 for _, w in rows if w)
    print(f"\n{len(rows)} tracks, {present} present locally. Download: deepracer-sim"
          f" tracks get NAME... (into {cache_dir()})")
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
    dest = check_output_folder(Path(args.dest) if args.dest else cache_dir(),
                               "--dest" if args.dest else "the track cache")
    failed = 0
    for entry in entries:
        try:
            with writing(dest, "--dest" if args.dest else "the track cache"):
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
            hint = (f"\n{args.name} is an official track: download it with deepracer-sim "
                    f"tracks get {args.name}")
        print(f"tracks show: {exc}{hint}", file=sys.stderr)
        return 2
    check_output_file(args.out, "--out")
    try:
        with writing(args.out, "--out"):
            out = draw_track(track, args.out, every=args.every,
                             reversed_direction=args.reversed)
    except RuntimeError as exc:
        print(f"tracks show: {exc}", file=sys.stderr)
        return 1
    print(f"{track!r} -> {out}")
    return 0


HELP = "the official tracks: list, download into the user cache, draw"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommands of ``deepracer-sim tracks``: list, get, show."""
    sub = parser.add_subparsers(dest="tracks_command", required=True)
    fmt = parser.formatter_class  # each subcommand's --help shows the defaults too
    p = sub.add_parser("list", help="the official tracks and where they are found locally",
                       formatter_class=fmt)
    p.add_argument("--local", action="store_true", help="only tracks present locally")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("get", help="download official tracks into the user cache",
                       formatter_class=fmt)
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="simapp track names (see `list`); none with --all")
    p.add_argument("--all", action="store_true", help="every track of the catalog")
    p.add_argument("--force", action="store_true", help="download even if cached")
    p.add_argument("--dest", metavar="DIR", default=None,
                   help=f"target folder; the user cache {cache_dir()} when not given")
    p.add_argument("--url", default=None,
                   help=f"base URL of the NAME.npy files; ${BASE_URL_ENV}, else the simapp "
                        "repository at the pinned commit, when not given")
    p.set_defaults(func=_cmd_get)
    p = sub.add_parser("show", help="draw a track with its waypoint indices (PNG)",
                       formatter_class=fmt)
    p.add_argument("name", metavar="NAME|PATH", help="track name or .npy path")
    p.add_argument("--out", metavar="PNG", required=True, help="PNG file to write; required")
    p.add_argument("--every", type=values.integer(1), default=None,
                   help="label every k-th waypoint (k waypoints); chosen from the track's "
                        "size when not given")
    p.add_argument("--reversed", action="store_true",
                   help="number the waypoints of the reversed direction")
    p.set_defaults(func=_cmd_show)


def run(args: argparse.Namespace) -> int:
    """Run the chosen ``tracks`` subcommand."""
    return int(args.func(args))
