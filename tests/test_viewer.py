"""The pygame viewer, drawn offscreen (SDL_VIDEODRIVER=dummy): pixels where the geometry says,
the car's footprint and heading, the trail, the HUD, DeepRacerEnv's render modes, video
recording read back with imageio, and the training viewer's window process."""

from __future__ import annotations

import math
import os
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest
from shapely.geometry import Point, Polygon

from deepracer_sim import viewer as V
from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.sim import layout
from deepracer_sim.track import load_track
from deepracer_sim.training.evaluation import run_laps
from deepracer_sim.viewer import style as S
from deepracer_sim.viewer.record import RecordingError, check_video_path

ROOT = Path(__file__).resolve().parents[1]
CENTER = ROOT / "rewards" / "center.py"
#: the default action space: steering -30, -15, 0, 15, 30 (outer) x speed 0.5, 1.0 (inner)
STRAIGHT_FAST = 5  # steering 0 (third level: 2 * 2), speed 1.0 (second): index 2 * 2 + 1


def circle_track(n: int = 73, r: float = 2.0, half: float = 0.3) -> np.ndarray:
    """A CCW ring: centre radius r, inner r - half, outer r + half; first row == last row."""
    a = np.linspace(0.0, 2 * math.pi, n)
    a[-1] = 0.0
    c, s = np.cos(a), np.sin(a)
    return np.column_stack([r * c, r * s, (r - half) * c, (r - half) * s,
                            (r + half) * c, (r + half) * s])


def pixel(surface: pygame.Surface, xy: tuple[int, int]) -> tuple[int, int, int]:
    return tuple(surface.get_at(xy))[:3]


def near(surface: pygame.Surface, xy: tuple[int, int], colour, radius: int = 1) -> bool:
    """Whether ``colour`` is within ``radius`` pixels of ``xy`` (thin lines rasterise +-1)."""
    x, y = xy
    return any(pixel(surface, (x + dx, y + dy)) == colour
               for dx in range(-radius, radius + 1) for dy in range(-radius, radius + 1))


# --- the world-to-screen transform -----------------------------------------------------------

def test_camera_fit_transform_by_hand() -> None:
    cam = V.Camera((0.0, 0.0, 10.0, 5.0), 420, 220, margin=10)
    # scale = min((420 - 20) / 10, (220 - 20) / 5) = min(40, 40) = 40 px/m, centre (5, 2.5)
    assert cam.scale == 40.0
    assert cam.world_to_screen(5.0, 2.5) == (210.0, 110.0)
    # (0, 0): x 210 - 5 * 40 = 10; y 110 + 2.5 * 40 = 210 (screen y grows downwards)
    assert cam.world_to_screen(0.0, 0.0) == (10.0, 210.0)
    assert cam.world_to_screen(10.0, 5.0) == (410.0, 10.0)
    assert cam.screen_to_world(10.0, 210.0) == (0.0, 0.0)
    # zooming x2 about the screen point (10, 210) keeps world (0, 0) there
    cam.zoom(2.0, at=(10.0, 210.0))
    assert cam.scale == 80.0 and cam.mode == "free"
    assert np.allclose(cam.world_to_screen(0.0, 0.0), (10.0, 210.0))
    # dragging by (+40, -20) px moves the world by (+0.5, +0.25) m on screen
    cam.pan(40.0, -20.0)
    assert np.allclose(cam.world_to_screen(0.0, 0.0), (50.0, 190.0))
    # resizing a fitted view refits: 620 x 220 -> min(600 / 10, 200 / 5) = 40
    cam.fit()
    cam.resize(620, 220)
    assert cam.scale == 40.0 and cam.world_to_screen(5.0, 2.5) == (310.0, 110.0)


def test_ring_track_pixels_by_hand() -> None:
    """A ring of radius 2 m, 0.6 m wide, on 500 x 500 px: scale (500 - 2 * 16) / 4.6 m."""
    renderer = V.Renderer(circle_track())
    renderer.show_hud = False
    surface = pygame.Surface((500, 500))
    cam = renderer.draw(surface)
    s = 468.0 / 4.6  # 101.739 px/m; the ring's centre (0, 0) is the view's centre (250, 250)
    assert cam.scale == pytest.approx(s)
    q = math.cos(math.pi / 4)
    assert 1.85 * q * s == pytest.approx(133.09, abs=0.01)
    # road at radius 1.85, 45 degrees: (1.3081, 1.3081) m -> (250 + 133.09, 250 - 133.09)
    assert pixel(surface, (383, 116)) == S.ROAD
    # outer border, radius 2.3: 2.3 * q * s = 165.46 -> (415.46, 84.54); 5 px wide line
    assert near(surface, (415, 84), S.BORDER)
    # inner border, radius 1.7: 1.7 * q * s = 122.30 -> (372.30, 127.70)
    assert near(surface, (372, 127), S.BORDER)
    # the hole and the field outside (radius 2.6: 187.07 px -> (437, 62)) are background
    assert pixel(surface, (250, 250)) == S.BACKGROUND
    assert pixel(surface, (437, 62)) == S.BACKGROUND
    # the centre line is dashed: along the ring at radius 2 both dash and road pixels occur
    angles = np.linspace(0.3, 1.2, 200)
    cols = {pixel(surface, (int(250 + 2 * s * math.cos(a)), int(250 - 2 * s * math.sin(a))))
            for a in angles}
    assert S.CENTRE_LINE in cols and S.ROAD in cols


