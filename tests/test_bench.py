"""The benchmark's measurements run (small sizes; the numbers themselves are not asserted)."""

from __future__ import annotations

from deepracer_sim.bench import rates as bench


def test_kernel_and_vec_env_measurements_run() -> None:
    assert bench.kernel_rate(n=8, calls=50) > 0
    rates = bench.vec_env_rates(sizes=(1, 4), steps=400)
    assert set(rates) == {"1", "4"} and all(r > 0 for r in rates.values())


def test_single_env_measurement_runs() -> None:
    r = bench.single_env_rates(n=2000)
    assert r["ratio"] == r["deepracer_steps_per_s"] / r["cartpole_steps_per_s"]
