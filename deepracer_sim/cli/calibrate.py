"""Fit the car dynamics to real DeepRacer sim-traces (a maintainer's tool: the fitted values
go into :mod:`deepracer_sim.sim.car`).

    deepracer-sim calibrate [--logs DIR] [--version 4|6] [--folds] [--ablation]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepracer_sim.cli import values
from deepracer_sim.errors import FidelityError
from deepracer_sim.fidelity.calibrate import LOGS, SAMPLES, calibrate

HELP = "fit the car's dynamics to real simulator logs (maintainers)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim calibrate``."""
    p.add_argument("--logs", type=Path, default=LOGS,
                   help=f"folder holding {SAMPLES[4]}/ and {SAMPLES[6]}/")
    p.add_argument("--version", type=int, choices=(4, 6), action="append",
                   help="fit only this physics version (repeatable); if not given: 4 and 6")
    p.add_argument("--stride", type=values.integer(1),
                   help="use every n-th fitted 15-step window; if not given: 3 when there are "
                        "more than 5000 windows, else 1")
    p.add_argument("--folds", action="store_true",
                   help="refit with each fifth of the episodes held out in turn")
    p.add_argument("--ablation", action="store_true", help="refit reduced / extended models")


def run(args: argparse.Namespace) -> int:
    """Fit each version and print the values and errors."""
    for version in args.version or (4, 6):
        if not (args.logs / SAMPLES[version]).is_dir():
            raise FidelityError(f"{args.logs / SAMPLES[version]} not found")
        calibrate(version, args.logs, args.stride, args.folds, args.ablation)
    return 0
