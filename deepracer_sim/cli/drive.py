"""Drive the car yourself with the arrow keys and watch what your reward function pays
(the params dict of every step, the reward and its history).

    deepracer-sim drive --reward rewards/center.py [--track NAME|PATH]
        [--action-space model_metadata.json] [--reverse-direction] [--start 0.25]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepracer_sim.cli import values
from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.errors import UsageError, check_output_file, writing
from deepracer_sim.formats.model_metadata import DEFAULT_VERSION
from deepracer_sim.formats.run_folder import MODEL_METADATA
from deepracer_sim.track import DEFAULT_TRACK
from deepracer_sim.viewer.drive import DriveApp, run_app, save_screenshot
from deepracer_sim.viewer.window import Window

#: Largest window side, pixels.
MAX_WINDOW = 16384

HELP = "drive the car with the keyboard and watch your reward function's params and rewards"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim drive``."""
    p.add_argument("--track", metavar="NAME|PATH", default=DEFAULT_TRACK,
                   help="track name or .npy path")
    p.add_argument("--reward", metavar="FILE", required=True, type=Path,
                   help="reward file (.py) defining reward_function(params); required")
    p.add_argument("--action-space", metavar="FILE", type=Path, default=None,
                   help=f"{MODEL_METADATA} with the action space; DeepRacer's 10 actions "
                        "(steering -30..30 degrees x 5, speed 0.5 and 1 m/s) when not given")
    p.add_argument("--version", type=values.version, default=None,
                   help=f"{MODEL_METADATA} version (simapp physics); the metadata's, else "
                        f"{DEFAULT_VERSION:g}, when not given")
    p.add_argument("--reverse-direction", action="store_true",
                   help="drive against the track's waypoint order")
    p.add_argument("--start", type=values.number(0.0, 1.0), default=0.0,
                   help="start point, fraction of a lap from waypoint 0 (0..1)")
    p.add_argument("--size", metavar="WIDTHxHEIGHT", default="1440x860",
                   help="window size, pixels")
    p.add_argument("--frames", type=values.integer(1), default=None,
                   help="quit after this many frames (scripted runs); run until the window "
                        "is closed when not given")
    p.add_argument("--screenshot", metavar="PNG", type=Path, default=None,
                   help="PNG file the last frame is saved to when quitting; none when not "
                        "given")


def run(args: argparse.Namespace) -> int:
    """Open the window and drive until it is closed."""
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size {args.size}: give WIDTHxHEIGHT, e.g. 1440x860") from None
    if not (1 <= width <= MAX_WINDOW and 1 <= height <= MAX_WINDOW):
        raise UsageError(f"--size {args.size}: give a width and height from 1 to {MAX_WINDOW} "
                         "pixels, e.g. 1440x860")
    if args.screenshot is not None:
        check_output_file(args.screenshot, "--screenshot")
    env = DeepRacerEnv(track=args.track, reward_function=args.reward,
                       action_space=args.action_space, version=args.version, training=False,
                       reverse_direction=args.reverse_direction, start_position=args.start)
    app = DriveApp(env, reward_name=str(args.reward))
    window = Window(f"DeepRacer drive · {env.track.name} · {args.reward}", (width, height))
    try:
        run_app(app, window, args.frames)
        if args.screenshot is not None:
            with writing(args.screenshot, "--screenshot"):
                save_screenshot(window, args.screenshot)
    finally:
        window.close()
    return 0
