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

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.lab import peers
from livekey.media import synthetic


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
    """livekey's (alpha, composite) of a still as a live session keys it from its second frame on:
    the auto screen estimate is refined where the first frame's key saw the screen."""
    keyer = Keyer(settings)
    keyer.composite(frame, back)
    alpha, comp = keyer.composite(frame, back)
    return alpha.copy(), comp.copy()


# livekey's variants in the report: untuned auto key (edge band solved against the foreground
# nearby, with its colour), the one-pass key alone, the key with edge colour only, and the
# scene's clean plate (what ``livekey calibrate`` sets up), and the chroma detail restored in the
# edge band, without and with the plate.
VARIANTS = {"livekey": {}, "livekey_fused": {"edge_color": False, "refine": False},
            "livekey_colour": {"refine": False},
            "livekey_plate": {}, "livekey_detail": {"chroma_detail": True},
            "livekey_detail_plate": {"chroma_detail": True}}
_OBS_CACHE: dict[tuple, tuple] = {}


def obs_best(frame: synthetic.Frame, back: np.ndarray, truth: np.ndarray, regions: Regions,
             screen_colour: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """OBS's (settings, alpha, composite) at its best grid-searched settings for a synthetic frame:
    the lowest edge error that keeps holes and leaks small, keying the pure screen colour or the
    frame's measured one."""
    screen_bgr = tuple(int(v) for v in np.median(frame.screen.reshape(-1, 3), axis=0))
    pure = (0, 255, 0) if screen_colour == "green" else (255, 0, 0)

    def edge_error(alpha: np.ndarray, comp: np.ndarray) -> float:
        s = score(alpha, comp, truth, regions)
        return s.edge + 10.0 * max(0.0, s.holes - 0.5) + 10.0 * max(0.0, s.leaks - 0.5)

    return peers.obs_best(frame.image, back, [pure, screen_bgr], edge_error)


def report(scenes: list[str] | None = None, width: int = 640, height: int = 360,
           seed: int = 0) -> dict[str, dict[str, dict]]:
    """{scene: {keyer: score dict (+ settings for OBS)}} for livekey's variants, OBS (best) and HSV inRange."""
    back = synthetic.backdrop(width, height)
    results: dict[str, dict[str, dict]] = {}
    for name in scenes or list(synthetic.SCENES):
        spec = synthetic.SCENES[name]
        frame = synthetic.render(synthetic.build_layers(spec, width, height, seed), seed=seed + 1)
        truth = synthetic.truth_composite(frame, back)
        regions = Regions.of(frame.alpha)
        row: dict[str, dict] = {}
        with tempfile.TemporaryDirectory() as tmp:
            plate = Path(tmp, "plate.png")
            cv2.imwrite(str(plate), frame.screen)
            for variant, changes in VARIANTS.items():
                settings = Settings(**changes)
                if variant.endswith("_plate"):
                    settings = settings.replace(plate=str(plate))
                row[variant] = asdict(score(*livekey_key(frame.image, back, settings), truth, regions))
        cache_key = (name, width, height, seed)
        if cache_key in _OBS_CACHE:  # the grid search is the slow part; its result depends only on the scene
            row["obs_best"], row["hsv_inrange"] = _OBS_CACHE[cache_key]
            results[name] = row
            continue

        settings, alpha, comp = obs_best(frame, back, truth, regions, spec.screen)
        row["obs_best"] = asdict(score(alpha, comp, truth, regions)) | {"settings": settings}
        row["hsv_inrange"] = asdict(score(*peers.hsv_in_range(frame.image, back, spec.screen), truth, regions))
        _OBS_CACHE[cache_key] = (row["obs_best"], row["hsv_inrange"])
        results[name] = row
    return results


def format_table(results: dict[str, dict[str, dict]]) -> str:
    """A Markdown table of a :func:`report`."""
    keyers = (*VARIANTS, "obs_best", "hsv_inrange")
    lines = ["| scene | keyer | edge MAE | x OBS best | frame MAE | holes % | leaks % |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for scene, row in results.items():
        for k in keyers:
            s = row[k]
            ratio = s["edge"] / row["obs_best"]["edge"]
            lines.append(f"| {scene} | {k} | {s['edge']:.2f} | {ratio:.2f} | {s['frame']:.2f} | {s['holes']:.2f} | "
                         f"{s['leaks']:.2f} |")
    return "\n".join(lines)


def moving_sequence(name: str = "portrait", width: int = 320, height: int = 180, still: int = 8,
                    moving: int = 8, speed: float = 2.5, seed: int = 0) -> list[synthetic.Frame]:
    """A scene held still for ``still`` frames, then moving sideways ``speed`` px per frame; each
    frame has its own sensor noise and compression."""
    layers = synthetic.build_layers(name, width, height, seed)
    offsets = [0.0] * still + [speed * (i + 1) for i in range(moving)]
    return [synthetic.render(layers, dx=dx, seed=seed + 100 + i) for i, dx in enumerate(offsets)]


TEMPORAL_SCENES = ("portrait", "blond", "glass")
TEMPORAL_LABELS = {"frame_by_frame": "frame by frame", "stabilised": "stabilised",
                   "true_motion": "filtered along the true motion", "obs_best": "OBS best, frame by frame"}


def format_temporal(results: dict[str, dict[str, float]]) -> str:
    """A Markdown table of :func:`temporal_report` per scene."""
    lines = ["| scene | keyer | flicker on still edges (dtSSD x100) | on moving edges | moving, the error carried "
             "with the subject taken out | moving, that error alone (a perfect filter) | edge alpha MAE, moving |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for scene, r in results.items():
        for label in TEMPORAL_LABELS:
            lines.append(f"| {scene} | {TEMPORAL_LABELS[label]} | {r[label + '_dt_still']:.2f} | "
                         f"{r[label + '_dt_moving']:.2f} | {r[label + '_dt_moving_carried']:.2f} | "
                         f"{r[label + '_dt_moving_travel']:.2f} | "
                         f"{r[label + '_moving_edge_mae']:.3f} |")
    return "\n".join(lines)


def _livekey_matte(settings: Settings):
    """livekey's key with ``settings`` as a function of a frame: its alpha (0..1), frame after frame."""
    keyer = Keyer(settings)
    return lambda image: keyer.matte(image)[0].astype(np.float32) / 255.0


def _moved(image: np.ndarray, dx: float) -> np.ndarray:
    """``image`` moved ``dx`` pixels sideways (bilinear), as the moving sequence moves its subject."""
    h, w = image.shape[:2]
    return cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, 0]]), (w, h), flags=cv2.INTER_LINEAR)


