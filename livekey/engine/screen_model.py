"""The screen a frame is keyed against, in one object the keyer's stages depend on.

:class:`ScreenModel` resolves the key colour (given; or detected from the first frame, or the
clean plate, then measured again over the first seconds), keeps the kernel parameter vector for
it, and keeps the per-pixel screen image the kernels key against, by the settings' policy:

* ``flat``: the key colour everywhere;
* ``auto``: estimated from the frame every ``screen_refresh`` frames, then refined where the
  previous frame's key saw the screen;
* a clean plate (``plate``, or ``--clean-plate``): the plate relit to the frame's light, refined
  the same way, or kept as it is (``shadow = keep``, so the subject's shadow stays in the key).
"""

from __future__ import annotations

import numpy as np

from livekey.config.settings import Settings
from livekey.engine import keying, screen
from livekey.errors import LivekeyError

# An auto-detected key colour is measured again this many frames after the first and the median
# of all measurements kept: a camera's exposure and white balance settle over the first seconds,
# and a first frame mostly filled by the subject is outvoted.
AUTO_KEY_REMEASURE = (5, 15, 30, 45, 60, 90)
# The key colour used when the mask stack does not use the colour key (the matte comes from
# other layers); its matte is discarded, so it only has to be valid.
NO_SCREEN_KEY = (48, 177, 62)


