"""Training configuration: :class:`TrainConfig`, the one home of ``train.py``'s defaults.

The command line (``deepracer-sim train``) takes its defaults from this class; the action
space's defaults are DeepRacer-on-AWS's
(:func:`~deepracer_sim.formats.model_metadata.discrete_action_space`) and the version's
:data:`~deepracer_sim.formats.model_metadata.DEFAULT_VERSION`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from deepracer_sim.constants import ROUND_ROBIN_ADVANCE
from deepracer_sim.envs.sensors import FEATURES
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.sim.world import ObjectsConfig
from deepracer_sim.track.lookup import DEFAULT_TRACK


@dataclass
class TrainConfig:
    """Everything ``train.py`` decides.

    Attributes:
        reward: path of the reward file.
        track: track name or path (with several training tracks, the first: the one the
            in-training evaluation drives and the run is named after).
        tracks: every training track, ``track`` first, when there are several (car ``i``
            drives ``tracks[i % len(tracks)]``: :mod:`deepracer_sim.envs.multitrack`); empty
            for one track.
        action_space: the action space; version: ``model_metadata.json``'s version.
        race_type, objects: the race type and its boxes / bot cars
            (:class:`~deepracer_sim.sim.world.ObjectsConfig`, None for a time trial).
        physics: the simulator generation whose car drives (``"v4"``, ``"v5"``, ``"v6"``);
            None follows ``version`` (:func:`~deepracer_sim.sim.car.physics_for_version`).
        hyperparameters: path of a DeepRacer ``hyperparameters.json`` or None for the defaults.
        timesteps: total environment steps (all cars).
        seconds: the training budget, wall-clock seconds of this command's training
            (:class:`~deepracer_sim.training.callbacks.IterationCallback`); training ends at
            ``timesteps`` or when the budget is used up, whichever comes first (None: no
            budget; a resumed run: a budget for the steps added).
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
        algorithm: ``"clipped_ppo"`` (PPO) or ``"sac"`` (SAC, continuous action spaces only),
            as ``model_metadata.json``'s ``training_algorithm``.
        neural_network: DeepRacer's camera network (``model_metadata.json``
            ``neural_network``) for an environment whose observation is the camera frame;
            None: ``DEEP_CONVOLUTIONAL_NETWORK_SHALLOW`` there. The feature-vector observation
            takes the MLP of ``net_arch`` and refuses a network name.
        init_tf_checkpoint: a DeepRacer TensorFlow checkpoint prefix
            (``.../<N>_Step-<S>.ckpt``) whose camera-network weights training starts from (a
            cloud model's clone; a fresh optimizer, as DeepRacer's clone).
        sensor: what the policy sees (:mod:`deepracer_sim.envs.sensors`); the camera
            (``FRONT_FACING_CAMERA``) trains DeepRacer's camera network ``neural_network``,
            FEATURES with the camera stable-baselines3's MultiInputPolicy; camera training
            uses domain randomisation, seeded by ``seed``.
        camera_route: how a ``FRONT_FACING_CAMERA`` run trains (:mod:`deepracer_sim.training.
            distill`): ``"auto"`` (the fastest route: distillation, as PPO trains on the CPU),
            ``"distill"`` or ``"ppo"`` (PPO from scratch).
        teacher: a ``FEATURES`` run folder whose best checkpoint teaches the camera network
            (None: one is trained first into ``<out>/teacher``).
        distill_steps: env steps (all cars; one camera frame each) of the distillation;
            distill_rounds: its DAgger rounds; finetune_steps: env steps of PPO on the camera
            after it. ``timesteps`` bounds the sum with the teacher's (``split_budget``).
        resume: continue the run in ``out`` (``train --resume``; the other fields are the
            run's own, see :mod:`deepracer_sim.training.resume`; ``timesteps`` are more steps).
        replace: move an earlier run in ``out`` aside (``train --force``).
    """

    reward: Path
    action_space: ActionSpace
    version: float
    out: Path
    track: str = DEFAULT_TRACK
    tracks: tuple[str, ...] = ()
    hyperparameters: Path | None = None
    timesteps: int = 200_000
    seconds: float | None = None
    n_envs: int = 16
    n_steps: int = 256
    net_arch: tuple[int, ...] = (64, 64)
    seed: int = 0
    eval_episodes: int = 5
    alternate_direction: bool = False
    reverse_direction: bool = False
    round_robin_advance: float = ROUND_ROBIN_ADVANCE
    max_steps: int | None = None
    started_at: float | None = None
    init_from: Path | None = None
    stop_when_complete: bool = False
    algorithm: str = "clipped_ppo"
    neural_network: str | None = None
    init_tf_checkpoint: Path | None = None
    sensor: str = FEATURES
    physics: str | None = None
    camera_route: str = "auto"
    teacher: Path | None = None
    distill_steps: int = 12_000
    distill_rounds: int = 4
    finetune_steps: int = 0
    resume: bool = False
    replace: bool = False
    race_type: str = "TIME_TRIAL"
    objects: ObjectsConfig | None = None


def default_run_dir(reward: Path, track: str) -> Path:
    """``runs/<reward>-<track>-<YYYYmmdd-HHMMSS>``."""
    stem = Path(os.fspath(track)).stem
    return Path("runs") / f"{reward.stem}-{stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def process_start_time() -> float:
    """``time.time()`` at which this process started (Linux: from ``/proc``), else now.

    Training reports wall times from the process start, so they include the imports and the
    numba start-up a racer waits for.
    """
    now = time.time()
    try:
        stat = Path("/proc/self/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime, clock ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return now
    return now - max(uptime - ticks / os.sysconf("SC_CLK_TCK"), 0.0)
