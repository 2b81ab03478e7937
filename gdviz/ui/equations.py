"""The equation panel and the step-by-step mode.

The panel sets each visible optimizer's update rule in the convention in use, with the numbers of
the step being shown: g, the state (v, m, ν, s, ...), the effective step size and the update.
What an entry adds to its rule (a schedule, an L2 term, clipping, a decoupled weight decay) is
set under the rule's lines, with its numbers (ηₜ, the decay's part of u, Newton's M).
Step by step takes one optimizer's one step apart into stages (gradient → accumulate → scale →
step), one caption per stage, while the surface shows that stage's overlays.
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
from gdviz.core.scene import OptimizerEntry
from gdviz.core.schedules import SCHEDULES
from gdviz.core.teaching import STAGES, StepParts, stage_captions
from gdviz.ui.controller import Controller
from gdviz.ui.overlays import OverlaySet, head_parts
from gdviz.ui.rate import Throttle, follow_drags
from gdviz.ui.theme import LIGHT, Theme

# Which overlay shows each stage of a step (see stage_overlays for the rules that differ).
STAGE_OVERLAY = {
    "gradient": "gradient",
    "accumulate": "velocity",
    "scale": "scale",
    "step": "update",
}


def stage_overlays(stage: str, parts: StepParts) -> tuple[str, ...]:
    """The overlays that show ``stage`` of this step: Newton accumulates curvature, so its
    accumulate stage is its quadratic model; with a decoupled weight decay the step is the
    rule's update and the decay's pull (``u = −scale · direction − η λ θ``)."""
    if stage == "accumulate" and parts.curvature is not None:
        return ("model",)
    if stage == "step" and parts.decay is not None:
        return ("update", "decay")
    return (STAGE_OVERLAY[stage],)


def _vec(a: np.ndarray | None) -> str:
    return "—" if a is None else f"({a[0]:+.4g}, {a[1]:+.4g})"


def _matrix(m: np.ndarray) -> str:
    return f"[[{m[0, 0]:+.4g}, {m[0, 1]:+.4g}], [{m[1, 0]:+.4g}, {m[1, 1]:+.4g}]]"


def modifier_lines(entry: OptimizerEntry) -> list[str]:
    """What ``entry`` adds to its rule's equations, in the order the step applies it: the L2
    term and clipping change g before the rule sees it, the schedule sets η, and a decoupled
    decay the rule has no symbol for adds its pull to u. (AdamW's and Lion's own λ is in their
    equations already.)"""
    lines = []
    if entry.l2:
        lines.append(f"g = ∇f(θ) + L2 θ   (the loss + (L2 ⁄ 2)|θ|², L2 = {entry.l2:g})")
    if entry.clip_norm:
        lines.append(f"g ← g · min(1, c ⁄ ‖g‖)   (clipped to norm c = {entry.clip_norm:g})")
    if entry.schedule != "constant":
        schedule = SCHEDULES[entry.schedule]
        lines.append(f"η = ηₜ, {schedule.title.lower()}: {schedule.formula}")
    rule = RULES[entry.rule]
    if rule.takes_weight_decay and not rule.own_weight_decay and entry.weight_decay:
        lines.append(f"θ ← θ − η λ θ   (decoupled weight decay, λ = {entry.weight_decay:g})")
    return lines


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
        self.stage_shown: tuple[str, ...] = ()  # the overlays the stage shown switched on

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
        scheduled = {e.label for e in self.controller.scene.optimizers if e.schedule != "constant"}
        for label, p in head_parts(self.controller):
            numbers = {"g": _vec(p.grad)}
            if label in scheduled:
                numbers["ηₜ"] = f"{p.learning_rate:.4g}"
            numbers.update({name: _vec(v) for name, v in p.state.items()})
            if p.curvature is not None:
                numbers["M"] = _matrix(p.curvature)
            numbers["step size"] = _vec(p.scale)
            if p.decay is not None:
                numbers["decay −ηλθ"] = _vec(p.decay)
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
            equations = [*RULES[entry.rule].equations[convention]]
            own = entry.resolved_hyperparams(convention).get("weight_decay")
            if own is not None:  # AdamW's and Lion's own λ: the entry's, not the default
                equations.append(f"λ = {own:g}")
            equations += modifier_lines(entry)
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
        self.stage = max(-1, min(stage, len(STAGES) - 1))
        label = self.entry.currentText()
        parts = dict(head_parts(self.controller)).get(label) if self.stage >= 0 else None
        wanted = stage_overlays(STAGES[self.stage], parts) if parts is not None else ()
        for kind in self.stage_shown:
            if kind not in wanted:
                self.overlays.set(kind, False)
        self.stage_shown = wanted
        if self.stage < 0:
            self.caption.setText("")
            return
        if parts is None:
            self.caption.setText(f"{label}: no step to show here.")
            return
        for kind in wanted:
            self.overlays.set(kind, True)
        captions = stage_captions(parts)
        self.caption.setText(
            f"<b>{html.escape(label)}, step {parts.k}</b><br>" + html.escape(captions[self.stage])
        )
