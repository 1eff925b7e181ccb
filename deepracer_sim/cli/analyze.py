"""Write an HTML report of a DeepRacer training run: this project's, deepracer-for-cloud's or a
cloud download (training progress, paths, reward heatmap, speed and steering, lap times, ...).

    deepracer-sim analyze RUN_DIR [--out DIR] [--track NAME|PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepracer_sim.cli import values
from deepracer_sim.errors import check_output_folder, writing
from deepracer_sim.logs.report import DPI, REPORT_DIR, build_report

#: Highest --dpi: a print-quality 600 dpi plot is already ~50 MB of pixels in memory.
MAX_DPI = 600

HELP = "write an HTML report of a training run (plots of progress, paths, rewards, laps)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim analyze``."""
    p.add_argument("run_dir", metavar="RUN_DIR",
                   help="the run folder (this project's, deepracer-for-cloud's or a cloud "
                        "download)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="report folder; RUN_DIR/report when not given")
    p.add_argument("--track", metavar="NAME|PATH", default=None,
                   help="track name or .npy path; detected from the logs when not given")
    p.add_argument("--tracks-dir", metavar="DIR", default=None,
                   help="folder of track .npy files searched first for the track; only the "
                        "track folders (tracks/, DEEPRACER_TRACKS_PATH, the download cache) "
                        "when not given")
    p.add_argument("--dpi", type=values.integer(1, MAX_DPI), default=DPI,
                   help="PNG resolution, dots per inch")


def run(args: argparse.Namespace) -> int:
    """Build the report; print where it is and what could not be drawn."""
    out = Path(args.out) if args.out is not None else Path(args.run_dir) / REPORT_DIR
    if args.out is not None or out.parent.is_dir():  # else build_report says RUN_DIR is none
        check_output_folder(out, "--out")
    with writing(out, "--out"):
        report = build_report(args.run_dir, out, args.track, args.tracks_dir, dpi=args.dpi)
    print(f"report: {report.html_path} ({len(report.plots)} plots, {report.seconds:.1f} s)")
    for name, why in report.skipped.items():
        print(f"  not drawn: {name}: {why}")
    return 0
