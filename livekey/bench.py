"""``livekey bench``: milliseconds per frame of the full per-frame path, against a plain copy
and (when ``ffmpeg`` is installed) ffmpeg's chromakey + despill + overlay chain, in one run.

Medians over many frames after warm-up; the machine is shared and noisy, so compare ratios
measured in the same run, not absolute numbers across runs.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from livekey import keying, matte, screen, synthetic
from livekey.keyer import Keyer
from livekey.settings import Settings

SIZES = ((1280, 720), (1920, 1080), (3840, 2160))


def bench_frames(width: int, height: int, count: int = 3) -> list[np.ndarray]:
    """A few different green-screen frames at any size (rendered small, scaled up, noised)."""
    layers = synthetic.build_layers("portrait", 640, 360, seed=3)
    rng = np.random.default_rng(0)
    frames = []
    for i in range(count):
        base = synthetic.render(layers, dx=8.0 * i, seed=i, clean=True).image
        big = cv2.resize(base, (width, height), interpolation=cv2.INTER_LINEAR)
        noise = rng.normal(0, 2.0, big.shape).astype(np.float32)
        frames.append(np.clip(big + noise, 0, 255).astype(np.uint8))
    return frames


def _median_ms(fn, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), statistics.fmean(times)


def measure_size(width: int, height: int, repeats: int = 40, settings: Settings | None = None) -> dict:
    """Median (and mean) ms of the keyer's full path, of it with edge_color on, and of the kernel
    alone, plus a frame copy."""
    frames = bench_frames(width, height)
    back = synthetic.backdrop(width, height)
    keyer = Keyer(settings)
    alpha, out = np.empty((height, width), np.uint8), np.empty((height, width, 3), np.uint8)
    counter = iter(range(10**9))

    def full() -> None:
        keyer.composite(frames[next(counter) % len(frames)], back, out=out, alpha_out=alpha)

    for _ in range(5):
        full()
    ms, mean_ms = _median_ms(full, repeats)
    edge_keyer = Keyer((settings or Settings()).replace(edge_color=True))

    def edge() -> None:
        edge_keyer.composite(frames[next(counter) % len(frames)], back, out=out, alpha_out=alpha)

    for _ in range(5):
        edge()
    edge_ms, _ = _median_ms(edge, repeats)
    screen, params = keyer.screen, keying.param_vector(keyer.settings, keyer.key_bgr)
    kernel_ms, _ = _median_ms(lambda: keying.key_composite(frames[0], screen, back, params, alpha, out), repeats)
    copy_ms, _ = _median_ms(lambda: np.copyto(out, frames[0]), repeats)
    return {"ms": round(ms, 3), "mean_ms": round(mean_ms, 3), "edge_color_ms": round(edge_ms, 3),
            "kernel_ms": round(kernel_ms, 3),
            "copy_ms": round(copy_ms, 3), "stages": stage_costs(frames, back, screen, params, repeats)}


def stage_costs(frames: list[np.ndarray], back: np.ndarray, scr: np.ndarray, params: np.ndarray,
                repeats: int) -> dict[str, float]:
    """Median ms of each step of the staged path (used once any matte setting is on)."""
    h, w = back.shape[:2]
    alpha, fg, out = np.empty((h, w), np.uint8), np.empty((h, w, 3), np.uint8), np.empty((h, w, 3), np.uint8)
    frame = frames[0]
    key = (64, 177, 0)
    keying.key_frame(frame, scr, params, alpha, fg)
    keyed = alpha.copy()
    refiner, stabilizer = matte.EdgeRefiner(4), matte.Stabilizer(0.7)
    estimator = matte.ForegroundEstimator()
    edge_fg = fg.copy()
    stabilizer(frames[1], alpha)
    work = np.empty_like(alpha)
    table = matte.levels_table(0.1, 0.9)

    def fresh(fn):
        def run():
            np.copyto(alpha, keyed)
            fn()
        return run

    steps = {
        "key_frame": lambda: keying.key_frame(frame, scr, params, alpha, fg),
        "auto_screen": lambda: screen.estimate_screen(frame, key, out=out),
        "plate_relight": lambda: screen.relight_plate(frame, scr, key, out=out),
        "temporal": fresh(lambda: stabilizer(frame, alpha)),
        "refine": fresh(lambda: refiner(frame, scr, alpha)),
        "clip": fresh(lambda: matte.clip_levels(alpha, table)),
        "grow_1.5px": fresh(lambda: matte.grow(alpha, 1.5, work)),
        "fill_holes_9px": fresh(lambda: matte.fill_holes(alpha, 9, work)),
        "soften_2px": fresh(lambda: matte.soften(alpha, 2.0)),
        "edge_color": lambda: (np.copyto(edge_fg, fg), estimator(keyed, edge_fg)),
        "recover_fg": lambda: keying.recover_foreground(frame, scr, keyed, params, fg),
        "composite": lambda: keying.composite(fg, keyed, back, out),
        "copy_alpha": lambda: np.copyto(alpha, keyed),
    }
    for fn in steps.values():
        fn()
    return {name: round(_median_ms(fn, repeats)[0], 3) for name, fn in steps.items()}


def ffmpeg_chain_ms(width: int, height: int, frames: int = 40) -> float | None:
    """ms per frame of ffmpeg's chromakey + despill + overlay on the same frames, or None.

    Both inputs are raw BGR files read from disk; a run with a plain overlay (no key, no
    despill) is subtracted so the figure is the keying chain alone.
    """
    exe = shutil.which("ffmpeg")
    if exe is None:
        return None
    imgs = bench_frames(width, height)
    back = synthetic.backdrop(width, height)
    with tempfile.TemporaryDirectory() as tmp:
        src, bg = Path(tmp, "src.bgr"), Path(tmp, "bg.bgr")
        with open(src, "wb") as f:
            for i in range(frames):
                f.write(imgs[i % len(imgs)].tobytes())
        with open(bg, "wb") as f:
            for _ in range(frames):
                f.write(back.tobytes())
        raw = ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", "30"]

        def run(graph: str) -> float:
            cmd = [exe, "-v", "error", "-nostdin", *raw, "-i", str(src), *raw, "-i", str(bg),
                   "-filter_complex", graph, "-f", "null", "-"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            return (time.perf_counter() - t0) * 1000.0 / frames

        key = "0x30B13E"
        chain = f"[0]chromakey={key}:0.12:0.08,despill=type=green[fg];[1][fg]overlay=format=auto"
        plain = "[0]format=yuva420p[fg];[1][fg]overlay=format=auto"
        run(plain)  # warm the page cache
        chain_ms = statistics.median(run(chain) for _ in range(3))
        plain_ms = statistics.median(run(plain) for _ in range(3))
        return round(max(chain_ms - plain_ms, 0.0), 3)


def run(sizes=SIZES, repeats: int = 40, with_ffmpeg: bool = True) -> dict:
    keying.warm_up()
    results: dict[str, dict] = {}
    for w, h in sizes:
        entry = measure_size(w, h, repeats)
        if with_ffmpeg and (w, h) == (1920, 1080):
            ff = ffmpeg_chain_ms(w, h)
            if ff is not None:
                entry["ffmpeg_ms"] = ff
                entry["ffmpeg_ratio"] = round(ff / entry["ms"], 1)
        results[f"{w}x{h}"] = entry
    return results


def format_results(results: dict) -> str:
    import numba

    lines = [f"numba threads: {numba.get_num_threads()}, layer: {numba.threading_layer()}",
             "size        full path (median / mean ms)  kernel ms  copy ms  ffmpeg chain ms  with edge_color ms"]
    for size, r in results.items():
        ff = f"{r['ffmpeg_ms']:.1f} ({r['ffmpeg_ratio']}x slower)" if "ffmpeg_ms" in r else "-"
        lines.append(f"{size:<11} {r['ms']:>8.2f} / {r['mean_ms']:<8.2f}            {r['kernel_ms']:>7.2f}"
                     f"  {r['copy_ms']:>7.2f}  {ff:<15}  {r['edge_color_ms']:.2f}")
    for size, r in results.items():
        if "stages" in r:
            copy = r["stages"]["copy_alpha"]
            lines.append(f"{size} stages (ms; refine/temporal/clip/grow/fill/soften include a {copy}"
                         f" ms matte copy): " + ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items()))
    return "\n".join(lines)
