"""Frames to MP4 (H.264) or GIF through the ffmpeg that the imageio-ffmpeg wheel ships.

No Qt here: frames arrive as ``(height, width, 3)`` uint8 arrays. Files are written to a
temporary name beside the target and renamed when complete, so a failure or a cancel leaves
nothing behind.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

FORMATS = (".mp4", ".gif", ".png")

# One palette for the whole GIF, built from every frame, and ordered dithering: small files, no
# flicker between frames.
_GIF_FILTER = "split[a][b];[a]palettegen=max_colors=128:stats_mode=full[p];[b][p]paletteuse=dither=bayer:bayer_scale=3"


class ExportError(Exception):
    """An export that cannot be done; the message says why."""


def check_output(path: Path) -> str:
    """The format of ``path`` ('.mp4', '.gif' or '.png') after checking it can be written."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"cannot write {path}: the file must end in .mp4, .gif or .png")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ExportError(f"cannot write {path}: no folder {folder}")
    probe = folder / f".{path.name}.probe"
    try:
        probe.write_bytes(b"")
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        probe.unlink(missing_ok=True)
    return suffix


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """Encode ``frames`` to ``path`` (.mp4 or .gif); returns the number of frames written.

    Raises:
      ExportError: ffmpeg failed; no file is left at ``path``.
    """
    import imageio_ffmpeg

    suffix = check_output(path)
    tmp = path.with_name(f".{path.stem}.part{suffix}")
    writer = None
    count = 0
    try:
        for frame in frames:
            if writer is None:
                height, width = frame.shape[:2]
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
        tmp.replace(path)
    except (OSError, RuntimeError) as exc:
        raise ExportError(f"cannot write {path}: {exc}") from None
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return count
