"""Changes made through the controller (as the control API makes them, from another thread) show in
the window: Qt offscreen, a real demo pipeline."""

import threading

from livekey.config.profile import Profile
from livekey.config.settings import Settings
from livekey.control.state import Controller
from livekey.ui.control_sync import ControlSync


def from_another_thread(action) -> None:
    thread = threading.Thread(target=action)
    thread.start()
    thread.join(20)


def test_settings_backdrop_and_profile_changed_outside_show_in_the_window(window, qtbot, tmp_path):
    controller = Controller(window.pipeline, record_dir=tmp_path)
    sync = ControlSync(window, controller)
    try:
        from_another_thread(lambda: controller.patch_settings({"hue_width": 21.0}))
        qtbot.waitUntil(lambda: window.settings.hue_width == 21.0, timeout=5000)
        assert window.settings is window.pipeline.settings  # the window's next edit builds on this one
        assert window.panel.labels["hue_width"].font().bold()  # shown as changed from the default
        window.change_setting("spill_strength", 0.5)  # an edit in the window keeps the API's change
        assert window.pipeline.settings.hue_width == 21.0 and window.pipeline.settings.spill_strength == 0.5

        from_another_thread(lambda: controller.set_backdrop("#00ff00"))
        qtbot.waitUntil(lambda: window.outputs.backdrop.currentText() == "#00ff00", timeout=5000)

        path = tmp_path / "deck.toml"
        Profile(Settings(hue_width=44.0)).save(path)
        from_another_thread(lambda: controller.load_profile(path))
        qtbot.waitUntil(lambda: window.profile_path == path, timeout=5000)
        assert window.settings.hue_width == 44.0 and not window.isWindowModified()
        assert "deck.toml" in window.windowTitle()
    finally:
        sync.detach()
        controller.close()


def test_after_detach_the_window_is_left_alone(window, qtbot, tmp_path):
    controller = Controller(window.pipeline, record_dir=tmp_path)
    sync = ControlSync(window, controller)
    relayed = []
    sync.changed.connect(relayed.append)
    sync.detach()
    controller.patch_settings({"hue_width": 19.0})
    qtbot.wait(200)
    # The bridge relays nothing more (the window's own status timer may still show the pipeline's
    # settings: that is sync_from_state's job, not the bridge's).
    assert relayed == [] and window.pipeline.settings.hue_width == 19.0
    controller.close()


def test_a_window_with_its_own_sync_method_is_asked_on_its_own_thread(window, qtbot, tmp_path):
    """The outputs-first window reads the pipeline's state itself (sync_from_state); the bridge only
    says when, on Qt's thread."""
    controller = Controller(window.pipeline, record_dir=tmp_path)
    calls = []
    window.sync_from_state = lambda: calls.append((threading.current_thread(), window.pipeline.settings.hue_width))
    sync = ControlSync(window, controller)
    try:
        from_another_thread(lambda: controller.patch_settings({"hue_width": 23.0}))
        qtbot.waitUntil(lambda: len(calls) == 1, timeout=5000)
        assert calls == [(threading.main_thread(), 23.0)]
        assert window.settings.hue_width == 30.0  # the hook, not the fallback, was used
    finally:
        sync.detach()
        controller.close()


def test_a_patch_over_http_shows_in_the_window(window, qtbot, tmp_path):
    import json
    import urllib.request

    from livekey.control.server import ControlServer

    controller = Controller(window.pipeline, record_dir=tmp_path)
    sync = ControlSync(window, controller)
    server = ControlServer(controller, "window-token")
    server.start()
    try:
        req = urllib.request.Request(server.url + "settings", data=json.dumps({"spill_strength": 0.25}).encode(),
                                     method="PATCH", headers={"Authorization": "Bearer window-token"})
        with urllib.request.urlopen(req, timeout=20) as resp:
            assert resp.status == 200
        qtbot.waitUntil(lambda: window.settings.spill_strength == 0.25, timeout=5000)
        assert window.panel.labels["spill_strength"].font().bold()
    finally:
        server.stop()
        sync.detach()
        controller.close()
