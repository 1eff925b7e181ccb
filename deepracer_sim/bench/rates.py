"""The benchmark behind ``deepracer-sim bench [--track PATH] [--json] [--skip-train]``.

Prints, in one run on the current machine:

1. steps/s of ``gym.make("DeepRacer-v0")`` with ``rewards/center.py`` and random actions, of
   ``gym.make("CartPole-v1")`` with random actions in the same process, and their ratio (the
   actions are drawn beforehand, so both loops time ``step`` and ``reset`` only);
2. steps/s of ``DeepRacerVecEnv`` with N = 1, 16, 256 cars and ``rewards/center.py``, and of
   ``gym.make_vec("DeepRacer-v0", num_envs=N)`` (Gymnasium's vector API) with N = 16, 64, 256
   and the built-in reward;
3. car-steps/s of the batched kernel alone (no reward function, no Python per car), N = 256,
   the best of several runs in CPU time, with the default (v6) car and with each generation's
   car;
4. PPO environment steps/s during ``learn()`` with ``train.py``'s defaults;
5. ``train.py`` with its defaults on the given track (``reinvent_base`` by default): wall time
   from process start to the first checkpoint that completes 3/3 evaluation laps, checked with
   ``evaluate.py``'s evaluation, and the process's peak memory (RSS);
6. camera frames/s: the batched FRONT_FACING_CAMERA renderer, 160 x 120, one core, N = 16
   and 64, domain randomisation off and on, on the given track (:mod:`.camera`);
7. numba start-up: seconds from ``import deepracer_sim`` to the first step with an empty kernel
   cache (cold) and with the cache present (warm).

Steps/s are measured on one core (torch and the kernels are single-threaded). :class:`Sizes`
sets how much each item measures; the command runs :data:`FULL`.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO

from deepracer_sim.bench.camera import camera_rates
from deepracer_sim.envs import register_envs
from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.errors import TrackError
from deepracer_sim.formats.hyperparameters import ppo_kwargs, read_hyperparameters
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.sim.car import PHYSICS, car_params
from deepracer_sim.sim.simulator import Simulator, make_config
from deepracer_sim.sim.world import ObjectsConfig
from deepracer_sim.track import DEFAULT_TRACK as DEFAULT_TRACK_NAME
from deepracer_sim.track import load_track, resolve_track_path
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.training.ppo import make_training_env

ROOT = Path(__file__).resolve().parents[2]
CENTER = ROOT / "rewards" / "center.py"
#: The time-to-laps track: the official reinvent_base from the workspace's shared data.
DEFAULT_TRACK = str(ROOT.parent / "shared" / "tracks" / "reinvent_base.npy")


@dataclass(frozen=True)
class Sizes:
    """How much each item measures (the defaults: the full benchmark).

    Attributes:
        single_env_steps: env steps of item 1, per env.
        vec_env_cars, vec_env_steps: the N of item 2 and the car-steps per N.
        vector_env_cars, vector_env_steps: the N of item 2b and the car-steps per N.
        kernel_cars, kernel_calls: N and kernel calls of item 3.
        ppo_timesteps: env steps of item 4.
        camera_cars, camera_calls, camera_repeats: the N of item 6, renderer calls per run and
            runs (the best is kept).
        startup: measure item 7 (two fresh processes, one compiling every kernel).
    """

    single_env_steps: int = 100_000
    vec_env_cars: tuple[int, ...] = (1, 16, 256)
    vec_env_steps: int = 200_000
    vector_env_cars: tuple[int, ...] = (16, 64, 256)
    vector_env_steps: int = 200_000
    kernel_cars: int = 256
    kernel_calls: int = 4000
    ppo_timesteps: int = 3 * 16 * 256
    camera_cars: tuple[int, ...] = (16, 64)
    camera_calls: int = 20
    camera_repeats: int = 7
    startup: bool = True


#: The benchmark the command runs.
FULL = Sizes()
#: A run of a few seconds that exercises every measured item but the start-up (for tests).
TINY = Sizes(single_env_steps=2000, vec_env_cars=(1, 4), vec_env_steps=400,
             vector_env_cars=(4,), vector_env_steps=400, kernel_cars=8, kernel_calls=50,
             ppo_timesteps=256, camera_cars=(2,), camera_calls=2, camera_repeats=1,
             startup=False)


def _rate(step, n: int, clock=time.perf_counter) -> float:
    """n / the seconds ``step(n)`` takes on ``clock`` (after a warm-up)."""
    step(min(n, 1000))  # warm up
    t = clock()
    step(n)
    return n / (clock() - t)


def single_env_rates(n: int = 100_000) -> dict:
    """Item 1: gym.make DeepRacer-v0 vs CartPole-v1, steps/s."""
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

    register_envs()
    dr = _rate(runner(gym.make("DeepRacer-v0", reward_function=str(CENTER)), 10), n)
    cp = _rate(runner(gym.make("CartPole-v1"), 2), n)
    return {"deepracer_steps_per_s": dr, "cartpole_steps_per_s": cp, "ratio": dr / cp}


def vec_env_rates(sizes=(1, 16, 256), steps: int = 200_000) -> dict:
    """Item 2: DeepRacerVecEnv with the Python reward, env steps/s per N."""
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


def vector_env_rates(sizes=(16, 64, 256), steps: int = 200_000) -> dict:
    """Item 2b: ``gym.make_vec("DeepRacer-v0", num_envs=N)`` with the built-in reward, steps/s."""
    register_envs()
    out = {}
    for n in sizes:
        env = gym.make_vec("DeepRacer-v0", num_envs=n)
        env.reset(seed=0)
        acts = np.random.default_rng(0).integers(0, 10, size=(1000, n))

        def run(k: int, env=env, acts=acts) -> None:
            for j in range(k):
                env.step(acts[j % 1000])
        calls = max(steps // n, 200)
        out[str(n)] = _rate(run, calls) * n
        env.close()
    return out


#: Item 3b: the object layouts the kernel is timed with (6 objects per car; bot cars at 1 m/s,
#: with lane changes every 3-5 s where named).
OBJECT_LAYOUTS = {
    "6 boxes": ObjectsConfig(boxes=6, box_min_distance=1.0),
    "6 boxes + SECTOR_LIDAR": ObjectsConfig(boxes=6, box_min_distance=1.0, lidar="SECTOR_LIDAR"),
    "3 boxes + 3 bots": ObjectsConfig(boxes=3, box_min_distance=1.0, bots=3, bot_speed=1.0),
    "3 boxes + 3 bots (lane changes)": ObjectsConfig(boxes=3, box_min_distance=1.0, bots=3,
                                                     bot_speed=1.0, lane_change=True),
    "6 bots (lane changes)": ObjectsConfig(bots=6, bot_speed=1.0, lane_change=True),
}


def kernel_rate(n: int = 256, calls: int = 4000, physics: str = "v6", repeats: int = 5,
                objects: ObjectsConfig | None = None) -> float:
    """Item 3: the batched kernel alone, car-steps/s, the best of ``repeats`` runs of ``calls``
    calls (auto-reset on, fixed random commands: steering uniform in +-30 degrees, speed in
    [0.5, 2] m/s) with the car of ``physics`` (and, item 3b, each car's ``objects``). Timed in
    this process's CPU time: the kernel is single-threaded, so other jobs on a shared machine
    barely change the figure."""
    track = load_track()
    cfg = make_config(0.05, True, False, 10_000, 0.0)
    simulator = Simulator(track, n, car_params(physics).as_array(), cfg, np.arange(n) / n,
                          objects=objects)
    rng = np.random.default_rng(0)
    simulator.steer[:] = rng.uniform(-30, 30, n)
    simulator.speed[:] = rng.uniform(0.5, 2.0, n)

    def run(k: int) -> None:
        for _ in range(k):
            simulator.step(None, None, True)
    return max(_rate(run, calls, time.process_time) for _ in range(repeats)) * n


def ppo_rate(timesteps: int = 3 * 16 * 256) -> float:
    """Item 4: environment steps/s inside PPO.learn() with train.py's defaults."""
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


def time_to_laps(track: str | Path) -> dict:
    """Item 5: train.py's defaults until the first checkpoint that completes 3/3 laps."""
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
            report = evaluate_run(out, laps=3, checkpoint=row["checkpoint"])
            if report.completion_rate == 1.0:
                return {"track": Path(track).stem, "seconds_to_3_of_3": row["wall_time"],
                        "steps": row["steps"],
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


def run_benchmark(track: str | Path = DEFAULT_TRACK, skip_train: bool = False,
                  sizes: Sizes = FULL) -> dict:
    """Every item of the module docstring, as one JSON-able dict: ``machine`` (text),
    ``startup_s`` ({"cold", "warm"} s; None when ``sizes.startup`` is off), ``single_env``
    (item 1, steps/s and their ratio), ``vec_env_steps_per_s`` and ``vector_env_steps_per_s``
    ({str(N): steps/s}), ``kernel_car_steps_per_s`` (the v6 car),
    ``kernel_car_steps_per_s_by_physics`` ({physics: car-steps/s}),
    ``kernel_car_steps_per_s_by_objects`` ({layout: car-steps/s}, v6), ``camera`` (item 6:
    :func:`~.camera.camera_rates`); unless ``skip_train``:
    ``ppo_learn_steps_per_s`` and ``time_to_3_of_3_laps`` (item 5's dict, or why it was
    skipped). Sets torch to one thread."""
    torch.set_num_threads(1)
    result: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                               f"{os.cpu_count()} cores, Python {platform.python_version()}"}
    result["startup_s"] = startup_times() if sizes.startup else None
    result["single_env"] = single_env_rates(sizes.single_env_steps)
    result["vec_env_steps_per_s"] = vec_env_rates(sizes.vec_env_cars, sizes.vec_env_steps)
    result["vector_env_steps_per_s"] = vector_env_rates(sizes.vector_env_cars,
                                                        sizes.vector_env_steps)
    result["kernel_car_steps_per_s"] = kernel_rate(sizes.kernel_cars, sizes.kernel_calls)
    result["kernel_car_steps_per_s_by_physics"] = {
        g: kernel_rate(sizes.kernel_cars, sizes.kernel_calls, g) for g in PHYSICS}
    result["kernel_car_steps_per_s_by_objects"] = {
        name: kernel_rate(sizes.kernel_cars, sizes.kernel_calls, objects=layout)
        for name, layout in OBJECT_LAYOUTS.items()}
    try:
        camera_track = load_track(track)
    except TrackError:  # no shared data: the project's own track
        camera_track = load_track(DEFAULT_TRACK_NAME)
    result["camera"] = camera_rates(camera_track, sizes.camera_cars, sizes.camera_calls,
                                    sizes.camera_repeats)
    if not skip_train:
        result["ppo_learn_steps_per_s"] = ppo_rate(sizes.ppo_timesteps)
        try:
            result["time_to_3_of_3_laps"] = time_to_laps(resolve_track_path(track))
        except TrackError as exc:
            result["time_to_3_of_3_laps"] = f"skipped: {exc}"
    return result
