"""Speed under load, per threading configuration: `livekey bench --load N` in a fresh process for
each configuration (Numba's threading layer, thread count, OpenMP's wait policy), one after another
in the same run, and one table of the medians and their ratios to each configuration's quiet median.

    PYTHONPATH=. python tests/bench/threading_bench.py [--load 2] [--repeats 200] [--size 1920x1080]
        [--configs default threads1 tbb workqueue active]

The machine is shared: compare rows of one run. ``tbb`` needs the tbb wheel (the ``lab`` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

# name: (environment, Numba's parallel chunk size: 0 static, else dynamic chunks of that many rows)
CONFIGS = {
    "default": ({}, 0),
    "omp": ({"NUMBA_THREADING_LAYER": "omp"}, 0),
    "omp_chunk8": ({"NUMBA_THREADING_LAYER": "omp"}, 8),
    "omp_threads1": ({"NUMBA_THREADING_LAYER": "omp", "NUMBA_NUM_THREADS": "1"}, 0),
    "omp_active": ({"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "ACTIVE"}, 0),
    "tbb": ({"NUMBA_THREADING_LAYER": "tbb"}, 0),
    "tbb_chunk8": ({"NUMBA_THREADING_LAYER": "tbb"}, 8),
    "workqueue": ({"NUMBA_THREADING_LAYER": "workqueue"}, 0),
}
# The bench in a process whose main thread (the one keying) has the chunk size set.
# start_up() first: the chunk size starts Numba's threads, after which tbb can no longer be loaded.
WRAPPER = ("import sys, numba\nfrom livekey.runtime.startup import start_up\nstart_up()\n"
           "if int(sys.argv[1]): numba.set_parallel_chunksize(int(sys.argv[1]))\n"
           "from livekey.cli import main\nsys.exit(main(sys.argv[2:]))\n")


def run(config: str, load: int, repeats: int, size: str, ffmpeg: bool) -> dict:
    environment, chunk = CONFIGS[config]
    env = {**os.environ, **environment}
    cmd = [sys.executable, "-c", WRAPPER, str(chunk), "bench", "--load", str(load), "--repeats", str(repeats),
           "--sizes", size, "--json"] + ([] if ffmpeg else ["--no-ffmpeg"])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--load", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--configs", nargs="+", choices=list(CONFIGS),
                    default=["omp", "omp_threads1", "omp_chunk8", "tbb", "tbb_chunk8", "workqueue"])
    ap.add_argument("--no-ffmpeg", action="store_true")
    args = ap.parse_args()
    print(f"{args.size}, load average before {os.getloadavg()[0]:.1f}; ms per frame min / median / p90 "
          "(median over this configuration's quiet median)")
    for i, config in enumerate(args.configs):
        r = run(config, args.load, args.repeats, args.size, ffmpeg=not args.no_ffmpeg and i == 0)
        if "error" in r:
            print(f"{config:<10} failed: {r['error']}")
            continue
        for load, row in r["loads"].items():
            cells = [f"{config:<10} busy {load}"]
            for name in ("livekey", "ffmpeg"):
                if name in row:
                    s = row[name]
                    cells.append(f"{name} {s['min']:.1f} / {s['median']:.1f} / {s['p90']:.1f} ({s['ratio']:.2f}x)")
            print("  ".join(cells) + f"  loadavg {row['loadavg']}", flush=True)


if __name__ == "__main__":
    main()
