"""Resident memory of a long headless run: is it flat?

    PYTHONPATH=. python tests/bench/memory_bench.py [--seconds 180] [--source demo:1920x1080@30]

Runs the pipeline recording to a temporary MP4 and samples RSS (from /proc/self/statm) every
5 seconds; prints the samples and the growth from the first minute's median to the last minute's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from livekey.config.settings import Settings
from livekey.media.backdrops import open_backdrop
from livekey.media.sinks import Recorder
from livekey.media.sources import open_source
from livekey.runtime.pipeline import Pipeline


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--source", default="demo:1920x1080@30")
    parser.add_argument("--every", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = open_source(args.source)
        pipe = Pipeline(source, Settings(), open_backdrop(None),
                        [Recorder(Path(tmp) / "m.mp4", *source.size, source.fps)])
        pipe.start()
        samples, start = [], time.monotonic()
        while time.monotonic() - start < args.seconds:
            time.sleep(args.every)
            samples.append((round(time.monotonic() - start), round(rss_mb(), 1)))
        pipe.stop()
    window = max(1, int(60 / args.every))
    first = statistics.median(m for _, m in samples[:window])
    last = statistics.median(m for _, m in samples[-window:])
    stats = pipe.stats()
    print(json.dumps({"samples": samples, "first_minute_mb": first, "last_minute_mb": last,
                      "growth_mb": round(last - first, 1), "frames_out": stats["frames_out"],
                      "dropped": stats["dropped"]}))


if __name__ == "__main__":
    main()
