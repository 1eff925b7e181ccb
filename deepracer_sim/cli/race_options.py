"""The race options of ``train``: the race type and its objects, from the command line or the
racer's deepracer-for-cloud ``run.env``/``system.env`` or DeepRacer-on-AWS-shaped JSON
(:mod:`deepracer_sim.formats.race`)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from deepracer_sim.cli import values
from deepracer_sim.constants import DROA_DEFAULT_OBJECT_POSITIONS, MAX_OBJECTS
from deepracer_sim.errors import UsageError
from deepracer_sim.formats.race import parse_positions, read_race_files
from deepracer_sim.sim.lidar import LIDAR_SENSORS
from deepracer_sim.sim.world import RACE_TYPES, ObjectsConfig

#: deepracer-for-cloud's template head-to-bot field (``template-run.env``: 3 bot cars).
DEFAULT_BOTS = 3


def add_race_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--race-type``, ``--race-config`` and the object options."""
    p.add_argument("--race-type", choices=RACE_TYPES, default=None,
                   help="race type (default: the --race-config's, else TIME_TRIAL); "
                        "OBJECT_AVOIDANCE without --boxes/--box-positions uses DeepRacer-on-"
                        "AWS's 3 boxes at 15/30/45 %% of the lap, inside/outside/inside; "
                        f"HEAD_TO_BOT without --bots uses {DEFAULT_BOTS} bot cars")
    p.add_argument("--race-config", type=Path, action="append", default=None, metavar="FILE",
                   help="deepracer-for-cloud run.env / system.env (DR_RACE_TYPE, DR_OA_*, "
                        "DR_H2B_*; repeat to merge) or a DeepRacer-on-AWS-shaped JSON")
    p.add_argument("--boxes", type=values.integer(0, MAX_OBJECTS), default=None,
                   help="boxes spread along the lap (count; default none)")
    p.add_argument("--box-positions", default=None, metavar="F,LANE;...",
                   help="fixed boxes: fraction of the lap and lane (1 inside, -1 outside), "
                        "e.g. '0.15,1;0.30,-1;0.45,1'")
    p.add_argument("--randomize-boxes", action="store_true",
                   help="re-draw the boxes' places every episode")
    p.add_argument("--bots", type=values.integer(0, MAX_OBJECTS), default=None,
                   help="bot cars (count; default none)")
    p.add_argument("--bot-speed", type=values.number(0.0, above=True), default=None,
                   help="bot car speed along the centre line, m/s (default 0.2)")
    p.add_argument("--lane-change", action="store_true",
                   help="bot cars change lanes every 3-5 s (see --lane-change-time)")
    p.add_argument("--lane-change-time", type=values.number(0.0, above=True), nargs=2,
                   default=None,
                   metavar=("LOW", "HIGH"), help="bounds of the time between lane changes, s")
    p.add_argument("--lidar", choices=tuple(LIDAR_SENSORS), default=None,
                   help="the model's lidar (with objects): its observation joins the features")
    p.add_argument("--objects-seed", type=values.seed, default=0,
                   help="seed of the random object places and lane changes (default 0)")


#: The race options' argparse destinations (their defaults mean "not given").
RACE_OPTION_DESTS = ("race_type", "race_config", "boxes", "box_positions", "randomize_boxes",
                     "bots", "bot_speed", "lane_change", "lane_change_time", "lidar")


def race_options_given(args: argparse.Namespace) -> list[str]:
    """The race options given on the command line (``--objects-seed`` counts when not 0), as
    ``--name`` strings."""
    given = [f"--{d.replace('_', '-')}" for d in RACE_OPTION_DESTS
             if getattr(args, d) not in (None, False)]
    return given + (["--objects-seed"] if args.objects_seed else [])


def race_from_args(args: argparse.Namespace) -> tuple[str, ObjectsConfig | None]:
    """(race type, objects) of the options. Raises UsageError."""
    race_type, objects = (read_race_files(args.race_config) if args.race_config
                          else ("TIME_TRIAL", None))
    race_type = args.race_type or race_type
    changes: dict = {"seed": args.objects_seed}
    if args.boxes is not None:
        changes["boxes"] = args.boxes
    if args.box_positions is not None:
        changes["box_positions"] = parse_positions(args.box_positions, "--box-positions")
    if args.randomize_boxes:
        changes["randomize_boxes"] = True
    if args.bots is not None:
        changes["bots"] = args.bots
    if args.bot_speed is not None:
        changes["bot_speed"] = args.bot_speed
    if args.lane_change:
        changes["lane_change"] = True
    if args.lidar:
        changes["lidar"] = args.lidar
    if args.lane_change_time is not None:
        changes["lower_lane_change_time"], changes["upper_lane_change_time"] = (
            args.lane_change_time)
    objects = replace(objects or ObjectsConfig(), **changes)
    if race_type == "TIME_TRIAL":
        if objects.count:
            raise UsageError("objects need --race-type OBJECT_AVOIDANCE or HEAD_TO_BOT")
        return race_type, None
    if race_type == "OBJECT_AVOIDANCE" and objects.num_boxes == 0:
        objects = replace(objects, box_positions=DROA_DEFAULT_OBJECT_POSITIONS)
    if race_type == "HEAD_TO_BOT" and objects.bots == 0:
        objects = replace(objects, bots=DEFAULT_BOTS)
    return race_type, objects.check("race options")
