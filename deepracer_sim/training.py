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
(track, version and the local settings ``evaluate.py`` needs), the checkpoints, and
``metrics/iterations.jsonl`` (one line per iteration: wall time, training and evaluation
results, PPO losses).

Ctrl-C or a failure (e.g. a reward-function error) saves the current policy as the last
checkpoint before stopping, so no training is lost.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .action_space import ActionSpace, write_model_metadata
from .constants import STEP_DT
from .env import default_max_steps
from .evaluation import LapResult, run_laps, sb3_predict
from .hyperparameters import effective_hyperparameters, ppo_kwargs, read_hyperparameters
from .reward import make_reward_caller
from .track import Track, load_track

#: Checkpoints kept besides the best (the simapp's NUM_MODELS_TO_KEEP).
KEEP_CHECKPOINTS = 4


@dataclass
class TrainConfig:
    """Everything ``train.py`` decides.

    Attributes:
        reward: path of the reward file.
        track: track name or path.
        action_space: the action space; version: physics version (spec §3.2).
        hyperparameters: path of a DeepRacer ``hyperparameters.json`` or None for the defaults.
        timesteps: total environment steps (all cars).
        n_envs: cars simulated side by side; n_steps: steps per car per iteration.
        net_arch: hidden layer sizes of the policy and of the value network (separate).
        seed: seed for torch and the policy sampling.
        out: run folder.
        eval_episodes: evaluation episodes per iteration (0 disables best-model selection).
        alternate_direction, reverse_direction, round_robin_advance: DeepRacer's training
            options (spec §2.2).
        max_steps: step cap per episode (None: a lap at 0.1 m/s).
        started_at: ``time.time()`` when the process started (wall times are measured from it).
        init_from: a checkpoint (``.zip``) whose policy and optimizer state training starts
            from (the console's "clone"); its network must match ``net_arch``.
        stop_when_complete: stop after the first iteration whose evaluation episodes all
            complete their lap (a quick first model).
    """

    reward: Path
    track: str
    action_space: ActionSpace
    version: float
    out: Path
    hyperparameters: Path | None = None
    timesteps: int = 200_000
    n_envs: int = 16
    n_steps: int = 256
    net_arch: tuple[int, ...] = (64, 64)
    seed: int = 0
    eval_episodes: int = 5
    alternate_direction: bool = False
    reverse_direction: bool = False
    round_robin_advance: float = 0.05
    max_steps: int | None = None
    started_at: float | None = None
    init_from: Path | None = None
    stop_when_complete: bool = False


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
        return _jsonable({
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


class RunFolder:
    """Paths of a run folder (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.model_dir = self.root / "model"
        self.model_metadata = self.model_dir / "model_metadata.json"
        self.hyperparameters = self.root / "ip" / "hyperparameters.json"
        self.reward_file = self.root / "reward_function.py"
        self.config = self.root / "run_config.json"
        self.checkpoints_json = self.model_dir / "deepracer_checkpoints.json"
        self.iterations_log = self.root / "metrics" / "iterations.jsonl"

    def read_config(self) -> dict:
        if not self.config.is_file():
            raise FileNotFoundError(f"{self.root} is not a training run folder (no "
                                    "run_config.json); give the --out folder of train.py")
        return json.loads(self.config.read_text())

    def checkpoint_path(self, name: str) -> Path:
        return self.model_dir / name

    def checkpoint_name(self, which: str) -> str:
        """The file name of checkpoint "best", "last", or a name/iteration number."""
        if which in ("best", "last"):
            if not self.checkpoints_json.is_file():
                raise FileNotFoundError(f"{self.checkpoints_json} is missing: the run saved no "
                                        "checkpoint yet")
            info = json.loads(self.checkpoints_json.read_text())
            entry = info.get(f"{which}_checkpoint") or info.get("last_checkpoint")
            return entry["name"]
        if which.isdigit():
            found = sorted(self.model_dir.glob(f"{which}_Step-*.zip"))
            if found:
                return found[0].name
        if (self.model_dir / which).is_file():
            return which
        raise FileNotFoundError(f"no checkpoint {which!r} in {self.model_dir}")


def load_policy(path: Path):
    """Load a saved stable-baselines3 PPO checkpoint (CPU)."""
    from stable_baselines3 import PPO

    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} is missing")
    return PPO.load(path, device="cpu")


def prepare_run_folder(cfg: TrainConfig, track: Track, hp: dict) -> RunFolder:
    """Create the run folder and write the files DeepRacer's layout has."""
    run = RunFolder(cfg.out)
    run.model_dir.mkdir(parents=True, exist_ok=True)
    run.hyperparameters.parent.mkdir(parents=True, exist_ok=True)
    write_model_metadata(run.model_metadata, cfg.action_space, cfg.version)
    run.hyperparameters.write_text(json.dumps(effective_hyperparameters(hp), indent=2) + "\n")
    shutil.copyfile(cfg.reward, run.reward_file)
    config = {
        "track": track.name,
        "track_path": str(track.path) if track.path else None,
        "track_sha256": track.sha256,
        "version": cfg.version,
        "reverse_direction": cfg.reverse_direction,
        "alternate_direction": cfg.alternate_direction,
        "round_robin_advance": cfg.round_robin_advance,
        "max_steps": cfg.max_steps,
        "n_envs": cfg.n_envs,
        "n_steps": cfg.n_steps,
        "net_arch": list(cfg.net_arch),
        "seed": cfg.seed,
        "timesteps": cfg.timesteps,
        "reward_source": str(cfg.reward),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    run.config.write_text(json.dumps(config, indent=2) + "\n")
    return run


class Checkpointer:
    """Saves checkpoints, evaluates them and keeps ``deepracer_checkpoints.json``."""

    def __init__(self, run: RunFolder, cfg: TrainConfig, track: Track) -> None:
        self.run = run
        self.cfg = cfg
        self.track = track
        self.saved: list[str] = []
        self.best: dict | None = None
        self.last: dict | None = None
        self.eval_max_steps = cfg.max_steps or default_max_steps(track)
        self.reward = make_reward_caller(cfg.reward)

    def evaluate(self, model) -> list[LapResult]:
        """Greedy episodes from ``eval_episodes`` evenly spaced start points."""
        n = self.cfg.eval_episodes
        if n <= 0:
            return []
        return run_laps(sb3_predict(model), self.track, self.cfg.action_space,
                        self.cfg.version, [k / n for k in range(n)], self.eval_max_steps,
                        reward=self.reward, reversed_direction=self.cfg.reverse_direction)

    def save(self, model, iteration: int, evaluate: bool = True) -> tuple[str, list[LapResult]]:
        """Save (and evaluate) a checkpoint; update ``deepracer_checkpoints.json``.

        Returns:
            (checkpoint file name, evaluation laps).
        """
        name = f"{iteration}_Step-{model.num_timesteps}.zip"
        model.save(self.run.checkpoint_path(name))
        laps = self.evaluate(model) if evaluate else []
        stats = IterationStats(eval_laps=laps)
        entry = {"name": name, "avg_eval_metric": stats.eval_progress,
                 "time_stamp": round(model.num_timesteps * STEP_DT / self.cfg.n_envs, 3),
                 "avg_lap_time": stats.eval_lap_time}
        self.last = entry
        if laps and (self.best is None or _better(entry, self.best)):
            self.best = entry
        self.saved.append(name)
        self._prune()
        info = {"best_checkpoint": self.best or entry, "last_checkpoint": entry}
        self.run.checkpoints_json.write_text(json.dumps(_jsonable(info), indent=2) + "\n")
        return name, laps

    def _prune(self) -> None:
        keep = set(self.saved[-KEEP_CHECKPOINTS:])
        if self.best is not None:
            keep.add(self.best["name"])
        for name in self.saved:
            if name not in keep:
                self.run.checkpoint_path(name).unlink(missing_ok=True)
        self.saved = [n for n in self.saved if n in keep]


def _better(a: dict, b: dict) -> bool:
    if a["avg_eval_metric"] != b["avg_eval_metric"]:
        return a["avg_eval_metric"] > b["avg_eval_metric"]
    la = a["avg_lap_time"] if not np.isnan(a["avg_lap_time"]) else np.inf
    lb = b["avg_lap_time"] if not np.isnan(b["avg_lap_time"]) else np.inf
    return la < lb


def _jsonable(obj):
    """Replace non-finite floats by None (JSON has no NaN), recursively."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


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
    from .logs import TrainingLogger

    return [TrainingLogger()]


def make_training_env(cfg: TrainConfig, track: Track):
    """The vectorised training env of ``cfg``."""
    from .vec_env import DeepRacerVecEnv

    return DeepRacerVecEnv(cfg.n_envs, track=track, reward_function=cfg.reward,
                           action_space=cfg.action_space, version=cfg.version, training=True,
                           round_robin_advance=cfg.round_robin_advance,
                           alternate_direction=cfg.alternate_direction,
                           reverse_direction=cfg.reverse_direction, max_steps=cfg.max_steps)


def train(cfg: TrainConfig, progress_bar: bool = True,
          observers: list[TrainingObserver] | None = None) -> TrainResult:
    """Train a PPO policy (see the module docstring).

    Raises:
        TrackError, ActionSpaceError, HyperparameterError, RewardFunctionError: bad inputs;
            a reward-function error during training is raised after the checkpoint is saved.
    """
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from tqdm import tqdm

    started = cfg.started_at if cfg.started_at is not None else time.time()
    hp = read_hyperparameters(cfg.hyperparameters)
    track = load_track(cfg.track)
    env = make_training_env(cfg, track)
    run = prepare_run_folder(cfg, track, hp)
    run.iterations_log.parent.mkdir(parents=True, exist_ok=True)
    run.iterations_log.write_text("")
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(1)
    kwargs = ppo_kwargs(hp)
    rollout = cfg.n_envs * cfg.n_steps
    kwargs["batch_size"] = min(kwargs["batch_size"], rollout)
    model = PPO("MlpPolicy", env, n_steps=cfg.n_steps, seed=cfg.seed, device="cpu", verbose=0,
                policy_kwargs={"net_arch": {"pi": list(cfg.net_arch),
                                            "vf": list(cfg.net_arch)}},
                **kwargs)
    if cfg.init_from is not None:
        model.set_parameters(str(cfg.init_from), exact_match=True, device="cpu")
    checkpointer = Checkpointer(run, cfg, track)
    observers = [*default_observers(cfg), *(observers or [])]
    iterations: list[IterationStats] = []
    avg_score = float(hp["term_cond_avg_score"])
    max_episodes = int(hp["term_cond_max_episodes"])
    bar = tqdm(total=cfg.timesteps, unit="step", disable=not progress_bar, dynamic_ncols=True,
               desc="training")

    class IterationCallback(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.stats = IterationStats()
            self.episodes = 0
            self.stop = False
            self.updates = 0
            self.last_steps = 0

        def _on_rollout_start(self) -> None:
            if self.updates > len(iterations):
                self.after_update()

        def after_update(self, evaluate: bool = True) -> None:
            s = self.stats
            s.iteration = self.updates - 1
            s.steps = self.model.num_timesteps
            s.losses = {k: float(v) for k, v in self.model.logger.name_to_value.items()
                        if k.startswith("train/")}
            s.checkpoint, s.eval_laps = checkpointer.save(self.model, s.iteration, evaluate)
            s.wall_time = time.time() - started
            iterations.append(s)
            with run.iterations_log.open("a") as fh:
                fh.write(json.dumps(s.summary()) + "\n")
            for observer in observers:
                observer.on_iteration(s)
            n = len(s.rewards)
            bar.set_postfix({
                "iter": s.iteration,
                "reward": f"{np.mean(s.rewards):.1f}" if n else "-",
                "progress": f"{np.mean(s.progress):.0f}%" if n else "-",
                "laps": f"{s.completed}/{n}",
                "eval": f"{s.eval_progress:.0f}%",
            }, refresh=False)
            if n and np.mean(s.rewards) >= avg_score:
                self.stop = True
            if cfg.stop_when_complete and s.eval_laps and all(
                    lap.status == "lap_complete" for lap in s.eval_laps):
                self.stop = True
            self.stats = IterationStats()

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode_status" in info:
                    s = self.stats
                    s.rewards.append(float(info["episode"]["r"]))
                    s.progress.append(float(info["progress"]))
                    s.statuses.append(info["episode_status"])
                    if info["episode_status"] == "lap_complete":
                        s.lap_times.append(float(info["lap_time"]))
                    self.episodes += 1
            if self.episodes >= max_episodes:
                self.stop = True
            return not self.stop

        def _on_rollout_end(self) -> None:
            self.updates += 1
            bar.update(self.model.num_timesteps - self.last_steps)
            self.last_steps = self.model.num_timesteps

    callback = IterationCallback()
    interrupted = False
    for observer in observers:
        observer.on_start(run, env, model)
    try:
        model.learn(total_timesteps=cfg.timesteps, callback=callback)
        if callback.updates > len(iterations):
            callback.after_update()
    except KeyboardInterrupt:
        interrupted = True
        checkpointer.save(model, callback.updates, evaluate=False)
    except BaseException:
        checkpointer.save(model, callback.updates, evaluate=False)
        for observer in observers:
            observer.on_end(True)
        raise
    finally:
        bar.close()
    for observer in observers:
        observer.on_end(interrupted)
    return TrainResult(run.root, model.num_timesteps, time.time() - started, interrupted,
                       iterations, checkpointer.best)


def default_run_dir(reward: Path, track: str) -> Path:
    """``runs/<reward>-<track>-<YYYYmmdd-HHMMSS>``."""
    stem = Path(os.fspath(track)).stem
    return Path("runs") / f"{reward.stem}-{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
