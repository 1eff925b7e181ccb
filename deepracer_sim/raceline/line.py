"""The racing line of a track under one car, and its lap-time limit.

Method (Braghin et al. 2008, "Race driver model", Computers & Structures 86):

1. **Corridor** (:mod:`.corridor`): the smoothed centre line is the reference; the line is
   ``p_i + alpha_i * n_i`` with ``alpha_i`` bounded so that the car, ``margin`` m beyond its
   half width, stays on the road; ``alpha_0 = 0``: an evaluation lap starts at rest on the
   centre line at waypoint 0.
2. **Line** (:mod:`.qp`): for a length weight ``lam`` (1/m^2), the minimum of ``sum kappa_i^2 h
   + lam * sum |r_i+1 - r_i|^2 / h`` within the corridor; ``lam = 0`` is the minimum-curvature
   line, ``lam -> inf`` the shortest path.
3. **Speed** (:mod:`.limits`, :mod:`.lap`): the time-optimal speed profile under the car of
   :mod:`deepracer_sim.sim.car` read at run time (:class:`~.limits.CarLimits`), and the
   standing-start evaluation lap as ``DeepRacerEnv`` reports ``lap_time``.
4. **Choice**: ``lam`` is the weight whose line has the shortest lap (a scan over
   :data:`LAM_GRID`, then a golden-section refinement on ``log(lam)``): Braghin's combination
   of the shortest path and the minimum-curvature path. A car without a lateral-acceleration
   limit drives every curve within the steering limit at top speed, so a shorter line is
   faster; a car with a lateral cap gets a line closer to minimum curvature. The lap time is
   measured under the full car model, so the choice needs no tuning per car.

**Two limits.** ``lap_time`` (the limit) keeps all four wheels on the road with the margin: the
line racers should follow. The env, like the simapp, ends an episode only when all four wheel
centres are off the road, so a policy may cut corners with up to three wheels off;
:data:`RULES_MARGIN` lets the car origin run up to the wheels' radius outside the border, the
most the rule allows with a wheel still on: ``compute_raceline(track, margin=RULES_MARGIN)`` is
the rules bound. Neither is a proof of optimality: the line is the best of a one-parameter
family, and the rule is only checked at the 15 Hz step poses. How the limits compare with driven
and trained laps: ``docs/raceline.md``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from deepracer_sim.constants import (
    CAR_WIDTH,
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_SPEED,
    STEP_DT,
    WHEEL_POSITIONS,
)
from deepracer_sim.errors import RacelineError
from deepracer_sim.formats.model_metadata import DEFAULT_VERSION
from deepracer_sim.raceline.corridor import Road, reference
from deepracer_sim.raceline.lap import (
    Dense,
    Lap,
    dense_line,
    rear_axle,
    smooth_slope,
    standing_lap,
)
from deepracer_sim.raceline.limits import CarLimits, wheel_angle
from deepracer_sim.raceline.qp import Problem
from deepracer_sim.sim.car import Dynamics, dynamics_for_version
from deepracer_sim.track import Track, load_track

#: Clearance kept between the car's side and the border, on top of half the car's width, m.
SAFETY_MARGIN = 0.04
#: Distance of the wheel centres from the car origin, m.
WHEEL_RADIUS = max(math.hypot(x, y) for x, y in WHEEL_POSITIONS)
#: The margin of the rules bound: the env ends an episode only when all four wheel centres are
#: off the road, so the origin may run up to WHEEL_RADIUS outside the border.
RULES_MARGIN = -0.5 * CAR_WIDTH - WHEEL_RADIUS
#: Spacing of the reference points, m (raised on long tracks to keep <= MAX_POINTS).
SPACING = 0.10
MAX_POINTS = 900
#: The scan of the length weight ``lam`` (1/m^2); 0 = minimum curvature.
LAM_GRID = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


@dataclass
class RacingLine:
    """A track's racing line under one car (see the module docstring).

    Attributes:
        track: the track.
        version: physics version whose car was used (None: a custom ``Dynamics``).
        dynamics: the car.
        xy: (K, 2) the car origin's path, m, every ~2 cm from the start point (waypoint 0, on the
            centre line); a loop ends on its first point.
        s: (K,) arc length, m.
        heading: (K,) rad.
        kappa: (K,) signed curvature of the origin's path, 1/m.
        speed: (K,) the car's speed (rear axle, as ``params['speed']`` is commanded) along the
            standing-start lap, m/s.
        time: (K,) time at each point from the start, s.
        flying_speed: (K,) the car's speed when it arrives at the start at speed (what a
            training episode starting anywhere needs), m/s.
        lap_time: the limit: the evaluation lap time (s) of this line, as ``DeepRacerEnv``
            reports it (the PREPARE step plus whole 1/15 s steps).
        drive_time: the same lap in continuous time from the first driven step, s.
        lam: the chosen length weight (1/m^2; 0 = minimum curvature).
        margin: clearance kept beyond half the car's width, m.
        min_clearance: the least distance from the line to a border, m.
        solve_seconds: optimiser wall time, s.
        scan: (lam, lap time, drive time) of each line tried, in the order tried.
    """

    track: Track
    version: float | None
    dynamics: Dynamics
    xy: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    kappa: np.ndarray
    speed: np.ndarray
    time: np.ndarray
    lap_time: float
    drive_time: float
    lam: float
    margin: float
    min_clearance: float
    solve_seconds: float
    scan: list[tuple[float, float, float]] = field(default_factory=list)
    s_end: float = 0.0
    flying_speed: np.ndarray | None = None

    @property
    def limits(self) -> CarLimits:
        return CarLimits.from_dynamics(self.dynamics)

    @property
    def length(self) -> float:
        """Length of the line (a full loop), m."""
        return float(self.s[-1])

    @property
    def closed(self) -> bool:
        return self.track.is_loop

    def lap_speed(self, flying: bool = False) -> np.ndarray:
        """(K,) the car's speed along the line, m/s: of the standing-start lap, or with
        ``flying`` of a lap entered at speed.

        Raises:
            RacelineError: ``flying`` and the line has no ``flying_speed``.
        """
        if not flying:
            return self.speed
        if self.flying_speed is None:
            raise RacelineError(f"{self.track.name}: the line has no flying-lap speeds")
        return self.flying_speed

    def steering(self, flying: bool = False) -> np.ndarray:
        """(K,) wheel angle the line needs at its speed, degrees (+ = left)."""
        k_rear, _ = rear_axle(self.kappa)
        lim = self.limits.as_array()
        speed = self.lap_speed(flying)
        return np.degrees([wheel_angle(k, v, lim) for k, v in zip(k_rear, speed, strict=True)])

    def commands(self, flying: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(K,) steering command (degrees; the lag and offset inverted) and speed command
        (m/s; ``speed / speed_gain``, within [0.1, 4]) along the line: of the standing-start
        lap, or with ``flying`` of a lap entered at speed."""
        lim = self.limits
        speed = self.lap_speed(flying)
        delta = np.radians(self.steering(flying))
        ddelta = smooth_slope(delta, self.s, lim.v_max * STEP_DT, self.closed)
        cmd = delta + lim.steer_tau * speed * ddelta - lim.steer_offset
        steer = np.clip(np.degrees(cmd), -MAX_STEERING_ANGLE, MAX_STEERING_ANGLE)
        return steer, np.clip(speed / lim.speed_gain, MIN_SPEED, MAX_SPEED)

    def points(self, spacing: float = 0.1) -> np.ndarray:
        """(M, 4) [x, y, speed, time] every ~``spacing`` m (a loop without its closing point)."""
        n = max(round(self.length / spacing), 4)
        s = np.linspace(0.0, self.length, n + 1)
        if self.closed:
            s = s[:-1]
        return np.column_stack([np.interp(s, self.s, self.xy[:, 0]),
                                np.interp(s, self.s, self.xy[:, 1]),
                                np.interp(s, self.s, self.speed),
                                np.interp(s, self.s, self.time)])

    def summary(self) -> dict:
        return {"track": self.track.name, "version": self.version,
                "length": round(self.track.length, 3), "width": round(self.track.width, 4),
                "line_length": round(self.length, 3), "lap_time": round(self.lap_time, 4),
                "drive_time": round(self.drive_time, 4), "lam": self.lam,
                "min_clearance": round(self.min_clearance, 4),
                "solve_seconds": round(self.solve_seconds, 3)}


