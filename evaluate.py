#!/usr/bin/env python3
"""Evaluate a trained run: greedy laps, each a fresh episode from the start line.

    python evaluate.py RUN_DIR [--track NAME|PATH] [--laps 3] [--checkpoint best|last|N] [--json]
        [--render] [--record out.mp4|out.gif]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", type=Path, help="a run folder written by train.py")
    p.add_argument("--track", default=None, help="evaluate on another track (name or path)")
    p.add_argument("--laps", type=int, default=3)
    p.add_argument("--checkpoint", default="best", help="best, last, or an iteration number")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--render", action="store_true", help="watch the laps live in a window")
    p.add_argument("--record", type=Path, default=None,
                   help="write a video of the laps (.mp4 or .gif); works without a screen")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from deepracer_sim.cli import run_evaluation

    return run_evaluation(args)


if __name__ == "__main__":
    sys.exit(main())
