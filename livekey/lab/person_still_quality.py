"""Person mode on still images, measured: the live layer's first frame against the still mode
(``still=true``, what ``livekey key`` runs) on the real photo of a man, over real backdrops and at
several places in the frame.

The frames are :mod:`livekey.lab.person_quality`'s ``photo`` rows (``greenscreen-photo.jpg`` with
its screen replaced by a real photo; the true matte is livekey's green-screen key of it), with the
man also moved sideways by :data:`SHIFTS` px and mirrored, so that a change is judged on 20 frames
a backdrop, not on the one it was made for. Each frame gets the camera model's noise, 4:2:0 and
JPEG. The ``command`` column runs ``livekey key FRAME --person -o OUT.png`` itself on the clean
composite written as JPEG (quality 92), at the photo's own place only.

Run: ``PYTHONPATH=. python -m livekey.lab.person_still_quality --real ../shared/realdata`` (add
``--backdrop 'alphamatting/image/*.png'`` for more backdrops; the photos are read in place).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from pathlib import Path

import cv2
import numpy as np

from livekey.engine.keyer import Keyer
from livekey.lab.person_quality import BACKDROPS, cover, noisy, scores
from livekey.masks import MaskLayer, MaskStack
from livekey.media.images import read_image

SHIFTS = (-200, -100, 0, 100, 200)  # px, at the photo's 640x360: the man stays inside the frame
MODES = {"live": {}, "still": {"still": True}}  # the person layer's fields for each column


def the_man(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(foreground colour float32 BGR, true alpha 0..1) of the green-screen photo, by livekey's key."""
    photo = read_image(folder / "greenscreen-photo.jpg", "photo")
    key = Keyer()
    key.matte(photo)  # as `livekey key` keys a still: the second pass, screen refined
    alpha, fg = (x.copy() for x in key.matte(photo))
    return fg.astype(np.float32), alpha.astype(np.float32) / 255.0


def placements(fg: np.ndarray, truth: np.ndarray):
    """(name, fg, truth) for each shift, as it is and mirrored."""
    for dx in SHIFTS:
        f, t = np.roll(fg, dx, axis=1), np.roll(truth, dx, axis=1)
        yield f"{dx:+d}", f, t
        yield f"{dx:+d}m", np.ascontiguousarray(f[:, ::-1]), np.ascontiguousarray(t[:, ::-1])


def layer_iou(frame: np.ndarray, truth: np.ndarray, fields: dict) -> dict[str, float]:
    keyer = Keyer(mask_stack=MaskStack((MaskLayer("person", mode="replace", **fields),)))
    return scores(keyer.matte(frame)[0], truth)


def command_iou(clean: np.ndarray, truth: np.ndarray) -> float:
    """IoU of ``livekey key photo.jpg --person -o out.png`` on ``clean`` written as a JPEG."""
    from livekey.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "photo.jpg", Path(tmp) / "out.png"
        cv2.imwrite(str(src), np.clip(clean + 0.5, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 92])
        with contextlib.redirect_stdout(io.StringIO()):
            main(["key", str(src), "--person", "-o", str(out)])
        return scores(cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., 3], truth)["iou"]


def rows(folder: Path, backdrops: list[Path]) -> dict[str, dict[str, float]]:
    """{"<backdrop>/<place>": {"<mode>_iou", "<mode>_edge_err", ..., "command_iou" at +0}}."""
    fg, truth = the_man(folder)
    h, w = truth.shape
    out = {}
    for path in backdrops:
        back = cover(read_image(path, "backdrop"), w, h).astype(np.float32)
        for place, f, t in placements(fg, truth):
            clean = f * t[..., None] + back * (1 - t[..., None])
            frame = noisy(clean, 1)[0]
            row = {}
            for mode, fields in MODES.items():
                row |= {f"{mode}_{k}": v for k, v in layer_iou(frame, t, fields).items()}
            if place == "+0":
                row["command_iou"] = command_iou(clean, t)
            out[f"{path.stem}/{place}"] = row
    return out


def summary(table: dict[str, dict[str, float]], groups: dict[str, list[str]]) -> str:
    """Per group of backdrops: frames, and for each mode the mean and lowest IoU, how many reach 0.95,
    and the mean edge error."""
    lines = ["| backdrops | frames | " + " | ".join(f"{m}: IoU mean, min, >= 0.95; edge error" for m in MODES) + " |",
             "|" + " --- |" * (len(MODES) + 2)]
    for group, stems in groups.items():
        picked = [row for name, row in table.items() if name.split("/")[0] in stems]
        cells = []
        for mode in MODES:
            iou = np.array([row[f"{mode}_iou"] for row in picked])
            edge = np.mean([row[f"{mode}_edge_err"] for row in picked])
            cells.append(f"{iou.mean():.3f}, {iou.min():.3f}, {(iou >= 0.95).sum()}; {edge:.1f}")
        lines.append(f"| {group} | {len(picked)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--real", type=Path, required=True, help="the folder holding the real photos")
    p.add_argument("--backdrop", action="append", default=[], metavar="GLOB",
                   help="more backdrops, a glob under --real (e.g. 'alphamatting/image/*.png')")
    args = p.parse_args(argv)
    groups = {Path(n).stem: [Path(n).stem] for n in BACKDROPS}
    paths = [args.real / n for n in BACKDROPS]
    for pattern in args.backdrop:
        found = sorted(args.real.glob(pattern))
        groups[pattern] = [f.stem for f in found]
        paths += found
    table = rows(args.real, paths)
    cols = list(dict.fromkeys(c for row in table.values() for c in row))
    print("| frame | " + " | ".join(cols) + " |\n|" + " --- |" * (len(cols) + 1))
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.3f}" if c in row else "" for c in cols) + " |")
    print()
    print(summary(table, groups))


if __name__ == "__main__":
    main()
