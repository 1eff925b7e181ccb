"""The stable-baselines3 callback that turns PPO's rollout/update cycle into DeepRacer
iterations, the stop rules of DeepRacer's hyperparameters, and the progress bar.

SB3 calls ``_on_rollout_start`` before each rollout, ``_on_step`` after each vectorised step and
``_on_rollout_end`` after the rollout; the PPO update follows. So an iteration (one rollout and
its update) is finished at the next ``_on_rollout_start``, or when ``learn()`` returns.

Stopping: a stop signal (:mod:`deepracer_sim.training.signals`), ``term_cond_max_episodes`` or
the training budget in seconds (``train --seconds``) ends the running rollout at the next step
(``_on_step`` returns False; the caller saves the policy as the next checkpoint); a stop rule
that fires after an iteration, or a signal or the end of the budget during the update or its
evaluation, ends training before the next rollout takes a step (:class:`TrainingStopped`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from deepracer_sim.formats.files import append_text
from deepracer_sim.formats.run_folder import RunFolder
from deepracer_sim.logs.events import IterationStats, TrainingObserver
from deepracer_sim.training.checkpoints import Checkpointer
from deepracer_sim.training.signals import StopSignals

#: Decides after an iteration whether training stops.
StopRule = Callable[[IterationStats], bool]
#: The clock the training budget is measured with (s; tests replace it).
clock: Callable[[], float] = time.monotonic


class StopOnAverageReward:
    """DeepRacer's ``term_cond_avg_score``: stop once an iteration's training episodes earned this
    mean reward (the simapp's default 350,000 is out of reach, as in DeepRacer)."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.reason = (f"term_cond_avg_score: an iteration's mean training reward reached "
                       f"{threshold:g} (ip/hyperparameters.json)")

    def __call__(self, stats: IterationStats) -> bool:
        return bool(stats.rewards) and float(np.mean(stats.rewards)) >= self.threshold


class StopWhenLapsComplete:
    """``--stop-when-complete``: stop after the first iteration whose evaluation episodes all
    complete their lap."""

    reason = "--stop-when-complete: every evaluation lap completed"

    def __call__(self, stats: IterationStats) -> bool:
        return bool(stats.eval_laps) and all(lap.status == "lap_complete"
                                             for lap in stats.eval_laps)


class TrainingStopped(Exception):
    """Raised inside ``learn()`` to end training between iterations."""


class IterationsLog(TrainingObserver):
    """Appends each iteration's summary to ``metrics/iterations.jsonl`` (our own log; the run
    folder is created with it, a resumed run appends)."""

    def __init__(self, run: RunFolder) -> None:
        self.path = run.iterations_log

    def on_iteration(self, stats: IterationStats) -> None:
        append_text(self.path, json.dumps(stats.summary()) + "\n")


