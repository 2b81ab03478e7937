"""Keys that always work: playback and presentation shortcuts whatever widget has focus.

Qt gives a focused line edit first claim on every key it understands (a ``ShortcutOverride``):
after typing a learning rate, Space went into the field, Left/Right/Home/End moved its cursor and
Ctrl+E ("end of line") swallowed the export. A lecturer sees nothing happen. This filter decides
per key and per kind of widget:

- a number field (a spin box) keeps what a number needs: digits, sign, point, exponent, Up/Down,
  Backspace; every other shortcut fires. Enter commits the value and hands focus to the views.
- a text field (an optimizer's label, the formula) keeps everything it types: letters, Space,
  ``*`` and ``+``, arrows, Home/End; only keys that type nothing (Ctrl+…, F-keys, Page Up/Down)
  fire. Esc hands focus back to the views. A field that *commits* (``COMMIT_PROPERTY``: the
  formula) hands focus back after Enter too, unless it still holds a refused value
  (``REFUSED_PROPERTY``): then it stays, for the user to correct.
- any other widget of the window (a button, slider, check box, drop-down, the views) never keeps
  a key that is one of the window's shortcuts.

Eating the ``ShortcutOverride`` (without accepting it) is what lets Qt's own shortcut machinery
fire the action: nothing is triggered by hand, so menus, check marks and tests see the same thing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

COMMIT_PROPERTY = "gdvizCommits"
"""A text field with this Qt property True applies its text with Enter (the formula field)."""

REFUSED_PROPERTY = "gdvizRefused"
"""True while a committing field holds text that was refused (focus stays after Enter)."""

NUMBER_TEXT = set("0123456789.,+-eE")
"""What a number field must keep when typed: digits, sign, decimal point, exponent."""

_FIELD_KEYS = {
    Qt.Key.Key_Up,
    Qt.Key.Key_Down,
    Qt.Key.Key_Backspace,
    Qt.Key.Key_Delete,
}


def number_field(widget: QWidget | None) -> QAbstractSpinBox | None:
    """The spin box ``widget`` is (or is the line edit of), else None."""
    while widget is not None:
        if isinstance(widget, QAbstractSpinBox):
            return widget
        if not isinstance(widget, QLineEdit):
            return None
        widget = widget.parentWidget()
    return None


def text_field(widget: QWidget | None) -> bool:
    return (
        isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit) and number_field(widget) is None
    )


def commit_field(widget: QWidget | None) -> bool:
    """A text field that applies its text with Enter (see ``COMMIT_PROPERTY``)."""
    return text_field(widget) and bool(widget.property(COMMIT_PROPERTY))  # type: ignore[union-attr]


def types_nothing(event: QKeyEvent) -> bool:
    """Keys that put no text into a field: Ctrl/Alt chords, F-keys, Page Up/Down, Esc."""
    mods = event.modifiers()
    if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
        return True
    key = event.key()
    return Qt.Key.Key_F1 <= key <= Qt.Key.Key_F35 or key in (
        Qt.Key.Key_PageUp,
        Qt.Key.Key_PageDown,
        Qt.Key.Key_Escape,
    )


class KeyRouter(QObject):
    """An application event filter that keeps ``window``'s shortcuts alive over its fields.

    Args:
      window: the main window; only its own widgets are filtered (dialogs and menus are not).
      home: gives the widget that takes focus after Enter in a number field or Esc in a text
        field (the visible view).
    """

    def __init__(self, window: QWidget, home: Callable[[], QWidget]) -> None:
        super().__init__(window)
        self.window = window
        self.home = home
        QApplication.instance().installEventFilter(self)
        window.destroyed.connect(self._uninstall)

    def _uninstall(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def shortcuts(self) -> set[QKeySequence]:
        return {
            action.shortcut()
            for action in self.window.actions()
            if not action.shortcut().isEmpty() and action.isEnabled()
        }

    def is_shortcut(self, event: QKeyEvent) -> bool:
        return QKeySequence(event.keyCombination()) in self.shortcuts()

    def hand_back(self) -> None:
        """Focus to the views, where every key is a shortcut."""
        target = self.home()
        if target is not None and target.isVisible():
            target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _hand_back_if_taken(self, field: QWidget) -> None:
        """After Enter in a committing field: back to the views if its text was applied."""
        if QApplication.focusWidget() is field and not field.property(REFUSED_PROPERTY):
            self.hand_back()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if not isinstance(obj, QWidget) or obj is not QApplication.focusWidget():
            return False
        if obj.window() is not self.window:
            return False  # a dialog, a menu or a drop-down's list: theirs to handle
        assert isinstance(event, QKeyEvent)
        key = event.key()
        number = number_field(obj)
        if kind == QEvent.Type.KeyPress:
            if number is not None and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                QTimer.singleShot(0, self.hand_back)  # after the field has taken the value
            elif commit_field(obj) and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                QTimer.singleShot(0, lambda field=obj: self._hand_back_if_taken(field))
            elif key == Qt.Key.Key_Escape and (number is not None or text_field(obj)):
                self.hand_back()
                return True
            return False
        # A ShortcutOverride: returning True without accepting it lets the shortcut fire.
        if key == Qt.Key.Key_Escape and (number is not None or text_field(obj)):
            self.hand_back()
            return self.is_shortcut(event)
        if not self.is_shortcut(event):
            return False
        if text_field(obj):
            return types_nothing(event)
        if number is not None:
            text = event.text()
            return not (key in _FIELD_KEYS or (len(text) == 1 and text in NUMBER_TEXT))
        return True
