"""The analysis report (``deepracer-sim analyze``): every plot exists and shows
something, the page is self-contained, its numbers are the trainer's, and it reads real cloud
runs (deepracer-for-cloud with 3 workers, DeepRacer-on-AWS).

The project run drives a 1 m wide circle whose radius is the one the project's car model drives
at the middle action (8 degrees at 2 m/s; measured with ``car.advance_car`` and a least-squares
circle fit), so the short training completes laps.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import driven_radius

from deepracer_sim.cli import main as cli_main
from deepracer_sim.errors import TrackError
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.logs.reader import read_run
from deepracer_sim.logs.report import PLOT_NAMES, build_report, track_of
from deepracer_sim.logs.report.plots import plot_track_paths, png
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.training.ppo import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ACTIONS = [(5.0, 2.0), (8.0, 2.0), (11.0, 2.0)]
DPI = 50  # small PNGs keep the test fast; the plots are the same


def circle_array(radius: float, width: float = 1.0, n: int = 60) -> np.ndarray:
    a = np.linspace(0.0, 2.0 * np.pi, n + 1)
    c = np.stack([np.cos(a), np.sin(a)], 1)
    arr = np.concatenate([radius * c, (radius - width / 2) * c, (radius + width / 2) * c], 1)
    arr[-1] = arr[0]
    return arr


def check_png(data: bytes) -> None:
    """A decodable PNG of a real plot: not tiny, many colours, not one flat background."""
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(data), format="png")
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    rgb = (img[..., :3] * 255).round().astype(np.uint32).reshape(-1, 3)
    flat = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    colours, counts = np.unique(flat, return_counts=True)
    assert len(colours) > 10
    # at least 2 % of the pixels differ from the most common colour (the background)
    assert 1.0 - counts.max() / len(flat) > 0.02


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A 2-iteration training (2048 steps / (8 cars x 128)), a 2-lap evaluation and its report."""
    d = tmp_path_factory.mktemp("analyze")
    np.save(d / "circle.npy", circle_array(driven_radius(*ACTIONS[1])))
    cfg = TrainConfig(reward=ROOT / "rewards" / "center.py", track=str(d / "circle.npy"),
                      action_space=ActionSpace(np.array(ACTIONS)), version=6.0, out=d / "run",
                      timesteps=2048, n_envs=8, n_steps=128, seed=0)
    result = train(cfg, progress_bar=False)
    evaluate_run(d / "run", laps=2, checkpoint="last")
    report = build_report(d / "run", d / "report", dpi=DPI)
    return {"dir": d / "run", "result": result, "report": report, "out": d / "report"}


def test_every_plot_of_a_project_run(project) -> None:
    report = project["report"]
    # a time trial has no crashes to draw
    assert set(report.plots) == set(PLOT_NAMES) - {"crashes"}
    assert set(report.skipped) == {"crashes"}
    for name, data in report.plots.items():
        check_png(data)
        assert (project["out"] / "plots" / f"{name}.png").read_bytes() == data


def test_page_is_self_contained(project) -> None:
    page = project["report"].html_path.read_text()
    srcs = re.findall(r"<img [^>]*src='([^']*)'", page)
    assert len(srcs) == len(PLOT_NAMES) - 1  # no crashes plot in a time trial
    embedded = {base64.b64decode(s.removeprefix("data:image/png;base64,")) for s in srcs}
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert embedded == set(project["report"].plots.values())
    assert "http://" not in page and "https://" not in page


def test_report_numbers_are_the_trainers(project) -> None:
    stats = project["result"].iterations
    summary = project["report"].summary
    assert summary["episodes"] == sum(len(s.rewards) for s in stats)
    assert summary["iterations"] == len(stats) == 2
    assert summary["completed laps"] == sum(s.completed for s in stats) > 0
    laps = [t for s in stats for t in s.lap_times]
    # printed with 3 decimals (a mean can sit on a rounding tie: compare within 1 ms)
    assert float(summary["fastest lap"].removesuffix(" s")) == pytest.approx(min(laps), abs=1e-3)
    assert float(summary["mean lap"].removesuffix(" s")) == pytest.approx(np.mean(laps), abs=1e-3)
    best = json.loads((project["dir"] / "model" / "deepracer_checkpoints.json").read_text())
    assert summary["best checkpoint"] == best["best_checkpoint"]["name"]
    assert project["report"].track.name == "circle"


def test_command_line_rejects_a_folder_without_logs(tmp_path: Path, capsys) -> None:
    assert cli_main(["analyze", str(tmp_path)]) == 2
    assert "no training sim-trace" in capsys.readouterr().err


def test_plots_without_a_track(project) -> None:
    import matplotlib

    matplotlib.use("Agg")
    check_png(png(plot_track_paths(read_run(project["dir"]), None), DPI))


def _real(name: str) -> Path:
    path = SHARED / "real-logs" / name
    if not path.is_dir() or not (SHARED / "tracks").is_dir():
        pytest.skip(f"{path} or {SHARED / 'tracks'} not found")
    return path


@pytest.mark.shared_data
def test_report_of_deepracer_for_cloud_logs(tmp_path: Path) -> None:
    """3 workers, 17 columns, 3 evaluations; the track is found by its length (17.709 m) and
    the logged waypoint numbers among the official tracks."""
    report = build_report(_real("sample-drfc-3-logs"), tmp_path, tracks_dir=SHARED / "tracks",
                          dpi=DPI)
    assert report.track is not None and report.track.name == "reinvent_base"
    # no entropy in a DRfC model folder; everything else is there
    assert set(report.plots) == set(PLOT_NAMES) - {"policy_update", "crashes"}
    assert set(report.skipped) == {"policy_update", "crashes"}
    for data in report.plots.values():
        check_png(data)
    # 23 iterations x 3 workers x 10 episodes (num_episodes_between_training 30 / 3 workers)
    assert report.summary["episodes"] == 690 and report.summary["workers"] == 3


@pytest.mark.shared_data
def test_report_of_deepracer_on_aws_logs_from_the_command_line(tmp_path: Path,
                                                                capsys) -> None:
    """19 columns, the track named by the simulation log's WORLD_NAME; the training sim-trace
    (2 iterations) has no completed lap, so the lap-time plots use TrainingMetrics."""
    logs_dir = _real("sample-droa-solution-logs")
    out = tmp_path / "report"
    assert cli_main(["analyze", str(logs_dir), "--out", str(out), "--tracks-dir",
                     str(SHARED / "tracks"), "--dpi", str(DPI)]) == 0
    printed = capsys.readouterr().out
    assert f"report: {out / 'index.html'} (8 plots" in printed
    assert "not drawn: policy_update" in printed
    pngs = {p.stem: p.read_bytes() for p in (out / "plots").glob("*.png")}
    assert set(pngs) == set(PLOT_NAMES) - {"policy_update", "crashes"}
    for data in pngs.values():
        check_png(data)
    page = (out / "index.html").read_text()
    assert "Spain_track (" in page
    metrics = json.loads(next((logs_dir / "metrics" / "training").glob("*.json")).read_text())
    completed = sum(m["phase"] == "training" and m["episode_status"] == "Lap complete"
                    for m in metrics["metrics"])
    assert completed > 0
    assert f"{completed} completed laps, TrainingMetrics" in page


@pytest.mark.shared_data
def test_track_of_by_name_and_unknown(tmp_path: Path) -> None:
    logs = read_run(_real("sample-droa-solution-logs"))
    assert track_of(logs, "reinvent_base", SHARED / "tracks").name == "reinvent_base"
    with pytest.raises(TrackError, match="no_such_track"):
        track_of(logs, "no_such_track", tmp_path)
