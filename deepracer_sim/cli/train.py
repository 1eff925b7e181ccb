"""Train a PPO policy on a DeepRacer reward function, locally.

    deepracer-sim train --reward rewards/center.py [--track NAME|PATH[,NAME|PATH...]]
        [--action-space model_metadata.json | --max-steering 30 --steering-levels 5
         --max-speed 1 --speed-levels 2] [--hyperparameters hyperparameters.json]
        [--version V] [--physics v4|v5|v6] [--timesteps N] [--seconds S] [--n-envs K] [--seed S]
        [--out runs/NAME] [--algorithm PPO|SAC]
        [--network DEEP_CONVOLUTIONAL_NETWORK_SHALLOW|DEEP_CONVOLUTIONAL_NETWORK]
        [--clone RUN_OR_MODEL_FOLDER]
    deepracer-sim train --out runs/NAME --resume [--timesteps N]   (continue a run)
    deepracer-sim train --reward ... --out runs/NAME --force        (move a run aside, start anew)

A run folder is never overwritten. SIGINT (Ctrl-C), SIGTERM and SIGHUP stop training at the
next step and save the policy as the next checkpoint (exit status 130, 143, 129).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepracer_sim.cli import values
from deepracer_sim.cli.options import add_physics_argument
from deepracer_sim.cli.race_options import add_race_arguments, race_from_args, race_options_given
from deepracer_sim.envs.sensors import FRONT_FACING_CAMERA, SENSORS
from deepracer_sim.envs.setup import resolve_action_space
from deepracer_sim.errors import (
    ActionSpaceError,
    ResumeError,
    UsageError,
    check_output_folder,
    writing,
)
from deepracer_sim.export import CloneSource, clone_source
from deepracer_sim.formats.hyperparameters import PPO, SAC
from deepracer_sim.formats.model_metadata import (
    DEFAULT_VERSION,
    discrete_action_space,
    read_training_algorithm,
)
from deepracer_sim.formats.tf_variables import NETWORKS
from deepracer_sim.reward import load_reward_function
from deepracer_sim.track.lookup import DEFAULT_TRACK, split_track_list
from deepracer_sim.training.config import TrainConfig, default_run_dir, process_start_time
from deepracer_sim.training.distill import CAMERA_ROUTES, resolve_camera_route, train_camera
from deepracer_sim.training.ppo import TrainResult, train
from deepracer_sim.training.resume import ResumeRequest, resume_config
from deepracer_sim.training.runs import check_out_folder
from deepracer_sim.training.signals import StopSignals
from deepracer_sim.viewer.live import TrainingViewer

HELP = "train a PPO or SAC policy on a reward function (writes a run folder)"
#: ``--algorithm`` -> model_metadata.json's ``training_algorithm``.
ALGORITHMS = {"PPO": PPO, "SAC": SAC}

#: The console-style action-space flags: (flag, attribute, help).
ACTION_FLAGS = (
    ("--max-steering", "max_steering", float, "maximum steering angle, degrees (default 30)"),
    ("--steering-levels", "steering_levels", int, "steering angles, -max..max (default 5)"),
    ("--max-speed", "max_speed", float, "maximum speed, m/s (default 1)"),
    ("--speed-levels", "speed_levels", int, "speeds, max/levels..max (default 2)"),
)


def _add_camera_route_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the camera's distillation route (:mod:`deepracer_sim.training.distill`)."""
    p.add_argument("--camera-route", choices=CAMERA_ROUTES, default=TrainConfig.camera_route,
                   help="how FRONT_FACING_CAMERA trains: distill (teach the camera network from "
                        "a feature-vector policy; minutes on a CPU), ppo (PPO from scratch on the "
                        "camera) or auto (the fastest: distill, as PPO trains on the CPU here); "
                        "docs/camera.md")
    p.add_argument("--teacher", type=Path, default=None,
                   help="distill: a FEATURES run folder whose best checkpoint teaches the camera "
                        "network (default: train one first into OUT/teacher)")
    p.add_argument("--distill-steps", type=values.integer(1), default=TrainConfig.distill_steps,
                   help="distill: env steps (camera frames) of the distillation, all cars, "
                        "within --timesteps")
    p.add_argument("--distill-rounds", type=values.integer(1, 100),
                   default=TrainConfig.distill_rounds,
                   help="distill: DAgger rounds (one checkpoint and evaluation each)")
    p.add_argument("--finetune-steps", type=values.integer(0), default=TrainConfig.finetune_steps,
                   help="distill: env steps of PPO on the camera after distillation, within "
                        "--timesteps")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim train`` (defaults from :class:`TrainConfig`)."""
    p.add_argument("--reward", type=Path, default=None,
                   help="reward file defining reward_function(params) (required, except with "
                        "--resume: the run's own)")
    p.add_argument("--track", default=None,
                   help="track name (tracks/, DEEPRACER_TRACKS_PATH, the download cache) or "
                        f".npy path (default {DEFAULT_TRACK}; with --resume the run's); "
                        "several, comma-separated (A,B), train on all of them: car i drives "
                        "track i mod their number, the first is evaluated")
    p.add_argument("--action-space", type=Path, default=None,
                   help="model_metadata.json with the action space (and version)")
    for flag, dest, kind, text in ACTION_FLAGS:
        p.add_argument(flag, dest=dest, type=kind, default=None, help=text)
    p.add_argument("--sensor", choices=SENSORS, default=None,
                   help="what the policy sees: FEATURES (our 19-value vector, fast, this "
                        "simulator only), FRONT_FACING_CAMERA (DeepRacer's 120x160 grey camera, "
                        "CnnPolicy, domain randomisation; docs/camera.md) or both (default "
                        f"{TrainConfig.sensor}; with --clone the cloned model's)")
    p.add_argument("--version", type=values.version, default=None,
                   help="model_metadata.json version to write (default: the metadata's, else "
                        f"{DEFAULT_VERSION:g}); it picks the car only when --physics is not "
                        "given")
    add_physics_argument(p, "the version's (< 5 v4, 5.x v5, >= 6 v6)")
    p.add_argument("--algorithm", choices=tuple(ALGORITHMS), default=None,
                   help="PPO, or SAC for a continuous action space (default: the "
                        "--action-space file's training_algorithm, else PPO)")
    p.add_argument("--hyperparameters", type=Path, default=None,
                   help="DeepRacer hyperparameters.json (default: DeepRacer's defaults)")
    p.add_argument("--timesteps", type=values.integer(1), default=TrainConfig.timesteps,
                   help="environment steps of all cars together (1 step = 1/15 s); with "
                        "--resume the steps to add")
    p.add_argument("--seconds", type=values.number(0, above=True), default=None,
                   help="training budget, wall-clock seconds of training (from the first "
                        "rollout; the start-up before it is not counted): training stops at "
                        "the step where it is used up, or at --timesteps if that comes first, "
                        "and saves the policy as the next checkpoint (exit status 0; with "
                        "--resume a budget for this command) (default: no budget)")
    p.add_argument("--n-envs", type=values.integer(1, values.MAX_CARS), default=None,
                   help=f"cars simulated side by side (default {TrainConfig.n_envs})")
    p.add_argument("--n-steps", type=values.integer(1, values.MAX_ROLLOUT_STEPS), default=None,
                   help="steps per car per iteration (one PPO update) (default "
                        f"{TrainConfig.n_steps})")
    p.add_argument("--seed", type=values.seed, default=None,
                   help=f"seed of torch and PPO ({values.SEED_RANGE[0]} to "
                        f"{values.SEED_RANGE[1]}; default {TrainConfig.seed})")
    p.add_argument("--out", type=Path, default=None,
                   help="run folder (default runs/<reward>-<track>-<time>); never overwritten")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out: its last checkpoint, next checkpoint "
                        "number, logs appended, its own reward, action space, "
                        "hyperparameters and track")
    p.add_argument("--force", action="store_true",
                   help="--out holds a run: move it aside to <out>.replaced-<time> (never "
                        "deleted) and start a new run")
    p.add_argument("--alternate-direction", action="store_true",
                   help="flip the driving direction after every episode")
    p.add_argument("--reverse-direction", action="store_true",
                   help="drive against the track's waypoint order")
    p.add_argument("--clone", type=Path, default=None,
                   help="continue training from an exported or run folder, or a "
                        "DeepRacer-on-AWS / deepracer-for-cloud model folder with a TensorFlow "
                        "checkpoint of a camera network (its action space is kept; as the "
                        "DeepRacer console's clone)")
    p.add_argument("--network", choices=sorted(NETWORKS), default=None,
                   help="DeepRacer camera network (model_metadata.json neural_network) for a "
                        "camera observation (default DEEP_CONVOLUTIONAL_NETWORK_SHALLOW); the "
                        "feature vector uses an MLP")
    _add_camera_route_arguments(p)
    p.add_argument("--render", action="store_true",
                   help="watch one of the training cars live in a window")
    p.add_argument("--stop-when-complete", action="store_true",
                   help="stop once every evaluation episode completes its lap")
    p.add_argument("--no-progress-bar", action="store_true", help="no progress bar")
    add_race_arguments(p)


def _console_space(args: argparse.Namespace):
    given = {dest: getattr(args, dest) for _, dest, _, _ in ACTION_FLAGS
             if getattr(args, dest) is not None}
    return discrete_action_space(**given, source="command line")


def _action_flags_given(args: argparse.Namespace) -> bool:
    return any(getattr(args, dest) is not None for _, dest, _, _ in ACTION_FLAGS)


def _algorithm(args: argparse.Namespace, continuous: bool) -> str:
    """``training_algorithm`` of the run: ``--algorithm``, else the ``--action-space`` file's.

    Raises:
        ActionSpaceError: SAC with a discrete action space.
    """
    if args.algorithm is not None:
        algorithm = ALGORITHMS[args.algorithm]
    elif args.action_space is not None and args.clone is None:
        algorithm = read_training_algorithm(args.action_space)
    else:
        algorithm = PPO
    if algorithm == SAC and not continuous:
        raise ActionSpaceError("SAC needs a continuous action space: give --action-space with "
                               'a model_metadata.json whose action_space_type is "continuous" '
                               "(speed from 0.5 m/s), or train with PPO")
    return algorithm
def _resume_request(args: argparse.Namespace) -> ResumeRequest:
    """The ``--resume`` options: every run setting given again is checked against the run's."""
    if args.out is None:
        raise ResumeError("--resume needs --out RUN_DIR (the run to continue)")
    if args.clone is not None:
        raise ResumeError("--resume continues the run from its own last checkpoint; drop "
                          "--clone")
    race = race_options_given(args)
    if race:
        raise ResumeError(f"--resume continues the run with its own race type and objects "
                          f"(run_config.json); drop {', '.join(race)}")
    space = None
    version = args.version
    if args.action_space is not None:
        space, meta_version = resolve_action_space(args.action_space, None)
        version = meta_version if version is None else version
    elif _action_flags_given(args):
        space = _console_space(args)
    return ResumeRequest(
        out=args.out, timesteps=args.timesteps, reward=args.reward, action_space=space,
        version=version, hyperparameters=args.hyperparameters, track=args.track,
        n_envs=args.n_envs, n_steps=args.n_steps, seed=args.seed,
        alternate_direction=args.alternate_direction,
        reverse_direction=args.reverse_direction,
        stop_when_complete=args.stop_when_complete, started_at=process_start_time())


