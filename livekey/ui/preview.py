"""The live picture: a widget that shows one view of the latest Output, the eyedropper, the split
divider, drawing and editing of mask shapes, and the bridge that carries Outputs from the
pipeline thread to it."""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtCore import QObject, QPointF, QRect, QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QPolygonF
from PyQt5.QtWidgets import QSizePolicy, QWidget

from livekey.masks import MaskLayer, hit_handle, move_handle, move_shape, shape_handles
from livekey.ui import views

if TYPE_CHECKING:
    from livekey.runtime.frames import Output

_FORMATS = {2: QImage.Format_Grayscale8, 3: QImage.Format_BGR888, 4: QImage.Format_ARGB32}


def to_qimage(array: np.ndarray) -> QImage:
    """Wrap a uint8 (H, W), (H, W, 3) BGR or (H, W, 4) BGRA array in a QImage without copying.

    The QImage points into ``array``: keep the array alive while the image is in use.
    (Format_ARGB32 is B, G, R, A in memory on little-endian machines.)
    """
    array = np.ascontiguousarray(array)
    channels = 2 if array.ndim == 2 else array.shape[2]
    h, w = array.shape[:2]
    return QImage(array.data, w, h, array.strides[0], _FORMATS[channels])


class FrameBridge(QObject):
    """Hands the newest Output from the pipeline's thread to the GUI thread.

    :meth:`push` runs on the compositor thread and never waits: it replaces the pending
    Output and emits :attr:`arrived` only when no delivery is already queued, so a slow
    paint drops display frames (counted in :attr:`dropped`), never pipeline frames.
    """

    arrived = pyqtSignal()
    message = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: Output | None = None
        self._queued = False
        self.closed = False
        self.received = 0
        self.dropped = 0

    def push(self, output: Output) -> None:
        if self.closed:
            return
        with self._lock:
            self.received += 1
            if self._pending is not None:
                self.dropped += 1
            self._pending = output
            emit = not self._queued
            self._queued = True
        if emit:
            self.arrived.emit()  # queued across threads: delivered by the GUI event loop

    def post_message(self, text: str) -> None:
        """A warning from a pipeline thread, delivered to the GUI thread."""
        if not self.closed:
            self.message.emit(text)

    def take(self) -> Output | None:
        with self._lock:
            output, self._pending = self._pending, None
            self._queued = False
        return output


HANDLE_PX = 5  # half the side of a shape handle's square, logical pixels
HIT_PX = 10  # a press this close to a handle grabs it
SHAPE_COLOR = QColor(255, 215, 0)  # amber, seen on green, grey and the status colours
CLOSE_PX = 3  # a double click this close to the last point does not add another


def shape_path(shape: str, points: tuple[float, ...], rect: views.Rect) -> QPainterPath:
    """A mask shape (normalised points) as a painter path in widget coordinates."""
    path = QPainterPath()
    x, y, w, h = rect
    if shape == "ellipse":
        cx, cy, rx, ry = points
        path.addEllipse(QPointF(x + cx * w, y + cy * h), rx * w, ry * h)
    elif shape == "rect":
        path.addRect(QRectF(QPointF(x + points[0] * w, y + points[1] * h),
                            QPointF(x + points[2] * w, y + points[3] * h)).normalized())
    else:
        path.addPolygon(QPolygonF([QPointF(x + points[i] * w, y + points[i + 1] * h)
                                   for i in range(0, len(points), 2)]))
        path.closeSubpath()
    return path


