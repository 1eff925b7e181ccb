"""Findings of the file validators, and the two ways of using them.

Every DeepRacer file has one validator in this package that returns a list of
:class:`Problem` (the *report* mode: ``deepracer-sim export --check`` prints them all) and one
reader that raises the file's :class:`~deepracer_sim.errors.DeepRacerSimError` subclass on the
first error-level problems (the *strict* mode: training, evaluation, export and clone). Both
modes run the same rules, so a file gets the same verdict from either.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from deepracer_sim.errors import DeepRacerSimError, missing_file_text

ERROR = "error"
WARNING = "warning"


@dataclass
class Problem:
    """One finding: where (the file, relative to the folder checked), what, how to fix it.

    Attributes:
        where: the file, e.g. ``model/model_metadata.json``.
        message: what is wrong; it names the field and the value.
        fix: what to do about it.
        level: :data:`ERROR` (the file is rejected) or :data:`WARNING` (worth reading).
        field: the field concerned, e.g. ``action_space[1].speed`` ("" for the whole file).
    """

    where: str
    message: str
    fix: str
    level: str = ERROR
    field: str = ""

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}\n    fix: {self.fix}"


def errors(problems: list[Problem]) -> list[Problem]:
    """The error-level problems of ``problems``."""
    return [p for p in problems if p.level == ERROR]


def raise_errors(problems: list[Problem], error: type[DeepRacerSimError], source: str) -> None:
    """The strict mode: raise ``error`` naming ``source`` and every error-level problem (its
    message and fix); warnings are not raised.

    Raises:
        DeepRacerSimError: the given subclass, when ``problems`` holds an error.
    """
    found = errors(problems)
    if not found:
        return
    lines = [f"{p.message}; fix: {p.fix}" for p in found]
    if len(lines) == 1:
        raise error(f"{source}: {lines[0]}")
    raise error(f"{source}: {len(lines)} problems:\n" + "\n".join(f"  - {t}" for t in lines))


def is_number(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` is a finite JSON number (``bool`` is not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(float(value))


#: :func:`load_json`'s "could not be parsed" result.
UNREADABLE = object()


def load_json(path: Path, where: str) -> tuple[object, list[Problem]]:
    """(data, []) of a JSON file, or (:data:`UNREADABLE`, [the problem]) when it is not
    valid UTF-8 JSON (the message names the line)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")), []
    except json.JSONDecodeError as exc:
        return UNREADABLE, [Problem(where, f"line {exc.lineno}: invalid JSON: {exc.msg}",
                                    "write valid JSON")]
    except UnicodeDecodeError:
        return UNREADABLE, [Problem(where, "not UTF-8 text", "save it as UTF-8 JSON")]


def read_json(path: Path, error: type[DeepRacerSimError], expected: str = "",
              damaged: str = "") -> object:
    """The strict JSON reader: the data of ``path`` (``expected`` ends the message of a missing
    file, e.g. " (expected a model_metadata.json)"; ``damaged`` the message of a file that is not
    JSON, e.g. "; fix: ...").

    Raises:
        DeepRacerSimError: the given subclass for a missing file (or a folder given as one),
            invalid JSON (with the line) or text that is not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        what = "file not found" if not path.exists() else missing_file_text(path).split(
            f"{path} ", 1)[-1]
        raise error(f"{path}: {what}{expected}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}{damaged}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text{damaged}") from None