def build_config(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of the command line.

    Raises:
        ActionSpaceError, UsageError, RewardFunctionError, ExportError: bad options or files.
        RunExistsError: ``--out`` holds a run and neither ``--resume`` nor ``--force`` is given.
        ResumeError: ``--resume`` on something that is not a run, or with differing settings.
    """
    if args.action_space is not None and _action_flags_given(args):
        raise ActionSpaceError("give either --action-space FILE or the --max-steering/"
                               "--steering-levels/--max-speed/--speed-levels flags, not both")
    if args.out is not None:
        check_out_folder(args.out, args.resume, args.force)
    if args.resume:
        request = _resume_request(args)
        check_output_folder(request.out, "--out")
        cfg = resume_config(request)
        cfg.seconds = args.seconds
        return cfg
    if args.reward is None:
        raise UsageError("--reward FILE is required (except with --resume)")
    clone = None
    if args.clone is not None:
        clone = clone_source(args.clone)
        space = clone.action_space
        version = clone.version if args.version is None else args.version
        if args.action_space is not None:
            given, _ = resolve_action_space(args.action_space, None)
            if not clone.same_action_space(given):
                raise ActionSpaceError(
                    f"--clone {args.clone}: the action space is locked to the cloned "
                    f"model's ({len(space)} actions); {args.action_space} differs. Drop "
                    "--action-space or give the cloned model_metadata.json")
        elif _action_flags_given(args):
            raise ActionSpaceError(f"--clone {args.clone}: the action space is locked to "
                                   "the cloned model's; drop the --max-steering/"
                                   "--steering-levels/--max-speed/--speed-levels flags")
    elif args.action_space is not None:
        space, version = resolve_action_space(args.action_space, args.version)
    else:
        space = _console_space(args)
        version = DEFAULT_VERSION if args.version is None else args.version
    algorithm = _algorithm(args, space.continuous)
    load_reward_function(args.reward)  # fail before anything is written
    race_type, objects = race_from_args(args)
    tracks = split_track_list(args.track or TrainConfig.track)
    name = "+".join(Path(t).stem for t in tracks)
    out = check_output_folder(args.out or default_run_dir(args.reward, name), "--out")
    cfg = TrainConfig(reward=args.reward, track=tracks[0],
                      tracks=tuple(tracks) if len(tracks) > 1 else (), action_space=space,
                      version=version, out=out,
                      hyperparameters=args.hyperparameters, timesteps=args.timesteps,
                      seconds=args.seconds,
                      n_envs=_or(args.n_envs, TrainConfig.n_envs),
                      n_steps=_or(args.n_steps, TrainConfig.n_steps),
                      seed=_or(args.seed, TrainConfig.seed),
                      alternate_direction=args.alternate_direction,
                      reverse_direction=args.reverse_direction,
                      started_at=process_start_time(),
                      stop_when_complete=args.stop_when_complete, algorithm=algorithm,
                      neural_network=args.network, sensor=args.sensor or TrainConfig.sensor,
                      physics=args.physics, replace=args.force, race_type=race_type,
                      objects=objects, camera_route=args.camera_route, teacher=args.teacher,
                      distill_steps=args.distill_steps, distill_rounds=args.distill_rounds,
                      finetune_steps=args.finetune_steps)
    if clone is not None:
        _clone_into(cfg, clone, args)
    return cfg


def _clone_into(cfg: TrainConfig, clone: CloneSource, args: argparse.Namespace) -> None:
    """Start ``cfg`` from a clone source: its weights, sensor, network and hyperparameters.

    Raises:
        ActionSpaceError: a ``--network`` other than the cloned model's; UsageError: a
            ``--sensor`` other than the cloned policy's.
    """
    if args.sensor is not None and args.sensor != clone.sensor:
        raise UsageError(f"--clone {args.clone}: the cloned policy sees "
                         f"{clone.sensor}, not --sensor {args.sensor}; drop --sensor or "
                         "train a new model")
    cfg.sensor = clone.sensor
    if clone.neural_network is not None:
        if args.network not in (None, clone.neural_network):
            raise ActionSpaceError(f"--clone {args.clone}: the network is the cloned model's "
                                   f"{clone.neural_network}; drop --network {args.network}")
        cfg.neural_network = clone.neural_network
    if clone.kind == "cloud":
        cfg.init_tf_checkpoint = clone.checkpoint
    else:
        cfg.init_from = clone.checkpoint
        cfg.net_arch = clone.net_arch
    if cfg.hyperparameters is None:
        cfg.hyperparameters = clone.hyperparameters


#: What ``train`` prints for each camera route.
ROUTE_NAMES = {
    "distill": "distillation from a feature-vector teacher (DAgger; the fast route on a CPU; "
               "--camera-route ppo for PPO from scratch)",
    "ppo": "PPO from scratch on the camera",
}


def camera_route(cfg: TrainConfig) -> str:
    """``"distill"`` or ``"ppo"`` for a camera run: a clone and ``--resume`` continue with
    PPO; otherwise :func:`~deepracer_sim.training.distill.resolve_camera_route`.

    Raises:
        UsageError: ``--teacher`` with the PPO route; distillation asked with a clone or
            ``--resume``.
    """
    cloned = cfg.init_from is not None or cfg.init_tf_checkpoint is not None
    continued = cloned or cfg.resume
    route = "ppo" if continued and cfg.camera_route == "auto" else resolve_camera_route(
        cfg.camera_route)
    if route == "distill" and continued:
        option = "--resume" if cfg.resume else "--clone"
        raise UsageError(f"{option} continues a model with PPO: drop --camera-route distill")
    if route == "ppo" and cfg.teacher is not None:
        raise UsageError("--teacher teaches the distillation route: drop it, or give "
                         "--camera-route distill")
    return route


def _or(value, default):
    return default if value is None else value


def report(result: TrainResult) -> list[str]:
    """What ``train`` prints when it ends: where the run is, why it stopped, the checkpoints,
    and how to evaluate or resume it."""
    lines = [f"run folder: {result.run_dir}"]
    if result.replaced is not None:
        lines.append(f"the earlier run in that folder was moved to {result.replaced}")
    if result.resumed_from is not None:
        lines.append(f"resumed from checkpoint {result.resumed_from}")
    lines.append(f"{result.timesteps} steps, {result.wall_time:.1f} s"
                 + (f"; {result.stop_reason}" if result.stop_reason else ""))
    last, best = result.last, result.best
    if last is not None:
        lines.append(f"last checkpoint: {last['name']}"
                     + (" (saved at the stop, not evaluated)"
                        if last["name"] == result.saved_at_stop else ""))
    if best is not None:
        metric = best.get("avg_eval_metric")
        lap = best.get("avg_lap_time")
        if metric is not None and metric == metric:
            lines.append(f"best checkpoint: {best['name']} (mean evaluation progress "
                         f"{metric:.1f}%" + (f", mean lap time {lap:.2f} s"
                                             if lap is not None and lap == lap else "") + ")")
        else:
            lines.append(f"best checkpoint: {best['name']} (not evaluated)")
    lines.append(f"evaluate it: python evaluate.py {result.run_dir}")
    if result.stop_reason:
        lines.append(f"resume it: python train.py --out {result.run_dir} --resume "
                     "[--timesteps N]")
    return lines


def run(args: argparse.Namespace) -> int:
    """Train; print the run folder, the checkpoints and how to evaluate or resume it."""
    cfg = build_config(args)
    if args.render and cfg.tracks:
        raise UsageError(f"--render shows one track; --track {args.track} names "
                         f"{len(cfg.tracks)}: drop --render, or watch the run afterwards with "
                         "deepracer-sim evaluate RUN --render [--track NAME]")
    observers = [TrainingViewer()] if args.render else []
    trainer = train
    if cfg.sensor == FRONT_FACING_CAMERA:
        route = camera_route(cfg)
        print("camera route: " + ROUTE_NAMES[route])
        if route == "distill":
            trainer = train_camera
    stopper = StopSignals(hold=True)  # a late second signal waits for the report too
    try:
        with writing(cfg.out, "--out"):
            result = trainer(cfg, progress_bar=not args.no_progress_bar, observers=observers,
                             stopper=stopper)
        for line in report(result):
            print(line)
    finally:
        stopper.release()
    return result.exit_code
