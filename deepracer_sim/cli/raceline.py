"""Racing line and limit lap time of a track under the simulator's car: the line, its speed
profile, the rules bound (the off-track rule lets three wheels leave the road), and files to
train towards it (a reward file, an action space).

    deepracer-sim raceline TRACK... [--version V] [--out line.npy] [--plot line.png]
        [--reward-file reward.py] [--action-space model_metadata.json] [--drive] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from deepracer_sim.cli import values
from deepracer_sim.constants import MAX_DISCRETE_ACTIONS, MIN_DISCRETE_ACTIONS
from deepracer_sim.errors import RacelineError, UsageError, check_output_file, writing
from deepracer_sim.formats.model_metadata import DEFAULT_VERSION, write_model_metadata
from deepracer_sim.raceline import (
    RULES_MARGIN,
    SAFETY_MARGIN,
    TABLE_HEADER,
    compute_raceline,
    drive_line,
    line_action_space,
    plot_line,
    reward_source,
    table_row,
)

HELP = "racing line and limit lap time of a track; reward and action-space files for it"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim raceline``."""
    p.add_argument("track", nargs="+", help="track name or .npy path (several: the table only)")
    p.add_argument("--version", type=values.version, default=DEFAULT_VERSION,
                   help="model_metadata.json version whose calibrated car drives the line "
                        "(< 5: the version-4 car, >= 5: the version-5 car)")
    p.add_argument("--margin", type=values.number(0.0, 1.0), default=SAFETY_MARGIN,
                   help="clearance kept beyond half the car's width, m")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="write the line as a (K, 4) .npy of [x m, y m, speed m/s, time s], a "
                        "row every 2 cm")
    p.add_argument("--plot", type=Path, metavar="FILE",
                   help="write a PNG of the line coloured by speed")
    p.add_argument("--reward-file", type=Path, metavar="FILE",
                   help="write a DeepRacer reward file (Python) that follows the line")
    p.add_argument("--action-space", type=Path, metavar="FILE",
                   help="write a model_metadata.json with a discrete action space for the line")
    p.add_argument("--actions", type=values.integer(MIN_DISCRETE_ACTIONS, MAX_DISCRETE_ACTIONS),
                   default=15,
                   help=f"number of discrete actions in --action-space's file "
                        f"({MIN_DISCRETE_ACTIONS}-{MAX_DISCRETE_ACTIONS})")
    p.add_argument("--drive", action="store_true",
                   help="also drive the line in the simulator and report the lap")
    p.add_argument("--no-rules", action="store_true",
                   help="skip the rules bound (the line that lets the car run with only one "
                        "wheel on the road, as the off-track rule allows)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _outputs(args: argparse.Namespace) -> dict[str, Path]:
    """{option: path} of the files asked for."""
    given = {"--out": args.out, "--plot": args.plot, "--reward-file": args.reward_file,
             "--action-space": args.action_space}
    return {option: path for option, path in given.items() if path is not None}


def _write(option: str, path: Path, line, args: argparse.Namespace) -> None:
    """Write the file of one output option."""
    if option == "--out":
        np.save(path, np.column_stack([line.xy, line.speed, line.time]))
    elif option == "--plot":
        plot_line(line, path)
    elif option == "--reward-file":
        path.write_text(reward_source(line))
    else:
        write_model_metadata(path, line_action_space(line, args.actions), args.version)


def run(args: argparse.Namespace) -> int:
    """Compute the line(s); print a table or JSON; write the requested files."""
    outputs = _outputs(args)
    if len(args.track) > 1 and outputs:
        raise UsageError("--out/--plot/--reward-file/--action-space need a single track")
    for option, path in outputs.items():
        check_output_file(path, option)
    rows = []
    if not args.json:
        print(TABLE_HEADER)
    for name in args.track:
        line = compute_raceline(name, args.version, margin=args.margin)
        info = line.summary()
        bound = None
        if not args.no_rules:
            try:
                bound = compute_raceline(line.track, args.version, margin=RULES_MARGIN)
                info["rules_bound"] = round(bound.lap_time, 4)
            except RacelineError:
                pass
        drive_text = ""
        if args.drive:
            drive = drive_line(line)
            info.update(drive_status=drive.status, drive_lap_time=round(drive.lap_time, 4),
                        drive_min_wheels=drive.min_wheels,
                        drive_max_error=round(drive.max_error, 4))
            drive_text = f"  driven: {drive.status} {drive.lap_time:.3f} s"
        rows.append(info)
        if not args.json:
            print(table_row(line, bound) + drive_text, flush=True)
    if args.json:
        print(json.dumps(rows if len(rows) > 1 else rows[0], indent=2))
    if len(args.track) > 1:
        return 0
    for option, path in outputs.items():
        with writing(path, option):
            _write(option, path, line, args)
    if not args.json:
        print(f"\nline {line.length:.2f} m, lap {line.lap_time:.3f} s (driving "
              f"{line.drive_time:.3f} s + PREPARE step), length weight {line.lam:.3g}, "
              f"clearance >= {line.min_clearance:.3f} m beyond the car's half width, "
              f"{line.solve_seconds:.1f} s", file=sys.stderr)
    return 0
