"""Parallel efficiency of ``deepracer-sim sweep`` (docs/sweep.md, "Measured").

Runs the issue's goal sweep -- 2 reward functions x 2 action spaces x 2 seeds, 100,000 steps
each -- three ways, and prints the wall times, the CPU seconds of the trials and the load
average while each ran:

* ``sweep --workers 2`` and ``sweep --workers 1`` (each into a fresh sweep folder);
* the same 8 trials as ``deepracer-sim train`` processes, one after the other, with the
  options of the sweep's ``trials.json`` ("back to back").

Usage (from the repository root, in the project's environment)::

    python tools/sweep_efficiency.py WORK_DIR [--steps 100000] [--repeat 3] \\
        [--track reinvent_base] [--phases w2,w1,serial]

``--repeat N`` interleaves N rounds and the summary takes each phase's best round (on a shared
machine the fastest round is the one least slowed by other jobs). The efficiency ratios are the
goal's: the sweep's wall time at K workers divided by (back to back / K); <= 1.2 is the goal.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The two action spaces: DeepRacer's default (5 steering x 2 speeds, 1 m/s) and a faster one.
SPACES = {"slow": (30, 5, 1.0, 2), "fast": (30, 5, 2.0, 3)}
SPEC = """\
track: {track}
timesteps: {steps}
grid:
  reward: [rewards/center.py, rewards/speed.py]
  action_space: [spaces/slow.json, spaces/fast.json]
  seed: [0, 1]
"""


def model_metadata(max_steering: float, levels: int, max_speed: float, speeds: int) -> dict:
    """A model_metadata.json with a discrete action space (the console's grid)."""
    actions = []
    for i in range(levels):
        angle = -max_steering + 2 * max_steering * i / (levels - 1)
        for j in range(1, speeds + 1):
            actions.append({"steering_angle": angle, "speed": max_speed * j / speeds})
    return {"action_space": actions, "sensor": ["FRONT_FACING_CAMERA"],
            "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "version": "5"}


def prepare(work: Path, track: str, steps: int) -> Path:
    """The racer's folder: rewards/, spaces/ and goal.yaml."""
    (work / "rewards").mkdir(parents=True, exist_ok=True)
    (work / "spaces").mkdir(exist_ok=True)
    for name in ("center.py", "speed.py"):
        shutil.copyfile(ROOT / "rewards" / name, work / "rewards" / name)
    for name, args in SPACES.items():
        (work / "spaces" / f"{name}.json").write_text(json.dumps(model_metadata(*args)))
    spec = work / "goal.yaml"
    spec.write_text(SPEC.format(track=track, steps=steps))
    return spec


class LoadSampler:
    """The 1-minute load average every 5 s while a phase runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self.stop.wait(5.0)

    def __enter__(self) -> LoadSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def text(self) -> str:
        s = self.samples or [os.getloadavg()[0]]
        return f"load {min(s):.1f}-{max(s):.1f} (mean {sum(s) / len(s):.1f})"


def trials_cpu(out: Path) -> float:
    """CPU seconds of the trials of a sweep folder (from the completion markers)."""
    return sum(json.loads(p.read_text())["cpu_time"] for p in out.glob("*/sweep_trial.json"))


def run_sweep(work: Path, spec: Path, out: Path, workers: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    with LoadSampler() as load:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "deepracer_sim", "sweep", str(spec),
                               "--out", str(out), "--workers", str(workers)], cwd=work,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return {"wall": wall, "cpu": trials_cpu(out), "load": load.text()}


def run_serial(work: Path, trials: dict, out: Path) -> dict:
    """Every trial as its own ``deepracer-sim train`` process, one after the other."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    walls = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with LoadSampler() as load:
        t0 = time.perf_counter()
        for name, params in trials.items():
            argv = [sys.executable, "-m", "deepracer_sim", "train", "--no-progress-bar",
                    "--out", str(out / name)]
            for key, value in params.items():
                flag = f"--{key.replace('_', '-')}"
                argv += [flag] if value is True else [] if value is False else [flag, str(value)]
            t = time.perf_counter()
            subprocess.run(argv, cwd=work, check=True, capture_output=True)
            walls.append(time.perf_counter() - t)
        wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load": load.text(),
            "per_trial": f"{min(walls):.1f}-{max(walls):.1f} s"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work", type=Path, help="working folder (created)")
    ap.add_argument("--steps", type=int, default=100_000, help="steps per trial")
    ap.add_argument("--repeat", type=int, default=1, help="interleaved rounds")
    ap.add_argument("--track", default="reinvent_base", help="track name or .npy path")
    ap.add_argument("--phases", default="w2,w1,serial", help="w2, w1, serial (comma-separated)")
    a = ap.parse_args()
    work = a.work.resolve()
    spec = prepare(work, a.track, a.steps)
    phases = a.phases.split(",")
    best: dict[str, dict] = {}
    print(f"{os.cpu_count()} cores; goal sweep: 8 trials x {a.steps} steps on {a.track}",
          flush=True)
    for rnd in range(1, a.repeat + 1):
        for phase in phases:
            if phase == "serial":
                source = work / "sweeps" / "w2" if "w2" in phases else work / "sweeps" / "w1"
                trials = json.loads((source / "trials.json").read_text())
                res = run_serial(work, trials, work / "serial")
            else:
                res = run_sweep(work, spec, work / "sweeps" / phase, int(phase[1:]))
            print(f"round {rnd} {phase}: wall {res['wall']:.1f} s, trials' CPU "
                  f"{res['cpu']:.1f} s, {res['load']}"
                  + (f", per trial {res['per_trial']}" if "per_trial" in res else ""),
                  flush=True)
            if phase not in best or res["wall"] < best[phase]["wall"]:
                best[phase] = res
    if "serial" in best:
        serial = best["serial"]["wall"]
        for phase in ("w1", "w2"):
            if phase in best:
                k = int(phase[1:])
                print(f"best {phase}: {best[phase]['wall']:.1f} s / (back to back "
                      f"{serial:.1f} s / {k}) = {best[phase]['wall'] / (serial / k):.2f}")
    if "w1" in best and "w2" in best:
        print(f"best w2 / (best w1 / 2) = {best['w2']['wall'] / (best['w1']['wall'] / 2):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
