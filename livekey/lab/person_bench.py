"""Person mode's cost per frame (``livekey bench --person``): each step of the person layer (the
frame onto the canvas; the model on the whole frame and on the person's crop, each with its input
scaling, on each installed runtime; temporal smoothing; guided and bilinear scale-up), the layer as
a whole (a crop run every frame, a whole-frame run every 15th), and the keyer's full path in person
mode beside the plain green-screen key.

Figures are min / median / max ms over ``repeats`` calls, on this process's threads (the keyer's
Numba threads, OpenCV's own pool, one LiteRT thread).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.lab.bench import bench_frames
from livekey.masks import MaskLayer, person, person_model
from livekey.media import synthetic


def _times(fn, repeats: int) -> dict[str, float]:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return {"min": round(min(times), 2), "median": round(statistics.median(times), 2), "max": round(max(times), 2)}


def measure_person(width: int, height: int, repeats: int = 40) -> dict:
    frames = bench_frames(width, height)
    frame = frames[0]
    back = synthetic.backdrop(width, height)
    runtimes = ["litert", "opencv"] if person_model.has_litert() else ["opencv"]
    binding = person.PersonBinding(MaskLayer("person", runtime=runtimes[0]), width, height)
    for _ in range(3):
        binding.mask(frame, frame)
    new = binding.new.copy()
    steps = {"canvas": _times(lambda: person.fit(frame, binding.canvas), repeats)}
    x0, y0, x1, y1 = binding.tracker.crop or (0, 0, binding.canvas.shape[1], binding.canvas.shape[0])
    sx, sy = binding.to_frame
    part = frame[round(y0 * sy):round(y1 * sy), round(x0 * sx):round(x1 * sx)]
    for name in runtimes:
        whole, square = person.ModelInput(binding.model, name), person.ModelInput("square", name)
        steps[f"whole_{name}"] = _times(lambda m=whole: m.run(frame), repeats)
        steps[f"crop_{name}"] = _times(lambda m=square: m.run(part), repeats)
    steps["smooth"] = _times(lambda: binding.smooth(new), repeats)
    steps["upscale_guided"] = _times(lambda: binding.upscale(frame), repeats)
    plain = person.PersonBinding(MaskLayer("person", runtime=runtimes[0], guided=False), width, height)
    plain.mask(frame, frame)
    steps["upscale_bilinear"] = _times(lambda: plain.upscale(frame), repeats)
    steps["layer"] = _times(lambda: binding.mask(frame, frame), repeats)
    out = np.empty((height, width, 3), np.uint8)
    alpha = np.empty((height, width), np.uint8)
    counter = iter(range(10**9))
    for name, keyer in (("full_person", Keyer(Settings(person=True))), ("full_key", Keyer())):
        steps[name] = _times(lambda keyer=keyer: keyer.composite(frames[next(counter) % 3], back, out=out,
                                                                 alpha_out=alpha), repeats)
    return {"model": binding.model, "steps": steps}


def format_person(results: dict) -> str:
    lines = []
    for size, r in results.items():
        lines.append(f"{size} person mode ({r['model']} model), ms min / median / max:")
        for name, t in r["steps"].items():
            lines.append(f"  {name:<17} {t['min']:>7.2f} {t['median']:>7.2f} {t['max']:>7.2f}")
    return "\n".join(lines)
