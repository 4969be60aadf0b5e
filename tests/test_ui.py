"""The control window on a real pipeline fed by the `demo` source (Qt offscreen)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import make_pipeline
from PyQt5.QtCore import QPoint, Qt, QTimer

from livekey.config.settings import Settings
from livekey.ui import run_window, views
from livekey.ui.panel import SLIDER_STEPS
from livekey.ui.window import format_recording, format_stats


def wait_frames(qtbot, win, n=3):
    start = win.preview.frames_shown
    qtbot.waitUntil(lambda: win.preview.frames_shown >= start + n, timeout=10000)


def image_center(win, ix, iy) -> QPoint:
    """The widget point over image pixel (ix, iy)."""
    x, y, w, h = win.preview.image_rect()
    iw, ih = win.preview.image_size
    return QPoint(int(x + (ix + 0.5) * w / iw), int(y + (iy + 0.5) * h / ih))


def test_a_blocked_gui_drops_display_frames_not_pipeline_frames(window, qtbot):
    newest = []
    window.pipeline.subscribe(lambda output: newest.append(output.index))
    out_before, shown_before, display_drops = (window.pipeline.frames_out, window.preview.frames_shown,
                                               window.bridge.dropped)
    time.sleep(1.0)  # the GUI thread is stuck (a slow paint): no display frame is taken meanwhile
    assert window.pipeline.frames_out - out_before >= 10  # the pipeline kept going at its own pace
    assert window.preview.frames_shown == shown_before
    assert window.bridge.dropped - display_drops >= 8  # the frames nobody could show were let go
    latest = newest[-1]
    wait_frames(qtbot, window, 1)
    assert window.preview.output.index >= latest  # the next paint shows the newest frame, not a backlog


def test_slider_moves_the_setting_the_kernel_uses(window, qtbot):
    hue = window.panel.controls["hue_width"]
    hue.slider.setValue(SLIDER_STEPS // 5)  # 5 + 175 / 5 = 40 deg
    assert window.pipeline.settings.hue_width == pytest.approx(40.0)
    qtbot.waitUntil(lambda: window.pipeline.keyer.settings.hue_width == pytest.approx(40.0), timeout=5000)
    assert window.isWindowModified()
    qtbot.mouseClick(window.panel.resets["hue_width"], Qt.LeftButton)
    assert window.pipeline.settings.hue_width == 30.0
    assert not window.isWindowModified()


def test_invalid_combination_is_refused_with_a_message(window):
    window.change_setting("screen_low", 0.9)  # above screen_high 0.85
    assert "screen_low" in window.last_error
    assert window.pipeline.settings.screen_low == 0.05
    assert window.panel.controls["screen_low"].spin.value() == pytest.approx(0.05)


@pytest.mark.parametrize("drag", [False, True])
def test_eyedropper_takes_the_key_colour_from_the_raw_frame(window, qtbot, drag):
    seen = []
    window.preview.picked.connect(lambda color: seen.append((color, window.preview.output)))
    qtbot.keyClick(window, Qt.Key_E)  # the shortcut
    assert window.preview.eyedropper and window.panel.color_control.eyedropper.isChecked()
    a, b = (12, 14), (40, 30)  # top-left corner of the demo: lit green screen
    if drag:
        qtbot.mousePress(window.preview, Qt.LeftButton, pos=image_center(window, *a))
        qtbot.mouseMove(window.preview, image_center(window, *b))
        qtbot.mouseRelease(window.preview, Qt.LeftButton, pos=image_center(window, *b))
        box = (a[0], a[1], b[0] + 1, b[1] + 1)
    else:
        qtbot.mouseClick(window.preview, Qt.LeftButton, pos=image_center(window, *a))
        box = views.patch_box(a, None, window.preview.image_size)
    (color, output), = seen
    patch = output.raw[box[1]:box[3], box[0]:box[2]].reshape(-1, 3).mean(axis=0)
    b_, g_, r_ = (int(round(c)) for c in patch)
    assert color == f"#{r_:02x}{g_:02x}{b_:02x}"
    assert window.pipeline.settings.key_color == color
    assert g_ > r_ + 40 and g_ > b_ + 40  # green: the raw screen, not the blue backdrop of the composite
    assert not window.preview.eyedropper  # one pick, then back to normal
    qtbot.waitUntil(lambda: window.pipeline.keyer.key_bgr == (b_, g_, r_), timeout=5000)


def test_preview_maps_clicks_through_device_pixel_ratio(window, monkeypatch):
    window.preview.resize(1000, 800)
    window.preview.set_actual_pixels(True)
    monkeypatch.setattr(window.preview, "devicePixelRatioF", lambda: 2.0)
    assert window.preview.image_rect() == (420.0, 355.0, 160.0, 90.0)  # 320x180 image, half size
    assert window.preview.image_point(_pointf(500.0, 400.0)) == (160, 90)
    monkeypatch.setattr(window.preview, "devicePixelRatioF", lambda: 1.0)
    assert window.preview.image_point(_pointf(500.0, 400.0)) == (160, 90)
    assert window.preview.image_rect() == (340.0, 310.0, 320.0, 180.0)


def _pointf(x, y):
    from PyQt5.QtCore import QPointF
    return QPointF(x, y)


def grabbed_and_expected(window, mode):
    """Grab the preview in ``mode`` at 1:1 and return (displayed BGR pixels, Output shown)."""
    window.set_view(mode)
    window.preview.resize(400, 260)
    window.preview.set_actual_pixels(True)
    image = window.preview.grab().toImage()
    output = window.preview.output  # no events ran since the grab: this is the frame it shows
    x, y, w, h = (int(v) for v in window.preview.image_rect())
    assert (w, h) == (320, 180)
    ptr = image.convertToFormat(image.Format_RGB888)
    arr = np.frombuffer(ptr.constBits().asstring(ptr.sizeInBytes()), np.uint8).reshape(
        ptr.height(), ptr.bytesPerLine())[:, : ptr.width() * 3].reshape(ptr.height(), ptr.width(), 3)
    shown = arr[y:y + h, x:x + w, ::-1]  # RGB -> BGR
    return shown, output


BELOW_LABEL = slice(40, None)  # rows under the view-name label drawn over the top-left corner


@pytest.mark.parametrize("mode", views.VIEW_MODES)
def test_each_view_mode_shows_what_it_claims(window, mode):
    window.preview.set_divider(0.5)
    shown, out = grabbed_and_expected(window, mode)
    shown = shown[BELOW_LABEL]
    raw, alpha, comp = out.raw[BELOW_LABEL], out.alpha[BELOW_LABEL], out.composite[BELOW_LABEL]
    if mode == "composite":
        np.testing.assert_array_equal(shown, comp)
        assert (comp[alpha == 0] == (96, 64, 32)).all()  # the backdrop #204060 where the screen was
    elif mode == "raw":
        np.testing.assert_array_equal(shown, raw)
    elif mode == "matte":
        np.testing.assert_array_equal(shown, np.repeat(alpha[..., None], 3, axis=2))
    elif mode == "status":
        for mask, bgr in ((alpha <= 2, views.STATUS_SCREEN_BGR), (alpha >= 253, views.STATUS_SOLID_BGR),
                          ((alpha > 2) & (alpha < 253), views.STATUS_BETWEEN_BGR)):
            assert mask.any()  # the demo has screen, subject and edges: all three colours appear
            assert (shown[mask] == bgr).all()
    else:
        np.testing.assert_array_equal(shown[:, :158], raw[:, :158])
        np.testing.assert_array_equal(shown[:, 162:], comp[:, 162:])
        assert (shown[:, 159:161] == views.DIVIDER_BGR).all()


def test_view_shortcuts_and_split_divider_drag(window, qtbot):
    for key, mode in zip((Qt.Key_1, Qt.Key_2, Qt.Key_3, Qt.Key_4, Qt.Key_5), views.VIEW_MODES, strict=True):
        qtbot.keyClick(window, key)
        assert window.preview.mode == mode and window.view_actions[mode].isChecked()
    qtbot.keyClick(window, Qt.Key_V)
    assert window.preview.mode == "composite"
    window.set_view("split")
    point = image_center(window, 80, 90)
    qtbot.mousePress(window.preview, Qt.LeftButton, pos=point)
    qtbot.mouseRelease(window.preview, Qt.LeftButton, pos=point)
    assert window.preview.divider == pytest.approx(80.5 / 320)


def test_profiles_round_trip_and_title(window, tmp_path):
    assert "untitled profile" in window.windowTitle() and not window.isWindowModified()
    window.change_setting("hue_width", 44.0)
    window.change_setting("spill_method", "limit")
    window.change_setting("key_color", "#22bb44")
    assert window.isWindowModified()
    path = tmp_path / "calibration" / "studio.toml"
    assert window.save_profile(path)
    assert "studio.toml" in window.windowTitle() and not window.isWindowModified()
    assert Settings.load(path) == window.settings
    window.reset_all()
    assert window.pipeline.settings == Settings() and window.isWindowModified()
    assert window.open_profile(path)
    assert window.pipeline.settings.hue_width == 44.0 and window.pipeline.settings.key_color == "#22bb44"
    assert window.panel.controls["spill_method"].widget.currentText() == "limit"
    assert not window.isWindowModified()


def test_opening_a_bad_profile_says_why_and_keeps_settings(window, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[key]\nhue_width = 999\n")
    before = window.settings
    assert not window.open_profile(bad)
    assert "hue_width" in window.last_error and str(bad) in window.last_error
    assert window.error_box.isVisible()
    assert window.pipeline.settings == before


def test_switching_source_and_backdrop(window, qtbot):
    assert window.switch_source("demo:160x90@30")
    qtbot.waitUntil(lambda: window.preview.output.raw.shape == (90, 160, 3), timeout=10000)
    assert "160x90" in window.pipeline.source_info
    assert window.switch_backdrop("#ff0000")

    def red_backdrop():
        out = window.preview.output
        return (out.composite[out.alpha == 0] == (0, 0, 255)).all() and (out.alpha == 0).any()

    qtbot.waitUntil(red_backdrop, timeout=10000)
    assert not window.switch_source("/nonexistent/clip.mp4")
    assert "clip.mp4" in window.last_error
    assert not window.switch_backdrop("no-such-colour")
    assert "no-such-colour" in window.last_error


def test_recording_start_stop_shows_time_and_size(window, qtbot, tmp_path):
    qtbot.keyClick(window, Qt.Key_R, Qt.ControlModifier)
    assert window.recorder is not None and window.io.record.isChecked()
    qtbot.wait(1200)
    window.refresh_status()
    assert window.io.record_info.text().startswith("\u25cf REC 00:0")
    path = window.recording_path
    window.set_recording(False)
    assert window.recorder is None and not window.io.record.isChecked()
    assert "saved" in window.io.record_info.text()
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 10
    assert path.parent == tmp_path / "rec"


def test_virtual_camera_failure_is_shown_and_the_toggle_resets(window):
    window.set_vcam(True)  # no v4l2loopback device on this machine: pyvirtualcam's own error path
    if window.vcam is not None:  # a machine with a virtual camera: it must work and stop cleanly
        window.set_vcam(False)
        assert window.vcam is None
        return
    assert "virtual camera" in window.last_error
    assert not window.io.vcam.isChecked() and not window.vcam_action.isChecked()


def test_status_bar_shows_pipeline_stats(window, qtbot):
    wait_frames(qtbot, window, 5)
    window.refresh_status()
    text = window.stats_label.text()
    for part in ("in ", "out ", "latency p50", "dropped", "numba"):
        assert part in text
    assert "320x180" in window.io.source_info.text()


def test_format_helpers():
    text = format_stats({"fps_in": 30.0, "fps_out": 29.5, "latency_ms_p50": None, "latency_ms_p99": 12.25,
                         "dropped": 3, "numba_threads": 2}, 24.0)
    assert "in 30.0 fps" in text and "out 29.5 fps" in text and "p50 \u2013" in text and "p99 12.2" in text
    assert "dropped 3" in text and "numba 2 threads" in text and "display 24.0 fps" in text
    assert format_recording(75.4, 3_400_000) == "\u25cf REC 01:15  3.4 MB"
    assert format_recording(3725, 0) == "\u25cf REC 1:02:05  0.0 MB"


def test_help_lists_shortcuts_and_status_colours(window):
    html = window.help_html()
    for text in ("Ctrl+R", "Ctrl+S", "F1", "Eyedropper", "red = in between", "Split"):
        assert text in html
    window.show_help()
    assert window.help_dialog.isVisible()


def test_closing_the_window_stops_the_pipeline(window):
    assert not window.pipeline.wait(0)
    window.close()
    assert window.pipeline.wait(0)


def test_window_closes_when_the_pipeline_stops_by_itself(window, qtbot):
    window.pipeline.request_stop()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_run_window_starts_runs_and_stops(qapp, tmp_path):
    pipeline = make_pipeline()
    result = {}

    def close_when_running():
        from PyQt5.QtWidgets import QApplication
        wins = [w for w in QApplication.topLevelWidgets() if w.isVisible() and hasattr(w, "preview")]
        if wins and wins[0].preview.output is not None:
            result["frames"] = wins[0].preview.frames_shown
            wins[0].close()
        else:
            QTimer.singleShot(100, close_when_running)

    QTimer.singleShot(100, close_when_running)
    assert run_window(pipeline, tmp_path / "p.toml") == 0
    assert result["frames"] >= 1
    assert pipeline.wait(0)
    assert not Path(tmp_path / "p.toml").exists()  # nothing saved without asking


def test_auto_key_colour_shows_the_detected_colour(window, qtbot):
    qtbot.waitUntil(lambda: window.pipeline.keyer.key_bgr is not None, timeout=5000)
    window.refresh_status()
    b, g, r = window.pipeline.keyer.key_bgr
    assert window.panel.color_control.swatch.text() == f"auto: #{r:02x}{g:02x}{b:02x}"
    window.change_setting("key_color", "#123456")
    window.refresh_status()
    assert window.panel.color_control.swatch.text() == "#123456"


HIGH_DPI_SCRIPT = """
from PyQt5.QtCore import QPoint, Qt, QTimer
from PyQt5.QtTest import QTest
from livekey.media.backdrops import open_backdrop
from livekey.runtime.pipeline import Pipeline
from livekey.config.settings import Settings
from livekey.media.sources import open_source
from livekey.ui import application, views
from livekey.ui.window import open_window

