"""Replay real DeepRacer sim-traces and compare the car's predictions with the logged poses
after 1, 5 and 15 steps (the model against the plain kinematic bicycle).

    deepracer-sim fidelity LOG [--track NAME|PATH] [--physics v4|v5|v6] [--version V] [--json]

LOG is a folder of sim-traces (any deepracer-for-cloud / console / DeepRacer-on-AWS layout) or
one sim-trace file (``.csv`` or ``.csv.gz``: one run).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from deepracer_sim.cli.options import add_physics_argument
from deepracer_sim.errors import FidelityError
from deepracer_sim.fidelity.replay import (
    ESTIMATORS,
    HORIZONS,
    compare,
    detect_version,
    load_log,
    window_starts,
)
from deepracer_sim.sim.car import physics_for_version
from deepracer_sim.track import load_track

HELP = "measure the car model against real simulator logs (position error after 1-15 steps)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim fidelity``."""
    p.add_argument("log_dir", metavar="LOG", help="folder holding sim-trace CSVs (any "
                   "deepracer-for-cloud / console / DeepRacer-on-AWS layout), or one sim-trace "
                   "file (.csv or .csv.gz)")
    p.add_argument("--track", metavar="NAME|PATH", help="the logs' track: its length is "
                   "checked against the logged track_len")
    add_physics_argument(p, "the version's (< 5 v4, 5.x v5, >= 6 v6)")
    p.add_argument("--version", type=float, choices=(3.0, 4.0, 5.0, 6.0), help="the logs' "
                   "model version (picks the car when --physics is not given); if not given: "
                   "model_metadata.json's or the simapp log's under LOG, a manifest.json "
                   "entry or a v<version>_ file-name prefix")
    p.add_argument("--timing", choices=("fixed", "logged"), help="step duration: fixed 1/15 s "
                   "or the logged tstamp differences, s; if not given: the generation's choice")
    p.add_argument("--episodes", choices=("all", "fit", "held-out"), default="all",
                   help="replay all episodes, or every 5th (held-out) / the others (fit)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _physics(args: argparse.Namespace, log_dir: Path) -> tuple[str, float | None]:
    """(physics, version or None) of the command line and the logs."""
    version = args.version if args.version is not None else detect_version(log_dir)
    if args.physics is not None:
        return args.physics, version
    if version is None:
        raise FidelityError(f"{log_dir}: no model_metadata.json, simapp log, manifest.json "
                            "entry or v<version>_ file name says the physics; pass --physics "
                            "v4|v5|v6 (or --version)")
    return physics_for_version(version), version


def run(args: argparse.Namespace) -> int:
    """Replay and print the error table (or JSON)."""
    log_dir = Path(args.log_dir)
    if not log_dir.exists():
        raise FidelityError(f"{log_dir}: no such folder or file")
    physics, version = _physics(args, log_dir)
    log = load_log(log_dir)
    if args.track:
        track = load_track(args.track)
        if math.isfinite(log.track_len) and abs(track.length - log.track_len) > 0.01:
            print(f"warning: track {track.name} is {track.length:.3f} m long, the logs say "
                  f"{log.track_len:.3f} m", file=sys.stderr)
    result = compare(log, physics, args.timing, args.episodes)
    if args.json:
        print(json.dumps(result))
        return 0
    timing = args.timing or ESTIMATORS[physics].timing
    n = len(window_starts(log, max(HORIZONS), args.episodes))
    said = f" (model version {version:g})" if version is not None else ""
    print(f"{log_dir}: physics {physics}{said}, {n} windows, {len(log.episodes)} episodes "
          f"({args.episodes}), step time {'1/15 s' if timing == 'fixed' else 'logged'}")
    print(f"{'horizon':>7} | {'model median':>12} {'p90':>6} {'heading':>8} | "
          f"{'kinematic median':>16} {'p90':>6} {'heading':>8}")
    for h, pair in result["horizons"].items():
        m, k = pair["model"], pair["kinematic"]
        print(f"{h:>7} | {m['median_cm']:>9.1f} cm {m['p90_cm']:>6.1f} "
              f"{m['median_heading_deg']:>6.1f} ° | {k['median_cm']:>13.1f} cm "
              f"{k['p90_cm']:>6.1f} {k['median_heading_deg']:>6.1f} °")
    return 0
