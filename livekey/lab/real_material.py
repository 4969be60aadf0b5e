"""Key quality on real material: photographed objects with ground-truth alpha over simulated screens.

A folder holds either photos with their alpha (``image/NAME.png`` + ``alpha/NAME.png``, the layout
of the alphamatting.com set), whose foreground colour is estimated with pymatting's
``estimate_foreground_ml`` (cached in ``$XDG_CACHE_HOME/livekey/real``, keyed by the files' hash),
or objects whose colour is already known (``NAME_foreground.png`` + ``NAME_alpha.png``, like
pymatting's lemur). Each object is scaled to at most :data:`LONG_SIDE` px on its long side
(premultiplied area averaging) and placed over a simulated green and/or blue screen with the
camera model of :mod:`livekey.media.synthetic`: uneven light and falloff, the subject's shadow (offset,
blurred, and running on past the frame where the object is cut off by it), screen light spilling
onto the subject near its edges, noise, 4:2:0 and JPEG. Light level, falloff, shadow and spill are
drawn per scene from a seed fixed by the scene's name, so every run sees the same frames. Each
object is placed under each of :data:`CONDITIONS`: ``normal`` (a well-lit screen, scene
``NAME/green``) and ``hard`` (low, strongly uneven light, a deep shadow right beside the subject,
more spill, noise and JPEG: ``NAME/green-hard``). Objects that are or hold green go over blue
only, objects holding blue over green only.

Keyers (:data:`KEYERS`): livekey untuned (default settings, auto key colour, as ``livekey key``
keys a still); OBS Chroma Key v2, ffmpeg's ``chromakey`` and the HSV ``inRange`` recipe, each
grid-searched per scene on the score itself (edge error + 10 x holes and leaks over 0.5%). The
search reads every edge-band pixel and up to :data:`SAMPLE` solid and clear ones, first on a
coarse grid, then twice on a grid half as wide around the best point (:func:`grid_search`):

* OBS: key colour pure or measured (the clean plate's median) x similarity 0.05..0.5 (10) x
  smoothness 0.01..0.3 (7) x spill 0.03..0.5 (5) (``peers.OBS_GRID``), then refined;
* ffmpeg: key colour pure or measured x similarity 0.02..0.3 (10) x blend 0..0.2 (8), refined;
* HSV: hue centred on the measured screen's, half-width 6..36 (6) x saturation floor 20..140 (6)
  x value floor 10..90 (5), refined.

Beyond :class:`quality.Score` each keyer gets ``soft_bias`` (mean keyed alpha less the truth on
pixels whose truth is 0.05..0.5: negative = too transparent) and ``seams`` (x100: in the edge band,
the mean |step| of the alpha error across the 4 px block boundaries that are not JPEG's 8 px ones,
less the mean step inside blocks; about 0 without per-block decisions).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from livekey.engine.status import status_view
from livekey.errors import LivekeyError
from livekey.lab import peers, quality
from livekey.media import images, synthetic

LONG_SIDE = 640  # px: objects are scaled down to this long side for speed (the set is ~800 px)
SAMPLE = 20000  # pixels of each region (edge, solid, clear) the peers' grid search reads
# From the set's README: green objects, or holding green, go over blue; those holding blue over green.
BLUE_ONLY = {"GT09", "GT13", "GT18", "GT19", "GT20", "GT21", "GT23", "GT27"}
GREEN_ONLY = {"GT06", "GT24"}


@dataclass
class RealObject:
    """A real object at working size: straight colour (float32 BGR 0..255), alpha (0..1), the screens
    it goes over."""

    name: str
    fg: np.ndarray
    alpha: np.ndarray
    screens: tuple[str, ...]


# --- loading -----------------------------------------------------------------
def _read_alpha(path: Path) -> np.ndarray:
    img = images.read_image(path, "alpha")
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0


def cache_dir() -> Path:
    """Where estimated foregrounds are kept (outside any repository)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "livekey" / "real"


