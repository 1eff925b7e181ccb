"""DeepRacer's ``FRONT_FACING_CAMERA`` for N cars: 120 x 160 grey uint8 frames, headless (numba).

What the simapp does (``../shared/docs/cloud-model-format.md`` §6, ``deepracer-interface.md``
§8): Gazebo renders the track at 640x480 through a pinhole camera on the car (horizontal field of
view 1.13 rad, the lens about 0.133 m above the ground, pitched about 13.6 degrees down), PIL
resizes the frame to 160x120 with its antialiased BILINEAR filter, rl_coach turns it into grey
(Y = 0.2989 R + 0.587 G + 0.114 B) and truncates it to uint8. :class:`CameraRenderer` renders
that image analytically at 160x120 for a batch of cars in one numba call, with domain
randomisation per car (:class:`~.camera_look.DomainRandomization`) and boxes for obstacles and
bot cars (:attr:`CameraRenderer.objects`, filled from the simulator's objects by
:meth:`CameraRenderer.draw_objects`).

The pieces: :mod:`.camera_scene` (the world and the baked track, every slot name),
:mod:`.camera_look` (lights, colours, domain randomisation), :mod:`.camera_optics` (mount tables,
antialiasing, walls, boxes) and :mod:`.camera_kernel` (the per-pixel kernel). ``docs/camera.md``
has the accuracy against an exact render and the real simulator's sample frame.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from deepracer_sim.errors import CameraError
from deepracer_sim.sim.camera_kernel import render_batch, render_batch_parallel
from deepracer_sim.sim.camera_look import (
    BOT_CAR_SIZE,
    BOX_OBSTACLE_RGB,
    CameraRandomizer,
    DomainRandomization,
    box_object,
    nominal_params,
    reference_irradiance,
)
from deepracer_sim.sim.camera_objects import shade_objects
from deepracer_sim.sim.camera_optics import mount_table
from deepracer_sim.sim.camera_scene import (
    CAMERA_HEIGHT,
    CAMERA_PITCH,
    CAMERA_X,
    FOCAL_PX,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    N_OBJ_COLS,
    REINVENT_BASE_STYLE,
    REINVENT_CHAMP_2022_STYLE,
    TRACKGEN_STYLE,
    Scene,
    TrackStyle,
    build_scene,
    camera_mount,
    style_for_track,
)
from deepracer_sim.track import Track

__all__ = [
    "BOT_CAR_SIZE",
    "BOX_OBSTACLE_RGB",
    "CAMERA_HEIGHT",
    "CAMERA_PITCH",
    "CAMERA_X",
    "FOCAL_PX",
    "IMAGE_HEIGHT",
    "IMAGE_WIDTH",
    "N_OBJ_COLS",
    "REINVENT_BASE_STYLE",
    "REINVENT_CHAMP_2022_STYLE",
    "TRACKGEN_STYLE",
    "CameraRandomizer",
    "CameraRenderer",
    "DomainRandomization",
    "Scene",
    "TrackStyle",
    "box_object",
    "build_scene",
    "camera_mount",
    "frame_to_rgb",
    "mount_table",
    "nominal_params",
    "render_batch",
    "style_for_track",
]


class CameraRenderer:
    """The camera of N cars on one track: the baked scene, the per-car randomisation, the objects
    and the output buffer.

    Args:
        track: a :class:`~deepracer_sim.track.Track`, an (N, 6) waypoint array, or a track name
            or ``.npy`` path.
        n: number of cars.
        dr: domain randomisation (None: off, every frame exactly reproducible).
        seed: seed of the cars' randomisation (car i draws from child i of
            ``SeedSequence(seed)``); without randomisation the frames do not depend on it.
        max_objects: boxes per car (:attr:`objects`; the simulator's object slots per car for
            :meth:`draw_objects`).
        style: the world's look (default: :func:`~.camera_scene.style_for_track`).
        parallel: spread the cars over numba's threads (same frames).

    Attributes:
        scene: the baked :class:`~.camera_scene.Scene`; randomizer: the
            :class:`~.camera_look.CameraRandomizer`.
        objects: (n, max_objects, N_OBJ_COLS) float64 boxes (``O_*`` slots), edit in place
            (:func:`~.camera_look.box_object` fills a row; a row of length 0 is not drawn).
        frames: (n, 120, 160) uint8, the last frame of each car.

    Raises:
        CameraError, TrackError: see :func:`~.camera_scene.build_scene`.

    Example::

        cam = CameraRenderer("reInvent2019_wide", n=16, dr=DomainRandomization(enabled=True))
        frames = cam.render(poses)   # poses (16, 3): x, y, yaw; frames (16, 120, 160) uint8
    """

    def __init__(self, track: Track | np.ndarray | str, n: int = 1,
                 dr: DomainRandomization | None = None, seed: int = 0, max_objects: int = 0,
                 style: TrackStyle | None = None, parallel: bool = False) -> None:
        self._kernel = render_batch_parallel if parallel else render_batch
        self.scene = build_scene(track, style)
        self.randomizer = CameraRandomizer(self.scene, n, dr, seed)
        self.objects = np.zeros((n, max_objects, N_OBJ_COLS))
        self.rects = np.zeros((n, max_objects, 4), dtype=np.int64)
        self.reference = reference_irradiance(self.scene)
        self.frames = np.zeros((n, IMAGE_HEIGHT, IMAGE_WIDTH), dtype=np.uint8)
        self._all = np.arange(n, dtype=np.int64)

    @property
    def n(self) -> int:
        """Number of cars."""
        return int(self.frames.shape[0])

    def seed(self, seed: int) -> None:
        """Restart every car's randomisation from ``seed`` (and draw a new episode for all)."""
        self.randomizer.seed(seed)

    def reset(self, cars: Iterable[int] | None = None) -> None:
        """A new episode for ``cars`` (indices; all when None): draw their randomisation."""
        self.randomizer.reset(cars)

    def draw_objects(self, obj: np.ndarray, world: np.ndarray,
                     cars: np.ndarray | None = None) -> None:
        """Put the simulator's boxes and bot cars into :attr:`objects` for the next frame of
        ``cars`` (all when None), each lit by its car's lights (numba,
        :func:`~.camera_objects.shade_objects`).

        Args:
            obj: (n, M, NO) float64 ``Simulator.obj``; world: (n, NW) float64 ``Simulator.world``.

        Raises:
            CameraError: more objects per car than ``max_objects``, or another number of cars.
        """
        if obj.ndim != 3 or obj.shape[0] != self.n or obj.shape[1] > self.objects.shape[1]:
            raise CameraError(f"objects of shape {obj.shape} for a camera of {self.n} cars and "
                              f"{self.objects.shape[1]} objects each; build the renderer with "
                              f"max_objects >= {obj.shape[1] if obj.ndim == 3 else '?'}")
        idx = self._all if cars is None else np.ascontiguousarray(cars, dtype=np.int64)
        shade_objects(obj, world, self.randomizer.lights, self.reference, idx, self.objects)

    def render(self, poses: np.ndarray, cars: np.ndarray | None = None) -> np.ndarray:
        """Render the cars at ``poses``.

        Args:
            poses: (n, >=3) float64 car-origin x, y (m) and yaw (rad) of every car.
            cars: (C,) int64 indices of the cars to render (None: all); the other rows of
                :attr:`frames` keep their last frame.

        Returns:
            :attr:`frames`, (n, 120, 160) uint8 (the same buffer every call).

        Raises:
            CameraError: ``poses`` of another shape.
        """
        return self.render_into(np.ascontiguousarray(poses, dtype=np.float64), self.frames, cars)

    def render_into(self, poses: np.ndarray, out: np.ndarray,
                    cars: np.ndarray | None = None) -> np.ndarray:
        """:meth:`render` into the caller's buffer, allocating nothing (the envs' path).

        Args:
            poses: (n, >=3) float64 C-contiguous, columns x, y (m), yaw (rad) first (the
                simulator's state ``s`` itself fits).
            out: (n, 120, 160) uint8, rows (120, 160) contiguous (a channel view of an
                (n, 120, 160, 1) batch fits).
            cars: (C,) int64 indices of the cars to render (None: all).

        Returns:
            ``out``.

        Raises:
            CameraError: ``poses`` or ``out`` of another shape or type.
        """
        if (poses.ndim != 2 or poses.shape[0] != self.n or poses.shape[1] < 3
                or poses.dtype != np.float64 or not poses.flags.c_contiguous):
            raise CameraError(f"poses has shape {poses.shape} ({poses.dtype}); give ({self.n}, "
                              "3) float64: the car-origin x, y (m) and yaw (rad) of every car")
        if out.shape != self.frames.shape or out.dtype != np.uint8:
            raise CameraError(f"out has shape {out.shape} ({out.dtype}); give "
                              f"{self.frames.shape} uint8")
        idx = self._all if cars is None else np.ascontiguousarray(cars, dtype=np.int64)
        rz = self.randomizer
        self._kernel(*self.scene.arrays, poses, rz.params, rz.tables, rz.mount, self.objects,
                     self.rects, rz.noise_state, idx, out)
        return out


def frame_to_rgb(frame: np.ndarray, scale: int = 1) -> np.ndarray:
    """A grey frame (H, W) or (H, W, 1) uint8 as an (H * scale, W * scale, 3) uint8 RGB image
    (nearest-neighbour upscale), e.g. for a viewer panel.

    Raises:
        CameraError: a frame of another shape.
    """
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim != 2:
        raise CameraError(f"frame has shape {frame.shape}; give (height, width) grey uint8")
    big = np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)
    return np.repeat(big[:, :, None], 3, axis=2)
