"""Synthetic green/blue-screen frames with ground truth.

A scene is built once as layers (the lit screen, the subject's clean colour, its alpha, its
spill, its shadow) and rendered at any subject offset, so a moving sequence costs a warp and
a blend per frame. Rendering models what a webcam sees: uneven screen light, the subject's
shadow on the screen, screen light spilling onto the subject near its edges, sensor noise,
4:2:0 chroma subsampling and JPEG. The truth is the clean foreground ``F`` (no spill) and
its alpha; the truth composite over a backdrop ``B`` is ``F a + B (1 - a)``.

Scenes (:data:`SCENES`) cover fine hair strands, a semi-transparent object, motion-blurred
edges and wardrobe close to the screen colour (olive, teal).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SCREEN_BGR = {"green": (62, 177, 48), "blue": (190, 92, 28)}


@dataclass(frozen=True)
class SceneSpec:
    """What a scene contains. Colours are BGR."""

    name: str
    screen: str = "green"
    shirt: tuple[int, int, int] = (225, 225, 230)
    hair: tuple[int, int, int] = (30, 45, 70)
    strands: int = 90
    glass: bool = False
    motion_blur: bool = False
    shadow: float = 0.55  # screen brightness left in the darkest part of the shadow
    spill: float = 0.22  # share of screen light bounced onto the subject at its edges
    falloff: float = 0.35  # screen brightness lost towards the corners


SCENES: dict[str, SceneSpec] = {s.name: s for s in (
    SceneSpec("portrait"),
    SceneSpec("blond", hair=(120, 190, 225), strands=160, shirt=(40, 40, 45)),
    SceneSpec("olive", shirt=(45, 120, 110)),  # olive jacket: a dull, yellowish green
    SceneSpec("glass", glass=True, motion_blur=True, shirt=(150, 60, 170)),
    SceneSpec("blue", screen="blue", shirt=(210, 215, 215)),
    SceneSpec("teal", screen="blue", shirt=(120, 128, 20), hair=(25, 30, 35)),  # teal, hue ~176 deg
)}


@dataclass
class Layers:
    """A scene's parts at one size; float32 arrays in 0..255 (colours) and 0..1 (alpha)."""

    screen: np.ndarray  # (H, W, 3) lit screen, without the subject's shadow
    fg: np.ndarray  # (H, W, 3) clean subject colour
    alpha: np.ndarray  # (H, W)
    spill: np.ndarray  # (H, W, 3) light the screen throws on the subject
    shadow: np.ndarray  # (H, W) multiplier on the screen light, 1 = no shadow


@dataclass
class Frame:
    """One rendered frame and its truth."""

    image: np.ndarray  # (H, W, 3) uint8 BGR, what the camera delivers
    alpha: np.ndarray  # (H, W) float32 truth alpha
    fg: np.ndarray  # (H, W, 3) float32 truth foreground
    screen: np.ndarray  # (H, W, 3) uint8 the empty screen as a clean plate would see it


