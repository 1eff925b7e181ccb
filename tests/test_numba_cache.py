"""The compiled-kernel cache follows the sources: a change in any module a kernel uses (even a
constant in another file, which numba's own cache does not notice) gives the new behaviour."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Drives the v5 car one step straight at the rim speed of the command 1 m/s (1 / 0.035 * 0.036
#: = 1.0286 m/s: no longitudinal slip) and prints the new state.
SCRIPT = """
import json, numpy as np
from deepracer_sim.sim.car import CAR_V5, N_STATE, S_V, advance_car
st = np.zeros(N_STATE)
st[S_V] = CAR_V5.top_speed(1.0)
advance_car(st, 0.0, 1.0, CAR_V5.as_array())
print(json.dumps(st.tolist()))
"""
V = 1.0 / 0.035 * 0.036


def _run(package_root: Path, cache: Path) -> list[float]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(package_root)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, cwd=package_root, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_changing_a_constant_in_another_module_recompiles_the_kernel(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "deepracer_sim", copy / "deepracer_sim",
                    ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    # at 1.0286 m/s the origin moves 1.0286/15 m along x in one step (the front wheels' toe
    # drags it by far less than 0.1 mm)
    first = _run(copy, cache)
    assert abs(first[0] - V / 15.0) < 1e-4
    assert any(cache.rglob("*.nbi")), "the kernel was not cached"
    assert _run(copy, cache) == first  # served from the cache
    # the step length lives in constants.py, not in the kernel's own file
    constants = copy / "deepracer_sim" / "constants.py"
    text = constants.read_text()
    assert "STEP_RATE_HZ = 15.0" in text
    constants.write_text(text.replace("STEP_RATE_HZ = 15.0", "STEP_RATE_HZ = 10.0"))
    second = _run(copy, cache)
    assert abs(second[0] - V / 10.0) < 1e-4
