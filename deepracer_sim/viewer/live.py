"""The viewers the command line plugs in: ``train.py --render`` and ``evaluate.py --render
--record``.

:class:`TrainingViewer` shows one training car in a separate process (see :mod:`.remote`), so
training pays a few microseconds per step and never waits for drawing. Closing its window
does not stop training (it goes on without the viewer and says so); Ctrl-C stops training,
which saves its checkpoint as always, and the window closes with it.

:class:`EvaluationViewer` draws the evaluation laps in this process, in real time (15 steps
per simulated second) when it has a window, and writes one video frame per step when it
records. Closing its window lets the evaluation finish without it.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pygame

from deepracer_sim.constants import STEP_RATE_HZ
from deepracer_sim.logs.events import EpisodeObserver, TrainingObserver
from deepracer_sim.sim import layout
from deepracer_sim.viewer import remote
from deepracer_sim.viewer.carview import CarView
from deepracer_sim.viewer.record import VideoRecorder, check_video_path
from deepracer_sim.viewer.render import Renderer, action_space_max_speed, surface_to_array
from deepracer_sim.viewer.window import MAX_FPS, ViewerUnavailable, Window


def _shared_dir() -> str | None:
    """Where the shared file goes: /dev/shm (memory) where it exists, else the temp folder."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


#: Whether the window process inherits the shared file's descriptor (POSIX): the file is then
#: removed from the folder as soon as it is created and mapped, so nothing is left behind even
#: when training is killed (SIGKILL); elsewhere the window opens it by name and training removes
#: it when it ends.
PASS_FD = os.name == "posix"


#: The window process: lower its priority first, so that its start-up (imports) also uses only
#: CPU time training leaves over, then run :func:`.remote.main`.
_CHILD = ("import contextlib, os, sys\n"
          "with contextlib.suppress(AttributeError, OSError):\n"
          "    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\n"
          "from deepracer_sim.viewer.remote import main\n"
          "sys.exit(main(sys.argv[1:]))\n")


