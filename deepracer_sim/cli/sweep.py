"""Train every trial of a sweep spec on Ray: a grid of train options, or a search.

    deepracer-sim sweep SPEC.yaml [--out sweeps/NAME] [--workers K] [--address auto|HOST:PORT]
        [--shared-out] [--dashboard]

The spec is YAML: fixed train options, and a grid (every combination is a trial) or a search
(random or optuna) over them, e.g.

    track: reinvent_base
    timesteps: 20000
    grid:
      reward: [rewards/center.py, rewards/speed.py]
      seed: [0, 1]

Every trial is a run folder <out>/<trial> as `deepracer-sim train` writes it, plus an
evaluation of its best checkpoint. Stopped (Ctrl-C, a crash, a killed machine)? Run the same
command again: only the unfinished trials run. Then: deepracer-sim compare <out>.
Details: docs/sweep.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepracer_sim.cli import train
from deepracer_sim.errors import UsageError
from deepracer_sim.sweep.runner import run_sweep
from deepracer_sim.sweep.spec import TrainOptions, load_spec
from deepracer_sim.sweep.trial import TrialFactory

HELP = "train every trial of a sweep spec (grid or search) on Ray; rerun to resume"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim sweep``."""
    p.add_argument("spec", type=Path, metavar="SPEC.yaml",
                   help="the sweep spec (YAML); relative paths in it resolve against the "
                        "directory the command runs in")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="sweep folder, one run folder per trial (default sweeps/<spec name>); "
                        "the same --out again finishes an interrupted sweep")
    p.add_argument("--workers", type=int, default=None, metavar="K",
                   help="trials at once, one CPU core each (default: the machine's cores, or "
                        "the cluster's CPUs with --address)")
    p.add_argument("--address", default=None, metavar="auto|HOST:PORT",
                   help="run on an existing Ray cluster (ray start --head): auto, or the head's "
                        "HOST:PORT; run folders are copied back into --out (default: a Ray "
                        "started inside this command)")
    p.add_argument("--shared-out", action="store_true",
                   help="with --address: --out is on storage every node mounts at the same "
                        "path, so trials write there directly instead of being copied back")
    p.add_argument("--dashboard", action="store_true",
                   help="start Ray's dashboard and print its address (needs pip install "
                        "\"deepracer-sim[dashboard]\")")


def train_factory() -> TrialFactory:
    """The train command's options and config builder, for the sweep's trials."""
    parser = argparse.ArgumentParser(add_help=False)
    train.add_arguments(parser)
    return TrialFactory(TrainOptions.from_parser(parser), train.build_config)


def run(args: argparse.Namespace) -> int:
    """Run or resume the sweep; 0 when every trial finished, 1 when one failed, 130 when the
    sweep was stopped before the end."""
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be >= 1")
    if args.shared_out and args.address is None:
        raise UsageError("--shared-out is for a cluster (--address); a local sweep writes "
                         "into --out directly")
    factory = train_factory()
    spec = load_spec(args.spec, factory.options)
    out = args.out if args.out is not None else Path("sweeps") / args.spec.stem
    result = run_sweep(spec, factory, out, workers=args.workers, address=args.address,
                       shared_out=args.shared_out, dashboard=args.dashboard)
    done = len(result.skipped) + len(result.finished)
    print(f"sweep folder: {result.out}")
    print(f"{done}/{result.total} trials finished ({len(result.skipped)} before this run), "
          f"{len(result.errored)} failed, {len(result.unfinished)} unfinished, "
          f"{result.wall_time:.1f} s" + (f" (Ray started in {result.ray_init_s:.1f} s)"
                                         if result.ray_init_s else ""))
    if result.errored:
        print("failed: " + ", ".join(result.errored) + " (run the command again to retry them)")
    if result.interrupted:
        print("stopped before the end: run the same command again to finish the sweep")
        return 130
    print(f"compare the trials: deepracer-sim compare {result.out}")
    return 1 if result.errored else 0
