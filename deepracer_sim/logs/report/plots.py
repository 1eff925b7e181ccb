"""The report's plots (matplotlib, imported when a plot is drawn: the command line does not
pay for it): one ``plot_*`` function per entry of :data:`.data.PLOT_NAMES`, each returning a
figure that :func:`png` turns into PNG bytes."""

from __future__ import annotations

import io
import math

import numpy as np

from deepracer_sim.logs.reader import RunLogs
from deepracer_sim.logs.report.data import (
    DPI,
    SECTIONS,
    action_table,
    checkpoints,
    eval_metrics_by_iteration,
    numeric_actions,
    per_iteration,
    select_episodes,
    training,
    training_series,
)
from deepracer_sim.track.model import Track


def png(fig, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (the figure is closed)."""
    buf = io.BytesIO()
    # constrained layout instead of bbox_inches="tight" (which draws every figure twice), and a
    # fast zlib level: the report is written in a few seconds
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 2})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def integer_x(ax) -> None:
    """Integer ticks on the x axis (iterations)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def draw_track(ax, track: Track | None) -> None:
    """The track's borders, dashed centre line and start point (none without a track)."""
    if track is not None:
        wp = track.waypoints
        ax.plot(*wp[:, 2:4].T, color="0.35", lw=1)
        ax.plot(*wp[:, 4:6].T, color="0.35", lw=1)
        ax.plot(*wp[:, 0:2].T, color="0.7", lw=0.6, ls="--")
        ax.plot(*wp[0, 0:2], marker="o", color="green", ms=4)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])



def plot_training_progress(logs: RunLogs):
    import matplotlib.pyplot as plt

    it, reward, progress, complete, source = training_series(logs)
    its, rmean = per_iteration(it, reward)
    _, rstd = per_iteration(it, reward, np.std)
    _, pmean = per_iteration(it, progress)
    _, comp = per_iteration(it, complete)
    ev = eval_metrics_by_iteration(logs)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained")
    ax = axes[0]
    ax.plot(its, rmean, "o-", ms=3, label="training mean")
    ax.fill_between(its, rmean - rstd, rmean + rstd, alpha=0.2, label="± 1 std")
    ax.set(title="Reward per episode", xlabel="iteration", ylabel="total reward")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(its, pmean, "o-", ms=3, label="training")
    if ev:
        ax.plot(ev["iteration"], ev["progress"], "s-", ms=3, color="tab:orange",
                label="evaluation")
    ax.set(title="Mean progress", xlabel="iteration", ylabel="progress %", ylim=(0, 105))
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(its, comp * 100.0, "o-", ms=3, label="training")
    if ev:
        ax.plot(ev["iteration"], ev["completion"], "s-", ms=3, color="tab:orange",
                label="evaluation")
    ax.set(title="Completion rate", xlabel="iteration", ylabel="laps completed %",
           ylim=(-3, 105))
    ax.legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
        integer_x(ax)
    fig.suptitle(f"Training progress: {len(it)} episodes in {len(its)} iterations ({source})")
    return fig



