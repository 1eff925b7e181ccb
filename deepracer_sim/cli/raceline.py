"""Racing line and lap-time limits of a track under the simulator's car: the line, its speed
profile, the rules bound (the off-track rule lets three wheels leave the road), the flying lap
(the lap after a lap) and its rules bound, and files to train towards it (a reward file, an
action space); or the records check: our flying-lap rules bound beside leaderboard records.

    deepracer-sim raceline TRACK... [--physics v4|v5|v6] [--version V] [--out line.npy]
        [--plot line.png] [--reward-file reward.py] [--action-space model_metadata.json]
        [--drive] [--json]
    deepracer-sim raceline --records leaderboard-records.csv [--physics v4|v5|v6] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from deepracer_sim.cli import values
from deepracer_sim.cli.options import add_physics_argument
from deepracer_sim.constants import MAX_DISCRETE_ACTIONS, MIN_DISCRETE_ACTIONS
from deepracer_sim.errors import UsageError, check_output_file, writing
from deepracer_sim.formats.model_metadata import DEFAULT_VERSION, write_model_metadata
from deepracer_sim.raceline import (
    SAFETY_MARGIN,
    TABLE_HEADER,
    check_records,
    compute_bounds,
    drive_line,
    line_action_space,
    plot_line,
    read_records,
    reward_source,
    table_row,
)

HELP = "racing line and lap-time limits of a track; reward and action-space files; records check"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim raceline``."""
    p.add_argument("track", nargs="*", help="track name or .npy path (several: the table only)")
    add_physics_argument(p, f"the version's (default version {DEFAULT_VERSION:g}: v6); with "
                            "--records: each row's physics_era")
    p.add_argument("--version", type=values.version, default=None,
                   help="model_metadata.json version of --action-space's file (default: the "
                        "physics' own, 4/5/6); it picks the car only when --physics is not "
                        "given")
    p.add_argument("--grip", type=values.number(0.0, above=True), default=None,
                   help="transient-grip factor on the car's lateral acceleration envelope "
                        "(dimensionless; default: the generation's, docs/raceline.md)")
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
                   help="skip the rules bounds (the lines that let the car run with only one "
                        "wheel on the road, as the off-track rule allows)")
    p.add_argument("--no-flying", action="store_true",
                   help="skip the flying laps (the lap after a lap)")
    p.add_argument("--records", type=Path, metavar="FILE.csv",
                   help="check leaderboard records (a CSV in ../shared/docs/leaderboard-"
                        "records.csv's format): each row's flying-lap rules bound, s, beside "
                        "its best_lap_s and their ratio")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _records(args: argparse.Namespace) -> int:
    rows = check_records(read_records(args.records), args.physics, args.grip)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| leaderboard | track | physics | record (s) | flying rules bound (s) | ratio |\n"
          "|---|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['leaderboard']} | `{r['track']}` | {r['physics']} | {r['record']:.3f} | "
              f"{r['bound']:.3f} | {r['ratio']:.3f} |")
    return 0


def _check(args: argparse.Namespace) -> None:
    """Raises UsageError for options that do not go together."""
    outputs = [args.out, args.plot, args.reward_file, args.action_space]
    if args.records is not None:
        if args.track or any(o is not None for o in outputs) or args.drive:
            raise UsageError("--records checks the file's own tracks: give no TRACK, --out, "
                             "--plot, --reward-file, --action-space or --drive with it")
    elif not args.track:
        raise UsageError("give a TRACK (name or .npy path) or --records FILE.csv")
    elif len(args.track) > 1 and any(o is not None for o in outputs):
        raise UsageError("--out/--plot/--reward-file/--action-space need a single track")


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
        write_model_metadata(path, line_action_space(line, args.actions), line.version)


def run(args: argparse.Namespace) -> int:
    """Compute the line(s); print a table or JSON; write the requested files."""
    _check(args)
    if args.records is not None:
        return _records(args)
    outputs = _outputs(args)
    for option, path in outputs.items():
        check_output_file(path, option)
    rows = []
    if not args.json:
        print(TABLE_HEADER)
    for name in args.track:
        bounds = compute_bounds(name, args.physics, version=args.version, grip=args.grip,
                                margin=args.margin, rules=not args.no_rules,
                                flying=not args.no_flying)
        info = bounds.summary()
        drive_text = ""
        if args.drive:
            drive = drive_line(bounds.limit)
            info.update(drive_status=drive.status, drive_lap_time=round(drive.lap_time, 4),
                        drive_min_wheels=drive.min_wheels,
                        drive_max_error=round(drive.max_error, 4))
            drive_text = f"  driven: {drive.status} {drive.lap_time:.3f} s"
        rows.append(info)
        if not args.json:
            print(table_row(bounds) + drive_text, flush=True)
    if args.json:
        print(json.dumps(rows if len(rows) > 1 else rows[0], indent=2))
    if len(args.track) > 1:
        return 0
    line = bounds.limit
    for option, path in outputs.items():
        with writing(path, option):
            _write(option, path, line, args)
    if not args.json:
        print(f"\nphysics {line.physics} (transient grip {line.grip:g}), line "
              f"{line.length:.2f} m, lap {line.lap_time:.3f} s (driving {line.drive_time:.3f} s "
              f"+ PREPARE step), length weight {line.lam:.3g}, clearance >= "
              f"{line.min_clearance:.3f} m beyond the car's half width, "
              f"{line.solve_seconds:.1f} s", file=sys.stderr)
    return 0
