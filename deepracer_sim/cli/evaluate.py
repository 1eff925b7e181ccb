"""Evaluate a trained run: greedy laps, each a fresh episode from the start line; or a race.

    deepracer-sim evaluate RUN_DIR [--track NAME|PATH] [--laps 3] [--checkpoint best|last|N]
        [--physics v4|v5|v6] [--json] [--render] [--record out.mp4|out.gif] [--camera]
    deepracer-sim evaluate RUN_DIR --race [--laps 3] [--off-track-penalty S]
        [--collision-penalty S] [--max-resets N] [--timing AVG_LAP_TIME|BEST_LAP_TIME|TOTAL_TIME]
        [--minimum-laps N] [--starts K] [--speed-multiplier X] [--steering-noise DEG]
        [--speed-noise FRACTION] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
from contextlib import nullcontext
from pathlib import Path

from deepracer_sim.cli import values
from deepracer_sim.cli.options import add_physics_argument
from deepracer_sim.errors import UsageError, check_output_file, writing
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.training.race import (
    SPEED_MULTIPLIER_RANGE,
    RaceConditions,
    evenly_spaced_starts,
    race_run,
)
from deepracer_sim.training.race_scoring import DEFAULT_MAX_RESETS, TIMING_METHODS, RaceRules
from deepracer_sim.viewer.live import EvaluationViewer

HELP = "evaluate a run folder: laps, lap times, completion; or a race with resets (--race)"

#: Most start points of ``--starts``.
MAX_STARTS = 100


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim evaluate``."""
    p.add_argument("run_dir", type=Path, help="a run folder written by train")
    p.add_argument("--track", default=None,
                   help="evaluate on another track, name or .npy path (default: the training "
                        "track)")
    p.add_argument("--laps", type=values.integer(1, values.MAX_LAPS), default=3,
                   help="laps, each a fresh episode (with --race: continuous laps of the race)")
    p.add_argument("--checkpoint", default="best",
                   help="best, last, or a checkpoint number N (model/N_Step-<steps>.zip: the "
                        "policy after N updates; 0 = untrained)")
    add_physics_argument(p, "the run's (run_config.json), else its model version's")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--render", action="store_true", help="watch the laps live in a window")
    p.add_argument("--record", type=Path, default=None,
                   help="write a video of the laps (.mp4 or .gif); works without a screen")
    p.add_argument("--camera", action="store_true",
                   help="with --render or --record: show the car's camera image "
                        "(FRONT_FACING_CAMERA, 160x120 grey) beside the track")
    race = p.add_argument_group("race (docs/race.md)")
    race.add_argument("--race", action="store_true",
                      help="race: continuous laps, resets with penalty seconds, a leaderboard "
                           "entry")
    race.add_argument("--off-track-penalty", type=values.number(0.0, 60.0), default=2.0,
                      help="seconds the car is held after an off-track (or reversed) reset")
    race.add_argument("--collision-penalty", type=values.number(0.0, 60.0), default=5.0,
                      help="seconds the car is held after a collision reset")
    race.add_argument("--max-resets", type=values.integer(0, 100_000),
                      default=DEFAULT_MAX_RESETS,
                      help="resets allowed, count; the next one ends the race")
    race.add_argument("--timing", choices=TIMING_METHODS, default="AVG_LAP_TIME",
                      help="the ranking score: best average over --minimum-laps consecutive "
                           "laps, best lap, or total time (s)")
    race.add_argument("--minimum-laps", type=values.integer(1, values.MAX_LAPS), default=None,
                      help="laps of the averaging window and needed to be ranked, count "
                           "(default: --laps)")
    race.add_argument("--starts", type=values.integer(1, MAX_STARTS), default=1,
                      help="races from this many start points spread over the lap, count")
    race.add_argument("--speed-multiplier", type=values.number(*SPEED_MULTIPLIER_RANGE),
                      default=1.0, help="multiply every commanded speed (0.5 to 1.5), factor")
    race.add_argument("--steering-noise", type=values.number(0.0, 30.0), default=0.0,
                      help="Gaussian noise added to every steering command, sd in degrees")
    race.add_argument("--speed-noise", type=values.number(0.0, 1.0), default=0.0,
                      help="Gaussian relative noise on every speed command, sd as a fraction")
    race.add_argument("--seed", type=values.seed, default=0, help="seed of the noise")


def _race(args: argparse.Namespace) -> int:
    if args.render or args.record is not None:
        raise UsageError("--race does not draw yet; drop --render/--record")
    rules = RaceRules(laps=args.laps, max_resets=args.max_resets,
                      off_track_penalty=args.off_track_penalty,
                      collision_penalty=args.collision_penalty)
    conditions = RaceConditions(evenly_spaced_starts(args.starts), args.speed_multiplier,
                                args.steering_noise, args.speed_noise, args.seed)
    report = race_run(args.run_dir, rules, conditions, args.timing, args.minimum_laps,
                      args.track, args.checkpoint, args.physics)
    print(json.dumps(report.to_json()) if args.json else report.table())
    return 0


def run(args: argparse.Namespace) -> int:
    """Evaluate; print a table or one JSON object."""
    if args.race:
        return _race(args)
    observers = []
    if args.record is not None:
        check_output_file(args.record, "--record")
    if args.render or args.record is not None:
        observers.append(EvaluationViewer(window=args.render, record=args.record,
                                          camera=args.camera))
    with writing(args.record, "--record") if args.record is not None else nullcontext():
        report = evaluate_run(args.run_dir, track=args.track, laps=args.laps,
                              checkpoint=args.checkpoint, observers=observers,
                              physics=args.physics)
    print(json.dumps(report.to_json()) if args.json else report.table())
    return 0
