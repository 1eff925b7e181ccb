"""Shared pytest fixtures, and the rule for tests that need ``../shared``.

Tests that read the official tracks, the real simulator logs or the shared docs from
``../shared`` (beside the checkout) are marked ``shared_data`` (tests that use the
``shared_dir`` fixture are marked automatically). Without ``../shared`` they are skipped, and
one line at the end of the run says how many; with ``DEEPRACER_SIM_REQUIRE_SHARED=1`` (as CI
runs) a marked test that would be skipped fails instead, so CI cannot go green on a missing
data folder.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.constants import REFERENCE_POINT_X
from deepracer_sim.sim.car import N_STATE, S_X, S_Y, S_YAW, advance_car, car_params

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
#: Set to 1 to make a shared-data test that would be skipped fail instead.
REQUIRE_SHARED = os.environ.get("DEEPRACER_SIM_REQUIRE_SHARED", "") not in ("", "0")
_SKIPPED_FOR_SHARED: list[str] = []


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's ../shared folder (real logs, official tracks, docs); skip if missing."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared data folder {SHARED_DIR} not found")
    return SHARED_DIR


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if "shared_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_data)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    shared = (item.get_closest_marker("shared_data") is not None
              or str(SHARED_DIR) in str(report.longrepr))
    if report.skipped and shared:
        if REQUIRE_SHARED:
            report.outcome = "failed"
            report.longrepr = (f"{item.nodeid} needs {SHARED_DIR} (DEEPRACER_SIM_REQUIRE_SHARED "
                               f"is set): {report.longrepr}")
        elif report.when != "teardown":
            _SKIPPED_FOR_SHARED.append(item.nodeid)
    return report


def pytest_terminal_summary(terminalreporter) -> None:
    if _SKIPPED_FOR_SHARED:
        terminalreporter.write_line(
            f"{len(_SKIPPED_FOR_SHARED)} tests need {SHARED_DIR} (official tracks, real logs) "
            "and were skipped; set DEEPRACER_SIM_REQUIRE_SHARED=1 to make that a failure")


def driven_radius(steer_deg: float, speed: float, physics: str = "v6") -> float:
    """Radius of the circle the reference point settles on at a constant command (a Kasa
    least-squares circle fit to the last 150 of 300 steps of the project's car model)."""
    car = car_params(physics).as_array()
    st = np.zeros(N_STATE)
    pts = []
    for _ in range(300):
        advance_car(st, math.radians(steer_deg), speed, car)
        pts.append((st[S_X] + REFERENCE_POINT_X * math.cos(st[S_YAW]),
                    st[S_Y] + REFERENCE_POINT_X * math.sin(st[S_YAW])))
    p = np.array(pts[150:])
    d, e, f = np.linalg.lstsq(np.c_[p, np.ones(len(p))], -(p ** 2).sum(1), rcond=None)[0]
    return math.sqrt(d * d / 4 + e * e / 4 - f)
