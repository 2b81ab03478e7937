"""The main window: assembly of views, panels, menus and shortcuts. No logic of its own."""

from __future__ import annotations

import atexit
import gc
import re
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QByteArray, QEvent, QRect, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from gdviz.core import Scene, builtin_scene_names, save_scene
from gdviz.core.scene import builtin_scene_titles
from gdviz.ui import gcguard
from gdviz.ui.controller import Controller
from gdviz.ui.keys import KeyRouter
from gdviz.ui.legend import LegendStrip
from gdviz.ui.map_worker import MapRunner
from gdviz.ui.maps_view import BasinLayer, StabilityView
from gdviz.ui.overlays import KEYS, KINDS, TITLES, OverlaySet
from gdviz.ui.panels import OptimizerPanel, PlaybackBar, ProblemPanel
from gdviz.ui.plots import DataView, LossPlot
from gdviz.ui.surface3d import Surface3DView
from gdviz.ui.surface_view import OverlayLayer, SurfaceView
from gdviz.ui.theme import LIGHT, PRESENTER_SCALE, THEMES, Theme

if TYPE_CHECKING:
    from gdviz.core.firstpicture import SurfaceRequest
    from gdviz.core.surface import Surface
    from gdviz.ui.equations import EquationPanel
    from gdviz.ui.firstpicture import FirstPicture
    from gdviz.ui.network_views import NetworkDataView

FRAME_MS = 16
"""One frame at 60 Hz: what the first surface waits after the first paths (painted first)."""

BASE_SIZE = (1600, 1000)
"""The window size the theme's type sizes were chosen for; type scales with the window from it."""


def window_scale(width: int, height: int) -> float:
    """How much larger than at ``BASE_SIZE`` type and lines are drawn, in steps of 0.1.

    Type follows the window: a 1024x640 window would otherwise spend its plots on labels, and a
    full-HD projector would show 11 pt text as specks.
    """
    factor = min(width / BASE_SIZE[0], height / BASE_SIZE[1])
    return round(min(max(factor, 0.8), 1.6) * 10) / 10


_platform_palette: QPalette | None = None


def palette_for(theme: Theme) -> QPalette:
    """A Qt palette for the panels, docks and dialogs that matches the plots' theme."""
    global _platform_palette
    if _platform_palette is None:  # before any theme is applied: the platform's own
        _platform_palette = QPalette(QApplication.palette())
    if not theme.dark:
        return QPalette(_platform_palette)
    palette = QPalette()
    bg, fg = QColor(theme.background), QColor(theme.foreground)
    # Fields and check boxes are filled with Base and outlined by Fusion in Window.darker(140):
    # a Base near the window's colour (#1B1E25 on #111318) left check boxes all but invisible.
    base = QColor("#2E333E")
    button = QColor("#262A33")
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, bg),
        (roles.WindowText, fg),
        (roles.Base, base),
        (roles.AlternateBase, button),
        (roles.Text, fg),
        (roles.Button, button),
        (roles.ButtonText, fg),
        (roles.ToolTipBase, button),
        (roles.ToolTipText, fg),
        (roles.PlaceholderText, QColor("#8A8F99")),
        (roles.Highlight, QColor("#3D7BD9")),
        (roles.HighlightedText, QColor("#FFFFFF")),
        (roles.Link, QColor("#56B4E9")),
        (roles.Mid, QColor("#3A3F4A")),
        (roles.Dark, QColor("#0C0E12")),
        (roles.Light, QColor("#3A3F4A")),
    ):
        palette.setColor(role, color)
    disabled = QColor("#6C717B")
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


class CaptionLabel(QLabel):
    """The scene's caption, at most ``MAX_LINES`` lines: whole sentences that fit, then "…"
    (the whole caption is the tooltip). At 1024x640 a full caption took a third of the window."""

    MAX_LINES = 3

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setObjectName("caption")
        self.full = ""

    def set_caption(self, text: str) -> None:
        self.full = text
        self.setToolTip(text)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            QTimer.singleShot(0, self, self._fit)  # once the new font is in effect

    def _fit(self) -> None:
        self.ensurePolished()  # a new style sheet's font size applies at polish
        width = max(self.width(), 200)
        metrics = QFontMetrics(self.font())
        limit = self.MAX_LINES * metrics.lineSpacing() + 2

        def height(text: str) -> int:
            flags = Qt.TextFlag.TextWordWrap
            return metrics.boundingRect(0, 0, width, 10_000, flags, text).height()

        text = self.full
        if height(text) > limit:
            sentences = [t for t in re.split(r"(?<=[.;:!?])\s+", self.full) if t]
            while len(sentences) > 1 and height(" ".join(sentences) + " …") > limit:
                sentences.pop()
            text = " ".join(sentences) + " …"
        if text != self.text():
            self.setText(text)