def plot_track_paths(logs: RunLogs, track: Track | None):
    import matplotlib.pyplot as plt

    tr = training(logs)
    cols, e = tr.columns, tr.episodes
    fig, ax = plt.subplots(figsize=(9, 7), layout="constrained")
    draw_track(ax, track)
    its = np.unique(e["iteration"])
    recent = np.flatnonzero(e["iteration"] >= its[max(0, len(its) - max(1, len(its) // 10))])
    for k in recent[-200:]:
        sl = slice(e["first"][k], e["last"][k] + 1)
        ax.plot(cols["X"][sl], cols["Y"][sl], color="0.6", lw=0.5, alpha=0.4)
    for k in select_episodes(e):
        sl = slice(e["first"][k], e["last"][k] + 1)
        what = (f"{e['time'][k]:.2f} s lap" if e["complete"][k]
                else f"{e['progress'][k]:.0f}% ({e['status'][k]})")
        label = f"iter {e['iteration'][k]}, ep {e['episode'][k]}"
        if len(np.unique(e["worker"])) > 1:
            label += f", worker {e['worker'][k]}"
        ax.plot(cols["X"][sl], cols["Y"][sl], lw=1.6, label=f"{label}: {what}")
    ax.legend(fontsize=8, loc="best")
    title = "Fastest laps" if e["complete"].any() else "Furthest episodes"
    ax.set_title(f"{title} (grey: episodes of the last iterations)")
    return fig


def plot_reward_heatmap(logs: RunLogs, track: Track | None):
    import matplotlib.pyplot as plt

    cols = training(logs).columns
    fig, ax = plt.subplots(figsize=(9, 7), layout="constrained")
    x, y, r = cols["X"], cols["Y"], cols["reward"]
    run = cols["episode_status"] != "prepare"
    span = max(np.ptp(x[run]) if run.any() else 1.0, np.ptp(y[run]) if run.any() else 1.0, 1.0)
    # colour limits from the 1st-99th percentile: one outlier must not wash out the map
    lo, hi = np.percentile(r[run], [1, 99]) if run.any() else (0.0, 1.0)
    hb = ax.hexbin(x[run], y[run], C=r[run], reduce_C_function=np.mean,
                   gridsize=int(np.clip(span / 0.08, 20, 120)), cmap="inferno", mincnt=1,
                   vmin=lo, vmax=hi if hi > lo else lo + 1e-9)
    draw_track(ax, track)
    fig.colorbar(hb, ax=ax, shrink=0.8, label="mean reward per step")
    ax.set_title("Reward heatmap")
    return fig


def plot_speed_steering(logs: RunLogs, track: Track | None):
    import matplotlib.pyplot as plt

    cols, e = training(logs).columns, training(logs).episodes
    rows = np.zeros(len(cols["X"]), dtype=bool)
    done = np.flatnonzero(e["complete"].astype(bool))
    source = "completed laps" if len(done) else "all episodes"
    for k in (done if len(done) else range(len(e["episode"]))):
        rows[e["first"][k]:e["last"][k] + 1] = True
    rows &= cols["episode_status"] != "prepare"
    wp = cols["closest_waypoint"][rows]
    n = len(track.waypoints) if track is not None else int(cols["closest_waypoint"].max()) + 1
    count = np.bincount(wp, minlength=n).astype(float)
    seen = count > 0
    fig, axes = plt.subplots(2, 1, figsize=(13, 6), sharex=True, layout="constrained")
    for ax, name, label, color in ((axes[0], "throttle", "speed m/s", "tab:blue"),
                                   (axes[1], "steer", "steering ° (+ left)", "tab:red")):
        v = cols[name][rows]
        s = np.bincount(wp, v, minlength=n)
        s2 = np.bincount(wp, v * v, minlength=n)
        mean = np.full(n, np.nan)
        std = np.full(n, np.nan)
        mean[seen] = s[seen] / count[seen]
        std[seen] = np.sqrt(np.maximum(s2[seen] / count[seen] - mean[seen] ** 2, 0.0))
        idx = np.arange(n)
        ax.fill_between(idx, mean - std, mean + std, color=color, alpha=0.2)
        ax.plot(idx, mean, color=color, lw=1.5)
        if name == "steer":
            ax.axhline(0, color="0.5", lw=0.8)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].set_xlabel("closest waypoint")
    axes[0].set_title(f"Mean speed and steering per waypoint ({source}, ± 1 std)")
    return fig


def plot_action_sections(logs: RunLogs, track: Track | None):
    import matplotlib.pyplot as plt

    cols = training(logs).columns
    run = cols["episode_status"] != "prepare"
    n = len(track.waypoints) if track is not None else int(cols["closest_waypoint"].max()) + 1
    section = np.minimum(cols["closest_waypoint"][run] * SECTIONS // max(n, 1), SECTIONS - 1)
    actions = numeric_actions(cols)
    table = action_table(logs)
    if actions is not None:
        act = actions[run]
        k = max(int(act.max()) + 1 if len(act) else 1, len(table) if table else 0)
        labels = []
        for a in range(k):
            if table and a < len(table):
                st, sp = table[a]
            else:
                sel = act == a
                st = float(np.mean(cols["steer"][run][sel])) if sel.any() else math.nan
                sp = float(np.mean(cols["throttle"][run][sel])) if sel.any() else math.nan
            labels.append(f"{a}: {st:+.0f}° {sp:.2f} m/s")
        kind = "action"
    else:  # continuous: steering bins
        edges = np.linspace(-30, 30, 7)
        act = np.clip(np.digitize(cols["steer"][run], edges[1:-1]), 0, len(edges) - 2)
        k = len(edges) - 1
        labels = [f"steer {edges[b]:+.0f}..{edges[b + 1]:+.0f}°" for b in range(k)]
        kind = "steering bin"
    counts = np.zeros((k, SECTIONS))
    np.add.at(counts, (act, section), 1)
    share = counts / np.maximum(counts.sum(0, keepdims=True), 1) * 100.0
    fig, ax = plt.subplots(figsize=(12, max(3.5, 0.35 * k + 1.5)), layout="constrained")
    im = ax.imshow(share, aspect="auto", cmap="viridis", origin="lower")
    for i in range(k):
        for j in range(SECTIONS):
            if share[i, j] >= 0.5:
                ax.text(j, i, f"{share[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="w" if share[i, j] < share.max() * 0.6 else "k")
    ax.set_yticks(range(k), labels, fontsize=8)
    bounds = [f"{s * n // SECTIONS}-{min((s + 1) * n // SECTIONS, n) - 1}"
              for s in range(SECTIONS)]
    ax.set_xticks(range(SECTIONS), [f"{s + 1}\nwp {b}" for s, b in enumerate(bounds)],
                  fontsize=8)
    ax.set_xlabel("track section (tenths of the waypoints)")
    fig.colorbar(im, ax=ax, label="% of the steps in the section")
    ax.set_title(f"Use of each {kind} per track section")
    return fig


def plot_lap_time_histogram(times: np.ndarray, source: str):
    import matplotlib.pyplot as plt

    mean, std = float(np.mean(times)), float(np.std(times))
    fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    bins = max(5, min(40, len(times) // 2))
    ax.hist(times, bins=bins, color="tab:blue", alpha=0.75, edgecolor="w")
    for x, label, color in ((mean, f"mean {mean:.2f} s", "k"),
                            (mean - 2 * std, f"-2σ {mean - 2 * std:.2f} s", "tab:orange"),
                            (mean - 3 * std, f"-3σ {mean - 3 * std:.2f} s", "tab:red")):
        ax.axvline(x, color=color, ls="--", lw=1.5, label=label)
    ax.set(xlabel="lap time s", ylabel="completed laps",
           title=f"Lap times of {len(times)} completed laps ({source}); fastest "
                 f"{times.min():.2f} s")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_fastest_laps(logs: RunLogs, it: np.ndarray, times: np.ndarray, source: str):
    import matplotlib.pyplot as plt

    p25 = float(np.percentile(times, 25))
    fast = times <= p25
    fig, ax = plt.subplots(figsize=(12, 4.8), layout="constrained")
    ax.scatter(it[~fast], times[~fast], s=10, color="0.7", label="completed lap")
    ax.scatter(it[fast], times[fast], s=16, color="tab:red",
               label=f"≤ 25th percentile ({p25:.2f} s)")
    its, best = per_iteration(it, times, np.min)
    ax.plot(its, best, color="tab:red", lw=0.8, alpha=0.6, label="fastest per iteration")
    ev = eval_metrics_by_iteration(logs)
    if ev and ev["all_complete"].any():
        sel = ev["all_complete"]
        ax.scatter(ev["all_iteration"][sel], ev["all_time"][sel], marker="s", s=18,
                   facecolors="none", edgecolors="tab:orange", label="evaluation lap")
    ckpt = checkpoints(logs)
    for k, (i, _) in enumerate(ckpt["kept"]):
        ax.axvline(i, color="tab:green", lw=0.8, alpha=0.5,
                   label="saved checkpoint" if k == 0 else None)
    if ckpt["best"] is not None:
        ax.axvline(ckpt["best"], color="tab:green", lw=2.2,
                   label=f"best checkpoint (iteration {ckpt['best']})")
    ax.set(xlabel="iteration", ylabel="lap time s",
           title=f"Fastest laps per iteration ({source})")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    integer_x(ax)
    return fig




def plot_evaluation_laps(logs: RunLogs, track: Track | None):
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    laps = []
    for tr in logs.evaluations[-4:]:
        e = tr.episodes
        for k in range(min(len(e["episode"]), 3)):
            laps.append((tr, k))
    ncol = min(3, len(laps))
    nrow = math.ceil(len(laps) / ncol)
    if track is not None:
        size = np.ptp(track.waypoints[:, 4:6], axis=0)
    else:
        size = np.array([np.ptp(laps[0][0].columns["X"]), np.ptp(laps[0][0].columns["Y"])])
    aspect = float(np.clip(size[1] / max(size[0], 1e-9), 0.3, 2.0))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, (5.0 * aspect + 0.9) * nrow),
                             squeeze=False, layout="constrained")
    vmin = min(float(np.nanmin(tr.columns["throttle"])) for tr, _ in laps)
    vmax = max(float(np.nanmax(tr.columns["throttle"])) for tr, _ in laps)
    vmax = vmax if vmax > vmin else vmin + 1.0
    line = None
    for ax, (tr, k) in zip(axes.flat, laps, strict=False):
        cols, e = tr.columns, tr.episodes
        sl = slice(e["first"][k], e["last"][k] + 1)
        pts = np.stack([cols["X"][sl], cols["Y"][sl]], 1)
        segs = np.stack([pts[:-1], pts[1:]], 1)
        line = LineCollection(list(segs), cmap="plasma", norm=plt.Normalize(vmin, vmax), lw=2.2)
        line.set_array(cols["throttle"][sl][1:])
        ax.add_collection(line)
        draw_track(ax, track)
        ax.autoscale()
        what = (f"{e['time'][k]:.2f} s" if e["complete"][k]
                else f"{e['progress'][k]:.0f}% {e['status'][k]}")
        speed = float(np.mean(cols["throttle"][sl]))
        ax.set_title(f"{tr.name[:28]}\nlap {k + 1}: {what}, mean {speed:.2f} m/s", fontsize=9)
    for ax in list(axes.flat)[len(laps):]:
        ax.axis("off")
    if line is not None:
        fig.colorbar(line, ax=axes.ravel().tolist(), shrink=0.7,
                     label="commanded speed m/s")
    fig.suptitle("Evaluation laps coloured by speed")
    return fig


def plot_policy_update(logs: RunLogs):
    import matplotlib.pyplot as plt

    it = np.array([p["iteration"] for p in logs.policy])
    ent = np.array([p["entropy"] for p in logs.policy], dtype=float)
    kl = np.array([p["kl"] for p in logs.policy], dtype=float)
    fig, ax = plt.subplots(figsize=(11, 4), layout="constrained")
    ax.plot(it, ent, "o-", ms=3, color="tab:purple", label="entropy")
    ax.set(xlabel="iteration", ylabel="policy entropy")
    ax2 = ax.twinx()
    ax2.plot(it, kl, "s-", ms=3, color="tab:gray", label="KL divergence")
    ax2.set_ylabel("KL divergence")
    ax.grid(alpha=0.3)
    integer_x(ax)
    (handles, labels), (handles2, labels2) = (ax.get_legend_handles_labels(),
                                              ax2.get_legend_handles_labels())
    ax.legend(handles + handles2, labels + labels2, fontsize=8)
    ax.set_title("Policy updates: entropy falls as the policy converges")
    return fig

