"""The benchmark runs every measured item and reports it in the shape the command prints
(a tiny run; the rates themselves depend on the machine and are not asserted)."""

from __future__ import annotations

import json
import math

import torch

from deepracer_sim.bench import rates as bench


def test_tiny_benchmark_reports_each_item_as_a_positive_finite_rate() -> None:
    threads = torch.get_num_threads()
    try:
        result = bench.run_benchmark(skip_train=True, sizes=bench.TINY)
    finally:
        torch.set_num_threads(threads)  # run_benchmark pins torch to one thread
    assert set(result) == {"machine", "startup_s", "single_env", "vec_env_steps_per_s",
                           "vector_env_steps_per_s", "kernel_car_steps_per_s",
                           "kernel_car_steps_per_s_by_physics",
                           "kernel_car_steps_per_s_by_objects", "camera"}
    assert set(result["kernel_car_steps_per_s_by_physics"]) == {"v4", "v5", "v6"}
    assert set(result["kernel_car_steps_per_s_by_objects"]) == set(bench.OBJECT_LAYOUTS)
    assert result["startup_s"] is None  # not measured in a tiny run
    assert set(result["single_env"]) == {"deepracer_steps_per_s", "cartpole_steps_per_s",
                                         "ratio"}
    assert set(result["vec_env_steps_per_s"]) == {"1", "4"}
    assert set(result["vector_env_steps_per_s"]) == {"4"}
    rates = [result["kernel_car_steps_per_s"],
             *result["kernel_car_steps_per_s_by_physics"].values(), *result["single_env"].values(),
             *result["kernel_car_steps_per_s_by_objects"].values(),
             *result["vec_env_steps_per_s"].values(), *result["vector_env_steps_per_s"].values(),
             *(r for pair in result["camera"]["frames_per_s"].values() for r in pair)]
    assert set(result["camera"]["frames_per_s"]) == {"N=2 dr=off", "N=2 dr=on"}
    assert all(isinstance(r, float) and math.isfinite(r) and r > 0 for r in rates)
    json.dumps(result)  # --json prints it as is
