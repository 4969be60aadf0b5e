"""Issue 27's recording targets: what kill -9 leaves of a recording, and what flushing costs.

1. For each container (MP4, MOV, MKV, WebM, and the alpha MOV/WebM), a child records WxH frames
   at FPS in real time through livekey's Recorder for SECONDS, then gets SIGKILL; the file is
   decoded back with PyAV. Reported: seconds recorded, seconds readable (the last decoded frame's
   time), frames decoded.
2. The flush's cost: the same frames are encoded once per container and muxed into two files, one
   with livekey's options (flush_packets, fragment/cluster limits) and one with the options before
   issue 27; reported is the median time muxing a frame's packets in each, and the difference.

Run: ``PYTHONPATH=. python tests/bench/recording_bench.py [SECONDS=10] [WxH=1280x720] [FPS=30]``
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from livekey.media import sinks
from livekey.media.sources import DemoSource

CHILD = textwrap.dedent("""
    import sys, time, types
    import numpy as np
    from livekey.media.sinks import Recorder
    from livekey.media.sources import DemoSource
    path, w, h, fps, alpha = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "a"
    demo = DemoSource(w, h, fps, paced=False)
    frames = [demo.render(i) for i in range(int(fps))]  # a second of motion, rendered before the clock starts
    if alpha:
        frames = [np.dstack([f, np.full(f.shape[:2], 200, np.uint8)]) for f in frames]
    a = np.full((h, w), 255, np.uint8)
    rec = Recorder(path, w, h, fps, alpha=alpha)
    print("ready", flush=True)
    t0, n = time.monotonic(), 0
    while True:
        now = time.monotonic()
        rec.write(types.SimpleNamespace(composite=frames[n % len(frames)], alpha=a, captured_at=now))
        n += 1
        time.sleep(max(0.0, t0 + n / fps - time.monotonic()))
""")
OLD_OPTIONS = {".mp4": {"movflags": "frag_keyframe+empty_moov+default_base_moof"}, ".mkv": {},
               ".mov": {"movflags": "frag_keyframe+empty_moov+default_base_moof"}, ".webm": {}}
CASES = [(".mp4", False), (".mov", False), (".mkv", False), (".webm", False), (".mov", True), (".webm", True)]


def readable_seconds(path: Path) -> tuple[float, int]:
    """(time of the last decodable frame + one frame, frames decoded) of a possibly cut-off file."""
    last, count = 0.0, 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            first = None
            for frame in container.decode(stream):
                t = float(frame.pts * stream.time_base)
                first = t if first is None else first
                last, count = t - first, count + 1
            rate = float(stream.average_rate or 30)
    except av.error.FFmpegError:
        rate = 30.0
    return (last + 1 / rate if count else 0.0), count


def kill_9(folder: Path, suffix: str, alpha: bool, seconds: float, w: int, h: int, fps: float) -> str:
    path = folder / f"k{'-alpha' if alpha else ''}{suffix}"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(w), str(h), str(fps), "a" if alpha else "-"],
                            stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        t0 = time.monotonic()
        time.sleep(seconds)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        ran = time.monotonic() - t0
    finally:
        proc.kill()
    readable, frames = readable_seconds(path)
    return f"| {suffix}{' alpha' if alpha else ''} | {ran:.2f} | {readable:.2f} | {frames} |"


def mux_cost(folder: Path, suffix: str, alpha: bool, w: int, h: int, fps: float, n: int) -> str:
    """Median ms muxing one frame's packets with livekey's options and with the old ones."""
    codec, pix_fmt, with_alpha, options = sinks.FORMATS[suffix]
    if alpha:
        codec, pix_fmt = with_alpha
    demo = DemoSource(w, h, fps, paced=False)
    images = [demo.render(i) for i in range(int(fps))]
    rate = Fraction(fps).limit_denominator(1001)
    outs = []
    for name, opts in (("new", options), ("old", OLD_OPTIONS[suffix])):
        container = av.open(str(folder / f"cost-{name}{suffix}"), "w", options=dict(opts))
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.codec_context.time_base = 1 / rate
        stream.codec_context.gop_size = max(1, round(fps / 2 if suffix == ".webm" else fps))
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "21"}
        elif codec == "libvpx-vp9":
            stream.options = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": "32", "b": "0",
                              "lag-in-frames": "0"}
        outs.append((container, stream, []))
    fmt = "bgra" if alpha else "bgr24"
    for i in range(n):
        img = images[i % len(images)]
        if alpha:
            img = np.dstack([img, np.full(img.shape[:2], 200, np.uint8)])
        for container, stream, times in outs:
            frame = av.VideoFrame.from_ndarray(img, format=fmt)
            frame.pts = i
            packets = stream.encode(frame)
            t0 = time.perf_counter()
            for packet in packets:
                container.mux(packet)
            times.append((time.perf_counter() - t0) * 1000)
    for container, stream, _ in outs:
        for packet in stream.encode(None):
            container.mux(packet)
        container.close()
    new, old = (statistics.median(t) for _, _, t in outs)
    return f"| {suffix}{' alpha' if alpha else ''} | {new:.3f} | {old:.3f} | {new - old:+.3f} |"


def main(argv: list[str]) -> None:
    seconds = float(argv[0]) if argv else 10.0
    w, h = (int(v) for v in (argv[1] if len(argv) > 1 else "1280x720").split("x"))
    fps = float(argv[2]) if len(argv) > 2 else 30.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"kill -9 after {seconds:g} s of {w}x{h}@{fps:g}\n\n| container | recorded s | readable s | frames |\n"
              "| --- | ---: | ---: | ---: |")
        for suffix, alpha in CASES:
            print(kill_9(folder, suffix, alpha, seconds, w, h, fps), flush=True)
        print(f"\nmux time per frame, {w}x{h}, median of 150 frames (ms)\n\n| container | flushed | before | cost |\n"
              "| --- | ---: | ---: | ---: |")
        for suffix, alpha in CASES:
            print(mux_cost(folder, suffix, alpha, w, h, fps, 150), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
