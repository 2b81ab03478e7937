"""The one place the window's state changes: the scene, its results, and the playback step.

Views read from the controller and call its setters; they keep no copy of the state (napari's
model/view split, with one object and a few signals instead of an evented model).

Recomputing is synchronous when the scene's structure is already compiled (about 2 ms for the
default scene: fine on every mouse move). A new structure (another rule, step count or batch size)
compiles on a worker thread while the window stays live; edits made meanwhile are coalesced and
the newest scene is computed when the compile is done.

Problems whose minima are searched numerically (typed formulas, the toy networks) are built with
the search deferred where an edit must be quick: while a data point is dragged (the search runs
on release), and for a new formula or data set in the window (the search runs on the worker,
next to the compile, and the markers appear when it is done).

A network scene (``scene.is_network``) is trained in full weight space and drawn on a plane
(:mod:`gdviz.ui.network`): ``problem`` is the plane as a two-parameter problem, ``results`` the
paths projected onto it with their true losses, and ``network`` the whole picture. Training and
the plane's surface always run on the worker (0.3-3 s), the old picture staying until the new
one is in; moves of the start handle are coalesced (the newest wins), keep the plane, and the
plane is fitted again on release.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from gdviz.core import deferred
from gdviz.core.optimizers import MODIFIERS, Convention
from gdviz.core.plane import PlaneSpec
from gdviz.core.problems import Problem
from gdviz.core.scene import Scene, SceneError, clamp_start, load_scene
from gdviz.core.schedules import SCHEDULES
from gdviz.core.simulate import Trajectory, is_compiled, simulate
from gdviz.ui import network as net
from gdviz.ui.theme import Theme, entry_color

if TYPE_CHECKING:
    from gdviz.ui.firstpicture import FirstPicture

BASE_STEPS_PER_SECOND = 30.0
"""Playback speed at 1x."""

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


class Controller(QObject):
    """Owns the scene, the trajectories and the playback step.

    Signals:
      entries_changed: entries were added, removed or replaced wholesale (rows rebuild).
      scene_changed: a value of the scene other than a start changed (controls refresh).
      start_changed: only a start point moved (a drag: nothing but the handles to restyle).
      problem_changed: the problem or its parameters changed (surfaces, minima, axis names).
      drag_started / drag_finished: a start handle is being dragged / was released (secondary
        views follow at a lower rate meanwhile, and exactly on release).
      scene_replaced: a whole new scene was opened (views show its own view rectangle).
      view_changed: the scene's view rectangle changed (a new formula's view): views show it.
      results_changed: new trajectories are in ``results``.
      step_changed(int): the playback step moved.
      playing_changed(bool): playback started or stopped.
      busy_changed(bool): a compile is running in the background.
      error(str): a message for the user; nothing was changed.
      notice(str): a passing message (a data point that could not go where it was dragged).
    """

    entries_changed = Signal()
    scene_changed = Signal()
    start_changed = Signal()
    problem_changed = Signal()
    drag_started = Signal()
    drag_finished = Signal()
    scene_replaced = Signal()
    view_changed = Signal()
    results_changed = Signal()
    step_changed = Signal(int)
    playing_changed = Signal(bool)
    busy_changed = Signal(bool)
    batch_view_changed = Signal()
    error = Signal(str)
    notice = Signal(str)
    _computed = Signal(object, object, object)  # scene, results, problem (from the worker)
    _minima_found = Signal(object, object)  # scene, problem with its minima (from the worker)
    _network_done = Signal(object, object)  # request, NetworkPicture or exception (worker)
    _jax_loaded = Signal()  # JAX, jax.numpy and optax are imported (from the worker)
    jax_ready = Signal()  # what waited while jax_pending may run now

    def __init__(
        self,
        scene: Scene,
        *,
        background: bool = True,
        defer: bool = False,
        parent: QObject | None = None,
    ):
        """``defer``: compute nothing until :meth:`compute` (the window's first frame first)."""
        super().__init__(parent)
        self.scene = scene
        self.network: net.NetworkPicture | None = None  # a network scene's picture
        self._init = None  # a network's initial weights moved with the handle (None: seeded)
        self._network_request: tuple[Scene, object, bool] | None = None
        self.problem: Problem = self._problem_of(scene)
        self.results: dict[str, Trajectory] = {}
        self.step = 0
        self.speed = 1.0
        self.playing = False
        self.batch_view: str | None = None  # the entry whose mini-batch surface is drawn
        self.dragging = False  # a start handle is under the pointer
        # The first paths come from the start-up process (gdviz.ui.firstpicture) while JAX is
        # still loading here: what needs it (the data view's models, the statuses, the hover's
        # loss, a new surface) waits for jax_ready and results_changed after it has loaded,
        # rather than stall the window (a hover or a zoom in the first seconds froze it).
        self.jax_pending = False
        self._background = background
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gdviz-compile")
        self._inflight = False
        self._stale = False
        self._position = 0.0  # fractional step while playing
        self._computed.connect(self._on_computed)
        self._minima_found.connect(self._on_minima_found)
        self._network_done.connect(self._on_network_done)
        self._jax_loaded.connect(self._on_jax_loaded)
        self._first_pending = False  # compute(first) waits for the first paths from either side
        self._adopted: Scene | None = None  # the scene whose paths came from the first picture
        self._live = False  # the problem changed during a drag: panels refresh on release
        self._drag_refused: str | None = None  # why the last dragged position was refused
        self._timer = QTimer(self)
        self._timer.setInterval(16)
        self._timer.timeout.connect(self._tick)
        self._last_tick = 0.0
        self._play_when_done = False
        # Made with defer=True, the controller is busy from the start: the window's first frame
        # says "Computing the paths…" while its paths wait for that frame (and for JAX to load).
        self._deferred = defer
        if not defer:
            self._recompute()

    def compute(self, first: FirstPicture | None = None) -> None:
        """Compute the scene's paths now (a controller made with ``defer=True`` waits for this).

        ``first``: the start-up process computing the same scene (:mod:`gdviz.ui.firstpicture`).
        Its paths are shown if they come first and are of this scene (``jax_pending`` until JAX
        has loaded here); the worker meanwhile loads JAX and computes the scene itself, as the
        compile that later edits reuse, and its paths replace those if they differ at all."""
        was_deferred, self._deferred = self._deferred, False
        if first is None or not was_deferred or not self._background or self.is_network:
            self._recompute()
            if was_deferred and not self._inflight:  # computed here (no worker): not busy
                self.busy_changed.emit(False)
            return
        self._first_pending = self._inflight = True  # (busy until the worker's are in)
        self.jax_pending = not deferred.ready()
        self._pool.submit(self._load_and_compute, self.scene, self.problem)
        first.paths_ready.connect(self._on_first_paths)
        if first.scene is not None:  # they came before this call (their signal went unheard)
            self._on_first_paths(first.scene, first.results)

    def _load_and_compute(self, scene: Scene, problem: Problem) -> None:
        try:
            deferred.load("optax")  # and JAX, jax.numpy: what the views wait for
        except Exception:  # noqa: BLE001, S110 (the computation below fails and reports it)
            pass
        else:
            self._jax_loaded.emit()
        self._compute_in_worker(scene, problem)

    def _on_first_paths(self, scene: Scene, results: dict[str, Trajectory]) -> None:
        """The start-up process's paths: shown if no paths are yet and the scene is the same
        (an edit made meanwhile is being computed here)."""
        if not self._first_pending or scene != self.scene:
            return
        self._adopted = self.scene  # (the one equal to it here: the worker computes this one)
        self._apply(self.scene, results)

    def _on_jax_loaded(self) -> None:
        """JAX has loaded here: what waited for it is drawn (and playback starts, if it waits)."""
        waited, self.jax_pending = self.jax_pending, False
        self.jax_ready.emit()
        if waited and self.results:
            self.results_changed.emit()
            if self._play_when_done:
                self._play_when_done = False
                self.set_step(0)
                self.play()

    # --- derived -------------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        return self.scene.steps

    @property
    def separate_starts(self) -> bool:
        return any(e.start is not None for e in self.scene.optimizers)

    @property
    def is_network(self) -> bool:
        return self.scene.is_network

    @staticmethod
    def _problem_of(scene: Scene) -> Problem:
        return net.provisional_problem(scene) if scene.is_network else scene.build_problem()

    def shared_start(self) -> tuple[float, float]:
        """Where the shared start handle sits: the scene's start, or a network's initial
        weights on its plane."""
        if self.network is not None:
            return self.network.start
        return self.scene.start

    def view_rect(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The scene's view rectangle, else the problem's (a network's: its picture's)."""
        return self._view_rect()

    def begin_drag(self) -> None:
        if not self.dragging:
            self.dragging = True
            self.drag_started.emit()

    def end_drag(self) -> None:
        """The pointer came up: a data drag's problem gets its minima (a network's search ran
        deferred during the drag), the panels refresh once, and every view catches up."""
        refit = self.is_network and self.dragging and self._network_request is not None
        if self._live:
            self._live = False
            if self.problem.minima_pending:
                try:
                    self.problem = self.scene.build_problem()
                except SceneError as exc:
                    self.error.emit(str(exc))
            self.problem_changed.emit()
            self.scene_changed.emit()
        if self._drag_refused is not None:
            self.notice.emit(self._drag_refused)
            self._drag_refused = None
        if self.dragging:
            self.dragging = False
            self.drag_finished.emit()
        if refit:  # the handle came up: the plane is fitted to the paths from there
            self._recompute_network(keep_plane=False)

    @property
    def busy(self) -> bool:
        """A compile is running, or the first paths wait for :meth:`compute`."""
        return self._inflight or self._deferred

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
            scene.build_network() if scene.is_network else scene.build_problem()
        except SceneError as exc:
            self.error.emit(str(exc))
            return False
        self.set_scene(scene)
        return True

    def set_scene(self, scene: Scene, *, restart: bool = True) -> None:
        """Replace the whole scene (a new file or built-in)."""
        self.pause()
        problem = self._problem_of(scene)
        self.scene = scene
        self.problem = problem
        self.network = None
        self._init = None
        self._network_request = None
        self.results = {}
        self.step = 0
        self.entries_changed.emit()
        self.problem_changed.emit()
        self.scene_changed.emit()
        self.scene_replaced.emit()
        self.results_changed.emit()
        self.step_changed.emit(0)
        self._recompute(play_when_done=restart)

    def _edit(
        self,
        make: Callable[[], Scene],
        *,
        entries: bool = False,
        start_only: bool = False,
        live: bool = False,
        defer_minima: bool = False,
        on_error: Callable[[str], None] | None = None,
    ) -> bool:
        """Apply an edit that keeps the view and the playback step.

        ``make`` builds the new scene; a ``SceneError`` from it (a limit every door shares:
        starts within ±1e4, labels of at most 60 characters, at most 32 entries, …) is shown to
        the user (``on_error``, else the ``error`` signal) and changes nothing. Returns whether
        the edit was applied.

        ``live``: a move of a dragged data point: the problem is built with its minima search
        deferred to the release, and the panels (``scene_changed``) wait for it too.
        ``defer_minima``: a new problem whose minima search may run on the worker.
        """
        try:
            scene = make()
            problem_changed = (scene.problem, scene.problem_params) != (
                self.scene.problem,
                self.scene.problem_params,
            )
            if scene.is_network:
                # The plane problem comes with the new picture (_on_network_done); a new
                # network's initial weights are its own seeded ones.
                if problem_changed:
                    self._init = None
                problem_changed = False
                problem = self.problem
                results = None
            elif problem_changed:
                defer = live or (defer_minima and self._background)
                problem = scene.build_problem(minima="defer" if defer else "find")
            else:
                problem = self.problem
            # Compiled already (a drag, a hyperparameter): compute now, and refuse the edit if
            # the core does (a start whose loss is not finite).
            if not scene.is_network:
                results = simulate(scene, problem) if self._synchronous(scene) else None
        except SceneError as exc:
            (on_error or self.error.emit)(str(exc))
            return False
        self.scene = scene
        self.problem = problem
        if entries:
            self.entries_changed.emit()
        if problem_changed:
            self.problem_changed.emit()
        if live:
            self._live = self._live or problem_changed
        else:
            # A drag moves only a start, on every mouse move: the panels have nothing to show.
            (self.start_changed if start_only else self.scene_changed).emit()
        if results is None:
            self._recompute()
        else:
            self._apply(scene, results)
            if problem.minima_pending and not live:
                self._pool.submit(self._minima_in_worker, scene)
        return True

    def _synchronous(self, scene: Scene) -> bool:
        """Whether ``scene`` is computed on the GUI thread: it is compiled (about 2 ms), or
        there is no worker (tests, screenshots, recordings). A network never is, with a worker."""
        if scene.is_network:
            return not self._background
        return not self._background or is_compiled(scene)

    def set_start(self, xy: tuple[float, float]) -> tuple[float, float]:
        """Move the shared start; a point past the ±1e4 box stops at its edge. Returns where
        the start is now (the handle is put there)."""
        point = clamp_start(xy)
        if self.is_network:
            return self._move_init(point)
        self._edit(lambda: self.scene.with_start(point), start_only=True)
        return self.scene.start

    def _move_init(self, point: tuple[float, float]) -> tuple[float, float]:
        """A network's start handle: the common initial weights move within the plane
        (``plane.lift(point)``) and every entry trains again; during a drag onto the same
        plane, otherwise (a click) with the plane fitted again."""
        if self.network is None:
            return self.shared_start()  # nothing drawn yet: no plane to move on
        self._init = self.network.picture.plane.lift(np.asarray(point, dtype=np.float64))
        self._recompute_network(keep_plane=self.dragging)
        return point

    def refit_plane(self) -> None:
        """Fit the plane again to the paths as they are (the Problem panel's button)."""
        if self.is_network:
            self._recompute_network(keep_plane=False)

    def set_plane(self, spec: PlaneSpec) -> None:
        """Show a network scene on another plane (a new kind, origin, seed or entries)."""
        if self.is_network and spec != self.scene.plane_spec:
            self._edit(lambda: self.scene.replace(plane=spec))

    def set_network_option(self, name: str, value: object) -> None:
        """A network's ``dataset``, ``hidden`` or ``activation``: a new network, trained from
        its own seeded initial weights (a new dataset takes its own default loss)."""
        params = dict(self.scene.problem_params)
        if params.get(name) == value:
            return
        params[name] = value
        if name == "dataset":
            params.pop("loss", None)
        self._edit(lambda: self.scene.replace(problem_params=params))

    def set_entry_start(self, label: str, xy: tuple[float, float]) -> tuple[float, float]:
        point = clamp_start(xy)
        self._edit(lambda: self.scene.with_entry_start(label, point), start_only=True)
        return self.scene.start_of(self.scene.entry(label))

    def set_separate_starts(self, on: bool) -> None:
        """Give every entry its own start (at the shared one), or bring them back to one."""
        if on != self.separate_starts:
            self._edit(lambda: self.scene.with_separate_starts(on))

    def set_hyperparam(self, label: str, name: str, value: float) -> None:
        entry = self.scene.entry(label)
        self._replace_entry(label, hyperparams={**entry.hyperparams, name: float(value)})

    def set_batch_size(self, label: str, batch_size: int | None) -> None:
        self._replace_entry(label, batch_size=batch_size)

    def set_gradient_noise(self, label: str, std: float) -> None:
        self._replace_entry(label, gradient_noise=float(std))

    def set_schedule(self, label: str, kind: str) -> None:
        """Give entry ``label`` another schedule kind (its parameters start at their defaults)."""
        if self.scene.entry(label).schedule != kind:
            self._edit(lambda: self.scene.replace_entry(label, schedule=kind, schedule_params={}))

    def set_schedule_param(self, label: str, name: str, value: float) -> None:
        """One parameter of the entry's schedule: a traced value, so nothing recompiles."""
        entry = self.scene.entry(label)
        spec = SCHEDULES[entry.schedule].spec(name)
        number = spec.coerce(value) if spec is not None else float(value)
        self._replace_entry(label, schedule_params={**entry.schedule_params, name: number})

    def set_entry_field(self, label: str, name: str, value: float) -> None:
        """A modifier of the entry: ``weight_decay``, ``l2`` or ``clip_norm`` (0 = off)."""
        if name not in {m.name for m in MODIFIERS}:
            raise ValueError(f"not an entry modifier: {name!r}")
        self._replace_entry(label, **{name: float(value)})

    def stochastic_labels(self) -> list[str]:
        """Entries whose gradient is not the full one: mini-batches or gradient noise (none
        for a network: its mini-batch surfaces and gradients live in weight space)."""
        if self.is_network:
            return []
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
        if new_label.strip() == label:
            return False
        results = self.results
        if not self._edit(lambda: self.scene.with_entry_renamed(label, new_label), entries=True):
            return False
        new = self.scene.optimizers[
            [e.label for e in self.scene.optimizers].index(new_label.strip())
        ]
        self.results = {(new.label if k == label else k): v for k, v in results.items()}
        self.results_changed.emit()
        return True

    def _replace_entry(self, label: str, **changes: object) -> None:
        self._edit(lambda: self.scene.replace_entry(label, **changes))

    def add_entry(self, rule: str) -> str | None:
        """Add an entry of ``rule``; returns its label (None at the 32-entry limit)."""
        return self._edit_adding(lambda: self.scene.with_entry_added(rule))

    def duplicate_entry(self, label: str) -> str | None:
        """Copy entry ``label`` right after it; returns the copy's label (None if refused)."""
        return self._edit_adding(lambda: self.scene.with_entry_duplicated(label))

    def _edit_adding(self, make: Callable[[], tuple[Scene, str]]) -> str | None:
        made: list[str] = []

        def scene() -> Scene:
            new, label = make()
            made.append(label)
            return new

        return made[0] if self._edit(scene, entries=True) else None

    def remove_entry(self, label: str) -> None:
        if self._edit(lambda: self.scene.without_entry(label), entries=True):
            self.results.pop(label, None)

    def set_problem_param(self, name: str, value: float) -> None:
        self._edit(lambda: self.scene.with_problem_param(name, value))

    def set_convention(self, convention: Convention) -> None:
        self._edit(lambda: self.scene.replace(convention=convention))

    def set_seed(self, seed: int) -> None:
        self._edit(lambda: self.scene.replace(seed=int(seed)))

    def set_steps(self, steps: int) -> None:
        if steps == self.scene.steps:
            return
        if self._edit(lambda: self.scene.replace(steps=int(steps))):
            self.set_step(min(self.step, steps))

    # --- your own problem: a typed formula, own data points ------------------------------------

    def _view_rect(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return self.scene.view if self.scene.view is not None else self.problem.view

    def set_expression(
        self,
        text: str,
        view: tuple[float, float, float, float] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> bool:
        """Put the scene on the formula ``text`` (and its own ``view``, ``[xmin, xmax, ymin,
        ymax]``, when given). From another problem the title becomes the formula's and the
        caption is cleared, and a start on the view's edge moves inside; a new view rectangle is
        shown (``view_changed``). A refused formula or view
        goes to ``on_error`` (else ``error``) and changes nothing."""
        before_problem, before_view = self.scene.problem, self._view_rect()
        switched = before_problem != "expression"

        def make() -> Scene:
            scene = self.scene.with_expression(text, view)
            problem = scene.build_problem(minima="defer")
            if switched:  # the old title and caption spoke of another problem
                scene = scene.replace(title=problem.title, caption="")
            (x0, x1), (y0, y1) = scene.view or problem.view
            # A start out of sight (or, on a switch, on the edge) goes where scenes start.
            mx, my = (0.05 * (x1 - x0), 0.05 * (y1 - y0)) if switched else (0.0, 0.0)
            x, y = scene.start
            if not (x0 + mx <= x <= x1 - mx and y0 + my <= y <= y1 - my):
                scene = scene.with_start((x0 + 0.2 * (x1 - x0), y0 + 0.8 * (y1 - y0)))
            return scene

        if not self._edit(
            make,
            entries=True,  # rows (no batches on a formula), the title (f(x, y) = ...)
            defer_minima=True,
            on_error=on_error,
        ):
            return False
        if switched or self._view_rect() != before_view:
            self.view_changed.emit()
        return True

    def move_point(self, i: int, xy: tuple[float, float]) -> bool:
        """Move data point ``i`` to ``xy``. During a drag (:meth:`begin_drag`) this is a live
        edit: the minima search of a network waits for the release, and a position the core
        refuses (a fit beyond ±1e4) leaves the point where it was and is said on release."""
        x, y = float(xy[0]), float(xy[1])
        if not self.dragging:
            return self._edit(lambda: self.scene.with_point_moved(i, x, y), defer_minima=True)

        def refused(message: str) -> None:
            self._drag_refused = message

        done = self._edit(lambda: self.scene.with_point_moved(i, x, y), live=True, on_error=refused)
        if done:
            self._drag_refused = None
        return done

    def add_point(self, xy: tuple[float, float]) -> bool:
        """One more data point at ``xy`` (batch sizes stay within the data)."""
        x, y = float(xy[0]), float(xy[1])
        return self._edit(lambda: self.scene.with_point_added(x, y), defer_minima=True)

    def remove_point(self, i: int) -> bool:
        """Data point ``i`` removed (batch sizes shrink with the data)."""
        return self._edit(lambda: self.scene.with_point_removed(i), defer_minima=True)

    def load_data(self, path: str | Path) -> bool:
        """The points of a CSV file; on a bad file the message names file and line and the
        current points stay."""
        return self._edit(lambda: self.scene.with_data_csv(path), defer_minima=True)

    def reset_data(self) -> bool:
        """Back to the generated data of the problem's parameters."""
        return self._edit(lambda: self.scene.without_data(), defer_minima=True)

    # --- computing -----------------------------------------------------------------------------

    def _recompute(self, play_when_done: bool = False) -> None:
        self._play_when_done = self._play_when_done or play_when_done
        if self.is_network:
            self._recompute_network(keep_plane=False)
            return
        if self._synchronous(self.scene):
            try:
                results = simulate(self.scene, self.problem)
            except SceneError as exc:
                self.error.emit(str(exc))
                return
            self._apply(self.scene, results)
            return
        if self._inflight:
            self._stale = True  # the newest scene is computed when this compile ends
            return
        self._inflight = True
        self.busy_changed.emit(True)
        scene, problem = self.scene, self.problem
        self._pool.submit(self._compute_in_worker, scene, problem)

    # --- a network scene ------------------------------------------------------------------------

    def _recompute_network(self, keep_plane: bool) -> None:
        """Train and picture the network scene: now without a worker, else on it. While a run
        is under way a newer request replaces any waiting one (the newest wins)."""
        request = (self.scene, self._init, keep_plane)
        self._network_request = request
        if not self._background:
            result = self._network_result(request)
            self._on_network_done(request, result)
            return
        if self._inflight:
            self._stale = True
            return
        self._inflight = True
        self.busy_changed.emit(True)
        self._pool.submit(self._network_in_worker, request, self.network)

    def _network_result(
        self, request: tuple[Scene, object, bool], previous: net.NetworkPicture | None = None
    ) -> object:
        """The picture of ``request``. The faithfulness gaps of a drag's paths (a kept plane)
        are worked out only if no newer move waits once the paths are trained: they cost about
        as much as the training (moons: 17 of 44 ms a move), so while the handle moves the
        paths follow about twice as often, and the readout shows "…" until it rests."""
        scene, init, keep_plane = request
        previous = previous if previous is not None else self.network
        try:
            pic = net.compute(scene, init, previous if keep_plane else None, gaps=False)  # type: ignore[arg-type]
            return net.judged(pic) if request is self._network_request else pic
        except Exception as exc:  # noqa: BLE001 (reported to the user on the GUI thread)
            return exc

    def _network_in_worker(
        self, request: tuple[Scene, object, bool], previous: net.NetworkPicture | None
    ) -> None:
        self._network_done.emit(request, self._network_result(request, previous))

    def _on_network_done(self, request: tuple[Scene, object, bool], result: object) -> None:
        if self._background:
            self._inflight = False
            self.busy_changed.emit(False)
        newest = self._network_request
        stale = self._stale or request is not newest
        self._stale = False
        if isinstance(result, Exception):
            if request is newest:
                self.error.emit(f"Could not train the network: {result}")
                if self.network is not None and self.network.picture.faithfulness.gaps_pending:
                    # What stays on screen is a move's picture (a refit on release failed):
                    # its readout gets its gaps now, never to wait for another move.
                    self._apply_network(net.judged(self.network))
        elif request[0] is self.scene:  # a run of an older scene is never shown
            self._apply_network(result)  # type: ignore[arg-type]
        if stale:  # the newest request, or another scene's compile, waited for this one
            if not self.is_network:
                self._recompute()
            elif newest is not None and newest[0] is self.scene:
                self._recompute_network(keep_plane=newest[2])
            else:
                self._recompute_network(keep_plane=False)

    def _apply_network(self, picture: net.NetworkPicture) -> None:
        new_plane = self.network is None or picture.problem is not self.network.problem
        self.network = picture
        if new_plane:
            self.problem = picture.problem
            self.problem_changed.emit()
            if self.scene.view is None:
                self.view_changed.emit()  # a new plane: its own coordinates
        if not self.dragging:  # mid-drag the handle stays under the pointer
            self.start_changed.emit()
        self._apply(self.scene, picture.results)

    def _compute_in_worker(self, scene: Scene, problem: Problem) -> None:
        try:
            results: object = simulate(scene, problem)
            if problem.minima_pending:  # a new formula or data set: its minima, off the GUI
                problem = scene.build_problem()
        except Exception as exc:  # noqa: BLE001 (reported to the user on the GUI thread)
            results = exc
        self._computed.emit(scene, results, problem)

    def _on_computed(self, scene: Scene, results: object, problem: Problem) -> None:
        self._inflight = False
        self.busy_changed.emit(False)
        adopted, self._adopted = self._adopted, None
        same = adopted is scene and scene is self.scene and not self._stale
        if same and _same_paths(self.results, results):  # (always: same code, same scene)
            self._on_minima_found(scene, problem)
            self._on_jax_loaded()  # (JAX computed them: nothing waits for it any more)
            return
        if isinstance(results, Exception):
            self.error.emit(f"Could not compute the paths: {results}")
            return
        if self._stale or scene is not self.scene:
            self._stale = False
            self._on_minima_found(scene, problem)
            self._recompute()
            return
        self._on_minima_found(scene, problem)
        self._apply(scene, results)  # type: ignore[arg-type]

    def _minima_in_worker(self, scene: Scene) -> None:
        try:
            problem = scene.build_problem()
        except Exception:  # noqa: BLE001 (no markers is all that is lost; the edit was checked)
            return
        self._minima_found.emit(scene, problem)

    def _on_minima_found(self, scene: Scene, problem: Problem) -> None:
        """Minima searched on the worker: shown if the scene still has that problem and is not
        being dragged (the release finds them itself)."""
        same = (scene.problem, scene.problem_params) == (
            self.scene.problem,
            self.scene.problem_params,
        )
        if same and self.problem.minima_pending and not problem.minima_pending and not self._live:
            self.problem = problem
            self.problem_changed.emit()
            self.scene_changed.emit()

    def _apply(self, scene: Scene, results: dict[str, Trajectory]) -> None:
        self._first_pending = False
        if scene is not self._adopted:
            self.jax_pending = False  # (paths of this process's own: JAX is here)
        self.results = results
        if self.batch_view is not None and self.batch_view not in self.stochastic_labels():
            self.set_batch_view(None)
        self.results_changed.emit()
        if self._play_when_done and not self.jax_pending:  # (else once JAX has loaded)
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


def _same_paths(shown: dict[str, Trajectory], computed: object) -> bool:
    """Whether ``computed`` (the worker's results, or its exception) holds exactly the paths
    ``shown``: every entry's points and losses, bit for bit (NaN where NaN)."""
    if not isinstance(computed, dict) or computed.keys() != shown.keys():
        return False
    return all(
        np.array_equal(a.params, b.params, equal_nan=True)
        and np.array_equal(a.loss, b.loss, equal_nan=True)
        and a.diverged_at == b.diverged_at
        for a, b in ((shown[k], computed[k]) for k in shown)
    )
