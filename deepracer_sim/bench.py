"""Benchmark: ``python -m deepracer_sim.bench [--track PATH] [--json] [--skip-train]``.

Prints, in one run on the current machine:

1. steps/s of ``gym.make("DeepRacer-v0")`` with ``rewards/center.py`` and random actions, of
   ``gym.make("CartPole-v1")`` with random actions in the same process, and their ratio (the
   actions are drawn beforehand, so both loops time ``step`` and ``reset`` only);
2. steps/s of ``DeepRacerVecEnv`` with N = 1, 16, 256 cars and ``rewards/center.py``;
3. car-steps/s of the batched kernel alone (no reward function, no Python per car), N = 256;
4. PPO environment steps/s during ``learn()`` with ``train.py``'s defaults;
5. ``train.py`` with its defaults on the given track (``reinvent_base`` by default): wall time
   from process start to the first checkpoint that completes 3/3 evaluation laps, checked with
   ``evaluate.py``'s evaluation, and the process's peak memory (RSS);
6. numba start-up: seconds from ``import deepracer_sim`` to the first step with an empty kernel
   cache (cold) and with the cache present (warm).

Steps/s are measured on one core (torch and the kernels are single-threaded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CENTER = ROOT / "rewards" / "center.py"
DEFAULT_TRACK = ROOT.parent / "shared" / "tracks" / "reinvent_base.npy"


def _rate(step, n: int) -> float:
    step(min(n, 1000))  # warm up
    t = time.perf_counter()
    step(n)
    return n / (time.perf_counter() - t)


def single_env_rates(n: int = 100_000) -> dict:
    """Item 1: gym.make DeepRacer-v0 vs CartPole-v1, steps/s."""
    import gymnasium as gym

    import deepracer_sim  # noqa: F401  (registers DeepRacer-v0)

    actions = np.random.default_rng(0).integers(0, 10, size=n + 1000).tolist()

    def runner(env, n_actions: int):
        env.reset(seed=0)
        acts = [a % n_actions for a in actions]

        def run(k: int) -> None:
            for a in acts[:k]:
                _, _, term, trunc, _ = env.step(a)
                if term or trunc:
                    env.reset()
        return run

    dr = _rate(runner(gym.make("DeepRacer-v0", reward_function=str(CENTER)), 10), n)
    cp = _rate(runner(gym.make("CartPole-v1"), 2), n)
    return {"deepracer_steps_per_s": dr, "cartpole_steps_per_s": cp, "ratio": dr / cp}


def vec_env_rates(sizes=(1, 16, 256), steps: int = 200_000) -> dict:
    """Item 2: DeepRacerVecEnv with the Python reward, env steps/s per N."""
    from .vec_env import DeepRacerVecEnv

    out = {}
    for n in sizes:
        env = DeepRacerVecEnv(n, reward_function=str(CENTER))
        env.reset()
        acts = np.random.default_rng(0).integers(0, 10, size=(1000, n))

        def run(k: int, env=env, acts=acts) -> None:
            for j in range(k):
                env.step(acts[j % 1000])
        calls = max(steps // n, 200)
        out[str(n)] = _rate(run, calls) * n
    return out


def kernel_rate(n: int = 256, calls: int = 4000) -> float:
    """Item 3: the batched kernel alone, car-steps/s (auto-reset on, fixed random commands)."""
    from . import sim
    from .car import dynamics_for_version
    from .track import load_track

    track = load_track()
    cfg = sim.make_config(0.05, True, False, 10_000, 0.0)
    simulator = sim.Simulator(track, n, dynamics_for_version(6).as_array(), cfg,
                              np.arange(n) / n)
    rng = np.random.default_rng(0)
    simulator.steer[:] = rng.uniform(-30, 30, n)
    simulator.speed[:] = rng.uniform(0.5, 2.0, n)

    def run(k: int) -> None:
        for _ in range(k):
            simulator.step(None, None, True)
    return _rate(run, calls) * n


def ppo_rate(timesteps: int = 3 * 16 * 256) -> float:
    """Item 4: environment steps/s inside PPO.learn() with train.py's defaults."""
    import torch
    from stable_baselines3 import PPO

    from .action_space import discrete_action_space
    from .hyperparameters import ppo_kwargs, read_hyperparameters
    from .track import load_track
    from .training import TrainConfig, make_training_env

    cfg = TrainConfig(reward=CENTER, track="dr_sim_default", action_space=discrete_action_space(),
                      version=6.0, out=Path(tempfile.mkdtemp()))
    torch.set_num_threads(1)
    env = make_training_env(cfg, load_track(cfg.track))
    kwargs = ppo_kwargs(read_hyperparameters(None))
    model = PPO("MlpPolicy", env, n_steps=cfg.n_steps, device="cpu", verbose=0, seed=0,
                policy_kwargs={"net_arch": {"pi": list(cfg.net_arch), "vf": list(cfg.net_arch)}},
                **kwargs)
    t = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    return model.num_timesteps / (time.perf_counter() - t)


