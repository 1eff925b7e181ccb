"""The sweep spec: the issue's smallest spec as written, keys from the train command's own
parser, the trial list and names, and errors that name the key and the fix."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.cli import build_parser
from deepracer_sim.cli import train as train_cli
from deepracer_sim.cli.sweep import train_factory
from deepracer_sim.errors import SweepSpecError
from deepracer_sim.sweep.spec import (
    SWEEP_OWNED,
    Distribution,
    EarlyStopping,
    SpecParser,
    TrainOptions,
    grid_trials,
    load_spec,
    planned_trials,
    random_trials,
    sample,
    trial_name,
)
from deepracer_sim.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
SMALLEST = """\
track: reinvent_base
timesteps: 20000
grid:
  reward: [rewards/center.py, rewards/speed.py]
  seed: [0, 1]
"""


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch) -> Path:
    """A racer's folder (rewards/ beside the spec), the current directory."""
    (tmp_path / "rewards").mkdir()
    for name in ("center.py", "speed.py"):
        shutil.copyfile(ROOT / "rewards" / name, tmp_path / "rewards" / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


OPTIONS = train_factory().options


def spec_of(text: str, workdir: Path):
    (workdir / "sweep.yaml").write_text(text)
    return load_spec(workdir / "sweep.yaml", OPTIONS)


def test_the_smallest_spec_works_as_written(workdir: Path) -> None:
    spec = spec_of(SMALLEST, workdir)
    assert spec.fixed == {"track": "reinvent_base", "timesteps": 20000}
    trials = grid_trials(spec)
    # 2 rewards x 2 seeds, the last grid key varying fastest
    assert [t.name for t in trials] == ["000-reward=center-seed=0", "001-reward=center-seed=1",
                                        "002-reward=speed-seed=0", "003-reward=speed-seed=1"]
    # relative paths resolve against the directory the command runs in
    assert trials[2].params == {"track": "reinvent_base", "timesteps": 20000,
                                "reward": str(workdir / "rewards" / "speed.py"), "seed": 0}
    assert planned_trials(spec) == trials


def test_the_keys_are_the_train_commands_options() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    train_dests = {a.dest for a in sub.choices["train"]._actions if a.dest != "help"}
    assert set(OPTIONS.options) == train_dests - set(SWEEP_OWNED)
    # the defaults are the command's (TrainConfig's), not a second list
    assert OPTIONS.defaults["timesteps"] == TrainConfig.timesteps
    assert OPTIONS.defaults["n_envs"] == TrainConfig.n_envs
    assert OPTIONS.options["reward"].required and OPTIONS.options["reward"].kind == "path"
    assert OPTIONS.options["stop_when_complete"].kind == "flag"
    assert OPTIONS.options["max_speed"].kind == "float"
    # an option added to the train command is a spec key with nothing else to change
    p = argparse.ArgumentParser()
    train_cli.add_arguments(p)
    p.add_argument("--new-knob", type=int, default=3, help="a new option")
    options = TrainOptions.from_parser(p)
    assert options.options["new_knob"].default == 3
    assert SpecParser(options, "s.yaml", ROOT).parse(
        {"reward": "rewards/center.py", "new-knob": 5}).fixed["new_knob"] == 5


def test_dashes_flags_and_hyperparameters(workdir: Path) -> None:
    spec = spec_of("reward: rewards/center.py\nn-envs: 8\nlr: 0.001\nstop-when-complete: true\n"
                   "grid:\n  max-speed: [1, 2.5]\n  batch_size: [64, 128]\n", workdir)
    assert spec.fixed == {"reward": str(workdir / "rewards" / "center.py"), "n_envs": 8,
                          "lr": 0.001, "stop_when_complete": True}
    assert spec.grid == {"max_speed": [1.0, 2.5], "batch_size": [64, 128]}
    assert [t.name for t in grid_trials(spec)] == [
        "000-max_speed=1-batch_size=64", "001-max_speed=1-batch_size=128",
        "002-max_speed=2.5-batch_size=64", "003-max_speed=2.5-batch_size=128"]


def test_seconds_is_a_fixed_key_or_an_axis_mapped_to_train_seconds(workdir: Path) -> None:
    spec = spec_of("reward: rewards/center.py\nseconds: 90\n", workdir)
    assert spec.fixed["seconds"] == 90.0 and isinstance(spec.fixed["seconds"], float)
    spec = spec_of("reward: rewards/center.py\ntimesteps: 50000\n"
                   "grid:\n  seconds: [30, 60.5]\n", workdir)
    trials = grid_trials(spec)
    assert [t.name for t in trials] == ["000-seconds=30", "001-seconds=60.5"]
    factory = train_factory()
    configs = [factory.config(t.params, workdir / t.name, workdir) for t in trials]
    assert [(c.seconds, c.timesteps) for c in configs] == [(30.0, 50000), (60.5, 50000)]
    # without the key a trial has no budget, as `deepracer-sim train` without --seconds
    assert factory.config({"reward": str(workdir / "rewards" / "center.py")},
                          workdir / "run", workdir).seconds is None


def test_early_stopping_is_asha(workdir: Path) -> None:
    search = "search:\n  samples: 4\n  space: {lr: {loguniform: [1.0e-5, 1.0e-3]}}\n"
    spec = spec_of(f"reward: rewards/center.py\n{search}  early_stopping: asha\n", workdir)
    assert spec.search is not None and spec.search.early_stopping == EarlyStopping("asha", 4, 3)
    other = spec_of(f"reward: rewards/center.py\n{search}  early_stopping: {{method: asha, "
                    "grace_period: 2, reduction_factor: 2}\n", workdir)
    assert other.search is not None
    assert other.search.early_stopping == EarlyStopping("asha", 2, 2)
    assert other.fingerprint() != spec.fingerprint()
    assert spec_of(f"reward: rewards/center.py\n{search}", workdir).search.early_stopping is None


def test_a_trial_config_is_the_train_commands(workdir: Path) -> None:
    """The same options through the sweep and through `deepracer-sim train` give the same
    TrainConfig; inline hyperparameters are merged over the defaults."""
    factory = train_factory()
    params = {"reward": str(workdir / "rewards" / "speed.py"), "max_speed": 2.0,
              "speed_levels": 3, "timesteps": 4096, "seed": 3, "alternate_direction": True,
              "lr": 0.001, "num_epochs": 3}
    cfg = factory.config(params, workdir / "run", workdir)
    args = build_parser().parse_args([
        "train", "--reward", params["reward"], "--max-speed", "2", "--speed-levels", "3",
        "--timesteps", "4096", "--seed", "3", "--alternate-direction", "--out",
        str(workdir / "run")])
    ref = train_cli.build_config(args)
    for name in ("reward", "track", "version", "timesteps", "n_envs", "n_steps", "seed",
                 "alternate_direction", "reverse_direction", "out", "stop_when_complete"):
        assert getattr(cfg, name) == getattr(ref, name), name
    assert np.array_equal(cfg.action_space.speed, ref.action_space.speed)  # 2/3, 4/3, 2 m/s
    assert len(cfg.action_space) == 15
    hp = json.loads(Path(cfg.hyperparameters).read_text())
    # the two inline keys over train's defaults (batch_size 256, discount_factor 0.99)
    assert (hp["lr"], hp["num_epochs"], hp["batch_size"], hp["discount_factor"]) == \
        (0.001, 3, 256, 0.99)


@pytest.mark.parametrize(("text", "words"), [
    ("reward: rewards/center.py\nlearning_rate: 0.1\n", ["learning_rate", "unknown key", "lr"]),
    ("reward: rewards/center.py\nn_env: 4\n", ["n_env", "did you mean n_envs"]),
    ("reward: rewards/center.py\nout: runs/x\n", ["out", "--out to the sweep command"]),
    ("reward: rewards/center.py\nrender: true\n", ["render", "evaluate RUN --render"]),
    ("reward: rewards/center.py\nseconds: 0\n", ["seconds", "out of range", "> 0",
                                                 "--seconds"]),
    ("reward: rewards/center.py\ngrid:\n  seconds: [30, inf]\n", ["grid.seconds[1]",
                                                                   "expected a number"]),
    ("reward: rewards/center.py\ngrid:\n  seed: 3\n", ["grid.seed", "non-empty list"]),
    ("reward: rewards/center.py\ngrid:\n  seed: [0, 0]\n", ["grid.seed", "repeated"]),
    ("reward: rewards/nope.py\n", ["reward", "nope.py does not exist", "relative paths"]),
    ("grid:\n  seed: [0, 1]\n", ["reward: missing", "reward: a.py"]),
    ("reward: rewards/center.py\ntimesteps: 1.5\n", ["timesteps", "expected an integer"]),
    ("reward: rewards/center.py\ngrid:\n  seed: [0, -1]\n", ["grid.seed[1]", "out of range",
                                                           "from 0 to 4294967295", "--seed"]),
    ("reward: rewards/center.py\nn_envs: 0\n", ["n_envs", "out of range", "--n-envs"]),
    ("reward: rewards/center.py\nversion: 40\n", ["version", "--version"]),
    ("reward: rewards/center.py\nalternate_direction: 1\n", ["alternate_direction",
                                                              "true or false"]),
    ("reward: rewards/center.py\nlr: 2.0\n", ["lr", "outside", "in that range"]),
    ("reward: rewards/center.py\ntrack: tracks/none.npy\n", ["track", "none.npy does not "
                                                              "exist"]),
    ("reward: rewards/center.py\nseed: 1\ngrid:\n  seed: [0, 1]\n", ["seed", "both a fixed key "
                                                                     "and an axis"]),
    ("reward: rewards/center.py\ngrid: {seed: [0]}\nsearch: {samples: 2, space: "
     "{lr: {uniform: [0.1, 0.2]}}}\n", ["either grid or search", "choice"]),
    ("reward: rewards/center.py\nsearch: {method: grid, samples: 2, space: "
     "{lr: {uniform: [0.1, 0.2]}}}\n", ["search.method", "random, optuna"]),
    ("reward: rewards/center.py\nsearch: {samples: 0, space: {lr: {uniform: [0.1, 0.2]}}}\n",
     ["search.samples", ">= 1"]),
    ("reward: rewards/center.py\nsearch: {samples: 2, space: {beta_entropy: {loguniform: [0, "
     "0.1]}}}\n", ["search.space.beta_entropy.loguniform", "low > 0"]),
    ("reward: rewards/center.py\nsearch: {samples: 2, space: {lr: {normal: [0, 1]}}}\n",
     ["search.space.lr.normal", "uniform, loguniform, randint, choice"]),
    ("reward: rewards/center.py\nsearch: {samples: 2, space: {track: {uniform: [0, 1]}}}\n",
     ["search.space.track.uniform", "{choice: [...]}"]),
    ("reward: rewards/center.py\nsearch: {samples: 2, space: {lr: {randint: [1, 2]}}}\n",
     ["search.space.lr.randint", "lr is not an integer"]),
    ("reward: rewards/center.py\nsearch: {samples: 2, metric: lap, space: "
     "{lr: {uniform: [0.1, 0.2]}}}\n", ["search.metric", "best_score"]),
    ("reward: rewards/center.py\nsearch: {samples: 2, space: {lr: {uniform: [0.1, 0.2]}}, "
     "early_stopping: {grace_steps: 8000}}\n", ["search.early_stopping", "grace_steps",
                                                  "{method: asha, grace_period: 4"]),
    ("reward: rewards/center.py\nsearch: {samples: 2, space: {lr: {uniform: [0.1, 0.2]}}, "
     "early_stopping: {grace_period: 0}}\n", ["search.early_stopping.grace_period", ">= 1"]),
    ("reward: [unclosed\n", ["sweep.yaml:2", "invalid YAML"]),
    ("- reward\n", ["expected a mapping", "grid:"]),
])
def test_errors_name_the_key_and_the_fix(workdir: Path, text: str, words: list[str]) -> None:
    with pytest.raises(SweepSpecError) as err:
        spec_of(text, workdir)
    for word in words:
        assert word in str(err.value)


def test_a_missing_spec_file_shows_one_that_works(tmp_path: Path) -> None:
    with pytest.raises(SweepSpecError, match="grid:"):
        load_spec(tmp_path / "none.yaml", OPTIONS)


def test_search_section(workdir: Path) -> None:
    spec = spec_of("timesteps: 40000\nsearch:\n  method: optuna\n"
                   "  samples: 8\n  space:\n    lr: {loguniform: [1.0e-5, 1.0e-3]}\n"
                   "    num_epochs: {randint: [3, 10]}\n"
                   "    reward: {choice: [rewards/center.py, rewards/speed.py]}\n", workdir)
    s = spec.search
    assert s is not None and (s.method, s.samples, s.metric, s.mode, s.seed) == \
        ("optuna", 8, "best_score", "max", 0)
    assert s.space["lr"] == Distribution("loguniform", (1e-5, 1e-3))
    assert s.space["num_epochs"] == Distribution("randint", (3, 10))
    assert s.space["reward"].args[1] == str(workdir / "rewards" / "speed.py")
    assert spec.axes == ["lr", "num_epochs", "reward"]
    assert planned_trials(spec) is None  # optuna proposes its trials while it runs
    # a lap-time metric is minimised unless told otherwise
    parsed = SpecParser(OPTIONS, "x", workdir).parse({"reward": "rewards/center.py", "search": {
        "samples": 1, "metric": "best_eval_lap_time", "space": {"seed": {"randint": [0, 9]}}}})
    assert parsed.search is not None and parsed.search.mode == "min"


def test_random_trials_are_a_function_of_the_spec(workdir: Path) -> None:
    text = ("reward: rewards/center.py\nsearch:\n  samples: 5\n  seed: 7\n  space:\n"
            "    lr: {loguniform: [1.0e-5, 1.0e-3]}\n    num_epochs: {randint: [3, 4]}\n")
    a, b = random_trials(spec_of(text, workdir)), random_trials(spec_of(text, workdir))
    assert [t.params for t in a] == [t.params for t in b]  # a resume sees the same trials
    assert [t.name[:4] for t in a] == ["000-", "001-", "002-", "003-", "004-"]
    for t in a:
        assert 1e-5 <= t.params["lr"] <= 1e-3 and t.params["num_epochs"] in (3, 4)
    other = random_trials(spec_of(text.replace("seed: 7", "seed: 8"), workdir))
    assert [t.params for t in other] != [t.params for t in a]


def test_sample_distributions() -> None:
    rng = np.random.default_rng(0)
    logs = [sample(Distribution("loguniform", (1e-4, 1e-2)), rng) for _ in range(4000)]
    # log-uniform: the median is the geometric mean of the bounds, 1e-3 (the arithmetic
    # midpoint would be 5e-3)
    assert 0.8e-3 < float(np.median(logs)) < 1.25e-3
    assert {sample(Distribution("randint", (3, 5)), rng) for _ in range(200)} == {3, 4, 5}
    assert {sample(Distribution("choice", ("a", "b")), rng) for _ in range(50)} == {"a", "b"}


def test_trial_names() -> None:
    assert trial_name(7, {"reward": "/a/b/speed.py", "lr": 0.000123456, "track": "x y"}) == \
        "007-reward=speed-lr=0.0001235-track=x_y"
    assert len(trial_name(1, {"reward": "r" * 300})) == 100
    assert trial_name(12, {}, width=4) == "0012"
