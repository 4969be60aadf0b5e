"""The --control flags: address, loopback default, token; and ``livekey run --control`` end to end."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from livekey.cli import build_parser
from livekey.control.options import TOKEN_ENV, control_options, is_loopback, parse_address
from livekey.errors import LivekeyError

ROOT = Path(__file__).resolve().parent.parent


def options(*argv: str, env_token: str | None = None, monkeypatch=None):
    if monkeypatch is not None:
        if env_token is None:
            monkeypatch.delenv(TOKEN_ENV, raising=False)
        else:
            monkeypatch.setenv(TOKEN_ENV, env_token)
    return control_options(build_parser().parse_args(["run", *argv]))


@pytest.mark.parametrize("text, expected", [
    ("8765", ("127.0.0.1", 8765)),
    ("0", ("127.0.0.1", 0)),
    ("127.0.0.1:9000", ("127.0.0.1", 9000)),
    ("localhost:9000", ("localhost", 9000)),
    ("[::1]:9000", ("::1", 9000)),
    ("0.0.0.0:9000", ("0.0.0.0", 9000)),
])
def test_address_forms(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "http", "70000", "-1", "host:", ":8765", "::1:8765", "1.2.3.4:port"])
def test_a_bad_address_is_a_one_line_error(text):
    with pytest.raises(LivekeyError, match=r"is not \[HOST:\]PORT, e\.g\. 8765"):
        parse_address(text)


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.5.6.7", True), ("::1", True), ("localhost", True), ("LOCALHOST", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("studio.local", False),
])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_the_default_host_is_loopback(monkeypatch):
    opts = options("--control", "8765", monkeypatch=monkeypatch)
    assert (opts.host, opts.port) == ("127.0.0.1", 8765)
    assert options(monkeypatch=monkeypatch) is None  # no --control, no server


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "[::]", "studio.local"])
def test_a_non_loopback_host_needs_the_flag(monkeypatch, host):
    with pytest.raises(LivekeyError, match="is not a loopback address.*add --control-allow-remote"):
        options("--control", f"{host}:8765", monkeypatch=monkeypatch)
    opts = options("--control", f"{host}:8765", "--control-allow-remote", monkeypatch=monkeypatch)
    assert opts.host == host.strip("[]")


def test_the_token_comes_from_the_flag_then_the_environment_then_secrets(monkeypatch):
    given = options("--control", "1", "--control-token", "deck", env_token="env", monkeypatch=monkeypatch)
    assert given.token == "deck"
    from_env = options("--control", "1", env_token="env", monkeypatch=monkeypatch)
    assert from_env.token == "env" and not from_env.token_generated
    made = options("--control", "1", monkeypatch=monkeypatch)
    again = options("--control", "1", monkeypatch=monkeypatch)
    assert made.token_generated and len(made.token) >= 32 and made.token != again.token
    with pytest.raises(LivekeyError, match="the control token .* is empty"):
        options("--control", "1", "--control-token", " ", monkeypatch=monkeypatch)


# --- livekey run --control, in a subprocess -----------------------------------------
def env(**extra: str) -> dict:
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", TOKEN_ENV)}
    e["PYTHONPATH"] = str(ROOT)
    return {**e, **extra}


def test_run_refuses_a_non_loopback_address_before_opening_the_camera():
    result = subprocess.run([sys.executable, "-m", "livekey", "run", "--source", "0", "--control", "0.0.0.0:8765"],
                            capture_output=True, text=True, timeout=60, env=env(), cwd=ROOT)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("livekey: error: --control 0.0.0.0:8765: 0.0.0.0 is not a loopback address")
    assert "--control-allow-remote" in result.stderr


def api(url: str, token: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_run_serves_the_api_with_a_printed_token_and_records_through_it(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "livekey", "run", "--source", "demo:320x180@30", "--control", "0",
                             "--duration", "60", "--stats"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env(), cwd=tmp_path)
    try:
        line = ""
        while "control API at" not in line:
            line = proc.stderr.readline()
            assert line, "livekey ended before serving the API"
        match = re.search(r"at (http://127\.0\.0\.1:\d+/api/) \(token (\S+) ", line)
        assert match, line
        url, token = match.groups()
        assert api(url + "status", "wrong")[0] == 401
        deadline = time.monotonic() + 300  # the first frame waits for the kernels (cached: a few seconds)
        while (status := api(url + "status", token))[1]["frames"] < 5:
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status[1]["settings"]["hue_width"] == 30.0
        assert api(url + "settings", token, "PATCH", {"hue_width": 33})[0] == 200
        assert api(url + "status", token)[1]["settings"]["hue_width"] == 33.0
        code, body = api(url + "record", token, "POST", {"path": "take.mp4"})
        assert code == 201, body
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)  # the recording under way is finalised on the way out
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert re.search(r"livekey: recorded \d+ frames to take\.mp4", err), err
    assert json.loads(out.strip().splitlines()[-1])["frames_out"] > 5
    assert (tmp_path / "take.mp4").stat().st_size > 1000
