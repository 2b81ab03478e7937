"""The network scene's own widgets: the data with each entry's decision boundary or fitted curve,
and the Problem panel's network parameters and plane picker."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from gdviz.core.mlp import ACTIVATIONS, DATASETS, MLP_PARAMS, Network
from gdviz.core.plane import PlaneSpec
from gdviz.core.scene import SceneError
from gdviz.ui.controller import Controller
from gdviz.ui.items import Curve, cache_static, contour_lines, set_pen_color
from gdviz.ui.panels import _set_quietly, spin_for
from gdviz.ui.plots import _style
from gdviz.ui.rate import Throttle, follow_drags
from gdviz.ui.theme import LIGHT, Theme

CLASS_COLORS = ("#E69F00", "#56B4E9")
"""Class 0 and class 1 in the data view: Okabe-Ito orange and sky blue, as light fills with a
dark rim (the entries' boundaries are drawn over them in the entries' own colours)."""


PLAYBACK_MS = 66
"""How often the boundaries follow playback: about 15 Hz. Each is a forward pass of every entry
over 64² inputs and a contour (~6 ms on moons, more on spirals-lr), most of a 17-25 ms playback
frame on the network scenes; a pause, a scrub and the end of playback draw the step exactly."""


class NetworkDataView(pg.PlotWidget):
    """The network's data and, at the playback step, each visible entry's decision boundary
    (the ``p = 0.5`` contour of its predictions over the inputs, as TensorFlow Playground draws
    it) or, for a regression, its fitted curve. Follows playback at ~15 Hz
    (:data:`PLAYBACK_MS`) and a scrub or a pause at once, and edits at the rate the two-parameter
    data view does (:func:`gdviz.ui.rate.follow_drags`)."""

    GRID = 64
    """Prediction grid points per input axis: one forward pass of every visible entry over
    64² points per frame."""

    def __init__(self, controller: Controller, theme: Theme = LIGHT) -> None:
        super().__init__(background=theme.background, enableMenu=False)
        self.controller = controller
        self.theme = theme
        self.plot = self.getPlotItem()
        self.vb = self.plot.getViewBox()
        self.points = pg.ScatterPlotItem(pxMode=True)
        self.points.setZValue(5)
        self.plot.addItem(self.points)
        self.lines: dict[str, Curve] = {}
        self._network: Network | None = None
        controller.entries_changed.connect(self.rebuild)
        controller.scene_changed.connect(self._restyle)
        controller.problem_changed.connect(self._on_data_changed)
        self.throttle = Throttle(self.update_lines, parent=self)
        follow_drags(self.throttle, controller, phase=0.5)
        controller.results_changed.connect(self.throttle)
        self.playback = Throttle(self.update_lines, PLAYBACK_MS, parent=self)
        controller.step_changed.connect(self._on_step)
        controller.playing_changed.connect(self._on_playing)
        self._style()
        self.rebuild()

    @property
    def applicable(self) -> bool:
        return self.controller.is_network

    def _on_step(self, _step: int) -> None:
        if self.controller.playing:
            self.playback()
        else:  # a scrub, a step key, a jump: the boundaries of that step, now
            self.playback.cancel()
            self.update_lines()

    def _on_playing(self, playing: bool) -> None:
        if not playing:  # paused (or at the end): the step it stopped on, exactly
            self.playback.cancel()
            self.update_lines()

    def _title(self) -> str:
        network = self.network()
        if network is not None and not network.classify:
            return "Fitted curves"
        return "Decision boundaries (p = ½)"

    def _style(self) -> None:
        network = self.network()
        bottom, left = ("x", "y") if network is None or not network.classify else ("x₁", "x₂")
        _style(self.plot, self.theme, self._title(), bottom, left)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(theme.background)
        self._style()
        self._network = None  # points restyled
        self.rebuild()

    def network(self) -> Network | None:
        """The network drawn: the picture's (its data), or None (not a network scene)."""
        ctl = self.controller
        if not ctl.is_network:
            return None
        problem = ctl.problem
        return getattr(problem, "network", None)

    def rebuild(self) -> None:
        for line in self.lines.values():
            self.plot.removeItem(line)
        self.lines.clear()
        if not self.applicable:
            self.points.setData([])
            self._network = None
            return
        for entry in self.controller.scene.optimizers:
            line = Curve()
            line.setZValue(10)
            self.plot.addItem(line)
            self.lines[entry.label] = line
        self._restyle()

    def _restyle(self) -> None:
        colors = self.controller.colors(self.theme)
        width = self.theme.trail_width
        for entry in self.controller.scene.optimizers:
            line = self.lines.get(entry.label)
            if line is not None:
                set_pen_color(line, colors[entry.label], width)
        self._on_data_changed()

    def _on_data_changed(self) -> None:
        network = self.network()
        if network is None:
            self.points.setData([])
            self._network = None
            return
        if network is self._network:
            self.update_lines()
            return
        self._network = network
        self._style()
        size = max(7, round(0.45 * self.theme.head_size))
        rim = pg.mkPen(self.theme.foreground, width=0.8)
        if network.classify:
            brushes = [pg.mkBrush(c) for c in CLASS_COLORS]
            self.points.setData(
                x=network.x[:, 0],
                y=network.x[:, 1],
                brush=[brushes[int(v > 0.5)] for v in network.y],
                pen=rim,
                size=size,
            )
        else:
            grey = 200 if self.theme.dark else 90
            self.points.setData(
                x=network.x[:, 0], y=network.y, brush=pg.mkBrush(grey, grey, grey, 170), pen=rim
            )
            self.points.setSize(size)
        (x0, x1), (y0, y1) = network.input_view()
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        cache_static(self.points)
        self.update_lines()

    def boundaries(self, step: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each visible entry's line at ``step``: its ``p = 0.5`` contour over the input grid
        (NaN-separated segments), or its fitted curve."""
        ctl = self.controller
        network = self.network()
        pic = ctl.network
        if network is None or pic is None or pic.scene is not ctl.scene:
            return {}
        shown = [e.label for e in ctl.scene.optimizers if e.visible and e.label in pic.paths]
        if not shown:
            return {}
        weights = np.stack([pic.paths[k].weights[min(step, pic.paths[k].steps)] for k in shown])
        out = np.atleast_2d(network.predictions(weights, self.GRID))
        xs, ys, _ = network.input_grid(self.GRID)
        lines = {}
        for label, values in zip(shown, out.reshape(len(shown), *out.shape[1:]), strict=True):
            if network.classify:
                lines[label] = contour_lines(values, xs, ys, np.array([0.5]))
            else:
                lines[label] = (xs, values)
        return lines

    def update_lines(self) -> None:
        if not self.applicable:
            return
        lines = self.boundaries(self.controller.step)
        for label, line in self.lines.items():
            data = lines.get(label)
            if data is None:
                line.setData([], [])
                line.setVisible(False)
            else:
                line.setData(*data)
                line.setVisible(True)


PLANES = (
    ("PCA of the paths, through the initial weights", "pca", "init"),
    ("PCA of the paths, through their mean end point", "pca", "end"),
    ("random directions, filter-normalized (Li et al.)", "random", "init"),
    ("through the init and two entries' end points", "minima", "init"),
)


class NetworkForm:
    """The Problem panel's rows for a network scene: dataset, network shape and seeds (each
    edit trains again on the worker), and the plane: its kind, a random plane's seed, a minima
    plane's two entries, and a button that fits it again to the paths as they are."""

    def __init__(self, controller: Controller, form: QFormLayout) -> None:
        self.controller = controller
        ctl = controller
        self.title = QLabel()
        self.title.setWordWrap(True)
        form.addRow(self.title)
        self.dataset = QComboBox()
        for name, doc in DATASETS.items():
            self.dataset.addItem(name, name)
            self.dataset.setItemData(self.dataset.count() - 1, doc, Qt.ItemDataRole.ToolTipRole)
        self.dataset.setToolTip("The data the network learns (made from the data seed)")
        self.dataset.activated.connect(
            lambda i: ctl.set_network_option("dataset", self.dataset.itemData(i))
        )
        form.addRow("dataset", self.dataset)
        self.spins: dict[str, pg.SpinBox] = {}
        for p in MLP_PARAMS:
            spin = spin_for(p, ctl.scene.problem_params.get(p.name, p.default))
            spin.sigValueChanging.connect(lambda _, v, n=p.name: self._set_param(n, v))
            self.spins[p.name] = spin
            form.addRow(p.doc or p.name, spin)
        self.hidden = QLineEdit()
        self.hidden.setToolTip("Hidden layer sizes, e.g. 8, 8 (Enter applies)")
        self.hidden.returnPressed.connect(self._apply_hidden)
        form.addRow("hidden layers", self.hidden)
        self.activation = QComboBox()
        self.activation.addItems(list(ACTIVATIONS))
        self.activation.setToolTip("The hidden layers' activation")
        self.activation.activated.connect(
            lambda _: ctl.set_network_option("activation", self.activation.currentText())
        )
        form.addRow("activation", self.activation)

        self.plane = QComboBox()
        for text, kind, through in PLANES:
            self.plane.addItem(text, (kind, through))
        self.plane.setToolTip("The plane through weight space the paths are drawn on")
        self.plane.activated.connect(lambda _: self._apply_plane())
        form.addRow("plane", self.plane)
        self.plane_seed = QSpinBox()
        self.plane_seed.setRange(0, 2**31 - 1)
        self.plane_seed.setToolTip("Seed of the random plane's two directions")
        self.plane_seed.valueChanged.connect(lambda _: self._apply_plane())
        form.addRow("plane seed", self.plane_seed)
        pair = QHBoxLayout()
        self.first, self.second = QComboBox(), QComboBox()
        for box in (self.first, self.second):
            box.setToolTip("The entries whose end points span the plane (with the init)")
            box.activated.connect(lambda _: self._apply_plane())
            pair.addWidget(box, 1)
        self.pair = QWidget()
        self.pair.setLayout(pair)
        pair.setContentsMargins(0, 0, 0, 0)
        form.addRow("plane entries", self.pair)
        self.refit = QPushButton("Refit plane")
        self.refit.setToolTip(
            "Fit the plane again to the paths as they are now (after moving the start, the "
            "plane was kept so that the picture did not jump)"
        )
        self.refit.clicked.connect(ctl.refit_plane)
        form.addRow(self.refit)
        self.message = QLabel()
        self.message.setWordWrap(True)
        form.addRow(self.message)
        self.refresh()

    def _set_param(self, name: str, value: float) -> None:
        spec = next(p for p in MLP_PARAMS if p.name == name)
        value = spec.coerce(value)
        if self.controller.scene.problem_params.get(name, spec.default) != value:
            self.controller.set_problem_param(name, value)

    def _apply_hidden(self) -> None:
        text = self.hidden.text().replace("[", "").replace("]", "")
        try:
            sizes = [int(t) for t in text.replace(",", " ").split()]
        except ValueError:
            self.message.setText("✗ hidden layers: whole numbers, e.g. 8, 8")
            return
        self.message.setText("")
        self.controller.set_network_option("hidden", tuple(sizes))

    def _apply_plane(self) -> None:
        kind, through = self.plane.currentData()
        scene = self.controller.scene
        labels = [e.label for e in scene.optimizers]
        try:
            if kind == "random":
                spec = PlaneSpec("random", through, None, self.plane_seed.value())
            elif kind == "minima":
                a, b = self.first.currentText(), self.second.currentText()
                if a == b or not a or not b:
                    rest = [x for x in labels if x != a]
                    if len(labels) < 2:
                        self.message.setText("✗ a minima plane needs two entries")
                        self.refresh()
                        return
                    a, b = (a or labels[0]), (rest[0] if rest else labels[1])
                spec = PlaneSpec("minima", "init", (a, b))
            else:
                spec = PlaneSpec(kind, through)
        except SceneError as exc:
            self.message.setText(f"✗ {exc}")
            return
        self.message.setText("")
        self.controller.set_plane(spec)

    def refresh(self) -> None:
        ctl = self.controller
        scene = ctl.scene
        if not scene.is_network:
            return
        network = scene.build_network()
        sizes = "-".join(str(s) for s in network.arch.sizes)
        self.title.setText(
            f"<b>Network</b> {sizes} {network.arch.activation}, {network.n_weights} weights, "
            "every one trained"
        )
        params = scene.problem_params
        _set_quietly(
            self.dataset,
            lambda: self.dataset.setCurrentIndex(self.dataset.findData(network.dataset)),
        )
        for p in MLP_PARAMS:
            spin = self.spins[p.name]
            value = params.get(p.name, p.default)
            if spin.value() != value:
                _set_quietly(spin, lambda s=spin, v=value: s.setValue(v))
        hidden = ", ".join(str(s) for s in network.arch.sizes[1:-1])
        if not self.hidden.hasFocus():
            self.hidden.setText(hidden)
        _set_quietly(
            self.activation, lambda: self.activation.setCurrentText(network.arch.activation)
        )
        spec = scene.plane_spec
        index = next(
            (i for i, (_, k, t) in enumerate(PLANES) if k == spec.kind and t == spec.through), 0
        )
        _set_quietly(self.plane, lambda: self.plane.setCurrentIndex(index))
        _set_quietly(self.plane_seed, lambda: self.plane_seed.setValue(spec.seed))
        self.plane_seed.setEnabled(spec.kind == "random")
        labels = [e.label for e in scene.optimizers]
        chosen = spec.entries or (labels[0], labels[1] if len(labels) > 1 else labels[0])
        for box, label in zip((self.first, self.second), chosen, strict=True):
            items = [box.itemText(i) for i in range(box.count())]
            if items != labels:
                _set_quietly(box, lambda b=box: (b.clear(), b.addItems(labels)))
            _set_quietly(box, lambda b=box, t=label: b.setCurrentText(t))
        self.pair.setEnabled(spec.kind == "minima")
