#!/usr/bin/env python3
"""Evaluate a trained run: ``deepracer-sim evaluate`` (see ``--help``)."""

import sys

from deepracer_sim.cli import script

if __name__ == "__main__":
    sys.exit(script("evaluate"))
