"""Controls that a scrolling wheel cannot change by accident.

Qt gives spin boxes, sliders and combo boxes the wheel as soon as the pointer is over them, so
scrolling the settings panel on air changes whatever setting passes under the pointer. After
:func:`guard_wheel` such a control takes the wheel only once it has focus (a click or Tab);
otherwise the control never sees the wheel event: it goes to the scroll area around the control
(the panel scrolls), or, outside one, is left to the parent widgets.
"""

from __future__ import annotations

from PyQt5.QtCore import QEvent, QObject, QPointF, Qt
from PyQt5.QtGui import QWheelEvent
from PyQt5.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

GUARDED = (QAbstractSpinBox, QAbstractSlider, QComboBox)


class WheelGuard(QObject):
    """Event filter: a wheel event over an unfocused control scrolls the scroll area around it."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() != QEvent.Wheel or not isinstance(obj, QWidget) or obj.hasFocus():
            return False
        area = scroll_area_of(obj)
        if area is None:
            # Left unaccepted: Qt offers a real (spontaneous) wheel event to the parents instead.
            event.ignore()
            return True
        # Handed to the scroll area explicitly rather than left to Qt's propagation, which Qt 5
        # skips for events not from the window system: the same path for a mouse and a test.
        viewport = area.viewport()
        at = QPointF(viewport.mapFromGlobal(obj.mapToGlobal(event.position().toPoint())))
        QApplication.sendEvent(viewport, QWheelEvent(at, event.globalPosition(), event.pixelDelta(),
                                                     event.angleDelta(), event.buttons(), event.modifiers(),
                                                     event.phase(), event.inverted()))
        event.accept()
        return True


def scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    """The nearest scroll area ``widget`` sits in (its contents, not its scroll bars), or None."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and parent.viewport().isAncestorOf(widget):
            return parent
        parent = parent.parentWidget()
    return None


_GUARD: WheelGuard | None = None


def _guard() -> WheelGuard:
    global _GUARD
    if _GUARD is None:  # one filter for every control, made once a QApplication exists
        _GUARD = WheelGuard()
    return _GUARD


def guard_wheel(root: QWidget) -> QWidget:
    """Guard ``root`` and every spin box, slider and combo box inside it (scroll bars excepted:
    they are how a panel scrolls); returns ``root``. Safe to call again on a rebuilt part."""
    widgets = [root] + root.findChildren(QWidget)
    for widget in widgets:
        if isinstance(widget, GUARDED) and not isinstance(widget, QScrollBar):
            # Strong focus: click or Tab, not the wheel (Qt's default WheelFocus would let the
            # first wheel turn focus the control and so change it).
            widget.setFocusPolicy(Qt.StrongFocus)
            widget.removeEventFilter(_guard())  # installing twice would not add a second run; be explicit
            widget.installEventFilter(_guard())
    return root
