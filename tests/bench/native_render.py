"""The default path on frames rendered at the size itself, beside ``livekey bench``'s frames.

``livekey bench`` renders its frames at 640x360 and scales them up, so at 1080p their edge band is
three times as wide as a camera's; the edge solve's cost grows with the band. Here the portrait
scene is rendered at the size asked for, with a webcam's degradations (noise, 4:2:0, JPEG), and the
keyer's full default path (key, edge solve, composite over a backdrop) is timed on both kinds of
frame in turns, medians in ms.

Run: ``PYTHONPATH=. python tests/bench/native_render.py [--size 1920x1080] [--repeats 150]``
"""

import argparse
import statistics
import time

import numpy as np

from livekey.engine.keyer import Keyer
from livekey.lab import bench
from livekey.media import synthetic


def rendered_frames(width: int, height: int, count: int = 3) -> list[np.ndarray]:
    """The portrait scene rendered at ``width`` x ``height``, moved 8 px a frame, degraded."""
    layers = synthetic.build_layers("portrait", width, height, seed=3)
    return [synthetic.render(layers, dx=8.0 * i, seed=i).image for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080", help="WxH (default 1920x1080)")
    parser.add_argument("--repeats", type=int, default=150, help="frames timed per kind, in turns")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    back = synthetic.backdrop(width, height)
    kinds = {"rendered at size": rendered_frames(width, height), "bench (scaled up)": bench.bench_frames(width, height)}
    keyers = {kind: Keyer() for kind in kinds}
    out, alpha = np.empty((height, width, 3), np.uint8), np.empty((height, width), np.uint8)
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for i in range(args.repeats + 5):
        for kind, frames in kinds.items():
            t0 = time.perf_counter()
            keyers[kind].composite(frames[i % len(frames)], back, out=out, alpha_out=alpha)
            if i >= 5:  # the first frames warm up the screen estimate
                times[kind].append((time.perf_counter() - t0) * 1000.0)
    for kind, ms in times.items():
        print(f"{args.size} {kind}: default path median {statistics.median(ms):.2f} ms, "
              f"mean {statistics.fmean(ms):.2f} ms")


if __name__ == "__main__":
    main()
