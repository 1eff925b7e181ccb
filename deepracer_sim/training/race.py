"""Race-day evaluation: continuous laps with resets and penalties, as a DeepRacer race runs them.

One race per start point, all side by side in one batched simulation, in evaluation mode (the
policy's most likely action). A race is one episode of continuous laps: at lap completion the
lap is recorded and the car drives on; after an off-track, reversed, immobilized or crashed
step the car is put back on the track and held for the penalty while the simulated clock runs,
until the reset budget is spent (the next reset ends the race), the laps are done, or the race
time (:data:`~deepracer_sim.training.race_scoring.RACE_TIME_LIMIT`) runs out. Scoring is
:mod:`deepracer_sim.training.race_scoring`.

The reset and the hold are done here, between kernel steps, on the simulator's state; the step
kernel (and so training) is unchanged. The reset pose is the simapp's
(``_get_car_reset_model_state``, aws-deepracer-community/deepracer-simapp@01f5f015
``bundle/markov/agent_ctrl/rollout_agent_ctrl.py:378-478, 893-972``): at the previous step's
progress (the current progress after a crash), on the inner or the outer lane (the lane point
nearest the centre-line point there, yaw towards the lane's next waypoint), whichever is nearer
the car; each lane runs halfway between the centre line and a border (``track_data.py:207-218``).
With objects (a run trained with boxes or bot cars races with them, so crashes happen and count
as collisions): when a box is within ``CLOSEST_OBJ_GAP`` of the spawn point along the centre
line, the car is put ``RESET_BEHIND_DIST`` behind the box on the other lane (the simapp's
obstacle branch of the same function; bot cars do not move the reset pose).
The simapp measures the spawn progress from waypoint 0 (its evaluations start there); here it is
measured from the race's start point. While held the car's steps report ``pause`` and the
policy's actions are ignored; the hold lasts ``ceil(penalty / STEP_DT)`` steps.

Robustness options racers use before a race: several start points, a speed multiplier (physical
races let the racer scale the model's speed, 0.5x-1.5x) and Gaussian steering/speed
perturbations of every command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepracer_sim.constants import CLOSEST_OBJ_GAP, RESET_BEHIND_DIST, STEP_DT
from deepracer_sim.envs.sensors import FEATURES, Sensors
from deepracer_sim.errors import UsageError
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.sim import layout
from deepracer_sim.sim.car import car_params, resolve_physics
from deepracer_sim.sim.layout import (
    F_IS_LOOP,
    I_EPISODE,
    I_IMMOBILE_COUNT,
    I_REVERSE_COUNT,
    S_CLOCK,
    S_DELTA,
    S_LAST_X,
    S_LAST_Y,
    S_PREV_PROGRESS,
    S_START_NDIST,
    S_STEPS,
    S_V,
    S_X,
    S_Y,
    S_YAW,
)
from deepracer_sim.sim.objects import object_is_inner
from deepracer_sim.sim.observation import point_along
from deepracer_sim.sim.simulator import Simulator, make_config
from deepracer_sim.sim.world import ObjectsConfig
from deepracer_sim.track import Track
from deepracer_sim.training.evaluation import Predict, load_evaluation, sb3_predict
from deepracer_sim.training.race_scoring import (
    RESET_STATUSES,
    LapMetric,
    MetricsRecorder,
    RaceRules,
    leaderboard_entry,
)

#: The speed multipliers a physical race allows.
SPEED_MULTIPLIER_RANGE = (0.5, 1.5)


@dataclass(frozen=True)
class RaceConditions:
    """The robustness options of a race.

    Attributes:
        starts: start points, fractions of a lap from waypoint 0 (one race each).
        speed_multiplier: every commanded speed is multiplied by it (0.5-1.5).
        steering_noise: standard deviation of a Gaussian added to every steering command, deg.
        speed_noise: standard deviation of a Gaussian relative change of every speed command
            (0.1 = 10 %).
        seed: seed of the perturbations.

    Raises:
        UsageError: no start point, a multiplier outside 0.5-1.5, negative noise.
    """

    starts: tuple[float, ...] = (0.0,)
    speed_multiplier: float = 1.0
    steering_noise: float = 0.0
    speed_noise: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        lo, hi = SPEED_MULTIPLIER_RANGE
        if not self.starts:
            raise UsageError("no start point; give at least one")
        if not lo <= self.speed_multiplier <= hi:
            raise UsageError(f"speed multiplier {self.speed_multiplier}; give {lo} to {hi}")
        if not (self.steering_noise >= 0 and self.speed_noise >= 0):
            raise UsageError("steering and speed noise are standard deviations; give 0 or more")

    def commands(self, steer: np.ndarray, speed: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The (steering deg, speed m/s) commands after the multiplier and the noise."""
        speed = speed * self.speed_multiplier
        if self.steering_noise > 0:
            steer = steer + rng.normal(0.0, self.steering_noise, steer.shape)
        if self.speed_noise > 0:
            speed = speed * (1.0 + rng.normal(0.0, self.speed_noise, speed.shape))
        return steer, speed


