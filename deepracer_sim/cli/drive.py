"""Drive the car yourself with the arrow keys and watch what your reward function pays
(the params dict of every step, the reward and its history).

    deepracer-sim drive --reward rewards/center.py [--track NAME|PATH]
        [--action-space model_metadata.json] [--reverse-direction] [--start 0.25]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.errors import UsageError
from deepracer_sim.formats.model_metadata import DEFAULT_VERSION
from deepracer_sim.track import DEFAULT_TRACK
from deepracer_sim.viewer.drive import DriveApp, run_app, save_screenshot
from deepracer_sim.viewer.window import Window

HELP = "drive the car with the keyboard and watch your reward function's params and rewards"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim drive``."""
    p.add_argument("--track", default=DEFAULT_TRACK, help="track name or .npy path")
    p.add_argument("--reward", required=True, type=Path,
                   help="reward file defining reward_function(params)")
    p.add_argument("--action-space", type=Path, default=None,
                   help="model_metadata.json with the action space (default: DeepRacer's "
                        "10 actions, 30 degrees x 5, 1 m/s x 2)")
    p.add_argument("--version", type=float, default=None,
                   help=f"model_metadata version (default: the metadata's, else "
                        f"{DEFAULT_VERSION:g})")
    p.add_argument("--reverse-direction", action="store_true",
                   help="drive against the track's waypoint order")
    p.add_argument("--start", type=float, default=0.0,
                   help="start point, fraction of a lap from waypoint 0")
    p.add_argument("--size", default="1440x860", help="window size WIDTHxHEIGHT, pixels")
    p.add_argument("--frames", type=int, default=None,
                   help="quit after this many frames (scripted runs)")
    p.add_argument("--screenshot", type=Path, default=None,
                   help="save the last frame to this PNG when quitting")


def run(args: argparse.Namespace) -> int:
    """Open the window and drive until it is closed."""
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size {args.size}: give WIDTHxHEIGHT, e.g. 1440x860") from None
    if not math.isfinite(args.start):
        raise UsageError("--start must be a number")
    env = DeepRacerEnv(track=args.track, reward_function=args.reward,
                       action_space=args.action_space, version=args.version, training=False,
                       reverse_direction=args.reverse_direction, start_position=args.start)
    app = DriveApp(env, reward_name=str(args.reward))
    window = Window(f"DeepRacer drive · {env.track.name} · {args.reward}", (width, height))
    try:
        run_app(app, window, args.frames)
        if args.screenshot is not None:
            save_screenshot(window, args.screenshot)
    finally:
        window.close()
    return 0
