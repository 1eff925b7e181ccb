"""deepracer-sim: a local, Gymnasium-compatible AWS DeepRacer simulator with PPO training.

Public API:

* :func:`load_track` - a DeepRacer track by name or ``.npy`` path;
* :func:`reward_params` - the exact params dict DeepRacer's simapp builds at a pose;
* :class:`DeepRacerEnv` - the Gymnasium env, registered as ``DeepRacer-v0`` on import.
"""

from __future__ import annotations

import gymnasium as gym

from . import _numba_cache  # noqa: F401  (before any kernel module)
from .action_space import ActionSpace, discrete_action_space, read_model_metadata
from .env import DeepRacerEnv
from .params import PARAM_KEYS, reward_params
from .reward import RewardFunctionError, load_reward_function
from .track import Track, TrackError, load_track

__version__ = "0.1.0"

__all__ = [
    "PARAM_KEYS",
    "ActionSpace",
    "DeepRacerEnv",
    "RewardFunctionError",
    "Track",
    "TrackError",
    "discrete_action_space",
    "load_reward_function",
    "load_track",
    "read_model_metadata",
    "reward_params",
]

if "DeepRacer-v0" not in gym.registry:
    gym.register(id="DeepRacer-v0", entry_point="deepracer_sim.env:DeepRacerEnv")