def evenly_spaced_starts(k: int) -> tuple[float, ...]:
    """``k`` start points spread evenly over the lap, the first at the start line."""
    return tuple(j / k for j in range(k))


def lane_poses(track: Track, direction: int, dist: float) -> np.ndarray:
    """(2, 3) float64: the inner and the outer lane pose ``(x, y, yaw rad)`` at ``dist`` m along
    the centre line from waypoint 0 (the simapp's ``_get_reset_poses``)."""
    lines, lens, fmeta, _, _ = track.arrays
    centre = lines[direction, 0]
    is_loop = fmeta[F_IS_LOOP] > 0.5
    cx, cy = point_along(centre, lens[direction, 0], is_loop, dist)
    out = np.empty((2, 3))
    for k in range(2):
        lane = 0.5 * (centre + lines[direction, 1 + k])
        a, b = lane[:-1], lane[1:]
        ab = b - a
        t = np.clip(((cx - a[:, 0]) * ab[:, 0] + (cy - a[:, 1]) * ab[:, 1])
                    / np.maximum((ab * ab).sum(axis=1), 1e-18), 0.0, 1.0)
        px = a[:, 0] + t * ab[:, 0]
        py = a[:, 1] + t * ab[:, 1]
        j = int(np.argmin((px - cx) ** 2 + (py - cy) ** 2))
        # the next lane waypoint that is not the point itself (wrapping on a loop)
        ahead = np.roll(lane, -(j + 1), axis=0) if is_loop else lane[j + 1:]
        far = np.flatnonzero(np.hypot(ahead[:, 0] - px[j], ahead[:, 1] - py[j]) > 1e-9)
        nxt = ahead[far[0]] if len(far) else b[j]
        out[k] = px[j], py[j], math.atan2(nxt[1] - py[j], nxt[0] - px[j])
    return out


@dataclass
class _Car:
    """One race's bookkeeping."""

    recorder: MetricsRecorder
    start_clock: float
    last_progress: float = 0.0
    laps: int = 0
    resets: int = 0
    hold: int = 0  # pause steps left
    running: bool = True


def _place(sim: Simulator, i: int, pose: np.ndarray, progress: float) -> None:
    """Put car ``i`` at ``pose`` (x, y, yaw) at rest, its progress rules restarted."""
    s, si = sim.s, sim.si
    s[i, S_X], s[i, S_Y], s[i, S_YAW] = pose
    s[i, S_V] = 0.0
    s[i, S_DELTA] = 0.0
    s[i, S_LAST_X], s[i, S_LAST_Y] = pose[0], pose[1]
    s[i, S_PREV_PROGRESS] = progress
    si[i, I_REVERSE_COUNT] = 0
    si[i, I_IMMOBILE_COUNT] = 0
    sim.refresh(i)


def _reset(sim: Simulator, i: int, car: _Car, status: str, progress: float,
           rules: RaceRules) -> None:
    """The simapp's reset after ``status``: budget, reset pose, hold."""
    if car.resets >= rules.max_resets:
        car.running = False  # past the budget: the race ends, the unfinished lap is dropped
        return
    car.resets += 1
    spawn = progress if status == "crashed" else car.last_progress
    d = int(sim.si[i, layout.I_DIRECTION])
    length = sim.track.arrays.fmeta[layout.F_LENGTH + d]
    dist = (sim.s[i, S_START_NDIST] + spawn / 100.0) * length
    box = _box_near(sim, i, dist, length)
    if box is not None:  # behind the box, on the other lane
        behind = sim.obj[i, box, layout.O_PROJ] - RESET_BEHIND_DIST
        spawn = max(0.0, spawn + ((behind - dist + length / 2) % length - length / 2)
                    / length * 100.0)
        lines, lens = sim.track.arrays.lines, sim.track.arrays.lens
        inner = object_is_inner(lines, lens, d, sim.obj[i, box, layout.O_X],
                                sim.obj[i, box, layout.O_Y])
        _place(sim, i, lane_poses(sim.track, d, behind % length)[1 if inner else 0], spawn)
    else:
        poses = lane_poses(sim.track, d, dist)
        x, y = sim.rec[i, layout.R_X], sim.rec[i, layout.R_Y]
        near = int(np.argmin(np.hypot(poses[:, 0] - x, poses[:, 1] - y)))
        _place(sim, i, poses[near], spawn)
    car.hold = math.ceil(rules.penalty(status) / STEP_DT - 1e-9)


