"""The settings side panel, generated from :data:`livekey.settings.SETTINGS`.

One group box per entry of GROUPS, one row per setting: float -> slider + spin box with unit,
int -> spin box, bool -> check box, choice -> combo box, color -> swatch button with "auto"
and the eyedropper, path -> line edit with a browse button. Every row has a reset-to-default
button; the help text is the tooltip.
The panel only reports edits (:attr:`SettingsPanel.edited`); the window applies them.
"""

from __future__ import annotations

import math
from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtGui import QColor
from PyQt5.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from livekey.config.settings import GROUPS, SETTINGS, Setting, Settings
from livekey.media.images import IMAGE_FILTER

SLIDER_STEPS = 1000  # a float slider has this many steps over the setting's range


def tooltip(setting: Setting) -> str:
    return f"<b>{setting.name}</b><br>{setting.help}<br><i>{setting.range_text()}; default {setting.default}</i>"


def label_text(setting: Setting) -> str:
    return setting.name.replace("_", " ").capitalize()


class FloatControl(QWidget):
    """A slider and a spin box over one float setting's range, kept in step."""

    changed = pyqtSignal(object)

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        self.setting = setting
        lo, hi = setting.minimum, setting.maximum
        span = hi - lo
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.spin = QDoubleSpinBox()
        # About three significant digits over the range: 0.001 for 0..1, 0.1 for 0..180 deg.
        decimals = min(3, max(0, 3 - int(math.floor(math.log10(span))))) if span > 0 else 2
        self.spin.setDecimals(decimals)
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(10 ** -max(0, decimals - 1) if decimals else 1.0)
        if setting.unit:
            self.spin.setSuffix(f" {setting.unit}")
        self.spin.setKeyboardTracking(False)
        self.spin.setFixedWidth(96)  # equal widths keep the sliders aligned down the panel
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin.valueChanged.connect(self._spin_changed)

    def _to_slider(self, value: float) -> int:
        lo, hi = self.setting.minimum, self.setting.maximum
        return int(round((value - lo) / (hi - lo) * SLIDER_STEPS))

    def _slider_moved(self, position: int) -> None:
        lo, hi = self.setting.minimum, self.setting.maximum
        value = round(lo + (hi - lo) * position / SLIDER_STEPS, self.spin.decimals())
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        self.changed.emit(value)

    def _spin_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(value))
        self.slider.blockSignals(False)
        self.changed.emit(value)

    def set_value(self, value: float) -> None:
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.spin.setValue(value)
        self.slider.setValue(self._to_slider(value))
        for w in (self.slider, self.spin):
            w.blockSignals(False)


class ColorControl(QWidget):
    """Key colour: a swatch (opens a colour dialog), an "auto" button and the eyedropper."""

    changed = pyqtSignal(object)

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        self.setting = setting
        self.swatch = QPushButton()
        self.swatch.setToolTip("Choose the screen colour")
        self.auto = QPushButton("Auto")
        self.auto.setToolTip("Detect the screen colour from the picture")
        self.eyedropper = QPushButton("Pick")
        self.eyedropper.setCheckable(True)
        self.eyedropper.setToolTip("Eyedropper (E): click or drag a box on the picture to take the key colour "
                                   "from the raw camera frame")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.swatch, 1)
        layout.addWidget(self.auto)
        layout.addWidget(self.eyedropper)
        self.swatch.clicked.connect(self._choose)
        self.auto.clicked.connect(lambda: self.changed.emit("auto"))
        self.value = setting.default

    def _choose(self) -> None:
        start = QColor(self.value) if self.value != "auto" else QColor("#3ab54a")
        color = QColorDialog.getColor(start, self, "Key colour")
        if color.isValid():
            self.changed.emit(color.name())

    def set_value(self, value: str) -> None:
        self.value = value
        if value == "auto":
            self.swatch.setText("auto (detecting)")
            self.swatch.setStyleSheet("")
        else:
            self._paint(value, value)

    def show_detected(self, color: str) -> None:
        """In auto mode, show the colour the keyer detected."""
        if self.value == "auto":
            self._paint(color, f"auto: {color}")

    def _paint(self, color: str, text: str) -> None:
        ink = "#000000" if QColor(color).lightness() > 128 else "#ffffff"
        self.swatch.setText(text)
        self.swatch.setStyleSheet(f"background-color: {color}; color: {ink};")


