"""The control window's pure parts: view images, preview geometry, eyedropper patch, settings panel."""

from types import SimpleNamespace

import numpy as np
import pytest
from PyQt5.QtCore import Qt

from livekey.config.settings import BY_NAME, GROUPS, SETTINGS, Setting, Settings
from livekey.ui import panel as panel_module
from livekey.ui import views
from livekey.ui.panel import SLIDER_STEPS, SettingsPanel
from livekey.ui.preview import FrameBridge, to_qimage


def frames(h=40, w=60):
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    comp = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = np.zeros((h, w), np.uint8)
    alpha[:, 20:40] = 128   # in between
    alpha[:, 40:] = 255     # solid
    alpha[0, 0], alpha[0, 41], alpha[0, 21] = 2, 253, 3  # on the thresholds
    return SimpleNamespace(raw=raw, alpha=alpha, composite=comp)


def test_status_view_three_flat_colours_at_the_thresholds():
    out = frames()
    img = views.render_view("status", out)
    assert img.shape == (40, 60, 3)
    assert tuple(img[5, 5]) == views.STATUS_SCREEN_BGR
    assert tuple(img[5, 30]) == views.STATUS_BETWEEN_BGR
    assert tuple(img[5, 50]) == views.STATUS_SOLID_BGR
    assert tuple(img[0, 0]) == views.STATUS_SCREEN_BGR     # alpha 2: still screen
    assert tuple(img[0, 41]) == views.STATUS_SOLID_BGR     # alpha 253: solid
    assert tuple(img[0, 21]) == views.STATUS_BETWEEN_BGR   # alpha 3: unsure
    assert len({views.STATUS_SCREEN_BGR, views.STATUS_BETWEEN_BGR, views.STATUS_SOLID_BGR}) == 3


def test_raw_composite_and_matte_views_are_the_output_arrays():
    out = frames()
    assert views.render_view("raw", out) is out.raw
    assert views.render_view("composite", out) is out.composite
    assert views.render_view("matte", out) is out.alpha
    with pytest.raises(ValueError, match="unknown view mode"):
        views.render_view("xray", out)


def test_split_view_raw_left_composite_right_with_divider():
    out = frames()
    raw_before, comp_before = out.raw.copy(), out.composite.copy()
    img = views.render_view("split", out, divider=0.25)  # x = 15
    np.testing.assert_array_equal(img[:, :14], out.raw[:, :14])
    np.testing.assert_array_equal(img[:, 16:], out.composite[:, 16:])
    assert (img[:, 14:16] == views.DIVIDER_BGR).all()
    np.testing.assert_array_equal(out.raw, raw_before)  # the Output's arrays are left alone
    np.testing.assert_array_equal(out.composite, comp_before)


def test_transparent_composite_is_shown_over_a_checkerboard():
    out = frames()
    bgra = np.zeros((40, 60, 4), np.uint8)
    bgra[..., :3] = (0, 0, 255)
    bgra[:, 30:, 3] = 255
    out.composite = bgra
    img = views.render_view("composite", out)
    assert img.shape == (40, 60, 3)
    assert tuple(img[0, 45]) == (0, 0, 255)                      # opaque: the colour
    assert tuple(img[0, 0]) in ((153, 153, 153), (204, 204, 204))  # transparent: the board
    assert img[0, 0, 0] != img[0, views.CHECKER_CELL, 0]


def test_display_rect_fits_and_keeps_aspect():
    assert views.display_rect((640, 360), (1000, 800)) == (0.0, 118.75, 1000.0, 562.5)
    assert views.display_rect((640, 360), (0, 800)) == (0.0, 0.0, 0.0, 0.0)


def test_high_dpi_actual_pixels_and_point_mapping():
    # On a 2x screen one image pixel per physical pixel spans half a logical pixel.
    rect = views.display_rect((640, 360), (1000, 800), device_pixel_ratio=2.0, actual_pixels=True)
    assert rect == (340.0, 310.0, 320.0, 180.0)
    assert views.widget_to_image((340.0, 310.0), rect, (640, 360)) == (0, 0)
    assert views.widget_to_image((500.0, 400.0), rect, (640, 360)) == (320, 180)
    assert views.widget_to_image((659.9, 489.9), rect, (640, 360)) == (639, 359)
    assert views.widget_to_image((339.0, 400.0), rect, (640, 360)) is None
    # At 1x the same setting shows the picture at its own size.
    assert views.display_rect((640, 360), (1000, 800), 1.0, True) == (180.0, 220.0, 640.0, 360.0)


def test_patch_box_click_and_drag_clipped():
    assert views.patch_box((10, 10), None, (60, 40)) == (6, 6, 15, 15)
    assert views.patch_box((1, 1), (1, 2), (60, 40)) == (0, 0, 6, 6)     # a tiny drag is a click
    assert views.patch_box((30, 20), (10, 5), (60, 40)) == (10, 5, 31, 21)
    assert views.patch_box((58, 38), None, (60, 40)) == (54, 34, 60, 40)


