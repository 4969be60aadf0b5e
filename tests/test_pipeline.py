"""The threaded pipeline and its sinks, driven by the demo scene and files."""

import time
from pathlib import Path

import av
import numpy as np
import pytest

from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.errors import LivekeyError
from livekey.media import backdrops, sources
from livekey.media.sinks import VCAM_FIX, Recorder, VirtualCamera
from livekey.runtime.frames import FramePool, Output
from livekey.runtime.pipeline import LatencyHistogram, Pipeline
from tests.test_sources import write_video

FLAT = Settings(key_color="green", screen_model="flat")


def collect_with(pipe: Pipeline, callback, count: int) -> list[Output]:
    """Start ``pipe``, call ``callback(output, n)`` for the n-th output (from 1), stop after ``count``."""
    outputs: list[Output] = []

    def both(output: Output) -> None:
        outputs.append(output)
        callback(output, len(outputs))

    pipe.subscribe(both)
    pipe.start()
    deadline = time.monotonic() + 20
    while len(outputs) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    pipe.stop()
    assert len(outputs) >= count, f"only {len(outputs)} frames in 20 s"
    return outputs


def decode_all(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def test_frame_pool_hands_out_an_array_again_only_when_nobody_holds_it():
    pool = FramePool()
    a = pool.take((4, 5, 3))
    b = pool.take((4, 5, 3))
    assert a is not b  # ``a`` is still held
    view = b[1:3]
    del b
    c = pool.take((4, 5, 3))
    assert c is not view.base and c is not a  # a view keeps its array busy
    del view, c
    again = pool.take((4, 5, 3))
    assert pool.made == 3 and again.shape == (4, 5, 3)
    assert pool.take((4, 5)).shape == (4, 5) and pool.made == 4


def test_pipeline_reuses_output_arrays_without_touching_held_frames():
    """A receiver keeping every 10th frame keeps it as it was; the rest are recycled."""
    pipe = Pipeline(sources.open_source("demo:160x96@60"), FLAT, backdrops.open_backdrop("#0000ff"))
    kept: list[tuple[Output, np.ndarray, np.ndarray]] = []
    seen = [0]

    def callback(output: Output) -> None:
        seen[0] += 1
        if seen[0] % 10 == 0:
            kept.append((output, output.alpha.copy(), output.composite.copy()))

    pipe.subscribe(callback)
    pipe.start()
    deadline = time.monotonic() + 20
    while seen[0] < 80 and time.monotonic() < deadline:
        time.sleep(0.01)
    pipe.stop()
    assert seen[0] >= 80 and len(kept) >= 8
    for output, alpha, composite in kept:
        assert np.array_equal(output.alpha, alpha) and np.array_equal(output.composite, composite)
    # Two arrays a frame; held: the kept frames and the few in flight. Without reuse: 2 per frame.
    assert pipe._pool.made <= 2 * (len(kept) + 4), (pipe._pool.made, seen[0])


def test_outputs_are_keyed_composites_owned_by_the_receiver():
    src = sources.open_source("demo:160x96@60")
    pipe = Pipeline(src, FLAT, backdrops.open_backdrop("#0000ff"))
    outputs = collect_with(pipe, lambda o, n: None, 20)
    copies = [(o.alpha.copy(), o.composite.copy()) for o in outputs]
    time.sleep(0.05)
    for o, (alpha, comp) in zip(outputs, copies, strict=True):
        assert np.array_equal(o.alpha, alpha) and np.array_equal(o.composite, comp)
    last = outputs[-1]
    assert last.composite.shape == (96, 160, 3) and last.raw.shape == (96, 160, 3)
    screen = last.alpha == 0
    assert screen.mean() > 0.3 and (last.composite[screen] == (255, 0, 0)).all()  # the blue backdrop shows
    assert [o.index for o in outputs] == sorted({o.index for o in outputs})
    stats = pipe.stats()
    assert stats["frames_out"] >= 20 and stats["latency_ms_p50"] is not None
    assert stats["numba_threads"] >= 1 and stats["source_info"] == "demo 160x96 @ 60 fps"
    assert 0.0 < stats["cpu_share"] < 8.0  # cores busy over the run, from the process's own accounting
    assert not any(t.is_alive() for t in pipe._threads)


def test_settings_change_live_and_no_frame_mixes_settings():
    src = sources.open_source("demo:160x96@60")
    pipe = Pipeline(src, FLAT, backdrops.open_backdrop("black"))
    narrow = FLAT.replace(hue_width=8.0, spill_method="none")
    got = collect_with(pipe, lambda o, n: n == 10 and pipe.update_settings(narrow), 25)
    assert pipe.settings is narrow
    used = [o.settings for o in got]
    assert used[0] is FLAT and used[-1] is narrow
    switch = used.index(narrow)
    assert switch >= 10 and all(s is FLAT for s in used[:switch]) and all(s is narrow for s in used[switch:])
    for o in got:  # each frame is exactly what a keyer with that frame's settings makes of it
        alpha, composite = Keyer(o.settings).composite(o.raw, np.zeros_like(o.raw))
        assert np.array_equal(alpha, o.alpha) and np.array_equal(composite, o.composite)
    assert not np.array_equal(Keyer(FLAT).composite(got[-1].raw, np.zeros_like(got[-1].raw))[1],
                              got[-1].composite)  # and the two settings really differ


def test_backdrop_changes_live():
    pipe = Pipeline(sources.open_source("demo:160x96@60"), FLAT, backdrops.open_backdrop("#ff0000"))
    got = collect_with(pipe, lambda o, n: n == 5 and pipe.set_backdrop(backdrops.open_backdrop("transparent")), 12)
    assert got[0].composite.shape[2] == 3 and got[-1].composite.shape[2] == 4
    assert np.array_equal(got[-1].composite[..., 3], got[-1].alpha)


def test_source_switch_keeps_recording_at_its_size(tmp_path):
    rec = Recorder(tmp_path / "switch.mp4", 160, 96, 60)
    pipe = Pipeline(sources.open_source("demo:160x96@60"), FLAT, backdrops.open_backdrop(None), [rec])
    got = collect_with(pipe, lambda o, n: n == 8 and pipe.set_source(sources.open_source("demo:321x181@60")), 25)
    assert got[0].raw.shape == (96, 160, 3) and got[-1].raw.shape == (181, 321, 3)
    assert pipe.source_info == "demo 321x181 @ 60 fps"
    frames = decode_all(tmp_path / "switch.mp4")
    assert len(frames) >= 24 and {(f.width, f.height) for f in frames} == {(160, 96)}


def test_stop_from_a_subscriber_does_not_hang():
    pipe = Pipeline(sources.open_source("demo:160x96@60"), FLAT, backdrops.open_backdrop(None))
    collect_with(pipe, lambda o, n: n == 3 and pipe.stop(), 3)
    assert pipe.wait(2)
    time.sleep(0.2)
    assert not any(t.is_alive() for t in pipe._threads)


def test_slow_processing_drops_the_older_frame_never_the_newest():
    src = sources.open_source("demo:160x96@100")
    pipe = Pipeline(src, FLAT, backdrops.open_backdrop("black"))
    lag = []

    def slow(output: Output, n: int) -> None:
        lag.append(time.monotonic() - output.captured_at)
        time.sleep(0.05)  # 5 frame periods

    outputs = collect_with(pipe, slow, 15)
    stats = pipe.stats()
    assert stats["dropped"] > 20
    assert stats["frames_in"] - stats["frames_out"] - stats["dropped"] in (0, 1)  # one may sit in the slot at stop
    gaps = np.diff([o.index for o in outputs])
    assert np.median(gaps) >= 3  # it skipped ahead to the newest frame
    assert np.median(lag) < 0.03  # the frame processed was fresh, not one queued behind


class SlowSink:
    queue_frames = 2
    name = "slow"

    def __init__(self) -> None:
        self.written, self.closed = 0, False

    def write(self, output: Output) -> None:
        time.sleep(0.1)
        self.written += 1

    def close(self) -> None:
        self.closed = True


def test_slow_sink_never_stalls_capture():
    sink = SlowSink()
    pipe = Pipeline(sources.open_source("demo:160x96@60"), FLAT, backdrops.open_backdrop("black"), [sink])
    outputs = collect_with(pipe, lambda o, n: None, 60)
    stats = pipe.stats()
    assert len(outputs) >= 60 and stats["dropped"] <= 3
    assert stats["sink_dropped"]["slow"] > 20 and 3 <= sink.written < 30 and sink.closed


def test_as_fast_as_possible_file_drops_nothing_and_ends(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=40)
    src = sources.open_source(str(path), paced=False, loop=False)
    rec = Recorder(tmp_path / "out.mp4", *src.size, src.fps)
    pipe = Pipeline(src, FLAT, backdrops.open_backdrop(None), [rec])
    pipe.start()
    assert pipe.wait(30)  # ends by itself at the end of the file
    pipe.stop()
    stats = pipe.stats()
    assert stats["frames_in"] == stats["frames_out"] == 40 and stats["dropped"] == 0
    assert "ended after 40 frames" in pipe.ended
    assert len(decode_all(tmp_path / "out.mp4")) == 40


def test_latency_histogram_percentiles():
    hist = LatencyHistogram()
    assert hist.percentile(50) is None
    for ms in range(1, 101):
        hist.add(float(ms))
    assert hist.percentile(50) == pytest.approx(50.1, abs=0.2) and hist.percentile(99) == pytest.approx(99.1, abs=0.2)
    hist.add(1e6)
    assert hist.total == 101 and hist.percentile(100) == pytest.approx(2000.1, abs=0.2)


# --- sinks -------------------------------------------------------------------
def make_outputs(count: int, w: int = 64, h: int = 48, alpha: bool = False) -> list[Output]:
    demo = sources.DemoSource(w, h, paced=False)
    keyer = Keyer(FLAT)
    outs = []
    for i in range(count):
        raw = demo.render(i * 3)
        if alpha:
            comp = keyer.rgba(raw)
            a = comp[..., 3].copy()
        else:
            a, comp = keyer.composite(raw, np.full_like(raw, 90))
            a, comp = a.copy(), comp.copy()
        outs.append(Output(i, 100.0 + i / 30, raw, a, comp, FLAT))
    return outs


def test_recorder_mp4_decodes_every_frame(tmp_path):
    rec = Recorder(tmp_path / "x.mp4", 64, 48, 30)
    outs = make_outputs(20)
    for o in outs:
        rec.write(o)
    rec.close()
    frames = decode_all(tmp_path / "x.mp4")
    assert len(frames) == 20 and (frames[0].width, frames[0].height) == (64, 48)
    err = np.abs(frames[10].to_ndarray(format="bgr24").astype(int) - outs[10].composite).mean()
    assert err < 6


@pytest.mark.parametrize("suffix, codec", [(".mov", "qtrle"), (".webm", "vp9")])
def test_recorder_keeps_alpha(tmp_path, suffix, codec):
    path = tmp_path / f"x{suffix}"
    rec = Recorder(path, 64, 48, 30, alpha=True)
    outs = make_outputs(8, alpha=True)
    for o in outs:
        rec.write(o)
    rec.close()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == codec
        # FFmpeg's native VP9 decoder drops the alpha side-stream; libvpx decodes it.
        ctx = av.CodecContext.create("libvpx-vp9", "r") if codec == "vp9" else stream.codec_context
        frames = []
        for packet in container.demux(stream):
            if packet.size:
                frames += ctx.decode(packet)
        frames += ctx.decode(None)
    assert len(frames) == 8 and frames[0].format.name in ("argb", "yuva420p")
    alpha = frames[5].to_ndarray(format="bgra")[..., 3].astype(int)
    truth = outs[5].alpha.astype(int)
    assert np.abs(alpha - truth).mean() < 4 and alpha.min() < 10 and alpha.max() > 245
    if codec == "qtrle":  # lossless
        assert np.array_equal(alpha, truth)


@pytest.mark.parametrize("name, alpha, message", [
    ("x.avi", False, "use .mp4"), ("x.mp4", True, "cannot hold transparency"),
    ("missing/x.mp4", False, "does not exist"),
])
def test_recorder_bad_paths(tmp_path, name, alpha, message):
    with pytest.raises(LivekeyError, match=message):
        Recorder(tmp_path / name, 64, 48, 30, alpha=alpha)


def test_recorder_unwritable_path(tmp_path):
    (tmp_path / "x.mp4").mkdir()  # a folder where the file should go
    with pytest.raises(LivekeyError, match="cannot write recording"):
        Recorder(tmp_path / "x.mp4", 64, 48, 30)


def test_failing_sink_stops_alone_and_the_run_goes_on(tmp_path):
    class Broken(SlowSink):
        name = "broken"

        def write(self, output):
            raise OSError(28, "No space left on device")

    rec = Recorder(tmp_path / "ok.mp4", 160, 96, 60)
    messages = []
    pipe = Pipeline(sources.open_source("demo:160x96@60"), FLAT, backdrops.open_backdrop(None), [Broken(), rec])
    pipe.on_message = messages.append
    collect_with(pipe, lambda o, n: None, 30)
    assert any("broken stopped" in m and "No space" in m for m in messages)
    assert len(decode_all(tmp_path / "ok.mp4")) >= 25


@pytest.mark.skipif(any(Path("/sys/module/v4l2loopback").glob("*")), reason="v4l2loopback is loaded here")
def test_virtual_camera_without_backend_names_the_fix():
    with pytest.raises(LivekeyError) as err:
        VirtualCamera(64, 48, 30)
    assert "no virtual camera" in str(err.value) and VCAM_FIX in str(err.value)
    assert "\n" not in str(err.value)


def test_mask_stack_applies_in_the_pipeline_and_changes_live():
    from livekey.masks import MaskStack, parse_mask_spec

    garbage = MaskStack().add(parse_mask_spec("garbage:rect:0,0,0.5,1")[0])  # keep only the left half
    src = sources.open_source("demo:160x96@60")
    pipe = Pipeline(src, FLAT, backdrops.open_backdrop("#0000ff"), masks=garbage)
    swapped = {}

    def swap(output: Output, n: int) -> None:
        if n == 5:
            pipe.update_masks(MaskStack())
            swapped["at"] = output.index

    outputs = collect_with(pipe, swap, 30)
    early, late = outputs[1], outputs[-1]
    assert early.alpha[:, 90:].max() == 0  # the right half is garbage: all screen
    assert late.alpha[:, 90:].max() == 255  # without the mask the subject's right side is back


def test_overlay_goes_over_every_composite():
    logo = np.zeros((20, 40, 4), np.uint8)
    logo[:, 20:] = (0, 0, 255, 255)  # right half opaque red, left half transparent
    src = sources.open_source("demo:160x96@60")
    pipe = Pipeline(src, FLAT, backdrops.open_backdrop("#0000ff"), overlay=logo)
    out = collect_with(pipe, lambda o, n: None, 5)[-1]
    assert (out.composite[:, 100:] == (0, 0, 255)).all()  # covered by the logo's opaque half
    assert (out.composite[:, :60] != (0, 0, 255)).any(axis=2).all()  # the transparent half shows the key
