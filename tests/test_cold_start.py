"""The first run's compile: a progress line that moves, and Ctrl-C or SIGTERM stop it at once,
leaving no output behind. The signal tests compile into an empty cache of their own."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numba
import numpy as np
import pytest
from numba.core import event

from livekey.engine import kernel_cache
from livekey.media import synthetic
from livekey.runtime import compiling


def test_the_counter_counts_kernels_not_their_helpers():
    @numba.njit
    def helper(x):
        return x + 1

    @numba.njit
    def kernel(x):
        return helper(x) * 2

    counter = compiling.CompileCounter()
    with event.install_listener("numba:compile", counter):
        kernel(3)
        kernel(4)  # compiled already: not counted again
        kernel(2.5)  # another signature: counted
    assert counter.done == 2 and counter.current == "kernel" and counter.depth == 0


def test_the_progress_line_moves_in_a_log(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(compiling.time, "monotonic", lambda: now[0])
    counter, stream = compiling.CompileCounter(), io.StringIO()
    progress = compiling.Progress(counter, stream)
    for done in range(4):
        counter.done = done
        progress.tick()
        now[0] += compiling.LOG_EVERY / 2
    progress.close()
    lines = stream.getvalue().splitlines()
    # Not a terminal: a line every LOG_EVERY seconds, each with the count and the seconds so far.
    assert [line.split(": ")[-1] for line in lines[:-1]] == ["0 done, 0 s", "2 done, 5 s"], lines
    assert lines[-1] == "livekey: compiled 3 kernels in 10 s"


def _start(args: list[str], cache, tmp_path) -> subprocess.Popen:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.Popen([sys.executable, "-m", "livekey", *args], env=env, cwd=tmp_path,
                            stderr=subprocess.PIPE, text=True)


def _signal_mid_compile(proc: subprocess.Popen, signum: int) -> tuple[int, float, str]:
    """Wait for the progress line, let the compile go on a second, signal; the exit code, how long
    the process took to go and what it said."""
    first = proc.stderr.readline()
    assert "compiling the kernels" in first, first
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signum)
    rc = proc.wait(30)
    return rc, time.monotonic() - sent, first + proc.stderr.read()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_compile_stops_a_run_at_once_and_leaves_no_recording(tmp_path, signum):
    recording = tmp_path / "out.mp4"
    proc = _start(["run", "--source", "demo:320x180@30", "--no-preview", "--duration", "5",
                   "--record", str(recording)], tmp_path / "cache", tmp_path)
    rc, took, said = _signal_mid_compile(proc, signum)
    assert rc == 130 and took < 3.0, (rc, took, said)
    assert "interrupted" in said and "Traceback" not in said, said
    assert not recording.exists() and list(tmp_path.iterdir()) == [tmp_path / "cache"]


def test_ctrl_c_mid_compile_stops_key_at_once_and_writes_nothing(tmp_path):
    image = tmp_path / "in.png"
    cv2.imwrite(str(image), synthetic.scene("portrait", 64, 36).image)
    proc = _start(["key", str(image), "-o", str(tmp_path / "out.png")], tmp_path / "cache", tmp_path)
    rc, took, said = _signal_mid_compile(proc, signal.SIGINT)
    assert rc == 130 and took < 3.0 and "Traceback" not in said, (rc, took, said)
    assert not (tmp_path / "out.png").exists()


def test_a_compile_error_reaches_the_caller(monkeypatch):
    """A failure on the compile thread is raised in the waiting thread, not lost with the thread."""
    from livekey.config.settings import Settings
    from livekey.engine import keyer

    monkeypatch.setattr("livekey.runtime.startup.start_up", lambda: False)

    def broken(*args):
        raise RuntimeError("no kernel")

    monkeypatch.setattr(keyer, "warm_up", broken)
    with pytest.raises(RuntimeError, match="no kernel"):
        compiling.compile_kernels(Settings(), stream=io.StringIO())


def test_a_quick_start_keys_plain_then_switches_to_the_settings(tmp_path, monkeypatch):
    """First run: the plain path at once, the real settings once the child compiled them (into the
    cache it was given); a settings change meanwhile stays plain until then."""
    from livekey.config.settings import Settings
    from livekey.media.backdrops import open_backdrop
    from livekey.media.sources import open_source
    from livekey.runtime.pipeline import Pipeline

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))  # the child's cache
    real = Settings(screen_model="flat", refine=False, edge_color=False, grow=1.0)
    pipe = Pipeline(open_source("demo:160x90@30"), real, open_backdrop("#000000"), [])
    messages: list[str] = []
    pipe.on_message = messages.append
    pipe.quick_start = True
    pipe.start()
    try:
        assert pipe.wait(1.0) is False and pipe.frames_out > 0
        assert pipe.keyer.settings.grow == 0.0 and pipe.keyer.settings.refine is False  # plain
        pipe.update_settings(real.replace(grow=2.0))
        deadline = time.monotonic() + 240
        while not messages and time.monotonic() < deadline:
            time.sleep(0.2)
            if not any("full key" in m for m in messages):
                assert pipe.keyer.settings.grow == 0.0
        assert messages and "full key from now on" in messages[0], messages
        time.sleep(0.5)
        assert pipe.keyer.settings.grow == 2.0 and pipe.settings.grow == 2.0
    finally:
        pipe.stop()
    assert list((tmp_path / "cache").rglob("keying.key_frame*.nbi")), "the child compiled nowhere"


def test_the_helper_compiles_the_very_solve_a_key_runs():
    """compile_solve's argument types are those of a real solve: compiled after one, it adds no
    second signature (a second one would compile in the main process after all)."""
    from livekey.config.settings import Settings
    from livekey.engine import keying, matte, screen

    frame = synthetic.scene("blond", 96, 54).image
    key = screen.detect_key_color(frame)
    scr, params = keying.flat_screen(key, 54, 96), keying.param_vector(Settings(), key)
    alpha, fg = np.empty((54, 96), np.uint8), np.empty((54, 96, 3), np.uint8)
    keying.key_frame(frame, scr, params, alpha, fg)
    matte.EdgeSolver()(frame, scr, alpha, fg, params)
    before = list(matte._solve_blocks.signatures)
    matte.compile_solve()
    assert len(before) == 1 and matte._solve_blocks.signatures == before


@pytest.mark.skipif(kernel_cache.spare_cores() < 1, reason="one core: nothing is compiled aside")
def test_a_first_key_loads_the_solve_its_helper_compiled(tmp_path):
    """Cold cache: the helper process compiles the edge solve while the main one compiles the rest,
    and the main one loads the solve from the cache (Numba's cache log says which it did)."""
    image = tmp_path / "in.png"
    cv2.imwrite(str(image), synthetic.scene("portrait", 64, 36).image)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "NUMBA_DEBUG_CACHE": "1"}
    done = subprocess.run([sys.executable, "-m", "livekey", "key", str(image), "-o", str(tmp_path / "out.png")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    solve = [line for line in done.stdout.splitlines() if "matte._solve_blocks-" in line]
    assert any(line.startswith("[cache] data loaded") for line in solve), done.stdout[-2000:]
    assert not any("saved" in line for line in solve), solve
    assert cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED).shape == (36, 64, 4)


def _aside_processes(cache) -> list[int]:
    """The live processes started with ``NUMBA_CACHE_DIR=cache``."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f"NUMBA_CACHE_DIR={cache}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            pass  # gone, or not ours to read
    return found


def test_ctrl_c_mid_compile_ends_the_helper_too(tmp_path):
    image = tmp_path / "in.png"
    cv2.imwrite(str(image), synthetic.scene("portrait", 64, 36).image)
    cache = tmp_path / "cache"
    proc = _start(["key", str(image), "-o", str(tmp_path / "out.png")], cache, tmp_path)
    rc, took, said = _signal_mid_compile(proc, signal.SIGINT)
    assert rc == 130, said
    time.sleep(0.5)
    assert _aside_processes(cache) == [], "a helper went on compiling after the interrupt"


def test_a_helper_that_hangs_is_given_up_and_one_that_fails_is_not_waited_for(monkeypatch):
    monkeypatch.setattr(kernel_cache, "warm", False)
    monkeypatch.setattr(kernel_cache, "spare_cores", lambda: 1)
    monkeypatch.setattr(kernel_cache, "ASIDE", "signal:pause")  # blocks until a signal ends it
    monkeypatch.setattr(kernel_cache, "ASIDE_TIMEOUT", 0.5)
    assert kernel_cache.compile_aside()
    helper = kernel_cache._aside
    assert not kernel_cache.compile_aside()  # one at a time
    started = time.monotonic()
    kernel_cache.wait_for_aside()
    assert 0.4 < time.monotonic() - started < 10 and helper.poll() is not None and kernel_cache._aside is None
    monkeypatch.setattr(kernel_cache, "ASIDE", "livekey:no_such_function")
    assert kernel_cache.compile_aside()
    kernel_cache.wait_for_aside()  # the helper failed at once: waited for as briefly
    assert kernel_cache._aside is None
    monkeypatch.setattr(kernel_cache, "warm", True)
    assert not kernel_cache.compile_aside()  # cached already: no helper
