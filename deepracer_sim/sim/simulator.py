"""The :class:`Simulator`: N cars on one track, their packed kernel buffers and the calls that
step and reset them (:mod:`deepracer_sim.sim.kernel`)."""

from __future__ import annotations

import numpy as np

from deepracer_sim.sim.kernel import refresh_packed, reset_packed, step_packed
from deepracer_sim.sim.layout import (
    C_ADVANCE,
    C_ALTERNATE,
    C_CHANGE_START,
    C_MAX_STEPS,
    C_START_OFFSET,
    I_DIRECTION,
    I_EPISODE,
    L_BOXES,
    L_CFG,
    L_CMD,
    L_EDGES,
    L_END,
    L_FMETA,
    L_IARR,
    L_K,
    L_LANES,
    L_LC,
    L_LCR,
    L_LENS,
    L_LINES,
    L_M,
    L_N,
    L_NCFG,
    L_NEDGES,
    L_NPTS,
    L_NR,
    L_OBJ,
    L_OPAR,
    L_RANGES,
    L_REC,
    L_S,
    L_SI,
    L_SIZE,
    L_SPL,
    L_SPLN,
    L_T,
    L_WORLD,
    NC,
    NI,
    NO,
    NR,
    NS,
    NW,
    S_START_NDIST,
)
from deepracer_sim.sim.lidar import LIDAR_SENSORS
from deepracer_sim.sim.objects import N_OBJECT_FEATURES, params_row_size, seed_objects
from deepracer_sim.sim.observation import OBS_DIM
from deepracer_sim.sim.world import ObjectsConfig, object_parts


def make_config(round_robin_advance: float, change_start: bool, alternate_direction: bool,
                max_steps: int, start_offset_fraction: float) -> np.ndarray:
    """(NC,) float64 kernel configuration."""
    cfg = np.zeros(NC)
    cfg[C_ADVANCE] = round_robin_advance
    cfg[C_CHANGE_START] = float(change_start)
    cfg[C_ALTERNATE] = float(alternate_direction)
    cfg[C_MAX_STEPS] = float(max_steps)
    cfg[C_START_OFFSET] = start_offset_fraction
    return cfg


