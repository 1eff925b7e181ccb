"""The ``deepracer-sim`` command line: one subcommand per tool.

Each subcommand lives in a module of this package with a one-line ``HELP``, an
``add_arguments(parser)`` and a ``run(args) -> int``; this module builds the parser and turns
errors into exit codes: any :class:`~deepracer_sim.errors.DeepRacerSimError` (bad input) is
printed as one ``error: ...`` line with exit status 2, Ctrl-C exits with 130; a
:class:`~deepracer_sim.errors.DeepRacerSimWarning` is printed as one ``warning: ...`` line.
``train.py`` and ``evaluate.py`` at the repository root and ``python -m deepracer_sim`` are
aliases.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

from deepracer_sim.cli import (
    analyze,
    bench,
    calibrate,
    drive,
    evaluate,
    export,
    fidelity,
    raceline,
    reward,
    tracks,
    train,
)
from deepracer_sim.errors import DeepRacerSimError, DeepRacerSimWarning

#: Subcommand name -> its module, in the order ``--help`` lists them.
COMMANDS: dict[str, ModuleType] = {
    "train": train,
    "evaluate": evaluate,
    "analyze": analyze,
    "export": export,
    "reward": reward,
    "tracks": tracks,
    "raceline": raceline,
    "drive": drive,
    "fidelity": fidelity,
    "calibrate": calibrate,
    "bench": bench,
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (unless it is None or a flag's False: the help text then
    says what happens) and keeps the descriptions' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The ``deepracer-sim`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="deepracer-sim",
        description="A local AWS DeepRacer simulator: train, evaluate, analyse and export "
                    "DeepRacer models on a laptop.",
        formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=HelpFormatter)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``deepracer-sim`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return guard(args.run, args)
    finally:
        warnings.showwarning = shown


#: Python's own way of showing a warning (for the warnings that are not deepracer-sim's).
_PYTHON_SHOWWARNING = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A :class:`DeepRacerSimWarning` as one ``warning: ...`` line on stderr; any other warning
    as Python shows it."""
    if issubclass(category, DeepRacerSimWarning):
        print(f"warning: {message}", file=sys.stderr if file is None else file)
    else:
        _PYTHON_SHOWWARNING(message, category, filename, lineno, file, line)


def guard(run, args: argparse.Namespace) -> int:
    """``run(args)``, with input errors as one line on stderr (exit 2) and Ctrl-C as exit 130."""
    try:
        return int(run(args))
    except DeepRacerSimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def script(command: str) -> int:
    """Entry point of the ``train.py`` / ``evaluate.py`` aliases: ``deepracer-sim COMMAND``."""
    return main([command, *sys.argv[1:]])
