"""Evaluate a trained run: greedy laps, each a fresh episode from the start line.

    deepracer-sim evaluate RUN_DIR [--track NAME|PATH] [--laps 3] [--checkpoint best|last|N]
        [--json] [--render] [--record out.mp4|out.gif]
"""

from __future__ import annotations

import argparse
import json
from contextlib import nullcontext
from pathlib import Path

from deepracer_sim.cli import values
from deepracer_sim.errors import check_output_file, writing
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.viewer.live import EvaluationViewer

HELP = "evaluate a run folder: laps, lap times, completion"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim evaluate``."""
    p.add_argument("run_dir", type=Path, help="a run folder written by train")
    p.add_argument("--track", default=None,
                   help="evaluate on another track, name or .npy path (default: the training "
                        "track)")
    p.add_argument("--laps", type=values.integer(1, values.MAX_LAPS), default=3,
                   help="laps, each a fresh episode")
    p.add_argument("--checkpoint", default="best",
                   help="best, last, or a checkpoint number N (model/N_Step-<steps>.zip: the "
                        "policy after N updates; 0 = untrained)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--render", action="store_true", help="watch the laps live in a window")
    p.add_argument("--record", type=Path, default=None,
                   help="write a video of the laps (.mp4 or .gif); works without a screen")


def run(args: argparse.Namespace) -> int:
    """Evaluate; print a table or one JSON object."""
    observers = []
    if args.record is not None:
        check_output_file(args.record, "--record")
    if args.render or args.record is not None:
        observers.append(EvaluationViewer(window=args.render, record=args.record))
    with writing(args.record, "--record") if args.record is not None else nullcontext():
        report = evaluate_run(args.run_dir, track=args.track, laps=args.laps,
                              checkpoint=args.checkpoint, observers=observers)
    print(json.dumps(report.to_json()) if args.json else report.table())
    return 0
