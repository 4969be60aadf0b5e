"""The outputs strip along the top of the window: what goes on air, before any technical setting.

Backdrop (with thumbnails), virtual camera on/off with its device, Record with a red REC, the
elapsed time and size, and the folder recordings go to (shown before recording, changeable).
Plain widgets: the window wires them to the pipeline.
"""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import QSize, Qt
from PyQt5.QtGui import QColor, QIcon, QLinearGradient, QPainter, QPixmap
from PyQt5.QtWidgets import QCheckBox, QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy

from livekey.media.backdrops import BLUR_NOTE, COLOR_NAMES, DEFAULT_BACKDROP, parse_color
from livekey.ui.elided_label import ElidedLabel
from livekey.ui.wheel_guard import guard_wheel

THUMB = QSize(40, 24)  # px, a backdrop's thumbnail in the list
BACKDROP_CHOICES = ("default", "black", "white", "#202830", "transparent")
REC_STYLE = "QLabel { background: #c62828; color: white; font-weight: bold; padding: 1px 6px; border-radius: 3px; }"
RECORD_TEXT, STOP_TEXT = "\u25cf Record", "\u25a0 Stop"


def backdrop_icon(spec: str) -> QIcon:
    """A small picture of what ``spec`` looks like: the colour, the image, a checkerboard for
    transparent, a soft gradient for blur; an empty icon for what cannot be drawn cheaply (video)."""
    pixmap = QPixmap(THUMB)
    painter = QPainter(pixmap)
    bgr = parse_color(spec)
    path = DEFAULT_BACKDROP if spec == "default" else Path(spec)
    if bgr is not None:
        painter.fillRect(pixmap.rect(), QColor(bgr[2], bgr[1], bgr[0]))
    elif spec == "transparent":
        cell = THUMB.height() // 3
        for y in range(0, THUMB.height(), cell):
            for x in range(0, THUMB.width(), cell):
                grey = 204 if (x + y) // cell % 2 else 153
                painter.fillRect(x, y, cell, cell, QColor(grey, grey, grey))
    elif spec == "blur":
        gradient = QLinearGradient(0, 0, THUMB.width(), THUMB.height())
        gradient.setColorAt(0, QColor(110, 130, 150))
        gradient.setColorAt(1, QColor(190, 170, 140))
        painter.fillRect(pixmap.rect(), gradient)
    elif path.is_file() and not (image := QPixmap(str(path))).isNull():
        painter.drawPixmap(pixmap.rect(), image.scaled(THUMB, Qt.KeepAspectRatioByExpanding, Qt.SmoothTransformation))
    else:
        painter.end()
        return QIcon()
    painter.end()
    return QIcon(pixmap)


class OutputStrip(QFrame):
    """Backdrop, virtual camera, Record and the recording folder in one row."""

    def __init__(self, backdrop_spec: str, record_dir: Path, vcam_device: str | None) -> None:
        super().__init__()
        self.setFrameShape(QFrame.StyledPanel)
        self.backdrop = QComboBox()
        self.backdrop.setEditable(True)
        self.backdrop.setInsertPolicy(QComboBox.NoInsert)
        self.backdrop.setIconSize(THUMB)
        self.backdrop.setMinimumContentsLength(14)
        self.backdrop.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.backdrop.setToolTip("What the subject is composited over: an image or video file, a colour (#RRGGBB or "
                                 f"{', '.join(list(COLOR_NAMES)[:4])}...), transparent, default (the bundled "
                                 f"picture) or blur. {BLUR_NOTE}. Enter to switch; Ctrl+B / Ctrl+Shift+B cycle")
        self.backdrop_browse = QPushButton("File\u2026")
        self.vcam = QCheckBox("Virtual camera")
        self.vcam.setToolTip("Send the composite to a virtual camera (Ctrl+Shift+V)")
        self.vcam_info = ElidedLabel(vcam_device or "first free device", mode=Qt.ElideRight)
        self.record = QPushButton(RECORD_TEXT)
        self.record.setCheckable(True)
        self.record.setToolTip("Record the composite to a file in the folder shown (Ctrl+R)")
        self.record_info = ElidedLabel("", mode=Qt.ElideRight)
        # As wide as the longest REC text, and no wider whatever it says after.
        self.record_info.setFixedWidth(self.record_info.fontMetrics().horizontalAdvance(
            "\u25cf REC 00:00:00  9999.9 MB") + 16)
        self.record_info.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Preferred)
        self.folder = ElidedLabel("")
        self.folder_browse = QPushButton("Folder\u2026")
        self.folder_browse.setToolTip("Choose the folder recordings are written to")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.addWidget(QLabel("Backdrop"))
        layout.addWidget(self.backdrop)
        layout.addWidget(self.backdrop_browse)
        layout.addSpacing(12)
        layout.addWidget(self.vcam)
        layout.addWidget(self.vcam_info, 1)
        layout.addSpacing(12)
        layout.addWidget(self.record)
        layout.addWidget(self.record_info)
        layout.addWidget(QLabel("to"))
        layout.addWidget(self.folder, 2)
        layout.addWidget(self.folder_browse)
        guard_wheel(self.backdrop)
        self.set_choices(False, backdrop_spec)
        self.show_folder(record_dir)
        self.show_stopped(None)

    def set_choices(self, with_blur: bool, current: str | None = None) -> None:
        """List the stock backdrops (blur only when ``with_blur``) and the files chosen so far;
        keep the text shown (or show ``current``)."""
        text = self.backdrop.currentText() if current is None else current
        files = [self.backdrop.itemText(i) for i in range(self.backdrop.count())
                 if self.backdrop.itemText(i) not in BACKDROP_CHOICES + ("blur",)]
        stock = BACKDROP_CHOICES + (("blur",) if with_blur else ())
        self.backdrop.blockSignals(True)
        self.backdrop.clear()
        for spec in (*stock, *files):
            self.backdrop.addItem(backdrop_icon(spec), spec)
        self.backdrop.setCurrentText(text)
        self.backdrop.blockSignals(False)

    def remember(self, spec: str) -> None:
        """Add a backdrop the user opened to the list (once), so the hotkeys can cycle back to it."""
        if spec and self.backdrop.findText(spec) < 0:
            self.backdrop.addItem(backdrop_icon(spec), spec)
        self.show_backdrop(spec)

    def show_backdrop(self, spec: str) -> None:
        self.backdrop.blockSignals(True)
        index = self.backdrop.findText(spec)
        if index >= 0:
            self.backdrop.setCurrentIndex(index)
        else:
            self.backdrop.setCurrentText(spec)
        self.backdrop.blockSignals(False)

    @property
    def choices(self) -> list[str]:
        return [self.backdrop.itemText(i) for i in range(self.backdrop.count())]

    def show_folder(self, folder: Path) -> None:
        self.folder.setText(str(Path(folder).resolve()))

    def show_recording(self, text: str) -> None:
        """Recording: the red REC with elapsed time and size."""
        self.record_info.setText(text)
        self.record_info.setStyleSheet(REC_STYLE)
        self.record.setText(STOP_TEXT)

    def show_stopped(self, saved: Path | None, size_bytes: int = 0) -> None:
        """Not recording; ``saved`` is the file just finished (its name shown, the full path its tooltip)."""
        self.record_info.setStyleSheet("")
        self.record_info.setText("")
        if saved is not None:
            self.record_info.setText(f"saved {saved.name} ({size_bytes / 1e6:.1f} MB)")
            self.record_info.setToolTip(f"saved {saved} ({size_bytes / 1e6:.1f} MB)")
        self.record.setText(RECORD_TEXT)
