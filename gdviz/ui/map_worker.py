"""One worker thread for the window's basin and stability maps: progressive, cancellable, pausable.

A map is a :class:`MapJob`: which map (``compute(resolution, should_stop, progress)``), at which
resolutions, coarse first. The runner computes one job at a time on its own thread and reports
each finished resolution with :attr:`MapRunner.produced` (queued to the GUI thread), so the
window shows 64² at once and sharper maps as they come. Each *slot* ("basins", "stability") holds
at most one job: a new job for a slot cancels the one it replaces between two chunks
(:func:`gdviz.core.basins.basins` asks ``should_stop`` before each chunk, ~0.1 s of work at most).

One thread for both maps, not one per map: on two cores a second map would only halve the first's
speed and take the core the GUI thread needs for its own JAX work (paths are recomputed on every
mouse move of a drag). For the same reason :meth:`MapRunner.set_paused` holds the worker between
chunks while the start is dragged; it resumes where it stopped on release.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from gdviz.core.basins import Cancelled

Compute = Callable[[int, Callable[[], bool], Callable[[int, int], None]], object]
"""``compute(resolution, should_stop, progress) -> map``: one resolution of a map."""

MAP_NICENESS = 10
"""The worker thread's niceness (Linux): below the GUI thread's share of the CPU."""


@dataclass(eq=False)
class MapJob:
    """A map to compute at ``resolutions`` (coarse first); ``key`` tells equal maps apart."""

    slot: str
    key: object
    compute: Compute = field(repr=False)
    resolutions: tuple[int, ...]
    title: str = ""


class MapRunner(QObject):
    """Runs :class:`MapJob` s on one worker thread, newest per slot, each resolution in turn.

    Signals (delivered on the GUI thread):
      produced(job, resolution, map): one resolution of ``job`` is done.
      progress(job, resolution, done, total): chunks done of this resolution.
      finished(job): every resolution of ``job`` is done.
      failed(job, message): ``compute`` raised (a SceneError, say); the job is dropped.
    """

    produced = Signal(object, int, object)
    progress = Signal(object, int, int, int)
    finished = Signal(object)
    failed = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._pending: dict[str, MapJob] = {}  # slot -> the newest job not yet started
        self._running: MapJob | None = None
        self._cancelled: set[int] = set()  # id() of jobs to stop at their next chunk
        self._paused = False
        self._closing = False
        self._thread: threading.Thread | None = None

    # --- the GUI thread's side ----------------------------------------------------------------

    def submit(self, job: MapJob) -> None:
        """Compute ``job``, replacing (and cancelling) whatever its slot held."""
        with self._cond:
            if self._closing:
                return
            self._cancel_slot(job.slot)
            self._pending[job.slot] = job
            self._cond.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="gdviz-maps", daemon=True)
                self._thread.start()

    def cancel(self, slot: str) -> None:
        """Stop the slot's job (at its next chunk) and drop one still waiting."""
        with self._cond:
            self._cancel_slot(slot)
            self._cond.notify_all()

    def _cancel_slot(self, slot: str) -> None:
        self._pending.pop(slot, None)
        if self._running is not None and self._running.slot == slot:
            self._cancelled.add(id(self._running))

    def set_paused(self, paused: bool) -> None:
        """Hold the worker between two chunks (a drag is on), or let it go on."""
        with self._cond:
            self._paused = paused
            self._cond.notify_all()

    @property
    def busy(self) -> bool:
        """A job is running or waiting."""
        with self._cond:
            return self._running is not None or bool(self._pending)

    def is_alive(self) -> bool:
        """The worker thread exists and has not ended."""
        return self._thread is not None and self._thread.is_alive()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job runs or waits (tests, screenshots); False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._running is None and not self._pending, timeout=timeout
            )

    def shutdown(self) -> None:
        """Cancel everything and join the worker (at most one chunk's time)."""
        with self._cond:
            self._closing = True
            self._pending.clear()
            if self._running is not None:
                self._cancelled.add(id(self._running))
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    # --- the worker's side --------------------------------------------------------------------

    def _next(self) -> MapJob | None:
        with self._cond:
            self._running = None
            self._cond.notify_all()  # wait_idle
            self._cond.wait_for(lambda: self._closing or bool(self._pending))
            if self._closing:
                return None
            slot = next(iter(self._pending))
            self._running = self._pending.pop(slot)
            return self._running

    def _should_stop(self, job: MapJob) -> bool:
        with self._cond:
            self._cond.wait_for(
                lambda: not self._paused or self._closing or id(job) in self._cancelled
            )
            return self._closing or id(job) in self._cancelled

    def _loop(self) -> None:
        # On Linux a thread is a task with its own niceness: the maps yield the cores to the
        # GUI thread (playback frames, paths recomputed on edits) whenever it wants them.
        if hasattr(os, "setpriority"):
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), MAP_NICENESS)
        while (job := self._next()) is not None:
            try:
                for resolution in job.resolutions:
                    result = job.compute(
                        resolution,
                        lambda job=job: self._should_stop(job),
                        lambda done, total, job=job, r=resolution: self.progress.emit(
                            job, r, done, total
                        ),
                    )
                    if self._should_stop(job):
                        raise Cancelled
                    self.produced.emit(job, resolution, result)
                self.finished.emit(job)
            except Cancelled:
                pass
            except Exception as exc:  # noqa: BLE001 (reported to the user on the GUI thread)
                self.failed.emit(job, str(exc))
            finally:
                with self._cond:
                    self._cancelled.discard(id(job))
