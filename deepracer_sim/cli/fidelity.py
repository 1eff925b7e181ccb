"""Replay real DeepRacer sim-traces and compare the car's predictions with the logged poses
after 1, 5 and 15 steps (the model against the plain kinematic bicycle).

    deepracer-sim fidelity LOG_DIR [--track NAME|PATH] [--version V] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from deepracer_sim.errors import FidelityError
from deepracer_sim.fidelity.replay import (
    HORIZONS,
    compare,
    detect_version,
    estimator_for_version,
    load_log,
    window_starts,
)
from deepracer_sim.track import load_track

HELP = "measure the car model against real simulator logs (position error after 1-15 steps)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim fidelity``."""
    p.add_argument("log_dir", metavar="LOG_DIR", help="folder holding sim-trace CSVs (any "
                   "deepracer-for-cloud / console / DeepRacer-on-AWS layout)")
    p.add_argument("--track", metavar="NAME|PATH", help="the logs' track: its length is "
                   "checked against the logged track_len")
    p.add_argument("--version", type=float, choices=(3.0, 4.0, 5.0, 6.0), help="physics "
                   "version; if not given: model_metadata.json's or the simapp log's under "
                   "LOG_DIR")
    p.add_argument("--timing", choices=("fixed", "logged"), help="step duration: fixed 1/15 s "
                   "or the logged tstamp differences, s; if not given: the version's choice")
    p.add_argument("--episodes", choices=("all", "fit", "held-out"), default="all",
                   help="replay all episodes, or those the calibration fitted / held out")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Replay and print the error table (or JSON)."""
    log_dir = Path(args.log_dir)
    if not log_dir.is_dir():
        raise FidelityError(f"{log_dir}: not a folder")
    version = args.version if args.version is not None else detect_version(log_dir)
    if version is None:
        raise FidelityError(f"{log_dir}: no model_metadata.json or simapp log says the "
                            "physics version; pass --version 4 or --version 6")
    log = load_log(log_dir)
    if args.track:
        track = load_track(args.track)
        if math.isfinite(log.track_len) and abs(track.length - log.track_len) > 0.01:
            print(f"warning: track {track.name} is {track.length:.3f} m long, the logs say "
                  f"{log.track_len:.3f} m", file=sys.stderr)
    result = compare(log, version, args.timing, args.episodes)
    if args.json:
        print(json.dumps(result))
        return 0
    timing = args.timing or estimator_for_version(version).timing
    n = len(window_starts(log, max(HORIZONS), args.episodes))
    print(f"{log_dir}: physics version {version:g}, {n} windows, {len(log.episodes)} episodes "
          f"({args.episodes}), step time {'1/15 s' if timing == 'fixed' else 'logged'}")
    print(f"{'horizon':>7} | {'model median':>12} {'p90':>6} {'heading':>8} | "
          f"{'kinematic median':>16} {'p90':>6} {'heading':>8}")
    for h, pair in result["horizons"].items():
        m, k = pair["model"], pair["kinematic"]
        print(f"{h:>7} | {m['median_cm']:>9.1f} cm {m['p90_cm']:>6.1f} "
              f"{m['median_heading_deg']:>6.1f} ° | {k['median_cm']:>13.1f} cm "
              f"{k['p90_cm']:>6.1f} {k['median_heading_deg']:>6.1f} °")
    return 0
