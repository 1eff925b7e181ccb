"""Loading a saved policy."""

from __future__ import annotations

from pathlib import Path

from deepracer_sim.errors import RunFolderError


def load_policy(path: Path):
    """Load a saved stable-baselines3 PPO checkpoint (CPU)."""
    from stable_baselines3 import PPO

    if not path.is_file():
        raise RunFolderError(f"checkpoint {path} is missing")
    return PPO.load(path, device="cpu")
