"""Sim-trace CSV files: the per-step log DeepRacer writes (spec §7).

Header of the current simapp (19 columns); older files have the first 17 (up to
``pause_duration``) or 18 (plus ``obstacle_crash_counter``); all three are read.
"""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path

import numpy as np

from deepracer_sim.errors import SimtraceError

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
    """Read one sim-trace CSV into columns (a ``.gz`` file is read through gzip).

    Returns:
        {column: array}: float64 for numbers, int64 for ``episode``/``closest_waypoint``/
        ``obstacle_crash_counter``, bool for ``done``/``all_wheels_on_track``, str (object) for
        ``action`` and ``episode_status``. Columns absent from the file are absent here.

    Raises:
        SimtraceError: a header that does not start with the 17 standard columns, or a bad value.
    """
    path = Path(path)
    with (gzip.open(path, "rt", newline="") if path.suffix == ".gz"
          else path.open(newline="")) as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise SimtraceError(f"{path}: empty file, expected a sim-trace header") from None
        if tuple(header[:17]) != SIMTRACE_COLUMNS[:17]:
            raise SimtraceError(f"{path}: header {header[:17]} is not a DeepRacer sim-trace "
                                f"header (expected {','.join(SIMTRACE_COLUMNS[:17])}...)")
        rows = list(reader)
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
