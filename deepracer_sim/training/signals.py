"""Stop signals during training: SIGINT (Ctrl-C), SIGTERM (a job scheduler, ``docker stop``)
and SIGHUP (a closed terminal or ssh session) all end training the same way.

While :func:`~deepracer_sim.training.ppo.train` runs, :class:`StopSignals` replaces their
handlers by one that only records the signal (and writes one line to stderr with
``os.write``, which is safe inside a handler): nothing is interrupted part-way. Training checks
the record after every environment step, abandons the running rollout, saves the current
policy as the next checkpoint, points ``deepracer_checkpoints.json`` at it, flushes the logs and
returns; the command exits with ``128 + signal number`` (130, 143, 129), as a shell reports a
process ended by that signal. A second signal while the checkpoint is being saved is recorded
and waits for the save (it does not interrupt the zip being written). The previous handlers
are restored when training returns (``train`` on the command line: once it has printed where
the run is), so the caller's own handlers (or Python's default KeyboardInterrupt) are in force
again. A signal the process was started with ignored stays
ignored (``nohup`` ignores SIGHUP so that training survives the closed session; a background
job of a non-interactive shell ignores SIGINT).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The signals that stop training (SIGHUP where the platform has it).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15, etc."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class StopSignals:
    """Records the stop signals received while installed (see the module docstring).

    Args:
        hold: keep the handlers installed after the ``with`` block of :meth:`installed` until
            :meth:`release` (the command line holds them while it prints where the run is, so
            that a late second Ctrl-C does not end it with a traceback).

    Attributes:
        signum: the first signal received (None: none yet).
        count: signals received.
    """

    def __init__(self, hold: bool = False) -> None:
        self.signum: int | None = None
        self.count = 0
        self.hold = hold
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        """Whether a stop signal arrived (or :meth:`interrupt` was called)."""
        return self.signum is not None

    @property
    def exit_code(self) -> int | None:
        """``128 + signal number`` of the first signal, None without one."""
        return None if self.signum is None else 128 + int(self.signum)

    def interrupt(self, signum: int = signal.SIGINT) -> None:
        """Record a stop as if ``signum`` had arrived (a KeyboardInterrupt raised elsewhere)."""
        if self.signum is None:
            self.signum = int(signum)
        self.count += 1

    def _handle(self, signum: int, frame) -> None:
        first = self.signum is None
        self.interrupt(signum)
        if first:
            line = (f"\n{signal_name(signum)}: stopping after this step; saving the policy as "
                    "the next checkpoint (a second signal waits for the save)\n")
        else:
            line = f"{signal_name(signum)}: still saving the checkpoint; waiting for it\n"
        with contextlib.suppress(OSError):
            os.write(2, line.encode())

    @contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """Install the handlers for the ``with`` block (main thread only: elsewhere Python
        cannot install handlers, and the defaults stay; an ignored signal stays ignored), then
        restore the previous ones."""
        if threading.current_thread() is not threading.main_thread() or self._previous:
            yield self  # elsewhere, or installed already
            return
        for sig in STOP_SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                self._previous[int(sig)] = signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            if not self.hold:
                self.release()

    def release(self) -> None:
        """Restore the handlers that were in force before :meth:`installed`."""
        for number, handler in self._previous.items():
            # None: a handler not set from Python; the default is the closest
            signal.signal(number, signal.SIG_DFL if handler is None  # type: ignore[arg-type]
                          else handler)
        self._previous.clear()
