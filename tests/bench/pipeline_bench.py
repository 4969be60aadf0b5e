"""Threaded pipeline against a single-threaded loop (read, key, composite, encode) doing the same work.

    PYTHONPATH=. python tests/bench/pipeline_bench.py [--seconds 20] [--modes demo:1920x1080@30 demo:1280x720@60]

Both record H.264 MP4 of the demo scene keyed over the bundled backdrop, one after the other in the
same run. For the loop, a frame is dropped when the camera clock delivered it while the loop was
busy; latency is capture to the end of the recorder's write in both. The machine may be shared:
compare the two rows of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from livekey.config.settings import Settings
from livekey.engine import keying
from livekey.engine.keyer import Keyer
from livekey.media.backdrops import open_backdrop
from livekey.media.sinks import Recorder
from livekey.media.sources import open_source
from livekey.runtime.frames import Output
from livekey.runtime.pipeline import LatencyHistogram, Pipeline


def threaded(mode: str, seconds: float, out: Path) -> dict:
    source = open_source(mode)
    pipe = Pipeline(source, Settings(), open_backdrop(None), [Recorder(out, *source.size, source.fps)])
    pipe.start()
    pipe.wait(seconds)
    pipe.stop()
    s = pipe.stats()
    return {k: s[k] for k in ("frames_in", "frames_out", "dropped", "fps", "latency_ms_p50", "latency_ms_p99",
                              "process_ms_p50")}


def single_loop(mode: str, seconds: float, out: Path) -> dict:
    source = open_source(mode)
    backdrop = open_backdrop(None)
    keyer = Keyer(Settings())
    rec = Recorder(out, *source.size, source.fps)
    keying.warm_up()
    latency, process = LatencyHistogram(), LatencyHistogram()
    frames, start, index = 0, time.monotonic(), 0
    first = None
    while time.monotonic() - start < seconds:
        frame, captured = source.read()
        first = first if first is not None else captured
        t0 = time.monotonic()
        h, w = frame.shape[:2]
        alpha, comp = keyer.composite(frame, backdrop.frame(frame, None), out=np.empty((h, w, 3), np.uint8),
                                      alpha_out=np.empty((h, w), np.uint8))
        process.add((time.monotonic() - t0) * 1000)
        rec.write(Output(index, captured, frame, alpha, comp))
        latency.add((time.monotonic() - captured) * 1000)
        frames += 1
        index += 1
    span = time.monotonic() - first
    rec.close()
    delivered = int(span * source.fps) + 1  # what the camera clock produced over the run
    return {"frames_in": delivered, "frames_out": frames, "dropped": max(0, delivered - frames),
            "fps": round(frames / span, 2), "latency_ms_p50": latency.percentile(50),
            "latency_ms_p99": latency.percentile(99), "process_ms_p50": process.percentile(50)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--modes", nargs="+", default=["demo:1920x1080@30", "demo:1280x720@60"])
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes:
            results[mode] = {
                "pipeline": threaded(mode, args.seconds, Path(tmp) / "a.mp4"),
                "single_thread_loop": single_loop(mode, args.seconds, Path(tmp) / "b.mp4"),
            }
            print(json.dumps({mode: results[mode]}), flush=True)


if __name__ == "__main__":
    main()
