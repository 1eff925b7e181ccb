"""Writing frames to a video file with imageio: ``.mp4`` (H.264 through ffmpeg, streamed to
disk) or ``.gif`` (Pillow; the frames stay in memory, palette-compressed, until the end)."""

from __future__ import annotations

import atexit
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from deepracer_sim.errors import RecordingError

#: Video frame sizes (width, height); mp4 sizes are multiples of 16 (H.264 macro blocks).
MP4_SIZE = (1280, 720)
GIF_SIZE = (640, 360)
FORMATS = (".mp4", ".gif")


def check_video_path(path: str | Path) -> str:
    """The video format (``".mp4"`` or ``".gif"``) of ``path``, checking the encoder exists.

    Raises:
        RecordingError: another extension, imageio missing, or no ffmpeg for mp4.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise RecordingError(f"--record {path}: unsupported video type {ext or '(none)'!r}; "
                             "give a file name ending in .mp4 or .gif")
    try:
        import imageio  # noqa: F401
    except ImportError:
        raise RecordingError(f"--record {path}: writing videos needs imageio "
                             "(pip install imageio imageio-ffmpeg)") from None
    if ext == ".mp4":
        try:
            import imageio_ffmpeg

            imageio_ffmpeg.get_ffmpeg_exe()
        except (ImportError, RuntimeError) as exc:
            raise RecordingError(
                f"--record {path}: writing .mp4 needs ffmpeg, which is not available ({exc}). "
                "Install it with pip install imageio-ffmpeg (it bundles ffmpeg), or record a GIF "
                f"instead: --record {path.with_suffix('.gif')}") from None
    return ext


class VideoRecorder:
    """Append (H, W, 3) uint8 frames; ``close()`` finishes the file.

    A recorder still open when the interpreter exits (e.g. after Ctrl-C) is closed then, so the
    frames written so far make a playable file.

    Args:
        path: ``.mp4`` or ``.gif`` file (its folder is created).
        fps: frames per second (DeepRacer's 15 steps per second plays in real time).

    Raises:
        RecordingError: see :func:`check_video_path`.
    """

    def __init__(self, path: str | Path, fps: float = 15.0) -> None:
        self.path = Path(path)
        self.format = check_video_path(self.path)
        self.fps = float(fps)
        self.size = MP4_SIZE if self.format == ".mp4" else GIF_SIZE
        self.frames = 0
        self._writer: Any = None  # imageio's v2 (mp4) or v3 (gif) writer
        self._gif: io.BytesIO | None = None
        self._closed = False
        atexit.register(self.close)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == ".mp4":
            import imageio.v2 as iio2

            self._writer = iio2.get_writer(self.path, format="FFMPEG", mode="I", fps=self.fps,
                                          codec="libx264", quality=8, macro_block_size=16,
                                          pixelformat="yuv420p", ffmpeg_log_level="error")
        else:  # made in memory, written by close(): a full disk is then a plain OSError
            import imageio.v3 as iio3

            self._gif = io.BytesIO()
            self._writer = iio3.imopen(self._gif, "w", extension=".gif", plugin="pillow")

    def append(self, frame: np.ndarray) -> None:
        """Add one frame (H, W, 3) uint8."""
        if self._closed:
            raise RecordingError(f"{self.path}: the recording is already closed")
        if self._writer is None:
            self._open()
        if self.format == ".mp4":
            self._writer.append_data(frame)
        else:
            # GIF delays are in 1/100 s: 15 fps -> 70 ms (the nearest), 8-bit palette frames
            duration = 10 * max(1, round(100.0 / self.fps)) if math.isfinite(self.fps) else 10
            self._writer.write(frame, duration=duration, loop=0, bits=8)
        self.frames += 1

    def close(self) -> None:
        """Finish the file (safe to call twice).

        Raises:
            OSError: the file cannot be written (a full disk, a read-only folder).
        """
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
            if self._gif is not None:
                self.path.write_bytes(self._gif.getvalue())
                self._gif = None
