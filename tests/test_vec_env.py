"""DeepRacerVecEnv against DeepRacerEnv: same seed and actions -> the same DeepRacer steps."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.vec_env import VecEnv

from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.envs.vec_env import DeepRacerVecEnv


def _record_reward(calls: list):
    def reward_function(params: dict) -> float:
        calls.append(params)
        return 1.0 + params["progress"] / 100.0 - params["distance_from_center"]
    return reward_function


@pytest.mark.parametrize("n", [1, 4])
def test_vec_env_matches_single_envs_step_for_step(n: int) -> None:
    vec_calls: list = []
    vec = DeepRacerVecEnv(n, reward_function=_record_reward(vec_calls), max_steps=120)
    assert isinstance(vec, VecEnv)
    singles = []
    single_calls: list[list] = []
    for i in range(n):
        calls: list = []
        single_calls.append(calls)
        # car i of the vec env starts i/n of a lap ahead
        singles.append(DeepRacerEnv(reward_function=_record_reward(calls), max_steps=120,
                                    start_position=i / n))
    obs_v = vec.reset()
    obs_s = [env.reset(seed=0)[0] for env in singles]
    np.testing.assert_array_equal(obs_v, np.stack(obs_s))
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(400):
        actions = rng.integers(0, 10, size=n)
        obs_v, rew_v, done_v, info_v = vec.step(actions)
        for i, env in enumerate(singles):
            before = len(single_calls[i])
            obs, rew, term, trunc, info = env.step(actions[i])
            assert rew_v[i] == rew
            assert done_v[i] == (term or trunc)
            if len(single_calls[i]) > before:
                params = single_calls[i][-1]
                assert params in vec_calls  # the same dict contents were passed
            if term or trunc:
                ends += 1
                assert info_v[i]["episode_status"] == info["episode_status"]
                assert info_v[i]["TimeLimit.truncated"] == trunc
                np.testing.assert_array_equal(info_v[i]["terminal_observation"], obs)
                obs, _ = env.reset()
            np.testing.assert_array_equal(obs_v[i], obs)
    assert ends > n  # episodes ended and auto-reset several times
    assert len(vec_calls) == sum(len(c) for c in single_calls)


def test_vec_env_starts_tile_the_lap() -> None:
    vec = DeepRacerVecEnv(4, max_steps=50)
    vec.reset()
    from deepracer_sim.sim import layout

    np.testing.assert_allclose(vec.sim.s[:, layout.S_START_NDIST], [0.0, 0.25, 0.5, 0.75])
