"""A guided filter on the alpha (He et al.: a local linear fit of the matte to the frame's luma, box
filters, O(N)) in the edge band, against livekey's edge solve, on the synthetic scenes; scored like
``livekey quality`` (edge error as a multiple of OBS's best, the worst scene's holes and leaks).

Two places it could go: on the key alone (``--no-refine``, edge colour on), in place of the solve;
and after the solve. The filter is ``matte.GuidedUpsampler`` at full size (a plain guided filter).
Pixels the filter takes from 0 to visible get their colour from the keyed colour nearby
(normalised convolution), as the edge colour would.

Run: ``PYTHONPATH=. python tests/bench/guided_filter.py``
"""

import cv2
import numpy as np

from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.engine.matte import GuidedUpsampler
from livekey.lab import quality
from livekey.media import synthetic

RADII = (1, 2, 4)
EPS = (1e-4, 1e-3, 1e-2)


def guided(frame: np.ndarray, alpha: np.ndarray, fg: np.ndarray, radius: int, eps: float):
    """(alpha, colour) with the guided filter applied within 2 px of the matte's soft pixels."""
    out = np.empty_like(alpha)
    GuidedUpsampler(radius, eps)(alpha, frame, out)
    soft = ((alpha > 0) & (alpha < 255)).astype(np.uint8)
    band = cv2.dilate(soft, np.ones((5, 5), np.uint8)) > 0
    out = np.where(band, out, alpha)
    a = alpha.astype(np.float32) / 255
    fill = cv2.GaussianBlur(fg.astype(np.float32) * a[..., None], (0, 0), 2) / np.maximum(
        cv2.GaussianBlur(a, (0, 0), 2), 1e-3)[..., None]
    colour = np.where(((alpha == 0) & (out > 0))[..., None], fill, fg.astype(np.float32))
    return out, colour


def main(width: int = 640, height: int = 360) -> None:
    back = synthetic.backdrop(width, height)
    bf = back.astype(np.float32)
    filters = [None] + [(r, e) for r in RADII for e in EPS]
    bases = {"key alone": Settings(refine=False), "after the solve": Settings()}
    rows: dict[str, list] = {}
    for scene, spec in synthetic.SCENES.items():
        f = synthetic.scene(scene, width, height)
        truth, regions = synthetic.truth_composite(f, back), quality.Regions.of(f.alpha)
        _, obs_alpha, obs_comp = quality.obs_best(f, back, truth, regions, spec.screen)
        obs_edge = quality.score(obs_alpha, obs_comp, truth, regions).edge
        for base_name, settings in bases.items():
            keyer = Keyer(settings)
            keyer.matte(f.image)  # a live session's second frame, as livekey quality scores it
            keyed, fg = (x.copy() for x in keyer.matte(f.image))
            for filt in filters:
                alpha, colour = (keyed, fg.astype(np.float32)) if filt is None else guided(f.image, keyed, fg, *filt)
                a = alpha.astype(np.float32)[..., None] / 255
                s = quality.score(alpha, colour * a + bf * (1 - a), truth, regions)
                name = f"{base_name}, " + ("no filter" if filt is None else f"r {filt[0]}, eps {filt[1]:g}")
                rows.setdefault(name, []).append((s.edge / obs_edge, s.holes, s.leaks))
    print("| matte | edge error x OBS best, mean | worst scene | holes % (max) | leaks % (max) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in rows.items():
        v = np.array(values)
        print(f"| {name} | {v[:, 0].mean():.3f} | {v[:, 0].max():.3f} | {v[:, 1].max():.2f} | {v[:, 2].max():.2f} |")


if __name__ == "__main__":
    main()
