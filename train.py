#!/usr/bin/env python3
"""Train a PPO policy on a DeepRacer reward function: ``deepracer-sim train`` (see ``--help``)."""

import sys

from deepracer_sim.cli import script

if __name__ == "__main__":
    sys.exit(script("train"))
