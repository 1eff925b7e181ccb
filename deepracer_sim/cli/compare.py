"""Compare runs: one row per run (a sweep folder gives one per trial), ranked on evaluation
completion, then mean and best lap time; an HTML page with the leaderboard, lap-time
distributions, progress curves, the fastest laps on the track and the speed per section.

    deepracer-sim compare RUN_OR_SWEEP... [--out DIR] [--json]

Details: docs/sweep.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from deepracer_sim.errors import UsageError
from deepracer_sim.formats.run_folder import COMPARE_DIR, COMPARE_PAGE
from deepracer_sim.sweep.compare import compare_runs
from deepracer_sim.sweep.compare_page import text_table, write_page

HELP = "rank runs and sweep trials on evaluation laps; HTML page of lap times, progress, lines"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim compare``."""
    p.add_argument("runs", nargs="+", metavar="RUN_OR_SWEEP",
                   help="run folders (train --out, deepracer-for-cloud, console downloads) and "
                        "sweep folders (sweep --out: one row per finished trial)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help=f"folder of the HTML page ({COMPARE_PAGE}); default "
                        f"RUN_OR_SWEEP/{COMPARE_DIR} for one folder, else "
                        f"{COMPARE_DIR}-<time> here; with --json the page is written only "
                        "when --out is given")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list, one object per run, best first (lap times in s, "
                        "null without a completed lap; rates 0..1)")
    p.add_argument("--dpi", type=int, default=90, help="PNG resolution, dots per inch")


def run(args: argparse.Namespace) -> int:
    """Rank the runs; print the leaderboard (or JSON) and write the page."""
    if args.dpi < 1:
        raise UsageError("--dpi must be >= 1")
    comparison = compare_runs(args.runs)
    out = args.out
    if out is None and not args.json:
        out = (Path(args.runs[0]) / COMPARE_DIR if len(args.runs) == 1
               else Path(f"{COMPARE_DIR}-{time.strftime('%Y%m%d-%H%M%S')}"))
    page = write_page(comparison, out / COMPARE_PAGE, args.dpi) if out is not None else None
    if args.json:
        print(json.dumps(comparison.to_json(), indent=2))
        return 0
    print(text_table(comparison))
    for note in comparison.notes:
        print(f"note: {note}")
    print(f"page: {page}")
    return 0