def test_track_pixels_agree_with_shapely() -> None:
    """Random points of dr_sim_default: clearly inside the road polygon (shapely, as the simapp
    builds it) -> road, dash or start line; clearly outside -> background."""
    track = load_track("dr_sim_default")
    wp = track.waypoints
    road = Polygon(wp[:, 4:6], [wp[:, 2:4]])
    renderer = V.Renderer(track)
    renderer.show_hud = False
    surface = pygame.Surface((900, 900))
    cam = renderer.draw(surface)
    # clear of the border lines: half their width (0.05 m, at least 2 px) plus 2.5 px for
    # rasterising and the cached layer's whole-pixel offset
    margin = (max(2, round(S.BORDER_WIDTH * cam.scale)) / 2 + 2.5) / cam.scale
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = V.TrackArt(track).bounds
    on_road = {S.ROAD, S.CENTRE_LINE, S.START_DARK, S.START_LIGHT}
    inside = outside = 0
    for x, y in zip(rng.uniform(x0, x1, 600), rng.uniform(y0, y1, 600), strict=True):
        p = Point(x, y)
        d = road.exterior.distance(p)
        d = min([d, *(ring.distance(p) for ring in road.interiors)])
        if d < margin:
            continue
        colour = pixel(surface, cam.pixel(x, y))
        if road.contains(p):
            assert colour in on_road, (x, y, colour)
            inside += 1
        else:
            assert colour == S.BACKGROUND, (x, y, colour)
            outside += 1
    assert inside > 50 and outside > 200
    # both borders at a few waypoints
    for i in (10, 40, 70, 100):
        assert near(surface, cam.pixel(*wp[i, 2:4]), S.BORDER), i
        assert near(surface, cam.pixel(*wp[i, 4:6]), S.BORDER), i


def test_waypoint_labels_toggle() -> None:
    renderer = V.Renderer(circle_track())
    renderer.show_hud = False
    plain = pygame.Surface((500, 500))
    renderer.draw(plain)
    renderer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_w))
    labelled = pygame.Surface((500, 500))
    renderer.draw(labelled)
    a = pygame.surfarray.array3d(labelled)
    assert (a == np.array(S.WAYPOINT)).all(axis=-1).sum() > 100
    assert not (pygame.surfarray.array3d(plain) == np.array(S.WAYPOINT)).all(axis=-1).any()


# --- the car ---------------------------------------------------------------------------------

def test_car_footprint_and_heading() -> None:
    """Following the car on 800 x 800 px: scale 800 / 4 = 200 px/m, the car origin at (400, 400).
    Its body is 0.32352 m long and 0.1961 m wide (spec §3.1), yaw 30 degrees."""
    renderer = V.Renderer(circle_track(), follow=True)
    renderer.show_hud = False
    car = V.CarView()
    yaw = math.radians(30.0)
    car.start((0.0, 2.0, yaw, 0.0, 0.0))
    surface = pygame.Surface((800, 800))
    cam = renderer.draw(surface, car)
    assert cam.scale == 200.0
    assert cam.world_to_screen(0.0, 2.0) == (400.0, 400.0)

    def at(fwd: float, left: float) -> tuple[int, int, int]:
        # car frame -> world: (fwd cos - left sin, fwd sin + left cos); screen y flips
        dx = fwd * math.cos(yaw) - left * math.sin(yaw)
        dy = fwd * math.sin(yaw) + left * math.cos(yaw)
        return pixel(surface, (int(400 + 200 * dx), int(400 - 200 * dy)))

    assert at(0.0, 0.0) == S.CAR_BODY
    # 0.13 m behind the origin: (-0.1126, -0.065) m -> (377.5, 413.0): inside (half length 0.162)
    assert at(-0.13, 0.0) == S.CAR_BODY
    assert pixel(surface, (377, 413)) == S.CAR_BODY
    assert at(0.0, 0.06) == S.CAR_BODY
    # 0.13 m to the side is outside (half width 0.098): the footprint is oriented along yaw
    for fwd, left in ((0.0, 0.13), (0.0, -0.13), (0.25, 0.0), (-0.25, 0.0)):
        assert at(fwd, left) not in (S.CAR_BODY, S.CAR_OUTLINE), (fwd, left)
    # the params' reference point, 0.14 m ahead, is marked
    assert at(0.14, 0.0) == S.REFERENCE_DOT


