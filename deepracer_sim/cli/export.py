"""Export a run as a DeepRacer model folder (the SageMaker/S3 layout), or check a folder
against DeepRacer's import rules.

    deepracer-sim export RUN_DIR --out DIR [--checkpoint best|last|N] [--force]
    deepracer-sim export --check DIR

Exit status: 0 done / check passed, 1 the check found errors, 2 bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepracer_sim.errors import ExportError, check_output_folder, writing
from deepracer_sim.export import check_path, export_run

HELP = "export a run as a DeepRacer model folder, or --check a folder"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim export``."""
    p.add_argument("run_dir", nargs="?", type=Path, help="run folder written by train")
    p.add_argument("--out", type=Path, help="folder to write (the model's S3 prefix)")
    p.add_argument("--checkpoint", default="best",
                   help="best, last or a checkpoint number N (model/N_Step-<steps>.zip)")
    p.add_argument("--force", action="store_true", help="replace an earlier export in --out")
    p.add_argument("--check", type=Path, metavar="DIR",
                   help="check DIR against DeepRacer's import rules instead")


def run(args: argparse.Namespace) -> int:
    """Export, or check and print every problem."""
    if args.check is not None:
        if args.run_dir is not None or args.out is not None:
            raise ExportError("--check DIR takes no RUN_DIR or --out")
        problems = check_path(args.check)
        errors = [p for p in problems if p.level == "error"]
        for p in problems:
            print(str(p))
        print(f"{args.check}: {len(errors)} errors, {len(problems) - len(errors)} warnings"
              + ("" if errors else " - the files, names and schemas follow DeepRacer's import "
                 "rules (read the warnings)"))
        return 1 if errors else 0
    if args.run_dir is None or args.out is None:
        raise ExportError("give RUN_DIR --out DIR (or --check DIR)")
    check_output_folder(args.out, "--out")
    with writing(args.out, "--out"):
        result = export_run(args.run_dir, args.out, args.checkpoint, args.force)
    for line in result.summary:
        print(line)
    return 0
