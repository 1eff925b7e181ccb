"""Racing line: each track's lap-time limit under the simulator's car, and the line that reaches it.

Public surface:

* :func:`compute_raceline` -> :class:`RacingLine`: the line of a track for a physics version's
  car (or any :class:`~deepracer_sim.sim.car.Dynamics`), its speed profile and limit lap time;
  :data:`SAFETY_MARGIN` (the default clearance) and :data:`RULES_MARGIN` (the rules bound);
* :class:`CarLimits`, :func:`speed_profile`, :data:`STEER_RESERVE_DEG`: the car's limits along a
  line and the time-optimal speed profile under them;
* :func:`box_qp`: the bounded quadratic programme of each optimisation step;
* :func:`drive_line`, :func:`replay_commands` -> :class:`Drive`: the line driven in the
  simulator by a tracking controller, and its commands replayed open loop in the env;
* :func:`reward_source`, :func:`line_action_space`, :func:`plot_line`, :data:`TABLE_HEADER`,
  :func:`table_row`: a reward file, an action space, a PNG and table rows for a line.

Modules, one job each: :mod:`.limits` (car limits, speed profile kernels), :mod:`.corridor`
(reference and road corridor), :mod:`.qp` (the optimisation), :mod:`.lap` (the dense line and
its standing-start lap), :mod:`.line` (the racing line and the choice of its weight),
:mod:`.controller` (driving and replaying), :mod:`.outputs` (files and text). The method and
its measured results: ``docs/raceline.md``.
"""

from __future__ import annotations

from deepracer_sim.raceline.controller import Drive, drive_line, replay_commands
from deepracer_sim.raceline.limits import STEER_RESERVE_DEG, CarLimits, speed_profile
from deepracer_sim.raceline.line import (
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

__all__ = [
    "RULES_MARGIN",
    "SAFETY_MARGIN",
    "STEER_RESERVE_DEG",
    "TABLE_HEADER",
    "CarLimits",
    "Drive",
    "RacingLine",
    "box_qp",
    "compute_raceline",
    "drive_line",
    "line_action_space",
    "plot_line",
    "replay_commands",
    "reward_source",
    "speed_profile",
    "table_row",
]
