"""Difference-key quality on synthetic rooms (no screen): livekey's diff layer against the naive
``absdiff > 30`` recipe, scored like ``livekey quality`` (edge/frame MAE, holes %, leaks %).

Run: ``PYTHONPATH=. python tests/bench/diff_key.py [WIDTHxHEIGHT]``
"""

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from livekey.engine.keyer import Keyer
from livekey.lab import quality
from livekey.masks import KEY_LAYER, MaskLayer, MaskStack
from livekey.media import synthetic


def main(width: int = 640, height: int = 360) -> None:
    back = synthetic.backdrop(width, height, seed=3)
    print("| scene | keyer | edge MAE | frame MAE | holes % | leaks % |\n| --- | --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("portrait", "blond", "glass"):
            f, plate = synthetic.room_scene(name, width, height)
            path = str(Path(tmp, f"{name}.png"))
            cv2.imwrite(path, plate)
            truth, regions = synthetic.truth_composite(f, back), quality.Regions.of(f.alpha)
            keyer = Keyer(mask_stack=MaskStack((KEY_LAYER, MaskLayer("diff", plate=path))))
            rows = {"livekey diff": quality.score(*keyer.composite(f.image, back), truth, regions)}
            naive = (cv2.absdiff(f.image, plate).max(axis=2) > 30).astype(np.uint8) * 255
            a = naive[..., None] / 255.0
            comp = (f.image * a + back * (1 - a)).round().astype(np.uint8)
            rows["absdiff > 30"] = quality.score(naive, comp, truth, regions)
            for keyer_name, s in rows.items():
                print(f"| {name} | {keyer_name} | {s.edge:.2f} | {s.frame:.2f} | {s.holes:.2f} | {s.leaks:.2f} |")


if __name__ == "__main__":
    w, h = (int(v) for v in (sys.argv[1] if len(sys.argv) > 1 else "640x360").split("x"))
    main(w, h)
