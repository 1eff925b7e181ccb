"""PPO training (stable-baselines3) with DeepRacer's run folder, checkpoints and best model.

An *iteration* is one PPO update: ``n_steps`` steps of each of ``n_envs`` cars (the rollout),
then ``num_epochs`` passes of minibatch updates (DeepRacer's iteration is likewise one policy
update, after ``num_episodes_between_training`` episodes). After every iteration:

* the policy is saved as ``model/<iteration>_Step-<total steps>.zip`` (DeepRacer's checkpoint
  naming; the last 4 and the best are kept, as the simapp's ``NUM_MODELS_TO_KEEP``);
* it drives ``eval_episodes`` greedy evaluation episodes (DeepRacer's ``MIN_EVAL_TRIALS`` = 5),
  starting at evenly spaced points of the lap (in this deterministic simulator, repeated
  episodes from one start point would be identical);
* the best checkpoint is the one with the highest mean evaluation progress (as DeepRacer's
  ``BEST_MODEL_METRIC=progress``), ties broken by the shorter mean lap time, and
  ``model/deepracer_checkpoints.json`` points at the best and the last.

A run folder (``--out``) holds: ``model/model_metadata.json``, ``ip/hyperparameters.json``
(the effective DeepRacer values), ``reward_function.py`` (a byte copy), ``run_config.json``
(track, version, physics generation and the local settings ``evaluate.py`` needs), the
checkpoints, and ``metrics/iterations.jsonl`` (one line per iteration: wall time, training and
evaluation results, PPO losses).

Ctrl-C or a failure (e.g. a reward-function error) saves the current policy as the last
checkpoint before stopping, so no training is lost.
"""

from __future__ import annotations

import json
import shutil
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
    effective_hyperparameters,
    fit_batch_size,
    ppo_kwargs,
    read_hyperparameters,
)
from deepracer_sim.formats.model_metadata import DEFAULT_NEURAL_NETWORK, write_model_metadata
from deepracer_sim.formats.race import objects_to_json
from deepracer_sim.formats.run_folder import RunFolder
from deepracer_sim.logs.events import IterationStats, TrainingObserver
from deepracer_sim.logs.writer import TrainingLogger
from deepracer_sim.sim.car import resolve_physics
from deepracer_sim.track import Track, load_track
from deepracer_sim.training.callbacks import (
    IterationCallback,
    IterationsLog,
    ProgressBar,
    StopOnAverageReward,
    StopRule,
    StopWhenLapsComplete,
)
from deepracer_sim.training.checkpoints import Checkpointer
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.networks import (
    DeepRacerCnnPolicy,
    camera_policy_kwargs,
    is_camera_observation,
)
from deepracer_sim.training.policy import load_checkpoint_into
from deepracer_sim.training.sac import make_sac_model
from deepracer_sim.training.tf_weights import load_tf_checkpoint
from deepracer_sim.training.tracks import tracks_config, training_tracks


