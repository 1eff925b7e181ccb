"""The training viewer's window process and the shared memory it reads.

Training writes, after every step, one row about the watched car into a ring buffer in shared
memory (a few microseconds, never blocking), and at most 60 times a second the poses of all
cars and the run's counters into a small header. This process draws whatever is newest at up
to 60 frames per second; it reads every row since its last frame (so the trail and the episode
reward are complete) and skips rows only if it fell more than a ring behind.

The shared memory is a file mapped by both processes (in /dev/shm where it exists). On POSIX
training removes the file's name as soon as it has created and mapped it, and the window
process inherits its descriptor (``spec["fd"]``), so no file is left behind however training
ends (SIGKILL included); elsewhere the window opens it by name (``spec["path"]``). It holds float64
values, ``HEAD`` header values (``H_*``), then ``n`` x 5 poses (x, y, yaw, speed, steering),
then ``ring`` x ``ROW`` rows (car index, pose (5), the step record (``layout.NR`` values,
``layout.R_*``), reward), then the track's (npts, 6) waypoints.

The window runs as a fresh interpreter (``python -c``, see ``live._CHILD``; equivalently
``python -m deepracer_sim.viewer.remote SPEC_JSON``): nothing of training's state, no re-import
of the user's main script, in its own process group, which the terminal's Ctrl-C does not
reach, and at idle CPU priority from its first instruction (SCHED_IDLE; nice 19 where that is
missing), so that on a busy machine it drops frames rather than take time from training.
It exits when its window is closed, when training sets ``H_STOP``, or when training's process
is gone.
"""

from __future__ import annotations

import contextlib
import json
import math
import mmap
import os
import sys
from pathlib import Path

import numpy as np

from deepracer_sim.sim import layout
from deepracer_sim.viewer import carview, render, window

HEAD = 16
H_COUNT = 0  # rows written so far
H_FOCUS = 1  # the car whose rows training writes
H_REQUEST = 2  # the car the window asks for (-1: none)
H_RATE = 3  # environment steps per second, all cars
H_TIMESTEPS = 4
H_ITERATION = 5  # last finished iteration (-1: none yet)
H_MEAN_REWARD = 6
H_MEAN_PROGRESS = 7
H_COMPLETION = 8
H_BEST_LAP = 9  # best lap time of any training car so far, s (inf: none)
H_EVAL_PROGRESS = 10
H_STOP = 11  # 1: training ended, the window closes
ROW = 6 + layout.NR + 1


def shared_size(n: int, ring: int, npts: int) -> int:
    """Bytes of the shared file."""
    return 8 * (HEAD + 5 * n + ring * ROW + 6 * npts)


def map_shared(file: str | Path | int, n: int, ring: int, npts: int):
    """(mmap, header (HEAD,), poses (n, 5), rows (ring, ROW), waypoints (npts, 6)): plain
    numpy views of the shared file, given by its path or an open descriptor (left open)."""
    size = shared_size(n, ring, npts)
    if isinstance(file, int):
        mm = mmap.mmap(file, size)
    else:
        with open(file, "r+b") as fh:
            mm = mmap.mmap(fh.fileno(), size)
    arr = np.frombuffer(mm, dtype=np.float64)
    a = HEAD
    b = a + 5 * n
    c = b + ring * ROW
    return (mm, arr[:HEAD], arr[a:b].reshape(n, 5), arr[b:c].reshape(ring, ROW),
            arr[c:c + 6 * npts].reshape(npts, 6))


def lower_priority() -> None:
    """Run only on CPU time others leave over: SCHED_IDLE where the OS has it (Linux), else
    nice 19. On a busy machine the window then drops frames instead of slowing training."""
    with contextlib.suppress(AttributeError, OSError):
        if os.sched_getscheduler(0) != os.SCHED_IDLE:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return
    with contextlib.suppress(AttributeError, OSError):
        os.nice(19)


def info_lines(head: np.ndarray, n: int, focus: int) -> list[str]:
    lines = [f"car {focus + 1} of {n} · {int(head[H_TIMESTEPS]):,} steps · "
             f"{head[H_RATE]:,.0f} steps/s"]
    it = int(head[H_ITERATION])
    if it >= 0:
        def num(value: float, fmt: str) -> str:
            return format(value, fmt) if math.isfinite(value) else "-"

        lines.append(f"iteration {it}: reward {num(head[H_MEAN_REWARD], '.1f')} · progress "
                     f"{num(head[H_MEAN_PROGRESS], '.0f')} % · laps "
                     f"{num(head[H_COMPLETION], '.0%')} · eval "
                     f"{num(head[H_EVAL_PROGRESS], '.0f')} %")
    return lines


def window_main(spec: dict) -> int:
    """The window process: draw until the window closes, training stops or goes away."""

    lower_priority()  # again, for a window started as python -m deepracer_sim.viewer.remote
    n, ring = int(spec["n"]), int(spec["ring"])
    name = spec["name"]
    parent = int(spec["parent"])
    fd = spec.get("fd")
    _mm, head, poses, rows, waypoints = map_shared(spec["path"] if fd is None else int(fd), n,
                                                   ring, int(spec["npts"]))
    if fd is not None:
        os.close(int(fd))  # the mapping stays
    try:
        win = window.Window(f"DeepRacer training · {name}", tuple(spec["size"]))
    except window.ViewerUnavailable as exc:
        print(f"viewer: {exc}; training continues without it", file=sys.stderr)
        return 1
    renderer = render.Renderer(np.array(waypoints), float(spec["max_speed"]))
    renderer.art.name = name
    focus = int(head[H_FOCUS])
    car = carview.CarView(auto_reset=True)
    last = 0
    fps = float(spec.get("fps", window.MAX_FPS))
    drawn_at = -1.0
    def update() -> None:
        nonlocal last, focus, car
        count = int(head[H_COUNT])
        if count - last > ring - 64:  # fell a ring behind: skip to the newest rows
            last = count - (ring - 64)
        for k in range(last, count):
            row = rows[k % ring].tolist()
            if int(row[0]) != focus:
                focus = int(row[0])
                car = carview.CarView(auto_reset=True)
            car.step(row[1:6], row[6:6 + layout.NR], row[6 + layout.NR])
        last = count
        others = [p for j, p in enumerate(poses.tolist()) if j != focus]
        best = float(head[H_BEST_LAP])
        info = info_lines(head, n, focus)
        info[0] += f" · {win.clock.get_fps():.0f} fps"
        renderer.draw(win.surface, car, others, title=f"training · {name}", info=info,
                      best_lap=best if best > 0 else math.inf)

    try:
        while win.open and head[H_STOP] == 0.0 and os.getppid() == parent:
            events = win.events()
            for event in events:
                if renderer.handle_event(event) == "next_car":
                    head[H_REQUEST] = (focus + 1) % n
            if int(head[H_COUNT]) == last and not events and drawn_at == head[H_TIMESTEPS]:
                win.clock.tick(fps)  # nothing new (e.g. the PPO update runs): no redraw
                continue
            drawn_at = float(head[H_TIMESTEPS])
            update()
            win.present(fps)
        if spec.get("screenshot") and win.open:
            import pygame

            update()  # the final state
            pygame.image.save(win.surface, spec["screenshot"])
    finally:
        win.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return window_main(json.loads(argv[0]))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