def estimate_foreground(image_path: Path, alpha_path: Path) -> np.ndarray:
    """The object's straight colour (float32 BGR 0..255) by pymatting's ``estimate_foreground_ml``,
    cached on disk under the hash of both files."""
    digest = hashlib.sha256(image_path.read_bytes() + alpha_path.read_bytes()).hexdigest()[:16]
    cached = cache_dir() / f"{image_path.stem}-{digest}-fg.png"
    if cached.exists():
        return cv2.imread(str(cached), cv2.IMREAD_UNCHANGED).astype(np.float32) / 257.0
    try:
        from pymatting import estimate_foreground_ml
    except ImportError:
        raise LivekeyError("the real-material benchmark needs pymatting: pip install 'livekey[lab]'") from None
    rgb = images.read_image(image_path, "image")[..., ::-1].astype(np.float64) / 255.0
    fg = estimate_foreground_ml(rgb, _read_alpha(alpha_path).astype(np.float64))
    bgr = np.clip(fg[..., ::-1], 0, 1)
    cached.parent.mkdir(parents=True, exist_ok=True)
    sixteen = np.round(bgr * 65535).astype(np.uint16)
    cv2.imwrite(str(cached), sixteen)
    return sixteen.astype(np.float32) / 257.0  # as the cache gives it back: the first run scores the same


