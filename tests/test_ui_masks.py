"""Mask stack editing and calibration in the control window, on a real pipeline (Qt offscreen)."""

import numpy as np
import pytest
from PyQt5.QtCore import QPoint, Qt

from livekey.config.profile import Profile
from livekey.masks import MaskLayer, MaskStack, segment, shape_handles
from livekey.media import images, synthetic
from livekey.ui import masks_panel
from livekey.ui import window as window_module

TOLERANCE = 0.01  # normalised: a click lands within a widget pixel of where it was aimed


def at(win, u: float, v: float) -> QPoint:
    """The widget point over the normalised picture point (u, v)."""
    x, y, w, h = win.preview.image_rect()
    return QPoint(round(x + u * w), round(y + v * h))


def next_output(win, qtbot):
    """An Output keyed with the window's current mask stack."""
    qtbot.waitUntil(lambda: win.pipeline.keyer.masks == win.masks, timeout=5000)
    got = []
    win.pipeline.subscribe(got.append)
    qtbot.waitUntil(lambda: len(got) >= 2, timeout=5000)  # the second was surely keyed with the new stack
    win.pipeline.unsubscribe(got.append)
    return got[-1]


def drag(qtbot, widget, start: QPoint, end: QPoint) -> None:
    qtbot.mousePress(widget, Qt.LeftButton, pos=start)
    qtbot.mouseMove(widget, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    qtbot.mouseMove(widget, end)
    qtbot.mouseRelease(widget, Qt.LeftButton, pos=end)


def shape_rows(win) -> list[MaskLayer]:
    return [layer for layer in win.masks if layer.type == "shape"]


def test_a_garbage_rectangle_drawn_on_the_preview_keys_out_everything_outside_it(window, qtbot):
    alpha = next_output(window, qtbot).alpha
    assert alpha[:, :40].max() > 0 or alpha[:, -40:].max() > 0 or alpha.max() > 0  # the person is keyed in
    window.mask_panel.add_actions["Garbage rectangle"].trigger()
    assert window.preview.draw_shape == "rect"
    drag(qtbot, window.preview, at(window, 0.3, 0.2), at(window, 0.7, 0.9))
    assert window.preview.draw_shape is None
    (layer,) = shape_rows(window)
    assert layer.shape == "rect" and layer.mode == "intersect"
    assert layer.points == pytest.approx((0.3, 0.2, 0.7, 0.9), abs=TOLERANCE)
    assert window.isWindowModified()
    assert window.mask_panel.list.item(1).text().startswith("Garbage rectangle")
    alpha = next_output(window, qtbot).alpha
    h, w = alpha.shape
    inside = alpha[int(0.22 * h):int(0.88 * h), int(0.32 * w):int(0.68 * w)]
    assert inside.max() == 255  # the person in the middle is still solid
    outside = np.ones_like(alpha, bool)
    outside[int(0.18 * h):int(0.92 * h), int(0.28 * w):int(0.72 * w)] = False
    assert alpha[outside].max() == 0


def test_remove_reorder_and_toggle_change_the_keyers_stack(window, qtbot):
    rect = MaskLayer("shape", shape="rect", points=(0.1, 0.1, 0.9, 0.9))
    core = MaskLayer("shape", shape="ellipse", mode="add", points=(0.5, 0.5, 0.1, 0.2))
    window.mask_panel.add_layer(rect)
    window.mask_panel.add_layer(core)
    assert window.mask_panel.row == 2
    qtbot.waitUntil(lambda: list(window.pipeline.keyer.masks)[1:] == [rect, core], timeout=5000)

    qtbot.mouseClick(window.mask_panel.up, Qt.LeftButton)  # the core ellipse now before the garbage rect
    assert window.mask_panel.row == 1
    qtbot.waitUntil(lambda: list(window.pipeline.keyer.masks)[1:] == [core, rect], timeout=5000)
    qtbot.mouseClick(window.mask_panel.down, Qt.LeftButton)
    qtbot.waitUntil(lambda: list(window.pipeline.keyer.masks)[1:] == [rect, core], timeout=5000)

    window.mask_panel.list.item(1).setCheckState(Qt.Unchecked)  # the check box turns the rect off
    qtbot.waitUntil(lambda: not window.pipeline.keyer.masks[1].enabled, timeout=5000)
    assert window.masks[1] == rect.replace(enabled=False)

    window.mask_panel.list.setCurrentRow(1)
    feather = window.mask_panel.controls["feather"]
    feather.slider.setValue(15)  # the generated field controls edit the layer: 15 / 1000 of 0..200 px
    qtbot.waitUntil(lambda: window.pipeline.keyer.masks[1].feather == 3.0, timeout=5000)
    feather.slider.setValue(30)  # the slider under the mouse survives the edit it made
    assert window.mask_panel.controls["feather"] is feather and window.masks[1].feather == 6.0
    window.mask_panel.controls["mode"].widget.setCurrentText("subtract")
    qtbot.waitUntil(lambda: window.pipeline.keyer.masks[1].mode == "subtract", timeout=5000)

    qtbot.mouseClick(window.mask_panel.remove, Qt.LeftButton)
    qtbot.waitUntil(lambda: list(window.pipeline.keyer.masks)[1:] == [core], timeout=5000)
    window.mask_panel.list.setCurrentRow(0)  # the colour key cannot go
    assert not window.mask_panel.remove.isEnabled()
    assert window.masks[0].type == "key"


def test_a_polygon_clicked_on_the_preview_becomes_a_layer_with_those_points(window, qtbot):
    window.mask_panel.add_actions["Garbage polygon"].trigger()
    clicks = [(0.2, 0.1), (0.8, 0.15), (0.75, 0.95)]
    for u, v in clicks:
        qtbot.mouseClick(window.preview, Qt.LeftButton, pos=at(window, u, v))
    assert not shape_rows(window)  # still drawing
    qtbot.mouseDClick(window.preview, Qt.LeftButton, pos=at(window, 0.25, 0.9))  # the last point closes it
    (layer,) = shape_rows(window)
    assert layer.shape == "poly" and layer.mode == "intersect"
    expected = [v for xy in clicks + [(0.25, 0.9)] for v in xy]
    assert layer.points == pytest.approx(expected, abs=TOLERANCE)
    assert window.preview.edit_layer == layer  # drawn: its handles are up for dragging
    qtbot.waitUntil(lambda: window.pipeline.keyer.masks == window.masks, timeout=5000)

    # Enter closes a core polygon; two points are not a polygon yet.
    window.start_drawing("poly", "add")
    for u, v in [(0.4, 0.4), (0.6, 0.4)]:
        qtbot.mouseClick(window.preview, Qt.LeftButton, pos=at(window, u, v))
    qtbot.keyClick(window.preview, Qt.Key_Return)
    assert window.preview.draw_shape == "poly" and len(shape_rows(window)) == 1
    qtbot.mouseClick(window.preview, Qt.LeftButton, pos=at(window, 0.5, 0.6))
    qtbot.keyClick(window.preview, Qt.Key_Return)
    core = shape_rows(window)[1]
    assert core.mode == "add" and core.points == pytest.approx((0.4, 0.4, 0.6, 0.4, 0.5, 0.6), abs=TOLERANCE)


def test_dragging_a_handle_moves_that_point_and_dragging_inside_moves_the_shape(window, qtbot):
    window.mask_panel.add_layer(MaskLayer("shape", shape="poly", points=(0.2, 0.2, 0.8, 0.2, 0.5, 0.8)))
    qtbot.keyClick(window, Qt.Key_M)  # edit the selected shape
    assert window.mask_panel.edit.isChecked() and window.preview.edit_layer is not None
    drag(qtbot, window.preview, at(window, 0.2, 0.2), at(window, 0.1, 0.35))
    layer = window.masks[1]
    assert layer.points == pytest.approx((0.1, 0.35, 0.8, 0.2, 0.5, 0.8), abs=TOLERANCE)
    qtbot.waitUntil(lambda: window.pipeline.keyer.masks == window.masks, timeout=5000)
    assert window.pipeline.keyer.masks[1] == layer
    assert window.isWindowModified()

    drag(qtbot, window.preview, at(window, 0.5, 0.4), at(window, 0.6, 0.5))  # inside: the whole shape moves
    moved = window.masks[1]
    assert moved.points == pytest.approx((0.2, 0.45, 0.9, 0.3, 0.6, 0.9), abs=2 * TOLERANCE)
    assert shape_handles(moved)[2] == pytest.approx((0.6, 0.9), abs=2 * TOLERANCE)

    qtbot.keyClick(window, Qt.Key_Escape)  # leaves editing: a drag no longer changes it
    assert window.preview.edit_layer is None
    drag(qtbot, window.preview, at(window, 0.5, 0.4), at(window, 0.3, 0.3))
    assert window.masks[1] == moved


def test_profile_save_and_open_round_trip_the_masks(window, qtbot, tmp_path):
    garbage = MaskLayer("shape", shape="poly", points=(0.1, 0.1, 0.9, 0.1, 0.5, 0.9), feather=4.0)
    window.mask_panel.add_layer(garbage)
    window.change_setting("hue_width", 44.0)
    path = tmp_path / "studio.toml"
    assert window.save_profile(path)
    assert not window.isWindowModified()
    assert Profile.load(path).masks == window.masks
    window.apply_masks(MaskStack())
    assert window.isWindowModified() and window.mask_panel.list.count() == 1
    assert window.open_profile(path)
    assert list(window.masks) == list(MaskStack().add(garbage))
    assert window.mask_panel.list.count() == 2 and not window.isWindowModified()
    qtbot.waitUntil(lambda: window.pipeline.keyer.masks == window.masks, timeout=5000)
    assert window.pipeline.settings.hue_width == 44.0


def test_adding_an_image_mask_asks_for_the_file_and_a_bad_file_is_refused(window, qtbot, tmp_path, monkeypatch):
    mask = tmp_path / "matte.png"
    images.write_image(mask, np.full((18, 32, 3), 255, np.uint8))
    monkeypatch.setattr(masks_panel.QFileDialog, "getOpenFileName", lambda *a, **k: (str(mask), ""))
    window.mask_panel.add_actions["Image file\u2026"].trigger()
    assert window.masks[1].type == "image" and window.masks[1].path == str(mask)
    qtbot.waitUntil(lambda: window.pipeline.keyer.masks == window.masks, timeout=5000)

    bad = tmp_path / "bad.toml"
    bad.write_text('[[mask]]\ntype = "image"\npath = "missing.png"\n')
    assert not window.open_profile(bad)
    assert "missing.png" in window.last_error
    assert window.masks[1].type == "image"  # nothing changed


def test_adding_an_image_mask_refuses_a_file_that_is_not_an_image(window, qtbot, tmp_path, monkeypatch):
    junk = tmp_path / "notes.png"
    junk.write_text("not a picture")
    monkeypatch.setattr(masks_panel.QFileDialog, "getOpenFileName", lambda *a, **k: (str(junk), ""))
    before = window.masks
    window.mask_panel.add_actions["Image file\u2026"].trigger()
    assert window.masks == before and window.mask_panel.list.count() == len(before)
    assert "notes.png" in window.last_error


def _tiny_model(path) -> str:
    import importlib.util
    from pathlib import Path

    pytest.importorskip("onnx")
    spec = importlib.util.spec_from_file_location("tiny_onnx", Path(__file__).parent / "bench" / "tiny_onnx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(str(path))


def test_adding_an_object_mask_asks_for_the_model_and_keys_with_it(window, qtbot, tmp_path, monkeypatch):
    """Add > Object mask: the segmentation model is asked for (ONNX files), opened, and its layer
    joins the stack (intersecting the key) and the running pipeline."""
    model = _tiny_model(tmp_path / "person.onnx")
    asked = []

    def ask(parent, caption, folder, file_filter):
        asked.append(file_filter)
        return model, ""

    monkeypatch.setattr(masks_panel.QFileDialog, "getOpenFileName", ask)
    assert next_output(window, qtbot).alpha.max() == 255  # the key alone: the subject is solid
    window.mask_panel.add_actions["Object mask (segmentation model)\u2026"].trigger()
    assert asked == [segment.MODEL_FILTER]
    layer = window.masks[1]
    assert layer.type == "segment" and layer.model == model and layer.mode == "intersect"
    assert window.mask_panel.list.item(1).text().startswith("Segmentation person.onnx")
    # The tiny model's mask is nowhere sure (a sigmoid of a weak colour mix): intersected, nothing stays solid.
    assert next_output(window, qtbot).alpha.max() < 230


def test_adding_an_object_mask_refuses_a_file_that_is_not_a_model(window, qtbot, tmp_path, monkeypatch):
    junk = tmp_path / "person.onnx"
    junk.write_bytes(b"not a model")
    monkeypatch.setattr(masks_panel.QFileDialog, "getOpenFileName", lambda *a, **k: (str(junk), ""))
    before = window.masks
    window.mask_panel.add_actions["Object mask (segmentation model)\u2026"].trigger()
    assert window.masks == before
    assert "person.onnx" in window.last_error and "ONNX" in window.last_error


def test_calibration_counts_down_and_refuses_a_picture_with_a_person(window, qtbot):
    window.calibrator.countdown_s = 1
    qtbot.mouseClick(window.io.calibrate, Qt.LeftButton)
    assert "calibrating in 1 s" in window.io.calibrate_info.text()
    assert window.io.calibrate.text() == "Cancel calibration"
    qtbot.waitUntil(lambda: window.last_error is not None and "calibration" in window.last_error, timeout=15000)
    assert "step out of the frame" in window.last_error  # the demo's person stands in front of the screen
    assert window.error_box.isVisible()
    assert window.io.calibrate.text() == "Calibrate\u2026"
    assert window.pipeline.settings.screen_model != "plate"


def test_calibration_can_be_cancelled(window, qtbot):
    window.calibrator.countdown_s = 5
    window.calibrate()
    assert window.calibrator.running
    qtbot.keyClick(window, Qt.Key_Escape)
    assert not window.calibrator.running and window.io.calibrate.text() == "Calibrate\u2026"


def test_calibration_of_an_empty_screen_saves_and_applies_a_profile(window, qtbot, tmp_path, monkeypatch):
    layers = synthetic.build_layers("portrait", 320, 180)
    empty = synthetic.degrade(layers.screen, np.random.default_rng(3))
    still = tmp_path / "empty.png"
    images.write_image(still, empty)
    assert window.switch_source(str(still))
    qtbot.waitUntil(lambda: window.preview.output.raw.shape == empty.shape
                    and np.array_equal(window.preview.output.raw, images.read_image(still, "still")), timeout=10000)
    target = tmp_path / "calibration" / "empty.toml"
    asked = []

    def save_dialog(parent, title, start, filters):
        asked.append(start)
        return str(target), ""

    monkeypatch.setattr(window_module.QFileDialog, "getSaveFileName", save_dialog)
    monkeypatch.chdir(tmp_path)  # the dialog's default folder calibration/ is made here
    window.calibrator.countdown_s = 0
    window.calibrate()
    qtbot.waitUntil(lambda: window.pipeline.settings.screen_model == "plate", timeout=15000)
    assert asked and asked[0].endswith("calibration/studio.toml")
    plate = target.with_name("empty-plate.png")
    assert target.exists() and plate.exists()
    assert window.pipeline.settings.plate == str(plate)
    assert window.panel.controls["screen_model"].widget.currentText() == "plate"
    assert "calibrated" in window.io.calibrate_info.text() and window.isWindowModified()
    assert window.last_error is None
