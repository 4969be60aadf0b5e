"""The "Masks" group of the side panel: the mask stack as a list (add, remove, reorder, toggle)
and the selected layer's fields, generated from :data:`livekey.masks.LAYER_TYPES`.

Like :class:`~livekey.ui.panel.SettingsPanel` it only reports edits: ``changed(stack, row)``
carries the new :class:`~livekey.masks.MaskStack` and the row to select; the window applies it.
Drawing a shape is asked for with ``draw_requested(shape, mode)``; the preview does the drawing.
"""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from livekey.errors import LivekeyError
from livekey.masks import LAYER_TYPES, MaskLayer, MaskStack
from livekey.media.images import IMAGE_FILTER
from livekey.ui.panel import label_text, make_control, tooltip

# The Add menu: title, then a shape and mode to draw, or a layer type whose file is asked for.
DRAW_CHOICES = (
    ("Garbage rectangle", "rect", "intersect"),
    ("Garbage ellipse", "ellipse", "intersect"),
    ("Garbage polygon", "poly", "intersect"),
    ("Core rectangle", "rect", "add"),
    ("Core ellipse", "ellipse", "add"),
    ("Core polygon", "poly", "add"),
)
# The Add menu's layers made from a file, from the layer registry: title, type, field, caption, filter.
FILE_CHOICES = tuple((t.add_from_file[0], t.name, *t.add_from_file[1:]) for t in LAYER_TYPES.values()
                     if t.add_from_file is not None)
# The Add menu's layers made from nothing, from the registry: title, type, mode.
PLAIN_CHOICES = tuple((title, t.name, mode) for t in LAYER_TYPES.values() for title, mode in t.add_plain)
# Kinds the panel edits in place; points are drawn on the preview, a shape's kind is fixed once drawn.
EDITABLE_KINDS = ("float", "int", "bool", "choice", "path")
# "still": the person layer's still-image mode (several model passes a frame), which `livekey key`
# sets; the window is the live path, where it would drop frames.
SKIPPED_FIELDS = ("enabled", "shape", "points", "still")


def describe(layer: MaskLayer) -> str:
    """A list row's text: what the layer is and how it merges."""
    what = LAYER_TYPES[layer.type].describe(layer)
    return f"{what}  \u2013  {layer.mode}" + ("  (inverted)" if layer.invert else "")


