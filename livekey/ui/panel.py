"""The settings side panel, generated from :data:`livekey.settings.SETTINGS`.

One collapsible section per entry of GROUPS (the Basic view shows only the settings in BASIC),
one row per setting: float -> slider + spin box with unit,
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

from livekey.config.settings import BASIC, GROUPS, SETTINGS, Setting, Settings
from livekey.media.images import IMAGE_FILTER
from livekey.ui.wheel_guard import guard_wheel

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
    """The control for ``setting``, deaf to the wheel until focused (see :mod:`livekey.ui.wheel_guard`)."""
    if setting.kind == "float":
        return guard_wheel(FloatControl(setting))
    if setting.kind == "color":
        return guard_wheel(ColorControl(setting))
    if setting.kind == "path":
        return guard_wheel(PathControl(setting))
    return guard_wheel(SimpleControl(setting))


class Section(QWidget):
    """A collapsible group: a header button with an arrow over a body that holds the rows."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.header = QToolButton()
        self.header.setText(title)
        self.header.setCheckable(True)
        self.header.setChecked(True)
        self.header.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.header.setArrowType(Qt.DownArrow)
        self.header.setAutoRaise(True)
        self.header.setStyleSheet("QToolButton { font-weight: bold; }")
        self.body = QWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        self.header.toggled.connect(self.set_expanded)

    def title(self) -> str:
        return self.header.text()

    @property
    def expanded(self) -> bool:
        return self.header.isChecked()

    def set_expanded(self, on: bool) -> None:
        self.header.blockSignals(True)
        self.header.setChecked(on)
        self.header.blockSignals(False)
        self.header.setArrowType(Qt.DownArrow if on else Qt.RightArrow)
        self.body.setVisible(on)


class SettingsPanel(QWidget):
    """Collapsible groups of controls for every declared setting, in a Basic view (the few
    settings of :data:`BASIC`) or All.

    ``edited(name, value)`` fires when the user changes a control or resets it.
    :meth:`show_settings` updates every control without firing it.
    """

    edited = pyqtSignal(str, object)
    detail_changed = pyqtSignal(str)

    def __init__(self, settings: Settings, parent: QWidget | None = None, detail: str = "basic") -> None:
        super().__init__(parent)
        self.controls: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.resets: dict[str, QToolButton] = {}
        self.groups: dict[str, Section] = {}
        self.detail = detail
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._detail_switch())
        for group in GROUPS:
            section = Section(group.capitalize())
            grid = QGridLayout(section.body)
            grid.setColumnStretch(1, 1)
            for row, setting in enumerate(s for s in SETTINGS if s.group == group):
                self._add_row(grid, row, setting)
            self.groups[group] = section
            layout.addWidget(section)
        self.show_settings(settings)
        self.set_detail(detail)

    def _detail_switch(self) -> QWidget:
        """Basic | All, as two exclusive buttons."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        self.detail_buttons: dict[str, QPushButton] = {}
        for mode, tip in (("basic", "Only the settings most keys need: key colour, hue width, spill strength, "
                                    "grow and soften"),
                          ("all", "Every setting, in collapsible groups")):
            button = QPushButton(mode.capitalize())
            button.setCheckable(True)
            button.setAutoExclusive(True)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, m=mode: self.set_detail(m))
            layout.addWidget(button)
            self.detail_buttons[mode] = button
        layout.addStretch(1)
        return row

    def set_detail(self, mode: str) -> None:
        """Show the Basic rows only, or All; a group with nothing to show is hidden."""
        if mode not in ("basic", "all"):
            raise ValueError(f"unknown panel view {mode!r}; expected basic or all")
        self.detail = mode
        self.detail_buttons[mode].setChecked(True)
        for group, section in self.groups.items():
            shown = 0
            for setting in (s for s in SETTINGS if s.group == group):
                visible = mode == "all" or setting.name in BASIC
                for widget in (self.labels[setting.name], self.controls[setting.name], self.resets[setting.name]):
                    widget.setVisible(visible)
                shown += visible
            section.setVisible(shown > 0)
        self.detail_changed.emit(mode)

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
