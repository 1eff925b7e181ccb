"""A trial stopped by its scheduler (ASHA) ends through training's own stop rule: after the
iteration whose report returned the stop, with that checkpoint evaluated, its best checkpoint
evaluated again as every finished trial's, and the reason in the outcome."""

from __future__ import annotations

from pathlib import Path

from training_helpers import pointer, small_config

from deepracer_sim.sweep.runner import EARLY_STOP
from deepracer_sim.sweep.trial import train_and_evaluate


def test_a_scheduler_stop_ends_the_trial_after_that_iteration(tmp_path: Path) -> None:
    reports: list[int] = []

    def report(metrics: dict) -> str | None:
        reports.append(metrics["iteration"])
        return EARLY_STOP if metrics["iteration"] == 1 else None

    run = tmp_path / "run"
    outcome = train_and_evaluate(small_config(run, timesteps=2560), report)
    # 2 cars x 64 steps per iteration: iterations 0 and 1 (128, 256 steps), then the stop
    assert reports == [0, 1]
    assert outcome.status == "completed" and outcome.stop_reason == EARLY_STOP
    assert outcome.steps == 256 and outcome.last["iteration"] == 1
    info = pointer(run)
    assert info["last_checkpoint"]["name"] == "2_Step-256.zip"
    assert info["last_checkpoint"]["avg_eval_metric"] is not None  # evaluated as usual
    assert outcome.evaluation["laps"] == 5  # the final evaluation of every finished trial