# --- env render modes, trail, HUD --------------------------------------------------------------

def test_env_render_modes() -> None:
    assert DeepRacerEnv.metadata["render_modes"] == ["human", "rgb_array"]
    with pytest.raises(ValueError, match="render_mode"):
        DeepRacerEnv(render_mode="bogus")
    env = DeepRacerEnv(render_mode="human", training=False)
    env.reset()
    env.step(STRAIGHT_FAST)
    assert env.render() is None
    env.close()
    plain = DeepRacerEnv(training=False)
    plain.reset()
    with pytest.warns(UserWarning, match="render_mode"):
        assert plain.render() is None  # no render_mode: warns, draws nothing


def test_rendering_does_not_change_the_episode() -> None:
    a = DeepRacerEnv(render_mode="rgb_array", training=False)
    b = DeepRacerEnv(training=False)
    a.reset()
    b.reset()
    for k in range(30):
        action = [STRAIGHT_FAST, 9, 0][k % 3]
        ra = a.step(action)
        a.render()
        rb = b.step(action)
        assert ra[1] == rb[1] and ra[2:4] == rb[2:4]
        assert np.array_equal(ra[0], rb[0])
        assert ra[4]["params"] == rb[4]["params"]


def straight_run(steps: int):
    env = DeepRacerEnv(render_mode="rgb_array", reward_function=CENTER, training=False)
    env.reset()
    frame0 = env.render()
    poses = [env.sim.s[0, :2].copy()]
    for _ in range(steps):
        env.step(STRAIGHT_FAST)
        poses.append(env.sim.s[0, :2].copy())
        frame = env.render()
    return env, frame0, frame, np.array(poses)


def test_rgb_array_frame_and_trail_follows_the_path() -> None:
    env, frame0, frame, poses = straight_run(20)
    assert frame.shape == (720, 960, 3) and frame.dtype == np.uint8
    cam = env._viewer.renderer.camera
    ramp = {tuple(c) for c in S.RAMP_TABLE}
    # the car started on the start straight heading +x; 20 steps at up to 1 m/s < 1.33 m
    assert poses[-1, 0] - poses[0, 0] > 1.0
    checked = 0
    for k in range(6, 15):  # from 0.3 m past the start line to 0.3 m behind the car
        mid = (poses[k] + poses[k + 1]) / 2.0
        x, y = cam.pixel(*mid)
        assert tuple(frame[y, x]) in ramp, k
        # 0.2 m to the side of the path (the road is 0.762 m wide) there is no trail
        sx, sy = cam.pixel(mid[0], mid[1] + 0.2)
        assert tuple(frame[sy, sx]) == S.ROAD, k
        # before any step the same pixel was road or the centre line's dash
        assert tuple(frame0[y, x]) in (S.ROAD, S.CENTRE_LINE)
        checked += 1
    assert checked == 9
    # trail coloured by speed: near 1.0 m/s of a 1.0 m/s space the end of the ramp (red)
    x, y = cam.pixel(*(poses[13] + poses[14]) / 2.0)
    r, g, b = frame[y, x]
    assert r > 200 and g < 120 and b < 90


def test_trail_reward_mode_and_episode_restart() -> None:
    env, _, _, poses = straight_run(5)
    view = env._viewer
    car = view.car
    # the PREPARE step restarts the trail with the (held) start pose, then one point per step
    assert len(car.trail) == 1 + 4
    renderer = view.renderer
    renderer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_t))
    assert renderer.trail_mode == "reward"
    vals, lo, hi = renderer.trail_values(car)
    # on the centre line the centre reward pays 1.0; the PREPARE step's reward is 0.0
    assert vals.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0] and (lo, hi) == (0.0, 1.0)
    env.reset()
    env.render()
    assert len(car.trail) == 1 and car.episode_reward == 0.0
    assert np.allclose(car.trail[0][:2], poses[0])


