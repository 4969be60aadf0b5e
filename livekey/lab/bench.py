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
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from livekey import masks as masks_module
from livekey.config.settings import Settings
from livekey.engine import keying, light_wrap, matte, screen
from livekey.engine.keyer import Keyer
from livekey.masks import KEY_LAYER, MaskLayer, MaskStack
from livekey.media import synthetic

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


def composite_step(keyer: Keyer, frames: list[np.ndarray], back: np.ndarray) -> Callable[[], None]:
    """One call keys the next of ``frames`` (cycling) with ``keyer`` and composites it over ``back``
    into buffers made once; returned warmed up (5 frames: the screen estimate refined, kernels loaded)."""
    height, width = back.shape[:2]
    alpha, out = np.empty((height, width), np.uint8), np.empty((height, width, 3), np.uint8)
    counter = iter(range(10**9))

    def step() -> None:
        keyer.composite(frames[next(counter) % len(frames)], back, out=out, alpha_out=alpha)

    for _ in range(5):
        step()
    return step


def measure_size(width: int, height: int, repeats: int = 40, settings: Settings | None = None) -> dict:
    """Median (and mean) ms of the keyer's full default path, of the one-pass fused path (refine and
    edge_color off), and of the kernel alone, plus a frame copy."""
    frames = bench_frames(width, height)
    back = synthetic.backdrop(width, height)
    keyer = Keyer(settings)
    ms, mean_ms = _median_ms(composite_step(keyer, frames, back), repeats)
    edge_keyer = Keyer((settings or Settings()).replace(edge_color=False, refine=False))
    edge_ms, _ = _median_ms(composite_step(edge_keyer, frames, back), repeats)
    alpha, out = np.empty((height, width), np.uint8), np.empty((height, width, 3), np.uint8)
    screen, params = keyer.screen, keying.param_vector(keyer.settings, keyer.key_bgr)
    kernel_ms, _ = _median_ms(lambda: keying.key_composite(frames[0], screen, back, params, alpha, out), repeats)
    copy_ms, _ = _median_ms(lambda: np.copyto(out, frames[0]), repeats)
    return {"ms": round(ms, 3), "mean_ms": round(mean_ms, 3), "fused_ms": round(edge_ms, 3),
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
    solver, stabilizer = matte.EdgeSolver(), matte.Stabilizer(0.7)
    detail = matte.EdgeSolver(restore=True)
    wrap = light_wrap.LightWrap(0.5, 16.0)
    recolour = matte.EdgeSolver(solve=False)
    edge_fg = fg.copy()
    stabilizer(frames[1], alpha)
    work = np.empty_like(alpha)
    table = matte.levels_table(0.1, 0.9)
    seen = screen.SeenScreen()

    def seen_screen() -> None:
        seen.collect(frame, keyed)
        seen.apply(scr, out)

    def fresh(fn):
        def run():
            np.copyto(alpha, keyed)
            fn()
        return run

    steps = {
        "key_frame": lambda: keying.key_frame(frame, scr, params, alpha, fg),
        "auto_screen": lambda: screen.estimate_screen(frame, key, out=out),
        "plate_relight": lambda: screen.relight_plate(frame, scr, key, out=out),
        "seen_screen": seen_screen,  # with the auto screen, once per refresh
        "temporal": fresh(lambda: stabilizer(frame, alpha)),
        "refine": fresh(lambda: solver(frame, scr, alpha, fg, params)),  # with the edge colour
        "refine_chroma_detail": fresh(lambda: detail(frame, scr, alpha, fg, params)),
        "clip": fresh(lambda: matte.clip_levels(alpha, table)),
        "grow_1.5px": fresh(lambda: matte.grow(alpha, 1.5, work)),
        "fill_holes_9px": fresh(lambda: matte.fill_holes(alpha, 9, work)),
        "soften_2px": fresh(lambda: matte.soften(alpha, 2.0)),
        "edge_color": fresh(lambda: recolour(frame, scr, alpha, edge_fg, params)),
        "recover_fg": lambda: keying.recover_foreground(frame, scr, keyed, params, fg),
        "composite": lambda: keying.composite(fg, keyed, back, out),
        "light_wrap": lambda: wrap(keyed, back, out),
        "copy_alpha": lambda: np.copyto(alpha, keyed),
    }
    for fn in steps.values():
        fn()
    return {name: round(_median_ms(fn, repeats)[0], 3) for name, fn in steps.items()}


def ffmpeg_chain_ms(width: int, height: int, frames: int = 40) -> float | None:
    """ms per frame of ffmpeg's chromakey + despill + overlay on the same frames (the median of
    three runs, :func:`ffmpeg_chain_runs`), or None without ffmpeg."""
    runs = ffmpeg_chain_runs(width, height, 3, frames)
    return None if runs is None else round(statistics.median(runs), 3)


def ffmpeg_chain_runs(width: int, height: int, runs: int = 3, frames: int = 40) -> list[float] | None:
    """ms per frame of ffmpeg's chromakey + despill + overlay, one figure per run, or None.

    Both inputs are raw BGR files read from disk; the median of as many runs with a plain overlay
    (no key, no despill) is subtracted so each figure is the keying chain alone.
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
        chain_ms = [run(chain) for _ in range(runs)]
        plain_ms = statistics.median(run(plain) for _ in range(runs))
        return [round(max(ms - plain_ms, 0.0), 3) for ms in chain_ms]


def bench_masks(width: int, height: int, folder: Path, segment_model: str | None = None) -> dict[str, MaskLayer]:
    """One typical layer per mask type, its files written to ``folder``."""
    vignette = np.zeros((height // 4, width // 4), np.uint8)
    cv2.ellipse(vignette, (width // 8, height // 8), (width // 9, height // 7), 0, 0, 360, 255, -1)
    cv2.imwrite(str(folder / "vignette.png"), vignette)
    cv2.imwrite(str(folder / "plate.png"), synthetic.backdrop(width, height))
    layers = {
        "shape": MaskLayer("shape", shape="poly", points=(0.1, 0.0, 0.9, 0.0, 0.95, 1.0, 0.05, 1.0), feather=8.0),
        "image": MaskLayer("image", path=str(folder / "vignette.png"), mode="subtract", invert=True),
        "diff": MaskLayer("diff", plate=str(folder / "plate.png"), mode="intersect"),
    }
    if segment_model:
        layers["segment"] = MaskLayer("segment", model=segment_model)
    return layers


def measure_masks(width: int, height: int, repeats: int = 40, segment_model: str | None = None) -> dict:
    """Per mask type: ms per frame of its stage alone (the merge, and for diff/segment the mask
    itself) and of the keyer's full path with the key plus that one layer. ``none`` is the full
    path split into key + stage + composite with an empty stage, the base the others add to."""
    frames = bench_frames(width, height)
    back = synthetic.backdrop(width, height)
    alpha, out = np.empty((height, width), np.uint8), np.empty((height, width, 3), np.uint8)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        layers = bench_masks(width, height, Path(tmp), segment_model)
        plain = Keyer()
        plain.composite(frames[0], back)
        plain.stages = [lambda frame, a, fg: None]
        counter = iter(range(10**9))
        results["none"] = {"full_ms": round(_median_ms(
            lambda: plain.composite(frames[next(counter) % 3], back, out=out, alpha_out=alpha), repeats)[0], 3)}
        for name, layer in layers.items():
            stack = MaskStack((KEY_LAYER, layer))
            keyer = Keyer(mask_stack=stack)
            keyer.composite(frames[0], back)  # binds the stage: rasters and files load here, once
            a, fg = (x.copy() for x in keyer.matte(frames[0]))
            stage = keyer.stages[-1]
            stage_ms = _median_ms(lambda stage=stage, a=a, fg=fg: stage(frames[0], a, fg), repeats)[0]
            full_ms = _median_ms(lambda keyer=keyer: keyer.composite(frames[next(counter) % 3], back,
                                                                      out=out, alpha_out=alpha), repeats)[0]
            results[name] = {"stage_ms": round(stage_ms, 3), "full_ms": round(full_ms, 3)}
    return results


def run(sizes=SIZES, repeats: int = 40, with_ffmpeg: bool = True, with_masks: bool = False,
        segment_model: str | None = None) -> dict:
    keying.warm_up()
    masks_module.warm_up()
    results: dict[str, dict] = {}
    for w, h in sizes:
        entry = measure_size(w, h, repeats)
        if with_masks:
            entry["masks"] = measure_masks(w, h, repeats, segment_model)
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
             "size        full path (median / mean ms)  kernel ms  copy ms  ffmpeg chain ms  "
             "fused (refine, edge_color off) ms"]
    for size, r in results.items():
        ff = f"{r['ffmpeg_ms']:.1f} ({r['ffmpeg_ratio']}x slower)" if "ffmpeg_ms" in r else "-"
        lines.append(f"{size:<11} {r['ms']:>8.2f} / {r['mean_ms']:<8.2f}            {r['kernel_ms']:>7.2f}"
                     f"  {r['copy_ms']:>7.2f}  {ff:<15}  {r['fused_ms']:.2f}")
    for size, r in results.items():
        if "stages" in r:
            copy = r["stages"]["copy_alpha"]
            lines.append(f"{size} stages (ms; refine/temporal/clip/grow/fill/soften include a {copy}"
                         f" ms matte copy): " + ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items()))
        for name, m in r.get("masks", {}).items():
            stage = f"stage {m['stage_ms']:.2f} ms, " if "stage_ms" in m else ""
            lines.append(f"{size:<11} mask {name:<8} {stage}full path {m['full_ms']:.2f} ms")
    return "\n".join(lines)
