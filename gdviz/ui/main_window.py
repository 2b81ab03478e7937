"""The main window: assembly of views, panels, menus and shortcuts. No logic of its own."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gdviz.core import Scene, builtin_scene_names, load_scene
from gdviz.ui.controller import Controller
from gdviz.ui.panels import OptimizerPanel, PlaybackBar, ProblemPanel
from gdviz.ui.plots import DataView, LossPlot
from gdviz.ui.surface_view import SurfaceView
from gdviz.ui.theme import LIGHT


class SceneBar(QWidget):
    """The built-in scenes in a drop-down, and the scene's title and caption."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 4)
        top = QHBoxLayout()
        self.choice = QComboBox()
        self.choice.setToolTip("Built-in scenes")
        self.names = builtin_scene_names()
        for name in self.names:
            self.choice.addItem(load_scene(name).title, name)
        self.choice.activated.connect(lambda i: controller.load(self.choice.itemData(i)))
        top.addWidget(QLabel("Scene:"))
        top.addWidget(self.choice, 1)
        layout.addLayout(top)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setObjectName("caption")
        layout.addWidget(self.caption)
        controller.entries_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        scene = self.controller.scene
        index = next(
            (i for i, n in enumerate(self.names) if load_scene(n).title == scene.title), -1
        )
        if index < 0:
            if self.choice.findData("__custom__") < 0:
                self.choice.addItem(scene.title, "__custom__")
            else:
                self.choice.setItemText(self.choice.findData("__custom__"), scene.title)
            index = self.choice.findData("__custom__")
        self.choice.blockSignals(True)
        self.choice.setCurrentIndex(index)
        self.choice.blockSignals(False)
        self.caption.setText(scene.caption)
        self.caption.setVisible(bool(scene.caption) and self.caption_wanted)

    caption_wanted = True

    def show_caption(self, on: bool) -> None:
        self.caption_wanted = on
        self.caption.setVisible(on and bool(self.controller.scene.caption))


class MainWindow(QMainWindow):
    """Surface on the left, loss and data on the right, controls in docks, playback below."""

    def __init__(self, scene: Scene, *, background: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("gdviz")
        self.controller = Controller(scene, background=background, parent=self)
        ctl = self.controller
        self.surface = SurfaceView(ctl, LIGHT)
        self.loss_plot = LossPlot(ctl, LIGHT)
        self.data_view = DataView(ctl, LIGHT)
        self.scene_bar = SceneBar(ctl)
        self.playback = PlaybackBar(ctl)
        self.optimizers = OptimizerPanel(ctl)
        self.problem_panel = ProblemPanel(ctl)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.loss_plot)
        right.addWidget(self.data_view)
        views = QSplitter(Qt.Orientation.Horizontal)
        views.addWidget(self.surface)
        views.addWidget(right)
        views.setStretchFactor(0, 3)
        views.setStretchFactor(1, 2)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.scene_bar)
        column.addWidget(views, 1)
        column.addWidget(self.playback)
        self.setCentralWidget(central)

        self.optimizer_dock = self._dock("Optimizers", self.optimizers)
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
        ctl.busy_changed.connect(lambda b: self.busy.setText("preparing…" if b else ""))
        ctl.error.connect(self.show_error)
        ctl.entries_changed.connect(self._on_entries_changed)
        self._build_menus()
        self._on_entries_changed()
        self.resize(1600, 1000)

    def _dock(self, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
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
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view = bar.addMenu("&View")
        self._action(view, "&Fit view", self.surface.fit_view, "F")
        caption = self._action(view, "Show &caption", self.scene_bar.show_caption)
        caption.setCheckable(True)
        caption.setChecked(True)
        view.addAction(self.optimizer_dock.toggleViewAction())
        view.addAction(self.problem_dock.toggleViewAction())
        play = bar.addMenu("&Playback")
        self._action(play, "Play / pause", ctl.toggle_play, "Space")
        self._action(play, "Step back", lambda: ctl.step_by(-1), "Left")
        self._action(play, "Step forward", lambda: ctl.step_by(1), "Right")
        self._action(play, "Reset", ctl.reset, "Home")
        self._action(play, "Go to the end", lambda: (ctl.pause(), ctl.set_step(ctl.steps)), "End")

    def _on_entries_changed(self) -> None:
        self.data_view.setVisible(self.data_view.applicable)
        self.setWindowTitle(f"gdviz — {self.controller.scene.title}")

    def open_scene(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open scene", "", "Scenes (*.toml);;All files (*)"
        )
        if path:
            self.controller.load(path)

    def show_error(self, message: str) -> None:
        QMessageBox.warning(self, "gdviz", message)

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        self.controller.shutdown()
        QSettings("gdviz", "gdviz").setValue("geometry", self.saveGeometry())
        super().closeEvent(event)
