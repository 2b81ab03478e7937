"""Safe file input and output: bounded reads of regular files, and atomic writes that never
replace anything but a regular file.

The one write primitive of gdviz. Every writer (scene files, CSV trajectories, screenshots, videos)
goes through :func:`atomic_write`, so every one of them keeps these promises:

- The data go to a temporary file beside the target, which is renamed over the target only when
  complete: a failure, an exception or a cancel leaves no partial file and no temporary file.
- Only a regular file (or nothing) at the target is ever replaced. A symbolic link is followed: its
  target is written and the link stays. A directory, FIFO, socket or device is refused with a
  message, never opened and never replaced (gdviz often runs as root, where "replace a device with a
  CSV" is otherwise possible).
- An existing file is overwritten only when the caller says so (``force=True``).

Pure standard library; ``gdviz.export.files`` re-exports it for the writers outside the core.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


class OutputError(OSError):
    """A file that cannot or must not be written; the message names the path and the reason."""


class OutputExists(OutputError):
    """The target exists and overwriting was not asked for (``force=False``)."""


class InputError(OSError):
    """A file that cannot or must not be read; the message names the path and the reason."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def resolve_output(path: str | Path, *, force: bool = False) -> Path:
    """The regular file that writing ``path`` would replace (a symlink is followed), after checks.

    Raises:
      OutputError: the target is a folder, FIFO, device or socket; its folder is missing.
      OutputExists: the target exists and ``force`` is False.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"cannot write {path}: it is {_kind(st.st_mode)}, not a file")
        if not force:
            raise OutputExists(f"{path} already exists; not overwriting it")
    if not real.parent.is_dir():
        raise OutputError(f"cannot write {path}: no folder {real.parent}")
    return real


def atomic_write(path: str | Path, write: Callable[[Path], object], *, force: bool = False) -> Path:
    """Call ``write(tmp)`` to make the file at a temporary path, then move it over ``path``.

    The temporary file sits in the target's folder and keeps the target's suffix (so tools that
    pick a format by extension, such as ffmpeg, see the right one); it exists, empty, when
    ``write`` is called. Returns the path written (a symlink's target for a symlink).

    Raises:
      OutputError: see :func:`resolve_output`, or the folder is not writable.
      OutputExists: the target exists and ``force`` is False.
      Whatever ``write`` raises; in every case no temporary file is left behind.
    """
    real = resolve_output(path, force=force)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{real.stem[:40]}.", suffix=f".part{real.suffix}", dir=real.parent
        )
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        # Permissions as a new file would get them (mkstemp makes 0600), or the old file's.
        try:
            mode = stat.S_IMODE(os.stat(real).st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        # Checked again just before the rename: something may have appeared meanwhile.
        resolve_output(path, force=force)
        os.replace(tmp, real)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return real


def write_bytes_atomically(path: str | Path, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` with :func:`atomic_write`'s promises."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), force=force)


def write_text_atomically(path: str | Path, text: str, *, force: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` with :func:`atomic_write`'s promises."""
    return write_bytes_atomically(path, text.encode("utf-8"), force=force)


def read_bytes_bounded(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path`` (a symlink is followed), at most ``max_bytes``.

    The file is opened without blocking and checked before anything is read: a FIFO, device or
    folder is refused at once (never waits for a writer, never reads an endless stream), and a file
    longer than ``max_bytes`` is refused after reading at most ``max_bytes + 1`` bytes.

    Raises:
      InputError: missing, not a regular file, too long, or unreadable.
    """
    data, complete = _read(path, max_bytes, whole=True)
    if not complete:
        raise InputError(f"{path}: too large (more than {max_bytes:,} bytes)")
    return data


def read_head(path: str | Path, max_bytes: int) -> tuple[bytes, bool]:
    """The first ``max_bytes`` bytes of the regular file at ``path``, and whether that is all of it.

    As :func:`read_bytes_bounded` (no blocking, only regular files), but a longer file is not an
    error: a reader that stops early (a CSV past its row limit) can say on which line it stopped.

    Raises:
      InputError: missing, not a regular file, or unreadable.
    """
    return _read(path, max_bytes, whole=False)


def _read(path: str | Path, max_bytes: int, *, whole: bool) -> tuple[bytes, bool]:
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: cannot read: it is {_kind(st.st_mode)}, not a file")
        if whole and st.st_size > max_bytes:
            raise InputError(f"{path}: too large ({st.st_size:,} bytes; at most {max_bytes:,})")
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 16, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        data = b"".join(chunks)
        return data[:max_bytes], total <= max_bytes
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
