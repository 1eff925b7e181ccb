"""PPO training (stable-baselines3) with DeepRacer's run folder, checkpoints and best model.

An *iteration* is one PPO update: ``n_steps`` steps of each of ``n_envs`` cars (the rollout),
then ``num_epochs`` passes of minibatch updates (DeepRacer's iteration is likewise one policy
update, after ``num_episodes_between_training`` episodes). Checkpoints are numbered as
DeepRacer's (:mod:`deepracer_sim.training.checkpoints`): ``model/0_Step-0.zip`` is the policy
training starts from, saved when the run is created; after the ``k``-th update:

* the policy is saved as ``model/<k>_Step-<total steps>.zip`` (the last 4 and the best are
  kept, as the simapp's ``NUM_MODELS_TO_KEEP``);
* it drives ``eval_episodes`` greedy evaluation episodes (DeepRacer's ``MIN_EVAL_TRIALS`` = 5),
  starting at evenly spaced points of the lap (in this deterministic simulator, repeated
  episodes from one start point would be identical);
* the best checkpoint is the evaluated one with the highest mean evaluation progress (as
  DeepRacer's ``BEST_MODEL_METRIC=progress``), ties broken by the shorter mean lap time, and
  ``model/deepracer_checkpoints.json`` points at the best and the last (until a checkpoint is
  evaluated, the best is the last: ``0_Step-0`` at first).

A run folder (``--out``) holds: ``model/model_metadata.json``, ``ip/hyperparameters.json``
(the effective DeepRacer values), ``reward_function.py`` (a byte copy), ``run_config.json``
(track, version, physics generation and the local settings ``evaluate.py`` needs), the
checkpoints, and ``metrics/iterations.jsonl`` (one line per iteration: wall time, training and
evaluation results, PPO losses).

The run folder (``--out``; its layout: :mod:`deepracer_sim.formats.run_folder`) appears all at
once and is never overwritten (:mod:`deepracer_sim.training.runs`); ``cfg.resume`` continues
it (:mod:`deepracer_sim.training.resume`).

Stopping: SIGINT, SIGTERM and SIGHUP (:mod:`deepracer_sim.training.signals`), a KeyboardInterrupt
raised by the reward function, ``term_cond_max_episodes``, the end of the training budget
``cfg.seconds`` and an error (e.g. a reward-function error) all stop at the current step: the
logs are flushed (the cut-off episodes included) and the current policy is saved as the next
checkpoint, so no training is lost; then an error is raised again, and a signal gives
:attr:`TrainResult.exit_code` ``128 + signal``. A budget used up during an update or its
evaluation ends training after that iteration (its checkpoint evaluated).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.policies import ActorCriticPolicy

from deepracer_sim.envs.sensors import FEATURES
from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.errors import UsageError
from deepracer_sim.formats.hyperparameters import (
    SAC,
    fit_batch_size,
    ppo_kwargs,
    read_hyperparameters,
)
from deepracer_sim.formats.model_metadata import DEFAULT_NEURAL_NETWORK
from deepracer_sim.formats.run_folder import RunFolder
from deepracer_sim.logs.events import IterationStats, TrainingObserver
from deepracer_sim.logs.writer import TrainingLogger
from deepracer_sim.track import Track, load_track
from deepracer_sim.training.callbacks import (
    IterationCallback,
    IterationsLog,
    ProgressBar,
    StopOnAverageReward,
    StopRule,
    StopWhenLapsComplete,
    TrainingStopped,
)
from deepracer_sim.training.checkpoints import Checkpointer
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.networks import (
    DeepRacerCnnPolicy,
    camera_policy_kwargs,
    is_camera_observation,
)
from deepracer_sim.training.policy import load_checkpoint_into
from deepracer_sim.training.resume import ResumePoint, cut_back, record_resume, resume_point
from deepracer_sim.training.runs import create_run
from deepracer_sim.training.sac import make_sac_model
from deepracer_sim.training.signals import StopSignals, signal_name
from deepracer_sim.training.tf_weights import load_tf_checkpoint
from deepracer_sim.training.tracks import training_tracks

__all__ = ["IterationStats", "RunFolder", "TrainConfig", "TrainResult", "TrainingObserver",
           "train"]


@dataclass
class TrainResult:
    """What :func:`train` did.

    Attributes:
        run_dir: the run folder; timesteps: total environment steps of the run;
            wall_time: seconds since the process started.
        interrupted: a stop signal (or a KeyboardInterrupt) ended training.
        iterations: the statistics of this command's iterations.
        best, last: the pointer's entries (``name``, ``avg_eval_metric``, ...).
        stop_reason: why training ended before ``timesteps`` (None: it ran them all).
        exit_code: ``128 + signal`` after a stop signal, else 0.
        replaced: where ``--force`` moved an earlier run; resumed_from: the checkpoint a
            resumed run continued from.
        saved_at_stop: the checkpoint saved when a rollout was cut off (None: none).
    """

    run_dir: Path
    timesteps: int
    wall_time: float
    interrupted: bool
    iterations: list[IterationStats]
    best: dict | None
    last: dict | None = None
    stop_reason: str | None = None
    exit_code: int = 0
    replaced: Path | None = None
    resumed_from: str | None = None
    saved_at_stop: str | None = None


def default_observers(cfg: TrainConfig) -> list[TrainingObserver]:
    """Observers every training run gets (the training logs)."""
    return [TrainingLogger()]


def make_training_env(cfg: TrainConfig, track: Track):
    """The vectorised training env of ``cfg`` (one reward-file instance per car; several
    tracks: car ``i`` on track ``i % T``)."""
    tracks = training_tracks(cfg, track)
    return DeepRacerVecEnv(cfg.n_envs, track=tracks if len(tracks) > 1 else track,
                           reward_function=cfg.reward,
                           action_space=cfg.action_space, version=cfg.version,
                           physics=cfg.physics, training=True,
                           round_robin_advance=cfg.round_robin_advance,
                           alternate_direction=cfg.alternate_direction,
                           reverse_direction=cfg.reverse_direction, max_steps=cfg.max_steps,
                           sensor=cfg.sensor, camera_seed=cfg.seed)


def policy_choice(cfg: TrainConfig, observation_space
                  ) -> tuple[str | type[ActorCriticPolicy], dict]:
    """(stable-baselines3 policy, its ``policy_kwargs``) for an environment's observation:

    * a camera frame (:func:`~deepracer_sim.training.networks.is_camera_observation`):
      :class:`~deepracer_sim.training.networks.DeepRacerCnnPolicy` with ``cfg.neural_network``
      (default ``DEEP_CONVOLUTIONAL_NETWORK_SHALLOW``), two separate towers;
    * the feature vector and the camera together (a ``Dict``): stable-baselines3's
      ``"MultiInputPolicy"`` (NatureCNN and the features, then MLP heads of ``cfg.net_arch``);
    * the feature vector: ``"MlpPolicy"`` with separate policy and value networks of
      ``cfg.net_arch``.

    Raises:
        UsageError: a ``neural_network`` (or a TensorFlow checkpoint to start from) for the
            feature vector; NetworkError: an unsupported ``neural_network``.
    """
    mlp_kwargs = {"net_arch": {"pi": list(cfg.net_arch), "vf": list(cfg.net_arch)}}
    if is_camera_observation(observation_space):
        return DeepRacerCnnPolicy, camera_policy_kwargs(cfg.neural_network or
                                                        DEFAULT_NEURAL_NETWORK)
    shape = getattr(observation_space, "shape", observation_space)
    if cfg.init_tf_checkpoint is not None:
        raise UsageError(f"{cfg.init_tf_checkpoint}: a DeepRacer camera model reads the camera "
                         f"frame, but this environment's observation is {shape}: train the "
                         "clone with the camera sensor (FRONT_FACING_CAMERA)")
    if cfg.neural_network is not None:
        raise UsageError(f"{cfg.neural_network}: DeepRacer's camera networks read the camera "
                         f"frame alone, but this environment's observation is {shape}: train "
                         "with --sensor FRONT_FACING_CAMERA, or drop --network")
    if isinstance(observation_space, gym.spaces.Dict):
        return "MultiInputPolicy", mlp_kwargs
    return "MlpPolicy", mlp_kwargs


def make_model(cfg: TrainConfig, env, hp: dict, point: ResumePoint | None = None):
    """The stable-baselines3 PPO model of ``cfg`` and the DeepRacer hyperparameters ``hp``
    (the policy of :func:`policy_choice`; CPU; one torch thread), started from a resumed run's
    last checkpoint (its weights, optimizer state and step count; seeded with ``seed`` + the
    checkpoint number), ``cfg.init_from`` (``--clone`` of our checkpoint, with its optimizer)
    or ``cfg.init_tf_checkpoint`` (a DeepRacer camera checkpoint) when given.

    The minibatch size is capped at the rollout (``n_envs * n_steps``). ``cfg.algorithm``
    ``"sac"``: :func:`~deepracer_sim.training.sac.make_sac_model` instead (the feature
    vector only).

    Raises:
        UsageError, NetworkError: see :func:`policy_choice`, or SAC with a camera;
            CheckpointError, TensorFlowFileError: a checkpoint that does not fit the network.
    """
    if cfg.algorithm == SAC:
        if cfg.sensor != FEATURES:
            raise UsageError(f"SAC trains here on the feature vector only; --sensor "
                             f"{cfg.sensor} trains with PPO (drop --algorithm SAC)")
        return make_sac_model(cfg, env, hp)
    seed = cfg.seed + (point.number if point is not None else 0)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    kwargs = ppo_kwargs(hp)
    kwargs["batch_size"] = min(kwargs["batch_size"], cfg.n_envs * cfg.n_steps)
    policy, policy_kwargs = policy_choice(cfg, env.observation_space)
    model = PPO(policy, env, n_steps=cfg.n_steps, seed=seed, device="cpu", verbose=0,
                policy_kwargs=policy_kwargs, **kwargs)
    if point is not None:
        load_checkpoint_into(model, point.run.checkpoint_path(point.last),
                             require_optimizer=False)
        model.num_timesteps = point.steps
    elif cfg.init_from is not None:
        load_checkpoint_into(model, cfg.init_from)
    elif cfg.init_tf_checkpoint is not None:
        assert isinstance(model.policy, DeepRacerCnnPolicy)  # policy_choice refuses otherwise
        load_tf_checkpoint(model.policy, cfg.init_tf_checkpoint)
    return model


def stop_rules(cfg: TrainConfig, hp: dict) -> list[StopRule]:
    """The rules that end training early: DeepRacer's ``term_cond_avg_score`` and
    ``--stop-when-complete``."""
    rules: list[StopRule] = [StopOnAverageReward(float(hp["term_cond_avg_score"]))]
    if cfg.stop_when_complete:
        rules.append(StopWhenLapsComplete())
    return rules


def _continue_run(point: ResumePoint, cfg: TrainConfig, checkpointer: Checkpointer,
                  logger: TrainingLogger, env: DeepRacerVecEnv) -> None:
    """Bring a run back to its last checkpoint and continue its checkpoints and logs."""
    cut_back(point)
    checkpointer.run = point.run
    checkpointer.restore(point.pointer, point.state)
    logger.restore(point.run, point.logs)
    env.set_clock(float(point.logs.get("clock", 0.0)))
    record_resume(point, cfg)


def _save_stopped(callback: IterationCallback, checkpointer: Checkpointer,
                  logger: TrainingLogger, model) -> str | None:
    """After a rollout was cut off: flush its logs, save the current policy as the next
    checkpoint (not evaluated) and commit it; returns its name (None: nothing new to save)."""
    logger.flush()
    number = len(logger.counts)
    if number <= checkpointer.last_number:
        return None
    entry, _ = checkpointer.save(model, number, evaluate=False)
    checkpointer.commit(entry, [], logger.snapshot())
    return entry["name"]


def _learn(cfg: TrainConfig, model, callback: IterationCallback, checkpointer: Checkpointer,
           logger: TrainingLogger, everyone: Sequence[TrainingObserver],
           stopper: StopSignals) -> str | None:
    """Run PPO; on any stop save what the last checkpoint lacks; returns the name of the
    checkpoint saved at a stop (None: none needed)."""
    try:
        model.learn(total_timesteps=cfg.timesteps, callback=callback,
                    reset_num_timesteps=not cfg.resume)
        if callback.pending:
            callback.finish_iteration()
    except TrainingStopped:
        pass
    except KeyboardInterrupt:  # raised by user code (the reward function), not a signal
        stopper.interrupt()
    except BaseException:
        with contextlib.suppress(Exception):
            _save_stopped(callback, checkpointer, logger, model)
        for observer in everyone:
            with contextlib.suppress(Exception):
                observer.on_end(True)
        raise
    saved = _save_stopped(callback, checkpointer, logger, model)
    for observer in everyone:
        observer.on_end(stopper.requested)
    return saved


def train(cfg: TrainConfig, progress_bar: bool = True,
          observers: Sequence[TrainingObserver] | None = None,
          stopper: StopSignals | None = None, rules: Sequence[StopRule] = ()) -> TrainResult:
    """Train a PPO policy (see the module docstring); ``stopper``: the stop signals' handlers
    (default: installed while training runs, see :mod:`deepracer_sim.training.signals`);
    ``rules``: the caller's stop rules (a sweep's scheduler), checked after each iteration
    after the run's own (:func:`stop_rules`); one that fires ends training like them, with its
    ``reason`` as :attr:`TrainResult.stop_reason`.

    Raises:
        RunExistsError: ``cfg.out`` holds a run and neither ``resume`` nor ``replace`` is set.
        ResumeError: ``cfg.resume`` on a run that cannot be continued.
        TrackError, ActionSpaceError, HyperparameterError, RewardFunctionError, UsageError,
            NetworkError: bad inputs;
            a reward-function error during training is raised after the checkpoint is saved.
    """
    started = cfg.started_at if cfg.started_at is not None else time.time()
    point = resume_point(RunFolder(cfg.out)) if cfg.resume else None
    hp = read_hyperparameters(cfg.hyperparameters, cfg.algorithm)
    if cfg.algorithm != SAC:  # SAC samples its batches from the replay buffer
        hp = fit_batch_size(hp, cfg.n_envs * cfg.n_steps,
                            str(cfg.hyperparameters or "the default hyperparameters"))
    track = load_track(cfg.track)
    env = make_training_env(cfg, track)
    model = make_model(cfg, env, hp, point)  # a network that does not fit: before any file
    checkpointer = Checkpointer(None, cfg, track)
    defaults = default_observers(cfg)
    logger = next((o for o in defaults if isinstance(o, TrainingLogger)), None)
    if logger is None:
        logger = TrainingLogger()
        defaults.insert(0, logger)
    stopper = stopper or StopSignals()
    replaced = None
    with stopper.installed():
        if point is None:
            run, replaced = create_run(cfg, track, hp, model, checkpointer, logger.snapshot())
        else:
            run = point.run
            _continue_run(point, cfg, checkpointer, logger, env)
        bar = ProgressBar(cfg.timesteps, enabled=progress_bar)
        everyone = [IterationsLog(run), *defaults, *(observers or []), bar]
        callback = IterationCallback(checkpointer, everyone, [*stop_rules(cfg, hp), *rules],
                                     int(hp["term_cond_max_episodes"]), started, bar, stopper,
                                     logger.snapshot, checkpointer.last_number, cfg.seconds)
        for observer in everyone:
            observer.on_start(run, env, model)
        saved = _learn(cfg, model, callback, checkpointer, logger, everyone, stopper)
    reason = callback.stop_reason
    if stopper.signum is not None:
        reason = f"stopped by {signal_name(stopper.signum)}"
    return TrainResult(run.root, model.num_timesteps, time.time() - started, stopper.requested,
                       callback.iterations, checkpointer.pointer_best, checkpointer.last,
                       reason, stopper.exit_code or 0, replaced,
                       point.last if point is not None else None, saved)
