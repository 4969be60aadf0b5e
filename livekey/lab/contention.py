"""``livekey bench --load N``: the default path quiet and beside busy processes, in one run.

A streamer's machine is never quiet (OBS encodes, a game runs): this times the full default path at
one size with no extra load, then beside 1..N busy processes (each one core's worth of spinning)
that it starts and stops itself, and ffmpeg's chromakey + despill + overlay chain the same way, so
every ratio compares figures of the same run. Per condition: min, median and p90 over many frames
(livekey) or over runs of 40 frames (ffmpeg, less the median of as many plain overlays), enough to
see a bimodal case; the ratio is each median over the quiet one. The load average around each row
is printed too: "quiet" is only as quiet as the rest of the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from livekey.engine.keyer import Keyer
from livekey.lab import bench
from livekey.media import synthetic

# One core's worth of pure-Python spinning; it stops by itself when its parent is gone (killed
# without a chance to stop it), checking a few hundred times a second.
BUSY = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    for _ in range(100000): pass\n"


@contextmanager
def busy_processes(count: int) -> Iterator[list[subprocess.Popen]]:
    """``count`` processes spinning on a core each, stopped (and reaped) on leaving, whatever happens
    (SIGTERM too: it exits through here)."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY], stdin=subprocess.DEVNULL) for _ in range(count)]
    old = signal.signal(signal.SIGTERM, _exit_on_term) if count else None
    try:
        time.sleep(0.3 if count else 0.0)  # let the scheduler see them
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _exit_on_term(signum, frame) -> None:
    raise SystemExit(128 + signum)


def spread(times: list[float]) -> dict[str, float]:
    """min, median and p90 (ms) of ``times``."""
    values = np.sort(np.asarray(times, np.float64))
    return {"min": round(float(values[0]), 3), "median": round(float(np.median(values)), 3),
            "p90": round(float(np.percentile(values, 90)), 3), "n": int(values.size)}


def keyer_step(width: int, height: int) -> Callable[[], None]:
    """One frame of the full default path (key, refine, composite) at ``width`` x ``height``, frames
    cycling as in ``livekey bench``; warmed up."""
    return bench.composite_step(Keyer(), bench.bench_frames(width, height), synthetic.backdrop(width, height))


def time_frames(step: Callable[[], None], frames: int) -> list[float]:
    """ms of each of ``frames`` calls of ``step``."""
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def measure(width: int = 1920, height: int = 1080, loads: tuple[int, ...] = (0, 1, 2), frames: int = 200,
            ffmpeg_runs: int = 5, with_ffmpeg: bool = True) -> dict:
    """Per load (busy processes started here): livekey's per-frame spread over ``frames`` frames and
    ffmpeg's per-frame spread over ``ffmpeg_runs`` runs of 40 frames; ratios to load 0's medians."""
    from livekey.runtime.startup import start_up

    start_up()  # the thread policy the live pipeline runs with
    step = keyer_step(width, height)
    results: dict = {"size": f"{width}x{height}", "loadavg_before": round(os.getloadavg()[0], 2), "loads": {}}
    for load in loads:
        with busy_processes(load):
            row: dict = {"livekey": spread(time_frames(step, frames))}
            if with_ffmpeg:
                runs = bench.ffmpeg_chain_runs(width, height, ffmpeg_runs)
                if runs is not None:
                    row["ffmpeg"] = spread(runs)
            row["loadavg"] = round(os.getloadavg()[0], 2)
        results["loads"][str(load)] = row
    quiet = results["loads"].get("0")
    for row in results["loads"].values():
        for name in ("livekey", "ffmpeg"):
            if quiet and name in row and name in quiet:
                row[name]["ratio"] = round(row[name]["median"] / quiet[name]["median"], 2)
    return results


def format_contention(results: dict) -> str:
    """The table: one row per load, livekey and ffmpeg min / median / p90 ms and the median's ratio."""
    import numba

    lines = [f"{results['size']}, numba threads {numba.get_num_threads()}, layer {numba.threading_layer()}, "
             f"1-min load average before: {results['loadavg_before']}",
             "busy  livekey min / median / p90 ms (ratio)      ffmpeg chain min / median / p90 ms (ratio)   loadavg"]
    for load, row in results["loads"].items():
        cells = []
        for name in ("livekey", "ffmpeg"):
            s = row.get(name)
            cells.append(f"{s['min']:7.2f} / {s['median']:7.2f} / {s['p90']:7.2f} ({s.get('ratio', 1.0):.2f}x)"
                         if s else f"{'-':<38}")
        lines.append(f"{load:>4}  {cells[0]:<42}  {cells[1]:<42}  {row['loadavg']}")
    return "\n".join(lines)
