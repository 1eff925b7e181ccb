"""Camera frames/s for ``deepracer-sim bench``: the batched FRONT_FACING_CAMERA renderer on one
core (the serial kernel), 160 x 120, N cars per call at random on-track poses (0.3 m and
0.3 rad off the centre line), domain randomisation off and on. Frames/s are given by the wall
clock and by the process's CPU time (on a shared machine the CPU-time figure is the renderer's
own cost)."""

from __future__ import annotations

import time

import numpy as np

from deepracer_sim.sim.camera import CameraRenderer, DomainRandomization
from deepracer_sim.track import Track


def random_poses(track: Track, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) float64 car poses x, y (m), yaw (rad): near the centre line, along the track
    +- 0.3 rad, up to 0.3 m to either side."""
    wp = track.waypoints
    i = rng.integers(0, len(wp) - 1, n)
    d = wp[i + 1, :2] - wp[i, :2]
    yaw = np.arctan2(d[:, 1], d[:, 0]) + rng.uniform(-0.3, 0.3, n)
    lat = rng.uniform(-0.3, 0.3, n)
    return np.stack([wp[i, 0] - np.sin(yaw) * lat, wp[i, 1] + np.cos(yaw) * lat, yaw], 1)


def camera_rate(track: Track, n: int, dr: bool, calls: int = 20,
                repeats: int = 5) -> tuple[float, float]:
    """(frames/s wall clock, frames/s of CPU time) of ``n`` cars per call, best of
    ``repeats`` runs of ``calls`` calls."""
    rng = np.random.default_rng(0)
    cam = CameraRenderer(track, n=n, dr=DomainRandomization(enabled=dr), seed=1)
    poses = [random_poses(track, n, rng) for _ in range(calls)]
    cam.render(poses[0])  # compile or load the kernel
    wall = cpu = np.inf
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        for p in poses:
            cam.render(p)
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    frames = calls * n
    return frames / max(wall, 1e-9), frames / max(cpu, 1e-9)


def camera_rates(track: Track, cars: tuple[int, ...] = (16, 64), calls: int = 20,
                 repeats: int = 5) -> dict:
    """{"track", "frames_per_s": {"N=16 dr=off": (wall, cpu), ...}} for each N and DR off/on."""
    out: dict = {"track": track.name, "frames_per_s": {}}
    for n in cars:
        for dr in (False, True):
            key = f"N={n} dr={'on' if dr else 'off'}"
            out["frames_per_s"][key] = camera_rate(track, n, dr, calls, repeats)
    return out
