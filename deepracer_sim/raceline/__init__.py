"""Racing line: each track's lap-time limits under the simulator's car, and the line that reaches
them.

Public surface:

* :func:`compute_raceline` -> :class:`RacingLine`: the line of a track for a simulator
  generation's car (or any :class:`~deepracer_sim.sim.car.CarParams`), its speed profiles and
  lap times (standing start and flying lap); :data:`SAFETY_MARGIN` (the default clearance) and
  :data:`RULES_MARGIN` (the rules bound);
* :func:`compute_bounds` -> :class:`LapBounds`: the limit, the rules bound, the flying lap and
  the flying rules bound, a looser one never slower than a tighter one;
* :func:`read_records`, :func:`check_records`: the flying rules bound beside leaderboard records;
* :class:`CarLimits`, :func:`speed_profile`, :data:`TRANSIENT_GRIP`: the car's limits along a
  line and the time-optimal speed profile under them;
* :func:`box_qp`: the bounded quadratic programme of each optimisation step;
* :func:`drive_line`, :func:`replay_commands` -> :class:`Drive`: the line driven in the
  simulator by a tracking controller, and its commands replayed open loop in the env;
* :func:`reward_source`, :func:`line_action_space`, :func:`plot_line`, :data:`TABLE_HEADER`,
  :func:`table_row`: a reward file, an action space, a PNG and table rows for a line.

Modules, one job each: :mod:`.limits` (car limits, speed profile kernels), :mod:`.corridor`
(reference and road corridor), :mod:`.qp` (the optimisation), :mod:`.lap` (the dense line and
its laps), :mod:`.line` (the racing line and the choice of its weight), :mod:`.bounds` (the four
limits), :mod:`.records` (the records check), :mod:`.controller` (driving and replaying),
:mod:`.outputs` (files and text). The method and its measured results: ``docs/raceline.md``.
"""

from __future__ import annotations

from deepracer_sim.raceline.bounds import LapBounds, compute_bounds
from deepracer_sim.raceline.controller import Drive, drive_line, driven_speed, replay_commands
from deepracer_sim.raceline.limits import TRANSIENT_GRIP, CarLimits, speed_profile
from deepracer_sim.raceline.line import (
    PHYSICS_VERSION,
    RULES_MARGIN,
    SAFETY_MARGIN,
    RacingLine,
    compute_raceline,
)
from deepracer_sim.raceline.outputs import (
    TABLE_HEADER,
    line_action_space,
    plot_line,
    reward_source,
    table_row,
)
from deepracer_sim.raceline.qp import box_qp
from deepracer_sim.raceline.records import Record, check_records, read_records

__all__ = [
    "PHYSICS_VERSION",
    "RULES_MARGIN",
    "SAFETY_MARGIN",
    "TABLE_HEADER",
    "TRANSIENT_GRIP",
    "CarLimits",
    "Drive",
    "LapBounds",
    "RacingLine",
    "Record",
    "box_qp",
    "check_records",
    "compute_bounds",
    "compute_raceline",
    "drive_line",
    "driven_speed",
    "line_action_space",
    "plot_line",
    "read_records",
    "replay_commands",
    "reward_source",
    "speed_profile",
    "table_row",
]
