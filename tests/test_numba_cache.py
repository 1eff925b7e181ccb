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

#: Drives the car one step from rest, straight at 1 m/s, and prints the new pose.
SCRIPT = """
import json, numpy as np
from deepracer_sim.sim.car import KINEMATIC, advance_car
pose = np.zeros(5)
advance_car(pose, 0.0, 1.0, KINEMATIC.as_array())
print(json.dumps(pose.tolist()))
"""


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
    # the kinematic car at 1 m/s moves its origin 1/15 m along x in one step
    first = _run(copy, cache)
    assert abs(first[0] - 1.0 / 15.0) < 1e-12
    assert any(cache.rglob("*.nbi")), "the kernel was not cached"
    assert _run(copy, cache) == first  # served from the cache
    # the step length lives in constants.py, not in the kernel's own file
    constants = copy / "deepracer_sim" / "constants.py"
    text = constants.read_text()
    assert "STEP_RATE_HZ = 15.0" in text
    constants.write_text(text.replace("STEP_RATE_HZ = 15.0", "STEP_RATE_HZ = 10.0"))
    second = _run(copy, cache)
    assert abs(second[0] - 1.0 / 10.0) < 1e-12
