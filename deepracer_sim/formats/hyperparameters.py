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

One set of rules serves training (:func:`read_hyperparameters`, strict: the errors raise
:class:`~deepracer_sim.errors.HyperparameterError`) and ``deepracer-sim export --check``
(:func:`check_hyperparameters`, every problem): an unknown key, a value of the wrong type or
outside :data:`RANGES`, or a value not in :data:`CHOICES` is an error; a value outside
DeepRacer-on-AWS's create-model form (:data:`DROA_FORM_RANGES`, :data:`DROA_BATCH_SIZES`) is a
warning; ``exploration_type: e-greedy``, valid in DeepRacer, is an error for training only.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

from deepracer_sim.errors import DeepRacerSimWarning, HyperparameterError
from deepracer_sim.formats.problems import (
    ERROR,
    UNREADABLE,
    WARNING,
    Problem,
    is_number,
    load_json,
    raise_errors,
    read_json,
)
from deepracer_sim.formats.run_folder import HYPERPARAMETERS

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

#: key -> (type, low, high): the values deepracer-sim accepts (inclusive; errors in both modes).
RANGES: dict[str, tuple[type, float, float]] = {
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
#: key -> the values DeepRacer accepts.
CHOICES = {
    "exploration_type": ("categorical", "e-greedy"),
    "loss_type": ("mean squared error", "huber"),
}
#: Valid for DeepRacer but not trainable here (stable-baselines3's PPO samples its policy):
#: an error when training reads the file, a warning for ``--check``.
LOCAL_UNSUPPORTED = {("exploration_type", "e-greedy"): (
    "exploration_type 'e-greedy' is not supported locally (PPO samples its policy)",
    "use 'categorical'")}
#: DeepRacer-on-AWS's create-model form ranges (PPO; model.smithy ``Hyperparameters``): outside
#: them a model cannot be edited or cloned there (warnings).
DROA_FORM_RANGES = {"num_epochs": (3, 10), "lr": (1e-8, 1e-3), "beta_entropy": (0.0, 1.0),
                    "discount_factor": (0.0, 1.0), "num_episodes_between_training": (5, 100),
                    "sac_alpha": (0.0, 1.0)}
#: DeepRacer-on-AWS's batch size choices (warnings).
DROA_BATCH_SIZES = (32, 64, 128, 256, 512)
#: Every key a hyperparameters.json may have.
KNOWN_KEYS = (*DEEPRACER_DEFAULTS, "sac_alpha")


def _check_number(key: str, value: object, where: str) -> Problem | None:
    kind, lo, hi = RANGES[key]
    integer = kind is int
    if not isinstance(value, (int, float)) or not is_number(value) \
            or (integer and not float(value).is_integer()):
        return Problem(where, f"{key} = {value!r} is not "
                       f"{'an integer' if integer else 'a number'}", "write a JSON number",
                       field=key)
    v = float(value)
    if not lo <= v <= hi:
        bounds = f"[{lo}, {hi}]" if integer else f"[{lo:g}, {hi:g}]"
        return Problem(where, f"{key} = {value!r} is outside {bounds}",
                       f"give {'an integer' if integer else 'a number'} in that range", field=key)
    if key in DROA_FORM_RANGES and not DROA_FORM_RANGES[key][0] <= v <= DROA_FORM_RANGES[key][1]:
        lo, hi = DROA_FORM_RANGES[key]
        return Problem(where, f"{key} = {value} is outside DeepRacer-on-AWS's form range "
                       f"[{lo:g}, {hi:g}]", "keep it in range to edit or clone the model there",
                       WARNING, key)
    return None


def _check_key(key: str, value: object, where: str, training: bool) -> Problem | None:
    if key not in KNOWN_KEYS:
        return Problem(where, f"unknown key {key!r}",
                       f"remove it (DeepRacer's keys: {', '.join(sorted(KNOWN_KEYS))})",
                       field=key)
    if key in CHOICES:
        if value not in CHOICES[key]:
            return Problem(where, f"{key} = {value!r}", f"use one of {CHOICES[key]}", field=key)
        if (key, value) in LOCAL_UNSUPPORTED:
            message, fix = LOCAL_UNSUPPORTED[(key, value)]
            return Problem(where, message, fix, ERROR if training else WARNING, key)
        return None
    return _check_number(key, value, where)


def check_hyperparameters_dict(hp: object, where: str = HYPERPARAMETERS,
                               training: bool = False) -> list[Problem]:
    """Every problem of a ``hyperparameters.json`` object (spec §5 keys, types and the module's
    ranges); ``training``: what deepracer-sim cannot train (:data:`LOCAL_UNSUPPORTED`) is an
    error rather than a warning."""
    if not isinstance(hp, dict):
        return [Problem(where, "not a JSON object", 'write {"batch_size": 64, ...}')]
    out = [p for key, value in hp.items()
           if (p := _check_key(str(key), value, where, training)) is not None]
    batch = hp.get("batch_size")
    if isinstance(batch, int) and batch not in DROA_BATCH_SIZES:
        out.append(Problem(where, f"batch_size = {batch} is not one of DeepRacer-on-AWS's "
                           f"choices {'/'.join(map(str, DROA_BATCH_SIZES))}",
                           "pick one of those to edit or clone the model there", WARNING,
                           "batch_size"))
    return out


def check_hyperparameters(path: str | os.PathLike, where: str | None = None) -> list[Problem]:
    """Every problem of a ``hyperparameters.json`` file (:func:`check_hyperparameters_dict`),
    or the one that it is not valid JSON."""
    where = where or str(path)
    hp, problems = load_json(Path(path), where)
    return problems if hp is UNREADABLE else check_hyperparameters_dict(hp, where)


def validate_hyperparameters(hp: object, source: str) -> dict:
    """Check DeepRacer hyperparameters (strict mode of :func:`check_hyperparameters_dict`, for
    training) and return them with missing keys from :data:`TRAIN_DEFAULTS`, integers as
    ``int`` and numbers as ``float``.

    Raises:
        HyperparameterError: unknown key, wrong type, out-of-range or unsupported value (the
            message names ``source``, the key and the fix).
    """
    raise_errors(check_hyperparameters_dict(hp, source, training=True), HyperparameterError,
                 source)
    assert isinstance(hp, dict)  # a non-dict is an error above
    out = dict(TRAIN_DEFAULTS)
    for key, value in hp.items():
        out[key] = value if key in CHOICES else RANGES[key][0](value)
    return out


def read_hyperparameters(path: str | os.PathLike | None) -> dict:
    """Read and validate a ``hyperparameters.json`` (None: :data:`TRAIN_DEFAULTS`).

    Raises:
        HyperparameterError: missing file, invalid JSON (with line) or invalid values.
    """
    if path is None:
        return dict(TRAIN_DEFAULTS)
    path = Path(path)
    data = read_json(path, HyperparameterError, " (expected a DeepRacer hyperparameters.json)")
    return validate_hyperparameters(data, str(path))


def fit_batch_size(hp: dict, rollout: int, source: str) -> dict:
    """The hyperparameters with ``batch_size`` no larger than the rollout (``n_envs * n_steps``
    steps: stable-baselines3 cannot take a minibatch larger than it), so that the value written
    to ``ip/hyperparameters.json`` is the one training uses. A larger value is lowered to the
    rollout with a :class:`~deepracer_sim.errors.DeepRacerSimWarning` (``source`` names where it
    came from), not rejected: DeepRacer files with a batch of 512 and small local rollouts are
    common, and DeepRacer's own rollouts (``num_episodes_between_training`` episodes) are far
    larger.
    """
    batch = int(hp["batch_size"])
    if batch <= rollout:
        return hp
    warnings.warn(f"{source}: batch_size {batch} is larger than the rollout of {rollout} steps "
                  f"(--n-envs x --n-steps): training uses batch_size {rollout} and writes it to "
                  f"{HYPERPARAMETERS}; raise --n-envs or --n-steps to train with {batch}",
                  DeepRacerSimWarning, stacklevel=2)
    return {**hp, "batch_size": rollout}


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
