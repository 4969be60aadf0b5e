"""``livekey run`` and ``livekey devices`` end to end, in subprocesses (signals, kill -9, no screen)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL = "demo:320x180@30"


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}  # no screen
    e["PYTHONPATH"] = str(ROOT)
    return e


def livekey(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "livekey", *args], capture_output=True, text=True,
                          timeout=timeout, env=env(), cwd=ROOT)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "livekey", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT)


def frames_in(path: Path) -> int:
    count = 0
    try:
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                count += 1
    except av.error.FFmpegError:
        pass  # a cut-off file ends in a damaged packet: what came before is what counts
    return count


def wait_for_frames(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 20000:
            return
        time.sleep(0.2)
    raise AssertionError(f"{path} never grew")


def test_headless_demo_run_records_and_prints_stats(tmp_path):
    out = tmp_path / "demo.mp4"
    result = livekey("run", "--source", SMALL, "--duration", "2", "--record", str(out), "--stats")
    assert result.returncode == 0, result.stderr
    assert "running headless (no screen)" in result.stderr and str(out) in result.stderr
    assert "Traceback" not in result.stderr
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("frames_in", "frames_out", "dropped", "fps", "latency_ms_p50", "latency_ms_p99"):
        assert key in stats
    assert stats["frames_out"] >= 40 and stats["source_info"] == "demo 320x180 @ 30 fps"
    assert abs(frames_in(out) - stats["frames_out"]) <= 1


@pytest.mark.skipif(Path("/dev/video0").exists(), reason="this machine has a camera")
def test_run_without_camera_names_demo():
    result = livekey("run", "--duration", "1")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "livekey: error: no camera" in result.stderr
    assert "--source demo" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--backdrop", "nothere.png"], "backdrop"),
    (["--record", "/nonexistent-dir/x.mp4"], "does not exist"),
    (["--backdrop", "transparent", "--record", "x.mp4"], "cannot hold transparency"),
    (["--duration", "0"], "--duration"),
    (["--hue-width", "500"], "hue_width"),
    (["--overlay", "nothere.png"], "overlay nothere.png does not exist"),
    (["--mask", "garbage:rect:0,0"], "garbage:rect:0,0"),
])
def test_run_bad_input_is_one_line(args, message, tmp_path):
    args = [a.replace("x.mp4", str(tmp_path / "x.mp4")) if a.endswith("x.mp4") and "/" not in a else a
            for a in args]
    result = livekey("run", "--source", SMALL, "--duration", "1", *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("livekey: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_vcam_without_backend_warns_and_still_records(tmp_path):
    out = tmp_path / "v.mp4"
    result = livekey("run", "--source", SMALL, "--duration", "1.5", "--vcam", "--record", str(out), "--stats")
    assert result.returncode == 0, result.stderr
    assert "modprobe v4l2loopback" in result.stderr and "going on without it" in result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["frames_out"] > 20 and frames_in(out) > 20


def test_transparent_webm_keeps_alpha(tmp_path):
    out = tmp_path / "alpha.webm"
    result = livekey("run", "--source", SMALL, "--duration", "1", "--backdrop", "transparent", "--record", str(out))
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as container:
        ctx = av.CodecContext.create("libvpx-vp9", "r")
        frames = [f for p in container.demux(video=0) if p.size for f in ctx.decode(p)]
    alpha = frames[-1].to_ndarray(format="bgra")[..., 3]
    assert (alpha < 10).mean() > 0.3 and (alpha > 245).mean() > 0.15


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_and_finalizes_the_recording(tmp_path, sig):
    out = tmp_path / "sig.mp4"
    proc = start("run", "--source", SMALL, "--record", str(out), "--stats")
    try:
        wait_for_frames(out)
        time.sleep(0.5)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "recorded" in stderr
    stats = json.loads(stdout.splitlines()[-1])
    assert abs(frames_in(out) - stats["frames_out"]) <= 1


def test_kill_9_leaves_a_playable_recording(tmp_path):
    out = tmp_path / "killed.mp4"
    proc = start("run", "--source", SMALL, "--record", str(out))
    try:
        wait_for_frames(out)
        time.sleep(3)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    # About 3.5 s ran (~100 frames); fragments close every second, so at most ~1 s is lost.
    assert frames_in(out) >= 60


def test_file_source_as_fast_as_possible(tmp_path):
    from tests.test_sources import write_video

    clip = write_video(tmp_path / "clip.mp4", frames=25)
    out = tmp_path / "out.mkv"
    result = livekey("run", "--source", str(clip), "--as-fast-as-possible", "--no-loop", "--record", str(out),
                     "--stats")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout.splitlines()[-1])
    assert stats["frames_out"] == 25 and stats["dropped"] == 0 and "ended after 25 frames" in result.stderr
    assert frames_in(out) == 25


def test_devices_lists_or_says_none():
    result = livekey("devices")
    assert result.returncode == 0
    if not list(Path("/dev").glob("video*")):
        assert "no cameras found" in result.stdout and "--source demo" in result.stdout


def test_headless_run_never_imports_qt(tmp_path):
    code = ("import sys; from livekey.cli import main; "
            f"rc = main(['run', '--source', '{SMALL}', '--duration', '0.5', '--no-preview']); "
            "print(rc, 'PyQt5' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env(), cwd=ROOT,
                            timeout=90)
    assert result.stdout.split() == ["0", "False"], result.stderr
    assert "running headless (--no-preview)" in result.stderr


def test_run_with_a_screen_goes_through_the_preview_and_still_records(tmp_path):
    out = tmp_path / "p.mp4"
    e = env() | {"DISPLAY": ":99", "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-m", "livekey", "run", "--source", SMALL, "--duration", "2",
                             "--record", str(out)], capture_output=True, text=True, env=e, cwd=ROOT, timeout=90)
    assert result.returncode == 0, result.stderr
    assert "running headless (no screen)" not in result.stderr and "Traceback" not in result.stderr
    assert frames_in(out) > 20
