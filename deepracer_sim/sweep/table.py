"""The live table of a sweep's trials: state, steps, evaluation progress, best lap so far.

On a terminal the table is redrawn in place (at most twice a second, and at every start and
end of a trial); into a file or a pipe, one line is printed per trial event instead.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from typing import Any, TextIO

#: (header, row key, width) of each column.
COLUMNS = (("trial", "name", 0), ("state", "state", 11), ("steps", "steps", 15),
           ("eval %", "eval_progress", 7), ("best eval %", "best_eval_progress", 11),
           ("best lap s", "best_lap_time", 10), ("wall s", "wall", 7))
#: Seconds between two redraws of the table for metric updates.
REDRAW_S = 0.5


def _cell(key: str, row: dict[str, Any], budget: int) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if key == "steps":
        return f"{value}/{budget}"
    if key == "wall":
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.1f}" if key != "best_lap_time" else f"{value:.2f}"
    return str(value)


class SweepTable:
    """The trials' rows and their drawing.

    Args:
        names: the trials known at the start (more can be added by :meth:`update`).
        budget: steps per trial (shown as steps/budget).
        stream: where to draw (default stdout); redrawn in place when it is a terminal.
    """

    def __init__(self, names: list[str], budget: int, stream: TextIO | None = None) -> None:
        self.rows: dict[str, dict[str, Any]] = {n: {"state": "PENDING"} for n in names}
        self.budget = budget
        self.stream = stream if stream is not None else sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.time()
        self._drawn_lines = 0
        self._last_draw = 0.0

    def __getstate__(self) -> dict[str, Any]:
        # Ray Tune pickles its callbacks (and so this table) into its experiment state
        return {k: v for k, v in self.__dict__.items() if k != "stream"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, stream=sys.stdout)

    def update(self, name: str, event: str | None = None, **fields: Any) -> None:
        """Change a trial's row; ``event`` (e.g. "started") is printed or forces a redraw."""
        row = self.rows.setdefault(name, {"state": "PENDING"})
        row.update(fields)
        if self.live:
            if event is not None or time.time() - self._last_draw >= REDRAW_S:
                self.draw()
        elif event is not None:
            self._print_event(name, event, row)

    def counts(self) -> str:
        """"3 finished, 1 running, ..." of the rows."""
        states: dict[str, int] = {}
        for row in self.rows.values():
            states[row["state"]] = states.get(row["state"], 0) + 1
        return ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))

    def lines(self, limit: int | None = None) -> list[str]:
        """The table as text lines (at most ``limit`` trial rows: the running and failed ones
        first when the table is cut)."""
        items = list(self.rows.items())
        if limit is not None and len(items) > limit:
            first = [it for it in items if it[1]["state"] in ("RUNNING", "ERROR")]
            items = (first + [it for it in items if it not in first])[:limit]
        width = max([len("trial"), *(len(n) for n, _ in items)])
        head = [f"sweep: {self.counts()} ({time.time() - self.started:.0f} s)"]
        cols = [(h, k, width if k == "name" else w) for h, k, w in COLUMNS]
        head.append("  ".join(h.ljust(w) if k in ("name", "state") else h.rjust(w)
                              for h, k, w in cols))
        for name, row in items:
            cells = [name.ljust(width), row["state"].ljust(11)]
            cells += [_cell(k, row, self.budget).rjust(w) for _, k, w in cols[2:]]
            head.append("  ".join(cells))
        if limit is not None and len(self.rows) > limit:
            head.append(f"... {len(self.rows) - limit} more trials")
        return head

    def draw(self) -> None:
        """Redraw the table in place (terminal only)."""
        limit = max(shutil.get_terminal_size().lines - 4, 3)
        text = self.lines(limit)
        up = f"\x1b[{self._drawn_lines}F\x1b[J" if self._drawn_lines else ""
        self.stream.write(up + "\n".join(text) + "\n")
        self.stream.flush()
        self._drawn_lines = len(text)
        self._last_draw = time.time()

    def _print_event(self, name: str, event: str, row: dict[str, Any]) -> None:
        bits = [f"[{time.time() - self.started:7.1f} s] {name}: {event}"]
        if row.get("steps") is not None:
            bits.append(f"steps {row['steps']}")
        if row.get("best_eval_progress") is not None:
            bits.append(f"best eval {row['best_eval_progress']:.1f}%")
        lap = row.get("best_lap_time")
        if isinstance(lap, float) and math.isfinite(lap):
            bits.append(f"best lap {lap:.2f} s")
        print(", ".join(bits), file=self.stream, flush=True)

    def close(self) -> None:
        """The final table (terminal) or the final counts (file)."""
        if self.live:
            self.draw()
        else:
            print("\n".join(self.lines()), file=self.stream, flush=True)
