#!/usr/bin/env python3
"""Train a PPO policy on a DeepRacer reward function, locally.

    python train.py --reward rewards/center.py [--track NAME|PATH]
        [--action-space model_metadata.json | --max-steering 30 --steering-levels 5
         --max-speed 1 --speed-levels 2] [--hyperparameters hyperparameters.json]
        [--timesteps N] [--n-envs K] [--seed S] [--out runs/NAME]

See README.md for what each option maps to in DeepRacer.
"""

from __future__ import annotations

import time

STARTED_AT = time.time()  # wall times in the run's logs count from here

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--reward", required=True, type=Path,
                   help="reward file defining reward_function(params)")
    p.add_argument("--track", default="dr_sim_default",
                   help="track name (tracks/ or DEEPRACER_TRACKS_PATH) or .npy path")
    p.add_argument("--action-space", type=Path, default=None,
                   help="model_metadata.json with the action space (and version)")
    p.add_argument("--max-steering", type=float, default=None,
                   help="degrees (console-style action space; default 30)")
    p.add_argument("--steering-levels", type=int, default=None, help="default 5")
    p.add_argument("--max-speed", type=float, default=None, help="m/s, default 1")
    p.add_argument("--speed-levels", type=int, default=None, help="default 2")
    p.add_argument("--version", type=float, default=None,
                   help="physics version (>=5 velocity-controlled car, 4 the v4 car); "
                        "default: the metadata's, else 6")
    p.add_argument("--hyperparameters", type=Path, default=None,
                   help="DeepRacer hyperparameters.json")
    p.add_argument("--timesteps", type=int, default=200_000, help="environment steps")
    p.add_argument("--n-envs", type=int, default=16, help="cars simulated side by side")
    p.add_argument("--n-steps", type=int, default=256, help="steps per car per iteration")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None,
                   help="run folder (default runs/<reward>-<track>-<time>)")
    p.add_argument("--alternate-direction", action="store_true",
                   help="flip the driving direction after every episode")
    p.add_argument("--reverse-direction", action="store_true",
                   help="drive against the track's waypoint order")
    p.add_argument("--clone", type=Path, default=None,
                   help="continue training from an exported or run folder (its action space "
                        "is kept; as the DeepRacer console's clone)")
    p.add_argument("--render", action="store_true",
                   help="watch one of the training cars live in a window")
    p.add_argument("--stop-when-complete", action="store_true",
                   help="stop once every evaluation episode completes its lap")
    p.add_argument("--no-progress-bar", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from deepracer_sim.cli import run_training

    return run_training(args, started_at=STARTED_AT)


if __name__ == "__main__":
    sys.exit(main())