def _box_near(sim: Simulator, i: int, dist: float, length: float) -> int | None:
    """The slot of car ``i``'s box nearest ``dist`` m along the centre line, if within
    ``CLOSEST_OBJ_GAP`` (the simapp's ``_get_closest_obj`` filtered to obstacles:
    ``abs(object_dist - dist) % L``), else None (also without objects)."""
    if sim.objects is None:
        return None
    nbox = int(sim.world[i, layout.W_NBOX])
    if nbox == 0:
        return None
    gaps = np.abs(sim.obj[i, :nbox, layout.O_PROJ] - dist) % length
    k = int(np.argmin(gaps))
    return k if gaps[k] < CLOSEST_OBJ_GAP else None


def _judge(sim: Simulator, i: int, car: _Car, rules: RaceRules) -> None:
    """Record car ``i``'s step and apply the race rules to it."""
    row = sim.rec[i]
    status = layout.status(row)
    progress = float(row[layout.R_PROGRESS])
    car.recorder.step(status, progress)
    if status == "lap_complete":
        car.recorder.lap(float(row[layout.R_TSTAMP]))
        car.laps += 1
        car.running = car.laps < rules.laps
        progress = 0.0
    elif status in RESET_STATUSES:
        _reset(sim, i, car, status, progress, rules)
    car.last_progress = progress


def run_races(predict: Predict, track: Track, action_space: ActionSpace, version: float,
              rules: RaceRules, conditions: RaceConditions = RaceConditions(),
              reversed_direction: bool = False, physics: str | None = None,
              objects: ObjectsConfig | None = None,
              sensor: str = FEATURES) -> list[list[LapMetric]]:
    """Race from every start point of ``conditions`` (see the module docstring); the car is
    the simulator generation ``physics`` (None: the one ``version`` runs on); ``objects``: the
    race's boxes and bot cars (each race has its own), None for a time trial; ``sensor``: what
    ``predict`` sees (:mod:`deepracer_sim.envs.sensors`: the feature vector, or the camera's
    frames, rendered without domain randomisation at every step, a held car's included).

    Returns:
        per start point, the race's ``EvaluationMetrics`` entries (:class:`LapMetric`).
    """
    n = len(conditions.starts)
    cfg = make_config(0.0, False, False, 2**62, 0.0)
    sim = Simulator(track, n, car_params(resolve_physics(physics, version)).as_array(), cfg,
                    np.array(conditions.starts, dtype=np.float64), reversed_direction, objects,
                    version)
    rng = np.random.default_rng(conditions.seed)
    sensors = Sensors(sensor, sim, track, training=False) if sensor != FEATURES else None
    cars = [_Car(MetricsRecorder(True), float(sim.s[i, S_CLOCK])) for i in range(n)]
    for car in cars:
        car.recorder.reset(car.start_clock)
    episode = sim.si[:, I_EPISODE].copy()
    while any(car.running for car in cars):
        observation = sim.obs if sensors is None else sensors.observe()
        steer, speed = conditions.commands(*action_space.scale(predict(observation)), rng)
        held = [i for i, car in enumerate(cars) if car.hold > 0 or not car.running]
        saved = (sim.s[held].copy(), sim.si[held].copy(), sim.obs[held].copy())
        sim.step(steer, speed, False)
        sim.s[held], sim.si[held], sim.obs[held] = saved
        for i in held:  # held cars stand still while the clock runs
            sim.s[i, S_CLOCK] += STEP_DT
            sim.s[i, S_STEPS] += 1.0
            cars[i].hold -= 1
        for i, car in enumerate(cars):
            if not car.running:
                continue
            if i not in held:
                _judge(sim, i, car, rules)
                sim.si[i, I_EPISODE] = episode[i]  # one episode: the kernel's count is undone
            if car.running and sim.s[i, S_CLOCK] - car.start_clock >= rules.time_limit:
                car.recorder.time_up(float(sim.s[i, S_CLOCK]))
                car.running = False
    return [car.recorder.metrics for car in cars]


