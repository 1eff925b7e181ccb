"""Training on several tracks at once: :class:`TrackGroups`, one kernel simulator per track.

Car ``i`` of N drives track ``i % T`` of the T tracks for the whole run (round robin over the
tracks **per car**): the rule of deepracer-for-cloud's multi-config training, where each
RoboMaker worker ``k`` (k >= 2) runs its own ``worker-k.env`` (its own ``DR_WORLD_NAME``),
worker 1 the ``run.env`` track, and all workers feed one trainer (deepracer-for-cloud
``docs/multi_worker.md``, "Training with different parameters for each worker",
``DR_TRAIN_MULTI_CONFIG=True``; ``scripts/training/prepare-config.py`` writes one
``training_params_<k>.yaml`` per worker). Every rollout therefore holds all T tracks in fixed
proportions, which keeps PPO's batches balanced; a per-episode switch would make a car's next
track depend on when its episode ended.

Design (the simplest fast one): the tracks differ in their number of waypoints, and a
:class:`~deepracer_sim.sim.simulator.Simulator` packs one track with its cars into flat kernel
buffers, so each track gets a simulator of its own holding its cars, and this class gathers
their per-car arrays into the N-row arrays the vec env and its listeners read (``rec``,
``obs``, ``terminal_obs``, ``s``), in car order. A step is T kernel calls plus copies of
(N, NR) floats; no padded multi-track buffer and no change to ``sim/``. One track is the plain
:class:`Simulator` (nothing here runs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deepracer_sim.sim.layout import NR, NS
from deepracer_sim.sim.observation import OBS_DIM
from deepracer_sim.sim.simulator import Simulator
from deepracer_sim.track import Track


def car_track_indices(num_envs: int, num_tracks: int) -> np.ndarray:
    """(num_envs,) int64: the track index of each car, ``i % num_tracks``."""
    return np.arange(num_envs, dtype=np.int64) % num_tracks


class TrackGroups:
    """N cars on T tracks, car ``i`` on ``tracks[i % T]`` (see the module docstring).

    Args:
        tracks: the T tracks (T <= n; a track may repeat to weight it).
        n: number of cars.
        dyn: float64 from ``Dynamics.as_array``.
        cfgs: T (NC,) float64 kernel configurations (from ``make_config``; the step cap is
            per track).
        start_ndists: (n,) initial start points, fraction of a lap from waypoint 0 of the
            car's own track.
        reversed_direction: initial direction of every car.

    Attributes:
        tracks, n, car_track ((n,) int64 track index per car), groups (T arrays of car
        indices), sims (T simulators), and the gathered (n, ...) arrays ``rec`` (float64, NR
        columns), ``obs`` and ``terminal_obs`` (float32, OBS_DIM), ``s`` (float64, NS),
        ``steer`` and ``speed`` (float64 commands, as :class:`Simulator`'s).
    """

    def __init__(self, tracks: Sequence[Track], n: int, dyn: np.ndarray,
                 cfgs: Sequence[np.ndarray], start_ndists: np.ndarray,
                 reversed_direction: bool = False) -> None:
        self.tracks = list(tracks)
        self.track = self.tracks[0]
        self.n = n
        self.car_track = car_track_indices(n, len(self.tracks))
        self.groups = [np.flatnonzero(self.car_track == k) for k in range(len(self.tracks))]
        starts = np.asarray(start_ndists, dtype=np.float64)
        self.sims = [Simulator(trk, len(idx), dyn, cfg, starts[idx], reversed_direction)
                     for trk, idx, cfg in zip(self.tracks, self.groups, cfgs, strict=True)]
        self.rec = np.zeros((n, NR))
        self.s = np.zeros((n, NS))
        self.obs = np.zeros((n, OBS_DIM), dtype=np.float32)
        self.terminal_obs = np.zeros((n, OBS_DIM), dtype=np.float32)
        self.steer = np.zeros(n)
        self.speed = np.zeros(n)
        self._gather()

    def restart(self) -> None:
        """Restore every car's initial start point and direction, then reset all."""
        for sim in self.sims:
            sim.restart()
        self._gather()

    def step(self, steer_cmd: np.ndarray | None = None, speed_cmd: np.ndarray | None = None,
             auto_reset: bool = False) -> None:
        """One step of every car (as :meth:`Simulator.step`, commands in car order)."""
        if steer_cmd is not None:
            self.steer[:] = steer_cmd
        if speed_cmd is not None:
            self.speed[:] = speed_cmd
        for idx, sim in zip(self.groups, self.sims, strict=True):
            np.take(self.steer, idx, out=sim.steer)
            np.take(self.speed, idx, out=sim.speed)
            sim.step(None, None, auto_reset)
        self._gather()

    def _gather(self) -> None:
        for idx, sim in zip(self.groups, self.sims, strict=True):
            self.rec[idx] = sim.rec
            self.s[idx] = sim.s
            self.obs[idx] = sim.obs
            self.terminal_obs[idx] = sim.terminal_obs