class TrainingViewer(TrainingObserver):
    """Shows one training car live (``train.py --render``), drawn by another process.

    Training writes each step's row into shared memory (see :mod:`.remote`) and never waits
    for the window. Closing the window does not stop training; Ctrl-C stops training (the
    window closes when training ends).

    Args:
        car: the car to watch first (Tab in the window switches).
        size: initial window size.
        ring: rows of the step ring buffer (a power of two).
        screenshot: save the window's last frame to this PNG when training ends.
        fps: frame-rate cap of the window (60).
    """

    def __init__(self, car: int = 0, size: tuple[int, int] = (1280, 800), ring: int = 8192,
                 screenshot: str | Path | None = None, fps: float = 60.0) -> None:
        if ring < 128 or ring & (ring - 1):
            raise ValueError(f"ring={ring}: must be a power of two >= 128")
        self.car = car
        self.size = size
        self.ring = ring
        self.screenshot = str(screenshot) if screenshot is not None else None
        self.fps = float(fps)
        self.process: subprocess.Popen | None = None
        self.active = False
        self.steps_seen = 0
        self._env = None
        self._model = None
        self._path: str | None = None

    def on_start(self, run, env, model) -> None:
        n = env.num_envs
        track = env.track
        npts = track.num_waypoints
        fd, path = tempfile.mkstemp(prefix=f"deepracer-viewer-{os.getpid()}-", suffix=".buf",
                                    dir=_shared_dir())
        try:
            os.ftruncate(fd, remote.shared_size(n, self.ring, npts))
            self._mm, self._head, self._poses, self._rows, wp = remote.map_shared(
                fd, n, self.ring, npts)
        finally:
            if PASS_FD:  # the mapping and the descriptor keep the memory; no name is left
                os.unlink(path)
            else:
                os.close(fd)
                self._path = path
        wp[:] = track.waypoints
        self._head[remote.H_REQUEST] = -1
        self._head[remote.H_ITERATION] = -1
        self._head[remote.H_BEST_LAP] = math.inf
        self._focus = self.car % n
        self._head[remote.H_FOCUS] = self._focus
        self._poses[:] = env.sim.s[:, :5]
        self._mask = self.ring - 1
        self._n = n
        self._env = env
        self._model = model
        self._best_lap = math.inf
        self._next_sync = 0.0
        self._rate_mark = (time.perf_counter(), 0)
        spec = {"path": self._path, "fd": fd if PASS_FD else None, "n": n, "ring": self.ring,
                "npts": npts,
                "name": track.name, "size": list(self.size), "parent": os.getpid(),
                "max_speed": action_space_max_speed(env.deepracer_action_space),
                "screenshot": self.screenshot, "fps": self.fps}
        package_root = str(Path(__file__).resolve().parents[2])
        child_env = dict(os.environ)
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, child_env.get("PYTHONPATH")) if p)
        child_env.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        # its own process group: the terminal's Ctrl-C goes to training only (same session, so
        # the window's lower priority counts against training's share of the machine)
        group = {"process_group": 0} if sys.version_info >= (3, 11) else \
            {"preexec_fn": os.setpgrp}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _CHILD, json.dumps(spec)],
                stdin=subprocess.DEVNULL, env=child_env, pass_fds=(fd,) if PASS_FD else (),
                **group)
        finally:
            if PASS_FD:
                os.close(fd)
        self.active = True
        env.listeners.append(self._listen)

    def _listen(self, venv, actions, rewards) -> None:
        """After every training step: the watched car's pose, record and reward into the ring.
        """
        if not self.active:
            return
        k = self.steps_seen
        row = self._rows[k & self._mask]
        i = self._focus
        sm = venv.sim
        row[0] = i
        row[1:6] = sm.s[i, :5]
        row[6:6 + layout.NR] = sm.rec[i]
        row[6 + layout.NR] = rewards[i]
        self.steps_seen = k + 1
        self._head[remote.H_COUNT] = k + 1
        now = time.perf_counter()
        if now >= self._next_sync:
            self._sync(venv, now)

    def _sync(self, venv, now: float) -> None:
        """At most 60 times a second: all poses, counters, the window's car request, and
        whether the window is still there."""
        self._next_sync = now + 1.0 / 60.0
        if self.process is None or self.process.poll() is not None:
            self.active = False
            print("\nviewer window closed; training continues (Ctrl-C stops it and keeps the "
                  "checkpoint)", file=sys.stderr)
            return
        head = self._head
        request = int(head[remote.H_REQUEST])
        if request >= 0:
            self._focus = request % self._n
            head[remote.H_REQUEST] = -1
        head[remote.H_FOCUS] = self._focus
        self._poses[:] = venv.sim.s[:, :5]
        t0, s0 = self._rate_mark
        if now - t0 >= 0.5:
            head[remote.H_RATE] = (self.steps_seen - s0) * self._n / (now - t0)
            self._rate_mark = (now, self.steps_seen)
        head[remote.H_TIMESTEPS] = getattr(self._model, "num_timesteps",
                                           self.steps_seen * self._n)

    def on_iteration(self, stats) -> None:
        if self.process is None:
            return
        head = self._head
        n = len(stats.rewards)
        head[remote.H_ITERATION] = stats.iteration
        head[remote.H_MEAN_REWARD] = float(np.mean(stats.rewards)) if n else math.nan
        head[remote.H_MEAN_PROGRESS] = float(np.mean(stats.progress)) if n else math.nan
        head[remote.H_COMPLETION] = stats.completed / n if n else math.nan
        head[remote.H_EVAL_PROGRESS] = stats.eval_progress
        if stats.lap_times:
            self._best_lap = min(self._best_lap, min(stats.lap_times))
        head[remote.H_BEST_LAP] = self._best_lap

    def on_end(self, interrupted: bool) -> None:
        self.active = False
        if self._env is not None and self._listen in self._env.listeners:
            self._env.listeners.remove(self._listen)
        if self.process is None:
            return
        self._head[remote.H_STOP] = 1.0
        try:  # a window still starting up (busy machine) gets time to finish and close
            self.process.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        finally:
            if self._path is not None:
                Path(self._path).unlink(missing_ok=True)
                self._path = None


