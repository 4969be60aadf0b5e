"""Recordings that survive kill -9 in every container, no empty files, truthful frame counts and
exit codes, and Ctrl-C at any moment (issue 27)."""

import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import av
import numpy as np
import pytest

from livekey.media.sinks import Recorder

ROOT = Path(__file__).resolve().parent.parent

# A child that records small frames in real time at 30 fps until it is killed.
WRITER = textwrap.dedent("""
    import sys, time, types
    import numpy as np
    from livekey.media.sinks import Recorder
    path, alpha = sys.argv[1], sys.argv[2] == "alpha"
    rec = Recorder(path, 160, 96, 30.0, alpha=alpha)
    base = np.random.default_rng(0).integers(0, 255, (96, 160, 4 if alpha else 3), dtype=np.uint8)
    a = np.full((96, 160), 255, np.uint8)
    print("ready", flush=True)
    t0, n = time.monotonic(), 0
    while True:
        rec.write(types.SimpleNamespace(composite=np.roll(base, n, axis=1), alpha=a, captured_at=t0 + n / 30))
        n += 1
        time.sleep(max(0.0, t0 + n / 30 - time.monotonic()))
""")


def decoded(path: Path) -> int:
    count = 0
    try:
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                count += 1
    except av.error.FFmpegError:
        pass  # a cut-off file ends in a damaged packet: what came before counts
    return count


@pytest.mark.parametrize("suffix, alpha", [(".mp4", False), (".mov", False), (".mkv", False), (".webm", False),
                                           (".mov", True), (".webm", True)])
def test_kill_9_keeps_all_but_the_last_second(tmp_path, suffix, alpha):
    out = tmp_path / f"k{suffix}"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out), "alpha" if alpha else "-"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        time.sleep(2.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        ran = time.monotonic() - t0
    finally:
        proc.kill()
    # Flushed at least every second: at most about one second (30 frames) is lost, whatever the container.
    assert decoded(out) >= (ran - 1.1) * 30, (decoded(out), ran)


def frame(n: int, size=(96, 160)) -> types.SimpleNamespace:
    img = np.full(size + (3,), n % 255, np.uint8)
    return types.SimpleNamespace(composite=img, alpha=np.full(size, 255, np.uint8), captured_at=n / 30)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".webm"])
def test_a_recording_without_frames_leaves_no_file(tmp_path, suffix):
    rec = Recorder(tmp_path / f"e{suffix}", 160, 96, 30.0)
    rec.close()
    assert rec.removed and not (tmp_path / f"e{suffix}").exists()


def test_recorded_frames_are_the_frames_in_the_file(tmp_path):
    rec = Recorder(tmp_path / "n.mkv", 160, 96, 30.0)
    for n in range(20):
        rec.write(frame(n))
    rec.close()
    assert not rec.removed and rec.frames == 20 == decoded(tmp_path / "n.mkv")


# A child that compiles (or loads) the kernels first, then lets no file grow past 40 KB, as on a
# full disk, and runs the command line.
FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from livekey.config.settings import Settings
    from livekey.engine.keyer import warm_up
    from livekey.cli import main  # imported first: under the limit a larger .pyc would be cut short
    warm_up(Settings())
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("suffix, backdrop", [(".mov", "transparent"), (".mp4", "#204060"), (".webm", "transparent")])
def test_a_recording_stopped_by_a_full_disk_exits_non_zero_and_counts_the_file(tmp_path, suffix, backdrop):
    out = tmp_path / f"full{suffix}"
    result = subprocess.run([sys.executable, "-c", FULL_DISK, "run", "--source", "demo:320x180@30", "--no-preview",
                             "--duration", "4", "--backdrop", backdrop, "--record", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    assert "recording stopped" in result.stderr and "the run failed" in result.stderr
    said = int(result.stderr.split("recorded ")[1].split(" frames")[0]) if "recorded " in result.stderr else 0
    assert said == decoded(out) if out.exists() else said == 0, result.stderr


def livekey(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "livekey", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def test_a_failure_before_the_first_frame_leaves_no_empty_file(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "in.png"), np.zeros((90, 160, 3), np.uint8))
    out = tmp_path / "o.mp4"
    (tmp_path / "p.toml").write_text('[key]\nscreen_model = "plate"\n')  # a plate model without a plate
    result = livekey("run", "--source", str(tmp_path / "in.png"), "--no-preview", "--duration", "3",
                     "--record", str(out), "--profile", str(tmp_path / "p.toml"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("livekey: error: screen_model is plate")
    assert not out.exists()  # the recording opened for the run is removed, not left at 0 bytes


class FailingBackdrop:
    """A backdrop (an extension point) whose fifth frame fails as a MemoryError would."""

    transparent, info = False, "failing"

    def __init__(self) -> None:
        self.calls = 0

    def frame(self, raw, alpha):
        self.calls += 1
        if self.calls == 5:
            raise MemoryError("out of memory")
        return np.zeros_like(raw)

    def close(self) -> None:
        pass


def test_a_processing_failure_exits_non_zero(tmp_path, capsys):
    import argparse

    from livekey import cli
    from livekey.config.settings import Settings
    from livekey.media.sources import open_source
    from livekey.runtime.pipeline import Pipeline

    out = tmp_path / "p.mkv"
    rec = Recorder(out, 160, 96, 30.0)
    pipeline = Pipeline(open_source("demo:160x96@30"), Settings(), FailingBackdrop(), [rec])
    pipeline.start()
    started = time.monotonic()
    assert pipeline.wait(30)
    pipeline.stop()
    rc = cli._report(argparse.Namespace(stats=False), pipeline, [rec], started, "")
    err = capsys.readouterr().err
    assert rc == 1 and "livekey: error: the run failed: processing failed: MemoryError: out of memory" in err
    assert f"recorded 4 frames to {out}" in err and decoded(out) == 4


def test_a_source_damaged_mid_file_exits_non_zero_and_says_where(tmp_path):
    from tests.test_sources import write_video

    clip = write_video(tmp_path / "clip.mkv", frames=60)
    data = bytearray(clip.read_bytes())
    cut = len(data) // 2
    data[cut:] = b"\0" * (len(data) - cut)  # everything after the middle is zeros
    clip.write_bytes(bytes(data))
    result = livekey("run", "--source", str(clip), "--no-preview", "--as-fast-as-possible", "--no-loop")
    assert "Traceback" not in result.stderr
    assert "damaged" in result.stderr and "frame" in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr


@pytest.mark.parametrize("delay", [0.5, 1.0, 2.0, 4.0])  # after the interpreter is up (about 0.1 s)
def test_sigint_at_any_moment_says_interrupted(tmp_path, delay):
    out = tmp_path / "i.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "livekey", "run", "--source", "demo:320x180@30", "--no-preview",
                             "--record", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert "Traceback" not in stderr and "interrupted" in stderr, stderr
    assert proc.returncode in (0, 130, -signal.SIGINT), stderr  # -2: the shell shows 130 too
    if out.exists():  # stopped after it started: a finalised recording with frames
        assert out.stat().st_size > 0 and decoded(out) > 0