@dataclass
class _Candidate:
    """One line tried: its length weight (1/m^2), offsets (M,) m, dense line and lap."""

    lam: float
    alpha: np.ndarray
    dense: Dense
    lap: Lap

    @property
    def key(self) -> tuple[float, float]:
        """What the choice minimises: the lap time, then the continuous drive time, s."""
        return (self.lap.lap_time, self.lap.drive_time)


class _Scan:
    """The lines of one problem tried for a car, in the order tried."""

    def __init__(self, track: Track, prob: Problem, limits: CarLimits) -> None:
        self.track, self.prob, self.limits = track, prob, limits
        self.tried: list[_Candidate] = []

    def solve(self, lam: float, start: np.ndarray) -> _Candidate:
        """The line of weight ``lam``, Gauss-Newton warm-started from the offsets ``start``."""
        alpha = self.prob.solve(start, lam)
        dense = dense_line(self.prob.points(alpha), self.prob.closed)
        self.tried.append(_Candidate(lam, alpha, dense,
                                     standing_lap(self.track, dense, self.limits)))
        return self.tried[-1]

    def grid(self, lams: Sequence[float]) -> None:
        """Each weight of ``lams`` in increasing order, each solve warm-started from the
        previous weight's line."""
        alpha = np.zeros(self.prob.m)
        for lam in sorted(lams):
            alpha = self.solve(lam, alpha).alpha

    def at_log(self, loglam: float) -> tuple[float, float]:
        """The key of the line of weight ``exp(loglam)``, warm-started from the nearest tried."""
        near = min(self.tried, key=lambda c: abs(math.log(max(c.lam, 1e-9)) - loglam))
        return self.solve(math.exp(loglam), near.alpha).key

    def refine(self, lo: float, hi: float, steps: int) -> None:
        """Golden section on log(lam) over [lo, hi] with ``steps`` solves in all."""
        a, b = math.log(lo), math.log(hi)
        g = (math.sqrt(5.0) - 1.0) / 2.0
        c, d = b - g * (b - a), a + g * (b - a)
        fc, fd = self.at_log(c), self.at_log(d)
        for _ in range(steps - 2):
            if fc <= fd:
                b, d, fd = d, c, fc
                c = b - g * (b - a)
                fc = self.at_log(c)
            else:
                a, c, fc = c, d, fd
                d = a + g * (b - a)
                fd = self.at_log(d)

    def best(self) -> _Candidate:
        """The fastest line tried (the first of equals)."""
        return min(self.tried, key=lambda c: c.key)


