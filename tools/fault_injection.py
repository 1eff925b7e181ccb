"""Kill training at random moments and check that every kill leaves a usable run.

    python tools/fault_injection.py [--kills 100] [--seed 0] [--window 10] [--startup S]
        [--in-training] [--workdir DIR]

Each trial starts ``deepracer-sim train`` in a subprocess on one run folder, a new run the
first time (and whenever no run exists yet), ``--resume`` afterwards, and after a random delay
(start-up, run creation, rollouts, updates, evaluations and saves alike; with ``--in-training``
counted from the moment training runs, so that no kill lands in the start-up) stops it with:

* ``SIGKILL`` (nothing can be saved: the files written so far must be usable);
* ``SIGTERM`` (``docker stop``, a job scheduler): a checkpoint is saved, exit 143;
* ``SIGINT`` twice, 0-0.5 s apart (an impatient Ctrl-C): the second one must not corrupt
  the save, exit 130.

After every trial, if the run folder exists, :func:`check_run` checks that it is usable: the
pointer names existing checkpoints, every checkpoint loads with the weights-only loader, the
logs parse (``read_run``) and are consistent with the pointer, and ``evaluate``, ``analyze``,
``export`` (and ``export --check``) and ``train --clone`` work on it; the next trial's
``--resume`` checks that it continues. The process itself is expected to end with the
signal's exit status (130, 143; or -2, -15 before training's handlers are installed; -9).
It prints one line per trial and a summary; exit status 1 if a run was not usable or a
process ended otherwise. ``tests/test_fault_injection.py`` runs a few trials of it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from deepracer_sim.errors import DeepRacerSimError
from deepracer_sim.export import check_path, clone_source, export_run
from deepracer_sim.formats.checkpoints import (
    best_and_last,
    read_checkpoints_json,
    run_checkpoint_parts,
)
from deepracer_sim.formats.model_metadata import read_model_metadata
from deepracer_sim.formats.run_folder import SIMTRACE_SUFFIX, RunFolder
from deepracer_sim.logs.reader import read_run
from deepracer_sim.logs.report import build_report
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.training.policy import load_policy, read_checkpoint_state
from deepracer_sim.training.ppo import train

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("SIGKILL", "SIGTERM", "SIGINT-twice")
#: The training each trial runs: small and fast, never finished before the kill.
TRAIN_ARGS = ["--n-envs", "2", "--n-steps", "64", "--timesteps", "1000000",
              "--no-progress-bar"]
#: Exit status of a run stopped by each kind (a signal before the handlers are installed
#: ends the process by that signal: a negative status).
EXPECTED_EXIT = {"SIGKILL": {-9}, "SIGTERM": {143, -15}, "SIGINT-twice": {130, -2}}


@dataclass
class Trial:
    """One kill: its kind, delay and outcome."""

    index: int
    kind: str
    delay: float
    resumed: bool
    startup: float = 0.0
    exit_code: int | None = None
    last: str | None = None
    problems: list[str] = field(default_factory=list)
    process: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """Whether the run folder (if any) passed every check."""
        return not self.problems

    def line(self) -> str:
        state = "usable" if self.usable else "NOT USABLE: " + "; ".join(self.problems)
        if self.usable and self.last is None:
            state = "no run folder yet (stopped before it was created)"
        if self.process:
            state += " | the process: " + "; ".join(self.process)
        return (f"{self.index:4d} {self.kind:13s} {'resume' if self.resumed else 'new   '} at "
                f"{self.delay:5.1f} s  exit {self.exit_code}  last {self.last or '-':18s} "
                f"{state}")


def train_command(run: Path, resume: bool) -> list[str]:
    """The ``deepracer-sim train`` command line of a trial."""
    cmd = [sys.executable, "-m", "deepracer_sim", "train", "--out", str(run), *TRAIN_ARGS]
    if resume:
        return [*cmd, "--resume"]
    return [*cmd, "--reward", str(ROOT / "rewards" / "center.py")]


def stop(proc: subprocess.Popen, kind: str, rng: random.Random, timeout: float) -> int | None:
    """Send ``kind`` to the training process and wait for it to end (SIGKILL after
    ``timeout`` s: a process that does not stop is a failure, returned as None)."""
    if kind == "SIGKILL":
        proc.send_signal(signal.SIGKILL)
    elif kind == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGINT)
        time.sleep(rng.uniform(0.0, 0.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def _checkpoint_problems(run: RunFolder) -> tuple[list[str], str | None, int]:
    problems = []
    try:
        info = read_checkpoints_json(run.checkpoints_json)
        best, last = best_and_last(info, run.checkpoints_json)
    except DeepRacerSimError as exc:
        return [f"pointer: {exc}"], None, -1
    for entry in (best, last):
        if not run.checkpoint_path(entry["name"]).is_file():
            problems.append(f"the pointer names {entry['name']}, which does not exist")
    space, _ = read_model_metadata(run.model_metadata)
    for path in sorted(run.model_dir.glob("*_Step-*.zip")):
        try:
            read_checkpoint_state(path)
            load_policy(path, space)
        except DeepRacerSimError as exc:
            problems.append(f"checkpoint {path.name}: {exc}")
    parts = run_checkpoint_parts(last["name"])
    return problems, last["name"], parts[0] if parts else -1


def _log_problems(run: RunFolder, number: int) -> tuple[list[str], bool]:
    """(problems, whether the logs hold any training step)."""
    problems = []
    has_trace = False
    files = sorted(int(p.name[:-len(SIMTRACE_SUFFIX)])
                   for p in run.training_simtrace_dir.glob(f"*{SIMTRACE_SUFFIX}"))
    if files != list(range(len(files))):
        problems.append(f"sim-trace files are not 0..n-1: {files}")
    if not number <= len(files) <= number + 1:
        problems.append(f"{len(files)} sim-trace files for last checkpoint number {number}")
    try:
        logs = read_run(run.root)
        has_trace = logs.training is not None and len(logs.training) > 0
    except Exception as exc:  # any failure to parse is the finding
        problems.append(f"read_run: {type(exc).__name__}: {exc}")
    return problems, has_trace


def _tool_problems(run: RunFolder, scratch: Path, has_trace: bool) -> list[str]:
    problems = []
    steps: list[tuple[str, object]] = [
        ("evaluate best", lambda: evaluate_run(run.root, laps=1, checkpoint="best")),
        ("evaluate last", lambda: evaluate_run(run.root, laps=1, checkpoint="last")),
        ("export", lambda: export_run(run.root, scratch / "export", force=True)),
        ("export --check", lambda: [p for p in check_path(scratch / "export")
                                    if p.level == "error"]),
        ("train --clone", lambda: _clone(run, scratch / "clone")),
    ]
    if has_trace:
        steps.append(("analyze", lambda: build_report(run.root, scratch / "report",
                                                      write_pngs=False)))
    for name, step in steps:
        try:
            out = step()  # type: ignore[operator]
            if name == "export --check" and out:
                problems.append(f"export --check: {[str(p) for p in out]}")
        except Exception as exc:  # any failure of a tool on the run is the finding
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    return problems


def _clone(run: RunFolder, out: Path) -> None:
    """``train --clone RUN`` (in this process), a few steps."""
    shutil.rmtree(out, ignore_errors=True)
    source = clone_source(run.root)
    cfg = TrainConfig(reward=run.reward_file, action_space=source.action_space,
                      version=source.version, out=out, hyperparameters=source.hyperparameters,
                      timesteps=128, n_envs=2, n_steps=64, eval_episodes=0,
                      net_arch=source.net_arch, init_from=source.checkpoint)
    train(cfg, progress_bar=False)


def check_run(root: Path, scratch: Path) -> tuple[list[str], str | None]:
    """(problems, the last checkpoint's name) of a run folder (module docstring)."""
    run = RunFolder(root)
    problems, last, number = _checkpoint_problems(run)
    if last is None:
        return problems, None
    found, has_trace = _log_problems(run, number)
    problems += found
    problems += _tool_problems(run, scratch, has_trace)
    return problems, last


def _default_signals() -> None:
    """In the child before it starts: the default handling of the signals the trials send (a
    background job of a non-interactive shell would otherwise inherit SIGINT ignored)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def _wait_for_run(proc: subprocess.Popen, run: Path, limit: float = 600.0) -> float:
    """Wait until training runs (the new run's pointer exists, or the resumed run's
    ``run_config.json`` was rewritten: both happen once the stop handlers are installed) or the
    process ends; returns the seconds."""
    t0 = time.time()
    folder = RunFolder(run)
    config = _mtime(folder.config)
    while proc.poll() is None and time.time() - t0 < limit:
        if (config < 0 and folder.checkpoints_json.exists()) or \
                (config >= 0 and _mtime(folder.config) != config):
            break
        time.sleep(0.05)
    return time.time() - t0


def run_trial(index: int, kind: str, run: Path, scratch: Path, rng: random.Random,
              window: float, wait_for_run: bool = False, timeout: float = 180.0) -> Trial:
    """Start (or resume) training on ``run``, stop it with ``kind`` after a random delay of
    up to ``window`` s (counted from the start, or with ``wait_for_run`` from the moment
    training runs), and check the run."""
    resumed = (run / "run_config.json").is_file()
    proc = subprocess.Popen(train_command(run, resumed), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals)
    started = _wait_for_run(proc, run) if wait_for_run else 0.0
    trial = Trial(index, kind, started + rng.uniform(0.0, window), resumed, started)
    try:
        proc.wait(trial.delay - started)
        trial.process.append(f"ended by itself before the kill: {proc.stderr.read()}")
    except subprocess.TimeoutExpired:
        trial.exit_code = stop(proc, kind, rng, timeout)
    err = proc.stderr.read() if proc.stderr else ""
    if trial.exit_code is None and not trial.process:
        trial.process.append(f"did not stop within {timeout:.0f} s")
    elif trial.exit_code not in EXPECTED_EXIT[kind] and not trial.process:
        trial.process.append(f"exit {trial.exit_code}: {err.strip().splitlines()[-3:]}")
    if "Traceback" in err and kind != "SIGINT-twice":
        trial.process.append("a traceback: " + err.strip().splitlines()[-1])
    if run.exists():
        problems, trial.last = check_run(run, scratch)
        trial.problems += problems
    return trial


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100, help="trials (kills)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kinds and delays")
    parser.add_argument("--window", type=float, default=10.0,
                        help="the kill comes up to WINDOW s after the run folder appears "
                             "(first trial) or after the start-up plus WINDOW, s")
    parser.add_argument("--startup", type=float, default=None,
                        help="the start-up time, s, that widens the window of the kills after "
                             "the first (default: how long the first trial took to start "
                             "training; on a loaded machine that can be minutes)")
    parser.add_argument("--in-training", action="store_true",
                        help="every kill comes 0..WINDOW s after training runs (its stop "
                             "handlers installed), none during the start-up")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the run goes (default: a temporary folder)")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="fault-injection-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    trials = []
    started = time.time()
    startup = 0.0
    for index in range(1, args.kills + 1):
        wait = index == 1 or args.in_training
        trial = run_trial(index, rng.choice(KINDS), work / "run", work / "scratch", rng,
                          args.window if wait else startup + args.window, wait_for_run=wait)
        first = index == 1
        if first:  # the kills that follow land anywhere from the start-up on
            startup = trial.startup if args.startup is None else args.startup
        trials.append(trial)
        print(trial.line(), flush=True)
    usable = sum(t.usable for t in trials)
    odd = sum(bool(t.process) for t in trials)
    by_kind = {k: sum(t.kind == k for t in trials) for k in KINDS}
    handled = sum(t.exit_code in (130, 143) for t in trials)
    early = sum(t.exit_code in (-2, -15) for t in trials)
    print(f"{len(trials)} kills ({', '.join(f'{n} {k}' for k, n in by_kind.items())}) in "
          f"{time.time() - started:.0f} s: {usable} left a usable run, "
          f"{len(trials) - usable} did not; {handled} signals were handled by training (exit "
          f"130/143), {early} came before its handlers (exit -2/-15); {odd} trials with an "
          f"unexpected process exit; run folder {work / 'run'}")
    return 0 if usable == len(trials) and not odd else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
