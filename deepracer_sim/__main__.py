"""``python -m deepracer_sim``: the ``deepracer-sim`` command line."""

import sys

from deepracer_sim.cli import main

sys.exit(main())