def _problem(track: Track, road: Road, spacing: float, radius: float) -> Problem:
    """The optimisation on the track's centre line as the reference.

    Raises:
        RacelineError: the road is too narrow for ``radius`` somewhere, or at the start point.
    """
    ref, n = reference(track.waypoints[:, 0:2], spacing, track.is_loop)
    lb, ub = road.corridor(ref, n, radius)
    if lb[0] > 0.0 or ub[0] < 0.0:
        raise RacelineError(f"{track.name}: the start point has less than "
                            f"{radius:.3f} m of road on a side")
    return Problem(ref, n, lb, ub, track.is_loop)


def compute_raceline(track: Track | str, version: float = DEFAULT_VERSION, *,
                     dynamics: Dynamics | None = None, margin: float = SAFETY_MARGIN,
                     spacing: float | None = None, lams: tuple[float, ...] = LAM_GRID,
                     refine: int = 6) -> RacingLine:
    """The racing line of a track for the car of ``version`` (or ``dynamics``).

    Args:
        track: a Track or a name/path.
        version: physics version (its car: :func:`~deepracer_sim.sim.car.dynamics_for_version`).
        dynamics: a car to use instead of the version's.
        margin: clearance beyond half the car's width, m.
        spacing: reference point spacing, m (default SPACING, coarser on long tracks).
        lams: the length weights scanned, 1/m^2 (see the module docstring).
        refine: golden-section steps on log(lam) around the best of the scan.

    Raises:
        RacelineError: the track is too narrow for the car with the margin, or no line keeps
            within the car's steering limit.
    """
    t0 = time.perf_counter()
    if not isinstance(track, Track):
        track = load_track(track)
    dyn = dynamics if dynamics is not None else dynamics_for_version(version)
    if spacing is None:
        spacing = max(SPACING, track.length / MAX_POINTS)
    road = Road(track)
    scan = _Scan(track, _problem(track, road, spacing, 0.5 * CAR_WIDTH + margin),
                 CarLimits.from_dynamics(dyn))
    scan.grid(lams)
    order = sorted(lams)
    best = min(range(len(order)), key=lambda i: scan.tried[i].key)
    if refine and 0 < best < len(order) - 1 and order[best - 1] > 0.0:
        scan.refine(order[best - 1], order[best + 1], refine)
    chosen = scan.best()
    dense, lap = chosen.dense, chosen.lap
    if not math.isfinite(lap.lap_time):
        raise RacelineError(f"{track.name}: no line within the car's steering limit")
    inner = (dense.s >= 0.01) & (dense.s <= dense.s[-1] - 0.01)  # an open track's caps aside
    clearance = float(np.min(road.clearance(dense.xy[inner]))) - 0.5 * CAR_WIDTH
    return RacingLine(track=track, version=None if dynamics is not None else float(version),
                      dynamics=dyn, xy=dense.xy, s=dense.s, heading=dense.heading,
                      kappa=dense.kappa, speed=lap.v_rear, time=lap.t, lap_time=lap.lap_time,
                      drive_time=lap.drive_time, lam=chosen.lam, margin=margin,
                      min_clearance=clearance, solve_seconds=time.perf_counter() - t0,
                      scan=[(c.lam, c.lap.lap_time, c.lap.drive_time) for c in scan.tried],
                      s_end=lap.s_end, flying_speed=lap.v_flying)
