"""The Gymnasium surface: :class:`DeepRacerEnv` (one car), the stable-baselines3
:class:`~deepracer_sim.envs.vec_env.DeepRacerVecEnv` and Gymnasium's native batched vector env
(N cars, one kernel call), all built by one construction path."""

from __future__ import annotations

import gymnasium as gym

from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.envs.vector import DeepRacerVectorEnv

ENV_ID = "DeepRacer-v0"


def register_envs() -> None:
    """Register ``DeepRacer-v0`` with Gymnasium (idempotent): ``gym.make`` gives
    :class:`DeepRacerEnv`, ``gym.make_vec`` the batched :class:`DeepRacerVectorEnv`."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="deepracer_sim.envs.env:DeepRacerEnv",
                     vector_entry_point="deepracer_sim.envs.vector:DeepRacerVectorEnv")


__all__ = ["ENV_ID", "DeepRacerEnv", "DeepRacerVectorEnv", "register_envs"]
