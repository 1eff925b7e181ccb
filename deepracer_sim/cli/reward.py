"""``deepracer-sim reward check|map|replay``: the reward-function lab.

* ``check FILE [--track NAME|PATH] [--action-space model_metadata.json|RUN_DIR]``: DeepRacer's
  validator and a sampled run (:mod:`.check`); exit status 0 only when nothing would fail in
  the cloud.
* ``map FILE [--track ...] [--speed V] [--steering A] [--heading-offset D] --out map.png``:
  the reward painted over the track (:mod:`.map`).
* ``replay FILE RUN_OR_LOG_DIR [--track ...]``: re-score logged driving (:mod:`.replay`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from deepracer_sim.cli import values
from deepracer_sim.constants import MAX_SPEED, MAX_STEERING_ANGLE
from deepracer_sim.errors import ReplayError, UsageError, check_output_file, writing
from deepracer_sim.formats.model_metadata import (
    discrete_action_space,
    read_model_metadata,
)
from deepracer_sim.reward import load_reward_function
from deepracer_sim.reward_lab.check import DEFAULT_SAMPLES, check_reward
from deepracer_sim.reward_lab.map import compute_reward_map, render_reward_map
from deepracer_sim.reward_lab.replay import replay
from deepracer_sim.track import DEFAULT_TRACK, load_track


def _emit(text: str) -> None:
    """Print, quietly giving up when the reader went away (``... | head``)."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _action_space(value: str | None):
    if value is None:
        return discrete_action_space()
    path = Path(value)
    if path.is_dir():
        for candidate in (path / "model" / "model_metadata.json", path / "model_metadata.json"):
            if candidate.is_file():
                path = candidate
                break
    space, _ = read_model_metadata(path)
    return space


def _cmd_check(args: argparse.Namespace) -> int:
    track = load_track(args.track)
    space = _action_space(args.action_space)
    report = check_reward(args.file, track, space, samples=args.samples, seed=args.seed,
                          lint_backend=args.lint)
    if args.json:
        _emit(json.dumps(report.to_dict(), indent=1, default=str))
    else:
        _emit(report.format(verbose=args.verbose))
    return report.exit_code


