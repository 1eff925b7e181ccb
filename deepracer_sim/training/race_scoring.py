"""Race-day scoring: per-lap evaluation metrics with resets and penalties, and the leaderboard
entry, as DeepRacer computes them. Pure Python (no simulator): :mod:`deepracer_sim.training.race`
drives the car and feeds the events here.

Sources (``repo@commit path:line``):

* the simapp, aws-deepracer-community/deepracer-simapp@01f5f015 ``bundle/markov/``:
  ``agent_ctrl/rollout_agent_ctrl.py:102-106`` (penalty per status), ``:955-1053`` (the car is
  frozen for the penalty while the clock runs; the per-episode reset budget
  ``NUMBER_OF_RESETS``: a reset past it ends the episode), ``metrics/s3_metrics.py:677-825``
  (``EvalMetrics``: ``elapsed_time_in_milliseconds = round((t - start) * 1000)`` in simulated
  time, the lap clock restarts at every lap of a continuous race, reset counters per lap,
  a time-up appends an entry only when no lap was done), ``reset/rules/
  episode_complete_reset_rule.py:42-49`` (a continuous race ends after ``NUMBER_OF_TRIALS``
  laps).
* DeepRacer-on-AWS, aws-solutions/deepracer-on-aws@61af778 ``source/libs/lambda/src/workflow/
  utils/ModelPerformanceMetricsHelper.ts:12-132`` (the submission's stats: best window of
  ``minimumLaps`` consecutive complete laps, floored to ms; best lap and total time over all
  entries; the ranking score per timing method), ``handlers/jobFinalizer.ts:261-290`` (ranked
  only with ``minimumLaps`` consecutive complete laps); ``libs/model/src/main/smithy/types/
  leaderboard.smithy:85-89`` (the timing methods).
* deepracer-for-cloud, aws-deepracer-community/deepracer-for-cloud@2eb1a1f
  ``defaults/template-run.env:10-24``: ``DR_EVAL_MAX_RESETS=100``.

A penalty is part of the lap time: the car stands still while the simulated clock runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from deepracer_sim.constants import STATUS_LABELS
from deepracer_sim.errors import UsageError

#: DeepRacer-on-AWS ``constants/rankingScore.ts``: the score of a submission without a time, ms.
INVALID_RANKING_SCORE = 86_000_000
#: ``leaderboard.smithy`` ``TimingMethod``.
TIMING_METHODS = ("AVG_LAP_TIME", "BEST_LAP_TIME", "TOTAL_TIME")
#: Statuses that reset the car and use up one reset (``EvalMetrics.reset_count_dict``).
RESET_STATUSES = ("crashed", "off_track", "immobilized", "reversed")
#: deepracer-for-cloud's ``DR_EVAL_MAX_RESETS`` (``defaults/template-run.env``).
DEFAULT_MAX_RESETS = 100
#: The race ends after this much simulated time, s (a local rule: races are 10 minutes long).
RACE_TIME_LIMIT = 600.0
#: The seven leaderboard columns of :func:`leaderboard_entry` (the console's CSV names).
LEADERBOARD_KEYS = ("LapCount", "AvgLapTime", "BestLapTime", "TotalLapTime", "OffTrackCount",
                    "CollisionCount", "ResetCount")


@dataclass(frozen=True)
class RaceRules:
    """How a race runs (the simapp's evaluation world parameters).

    Attributes:
        laps: laps to drive (``NUMBER_OF_TRIALS``).
        max_resets: resets allowed (``NUMBER_OF_RESETS``); the next one ends the race.
        off_track_penalty, collision_penalty: s the car is held after the reset
            (``OFF_TRACK_PENALTY``, ``COLLISION_PENALTY``; the simapp's evaluation defaults are
            2 s and 5 s, DeepRacer-on-AWS's race form 1 s and 1 s, deepracer-for-cloud's 5 s).
        reverse_penalty: s after ``reversed``; None = the off-track penalty (as the simapp).
        immobilized_penalty: s after ``immobilized`` (simapp default 0).
        continuous: laps back to back in one episode (``IS_CONTINUOUS``); else each lap is a
            fresh trial from the start line, appended whatever its outcome.
        time_limit: simulated seconds after which the race ends.

    Raises:
        UsageError: fewer than 1 lap, negative resets, penalties or time limit.
    """

    laps: int = 3
    max_resets: int = DEFAULT_MAX_RESETS
    off_track_penalty: float = 2.0
    collision_penalty: float = 5.0
    reverse_penalty: float | None = None
    immobilized_penalty: float = 0.0
    continuous: bool = True
    time_limit: float = RACE_TIME_LIMIT

    def __post_init__(self) -> None:
        if self.laps < 1:
            raise UsageError(f"laps = {self.laps}; a race has at least 1 lap")
        if self.max_resets < 0:
            raise UsageError(f"max resets = {self.max_resets}; give 0 or more")
        for name in ("off_track_penalty", "collision_penalty", "immobilized_penalty",
                     "time_limit"):
            if not getattr(self, name) >= 0:
                raise UsageError(f"{name} = {getattr(self, name)} s; give 0 s or more")

    def penalty(self, status: str) -> float:
        """Seconds the car is held after a reset of ``status``.

        Raises:
            UsageError: not a reset status.
        """
        if status == "off_track":
            return self.off_track_penalty
        if status == "crashed":
            return self.collision_penalty
        if status == "reversed":
            return self.off_track_penalty if self.reverse_penalty is None else self.reverse_penalty
        if status == "immobilized":
            return self.immobilized_penalty
        raise UsageError(f"no penalty for status {status!r}; expected one of {RESET_STATUSES}")


@dataclass
class LapMetric:
    """One ``EvaluationMetrics`` entry (``EvalMetrics.append_episode_metrics``), times in ms."""

    completion_percentage: int
    metric_time: int
    start_time: int
    elapsed_time_in_milliseconds: int
    episode_status: str
    crash_count: int = 0
    immobilized_count: int = 0
    off_track_count: int = 0
    reversed_count: int = 0
    reset_count: int = 0
    trial: int = 0

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class MetricsRecorder:
    """The simapp's ``EvalMetrics`` bookkeeping, fed one event at a time.

    :meth:`reset` at an episode start, :meth:`step` for every step with its sim-trace status
    and progress (%), :meth:`lap` when a continuous race completes a lap, :meth:`finish_episode`
    at the end of a trial, :meth:`time_up` when the race time runs out. Times are simulated
    seconds.
    """

    continuous: bool
    metrics: list[LapMetric] = field(default_factory=list)
    start_time: float = 0.0
    progress: float = 0.0
    status: str = ""
    counts: dict = field(default_factory=lambda: dict.fromkeys(RESET_STATUSES, 0))
    trials: int = 0

    def reset(self, sim_time: float) -> None:
        """The lap clock restarts and the reset counters clear (``EvalMetrics.reset``)."""
        self.start_time = sim_time
        for key in self.counts:
            self.counts[key] = 0

    def step(self, status: str, progress: float) -> None:
        """One step's status: a reset status counts once (the pause steps after it report
        ``pause``)."""
        self.progress = progress
        self.status = status
        if status in self.counts:
            self.counts[status] += 1

    def _append(self, sim_time: float, complete: bool) -> None:
        if complete:
            self.trials += 1
        c = self.counts
        self.metrics.append(LapMetric(
            completion_percentage=int(self.progress),
            metric_time=round(sim_time * 1000),
            start_time=round(self.start_time * 1000),
            elapsed_time_in_milliseconds=round((sim_time - self.start_time) * 1000),
            episode_status=STATUS_LABELS.get(self.status, self.status),
            crash_count=c["crashed"], immobilized_count=c["immobilized"],
            off_track_count=c["off_track"], reversed_count=c["reversed"],
            reset_count=sum(c.values()), trial=self.trials))

    def lap(self, sim_time: float) -> None:
        """A continuous race completed a lap: append it and restart the lap clock."""
        self._append(sim_time, True)
        self.reset(sim_time)

    def finish_episode(self, sim_time: float) -> None:
        """A non-continuous trial ended: it is appended whatever its outcome."""
        if not self.continuous:
            self._append(sim_time, True)

    def time_up(self, sim_time: float) -> None:
        """The race time ran out: an incomplete entry, only if no lap was done."""
        if self.trials == 0:
            self._append(sim_time, False)


#: ``("drive", s)`` | ``("lap",)`` | ``(<reset status>, progress %)`` | ``("time_up",)``.
Event = tuple


def score_events(events: Iterable[Event], rules: RaceRules,
                 start_time: float = 0.0) -> list[LapMetric]:
    """The ``EvaluationMetrics`` entries of a race given as events, in order.

    ``("drive", s)``: the car drives ``s`` simulated seconds; ``("lap",)``: it completes a lap;
    ``(status, progress)`` with a :data:`RESET_STATUSES` status: a reset at that progress (%):
    within the budget the car is held for the penalty (the clock runs) and continues, past it
    the episode ends (a continuous race ends without an entry for the unfinished lap);
    ``("time_up",)``: the race time ran out. Continuous: the race ends after ``rules.laps``
    laps; non-continuous: after ``rules.laps`` trials, each a fresh episode.

    Raises:
        UsageError: an unknown event, a negative time, events after the race ended, or events
            that end before the race does.
    """
    rec = MetricsRecorder(rules.continuous)
    clock = start_time
    rec.reset(clock)
    trials = laps = resets = 0
    finished = False

    def end_trial() -> bool:
        nonlocal trials, resets
        rec.finish_episode(clock)
        trials += 1
        resets = 0
        rec.reset(clock)
        return trials >= rules.laps

    for k, ev in enumerate(events):
        kind = ev[0]
        if finished:
            raise UsageError(f"event {k} {ev!r} comes after the race ended")
        if kind == "drive":
            if not ev[1] >= 0:
                raise UsageError(f"event {k} {ev!r}: negative time")
            clock += float(ev[1])
        elif kind == "lap":
            rec.step("lap_complete", 100.0)
            laps += 1
            if rules.continuous:
                rec.lap(clock)
                finished = laps >= rules.laps
            else:
                finished = end_trial()
        elif kind in RESET_STATUSES:
            rec.step(kind, float(ev[1]))
            if resets < rules.max_resets:
                resets += 1
                clock += rules.penalty(kind)
            elif rules.continuous:
                finished = True
            else:
                finished = end_trial()
        elif kind == "time_up":
            rec.time_up(clock)
            finished = True
        else:
            raise UsageError(f"event {k} {ev!r}: unknown kind {kind!r}; expected 'drive', "
                             f"'lap', 'time_up' or one of {RESET_STATUSES}")
    if not finished:
        raise UsageError(f"the events end before the race does (laps {laps}, trials {trials} "
                         f"of {rules.laps}); add laps, a reset past the budget or 'time_up'")
    return rec.metrics


def metrics_from_simtrace(rows: Sequence[dict], continuous: bool) -> list[LapMetric]:
    """The ``EvaluationMetrics`` entries rebuilt from an evaluation sim-trace (dicts with the
    sim-trace columns ``steps``, ``tstamp``, ``episode_status``, ``progress``): a row with
    ``steps == 1`` starts an episode.

    The simapp starts the lap clock at the episode reset, about one step before the first
    row's ``tstamp``, so elapsed times come out about one step short of the real metrics.
    """
    rec = MetricsRecorder(continuous)
    started = False
    prev_t = 0.0
    for row in rows:
        t = float(row["tstamp"])
        if float(row["steps"]) == 1.0:
            if started:
                rec.finish_episode(prev_t)
            rec.reset(t)
            started = True
        rec.step(str(row["episode_status"]), float(row["progress"]))
        if continuous and float(row["progress"]) == 100.0:
            rec.lap(t)
        prev_t = t
    if started:
        rec.finish_episode(prev_t)
    return rec.metrics


@dataclass
class SubmissionStats:
    """DeepRacer-on-AWS's ``SubmissionStats`` of one race, times in ms."""

    reset_count: int
    avg_lap_time: int
    best_lap_time: int
    total_lap_time: int
    collision_count: int
    off_track_count: int
    completed_lap_count: int