class SimpleControl(QWidget):
    """int -> spin box, bool -> check box, choice -> combo box."""

    changed = pyqtSignal(object)

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        self.setting = setting
        if setting.kind == "int":
            self.widget = QSpinBox()
            self.widget.setRange(int(setting.minimum), int(setting.maximum))
            if setting.unit:
                self.widget.setSuffix(f" {setting.unit}")
            self.widget.setKeyboardTracking(False)
            self.widget.valueChanged.connect(self.changed.emit)
        elif setting.kind == "bool":
            self.widget = QCheckBox()
            self.widget.toggled.connect(self.changed.emit)
        elif setting.kind == "choice":
            self.widget = QComboBox()
            self.widget.addItems(setting.choices)
            self.widget.currentTextChanged.connect(self.changed.emit)
        else:
            raise ValueError(f"no control for setting kind {setting.kind!r}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        if setting.kind != "bool":
            layout.setStretch(0, 1)
        else:
            layout.addStretch(1)

    def set_value(self, value: Any) -> None:
        self.widget.blockSignals(True)
        if self.setting.kind == "int":
            self.widget.setValue(value)
        elif self.setting.kind == "bool":
            self.widget.setChecked(value)
        else:
            self.widget.setCurrentText(value)
        self.widget.blockSignals(False)


class PathControl(QWidget):
    """path -> a line edit (Enter applies) and a browse button; empty means none."""

    changed = pyqtSignal(object)

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        self.setting = setting
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("none")
        self.edit.editingFinished.connect(lambda: self.changed.emit(self.edit.text().strip()))
        self.browse = QPushButton("…")
        self.browse.setToolTip(f"Choose the {label_text(setting).lower()} file")
        self.browse.clicked.connect(self._choose)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, label_text(self.setting), "calibration",
                                              IMAGE_FILTER)
        if path:
            self.set_value(path)
            self.changed.emit(path)

    def set_value(self, value: Any) -> None:
        self.edit.blockSignals(True)
        self.edit.setText(value)
        self.edit.blockSignals(False)


def make_control(setting: Setting) -> QWidget:
    if setting.kind == "float":
        return FloatControl(setting)
    if setting.kind == "color":
        return ColorControl(setting)
    if setting.kind == "path":
        return PathControl(setting)
    return SimpleControl(setting)


class SettingsPanel(QWidget):
    """Group boxes of controls for every declared setting.

    ``edited(name, value)`` fires when the user changes a control or resets it.
    :meth:`show_settings` updates every control without firing it.
    """

    edited = pyqtSignal(str, object)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.resets: dict[str, QToolButton] = {}
        self.groups: dict[str, QGroupBox] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for group in GROUPS:
            box = QGroupBox(group.capitalize())
            grid = QGridLayout(box)
            grid.setColumnStretch(1, 1)
            for row, setting in enumerate(s for s in SETTINGS if s.group == group):
                self._add_row(grid, row, setting)
            self.groups[group] = box
            layout.addWidget(box)
        self.show_settings(settings)

    def _add_row(self, grid: QGridLayout, row: int, setting: Setting) -> None:
        label = QLabel(label_text(setting))
        control = make_control(setting)
        reset = QToolButton()
        reset.setText("\u21ba")
        reset.setAutoRaise(True)
        reset.setToolTip(f"Reset {setting.name} to its default ({setting.default})")
        for widget in (label, control):
            widget.setToolTip(tooltip(setting))
        control.changed.connect(lambda value, name=setting.name: self.edited.emit(name, value))
        reset.clicked.connect(lambda _=False, s=setting: self.edited.emit(s.name, s.default))
        grid.addWidget(label, row, 0)
        grid.addWidget(control, row, 1)
        grid.addWidget(reset, row, 2)
        self.controls[setting.name] = control
        self.labels[setting.name] = label
        self.resets[setting.name] = reset

    @property
    def color_control(self) -> ColorControl:
        return self.controls["key_color"]

    def show_settings(self, settings: Settings) -> None:
        """Show ``settings`` in the controls; changed-from-default rows get a bold label."""
        for setting in SETTINGS:
            value = settings[setting.name]
            self.controls[setting.name].set_value(value)
            changed = value != setting.default
            font = self.labels[setting.name].font()
            font.setBold(changed)
            self.labels[setting.name].setFont(font)
            self.resets[setting.name].setEnabled(changed)