class SceneBar(QWidget):
    """The built-in scenes in a drop-down, and the scene's title and caption."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 4)
        top = QHBoxLayout()
        self.top = top
        self.choice = QComboBox()
        self.choice.setToolTip("Built-in scenes")
        self.titles = builtin_scene_titles()
        self.names = list(self.titles)
        for name, title in self.titles.items():
            self.choice.addItem(title, name)
        self.choice.activated.connect(lambda i: controller.load(self.choice.itemData(i)))
        top.addWidget(QLabel("Scene:"))
        top.addWidget(self.choice, 1)
        layout.addLayout(top)
        self.caption = CaptionLabel()
        layout.addWidget(self.caption)
        controller.entries_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        scene = self.controller.scene
        index = next((i for i, n in enumerate(self.names) if self.titles[n] == scene.title), -1)
        if index < 0:
            if self.choice.findData("__custom__") < 0:
                self.choice.addItem(scene.title, "__custom__")
            else:
                self.choice.setItemText(self.choice.findData("__custom__"), scene.title)
            index = self.choice.findData("__custom__")
        self.choice.blockSignals(True)
        self.choice.setCurrentIndex(index)
        self.choice.blockSignals(False)
        QToolTip.hideText()  # a caption's tooltip must not outlive its scene
        self.caption.set_caption(scene.caption)
        self.caption.setVisible(bool(scene.caption) and self.caption_wanted)

    caption_wanted = True

    def current_name(self) -> str | None:
        data = self.choice.currentData()
        return None if data == "__custom__" else data

    def set_chooser_visible(self, on: bool) -> None:
        for i in range(self.top.count()):
            widget = self.top.itemAt(i).widget()
            if widget is not None:
                widget.setVisible(on)

    def show_caption(self, on: bool) -> None:
        self.caption_wanted = on
        self.caption.setVisible(on and bool(self.controller.scene.caption))


class MainWindow(QMainWindow):
    """Surface on the left, loss and data on the right, controls in docks, playback below."""

    def __init__(
        self,
        scene: Scene,
        *,
        background: bool = True,
        remember: bool = False,
        autoplay: bool = False,
        first_picture: FirstPicture | None = None,
    ) -> None:
        """``first_picture``: the start-up process computing this scene's first paths and
        surface on the second core (``gdviz``'s launch starts it; :mod:`gdviz.ui.firstpicture`).
        """
        super().__init__()
        gcguard.hold(self)  # garbage is collected on this thread only: the workers run Python too
        self.remember = remember  # QSettings are written only by the real app, not tests
        self._session: dict[str, str] = {}  # what export dialogs chose last (size, folder)
        self.scene_path: Path | None = None
        self.theme_name = "light"
        self.presenter = False
        self.ui_scale = 1.0
        self._state_before: QByteArray | None = None
        self._geometry_before = QRect()
        self.setWindowTitle("gdviz")
        # With a worker, the first paths are computed once the window is on screen: their JAX
        # tracing on the worker held the GIL through the window's construction and first frame
        # (construction took 0.8 s for 0.25 s of main-thread CPU). Started after the first
        # frame, the window came 0.5 s sooner and the paths 0.1 s later (medians of six
        # launches each, alternating, same run).
        self._first_paths_pending = background
        self._first_picture = first_picture if background else None
        self._first_surface: SurfaceRequest | None = None  # the request it answered
        self.controller = Controller(scene, background=background, defer=background, parent=self)
        ctl = self.controller
        self.surface = SurfaceView(ctl, LIGHT)
        self.loss_plot = LossPlot(ctl, LIGHT)
        self.data_view = DataView(ctl, LIGHT)
        self._network_view: NetworkDataView | None = None  # made for the first network scene
        self.scene_bar = SceneBar(ctl)
        self.playback = PlaybackBar(ctl)
        self.optimizers = OptimizerPanel(ctl)
        self.problem_panel = ProblemPanel(ctl)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.loss_plot)
        right.addWidget(self.data_view)
        self.right_split = right
        self.overlays = OverlaySet()
        self.overlay_layer = OverlayLayer(self.surface, self.overlays)
        self.surface3d = Surface3DView(ctl, LIGHT, self.overlays)
        self.view_tabs = QTabWidget()
        self.view_tabs.addTab(self.surface, "2-D surface")
        self.view_tabs.addTab(self.surface3d, "3-D surface")
        if not self.surface3d.available:
            self.view_tabs.setTabToolTip(1, f"3-D view unavailable: {self.surface3d.reason}")
        # Basin and stability maps share one worker thread, held while the start is dragged.
        self.map_runner = MapRunner(self)
        ctl.drag_started.connect(lambda: self.map_runner.set_paused(True))
        ctl.drag_finished.connect(lambda: self.map_runner.set_paused(False))
        self.basins = BasinLayer(self.surface, self.map_runner)
        self.surface.basins = self.basins
        # The stability map is made when its tab is first opened (~0.1 s of start-up, for a
        # tab most sessions never open); its tab holds an empty stand-in until then.
        self._stability: StabilityView | None = None
        self._stability_stand_in = QWidget()
        self.view_tabs.addTab(self._stability_stand_in, "Stability")
        self.view_tabs.currentChanged.connect(self._on_tab_changed)
        views = QSplitter(Qt.Orientation.Horizontal)
        views.addWidget(self.view_tabs)
        views.addWidget(right)
        views.setStretchFactor(0, 3)
        views.setStretchFactor(1, 2)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.scene_bar)
        self.legend = LegendStrip(ctl, LIGHT)
        self.legend.toggled.connect(
            lambda label: ctl.set_visible(label, not ctl.scene.entry(label).visible)
        )
        column.addWidget(self.legend)
        column.addWidget(views, 1)
        column.addWidget(self.playback)
        self.setCentralWidget(central)

        self.optimizer_dock = self._dock("Optimizers", self.optimizers)
        # The equations' dock opens closed: its panel is made when it is first opened.
        self._equations: EquationPanel | None = None
        self.equation_dock = self._dock(
            "Equations", QWidget(), Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.equation_dock.hide()
        self.equation_dock.visibilityChanged.connect(self._on_equation_dock)
        self.problem_dock = self._dock("Problem", self.problem_panel)
        self.splitDockWidget(self.problem_dock, self.optimizer_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.optimizer_dock], [380], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.problem_dock, self.optimizer_dock],
            [self.problem_panel.sizeHint().height() + 30, 700],
            Qt.Orientation.Vertical,
        )

        self.hover = QLabel()
        self.busy = QLabel()
        self.statusBar().addWidget(self.hover, 1)
        self.statusBar().addPermanentWidget(self.busy)
        self.surface.hovered.connect(self.hover.setText)
        ctl.entries_changed.connect(self.hover.clear)  # no m, b readout over a w1, w2 scene
        ctl.busy_changed.connect(lambda b: self.busy.setText("preparing…" if b else ""))
        ctl.error.connect(self.show_error)
        ctl.notice.connect(self.notify)
        ctl.view_changed.connect(self.surface.fit_view)  # a new formula's own view
        self.data_view.hovered.connect(self.hover.setText)
        self.problem_panel.load_data_requested.connect(self.load_data)
        ctl.entries_changed.connect(self._on_entries_changed)
        self._build_menus()
        self.overlays.listeners.append(self._sync_overlay_actions)
        self._on_entries_changed()
        self.keys = KeyRouter(self, self.current_view)
        self._full_screen_before = False
        self._scale_timer = QTimer(self, singleShot=True, interval=120)
        self._scale_timer.timeout.connect(self._rescale)
        self.resize(*BASE_SIZE)
        self.surface.setFocus()
        if self._first_paths_pending:
            # The first frame comes before JAX is imported (gdviz.core.deferred): it shows the
            # whole window and "Computing the paths…" (the controller is busy until then); the
            # surface, which needs JAX, is drawn after the paths (_compute_first_paths).
            self.surface.hold_first_surface()
            ctl.busy_changed.emit(ctl.busy)
        if autoplay:  # the app opens playing: every path is drawn from the first frame anyway
            ctl.play_when_ready()

    def current_view(self) -> QWidget:
        """The view in front (the 2-D or the 3-D surface): where focus goes back to."""
        return self.view_tabs.currentWidget()

    @property
    def stability(self) -> StabilityView:
        """The "Stability" tab's view, made on first use (its tab opened, or read)."""
        if self._stability is None:
            view = StabilityView(self.controller, self.map_runner, self.current_theme())
            tabs, stand_in = self.view_tabs, self._stability_stand_in
            index, current = tabs.indexOf(stand_in), tabs.currentIndex()
            enabled, tip = tabs.isTabEnabled(index), tabs.tabToolTip(index)
            tabs.blockSignals(True)  # the same tab in front, in its place: nothing changed
            tabs.removeTab(index)
            tabs.insertTab(index, view, "Stability")
            tabs.setTabEnabled(index, enabled)
            tabs.setTabToolTip(index, tip)
            tabs.setCurrentIndex(current)
            tabs.blockSignals(False)
            stand_in.deleteLater()
            self._stability = view
        return self._stability

    def _on_tab_changed(self, index: int) -> None:
        if self._stability is None and self.view_tabs.widget(index) is self._stability_stand_in:
            self.stability  # noqa: B018 (made now: it computes its map once shown)

    @property
    def equations(self) -> EquationPanel:
        """The Equations dock's panel, made when the dock is first opened (or read)."""
        if self._equations is None:
            from gdviz.ui.equations import EquationPanel

            panel = EquationPanel(self.controller, self.overlays)
            panel.set_theme(self._dock_theme())
            stand_in = self.equation_dock.widget()
            self.equation_dock.setWidget(panel)
            stand_in.deleteLater()
            self._equations = panel
        return self._equations

    def _on_equation_dock(self, visible: bool) -> None:
        if visible:
            self.equations  # noqa: B018 (made now, in the dock as it opens)

    @property
    def network_view(self) -> NetworkDataView:
        """The network scenes' data view (under the loss plot), made on first use."""
        if self._network_view is None:
            from gdviz.ui.network_views import NetworkDataView

            view = NetworkDataView(self.controller, self.current_theme())
            view.setVisible(view.applicable)
            self.right_split.addWidget(view)
            self._network_view = view
        return self._network_view

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().resizeEvent(event)
        self._scale_timer.start()

    def paintEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().paintEvent(event)
        if self._first_paths_pending:  # the first frame is being painted: paths after it
            self._first_paths_pending = False
            QTimer.singleShot(0, self, self._compute_first_paths)

    def _compute_first_paths(self) -> None:
        if not self.isVisible():  # closed meanwhile (its controller is shut down then)
            return
        ctl = self.controller
        first = self._first_picture
        ctl.compute(first)
        if not ctl.busy:
            self.surface.refresh_surface()
            self._end_first_picture()
            return
        if first is not None and not ctl.is_network:
            # Asked now, answered once its paths are out: the surface can come with them.
            first.surface_ready.connect(self._on_first_surface)
            first.ask_surface(self.surface.surface_request())

        # The surface once the paths are computed (or refused) and painted: computed beside
        # them here, it held the GIL against their tracing on the worker (their first JAX
        # import included); computed before they are applied, it kept them off screen for its
        # 0.15 s (a timer of a frame, not 0: zero timers run before the paint of the paths).
        def draw_surface(busy: bool) -> None:
            if not busy:
                ctl.busy_changed.disconnect(draw_surface)
                QTimer.singleShot(FRAME_MS, self.surface, self._started)

        ctl.busy_changed.connect(draw_surface)

    def _started(self) -> None:
        """The first surface, after the first paths; then what start-up made is frozen for the
        garbage collector: a full collection went over ~180,000 objects (JAX, Qt, pyqtgraph)
        and took ~100 ms, a visible hitch in a drag or playback whenever it came; with them
        frozen it took under 1 ms (gc.freeze: they are freed by reference counts as ever)."""
        if self._first_surface != self.surface.surface_request():
            self.surface.refresh_surface()  # (none came from the start-up process, or not this)
        self._end_first_picture()
        gc.freeze()

    def _on_first_surface(self, request: SurfaceRequest, surface: Surface) -> None:
        """The start-up process's surface: drawn if none is yet, and if it is what the view
        would compute now (the same scene, rectangle, resolution and L2 term)."""
        first, ctl = self._first_picture, self.controller
        if (
            first is None
            or self.surface.image.image is not None
            or first.scene != ctl.scene
            or request != self.surface.surface_request()
        ):
            return
        rect, _, l2 = request
        self.surface.show_surface(surface, rect, l2)
        self._first_surface = request

    def _end_first_picture(self) -> None:
        if self._first_picture is not None:
            self._first_picture.close()

    def _rescale(self) -> None:
        scale = window_scale(self.width(), self.height())
        if scale != self.ui_scale:
            self.ui_scale = scale
            self._apply_theme()
            if not self.presenter:  # the rows' type grew or shrank: so does the dock
                self.resizeDocks(
                    [self.optimizer_dock], [round(380 * scale)], Qt.Orientation.Horizontal
                )

    def _sync_overlay_actions(self) -> None:
        """The menu's check marks follow the overlays, whoever switched them (the equations
        panel's step-by-step does too)."""
        for kind, action in self.overlay_actions.items():
            on = kind in self.overlays.enabled
            if action.isChecked() != on:
                action.blockSignals(True)
                action.setChecked(on)
                action.blockSignals(False)

    def _dock(
        self,
        title: str,
        widget: QWidget,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.LeftDockWidgetArea,
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def _action(self, menu, text: str, slot, shortcut: str | QKeySequence | None = None) -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work while the menu bar is hidden too
        return action

    def _build_menus(self) -> None:
        ctl = self.controller
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&Open scene…", self.open_scene, QKeySequence.StandardKey.Open)
        self._action(file, "&Save scene", self.save_scene, QKeySequence.StandardKey.Save)
        self._action(file, "Save scene &as…", self.save_scene_as, QKeySequence.StandardKey.SaveAs)
        self.load_data_action = self._action(file, "&Load data (CSV)…", self.load_data)
        file.addSeparator()
        from gdviz.ui.dialogs import EXPORTS

        for kind, spec in EXPORTS.items():
            shortcut = "Ctrl+E" if kind == "video" else None
            self._action(file, spec.menu, lambda _=False, k=kind: self.export(k), shortcut)
        self.export_paths_action = self._action(
            file, "Export &trajectories (CSV)…", self.export_trajectories
        )
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view = bar.addMenu("&View")
        self._action(view, "&Fit view", lambda: self.surface.fit_view(hold_starts=True), "F")
        self._action(view, "Switch 2-D / 3-&D", self.toggle_3d, "3")
        self.basins_action = self._action(
            view, "Basi&ns (where each start ends)", self.set_basins, "N"
        )
        self.basins_action.setCheckable(True)
        self.stability_action = self._action(
            view, "&Stability map", lambda: self.show_view("stability"), "S"
        )
        overlay_menu = view.addMenu("&Overlays")
        self.overlay_actions = {}
        for kind in KINDS:
            action = self._action(
                overlay_menu, TITLES[kind], lambda on, k=kind: self.overlays.set(k, on), KEYS[kind]
            )
            action.setCheckable(True)
            self.overlay_actions[kind] = action
        caption = self._action(view, "Show &caption", self.scene_bar.show_caption)
        caption.setCheckable(True)
        caption.setChecked(True)
        self.caption_action = caption
        view.addAction(self.optimizer_dock.toggleViewAction())
        equations = self.equation_dock.toggleViewAction()
        equations.setShortcut(QKeySequence("E"))
        view.addAction(equations)
        self.addAction(equations)
        view.addAction(self.problem_dock.toggleViewAction())
        view.addSeparator()
        self.presenter_action = self._action(view, "&Presenter mode", self.set_presenter, "F5")
        self.presenter_action.setCheckable(True)
        self._action(view, "Leave presenter mode", lambda: self.set_presenter(False), "Esc")
        self._action(
            view, "Show / hide the playback &bar (presenter mode)", self.toggle_playback_bar, "B"
        )
        self._action(view, "F&ull screen", self.toggle_full_screen, "F11")
        self.dark_action = self._action(
            view, "&Dark theme", lambda on: self.set_theme_name("dark" if on else "light"), "Ctrl+D"
        )
        self.dark_action.setCheckable(True)
        self._action(view, "Next scene", lambda: self.step_scene(1), "PgDown")
        self._action(view, "Previous scene", lambda: self.step_scene(-1), "PgUp")
        play = bar.addMenu("&Playback")
        self._action(play, "Play / pause", ctl.toggle_play, "Space")
        self._action(play, "Step back", lambda: ctl.step_by(-1), "Left")
        self._action(play, "Step forward", lambda: ctl.step_by(1), "Right")
        self._action(play, "Reset", ctl.reset, "Home")
        self._action(play, "Go to the end", lambda: (ctl.pause(), ctl.set_step(ctl.steps)), "End")
        data = bar.addMenu("&Data")
        data.addAction(self.load_data_action)
        self.reset_data_action = self._action(data, "&Reset to generated data", ctl.reset_data)
        self.remove_point_action = self._action(
            data, "Remove the &point under the pointer", self.data_view.remove_current_point, "Del"
        )
        tools = bar.addMenu("&Tools")
        self.tune_action = self._action(tools, "&Tune learning rates…", self.tune_rates, "Ctrl+T")
        for menu in (file, view, overlay_menu, tools):
            menu.setToolTipsVisible(True)  # a tool switched off says why
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "F1")

    def _on_entries_changed(self) -> None:
        made = self._network_view
        shown = (self.data_view.applicable, self.controller.is_network)
        before = (self.data_view.isVisibleTo(self), made is not None and made.isVisibleTo(self))
        self.data_view.setVisible(shown[0])
        if shown[1] or made is not None:
            self.network_view.setVisible(shown[1])
        if shown != before and any(shown):
            # A view hidden since the first layout has size 0 in the splitter and would come
            # back as a 20 px strip (moons, then PageDown to neuron): share the height anew.
            total = max(sum(self.right_split.sizes()), 2)
            self.right_split.setSizes([total // 2, total // 2 * shown[0], total // 2 * shown[1]])
        network = self.controller.is_network
        for action in (self.load_data_action, self.reset_data_action, self.remove_point_action):
            action.setEnabled(self.controller.problem.has_data and not network)
        self._network_tools(network)
        self.setWindowTitle(f"gdviz — {self.controller.scene.title}")

    NETWORK_WHY = (
        "a network has hundreds of weights, drawn on a plane through them: this tool works "
        "in a two-parameter space"
    )

    def _network_tools(self, network: bool) -> None:
        """Tools of two-parameter space, off for a network scene with a tooltip saying why:
        basins, stability, overlays and step-by-step numbers (they read a 2-D gradient and
        optimizer state, which a projected path has not), tuning and the 3-D view."""
        why = f"Not for network scenes: {self.NETWORK_WHY}" if network else ""
        if network:
            if self.basins_action.isChecked():
                self.set_basins(False)
            for kind in list(self.overlays.enabled):
                self.overlays.set(kind, False)
            if self.view_tabs.currentIndex() != 0:
                self.view_tabs.setCurrentIndex(0)
            self.equation_dock.hide()
        actions = [
            self.basins_action,
            self.stability_action,
            self.tune_action,
            self.export_paths_action,
            self.equation_dock.toggleViewAction(),
            *self.overlay_actions.values(),
        ]
        for action in actions:
            action.setEnabled(not network)
            action.setToolTip(why or action.text().replace("&", ""))
        for tab in (1, 2):
            self.view_tabs.setTabEnabled(tab, not network)
            tip = why if network else ""
            if tab == 1 and not self.surface3d.available:
                tip = f"3-D view unavailable: {self.surface3d.reason}"
            self.view_tabs.setTabToolTip(tab, tip)

    def open_scene(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open scene", "", "Scenes (*.toml);;All files (*)"
        )
        if path and self.controller.load(path):
            self.scene_path = Path(path)

    def load_data(self) -> None:
        """File > Load data: a CSV file of points (the folder is remembered); a bad file is
        shown with its line, and the current points stay."""
        if not self.controller.problem.has_data:
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Load data points", self._recall("data/folder", ""), "CSV (*.csv *.txt);;All (*)"
        )
        if not path:
            return
        self._remember("data/folder", str(Path(path).parent))
        if self.controller.load_data(path):
            self.notify(f"Loaded {Path(path).name}: {self.controller.problem.n} points")

    # --- saving and exporting ------------------------------------------------------------------

    def scene_to_save(self) -> Scene:
        """The scene with everything the user changed, the visible rectangle included."""
        scene = self.controller.scene
        if scene.is_network:  # plane coordinates mean nothing once the plane is fitted again
            return scene
        return scene.replace(view=self.surface.visible_rect())

    def save_scene(self) -> bool:
        if self.scene_path is None:
            return self.save_scene_as()
        return self.save_scene_to(self.scene_path)

    def save_scene_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save scene", "scene.toml", "Scenes (*.toml)")
        return bool(path) and self.save_scene_to(Path(path))

    def save_scene_to(self, path: Path) -> bool:
        try:
            save_scene(self.scene_to_save(), path)
        except OSError as exc:
            self.show_error(f"Could not save {path}: {exc.strerror or exc}")
            return False
        self.scene_path = path
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def export(self, kind: str) -> None:
        from gdviz.ui.dialogs import EXPORTS, ExportDialog, confirm_target, run_export

        spec = EXPORTS[kind]
        dialog = ExportDialog(self.controller.scene, kind, self)
        dialog.restore(self._recall)  # the size and frame rate chosen last time
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export {kind}", self._export_name(spec.suffix), f"*.{spec.suffix}"
        )
        target = confirm_target(self, path, spec.suffix)  # asks about a file it was not asked
        if target is None:
            return
        dialog.remember(self._remember)
        self._remember("export/folder", str(target.parent))
        self.controller.pause()
        step = self.controller.step if spec.still else None
        done, message = run_export(
            self,
            self.scene_to_save(),
            target,
            dialog.chosen_size(),
            dialog.fps.value(),
            dialog.seconds.value(),
            step,
            dark=self.theme_name == "dark",
        )
        if done:
            self.notify(message)
        elif message:
            self.show_error(message)

    def export_trajectories(self) -> None:
        from gdviz.export.files import UserError, write_trajectories
        from gdviz.ui.dialogs import confirm_target

        path, _ = QFileDialog.getSaveFileName(
            self, "Export trajectories", self._export_name("csv"), "*.csv"
        )
        target = confirm_target(self, path, "csv")  # asks about a file it was not asked
        if target is None:
            return
        self._remember("export/folder", str(target.parent))
        try:
            # Agreed to replace an existing file (never a non-file anyway).
            write_trajectories(target, self.controller.results, force=True)
        except UserError as exc:
            self.show_error(str(exc))
            return
        rows = sum(p.steps + 1 for p in self.controller.results.values())
        self.notify(f"Wrote {target.name} ({rows:,} rows)")

    def _export_name(self, suffix: str) -> str:
        """A file name for an export: the scene's name, in the folder used last time."""
        name = self.scene_bar.current_name() or (
            self.scene_path.stem if self.scene_path else "gdviz"
        )
        folder = self._recall("export/folder", "")
        return str(Path(folder) / f"{name}.{suffix}") if folder else f"{name}.{suffix}"

    def _recall(self, key: str, default: str) -> str:
        if key in self._session:
            return self._session[key]
        if self.remember:
            return str(QSettings("gdviz", "gdviz").value(key, default))
        return default

    def _remember(self, key: str, value: str) -> None:
        """Kept for this session, and across sessions in the real app (not in tests)."""
        self._session[key] = value
        if self.remember:
            QSettings("gdviz", "gdviz").setValue(key, value)

    # --- looks ---------------------------------------------------------------------------------

    def set_theme_name(self, name: str) -> None:
        if name == self.theme_name:
            return
        self.theme_name = name
        self._apply_theme()

    def current_theme(self) -> Theme:
        """The theme as drawn now: light or dark, scaled with the window and presenter mode."""
        factor = self.ui_scale * (PRESENTER_SCALE if self.presenter else 1.0)
        base = THEMES[self.theme_name]
        return base if factor == 1.0 else base.scaled(f"{base.name}-x{factor:g}", factor)

    def _dock_theme(self) -> Theme:
        """The docks' theme: the window's, scaled with the window but not by presenter mode
        (the docks are hidden then, and come back at the width they had: presenter-sized rows
        made them a quarter wider)."""
        docks = THEMES[self.theme_name]
        if self.ui_scale != 1.0:
            docks = docks.scaled(f"{docks.name}-x{self.ui_scale:g}", self.ui_scale)
        return docks

    def _apply_theme(self) -> None:
        theme = self.current_theme()
        docks = self._dock_theme()
        for view in (
            self.surface,
            self.surface3d,
            self.loss_plot,
            self.data_view,
            self._network_view,  # the views not made yet take the theme when they are
            self._stability,
        ):
            if view is not None:
                view.set_theme(theme)
        self.optimizers.set_theme(docks)
        if self._equations is not None:  # made later with the theme of then
            self._equations.set_theme(docks)
        self.legend.set_theme(theme)
        self.dark_action.setChecked(self.theme_name == "dark")
        # Panels, docks and bars: the window's palette and a font that scales like the plots'.
        palette = palette_for(theme)
        self.setPalette(palette)
        # The application's too: dialogs and message boxes are windows of their own, which a
        # window's palette does not reach (the dark theme's Tune dialog was a light box).
        QApplication.setPalette(palette)
        font = QFont(self.font())
        font.setPointSizeF(theme.panel_font_pt)
        for widget in (self.menuBar(), self.statusBar(), self.playback, self.scene_bar):
            widget.setFont(font)
        dock_font = QFont(self.font())
        dock_font.setPointSizeF(docks.panel_font_pt)
        for dock in (self.optimizer_dock, self.problem_dock, self.equation_dock):
            if dock.font().pointSizeF() != dock_font.pointSizeF():
                dock.setFont(dock_font)
        self.playback.set_theme(theme)
        # A style sheet takes its colours from the application, not the window: say the colour.
        self.scene_bar.caption.setStyleSheet(
            f"font-size: {theme.panel_font_pt + 1}pt; color: {theme.foreground};"
        )
        self.view_tabs.tabBar().setVisible(not self.presenter)  # key 3 still switches

    def set_presenter(self, on: bool) -> None:
        """Full screen, only the views, large type and thick lines, and a slim playback bar
        (B hides it). Esc or F5 again brings everything back as it was, dock sizes included."""
        if on == self.presenter:
            return
        self.presenter = on
        self.presenter_action.setChecked(on)
        if on:
            self._state_before = self.saveState()  # docks: which are open, and their sizes
            self._geometry_before = self.geometry()
            self._full_screen_before = self.isFullScreen()
            for dock in (self.optimizer_dock, self.problem_dock, self.equation_dock):
                dock.hide()
        for widget in (self.menuBar(), self.statusBar()):
            widget.setVisible(not on)
        self.playback.set_slim(on)
        self.playback.setVisible(True)
        self.scene_bar.set_chooser_visible(not on)
        self._apply_theme()  # before the docks come back: they size to the normal type
        if on and not self.isFullScreen():
            self.showFullScreen()
        elif not on and self.isFullScreen() and not self._full_screen_before:
            self.showNormal()
            self.setGeometry(self._geometry_before)  # some platforms forget the size
        if not on and self._state_before is not None:
            self.restoreState(self._state_before)
            # Once more after the window has its normal size again: dock sizes are kept relative
            # to the window, and leaving full screen resizes it only in the event loop.
            QTimer.singleShot(0, self, lambda state=self._state_before: self.restoreState(state))
        self.current_view().setFocus()

    def toggle_playback_bar(self) -> None:
        """In presenter mode, hide or show the slim playback bar (the keys work either way)."""
        if self.presenter:
            self.playback.setVisible(not self.playback.isVisible())

    def toggle_3d(self) -> None:
        self.show_view("3d" if self.view_tabs.currentIndex() != 1 else "2d")

    def show_view(self, which: str) -> None:
        """Bring the "2d", "3d" or "stability" view to the front (a tab switched off for a
        network scene stays behind, and the status bar says why)."""
        index = {"3d": 1, "stability": 2}.get(which, 0)
        if not self.view_tabs.isTabEnabled(index):
            self.statusBar().showMessage(self.view_tabs.tabToolTip(index), 6000)
            return
        self.view_tabs.setCurrentIndex(index)

    def set_basins(self, on: bool) -> None:
        """View > Basins: the basin map of one optimizer over the 2-D surface (shown in front)."""
        on = on and not self.controller.is_network
        self.basins_action.setChecked(on)
        if on:
            self.show_view("2d")
        self.basins.set_enabled(on)

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def step_scene(self, delta: int) -> None:
        """PageDown / PageUp, as a presentation clicker sends: the next or previous built-in scene."""
        names = builtin_scene_names()
        current = self.scene_bar.current_name()
        index = (names.index(current) + delta) % len(names) if current in names else 0
        if self.controller.load(names[index]):
            self.scene_path = None

    def tune_rates(self) -> None:
        """Tools > Tune learning rates: a search for each visible entry's rate, on the maps'
        worker; its Apply sets them (see gdviz.ui.tune_dialog)."""
        from gdviz.ui.tune_dialog import TuneDialog

        if getattr(self, "tune_dialog", None) is not None:
            self.tune_dialog.deleteLater()  # the last one, closed: one dialog at a time
        self.tune_dialog = TuneDialog(self.controller, self.map_runner, self, self.current_theme())
        self.tune_dialog.open()

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", self.shortcuts_html())

    def shortcuts_html(self) -> str:
        rows = "".join(
            f"<tr><td><b>{a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)}</b></td>"
            f"<td>&nbsp;&nbsp;{a.text().replace('&', '')}</td></tr>"
            for a in self.actions()
            if not a.shortcut().isEmpty()
        )
        extra = (
            "<tr><td><b>Drag</b></td><td>&nbsp;&nbsp;the round handle: move the start</td></tr>"
            "<tr><td><b>Click</b></td><td>&nbsp;&nbsp;the surface: start there</td></tr>"
            "<tr><td><b>Wheel</b></td><td>&nbsp;&nbsp;zoom; drag empty space to pan</td></tr>"
            "<tr><td><b>Data view</b></td><td>&nbsp;&nbsp;click: add a point; drag a point: "
            "move it; right-click or Del: remove it</td></tr>"
        )
        return f"<table>{rows}{extra}</table>"

    def notify(self, message: str) -> None:
        """A short "done" notice: in the status bar, or over the views when it is hidden."""
        if self.statusBar().isVisible():
            self.statusBar().showMessage(message, 8000)
        else:
            QMessageBox.information(self, "gdviz", message)

    def show_error(self, message: str) -> None:
        QMessageBox.warning(self, "gdviz", message)

    def restore_settings(self) -> None:
        """Window geometry and theme from the last session."""
        settings = QSettings("gdviz", "gdviz")
        geometry = settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        theme = settings.value("theme", "light")
        if theme in THEMES and theme != self.theme_name:
            self.set_theme_name(str(theme))

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        self._end_first_picture()
        self.map_runner.shutdown()
        self.controller.shutdown()
        if self.remember:
            settings = QSettings("gdviz", "gdviz")
            settings.setValue("geometry", self.saveGeometry())
            settings.setValue("theme", self.theme_name)
            name = self.scene_bar.current_name()
            settings.setValue("last_scene", str(self.scene_path) if self.scene_path else name)
        super().closeEvent(event)


def _delete_windows_at_exit() -> None:
    """Delete every window still open when Python exits, while Python and pyqtgraph are whole.

    A script that kept its window to the end (the bench's and the tests' launches) died with a
    segfault at exit in 2-7 of 8 runs: the window outlived pyqtgraph's exit cleanup (which
    unregisters every view box) and was deleted by PySide's own, whose item destructors then
    called back into pyqtgraph's Python. atexit runs the last registered first: this module
    imports pyqtgraph and PySide before it registers, so this runs before both. No close():
    nothing is asked or saved, as when a process ends. (The app's own window is deleted when
    ``gdviz.ui.app.run`` returns.)"""
    app = QApplication.instance()
    if app is None:
        return
    for widget in app.topLevelWidgets():
        if isinstance(widget, MainWindow) and shiboken6.isValid(widget):
            widget.map_runner.shutdown()  # no worker may call into a deleted window
            widget.controller.shutdown()
            shiboken6.delete(widget)


atexit.register(_delete_windows_at_exit)