@dataclass
class RaceReport:
    """Result of :func:`race_run`; ``to_json()`` is ``evaluate.py --race --json``'s object."""

    track: str
    checkpoint: str
    rules: RaceRules
    conditions: RaceConditions
    minimum_laps: int
    timing: str
    races: list[list[LapMetric]]
    entries: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.entries = [leaderboard_entry(m, self.minimum_laps, self.timing)
                        for m in self.races]

    def spread(self) -> dict:
        """Over the start points: completed-race count and min/mean/max of each time column
        (over the races that have it), s."""
        out: dict = {"races": len(self.entries),
                     "complete": sum(e["LapCount"] >= self.rules.laps for e in self.entries)}
        for key in ("AvgLapTime", "BestLapTime", "TotalLapTime", "ResetCount"):
            vals = [e[key] for e in self.entries if e[key] is not None]
            out[key] = ({"min": min(vals), "mean": sum(vals) / len(vals), "max": max(vals)}
                        if vals else None)
        return out

    def to_json(self) -> dict:
        """The first start point's leaderboard entry at the top level, then the track, the
        laps, and with several start points every entry and the spread."""
        out = {**self.entries[0], "track": self.track, "checkpoint": self.checkpoint,
               "laps": [m.to_json() for m in self.races[0]]}
        if len(self.entries) > 1:
            out["starts"] = [{"start": s, **e} for s, e in zip(self.conditions.starts,
                                                                self.entries, strict=True)]
            out["spread"] = self.spread()
        return out

    def table(self) -> str:
        """A plain-text leaderboard table, one row per start point."""
        c = self.conditions
        lines = [f"track {self.track}, checkpoint {self.checkpoint}, {self.rules.laps} laps, "
                 f"timing {self.timing}, penalties {self.rules.off_track_penalty:g} s off track /"
                 f" {self.rules.collision_penalty:g} s collision, max resets "
                 f"{self.rules.max_resets}, speed x{c.speed_multiplier:g}",
                 f"{'start':>5}  {'laps':>4}  {'avg s':>8}  {'best s':>8}  {'total s':>8}  "
                 f"{'off':>3}  {'coll':>4}  {'resets':>6}"]

        def fmt(v: float | None) -> str:
            return f"{v:8.3f}" if v is not None else f"{'-':>8}"

        for start, e in zip(c.starts, self.entries, strict=True):
            lines.append(f"{start:>5.2f}  {e['LapCount']:>4}  {fmt(e['AvgLapTime'])}  "
                         f"{fmt(e['BestLapTime'])}  {fmt(e['TotalLapTime'])}  "
                         f"{e['OffTrackCount']:>3}  {e['CollisionCount']:>4}  "
                         f"{e['ResetCount']:>6}")
        return "\n".join(lines)


def race_run(run_dir: str | Path, rules: RaceRules, conditions: RaceConditions = RaceConditions(),
             timing: str = "AVG_LAP_TIME", minimum_laps: int | None = None,
             track: str | Path | None = None, checkpoint: str = "best",
             physics: str | None = None) -> RaceReport:
    """Race a training run folder's checkpoint (``evaluate.py RUN --race``).

    Args:
        minimum_laps: the averaging window and the laps needed to be ranked (default: all
            ``rules.laps``).

    Raises:
        RunFolderError, CheckpointError, TrackError: as
            :func:`~deepracer_sim.training.evaluation.load_evaluation`; UsageError: an unknown
            timing method or minimum laps outside 1..laps.
    """
    window = rules.laps if minimum_laps is None else minimum_laps
    if not 1 <= window <= rules.laps:
        raise UsageError(f"minimum laps {window}; give 1 to the race's {rules.laps} laps")
    leaderboard_entry([], window, timing)  # an unknown timing method fails before the race
    setup = load_evaluation(run_dir, track, checkpoint, physics)
    races = run_races(sb3_predict(setup.model), setup.track, setup.action_space, setup.version,
                      rules, conditions, setup.reversed_direction, setup.physics, setup.objects,
                      setup.sensor)
    return RaceReport(setup.track.name, setup.checkpoint, rules, conditions, window, timing,
                      races)
