"""DeepRacer's ``hyperparameters.json`` (spec §5) and how it maps onto stable-baselines3 PPO.

=================================  ==========================================================
DeepRacer key                      stable-baselines3 PPO
=================================  ==========================================================
``batch_size``                     ``batch_size`` (minibatch size of each gradient step)
``beta_entropy``                   ``ent_coef``
``discount_factor``                ``gamma``
``lr``                             ``learning_rate`` (Adam, epsilon 1e-5 in both)
``num_epochs``                     ``n_epochs``
``exploration_type``               ``categorical`` = sampling from the policy (SB3's only
                                   mode); ``e-greedy`` is rejected
``term_cond_avg_score``            training stops when the mean training-episode reward of an
                                   iteration reaches it
``term_cond_max_episodes``         training stops after this many training episodes
``num_episodes_between_training``  not mapped: SB3 collects a fixed number of steps per
                                   update (``n_steps`` per car), not of episodes
``loss_type``                      not mapped: SB3's value loss is mean squared error
``e_greedy_value``,                only used by e-greedy exploration
``epsilon_steps``
``stack_size``                     ignored, as by DeepRacer (always 1 frame)
``sac_alpha``                      SAC is not supported
=================================  ==========================================================

DeepRacer's fixed PPO internals match SB3's defaults: clip range 0.2, GAE lambda 0.95,
advantages normalised per minibatch, and separate policy and value networks.

The file holds DeepRacer's keys only, so it goes to the cloud unchanged; the local-only settings
(``n_envs``, ``n_steps``, network size) are ``train.py`` options.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from deepracer_sim.errors import HyperparameterError

#: The simapp's defaults for a missing key (``sagemaker_graph_manager.py``).
DEEPRACER_DEFAULTS: dict[str, object] = {
    "batch_size": 64,
    "beta_entropy": 0.01,
    "discount_factor": 0.999,
    "e_greedy_value": 0.05,
    "epsilon_steps": 10000,
    "exploration_type": "categorical",
    "loss_type": "mean squared error",
    "lr": 0.0003,
    "num_episodes_between_training": 20,
    "num_epochs": 10,
    "stack_size": 1,
    "term_cond_avg_score": 100000.0,
    "term_cond_max_episodes": 100000,
}

#: ``train.py``'s defaults: DeepRacer-on-AWS's UI defaults with a larger minibatch and fewer
#: epochs, which learn as well here in a fraction of the wall time.
TRAIN_DEFAULTS: dict[str, object] = {
    **DEEPRACER_DEFAULTS,
    "batch_size": 256,
    "discount_factor": 0.99,
    "loss_type": "huber",
    "num_epochs": 5,
}

_NUMERIC = {
    "batch_size": (int, 1, 1 << 20),
    "beta_entropy": (float, 0.0, 1.0),
    "discount_factor": (float, 0.0, 1.0),
    "e_greedy_value": (float, 0.0, 1.0),
    "epsilon_steps": (int, 0, 1 << 40),
    "lr": (float, 1e-12, 1.0),
    "num_episodes_between_training": (int, 1, 1 << 20),
    "num_epochs": (int, 1, 10000),
    "stack_size": (int, 1, 64),
    "term_cond_avg_score": (float, -math.inf, math.inf),
    "term_cond_max_episodes": (int, 1, 1 << 40),
    "sac_alpha": (float, 0.0, 1e6),
}
_CHOICES = {
    "exploration_type": ("categorical", "e-greedy"),
    "loss_type": ("mean squared error", "huber"),
}


def validate_hyperparameters(hp: dict, source: str) -> dict:
    """Check DeepRacer hyperparameters and return them with missing keys from
    :data:`TRAIN_DEFAULTS`.

    Raises:
        HyperparameterError: unknown key, wrong type, out-of-range or unsupported value.
    """
    if not isinstance(hp, dict):
        raise HyperparameterError(f"{source}: expected a JSON object of DeepRacer "
                                  "hyperparameters")
    out = dict(TRAIN_DEFAULTS)
    for key, value in hp.items():
        if key in _NUMERIC:
            kind, lo, hi = _NUMERIC[key]
            ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is int and ok_type and float(value).is_integer():
                value = int(value)
            elif kind is int:
                ok_type = False
            if not ok_type or not (lo <= float(value) <= hi):
                raise HyperparameterError(
                    f"{source}: {key} = {value!r}; expected {kind.__name__} in [{lo}, {hi}]")
            out[key] = kind(value)
        elif key in _CHOICES:
            if value not in _CHOICES[key]:
                raise HyperparameterError(f"{source}: {key} = {value!r}; expected one of "
                                          f"{', '.join(_CHOICES[key])}")
            out[key] = value
        else:
            raise HyperparameterError(f"{source}: unknown key {key!r}; DeepRacer's keys are "
                                      f"{', '.join(sorted(DEEPRACER_DEFAULTS))}")
    if out["exploration_type"] == "e-greedy":
        raise HyperparameterError(f"{source}: exploration_type 'e-greedy' is not supported "
                                  "locally (PPO samples its policy: use 'categorical')")
    return out


def read_hyperparameters(path: str | os.PathLike | None) -> dict:
    """Read and validate a ``hyperparameters.json`` (None: :data:`TRAIN_DEFAULTS`).

    Raises:
        HyperparameterError: missing file, invalid JSON (with line) or invalid values.
    """
    if path is None:
        return dict(TRAIN_DEFAULTS)
    path = Path(path)
    if not path.is_file():
        raise HyperparameterError(f"{path}: file not found (expected a DeepRacer "
                                  "hyperparameters.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HyperparameterError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    return validate_hyperparameters(data, str(path))


def ppo_kwargs(hp: dict) -> dict:
    """The stable-baselines3 ``PPO`` arguments the hyperparameters map to (module table)."""
    return {
        "batch_size": int(hp["batch_size"]),
        "ent_coef": float(hp["beta_entropy"]),
        "gamma": float(hp["discount_factor"]),
        "learning_rate": float(hp["lr"]),
        "n_epochs": int(hp["num_epochs"]),
        "clip_range": 0.2,
        "gae_lambda": 0.95,
    }


def effective_hyperparameters(hp: dict) -> dict:
    """The PPO key set DeepRacer's trainer uploads (sorted keys, no ``sac_alpha``)."""
    return {k: hp[k] for k in sorted(hp) if k != "sac_alpha"}