def _cmd_map(args: argparse.Namespace) -> int:
    if args.vmin is not None and args.vmax is not None and args.vmin >= args.vmax:
        raise UsageError(f"--vmin {args.vmin:g} must be below --vmax {args.vmax:g}")
    check_output_file(args.out, "--out")
    track = load_track(args.track)
    fn = load_reward_function(args.file)
    rmap = compute_reward_map(fn, track, resolution=args.resolution, margin=args.margin,
                              speed=args.speed, steering=args.steering,
                              heading_offset=args.heading_offset, reversed=args.reversed,
                              steps=args.steps)
    title = (f"{Path(args.file).name} on {track.name}: speed {args.speed:g} m/s, steering "
             f"{args.steering:g} deg, heading {args.heading_offset:+g} deg from the track"
             f"{', reversed' if args.reversed else ''}")
    try:
        with writing(args.out, "--out"):
            image = render_reward_map(rmap, args.out, title=title, vmin=args.vmin,
                                      vmax=args.vmax, cmap=args.cmap)
    except RuntimeError as exc:
        print(f"reward map: {exc}", file=sys.stderr)
        return 1
    finite = rmap.values[np.isfinite(rmap.values)]
    print(f"{image.path}: {rmap.painted} cells of {rmap.resolution:g} m; reward min "
          f"{finite.min():.6g}, max {finite.max():.6g}" if finite.size else
          f"{image.path}: no cell could be painted")
    if rmap.errors:
        print(f"reward_function failed on {rmap.errors} cells (left blank); first: "
              f"{rmap.first_error}", file=sys.stderr)
        return 1
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    if args.steps_out:
        check_output_file(args.steps_out, "--steps-out")
    try:
        report = replay(args.file, args.logs, track=args.track, kind=args.kind,
                        sections=args.sections)
    except ReplayError as exc:
        print(f"reward replay: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _emit(json.dumps(report.to_dict(), indent=1, default=str))
    else:
        _emit(report.format())
    if args.steps_out:
        out = Path(args.steps_out)
        rows = np.column_stack([report.episode, report.section, report.logged, report.new])
        with writing(out, "--steps-out"), out.open("w") as fh:
            fh.write("episode,section,logged_reward,new_reward\n")
            for e, s, a, b in rows.tolist():
                fh.write(f"{int(e)},{int(s)},{a!r},{b!r}\n")
    return 1 if report.errors else 0


#: Most ``check --samples`` (each sample is a params dict held in memory; the default is 3,000).
MAX_SAMPLES = 1_000_000
#: Finest ``map --resolution``, m: a 1 cm grid over the longest official track is already a
#: few million reward calls.
MIN_RESOLUTION = 0.01

HELP = "the reward-function lab: check (validate as DeepRacer does), map, replay"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommands of ``deepracer-sim reward``: check, map, replay."""
    sub = parser.add_subparsers(dest="reward_command", required=True)

    p = sub.add_parser("check", help="validate as DeepRacer does, then run on sampled params",
                       description="Static checks as DeepRacer's validator, the validator's own "
                       "run, then a sampled run. Exit status 0 only when nothing would fail "
                       "in the cloud.", formatter_class=parser.formatter_class)
    p.add_argument("file", help="reward file (.py)")
    p.add_argument("--track", default=DEFAULT_TRACK, help="track name or .npy path")
    p.add_argument("--action-space", metavar="FILE_OR_RUN_DIR", help="model_metadata.json or a "
                   "run folder; if not given: DeepRacer-on-AWS's 10 discrete actions")
    p.add_argument("--samples", type=values.integer(1, MAX_SAMPLES), default=DEFAULT_SAMPLES,
                   help="number of sampled params dicts")
    p.add_argument("--seed", type=values.seed, default=0, help="seed of the sampled params dicts")
    p.add_argument("--lint", choices=("auto", "flake8", "builtin"), default="auto",
                   help="flake8 (the validator's, if installed) or the built-in subset")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="also show info findings")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("map", help="paint the reward over the track (PNG)",
                       description="The reward painted over the track: every cell gets the "
                       "reward of the params dict of a car there, heading along the track.",
                       formatter_class=parser.formatter_class)
    p.add_argument("file", help="reward file (.py)")
    p.add_argument("--track", default=DEFAULT_TRACK, help="track name or .npy path")
    p.add_argument("--speed", type=values.number(0.0, MAX_SPEED), default=1.0,
                   help="params speed, m/s")
    p.add_argument("--steering", type=values.number(-MAX_STEERING_ANGLE, MAX_STEERING_ANGLE),
                   default=0.0, help="params steering_angle, degrees (+ = left)")
    p.add_argument("--heading-offset", type=values.number(-180.0, 180.0), default=0.0,
                   help="car heading relative to the track direction, degrees (+ = left)")
    p.add_argument("--reversed", action="store_true", help="drive against the row order")
    p.add_argument("--steps", type=values.number(0.0),
                   help="params steps everywhere, steps; if not given: the steps a car at "
                        "--speed needs to get there from the start")
    p.add_argument("--resolution", type=values.number(MIN_RESOLUTION, 1.0), default=0.05,
                   help="grid cell size, m")
    p.add_argument("--margin", type=values.number(0.0, 5.0), default=0.1,
                   help="also paint this far beyond the borders, m")
    p.add_argument("--vmin", type=values.number(),
                   help="colour scale minimum, reward; if not given: the map's minimum")
    p.add_argument("--vmax", type=values.number(),
                   help="colour scale maximum, reward; if not given: the map's maximum")
    p.add_argument("--cmap", default="viridis", help="matplotlib colour map")
    p.add_argument("--out", required=True, metavar="PNG", help="PNG file to write")
    p.set_defaults(func=_cmd_map)

    p = sub.add_parser("replay", help="re-score logged sim-traces with a reward function",
                       description="Re-score logged driving with a reward function: the logged "
                       "rewards against the new ones, per track section.",
                       formatter_class=parser.formatter_class)
    p.add_argument("file", help="reward file (.py)")
    p.add_argument("logs", metavar="RUN_OR_LOG_DIR",
                   help="run folder, folder of downloaded logs, or one sim-trace CSV")
    p.add_argument("--track", help="track name or .npy path; if not given: from "
                   "run_config.json or the logged track_len")
    p.add_argument("--kind", choices=("training", "evaluation"), default="training",
                   help="which sim-traces to re-score")
    p.add_argument("--sections", type=values.integer(1, 1000), default=10,
                   help="number of track sections in the report")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--steps-out", metavar="CSV",
                   help="also write the per-step rewards to this CSV")
    p.set_defaults(func=_cmd_replay)


def run(args: argparse.Namespace) -> int:
    """Run the chosen ``reward`` subcommand."""
    return int(args.func(args))