class Simulator:
    """N cars on one track: the kernel buffers and the calls that step and reset them.

    All state lives in three packed buffers (float64 ``F``, int64 ``I``, float32 ``O``) so that a
    kernel call from Python unboxes three arrays; the attributes ``s``, ``si``, ``rec``,
    ``obs``, ``terminal_obs``, ``steer`` and ``speed`` are numpy views into them.

    Args:
        track: :class:`~deepracer_sim.track.Track`.
        n: number of cars.
        car: (N_PARAMS,) float64 from :meth:`~deepracer_sim.sim.car.CarParams.as_array`.
        cfg: (NC,) float64 from :func:`make_config`.
        start_ndists: (n,) initial start points, fraction of a lap from waypoint 0.
        reversed_direction: initial direction of every car.
        objects: the race's boxes and bot cars (each car has its own); None or an empty config
            for a time trial. With objects the observation gains
            ``OBS_OBJECTS * OBS_PER_OBJECT`` values (:mod:`deepracer_sim.sim.objects`) and
            ``obj``, ``world``, ``oparams`` (object params rows) are views too.
        version: the model_metadata version (the camera position of ``object_in_camera``).
    """

    def __init__(self, track, n: int, car: np.ndarray, cfg: np.ndarray,
                 start_ndists: np.ndarray, reversed_direction: bool = False,
                 objects: ObjectsConfig | None = None, version: float = 6.0) -> None:
        self.track = track
        self.n = n
        self.objects = objects if objects is not None and objects.count > 0 else None
        lines, lens, fmeta, edges, iarr = track.arrays
        cfg_full = np.concatenate([np.asarray(cfg, dtype=np.float64)[:NC],
                                   np.asarray(car, dtype=np.float64)])
        head = np.zeros(L_SIZE, dtype=np.int64)
        oparts, sizes, spl_n = object_parts(self.objects, n, lines, track.is_loop, track.length,
                                            version)
        parts = [lines.ravel(), lens.ravel(), fmeta, edges.ravel(), cfg_full, np.zeros(n * NS),
                 np.zeros(n * NR), np.zeros(2 * n), *oparts]
        offsets = np.cumsum([0] + [len(p) for p in parts])
        (head[L_LINES], head[L_LENS], head[L_FMETA], head[L_EDGES], head[L_CFG], head[L_S],
         head[L_REC], head[L_CMD], head[L_OBJ], head[L_WORLD], head[L_LC], head[L_OPAR],
         head[L_BOXES], head[L_LANES], head[L_SPL], head[L_RANGES]) = offsets[:-1]
        head[L_NR] = sizes["NR"]
        head[L_M], head[L_K], head[L_T], head[L_LCR] = (sizes["M"], sizes["K"], sizes["T"],
                                                        sizes["LCR"])
        head[L_N] = n
        head[L_NPTS] = lines.shape[2]
        head[L_NEDGES] = edges.shape[0]
        head[L_NCFG] = len(cfg_full)
        head[L_IARR] = L_SIZE
        head[L_SI] = L_SIZE + len(iarr)
        head[L_END] = head[L_SI] + n * NI
        head[L_SPLN] = head[L_END]
        self.F = np.concatenate(parts)
        self.I = np.concatenate([head, iarr, np.zeros(n * NI, dtype=np.int64), spl_n])
        m = sizes["M"]
        lidar = self.objects.lidar if self.objects is not None else ""
        self.obs_dim = (OBS_DIM + (N_OBJECT_FEATURES if m else 0)
                        + (LIDAR_SENSORS[lidar] if lidar else 0))
        dim = self.obs_dim
        self.O = np.zeros(2 * n * dim, dtype=np.float32)
        self.cfg = self.F[head[L_CFG]:head[L_CFG] + len(cfg_full)]
        self.s = self.F[head[L_S]:head[L_S] + n * NS].reshape(n, NS)
        self.rec = self.F[head[L_REC]:head[L_REC] + n * NR].reshape(n, NR)
        self.steer = self.F[head[L_CMD]:head[L_CMD] + n]
        self.speed = self.F[head[L_CMD] + n:head[L_CMD] + 2 * n]
        self.si = self.I[head[L_SI]:head[L_END]].reshape(n, NI)
        self.obs = self.O[:n * dim].reshape(n, dim)
        self.terminal_obs = self.O[n * dim:].reshape(n, dim)
        self.obj = self.F[head[L_OBJ]:head[L_OBJ] + n * m * NO].reshape(n, m, NO)
        self.world = self.F[head[L_WORLD]:head[L_WORLD] + n * NW].reshape(n, NW)
        npar = params_row_size(m)
        self.oparams = self.F[head[L_OPAR]:head[L_OPAR] + n * npar].reshape(n, npar)
        self.initial_start = np.asarray(start_ndists, dtype=np.float64) % 1.0
        self.initial_direction = 1 if reversed_direction else 0
        self.restart()

    def restart(self) -> None:
        """Restore every car's initial start point and direction (and re-seed the objects'
        random draws), then reset all."""
        self.s[:, S_START_NDIST] = self.initial_start
        self.si[:, I_DIRECTION] = self.initial_direction
        self.si[:, I_EPISODE] = 0
        if self.objects is not None:
            # the simapp places the objects when it starts, before the first episode's start
            # rule looks at them: place them once (the start rule sees none), then reset
            seed_objects(self.objects.seed)
            self.obj[:] = np.nan
            for i in range(self.n):
                self.reset_car(i)
        for i in range(self.n):
            self.reset_car(i)

    def reset_car(self, i: int) -> None:
        """Start a new episode for car ``i`` at its current start point."""
        reset_packed(self.F, self.I, self.O, i)

    def refresh(self, i: int) -> None:
        """Recompute car ``i``'s geometry and observation after its pose was set by hand."""
        refresh_packed(self.F, self.I, self.O, i)

    def step(self, steer_cmd: np.ndarray | None = None, speed_cmd: np.ndarray | None = None,
             auto_reset: bool = False) -> None:
        """One step of every car; results in ``rec``, ``obs`` (and ``terminal_obs``).

        ``steer_cmd``/``speed_cmd`` (N,) are copied into ``steer``/``speed``; pass None to use
        what was written there directly (the fast path).
        """
        if steer_cmd is not None:
            self.steer[:] = steer_cmd
        if speed_cmd is not None:
            self.speed[:] = speed_cmd
        step_packed(self.F, self.I, self.O, auto_reset)