def screen_light(width: int, height: int, base: tuple[int, int, int], falloff: float,
                 rng: np.random.Generator) -> np.ndarray:
    """An unevenly lit, slightly wrinkled screen."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.3, 0.6)
    r2 = ((xx - cx) / width) ** 2 + ((yy - cy) / height) ** 2
    light = 1.08 - falloff * np.minimum(r2 * 2.2, 1.0)
    light += 0.06 * (xx / width - 0.5)
    for _ in range(3):  # wrinkles: low, slanted ripples
        fx, fy, ph = rng.uniform(2, 6), rng.uniform(1, 4), rng.uniform(0, 6.3)
        light += 0.025 * np.sin(2 * np.pi * (fx * xx / width + fy * yy / height) + ph)
    return np.asarray(base, np.float32) * light[..., None]


def _draw_subject(spec: SceneSpec, width: int, height: int, rng: np.random.Generator,
                  ss: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Subject colour and alpha, drawn at ``ss`` x supersampling so edges are truly fractional."""
    W, H = width * ss, height * ss
    coverage = np.zeros((H, W), np.float32)
    colour = np.zeros((H, W, 3), np.float32)

    def over(m: np.ndarray, bgr) -> None:
        # Straight colour: the layer's colour is ``bgr`` wherever it covers anything, so a 45%
        # glass keeps its own colour (premultiplying here would darken it to 45% of it).
        cov = coverage * (1 - m) + m
        colour[:] = (colour * (coverage * (1 - m))[..., None] + np.asarray(bgr, np.float32) * m[..., None]
                     ) / np.maximum(cov, 1e-6)[..., None]
        coverage[:] = cov

    def paint(mask: np.ndarray, bgr: tuple[int, int, int], texture: float = 10.0, opacity: float = 1.0):
        over(mask.astype(np.float32) * opacity, bgr + rng.normal(0, texture, 3).astype(np.float32))

    cx = W // 2
    body = np.zeros((H, W), np.uint8)
    cv2.ellipse(body, (cx, int(H * 1.02)), (int(W * 0.25), int(H * 0.42)), 0, 180, 360, 255, -1)
    paint(body > 0, spec.shirt)
    neck = np.zeros((H, W), np.uint8)
    cv2.rectangle(neck, (cx - int(W * 0.035), int(H * 0.5)), (cx + int(W * 0.035), int(H * 0.66)), 255, -1)
    paint(neck > 0, (120, 150, 200))
    head = np.zeros((H, W), np.uint8)
    hc = (cx, int(H * 0.38))
    cv2.ellipse(head, hc, (int(W * 0.075), int(H * 0.15)), 0, 0, 360, 255, -1)
    paint(head > 0, (125, 155, 205))
    hair = np.zeros((H, W), np.uint8)
    cv2.ellipse(hair, (hc[0], hc[1] - int(H * 0.04)), (int(W * 0.085), int(H * 0.14)), 0, 180, 360, 255, -1)
    paint(hair > 0, spec.hair, texture=6)

    # Fine strands: 1-pixel lines at 4x are a quarter pixel wide at the output size.
    strands = np.zeros((H, W), np.uint8)
    for _ in range(spec.strands):
        ang = rng.uniform(np.pi * 1.05, np.pi * 1.95)
        r0 = rng.uniform(0.8, 1.0)
        x0 = hc[0] + np.cos(ang) * W * 0.085 * r0
        y0 = hc[1] - H * 0.04 + np.sin(ang) * H * 0.14 * r0
        length = rng.uniform(0.04, 0.12) * H
        pts = []
        for t in np.linspace(0, 1, 12):
            bend = np.sin(t * np.pi) * rng.uniform(-0.3, 0.3)
            a = ang + bend
            pts.append((x0 + np.cos(a) * length * t, y0 + np.sin(a) * length * t))
        cv2.polylines(strands, [np.array(pts, np.int32)], False, 255, thickness=int(rng.integers(1, 3)))
    paint(strands > 0, spec.hair, texture=4)

    if spec.glass:  # a tinted glass held up beside the subject: 45% opaque
        glass = np.zeros((H, W), np.uint8)
        cv2.rectangle(glass, (int(W * 0.68), int(H * 0.45)), (int(W * 0.8), int(H * 0.8)), 255, -1)
        paint(glass > 0, (215, 205, 190), texture=2, opacity=0.45)
    arm = np.zeros((H, W), np.uint8)
    cv2.line(arm, (int(W * 0.3), int(H * 0.85)), (int(W * 0.16), int(H * 0.5)), 255, int(W * 0.04))
    arm_cov = (arm > 0).astype(np.float32)
    if spec.motion_blur:  # the waving arm smears sideways over 12 output pixels
        k = np.zeros((1, 12 * ss), np.float32)
        k[:] = 1.0 / k.size
        arm_cov = cv2.filter2D(arm_cov, -1, k)
    over(arm_cov, (115, 145, 195))

    alpha = cv2.resize(coverage, (width, height), interpolation=cv2.INTER_AREA)
    premult = cv2.resize(colour * coverage[..., None], (width, height), interpolation=cv2.INTER_AREA)
    fg = premult / np.maximum(alpha, 1e-6)[..., None]
    fg[alpha < 1e-6] = 0
    return np.clip(fg, 0, 255).astype(np.float32), np.clip(alpha, 0, 1).astype(np.float32)