class ScreenModel:
    """Key colour, kernel parameters and per-pixel screen image for the frames one keyer keys.
    Called from the keyer's thread only."""

    def __init__(self, screen_refresh: int = 8) -> None:
        self.screen_refresh = max(1, screen_refresh)
        self.settings = Settings()
        self.uses_key = True  # whether the mask stack uses the colour key (else no screen is needed)
        self.key_bgr: tuple[int, int, int] | None = None
        self.params: np.ndarray | None = None  # the kernel parameter vector of the settings and key
        self.image: np.ndarray | None = None  # (H, W, 3) BGR: the screen the last frame was keyed against
        self._coarse: np.ndarray | None = None  # the estimate (auto, or the plate relit) before it is refined
        self._seen = screen.SeenScreen()
        self._refined = False
        self._frames_since_screen = 0
        self._stale = True
        self._key_samples: list[tuple[int, int, int]] = []  # auto key colour measurements so far
        self._frames_since_key = 0
        self._plate: np.ndarray | None = None
        self._plate_key: tuple[str, int, int] | None = None

    def forget_key(self) -> None:
        """Resolve the key colour again at the next :meth:`configure` (detect, or the no-screen one)."""
        self.key_bgr = None

    def configure(self, frame: np.ndarray, settings: Settings, uses_key: bool, redetect: bool) -> None:
        """Take new settings (or the first frame): resolve the key colour, the parameters, and mark
        the screen for a refresh. ``redetect``: the new settings name a key colour family to detect."""
        self.settings, self.uses_key = settings, uses_key
        h, w = frame.shape[:2]
        explicit = settings.key_bgr()
        if explicit is not None:
            self.key_bgr = explicit
        elif not uses_key:  # no screen in the picture: any key colour will do
            self.key_bgr = NO_SCREEN_KEY
        elif self.key_bgr is None or redetect:
            # The empty screen is the surest place to find its colour.
            source = self._load_plate(w, h) if self.uses_plate else frame
            self.key_bgr = screen.detect_key_color(source)
            self._key_samples = [self.key_bgr]
            self._frames_since_key = 0
        self.params = self._param_vector()
        self._stale = True

    def prepare(self, frame: np.ndarray, size_changed: bool) -> None:
        """Before keying ``frame``: measure the key again when due, and refresh the screen image."""
        h, w = frame.shape[:2]
        if size_changed:
            self._stale = True
        self._frames_since_key += 1
        if len(self._key_samples) and self._frames_since_key in AUTO_KEY_REMEASURE and not self.uses_plate:
            self._remeasure_key(frame)
        plate = self._load_plate(w, h) if self.uses_plate else None
        if plate is not None and self.settings.shadow == "keep":
            self._frames_since_screen += 1
            if self._stale:
                self.image = plate.copy()
        elif self._is_estimated:
            self._refresh_estimate(frame, plate)
        elif self._stale:
            self.image = keying.flat_screen(self.key_bgr, h, w, out=self.image)
        self._stale = False

    def _refresh_estimate(self, frame: np.ndarray, plate: np.ndarray | None) -> None:
        self._frames_since_screen += 1
        refresh = self._stale or self._frames_since_screen >= self.screen_refresh
        if refresh:
            if plate is not None:
                self._coarse = screen.relight_plate(frame, plate, self.key_bgr, self._tolerance, out=self._coarse)
            else:
                self._coarse = screen.estimate_screen(frame, self.key_bgr, self._tolerance, out=self._coarse)
            self._frames_since_screen = 0
            self._refined = False
            if self._stale:
                self._seen.ready = False  # what was seen belongs to other settings or another size
            if self.image is None or self.image.shape != frame.shape:
                self.image = np.empty_like(frame)
        if not self._refined:
            # Refined where the screen was seen: from the frame after the estimate was made.
            self._refined = self._seen.apply(self._coarse, self.image, plate)
            if refresh and not self._refined:
                np.copyto(self.image, self._coarse)

    @property
    def _is_estimated(self) -> bool:
        """True when the screen is estimated from the frames every ``screen_refresh`` frames: the auto
        estimate, or the clean plate relit (a plate kept as it is keeps the subject's shadow)."""
        if self.uses_plate:
            return self.settings.shadow != "keep"
        return self.settings.screen_model == "auto"

    def collect_seen(self, frame: np.ndarray, alpha: np.ndarray) -> None:
        """Read where the screen is seen off this frame's key (``alpha``) when it is due: before the
        screen estimate's next refresh, and until the estimate is first refined. Only with the edge
        solve, which clears the faint leaks a refined estimate leaves in a steep shadow."""
        if not (self.settings.refine and self._is_estimated):
            return
        if not self._refined or self._frames_since_screen + 1 >= self.screen_refresh:
            self._seen.collect(frame, alpha)

    @property
    def _tolerance(self) -> float:
        """Hue distance (degrees) within which a pixel counts as screen for the screen estimate."""
        return min(45.0, self.settings.hue_width / 2 + 5)

    @property
    def uses_plate(self) -> bool:
        """True when a clean plate is given (or the plate model asked for)."""
        return bool(self.settings.plate) or self.settings.screen_model == "plate"

    def _load_plate(self, w: int, h: int) -> np.ndarray:
        if not self.settings.plate:
            raise LivekeyError("screen_model is plate but no clean plate is given; "
                               "give --clean-plate PLATE or run livekey calibrate")
        key = (self.settings.plate, w, h)
        if self._plate_key != key:
            self._plate = screen.load_plate(self.settings.plate, (w, h))
            self._plate_key = key
        return self._plate

    def _param_vector(self) -> np.ndarray:
        if not self.uses_key:
            # No screen in the picture: nothing to un-mix or despill (the key colour is a placeholder).
            return keying.param_vector(self.settings.replace(spill_method="none", unmix=False), self.key_bgr)
        return keying.param_vector(self.settings, self.key_bgr)

    def _remeasure_key(self, frame: np.ndarray) -> None:
        """Refine an auto key colour over the first seconds: the median of repeated detections."""
        if self.settings.key_color != "auto" or not self.uses_key:
            return
        try:
            self._key_samples.append(screen.detect_key_color(frame))
        except LivekeyError:
            return  # the subject fills this frame: keep what we have
        median = tuple(int(v) for v in np.median(np.array(self._key_samples), axis=0))
        if median != self.key_bgr:
            self.key_bgr = median
            self.params = self._param_vector()
            self._stale = True
