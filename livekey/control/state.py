"""The live state that the control API and the window both change: one :class:`Controller` per run.

It holds the pipeline handle and applies changes the way the window always has: a new immutable
:class:`~livekey.config.settings.Settings` swapped into the pipeline (used whole from the next
frame), a backdrop opened by :func:`~livekey.media.backdrops.open_backdrop` as ``--backdrop`` is,
a profile's settings and masks, a :class:`~livekey.media.sinks.Recorder` added as a sink.
Every method is thread-safe (the HTTP server calls them from its own threads) and tells the
listeners what changed, so a window can show a change made through the API.

Errors are :class:`LivekeyError` subclasses whose class says which HTTP status they map to.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from livekey.config.profile import Profile
from livekey.config.settings import BY_NAME, Settings
from livekey.errors import LivekeyError
from livekey.masks import MaskStack, check_turned_on

if TYPE_CHECKING:
    from livekey.media.sinks import Recorder
    from livekey.runtime.pipeline import Output, Pipeline

RECORD_DIR = Path("recordings")  # where a recording goes when no path is given (as the window's)
STATS_MAX_AGE = 0.1  # seconds a status may reuse the pipeline's counters (0.2 ms to read them afresh)
# Level 1, Huffman only: a 720p composite in about 34 ms of CPU and 1.0 MB; zlib's default strategy
# at level 1 took 42 ms for 1.15 MB, at level 3 70 ms (a 720p demo frame over the default backdrop, 2026-12-07).
PNG_OPTIONS = (cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY)


class Conflict(LivekeyError):
    """The request contradicts the state (record while recording, stop while not)."""


class NotReady(LivekeyError):
    """The pipeline has not delivered a frame yet; ask again shortly."""


Listener = Callable[[str], None]  # called with what changed: settings, backdrop, profile or record


def parse_setting_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Setting names -> values from JSON, checked by the settings declaration. A number or a
    boolean may also come as text (as on the command line): stream deck tools often send text."""
    parsed: dict[str, Any] = {}
    for name, value in changes.items():
        setting = BY_NAME.get(name)
        if setting is None:
            raise LivekeyError(f"unknown setting {name!r}; known settings: {', '.join(BY_NAME)}")
        textual = isinstance(value, str) and setting.kind in ("float", "int", "bool")
        parsed[name] = setting.parse(value) if textual else setting.check(value)
    return parsed


