"""A scene's first picture (its paths, then its loss over a rectangle), computed in a process of
its own while the window is being built: ``python -m gdviz.core.firstpicture``.

Why a second process. Everything between launch and the first paths ran on one core: the window's
construction (~1.1-1.5 s), then importing JAX, its backend and optax (~0.9-1.1 s), then tracing
and loading the first program (~0.7-0.9 s, warm compile cache). A thread does not help: both
imports hold the GIL (``gdviz.core.deferred``). A process does: it imports JAX and computes on
the second core while the first builds the window. It is started first thing, before Qt is
imported, and imports JAX while the window learns which scene it opens (a remembered one is in
Qt's settings): then it is told. Measured with ``gdviz bench``'s start-up code on a quiet 2-core
machine, eight launches each, alternating with the code before it: first paths 3.32-5.04 s
before, 2.03-2.32 s with it (warm compile cache; 5.03-5.25 s against 3.59-4.23 s with an empty
one), the window 1.44-1.88 s against 1.44-1.78 s.

The window (:mod:`gdviz.ui.firstpicture`) shows these paths only if their scene equals its own,
and only until its own computation of the same scene is done; that one then replaces them if
they differ in any bit. It is the same code on the same scene in the same interpreter, so they
never have.

The protocol, on pipes:

- stdin, first line: ``{"scene": ref, "cache": folder}``, the scene reference as the window
  reads it and the JAX compile cache folder ("" for none), shared with the window so that either
  one's compile serves the other.
- stdout: frames, each an 8-byte big-endian length and a pickle: ``("paths", scene, results)``
  once (``results`` as :func:`gdviz.core.simulate.simulate` returns them), then
  ``("surface", request, Surface)`` for each request.
- stdin, then: a JSON line per surface request, ``{"rect": [[x0, x1], [y0, y1]], "resolution": n,
  "l2": v}``, answered in turn; its end ends the process.

A scene that cannot be read or computed, or a network scene (trained by the window's own
worker), ends the process without a frame: the window then computes everything itself. The
pickles never leave the two processes of one launch.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Sequence
from typing import IO, Any

__all__ = [
    "SurfaceRequest",
    "main",
    "read_frame",
    "request_line",
    "scene_line",
    "spawn",
    "write_frame",
]

SurfaceRequest = tuple[tuple[tuple[float, float], tuple[float, float]], int, float]
"""``(rect, resolution, l2)``: what :func:`gdviz.core.surface.surface` is asked for."""

_LENGTH = struct.Struct(">Q")

MAX_FRAME = 1 << 30
"""A length past this is not a frame of ours (1 GiB: a surface of 512² floats is 2 MiB)."""


NICE = 10
"""The process's niceness: where the cores are busy, the window being built comes first (the
window computes its paths itself if these come late)."""


def spawn() -> subprocess.Popen[bytes] | None:
    """Start the process, with pipes (its stderr discarded); it imports JAX until it is told the
    scene. None on a single core, where it would take the window's own core (the window then
    computes everything itself), or when no process can be started (an embedded interpreter
    without ``sys.executable``, a frozen app, no processes left). Imports nothing of Qt or JAX here: it is
    the first thing a launch does."""
    if (os.cpu_count() or 1) < 2 or not sys.executable or getattr(sys, "frozen", False):
        return None  # (a frozen app's executable is the app itself, not a Python to run -m)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "gdviz.core.firstpicture"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


def write_frame(out: IO[bytes], obj: object) -> None:
    """Write ``obj`` as one frame and flush it."""
    blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(blob)))
    out.write(blob)
    out.flush()


def _read_exactly(stream: IO[bytes], n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> Any:  # noqa: ANN401 (whatever the frame holds)
    """The next frame's object; None at the end of the stream (or a cut or oversized one)."""
    head = _read_exactly(stream, _LENGTH.size)
    if head is None:
        return None
    (length,) = _LENGTH.unpack(head)
    if length > MAX_FRAME:
        return None
    blob = _read_exactly(stream, length)
    return None if blob is None else pickle.loads(blob)  # noqa: S301 (our own child's frames)


def request_line(request: SurfaceRequest) -> bytes:
    """A surface request as its line on the child's stdin (JSON floats round-trip exactly)."""
    (x0, x1), (y0, y1) = request[0]
    return (
        json.dumps({"rect": [[x0, x1], [y0, y1]], "resolution": request[1], "l2": request[2]})
        + "\n"
    ).encode()


def scene_line(ref: str, cache: str | os.PathLike[str] | None) -> bytes:
    """The first line on the child's stdin: the scene to compute, and the cache folder."""
    return (json.dumps({"scene": ref, "cache": str(cache or "")}) + "\n").encode()


def _parse_request(line: str) -> SurfaceRequest:
    spec = json.loads(line)
    (x0, x1), (y0, y1) = spec["rect"]
    resolution = int(spec["resolution"])
    if not 2 <= resolution <= 4096:
        raise ValueError(f"resolution {resolution}")
    return ((float(x0), float(x1)), (float(y0), float(y1))), resolution, float(spec["l2"])


def _configure_cache(folder: str) -> None:
    from gdviz.core.deferred import when_loaded

    def configure(jax: Any) -> None:  # noqa: ANN401 (the module)
        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)

    if folder:
        when_loaded(configure)


def serve(out: IO[bytes], requests: IO[str]) -> int:
    """Import what computing needs, read the scene from ``requests``' first line (see the
    module's doc), compute its paths and write them, then answer surface requests until
    ``requests`` ends. Returns the exit status: 0 when the paths were written, else 1."""
    from gdviz.core import deferred, load_scene
    from gdviz.core.simulate import simulate
    from gdviz.core.surface import surface

    try:
        deferred.load("optax")  # (and JAX, jax.numpy) while the window says which scene
        first = requests.readline()
        if not first:
            return 1  # the window went before it said
        spec = json.loads(first)
        _configure_cache(str(spec["cache"]))  # before anything is compiled
        scene = load_scene(str(spec["scene"]))
        if scene.is_network:
            return 1
        problem = scene.build_problem()
        results = simulate(scene, problem)
        write_frame(out, ("paths", scene, results))
        for line in requests:
            request = _parse_request(line)
            rect, resolution, l2 = request
            write_frame(out, ("surface", request, surface(problem, rect, resolution, l2=l2)))
    except BrokenPipeError:  # the window has gone: nothing to tell
        return 1
    except Exception as exc:  # noqa: BLE001 (the window computes itself; this says why, for a log)
        print(f"gdviz first picture: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The child's entry: frames go to the real stdout, and anything else printed goes to
    stderr, so that no stray line can break a frame."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        print(
            "usage: python -m gdviz.core.firstpicture (the scene comes on stdin)", file=sys.stderr
        )
        return 2
    with contextlib.suppress(AttributeError, OSError):  # (no nice on Windows: as it is)
        os.nice(NICE)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with out:
        return serve(out, sys.stdin)


if __name__ == "__main__":
    sys.exit(main())
