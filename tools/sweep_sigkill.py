"""Kill a sweep with SIGKILL mid-way and restart it (docs/sweep.md, "Measured").

    python tools/sweep_sigkill.py WORK_DIR SPEC.yaml [--out sweeps/kill] [--workers 2] \\
        [--kill-after 2]

Starts ``deepracer-sim sweep SPEC --out OUT`` in WORK_DIR in a session of its own, waits until
``--kill-after`` trials have their completion marker, lets the next trials run 3 more seconds,
sends SIGKILL to the sweep's whole process group, and records which Ray processes outlived it
and for how long, and the last write into an unfinished trial's folder. Then it hashes every
finished trial's folder (each file's name, bytes and modification time), runs the same command
again, and checks that: it exits 0, every trial is finished, the folders finished before the
kill are byte for byte and time for time what they were, and ``deepracer-sim compare OUT
--json`` has one row per trial. Exit status 0 when all hold.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

MARKER = "sweep_trial.json"


def folder_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes()
                     + str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


def finished(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir() and (p / MARKER).is_file())


def ray_processes() -> str:
    ps = subprocess.run(["ps", "-eo", "pid,pgid,args"], capture_output=True, text=True).stdout
    return "\n".join(line for line in ps.splitlines()
                     if any(k in line for k in ("ray::", "raylet", "gcs_server")))


def kill_midway(cmd: list[str], work: Path, out: Path, kill_after: int) -> float:
    proc = subprocess.Popen(cmd, cwd=work, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not (out.is_dir() and len(finished(out)) >= kill_after):
        if proc.poll() is not None:
            raise SystemExit("the sweep ended before the kill; give a larger spec")
        time.sleep(0.5)
    time.sleep(3.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return time.time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("spec")
    ap.add_argument("--out", default="sweeps/kill")
    ap.add_argument("--workers", default="2")
    ap.add_argument("--kill-after", type=int, default=2)
    a = ap.parse_args()
    work = a.work.resolve()
    out = work / a.out
    cmd = [sys.executable, "-m", "deepracer_sim", "sweep", a.spec, "--out", a.out,
           "--workers", a.workers]
    at = kill_midway(cmd, work, out, a.kill_after)
    t_kill = time.time()
    before = {p.name: folder_hash(p) for p in finished(out)}
    others = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")
                    and p.name not in before)
    print(f"SIGKILL of the sweep's process group {at:.1f} s after its start; finished: "
          f"{sorted(before)}; unfinished folders: {others}")
    alive = ray_processes()
    print(f"Ray processes alive right after the kill: {len(alive.splitlines())}")
    while ray_processes() and time.time() - t_kill < 120:
        time.sleep(0.2)
    print(f"all Ray processes gone {time.time() - t_kill:.1f} s after the kill")
    newest = max((f.stat().st_mtime for n in others for f in (out / n).rglob("*")
                  if f.is_file()), default=t_kill)
    print(f"last write into an unfinished trial's folder: {newest - t_kill:+.1f} s after the kill")
    t1 = time.time()
    res = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    print(res.stdout[-2500:])
    print(f"restart: exit {res.returncode} in {time.time() - t1:.1f} s")
    after = {p.name: folder_hash(p) for p in finished(out)}
    trials = json.loads((out / "trials.json").read_text())
    untouched = all(after.get(k) == v for k, v in before.items())
    complete = set(after) == set(trials)
    rows = json.loads(subprocess.run([sys.executable, "-m", "deepracer_sim", "compare",
                                      a.out, "--json"], cwd=work, capture_output=True,
                                     text=True, check=True).stdout)
    compared = sorted(Path(r["run"]).name for r in rows) == sorted(trials)
    print(f"folders finished before the kill untouched (bytes and mtimes): {untouched}")
    print(f"all {len(trials)} trials finished after the restart: {complete}")
    print(f"compare lists every trial: {compared} ({len(rows)} rows)")
    return 0 if untouched and complete and compared and res.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