def _fit(fg: np.ndarray, alpha: np.ndarray, long_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Colour and alpha scaled to ``long_side`` (premultiplied area average), if larger."""
    h, w = alpha.shape
    scale = long_side / max(h, w)
    if scale >= 1:
        return fg, alpha
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    a = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    pre = cv2.resize(fg * alpha[..., None], size, interpolation=cv2.INTER_AREA)
    out = pre / np.maximum(a, 1e-6)[..., None]
    return np.clip(out, 0, 255).astype(np.float32), np.clip(a, 0, 1).astype(np.float32)


def screens_for(name: str, fg: np.ndarray, alpha: np.ndarray) -> tuple[str, ...]:
    """The screens an object goes over: the set's own lists, else by its colour (over 2% of its
    solid-ish pixels plainly green -> blue only; plainly blue -> green only)."""
    if name in BLUE_ONLY:
        return ("blue",)
    if name in GREEN_ONLY:
        return ("green",)
    b, g, r = (fg[..., c][alpha > 0.5] for c in range(3))
    if b.size == 0:
        return ("green", "blue")
    green = float(((g > r + 25) & (g > b + 25)).mean())
    blue = float(((b > r + 25) & (b > g + 25)).mean())
    if max(green, blue) <= 0.02:
        return ("green", "blue")
    return ("blue",) if green >= blue else ("green",)


def _pairs(folder: Path) -> list[tuple[str, Path | None, Path | None, Path]]:
    """(name, photo or None, known foreground or None, alpha) for every object in ``folder``."""
    found = []
    if (folder / "image").is_dir():
        for image in sorted((folder / "image").glob("*.png")):
            alpha = folder / "alpha" / image.name
            if not alpha.exists():
                raise LivekeyError(f"{image} has no ground truth {alpha}; every photo needs its alpha")
            found.append((image.stem, image, None, alpha))
    for fg in sorted(folder.glob("*_foreground.png")):
        name = fg.name[: -len("_foreground.png")]
        alpha = folder / f"{name}_alpha.png"
        if not alpha.exists():
            raise LivekeyError(f"{fg} has no ground truth {alpha}; every object needs its alpha")
        found.append((name, None, fg, alpha))
    return found


def load_objects(folder: str | Path, names: list[str] | None = None,
                 long_side: int = LONG_SIDE) -> list[RealObject]:
    """The objects of a folder (see the module's docstring), optionally only those ``names``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LivekeyError(f"real-material folder {folder} does not exist or is not a folder")
    pairs = _pairs(folder)
    if not pairs:
        raise LivekeyError(f"{folder} holds no image/NAME.png with alpha/NAME.png, nor NAME_foreground.png "
                           "with NAME_alpha.png")
    if names:
        unknown = sorted(set(names) - {p[0] for p in pairs})
        if unknown:
            raise LivekeyError(f"no scene {', '.join(unknown)} in {folder}; it has {', '.join(p[0] for p in pairs)}")
        pairs = [p for p in pairs if p[0] in names]
    objects = []
    for name, image, known_fg, alpha_path in pairs:
        alpha = _read_alpha(alpha_path)
        fg = (estimate_foreground(image, alpha_path) if image is not None
              else images.read_image(known_fg, "foreground").astype(np.float32))
        if fg.shape[:2] != alpha.shape:
            raise LivekeyError(f"{alpha_path} is {alpha.shape[1]}x{alpha.shape[0]} but its object is "
                               f"{fg.shape[1]}x{fg.shape[0]}; they must match")
        fg, alpha = _fit(fg, alpha, long_side)
        objects.append(RealObject(name, fg, alpha, screens_for(name, fg, alpha)))
    return objects


# --- placing over a screen -------------------------------------------------------
def shadow_layer(alpha: np.ndarray, depth: float, dx: float, dy: float) -> np.ndarray:
    """The subject's shadow as a multiplier on the screen light (1 = none, ``depth`` = the darkest):
    its silhouette moved by (dx, dy) px and blurred. The frame's edge rows and columns are carried
    on outward, so an object cut off by the frame casts a shadow that runs on past it too."""
    h, w = alpha.shape
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    cast = cv2.warpAffine(alpha, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    k = max(3, (w // 25) | 1)
    cast = cv2.GaussianBlur(cast, (k, k), 0, borderType=cv2.BORDER_REPLICATE)
    return 1 - (1 - depth) * cast


@dataclass(frozen=True)
class Condition:
    """How a scene is lit and filmed: each pair is the (low, high) range a scene's seed draws from.

    ``level`` scales the screen's colour (and, where ``subject_lit``, the subject's too: the whole
    exposure drops); ``falloff`` is the light's fall towards the corners (``synthetic.screen_light``);
    ``gradient`` is a linear light ramp across the frame in a random direction (0.3 = from 0.85 to
    1.15 of the light); ``depth`` is the light the subject's shadow leaves on the screen, cast ``dx``
    of the width sideways and ``dy`` of the height down; ``spill`` is the share of screen light on
    the subject near its edges; ``noise`` is the sensor noise (0..255 sd) and ``jpeg`` the quality."""

    suffix: str
    level: tuple[float, float]
    falloff: tuple[float, float]
    depth: tuple[float, float]
    spill: tuple[float, float]
    dx: tuple[float, float]
    dy: tuple[float, float]
    gradient: tuple[float, float] = (0.0, 0.0)
    noise: tuple[float, float] = (2.5, 2.5)
    jpeg: tuple[int, int] = (88, 88)
    subject_lit: bool = False


CONDITIONS: dict[str, Condition] = {
    # A well-lit screen with mild falloff: the subject at the photo's own exposure.
    "normal": Condition("", level=(0.75, 1.05), falloff=(0.2, 0.45), depth=(0.45, 0.75), spill=(0.12, 0.28),
                        dx=(0.05, 0.1), dy=(0.01, 0.04)),
    # A badly lit room: the whole frame at half exposure and noisier, strong falloff and a light ramp,
    # a deep shadow right beside the subject (dark hair on a dark screen), more spill, JPEG ~80.
    "hard": Condition("-hard", level=(0.4, 0.6), falloff=(0.5, 0.7), depth=(0.3, 0.5), spill=(0.3, 0.45),
                      dx=(0.01, 0.03), dy=(0.005, 0.015), gradient=(0.3, 0.5), noise=(4.0, 5.0),
                      jpeg=(78, 82), subject_lit=True),
}


def _ramp(h: int, w: int, strength: float, angle: float) -> np.ndarray:
    """A linear light ramp across the frame, 1 - strength/2 .. 1 + strength/2, along ``angle`` (rad)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.cos(angle) * (xx / w - 0.5) + np.sin(angle) * (yy / h - 0.5)
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6) - 0.5
    return (1 + strength * t).astype(np.float32)


def place(obj: RealObject, screen: str, condition: str = "normal") -> synthetic.Frame:
    """``obj`` over a simulated ``screen`` ("green" or "blue") as a webcam sees it under one of
    :data:`CONDITIONS`; deterministic (the seed is the scene's name, ``NAME/screen`` + the suffix)."""
    return place_layers(obj, screen, condition).frame


@dataclass
class Placed:
    """A placed scene and what the camera saw before its faults: the subject's colour as lit, with
    the screen's spill on it (``lit_fg``), and the screen as lit, with the subject's shadow
    (``seen_screen``); both float32 0..255, (H, W, 3). What an ideal key would know."""

    frame: synthetic.Frame
    lit_fg: np.ndarray
    seen_screen: np.ndarray


def place_layers(obj: RealObject, screen: str, condition: str = "normal") -> Placed:
    """:func:`place`, with the layers it composed (see :class:`Placed`)."""
    cond = CONDITIONS[condition]
    rng = np.random.default_rng(zlib.crc32(f"{obj.name}/{screen}{cond.suffix}".encode()))
    h, w = obj.alpha.shape
    level, falloff = rng.uniform(*cond.level), rng.uniform(*cond.falloff)
    depth, spill_share = rng.uniform(*cond.depth), rng.uniform(*cond.spill)
    base = tuple(v * level for v in synthetic.SCREEN_BGR[screen])
    lit = synthetic.screen_light(w, h, base, falloff, rng)
    blur = max(3, (w // 40) | 1)
    outside = cv2.GaussianBlur(1 - obj.alpha, (blur, blur), 0, borderType=cv2.BORDER_REPLICATE)
    dx = w * rng.uniform(*cond.dx) * rng.choice((-1, 1))
    shadow = shadow_layer(obj.alpha, depth, dx, h * rng.uniform(*cond.dy))
    seed = int(rng.integers(1 << 30))
    # Drawn after the seed, so the normal condition's frames are those of before conditions existed.
    ramp = _ramp(h, w, rng.uniform(*cond.gradient), rng.uniform(0, 2 * np.pi))
    noise, jpeg = rng.uniform(*cond.noise), int(rng.integers(cond.jpeg[0], cond.jpeg[1] + 1))
    fg = obj.fg * (level * ramp)[..., None] if cond.subject_lit else obj.fg
    lit = lit * ramp[..., None]
    spill = (spill_share * outside)[..., None] * lit
    # synthetic.render's composite and camera, with this condition's noise and JPEG quality.
    a = obj.alpha[..., None]
    seen = (fg + spill) * a + lit * shadow[..., None] * (1 - a)
    image = synthetic.degrade(seen, np.random.default_rng(seed), noise=noise, jpeg=jpeg)
    plate = np.clip(lit + 0.5, 0, 255).astype(np.uint8)
    frame = synthetic.Frame(image=image, alpha=obj.alpha, fg=np.minimum(fg, 255), screen=plate)
    return Placed(frame, (fg + spill).astype(np.float32), (lit * shadow[..., None]).astype(np.float32))


# --- scoring -------------------------------------------------------------------
@dataclass
class Truth:
    """A placed frame, its backdrop and truth composite, regions, and the pixels the grid search reads."""

    frame: synthetic.Frame
    back: np.ndarray
    comp: np.ndarray
    regions: quality.Regions
    pick: np.ndarray  # flat pixel indices: edge, then solid, then clear
    n_edge: int
    n_solid: int

    @classmethod
    def of(cls, frame: synthetic.Frame) -> Truth:
        h, w = frame.alpha.shape
        back = synthetic.backdrop(w, h)
        regions = quality.Regions.of(frame.alpha)
        rng = np.random.default_rng(0)
        parts = []
        for mask in (regions.edge, regions.solid, regions.clear):
            idx = np.flatnonzero(mask)
            parts.append(np.sort(rng.choice(idx, SAMPLE, replace=False)) if idx.size > SAMPLE else idx)
        return cls(frame, back, synthetic.truth_composite(frame, back), regions, np.concatenate(parts),
                   parts[0].size, parts[1].size)

    def sampled(self, image: np.ndarray) -> np.ndarray:
        """``image``'s values at the sampled pixels, (n, channels) float32."""
        return image.reshape(image.shape[0] * image.shape[1], -1)[self.pick].astype(np.float32)

    def cost(self, alpha: np.ndarray, colour: np.ndarray) -> float:
        """The search's objective from sampled alpha (n,) and the edge pixels' keyed colour (n_edge, 3)."""
        ne, ns = self.n_edge, self.n_solid
        a = alpha[:ne, None]
        comp = colour * a + self._back_edge * (1 - a)
        edge = float(np.abs(comp - self._truth_edge).mean())
        holes = float((alpha[ne:ne + ns] < 0.9).mean() * 100) if ns else 0.0
        leaks = float((alpha[ne + ns:] > 0.1).mean() * 100) if alpha.size > ne + ns else 0.0
        return edge + 10.0 * max(0.0, holes - 0.5) + 10.0 * max(0.0, leaks - 0.5)

    def __post_init__(self) -> None:
        self._back_edge = self.sampled(self.back)[: self.n_edge]
        self._truth_edge = self.sampled(self.comp)[: self.n_edge]


def grid_search(grid: dict[str, tuple[float, ...]], cost: Callable[[dict], float],
                rounds: int = 2) -> tuple[dict, float]:
    """The lowest ``cost(params)`` over ``grid``, then ``rounds`` times over the midpoints between the
    best point and its neighbours on each axis (a grid half as wide each round)."""
    axes = {k: sorted(v) for k, v in grid.items()}
    best, best_cost = None, np.inf
    for combo in itertools.product(*axes.values()):
        params = dict(zip(axes, combo, strict=True))
        c = cost(params)
        if c < best_cost:
            best, best_cost = params, c
    span = {}
    for k, vals in axes.items():
        i = vals.index(best[k])
        span[k] = (vals[max(i - 1, 0)], vals[min(i + 1, len(vals) - 1)])
    for _ in range(rounds):
        local = {k: sorted({(span[k][0] + best[k]) / 2, best[k], (best[k] + span[k][1]) / 2}) for k in axes}
        centre = dict(best)
        for combo in itertools.product(*local.values()):
            params = dict(zip(local, combo, strict=True))
            c = cost(params)
            if c < best_cost:
                best, best_cost = params, c
        span = {k: ((span[k][0] + centre[k]) / 2, (centre[k] + span[k][1]) / 2) for k in axes}
    return best, best_cost


def _key_colours(truth: Truth, screen: str) -> list[tuple[int, int, int]]:
    """The pure screen colour and the one the clean plate measures (the eyedropper's pick)."""
    measured = tuple(int(v) for v in np.median(truth.frame.screen.reshape(-1, 3), axis=0))
    return [(0, 255, 0) if screen == "green" else (255, 0, 0), measured]


def _best_over_keys(truth: Truth, screen: str, distance, search) -> dict:
    """The best settings over both key colours: ``search(sampled distance) -> (params, cost)``."""
    best, best_cost = None, np.inf
    for key in _key_colours(truth, screen):
        params, c = search(truth.sampled(distance(truth.frame.image, key))[:, 0])
        if c < best_cost:
            best, best_cost = params | {"key_bgr": key}, c
    return best


def obs_best(truth: Truth, screen: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """OBS Chroma Key v2 at its best grid-searched settings: (settings, alpha, composite)."""
    bgr = truth.sampled(truth.frame.image)
    edge = bgr[: truth.n_edge]
    luma = (edge[:, ::-1] @ peers._LUMA)[:, None]

    def search(d: np.ndarray):
        def cost(p: dict) -> float:
            base = d - p["similarity"]
            alpha = np.clip(base / p["smoothness"], 0, 1) ** 1.5
            keep = (np.clip(base[: truth.n_edge] / p["spill"], 0, 1) ** 1.5)[:, None]
            return truth.cost(alpha, luma + (edge - luma) * keep)
        return grid_search(peers.OBS_GRID, cost)

    best = _best_over_keys(truth, screen, peers.obs_chroma_distance, search)
    alpha, comp = peers.obs_chroma_key(truth.frame.image, truth.back, **best)
    return best, alpha, comp


FFMPEG_GRID = {"similarity": (0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3),
               "blend": (0.0, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2)}


def ffmpeg_best(truth: Truth, screen: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """ffmpeg's chromakey at its best grid-searched similarity and blend: (settings, alpha, composite)."""
    edge = truth.sampled(truth.frame.image)[: truth.n_edge]

    def search(d: np.ndarray):
        return grid_search(FFMPEG_GRID, lambda p: truth.cost(peers.ffmpeg_alpha(d, p["similarity"], p["blend"]), edge))

    best = _best_over_keys(truth, screen, peers.ffmpeg_chroma_distance, search)
    alpha, comp = peers.ffmpeg_chromakey(truth.frame.image, truth.back, **best)
    return best, alpha, comp


HSV_GRID = {"half_width": (6, 10, 15, 20, 27, 36), "s_min": (20, 40, 60, 85, 110, 140),
            "v_min": (10, 25, 40, 60, 90)}


def _hsv_bounds(centre: int, p: dict) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    w = int(round(p["half_width"]))
    return ((max(centre - w, 0), int(round(p["s_min"])), int(round(p["v_min"]))), (min(centre + w, 179), 255, 255))


def hsv_best(truth: Truth, screen: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """The HSV ``inRange`` recipe at its best grid-searched bounds around the measured screen's hue."""
    measured = np.uint8([[_key_colours(truth, screen)[1]]])
    centre = int(cv2.cvtColor(measured, cv2.COLOR_BGR2HSV)[0, 0, 0])
    hsv = truth.sampled(cv2.cvtColor(truth.frame.image, cv2.COLOR_BGR2HSV))
    edge = truth.sampled(truth.frame.image)[: truth.n_edge]

    def cost(p: dict) -> float:
        lo, hi = _hsv_bounds(centre, p)
        inside = np.all((hsv >= lo) & (hsv <= hi), axis=1)
        return truth.cost((~inside).astype(np.float32), edge)

    params, _ = grid_search(HSV_GRID, cost)
    bounds = _hsv_bounds(centre, params)
    alpha, comp = peers.hsv_in_range(truth.frame.image, truth.back, bounds=bounds)
    return {"low": bounds[0], "high": bounds[1]}, alpha, comp


def livekey_untuned(truth: Truth, screen: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """livekey with default settings and the auto key colour, as ``livekey key`` keys a still."""
    alpha, comp = quality.livekey_key(truth.frame.image, truth.back)
    return {}, alpha, comp


KEYERS: dict[str, Callable[[Truth, str], tuple[dict, np.ndarray, np.ndarray]]] = {
    "livekey": livekey_untuned, "obs_best": obs_best, "ffmpeg_best": ffmpeg_best, "hsv_best": hsv_best}
PEERS = ("obs_best", "ffmpeg_best", "hsv_best")


def soft_bias(alpha: np.ndarray, truth: np.ndarray) -> float:
    """Mean keyed alpha less the truth where the truth is 0.05..0.5 (negative: too transparent)."""
    soft = (truth >= 0.05) & (truth <= 0.5)
    return float((alpha[soft] - truth[soft]).mean()) if soft.any() else 0.0


def seams(alpha: np.ndarray, truth: np.ndarray, band: np.ndarray, block: int = 4) -> float:
    """Block seams (x100): the mean |step| of the alpha error across ``block`` px boundaries that are
    not JPEG's 8 px ones, less the mean step inside blocks, in ``band``, both ways."""
    err = alpha - truth
    out = []
    for e, m in ((err, band), (err.T, band.T)):
        step = np.abs(np.diff(e, axis=1))
        ok = m[:, 1:] & m[:, :-1]
        col = np.arange(1, e.shape[1])  # a step between columns col - 1 and col
        across = ok & ((col % block == 0) & (col % 8 != 0))[None, :]
        inside = ok & (col % block != 0)[None, :]
        if across.any() and inside.any():
            out.append(step[across].mean() - step[inside].mean())
    return float(np.mean(out) * 100) if out else 0.0


def score_keyer(truth: Truth, alpha: np.ndarray, comp: np.ndarray) -> dict:
    """quality.Score of a key plus its soft-pixel bias and block seams."""
    a = alpha.astype(np.float32) / 255.0 if alpha.dtype == np.uint8 else alpha.astype(np.float32)
    s = asdict(quality.score(a, comp, truth.comp, truth.regions))
    return s | {"soft_bias": soft_bias(a, truth.frame.alpha), "seams": seams(a, truth.frame.alpha, truth.regions.edge)}


def _save(save: Path, scene: str, truth: Truth, alpha: np.ndarray, comp: np.ndarray) -> None:
    def eight_bit(a: np.ndarray) -> np.ndarray:
        return a if a.dtype == np.uint8 else np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)

    a8, t8 = eight_bit(alpha), eight_bit(truth.frame.alpha)
    stem = scene.replace("/", "-")
    gray = cv2.COLOR_GRAY2BGR
    for part, img in (("input", truth.frame.image), ("composite", comp), ("matte", cv2.cvtColor(a8, gray)),
                      ("status", status_view(a8)), ("truth", cv2.cvtColor(t8, gray))):
        images.write_image(save / f"{stem}-{part}.png", img)


def report(folders: list[str | Path], names: list[str] | None = None, save: str | Path | None = None,
           progress: bool = True, conditions: tuple[str, ...] = tuple(CONDITIONS)) -> dict[str, dict[str, dict]]:
    """{"NAME/screen" + condition suffix: {keyer: score dict (+ "settings" for the peers)}} over every
    object of ``folders`` under each of ``conditions`` (names in :data:`CONDITIONS`)."""
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown or not conditions:
        raise LivekeyError(f"no condition {', '.join(unknown) or '(none given)'}; choose from {', '.join(CONDITIONS)}")
    if save is not None:
        save = Path(save)
        if not save.is_dir():
            raise LivekeyError(f"--save folder {save} does not exist; create it first")
    for folder in folders:
        if not Path(folder).is_dir():
            raise LivekeyError(f"real-material folder {folder} does not exist or is not a folder")
    if names:
        missing = sorted(set(names) - set().union(*(_names(f) for f in folders)))
        if missing:
            raise LivekeyError(f"no scene {', '.join(missing)} in {', '.join(map(str, folders))}")
    objects = []
    for folder in folders:
        wanted = [n for n in names if n in _names(folder)] if names else None
        if wanted != []:
            objects += load_objects(folder, wanted)
    results: dict[str, dict[str, dict]] = {}
    for obj, screen, condition in ((o, s, c) for c in conditions for o in objects for s in o.screens):
        started = time.monotonic()
        scene = f"{obj.name}/{screen}{CONDITIONS[condition].suffix}"
        truth = Truth.of(place(obj, screen, condition))
        row = {}
        for label, keyer in KEYERS.items():
            settings, alpha, comp = keyer(truth, screen)
            row[label] = score_keyer(truth, alpha, comp) | ({"settings": settings} if settings else {})
            if label == "livekey" and save is not None:
                _save(save, scene, truth, alpha, comp)
        results[scene] = row
        if progress:
            print(f"{scene}: livekey edge {row['livekey']['edge']:.2f}, best peer "
                  f"{min(row[p]['edge'] for p in PEERS):.2f} ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return results


def _names(folder: str | Path) -> set[str]:
    folder = Path(folder)
    return {p[0] for p in _pairs(folder)} if folder.is_dir() else set()


def ratio(row: dict[str, dict]) -> float:
    """livekey's edge error over the best peer's on one scene."""
    return row["livekey"]["edge"] / max(min(row[p]["edge"] for p in PEERS), 1e-9)


def condition_of(scene: str) -> str:
    """The condition a scene of :func:`report` was placed under, from its name's suffix."""
    screen = scene.split("/")[1]
    return next((c for c, cond in CONDITIONS.items() if cond.suffix and screen.endswith(cond.suffix)), "normal")


def summary(results: dict[str, dict[str, dict]]) -> dict[str, float | int | list[str]]:
    """livekey against the best peer over ``results``: mean/min/max ratio, scenes worse, the worst
    holes and leaks (%), the mean soft bias, and the scenes with holes or leaks over 0.5%."""
    ratios = [ratio(row) for row in results.values()]
    lk = [row["livekey"] for row in results.values()]
    return {"scenes": len(ratios), "mean_ratio": float(np.mean(ratios)), "min_ratio": min(ratios),
            "max_ratio": max(ratios), "worse": [s for s, row in results.items() if ratio(row) > 1],
            "max_holes": max(s["holes"] for s in lk), "max_leaks": max(s["leaks"] for s in lk),
            "mean_soft_bias": float(np.mean([s["soft_bias"] for s in lk])),
            "over_half_percent": [s for s, row in results.items()
                                  if max(row["livekey"]["holes"], row["livekey"]["leaks"]) > 0.5]}


def format_table(results: dict[str, dict[str, dict]]) -> str:
    """A Markdown table of a :func:`report` and, per condition, a summary line of livekey against the
    best peer (:func:`summary`)."""
    lines = ["| scene | screen | keyer | edge MAE | x best peer | holes % | leaks % | soft bias | seams x100 |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scene, row in results.items():
        name, screen = scene.split("/")
        best = min(row[p]["edge"] for p in PEERS)
        for k in KEYERS:
            s = row[k]
            lines.append(f"| {name} | {screen} | {k} | {s['edge']:.2f} | {s['edge'] / best:.2f} | {s['holes']:.2f} | "
                         f"{s['leaks']:.2f} | {s['soft_bias']:+.3f} | {s['seams']:+.2f} |")
    lines.append("")
    for condition in CONDITIONS:
        part = {scene: row for scene, row in results.items() if condition_of(scene) == condition}
        if not part:
            continue
        s = summary(part)
        worse, bad = s["worse"], s["over_half_percent"]
        lines.append(
            f"{condition}: livekey edge error / best peer's: mean {s['mean_ratio']:.2f}x, min {s['min_ratio']:.2f}x, "
            f"max {s['max_ratio']:.2f}x; worse than the best peer on {len(worse)} of {s['scenes']} scenes"
            + (f" ({', '.join(worse)})" if worse else "")
            + f"; max holes {s['max_holes']:.2f}%, max leaks {s['max_leaks']:.2f}%, mean soft bias "
            f"{s['mean_soft_bias']:+.3f}; holes or leaks over 0.5% on {len(bad)}"
            + (f" ({', '.join(bad)})" if bad else ""))
    return "\n".join(lines)
