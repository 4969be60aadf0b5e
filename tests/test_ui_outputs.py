"""The outputs strip and the settings panel's layout: outputs first, Basic/All, nothing widens the panel."""

import pytest
from PyQt5.QtCore import Qt

from livekey.config.settings import BASIC, GROUPS, SETTINGS
from livekey.masks import MaskLayer


def test_the_strip_shows_where_recordings_go_before_recording_and_it_can_change(window, qtbot, tmp_path):
    strip = window.outputs
    assert strip.folder.full_text() == str((tmp_path / "rec").resolve())  # shown before any recording
    assert strip.record_info.text() == ""  # its room kept, so the strip does not jump when recording starts
    window.set_record_dir(tmp_path / "elsewhere")
    assert strip.folder.full_text() == str((tmp_path / "elsewhere").resolve())
    window.set_recording(True)
    assert window.recorder is not None and strip.record.isChecked()
    assert window.recording_path.parent == tmp_path / "elsewhere"
    qtbot.wait(600)
    window.refresh_status()
    assert strip.record_info.text().startswith("\u25cf REC 00:0")
    assert "#c62828" in strip.record_info.styleSheet()  # red while recording
    assert strip.record.text() == "\u25a0 Stop"
    window.set_recording(False)
    assert window.recorder is None and strip.record.text() == "\u25cf Record"
    assert strip.record_info.text().startswith("saved livekey-") and strip.record_info.styleSheet() == ""
    assert str(window.recording_path) in strip.record_info.toolTip()


def test_backdrops_have_thumbnails_and_blur_only_where_the_matte_sees_a_real_background(window, tmp_path):
    strip = window.outputs
    assert "blur" not in strip.choices  # a green screen: blur would blur the green
    for i, spec in enumerate(strip.choices):
        assert not strip.backdrop.itemIcon(i).isNull(), spec
    plate = tmp_path / "plate.png"
    import cv2
    import numpy as np
    cv2.imwrite(str(plate), np.full((18, 32, 3), 90, np.uint8))
    window.apply_masks(window.masks.add(MaskLayer("diff", plate=str(plate))))
    assert "blur" in strip.choices  # a difference key sees the room: blurring it makes sense
    window.apply_masks(window.masks.remove(len(window.masks) - 1))
    assert "blur" not in strip.choices
    assert window.switch_backdrop("blur")  # typed anyway: allowed, and explained
    assert "green screen" in window.statusBar().currentMessage()
    assert window.switch_backdrop(str(plate))
    assert str(plate) in strip.choices and strip.backdrop.currentText() == str(plate)


def test_basic_view_shows_the_few_settings_all_shows_every_group(window):
    panel = window.panel
    assert panel.detail == "basic"
    visible = {s.name for s in SETTINGS if panel.controls[s.name].isVisibleTo(window)}
    assert visible == set(BASIC)
    assert panel.color_control.eyedropper.isVisibleTo(window)  # Pick sits beside the key colour
    panel.detail_buttons["all"].click()
    assert panel.detail == "all"
    assert all(panel.controls[s.name].isVisibleTo(window) for s in SETTINGS)
    assert [panel.groups[g].title() for g in GROUPS] == ["Key", "Spill", "Matte", "Composite"]
    spill = panel.groups["spill"]
    spill.header.click()  # collapse
    assert not spill.expanded and not panel.controls["spill_method"].isVisibleTo(window)
    spill.header.click()
    assert panel.controls["spill_method"].isVisibleTo(window)
    with pytest.raises(ValueError):
        panel.set_detail("expert")


def test_long_paths_never_widen_the_panel(window, qtbot, tmp_path):
    window.resize(1280, 720)
    window.panel.set_detail("all")
    qtbot.wait(50)
    side = window.scroll.widget()
    hint = window.minimumSizeHint().width()
    window.stats_timer.stop()  # it would put the short source mode back
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 12)
    window.set_record_dir(deep)
    window.io.source_info.setText("video " + str(deep / "clip.mp4"))
    window.io.calibrate_info.setText("calibrated: saved " + str(deep / "studio.toml"))
    window.set_recording(True)
    window.set_recording(False)
    qtbot.wait(50)
    assert window.minimumSizeHint().width() == hint
    assert side.width() <= window.scroll.viewport().width()
    for label in (window.outputs.folder, window.io.source_info, window.io.calibrate_info):
        assert "\u2026" in label.text() and str(deep) in label.toolTip()  # elided, the whole path in the tooltip
    reset = window.panel.resets["hue_width"]
    right = reset.mapTo(window.scroll.viewport(), reset.rect().topRight()).x()
    assert right <= window.scroll.viewport().width()  # the reset arrows stay in view


def test_the_record_toolbar_button_and_shortcut(window, qtbot):
    qtbot.keyClick(window, Qt.Key_R, Qt.ControlModifier)
    assert window.recorder is not None and window.outputs.record.isChecked()
    qtbot.keyClick(window, Qt.Key_R, Qt.ControlModifier)
    assert window.recorder is None
