"""Files out, without Qt: the safe-write primitive, output checks, CSV trajectories, and the errors
a user can cause while exporting.

Every writer of gdviz (CSV, PNG/JPEG stills, MP4/GIF videos, scene files) writes through
:func:`atomic_write` (defined in ``gdviz.core.files`` so that the core's ``save_scene`` can use it
without importing this package): a temporary file beside the target, renamed over it only when
complete and only when the target is a regular file or absent; a symlink's target is written, never
the link replaced; a folder, FIFO or device is refused; an existing file is overwritten only with
``force=True`` (``--force`` on the command line, a question in the window).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gdviz.core.files import (
    InputError,
    OutputError,
    OutputExists,
    atomic_write,
    read_bytes_bounded,
    resolve_output,
    write_bytes_atomically,
    write_text_atomically,
)

if TYPE_CHECKING:
    from gdviz.core import Trajectory

__all__ = [
    "IMAGE_FORMATS",
    "VIDEO_FORMATS",
    "ExportError",
    "InputError",
    "OutputError",
    "OutputExists",
    "VECTOR_FORMATS",
    "UserError",
    "atomic_write",
    "check_output",
    "read_bytes_bounded",
    "resolve_output",
    "trajectories_text",
    "write_bytes_atomically",
    "write_text_atomically",
    "write_trajectories",
]


class UserError(Exception):
    """A failure the user can fix; the command line prints it as one line and exits with 2."""


class ExportError(UserError):
    """An export that cannot be done (or was cancelled); the message says why."""


IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
"""Still-image suffixes and the format each one means (Qt's writer names)."""

VIDEO_FORMATS = (".mp4", ".gif")

VECTOR_FORMATS = (".svg", ".pdf")
"""Still figures for slides: the heatmap an embedded image, everything else vectors and text."""


def check_output(path: str | Path, formats: tuple[str, ...], *, force: bool = False) -> str:
    """The format suffix of ``path`` (lower case) after checking it may be written.

    The suffix decides the format: one outside ``formats`` is refused, never written in another
    format under that name. The target must be a regular file (overwritten only with ``force``)
    or absent, in an existing folder.

    Raises:
      ExportError: wrong suffix, or any :func:`resolve_output` refusal, with the reason.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in formats:
        allowed = ", ".join(formats[:-1]) + f" or {formats[-1]}" if len(formats) > 1 else formats[0]
        got = f"'{path.suffix}'" if path.suffix else "no suffix"
        raise ExportError(f"cannot write {path}: the file must end in {allowed} (got {got})")
    try:
        resolve_output(path, force=force)
    except OutputExists as exc:
        raise ExportError(f"{exc} (use --force to overwrite)") from None
    except OutputError as exc:
        raise ExportError(str(exc)) from None
    return suffix


def trajectories_text(paths: Mapping[str, Trajectory]) -> str:
    """The CSV text of paths: ``optimizer,step,x,y,loss`` with floats at full precision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["optimizer", "step", "x", "y", "loss"])
    for label, path in paths.items():
        for k, ((x, y), loss) in enumerate(
            zip(path.params.tolist(), path.loss.tolist(), strict=True)
        ):
            writer.writerow([label, k, repr(x), repr(y), repr(loss)])
    return buffer.getvalue()


def write_trajectories(
    path: str | Path, paths: Mapping[str, Trajectory], *, force: bool = False
) -> int:
    """Write ``paths`` as CSV to ``path`` (which must end in .csv); returns the number of rows.

    Raises:
      ExportError: the suffix is not .csv, or the file cannot or must not be written.
    """
    check_output(path, (".csv",), force=force)
    text = trajectories_text(paths)
    try:
        write_text_atomically(path, text, force=force)
    except OutputError as exc:
        raise ExportError(str(exc)) from None
    return sum(p.params.shape[0] for p in paths.values())
