"""The report's HTML page: one self-contained file (the plots are PNG data URIs)."""

from __future__ import annotations

import base64
import html
import json
import math

import numpy as np

from deepracer_sim.logs.reader import RunLogs
from deepracer_sim.logs.report.data import PLOT_NAMES, stability_rows, training

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;max-width:1400px;
color:#222}
h1{font-size:1.5em} h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:0.9em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#f3f3f3}
td:first-child{text-align:left} img{max-width:100%;border:1px solid #eee}
.note{color:#666;font-size:0.9em}
"""


CAPTIONS = {
    "training_progress": ("Training progress",
                          "Is it learning? Training episodes (blue) and the in-training "
                          "evaluation of each iteration's checkpoint (orange)."),
    "track_paths": ("Episode paths", "The racing line of the fastest laps."),
    "reward_heatmap": ("Reward heatmap",
                       "Where the reward function pays: a thin bright band is a consistent "
                       "line; scattered dots mark sections to work on."),
    "speed_steering": ("Speed and steering along the track",
                       "Where the car brakes before a corner and how it steers through it."),
    "action_sections": ("Action usage per track section",
                        "Which actions the policy uses where; unused actions can be pruned."),
    "lap_time_histogram": ("Lap-time envelope",
                           "mean - 2σ is reached by about 2 % of laps, mean - 3σ by 0.1 %: "
                           "the best lap to expect from this model."),
    "fastest_laps": ("Fastest laps per iteration",
                     "Iterations with dense red dots are fast and stable: good checkpoints "
                     "to evaluate."),
    "evaluation_laps": ("Evaluation laps", "Each evaluation lap coloured by speed."),
    "crashes": ("Crashes", "Where training episodes ended crashed into a box or a bot car."),
    "policy_update": ("Policy updates", "Entropy and KL divergence of the PPO updates."),
}


def table(header: list[str], rows: list[list]) -> str:
    """An HTML table; floats with 3 decimals (none from 1000 on), "-" for nan."""
    def cell(v):
        if isinstance(v, float):
            return "-" if not math.isfinite(v) else f"{v:.3f}" if abs(v) < 1000 else f"{v:.0f}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def page(logs: RunLogs, plots: dict[str, bytes], skipped: dict[str, str], summary: dict,
         times: np.ndarray) -> str:
    """The self-contained HTML page: the summary, the evaluations, each plot (a PNG data URI)
    or why it is missing, the fastest laps, the step timing and the hyperparameters."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>DeepRacer run report: "
             f"{html.escape(logs.root.name)}</title><style>{CSS}</style></head><body>",
             f"<h1>DeepRacer run report: {html.escape(logs.root.name)}</h1>",
             table(["", ""], [[k, v] for k, v in summary.items()])]
    if logs.evaluations:
        rows = []
        for tr in logs.evaluations:
            e = tr.episodes
            done = e["complete"].astype(bool)
            rows.append([tr.name, len(e["episode"]), int(done.sum()),
                         ", ".join(f"{t:.2f}" if c else f"{p:.0f}%"
                                   for t, c, p in zip(e["time"], done, e["progress"],
                                                      strict=True))])
        parts += ["<h2>Evaluations</h2>",
                  table(["evaluation", "laps", "completed", "lap times s / progress"], rows)]
    for name in PLOT_NAMES:
        title, caption = CAPTIONS[name]
        parts.append(f"<h2 id='{name}'>{html.escape(title)}</h2>")
        if name in plots:
            data = base64.b64encode(plots[name]).decode("ascii")
            parts.append(f"<p class='note'>{html.escape(caption)}</p>"
                         f"<img alt='{name}' src='data:image/png;base64,{data}'>")
        else:
            parts.append(f"<p class='note'>Not drawn: {html.escape(skipped.get(name, ''))}.</p>")
        if name == "fastest_laps" and len(times):
            e = training(logs).episodes
            done = np.flatnonzero(e["complete"].astype(bool))
            top = done[np.argsort(e["time"][done], kind="stable")][:10]
            if len(top):
                parts.append(table(["iteration", "episode", "worker", "lap time s",
                                     "start waypoint"],
                                    [[int(e["iteration"][k]), int(e["episode"][k]),
                                      int(e["worker"][k]), float(e["time"][k]),
                                      int(e["start_at"][k])] for k in top]))
    parts += ["<h2>Simulation step timing (last 10 iterations)</h2>",
              "<p class='note'>Cloud runs: an average step above 70 ms or a p95 above 90 ms "
              "means a struggling simulator (target 66.7 ms). RTF: simulated seconds per wall "
              "second of one car.</p>",
              table(["iteration", "rows", "avg step ms", "p95 step ms", "RTF"],
                     stability_rows(training(logs)))]
    if logs.hyperparameters:
        parts += ["<h2>Hyperparameters</h2>",
                  table(["key", "value"], [[k, json.dumps(v)] for k, v in
                                            sorted(logs.hyperparameters.items())])]
    parts.append("<p class='note'>Generated by deepracer_sim.analyze.</p></body></html>")
    return "\n".join(parts)
