"""A tiny sweep on an embedded local Ray (2 trials of 2,048 steps, 2 workers), then a resume
that runs only the unfinished trial, then a rerun that runs nothing, then the comparison."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
from pathlib import Path

import pytest
import ray
from ray import cloudpickle

from deepracer_sim.cli.sweep import train_factory
from deepracer_sim.errors import SweepError
from deepracer_sim.formats.run_folder import SWEEP_RESULTS, SWEEP_TRIAL_MARKER
from deepracer_sim.sweep.cluster import init_ray
from deepracer_sim.sweep.compare import compare_runs
from deepracer_sim.sweep.folder import run_folders
from deepracer_sim.sweep.runner import run_sweep
from deepracer_sim.sweep.spec import load_spec
from deepracer_sim.sweep.trial import TrialOutcome, is_finished, read_marker
from deepracer_sim.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
# 2 iterations of 8 cars x 128 steps per trial, on the track that ships with the project
SPEC = """\
track: dr_sim_default
timesteps: 2048
n_envs: 8
n_steps: 128
reward: rewards/center.py
grid:
  seed: [0, 1]
"""
NAMES = ["000-seed=0", "001-seed=1"]


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes()
                     + str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def local_ray():
    """One embedded Ray with 2 CPUs for the module (run_sweep keeps a Ray it did not start)."""
    init_ray(2, None, False)
    yield
    ray.shutdown()


def test_tiny_sweep_resume_and_compare(tmp_path: Path, monkeypatch, local_ray) -> None:
    (tmp_path / "rewards").mkdir()
    shutil.copyfile(ROOT / "rewards" / "center.py", tmp_path / "rewards" / "center.py")
    (tmp_path / "sweep.yaml").write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    factory = train_factory()
    spec = load_spec(tmp_path / "sweep.yaml", factory.options)
    out = tmp_path / "sweeps" / "tiny"
    log = io.StringIO()
    result = run_sweep(spec, factory, out, workers=2, stream=log)
    assert sorted(result.finished) == NAMES and not result.errored, log.getvalue()
    assert [p.name for p in run_folders(out)] == NAMES  # exactly one run folder per trial
    for name, seed in zip(NAMES, (0, 1), strict=True):
        marker = read_marker(out / name)
        assert marker["status"] == "completed" and marker["steps"] == 2048
        assert marker["params"]["seed"] == seed and marker["evaluation"]["laps"] == 5
        # the train command's run folder: 2 iterations of 8 x 128 steps
        ckpt = json.loads((out / name / "model" / "deepracer_checkpoints.json").read_text())
        assert ckpt["last_checkpoint"]["name"] == "2_Step-2048.zip"  # after the 2nd update
        assert json.loads((out / name / "run_config.json").read_text())["seed"] == seed
    assert (out / SWEEP_RESULTS).read_text().count("\n") == 3  # header + 2 trials
    assert "000-seed=0: finished" in log.getvalue()

    # 001 becomes unfinished (killed before its marker, a file of the dead attempt left)
    (out / NAMES[1] / SWEEP_TRIAL_MARKER).unlink()
    (out / NAMES[1] / "left-by-the-killed-attempt.txt").write_text("x")
    before = digest(out / NAMES[0])
    again = run_sweep(spec, factory, out, workers=2, stream=log)
    assert again.skipped == [NAMES[0]] and again.finished == [NAMES[1]], log.getvalue()
    assert digest(out / NAMES[0]) == before  # bytes and modification times untouched
    assert is_finished(out / NAMES[1])
    assert not (out / NAMES[1] / "left-by-the-killed-attempt.txt").exists()

    third = run_sweep(spec, factory, out, workers=2, stream=log)  # finished: nothing runs
    assert sorted(third.skipped) == NAMES and third.finished == [] and not third.interrupted

    comparison = compare_runs([out])
    assert sorted(r.name for r in comparison.rows) == NAMES
    assert comparison.varied[0] == "seed"
    for row in comparison.to_json():
        assert row["evaluation"].startswith("evaluation-")  # the trial's final evaluation
        assert 0.0 <= row["completion_rate"] <= 1.0 and row["laps"] == 5


def test_ray_client_addresses_say_what_to_use(tmp_path: Path) -> None:
    factory = train_factory()
    (tmp_path / "s.yaml").write_text(f"reward: {ROOT / 'rewards' / 'center.py'}\n")
    spec = load_spec(tmp_path / "s.yaml", factory.options)
    with pytest.raises(SweepError, match="--address auto"):
        run_sweep(spec, factory, tmp_path / "out", address="ray://head:10001")
    assert not (tmp_path / "out").exists()


def fake_work(cfg: TrainConfig, report, holdout=()) -> TrialOutcome:
    """A trial that only reports a score: 1000 x its learning rate."""
    hp = json.loads(Path(cfg.hyperparameters).read_text())
    Path(cfg.out).mkdir(parents=True)
    metrics = {"steps": cfg.timesteps, "best_score": 1000.0 * hp["lr"]}
    report(metrics)
    return TrialOutcome("completed", cfg.timesteps, 0.0, 0.0, metrics, {})


def test_optuna_search_resumes_under_the_old_names(tmp_path: Path, monkeypatch,
                                                   local_ray) -> None:
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # fake_work to the workers
    (tmp_path / "opt.yaml").write_text(
        f"reward: {ROOT / 'rewards' / 'center.py'}\nsearch:\n  method: optuna\n  samples: 3\n"
        "  space:\n    lr: {loguniform: [1.0e-4, 1.0e-3]}\n")
    factory = train_factory()
    spec = load_spec(tmp_path / "opt.yaml", factory.options)
    out = tmp_path / "opt"
    log = io.StringIO()
    first = run_sweep(spec, factory, out, workers=2, stream=log, work=fake_work)
    names = sorted(first.finished)
    assert [n[:4] for n in names] == ["000-", "001-", "002-"], log.getvalue()
    for name in names:  # the name shows the point optuna proposed, the marker its score
        lr = read_marker(out / name)["params"]["lr"]
        assert name.endswith(f"lr={lr:.4g}") and 1e-4 <= lr <= 1e-3
    (out / names[1] / SWEEP_TRIAL_MARKER).unlink()
    again = run_sweep(spec, factory, out, workers=2, stream=log, work=fake_work)
    # the unfinished point runs again under its own name; no new trial is proposed
    assert again.finished == [names[1]] and sorted(again.skipped) == [names[0], names[2]]
    assert [p.name for p in run_folders(out)] == names


def test_the_dashboard_says_what_to_install(tmp_path: Path) -> None:
    pytest.importorskip("ray.dashboard")
    try:
        import ray.dashboard.optional_deps  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("Ray's dashboard packages are installed here")
    factory = train_factory()
    (tmp_path / "s.yaml").write_text(f"reward: {ROOT / 'rewards' / 'center.py'}\n")
    spec = load_spec(tmp_path / "s.yaml", factory.options)
    with pytest.raises(SweepError, match=r"deepracer-sim\[dashboard\]"):
        run_sweep(spec, factory, tmp_path / "out", dashboard=True)
    assert not (tmp_path / "out").exists()  # refused before anything is written


def asha_work(cfg: TrainConfig, report, holdout=()) -> TrialOutcome:
    """A trial of up to 8 iterations of 100 steps reporting the score 1000 x its learning rate,
    which stops after the iteration whose report returns a stop reason (as training's stop
    rule does)."""
    hp = json.loads(Path(cfg.hyperparameters).read_text())
    Path(cfg.out).mkdir(parents=True)
    reason, metrics = None, {}
    for i in range(8):
        metrics = {"steps": 100 * (i + 1), "iteration": i, "best_score": 1000.0 * hp["lr"]}
        reason = report(metrics)
        if reason is not None:
            break
    return TrialOutcome("completed", metrics["steps"], 0.0, 0.0, metrics, {}, reason)


def test_asha_stops_hopeless_trials_which_end_finished(tmp_path: Path, local_ray) -> None:
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # asha_work to the workers
    (tmp_path / "asha.yaml").write_text(
        f"reward: {ROOT / 'rewards' / 'center.py'}\nsearch:\n  samples: 4\n  seed: 0\n"
        "  space:\n    lr: {loguniform: [1.0e-4, 1.0e-3]}\n"
        "  early_stopping: {method: asha, grace_period: 1, reduction_factor: 2}\n")
    factory = train_factory()
    spec = load_spec(tmp_path / "asha.yaml", factory.options)
    out = tmp_path / "asha"
    log = io.StringIO()
    result = run_sweep(spec, factory, out, workers=1, stream=log, work=asha_work)
    # seed 0 draws the learning rates 4.33e-4, 1.86e-4, 1.10e-4, 1.04e-4, one trial after
    # the other: at the first rung (1 iteration) ASHA keeps the top half of the scores seen
    # there (reduction factor 2); the first trial has no rival and runs its 8 iterations,
    # each later one is below the median of those before it (1.86 < 4.33, 1.10 < 3.10,
    # 1.04 < 1.86) and is stopped after its first iteration
    assert sorted(result.finished) == sorted(p.name for p in run_folders(out)), log.getvalue()
    markers = {p.name[:3]: read_marker(p) for p in run_folders(out)}
    assert [(m["steps"], m["stop_reason"]) for _, m in sorted(markers.items())] == [
        (800, None), (100, "stopped early by ASHA"), (100, "stopped early by ASHA"),
        (100, "stopped early by ASHA")]
    assert "finished (stopped early by ASHA)" in log.getvalue()