def build_layers(spec: SceneSpec | str, width: int, height: int, seed: int = 0) -> Layers:
    """Build a scene's layers at ``width`` x ``height``."""
    spec = SCENES[spec] if isinstance(spec, str) else spec
    rng = np.random.default_rng(seed)
    screen = screen_light(width, height, SCREEN_BGR[spec.screen], spec.falloff, rng)
    fg, alpha = _draw_subject(spec, width, height, rng)
    # Spill: screen light wrapping round the subject's edge, strongest just inside it.
    blur = max(3, (width // 40) | 1)
    outside = cv2.GaussianBlur(1 - alpha, (blur, blur), 0)
    spill = (spec.spill * outside)[..., None] * screen
    # Shadow: the subject's silhouette, offset and softened, cast on the screen.
    m = np.float32([[1, 0, width * 0.09], [0, 1, height * 0.03]])
    cast = cv2.warpAffine(alpha, m, (width, height))
    sblur = max(3, (width // 25) | 1)
    cast = cv2.GaussianBlur(cast, (sblur, sblur), 0)
    shadow = 1 - (1 - spec.shadow) * cast
    return Layers(screen=screen, fg=fg, alpha=alpha, spill=spill, shadow=shadow)


def degrade(image: np.ndarray, rng: np.random.Generator, noise: float = 2.5, jpeg: int = 88) -> np.ndarray:
    """What a webcam does to a clean float image: noise, 4:2:0 chroma, JPEG. Returns uint8."""
    img = image + rng.normal(0, noise, image.shape).astype(np.float32)
    img = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    ycc = cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb)
    h, w = img.shape[:2]
    for c in (1, 2):  # 4:2:0: chroma at half resolution both ways
        small = cv2.resize(ycc[..., c], ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
        ycc[..., c] = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    img = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2BGR)
    if jpeg:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return img


def render(layers: Layers, dx: float = 0.0, dy: float = 0.0, seed: int = 0, clean: bool = False) -> Frame:
    """Render the scene with the subject moved by (dx, dy) pixels."""
    h, w = layers.alpha.shape
    fg, alpha, spill = layers.fg, layers.alpha, layers.spill
    shadow = layers.shadow
    if dx or dy:
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        warp = dict(dsize=(w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        fg = cv2.warpAffine(fg, m, **warp)
        alpha = cv2.warpAffine(alpha, m, **warp)
        spill = cv2.warpAffine(spill, m, **warp)
        shadow = cv2.warpAffine(shadow, m, dsize=(w, h), flags=cv2.INTER_LINEAR, borderValue=1.0)
    a = alpha[..., None]
    seen = (fg + spill) * a + layers.screen * shadow[..., None] * (1 - a)
    rng = np.random.default_rng(seed)
    image = np.clip(seen + 0.5, 0, 255).astype(np.uint8) if clean else degrade(seen, rng)
    plate = np.clip(layers.screen + 0.5, 0, 255).astype(np.uint8)
    return Frame(image=image, alpha=alpha, fg=np.minimum(fg, 255), screen=plate)


def scene(name: str, width: int = 640, height: int = 360, seed: int = 0) -> Frame:
    """One degraded still of a named scene."""
    return render(build_layers(name, width, height, seed), seed=seed + 1)


def backdrop(width: int, height: int, seed: int = 7) -> np.ndarray:
    """A colourful, textured backdrop (uint8 BGR) with strong contrast against any screen."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = xx / width, yy / height
    img = np.stack([90 + 120 * v, 60 + 150 * u * (1 - v), 200 - 120 * u], axis=2)
    for _ in range(14):  # soft coloured discs: a bokeh-like room
        c = (rng.uniform(0, width), rng.uniform(0, height))
        r = rng.uniform(0.04, 0.16) * max(width, height)
        d = np.sqrt((xx - c[0]) ** 2 + (yy - c[1]) ** 2)
        wgt = np.clip(1.2 - d / r, 0, 1)[..., None] * 0.7
        img = img * (1 - wgt) + rng.uniform(20, 255, 3) * wgt
    stripes = 18 * np.sin(2 * np.pi * (u * 9 + v * 3))[..., None]
    return np.clip(img + stripes, 0, 255).astype(np.uint8)


def with_light_stand(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with a grey light stand near its left edge (something a colour key keeps
    that a garbage matte must remove), and the stand's pixels as a bool mask."""
    h, w = image.shape[:2]
    out = image.copy()
    stand = np.zeros((h, w), np.uint8)
    cv2.rectangle(stand, (int(w * 0.056), int(h * 0.17)), (int(w * 0.069), int(h * 0.97)), 1, -1)  # pole
    head = np.zeros((h, w), np.uint8)
    cv2.rectangle(head, (int(w * 0.025), int(h * 0.1)), (int(w * 0.106), int(h * 0.22)), 1, -1)  # lamp
    out[stand > 0] = (128, 128, 128)
    out[head > 0] = (70, 70, 75)
    return out, (stand | head) > 0


def room(width: int, height: int, seed: int = 11) -> np.ndarray:
    """A static, textured room (float32 BGR 0..255) to stand in front of instead of a screen:
    soft coloured shapes, a wall texture and a few hard-edged objects (shelves, a frame)."""
    rng = np.random.default_rng(seed)
    img = backdrop(width, height, seed).astype(np.float32) * 0.8 + 20
    img += rng.normal(0, 6, (height // 8 + 1, width // 8 + 1, 1)).astype(np.float32).repeat(8, 0).repeat(
        8, 1)[:height, :width]
    for _ in range(6):
        x0, y0 = int(rng.uniform(0, width)), int(rng.uniform(0, height))
        x1, y1 = x0 + int(rng.uniform(0.05, 0.3) * width), y0 + int(rng.uniform(0.02, 0.1) * height)
        cv2.rectangle(img, (x0, y0), (x1, y1), tuple(float(v) for v in rng.uniform(30, 230, 3)), -1)
    return np.clip(img, 0, 255)


def room_scene(spec: SceneSpec | str, width: int, height: int, seed: int = 0) -> tuple[Frame, np.ndarray]:
    """A scene's subject in front of :func:`room` (no screen, no spill, a faint shadow) and a
    clean plate of the empty room taken with its own camera noise. Returns (frame, plate uint8)."""
    spec = SCENES[spec] if isinstance(spec, str) else spec
    layers = build_layers(spec, width, height, seed)
    back = room(width, height, seed + 11)
    cast = (1 - layers.shadow) / max(1 - spec.shadow, 1e-6)
    a = layers.alpha[..., None]
    seen = layers.fg * a + back * (1 - 0.15 * cast)[..., None] * (1 - a)
    image = degrade(seen, np.random.default_rng(seed + 1))
    plate = degrade(back, np.random.default_rng(seed + 2))
    frame = Frame(image=image, alpha=layers.alpha, fg=np.minimum(layers.fg, 255),
                  screen=np.clip(back + 0.5, 0, 255).astype(np.uint8))
    return frame, plate


def truth_composite(frame: Frame, back: np.ndarray) -> np.ndarray:
    """The ideal composite ``F a + B (1 - a)`` as float32."""
    a = frame.alpha[..., None]
    return frame.fg * a + back.astype(np.float32) * (1 - a)
