"""The records check: our flying-lap rules bound beside the fastest laps real racers drove.

A records file is a CSV in the format of ``../shared/docs/leaderboard-records.csv`` (header
``leaderboard,launched,track,timing,participants,best_lap_s,best_avg_lap_s,best_total_s,
physics_era``; ``leaderboard-records.md`` describes it): one row per virtual-league race, its
track (a name found as ``--track`` finds one), the fastest single lap (``best_lap_s``) and the
simulator generation then (``physics_era``: ``v4``, ``v5``, ``v6``). A record is a best lap,
possibly a flying lap with up to three wheels off the road, so it is compared with the flying
rules bound (:mod:`.bounds`): a real car cannot beat the physics (record >= bound), and the
best of thousands of racers comes close to it (record / bound near 1).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from deepracer_sim.errors import RecordsError
from deepracer_sim.raceline.bounds import LapBounds, compute_bounds
from deepracer_sim.sim.car import PHYSICS
from deepracer_sim.track import load_track

#: The columns a records file must have (others are ignored).
RECORD_COLUMNS = ("leaderboard", "launched", "track", "best_lap_s", "physics_era")


@dataclass(frozen=True)
class Record:
    """One row of a records file.

    Attributes:
        leaderboard: the race's name; launched: its start date (as written, YYYY-MM-DD).
        track: the track name; physics: the generation (``physics_era``).
        best_lap: the fastest single lap of any racer, s.
    """

    leaderboard: str
    launched: str
    track: str
    physics: str
    best_lap: float


def read_records(path: str | Path) -> list[Record]:
    """The rows of a records CSV.

    Raises:
        RecordsError: an unreadable file, a missing column, an unknown ``physics_era`` or a
            ``best_lap_s`` that is not a positive number (the message names the row).
    """
    path = Path(path)
    try:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RecordsError(f"{path}: cannot read the records file: {exc}") from None
    if not rows:
        raise RecordsError(f"{path}: no rows; expected a header with "
                           f"{', '.join(RECORD_COLUMNS)} and one row per leaderboard")
    missing = [c for c in RECORD_COLUMNS if c not in rows[0]]
    if missing:
        raise RecordsError(f"{path}: missing column(s) {', '.join(missing)}; the header needs "
                           f"{', '.join(RECORD_COLUMNS)}")
    out = []
    for n, row in enumerate(rows, start=2):
        era = (row["physics_era"] or "").strip()
        if era not in PHYSICS:
            raise RecordsError(f"{path}, line {n}: physics_era {era!r}; use one of "
                               f"{', '.join(PHYSICS)}")
        try:
            best = float(row["best_lap_s"])
        except (TypeError, ValueError):
            best = math.nan
        if not (math.isfinite(best) and best > 0.0):
            raise RecordsError(f"{path}, line {n}: best_lap_s {row['best_lap_s']!r} is not a "
                               "positive number of seconds")
        out.append(Record(row["leaderboard"].strip(), row["launched"].strip(),
                          row["track"].strip(), era, best))
    return out


def check_records(records: list[Record], physics: str | None = None,
                  grip: float | None = None) -> list[dict]:
    """For each record: ``{"leaderboard", "track", "physics", "record", "bound", "ratio"}``
    with ``bound`` our flying-lap rules bound (s) under the row's generation (or ``physics``)
    and ``ratio`` = record / bound (an open track: the standing rules bound). Bounds are
    computed once per (track, physics).

    Raises:
        TrackError: a track that cannot be found (the message names it).
        UsageError, RacelineError: as :func:`~.bounds.compute_bounds`.
    """
    cache: dict[tuple[str, str], LapBounds] = {}
    out = []
    for rec in records:
        gen = physics or rec.physics
        if (rec.track, gen) not in cache:
            cache[(rec.track, gen)] = compute_bounds(load_track(rec.track), gen, grip=grip)
        bounds = cache[(rec.track, gen)]
        bound = bounds.flying_rules_bound
        if not math.isfinite(bound):  # an open track has no flying lap
            bound = bounds.rules_bound
        out.append({"leaderboard": rec.leaderboard, "track": rec.track, "physics": gen,
                    "record": rec.best_lap, "bound": round(bound, 4),
                    "ratio": round(rec.best_lap / bound, 4)})
    return out