def best_average_lap_time(metrics: Sequence[LapMetric], window: int) -> int:
    """The lowest ``floor(mean)`` over ``window`` consecutive entries that are all complete
    laps, ms (``getBestAverageLapTime``); :data:`INVALID_RANKING_SCORE` when there is none.

    Raises:
        UsageError: window < 1.
    """
    if window < 1:
        raise UsageError(f"minimum laps = {window}; give 1 or more")
    best = INVALID_RANKING_SCORE
    for i in range(len(metrics) - window + 1):
        chunk = metrics[i:i + window]
        if all(m.completion_percentage == 100 for m in chunk):
            best = min(best, math.floor(sum(m.elapsed_time_in_milliseconds for m in chunk)
                                        / window))
    return best


def max_consecutive_completed_laps(metrics: Sequence[LapMetric]) -> int:
    """The longest run of entries with completion 100 (``getMaxConsecutiveCompletedLaps``)."""
    best = run = 0
    for m in metrics:
        run = run + 1 if m.completion_percentage == 100 else 0
        best = max(best, run)
    return best


def submission_stats(metrics: Sequence[LapMetric], minimum_laps: int) -> SubmissionStats:
    """The race's stats as DeepRacer-on-AWS computes them (best and total over all entries,
    complete or not; the average over the best window of ``minimum_laps`` complete laps)."""
    times = [m.elapsed_time_in_milliseconds for m in metrics]
    return SubmissionStats(
        reset_count=sum(m.reset_count for m in metrics),
        avg_lap_time=best_average_lap_time(metrics, minimum_laps),
        best_lap_time=min([*times, INVALID_RANKING_SCORE]),
        total_lap_time=sum(times),
        collision_count=sum(m.crash_count for m in metrics),
        off_track_count=sum(m.off_track_count for m in metrics),
        completed_lap_count=max_consecutive_completed_laps(metrics),
    )