class MaskPanel(QGroupBox):
    """The mask stack, first applied at the top; the colour key is one of its layers."""

    changed = pyqtSignal(object, int)  # new MaskStack, row to select
    draw_requested = pyqtSignal(str, str)  # shape, mode
    selected = pyqtSignal(int)  # row, -1 for none
    error = pyqtSignal(str)

    def __init__(self, stack: MaskStack, parent: QWidget | None = None) -> None:
        super().__init__("Masks", parent)
        self.stack = stack
        self.list = QListWidget()
        self.list.setToolTip("Mask layers, applied top to bottom; the check box turns a layer on or off")
        self.list.setMaximumHeight(130)
        self.add = QToolButton()
        self.add.setText("Add")
        self.add.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.add)
        self.add_actions: dict[str, Any] = {}
        for title, shape, mode in DRAW_CHOICES:
            act = menu.addAction(title)
            act.triggered.connect(lambda _=False, s=shape, m=mode: self.draw_requested.emit(s, m))
            self.add_actions[title] = act
        menu.addSeparator()
        for title, kind, field, caption, file_filter in FILE_CHOICES:
            act = menu.addAction(title)
            act.triggered.connect(
                lambda _=False, k=kind, f=field, c=caption, ff=file_filter: self.add_file(k, f, c, ff))
            self.add_actions[title] = act
        for title, kind, mode in PLAIN_CHOICES:
            act = menu.addAction(title)
            act.triggered.connect(lambda _=False, k=kind, m=mode: self.add_plain(k, m))
            self.add_actions[title] = act
        self.add.setMenu(menu)
        self.add.setToolTip("Add a garbage or core shape (drawn on the picture), an image mask, a difference key "
                            "or an object mask from a segmentation model")
        self.remove = QPushButton("Remove")
        self.up = QPushButton("Up")
        self.down = QPushButton("Down")
        self.edit = QPushButton("Edit shape")
        self.edit.setCheckable(True)
        self.edit.setToolTip("Show the selected shape's handles on the picture: drag a handle to move that "
                             "point, drag inside the shape to move it (M)")
        buttons = QHBoxLayout()
        for button in (self.add, self.remove, self.up, self.down, self.edit):
            buttons.addWidget(button)
        self.details = QWidget()
        self.controls: dict[str, QWidget] = {}
        self._details_type: str | None = "none yet"
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.details)

        self.list.currentRowChanged.connect(self._selection_changed)
        self.list.itemChanged.connect(self._item_checked)
        self.remove.clicked.connect(lambda: self._edit_stack(lambda s, r: (s.remove(r), min(r, len(s) - 2))))
        self.up.clicked.connect(lambda: self._edit_stack(lambda s, r: (s.move(r, r - 1), max(r - 1, 0))))
        self.down.clicked.connect(
            lambda: self._edit_stack(lambda s, r: (s.move(r, r + 1), min(r + 1, len(s) - 1))))
        self.show_stack(stack, 0)

    # --- showing ------------------------------------------------------------------
    @property
    def row(self) -> int:
        return self.list.currentRow()

    @property
    def layer(self) -> MaskLayer | None:
        return self.stack[self.row] if 0 <= self.row < len(self.stack) else None

    def show_stack(self, stack: MaskStack, row: int | None = None) -> None:
        """Show ``stack``, selecting ``row`` (default: keep the selection); fires no edits.

        Rows and field controls are updated in place, so a slider being dragged or a shape being
        dragged on the preview keeps its widgets."""
        row = min(max(self.row if row is None else row, 0), len(stack) - 1)
        self.stack = stack
        self.list.blockSignals(True)
        while self.list.count() > len(stack):
            self.list.takeItem(self.list.count() - 1)
        for i, layer in enumerate(stack):
            item = self.list.item(i)
            if item is None:
                item = QListWidgetItem()
                item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                self.list.addItem(item)
            item.setText(describe(layer))
            item.setCheckState(Qt.Checked if layer.enabled else Qt.Unchecked)
            item.setToolTip(LAYER_TYPES[layer.type].help)
        self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        self._show_details()

    def _show_details(self) -> None:
        """The selected layer's fields as controls (rebuilt when the layer type changes)."""
        layer = self.layer
        self.remove.setEnabled(layer is not None and layer.type != "key")
        self.up.setEnabled(self.row > 0)
        self.down.setEnabled(0 <= self.row < len(self.stack) - 1)
        self.edit.setEnabled(layer is not None and layer.type == "shape")
        if not self.edit.isEnabled():
            self.edit.setChecked(False)
        kind = layer.type if layer is not None else None
        if kind != self._details_type:
            self._build_details(layer)
        for name, control in self.controls.items():
            control.set_value(getattr(layer, name))

    def _build_details(self, layer: MaskLayer | None) -> None:
        old, self.details = self.details, QWidget()
        self.layout().replaceWidget(old, self.details)
        old.deleteLater()
        self.controls = {}
        self._details_type = layer.type if layer is not None else None
        if layer is None:
            return
        form = QFormLayout(self.details)
        form.setContentsMargins(0, 0, 0, 0)
        for field in LAYER_TYPES[layer.type].all_fields:
            if field.name in SKIPPED_FIELDS or field.kind not in EDITABLE_KINDS:
                continue
            control = make_control(field)
            control.setToolTip(tooltip(field))
            control.changed.connect(lambda value, name=field.name: self._set_field(name, value))
            form.addRow(label_text(field), control)
            self.controls[field.name] = control

    # --- editing --------------------------------------------------------------------
    def _edit_stack(self, edit) -> None:
        """Apply ``edit(stack, row) -> (stack, row)`` to the selected row and report the result."""
        if self.layer is None:
            return
        try:
            stack, row = edit(self.stack, self.row)
        except LivekeyError as err:
            self.error.emit(str(err))
            return
        self.changed.emit(stack, row)

    def _set_field(self, name: str, value: Any) -> None:
        self._edit_stack(lambda s, r: (s.set(r, s[r].replace(**{name: value})), r))

    def _item_checked(self, item: QListWidgetItem) -> None:
        row = self.list.row(item)
        if self.stack[row].enabled != (item.checkState() == Qt.Checked):
            self.list.setCurrentRow(row)
            self._edit_stack(lambda s, r: (s.toggle(r), r))

    def _selection_changed(self, row: int) -> None:
        self._show_details()
        self.selected.emit(row)

    def add_layer(self, layer: MaskLayer) -> None:
        """Put ``layer`` on top of the stack and select it."""
        self.changed.emit(self.stack.add(layer), len(self.stack))

    def add_plain(self, kind: str, mode: str) -> None:
        """Add a ``kind`` layer made from nothing (the person model), once what it needs is found."""
        try:
            layer = MaskLayer(kind, mode=mode)
            MaskStack((layer,)).validate()
        except LivekeyError as err:
            self.error.emit(str(err))
            return
        self.add_layer(layer)

    def add_file(self, kind: str, field: str, caption: str, file_filter: str = IMAGE_FILTER) -> None:
        """Ask for the file a ``kind`` layer reads (its ``field``) and add the layer, once the file
        has been opened and found usable: a bad file is refused here, with the reason, not later
        by the running pipeline."""
        path, _ = QFileDialog.getOpenFileName(self, caption, "calibration", file_filter)
        if not path:
            return
        try:
            layer = MaskLayer(kind, **{field: path})
            MaskStack((layer,)).validate()
        except LivekeyError as err:
            self.error.emit(str(err))
            return
        self.add_layer(layer)
