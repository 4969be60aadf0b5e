"""Hotkeys that work wherever the focus is, freeze frame, and a window that shows changes made
from outside it (the control API changes the same pipeline)."""

import numpy as np
import pytest
from PyQt5.QtCore import Qt

from livekey.config.settings import Settings
from livekey.masks import MaskLayer
from livekey.media.backdrops import open_backdrop
from livekey.media.sinks import Recorder
from livekey.ui import window as window_module
from livekey.ui.switching import profile_paths, step

HOTKEYS = ("1", "5", "Ctrl+R", "Ctrl+B", "Ctrl+Shift+B", "Ctrl+P", "Ctrl+Shift+P", "Ctrl+F", "F1")


def test_help_lists_every_hotkey(window):
    html = window.help_html()
    for key in HOTKEYS:
        assert f"<b>{key}</b>" in html, key
    for act in window.shortcut_actions:
        assert act.shortcutContext() == Qt.ApplicationShortcut


def test_backdrop_hotkeys_cycle_the_strip_even_with_a_spin_box_focused(window, qtbot):
    spin = window.panel.controls["hue_width"].spin
    spin.setFocus()
    choices = window.outputs.choices
    start = window.outputs.backdrop.currentText()
    qtbot.keyClick(spin, Qt.Key_B, Qt.ControlModifier)
    after = step(choices, start, 1)
    assert window.outputs.backdrop.currentText() == after
    qtbot.waitUntil(lambda: window.pipeline.backdrop.spec == after, timeout=5000)
    qtbot.keyClick(spin, Qt.Key_B, Qt.ControlModifier | Qt.ShiftModifier)
    assert window.outputs.backdrop.currentText() == step(choices, after, -1)
    assert window.pipeline.settings == Settings()  # the spin box did not take the keys


def test_profile_hotkeys_step_through_calibration_and_the_users_folder(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    user = tmp_path / "user"
    monkeypatch.setattr(window_module, "user_profile_dir", lambda: user)
    for folder, name, hue in (("calibration", "a", 40.0), ("calibration", "b", 50.0), ("user", "c", 60.0)):
        Settings(hue_width=hue).save(tmp_path / folder / f"{name}.toml")
    assert [p.name for p in profile_paths(window.profile_folders())] == ["a.toml", "b.toml", "c.toml"]
    seen = []
    for modifiers in (Qt.ControlModifier,) * 3 + (Qt.ControlModifier | Qt.ShiftModifier,):
        qtbot.keyClick(window, Qt.Key_P, modifiers)
        seen.append(window.pipeline.settings.hue_width)
    assert seen == [40.0, 50.0, 60.0, 50.0]
    assert window.panel.controls["hue_width"].spin.value() == 50.0
    assert window.profile_path.name == "b.toml"


def test_profile_hotkey_with_no_profiles_says_where_to_save_one(window, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(window_module, "user_profile_dir", lambda: tmp_path / "none")
    assert not window.step_profile(1)
    assert "no profiles" in window.last_error and "calibration" in window.last_error


def test_freeze_frame_keys_the_held_frame_and_settings_still_apply(window, qtbot):
    qtbot.keyClick(window, Qt.Key_F, Qt.ControlModifier)
    assert window.pipeline.frozen and window.freeze_action.isChecked()
    first = window.preview.frames_shown
    qtbot.waitUntil(lambda: window.preview.frames_shown >= first + 3, timeout=5000)
    held = window.preview.output
    qtbot.waitUntil(lambda: window.preview.output.index > held.index + 2, timeout=5000)
    np.testing.assert_array_equal(window.preview.output.raw, held.raw)  # the same picture, keyed again
    window.change_setting("hue_width", 90.0)
    qtbot.waitUntil(lambda: window.preview.output.settings.hue_width == 90.0, timeout=5000)
    qtbot.keyClick(window, Qt.Key_F, Qt.ControlModifier)
    assert not window.pipeline.frozen

    def moving():  # the demo scene moves: live frames differ again
        return not np.array_equal(window.preview.output.raw, held.raw)

    qtbot.waitUntil(moving, timeout=5000)


def test_the_window_shows_changes_made_on_the_pipeline_from_outside(window, qtbot, tmp_path):
    pipeline = window.pipeline
    pipeline.update_settings(pipeline.settings.replace(hue_width=55.0, spill_method="limit"))
    pipeline.set_backdrop(open_backdrop("#ff0000"))
    stack = window.masks.add(MaskLayer("shape", shape="rect", points=(0.1, 0.1, 0.9, 0.9)))
    pipeline.update_masks(stack)
    w, h = window.preview.image_size
    recorder = Recorder(tmp_path / "api.mp4", w, h, 30.0)
    pipeline.add_sink(recorder)
    pipeline.set_frozen(True)
    qtbot.waitUntil(lambda: window.outputs.backdrop.currentText() == "#ff0000", timeout=5000)
    qtbot.waitUntil(lambda: len(window.mask_panel.stack) == len(stack), timeout=5000)
    assert window.panel.controls["hue_width"].spin.value() == 55.0
    assert window.panel.controls["spill_method"].widget.currentText() == "limit"
    assert window.recorder is recorder and window.outputs.record.isChecked()
    assert window.outputs.record_info.text().startswith("\u25cf REC")
    assert window.freeze_action.isChecked()
    pipeline.remove_sink(recorder)
    qtbot.waitUntil(lambda: window.recorder is None, timeout=5000)
    assert window.outputs.record_info.text().startswith("saved api.mp4")
    assert not window.outputs.record.isChecked()


@pytest.mark.parametrize("current, by, expected", [("b", 1, "c"), ("c", 1, "a"), ("a", -1, "c"),
                                                   ("zz", 1, "a"), ("zz", -1, "c")])
def test_step_wraps_around(current, by, expected):
    assert step(["a", "b", "c"], current, by) == expected
    assert step([], current, by) is None


def test_masks_pushed_before_the_first_frame_are_not_undone(qtbot):
    """The keyer takes a new stack at its next frame; until then the window must keep its own."""
    from conftest import make_pipeline

    from livekey.ui.window import open_window

    pipeline = make_pipeline()  # not started: no frame will take the new stack
    win = open_window(pipeline)
    qtbot.addWidget(win)
    stack = win.masks.add(MaskLayer("shape", shape="rect", points=(0.1, 0.1, 0.9, 0.9)))
    win.apply_masks(stack, 1)
    win.sync_from_state()
    assert win.masks is stack and len(win.mask_panel.stack) == 2
    win.close()