def ranking_score(stats: SubmissionStats, timing_method: str) -> int:
    """The number the leaderboard sorts by, ms, lower first (``getRankingScore``).

    Raises:
        UsageError: an unknown timing method.
    """
    if timing_method == "AVG_LAP_TIME":
        return stats.avg_lap_time
    if timing_method == "BEST_LAP_TIME":
        return stats.best_lap_time
    if timing_method == "TOTAL_TIME":
        return stats.total_lap_time
    raise UsageError(f"timing method {timing_method!r}; use one of {', '.join(TIMING_METHODS)}")


def _seconds(ms: int | None) -> float | None:
    return None if ms is None or ms >= INVALID_RANKING_SCORE else ms / 1000.0


def leaderboard_entry(metrics: Sequence[LapMetric], minimum_laps: int,
                      timing_method: str) -> dict:
    """The race's leaderboard entry: the seven :data:`LEADERBOARD_KEYS` (times in seconds; None
    when there is nothing to time: ``AvgLapTime`` without ``minimum_laps`` consecutive complete
    laps, ``BestLapTime`` and ``TotalLapTime`` without any entry), then ``RankingScore``
    (seconds by ``timing_method``, None when not ranked: fewer than ``minimum_laps``
    consecutive complete laps) and ``TimingMethod``. ``LapCount`` is the longest run of
    consecutive complete laps; ``ResetCount`` counts every reset cause, so it can exceed
    ``OffTrackCount + CollisionCount``.

    Raises:
        UsageError: an unknown timing method or ``minimum_laps`` < 1.
    """
    stats = submission_stats(metrics, minimum_laps)
    score = ranking_score(stats, timing_method)
    ranked = stats.completed_lap_count >= minimum_laps
    return {
        "LapCount": stats.completed_lap_count,
        "AvgLapTime": _seconds(stats.avg_lap_time),
        "BestLapTime": _seconds(stats.best_lap_time),
        "TotalLapTime": _seconds(stats.total_lap_time) if metrics else None,
        "OffTrackCount": stats.off_track_count,
        "CollisionCount": stats.collision_count,
        "ResetCount": stats.reset_count,
        "RankingScore": _seconds(score) if ranked else None,
        "TimingMethod": timing_method,
    }