class PreviewWidget(QWidget):
    """Shows ``views.render_view(mode, output)`` scaled into the widget, aspect kept.

    Signals: ``picked(str)`` the eyedropper's ``#rrggbb`` from the raw frame;
    ``divider_moved(float)`` the split divider (0..1); ``shape_drawn(str, tuple)`` a shape drawn
    in draw mode (its normalised points); ``shape_edited(MaskLayer)`` the edited shape layer
    moved or reshaped by a drag; ``hint(str)`` a message for the status bar.
    """

    picked = pyqtSignal(str)
    divider_moved = pyqtSignal(float)
    shape_drawn = pyqtSignal(str, object)
    shape_edited = pyqtSignal(object)
    hint = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(320, 180)
        self.setMouseTracking(True)
        self.output: Output | None = None
        self.mode = "composite"
        self.divider = 0.5
        self.actual_pixels = False
        self.eyedropper = False
        self.frames_shown = 0
        self._array: np.ndarray | None = None  # keeps the QImage's memory alive
        self._image: QImage | None = None
        self._drag_from: tuple[int, int] | None = None
        self._drag_widget: tuple[QPointF, QPointF] | None = None
        self._dragging_divider = False
        self.setFocusPolicy(Qt.ClickFocus)  # Enter closes a polygon being drawn
        self.draw_shape: str | None = None  # "rect", "ellipse" or "poly" while drawing one
        self._clicks: list[tuple[float, float]] = []  # a polygon's points so far (normalised)
        self._box: tuple[tuple[float, float], tuple[float, float]] | None = None  # a rect/ellipse being dragged
        self._hover: tuple[float, float] | None = None
        self.edit_layer: MaskLayer | None = None  # the shape whose handles are shown and dragged
        self._grab: int | None = None  # handle index being dragged, -1 = the whole shape
        self._grab_at: tuple[float, float] = (0.0, 0.0)

    # --- content ----------------------------------------------------------
    def set_output(self, output: Output) -> None:
        self.output = output
        self._render()
        self.frames_shown += 1

    def set_mode(self, mode: str) -> None:
        if mode not in views.VIEW_MODES:
            raise ValueError(f"unknown view mode {mode!r}")
        self.mode = mode
        self._render()

    def set_divider(self, divider: float) -> None:
        self.divider = min(max(divider, 0.0), 1.0)
        self._render()

    def set_actual_pixels(self, on: bool) -> None:
        self.actual_pixels = on
        self.update()

    def set_eyedropper(self, on: bool) -> None:
        self.eyedropper = on
        self._drag_from = self._drag_widget = None
        self.setCursor(Qt.CrossCursor if on else Qt.ArrowCursor)
        self.update()

    def set_draw(self, shape: str | None) -> None:
        """Start drawing a ``shape`` ("rect", "ellipse" or "poly") on the picture, or stop (None)."""
        self.draw_shape = shape
        self._clicks, self._box = [], None
        self.setCursor(Qt.CrossCursor if shape or self.eyedropper else Qt.ArrowCursor)
        if shape:
            self.setFocus()
        self.update()

    def set_edit_layer(self, layer: MaskLayer | None) -> None:
        """Show ``layer``'s handles for dragging (a shape layer), or none."""
        self.edit_layer = layer if layer is not None and layer.type == "shape" else None
        if self.edit_layer is None:
            self._grab = None
        self.update()

    def finish_polygon(self) -> bool:
        """Close the polygon being drawn (needs 3 points); True when one was emitted."""
        if self.draw_shape != "poly":
            return False
        if len(self._clicks) < 3:
            self.hint.emit(f"a polygon needs at least 3 points; {len(self._clicks)} so far")
            return False
        points = tuple(v for xy in self._clicks for v in xy)
        self.set_draw(None)
        self.shape_drawn.emit("poly", points)
        return True

    def normalised(self, pos: QPointF) -> tuple[float, float] | None:
        return views.widget_to_normalised((pos.x(), pos.y()), self.image_rect()) if self.image_size else None

    def _render(self) -> None:
        if self.output is None:
            return
        self._array = np.ascontiguousarray(views.render_view(self.mode, self.output, self.divider))
        self._image = to_qimage(self._array)
        self.update()

    @property
    def image_size(self) -> tuple[int, int] | None:
        if self.output is None:
            return None
        h, w = self.output.raw.shape[:2]
        return w, h

    def image_rect(self) -> views.Rect:
        """The picture's rectangle in logical widget pixels."""
        size = self.image_size
        if size is None:
            return (0.0, 0.0, 0.0, 0.0)
        return views.display_rect(size, (self.width(), self.height()), self.devicePixelRatioF(),
                                  self.actual_pixels)

    def image_point(self, pos: QPointF) -> tuple[int, int] | None:
        size = self.image_size
        return None if size is None else views.widget_to_image((pos.x(), pos.y()), self.image_rect(), size)

    # --- painting ---------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 28))
        if self._image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignCenter, "waiting for the first frame\u2026")
            return
        x, y, w, h = self.image_rect()
        if not self.actual_pixels:
            painter.setRenderHint(QPainter.SmoothPixmapTransform)
        painter.drawImage(QRectF(x, y, w, h), self._image)
        painter.setPen(QColor(255, 255, 255))
        label = views.VIEW_TITLES[self.mode]
        if self.eyedropper:
            label += "  \u2022  eyedropper: click or drag on the screen"
        elif self.edit_layer is not None:
            label += "  \u2022  editing the shape: drag a handle or the shape (Esc ends)"
        text_rect = QRect(int(x) + 8, int(y) + 6, int(w) - 16, 22)
        painter.fillRect(painter.boundingRect(text_rect, Qt.AlignLeft, label).adjusted(-4, -2, 4, 2),
                         QColor(0, 0, 0, 150))
        painter.drawText(text_rect, Qt.AlignLeft, label)
        if self._drag_widget is not None:
            painter.setPen(QPen(QColor(255, 215, 0), 1, Qt.DashLine))
            painter.drawRect(QRectF(self._drag_widget[0], self._drag_widget[1]).normalized())
        self._paint_shapes(painter)

    def _paint_shapes(self, painter: QPainter) -> None:
        """The shape being edited with its handles, and the shape being drawn."""
        rect = self.image_rect()
        painter.setRenderHint(QPainter.Antialiasing)
        if self.edit_layer is not None:
            painter.setPen(QPen(SHAPE_COLOR, 2))
            painter.setBrush(QColor(255, 215, 0, 40))
            painter.drawPath(shape_path(self.edit_layer.shape, self.edit_layer.points, rect))
            painter.setBrush(SHAPE_COLOR)
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            for point in shape_handles(self.edit_layer):
                cx, cy = views.normalised_to_widget(point, rect)
                painter.drawRect(QRectF(cx - HANDLE_PX, cy - HANDLE_PX, 2 * HANDLE_PX, 2 * HANDLE_PX))
        painter.setBrush(Qt.NoBrush)
        painter.setPen(QPen(SHAPE_COLOR, 2, Qt.DashLine))
        if self._box is not None:
            painter.drawPath(shape_path(self.draw_shape, views.box_points(self.draw_shape, *self._box), rect))
        if self._clicks:
            points = [QPointF(*views.normalised_to_widget(p, rect)) for p in self._clicks]
            if self._hover is not None:
                points.append(QPointF(*views.normalised_to_widget(self._hover, rect)))
            painter.drawPolyline(QPolygonF(points))
            painter.setBrush(SHAPE_COLOR)
            for point in points[:len(self._clicks)]:
                painter.drawEllipse(point, 3, 3)
        if self.draw_shape is not None:
            tip = ("click to add points; double-click or Enter closes the polygon; Esc cancels"
                   if self.draw_shape == "poly" else f"drag a box for the {self.draw_shape}; Esc cancels")
            x, y, w, h = rect
            text_rect = QRect(int(x) + 8, int(y + h) - 28, int(w) - 16, 22)
            painter.setPen(QColor(255, 255, 255))
            painter.fillRect(painter.boundingRect(text_rect, Qt.AlignLeft, tip).adjusted(-4, -2, 4, 2),
                             QColor(0, 0, 0, 150))
            painter.drawText(text_rect, Qt.AlignLeft, tip)

    # --- mouse: eyedropper, mask shapes and split divider ----------------------------
    def _shape_press(self, pos: QPointF) -> bool:
        """Drawing and editing take a press first; True when one did."""
        at = self.normalised(pos)
        if at is None:
            return False
        if self.draw_shape == "poly":
            self._clicks.append(at)
            self.update()
            return True
        if self.draw_shape is not None:
            self._box = (at, at)
            return True
        if self.edit_layer is not None:
            _, _, w, h = self.image_rect()
            handle = hit_handle(self.edit_layer, at[0], at[1], HIT_PX / max(min(w, h), 1.0))
            if handle is None and shape_path(self.edit_layer.shape, self.edit_layer.points,
                                             self.image_rect()).contains(pos):
                handle = -1
            if handle is not None:
                self._grab, self._grab_at = handle, at
                return True
        return False

    def _shape_move(self, pos: QPointF) -> bool:
        at = self.normalised(pos)
        if at is None:
            return False
        if self._box is not None:
            self._box = (self._box[0], at)
        elif self._clicks:
            self._hover = at
        elif self._grab is not None and self.edit_layer is not None:
            if self._grab < 0:
                layer = move_shape(self.edit_layer, at[0] - self._grab_at[0], at[1] - self._grab_at[1])
            else:
                layer = move_handle(self.edit_layer, self._grab, *at)
            self._grab_at = at
            if layer != self.edit_layer:
                self.edit_layer = layer
                self.shape_edited.emit(layer)
        else:
            return False
        self.update()
        return True

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.draw_shape == "poly" and event.button() == Qt.LeftButton:
            at = self.normalised(event.localPos())
            _, _, w, h = self.image_rect()
            last = self._clicks[-1] if self._clicks else None
            if at is not None and (last is None or math.hypot((at[0] - last[0]) * w, (at[1] - last[1]) * h)
                                   > CLOSE_PX):
                self._clicks.append(at)  # a double click that was not preceded by its own press
            self.finish_polygon()
        else:
            self.mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.draw_shape == "poly":
            self.finish_polygon()
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.LeftButton:
            return
        if not self.eyedropper and self._shape_press(event.localPos()):
            return
        point = self.image_point(event.localPos())
        if point is None:
            return
        if self.eyedropper:
            self._drag_from = point
            self._drag_widget = (event.localPos(), event.localPos())
        elif self.mode == "split":
            self._dragging_divider = True
            self._move_divider(point)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._shape_move(event.localPos()):
            return
        if self._drag_widget is not None:
            self._drag_widget = (self._drag_widget[0], event.localPos())
            self.update()
        elif self._dragging_divider:
            point = self.image_point(event.localPos())
            if point is not None:
                self._move_divider(point)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging_divider = False
        if self._grab is not None:
            self._shape_move(event.localPos())  # the drag ends where the button is let go
            self._grab = None
            return
        if self._box is not None:
            self._shape_move(event.localPos())
            shape, box = self.draw_shape, self._box
            _, _, w, h = self.image_rect()
            if abs(box[1][0] - box[0][0]) * w < 3 or abs(box[1][1] - box[0][1]) * h < 3:
                self._box = None
                self.hint.emit(f"drag a box to draw the {shape}")
                self.update()
                return
            self.set_draw(None)
            self.shape_drawn.emit(shape, views.box_points(shape, *box))
            return
        if self._drag_from is None or self.output is None:
            return
        start, self._drag_from, self._drag_widget = self._drag_from, None, None
        end = self.image_point(event.localPos()) or self._clamped_point(event.localPos())
        box = views.patch_box(start, end, self.image_size)
        self.update()
        self.picked.emit(views.patch_color(self.output.raw, box))

    def _clamped_point(self, pos: QPointF) -> tuple[int, int]:
        """For a drag that ends outside the picture: the nearest pixel on its edge."""
        x, y, w, h = self.image_rect()
        iw, ih = self.image_size
        px = min(max(pos.x(), x), x + w - 1e-3)
        py = min(max(pos.y(), y), y + h - 1e-3)
        return views.widget_to_image((px, py), (x, y, w, h), (iw, ih)) or (0, 0)

    def _move_divider(self, point: tuple[int, int]) -> None:
        self.set_divider((point[0] + 0.5) / self.image_size[0])
        self.divider_moved.emit(self.divider)
