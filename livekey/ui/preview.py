"""The live picture: a widget that shows one view of the latest Output, the eyedropper and
the split divider, and the bridge that carries Outputs from the pipeline thread to it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtCore import QObject, QPointF, QRect, QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PyQt5.QtWidgets import QSizePolicy, QWidget

from livekey.ui import views

if TYPE_CHECKING:
    from livekey.pipeline import Output

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


class PreviewWidget(QWidget):
    """Shows ``views.render_view(mode, output)`` scaled into the widget, aspect kept.

    Signals: ``picked(str)`` the eyedropper's ``#rrggbb`` from the raw frame;
    ``divider_moved(float)`` the split divider (0..1).
    """

    picked = pyqtSignal(str)
    divider_moved = pyqtSignal(float)

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
        label = views.VIEW_TITLES[self.mode] + ("  \u2022  eyedropper: click or drag on the screen"
                                                if self.eyedropper else "")
        text_rect = QRect(int(x) + 8, int(y) + 6, int(w) - 16, 22)
        painter.fillRect(painter.boundingRect(text_rect, Qt.AlignLeft, label).adjusted(-4, -2, 4, 2),
                         QColor(0, 0, 0, 150))
        painter.drawText(text_rect, Qt.AlignLeft, label)
        if self._drag_widget is not None:
            painter.setPen(QPen(QColor(255, 215, 0), 1, Qt.DashLine))
            painter.drawRect(QRectF(self._drag_widget[0], self._drag_widget[1]).normalized())

    # --- mouse: eyedropper and split divider ----------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        point = self.image_point(event.localPos())
        if event.button() != Qt.LeftButton or point is None:
            return
        if self.eyedropper:
            self._drag_from = point
            self._drag_widget = (event.localPos(), event.localPos())
        elif self.mode == "split":
            self._dragging_divider = True
            self._move_divider(point)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_widget is not None:
            self._drag_widget = (self._drag_widget[0], event.localPos())
            self.update()
        elif self._dragging_divider:
            point = self.image_point(event.localPos())
            if point is not None:
                self._move_divider(point)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging_divider = False
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
