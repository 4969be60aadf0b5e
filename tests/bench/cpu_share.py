"""The live pipeline's CPU share: cores busy (the process's own user + system time over the wall
time of the run, every thread) at 1080p30 and 720p30, with and without H.264 recording, and the
demo source's own share (it draws the frames a camera would deliver) to set against it.

    PYTHONPATH=. python tests/bench/cpu_share.py [--seconds 30] [--modes demo:1920x1080@30 demo:1280x720@30]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from livekey.config.settings import Settings
from livekey.media.backdrops import open_backdrop
from livekey.media.sinks import Recorder
from livekey.media.sources import open_source
from livekey.runtime.pipeline import Pipeline
from livekey.runtime.startup import start_up


def source_share(mode: str, seconds: float) -> float:
    """Cores the paced demo source alone takes (read every frame, nothing else)."""
    source = open_source(mode)
    t0, c0 = time.monotonic(), os.times()
    while time.monotonic() - t0 < seconds:
        source.read()
    c1 = os.times()
    source.close()
    return (c1.user + c1.system - c0.user - c0.system) / (c1.elapsed - c0.elapsed)


def run(mode: str, seconds: float, record: Path | None) -> dict:
    source = open_source(mode)
    sinks = [Recorder(record, *source.size, source.fps)] if record else []
    pipe = Pipeline(source, Settings(), open_backdrop(None), sinks)
    pipe.start()
    pipe.wait(seconds)
    pipe.stop()
    return pipe.stats()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--modes", nargs="+", default=["demo:1920x1080@30", "demo:1280x720@30"])
    args = ap.parse_args()
    start_up()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("mode                recording  cores busy  demo source alone  fps    dropped  p99 ms")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes:
            alone = source_share(mode, min(args.seconds, 10.0))
            for record in (None, Path(tmp, "out.mp4")):
                s = run(mode, args.seconds, record)
                print(f"{mode:<19} {'H.264' if record else 'off':<9}  {s['cpu_share']:>10.2f}  {alone:>17.2f}  "
                      f"{s['fps']:>5.1f}  {s['dropped']:>7}  {s['latency_ms_p99']:>6}", flush=True)


if __name__ == "__main__":
    main()
