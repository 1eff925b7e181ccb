"""Shared pytest fixtures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.constants import REFERENCE_POINT_X
from deepracer_sim.sim.car import advance_car, dynamics_for_version

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's ../shared folder (real logs, official tracks, docs); skip if missing."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared data folder {SHARED_DIR} not found")
    return SHARED_DIR


def driven_radius(steer_deg: float, speed: float, version: float = 6.0) -> float:
    """Radius of the circle the reference point settles on at a constant command (a Kasa
    least-squares circle fit to the last 150 of 300 steps of the project's car model)."""
    dyn = dynamics_for_version(version).as_array()
    pose = np.zeros(5)
    pts = []
    for _ in range(300):
        advance_car(pose, math.radians(steer_deg), speed, dyn)
        pts.append((pose[0] + REFERENCE_POINT_X * math.cos(pose[2]),
                    pose[1] + REFERENCE_POINT_X * math.sin(pose[2])))
    p = np.array(pts[150:])
    d, e, f = np.linalg.lstsq(np.c_[p, np.ones(len(p))], -(p ** 2).sum(1), rcond=None)[0]
    return math.sqrt(d * d / 4 + e * e / 4 - f)
