"""The command line's number checks: argparse types that refuse a value where it comes in.

Each factory returns a ``type=`` callable for ``add_argument``: a value out of range is an
``argparse.ArgumentTypeError``, so argparse prints ``error: argument --NAME: ...`` with the
accepted range and exits with status 2 before anything runs. Floats must be finite (``nan``
and ``inf`` parse as floats).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from deepracer_sim.errors import ActionSpaceError
from deepracer_sim.formats.model_metadata import check_version

#: The seeds numpy and stable-baselines3 accept (``numpy.random.seed``: 0 to 2**32 - 1).
SEED_RANGE = (0, 2**32 - 1)
#: Most cars ``train --n-envs`` simulates side by side (the default is 16; thousands of cars
#: only fill the memory with rollouts).
MAX_CARS = 4096
#: Most steps per car per iteration (``train --n-steps``; default 256).
MAX_ROLLOUT_STEPS = 65536
#: Most laps ``evaluate --laps`` drives (side by side in one batch; from the start line the
#: simulator's laps are identical, so a few are plenty).
MAX_LAPS = 1000


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _bounds(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"from {_num(lo)} to {_num(hi)}"
    if lo is not None:
        return f">= {_num(lo)}"
    return f"<= {_num(hi)}" if hi is not None else "finite"


def integer(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """A ``type=`` for an integer within [lo, hi] (either end open when None)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{value} is out of range: give an integer "
                                             f"{_bounds(lo, hi)}")
        return value
    parse.__name__ = "integer"
    return parse


def number(lo: float | None = None, hi: float | None = None, *,
           above: bool = False) -> Callable[[str], float]:
    """A ``type=`` for a finite float within [lo, hi] (``above``: strictly greater than lo)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        low_ok = lo is None or (value > lo if above else value >= lo)
        if not math.isfinite(value) or not low_ok or (hi is not None and value > hi):
            rng = (f"> {lo:g}" + (f" and <= {hi:g}" if hi is not None else "")) if above \
                else _bounds(lo, hi)
            raise argparse.ArgumentTypeError(f"{text} is out of range: give a finite number "
                                             f"{rng}")
        return value
    parse.__name__ = "number"
    return parse


def seed(text: str) -> int:
    """A ``type=`` for a random seed (:data:`SEED_RANGE`)."""
    return integer(*SEED_RANGE)(text)


def version(text: str) -> float:
    """A ``type=`` for a ``model_metadata.json`` version, by the one rule of
    :func:`~deepracer_sim.formats.model_metadata.check_version`."""
    try:
        return check_version(text, "--version")
    except ActionSpaceError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--version: ")) from None
