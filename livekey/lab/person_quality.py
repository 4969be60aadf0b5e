"""Person mode's quality, measured: IoU with the true matte, edge error, and flicker on still edges,
beside the green-screen key on the same subjects.

Frames (all without a screen, for the person model):

* ``drawn/<scene>/<backdrop>``: a drawn person scene of :mod:`livekey.media.synthetic` (its true
  alpha known) over a real photo, with the camera model's noise, 4:2:0 and JPEG. The green-screen
  key keys the same scene rendered over its screen (:func:`synthetic.render`).
* ``photo/<backdrop>``: a real photo of a man on a green screen with the screen replaced by a
  real photo. Its true matte is livekey's green-screen key of the photo (default settings), so the
  green-screen key is the truth there by construction; the key's foreground colour is composited.

Flicker: the same still frame seen ``frames`` times with fresh camera noise each time, run through
one keyer (its temporal state on); after :data:`SETTLE` frames, the mean |alpha change| between
successive frames over the true edge band (the pixels within :data:`BAND` px of the true edge), in
0..1 units x 100. The key runs with default settings (``temporal`` off).

Run: ``PYTHONPATH=. python -m livekey.lab.person_quality --real ../shared/realdata`` (the photos are
read in place, never copied).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.masks import LAYER_TYPES, MaskLayer, MaskStack
from livekey.media import synthetic
from livekey.media.images import read_image

BAND = 3  # px either side of the true edge
SETTLE = 2  # frames run before flicker is measured
BACKDROPS = ("backdrop-photo.jpg", "beach.png")
DRAWN = ("portrait", "blond", "olive", "teal")


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to cover width x height, centre-cropped (BGR)."""
    h, w = image.shape[:2]
    s = max(width / w, height / h)
    big = cv2.resize(image[..., :3], (max(width, round(w * s)), max(height, round(h * s))),
                     interpolation=cv2.INTER_AREA)
    y, x = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
    return np.ascontiguousarray(big[y:y + height, x:x + width])


def edge_band(truth: np.ndarray) -> np.ndarray:
    """Pixels within :data:`BAND` px of the true matte's edge (and its soft pixels)."""
    solid = (truth >= 0.5).astype(np.uint8)
    k = np.ones((2 * BAND + 1, 2 * BAND + 1), np.uint8)
    band = cv2.dilate(solid, k) != cv2.erode(solid, k)
    return band | ((truth > 0.02) & (truth < 0.98))


def scores(alpha: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """IoU of the solid parts (alpha >= 0.5) and the mean |alpha error| x 100 in the edge band."""
    a = alpha.astype(np.float32) / 255.0
    p, t = a >= 0.5, truth >= 0.5
    band = edge_band(truth)
    return {"iou": float((p & t).sum() / max((p | t).sum(), 1)),
            "edge_err": float(np.abs(a - truth)[band].mean() * 100)}


def flicker(keyer: Keyer, frames: list[np.ndarray], truth: np.ndarray) -> float:
    """Mean |alpha change| x 100 between successive still frames over the true edge band, after
    :data:`SETTLE` frames (the key refines its screen estimate, the person layer its crop)."""
    band = edge_band(truth)
    for frame in frames[:SETTLE]:
        keyer.matte(frame)
    prev, total = None, 0.0
    for frame in frames[SETTLE:]:
        a = keyer.matte(frame)[0].astype(np.float32) / 255.0
        if prev is not None:
            total += float(np.abs(a - prev)[band].mean())
        prev = a
    return total / (len(frames) - SETTLE - 1) * 100


def noisy(clean: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` camera views of one still picture (float BGR), each with fresh noise."""
    return [synthetic.degrade(clean, np.random.default_rng(100 + i)) for i in range(count)]


def person_keyer(**fields) -> Keyer:
    if not fields:
        return Keyer(Settings(person=True))
    return Keyer(mask_stack=MaskStack((MaskLayer("person", mode="replace", **fields),)))


def measure(clean: np.ndarray, truth: np.ndarray, screen_frames: list[np.ndarray] | None,
            frames: int, **fields) -> dict[str, float]:
    """Person mode on ``clean`` (float BGR, no screen) and, when given, the key on ``screen_frames``."""
    views = noisy(clean, frames)
    first = person_keyer(**fields).matte(views[0])[0]
    row = {f"person_{k}": v for k, v in scores(first, truth).items()}
    row["person_flicker"] = flicker(person_keyer(**fields), views, truth)
    if screen_frames is not None:
        key = Keyer()
        key.matte(screen_frames[0])  # as `livekey key` keys a still: the second pass, screen refined
        row |= {f"key_{k}": v for k, v in scores(key.matte(screen_frames[0])[0], truth).items()}
        row["key_flicker"] = flicker(Keyer(), screen_frames, truth)
    return row


def drawn_rows(backdrops: dict[str, np.ndarray], width: int, height: int, frames: int, **fields) -> dict:
    rows = {}
    for name in DRAWN:
        layers = synthetic.build_layers(name, width, height)
        a = layers.alpha[..., None]
        on_screen = [synthetic.render(layers, seed=100 + i).image for i in range(frames)]
        for bname, back in backdrops.items():
            clean = layers.fg * a + cover(back, width, height).astype(np.float32) * (1 - a)
            rows[f"drawn/{name}/{bname}"] = measure(clean, layers.alpha, on_screen, frames, **fields)
    return rows


def photo_rows(folder: Path, backdrops: dict[str, np.ndarray], frames: int, **fields) -> dict:
    photo = read_image(folder / "greenscreen-photo.jpg", "photo")
    key = Keyer()
    key.matte(photo)
    alpha, fg = (x.copy() for x in key.matte(photo))
    truth = alpha.astype(np.float32) / 255.0
    h, w = truth.shape
    rows = {}
    for bname, back in backdrops.items():
        clean = fg.astype(np.float32) * truth[..., None] + cover(back, w, h).astype(np.float32) * (
            1 - truth[..., None])
        rows[f"photo/{bname}"] = measure(clean, truth, None, frames, **fields)
    return rows


def report(folder: Path, width: int = 1280, height: int = 720, frames: int = 10, **fields) -> dict:
    backdrops = {Path(n).stem: read_image(folder / n, "backdrop") for n in BACKDROPS}
    return drawn_rows(backdrops, width, height, frames, **fields) | photo_rows(folder, backdrops, frames, **fields)


def format_table(rows: dict) -> str:
    cols = ("person_iou", "key_iou", "person_edge_err", "key_edge_err", "person_flicker", "key_flicker")
    lines = ["| frames | " + " | ".join(cols) + " |", "|" + " --- |" * (len(cols) + 1)]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.3f}" if c in row else "(truth)" for c in cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--real", type=Path, required=True, help="the folder holding the real photos")
    p.add_argument("--size", default="1280x720", help="the drawn scenes' size")
    p.add_argument("--frames", type=int, default=10, help="still frames per flicker measurement (the first "
                   f"{SETTLE} settle)")
    p.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                   help="a person layer field to try (e.g. guided=false, smooth=0)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    fields = {}
    for item in args.field:
        name, value = item.split("=", 1)
        fields[name] = LAYER_TYPES["person"].field(name).parse(value)
    w, h = (int(v) for v in args.size.split("x"))
    rows = report(args.real, w, h, args.frames, **fields)
    print(json.dumps(rows, indent=1) if args.json else format_table(rows))


if __name__ == "__main__":
    main()
