"""The one place the window's state changes: the scene, its results, and the playback step.

Views read from the controller and call its setters; they keep no copy of the state (napari's
model/view split, with one object and a few signals instead of an evented model).

Recomputing is synchronous when the scene's structure is already compiled (about 2 ms for the
default scene: fine on every mouse move). A new structure (another rule, step count or batch size)
compiles on a worker thread while the window stays live; edits made meanwhile are coalesced and
the newest scene is computed when the compile is done.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, QTimer, Signal

from gdviz.core import OptimizerEntry, Scene, SceneError, Trajectory, load_scene, simulate
from gdviz.core.optimizers import RULES, Convention
from gdviz.core.problems import Problem
from gdviz.core.simulate import structure_key
from gdviz.ui.theme import Theme, entry_color

BASE_STEPS_PER_SECOND = 30.0
"""Playback speed at 1x."""

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


class Controller(QObject):
    """Owns the scene, the trajectories and the playback step.

    Signals:
      entries_changed: entries were added, removed or replaced wholesale (rows rebuild).
      scene_changed: a value of the scene other than a start changed (controls refresh).
      start_changed: only a start point moved (a drag: nothing but the handles to restyle).
      results_changed: new trajectories are in ``results``.
      step_changed(int): the playback step moved.
      playing_changed(bool): playback started or stopped.
      busy_changed(bool): a compile is running in the background.
      error(str): a message for the user; nothing was changed.
    """

    entries_changed = Signal()
    scene_changed = Signal()
    start_changed = Signal()
    results_changed = Signal()
    step_changed = Signal(int)
    playing_changed = Signal(bool)
    busy_changed = Signal(bool)
    batch_view_changed = Signal()
    error = Signal(str)
    _computed = Signal(object, object, object)  # scene, results, key (from the worker thread)

    def __init__(self, scene: Scene, *, background: bool = True, parent: QObject | None = None):
        super().__init__(parent)
        self.scene = scene
        self.problem: Problem = scene.build_problem()
        self.results: dict[str, Trajectory] = {}
        self.step = 0
        self.speed = 1.0
        self.playing = False
        self.batch_view: str | None = None  # the entry whose mini-batch surface is drawn
        self._background = background
        self._warm: set[tuple[object, ...]] = set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gdviz-compile")
        self._inflight = False
        self._stale = False
        self._position = 0.0  # fractional step while playing
        self._computed.connect(self._on_computed)
        self._timer = QTimer(self)
        self._timer.setInterval(16)
        self._timer.timeout.connect(self._tick)
        self._last_tick = 0.0
        self._play_when_done = False
        self._recompute()

    # --- derived -------------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        return self.scene.steps

    @property
    def separate_starts(self) -> bool:
        return any(e.start is not None for e in self.scene.optimizers)

    @property
    def busy(self) -> bool:
        return self._inflight

    def colors(self, theme: Theme) -> dict[str, str]:
        """Every entry's colour under ``theme``: its own, or the theme's palette's by position."""
        return {
            e.label: entry_color(i, e.color, theme) for i, e in enumerate(self.scene.optimizers)
        }

    # --- scene edits ---------------------------------------------------------------------------

    def load(self, ref: str) -> bool:
        """Load a built-in scene or a file; on failure emit ``error`` and keep the current one."""
        try:
            scene = load_scene(ref)
        except SceneError as exc:
            self.error.emit(str(exc))
            return False
        self.set_scene(scene)
        return True

    def set_scene(self, scene: Scene, *, restart: bool = True) -> None:
        """Replace the whole scene (a new file or built-in)."""
        self.pause()
        self.scene = scene
        self.problem = scene.build_problem()
        self.results = {}
        self.step = 0
        self.entries_changed.emit()
        self.scene_changed.emit()
        self.results_changed.emit()
        self.step_changed.emit(0)
        self._recompute(play_when_done=restart)

    def _edit(self, scene: Scene, *, entries: bool = False, start_only: bool = False) -> None:
        """Apply an edit that keeps the view and the playback step."""
        problem_changed = (scene.problem, scene.problem_params) != (
            self.scene.problem,
            self.scene.problem_params,
        )
        self.scene = scene
        if problem_changed:
            self.problem = scene.build_problem()
        if entries:
            self.entries_changed.emit()
        # A drag moves only a start, on every mouse move: the panels have nothing to show for it.
        (self.start_changed if start_only else self.scene_changed).emit()
        self._recompute()

    def set_start(self, xy: tuple[float, float]) -> None:
        self._edit(self.scene.with_start(xy), start_only=True)

    def set_entry_start(self, label: str, xy: tuple[float, float]) -> None:
        entries = tuple(
            dataclasses.replace(e, start=(float(xy[0]), float(xy[1]))) if e.label == label else e
            for e in self.scene.optimizers
        )
        self._edit(self.scene.replace(optimizers=entries), start_only=True)

    def set_separate_starts(self, on: bool) -> None:
        """Give every entry its own start (at the shared one), or bring them back to one."""
        if on == self.separate_starts:
            return
        start = self.scene.start if on else None
        entries = tuple(dataclasses.replace(e, start=start) for e in self.scene.optimizers)
        self._edit(self.scene.replace(optimizers=entries))

    def set_hyperparam(self, label: str, name: str, value: float) -> None:
        entry = self.scene.entry(label)
        self._replace_entry(label, hyperparams={**entry.hyperparams, name: float(value)})

    def set_batch_size(self, label: str, batch_size: int | None) -> None:
        self._replace_entry(label, batch_size=batch_size)

    def set_gradient_noise(self, label: str, std: float) -> None:
        self._replace_entry(label, gradient_noise=float(std))

    def stochastic_labels(self) -> list[str]:
        """Entries whose gradient is not the full one: mini-batches or gradient noise."""
        n = self.problem.n
        return [
            e.label
            for e in self.scene.optimizers
            if (e.batch_size is not None and e.batch_size < n) or e.gradient_noise > 0
        ]

    def set_batch_view(self, label: str | None) -> None:
        """Draw what ``label``'s current mini-batch sees (None: nothing)."""
        if label is not None and label not in self.stochastic_labels():
            label = None
        if label != self.batch_view:
            self.batch_view = label
            self.batch_view_changed.emit()

    def set_visible(self, label: str, visible: bool) -> None:
        self._replace_entry(label, visible=visible)

    def set_color(self, label: str, color: str) -> None:
        self._replace_entry(label, color=color.upper())

    def rename(self, label: str, new_label: str) -> bool:
        new_label = new_label.strip()
        if not new_label or new_label == label:
            return False
        if any(e.label == new_label for e in self.scene.optimizers):
            self.error.emit(f"Another optimizer is already called {new_label!r}.")
            return False
        entries = tuple(
            dataclasses.replace(e, label=new_label) if e.label == label else e
            for e in self.scene.optimizers
        )
        results = {(new_label if k == label else k): v for k, v in self.results.items()}
        self.results = results
        self._edit(self.scene.replace(optimizers=entries), entries=True)
        return True

    def _replace_entry(self, label: str, **changes: object) -> None:
        entries = tuple(
            dataclasses.replace(e, **changes) if e.label == label else e  # type: ignore[arg-type]
            for e in self.scene.optimizers
        )
        self._edit(self.scene.replace(optimizers=entries))

    def _unique_label(self, base: str) -> str:
        taken = {e.label for e in self.scene.optimizers}
        label, k = base, 2
        while label in taken:
            label, k = f"{base} {k}", k + 1
        return label

    def add_entry(self, rule: str) -> str:
        label = self._unique_label(RULES[rule].title)
        entry = OptimizerEntry(rule, label)
        self._edit(self.scene.replace(optimizers=(*self.scene.optimizers, entry)), entries=True)
        return label

    def duplicate_entry(self, label: str) -> str:
        source = self.scene.entry(label)
        new = dataclasses.replace(source, label=self._unique_label(label), color=None)
        entries = list(self.scene.optimizers)
        entries.insert(entries.index(source) + 1, new)
        self._edit(self.scene.replace(optimizers=tuple(entries)), entries=True)
        return new.label

    def remove_entry(self, label: str) -> None:
        if len(self.scene.optimizers) == 1:
            self.error.emit("A scene needs at least one optimizer.")
            return
        entries = tuple(e for e in self.scene.optimizers if e.label != label)
        self.results.pop(label, None)
        self._edit(self.scene.replace(optimizers=entries), entries=True)

    def set_problem_param(self, name: str, value: float) -> None:
        params = {**self.scene.problem_params, name: value}
        scene = self.scene.replace(problem_params=params)
        if name == "n":  # keep every batch within the new dataset
            entries = tuple(
                dataclasses.replace(e, batch_size=min(e.batch_size, int(value)))
                if e.batch_size is not None
                else e
                for e in scene.optimizers
            )
            scene = scene.replace(optimizers=entries)
        self._edit(scene)

    def set_convention(self, convention: Convention) -> None:
        self._edit(self.scene.replace(convention=convention))

    def set_seed(self, seed: int) -> None:
        self._edit(self.scene.replace(seed=int(seed)))

    def set_steps(self, steps: int) -> None:
        if steps == self.scene.steps:
            return
        self._edit(self.scene.replace(steps=int(steps)))
        self.set_step(min(self.step, steps))

    # --- computing -----------------------------------------------------------------------------

    def _recompute(self, play_when_done: bool = False) -> None:
        self._play_when_done = self._play_when_done or play_when_done
        key = structure_key(self.scene)
        if not self._background or key in self._warm:
            self._apply(self.scene, simulate(self.scene, self.problem), key)
            return
        if self._inflight:
            self._stale = True  # the newest scene is computed when this compile ends
            return
        self._inflight = True
        self.busy_changed.emit(True)
        scene, problem = self.scene, self.problem
        self._pool.submit(self._compute_in_worker, scene, problem, key)

    def _compute_in_worker(self, scene: Scene, problem: Problem, key: tuple[object, ...]) -> None:
        try:
            results: object = simulate(scene, problem)
        except Exception as exc:  # noqa: BLE001 (reported to the user on the GUI thread)
            results = exc
        self._computed.emit(scene, results, key)

    def _on_computed(self, scene: Scene, results: object, key: tuple[object, ...]) -> None:
        self._inflight = False
        self.busy_changed.emit(False)
        if isinstance(results, Exception):
            self.error.emit(f"Could not compute the paths: {results}")
            return
        self._warm.add(key)
        if self._stale or scene is not self.scene:
            self._stale = False
            self._recompute()
            return
        self._apply(scene, results, key)  # type: ignore[arg-type]

    def _apply(self, scene: Scene, results: dict[str, Trajectory], key: tuple[object, ...]) -> None:
        self._warm.add(key)
        self.results = results
        if self.batch_view is not None and self.batch_view not in self.stochastic_labels():
            self.set_batch_view(None)
        self.results_changed.emit()
        if self._play_when_done:
            self._play_when_done = False
            self.set_step(0)
            self.play()

    def wait_until_computed(self) -> None:
        """Block until no compile is running (for screenshots and tests)."""
        self._pool.submit(lambda: None).result()

    def shutdown(self) -> None:
        self.pause()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- playback ------------------------------------------------------------------------------

    def set_step(self, step: int) -> None:
        self._position = float(max(0, min(int(step), self.steps)))
        self._show(int(self._position))

    def _show(self, step: int) -> None:
        step = max(0, min(step, self.steps))
        if step != self.step:
            self.step = step
            self.step_changed.emit(step)

    def step_by(self, delta: int) -> None:
        self.pause()
        self.set_step(self.step + delta)

    def reset(self) -> None:
        self.pause()
        self.set_step(0)

    def set_speed(self, speed: float) -> None:
        self.speed = float(speed)

    def play(self) -> None:
        if self.playing:
            return
        if self.step >= self.steps:
            self.set_step(0)
        self.playing = True
        self._position = float(self.step)
        self._last_tick = time.perf_counter()
        self._timer.start()
        self.playing_changed.emit(True)

    def play_when_ready(self) -> None:
        """Play from the start now, or as soon as the first paths are computed."""
        if self.results:
            self.set_step(0)
            self.play()
        else:
            self._play_when_done = True

    def pause(self) -> None:
        if not self.playing:
            return
        self.playing = False
        self._timer.stop()
        self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def advance(self, seconds: float) -> None:
        """Move playback on by ``seconds`` of wall time at the current speed."""
        self._position = min(
            self._position + seconds * BASE_STEPS_PER_SECOND * self.speed, self.steps
        )
        self._show(int(self._position))
        if self.step >= self.steps:
            self.pause()

    def _tick(self) -> None:
        now = time.perf_counter()
        # Wall time, not the timer's nominal 16 ms: a late frame still moves playback on by the
        # right amount. Capped so that a stall (a compile, a dialog) does not jump far ahead.
        self.advance(min(now - self._last_tick, 0.1))
        self._last_tick = now