app = application()
pipeline = Pipeline(open_source("demo:320x180@30"), Settings(), open_backdrop("#204060"))
win = open_window(pipeline)
pipeline.start()

def pick():
    pv = win.preview
    if pv.output is None:
        return QTimer.singleShot(50, pick)
    pv.resize(800, 600)
    pv.set_actual_pixels(True)
    x, y, w, h = pv.image_rect()
    got = []
    pv.picked.connect(got.append)
    win.set_eyedropper(True)
    QTest.mouseClick(pv, Qt.LeftButton, Qt.NoModifier, QPoint(int(x + 20.5 * w / 320), int(y + 20.5 * h / 180)))
    want = views.patch_color(pv.output.raw, views.patch_box((20, 20), None, (320, 180)))
    print(pv.devicePixelRatioF(), w, h, got[0], want)
    win.close()

QTimer.singleShot(50, pick)
app.exec_()
"""


def test_eyedropper_on_a_real_2x_screen(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2",
           "PYTHONPATH": str(Path(__file__).parents[1])}
    run = subprocess.run([sys.executable, "-c", HIGH_DPI_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    ratio, w, h, got, want = run.stdout.split()
    assert float(ratio) == 2.0
    assert (float(w), float(h)) == (160.0, 90.0)  # 1:1 physical pixels = half the logical size
    assert got == want