def test_hud_values_and_pixels_change_between_frames() -> None:
    env = DeepRacerEnv(render_mode="rgb_array", reward_function=CENTER, training=False)
    env.reset()
    for _ in range(5):
        env.step(STRAIGHT_FAST)
    f5 = env.render()
    f5_again = env.render()
    rows = dict(V.hud_lines(env._viewer.car))
    # step 5 = PREPARE + 4 RUN steps; lap time (5 - 1) / 15 = 0.2667 s; reward 1.0 on the centre
    # line (distance 0 <= 0.1 * width), episode 4 * 1.0 (the PREPARE step pays 0)
    assert rows["step"] == "5"
    assert rows["lap time"] == "0.27 s"
    assert rows["reward"] == "1.000"
    assert rows["episode"] == "4.00"  # also when only this step was rendered
    assert rows["status"] == "in_progress"
    assert rows["steering"].startswith("+0.0°")
    assert rows["best lap"] == "-"
    assert np.array_equal(f5, f5_again)  # rendering twice does not count the step twice
    env.step(STRAIGHT_FAST)
    f6 = env.render()
    assert dict(V.hud_lines(env._viewer.car))["step"] == "6"
    hud = (slice(0, 200), slice(0, 300))
    assert not np.array_equal(f5[hud], f6[hud])
    assert (f6[hud] == np.array(S.HUD_TEXT)).all(axis=-1).any()


def test_best_lap_and_status_of_an_ended_episode() -> None:
    car = V.CarView()
    row = [0.0] * layout.NR
    row[layout.R_STEPS] = 151.0
    row[layout.R_STATUS] = 2  # lap_complete
    row[layout.R_DONE] = 1.0
    row[layout.R_PROGRESS] = 100.0
    car.start((0, 0, 0, 0, 0))
    car.step((1, 0, 0, 1, 0), row, 1.0)
    # 151 steps: (151 - 1) / 15 = 10.0 s
    assert car.best_lap == pytest.approx(10.0)
    assert car.last_end == ("lap_complete", 100.0, pytest.approx(10.0))
    assert dict(V.hud_lines(car))["best lap"] == "10.00 s"
    assert dict(V.hud_lines(car, best_lap=9.5))["best lap"] == "9.50 s"


# --- recording ---------------------------------------------------------------------------------

def steer_left_predict(obs: np.ndarray) -> np.ndarray:
    """Full left at 1 m/s (index 4 * 2 + 1 = 9): the car leaves the road in a few seconds."""
    return np.full(len(obs), 9)


@pytest.mark.parametrize("ext", [".mp4", ".gif"])
def test_record_video_has_one_frame_per_step(tmp_path: Path, ext: str) -> None:
    iio = pytest.importorskip("imageio.v3")
    if ext == ".mp4":
        pytest.importorskip("imageio_ffmpeg")

    from deepracer_sim.viewer.live import EvaluationViewer

    track = load_track("dr_sim_default")
    out = tmp_path / f"laps{ext}"
    viewer = EvaluationViewer(window=False, record=out)
    laps = run_laps(steer_left_predict, track, discrete_action_space(), 6.0, [0.0, 0.5], 400,
                    observers=[viewer])
    steps = max(lap.steps for lap in laps)
    assert all(lap.status == "off_track" for lap in laps)
    frames = np.stack(list(iio.imiter(out)))
    assert frames.shape[0] == steps
    h, w = (720, 1280) if ext == ".mp4" else (360, 640)
    assert frames.shape[1:3] == (h, w)
    # the first frame shows the track: a road pixel (lossy video: colours within a tolerance)
    cam = V.Renderer(track).prepare_camera(w, h)  # the video's camera (fit, clear of the HUD)
    x, y = cam.pixel(*((track.waypoints[40, 0:2] + track.waypoints[40, 2:4]) / 2.0))
    assert np.abs(frames[0][y, x, :3].astype(int) - np.array(S.ROAD)).max() <= 24


def test_record_rejects_other_types_and_missing_ffmpeg(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(RecordingError, match=r"\.mp4 or \.gif"):
        check_video_path(tmp_path / "laps.avi")
    pytest.importorskip("imageio")
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")

    def no_ffmpeg() -> str:
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_ffmpeg)
    with pytest.raises(RecordingError, match=r"needs ffmpeg.*laps\.gif"):
        check_video_path(tmp_path / "laps.mp4")
    assert check_video_path(tmp_path / "laps.gif") == ".gif"


