"""Frames to MP4 (H.264) or GIF through the ffmpeg that the imageio-ffmpeg wheel ships.

No Qt here: frames arrive as ``(height, width, 3)`` uint8 arrays. Files are written through
:func:`gdviz.export.files.atomic_write`: a temporary name beside the target, renamed over it when
complete, so a failure or a cancel leaves nothing behind and only a regular file is ever replaced.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from gdviz.export.files import ExportError, OutputError, atomic_write
from gdviz.export.files import check_output as check_file

__all__ = [
    "FORMATS",
    "HOLD_SECONDS",
    "ExportError",
    "check_output",
    "ffmpeg_available",
    "frame_steps",
    "write_video",
]

FORMATS = (".mp4", ".gif", ".png", ".jpg", ".jpeg", ".svg", ".pdf")
"""What ``gdviz render`` writes: a video, or one still frame (a picture, or a vector figure)."""

HOLD_SECONDS = 1.0
"""The last frame is held this long, so a looping video pauses on the result. The hold is part of
the video's length (``--seconds``), and takes at most a third of it."""

# One palette for the whole GIF, built from every frame, and ordered dithering: small files, no
# flicker between frames.
_GIF_FILTER = "split[a][b];[a]palettegen=max_colors=128:stats_mode=full[p];[b][p]paletteuse=dither=bayer:bayer_scale=3"


def ffmpeg_available() -> bool:
    """Whether an ffmpeg can be run: imageio-ffmpeg's own, or one named by IMAGEIO_FFMPEG_EXE.

    The wheel ships one for the common platforms; elsewhere MP4 cannot be written, and a GIF
    is encoded by Pillow instead when it is installed.
    """
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return False
    return True


def _write_gif_with_pillow(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """A looping GIF through Pillow, for a machine without ffmpeg (one palette per frame)."""
    try:
        from PIL import Image
    except ImportError:
        raise ExportError(
            f"cannot write {path}: a GIF needs ffmpeg (the imageio-ffmpeg wheel) or Pillow, "
            "and neither is installed"
        ) from None
    images = [Image.fromarray(np.ascontiguousarray(f[..., :3], dtype=np.uint8)) for f in frames]
    if not images:
        raise ExportError("no frames to write")
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
        optimize=False,
    )
    return len(images)


def check_output(path: Path, *, force: bool = False) -> str:
    """The format of ``path`` (one of FORMATS) after checking it may be written.

    Raises:
      ExportError: another suffix; a folder, FIFO or device at the path; a missing folder; an
        existing file without ``force``.
    """
    return check_file(path, FORMATS, force=force)


def frame_steps(
    total: int, fps: float, seconds: float | None, steps_per_second: float
) -> list[int]:
    """The step shown by each frame: evenly through ``total`` steps, then a held last frame.

    ``seconds`` is the whole length of the video, hold included: ``round(seconds * fps)`` frames
    (at least 2), of which the last ``min(HOLD_SECONDS * fps, a third)`` repeat step ``total``.
    The default length (``seconds=None``) plays ``steps_per_second`` steps a second (the
    window's 1x speed, when the window or ``gdviz render`` records), then holds.
    """
    hold_default = round(HOLD_SECONDS * fps)
    if seconds is None:
        count = max(2, round(total / steps_per_second * fps)) + hold_default
    else:
        count = max(2, round(seconds * fps))
    hold = min(hold_default, count // 3)
    moving = count - hold
    steps = [round(i * total / (moving - 1)) for i in range(moving)]
    return steps + [total] * hold


def write_video(
    path: Path, frames: Iterable[np.ndarray], fps: float, *, force: bool = False
) -> int:
    """Encode ``frames`` to ``path`` (.mp4 or .gif); returns the number of frames written.

    Raises:
      ExportError: a bad path (see :func:`check_output`), odd MP4 sides, ffmpeg failed, or the
        frames' producer raised it (a cancel); no file is left at ``path`` in any case.
    """
    suffix = check_output(path, force=force)
    if suffix not in (".mp4", ".gif"):
        raise ExportError(f"cannot write {path}: a video must end in .mp4 or .gif")
    count = 0
    if suffix == ".gif" and not ffmpeg_available():

        def encode_gif(tmp: Path) -> None:
            nonlocal count
            count = _write_gif_with_pillow(tmp, frames, fps)

        try:
            atomic_write(path, encode_gif, force=force)
        except OutputError as exc:
            raise ExportError(str(exc)) from None
        return count
    if not ffmpeg_available():
        raise ExportError(
            f"cannot write {path}: MP4 needs ffmpeg, which imageio-ffmpeg does not provide on "
            "this machine (set IMAGEIO_FFMPEG_EXE to an ffmpeg, or write a .gif)"
        )

    def encode(tmp: Path) -> None:
        nonlocal count
        import imageio_ffmpeg

        writer = None
        try:
            for frame in frames:
                if writer is None:
                    height, width = frame.shape[:2]
                    if suffix == ".mp4" and (width % 2 or height % 2):
                        raise ExportError(
                            f"cannot write {path}: MP4 (H.264) needs an even width and height, "
                            f"got {width}x{height}; try {width + width % 2}x{height + height % 2}"
                        )
                    # JAX warns on any fork; subprocess execs ffmpeg at once, which is safe.
                    warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
                    if suffix == ".mp4":
                        writer = imageio_ffmpeg.write_frames(
                            str(tmp),
                            (width, height),
                            fps=fps,
                            codec="libx264",
                            quality=7,
                            macro_block_size=2,
                            output_params=["-preset", "fast"],
                        )
                    else:
                        writer = imageio_ffmpeg.write_frames(
                            str(tmp),
                            (width, height),
                            fps=fps,
                            codec="gif",
                            pix_fmt_out="pal8",
                            macro_block_size=1,
                            output_params=["-filter_complex", _GIF_FILTER],
                        )
                    writer.send(None)
                if frame.shape[:2] != (height, width):
                    raise ExportError(
                        f"frame {count} is {frame.shape[1]}x{frame.shape[0]}, not {width}x{height}"
                    )
                writer.send(np.ascontiguousarray(frame[..., :3], dtype=np.uint8))
                count += 1
            if writer is None:
                raise ExportError("no frames to write")
            writer.close()
            writer = None
        except RuntimeError as exc:  # ffmpeg's own failures
            raise ExportError(f"cannot write {path}: {exc}") from None
        finally:
            if writer is not None:
                writer.close()

    try:
        atomic_write(path, encode, force=force)
    except OutputError as exc:
        raise ExportError(str(exc)) from None
    return count