class Controller:
    """The run's pipeline and what was chosen for it, changed from any thread."""

    def __init__(self, pipeline: Pipeline, *, fps: float = 30.0, backdrop: str | None = None,
                 profile: str | Path | None = None, record_dir: str | Path = RECORD_DIR) -> None:
        self.pipeline = pipeline
        self.fps = fps
        self.backdrop_spec = backdrop or "default"
        self.profile_path = Path(profile) if profile else None
        self.record_dir = Path(record_dir)
        self.recorded: list[Recorder] = []  # every recording started here, for the run's summary
        self._recording_started: dict[int, float] = {}  # id(recorder) -> time.monotonic() at start
        self._lock = threading.Lock()  # settings, masks, backdrop: held for reference swaps only
        self._record_lock = threading.Lock()  # start/stop: held while an encoder opens or a file closes
        self._listeners: list[Listener] = []
        self._latest: Output | None = None
        self._stats: tuple[float, dict[str, Any]] = (-STATS_MAX_AGE, {})  # (time.monotonic(), stats)
        pipeline.subscribe(self._keep_latest)

    # --- listeners ---------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(what)`` after every change, on the thread that made it."""
        with self._lock:
            self._listeners = self._listeners + [listener]

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners = [f for f in self._listeners if f is not listener]

    def _changed(self, what: str) -> None:
        for listener in self._listeners:
            try:
                listener(what)
            except Exception as err:  # a listener's bug must not undo or hide a change already made
                self.pipeline.on_message(f"a control listener failed: {err}")

    def _keep_latest(self, output: Output) -> None:
        self._latest = output  # one reference swap on the processing thread; the pool skips held arrays

    def close(self) -> None:
        """Stop receiving frames (the pipeline closes any recording still running when it stops)."""
        self.pipeline.unsubscribe(self._keep_latest)
        self._latest = None

    # --- settings and profile -----------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.pipeline.settings

    def _check_person(self, settings: Settings, masks: MaskStack | None = None) -> None:
        """A missing person model fails the change now (:func:`livekey.masks.check_turned_on`)."""
        check_turned_on(self.pipeline.settings.person, settings.person,
                        self.pipeline.keyer.masks if masks is None else masks)

    def apply_settings(self, settings: Settings) -> Settings:
        """Use ``settings`` whole from the next frame on."""
        self._check_person(settings)
        with self._lock:
            self.pipeline.update_settings(settings)
        self._changed("settings")
        return settings

    def patch_settings(self, changes: Mapping[str, Any]) -> Settings:
        """Change the named settings (all or none: a bad value changes nothing)."""
        with self._lock:  # read-modify-write: two patches at once must not lose one
            settings = self.pipeline.settings.replace(**parse_setting_changes(changes))
            self._check_person(settings)
            self.pipeline.update_settings(settings)
        self._changed("settings")
        return settings

    def load_profile(self, path: str | Path) -> Profile:
        """Use a profile's settings and masks from the next frame on."""
        profile = Profile.load(path)
        profile.masks.validate()  # a missing mask image fails now, not on the next frame
        self._check_person(profile.settings, profile.masks)
        with self._lock:
            self.pipeline.update_masks(profile.masks)
            self.pipeline.update_settings(profile.settings)
            self.profile_path = Path(path)
        self._changed("profile")
        return profile

    # --- backdrop --------------------------------------------------------------
    def set_backdrop(self, spec: str) -> str:
        """Composite over ``spec`` (a file, a colour, blur, transparent, default) from the next frame on;
        returns the backdrop's description."""
        from livekey.media.backdrops import open_backdrop

        if not isinstance(spec, str) or not spec.strip():
            raise LivekeyError("backdrop must be a file, a colour (#RRGGBB or a name), blur, transparent or default")
        backdrop = open_backdrop(spec)
        with self._lock:
            self.pipeline.set_backdrop(backdrop)
            self.backdrop_spec = spec.strip()
        self._changed("backdrop")
        return backdrop.info

    # --- recording -------------------------------------------------------------
    def recording(self) -> Recorder | None:
        """The recording the pipeline is writing (started here, by the window or by --record), if any."""
        return next((s for s in self.pipeline.sinks if getattr(s, "name", "") == "recording"), None)

    def _frame(self) -> Output:
        output = self._latest
        if output is None:
            raise NotReady("no frame yet: the pipeline is starting; try again in a moment")
        return output

    def start_recording(self, path: str | Path | None = None) -> Recorder:
        """Record the composite to ``path`` (default: RECORD_DIR/livekey-DATE-TIME.mp4, .mov when
        the backdrop is transparent) at the current frame size."""
        from livekey.media.sinks import Recorder

        with self._record_lock:
            running = self.recording()
            if running is not None:
                raise Conflict(f"already recording to {running.path}; stop it first (DELETE /api/record)")
            composite = self._frame().composite
            h, w = composite.shape[:2]
            alpha = composite.shape[2] == 4
            if path is None:
                self.record_dir.mkdir(parents=True, exist_ok=True)
                path = self.record_dir / time.strftime(f"livekey-%Y%m%d-%H%M%S.{'mov' if alpha else 'mp4'}")
            recorder = Recorder(path, w, h, self.fps, alpha=alpha)
            self.pipeline.add_sink(recorder)
            self.recorded.append(recorder)
            self._recording_started[id(recorder)] = time.monotonic()
        self._changed("record")
        return recorder

    def stop_recording(self) -> Recorder:
        """Stop the recording under way; the file is finalised when this returns."""
        with self._record_lock:
            recorder = self.recording()
            if recorder is None:
                raise Conflict("not recording; start one first (POST /api/record)")
            self.pipeline.remove_sink(recorder)  # waits for the queued frames and the file's end
        self._changed("record")
        return recorder

    def recording_status(self) -> dict[str, Any]:
        recorder = self.recording()
        if recorder is None:
            last = self.recorded[-1] if self.recorded else None
            return {"active": False, "path": str(last.path) if last else None}
        started = self._recording_started.get(id(recorder))
        path = Path(recorder.path)
        return {
            "active": True,
            "path": str(path),
            "frames": recorder.frames,
            "seconds": round(time.monotonic() - started, 2) if started is not None else None,
            "bytes": path.stat().st_size if path.exists() else 0,
        }

    # --- reading -----------------------------------------------------------------
    def snapshot_png(self) -> bytes:
        """The latest composite as PNG bytes (RGBA when the backdrop is transparent)."""
        ok, buf = cv2.imencode(".png", self._frame().composite, list(PNG_OPTIONS))
        if not ok:
            raise LivekeyError("could not encode the snapshot as PNG")
        return buf.tobytes()

    def status(self) -> dict[str, Any]:
        """What runs and how well: rates, drops, latency (up to STATS_MAX_AGE old), source, backdrop,
        recording, every setting (current)."""
        read_at, stats = self._stats
        if time.monotonic() - read_at >= STATS_MAX_AGE:  # a stream deck polling fast reads them once
            stats = self.pipeline.stats()
            self._stats = (time.monotonic(), stats)
        backdrop = self.pipeline.backdrop  # whoever switched it (a backdrop that knows its spec says it)
        return {
            "fps": stats["fps"],
            "frames": stats["frames_out"],
            "dropped": stats["dropped"],
            "latency_ms_p50": stats["latency_ms_p50"],
            "latency_ms_p99": stats["latency_ms_p99"],
            "source": self.pipeline.source_info,
            "backdrop": {"spec": getattr(backdrop, "spec", "") or self.backdrop_spec, "info": backdrop.info},
            "profile": str(self.profile_path) if self.profile_path else None,
            "recording": self.recording_status(),
            "settings": dict(self.settings),
        }
