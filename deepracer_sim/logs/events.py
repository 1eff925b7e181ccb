"""What training and evaluation report, and the observer hooks that receive it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from deepracer_sim.formats.jsonio import jsonable
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.formats.run_folder import RunFolder
from deepracer_sim.sim.simulator import Simulator
from deepracer_sim.track.model import Track


@dataclass
class LapResult:
    """One evaluation episode.

    Attributes:
        progress: final progress, percent (100.0 for a completed lap).
        lap_time: simulated seconds from the PREPARE step to the last step.
        status: final sim-trace status (lap_complete, off_track, reversed, immobilized, time_up).
        steps: steps including the PREPARE step.
        reward: sum of rewards (0.0 when no reward function was given).
        start: start point, fraction of a lap from waypoint 0.
    """

    progress: float
    lap_time: float
    status: str
    steps: int
    reward: float
    start: float


class EpisodeObserver:
    """Hooks into :func:`run_laps` (subclass and override what you need).

    ``on_start(simulator, track, action_space)`` before the first step; ``on_step(rec, actions,
    rewards, active)`` after every step with the (N, NR) step records (``kernel.R_*`` columns), the
    actions given, the (N,) rewards and the (N,) bool mask of cars whose episode was still running
    at this step; ``on_end(results)`` with the :class:`LapResult` list.
    """

    def on_start(self, simulator: Simulator, track: Track, action_space: ActionSpace) -> None:
        pass

    def on_step(self, rec: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                active: np.ndarray) -> None:
        pass

    def on_end(self, results: list[LapResult]) -> None:
        pass


@dataclass
class IterationStats:
    """One iteration: the training episodes that ended during it, the PPO update's losses, the
    checkpoint and its evaluation.

    Attributes:
        iteration: 0-based iteration number; steps: total environment steps after it.
        wall_time: seconds since the process started (``TrainConfig.started_at``).
        rewards, progress, lap_times: per training episode that ended (lap_times: completed).
        statuses: the final episode_status of each of those episodes.
        losses: stable-baselines3's ``train/*`` values of the update (entropy_loss, approx_kl...).
        checkpoint: file name in ``model/``; eval_laps: its evaluation episodes.
    """

    iteration: int = 0
    steps: int = 0
    wall_time: float = 0.0
    rewards: list[float] = field(default_factory=list)
    progress: list[float] = field(default_factory=list)
    lap_times: list[float] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    losses: dict[str, float] = field(default_factory=dict)
    checkpoint: str = ""
    eval_laps: list[LapResult] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return len(self.lap_times)

    @property
    def eval_progress(self) -> float:
        """Mean evaluation progress, % (nan without evaluation)."""
        return float(np.mean([lap.progress for lap in self.eval_laps])) if self.eval_laps \
            else float("nan")

    @property
    def eval_lap_time(self) -> float:
        """Mean lap time of the completed evaluation laps, s (nan if none)."""
        done = [lap.lap_time for lap in self.eval_laps if lap.status == "lap_complete"]
        return float(np.mean(done)) if done else float("nan")

    def summary(self) -> dict:
        """A JSON-able one-line summary (the lines of ``metrics/iterations.jsonl``)."""
        n = len(self.rewards)
        return jsonable({
            "iteration": self.iteration, "steps": self.steps,
            "wall_time": round(self.wall_time, 3), "episodes": n,
            "mean_reward": float(np.mean(self.rewards)) if n else None,
            "mean_progress": float(np.mean(self.progress)) if n else None,
            "completion_rate": self.completed / n if n else None,
            "best_lap_time": min(self.lap_times) if self.lap_times else None,
            "eval_progress": self.eval_progress, "eval_lap_time": self.eval_lap_time,
            "eval_laps": [asdict(lap) for lap in self.eval_laps],
            "checkpoint": self.checkpoint,
            **{k.replace("train/", ""): v for k, v in self.losses.items()},
        })


class TrainingObserver:
    """Hooks into :func:`train` (subclass and override what you need).

    ``on_start`` gets the run folder, the training env and the model before the first step;
    ``on_iteration`` each finished :class:`IterationStats`; ``on_end`` whether training was
    interrupted (also called after a failure). Per-step data: ``env.listeners``.
    """

    def on_start(self, run: RunFolder, env, model) -> None:
        pass

    def on_iteration(self, stats: IterationStats) -> None:
        pass

    def on_end(self, interrupted: bool) -> None:
        pass
