"""The window on small screens: opens within 90% of the screen, usable at 1280x720, picture in proportion."""

import pytest
from PyQt5.QtCore import QRect
from PyQt5.QtWidgets import QWidget

from livekey.ui.window import DEFAULT_SIZE, SCREEN_SHARE


class FakeScreen:
    """A screen of another size (the offscreen platform has one 800x600 screen)."""

    def __init__(self, width, height):
        self.area = QRect(0, 0, width, height - 40)  # less a task bar

    def availableGeometry(self):  # noqa: N802
        return self.area


@pytest.mark.parametrize("size", [(1280, 720), (1366, 768), (1920, 1080)])
def test_the_window_opens_within_90_percent_of_the_screen(window, monkeypatch, size):
    screen = FakeScreen(*size)
    monkeypatch.setattr(window, "screen", lambda: screen)
    window.fit_to_screen()
    area = screen.area
    assert window.width() <= area.width() * SCREEN_SHARE and window.height() <= area.height() * SCREEN_SHARE
    assert window.width() >= min(DEFAULT_SIZE[0], int(area.width() * SCREEN_SHARE))  # not needlessly small
    assert area.contains(window.geometry())


@pytest.mark.parametrize("detail", ["basic", "all"])
def test_usable_at_1280x720(window, qtbot, detail):
    window.panel.set_detail(detail)
    window.set_recording(True)  # the strip at its widest: REC shown
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 720 - 60  # room for a title bar and a panel
    window.resize(1280, 660)
    qtbot.wait(50)
    assert window.size().width() == 1280 and window.size().height() == 660
    for widget in (window.outputs.backdrop, window.outputs.record, window.outputs.folder_browse,
                   window.outputs.vcam, window.preview, window.scroll, window.statusBar()):
        box = widget.rect().translated(widget.mapTo(window, widget.rect().topLeft()))
        assert window.rect().contains(box), type(widget).__name__
    row = sorted((w for w in window.outputs.findChildren(QWidget) if w.isVisible()
                  and w.parentWidget() is window.outputs), key=lambda w: w.x())
    for left, right in zip(row, row[1:], strict=False):  # the strip's widgets side by side, none drawn over another
        assert left.geometry().right() < right.x(), (left, right)
    window.set_recording(False)


def test_the_preview_keeps_the_pictures_aspect_ratio(window, qtbot):
    window.resize(1280, 660)
    qtbot.wait(50)
    x, y, w, h = window.preview.image_rect()
    iw, ih = window.preview.image_size
    assert w / h == pytest.approx(iw / ih, rel=1e-3)
    assert x >= 0 and y >= 0 and x + w <= window.preview.width() + 1e-6 and y + h <= window.preview.height() + 1e-6
    assert w == pytest.approx(window.preview.width()) or h == pytest.approx(window.preview.height())
