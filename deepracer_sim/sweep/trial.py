"""One sweep trial, without Ray: the train command's config, ``train()``, a final evaluation and
the completion marker.

A trial is *finished* if and only if its run folder holds the marker
(:data:`~deepracer_sim.formats.run_folder.SWEEP_TRIAL_MARKER`, ``sweep_trial.json``), written
atomically and flushed to the disk after everything else. A run folder without it is
unfinished: a resumed sweep deletes it and trains the trial again from the start, in the same
folder.

The run folder is the train command's (the same :class:`TrainConfig`, built by the command's
own ``build_config`` from its own option defaults plus the trial's settings), plus one
evaluation of the best checkpoint: ``evaluation-<stamp>/`` and
``metrics/EvaluationMetrics-<stamp>.json``, as ``deepracer-sim evaluate`` writes them, with
:data:`EVAL_LAPS` laps from evenly spaced start points (the simulator is deterministic, so laps
from one start line would be identical; these are the starts of the in-training evaluation).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepracer_sim.formats.files import atomic_write_text
from deepracer_sim.formats.hyperparameters import KNOWN_KEYS, read_hyperparameters
from deepracer_sim.formats.run_folder import HYPERPARAMETERS, SWEEP_TRIAL_MARKER, RunFolder
from deepracer_sim.logs.events import IterationStats, LapResult, TrainingObserver
from deepracer_sim.reward import make_reward_callers
from deepracer_sim.sweep.spec import HOLDOUT_KEY, TrainOptions
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.evaluation import (
    default_evaluation_observers,
    load_evaluation,
    run_laps,
    sb3_predict,
)
from deepracer_sim.training.ppo import train

#: Environment that keeps one trial on one core (set before numba and torch start threads).
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1"}
#: Laps of the final evaluation (DeepRacer's MIN_EVAL_TRIALS, the in-training evaluation's).
EVAL_LAPS = 5

#: Receives a trial's metrics after every iteration (Ray Tune's ``tune.report`` in a sweep);
#: returns why the trial is to stop after this iteration (a scheduler's decision), or None.
Report = Callable[[dict[str, Any]], str | None]
#: The train command's ``build_config``: its arguments -> :class:`TrainConfig`.
BuildConfig = Callable[[argparse.Namespace], TrainConfig]


# ---------------------------------------------------------------------------------------------
def is_finished(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a completion marker."""
    return (Path(run_dir) / SWEEP_TRIAL_MARKER).is_file()


def read_marker(run_dir: Path) -> dict[str, Any]:
    """The completion marker of a finished trial.

    Raises:
        FileNotFoundError: no marker.
    """
    return json.loads((Path(run_dir) / SWEEP_TRIAL_MARKER).read_text())


def write_marker(run_dir: Path, info: dict[str, Any]) -> None:
    """Write the completion marker atomically and durably (the last file a trial writes)."""
    atomic_write_text(Path(run_dir) / SWEEP_TRIAL_MARKER,
                      json.dumps(jsonable(info), indent=2) + "\n")


