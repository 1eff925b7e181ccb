"""Options several commands share: ``--physics``."""

from __future__ import annotations

import argparse

from deepracer_sim.sim.car import PHYSICS

#: What ``--physics`` picks, for the commands' help.
PHYSICS_HELP = ("simulator generation whose car drives: v4 = the ROS1 car of model versions "
                "3-4, v5 = the ROS1 car of simapp 5.x (the 2022-2025 console league, "
                "deepracer-for-cloud 5.x), v6 = the ROS 2 car of simapp 6.x and "
                "DeepRacer-on-AWS (deepracer-for-cloud 6.x images run it for any version >= 5)")


def add_physics_argument(p: argparse.ArgumentParser, when_absent: str) -> None:
    """Add ``--physics v4|v5|v6`` (default None) whose help ends with ``when_absent``, what
    happens when it is not given."""
    p.add_argument("--physics", choices=PHYSICS, default=None,
                   help=f"{PHYSICS_HELP}; if not given: {when_absent}")
