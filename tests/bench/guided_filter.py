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

from livekey import quality, synthetic
from livekey.keyer import Keyer
from livekey.matte import GuidedUpsampler
from livekey.settings import Settings

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
    variants = {"edge solve (default)": (Settings(), None)}
    for base_name, base in (("key alone", Settings(refine=False)), ("after the solve", Settings())):
        variants[f"{base_name}, no filter"] = (base, None)
        for r in RADII:
            for e in EPS:
                variants[f"{base_name}, r {r}, eps {e:g}"] = (base, (r, e))
    rows: dict[str, list] = {name: [] for name in variants}
    obs = quality.report()
    for scene in synthetic.SCENES:
        f = synthetic.scene(scene, width, height)
        truth, regions = synthetic.truth_composite(f, back), quality.Regions.of(f.alpha)
        for name, (settings, filt) in variants.items():
            keyer = Keyer(settings)
            keyer.matte(f.image)  # a live session's second frame, as livekey quality scores it
            alpha, fg = (x.copy() for x in keyer.matte(f.image))
            colour = fg.astype(np.float32)
            if filt is not None:
                alpha, colour = guided(f.image, alpha, fg, *filt)
            a = alpha.astype(np.float32)[..., None] / 255
            s = quality.score(alpha, colour * a + bf * (1 - a), truth, regions)
            rows[name].append((s.edge / obs[scene]["obs_best"]["edge"], s.holes, s.leaks))
    print("| matte | edge error x OBS best, mean | worst scene | holes % (max) | leaks % (max) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in rows.items():
        v = np.array(values)
        print(f"| {name} | {v[:, 0].mean():.3f} | {v[:, 0].max():.3f} | {v[:, 1].max():.2f} | {v[:, 2].max():.2f} |")


if __name__ == "__main__":
    main()