class EvaluationViewer(EpisodeObserver):
    """Shows the evaluation laps live and/or records them (``evaluate.py --render --record``).

    Args:
        window: show a window (real time; keys: Space pause, ] and [ faster/slower, N one step
            while paused, Tab next car, and the common keys of :data:`.render.HELP`). Without a
            display it warns and carries on (recording still works).
        record: write a video (``.mp4`` or ``.gif``): one frame per step at 15 fps (real time),
            the whole track, car 1 in focus and the others dimmed. Works headless.
        size: initial window size.
        speed: playback speed of the window (1 = real time).
        hold: seconds the window stays on the final frame (any key closes it earlier).

    Raises:
        RecordingError: a ``record`` path that cannot be written (checked before any lap).
    """

    def __init__(self, window: bool = True, record: str | Path | None = None, *,
                 size: tuple[int, int] = (1280, 800), speed: float = 1.0,
                 hold: float = 3.0) -> None:

        self.window_wanted = window
        self.record = Path(record) if record is not None else None
        if self.record is not None:
            check_video_path(self.record)
        self.size = size
        self.speed = speed
        self.hold = hold
        self.win: Window | None = None
        self.recorder: VideoRecorder | None = None
        self.cars: list = []
        self.focus = 0
        self.steps = 0
        self.paused = False

    def on_start(self, simulator, track, action_space) -> None:

        self.sim = simulator
        self.track = track
        self.cars = [CarView() for _ in range(simulator.n)]
        for car, pose in zip(self.cars, simulator.s[:, :5].tolist(), strict=True):
            car.start(pose)
        self.focus = 0
        self.steps = 0
        max_speed = action_space_max_speed(action_space)
        if self.record is not None:
            self.recorder = VideoRecorder(self.record, fps=STEP_RATE_HZ)
            self.video_renderer = Renderer(track, max_speed)
        if self.window_wanted:
            try:
                self.win = Window(f"DeepRacer evaluation · {track.name}", self.size)
            except ViewerUnavailable as exc:
                print(f"warning: --render: {exc}", file=sys.stderr)
                self.win = None
            self.renderer = Renderer(track, max_speed)
            self._last_draw = 0.0

    @property
    def best_lap(self) -> float:
        return min((car.best_lap for car in self.cars), default=math.inf)

    def _info(self, running: int) -> list[str]:
        done = sum(car.episodes for car in self.cars)
        complete = sum(car.laps for car in self.cars)
        n = len(self.cars)
        return [f"car {self.focus + 1} of {n} · {running} running · {done} finished, "
                f"{complete} complete"]

    def _draw(self, renderer, surface, running: int, state: str = "") -> None:
        others = [car.pose for k, car in enumerate(self.cars) if k != self.focus]
        renderer.draw(surface, self.cars[self.focus], others,
                      title=f"evaluation · {self.track.name}",
                      info=[*self._info(running), state], best_lap=self.best_lap)

    def on_step(self, rec, actions, rewards, active) -> None:
        poses = self.sim.s[:, :5].tolist()
        for i in np.flatnonzero(active).tolist():
            self.cars[i].step(poses[i], rec[i].tolist(), float(rewards[i]))
        self.steps += 1
        running = int(np.count_nonzero(active))
        if self.recorder is not None:
            surface = pygame.Surface(self.recorder.size)
            self._draw(self.video_renderer, surface, running)
            self.recorder.append(surface_to_array(surface))
        if self.win is not None and self.win.open:
            self._show(self.win, running)

    def _show(self, win: Window, running: int) -> None:
        """Draw one step in real time (times ``speed``); loop here while paused."""
        while True:
            step_once = False
            for event in win.events():
                if event.type == pygame.KEYDOWN:
                    if event.key == pygame.K_SPACE:
                        self.paused = not self.paused
                    elif event.key == pygame.K_RIGHTBRACKET:
                        self.speed = min(self.speed * 2.0, 64.0)
                    elif event.key == pygame.K_LEFTBRACKET:
                        self.speed = max(self.speed / 2.0, 0.125)
                    elif event.key in (pygame.K_n, pygame.K_RIGHT):
                        step_once = True
                if self.renderer.handle_event(event) == "next_car":
                    self.focus = (self.focus + 1) % len(self.cars)
            if not win.open:
                win.close()
                return
            rate = STEP_RATE_HZ * self.speed
            now = time.perf_counter()
            if self.paused or rate <= MAX_FPS or now - self._last_draw >= 1.0 / MAX_FPS:
                state = "paused: Space resumes, N steps" if self.paused else \
                    f"{self.speed:g}x real time ([ ] slower/faster, Space pause)"
                self._draw(self.renderer, win.surface, running, state)
                self._last_draw = now
                win.present(MAX_FPS if self.paused else min(rate, MAX_FPS))
            if not self.paused or step_once:
                return

    def on_end(self, results) -> None:
        if self.recorder is not None:
            self.recorder.close()
        win = self.win
        if win is None or not win.open:
            return
        end = time.perf_counter() + self.hold
        while win.open and time.perf_counter() < end:
            for event in win.events():
                if event.type in (pygame.KEYDOWN, pygame.MOUSEBUTTONDOWN):
                    win.open = False
            if win.open:
                self._draw(self.renderer, win.surface, 0, "finished: any key closes")
                win.present()
        win.close()