class ProgressBar(TrainingObserver):
    """A tqdm bar of the environment steps, with each iteration's mean reward, progress,
    completed laps and mean evaluation progress."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.bar = tqdm(total=total, unit="step", disable=not enabled, dynamic_ncols=True,
                        desc="training")

    def advance(self, steps: int) -> None:
        self.bar.update(steps)

    def on_iteration(self, stats: IterationStats) -> None:
        n = len(stats.rewards)
        self.bar.set_postfix({
            "iter": stats.iteration,
            "reward": f"{np.mean(stats.rewards):.1f}" if n else "-",
            "progress": f"{np.mean(stats.progress):.0f}%" if n else "-",
            "laps": f"{stats.completed}/{n}",
            "eval": f"{stats.eval_progress:.0f}%",
        }, refresh=False)

    def on_end(self, interrupted: bool) -> None:
        self.bar.close()


def add_episode(stats: IterationStats, info: dict) -> None:
    """Record one finished training episode (a vec env info with ``episode_status``)."""
    stats.rewards.append(float(info["episode"]["r"]))
    stats.progress.append(float(info["progress"]))
    stats.statuses.append(info["episode_status"])
    if info["episode_status"] == "lap_complete":
        stats.lap_times.append(float(info["lap_time"]))


class IterationCallback(BaseCallback):
    """DeepRacer iterations on top of PPO (see the module docstring).

    After each PPO update the checkpointer saves and evaluates the policy, the finished
    :class:`IterationStats` goes to every observer in order (the logs), the checkpoint is
    committed (:meth:`Checkpointer.commit`), and the stop rules decide whether to go on.
    ``max_episodes`` is DeepRacer's ``term_cond_max_episodes``: training stops at the step
    that ends that many episodes (of this ``train`` command).

    Args:
        checkpointer: saves, evaluates and points at the checkpoints.
        observers: receive each iteration (logs, the iterations log, the progress bar, ...).
        stop_rules: checked after each iteration.
        max_episodes: stop after this many training episodes.
        started: ``time.time()`` the wall times count from.
        bar: the progress bar, advanced after each rollout (or None).
        stopper: the stop signals received (default: none installed).
        logs: returns the logs' snapshot recorded with each checkpoint.
        first_iteration: the number of the first iteration (a resumed run's next).
        seconds: the training budget (``train --seconds``): wall-clock seconds from the start
            of ``learn()`` (rollouts, updates and in-training evaluations of this command;
            not the start-up before it), checked after every step and before every rollout
            (None: no budget).
    """

    def __init__(self, checkpointer: Checkpointer, observers: Sequence[TrainingObserver],
                 stop_rules: Sequence[StopRule], max_episodes: int, started: float,
                 bar: ProgressBar | None = None, stopper: StopSignals | None = None,
                 logs: Callable[[], dict] | None = None, first_iteration: int = 0,
                 seconds: float | None = None) -> None:
        super().__init__()
        self.checkpointer = checkpointer
        self.observers = list(observers)
        self.stop_rules = list(stop_rules)
        self.max_episodes = max_episodes
        self.started = started
        self.bar = bar
        self.stopper = stopper if stopper is not None else StopSignals()
        self.logs = logs if logs is not None else _no_logs
        self.first_iteration = first_iteration
        self.seconds = seconds
        self.stats = IterationStats()
        self.iterations: list[IterationStats] = []
        self.episodes = 0
        self.updates = 0
        self.stop_reason: str | None = None
        self._last_steps = 0
        self._budget_start = 0.0

    @property
    def pending(self) -> bool:
        """Whether a PPO update has run whose iteration is not finished yet."""
        return self.updates > len(self.iterations)

    @property
    def stopping(self) -> bool:
        """Whether a signal, the episode limit or a stop rule ended training."""
        return self.stopper.requested or self.stop_reason is not None

    def finish_iteration(self, evaluate: bool = True) -> None:
        """Checkpoint (and evaluate, unless stopping) the policy after an update; hand the
        stats on; commit the checkpoint."""
        s = self.stats
        s.iteration = self.first_iteration + self.updates - 1
        s.steps = self.model.num_timesteps
        s.losses = {k: float(v) for k, v in self.model.logger.name_to_value.items()
                    if k.startswith("train/")}
        entry, s.eval_laps = self.checkpointer.save(
            self.model, s.iteration + 1, evaluate and not self.stopper.requested,
            should_stop=lambda: self.stopper.requested)
        s.checkpoint = entry["name"]
        s.wall_time = time.time() - self.started
        self.iterations.append(s)
        for observer in self.observers:
            observer.on_iteration(s)
        self.checkpointer.commit(entry, s.eval_laps, self.logs())
        for rule in self.stop_rules:
            if self.stop_reason is None and rule(s):
                self.stop_reason = getattr(rule, "reason", type(rule).__name__)
        self.stats = IterationStats()

    def _check_budget(self) -> None:
        """Record the end of the training budget as the stop reason once it is used up."""
        if self.seconds is not None and self.stop_reason is None \
                and clock() - self._budget_start >= self.seconds:
            self.stop_reason = f"--seconds: the training budget of {self.seconds:g} s was used up"

    def _on_training_start(self) -> None:
        self._last_steps = self.model.num_timesteps
        self._budget_start = clock()

    def _on_rollout_start(self) -> None:
        if self.pending:
            self.finish_iteration()
        self._check_budget()
        if self.stopping:
            raise TrainingStopped

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode_status" in info:
                add_episode(self.stats, info)
                self.episodes += 1
        if self.episodes >= self.max_episodes and self.stop_reason is None:
            self.stop_reason = (f"term_cond_max_episodes: {self.episodes} training episodes "
                                f"reached the limit of {self.max_episodes} "
                                "(ip/hyperparameters.json)")
        self._check_budget()
        return not self.stopping

    def _on_rollout_end(self) -> None:
        self.updates += 1
        if self.bar is not None:
            self.bar.advance(self.model.num_timesteps - self._last_steps)
        self._last_steps = self.model.num_timesteps


def _no_logs() -> dict:
    return {"iterations": 0, "block_size": 0, "counts": [], "eval_counts": [], "episodes": 0,
            "episode_steps": 0, "clock": 0.0}
