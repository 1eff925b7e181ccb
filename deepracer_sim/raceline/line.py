"""The racing line of a track under one car, and its lap-time limit.

Method (Braghin et al. 2008, "Race driver model", Computers & Structures 86):

1. **Corridor** (:mod:`.corridor`): the smoothed centre line is the reference; the line is
   ``p_i + alpha_i * n_i`` with ``alpha_i`` bounded so that the car, ``margin`` m beyond its
   half width, stays on the road; for a standing-start lap ``alpha_0 = 0`` (an evaluation lap
   starts at rest on the centre line at waypoint 0); a flying lap's line is free there.
2. **Line** (:mod:`.qp`): for a length weight ``lam`` (1/m^2), the minimum of ``sum kappa_i^2 h
   + lam * sum |r_i+1 - r_i|^2 / h`` within the corridor; ``lam = 0`` is the minimum-curvature
   line, ``lam -> inf`` the shortest path.
3. **Speed** (:mod:`.limits`, :mod:`.lap`): the time-optimal speed profile under the car's
   envelope (:class:`~.limits.CarLimits`: the generation's car of :mod:`deepracer_sim.sim.car`,
   its lateral envelope times the transient-grip factor), the standing-start evaluation lap as
   ``DeepRacerEnv`` reports ``lap_time``, and the flying lap (the lap after a lap).
4. **Choice**: ``lam`` is the weight whose line has the shortest lap (a scan over
   :data:`LAM_GRID`, then a golden-section refinement on ``log(lam)``): Braghin's combination
   of the shortest path and the minimum-curvature path. The lap time is measured under the
   whole envelope, so the choice needs no tuning per car.

**Four limits** (:func:`compute_bounds`). ``lap_time`` (the limit) keeps all four wheels on the
road with the margin: the line racers should follow. The env, like the simapp, ends an episode
only when all four wheel centres are off the road, so a policy may cut corners with up to three
wheels off; :data:`RULES_MARGIN` lets the car origin run up to the wheels' radius outside the
border, the most the rule allows with a wheel still on: the rules bound. The flying lap and the
flying rules bound are the same for a lap after a lap. A looser problem cannot have a slower
optimum, so each looser problem also tries the lines of the tighter ones (all lie in its
corridor): rules bound <= limit, flying rules bound <= flying lap and <= rules bound's flying
lap. None is a proof of optimality: a line is the best of a one-parameter family, and the rule
is only checked at the 15 Hz step poses. How the limits compare with driven and trained laps
and with the leaderboard records: ``docs/raceline.md``.
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
from deepracer_sim.raceline.lap import Dense, Lap, dense_line, smooth_slope, standing_lap
from deepracer_sim.raceline.limits import CarLimits, grip_for
from deepracer_sim.raceline.qp import Problem
from deepracer_sim.sim.car import CarParams, car_params, resolve_physics
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
#: The model_metadata.json version of each generation (what ``--version`` writes by default).
PHYSICS_VERSION = {"v4": 4.0, "v5": 5.0, "v6": 6.0}


@dataclass
class RacingLine:
    """A track's racing line under one car (see the module docstring).

    Attributes:
        track: the track.
        physics: the simulator generation whose car was used (None: a custom car).
        version: the model_metadata.json version the line's files are written with.
        car: the car; grip: the transient-grip factor on its lateral envelope.
        flying: the line was chosen for the flying lap (else for the standing-start lap).
        xy: (K, 2) the car origin's path, m, every ~2 cm from point 0 (a standing-start line:
            waypoint 0 on the centre line); a loop ends on its first point.
        s: (K,) arc length, m.
        heading: (K,) rad.
        kappa: (K,) signed curvature of the origin's path, 1/m.
        speed: (K,) the car's speed along the standing-start lap, m/s.
        time: (K,) time at each point from the start, s.
        flying_speed: (K,) the car's speed on the flying lap, m/s.
        lap_time: the standing-start evaluation lap time (s) of this line, as ``DeepRacerEnv``
            reports it (the PREPARE step plus whole 1/15 s steps); inf for a flying line.
        drive_time: the same lap in continuous time from the first driven step, s.
        flying_time: the flying lap's time, s (inf on an open track).
        lam: the chosen length weight (1/m^2; 0 = minimum curvature).
        margin: clearance kept beyond half the car's width, m.
        min_clearance: the least distance from the line to a border, m.
        solve_seconds: optimiser wall time, s.
        scan: (lam, lap time, flying lap time) of each line tried, in the order tried.
        s_end: origin arc length at the standing lap's finish, m.
        pinned: the line starts on the centre line at waypoint 0 (a standing start can use it).
        offsets: (M,) the line's offsets ``alpha`` from the reference, m.
    """

    track: Track
    physics: str | None
    version: float
    car: CarParams
    grip: float
    flying: bool
    xy: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    kappa: np.ndarray
    speed: np.ndarray
    time: np.ndarray
    flying_speed: np.ndarray
    lap_time: float
    drive_time: float
    flying_time: float
    lam: float
    margin: float
    min_clearance: float
    solve_seconds: float
    scan: list[tuple[float, float, float]] = field(default_factory=list)
    s_end: float = 0.0
    pinned: bool = True
    offsets: np.ndarray | None = None

    @property
    def limits(self) -> CarLimits:
        """The limits the line was computed under (the car's envelope times ``grip``)."""
        return CarLimits.of(self.car, self.grip)

    @property
    def length(self) -> float:
        """Length of the line (a full loop), m."""
        return float(self.s[-1])

    @property
    def closed(self) -> bool:
        return self.track.is_loop

    def lap_speed(self, flying: bool = False) -> np.ndarray:
        """(K,) the car's speed along the line, m/s: of the standing-start lap, or with
        ``flying`` of the flying lap."""
        return self.flying_speed if flying else self.speed

    def steering(self, flying: bool = False, speed: np.ndarray | None = None) -> np.ndarray:
        """(K,) steady steering command (degrees, + = left, within 30) whose turn has the
        line's curvature at its speed (or ``speed``, (K,) m/s), on the car's own (fitted)
        envelope."""
        env = CarLimits.of(self.car).envelope
        v = self.lap_speed(flying) if speed is None else speed
        return np.array([env.steer_for(k, x) for k, x in zip(self.kappa, v, strict=True)])

    def commands(self, flying: bool = False,
                 speed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(K,) steering command (degrees; the hinge lag inverted) and speed command (m/s,
        within [0.1, 4]; the rim speed's command, 4 at the top speed) along the line: of the
        standing-start lap, with ``flying`` of the flying lap, or at the speeds ``speed``."""
        v = self.lap_speed(flying) if speed is None else speed
        steer = np.radians(self.steering(speed=v))
        dsteer = smooth_slope(steer, self.s, self.limits.v_max * STEP_DT, self.closed)
        cmd = np.degrees(steer + self.car.steer_tau * v * dsteer)
        ratio = self.car.wheel_radius / self.car.cmd_radius
        speed_cmd = np.where(v >= self.limits.v_max - 1e-3, MAX_SPEED, v / ratio)
        return (np.clip(cmd, -MAX_STEERING_ANGLE, MAX_STEERING_ANGLE),
                np.clip(speed_cmd, MIN_SPEED, MAX_SPEED))

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
        return {"track": self.track.name, "physics": self.physics, "version": self.version,
                "grip": self.grip, "length": round(self.track.length, 3),
                "width": round(self.track.width, 4), "line_length": round(self.length, 3),
                "lap_time": _rounded(self.lap_time), "drive_time": _rounded(self.drive_time),
                "lam": self.lam, "min_clearance": round(self.min_clearance, 4),
                "solve_seconds": round(self.solve_seconds, 3)}


def _rounded(x: float) -> float | None:
    """``x`` rounded to 4 decimals, None if infinite (JSON)."""
    return round(x, 4) if math.isfinite(x) else None


@dataclass
class _Candidate:
    """One line tried: its length weight (1/m^2), offsets (M,) m, whether it starts on the
    centre line, dense line and laps."""

    lam: float
    alpha: np.ndarray
    pinned: bool
    dense: Dense
    lap: Lap

    def key(self, flying: bool) -> tuple[float, float]:
        """What the choice minimises, s: the flying lap's time, or the standing lap's time then
        its continuous drive time (inf for a line that does not start on the centre line)."""
        if flying:
            return (self.lap.flying_time, 0.0)
        if not self.pinned:
            return (math.inf, math.inf)
        return (self.lap.lap_time, self.lap.drive_time)


class _Scan:
    """The lines of one problem tried for a car, in the order tried (seeded lines of tighter
    problems included)."""

    def __init__(self, track: Track, prob: Problem, limits: CarLimits, flying: bool) -> None:
        self.track, self.prob, self.limits, self.flying = track, prob, limits, flying
        self.tried: list[_Candidate] = []

    def add(self, lam: float, alpha: np.ndarray, pinned: bool) -> _Candidate:
        """Evaluate the line of offsets ``alpha`` and keep it."""
        dense = dense_line(self.prob.points(alpha), self.prob.closed)
        self.tried.append(_Candidate(lam, alpha, pinned, dense,
                                     standing_lap(self.track, dense, self.limits)))
        return self.tried[-1]

    def solve(self, lam: float, start: np.ndarray) -> _Candidate:
        """The line of weight ``lam``, Gauss-Newton warm-started from the offsets ``start``."""
        return self.add(lam, self.prob.solve(start, lam), self.prob.pinned)

    def key(self, c: _Candidate) -> tuple[float, float]:
        return c.key(self.flying)

    def grid(self, lams: Sequence[float]) -> None:
        """Each weight of ``lams`` in increasing order, each solve warm-started from the
        previous weight's line."""
        alpha = np.zeros(self.prob.m)
        for lam in sorted(lams):
            alpha = self.solve(lam, alpha).alpha

    def at_log(self, loglam: float) -> tuple[float, float]:
        """The key of the line of weight ``exp(loglam)``, warm-started from the nearest tried."""
        near = min(self.tried, key=lambda c: abs(math.log(max(c.lam, 1e-9)) - loglam))
        return self.key(self.solve(math.exp(loglam), near.alpha))

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
        return min(self.tried, key=self.key)


def _problem(track: Track, road: Road, spacing: float, radius: float, pinned: bool) -> Problem:
    """The optimisation on the track's centre line as the reference.

    Raises:
        RacelineError: the road is too narrow for ``radius`` somewhere, or at the start point.
    """
    ref, n = reference(track.waypoints[:, 0:2], spacing, track.is_loop)
    lb, ub = road.corridor(ref, n, radius)
    if pinned and (lb[0] > 0.0 or ub[0] < 0.0):
        raise RacelineError(f"{track.name}: the start point has less than "
                            f"{radius:.3f} m of road on a side")
    return Problem(ref, n, lb, ub, track.is_loop, pinned)


def _scan(track: Track, prob: Problem, limits: CarLimits, flying: bool,
          lams: tuple[float, ...], refine: int, seeds: Sequence[RacingLine]) -> _Scan:
    """Scan ``lams``, refine around the best, and add the seeded lines."""
    scan = _Scan(track, prob, limits, flying)
    scan.grid(lams)
    order = sorted(lams)
    best = min(range(len(order)), key=lambda i: scan.key(scan.tried[i]))
    if refine and 0 < best < len(order) - 1 and order[best - 1] > 0.0:
        scan.refine(order[best - 1], order[best + 1], refine)
    for seed in seeds:
        if seed.offsets is None or len(seed.offsets) != prob.m:
            raise RacelineError(f"{track.name}: a seeded line has another reference")
        scan.add(seed.lam, seed.offsets, seed.pinned)
    return scan


def compute_raceline(track: Track | str, physics: str | None = None, *,
                     version: float | None = None, car: CarParams | None = None,
                     grip: float | None = None, margin: float = SAFETY_MARGIN,
                     flying: bool = False, seeds: Sequence[RacingLine] = (),
                     spacing: float | None = None, lams: tuple[float, ...] = LAM_GRID,
                     refine: int = 6) -> RacingLine:
    """The racing line of a track for the car of a simulator generation (or ``car``).

    Args:
        track: a Track or a name/path.
        physics: ``"v4"``, ``"v5"`` or ``"v6"``; None follows ``version``
            (:func:`~deepracer_sim.sim.car.physics_for_version`).
        version: the model_metadata.json version of the line's files; None: the generation's
            (:data:`PHYSICS_VERSION`), else 6.
        car: a car to use instead of the generation's (``physics`` then only names it).
        grip: the transient-grip factor on the car's lateral envelope; None: the generation's
            (:data:`~.limits.TRANSIENT_GRIP`; 1 for a custom car).
        margin: clearance beyond half the car's width, m (:data:`RULES_MARGIN`: the rules bound).
        flying: choose the line for the flying lap (a loop only; the line is free at the start).
        seeds: lines of tighter problems on the same reference, tried as they are.
        spacing: reference point spacing, m (default SPACING, coarser on long tracks).
        lams: the length weights scanned, 1/m^2 (see the module docstring).
        refine: golden-section steps on log(lam) around the best of the scan.

    Raises:
        UsageError: an unknown ``physics``.
        RacelineError: the track is too narrow for the car with the margin, a flying lap of an
            open track, or no line the car can turn.
    """
    t0 = time.perf_counter()
    if not isinstance(track, Track):
        track = load_track(track)
    if flying and not track.is_loop:
        raise RacelineError(f"{track.name}: an open track has no flying lap")
    custom = car is not None
    if car is None:
        physics = resolve_physics(physics, DEFAULT_VERSION if version is None else version)
        car = car_params(physics)
    if version is None:
        version = PHYSICS_VERSION.get(physics or "", DEFAULT_VERSION)
    if grip is None:
        grip = grip_for(None if custom else physics)
    if spacing is None:
        spacing = max(SPACING, track.length / MAX_POINTS)
    road = Road(track)
    limits = CarLimits.of(car, grip)
    prob = _problem(track, road, spacing, 0.5 * CAR_WIDTH + margin, pinned=not flying)
    scan = _scan(track, prob, limits, flying, lams, refine, seeds)
    chosen = scan.best()
    dense, lap = chosen.dense, chosen.lap
    if not math.isfinite(chosen.key(flying)[0]):
        raise RacelineError(f"{track.name}: no line the car can turn")
    inner = (dense.s >= 0.01) & (dense.s <= dense.s[-1] - 0.01)  # an open track's caps aside
    clearance = float(np.min(road.clearance(dense.xy[inner]))) - 0.5 * CAR_WIDTH
    standing = chosen.pinned
    return RacingLine(track=track, physics=physics, version=float(version), car=car, grip=grip,
                      flying=flying, xy=dense.xy, s=dense.s, heading=dense.heading,
                      kappa=dense.kappa, speed=lap.v, time=lap.t,
                      flying_speed=lap.v_flying,
                      lap_time=lap.lap_time if standing else math.inf,
                      drive_time=lap.drive_time if standing else math.inf,
                      flying_time=lap.flying_time, lam=chosen.lam, margin=margin,
                      min_clearance=clearance, solve_seconds=time.perf_counter() - t0,
                      scan=[(c.lam, c.key(False)[0], c.lap.flying_time) for c in scan.tried],
                      s_end=lap.s_end, pinned=standing, offsets=chosen.alpha)