def time_to_laps(track: Path) -> dict:
    """Item 5: train.py's defaults until the first checkpoint that completes 3/3 laps."""
    from .evaluation import evaluate_run

    out = Path(tempfile.mkdtemp()) / "run"
    cmd = [sys.executable, str(ROOT / "train.py"), "--reward", str(CENTER), "--track", str(track),
           "--out", str(out), "--no-progress-bar", "--stop-when-complete"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    total = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise RuntimeError(f"train.py failed:\n{proc.stderr[-2000:]}")
    rows = [json.loads(line) for line in (out / "metrics" / "iterations.jsonl").read_text()
            .splitlines()]
    for row in rows:
        laps = row["eval_laps"]
        if laps and laps[0]["status"] == "lap_complete" and laps[0]["start"] == 0.0:
            report = evaluate_run(out, laps=3, checkpoint=str(row["iteration"]))
            if report.completion_rate == 1.0:
                return {"seconds_to_3_of_3": row["wall_time"], "steps": row["steps"],
                        "checkpoint": row["checkpoint"],
                        "lap_time": report.laps[0].lap_time, "process_seconds": total,
                        "peak_rss_mb": max(peak_kb, before) / 1024}
    return {"seconds_to_3_of_3": None, "process_seconds": total,
            "peak_rss_mb": peak_kb / 1024}


def startup_times() -> dict:
    """Item 6: import-to-first-step seconds, cold (empty kernel cache) and warm."""
    code = ("import time; t = time.perf_counter(); import deepracer_sim; "
            "env = deepracer_sim.DeepRacerEnv(); env.reset(seed=0); env.step(0); env.step(0); "
            "print(time.perf_counter() - t)")
    cache = tempfile.mkdtemp()
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    times = {}
    for label in ("cold", "warm"):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, check=True)
        times[label] = float(proc.stdout.strip().splitlines()[-1])
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="deepracer-sim benchmark")
    p.add_argument("--track", type=Path, default=DEFAULT_TRACK,
                   help="track for the time-to-3/3-laps run (default: ../shared reinvent_base)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--skip-train", action="store_true", help="skip items 4 and 5")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    result: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                               f"{os.cpu_count()} cores, Python {platform.python_version()}"}
    result["startup_s"] = startup_times()
    result["single_env"] = single_env_rates()
    result["vec_env_steps_per_s"] = vec_env_rates()
    result["kernel_car_steps_per_s"] = kernel_rate()
    if not args.skip_train:
        result["ppo_learn_steps_per_s"] = ppo_rate()
        if args.track.is_file():
            result["time_to_3_of_3_laps"] = time_to_laps(args.track)
        else:
            result["time_to_3_of_3_laps"] = f"skipped: {args.track} not found"
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    s = result["single_env"]
    print(f"machine: {result['machine']}")
    print(f"start-up (import to first step): cold {result['startup_s']['cold']:.2f} s, "
          f"warm {result['startup_s']['warm']:.2f} s")
    print(f"1. gym.make DeepRacer-v0 + center.py: {s['deepracer_steps_per_s']:,.0f} steps/s; "
          f"CartPole-v1: {s['cartpole_steps_per_s']:,.0f} steps/s; ratio {s['ratio']:.2f}")
    for n, r in result["vec_env_steps_per_s"].items():
        print(f"2. DeepRacerVecEnv N={n:>3} + center.py: {r:,.0f} steps/s")
    print(f"3. batched kernel alone (N=256): {result['kernel_car_steps_per_s']:,.0f} car-steps/s")
    if not args.skip_train:
        print(f"4. PPO learn(): {result['ppo_learn_steps_per_s']:,.0f} env steps/s")
        t = result["time_to_3_of_3_laps"]
        if isinstance(t, dict) and t.get("seconds_to_3_of_3") is not None:
            print(f"5. train.py to a 3/3-lap model on {args.track.stem}: "
                  f"{t['seconds_to_3_of_3']:.1f} s ({t['steps']} steps, lap {t['lap_time']:.2f} s)"
                  f", peak RSS {t['peak_rss_mb']:.0f} MB")
        else:
            print(f"5. train.py to a 3/3-lap model: {t}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
