"""deepracer-sim: a local, Gymnasium-compatible AWS DeepRacer simulator with PPO training.

Public API:

* :func:`load_track` - a DeepRacer track by name or ``.npy`` path;
* :func:`reward_params` - the exact params dict DeepRacer's simapp builds at a pose;
* :class:`DeepRacerEnv` - the Gymnasium env, registered as ``DeepRacer-v0`` on import
  (``gym.make_vec("DeepRacer-v0", num_envs=N)`` gives the batched :class:`DeepRacerVectorEnv`);
* :class:`DeepRacerSimError` - the base of every input error.

The package's rooms, lowest first (a room imports only from rooms below it): ``constants`` and
``errors``; ``track``; ``sim``; ``formats``; ``reward``; ``viewer``; ``envs``; ``training``;
``logs``; ``export``, ``raceline``, ``fidelity``, ``reward_lab``, ``bench``; ``cli``.
"""

from __future__ import annotations

from deepracer_sim import _numba_cache  # noqa: F401  (before any kernel module)
from deepracer_sim.envs import DeepRacerEnv, register_envs
from deepracer_sim.errors import DeepRacerSimError, RewardFunctionError, TrackError
from deepracer_sim.formats.model_metadata import (
    ActionSpace,
    discrete_action_space,
    read_model_metadata,
)
from deepracer_sim.reward import load_reward_function
from deepracer_sim.sim.params import PARAM_KEYS, reward_params
from deepracer_sim.track import Track, load_track

__version__ = "0.2.0"

__all__ = [
    "PARAM_KEYS",
    "ActionSpace",
    "DeepRacerEnv",
    "DeepRacerSimError",
    "RewardFunctionError",
    "Track",
    "TrackError",
    "discrete_action_space",
    "load_reward_function",
    "load_track",
    "read_model_metadata",
    "reward_params",
]

register_envs()
