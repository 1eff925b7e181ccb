"""Fit each simulator generation's car to real DeepRacer sim-traces, split by run, and report
its errors and vehicle figures (a maintainer's tool: the fitted values go into
:mod:`deepracer_sim.sim.car` and :mod:`deepracer_sim.fidelity.replay`).

    deepracer-sim calibrate [--logs DIR] [--physics v4|v5|v6] [--stride N] [--report] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from deepracer_sim.cli import values
from deepracer_sim.fidelity.calibrate import LOGS, RUNS, calibrate
from deepracer_sim.sim.car import PHYSICS

HELP = "fit the car of each simulator generation to real simulator logs (maintainers)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim calibrate``."""
    p.add_argument("--logs", type=Path, default=LOGS,
                   help="folder holding highspeed-logguru/, sample-drfc-3-logs/ and "
                        "sample-droa-solution-logs/")
    p.add_argument("--physics", choices=PHYSICS, action="append",
                   help="fit only this generation (repeatable); if not given: all")
    p.add_argument("--stride", type=values.integer(1),
                   help="use every n-th fit window; if not given: the generation's (v4 4, v5 3, "
                        "v6 1)")
    p.add_argument("--report", action="store_true",
                   help="no fit: report the shipped car's errors and figures")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")


def run(args: argparse.Namespace) -> int:
    """Fit (or report) each generation and print the values and errors."""
    out = {g: calibrate(g, args.logs, args.stride, args.report)
           for g in args.physics or list(RUNS)}
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0
