"""One reward-file instance per car: a reward that keeps state in its globals sees only its own
car's steps, in training, in-training evaluation and evaluation (as on DeepRacer, where each
rollout worker runs its own car in its own process)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.envs.vector import DeepRacerVectorEnv
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.reward import load_reward_instances, make_reward_callers
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.training.ppo import TrainConfig, train

#: Remembers the previous step; raises if the current one is not its successor on the same car:
#: the step number must follow (a new episode starts at steps 2, the first reward call) and the
#: car cannot move more than 0.5 m in 1/15 s (4 m/s at most: 0.27 m).
STATEFUL = '''\
previous = {"steps": None, "xy": None}


def reward_function(params):
    steps, xy = params["steps"], (params["x"], params["y"])
    if steps != 2:
        last, (px, py) = previous["steps"], previous["xy"]
        jump = ((xy[0] - px) ** 2 + (xy[1] - py) ** 2) ** 0.5
        if last != steps - 1 or jump > 0.5:
            raise ValueError(f"not my previous step: {last} at {previous['xy']}, now {steps} at "
                             f"{xy} ({jump:.2f} m away)")
    previous["steps"], previous["xy"] = steps, xy
    return 1.0
'''

#: Pays 1, 2, 3, ... on the successive calls of one instance.
COUNTING = '''\
calls = [0]


def reward_function(params):
    calls[0] += 1
    return float(calls[0])
'''


@pytest.fixture
def stateful(tmp_path: Path) -> Path:
    path = tmp_path / "stateful.py"
    path.write_text(STATEFUL)
    return path


def test_each_instance_has_its_own_globals(stateful: Path) -> None:
    a, b, c = load_reward_instances(stateful, 3)
    assert a.__globals__ is not b.__globals__ is not c.__globals__
    assert a.__globals__["previous"] is not b.__globals__["previous"]
    callers = make_reward_callers(stateful, 2)
    assert callers[0].fn.__globals__ is not callers[1].fn.__globals__
    assert str(callers[1].source) == str(stateful)
    # a Python callable (and the built-in reward) is one object, shared by the cars
    def fn(params):
        return 1.0
    assert [c.fn for c in make_reward_callers(fn, 3)] == [fn, fn, fn]


@pytest.mark.parametrize("env_class", [DeepRacerVecEnv, DeepRacerVectorEnv])
def test_cars_of_a_vector_env_keep_their_own_state(env_class, stateful: Path) -> None:
    # 4 cars start a quarter of a lap apart: one shared module would see another car's step
    # (metres away) on the second call already
    env = env_class(4, reward_function=stateful, max_steps=60)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(150):  # several episodes per car (max_steps 60), resets included
        actions = rng.integers(0, 10, size=4)
        if env_class is DeepRacerVecEnv:
            env.step_async(actions)
            env.step_wait()
        else:
            env.step(actions)
    assert len(env.reward_callers) == 4


def test_training_and_its_evaluation_keep_per_car_state(stateful: Path, tmp_path: Path) -> None:
    # 4 training cars and 3 in-training evaluation laps from 0, 1/3 and 2/3 of the lap
    cfg = TrainConfig(reward=stateful, track="dr_sim_default",
                      action_space=discrete_action_space(), version=6.0, out=tmp_path / "run",
                      timesteps=1024, n_envs=4, n_steps=128, eval_episodes=3)
    result = train(cfg, progress_bar=False)
    assert result.timesteps == 1024
    assert all(len(s.eval_laps) == 3 for s in result.iterations)


def test_evaluation_laps_have_their_own_instances(tmp_path: Path) -> None:
    reward = tmp_path / "counting.py"
    reward.write_text(COUNTING)
    cfg = TrainConfig(reward=reward, track="dr_sim_default", action_space=discrete_action_space(),
                      version=6.0, out=tmp_path / "run", timesteps=256, n_envs=2, n_steps=128,
                      eval_episodes=0)
    train(cfg, progress_bar=False)
    report = evaluate_run(tmp_path / "run", laps=3, checkpoint="last")
    # the 3 laps are identical (same start, deterministic); each instance pays 1, 2, ..., n
    # over its lap's n reward calls (steps - 1: the PREPARE step calls no reward), so every lap
    # earns n (n + 1) / 2; one shared instance would pay lap k the calls k, k + 3, k + 6, ...
    for lap in report.laps:
        n = lap.steps - 1
        assert lap.reward == n * (n + 1) / 2
