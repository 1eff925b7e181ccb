"""Evaluation: greedy laps of a policy, as DeepRacer's evaluation runs them.

Each lap is a fresh episode from a start point (the start line for an evaluation job) in
evaluation mode: no round robin, the policy's most likely action (argmax for a discrete space,
the mean for a continuous one), the episode ends at lap_complete, off_track, reversed,
immobilized or the step cap. All laps run side by side in one batched simulation. The simulator
is deterministic, so laps from the same start point are identical. Each lap calls its own
instance of the reward file (:func:`~deepracer_sim.reward.make_reward_callers`), so a reward
that keeps state in its globals sees one car's steps, as on DeepRacer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepracer_sim.envs.sensors import FEATURES, Sensors
from deepracer_sim.envs.setup import default_max_steps
from deepracer_sim.errors import CheckpointError
from deepracer_sim.formats.checkpoints import checkpoint_name, pick_hint, run_checkpoint_files
from deepracer_sim.formats.model_metadata import (
    DEFAULT_NEURAL_NETWORK,
    ActionSpace,
    read_model_metadata,
)
from deepracer_sim.formats.run_folder import RunFolder
from deepracer_sim.logs.events import EpisodeObserver, LapResult
from deepracer_sim.logs.writer import EvaluationLogger
from deepracer_sim.reward import RewardCaller, make_reward_callers
from deepracer_sim.sim import layout
from deepracer_sim.sim.car import car_params, resolve_physics
from deepracer_sim.sim.params import params_from_record
from deepracer_sim.sim.simulator import Simulator, make_config
from deepracer_sim.track import Track, load_track
from deepracer_sim.training.policy import load_policy, state_sensor_of

#: Maps a batch of observations ((N, OBS_DIM) float32 for FEATURES) to N actions.
Predict = Callable[[Any], np.ndarray]


def run_laps(predict: Predict, track: Track, action_space: ActionSpace, version: float,
             starts: Sequence[float], max_steps: int,
             reward: RewardCaller | Sequence[RewardCaller] | None = None,
             observers: Sequence[EpisodeObserver] = (),
             reversed_direction: bool = False, sensor: str = FEATURES,
             physics: str | None = None,
             should_stop: Callable[[], bool] | None = None) -> list[LapResult]:
    """Run one greedy episode per start point, all in one batch.

    Args:
        predict: the policy (greedy).
        version: the model's ``model_metadata.json`` version.
        starts: start points, fractions of a lap from waypoint 0.
        max_steps: step cap per episode.
        reward: optional reward caller, or one per lap (rewards are summed into the results).
        observers: :class:`EpisodeObserver` hooks (logging, rendering).
        reversed_direction: drive against the track's row order.
        sensor: what ``predict`` sees (:mod:`deepracer_sim.envs.sensors`; the camera without
            domain randomisation, as an evaluation).
        physics: the simulator generation (``"v4"``, ``"v5"``, ``"v6"``); None follows
            ``version`` (:func:`~deepracer_sim.sim.car.physics_for_version`).
        should_stop: checked before every step; once it returns True the laps are abandoned
            and the result is empty (a stop signal during training).

    Returns:
        one :class:`LapResult` per start, in order ([] if abandoned).
    """
    n = len(starts)
    callers = (list(reward) if isinstance(reward, Sequence) else [reward] * n)
    cfg = make_config(0.0, False, False, max_steps, 0.0)
    car = car_params(resolve_physics(physics, version))
    simulator = Simulator(track, n, car.as_array(), cfg, np.array(starts, dtype=np.float64),
                          reversed_direction)
    sensors = Sensors(sensor, simulator, track, training=False) if sensor != FEATURES else None
    for observer in observers:
        observer.on_start(simulator, track, action_space)
    active = np.ones(n, dtype=bool)
    totals = np.zeros(n)
    rewards = np.zeros(n)
    results: list[LapResult | None] = [None] * n
    steer = np.zeros(n)
    speed = np.zeros(n)
    while active.any():
        if should_stop is not None and should_stop():
            return []
        actions = predict(simulator.obs if sensors is None else sensors.observe())
        steer[:], speed[:] = action_space.scale(actions)
        simulator.step(steer, speed, False)
        rows = simulator.rec.tolist()
        rewards[:] = 0.0
        running = np.flatnonzero(active).tolist()
        for i in running:
            caller = callers[i]
            if caller is not None and rows[i][layout.R_CALL_REWARD] > 0.5:
                rewards[i] = caller(params_from_record(rows[i], track))
            totals[i] += rewards[i]
        for observer in observers:
            observer.on_step(simulator.rec, actions, rewards, active)
        for i in running:
            row = rows[i]
            if row[layout.R_DONE] > 0.5 or row[layout.R_TRUNCATED] > 0.5:
                active[i] = False
                results[i] = LapResult(
                    progress=row[layout.R_PROGRESS],
                    lap_time=layout.lap_time(row),
                    status=layout.status(row),
                    steps=int(row[layout.R_STEPS]),
                    reward=float(totals[i]),
                    start=float(starts[i]),
                )
    done = [r for r in results if r is not None]
    for observer in observers:
        observer.on_end(done)
    return done


def sb3_predict(model) -> Predict:
    """A greedy :data:`Predict` from a stable-baselines3 model or policy (anything with
    ``predict(obs, deterministic=True) -> (actions, state)``: ``PPO`` while training, the
    ``ActorCriticPolicy`` of :func:`~deepracer_sim.training.policy.load_policy` when
    evaluating a checkpoint)."""
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


@dataclass
class EvaluationSetup:
    """What :func:`evaluate_run` evaluates: the run folder, the policy and the conditions."""

    run_dir: Path
    checkpoint: str
    model: object
    track: Track
    action_space: ActionSpace
    version: float
    physics: str
    reward_file: Path
    max_steps: int
    reversed_direction: bool
    started: str  # YYYYmmddHHMMSS, DeepRacer's evaluation folder stamp
    sensor: str = FEATURES


def load_evaluation(run_dir: str | Path, track: str | Path | None = None,
                    checkpoint: str = "best", physics: str | None = None) -> EvaluationSetup:
    """Read a training run folder for evaluation. The car is ``physics`` if given, else the
    run's (``run_config.json``), else the one its model version runs on.

    Raises:
        RunFolderError: not a run folder, a damaged ``run_config.json``; CheckpointError: the
            checkpoint is missing or damaged (the message lists the others and how to pick
            one); TrackError, ActionSpaceError, RewardFunctionError: broken run files.
    """
    run = RunFolder(Path(run_dir))
    config = run.read_config()
    space, version = read_model_metadata(run.model_metadata)
    name = checkpoint_name(run, checkpoint)
    try:
        model = load_policy(run.checkpoint_path(name), space,
                            config.get("neural_network") or DEFAULT_NEURAL_NETWORK)
    except CheckpointError as exc:
        others = [n for n in run_checkpoint_files(run.model_dir) if n != name]
        raise CheckpointError(f"{exc}; fix: " + (pick_hint(run.model_dir) if others else
                                                  "train the run again")) from None
    if track is None:  # the training track: its file, or its name if the run folder moved
        path = config.get("track_path")
        track = path if path and Path(path).is_file() else config["track"]
    trk = load_track(track)
    max_steps = config.get("max_steps") or default_max_steps(trk)
    physics = resolve_physics(physics or config.get("physics"), version)
    make_reward_callers(run.reward_file, 1)  # a broken reward file fails here
    return EvaluationSetup(run.root, name, model, trk, space, version, physics, run.reward_file,
                           int(max_steps),
                           bool(config.get("reverse_direction", False)),
                           time.strftime("%Y%m%d%H%M%S"), state_sensor_of(model))


def default_evaluation_observers(setup: EvaluationSetup) -> list[EpisodeObserver]:
    """Observers every evaluation gets (the evaluation logs)."""
    return [EvaluationLogger(setup.run_dir, setup.started)]


def evaluate_run(run_dir: str | Path, track: str | Path | None = None, laps: int = 3,
                 checkpoint: str = "best", observers: Sequence[EpisodeObserver] = (),
                 physics: str | None = None) -> EvaluationReport:
    """Evaluate a training run folder: ``laps`` greedy episodes from the start line.

    Args:
        run_dir: a folder written by ``train.py``.
        track: another track to evaluate on (default: the training track).
        checkpoint: "best", "last" or a checkpoint name or number (``N`` of
            ``model/N_Step-<steps>.zip``).
        observers: extra :class:`EpisodeObserver` hooks (e.g. the viewer).
        physics: the simulator generation; None: the run's (``run_config.json``), else the
            one the model's version runs on.

    Raises:
        FileNotFoundError: not a run folder, or the checkpoint is missing (message names it).
    """
    setup = load_evaluation(run_dir, track, checkpoint, physics)
    results = run_laps(sb3_predict(setup.model), setup.track, setup.action_space,
                       setup.version, [0.0] * laps, setup.max_steps,
                       reward=make_reward_callers(setup.reward_file, laps),
                       observers=[*default_evaluation_observers(setup), *observers],
                       reversed_direction=setup.reversed_direction, sensor=setup.sensor,
                       physics=setup.physics)
    return EvaluationReport(setup.track.name, setup.checkpoint, results)