def _filtered_along_true_motion(alphas: list[np.ndarray], strength: float, still: int,
                                speed: float) -> list[np.ndarray]:
    """A sequence's mattes, each blended with the previous result moved by the subject's true motion
    (``speed`` px sideways a frame from frame ``still`` on): ``a = (1 - strength) a + strength
    moved(previous)``, everywhere. A motion-compensated temporal filter of that strength whose motion
    estimate is perfect; no stabiliser can do better on the moving edges: what it leaves there is
    the matte's own error carried along, which no filter removes."""
    out = [alphas[0]]
    for i in range(1, len(alphas)):
        moved = _moved(out[-1], speed if i >= still else 0.0)
        out.append((1 - strength) * alphas[i] + strength * moved)
    return out


def _obs_matte(first: synthetic.Frame, back: np.ndarray, screen_colour: str):
    """OBS's key at its best settings for ``first`` (:func:`obs_best`), as a function of a frame: its
    alpha, frame by frame."""
    best, _, _ = obs_best(first, back, synthetic.truth_composite(first, back), Regions.of(first.alpha), screen_colour)
    return lambda image: peers.obs_chroma_key(image, back, **best)[0]


def temporal_report(name: str = "portrait", strength: float = 0.7, **kwargs) -> dict[str, float]:
    """Temporal error (dtSSD-like: RMS of the frame-to-frame alpha change minus the truth's change,
    x100, in the edge band) on the still and the moving part of a sequence, stabilised and
    frame-by-frame, and the edge alpha MAE on moving frames (a trail raises it); the same for the
    frame-by-frame key filtered along the subject's true motion at the same strength
    (``true_motion``: the bound of any stabiliser), and for OBS's key at its best settings for the
    first frame (``obs_best``), frame by frame.

    ``dt_moving_carried`` is the moving part's with the previous frame's error (alpha less truth)
    first moved with the subject: what is left once a matte error that travels with the subject
    (no flicker, and nothing a temporal filter could remove) is taken out. ``dt_moving_travel`` is
    the other part: the moving figure of a perfect temporal filter, one whose error each frame is
    the previous frame's moved with the subject."""
    frames = moving_sequence(name, **kwargs)
    still, speed = kwargs.get("still", 8), kwargs.get("speed", 2.5)
    h, w = frames[0].alpha.shape
    mattes = {"frame_by_frame": _livekey_matte(Settings()), "stabilised": _livekey_matte(Settings(temporal=strength)),
              "obs_best": _obs_matte(frames[0], synthetic.backdrop(w, h), synthetic.SCENES[name].screen)}
    alphas = {label: [matte(f.image) for f in frames] for label, matte in mattes.items()}
    alphas["true_motion"] = _filtered_along_true_motion(alphas["frame_by_frame"], strength, still, speed)
    out: dict[str, float] = {}
    for label, sequence in alphas.items():
        prev_e = None
        dt: dict[str, list[float]] = {"still": [], "moving": [], "moving_carried": [], "moving_travel": []}
        mae = []
        for i, f in enumerate(frames):
            e = sequence[i] - f.alpha
            band = Regions.of(f.alpha).edge
            if prev_e is not None:
                part = "still" if i < still else "moving"
                dt[part].append(float(np.sqrt(np.mean((e - prev_e)[band] ** 2)) * 100))
                if i >= still:  # the subject moved between the two frames
                    carried = _moved(prev_e, speed)
                    dt["moving_carried"].append(float(np.sqrt(np.mean((e - carried)[band] ** 2)) * 100))
                    dt["moving_travel"].append(float(np.sqrt(np.mean((carried - prev_e)[band] ** 2)) * 100))
            if i >= still:
                mae.append(float(np.abs(e)[band].mean()))
            prev_e = e
        for part, values in dt.items():
            out[f"{label}_dt_{part}"] = float(np.mean(values))
        out[f"{label}_moving_edge_mae"] = float(np.mean(mae))
    return out
