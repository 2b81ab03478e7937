"""A scene's first picture (its paths, then its loss over a rectangle), computed in a process of
its own while the window is being built: ``python -m gdviz.core.firstpicture REF CACHE``.

Why a second process. Everything between launch and the first paths ran on one core: the window's
construction (~1.1-1.5 s), then importing JAX, its backend and optax (~0.9-1.1 s), then tracing
and loading the first program (~0.7-0.9 s, warm compile cache). A thread does not help: both
imports hold the GIL (``gdviz.core.deferred``). A process does: it imports JAX and computes on
the second core while the first builds the window. Measured with ``gdviz bench``'s start-up code
on a 2-core machine, warm cache, three launches each alternating: first paths 2.46-3.10 s
without it, 1.94-2.24 s with it (the window 1.16-1.52 s against 1.38-1.57 s).

The window (:mod:`gdviz.ui.firstpicture`) shows these paths only if their scene equals its own,
and only until its own computation of the same scene is done; that one then replaces them if
they differ in any bit. It is the same code on the same scene in the same interpreter, so they
never have.

The protocol, on pipes:

- argv: the scene reference (as the window reads it) and the JAX compile cache folder ("" for
  JAX's default: none), shared with the window so that either one's compile serves the other.
- stdout: frames, each an 8-byte big-endian length and a pickle: ``("paths", scene, results)``
  once (``results`` as :func:`gdviz.core.simulate.simulate` returns them), then
  ``("surface", request, Surface)`` for each request.
- stdin: a JSON line per surface request, ``{"rect": [[x0, x1], [y0, y1]], "resolution": n,
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
import sys
from collections.abc import Sequence
from typing import IO, Any

__all__ = ["SurfaceRequest", "main", "read_frame", "request_line", "write_frame"]

SurfaceRequest = tuple[tuple[tuple[float, float], tuple[float, float]], int, float]
"""``(rect, resolution, l2)``: what :func:`gdviz.core.surface.surface` is asked for."""

_LENGTH = struct.Struct(">Q")

MAX_FRAME = 1 << 30
"""A length past this is not a frame of ours (1 GiB: a surface of 512² floats is 2 MiB)."""


NICE = 10
"""The process's niceness: where the cores are busy, the window being built comes first (the
window computes its paths itself if these come late)."""


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


def serve(ref: str, cache: str, out: IO[bytes], requests: IO[str]) -> int:
    """Compute ``ref``'s paths and write them, then answer surface requests until ``requests``
    ends. Returns the exit status: 0 when the paths were written, 1 when they could not be."""
    _configure_cache(cache)
    from gdviz.core import load_scene
    from gdviz.core.simulate import simulate
    from gdviz.core.surface import surface

    try:
        scene = load_scene(ref)
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
    if len(args) != 2:
        print("usage: python -m gdviz.core.firstpicture SCENE CACHE_FOLDER", file=sys.stderr)
        return 2
    with contextlib.suppress(AttributeError, OSError):  # (no nice on Windows: as it is)
        os.nice(NICE)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with out:
        return serve(args[0], args[1], out, sys.stdin)


if __name__ == "__main__":
    sys.exit(main())
