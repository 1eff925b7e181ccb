"""Files and text built from a racing line: a DeepRacer reward file that follows it, a discrete
action space clustered from the commands it needs, a PNG of it, and markdown table rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepracer_sim.constants import (
    MAX_DISCRETE_ACTIONS,
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_DISCRETE_ACTIONS,
    MIN_SPEED,
    REFERENCE_POINT_X,
    STEP_DT,
)
from deepracer_sim.errors import UsageError
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.raceline.line import RacingLine
from deepracer_sim.track.draw import save_figure

_REWARD_TEMPLATE = '''"""Racing-line reward for {track} (deepracer-sim raceline, physics version
{version}).

Rewards following the racing line at its speed. The line is the path of the params' (x, y)
point (0.14 m ahead of the car's centre) with the speed command it needs at each point; its
limit lap time under the simulator's car is {lap:.3f} s ({steps} steps). Plain Python with
only the math module: it runs unchanged in the DeepRacer console.
"""

import math

# (x, y, target speed command m/s of a lap at speed) every ~{spacing:.2f} m along the racing line
LINE = [
{points}
]
#: steps of the limit lap (pace 1.0 = on the limit's schedule)
LIMIT_STEPS = {steps}
#: lateral distance from the line at which the distance reward reaches 0, m
DIST_SCALE = {dist_scale}
#: speed error at which the speed reward reaches 0, m/s
SPEED_SCALE = 2.0


def nearest(x, y):
    """(distance to the line, index of the nearer end of the nearest segment)."""
    best = 1e9
    best_i = 0
    n = len(LINE)
    for i in range(n):
        ax, ay = LINE[i][0], LINE[i][1]
        bx, by = LINE[(i + 1) % n][0], LINE[(i + 1) % n][1]
        dx, dy = bx - ax, by - ay
        l2 = dx * dx + dy * dy
        t = 0.0 if l2 == 0.0 else ((x - ax) * dx + (y - ay) * dy) / l2
        t = min(max(t, 0.0), 1.0)
        d = math.hypot(ax + t * dx - x, ay + t * dy - y)
        if d < best:
            best = d
            best_i = i if t < 0.5 else (i + 1) % n
    return best, best_i


def reward_function(params):
    if params["is_offtrack"] or not params["all_wheels_on_track"]:
        return 1e-3
    dist, i = nearest(params["x"], params["y"])
    dist_reward = max(0.0, 1.0 - dist / DIST_SCALE)
    speed_error = abs(params["speed"] - LINE[i][2])
    speed_reward = max(0.0, 1.0 - speed_error / SPEED_SCALE)
    # lap pace: progress made per step, relative to the limit lap's
    steps = max(params["steps"] - 1.0, 1.0)
    pace = min(params["progress"] / 100.0 * LIMIT_STEPS / steps, 1.5)
    reward = dist_reward ** 2 + speed_reward ** 2 + pace
    if params["progress"] >= 100.0:
        reward += 10.0 * min(LIMIT_STEPS / steps, 1.0) ** 2
    return float(max(reward, 1e-3))
'''


def reward_source(line: RacingLine, spacing: float = 0.1, dist_scale: float = 0.3) -> str:
    """A plain DeepRacer reward file (Python source) that rewards following ``line`` at its
    speed (see the file's docstring); the line's points and speeds are inlined."""
    pts = line.points(spacing)
    # the params' (x, y) is the reference point 0.14 m ahead of the car origin
    head = np.interp(np.linspace(0.0, line.length, len(pts) + (1 if line.closed else 0))
                     [:len(pts)], line.s, np.unwrap(line.heading))
    rx = pts[:, 0] + REFERENCE_POINT_X * np.cos(head)
    ry = pts[:, 1] + REFERENCE_POINT_X * np.sin(head)
    _, speed_cmd = line.commands(flying=True)
    cmd = np.interp(np.linspace(0.0, line.length, len(pts) + (1 if line.closed else 0))
                    [:len(pts)], line.s, speed_cmd)
    rows = ",\n".join(f"    ({x:.4f}, {y:.4f}, {v:.3f})"
                      for x, y, v in zip(rx, ry, cmd, strict=True))
    steps = round(line.lap_time / STEP_DT) - 1
    version = "custom" if line.version is None else f"{line.version:g}"
    return _REWARD_TEMPLATE.format(track=line.track.name, version=version, lap=line.lap_time,
                                   steps=steps, spacing=spacing, points=rows,
                                   dist_scale=dist_scale)


def line_action_space(line: RacingLine, n_actions: int = 15) -> ActionSpace:
    """A discrete action space from the (steering, speed) commands the line needs.

    The commands sampled once per step along the lap are clustered (k-means on the steering
    magnitude / 30 degrees and speed / 4 m/s, deterministic start); each centre gives a left and
    a right action, and a straight action at the line's top speed command is always included:
    ``n_actions`` = 2k + 1 (an even count adds the line's fastest command pair).
    """
    from scipy.cluster.vq import kmeans2

    if not MIN_DISCRETE_ACTIONS <= n_actions <= MAX_DISCRETE_ACTIONS:
        raise UsageError(f"n_actions={n_actions}: DeepRacer accepts {MIN_DISCRETE_ACTIONS}-"
                         f"{MAX_DISCRETE_ACTIONS} discrete actions")
    steer, speed = line.commands(flying=True)
    t = np.arange(0.0, line.length, line.limits.v_max * STEP_DT)  # about a step apart
    st = np.interp(t, line.s, steer)
    sp = np.interp(t, line.s, speed)
    top = float(np.round(np.max(sp), 2))
    k = (n_actions - 1) // 2
    actions = [(0.0, top)]
    if k > 0:
        data = np.column_stack([np.abs(st) / MAX_STEERING_ANGLE, sp / MAX_SPEED])
        # deterministic start: quantiles of the steering magnitude
        order = np.argsort(data[:, 0], kind="stable")
        start = data[order[((np.arange(k) + 0.5) / k * len(order)).astype(int)]]
        centres, _ = kmeans2(data, start, iter=50, minit="matrix")
        centres = centres[np.argsort(centres[:, 0])]
        for a, v in centres:
            mag = float(np.clip(np.round(a * MAX_STEERING_ANGLE, 1), 0.5, MAX_STEERING_ANGLE))
            vel = float(np.clip(np.round(v * MAX_SPEED, 2), MIN_SPEED, MAX_SPEED))
            actions += [(-mag, vel), (mag, vel)]
    if len(actions) < n_actions:  # the hardest steering of the line, both ways
        i = int(np.argmax(np.abs(st)))
        mag = float(np.clip(np.round(abs(st[i]), 1), 0.5, MAX_STEERING_ANGLE))
        actions += [(-mag, float(np.round(sp[i], 2))), (mag, float(np.round(sp[i], 2)))]
    actions = sorted(set(actions[:n_actions]))
    return ActionSpace(np.array(actions, dtype=np.float64), continuous=False)


def plot_line(line: RacingLine, path: str | Path) -> None:
    """PNG of the track with the line coloured by speed and the lap time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    w = line.track.waypoints
    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    ax.plot(w[:, 2], w[:, 3], color="0.2", lw=1.2)
    ax.plot(w[:, 4], w[:, 5], color="0.2", lw=1.2)
    ax.plot(w[:, 0], w[:, 1], color="0.6", lw=0.8, ls="--")
    seg = np.stack([line.xy[:-1], line.xy[1:]], axis=1)
    lc = LineCollection(list(seg), cmap="plasma", linewidths=2.5)
    lc.set_array(0.5 * (line.speed[:-1] + line.speed[1:]))
    lc.set_clim(min(float(np.min(line.lap_speed(flying=True))), float(np.max(line.speed)) - 0.1),
                float(np.max(line.speed)))
    ax.add_collection(lc)
    fig.colorbar(lc, ax=ax, label="speed (m/s)", shrink=0.8)
    ax.plot(*line.xy[0], "o", color="green", ms=7, label="start")
    ax.set_aspect("equal")
    ax.set_title(f"{line.track.name}: limit lap {line.lap_time:.3f} s "
                 f"(line {line.length:.2f} m, version {_version_text(line)})")
    ax.legend(loc="best")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _version_text(line: RacingLine) -> str:
    return "custom" if line.version is None else f"{line.version:g}"


TABLE_HEADER = ("| track | length (m) | width (m) | line (m) | limit lap (s) | rules bound (s) |\n"
                "|---|---:|---:|---:|---:|---:|")


def table_row(line: RacingLine, bound: RacingLine | None = None) -> str:
    """A markdown row: track, centre-line length, width, line length, limit lap time (all four
    wheels on the road) and the rules bound (``bound``: the line with RULES_MARGIN)."""
    rules = f"{bound.lap_time:.3f}" if bound is not None else "-"
    return (f"| `{line.track.name}` | {line.track.length:.2f} | {line.track.width:.4f} | "
            f"{line.length:.2f} | {line.lap_time:.3f} | {rules} |")

