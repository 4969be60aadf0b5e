"""The settings panel on air: the wheel scrolls the panel, never changes a setting it passes over."""

import pytest
from PyQt5.QtCore import QPoint, QPointF, Qt
from PyQt5.QtGui import QWheelEvent
from PyQt5.QtWidgets import QApplication, QComboBox, QSlider, QSpinBox, QWidget  # noqa


def wheel(widget: QWidget, clicks: int) -> None:
    """``clicks`` wheel notches over the middle of ``widget`` (negative: towards the user, scroll down)."""
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * clicks),
                        Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def targets(window):
    """One control of each kind the panels build, named for the failure message."""
    panel = window.panel.controls
    masks = window.mask_panel.controls
    found = {
        "float slider": panel["hue_width"].slider,
        "float spin box": panel["hue_width"].spin,
        "int spin box": panel["fill_holes"].widget,
        "choice combo box": panel["spill_method"].widget,
        "source combo box": window.io.source,
        "backdrop combo box": window.outputs.backdrop,
    }
    for name, control in masks.items():  # the colour key layer's fields
        for kind in (QSlider, QSpinBox, QComboBox):
            inner = control if isinstance(control, kind) else control.findChild(kind)
            if inner is not None:
                found[f"mask {name} {kind.__name__}"] = inner
    return found


def test_a_wheel_over_any_control_scrolls_the_panel_and_changes_nothing(window, qtbot):
    window.resize(1280, 720)
    window.panel.set_detail("all")
    qtbot.wait(50)
    bar = window.scroll.verticalScrollBar()
    assert bar.maximum() > 0  # the panel is taller than its view: there is something to scroll
    found = targets(window)
    assert any(k.startswith("mask ") for k in found)  # the masks panel's controls are in the test
    for name, control in found.items():
        settings, masks = window.pipeline.settings, window.pipeline.keyer.masks
        texts = control.currentText() if isinstance(control, QComboBox) else None
        window.scroll.ensureWidgetVisible(control)
        window.setFocus()
        assert not control.hasFocus()
        clicks = -3 if bar.value() < bar.maximum() else 3
        before = bar.value()
        for _ in range(5):
            wheel(control, clicks)
        assert window.pipeline.settings == settings, name
        assert window.pipeline.keyer.masks == masks, name
        if texts is not None:
            assert control.currentText() == texts, name
        if window.scroll.isAncestorOf(control):
            assert bar.value() != before, f"the panel did not scroll over the {name}"


def test_a_focused_control_still_takes_the_wheel(window, qtbot):
    spin = window.panel.controls["hue_width"].spin
    window.scroll.ensureWidgetVisible(spin)
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    wheel(spin, 1)
    assert window.pipeline.settings.hue_width > 30.0  # clicked into: the wheel is the user's intent


@pytest.mark.parametrize("kind", ["slider", "spin"])
def test_guarded_controls_do_not_take_focus_from_the_wheel(window, kind):
    control = getattr(window.panel.controls["hue_width"], kind)
    assert control.focusPolicy() == Qt.StrongFocus
