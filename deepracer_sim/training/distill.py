"""Camera training on a CPU: teach DeepRacer's camera network from a feature-vector policy.

PPO from scratch on the camera costs ~1.4 GFLOP per env step (two towers, 5 epochs): tens of
steps per second on a CPU. The feature-vector policy learns a track in seconds, and it can teach
the camera network (privileged-teacher distillation with DAgger, the standard sim-to-real
method; Ross et al. 2011, "A Reduction of Imitation Learning ... to No-Regret Online Learning"):

1. **Teacher**: a ``FEATURES`` PPO policy on the same track, reward and action space, trained
   first into ``<out>/teacher`` (a normal run folder, ``--stop-when-complete``), or the best
   checkpoint of a given run (``TrainConfig.teacher``).
2. **Rounds** (``distill_rounds``): the cars drive the env with both sensors
   (``FEATURES+FRONT_FACING_CAMERA``, domain randomisation on); at every step each car follows
   the teacher (a sample of its distribution) with probability ``beta = 0.5 ** round`` and the
   student's greedy action otherwise (round 0: the teacher alone), and the teacher labels every
   visited state: its action distribution and its value. The frames go into one preallocated
   buffer (all rounds aggregated, as DAgger does); the student
   (:class:`~deepracer_sim.training.networks.DeepRacerCnnPolicy`) is then fitted on minibatches
   of it: KL(teacher || student) of the action distributions (discrete: the softmax; continuous:
   the Gaussians' mean and log-std) plus the value tower's squared error to the teacher's value
   (scaled by the teacher values' variance).
3. The camera run is created as any run (:func:`~deepracer_sim.training.runs.create_run`:
   hidden, then renamed into place; ``model/0_Step-0.zip`` is the untrained student) before
   the teacher trains; round ``r`` (from 0) is then checkpoint ``r + 1``
   (``model/<r+1>_Step-<steps>.zip``, a stable-baselines3 PPO zip of the camera policy;
   ``<steps>`` includes the teacher's), saved, evaluated and committed as PPO's iterations
   are, so ``evaluate``, ``export`` and ``--check`` read the run unchanged; optional PPO
   fine-tuning on the camera follows (``finetune_steps``; iteration ``j`` is checkpoint
   ``distill_rounds + j + 1``).

Budget (:func:`split_budget`): ``timesteps`` bounds the env steps of the whole route:
distillation ``min(distill_steps, timesteps // 2)`` (``timesteps`` with a given teacher),
fine-tuning ``min(finetune_steps, what is left)`` and the teacher the rest, each rounded down to
whole iterations (``n_envs`` cars x ``n_steps``; distillation: ``n_envs`` cars per step).

Stopping (:mod:`deepracer_sim.training.signals`, a KeyboardInterrupt from the reward function,
a caller's stop rule after a round or iteration): the flag is checked after every step; the
round or rollout is cut off and the student, if it changed since the last checkpoint, is saved
(not evaluated) as the next checkpoint; :attr:`TrainResult.exit_code` is ``128 + signal``. A
stop during the teacher's training leaves the teacher's run as :func:`train` does and the
camera run at ``0_Step-0``. ``cfg.seconds`` bounds the teacher's training only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import ActorCriticPolicy

from deepracer_sim.envs.sensors import FEATURES, FEATURES_AND_CAMERA, FRONT_FACING_CAMERA
from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.errors import UsageError
from deepracer_sim.formats.checkpoints import checkpoint_name
from deepracer_sim.formats.files import atomic_write_text
from deepracer_sim.formats.hyperparameters import fit_batch_size, read_hyperparameters
from deepracer_sim.formats.model_metadata import read_model_metadata
from deepracer_sim.formats.run_folder import RunFolder
from deepracer_sim.logs.events import IterationStats, TrainingObserver
from deepracer_sim.logs.writer import TrainingLogger
from deepracer_sim.track import load_track
from deepracer_sim.training.callbacks import IterationsLog, ProgressBar, StopRule, add_episode
from deepracer_sim.training.checkpoints import Checkpointer
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.policy import load_policy, state_sensor_of
from deepracer_sim.training.ppo import TrainResult, make_model, make_training_env, train
from deepracer_sim.training.runs import create_run
from deepracer_sim.training.signals import StopSignals, signal_name

#: ``TrainConfig.camera_route`` values (``auto``: the fastest route, :func:`resolve_camera_route`).
CAMERA_ROUTES = ("auto", "distill", "ppo")
#: Minibatch of the student's fit (frames).
BATCH = 64
#: Minibatch passes over each round's new frames.
EPOCHS = 4
#: Adam step size of the student's fit.
LEARNING_RATE = 3e-4
#: Weight of the value tower's (variance-scaled) squared error in the loss.
VALUE_WEIGHT = 0.5


def resolve_camera_route(route: str) -> str:
    """``"distill"`` or ``"ppo"``. ``auto`` is distillation: PPO here trains on the CPU
    (:func:`~deepracer_sim.training.ppo.make_model`), where distillation is the faster route
    (PPO from scratch on a GPU stays ``"ppo"``'s job once PPO can use one).

    Raises:
        UsageError: another value.
    """
    if route not in CAMERA_ROUTES:
        raise UsageError(f"camera route {route!r}: use one of {', '.join(CAMERA_ROUTES)}")
    return "distill" if route == "auto" else route


@dataclass(frozen=True)
class Budget:
    """Env steps (all cars) of each stage; ``round_steps``: steps per car per round."""

    teacher: int
    distill: int
    finetune: int
    round_steps: int

    @property
    def total(self) -> int:
        return self.teacher + self.distill + self.finetune


def split_budget(cfg: TrainConfig) -> Budget:
    """Split ``cfg.timesteps`` between the stages (the module docstring).

    Raises:
        UsageError: a budget too small for one distillation step per round, or (training a
            teacher) for one teacher iteration.
    """
    rollout = cfg.n_envs * cfg.n_steps
    distill = min(cfg.distill_steps, cfg.timesteps if cfg.teacher else cfg.timesteps // 2)
    round_steps = distill // (cfg.n_envs * cfg.distill_rounds)
    left = cfg.timesteps - round_steps * cfg.n_envs * cfg.distill_rounds
    finetune = min(cfg.finetune_steps, left) // rollout * rollout
    teacher = 0 if cfg.teacher else (left - finetune) // rollout * rollout
    if round_steps < 1 or (not cfg.teacher and teacher < rollout):
        raise UsageError(f"--timesteps {cfg.timesteps} is too small for camera distillation: "
                         "it needs one step of every car in every round (--n-envs x "
                         f"--distill-rounds = {cfg.n_envs * cfg.distill_rounds} steps within "
                         "--distill-steps and half of --timesteps) and, without --teacher, "
                         f"one teacher iteration of {rollout} steps (--n-envs x --n-steps); "
                         "give more --timesteps or --distill-steps")
    return Budget(teacher, round_steps * cfg.n_envs * cfg.distill_rounds, finetune, round_steps)


class FrameBuffer:
    """The distillation data set, preallocated: ``frames`` (capacity, 1, 120, 160) uint8 (the
    policy's channel-first layout), ``targets`` (capacity, D) float32 (the teacher's action
    probabilities, or its Gaussian mean then log-std), ``values`` (capacity,) float32."""

    def __init__(self, capacity: int, target_dim: int, frame_shape: tuple[int, ...]) -> None:
        self.frames = np.zeros((capacity, *frame_shape), np.uint8)
        self.targets = np.zeros((capacity, target_dim), np.float32)
        self.values = np.zeros(capacity, np.float32)
        self.size = 0

    def add(self, frames_hwc: np.ndarray, targets: np.ndarray, values: np.ndarray) -> slice:
        """Append N frames given as (N, H, W, 1); returns their slice."""
        n = len(frames_hwc)
        where = slice(self.size, self.size + n)
        self.frames[where] = np.moveaxis(frames_hwc, -1, 1)
        self.targets[where] = targets
        self.values[where] = values
        self.size += n
        return where


def teacher_targets(teacher: ActorCriticPolicy, features: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, torch.distributions.Distribution]:
    """(targets (N, D), values (N,), distribution) of the teacher on feature vectors (N, 19):
    the probabilities (discrete) or the Gaussian mean and log-std (continuous)."""
    with torch.no_grad():
        obs = torch.as_tensor(features, dtype=torch.float32)
        dist = teacher.get_distribution(obs).distribution
        assert not isinstance(dist, list)
        values = teacher.predict_values(obs).reshape(-1)
        if isinstance(dist, torch.distributions.Categorical):
            targets = dist.probs
        else:
            targets = torch.cat([dist.mean, dist.stddev.log()], dim=1)
    return targets.numpy(), values.numpy(), dist


def distill_loss(student: ActorCriticPolicy, frames: torch.Tensor, targets: torch.Tensor,
                 values: torch.Tensor, value_scale: float) -> tuple[torch.Tensor, float, float]:
    """(loss, KL, value error) of the student on uint8 frames (B, 1, 120, 160) against the
    teacher's targets (B, D) and values (B,): mean KL(teacher || student) + ``VALUE_WEIGHT`` x
    mean squared value error / ``value_scale``."""
    obs = frames.float()  # the policy divides by 255
    dist = student.get_distribution(obs).distribution
    assert not isinstance(dist, list)
    if isinstance(dist, torch.distributions.Categorical):
        logp = torch.log_softmax(dist.logits, dim=1)
        kl = (targets * (torch.log(targets.clamp_min(1e-8)) - logp)).sum(dim=1).mean()
    else:
        mean_t, log_std_t = targets[:, :2], targets[:, 2:]
        log_std_s = dist.stddev.log()
        kl = (log_std_s - log_std_t + (torch.exp(2 * log_std_t) + (mean_t - dist.mean) ** 2)
              / (2 * torch.exp(2 * log_std_s)) - 0.5).sum(dim=1).mean()
    value_error = ((student.predict_values(obs).reshape(-1) - values) ** 2).mean() / value_scale
    return (kl + VALUE_WEIGHT * value_error, float(kl.detach()),
            float(value_error.detach()))


def fit_student(student: ActorCriticPolicy, optimizer: torch.optim.Optimizer,
                data: FrameBuffer, updates: int, rng: np.random.Generator) -> dict[str, float]:
    """``updates`` Adam steps on minibatches of ``BATCH`` drawn uniformly from ``data``;
    returns the mean KL and value error of the last quarter of them."""
    scale = max(float(np.var(data.values[:data.size])), 1e-6)
    student.set_training_mode(True)
    kls, errs = [], []
    for _ in range(updates):
        idx = np.sort(rng.integers(0, data.size, min(BATCH, data.size)))
        loss, kl, err = distill_loss(student, torch.from_numpy(data.frames[idx]),
                                     torch.from_numpy(data.targets[idx]),
                                     torch.from_numpy(data.values[idx]), scale)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        kls.append(kl)
        errs.append(err)
    student.set_training_mode(False)
    tail = max(len(kls) // 4, 1)
    return {"distill/kl": float(np.mean(kls[-tail:])) if kls else float("nan"),
            "distill/value_error": float(np.mean(errs[-tail:])) if errs else float("nan")}


def _clip(actions: torch.Tensor, space: gym.spaces.Space) -> np.ndarray:
    out = actions.numpy()
    return np.clip(out, -1.0, 1.0) if isinstance(space, gym.spaces.Box) else out


def collect(env: DeepRacerVecEnv, obs: dict, teacher: ActorCriticPolicy,
            student: ActorCriticPolicy, data: FrameBuffer, steps: int, beta: float,
            rng: np.random.Generator, stats: IterationStats,
            stopper: StopSignals | None = None) -> dict:
    """Drive ``steps`` steps of every car, each car following the teacher with probability
    ``beta`` (else the student's greedy action); the teacher labels every frame into ``data``.
    Returns the observation to continue from; ended episodes go into ``stats``. A stop
    signal (``stopper``) ends it after the current step."""
    for _ in range(steps):
        if stopper is not None and stopper.requested:
            break
        targets, values, dist = teacher_targets(teacher, obs[FEATURES])
        where = data.add(obs[FRONT_FACING_CAMERA], targets, values)
        actions = _clip(dist.sample(), env.action_space)
        if beta < 1.0:
            with torch.no_grad():
                mine = student.get_distribution(torch.from_numpy(data.frames[where]).float())
                greedy = _clip(mine.mode(), env.action_space)
            use = rng.random(env.num_envs) >= beta
            actions[use] = greedy[use]
        step_obs, _, _, infos = env.step(actions)
        assert isinstance(step_obs, dict)  # the env has both sensors
        obs = step_obs
        for info in infos:
            if "episode_status" in info:
                add_episode(stats, info)
    return obs


def load_teacher(cfg: TrainConfig, run_dir: Path) -> ActorCriticPolicy:
    """The best checkpoint of a ``FEATURES`` run folder with ``cfg``'s action space.

    Raises:
        RunFolderError, CheckpointError: not a run folder or a damaged checkpoint;
            UsageError: a camera policy or another action space.
    """
    run = RunFolder(Path(run_dir))
    space, _ = read_model_metadata(run.model_metadata)
    policy = load_policy(run.checkpoint_path(checkpoint_name(run, "best")), space)
    if state_sensor_of(policy) != FEATURES or not isinstance(policy, ActorCriticPolicy):
        raise UsageError(f"--teacher {run_dir}: the teacher must be a FEATURES PPO run (its "
                         "policy reads the feature vector); train one with --sensor FEATURES")
    same = (space.continuous == cfg.action_space.continuous
            and space.actions.shape == cfg.action_space.actions.shape
            and bool(np.allclose(space.actions, cfg.action_space.actions, atol=1e-9)))
    if not same:
        raise UsageError(f"--teacher {run_dir}: its action space ({run.model_metadata}) differs "
                         "from this run's; give the same --action-space or action flags")
    return policy


def _teacher(cfg: TrainConfig, budget: Budget, progress_bar: bool, stopper: StopSignals
             ) -> tuple[Path, TrainResult | None]:
    """(teacher run folder, its training result or None when ``cfg.teacher`` is given); the
    teacher is an ordinary run created by :func:`~deepracer_sim.training.ppo.train` in
    ``<out>/teacher``."""
    if cfg.teacher is not None:
        return Path(cfg.teacher), None
    tcfg = dataclasses.replace(cfg, out=RunFolder(cfg.out).teacher_dir, sensor=FEATURES,
                               neural_network=None, timesteps=budget.teacher,
                               stop_when_complete=True, teacher=None, init_tf_checkpoint=None,
                               resume=False, replace=False)
    result = train(tcfg, progress_bar=progress_bar, stopper=stopper)
    return tcfg.out, result


def _camera_model(cfg: TrainConfig, hp: dict, cars: int):
    """The stable-baselines3 PPO model holding the student (``cars`` camera cars: 1 for
    distillation alone, ``n_envs`` when fine-tuning follows) and its env."""
    env = make_training_env(dataclasses.replace(cfg, n_envs=cars), load_track(cfg.track))
    model = make_model(dataclasses.replace(cfg, n_envs=cars), env, hp)
    return model, env


def _note_route(run: RunFolder, teacher_dir: Path, budget: Budget) -> None:
    """Record the route in ``run_config.json`` (``camera_route``, ``teacher``, the budget)."""
    config = json.loads(run.config.read_text())
    config.update({"camera_route": "distill", "teacher": str(teacher_dir),
                   "budget": dataclasses.asdict(budget)})
    atomic_write_text(run.config, json.dumps(config, indent=2) + "\n")


def train_camera(cfg: TrainConfig, progress_bar: bool = True,
                 observers: Sequence[TrainingObserver] | None = None,
                 stopper: StopSignals | None = None, rules: Sequence[StopRule] = ()
                 ) -> TrainResult:
    """Train a camera model by distillation (the module docstring); ``cfg.sensor`` is
    ``FRONT_FACING_CAMERA``; ``stopper`` and ``rules`` as
    :func:`~deepracer_sim.training.ppo.train`'s (a rule is checked after every round and
    fine-tuning iteration). Returns the camera run's result (``timesteps``: every env step
    of the route, the teacher's included).

    Raises:
        as :func:`~deepracer_sim.training.ppo.train`; UsageError: a budget too small
            (:func:`split_budget`), or a teacher that is not a FEATURES run with this action
            space (:func:`load_teacher`).
    """
    started = cfg.started_at if cfg.started_at is not None else time.time()
    budget = split_budget(cfg)
    if cfg.teacher is not None:
        load_teacher(cfg, Path(cfg.teacher))  # a teacher that does not fit: before any file
    hp = fit_batch_size(read_hyperparameters(cfg.hyperparameters, cfg.algorithm),
                        cfg.n_envs * cfg.n_steps,
                        str(cfg.hyperparameters or "the default hyperparameters"))
    track = load_track(cfg.track)
    model, camera_env = _camera_model(cfg, hp, cfg.n_envs if budget.finetune else 1)
    checkpointer = Checkpointer(None, cfg, track)
    logger = TrainingLogger()
    stopper = stopper or StopSignals()
    teacher_dir = Path(cfg.teacher) if cfg.teacher else RunFolder(cfg.out).teacher_dir
    with stopper.installed():
        run, replaced = create_run(cfg, track, hp, model, checkpointer, logger.snapshot())
        _note_route(run, teacher_dir, budget)
        _, teacher_result = _teacher(cfg, budget, progress_bar, stopper)
        teacher_steps = teacher_result.timesteps if teacher_result else 0
        runner = _Rounds(cfg, budget, model, teacher_steps, checkpointer, logger, stopper,
                         [*rules], started)
        if not stopper.requested:
            env = make_training_env(dataclasses.replace(cfg, sensor=FEATURES_AND_CAMERA), track)
            bar = ProgressBar(budget.total, enabled=progress_bar)
            bar.advance(teacher_steps)
            everyone = [IterationsLog(run), logger, *(observers or []), bar]
            runner.run(load_teacher(cfg, teacher_dir), env, camera_env, everyone)
    reason = runner.stop_reason or (teacher_result.stop_reason if teacher_result else None)
    if stopper.signum is not None:
        reason = f"stopped by {signal_name(stopper.signum)}"
    return TrainResult(run.root, model.num_timesteps, time.time() - started, stopper.requested,
                       runner.iterations, checkpointer.pointer_best, checkpointer.last,
                       reason, stopper.exit_code or 0, replaced, None, runner.saved_at_stop)


class _StopCheck(BaseCallback):
    """Ends fine-tuning's ``learn`` at the step after a stop signal."""

    def __init__(self, stopper: StopSignals) -> None:
        super().__init__()
        self.stopper = stopper

    def _on_step(self) -> bool:
        return not self.stopper.requested


class _Rounds:
    """The distillation rounds and the fine-tuning iterations of :func:`train_camera`; round
    ``r`` (from 0) is checkpoint ``r + 1`` (``0_Step-0`` is the untrained student written when
    the run was created), fine-tuning iteration ``j`` (from 0) is ``distill_rounds + j + 1``."""

    def __init__(self, cfg: TrainConfig, budget: Budget, model, teacher_steps: int,
                 checkpointer: Checkpointer, logger: TrainingLogger, stopper: StopSignals,
                 rules: list[StopRule], started: float) -> None:
        self.cfg, self.budget, self.model = cfg, budget, model
        self.checkpointer, self.logger, self.stopper = checkpointer, logger, stopper
        self.rules, self.started = rules, started
        self.observers: list[TrainingObserver] = []
        self.iterations: list[IterationStats] = []
        self.stop_reason: str | None = None
        self.saved_at_stop: str | None = None
        self.model.num_timesteps = teacher_steps
        self.bar: ProgressBar | None = None
        self._changed = False  # the student differs from the last checkpoint

    @property
    def stopping(self) -> bool:
        return self.stopper.requested or self.stop_reason is not None

    def run(self, teacher: ActorCriticPolicy, env: DeepRacerVecEnv,
            camera_env: DeepRacerVecEnv, observers: Sequence[TrainingObserver]) -> None:
        """Distil, then fine-tune; any stop saves the student as the next checkpoint (not
        evaluated) unless the last checkpoint holds it already; an error is raised again
        after that save."""
        self.observers = list(observers)
        self.bar = next((o for o in observers if isinstance(o, ProgressBar)), None)
        for observer in self.observers:
            observer.on_start(self.checkpointer.folder, env, self.model)
        try:
            self.distill(teacher, env)
            if self.budget.finetune and not self.stopping:
                self.finetune(camera_env)
        except KeyboardInterrupt:  # raised by user code (the reward function), not a signal
            self.stopper.interrupt()
        except BaseException:
            with contextlib.suppress(Exception):
                self._save_stopped()
            for observer in self.observers:
                with contextlib.suppress(Exception):
                    observer.on_end(True)
            raise
        self._save_stopped()
        for observer in self.observers:
            observer.on_end(self.stopper.requested)

    def _save_stopped(self) -> None:
        """After a round or an iteration was cut off: flush its logs and save the student as
        the next checkpoint (not evaluated), committed."""
        self.logger.flush()
        if not self._changed:
            return
        entry, _ = self.checkpointer.save(self.model, self.checkpointer.last_number + 1,
                                          evaluate=False)
        self.checkpointer.commit(entry, [], self.logger.snapshot())
        self.saved_at_stop = entry["name"]
        self._changed = False

    def _advance(self, steps: int) -> None:
        if self.bar is not None:
            self.bar.advance(steps)

    def _finish(self, stats: IterationStats) -> None:
        """Checkpoint and evaluate (unless stopping) the student; hand the iteration on;
        commit the checkpoint; check the stop rules."""
        number = self.checkpointer.last_number + 1
        stats.iteration = number - 1
        stats.steps = self.model.num_timesteps
        entry, stats.eval_laps = self.checkpointer.save(
            self.model, number, not self.stopper.requested,
            should_stop=lambda: self.stopper.requested)
        stats.checkpoint = entry["name"]
        stats.wall_time = time.time() - self.started
        self.iterations.append(stats)
        for observer in self.observers:
            observer.on_iteration(stats)
        self.checkpointer.commit(entry, stats.eval_laps, self.logger.snapshot())
        self._changed = False
        for rule in self.rules:
            if self.stop_reason is None and rule(stats):
                self.stop_reason = getattr(rule, "reason", type(rule).__name__)

    def distill(self, teacher: ActorCriticPolicy, env: DeepRacerVecEnv) -> None:
        """``distill_rounds`` DAgger rounds (the module docstring); a stop signal ends the
        round at the next step."""
        cfg, student = self.cfg, self.model.policy
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        dim = 4 if cfg.action_space.continuous else len(cfg.action_space)
        data = FrameBuffer(self.budget.distill, dim, student.observation_space.shape)
        optimizer = torch.optim.Adam(student.parameters(), lr=LEARNING_RATE)
        env.seed(cfg.seed)
        obs = env.reset()
        per_round = self.budget.round_steps * cfg.n_envs
        for r in range(cfg.distill_rounds):
            if self.stopping:
                return
            stats = IterationStats()
            before = data.size  # one frame per car per step
            obs = collect(env, obs, teacher, student, data, self.budget.round_steps,
                          0.5 ** r, rng, stats, self.stopper)
            self.model.num_timesteps += data.size - before
            self._advance(data.size - before)
            if self.stopper.requested:
                return  # the round is cut off before its fit: the last checkpoint's student
            self._changed = True
            updates = max(EPOCHS * per_round // BATCH, 1)
            stats.losses = fit_student(student, optimizer, data, updates, rng)
            stats.losses["distill/beta"] = 0.5 ** r
            self._finish(stats)

    def finetune(self, camera_env: DeepRacerVecEnv) -> None:
        """PPO on the camera from the distilled student, one iteration at a time."""
        rollout = self.cfg.n_envs * self.cfg.n_steps
        self.model.set_env(camera_env)
        check = _StopCheck(self.stopper)
        for _ in range(self.budget.finetune // rollout):
            if self.stopping:
                return
            before = self.model.num_timesteps
            self.model.learn(total_timesteps=rollout, reset_num_timesteps=False, callback=check)
            self._advance(self.model.num_timesteps - before)
            if self.stopper.requested:
                return  # the rollout was cut off before its update
            self._changed = True
            stats = IterationStats()
            stats.losses = {k: float(v) for k, v in self.model.logger.name_to_value.items()
                            if k.startswith("train/")}
            self._finish(stats)
