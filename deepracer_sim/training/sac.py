"""SAC (stable-baselines3) for continuous action spaces, as DeepRacer-on-AWS offers it
(``training_algorithm: "sac"`` in ``model_metadata.json``).

Training runs through the same loop, run folder, checkpoints, evaluation and export as PPO
(:mod:`deepracer_sim.training.ppo`); only the model differs. An iteration is ``n_steps`` steps of
each of the ``n_envs`` cars into the replay buffer, then one gradient step per collected step
(the simapp's trainer: ``training_worker.py:132-160``, aws-deepracer-community/
deepracer-simapp@01f5f015). The hyperparameter mapping is
:func:`~deepracer_sim.formats.hyperparameters.sac_kwargs` (docs/hyperparameters.md).

Networks: the policy (actor) has ``cfg.net_arch`` hidden layers; the twin Q networks have
[256, 256], the simapp's SAC Q head (``multi_agent_coach/architectures/head_parameters.py``);
Adam with epsilon 1e-5 as the simapp's. The replay buffer holds up to 1,000,000 transitions (the
simapp's ``ExperienceReplayParameters``), fewer when the whole run is shorter.
"""

from __future__ import annotations

import torch
from stable_baselines3 import SAC

from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.errors import CheckpointError
from deepracer_sim.formats.hyperparameters import sac_kwargs
from deepracer_sim.training.config import TrainConfig

#: Hidden layers of SAC's twin Q networks.
SAC_Q_ARCH = (256, 256)
#: The simapp's replay memory, transitions.
REPLAY_SIZE = 1_000_000


def make_sac_model(cfg: TrainConfig, env: DeepRacerVecEnv, hp: dict) -> SAC:
    """The stable-baselines3 SAC model of ``cfg`` and the DeepRacer hyperparameters ``hp``
    (CPU, one torch thread).

    Raises:
        CheckpointError: ``cfg.init_from`` is set (SAC runs cannot be cloned yet).
    """
    if cfg.init_from is not None:
        raise CheckpointError(f"{cfg.init_from}: SAC runs cannot start from a checkpoint yet; "
                              "train without --clone")
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(1)
    buffer = min(REPLAY_SIZE, max(cfg.timesteps, cfg.n_envs * cfg.n_steps))
    return SAC("MlpPolicy", env, train_freq=(cfg.n_steps, "step"), buffer_size=buffer,
               seed=cfg.seed, device="cpu", verbose=0,
               policy_kwargs={"net_arch": {"pi": list(cfg.net_arch), "qf": list(SAC_Q_ARCH)},
                              "optimizer_kwargs": {"eps": 1e-5}},
               **sac_kwargs(hp))
