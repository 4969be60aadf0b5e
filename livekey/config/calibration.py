"""Calibration: frames of the empty screen in, a clean plate and a key profile out.

:func:`calibrate_frames` averages the frames into a clean plate, checks that it is a screen
(enough of one colour, nothing standing in it), measures the key colour, the screen's spread
in hue, saturation and value, and the noise level, and derives settings that key well without
touching a slider. :func:`save_calibration` writes the profile and the plate (lossless PNG)
beside it. :func:`read_frames` reads frames from an image, a video or ``demo``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from livekey.config.settings import Settings
from livekey.engine import screen
from livekey.errors import LivekeyError
from livekey.media import images, synthetic

# A screen fills (nearly) the whole picture; anything else in it is the room or a person.
MIN_SCREEN_SHARE = 0.85
MAX_BLOB_SHARE = 0.01


@dataclass
class Calibration:
    """What calibration found: the settings to key with, the plate, and the measured figures."""

    settings: Settings
    plate: np.ndarray  # (H, W, 3) uint8 BGR, the mean of the empty-screen frames
    figures: dict = field(default_factory=dict)  # key colour, spread, noise, screen share


def _hue_sat_val(img: np.ndarray, key_bgr: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: hue difference from the key (degrees, in the opponent chroma plane), saturation, value."""
    f = img.astype(np.float32)
    x, y = screen.opponent_chroma(f)
    kx, ky = (float(v) for v in screen.opponent_chroma(key_bgr))
    hue = np.degrees(np.abs(np.arctan2(x * ky - y * kx, x * kx + y * ky)))
    vmax = f.max(axis=2)
    sat = (vmax - f.min(axis=2)) / np.maximum(vmax, 1)
    return hue, sat, vmax / 255.0


