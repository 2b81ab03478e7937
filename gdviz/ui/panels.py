"""Controls: one row per optimizer, the problem's parameters, and the playback bar.

Widgets call the controller's setters and refresh from its signals; they keep no state of their
own beyond what Qt needs to show a value.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QIcon,
    QInputMethodEvent,
    QPainter,
    QPixmap,
    QPolygonF,
    QTextCharFormat,
)
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayoutItem,
    QLineEdit,
    QMenu,
    QProxyStyle,
    QPushButton,
    QScrollArea,
    QScrollBar,
    QSlider,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gdviz.core import check_expression
from gdviz.core.expression import EXAMPLES, FUNCTIONS, MAX_LENGTH
from gdviz.core.optimizers import CLIP_NORM, CONVENTIONS, GRADIENT_NOISE, L2, RULES, WEIGHT_DECAY
from gdviz.core.problems import DEFAULT_EXPR, DEFAULT_FORMULA_VIEW, PROBLEMS
from gdviz.core.scene import MAX_LABEL, MAX_STEPS, OptimizerEntry
from gdviz.core.schedules import SCHEDULES
from gdviz.core.specs import MAX_COORD, ParamSpec
from gdviz.core.status import classify
from gdviz.ui.controller import SPEEDS, Controller
from gdviz.ui.keys import COMMIT_PROPERTY, REFUSED_PROPERTY
from gdviz.ui.rate import Throttle, follow_drags
from gdviz.ui.theme import LIGHT, Theme

DARK_STATUS_COLORS = {
    "converging": "#B8BCC4",
    "converged": "#3DDC97",
    "hovering": "#56B4E9",
    "stuck": "#FF8A4C",
    "stalled": "#E8B43A",
    "diverged": "#FF5A5A",
}

STATUS_COLORS = {
    "converging": "#555555",
    "converged": "#009E73",
    "hovering": "#0072B2",
    "stuck": "#D55E00",
    "stalled": "#B07800",
    "diverged": "#C00000",
}


def media_icon(kind: str, color: str, size: int) -> QIcon:
    """A playback icon ("reset", "back", "play", "pause", "forward") drawn in ``color``.

    The style's own media icons are dark bitmaps that vanish on the dark theme and stay small
    on a projector; these follow the theme and the type size.
    """
    ratio = 2  # drawn at twice the size: sharp on high-density screens
    pixmap = QPixmap(size * ratio, size * ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    s = size * ratio
    m = 0.18 * s

    def triangle(x0: float, x1: float) -> None:  # pointing from x0 to x1
        painter.drawPolygon(QPolygonF([QPointF(x0, m), QPointF(x1, s / 2), QPointF(x0, s - m)]))

    if kind == "play":
        triangle(0.25 * s, 0.85 * s)
    elif kind == "pause":
        painter.drawRect(QRectF(0.25 * s, m, 0.17 * s, s - 2 * m))
        painter.drawRect(QRectF(0.58 * s, m, 0.17 * s, s - 2 * m))
    elif kind == "forward":
        triangle(0.15 * s, 0.55 * s)
        triangle(0.5 * s, 0.9 * s)
    elif kind == "back":
        triangle(0.85 * s, 0.45 * s)
        triangle(0.5 * s, 0.1 * s)
    elif kind == "reset":
        painter.drawRect(QRectF(0.15 * s, m, 0.12 * s, s - 2 * m))
        triangle(0.85 * s, 0.3 * s)
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return QIcon(pixmap)


class WheelGuard(QObject):
    """Scrolling a panel scrolls it: a number field, slider or drop-down under the pointer takes
    the wheel only once it has focus (clicked or tabbed into). Without this, scrolling the list
    of optimizers quietly changed a learning rate and re-ran every path."""

    def __init__(self, parent: QWidget, scroll: QScrollArea | None = None) -> None:
        super().__init__(parent)
        self.scroll = scroll

    def guard(self, root: QWidget) -> None:
        for widget in (
            root.findChildren(QAbstractSpinBox)
            + root.findChildren(QAbstractSlider)
            + root.findChildren(QComboBox)
        ):
            if isinstance(widget, QScrollBar):
                continue
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, QWidget) or obj.hasFocus():
            return False
        if self.scroll is not None:
            QApplication.sendEvent(self.scroll.verticalScrollBar(), event)
        return True


def spin_for(spec: ParamSpec, value: float) -> pg.SpinBox:
    """A spin box bounded by the spec: decade steps for log-scaled values."""
    box = NumberField(
        value=value,
        bounds=(spec.low, spec.high),
        int=spec.integer,
        dec=spec.scale == "log",
        step=1 if spec.integer else (0.5 if spec.scale == "log" else _linear_step(spec)),
        minStep=1e-12 if spec.scale == "log" else (1 if spec.integer else 1e-4),
        decimals=FIELD_DIGITS,
        compactHeight=False,
    )
    box.setToolTip(f"{spec.name}: {spec.doc} ({spec.describe_range()})" if spec.doc else spec.name)
    return box


FIELD_DIGITS = 4
"""Significant digits a number field shows (its value keeps every digit it was given): a tuned
rate of 0.0453158 read "0453158" in a field too narrow for seven digits, its "0.0" scrolled out."""


class NumberField(pg.SpinBox):
    """pyqtgraph's spin box showing the start of its number when it is too long for the field
    (a line edit scrolls to its end: "0.0453158" read "0453158"). Not widened instead: one
    field's extra width is the optimizer dock's (two fields in Adam's row), and at 1024x640 a
    dock wide enough for "0.0004532" took 36 px from the views."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.setMinimumWidth(84)
        self.lineEdit().textChanged.connect(self._show_start)

    def _show_start(self) -> None:
        if not self.lineEdit().hasFocus():  # never move the caret of someone typing
            self.lineEdit().setCursorPosition(0)


def _linear_step(spec: ParamSpec) -> float:
    span = spec.high - spec.low
    return 10 ** math.floor(math.log10(span)) / 100 if span > 0 else 0.01


SCHEDULE_LABELS = {
    "init_value": "η₀",
    "warmup_steps": "warmup",
    "decay_steps": "T",
    "end_value": "η end",
    "transition_steps": "T",
    "decay_rate": "r",
    "alpha": "α",
    "pct_start": "rise",
    "div_factor": "d",
    "final_div_factor": "d final",
}
"""Short labels of the schedules' parameters in a row (the tooltips give optax's names)."""

MODIFIER_LABELS = {"weight_decay": "decay λ", "l2": "L2", "clip_norm": "clip"}


def modifier_spin(spec: ParamSpec, value: float) -> pg.SpinBox:
    """A field for a modifier whose 0 means off: linear steps (a decade step never leaves 0)."""
    box = NumberField(
        value=value,
        bounds=(spec.low, spec.high),
        step=0.1 if spec.high > 1 else 0.01,
        minStep=1e-4,
        decimals=FIELD_DIGITS,
        compactHeight=False,
    )
    box.setToolTip(f"{spec.name}: {spec.doc}")
    return box


def uses_more(entry: OptimizerEntry) -> bool:
    """Whether the entry uses anything under its row's "More" disclosure."""
    return entry.schedule != "constant" or bool(entry.weight_decay or entry.l2 or entry.clip_norm)


def _set_quietly(widget: QWidget, setter: Callable[[], None]) -> None:
    widget.blockSignals(True)
    try:
        setter()
    finally:
        widget.blockSignals(False)


class LogSlider(QSlider):
    """A horizontal slider over ``[low, high]`` on a log scale."""

    moved = Signal(float)
    TICKS = 1000

    def __init__(self, low: float, high: float) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.lo, self.hi = math.log10(low), math.log10(high)
        self.setRange(0, self.TICKS)
        self.valueChanged.connect(lambda v: self.moved.emit(self.to_value(v)))

    def to_value(self, tick: int) -> float:
        return float(f"{10 ** (self.lo + (self.hi - self.lo) * tick / self.TICKS):.3g}")

    def set_value(self, value: float) -> None:
        tick = round((math.log10(value) - self.lo) / (self.hi - self.lo) * self.TICKS)
        _set_quietly(self, lambda: self.setValue(tick))


class OptimizerRow(QFrame):
    """Controls of one entry: visibility, colour, label, status, hyperparameters, batch size."""

    def __init__(self, controller: Controller, label: str, theme: Theme = LIGHT) -> None:
        super().__init__()
        self.controller = controller
        self.label = label
        self.theme = theme
        entry = controller.scene.entry(label)
        rule = RULES[entry.rule]
        self.setObjectName("optimizerRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.setSpacing(4)

        top = QHBoxLayout()
        self.visible_box = QCheckBox()
        self.visible_box.setToolTip("Show or hide this optimizer")
        self.visible_box.toggled.connect(lambda on: controller.set_visible(self.label, on))
        self.color_button = QPushButton()
        self.color_button.setFixedSize(26, 26)
        self.color_button.setToolTip("Change colour")
        self.color_button.clicked.connect(self._pick_color)
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(MAX_LABEL)  # the loader's limit: what is typed reopens
        self.name_edit.editingFinished.connect(self._rename)
        rule_tag = QLabel(rule.title)
        rule_tag.setEnabled(False)  # the palette's muted text, on either theme
        dup = QToolButton(text="Copy")
        dup.setToolTip("Duplicate (compare two settings of one rule)")
        dup.clicked.connect(lambda: controller.duplicate_entry(self.label))
        remove = QToolButton(text="✕")
        remove.setToolTip("Remove")
        remove.clicked.connect(lambda: controller.remove_entry(self.label))
        for w in (self.visible_box, self.color_button):
            top.addWidget(w)
        top.addWidget(self.name_edit, 1)
        top.addWidget(rule_tag)
        top.addWidget(dup)
        top.addWidget(remove)
        outer.addLayout(top)

        self.status = QLabel("")
        self.status.setObjectName("status")
        # Wraps rather than widening the row: "converged: weight decay balances the loss" pushed
        # the row's buttons off the dock and cut its number fields to "0.0".
        self.status.setWordWrap(True)
        outer.addWidget(self.status)

        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        self.spins: dict[str, pg.SpinBox] = {}
        values = entry.resolved_hyperparams(controller.scene.convention)
        row = 0
        for spec in rule.hyperparams:
            symbol = QLabel(spec.symbol or spec.name)  # the rule's own symbol (η, β₁, ...)
            symbol.setToolTip(spec.name)
            spin = spin_for(spec, values[spec.name])
            spin.sigValueChanging.connect(lambda _, v, n=spec.name: self._set(n, float(v)))
            self.spins[spec.name] = spin
            if spec.name == "learning_rate":
                self.slider = LogSlider(spec.low, spec.high)
                self.slider.setToolTip("learning rate (log scale)")
                self.slider.moved.connect(lambda v: self._set("learning_rate", v))
                grid.addWidget(symbol, row, 0)
                grid.addWidget(self.slider, row, 1, 1, 3)
                grid.addWidget(spin, row, 4)
                row += 1
            else:
                col = 0 if (len(self.spins) % 2 == 0) else 2
                if col == 0:
                    row += 1
                grid.addWidget(symbol, row, col, alignment=Qt.AlignmentFlag.AlignRight)
                grid.addWidget(spin, row, col + 1)
        self.batch: QSpinBox | None = None
        self.noise: pg.SpinBox | None = None
        if not controller.problem.has_data:
            row += 1
            self.noise = spin_for(GRADIENT_NOISE, entry.gradient_noise)
            self.noise.setToolTip("Std of seeded Gaussian noise added to each gradient")
            self.noise.sigValueChanging.connect(lambda _, v: self._set_noise(float(v)))
            grid.addWidget(QLabel("noise σ"), row, 0)
            grid.addWidget(self.noise, row, 1, 1, 2)
        if controller.problem.has_data:
            row += 1
            self.batch = QSpinBox()
            self.batch.setSpecialValueText("full batch")
            self.batch.setRange(0, controller.problem.n)
            self.batch.setToolTip("Samples per step: 1 is SGD, full batch is plain GD")
            self.batch.valueChanged.connect(
                lambda v: controller.set_batch_size(self.label, None if v == 0 else v)
            )
            grid.addWidget(QLabel("batch"), row, 0)
            grid.addWidget(self.batch, row, 1, 1, 2)
        outer.addLayout(grid)
        self.wheel_guard: WheelGuard | None = None
        self.more_button = QToolButton(text="More ▸")
        self.more_button.setCheckable(True)
        self.more_button.setAutoRaise(True)
        self.more_button.setToolTip("Learning-rate schedule, weight decay, L2, gradient clipping")
        self.more_button.toggled.connect(self._show_more)
        outer.addWidget(self.more_button, alignment=Qt.AlignmentFlag.AlignLeft)
        self._outer = outer
        # Built when first opened (or first read): the nine rows' closed sections took about a
        # tenth of the window's construction (sampled), for fields most lectures never open.
        self._more: QWidget | None = None
        self._schedule_box: QComboBox | None = None
        self._schedule_widgets: list[QWidget] = []
        self._schedule_spins: dict[str, pg.SpinBox] = {}
        self._schedule_kind: str | None = None
        self._modifier_spins: dict[str, pg.SpinBox] = {}
        self.refresh()

    # The "More" section's widgets, built on first use (see ``_build_more``).

    @property
    def more(self) -> QWidget:
        return self._build_more()

    @property
    def more_grid(self) -> QGridLayout:
        layout = self._build_more().layout()
        assert isinstance(layout, QGridLayout)
        return layout

    @property
    def schedule_box(self) -> QComboBox:
        self._build_more()
        assert self._schedule_box is not None
        return self._schedule_box

    @property
    def schedule_spins(self) -> dict[str, pg.SpinBox]:
        self._build_more()
        return self._schedule_spins

    @property
    def modifier_spins(self) -> dict[str, pg.SpinBox]:
        self._build_more()
        return self._modifier_spins

    def _build_more(self) -> QWidget:
        """The "More ▸" disclosure's section (once): schedule, its parameters, weight decay,
        L2, clipping, showing the entry's values."""
        if self._more is not None:
            return self._more
        entry = self.controller.scene.entry(self.label)
        rule = RULES[entry.rule]
        self._more = QWidget()
        more = QGridLayout(self._more)
        more.setContentsMargins(0, 0, 0, 0)
        more.setHorizontalSpacing(6)
        more.setVerticalSpacing(3)
        box = self._schedule_box = QComboBox()
        for name, kind in SCHEDULES.items():
            box.addItem(kind.title, name)
            box.setItemData(box.count() - 1, kind.formula, Qt.ItemDataRole.ToolTipRole)
        box.setToolTip("Learning-rate schedule (the rate η is its peak)")
        box.setCurrentIndex(box.findData(entry.schedule))
        box.currentIndexChanged.connect(
            lambda i: self.controller.set_schedule(self.label, box.itemData(i))
        )
        more.addWidget(QLabel("schedule"), 0, 0)
        more.addWidget(box, 0, 1, 1, 3)
        # Schedule-free rules decay inside their averaged iterate (the core refuses λ there);
        # AdamW and Lion show their own λ among their hyperparameters.
        specs = [L2, CLIP_NORM]
        if rule.takes_weight_decay and not rule.own_weight_decay:
            specs.insert(0, WEIGHT_DECAY)
        for i, spec in enumerate(specs):
            spin = modifier_spin(spec, float(getattr(entry, spec.name)))
            spin.sigValueChanging.connect(lambda _, v, n=spec.name: self._set_field(n, float(v)))
            self._modifier_spins[spec.name] = spin
            label = QLabel(MODIFIER_LABELS[spec.name])
            label.setToolTip(spec.doc)
            r, c = 10 + i // 2, 2 * (i % 2)  # under the schedule's rows (1 to 9)
            more.addWidget(label, r, c, alignment=Qt.AlignmentFlag.AlignRight)
            more.addWidget(spin, r, c + 1)
        self._outer.addWidget(self._more)  # in the row first: a parentless widget shown is a window
        self._more.setVisible(self.more_button.isChecked())
        self._fill_schedule(entry)  # guards the whole section against stray wheels
        return self._more

    def _show_more(self, on: bool) -> None:
        self.more_button.setText("More ▾" if on else "More ▸")
        if on or self._more is not None:
            self.more.setVisible(on)

    def _fill_schedule(self, entry: OptimizerEntry) -> None:
        """Fields for the parameters of the entry's schedule kind (none for constant)."""
        grid = self.more_grid
        self._schedule_kind = entry.schedule
        for widget in self._schedule_widgets:
            grid.removeWidget(widget)
            widget.deleteLater()
        self._schedule_widgets = []
        self._schedule_spins = {}
        kind = SCHEDULES[entry.schedule]
        values = entry.resolved_schedule(self.controller.scene.steps)
        for i, spec in enumerate(kind.params):
            label = QLabel(SCHEDULE_LABELS.get(spec.name, spec.name))
            label.setToolTip(spec.name)
            spin = spin_for(spec, values[spec.name])
            spin.sigValueChanging.connect(
                lambda _, v, n=spec.name: self._set_schedule_param(n, float(v))
            )
            self._schedule_spins[spec.name] = spin
            # In the modifiers' columns (one grid: the fields line up).
            r, c = 1 + i // 2, 2 * (i % 2)
            grid.addWidget(label, r, c, alignment=Qt.AlignmentFlag.AlignRight)
            grid.addWidget(spin, r, c + 1)
            self._schedule_widgets += [label, spin]
        if self.wheel_guard is not None:
            self.wheel_guard.guard(self.more)

    def _set_schedule_param(self, name: str, value: float) -> None:
        entry = self.controller.scene.entry(self.label)
        if entry.resolved_schedule(self.controller.scene.steps).get(name) != value:
            self.controller.set_schedule_param(self.label, name, value)

    def _set_field(self, name: str, value: float) -> None:
        if float(getattr(self.controller.scene.entry(self.label), name)) != value:
            self.controller.set_entry_field(self.label, name, value)

    def _set(self, name: str, value: float) -> None:
        entry = self.controller.scene.entry(self.label)
        if entry.resolved_hyperparams(self.controller.scene.convention)[name] != value:
            self.controller.set_hyperparam(self.label, name, value)

    def _set_noise(self, value: float) -> None:
        if self.controller.scene.entry(self.label).gradient_noise != value:
            self.controller.set_gradient_noise(self.label, value)

    def _rename(self) -> None:
        new = self.name_edit.text().strip()
        if new == self.label:
            return
        old = self.label
        self.label = new
        if not self.controller.rename(old, new):
            self.label = old
            self.name_edit.setText(old)

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(self._color()), self, f"Colour of {self.label}")
        if color.isValid():
            self.controller.set_color(self.label, color.name())

    def _color(self) -> str:
        return self.controller.colors(self.theme)[self.label]

    def refresh(self) -> None:
        """Show the entry's current values without sending them back."""
        scene = self.controller.scene
        entry: OptimizerEntry = scene.entry(self.label)
        values = entry.resolved_hyperparams(scene.convention)
        rule = RULES[entry.rule]
        self.name_edit.setToolTip(f"{rule.title}: {rule.summary[scene.convention]}")
        _set_quietly(self.visible_box, lambda: self.visible_box.setChecked(entry.visible))
        sheet = f"background: {self._color()}; border: 2px solid #333; border-radius: 4px;"
        if self.color_button.styleSheet() != sheet:  # restyling costs a re-polish
            self.color_button.setStyleSheet(sheet)
        if not self.name_edit.hasFocus():
            self.name_edit.setText(entry.label)
        for name, spin in self.spins.items():
            if spin.value() != values[name]:
                _set_quietly(spin, lambda s=spin, v=values[name]: s.setValue(v))
        self.slider.set_value(values["learning_rate"])
        if self.batch is not None:
            n = self.controller.problem.n
            if self.batch.maximum() != n:  # the dataset grew or shrank: so may a batch
                _set_quietly(self.batch, lambda: self.batch.setRange(0, n))
            _set_quietly(self.batch, lambda: self.batch.setValue(entry.batch_size or 0))
        if self.noise is not None and self.noise.value() != entry.gradient_noise:
            _set_quietly(self.noise, lambda: self.noise.setValue(entry.gradient_noise))
        self._refresh_more(entry)

    def _refresh_more(self, entry: OptimizerEntry) -> None:
        if uses_more(entry) and not self.more_button.isChecked():
            self.more_button.setChecked(True)  # builds the section, with the entry's values
        if self._more is None:
            return  # nothing shown yet: built with the values of the moment when opened
        box = self.schedule_box
        index = box.findData(entry.schedule)
        if box.currentIndex() != index:
            _set_quietly(box, lambda: box.setCurrentIndex(index))
        if entry.schedule != self._schedule_kind:
            self._fill_schedule(entry)
        values = entry.resolved_schedule(self.controller.scene.steps)
        for name, spin in self._schedule_spins.items():
            if spin.value() != values[name]:
                _set_quietly(spin, lambda s=spin, v=values[name]: s.setValue(v))
        for name, spin in self._modifier_spins.items():
            value = float(getattr(entry, name))
            if spin.value() != value:
                _set_quietly(spin, lambda s=spin, v=value: s.setValue(v))

    def refresh_status(self) -> None:
        ctl = self.controller
        path = ctl.results.get(self.label)
        if path is None:
            self.status.setText("…")
            return
        if ctl.is_network:
            self._network_status()
            return
        if ctl.jax_pending:  # classifying needs gradients: it waits for JAX (the first seconds)
            self.status.setText(f"…   loss {float(path.loss[min(ctl.step, path.steps)]):.4g}")
            return
        (x0, x1), (y0, y1) = ctl.scene.view_rect()
        l2 = ctl.scene.entry(self.label).l2
        status = classify(path, ctl.problem, ctl.step, math.hypot(x1 - x0, y1 - y0), l2)
        colors = DARK_STATUS_COLORS if self.theme.dark else STATUS_COLORS
        muted = "#A0A4AC" if self.theme.dark else "#666666"
        loss = float(path.loss[min(ctl.step, path.steps)])
        self.status.setText(
            f"<span style='color:{colors[status.kind]}; font-weight:600'>{status.text}</span>"
            f"<span style='color:{muted}'>   loss {loss:.4g}</span>"
        )

    def _network_status(self) -> None:
        """A network entry: diverged, or its train accuracy (classes), and its true loss."""
        from gdviz.ui.network import status_text

        ctl = self.controller
        weights = ctl.network.paths.get(self.label) if ctl.network is not None else None
        if weights is None:
            self.status.setText("…")
            return
        kind, words = status_text(weights, ctl.step)
        colors = DARK_STATUS_COLORS if self.theme.dark else STATUS_COLORS
        muted = "#A0A4AC" if self.theme.dark else "#666666"
        loss = float(weights.loss[min(ctl.step, weights.steps)])
        self.status.setText(
            f"<span style='color:{colors[kind]}; font-weight:600'>{words}</span>"
            f"<span style='color:{muted}'>   loss {loss:.4g}</span>"
        )


class OptimizerPanel(QWidget):
    """A scrolling list of optimizer rows and an "Add optimizer" button."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.add_button = QPushButton("Add optimizer")
        self.add_menu = QMenu(self.add_button)
        # Filled as it opens: every registered rule, its update in the convention in use.
        self.add_menu.aboutToShow.connect(self.fill_add_menu)
        self.fill_add_menu()
        self.add_button.setMenu(self.add_menu)
        layout.addWidget(self.add_button)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.wheel_guard = WheelGuard(self, self.scroll)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self.scroll, 1)
        self.rows: dict[str, OptimizerRow] = {}
        self.theme = LIGHT
        controller.entries_changed.connect(self.rebuild)
        controller.scene_changed.connect(self.refresh)
        # Status words change rarely and each refresh repaints every row: 4 Hz is plenty.
        self.throttle = Throttle(self.refresh_status, interval_ms=250, parent=self)
        follow_drags(self.throttle, controller, interval_ms=250, phase=0.25)
        controller.results_changed.connect(self.throttle)
        controller.step_changed.connect(lambda _: self.throttle())
        self.rebuild()

    def fill_add_menu(self) -> None:
        """One action per registered rule: its title and its update in the scene's convention."""
        convention = self.controller.scene.convention
        self.add_menu.clear()
        for name, rule in RULES.items():
            self.add_menu.addAction(
                f"{rule.title}  —  {rule.summary[convention]}",
                lambda n=name: self.controller.add_entry(n),
            )

    def rebuild(self) -> None:
        full = not self.controller.scene.can_add_entry()
        self.add_button.setEnabled(not full)
        self.add_button.setToolTip(
            "A scene holds at most 32 optimizers: remove one first" if full else ""
        )
        holder = QWidget()
        box = QVBoxLayout(holder)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(6)
        self.rows = {}
        for entry in self.controller.scene.optimizers:
            row = OptimizerRow(self.controller, entry.label, self.theme)
            row.wheel_guard = self.wheel_guard
            self.rows[entry.label] = row
            box.addWidget(row)
        box.addStretch(1)
        old = self.scroll.takeWidget()
        if old is not None:
            old.deleteLater()  # later: a row's own signal may have started this rebuild
        self.scroll.setWidget(holder)
        self.wheel_guard.guard(holder)
        self.refresh_status()
        self._fit_width()

    def _fit_width(self) -> None:
        """As wide as the rows need: no sideways scrolling, whatever the type size."""
        holder = self.scroll.widget()
        if holder is not None:
            bar = self.scroll.verticalScrollBar().sizeHint().width()
            self.setMinimumWidth(holder.minimumSizeHint().width() + bar + 12)

    def set_theme(self, theme: Theme) -> None:
        """The swatches follow the views' palette (white replaces black on the dark theme)."""
        self.theme = theme
        for row in self.rows.values():
            row.theme = theme
            row.refresh()
            row.refresh_status()
        self._fit_width()

    def refresh(self) -> None:
        labels = [e.label for e in self.controller.scene.optimizers]
        if sorted(labels) != sorted(self.rows):
            self.rebuild()
            return
        for row in self.rows.values():
            row.refresh()

    def refresh_status(self) -> None:
        for row in self.rows.values():
            row.refresh_status()


FORMULA_EXAMPLES: tuple[tuple[str, str, tuple[float, float, float, float]], ...] = (
    ("Rosenbrock", "(1 - x)**2 + 100*(y - x**2)**2", (-2.0, 2.0, -1.0, 3.0)),
    ("Himmelblau", "(x**2 + y - 11)**2 + (x + y**2 - 7)**2", (-6.0, 6.0, -6.0, 6.0)),
    ("Saddle", "x**2 - y**2", (-2.0, 2.0, -2.0, 2.0)),
    (
        "Beale",
        "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
        (-4.5, 4.5, -4.5, 4.5),
    ),
    ("Ripples", "x**2 + 10*sin(y)**2", (-4.0, 4.0, -4.0, 4.0)),
    ("Logistic loss", "log(1 + exp(-x*y))", (-4.0, 4.0, -4.0, 4.0)),
    (
        "Six-hump camel",
        "(4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (-4 + 4*y**2)*y**2",
        (-2.0, 2.0, -1.2, 1.2),
    ),
    ("Ring", "(x**2 + y**2 - 4)**2", (-3.0, 3.0, -3.0, 3.0)),
    *(e for e in EXAMPLES if e[0] not in {"Rosenbrock", "Himmelblau", "Ripples", "Logistic loss"}),
)
"""``(name, formula, view)``: the Problem panel's examples (the core's, and the classics that
have a problem of their own, as formulas to edit)."""

_FORMULA_OF_PROBLEM = {"rosenbrock": 0, "himmelblau": 1, "saddle": 2, "beale": 3}
"""A problem whose formula is an example: "Your formula" starts from it."""

ERROR_COLOR = "#C00000"


class FormulaEdit(QLineEdit):
    """The formula field: monospace, and the refused part of a formula underlined in red (a
    text format laid over the text, so that typing goes on undisturbed)."""

    def __init__(self) -> None:
        super().__init__()
        self.setProperty(COMMIT_PROPERTY, True)  # Enter applies and hands focus to the views
        self.setMaxLength(MAX_LENGTH)
        self.setPlaceholderText("a formula in x and y, e.g. x**2 + 3*y**2")
        self.setClearButtonEnabled(False)
        self.bad: tuple[int, int] | None = None  # (0-based start, length) of the refused part
        self.cursorPositionChanged.connect(lambda *_: self._paint_mark())

    def mark(self, bad: tuple[int, int] | None) -> None:
        self.bad = bad
        self.setProperty(REFUSED_PROPERTY, bad is not None)
        self._paint_mark()

    def _paint_mark(self) -> None:
        attributes = []
        if self.bad is not None:
            start, length = self.bad
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(QColor(ERROR_COLOR))
            fmt.setForeground(QColor(ERROR_COLOR))
            # Input-method formats are placed relative to the cursor.
            attributes.append(
                QInputMethodEvent.Attribute(
                    QInputMethodEvent.AttributeType.TextFormat,
                    start - self.cursorPosition(),
                    length,
                    fmt,
                )
            )
        QApplication.sendEvent(self, QInputMethodEvent("", attributes))


def refused_span(text: str, column: int | None) -> tuple[int, int] | None:
    """The part of ``text`` to mark for an error at 1-based ``column``: the name or number that
    starts there, else that one character (the end of the text when it is past it)."""
    if column is None or not text:
        return None
    start = min(max(column - 1, 0), len(text) - 1)
    end = start + 1
    if text[start].isalnum() or text[start] == "_":
        more = "_." if text[start].isdigit() else "_"  # a number's point, a name's underscore
        while end < len(text) and (text[end].isalnum() or text[end] in more):
            end += 1
    return start, end - start


class ProblemPanel(QWidget):
    """The problem's own parameters, the convention, the seed and the starts mode.

    On a formula (problem ``expression``): the formula field (checked as it is typed, applied
    with Enter), its examples and its view. Elsewhere: a button to type a formula instead. On a
    data problem: where the points come from, and the way back to generated data.

    Signals:
      load_data_requested: the "Load CSV…" button (the window owns the file dialog).
    """

    load_data_requested = Signal()

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        self.form = QFormLayout(self)
        self.form.setContentsMargins(8, 8, 8, 8)
        self.spins: dict[str, pg.SpinBox] = {}
        self.formula: FormulaEdit | None = None
        self.formula_message: QLabel | None = None
        self.examples: QComboBox | None = None
        self.view_spins: list[QDoubleSpinBox] = []
        self.formula_button: QPushButton | None = None
        self.data_source: QLabel | None = None
        self.generated_button: QPushButton | None = None
        self.load_button: QPushButton | None = None
        self.network_form = None  # a network scene's rows (gdviz.ui.network_views.NetworkForm)
        self._problem: str | None = None
        controller.scene_changed.connect(self.refresh)
        controller.batch_view_changed.connect(self.refresh)
        self.refresh()

    def _clear(self) -> None:
        # Taken out and deleted later: the button that asked for a new problem is still in
        # its own clicked signal.
        def drop(item: QLayoutItem | None) -> None:
            if item is None:
                return
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
            elif item.layout() is not None:
                layout = item.layout()
                while layout.count():
                    drop(layout.takeAt(0))
                layout.deleteLater()

        while self.form.rowCount():
            row = self.form.takeRow(0)
            drop(row.labelItem)
            drop(row.fieldItem)

    def _build(self) -> None:
        self._clear()
        ctl = self.controller
        self.formula = self.formula_message = self.examples = None
        self.formula_button = self.data_source = self.generated_button = self.load_button = None
        self.view_spins = []
        self.spins = {}
        self.network_form = None
        if ctl.scene.is_network:  # its own rows (gdviz.ui.network_views), then the shared ones
            from gdviz.ui.network_views import NetworkForm

            self.network_form = NetworkForm(ctl, self.form)
            self._build_shared()
            return
        spec = PROBLEMS[ctl.scene.problem]
        if spec.name == "expression":
            self._build_formula()
        else:
            title = QLabel(f"<b>{ctl.scene.problem.replace('_', ' ').capitalize()}</b>")
            self.formula_button = QPushButton("Your formula…")
            self.formula_button.setToolTip(
                "Type your own loss in x and y: the surface, minima and every path follow"
            )
            self.formula_button.clicked.connect(self.switch_to_formula)
            self.form.addRow(title, self.formula_button)
        if spec.has_data:
            self._build_data()
        self.spins = {}
        for p in spec.params:
            spin = spin_for(p, ctl.scene.problem_params.get(p.name, p.default))
            spin.sigValueChanging.connect(lambda _, v, n=p.name: self._set_param(n, v))
            self.spins[p.name] = spin
            self.form.addRow(p.doc or p.name, spin)
        self._build_shared()

    def _build_shared(self) -> None:
        """The convention, the batches' seed, the batch view and the starts mode."""
        ctl = self.controller
        self.convention = QComboBox()
        self.convention.addItems(CONVENTIONS)
        self.convention.setToolTip(
            "Whose defaults RMSprop and AdaGrad take: optax's or torch.optim's"
        )
        self.convention.currentTextChanged.connect(ctl.set_convention)
        self.form.addRow("convention", self.convention)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Seed of the mini-batches and gradient noise")
        self.seed.valueChanged.connect(ctl.set_seed)
        self.form.addRow("seed", self.seed)
        self.batch_view = QComboBox()
        self.batch_view.setToolTip(
            "Draw the contours of one stochastic optimizer's current mini-batch, and the "
            "gradient it stepped along"
        )
        self.batch_view.activated.connect(lambda i: ctl.set_batch_view(self.batch_view.itemData(i)))
        self.form.addRow("what the batch sees", self.batch_view)
        self.separate = QCheckBox("Separate starts")
        self.separate.setToolTip("Give every optimizer its own start handle")
        self.separate.toggled.connect(ctl.set_separate_starts)
        self.form.addRow(self.separate)
        if ctl.scene.is_network:  # no mini-batch surface over a plane, no own starts
            self.form.setRowVisible(self.batch_view, False)
            self.form.setRowVisible(self.separate, False)
        WheelGuard(self).guard(self)
        self._style_formula()

    # --- a typed formula ------------------------------------------------------------------------

    def _build_formula(self) -> None:
        self.form.addRow(QLabel("<b>Your formula</b>  f(x, y) ="))
        self.formula = FormulaEdit()
        self.formula.setToolTip(
            "Python / NumPy maths in x and y: + - * / **, pi, e and "
            + ", ".join(sorted({f.name for f in FUNCTIONS.values()}))
            + ". Enter applies; Esc goes back to the views."
        )
        self.formula.textEdited.connect(self.check_formula)
        self.formula.returnPressed.connect(self.apply_formula)
        self.form.addRow(self.formula)
        self.formula_message = QLabel()
        self.formula_message.setWordWrap(True)
        self.formula_message.setTextFormat(Qt.TextFormat.PlainText)
        self.form.addRow(self.formula_message)
        self.examples = QComboBox()
        self.examples.addItem("Examples…", None)
        for i, (name, text, _) in enumerate(FORMULA_EXAMPLES):
            self.examples.addItem(name, i)
            self.examples.setItemData(self.examples.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.examples.setToolTip("A formula to start from, with a view that suits it")
        self.examples.activated.connect(self._use_example)
        self.form.addRow("examples", self.examples)
        for axis in ("x", "y"):
            row = QHBoxLayout()
            pair = []
            for _ in range(2):
                spin = QDoubleSpinBox()
                spin.setRange(-MAX_COORD, MAX_COORD)
                spin.setDecimals(3)
                spin.setKeyboardTracking(False)
                spin.setToolTip(f"The formula's view: {axis} from … to … (Enter applies)")
                spin.editingFinished.connect(self.apply_view)
                pair.append(spin)
            row.addWidget(pair[0], 1)
            row.addWidget(QLabel("to"))
            row.addWidget(pair[1], 1)
            self.view_spins += pair
            self.form.addRow(f"view {axis}", row)

    def _style_formula(self) -> None:
        """The formula in a monospace face, a size larger than the panel's type (projectors)."""
        if self.formula is None:
            return
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(1.3 * self.font().pointSizeF(), 13.0))
        if self.formula.font() != font:
            self.formula.setFont(font)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._style_formula()

    def check_formula(self, text: str | None = None) -> bool:
        """Check the field as it is (no JAX): mark the refused part and say why, or clear.
        The surface keeps the last formula that was applied."""
        if self.formula is None or self.formula_message is None:
            return False
        text = self.formula.text() if text is None else text
        error = check_expression(text)
        if error is None:
            self._show_formula_state(None)
            return True
        where = f"column {error.column}: " if error.column is not None else ""
        self._show_formula_state(f"{where}{error.message}", refused_span(text, error.column))
        return False

    def _show_formula_state(self, message: str | None, bad: tuple[int, int] | None = None) -> None:
        assert self.formula is not None and self.formula_message is not None
        refused = message is not None
        self.formula.mark(bad if refused else None)
        border = ERROR_COLOR if refused else "palette(mid)"
        sheet = f"QLineEdit {{ border: 2px solid {border}; border-radius: 3px; padding: 3px; }}"
        if self.formula.styleSheet() != sheet:
            self.formula.setStyleSheet(sheet)
        self.formula.setProperty(REFUSED_PROPERTY, refused)
        if refused:
            self.formula_message.setText(f"✗ {message}")
            self.formula_message.setStyleSheet(f"color: {ERROR_COLOR};")
        else:
            self.formula_message.setText("Enter applies · Esc back to the views")
            self.formula_message.setStyleSheet("")
        self.formula_message.setEnabled(refused)  # disabled: the palette's muted text
        self.formula_message.setToolTip(message or "")

    def _field_view(self) -> tuple[float, float, float, float]:
        x0, x1, y0, y1 = (spin.value() for spin in self.view_spins)
        return (x0, x1, y0, y1)

    def apply_formula(self) -> bool:
        """Enter: the formula in the field (and the view in the view fields) on the scene."""
        if self.formula is None or not self.check_formula():
            return False
        text = self.formula.text()
        view = self._field_view() if self.view_spins else None
        done = self.controller.set_expression(text, view, on_error=self._refused_on_apply)
        return done

    def _refused_on_apply(self, message: str) -> None:
        """A formula that parses but cannot be drawn (not finite anywhere in the view)."""
        if self.formula is not None:
            self._show_formula_state(message.removeprefix("expr: "))

    def apply_view(self) -> None:
        """A view field's Enter: the scene's formula over the view in the fields."""
        scene = self.controller.scene
        if scene.expression is None or len(self.view_spins) != 4:
            return
        view = self._field_view()
        if view == self._scene_view():
            return
        if not (view[0] < view[1] and view[2] < view[3]):
            self._refused_on_apply("view: the first number of each pair must be the smaller")
            return
        self.controller.set_expression(scene.expression, view, on_error=self._refused_on_apply)

    def _scene_view(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.controller.scene.view or self.controller.problem.view
        return (x0, x1, y0, y1)

    def _use_example(self, index: int) -> None:
        assert self.examples is not None
        which = self.examples.itemData(index)
        if which is None:
            return
        _, text, view = FORMULA_EXAMPLES[which]
        if self.formula is not None:
            self.formula.setText(text)
        self.controller.set_expression(text, view, on_error=self._refused_on_apply)

    def switch_to_formula(self) -> bool:
        """ "Your formula…": the scene on a formula (the problem's own where it has one as an
        example), with the field focused and selected for typing."""
        ctl = self.controller
        which = _FORMULA_OF_PROBLEM.get(ctl.scene.problem)
        view: tuple[float, float, float, float]
        if which is not None:
            _, text, view = FORMULA_EXAMPLES[which]
        elif ctl.problem.has_data:  # a view over (m, b) or weights says nothing about x, y
            text, view = DEFAULT_EXPR, DEFAULT_FORMULA_VIEW
        else:
            (x0, x1), (y0, y1) = ctl.scene.view or ctl.problem.view
            text, view = DEFAULT_EXPR, (x0, x1, y0, y1)
        if not ctl.set_expression(text, view):
            return False
        if self.formula is not None:
            self.formula.setFocus(Qt.FocusReason.OtherFocusReason)
            self.formula.selectAll()
        return True

    # --- own data -------------------------------------------------------------------------------

    def _build_data(self) -> None:
        self.data_source = QLabel()
        self.data_source.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.form.addRow("data", self.data_source)
        row = QHBoxLayout()
        self.load_button = QPushButton("Load CSV…")
        self.load_button.setToolTip("Your own points from a CSV file: two columns, x and y")
        self.load_button.clicked.connect(self.load_data_requested.emit)
        self.generated_button = QPushButton("Use generated data")
        self.generated_button.setToolTip("Back to the points the parameters below generate")
        self.generated_button.clicked.connect(self.controller.reset_data)
        row.addWidget(self.load_button)
        row.addWidget(self.generated_button)
        self.form.addRow(row)

    def _refresh_data(self) -> None:
        scene = self.controller.scene
        source = scene.data_source
        if self.data_source is None or source is None:
            return
        n = self.controller.problem.n
        if source == "generated":
            text, tip = f"generated ({n} points)", "Click the data view to add your own points"
        elif source == "csv" and scene.data_csv is not None:
            text, tip = f"{scene.data_csv.name} ({n} points)", str(scene.data_csv)
        else:
            text, tip = f"your own points ({n})", "Saved in the scene file"
        self.data_source.setText(text)
        self.data_source.setToolTip(tip)
        own = source != "generated"
        if self.generated_button is not None:
            self.generated_button.setEnabled(own)
        spec = PROBLEMS[scene.problem]
        for p in spec.params:
            spin = self.spins.get(p.name)
            if spin is not None and p.dataset:
                spin.setEnabled(not own)
                spin.setToolTip(
                    "Your own points are in use: 'Use generated data' brings these back"
                    if own
                    else f"{p.name}: {p.doc} ({p.describe_range()})"
                )

    # --- both -----------------------------------------------------------------------------------

    def _set_param(self, name: str, value: float) -> None:
        spec = PROBLEMS[self.controller.scene.problem].param(name)
        assert spec is not None
        value = spec.coerce(value)
        if self.controller.scene.problem_params.get(name, spec.default) != value:
            self.controller.set_problem_param(name, value)

    def refresh(self) -> None:
        scene = self.controller.scene
        if scene.problem != self._problem:
            self._problem = scene.problem
            self._build()
        if self.network_form is not None:
            self.network_form.refresh()
        spec = PROBLEMS[scene.problem] if not scene.is_network else None
        for p in spec.params if spec is not None else ():
            spin = self.spins[p.name]
            value = scene.problem_params.get(p.name, p.default)
            if spin.value() != value:
                _set_quietly(spin, lambda s=spin, v=value: s.setValue(v))
        self._refresh_formula()
        self._refresh_data()
        _set_quietly(self.convention, lambda: self.convention.setCurrentText(scene.convention))
        _set_quietly(self.seed, lambda: self.seed.setValue(scene.seed))
        _set_quietly(
            self.separate, lambda: self.separate.setChecked(self.controller.separate_starts)
        )
        labels = self.controller.stochastic_labels()
        wanted = [("off", None)] + [(label, label) for label in labels]
        box = self.batch_view
        current = [(box.itemText(i), box.itemData(i)) for i in range(box.count())]
        if current != wanted:
            box.blockSignals(True)
            box.clear()
            for text, data in wanted:
                box.addItem(text, data)
            box.blockSignals(False)
        box.setEnabled(bool(labels))
        index = box.findData(self.controller.batch_view)
        _set_quietly(box, lambda: box.setCurrentIndex(max(index, 0)))

    def _refresh_formula(self) -> None:
        """The applied formula and view in the fields, unless the user is typing there."""
        expr = self.controller.scene.expression
        if self.formula is None or expr is None:
            return
        if not self.formula.hasFocus() and self.formula.text() != expr:
            self.formula.setText(expr)
        if self.formula.text() == expr:
            self.check_formula()
        for spin, value in zip(self.view_spins, self._scene_view(), strict=True):
            if not spin.hasFocus() and spin.value() != value:
                _set_quietly(spin, lambda s=spin, v=value: s.setValue(v))
        if self.examples is not None:
            index = next(
                (i + 1 for i, (_, text, _) in enumerate(FORMULA_EXAMPLES) if text == expr), 0
            )
            _set_quietly(self.examples, lambda: self.examples.setCurrentIndex(index))


class StepLabel(QLabel):
    """The "step 123" label: of fixed size, as wide as its widest text.

    A label whose size can change asks its window to lay itself out again on every new text:
    once per playback frame, that re-laid out and repainted the whole window around the views.
    Qt skips that for a widget of fixed size; the size follows the font (presenter mode, themes).
    """

    WIDEST = f"step {MAX_STEPS}"

    def __init__(self) -> None:
        super().__init__()
        self._fit()

    def _fit(self) -> None:
        metrics = self.fontMetrics()
        margin = 2 * self.margin() + 8
        self.setFixedSize(
            max(120, metrics.horizontalAdvance(self.WIDEST) + margin), metrics.height() + 4
        )

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit()
        super().changeEvent(event)


class _JumpToClick(QProxyStyle):
    """A slider's left click jumps to where it lands (the platform's default moved one page,
    10 steps, towards it: a click near the start of a 1000-step timeline showed step 990)."""

    def styleHint(self, hint, option=None, widget=None, data=None):  # noqa: ANN001, ANN201, N802
        if hint == QStyle.StyleHint.SH_Slider_AbsoluteSetButtons:
            return Qt.MouseButton.LeftButton.value
        return super().styleHint(hint, option, widget, data)


class Timeline(QSlider):
    """The playback timeline: a click puts playback where it lands; dragging scrubs."""

    def __init__(self, orientation: Qt.Orientation) -> None:
        super().__init__(orientation)
        # No base given: it follows the application's style and does not own it (a proxy
        # given the application's style deleted it with the timeline, and the application
        # deleted it again at exit). Parented: it goes with the timeline.
        style = _JumpToClick()
        style.setParent(self)
        self.setStyle(style)


STEP_READOUT_MS = 66
"""How often the "step k" readout follows playback: about 15 Hz, which still reads as counting.
A new text repaints the label and, as it is not opaque, the bar and window behind it: ~0.5-1 ms
of a 6-10 ms playback frame on linear-regression and rosenbrock (thread time, the label's
setText skipped against not, same run, alternating). A pause, a new scene or step count, and
the last step of a burst show the step exactly."""

TIMELINE_MS = 33
"""How often the timeline's handle follows playback: about 30 Hz, every other frame at 60 Hz
(a handle moving a few pixels a step). Moved every step it was ~0.6-0.8 ms of a 7-10 ms frame
once the readout was slowed (linear-regression, rosenbrock; same run, alternating)."""


class PlaybackBar(QWidget):
    """Reset, step, play/pause, speed, a timeline to scrub, and the step count."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        self.theme = LIGHT
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)

        self.buttons: dict[str, QToolButton] = {}

        def button(glyph: str, tip: str, slot: Callable[[], None]) -> QToolButton:
            b = QToolButton()
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            layout.addWidget(b)
            self.buttons[glyph] = b
            return b

        button("reset", "Reset (Home)", controller.reset)
        button("back", "Step back (Left)", lambda: controller.step_by(-1))
        self.play_button = button("play", "Play / pause (Space)", controller.toggle_play)
        button("forward", "Step forward (Right)", lambda: controller.step_by(1))
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("Playback speed")
        self.speed.currentIndexChanged.connect(
            lambda i: controller.set_speed(self.speed.itemData(i))
        )
        layout.addWidget(self.speed)
        self.timeline = Timeline(Qt.Orientation.Horizontal)
        self.timeline.setToolTip("Scrub through the steps")
        self.timeline.valueChanged.connect(self._scrub)
        layout.addWidget(self.timeline, 1)
        self.readout = StepLabel()
        layout.addWidget(self.readout)
        self.of = QLabel("of")
        layout.addWidget(self.of)
        self.steps = QSpinBox()
        self.steps.setRange(1, MAX_STEPS)
        self.steps.setKeyboardTracking(False)
        self.steps.setToolTip("Number of steps to compute")
        self.steps.valueChanged.connect(controller.set_steps)
        layout.addWidget(self.steps)
        # The readout at ~15 Hz and the timeline at ~30 Hz (see STEP_READOUT_MS, TIMELINE_MS).
        self.readout_throttle = Throttle(self._show_readout, STEP_READOUT_MS, parent=self)
        self.timeline_throttle = Throttle(self._show_timeline, TIMELINE_MS, parent=self)
        controller.step_changed.connect(self._on_step)
        controller.scene_changed.connect(lambda: self.refresh(controller.step))
        controller.playing_changed.connect(self._on_playing)
        self.refresh(controller.step)
        self._paint_icons()

    def set_slim(self, on: bool) -> None:
        """Presenter mode: the buttons, the timeline and the step; no speed or step count."""
        for widget in (self.speed, self.of, self.steps):
            widget.setVisible(not on)

    def _scrub(self, value: int) -> None:
        self.controller.pause()
        self.controller.set_step(value)

    def set_theme(self, theme: Theme) -> None:
        """Icons drawn in the theme's colour and sized with its type."""
        self.theme = theme
        self._paint_icons()

    def _paint_icons(self) -> None:
        size = round(1.7 * self.theme.panel_font_pt)
        for glyph, b in self.buttons.items():
            if glyph == "play" and self.controller.playing:
                glyph = "pause"
            b.setIcon(media_icon(glyph, self.theme.foreground, size))
            b.setIconSize(QSize(size, size))

    def _on_playing(self, playing: bool) -> None:
        self._paint_icons()
        if not playing:  # paused: the step it stopped on, at once
            self.timeline_throttle.flush()
            self.readout_throttle.flush()

    def _on_step(self, step: int) -> None:  # noqa: ARG002 (each shows the step when it runs)
        self.timeline_throttle()
        self.readout_throttle()

    def refresh(self, step: int) -> None:
        """Show ``step`` and the step count exactly, now."""
        self.timeline_throttle.cancel()  # (shown here: a waiting call would show it again)
        self.readout_throttle.cancel()
        self._show_timeline(step)
        if self.steps.value() != self.controller.steps:
            _set_quietly(self.steps, lambda: self.steps.setValue(self.controller.steps))
        self._show_readout(step)

    def _show_timeline(self, step: int | None = None) -> None:
        # Only what changed: each set value repaints its widget.
        step = self.controller.step if step is None else step
        steps = self.controller.steps
        if self.timeline.maximum() != steps:
            _set_quietly(self.timeline, lambda: self.timeline.setRange(0, steps))
        if self.timeline.value() != step:
            _set_quietly(self.timeline, lambda: self.timeline.setValue(step))

    def _show_readout(self, step: int | None = None) -> None:
        text = f"step {self.controller.step if step is None else step}"
        if self.readout.text() != text:
            self.readout.setText(text)