def test_evaluation_window_closed_by_the_user_lets_evaluation_finish(tmp_path: Path) -> None:
    pytest.importorskip("imageio")
    from deepracer_sim.viewer.live import EvaluationViewer

    track = load_track("dr_sim_default")
    viewer = EvaluationViewer(window=True, record=tmp_path / "laps.gif", speed=64.0, hold=0.0)

    class Closer:
        def __init__(self) -> None:
            self.steps = 0

        def on_start(self, *args) -> None:
            pass

        def on_step(self, *args) -> None:
            self.steps += 1
            if self.steps == 5:  # the window's close button
                pygame.event.post(pygame.event.Event(pygame.QUIT))

        def on_end(self, results) -> None:
            pass

    laps = run_laps(steer_left_predict, track, discrete_action_space(), 6.0, [0.0], 400,
                    observers=[Closer(), viewer])
    assert viewer.win is not None and not viewer.win.open
    assert viewer.recorder.frames == laps[0].steps  # recording went on to the end


# --- training viewer -----------------------------------------------------------------------------

def short_config(tmp_path: Path, n_envs: int = 2, timesteps: int = 512):
    from deepracer_sim.training.ppo import TrainConfig

    return TrainConfig(reward=CENTER, track="dr_sim_default", action_space=discrete_action_space(),
                       version=6.0, out=tmp_path / "run", timesteps=timesteps, n_envs=n_envs,
                       n_steps=128, eval_episodes=0)


def test_training_viewer_window_process(tmp_path: Path) -> None:
    """The observer's hooks driven by hand on a 2-car training env (what train() calls)."""
    from deepracer_sim.envs.vec_env import DeepRacerVecEnv
    from deepracer_sim.training.ppo import IterationStats
    from deepracer_sim.viewer.live import TrainingViewer

    class Model:
        num_timesteps = 0

    env = DeepRacerVecEnv(2, reward_function=CENTER)
    env.reset()
    shot = tmp_path / "training.png"
    viewer = TrainingViewer(screenshot=shot)
    viewer.on_start(None, env, Model())
    assert viewer._listen in env.listeners
    for _ in range(256):
        env.step(np.array([STRAIGHT_FAST, STRAIGHT_FAST]))
    viewer.on_iteration(IterationStats(iteration=0, steps=512, rewards=[5.0, 7.0],
                                       progress=[10.0, 30.0], lap_times=[12.5]))
    head = viewer._head
    # two episodes: mean reward (5 + 7) / 2 = 6, progress (10 + 30) / 2 = 20, laps 1/2
    assert (head[6], head[7], head[8], head[9]) == (6.0, 20.0, 0.5, 12.5)
    viewer.on_end(False)
    assert viewer._listen not in env.listeners
    # each of the 256 vectorised steps wrote the watched car's row into the ring
    assert viewer.steps_seen == 256
    assert viewer.process.returncode == 0
    assert viewer._path is None  # the shared file is removed
    image = pygame.image.load(str(shot))
    assert image.get_size() == (1280, 800)
    track = load_track("dr_sim_default")
    cam = V.Renderer(track).prepare_camera(1280, 800)  # the window's camera
    wp = track.waypoints
    mid = (wp[70, 0:2] + wp[70, 4:6]) / 2.0
    assert pixel(image, cam.pixel(*mid)) == S.ROAD
    body = pygame.surfarray.array3d(image)
    assert (body == np.array(S.CAR_BODY)).all(axis=-1).sum() > 20  # the watched car


def test_closing_the_training_window_does_not_stop_training(tmp_path: Path, capfd) -> None:
    from deepracer_sim.training.ppo import TrainingObserver, train
    from deepracer_sim.viewer.live import TrainingViewer

    viewer = TrainingViewer()

    class CloseWindow(TrainingObserver):
        def on_iteration(self, stats) -> None:
            if stats.iteration == 0:
                viewer.process.terminate()
                viewer.process.wait()

    result = train(short_config(tmp_path, timesteps=1024), progress_bar=False,
                   observers=[viewer, CloseWindow()])
    assert not result.interrupted and result.timesteps == 1024
    assert not viewer.active
    assert "viewer window closed; training continues" in capfd.readouterr().err
    assert (tmp_path / "run" / "model" / "4_Step-1024.zip").is_file()


def test_ctrl_c_keeps_the_checkpoint_and_closes_the_window(tmp_path: Path) -> None:
    from deepracer_sim.training.ppo import TrainingObserver, train
    from deepracer_sim.viewer.live import TrainingViewer

    viewer = TrainingViewer()

    class CtrlC(TrainingObserver):
        def on_start(self, run, env, model) -> None:
            def interrupt(venv, actions, rewards) -> None:
                if viewer.steps_seen == 200:
                    raise KeyboardInterrupt
            env.listeners.append(interrupt)

    result = train(short_config(tmp_path), progress_bar=False, observers=[viewer, CtrlC()])
    assert result.interrupted
    assert list((tmp_path / "run" / "model").glob("*_Step-*.zip"))
    assert viewer.process.returncode is not None
