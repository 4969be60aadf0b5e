"""One frame of a render: key it and put it over the backdrop (and the overlay over that), as the
live pipeline's processing step does, into buffers allocated once per clip."""

from __future__ import annotations

import numpy as np

from livekey.config.profile import Profile
from livekey.engine import overlay
from livekey.engine.keyer import Keyer
from livekey.masks import with_person
from livekey.media.backdrops import Backdrop, VideoBackdrop, open_backdrop
from livekey.media.images import read_overlay


class ClipTimedVideo(VideoBackdrop):
    """A video backdrop advanced by the clip's time rather than the wall clock: a render runs
    faster or slower than real time, and its backdrop must still move at the clip's pace."""

    now = 0.0  # seconds into the clip, set before each frame

    def _step(self) -> bool:
        changed = False
        if self._due is None:
            self._due = self.now + self.period
        while self.now + 1e-6 >= self._due:  # one backdrop frame per period of clip time (float sums)
            self._due += self.period
            changed |= self._advance()
        return changed


class Compositor:
    """Keys frames of one size into a composite (BGR), a straight-alpha BGRA image (transparent
    backdrop) or the matte alone; ``layout`` says which (``bgr``, ``bgra``, ``gray``)."""

    def __init__(self, profile: Profile, backdrop: str | None, overlay_path: str | None, matte_only: bool,
                 size: tuple[int, int]) -> None:
        # A bad mask file or a missing person model fails now, not on the first frame.
        with_person(profile.masks, profile.settings.person).validate()
        self.keyer = Keyer(profile.settings, mask_stack=profile.masks)
        w, h = size
        self.backdrop: Backdrop | None = None
        self.top: np.ndarray | None = None
        if matte_only:
            self.layout = "gray"
        else:
            self.backdrop = self._open_backdrop(backdrop)
            self.layout = "bgra" if self.backdrop.transparent else "bgr"
            if overlay_path:
                self.top = overlay.fit_overlay(read_overlay(overlay_path), w, h)
        self.alpha = np.empty((h, w), np.uint8)
        self.out = np.empty((h, w, 4 if self.layout == "bgra" else 3), np.uint8)
        self._prev_alpha: np.ndarray | None = None

    @staticmethod
    def _open_backdrop(spec: str | None) -> Backdrop:
        backdrop = open_backdrop(spec)
        if isinstance(backdrop, VideoBackdrop):
            backdrop.close()
            return ClipTimedVideo(backdrop.path)
        return backdrop

    def __call__(self, frame: np.ndarray, seconds: float) -> np.ndarray:
        """The output image for ``frame`` (BGR uint8) at ``seconds`` into the clip; the array is
        reused by the next call."""
        if self.layout == "gray":
            alpha, _ = self.keyer.matte(frame, alpha_out=self.alpha)
            return alpha
        if self.layout == "bgra":
            out = self.keyer.rgba(frame, out=self.out, alpha_out=self.alpha)
        else:
            if isinstance(self.backdrop, ClipTimedVideo):
                self.backdrop.now = seconds
            back = self.backdrop.frame(frame, self._prev_alpha)
            _, out = self.keyer.composite(frame, back, out=self.out, alpha_out=self.alpha)
            self._prev_alpha = self.alpha
        if self.top is not None:
            overlay.overlay_rgba(out, self.top)
        return out

    def close(self) -> None:
        if self.backdrop is not None:
            self.backdrop.close()
