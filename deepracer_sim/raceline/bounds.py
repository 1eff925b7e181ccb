"""A track's four lap-time limits under one car: the limit, the rules bound, the flying lap and
the flying rules bound (:mod:`.line`'s module docstring), computed so that a looser problem is
never slower than a tighter one.

The limit's line (all four wheels on, standing start) is computed first; the rules bound tries
it besides its own lines (it lies in the wider corridor), the flying lap tries it too (it lies
in the unpinned corridor), and the flying rules bound tries all three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from deepracer_sim.raceline.line import RULES_MARGIN, SAFETY_MARGIN, RacingLine, compute_raceline
from deepracer_sim.sim.car import CarParams
from deepracer_sim.track import Track, load_track


@dataclass
class LapBounds:
    """The four limits of a track under one car.

    Attributes:
        limit: the standing-start line with all four wheels on the road (the line to follow).
        rules: the standing-start line under the off-track rule (None: not computed).
        flying: the flying-lap line with all four wheels on (None: not computed, or an open
            track).
        flying_rules: the flying-lap line under the off-track rule (None: as ``flying``).
    """

    limit: RacingLine
    rules: RacingLine | None = None
    flying: RacingLine | None = None
    flying_rules: RacingLine | None = None

    @property
    def rules_bound(self) -> float:
        """The rules bound's standing lap time, s (nan: not computed)."""
        return self.rules.lap_time if self.rules is not None else math.nan

    @property
    def flying_lap(self) -> float:
        """The flying lap's time with all four wheels on, s (nan: none)."""
        return self.flying.flying_time if self.flying is not None else math.nan

    @property
    def flying_rules_bound(self) -> float:
        """The flying lap's time under the off-track rule, s (nan: none)."""
        return self.flying_rules.flying_time if self.flying_rules is not None else math.nan

    def summary(self) -> dict:
        """The limit's :meth:`~.line.RacingLine.summary` with ``rules_bound``, ``flying_lap``
        and ``flying_rules_bound`` (s; None when not computed)."""
        out = self.limit.summary()
        for key, value in (("rules_bound", self.rules_bound), ("flying_lap", self.flying_lap),
                           ("flying_rules_bound", self.flying_rules_bound)):
            out[key] = round(value, 4) if math.isfinite(value) else None
        return out


def compute_bounds(track: Track | str, physics: str | None = None, *,
                   version: float | None = None, car: CarParams | None = None,
                   grip: float | None = None, margin: float = SAFETY_MARGIN, rules: bool = True,
                   flying: bool = True, **options) -> LapBounds:
    """The limits of a track (see the module docstring); ``rules`` / ``flying``: compute the
    rules bounds / the flying laps (an open track has none). The other arguments as
    :func:`~.line.compute_raceline`'s (``options``: ``spacing``, ``lams``, ``refine``).

    Raises:
        UsageError, RacelineError: as :func:`~.line.compute_raceline`.
    """
    if not isinstance(track, Track):
        track = load_track(track)
    same = {"physics": physics, "version": version, "car": car, "grip": grip, **options}
    limit = compute_raceline(track, margin=margin, **same)
    out = LapBounds(limit)
    if rules:
        out.rules = compute_raceline(track, margin=RULES_MARGIN, seeds=[limit], **same)
    if flying and track.is_loop:
        out.flying = compute_raceline(track, margin=margin, flying=True, seeds=[limit], **same)
        if out.rules is not None:
            out.flying_rules = compute_raceline(track, margin=RULES_MARGIN, flying=True,
                                                seeds=[limit, out.rules, out.flying], **same)
    return out
