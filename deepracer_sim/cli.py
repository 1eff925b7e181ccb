"""Command-line front ends of ``train.py`` and ``evaluate.py``: turn arguments into calls and
errors into one clear message (exit code 2 for bad input, 130 for Ctrl-C)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from .action_space import ActionSpaceError, discrete_action_space
from .env import resolve_action_space
from .hyperparameters import HyperparameterError
from .reward import RewardFunctionError, load_reward_function
from .track import TrackError


class UsageError(ValueError):
    """A command-line value out of range."""


#: Errors that are the user's input, reported without a traceback.
INPUT_ERRORS = (TrackError, ActionSpaceError, HyperparameterError, RewardFunctionError,
                FileNotFoundError, UsageError)


def _guard(fn: Callable[[], int]) -> int:
    try:
        return fn()
    except INPUT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run_training(args: argparse.Namespace, started_at: float | None = None) -> int:
    """``train.py``: build the :class:`~deepracer_sim.training.TrainConfig` and train."""

    def go() -> int:
        from .training import TrainConfig, default_run_dir, train

        flags = (args.max_steering, args.steering_levels, args.max_speed, args.speed_levels)
        if args.action_space is not None and any(f is not None for f in flags):
            raise ActionSpaceError("give either --action-space FILE or the --max-steering/"
                                   "--steering-levels/--max-speed/--speed-levels flags, not both")
        clone = None
        if args.clone is not None:
            from .export import ExportError, clone_source

            try:
                clone = clone_source(args.clone)
            except ExportError as exc:  # a bad folder: report it like any input error
                print(f"error: {exc}", file=sys.stderr)
                return 2
            space = clone.action_space
            version = clone.version if args.version is None else args.version
            if args.action_space is not None:
                given, _ = resolve_action_space(args.action_space, None)
                if not clone.same_action_space(given):
                    raise ActionSpaceError(
                        f"--clone {args.clone}: the action space is locked to the cloned "
                        f"model's ({len(space)} actions); {args.action_space} differs. Drop "
                        "--action-space or give the cloned model_metadata.json")
            elif any(f is not None for f in flags):
                raise ActionSpaceError(f"--clone {args.clone}: the action space is locked to "
                                       "the cloned model's; drop the --max-steering/"
                                       "--steering-levels/--max-speed/--speed-levels flags")
        elif args.action_space is not None:
            space, version = resolve_action_space(args.action_space, args.version)
        else:
            space = discrete_action_space(
                30.0 if args.max_steering is None else args.max_steering,
                5 if args.steering_levels is None else args.steering_levels,
                1.0 if args.max_speed is None else args.max_speed,
                2 if args.speed_levels is None else args.speed_levels,
                source="command line")
            version = 6.0 if args.version is None else args.version
        load_reward_function(args.reward)  # fail before anything is written
        for name in ("timesteps", "n_envs", "n_steps"):
            if getattr(args, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be >= 1")
        out = args.out or default_run_dir(args.reward, args.track)
        cfg = TrainConfig(reward=args.reward, track=args.track, action_space=space,
                          version=version, out=out, hyperparameters=args.hyperparameters,
                          timesteps=args.timesteps, n_envs=args.n_envs, n_steps=args.n_steps,
                          seed=args.seed, alternate_direction=args.alternate_direction,
                          reverse_direction=args.reverse_direction, started_at=started_at,
                          stop_when_complete=args.stop_when_complete)
        if clone is not None:
            cfg.init_from = clone.checkpoint
            cfg.net_arch = clone.net_arch
            if cfg.hyperparameters is None:
                cfg.hyperparameters = clone.hyperparameters
        observers = []
        if args.render:
            from .viewer import TrainingViewer

            observers.append(TrainingViewer())
        result = train(cfg, progress_bar=not args.no_progress_bar, observers=observers)
        best = result.best
        print(f"run folder: {result.run_dir}")
        print(f"{result.timesteps} steps in {result.wall_time:.1f} s"
              + (" (interrupted; the last checkpoint was saved)" if result.interrupted else ""))
        if best is not None:
            lap = best.get("avg_lap_time")
            print(f"best checkpoint: {best['name']} (mean evaluation progress "
                  f"{best['avg_eval_metric']:.1f}%"
                  + (f", mean lap time {lap:.2f} s" if lap == lap else "") + ")")
        print(f"evaluate it: python evaluate.py {result.run_dir}")
        return 130 if result.interrupted else 0

    return _guard(go)


def run_evaluation(args: argparse.Namespace) -> int:
    """``evaluate.py``: evaluate a run folder and print a table or JSON."""

    def go() -> int:
        from .evaluation import evaluate_run

        if args.laps < 1:
            raise UsageError("--laps must be >= 1")
        observers = []
        if args.render or args.record is not None:
            from .viewer import EvaluationViewer

            observers.append(EvaluationViewer(window=args.render, record=args.record))
        report = evaluate_run(args.run_dir, track=args.track, laps=args.laps,
                              checkpoint=args.checkpoint, observers=observers)
        print(json.dumps(report.to_json()) if args.json else report.table())
        return 0

    return _guard(go)