def prepare_run_folder(cfg: TrainConfig, track: Track, hp: dict) -> RunFolder:
    """Create the run folder and write the files DeepRacer's layout has."""
    run = RunFolder(cfg.out)
    run.model_dir.mkdir(parents=True, exist_ok=True)
    run.hyperparameters.parent.mkdir(parents=True, exist_ok=True)
    write_model_metadata(run.model_metadata, cfg.action_space, cfg.version, cfg.algorithm,
                         neural_network=cfg.neural_network or DEFAULT_NEURAL_NETWORK,
                         lidar=cfg.objects.lidar if cfg.objects is not None else "")
    run.hyperparameters.write_text(json.dumps(effective_hyperparameters(hp, cfg.algorithm),
                                              indent=2) + "\n")
    shutil.copyfile(cfg.reward, run.reward_file)
    config = {
        "track": track.name,
        "algorithm": cfg.algorithm,
        "track_path": str(track.path) if track.path else None,
        "track_sha256": track.sha256,
        "version": cfg.version,
        "physics": resolve_physics(cfg.physics, cfg.version),
        "race_type": cfg.race_type,
        "objects": objects_to_json(cfg.objects),
        "reverse_direction": cfg.reverse_direction,
        "alternate_direction": cfg.alternate_direction,
        "round_robin_advance": cfg.round_robin_advance,
        "max_steps": cfg.max_steps,
        "n_envs": cfg.n_envs,
        "n_steps": cfg.n_steps,
        "net_arch": list(cfg.net_arch),
        "neural_network": cfg.neural_network,
        "seed": cfg.seed,
        "timesteps": cfg.timesteps,
        "reward_source": str(cfg.reward),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if cfg.sensor != FEATURES:  # FEATURES runs keep their files as before
        config["sensor"] = cfg.sensor
    config.update(tracks_config(cfg, track))  # several training tracks: all of them
    run.config.write_text(json.dumps(config, indent=2) + "\n")
    return run


@dataclass
class TrainResult:
    """What :func:`train` did: the run folder, steps, wall time, whether it was interrupted,
    and per-iteration statistics."""

    run_dir: Path
    timesteps: int
    wall_time: float
    interrupted: bool
    iterations: list[IterationStats]
    best: dict | None


def default_observers(cfg: TrainConfig) -> list[TrainingObserver]:
    """Observers every training run gets (the training logs)."""
    return [TrainingLogger()]


def make_training_env(cfg: TrainConfig, track: Track):
    """The vectorised training env of ``cfg`` (several tracks: car ``i`` on track ``i % T``)."""
    tracks = training_tracks(cfg, track)
    return DeepRacerVecEnv(cfg.n_envs, track=tracks if len(tracks) > 1 else track,
                           reward_function=cfg.reward,
                           action_space=cfg.action_space, version=cfg.version,
                           physics=cfg.physics, training=True,
                           round_robin_advance=cfg.round_robin_advance,
                           alternate_direction=cfg.alternate_direction,
                           reverse_direction=cfg.reverse_direction, max_steps=cfg.max_steps,
                           sensor=cfg.sensor, camera_seed=cfg.seed, objects=cfg.objects)


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


def make_model(cfg: TrainConfig, env, hp: dict):
    """The stable-baselines3 PPO model of ``cfg`` and the DeepRacer hyperparameters ``hp``
    (the policy of :func:`policy_choice`; CPU; one torch thread), its weights from
    ``cfg.init_from`` (our checkpoint, with its optimizer) or ``cfg.init_tf_checkpoint`` (a
    DeepRacer camera checkpoint) when given.

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
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(1)
    kwargs = ppo_kwargs(hp)
    kwargs["batch_size"] = min(kwargs["batch_size"], cfg.n_envs * cfg.n_steps)
    policy, policy_kwargs = policy_choice(cfg, env.observation_space)
    model = PPO(policy, env, n_steps=cfg.n_steps, seed=cfg.seed, device="cpu", verbose=0,
                policy_kwargs=policy_kwargs, **kwargs)
    if cfg.init_from is not None:
        load_checkpoint_into(model, cfg.init_from)
    if cfg.init_tf_checkpoint is not None:
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


def train(cfg: TrainConfig, progress_bar: bool = True,
          observers: Sequence[TrainingObserver] | None = None) -> TrainResult:
    """Train a PPO policy (see the module docstring).

    Raises:
        TrackError, ActionSpaceError, HyperparameterError, RewardFunctionError, UsageError,
            NetworkError: bad inputs;
            a reward-function error during training is raised after the checkpoint is saved.
    """
    started = cfg.started_at if cfg.started_at is not None else time.time()
    hp = read_hyperparameters(cfg.hyperparameters, cfg.algorithm)
    if cfg.algorithm != SAC:  # SAC samples its batches from the replay buffer
        hp = fit_batch_size(hp, cfg.n_envs * cfg.n_steps,
                            str(cfg.hyperparameters or "the default hyperparameters"))
    track = load_track(cfg.track)
    env = make_training_env(cfg, track)
    policy_choice(cfg, env.observation_space)  # a network that does not fit: before any file
    run = prepare_run_folder(cfg, track, hp)
    model = make_model(cfg, env, hp)
    checkpointer = Checkpointer(run, cfg, track)
    bar = ProgressBar(cfg.timesteps, enabled=progress_bar)
    everyone = [IterationsLog(run), *default_observers(cfg), *(observers or []), bar]
    callback = IterationCallback(checkpointer, everyone, stop_rules(cfg, hp),
                                 int(hp["term_cond_max_episodes"]), started, bar)
    for observer in everyone:
        observer.on_start(run, env, model)
    interrupted = False
    try:
        model.learn(total_timesteps=cfg.timesteps, callback=callback)
        if callback.pending:
            callback.finish_iteration()
    except KeyboardInterrupt:
        interrupted = True
        checkpointer.save(model, callback.updates, evaluate=False)
    except BaseException:
        checkpointer.save(model, callback.updates, evaluate=False)
        for observer in everyone:
            observer.on_end(True)
        raise
    for observer in everyone:
        observer.on_end(interrupted)
    return TrainResult(run.root, model.num_timesteps, time.time() - started, interrupted,
                       callback.iterations, checkpointer.best)
