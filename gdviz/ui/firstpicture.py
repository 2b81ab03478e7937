"""The window's side of the start-up process that computes a scene's first picture on the second
core while the window is built (:mod:`gdviz.core.firstpicture` says why, and the protocol).

:func:`gdviz.core.firstpicture.spawn` starts it, first thing in ``gdviz``'s launch (before Qt
is imported); :class:`FirstPicture` takes it over once Qt is there, and :meth:`FirstPicture.open`
tells it the scene once the launch knows it. The window hands it to its controller
(:meth:`gdviz.ui.controller.Controller.compute`), which shows its paths if they come before its
own and are of its scene, and asks it for the first surface (:meth:`FirstPicture.ask_surface`). A frame read on the reader thread reaches the GUI thread
as a queued signal. The process is ended once the window has what it needs, when the window
closes, and at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import subprocess
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from gdviz.core.firstpicture import SurfaceRequest, read_frame, request_line, scene_line

if TYPE_CHECKING:
    from gdviz.core.scene import Scene
    from gdviz.core.simulate import Trajectory

__all__ = ["FirstPicture"]

_ALIVE: weakref.WeakSet[FirstPicture] = weakref.WeakSet()


@atexit.register
def _end_all() -> None:
    for picture in list(_ALIVE):
        picture.close()


class FirstPicture(QObject):
    """A running start-up process and what it has sent.

    Signals:
      paths_ready(scene, results): its scene and that scene's paths (``simulate``'s dict).
      surface_ready(request, surface): the loss for a request of :meth:`ask_surface`.

    ``scene`` and ``results``: the paths' scene and the paths, once they have come (None and
    ``{}`` before).
    """

    paths_ready = Signal(object, object)
    surface_ready = Signal(object, object)

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        super().__init__()
        self._process = process
        self.scene: Scene | None = None
        self.results: dict[str, Trajectory] = {}
        self._lock = threading.Lock()
        _ALIVE.add(self)
        threading.Thread(target=self._read, name="gdviz-first-picture", daemon=True).start()

    def _read(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        try:
            while (frame := read_frame(stream)) is not None:
                kind, *rest = frame
                if kind == "paths":
                    self.results = rest[1]
                    self.scene = rest[0]  # (after the results: a scene means both are here)
                    self.paths_ready.emit(*rest)
                elif kind == "surface":
                    self.surface_ready.emit(*rest)
        except Exception:  # noqa: BLE001 (a closed pipe, a cut frame, a window gone)
            return  # nothing more is used from it: the window computes what is missing

    def open(self, ref: str, cache: Path | None) -> None:
        """Compute the scene ``ref`` (as :func:`gdviz.core.load_scene` reads it), with the
        window's compile cache folder."""
        self._send(scene_line(ref, cache))

    def ask_surface(self, request: SurfaceRequest) -> None:
        """Ask for the loss over ``request``'s rectangle (answered after the paths)."""
        self._send(request_line(request))

    def _send(self, line: bytes) -> None:
        with self._lock:
            stdin = self._process.stdin
            if stdin is None or stdin.closed:
                return
            with contextlib.suppress(OSError):  # it has ended: the window computes it all
                stdin.write(line)
                stdin.flush()

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        """End the process (nothing more is wanted from it) and reap it."""
        _ALIVE.discard(self)
        with self._lock:
            if self._process.stdin is not None and not self._process.stdin.closed:
                with contextlib.suppress(OSError):
                    self._process.stdin.close()
        if self._process.poll() is None:
            self._process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