def test_patch_color_is_the_mean_in_rgb_hex():
    raw = np.zeros((10, 10, 3), np.uint8)
    raw[:, :5] = (10, 200, 30)    # BGR
    raw[:, 5:] = (20, 100, 50)
    assert views.patch_color(raw, (0, 0, 5, 10)) == "#1ec80a"
    assert views.patch_color(raw, (0, 0, 10, 10)) == "#28960f"  # (15, 150, 40) BGR
    with pytest.raises(ValueError):
        views.patch_color(raw, (3, 3, 3, 3))


def test_to_qimage_shares_memory(qapp):
    for arr, fmt_pixel in ((np.zeros((4, 6, 3), np.uint8), (1, 2, 3)), (np.zeros((4, 6), np.uint8), 7),
                           (np.zeros((4, 6, 4), np.uint8), (1, 2, 3, 255))):
        img = to_qimage(arr)
        arr[2, 3] = fmt_pixel  # written after wrapping: a copy would not see it
        color = img.pixelColor(3, 2)
        if arr.ndim == 2:
            assert color.red() == color.green() == color.blue() == 7
        else:
            assert (color.blue(), color.green(), color.red()) == (1, 2, 3)


def test_frame_bridge_keeps_only_the_latest_and_emits_once(qtbot):
    bridge = FrameBridge()
    emitted = []
    bridge.arrived.connect(lambda: emitted.append(1))
    for i in range(3):
        bridge.push(i)
    assert emitted == [1]
    assert bridge.dropped == 2 and bridge.received == 3
    assert bridge.take() == 2 and bridge.take() is None
    bridge.push(3)
    assert emitted == [1, 1]
    bridge.closed = True
    bridge.push(4)
    assert bridge.take() == 3


def test_panel_has_a_control_with_help_and_range_for_every_setting(qtbot):
    panel = SettingsPanel(Settings())
    qtbot.addWidget(panel)
    assert set(panel.controls) == {s.name for s in SETTINGS}
    assert set(panel.groups) == set(GROUPS)
    hue = panel.controls["hue_width"]
    assert hue.spin.suffix() == " deg"
    assert (hue.spin.minimum(), hue.spin.maximum()) == (5.0, 180.0)
    assert BY_NAME["hue_width"].help in hue.toolTip()
    assert panel.controls["spill_method"].widget.count() == 4


def test_panel_slider_spin_and_reset_emit_edits(qtbot):
    panel = SettingsPanel(Settings())
    qtbot.addWidget(panel)
    edits = []
    panel.edited.connect(lambda name, value: edits.append((name, value)))
    hue = panel.controls["hue_width"]
    hue.slider.setValue(SLIDER_STEPS // 2)
    assert edits[-1] == ("hue_width", pytest.approx(92.5))
    assert hue.spin.value() == pytest.approx(92.5)
    hue.spin.setValue(40.0)
    assert edits[-1] == ("hue_width", 40.0) and hue.slider.value() == round(35 / 175 * SLIDER_STEPS)
    panel.controls["unmix"].widget.setChecked(False)
    assert edits[-1] == ("unmix", False)
    panel.controls["spill_method"].widget.setCurrentText("limit")
    assert edits[-1] == ("spill_method", "limit")
    panel.show_settings(Settings(hue_width=40.0))
    assert panel.resets["hue_width"].isEnabled() and not panel.resets["hue_softness"].isEnabled()
    assert panel.labels["hue_width"].font().bold()
    n = len(edits)
    panel.show_settings(Settings(hue_width=50.0))  # showing values is not an edit
    assert len(edits) == n
    qtbot.mouseClick(panel.resets["hue_width"], Qt.LeftButton)
    assert edits[-1] == ("hue_width", 30.0)


def test_panel_shows_a_new_group_without_ui_changes(qtbot, monkeypatch):
    extra = Setting("erode", "int", 0, "Shrink the matte.", "matte", "px", 0, 20)
    monkeypatch.setattr(panel_module, "GROUPS", GROUPS + ("matte",))
    monkeypatch.setattr(panel_module, "SETTINGS", SETTINGS + (extra,))
    panel = SettingsPanel({**Settings(), "erode": 3})
    qtbot.addWidget(panel)
    assert panel.groups["matte"].title() == "Matte"
    assert panel.controls["erode"].widget.value() == 3
    assert panel.controls["erode"].widget.suffix() == " px"


def test_panel_path_control_edits_and_shows_the_plate(qtbot):
    panel = SettingsPanel(Settings())
    qtbot.addWidget(panel)
    control = panel.controls["plate"]
    seen = []
    panel.edited.connect(lambda name, value: seen.append((name, value)))
    control.edit.setText("calibration/studio-plate.png")
    control.edit.editingFinished.emit()
    assert seen == [("plate", "calibration/studio-plate.png")]
    panel.show_settings(Settings(plate="x.png"))
    assert control.edit.text() == "x.png" and len(seen) == 1  # showing does not fire an edit


def test_has_screen_follows_the_display_variables(monkeypatch):
    import os

    from livekey.ui import has_screen

    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    headless = os.name == "posix" and os.uname().sysname != "Darwin"
    assert has_screen() is not headless
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert has_screen()
