"""Evaluation: greedy laps of a policy, as DeepRacer's evaluation runs them.

Each lap is a fresh episode from a start point (the start line for an evaluation job) in
evaluation mode: no round robin, the policy's most likely action (argmax for a discrete space,
the mean for a continuous one), the episode ends at lap_complete, off_track, reversed,
immobilized or the step cap. All laps run side by side in one batched simulation. The simulator
is deterministic, so laps from the same start point are identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import sim
from .action_space import ActionSpace, read_model_metadata
from .car import dynamics_for_version
from .constants import STATUS_CODES, STEP_DT
from .params import params_from_record
from .reward import RewardCaller
from .track import Track, load_track

#: Maps an (N, OBS_DIM) float32 batch of observations to N actions.
Predict = Callable[[np.ndarray], np.ndarray]


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


def run_laps(predict: Predict, track: Track, action_space: ActionSpace, version: float,
             starts: list[float], max_steps: int, reward: RewardCaller | None = None,
             on_step: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None = None,
             reversed_direction: bool = False) -> list[LapResult]:
    """Run one greedy episode per start point, all in one batch.

    Args:
        predict: the policy (greedy).
        starts: start points, fractions of a lap from waypoint 0.
        max_steps: step cap per episode.
        reward: optional reward caller (rewards are summed into the results).
        on_step: optional ``f(rec (N, NR), rewards (N,), active (N,) bool)`` after every step,
            for logging.

    Returns:
        one :class:`LapResult` per start, in order.
    """
    n = len(starts)
    cfg = sim.make_config(0.0, False, False, max_steps, 0.0)
    simulator = sim.Simulator(track, n, dynamics_for_version(version).as_array(), cfg,
                              np.array(starts, dtype=np.float64), reversed_direction)
    active = np.ones(n, dtype=bool)
    totals = np.zeros(n)
    rewards = np.zeros(n)
    results: list[LapResult | None] = [None] * n
    steer = np.zeros(n)
    speed = np.zeros(n)
    while active.any():
        actions = predict(simulator.obs)
        s, v = action_space.scale(actions)
        steer[:] = s
        speed[:] = v
        simulator.step(steer, speed, False)
        rows = simulator.rec.tolist()
        rewards[:] = 0.0
        for i in np.flatnonzero(active):
            row = rows[i]
            if reward is not None and row[sim.R_CALL_REWARD] > 0.5:
                rewards[i] = reward(params_from_record(row, track))
            totals[i] += rewards[i]
        if on_step is not None:
            on_step(simulator.rec, rewards, active.copy())
        for i in np.flatnonzero(active):
            row = rows[i]
            if row[sim.R_DONE] > 0.5 or row[sim.R_TRUNCATED] > 0.5:
                active[i] = False
                results[i] = LapResult(
                    progress=row[sim.R_PROGRESS],
                    lap_time=(row[sim.R_STEPS] - 1.0) * STEP_DT,
                    status=STATUS_CODES[int(row[sim.R_STATUS])],
                    steps=int(row[sim.R_STEPS]),
                    reward=float(totals[i]),
                    start=float(starts[i]),
                )
    return [r for r in results if r is not None]


def sb3_predict(model) -> Predict:
    """A greedy :data:`Predict` from a stable-baselines3 model."""
    def predict(obs: np.ndarray) -> np.ndarray:
        actions, _ = model.predict(obs, deterministic=True)
        return actions
    return predict


@dataclass
class EvaluationReport:
    """Result of :func:`evaluate_run`; ``to_json()`` is ``evaluate.py --json``'s object."""

    track: str
    checkpoint: str
    laps: list[LapResult]

    @property
    def completion_rate(self) -> float:
        """Fraction of laps completed (0..1)."""
        return sum(lap.status == "lap_complete" for lap in self.laps) / max(len(self.laps), 1)

    def to_json(self) -> dict:
        return {
            "track": self.track,
            "laps": [{"progress": lap.progress, "lap_time": lap.lap_time, "status": lap.status}
                     for lap in self.laps],
            "completion_rate": self.completion_rate,
        }

    def table(self) -> str:
        """A plain-text per-lap table."""
        lines = [f"track {self.track}, checkpoint {self.checkpoint}",
                 f"{'lap':>3}  {'progress %':>10}  {'lap time s':>10}  status"]
        for k, lap in enumerate(self.laps, 1):
            lines.append(f"{k:>3}  {lap.progress:>10.2f}  {lap.lap_time:>10.3f}  {lap.status}")
        lines.append(f"completion rate {self.completion_rate:.0%}")
        return "\n".join(lines)


def evaluate_run(run_dir: str | Path, track: str | Path | None = None, laps: int = 3,
                 checkpoint: str = "best") -> EvaluationReport:
    """Evaluate a training run folder: ``laps`` greedy episodes from the start line.

    Args:
        run_dir: a folder written by ``train.py``.
        track: another track to evaluate on (default: the training track).
        checkpoint: "best", "last" or a checkpoint name from ``model/``.

    Raises:
        FileNotFoundError: not a run folder, or the checkpoint is missing (message names it).
    """
    from .training import RunFolder, load_policy

    run = RunFolder(Path(run_dir))
    config = run.read_config()
    space, version = read_model_metadata(run.model_metadata)
    name = run.checkpoint_name(checkpoint)
    model = load_policy(run.checkpoint_path(name))
    trk = load_track(track if track is not None else config["track_path"])
    max_steps = int(config.get("max_steps") or 0) or None
    from .env import default_max_steps

    results = run_laps(sb3_predict(model), trk, space, version, [0.0] * laps,
                       max_steps or default_max_steps(trk),
                       reversed_direction=bool(config.get("reverse_direction", False)))
    return EvaluationReport(trk.name, name, results)


def report_json(report: EvaluationReport) -> str:
    return json.dumps(report.to_json())


__all__ = ["EvaluationReport", "LapResult", "asdict", "evaluate_run", "run_laps"]
