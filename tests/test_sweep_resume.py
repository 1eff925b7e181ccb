"""Resume without Ray, with a fake trial: only unfinished trials run again, each in its own
folder; finished trials are never run again or touched; one sweep per folder; a trial waits
for the lock of a worker that outlived its sweep; results.csv ranks as compare does."""

from __future__ import annotations

import hashlib
import io
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deepracer_sim.cli.sweep import train_factory
from deepracer_sim.errors import SweepError
from deepracer_sim.formats.run_folder import SWEEP_RESULTS, SWEEP_TRIAL_MARKER
from deepracer_sim.sweep.folder import (
    check_sweep_folder,
    read_trials,
    sweep_lock,
    trial_lock,
    write_results,
)
from deepracer_sim.sweep.runner import error_line, plan_trials
from deepracer_sim.sweep.spec import load_spec
from deepracer_sim.sweep.table import SweepTable
from deepracer_sim.sweep.trial import (
    TrialOutcome,
    is_finished,
    read_marker,
    run_trial,
    write_marker,
)
from deepracer_sim.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
SPEC = """\
reward: rewards/center.py
timesteps: 2048
grid:
  seed: [0, 1, 2, 3]
"""
FACTORY = train_factory()


class Crash(Exception):
    """The machine dies in the middle of a trial."""


def fake_work(cfg: TrainConfig, report, holdout=()) -> TrialOutcome:
    """A trial that writes two files, the second after reporting; seed 2 crashes between."""
    out = Path(cfg.out)
    out.mkdir(parents=True)
    (out / "first.txt").write_text(f"seed {cfg.seed}")
    if report is not None:
        report({"steps": cfg.timesteps, "seed": cfg.seed})
    (out / "second.txt").write_text(f"seed {cfg.seed}")
    return TrialOutcome("completed", cfg.timesteps, 0.5, 0.5, {"best_score": float(cfg.seed)},
                        {"completion_rate": 1.0, "best_lap_time": 20.0 - cfg.seed,
                         "mean_lap_time": 21.0 - cfg.seed})


def crash_on_seed_2(cfg: TrainConfig, report, holdout=()) -> TrialOutcome:
    def crash(metrics) -> None:
        if metrics["seed"] == 2:
            raise Crash
    return fake_work(cfg, crash)


def digest(folder: Path) -> str:
    """Every file's name, bytes and modification time."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes()
                     + str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


@pytest.fixture()
def sweep(tmp_path: Path, monkeypatch):
    (tmp_path / "rewards").mkdir()
    shutil.copyfile(ROOT / "rewards" / "center.py", tmp_path / "rewards" / "center.py")
    (tmp_path / "sweep.yaml").write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "sweeps" / "s"
    out.mkdir(parents=True)
    return load_spec(tmp_path / "sweep.yaml", FACTORY.options), out


def run_pending(spec, out: Path, work) -> list[str]:
    """A sequential driver: what the Ray runner does with each pending trial."""
    check_sweep_folder(out, spec)
    plan = plan_trials(spec, out)
    ran = []
    for t in plan.pending or []:
        ran.append(t.name)
        run_trial(FACTORY, t.params, out / t.name, work=work)
    return ran


def test_a_crashed_sweep_resumes_only_its_unfinished_trials(sweep) -> None:
    spec, out = sweep
    with pytest.raises(Crash):
        run_pending(spec, out, crash_on_seed_2)
    names = list(read_trials(out))
    assert names == ["000-seed=0", "001-seed=1", "002-seed=2", "003-seed=3"]
    # 000 and 001 finished; 002 died after its first file; 003 never started
    assert [is_finished(out / n) for n in names] == [True, True, False, False]
    assert sorted(p.name for p in (out / names[2]).iterdir()) == ["first.txt"]
    before = {n: digest(out / n) for n in names[:2]}
    assert run_pending(spec, out, fake_work) == names[2:]  # only the unfinished ones
    assert {n: digest(out / n) for n in names[:2]} == before  # bytes and times untouched
    # the crashed trial ran again from scratch in its own folder
    assert sorted(p.name for p in (out / names[2]).iterdir()) == \
        ["first.txt", "second.txt", SWEEP_TRIAL_MARKER]
    marker = read_marker(out / names[2])
    assert marker["status"] == "completed" and marker["params"]["seed"] == 2
    assert run_pending(spec, out, fake_work) == []  # finished: nothing runs


def test_a_finished_trial_is_never_run_again(sweep) -> None:
    spec, out = sweep
    run_pending(spec, out, fake_work)
    before = digest(out / "000-seed=0")
    t = plan_trials(spec, out)
    assert t.skipped == list(read_trials(out)) and t.pending == []
    with pytest.raises(FileExistsError, match="never run again"):
        run_trial(FACTORY, {"reward": "rewards/center.py"}, out / "000-seed=0", work=fake_work)
    assert digest(out / "000-seed=0") == before


def test_an_interrupted_trial_gets_no_marker(sweep) -> None:
    spec, out = sweep

    def interrupted(cfg: TrainConfig, report, holdout=()) -> TrialOutcome:
        Path(cfg.out).mkdir(parents=True)
        return TrialOutcome("interrupted", 1024, 1.0, 1.0)

    check_sweep_folder(out, spec)
    t = plan_trials(spec, out).pending[0]
    assert run_trial(FACTORY, t.params, out / t.name, work=interrupted).status == "interrupted"
    assert not is_finished(out / t.name)


def test_a_folder_takes_one_spec_and_one_sweep_at_a_time(sweep, tmp_path: Path) -> None:
    spec, out = sweep
    (tmp_path / "other.yaml").write_text(SPEC.replace("2048", "4096"))
    other = load_spec(tmp_path / "other.yaml", FACTORY.options)
    check_sweep_folder(out, spec)
    check_sweep_folder(out, other)  # nothing finished yet: a corrected spec replaces it
    check_sweep_folder(out, spec)
    run_trial(FACTORY, plan_trials(spec, out).pending[0].params, out / "000-seed=0",
              work=fake_work)
    check_sweep_folder(out, spec)  # the same spec resumes
    with pytest.raises(SweepError, match="another spec"):
        check_sweep_folder(out, other)
    with sweep_lock(out), pytest.raises(SweepError, match="another sweep is running"), \
            sweep_lock(out):
        pass


HOLDER = """
import fcntl, sys
fh = open(sys.argv[1], "w")
fcntl.lockf(fh, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_trial_waits_for_the_worker_of_a_killed_sweep(tmp_path: Path) -> None:
    """Ray's trial workers outlive a SIGKILL of the sweep by seconds: the restarted trial
    must not delete the folder while the old worker still writes into it."""
    (tmp_path / ".locks").mkdir()
    old = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / ".locks" / "t.lock")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert old.stdout is not None and old.stdout.readline().strip() == "held"
        with pytest.raises(SweepError, match="still locked"), trial_lock(tmp_path, "t", 0.6):
            pass
    finally:
        old.communicate("")  # the old worker exits; the kernel drops its lock
    with trial_lock(tmp_path, "t", 30.0):
        pass


