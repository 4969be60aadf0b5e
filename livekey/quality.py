"""Key quality on synthetic frames with ground truth, and the comparison with peers.

Scores (:class:`Score`) compare a keyer's composite over a backdrop with the truth composite:

* ``edge``: mean absolute error (0..255 per channel) on the edge band (truth alpha strictly
  between 0 and 1, grown by 2 pixels), where keys differ;
* ``frame``: the same over the whole frame;
* ``holes``: % of solid foreground (truth alpha 1, 2 px from any edge) keyed below 0.9;
* ``leaks``: % of pure screen (truth alpha 0, 2 px from any edge) kept above 0.1.

:func:`report` runs livekey (untuned, auto key colour), OBS Chroma Key v2 at its best
grid-searched settings per scene, and the naive HSV ``inRange`` recipe on every scene.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from livekey import peers, synthetic
from livekey.keyer import Keyer
from livekey.settings import Settings


@dataclass(frozen=True)
class Score:
    edge: float
    frame: float
    holes: float
    leaks: float


@dataclass(frozen=True)
class Regions:
    edge: np.ndarray
    solid: np.ndarray
    clear: np.ndarray

    @classmethod
    def of(cls, alpha: np.ndarray) -> Regions:
        kernel = np.ones((5, 5), np.uint8)
        soft = ((alpha > 0.002) & (alpha < 0.998)).astype(np.uint8)
        edge = cv2.dilate(soft, kernel) > 0
        solid = cv2.erode((alpha >= 0.998).astype(np.uint8), kernel) > 0
        clear = cv2.erode((alpha <= 0.002).astype(np.uint8), kernel) > 0
        return cls(edge, solid, clear)


def score(alpha: np.ndarray, comp: np.ndarray, truth: np.ndarray, regions: Regions) -> Score:
    """Score a keyed ``alpha`` (uint8 or 0..1 float) and ``comp`` against the truth composite."""
    a = alpha.astype(np.float32) / 255.0 if alpha.dtype == np.uint8 else alpha
    err = np.abs(comp.astype(np.float32) - truth).mean(axis=2)
    return Score(
        edge=float(err[regions.edge].mean()),
        frame=float(err.mean()),
        holes=float((a[regions.solid] < 0.9).mean() * 100),
        leaks=float((a[regions.clear] > 0.1).mean() * 100),
    )


def livekey_key(frame: np.ndarray, back: np.ndarray, settings: Settings | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    alpha, comp = Keyer(settings).composite(frame, back)
    return alpha.copy(), comp.copy()


def report(scenes: list[str] | None = None, width: int = 640, height: int = 360,
           seed: int = 0) -> dict[str, dict[str, dict]]:
    """{scene: {keyer: score dict (+ settings for OBS)}} for livekey, OBS (best) and HSV inRange."""
    back = synthetic.backdrop(width, height)
    results: dict[str, dict[str, dict]] = {}
    for name in scenes or list(synthetic.SCENES):
        spec = synthetic.SCENES[name]
        frame = synthetic.render(synthetic.build_layers(spec, width, height, seed), seed=seed + 1)
        truth = synthetic.truth_composite(frame, back)
        regions = Regions.of(frame.alpha)
        row: dict[str, dict] = {}
        row["livekey"] = asdict(score(*livekey_key(frame.image, back), truth, regions))

        screen_bgr = tuple(int(v) for v in np.median(frame.screen.reshape(-1, 3), axis=0))
        pure = (0, 255, 0) if spec.screen == "green" else (255, 0, 0)

        def edge_error(alpha: np.ndarray, comp: np.ndarray, truth=truth, regions=regions) -> float:
            s = score(alpha, comp, truth, regions)
            # The best settings are the lowest edge error that keeps holes and leaks small.
            return s.edge + 10.0 * max(0.0, s.holes - 0.5) + 10.0 * max(0.0, s.leaks - 0.5)

        settings, alpha, comp = peers.obs_best(frame.image, back, [pure, screen_bgr], edge_error)
        row["obs_best"] = asdict(score(alpha, comp, truth, regions)) | {"settings": settings}
        row["hsv_inrange"] = asdict(score(*peers.hsv_in_range(frame.image, back, spec.screen), truth, regions))
        results[name] = row
    return results


def format_table(results: dict[str, dict[str, dict]]) -> str:
    """A Markdown table of a :func:`report`."""
    keyers = ("livekey", "obs_best", "hsv_inrange")
    lines = ["| scene | keyer | edge MAE | frame MAE | holes % | leaks % |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for scene, row in results.items():
        for k in keyers:
            s = row[k]
            lines.append(f"| {scene} | {k} | {s['edge']:.2f} | {s['frame']:.2f} | {s['holes']:.2f} | "
                         f"{s['leaks']:.2f} |")
    return "\n".join(lines)
