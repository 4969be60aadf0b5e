"""How good a per-pixel key can get on the real-material benchmark: the ceiling of issue 23's target.

    PYTHONPATH=. python tests/bench/real_ceiling.py --peers real.json \\
        [--real ../shared/realdata/alphamatting --real ../shared/realdata] [--conditions normal,hard]

``--peers`` is the JSON that ``livekey quality --real ... --json OUT`` writes (the peers'
grid searches are the slow part; this reads their edge errors from it). Per scene, against the
best grid-searched peer, the edge error of:

* ``livekey``: livekey untuned, as ``livekey quality --real`` scores it;
* ``ideal unmix``: a key that knows, at every pixel, the subject's true colour as lit (spill
  included) and the true screen behind it (shadow included), and solves alpha as the projection
  of ``I - S`` on ``F - S``, then the colour as ``(I - (1 - alpha) S) / alpha`` with the key
  channel limited to the larger of the other two: what the noise, 4:2:0 and JPEG leave to any
  two-colour model, given perfect knowledge of both colours;
* ``true alpha``: the truth's alpha with that colour recovery: what the colour alone costs.

No real key knows a hair strand's own colour, so ``ideal unmix`` bounds what a two-colour model
(livekey's edge solve, Keylight's, IBK's) can reach on this set; a target below it is not one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

from livekey.lab import quality
from livekey.lab import real_material as rm

KEY_CHANNEL = {"green": 1, "blue": 0}


def despilled(colour: np.ndarray, screen: str) -> np.ndarray:
    """``colour`` (H, W, 3 BGR float) with the key channel limited to the larger of the other two."""
    k = KEY_CHANNEL[screen]
    others = [c for c in range(3) if c != k]
    out = colour.copy()
    out[..., k] = np.minimum(out[..., k], np.maximum(out[..., others[0]], out[..., others[1]]))
    return out


def recovered_composite(image: np.ndarray, alpha: np.ndarray, screen_bgr: np.ndarray, back: np.ndarray,
                        screen: str) -> np.ndarray:
    """The composite over ``back`` of the colour recovered from ``image`` for ``alpha`` (0..1)."""
    a = alpha[..., None]
    colour = np.clip((image - (1 - a) * screen_bgr) / np.maximum(a, 0.02), 0, 255)
    return a * despilled(colour, screen) + (1 - a) * back


def ideal_alpha(image: np.ndarray, fg: np.ndarray, screen_bgr: np.ndarray) -> np.ndarray:
    """Alpha (0..1) of each pixel as the projection of ``image - screen`` on ``fg - screen``."""
    d = fg - screen_bgr
    return np.clip(((image - screen_bgr) * d).sum(axis=2) / np.maximum((d * d).sum(axis=2), 1.0), 0, 1)


def edge_error(comp: np.ndarray, truth: rm.Truth) -> float:
    return float(np.abs(comp.astype(np.float32) - truth.comp).mean(axis=2)[truth.regions.edge].mean())


def scene_row(obj: rm.RealObject, screen: str, condition: str) -> dict[str, float]:
    placed = rm.place_layers(obj, screen, condition)
    truth = rm.Truth.of(placed.frame)
    image = placed.frame.image.astype(np.float32)
    back = truth.back.astype(np.float32)
    alpha, comp = quality.livekey_key(placed.frame.image, truth.back)
    ideal = ideal_alpha(image, placed.lit_fg, placed.seen_screen)
    return {"livekey": edge_error(comp, truth),
            "ideal unmix": edge_error(recovered_composite(image, ideal, placed.seen_screen, back, screen), truth),
            "true alpha": edge_error(recovered_composite(image, placed.frame.alpha, placed.seen_screen, back,
                                                         screen), truth)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", required=True, help="livekey quality --real ... --json output")
    parser.add_argument("--real", action="append", default=None)
    parser.add_argument("--conditions", default="normal,hard")
    args = parser.parse_args()
    peers = json.loads(Path(args.peers).read_text())
    folders = args.real or ["../shared/realdata/alphamatting", "../shared/realdata"]
    objects = [o for folder in folders for o in rm.load_objects(folder, [n for n in rm._names(folder)
               if n in {k.split("/")[0] for k in peers}] or None)]
    ratios: dict[str, dict[str, list[float]]] = {}
    for condition in args.conditions.split(","):
        for obj in objects:
            for screen in obj.screens:
                scene = f"{obj.name}/{screen}{rm.CONDITIONS[condition].suffix}"
                if scene not in peers:
                    continue
                best = min(peers[scene][p]["edge"] for p in rm.PEERS)
                row = scene_row(obj, screen, condition)
                print(f"{scene:22s} best peer {best:6.2f} " + " ".join(f"{k} {v / best:5.2f}x" for k, v in row.items()),
                      file=sys.stderr)
                for key, value in row.items():
                    ratios.setdefault(condition, {}).setdefault(key, []).append(value / best)
    print("| condition | " + " | ".join(f"{k} / best peer, mean (median)" for k in next(iter(ratios.values()))) + " |")
    print("| --- |" + " ---: |" * len(next(iter(ratios.values()))))
    for condition, by_key in ratios.items():
        cells = [f"{statistics.mean(v):.3f}x ({statistics.median(v):.3f}x)" for v in by_key.values()]
        print(f"| {condition} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
