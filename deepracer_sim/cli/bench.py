"""The benchmark: start-up time, env steps/s (single, SB3 vectorised, Gymnasium vector), the
batched kernel's car-steps/s, the camera's frames/s, PPO's learning rate and the time to a
3/3-lap model.

    deepracer-sim bench [--track NAME|PATH] [--json] [--skip-train]
"""

from __future__ import annotations

import argparse
import json

from deepracer_sim.bench.rates import DEFAULT_TRACK, run_benchmark

HELP = ("measure the simulator's speed (steps/s, kernel car-steps/s, camera frames/s, time to "
        "a lap)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``deepracer-sim bench``."""
    p.add_argument("--track", default=DEFAULT_TRACK,
                   help="track name or .npy path of the time-to-3/3-laps run (item 5) and of the "
                        "camera frames/s (item 6)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--skip-train", action="store_true",
                   help="skip the PPO and time-to-laps items")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; print a table or one JSON object."""
    result = run_benchmark(args.track, skip_train=args.skip_train)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    s = result["single_env"]
    print(f"machine: {result['machine']}")
    if result["startup_s"] is not None:
        print(f"start-up (import to first step): cold {result['startup_s']['cold']:.2f} s, "
              f"warm {result['startup_s']['warm']:.2f} s")
    print(f"1. gym.make DeepRacer-v0 + center.py: {s['deepracer_steps_per_s']:,.0f} steps/s; "
          f"CartPole-v1: {s['cartpole_steps_per_s']:,.0f} steps/s")
    for n, r in result["vec_env_steps_per_s"].items():
        print(f"2. DeepRacerVecEnv N={n:>3} + center.py: {r:,.0f} steps/s")
    for n, r in result["vector_env_steps_per_s"].items():
        print(f"2b. gym.make_vec DeepRacer-v0 N={n:>3}, built-in reward: {r:,.0f} steps/s")
    print(f"3. batched kernel alone (N=256): {result['kernel_car_steps_per_s']:,.0f} car-steps/s"
          " of CPU time (v6 car; by physics: " + ", ".join(
              f"{g} {r:,.0f}" for g, r in result["kernel_car_steps_per_s_by_physics"].items())
          + ")")
    for name, r in result["kernel_car_steps_per_s_by_objects"].items():
        print(f"3b. batched kernel with {name} per car (N=256): {r:,.0f} car-steps/s")
    if not args.skip_train:
        print(f"4. PPO learn(): {result['ppo_learn_steps_per_s']:,.0f} env steps/s")
        t = result["time_to_3_of_3_laps"]
        if isinstance(t, dict) and t.get("seconds_to_3_of_3") is not None:
            print(f"5. train to a 3/3-lap model on {t['track']}: {t['seconds_to_3_of_3']:.1f} s "
                  f"({t['steps']} steps, lap {t['lap_time']:.2f} s), peak RSS "
                  f"{t['peak_rss_mb']:.0f} MB")
        else:
            print(f"5. train to a 3/3-lap model: {t}")
    cam = result["camera"]
    for key, (wall, cpu) in cam["frames_per_s"].items():
        print(f"6. camera 160x120, one core, {cam['track']} {key}: {wall:,.0f} frames/s "
              f"(wall clock), {cpu:,.0f} frames/s of CPU time")
    return 0
