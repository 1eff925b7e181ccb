"""Sim-trace CSV files: the per-step log DeepRacer writes (spec §7).

Header of the current simapp (19 columns); older files have the first 17 (up to
``pause_duration``) or 18 (plus ``obstacle_crash_counter``); all three are read.

A file being written when its run was killed can end in a cut row: a last row with fewer values
than the header, or a value that does not parse, is skipped with a
:class:`~deepracer_sim.errors.DeepRacerSimWarning` naming the file and the line; the same in
any other row is a :class:`~deepracer_sim.errors.SimtraceError` (the file is damaged). Blank
lines are skipped. :func:`read_simtrace` is the one reader of sim-traces (analysis, the reward
replay and the fidelity replay read through it).
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np

from deepracer_sim.errors import DeepRacerSimWarning, SimtraceError

#: Column names in file order, as the current simapp writes them.
SIMTRACE_COLUMNS = (
    "episode", "steps", "X", "Y", "yaw", "steer", "throttle", "action", "reward", "done",
    "all_wheels_on_track", "progress", "closest_waypoint", "track_len", "tstamp",
    "episode_status", "pause_duration", "obstacle_crash_counter", "wall_clock",
)
_FLOAT = ("steps", "X", "Y", "yaw", "steer", "throttle", "reward", "progress", "track_len",
          "tstamp", "pause_duration", "wall_clock")
_INT = ("episode", "closest_waypoint", "obstacle_crash_counter")
_BOOL = ("done", "all_wheels_on_track")


def read_simtrace(path: str | Path) -> dict[str, np.ndarray]:
    """Read one sim-trace CSV into columns.

    Returns:
        {column: array}: float64 for numbers, int64 for ``episode``/``closest_waypoint``/
        ``obstacle_crash_counter``, bool for ``done``/``all_wheels_on_track``, str (object) for
        ``action`` and ``episode_status``. Columns absent from the file are absent here.

    Raises:
        SimtraceError: a header that does not start with the 17 standard columns, a row (not
            the last) with fewer values than the header, or a bad value.

    Warns:
        DeepRacerSimWarning: a cut-off last row was skipped (module docstring).
    """
    path = Path(path)
    with path.open(newline="", errors="replace") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise SimtraceError(f"{path}: empty file, expected a sim-trace header") from None
        if tuple(header[:17]) != SIMTRACE_COLUMNS[:17]:
            raise SimtraceError(f"{path}: header {header[:17]} is not a DeepRacer sim-trace "
                                f"header (expected {','.join(SIMTRACE_COLUMNS[:17])}...)")
        rows: list[list[str]] = []
        lines: list[int] = []
        for row in reader:
            if row:
                rows.append(row)
                lines.append(reader.line_num)
    _drop_cut_last_row(path, header, rows, lines)
    for row, line in zip(rows, lines, strict=True):
        if len(row) < len(header):
            raise SimtraceError(f"{path}: line {line}: {len(row)} values, the header has "
                                f"{len(header)}; the file is damaged (fix: remove that line)")
    return _columns(path, header, rows)


def _parses(header: list[str], row: list[str]) -> bool:
    """Whether every value of ``row`` parses as its column's type."""
    try:
        for name, value in zip(header, row, strict=False):
            if name in _FLOAT:
                float(value)
            elif name in _INT:
                int(float(value))
            elif name in _BOOL and value not in ("True", "False"):
                return False
    except ValueError:
        return False
    return True


def _drop_cut_last_row(path: Path, header: list[str], rows: list[list[str]],
                       lines: list[int]) -> None:
    """Drop (with a warning) a last row cut short while the file was written."""
    if rows and (len(rows[-1]) < len(header) or not _parses(header, rows[-1])):
        warnings.warn(f"{path}: line {lines[-1]}: skipped a cut-off last row ({len(rows[-1])} "
                      f"of {len(header)} values): the file was being written when its run "
                      "stopped", DeepRacerSimWarning, stacklevel=3)
        rows.pop()
        lines.pop()


def _columns(path: Path, header: list[str], rows: list[list[str]]) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    for k, name in enumerate(header):
        values = [r[k] for r in rows]
        try:
            if name in _FLOAT:
                cols[name] = np.array(values, dtype=np.float64)
            elif name in _INT:
                cols[name] = np.array([int(float(v)) for v in values], dtype=np.int64)
            elif name in _BOOL:
                cols[name] = np.array([v == "True" for v in values], dtype=bool)
            else:
                cols[name] = np.array(values, dtype=object)
        except ValueError as exc:
            raise SimtraceError(f"{path}: column {name!r}: {exc}") from None
    return cols


def find_simtrace_files(folder: str | Path, kind: str = "training") -> list[Path]:
    """All ``<kind>-simtrace/<i>-iteration.csv`` files under ``folder``, by worker and iteration.

    Handles the deepracer-for-cloud single- and multi-worker layouts and the console/DRoA
    ``sim-trace/...`` layouts.
    """
    files = list(Path(folder).rglob(f"{kind}-simtrace/*-iteration.csv"))

    def key(p: Path) -> tuple[str, int]:
        m = re.match(r"(\d+)-iteration\.csv$", p.name)
        return (str(p.parent.parent), int(m.group(1)) if m else -1)

    return sorted(files, key=key)


#: The header line of the current simapp (19 columns).
SIMTRACE_HEADER = ",".join(SIMTRACE_COLUMNS)