def test_results_are_ranked_as_compare_ranks(tmp_path: Path) -> None:
    for name, rate, mean in (("a", 1.0, 21.0), ("b", 0.6, 15.0), ("c", 1.0, 19.5),
                             ("d", 0.0, None)):
        (tmp_path / name).mkdir()
        write_marker(tmp_path / name, {"status": "completed", "steps": 10,
                                       "evaluation": {"completion_rate": rate,
                                                      "mean_lap_time": mean},
                                       "final": {"best_score": math.inf}})
    (tmp_path / "e").mkdir()  # unfinished: not in the results
    write_results(tmp_path)
    lines = (tmp_path / SWEEP_RESULTS).read_text().splitlines()
    # every lap complete first (c faster than a), then 60 %, then none
    assert [ln.split(",")[0] for ln in lines[1:]] == ["c", "a", "b", "d"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_table_of_trials() -> None:
    log = io.StringIO()
    table = SweepTable(["000-seed=0", "001-seed=1"], 4096, log)
    table.update("000-seed=0", "started", state="RUNNING")
    table.update("000-seed=0", None, steps=2048, eval_progress=40.0, best_eval_progress=55.5,
                 best_lap_time=math.inf, wall=12.3)
    table.update("000-seed=0", "finished", state="FINISHED", steps=4096, best_lap_time=21.25)
    lines = log.getvalue().splitlines()  # into a file: one line per event
    assert lines[0].endswith("000-seed=0: started")
    assert lines[1].endswith("000-seed=0: finished, steps 4096, best eval 55.5%, "
                             "best lap 21.25 s")
    rows = table.lines()
    assert rows[0].startswith("sweep: 1 finished, 1 pending")
    assert rows[2].split() == ["000-seed=0", "FINISHED", "4096/4096", "40.0", "55.5", "21.25",
                               "12"]
    assert rows[3].split() == ["001-seed=1", "PENDING", "-", "-", "-", "-", "-"]
    term = Terminal()
    live = SweepTable(["a"], 10, term)
    live.update("a", "started", state="RUNNING")
    live.update("a", "finished", state="FINISHED")
    # on a terminal the table is redrawn in place: up over its 3 lines, clear, draw again
    assert term.getvalue().count("\x1b[3F\x1b[J") == 1
    assert term.getvalue().splitlines()[-1].split() == ["a", "FINISHED", "-", "-", "-", "-",
                                                         "-"]


def test_the_error_line_of_a_failed_trial() -> None:
    text = ("Traceback (most recent call last):\n  File x\nray.exceptions.RayTaskError("
            "RewardFunctionError): ray::ImplicitFunc.train()\n    raise ValueError('boom')\n"
            "ValueError: boom\n\nThe above exception ...\n"
            "deepracer_sim.errors.RewardFunctionError: r.py:3: reward_function raised "
            "ValueError: boom\n  at step 21 with params: ...\n")
    assert error_line(text) == ("RewardFunctionError: r.py:3: reward_function raised "
                                "ValueError: boom")