def calibrate_frames(frames: list[np.ndarray]) -> Calibration:
    """Calibrate from frames (BGR uint8, same size) of the empty, lit screen.

    Raises LivekeyError when the frames are not an empty screen.
    """
    if not frames:
        raise LivekeyError("calibration needs at least one frame of the empty screen")
    shape = frames[0].shape
    if any(f.shape != shape for f in frames):
        raise LivekeyError("calibration frames differ in size; use one source")
    # A running sum for the plate, and the frame-to-frame spread on a sparse grid only: a stack
    # of 30 float frames at 1080p would take 750 MB.
    total = np.zeros(shape, np.float32)
    for f in frames:
        total += f
    mean = total / len(frames)
    grid = np.stack([f[::4, ::4] for f in frames]).astype(np.float32)
    plate = np.clip(mean + 0.5, 0, 255).astype(np.uint8)
    try:
        key = screen.detect_key_color(plate)
    except LivekeyError:
        raise LivekeyError("calibration: no green or blue screen in the picture; point the camera at "
                           "the lit screen so that it fills the frame") from None
    hue, sat, val = _hue_sat_val(plate, key)
    key_sat = (max(key) - min(key)) / max(max(key), 1)
    is_screen = (hue < 20) & (sat > 0.5 * key_sat) & (val > 0.08)
    share = float(is_screen.mean())
    if share < 0.5:
        raise LivekeyError(f"calibration: only {share:.0%} of the picture is screen colour (need "
                           f"{MIN_SCREEN_SHARE:.0%}); fill the frame with the screen and light it evenly")
    # Something standing in front of the screen: a large connected patch of non-screen pixels
    # away from the borders (the borders may show the screen's frame or the room).
    h, w = is_screen.shape
    inner = np.zeros_like(is_screen)
    inner[h // 20:h - h // 20, w // 20:w - w // 20] = True
    other = (~is_screen & inner).astype(np.uint8)
    other = cv2.morphologyEx(other, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(other, connectivity=8)
    largest = int(stats[1:, cv2.CC_STAT_AREA].max()) if count > 1 else 0
    if largest > MAX_BLOB_SHARE * h * w:
        raise LivekeyError(f"calibration: something that is not screen covers {largest / (h * w):.1%} of the "
                           f"picture (a person?); step out of the frame and calibrate again")
    if share < MIN_SCREEN_SHARE:
        raise LivekeyError(f"calibration: only {share:.0%} of the picture is screen colour (need "
                           f"{MIN_SCREEN_SHARE:.0%}); fill the frame with the screen and light it evenly")
    # Noise: frame-to-frame spread when there are several frames, else the fine texture of one.
    if len(frames) > 1:
        noise = float(np.median(grid.std(axis=0)[is_screen[::4, ::4]]))
    else:
        detail = mean - cv2.GaussianBlur(mean, (0, 0), 1.5)
        noise = float(1.4826 * np.median(np.abs(detail[is_screen])))
    hue_spread = float(np.percentile(hue[is_screen], 99))
    sat_low = float(np.percentile(sat[is_screen], 1))
    val_low, val_high = (float(v) for v in np.percentile(val[is_screen], (1, 99)))
    # Chroma of the key in the opponent plane: noise as a share of it sets the key's thresholds.
    chroma = float(np.hypot(*screen.opponent_chroma(key)))
    noise_share = noise / max(chroma, 1.0)
    # Never narrower than the defaults: the subject's shadow and spill widen what the screen shows
    # once someone stands in front of it; a noisier camera needs wider thresholds.
    settings = Settings(
        key_color=f"#{key[2]:02x}{key[1]:02x}{key[0]:02x}",
        hue_width=float(np.clip(2 * hue_spread + 24, 30, 90)),
        sat_floor=float(np.clip(0.5 * sat_low, 0.03, 0.1)),
        screen_low=float(np.clip(3 * noise_share, 0.05, 0.2)),
        screen_high=float(np.clip(1 - 10 * noise_share, 0.6, 0.85)),
        screen_model="plate",
        refine=True,
        edge_color=True,
    )
    figures = {"key_bgr": tuple(int(v) for v in key), "screen_share": round(share, 4),
               "hue_spread_deg": round(hue_spread, 2), "sat_low": round(sat_low, 3),
               "value_range": (round(val_low, 3), round(val_high, 3)), "noise": round(noise, 2),
               "frames": len(frames)}
    return Calibration(settings=settings, plate=plate, figures=figures)


def save_calibration(cal: Calibration, path: str | Path) -> Path:
    """Write the profile to ``path`` (.toml) and the plate beside it (NAME-plate.png). Returns the plate path."""
    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise LivekeyError(f"calibration profile {path} must be a .toml file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise LivekeyError(f"cannot create folder {path.parent}: {err.strerror or err}") from None
    plate_path = path.with_name(path.stem + "-plate.png")
    images.write_image(plate_path, cal.plate)
    cal.settings.replace(plate=str(plate_path)).save(path)
    return plate_path


def demo_frames(count: int, width: int = 640, height: int = 360) -> list[np.ndarray]:
    """Frames of an empty synthetic green screen (the portrait scene's screen), each with its own noise."""
    layers = synthetic.build_layers("portrait", width, height)
    rng = np.random.default_rng(11)
    return [synthetic.degrade(layers.screen, rng) for _ in range(count)]


def read_frames(source: str, count: int) -> list[np.ndarray]:
    """Up to ``count`` frames of the empty screen from any source ``livekey run`` takes (a camera,
    a video or image file); ``demo`` is the demo scene's screen with its subject out of frame."""
    from livekey.media.sources import ImageSource, open_source

    if count < 1:
        raise LivekeyError("--frames must be at least 1")
    if source == "demo":
        return demo_frames(count)
    src = open_source(source, paced=False, loop=False)
    frames: list[np.ndarray] = []
    try:
        # A still is one frame, however often the source repeats it.
        limit = 1 if isinstance(src, ImageSource) else count
        while len(frames) < limit:
            item = src.read()
            if item is None:
                break
            frames.append(item[0].copy())
    finally:
        src.close()
    if not frames:
        raise LivekeyError(f"source {source} gave no frames; give a camera, an image or video of the empty screen")
    return frames