def jsonable(obj: Any) -> Any:
    """``obj`` with paths as text and inf/nan as None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


# ---------------------------------------------------------------------------------------------
def iteration_metrics(stats: IterationStats, best: dict[str, float]) -> dict[str, Any]:
    """What a trial reports after an iteration (:data:`deepracer_sim.sweep.spec.METRICS`).

    Args:
        stats: the iteration.
        best: the running bests, updated in place.

    Returns:
        ``steps``, ``iteration``, ``eval_progress`` (mean of the evaluation laps, %),
        ``eval_lap_time`` (their mean lap time, s, when every lap completes, else inf),
        ``score``, ``mean_reward`` (training episodes), the running ``best_score``,
        ``best_eval_progress``, ``best_eval_lap_time`` and ``best_lap_time`` (the fastest
        completed evaluation lap so far, s; inf before one). Lap-time metrics are inf, never
        nan, so that comparisons stay ordered.
    """
    laps = stats.eval_laps
    progress = float(sum(lap.progress for lap in laps) / len(laps)) if laps else 0.0
    complete = [lap.lap_time for lap in laps if lap.status == "lap_complete"]
    all_complete = bool(laps) and len(complete) == len(laps)
    lap_time = float(sum(complete) / len(complete)) if all_complete else math.inf
    score = progress + (100.0 / lap_time if all_complete and lap_time > 0 else 0.0)
    best["best_score"] = max(best.get("best_score", -math.inf), score)
    best["best_eval_progress"] = max(best.get("best_eval_progress", 0.0), progress)
    best["best_eval_lap_time"] = min(best.get("best_eval_lap_time", math.inf), lap_time)
    if complete:
        best["best_lap_time"] = min(best.get("best_lap_time", math.inf), min(complete))
    rewards = stats.rewards
    return {
        "steps": int(stats.steps), "iteration": int(stats.iteration),
        "eval_progress": progress, "eval_lap_time": lap_time, "score": score,
        "mean_reward": float(sum(rewards) / len(rewards)) if rewards else 0.0,
        "best_score": best["best_score"], "best_eval_progress": best["best_eval_progress"],
        "best_eval_lap_time": best["best_eval_lap_time"],
        "best_lap_time": best.get("best_lap_time", math.inf),
    }


def lap_summary(laps: list[LapResult]) -> dict[str, Any]:
    """``laps``, ``completion_rate`` (0..1), ``best_lap_time``, ``mean_lap_time`` (s, None
    without a completed lap) and ``mean_progress`` (%) of evaluation laps."""
    done = [lap.lap_time for lap in laps if lap.status == "lap_complete"]
    return {"laps": len(laps), "completion_rate": len(done) / len(laps) if laps else 0.0,
            "best_lap_time": min(done) if done else None,
            "mean_lap_time": sum(done) / len(done) if done else None,
            "mean_progress": sum(lap.progress for lap in laps) / len(laps) if laps else 0.0}


class _Reporter(TrainingObserver):
    """Hands each iteration's metrics to ``report`` and keeps the last ones; a stop rule
    (:data:`deepracer_sim.training.callbacks.StopRule`) that fires once ``report`` returned a
    reason (a scheduler stopped the trial), ``reason`` then being that reason."""

    def __init__(self, report: Report | None) -> None:
        self.report = report
        self.best: dict[str, float] = {}
        self.last: dict[str, Any] = {}
        self.reason: str | None = None

    def on_iteration(self, stats: IterationStats) -> None:
        self.last = iteration_metrics(stats, self.best)
        if self.report is not None:
            self.reason = self.report(self.last) or self.reason

    def __call__(self, stats: IterationStats) -> bool:
        return self.reason is not None


# ---------------------------------------------------------------------------------------------
@dataclass
class TrialFactory:
    """Makes a trial's :class:`TrainConfig` as the train command does: its option defaults
    plus the trial's settings, through its own ``build_config`` (passed in by the command
    line, the room above; no second copy of the config rules here).

    Attributes:
        options: the train command's options.
        build: its ``build_config``.
    """

    options: TrainOptions
    build: BuildConfig

    def config(self, params: dict[str, Any], run_dir: Path, scratch: Path) -> TrainConfig:
        """The trial's config, writing into ``run_dir``. DeepRacer hyperparameters given
        inline are merged over the trial's ``hyperparameters`` file (or the clone's, or the
        defaults) into ``scratch/hyperparameters.json``.

        Raises:
            the train command's input errors (ActionSpaceError, UsageError,
            RewardFunctionError, ExportError, HyperparameterError, TrackError).
        """
        cfg = self.build(self.options.namespace(params, out=Path(run_dir), render=False,
                                                no_progress_bar=True))
        inline = {k: v for k, v in params.items() if k in KNOWN_KEYS}
        if inline:
            merged = {**read_hyperparameters(cfg.hyperparameters), **inline}
            path = Path(scratch) / HYPERPARAMETERS
            path.write_text(json.dumps(merged, indent=2) + "\n")
            read_hyperparameters(path)  # the same checks as a file the racer wrote
            cfg.hyperparameters = path
        cfg.started_at = time.time()
        return cfg


@dataclass
class TrialOutcome:
    """What :func:`run_trial` did: ``status`` (``completed``, or ``interrupted`` when training
    was stopped by Ctrl-C: no marker then), steps, seconds of ``train()`` (wall and this
    process's CPU), the last iteration's metrics, the final evaluation and why training
    ended before its steps (``train()``'s stop reason: ``--seconds``, a stop rule, a
    scheduler's early stop; None: it ran them all)."""

    status: str
    steps: int
    wall_time: float
    cpu_time: float
    last: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None


def final_evaluation(run_dir: Path, laps: int = EVAL_LAPS,
                     track: str | None = None) -> list[LapResult]:
    """Evaluate the best checkpoint of ``run_dir`` from ``laps`` evenly spaced start points on
    its training track (or on ``track``), writing the evaluation logs ``deepracer-sim
    evaluate`` writes (in a folder of their own: the stamp is moved to the next second when
    an evaluation of this second is there)."""
    setup = load_evaluation(run_dir, track=track)
    while RunFolder(Path(run_dir)).evaluation_dir(setup.started).exists():
        time.sleep(0.25)
        setup.started = time.strftime("%Y%m%d%H%M%S")
    return run_laps(sb3_predict(setup.model), setup.track, setup.action_space, setup.version,
                    [k / laps for k in range(laps)], setup.max_steps,
                    reward=make_reward_callers(setup.reward_file, laps),
                    observers=default_evaluation_observers(setup),
                    reversed_direction=setup.reversed_direction, sensor=setup.sensor,
                    physics=setup.physics)


#: Trains and evaluates a trial's config: (config, report, holdout tracks) -> outcome
#: (:func:`train_and_evaluate`; tests pass a fake).
Work = Callable[[TrainConfig, Report | None, tuple[str, ...]], TrialOutcome]


def train_and_evaluate(cfg: TrainConfig, report: Report | None = None,
                       holdout: tuple[str, ...] = ()) -> TrialOutcome:
    """``train()`` the config, then evaluate its best checkpoint (:func:`final_evaluation`)
    on each ``holdout`` track and then on its training track (last, so that the latest
    evaluation of the run folder is the training track's: what ``compare`` ranks by); an
    interrupted training (Ctrl-C) is not evaluated. The holdout tracks' summaries are in the
    outcome's ``evaluation["holdout"]`` (track -> :func:`lap_summary`)."""
    reporter = _Reporter(report)
    cpu = time.process_time()
    result = train(cfg, progress_bar=False, observers=[reporter], rules=[reporter])
    if result.interrupted:
        return TrialOutcome("interrupted", result.timesteps, result.wall_time,
                            time.process_time() - cpu, reporter.last)
    held = {track: lap_summary(final_evaluation(cfg.out, track=track)) for track in holdout}
    evaluation = lap_summary(final_evaluation(cfg.out))
    if held:
        evaluation["holdout"] = held
    return TrialOutcome("completed", result.timesteps, result.wall_time,
                        time.process_time() - cpu, reporter.last, evaluation, result.stop_reason)


def run_trial(factory: TrialFactory, params: dict[str, Any], run_dir: Path,
              report: Report | None = None, marker_extra: dict[str, Any] | None = None,
              work: Work = train_and_evaluate) -> TrialOutcome:
    """Train one trial into ``run_dir``, evaluate it and write its completion marker.

    A finished ``run_dir`` is never touched; anything else there (an interrupted attempt) is
    deleted first. ``report`` gets :func:`iteration_metrics` after every iteration. No marker
    is written when training was interrupted.

    Raises:
        FileExistsError: ``run_dir`` is a finished trial.
        the input errors of :meth:`TrialFactory.config`, and any training error.
    """
    run_dir = Path(run_dir)
    if is_finished(run_dir):
        raise FileExistsError(f"{run_dir} is a finished trial ({SWEEP_TRIAL_MARKER}); a "
                              "finished trial is never run again")
    if run_dir.exists():
        shutil.rmtree(run_dir)
    with tempfile.TemporaryDirectory(prefix="deepracer-sweep-") as scratch:
        cfg = factory.config(params, run_dir, Path(scratch))
        outcome = work(cfg, report, tuple(params.get(HOLDOUT_KEY) or ()))
    if outcome.status != "completed":
        return outcome
    write_marker(run_dir, {
        "status": outcome.status, "steps": outcome.steps,
        "wall_time": round(outcome.wall_time, 3), "cpu_time": round(outcome.cpu_time, 3),
        "params": params, "final": outcome.last, "evaluation": outcome.evaluation,
        "stop_reason": outcome.stop_reason,
        "host": socket.gethostname(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        **(marker_extra or {})})
    return outcome
