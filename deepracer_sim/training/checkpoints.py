"""Checkpoints: saving, evaluating and pointing at the best and the last; loading a policy."""

from __future__ import annotations

import numpy as np

from deepracer_sim.constants import STEP_DT
from deepracer_sim.envs.setup import default_max_steps
from deepracer_sim.formats.checkpoints import run_checkpoint_name, write_checkpoints_json
from deepracer_sim.formats.run_folder import RunFolder
from deepracer_sim.logs.events import IterationStats, LapResult
from deepracer_sim.reward import make_reward_caller
from deepracer_sim.track.model import Track
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.evaluation import run_laps, sb3_predict

#: Checkpoints kept besides the best (the simapp's NUM_MODELS_TO_KEEP).
KEEP_CHECKPOINTS = 4


class Checkpointer:
    """Saves checkpoints, evaluates them and keeps ``deepracer_checkpoints.json``."""

    def __init__(self, run: RunFolder, cfg: TrainConfig, track: Track) -> None:
        self.run = run
        self.cfg = cfg
        self.track = track
        self.saved: list[str] = []
        self.best: dict | None = None
        self.last: dict | None = None
        self.eval_max_steps = cfg.max_steps or default_max_steps(track)
        self.reward = make_reward_caller(cfg.reward)

    def evaluate(self, model) -> list[LapResult]:
        """Greedy episodes from ``eval_episodes`` evenly spaced start points."""
        n = self.cfg.eval_episodes
        if n <= 0:
            return []
        return run_laps(sb3_predict(model), self.track, self.cfg.action_space,
                        self.cfg.version, [k / n for k in range(n)], self.eval_max_steps,
                        reward=self.reward, reversed_direction=self.cfg.reverse_direction,
                        sensor=self.cfg.sensor, physics=self.cfg.physics,
                        objects=self.cfg.objects)

    def save(self, model, iteration: int, evaluate: bool = True) -> tuple[str, list[LapResult]]:
        """Save (and evaluate) a checkpoint; update ``deepracer_checkpoints.json``.

        Returns:
            (checkpoint file name, evaluation laps).
        """
        name = run_checkpoint_name(iteration, model.num_timesteps)
        model.save(self.run.checkpoint_path(name))
        laps = self.evaluate(model) if evaluate else []
        stats = IterationStats(eval_laps=laps)
        entry = {"name": name, "avg_eval_metric": stats.eval_progress,
                 "time_stamp": round(model.num_timesteps * STEP_DT / self.cfg.n_envs, 3),
                 "avg_lap_time": stats.eval_lap_time}
        self.last = entry
        if laps and (self.best is None or _better(entry, self.best)):
            self.best = entry
        self.saved.append(name)
        self._prune()
        write_checkpoints_json(self.run.checkpoints_json, self.best or entry, entry, indent=2)
        return name, laps

    def _prune(self) -> None:
        keep = set(self.saved[-KEEP_CHECKPOINTS:])
        if self.best is not None:
            keep.add(self.best["name"])
        for name in self.saved:
            if name not in keep:
                self.run.checkpoint_path(name).unlink(missing_ok=True)
        self.saved = [n for n in self.saved if n in keep]


def _better(a: dict, b: dict) -> bool:
    if a["avg_eval_metric"] != b["avg_eval_metric"]:
        return a["avg_eval_metric"] > b["avg_eval_metric"]
    la = a["avg_lap_time"] if not np.isnan(a["avg_lap_time"]) else np.inf
    lb = b["avg_lap_time"] if not np.isnan(b["avg_lap_time"]) else np.inf
    return la < lb
