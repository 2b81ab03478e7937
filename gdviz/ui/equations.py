"""The equation panel and the step-by-step mode.

The panel sets each visible optimizer's update rule in the convention in use, with the numbers of
the step being shown: g, the state (v, m, ν, s, ...), the effective step size and the update.
Step by step takes one optimizer's one step apart into stages (gradient → accumulate → scale →
step), one caption per stage, while the surface shows that stage's vector.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.optimizers import RULES
from gdviz.core.teaching import STAGES, stage_captions
from gdviz.ui.controller import Controller
from gdviz.ui.overlays import OverlaySet, head_parts
from gdviz.ui.rate import Throttle, follow_drags
from gdviz.ui.theme import LIGHT, Theme

# Which overlay shows each stage of a step.
STAGE_OVERLAY = {
    "gradient": "gradient",
    "accumulate": "velocity",
    "scale": "scale",
    "step": "update",
}


def _vec(a: np.ndarray | None) -> str:
    return "—" if a is None else f"({a[0]:+.4g}, {a[1]:+.4g})"


class EquationPanel(QWidget):
    """Update rules with live numbers, and the step-by-step stages."""

    def __init__(self, controller: Controller, overlays: OverlaySet) -> None:
        super().__init__()
        self.controller = controller
        self.overlays = overlays
        self.theme: Theme = LIGHT
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        layout.addWidget(self.text, 1)

        layout.addWidget(QLabel("<b>Step by step</b>"))
        row = QHBoxLayout()
        self.entry = QComboBox()
        self.entry.setToolTip("The optimizer whose step is taken apart")
        self.entry.currentIndexChanged.connect(lambda _: self.show_stage(self.stage))
        self.prev = QPushButton("◀ Stage")
        self.next = QPushButton("Stage ▶")
        self.prev.clicked.connect(lambda: self.show_stage(self.stage - 1))
        self.next.clicked.connect(lambda: self.show_stage(self.stage + 1))
        row.addWidget(self.entry, 1)
        row.addWidget(self.prev)
        row.addWidget(self.next)
        layout.addLayout(row)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.caption)
        self.stage = -1  # -1: step-by-step is off

        self.throttle = Throttle(self.refresh, parent=self)
        follow_drags(self.throttle, controller, phase=0.75)
        controller.results_changed.connect(self.throttle)
        controller.step_changed.connect(lambda _: self.throttle())
        controller.entries_changed.connect(self._entries)
        controller.scene_changed.connect(self.throttle)
        self._entries()

    def _entries(self) -> None:
        current = self.entry.currentText()
        self.entry.blockSignals(True)
        self.entry.clear()
        self.entry.addItems([e.label for e in self.controller.scene.optimizers])
        index = self.entry.findText(current)
        self.entry.setCurrentIndex(max(index, 0))
        self.entry.blockSignals(False)
        self.refresh()

    # --- the equations --------------------------------------------------------------------------

    def rows(self) -> list[tuple[str, dict[str, str]]]:
        """Per visible entry, the numbers shown (also what the tests read)."""
        out = []
        for label, p in head_parts(self.controller):
            numbers = {"g": _vec(p.grad)}
            numbers.update({name: _vec(v) for name, v in p.state.items()})
            numbers["step size"] = _vec(p.scale)
            numbers["u"] = _vec(p.update)
            out.append((label, numbers))
        return out

    def set_theme(self, theme: Theme) -> None:
        """Entry colours from the theme's palette; type sized like the other panels."""
        self.theme = theme
        self.refresh()

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().showEvent(event)
        self.refresh()  # skipped while the panel was closed

    def refresh(self) -> None:
        if not self.isVisible():
            return  # a closed panel costs nothing during playback
        ctl = self.controller
        convention = ctl.scene.convention
        muted = "#A0A4AC" if self.theme.dark else "#666666"
        blocks = [f"<p style='color:{muted}'>step {ctl.step}, convention <b>{convention}</b></p>"]
        by_label = dict(self.rows())
        colors = ctl.colors(self.theme)
        for entry in ctl.scene.optimizers:
            if not entry.visible:
                continue
            color = colors[entry.label]
            equations = RULES[entry.rule].equations[convention]
            lines = "<br>".join(html.escape(line) for line in equations)
            numbers = by_label.get(entry.label, {})
            table = "".join(
                f"<tr><td>{html.escape(k)}</td><td>&nbsp;{html.escape(v)}</td></tr>"
                for k, v in numbers.items()
            )
            blocks.append(
                f"<p><span style='color:{color}; font-weight:700'>■ {html.escape(entry.label)}</span><br>"
                f"<span style='font-family:serif; font-size:{self.theme.panel_font_pt + 2}pt'>{lines}</span></p>"
                f"<table style='font-family:monospace'>{table}</table>"
            )
        scroll = self.text.verticalScrollBar().value()
        self.text.setHtml("".join(blocks))
        self.text.verticalScrollBar().setValue(scroll)
        if self.stage >= 0:
            self.show_stage(self.stage)

    # --- step by step ---------------------------------------------------------------------------

    def show_stage(self, stage: int) -> None:
        """Show stage ``stage`` (0-3) of the chosen optimizer's current step; -1 turns it off."""
        previous = STAGE_OVERLAY.get(STAGES[self.stage]) if 0 <= self.stage < len(STAGES) else None
        self.stage = max(-1, min(stage, len(STAGES) - 1))
        if previous is not None:
            self.overlays.set(previous, False)
        if self.stage < 0:
            self.caption.setText("")
            return
        label = self.entry.currentText()
        parts = dict(head_parts(self.controller)).get(label)
        if parts is None:
            self.caption.setText(f"{label}: no step to show here.")
            return
        self.overlays.set(STAGE_OVERLAY[STAGES[self.stage]], True)
        captions = stage_captions(parts)
        self.caption.setText(
            f"<b>{html.escape(label)}, step {parts.k}</b><br>" + html.escape(captions[self.stage])
        )
