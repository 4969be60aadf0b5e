"""The control window: the live picture large, every setting at hand in a side panel.

:class:`ControlWindow` only wires widgets to the pipeline: controls call
``pipeline.update_settings``, the source/backdrop boxes call ``set_source``/``set_backdrop``,
the output boxes add and remove sinks, the mask list and the preview's shape tools call
``update_masks``, and Outputs arrive through a :class:`FrameBridge`.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtGui import QCloseEvent, QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QActionGroup,
    QApplication,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from livekey.config.calibration import Calibration, save_calibration
from livekey.config.profile import Profile
from livekey.config.settings import Settings
from livekey.errors import LivekeyError
from livekey.masks import MaskLayer, MaskStack, check_turned_on, with_person
from livekey.media.backdrops import BLUR_NOTE, blur_suits
from livekey.media.images import IMAGE_SUFFIXES
from livekey.media.sinks import open_sink
from livekey.ui import views
from livekey.ui.calibrate import COUNTDOWN_S, Calibrator
from livekey.ui.calibrate import summary as calibration_summary
from livekey.ui.elided_label import ElidedLabel
from livekey.ui.masks_panel import MaskPanel
from livekey.ui.outputs import OutputStrip
from livekey.ui.panel import SettingsPanel
from livekey.ui.preview import FrameBridge, PreviewWidget
from livekey.ui.switching import profile_paths, step
from livekey.ui.wheel_guard import guard_wheel

if TYPE_CHECKING:
    from livekey.runtime.pipeline import Pipeline

PROFILE_DIR = Path("calibration")


def user_profile_dir() -> Path:
    """The user's own profiles folder (~/.config/livekey/profiles on Linux), beside calibration/."""
    from PyQt5.QtCore import QStandardPaths

    return Path(QStandardPaths.writableLocation(QStandardPaths.AppConfigLocation)) / "profiles"


RECORD_DIR = Path("recordings")
STATS_INTERVAL_MS = 250
BANNER_S = 8  # how long a calibration's result stays over the picture
PANEL_MIN_WIDTH = 380  # px; the side panel's narrowest, with every value box and reset arrow in view
SOURCE_EXAMPLES = ("0", "1", "demo", "demo:1280x720@30")
DEFAULT_SIZE = (1440, 860)  # px; the window never opens larger than SCREEN_SHARE of the screen
SCREEN_SHARE = 0.9


def format_stats(stats: dict[str, Any], display_fps: float | None = None) -> str:
    """The status-bar line from ``Pipeline.stats()``."""
    def ms(key: str) -> str:
        value = stats.get(key)
        return "\u2013" if value is None else f"{value:.1f}"

    parts = [
        f"in {stats.get('fps_in') or 0.0:.1f} fps",
        f"out {stats.get('fps_out') or 0.0:.1f} fps",
        f"latency p50 {ms('latency_ms_p50')} / p99 {ms('latency_ms_p99')} ms",
        f"dropped {stats.get('dropped', 0)}",
        f"numba {stats.get('numba_threads', '?')} threads",
    ]
    if display_fps is not None:
        parts.append(f"display {display_fps:.1f} fps")
    return "   \u2502   ".join(parts)


def format_recording(elapsed_s: float, size_bytes: int) -> str:
    minutes, seconds = divmod(int(elapsed_s), 60)
    hours, minutes = divmod(minutes, 60)
    clock = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"
    return f"\u25cf REC {clock}  {size_bytes / 1e6:.1f} MB"


class IoPanel:
    """The source and calibration controls in a group box (plain widgets; the window places and
    wires them). The outputs are in the :class:`~livekey.ui.outputs.OutputStrip`."""

    def __init__(self, source_spec: str) -> None:
        self.source_box, form, self.source, self.source_browse = self._spec_group(
            "Source", "Input", SOURCE_EXAMPLES, source_spec,
            "Camera index (0), device path, video or image file, or demo[:WxH@FPS]; Enter to switch")
        self.source_info = ElidedLabel("\u2013")
        self.source_info.setToolTip("The mode the camera actually granted")
        form.addRow("Mode", self.source_info)
        self.calibrate = QPushButton("Calibrate…")
        self.calibrate.setToolTip("Count down, then average frames of the empty screen into a clean plate and "
                                  "a key profile (Ctrl+K); step out of frame first")
        self.calibrate_info = ElidedLabel("", mode=Qt.ElideRight)
        form.addRow(self.calibrate, self.calibrate_info)
    @staticmethod
    def _spec_group(title: str, label: str, examples: tuple[str, ...], current: str, tip: str
                    ) -> tuple[QGroupBox, QFormLayout, QComboBox, QPushButton]:
        """A group box with an editable spec box (examples listed) and a File... button."""
        box = QGroupBox(title)
        form = QFormLayout(box)
        spec = QComboBox()
        spec.setEditable(True)
        spec.addItems(examples)
        spec.setCurrentText(current)
        spec.setInsertPolicy(QComboBox.NoInsert)
        spec.setToolTip(tip)
        guard_wheel(spec)
        browse = QPushButton("File\u2026")
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(spec, 1)
        layout.addWidget(browse)
        form.addRow(label, row)
        return box, form, spec, browse


class ControlWindow(QMainWindow):
    """The live output large, the settings and I/O controls in a side panel, stats in the status bar."""

    def __init__(self, pipeline: Pipeline, profile_path: str | Path | None = None, *, source: str = "",
                 backdrop: str = "", record_dir: str | Path = RECORD_DIR, vcam_device: str | None = None,
                 fps: float = 30.0, view: str = "composite", calibration_countdown: float = COUNTDOWN_S) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.settings: Settings = pipeline.settings
        self.masks: MaskStack = getattr(getattr(pipeline, "keyer", None), "masks", None) or MaskStack()
        self.profile_path = Path(profile_path) if profile_path else None
        self.saved_profile: Profile | None = self._saved_profile()
        self.record_dir = Path(record_dir)
        self.vcam_device = vcam_device
        self.fps = fps
        self.recorder = None
        self.recording_path: Path | None = None
        self.recording_started = 0.0
        self.vcam = None
        self.last_error: str | None = None
        self.error_box: QMessageBox | None = None
        self._closing = False
        self._masks_pushed: collections.deque[MaskStack] = collections.deque(maxlen=16)
        self._masks_seen = self.masks
        self._backdrop_seen = self._backdrop_set = getattr(pipeline, "backdrop", None)
        self._shown_at_last_tick = 0
        self._last_tick = time.monotonic()

        self.preview = PreviewWidget()
        self.panel = SettingsPanel(self.settings)
        self.mask_panel = MaskPanel(self.masks)
        self._draw_mode = "intersect"  # the mode of the shape being drawn
        self.calibrator = Calibrator(pipeline, calibration_countdown, parent=self)
        self._banner_timer = QTimer(self)
        self._banner_timer.setSingleShot(True)
        self._banner_timer.timeout.connect(lambda: self.preview.set_banner(""))
        self.io = IoPanel(source)
        self.outputs = OutputStrip(backdrop, self.record_dir, vcam_device)
        self.outputs.set_choices(self._blur_suits(self.masks))
        if not source:  # run_window called without the spec: name what is running
            self.io.source.lineEdit().setPlaceholderText(pipeline.source_info)
        if not backdrop:
            self.outputs.backdrop.lineEdit().setPlaceholderText(
                getattr(getattr(pipeline, "backdrop", None), "info", ""))
        self._build_layout()

        self.stats_label = ElidedLabel(mode=Qt.ElideRight)  # the stats never widen the window
        self.statusBar().addPermanentWidget(self.stats_label, 1)
        self._build_actions()
        self._connect()
        self.set_view(view)
        self.fit_panel()
        self.fit_to_screen()
        self._update_title()

        self.bridge = FrameBridge()
        self.bridge.arrived.connect(self._show_latest, Qt.QueuedConnection)
        self.bridge.message.connect(self._pipeline_message, Qt.QueuedConnection)
        pipeline.subscribe(self.bridge.push)
        # Warnings raised on the pipeline's threads (a sink failing) reach the window too.
        previous = getattr(pipeline, "on_message", None)

        def on_message(text: str) -> None:
            if previous is not None:
                previous(text)
            self.bridge.post_message(text)

        pipeline.on_message = on_message
        self.stats_timer = QTimer(self)
        self.stats_timer.timeout.connect(self.refresh_status)
        self.stats_timer.start(STATS_INTERVAL_MS)
        self.refresh_status()

    # --- construction -------------------------------------------------------
    def _build_layout(self) -> None:
        """The outputs strip on top; under it the picture and, beside it, the scrolling side panel."""
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.panel)
        side_layout.addWidget(self.mask_panel)
        side_layout.addWidget(self.io.source_box)
        side_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(side)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setMinimumWidth(PANEL_MIN_WIDTH)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.preview)
        splitter.addWidget(self.scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setCollapsible(0, False)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(4, 4, 4, 0)
        central_layout.addWidget(self.outputs)
        central_layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

    def fit_panel(self) -> None:
        """Keep the side panel at least as wide as its contents' minimum, so no value box or reset
        arrow is ever cut off (long texts in it are elided, so this minimum does not grow with them)."""
        side = self.scroll.widget()
        side.adjustSize()
        needed = side.minimumSizeHint().width() + self.scroll.verticalScrollBar().sizeHint().width() \
            + 2 * self.scroll.frameWidth()
        self.scroll.setMinimumWidth(max(PANEL_MIN_WIDTH, needed))

    def fit_to_screen(self) -> None:
        """Open at DEFAULT_SIZE, but never larger than SCREEN_SHARE of the screen's free area."""
        screen = self.screen() if hasattr(self, "screen") else None
        area = (screen or QApplication.primaryScreen()).availableGeometry()
        width = min(DEFAULT_SIZE[0], int(area.width() * SCREEN_SHARE))
        height = min(DEFAULT_SIZE[1], int(area.height() * SCREEN_SHARE))
        self.resize(width, height)
        self.move(area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2)

    def _build_actions(self) -> None:
        menus = {name: self.menuBar().addMenu(name) for name in ("&File", "&View", "&Masks", "&Output", "&Help")}
        self.shortcut_actions: list[QAction] = []

        def action(menu: str, text: str, shortcut: str | QKeySequence.StandardKey | None, slot,
                   checkable: bool = False) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.setCheckable(checkable)
            # The whole application, whatever has focus (a text box still keeps its own typing keys).
            act.setShortcutContext(Qt.ApplicationShortcut)
            act.triggered.connect(slot)
            menus[menu].addAction(act)
            self.addAction(act)  # shortcuts work while the menu bar is hidden (full screen)
            self.shortcut_actions.append(act)
            return act

        action("&File", "&Open profile\u2026", "Ctrl+O", self.open_profile_dialog)
        action("&File", "&Save profile", "Ctrl+S", self.save_profile)
        action("&File", "Save profile &as\u2026", "Ctrl+Shift+S", self.save_profile_dialog)
        action("&File", "&Reset all settings to defaults", None, self.reset_all)
        menus["&File"].addSeparator()
        action("&File", "&Quit", "Ctrl+Q", self.close)

        self.view_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for number, mode in enumerate(views.VIEW_MODES, start=1):
            act = action("&View", views.VIEW_TITLES[mode], str(number), lambda _=False, m=mode: self.set_view(m),
                         checkable=True)
            group.addAction(act)
            self.view_actions[mode] = act
        action("&View", "&Next view", "V", self.next_view)
        menus["&View"].addSeparator()
        self.eyedropper_action = action("&View", "&Eyedropper (pick key colour)", "E", self.set_eyedropper,
                                        checkable=True)
        self.actual_pixels_action = action("&View", "&Actual pixels (1:1)", "Z", self.preview.set_actual_pixels,
                                           checkable=True)
        self.panel_action = action("&View", "Show settings &panel", "F9", lambda on: self.scroll.setVisible(on),
                                   checkable=True)
        self.panel_action.setChecked(True)
        action("&View", "&Full screen", "F11", self.toggle_full_screen)
        action("&View", "Leave eyedropper / drawing / shape editing / full screen", "Esc", self.escape)
        self.edit_shape_action = action("&Masks", "&Edit the selected shape", "M", self.set_shape_editing,
                                        checkable=True)
        action("&Masks", "Draw a &garbage polygon", "G", lambda: self.start_drawing("poly", "intersect"))
        action("&Masks", "Draw a garbage &rectangle", "Shift+G", lambda: self.start_drawing("rect", "intersect"))
        action("&Masks", "Draw a &core polygon", "C", lambda: self.start_drawing("poly", "add"))
        action("&Masks", "&Calibrate (countdown, empty screen)", "Ctrl+K", self.calibrate)
        self.vcam_action = action("&Output", "&Virtual camera", "Ctrl+Shift+V", self.set_vcam, checkable=True)
        self.record_action = action("&Output", "&Record", "Ctrl+R", self.set_recording, checkable=True)
        action("&Output", "Next &backdrop", "Ctrl+B", lambda: self.step_backdrop(1))
        action("&Output", "Previous backdrop", "Ctrl+Shift+B", lambda: self.step_backdrop(-1))
        action("&File", "Next &profile", "Ctrl+P", lambda: self.step_profile(1))
        action("&File", "Previous profile", "Ctrl+Shift+P", lambda: self.step_profile(-1))
        self.freeze_action = action("&View", "&Freeze frame (key the held frame)", "Ctrl+F", self.set_frozen,
                                    checkable=True)
        action("&Help", "&Keyboard shortcuts and views", "F1", self.show_help)

        toolbar = self.addToolBar("View")
        toolbar.setMovable(False)
        for mode, act in self.view_actions.items():
            toolbar.addAction(act)
            act.setIconText(mode.capitalize())
            act.setToolTip(f"{views.VIEW_TITLES[mode]} ({act.shortcut().toString()}): {views.VIEW_HELP[mode]}")
        toolbar.addSeparator()
        for act, short in ((self.eyedropper_action, "Pick key colour"), (self.actual_pixels_action, "1:1"),
                           (self.freeze_action, "Freeze")):  # Record sits in the outputs strip
            act.setIconText(short)
            toolbar.addAction(act)

    def _connect(self) -> None:
        self.panel.edited.connect(self.change_setting)
        self.panel.color_control.eyedropper.toggled.connect(self.set_eyedropper)
        self.preview.picked.connect(self._picked)
        self.preview.shape_drawn.connect(self._shape_drawn)
        self.preview.shape_edited.connect(self._shape_edited)
        self.preview.hint.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.mask_panel.changed.connect(self.apply_masks)
        self.mask_panel.draw_requested.connect(self.start_drawing)
        self.mask_panel.selected.connect(lambda _row: (self._show_edit_layer(), self.fit_panel()))
        self.panel.detail_changed.connect(lambda _mode: self.fit_panel())
        self.mask_panel.error.connect(self.show_error)
        self.mask_panel.edit.toggled.connect(self.set_shape_editing)
        self.io.calibrate.clicked.connect(self.calibrate)
        self.calibrator.status.connect(self._calibration_status)
        self.calibrator.banner.connect(self.preview.set_banner)
        self.calibrator.failed.connect(self._calibration_failed)
        self.calibrator.succeeded.connect(self._calibrated)
        self.io.source.lineEdit().returnPressed.connect(lambda: self.switch_source(self.io.source.currentText()))
        self.io.source.activated[str].connect(self.switch_source)
        self.io.source_browse.clicked.connect(
            lambda: self._browse(self.io.source, "Open a video or image", self.switch_source))
        self.outputs.backdrop.lineEdit().returnPressed.connect(
            lambda: self.switch_backdrop(self.outputs.backdrop.currentText()))
        self.outputs.backdrop.activated[str].connect(self.switch_backdrop)
        self.outputs.backdrop_browse.clicked.connect(
            lambda: self._browse(self.outputs.backdrop, "Open a backdrop image or video", self.switch_backdrop))
        self.outputs.vcam.clicked.connect(self.set_vcam)
        self.outputs.record.clicked.connect(self.set_recording)
        self.outputs.folder_browse.clicked.connect(self.choose_record_dir)

    # --- frames and status ----------------------------------------------------
    def _show_latest(self) -> None:
        output = self.bridge.take()
        if output is not None and not self._closing:
            self.preview.set_output(output)

    def _pipeline_message(self, text: str) -> None:
        self.last_error = text
        self.statusBar().showMessage(text, 10000)

    def refresh_status(self) -> None:
        """Stats, camera mode and recording size; closes the window if the pipeline stopped by itself."""
        if self._closing:
            return
        now = time.monotonic()
        shown = self.preview.frames_shown
        display_fps = (shown - self._shown_at_last_tick) / max(now - self._last_tick, 1e-6)
        self._shown_at_last_tick, self._last_tick = shown, now
        self.stats_label.setText(format_stats(self.pipeline.stats(), display_fps))
        self.sync_from_state()
        self.io.source_info.setText(self.pipeline.source_info)
        detected = getattr(getattr(self.pipeline, "keyer", None), "key_bgr", None)
        if detected is not None:
            b, g, r = detected
            self.panel.color_control.show_detected(f"#{r:02x}{g:02x}{b:02x}")
        if self.recorder is not None and self.recording_path is not None:
            size = self.recording_path.stat().st_size if self.recording_path.exists() else 0
            self.outputs.show_recording(format_recording(now - self.recording_started, size))
        if self.pipeline.wait(0):  # source ended, duration reached, or stopped from outside
            self.close()

    def sync_from_state(self) -> None:
        """Show what the pipeline is doing now, whoever changed it (this window, or the control API
        on another thread): settings, masks, backdrop, recording, virtual camera, freeze frame.
        Runs on the status timer; cheap when nothing changed."""
        pipeline = self.pipeline
        if pipeline.settings != self.settings:
            self.settings = pipeline.settings
            self.panel.show_settings(self.settings)
            self.outputs.set_choices(self._blur_suits(self.masks))
            self._update_title()
        masks = getattr(getattr(pipeline, "keyer", None), "masks", None)
        # The keyer takes a new stack at its next frame: only a stack it took since the last look,
        # and not one this window pushed, is news (before that it still holds the one it had).
        if masks is not self._masks_seen:
            self._masks_seen = masks
            news = masks is not None and masks != self.masks
            if news and all(masks is not mine for mine in self._masks_pushed):
                self.masks = masks
                self.outputs.set_choices(self._blur_suits(masks))
                self.mask_panel.show_stack(masks)
                self.fit_panel()
                self._update_title()
        backdrop = getattr(pipeline, "backdrop", None)
        if backdrop is not self._backdrop_seen:
            self._backdrop_seen = backdrop
            if backdrop is not self._backdrop_set:  # switched from outside the window
                self.outputs.remember(getattr(backdrop, "spec", "") or getattr(backdrop, "info", ""))
        self._sync_sinks(getattr(pipeline, "sinks", None))
        frozen = bool(getattr(pipeline, "frozen", False))
        if self.freeze_action.isChecked() != frozen:
            self.freeze_action.setChecked(frozen)

    def _sync_sinks(self, sinks: list | None) -> None:
        """Adopt a recording or virtual camera started from outside; notice one stopped from outside."""
        if sinks is None:
            return
        if self.recorder is not None and self.recorder not in sinks:
            self._recording_ended()
        if self.recorder is None:
            started = next((s for s in sinks if getattr(s, "kind", "") == "record"), None)
            if started is not None:
                self.recorder, self.recording_path = started, Path(started.path)
                self.recording_started = time.monotonic()
        if self.vcam is not None and self.vcam not in sinks:
            self.vcam = None
        if self.vcam is None:
            self.vcam = next((s for s in sinks if getattr(s, "kind", "") == "vcam"), None)
        self._show_output_state()

    def show_error(self, text: str) -> None:
        """Show a problem without blocking the event loop (the picture keeps running)."""
        self.last_error = text
        self.statusBar().showMessage(f"error: {text}", 10000)
        if self.error_box is None:
            self.error_box = QMessageBox(QMessageBox.Warning, "livekey", "", QMessageBox.Ok, self)
        self.error_box.setText(text)
        self.error_box.open()

    # --- settings ---------------------------------------------------------------
    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.pipeline.update_settings(settings)
        self.panel.show_settings(settings)
        self.outputs.set_choices(self._blur_suits(self.masks))
        self._update_title()

    def _blur_suits(self, stack: MaskStack) -> bool:
        """Whether blur suits the stack the keyer runs (the person setting adds the model's layer)."""
        return blur_suits(with_person(stack, self.settings.person))

    def change_setting(self, name: str, value: Any) -> None:
        try:
            settings = self.settings.replace(**{name: value})
            check_turned_on(self.settings.person, settings.person, self.masks)  # said here, not by the keyer
        except LivekeyError as err:
            self.panel.show_settings(self.settings)  # put the control back
            self.show_error(str(err))
            return
        self.apply_settings(settings)

    def reset_all(self) -> None:
        self.apply_settings(Settings())

    def _picked(self, color: str) -> None:
        self.set_eyedropper(False)
        self.change_setting("key_color", color)
        self.statusBar().showMessage(f"key colour {color} taken from the raw camera frame", 5000)

    # --- profiles ---------------------------------------------------------------
    def _saved_profile(self) -> Profile | None:
        if self.profile_path is None or not self.profile_path.exists():
            return None
        try:
            return Profile.load(self.profile_path)
        except LivekeyError:
            return None

    @property
    def profile(self) -> Profile:
        """The settings and masks in use, as a profile."""
        return Profile(self.settings, self.masks)

    @property
    def modified(self) -> bool:
        return self.profile != (self.saved_profile or Profile())

    def _update_title(self) -> None:
        name = self.profile_path.name if self.profile_path else "untitled profile"
        self.setWindowTitle(f"{name}[*] \u2014 livekey")
        self.setWindowModified(self.modified)

    def open_profile(self, path: str | Path) -> bool:
        try:
            profile = Profile.load(path)
            profile.masks.validate()  # a missing mask image fails here, not on the next frame
        except LivekeyError as err:
            self.show_error(str(err))
            return False
        self.profile_path, self.saved_profile = Path(path), profile
        self.apply_masks(profile.masks, 0)
        self.apply_settings(profile.settings)
        return True

    def save_profile(self, path: str | Path | None = None) -> bool:
        if path is None and self.profile_path is None:
            return self.save_profile_dialog()
        target = Path(path) if path is not None else self.profile_path
        profile = self.profile
        try:
            profile.save(target)
        except LivekeyError as err:
            self.show_error(str(err))
            return False
        self.profile_path, self.saved_profile = target, profile
        self._update_title()
        self.statusBar().showMessage(f"saved {target}", 5000)
        return True

    def _profile_dir(self) -> str:
        return str(self.profile_path.parent if self.profile_path else PROFILE_DIR)

    def profile_folders(self) -> list[Path]:
        folders = [PROFILE_DIR, user_profile_dir()]
        if self.profile_path is not None:
            folders.append(self.profile_path.parent)
        return folders

    def step_profile(self, by: int) -> bool:
        """Open the next (``by`` > 0) or previous profile of calibration/ and the user's folder."""
        paths = profile_paths(self.profile_folders())
        current = next((p for p in paths if self.profile_path and p.resolve() == self.profile_path.resolve()), None)
        path = step(paths, current, by)
        if path is None:
            self.show_error(f"no profiles to switch to: save one (Ctrl+S) in {PROFILE_DIR}/ or {user_profile_dir()}")
            return False
        if not self.open_profile(path):
            return False
        self.statusBar().showMessage(f"profile {path}", 5000)
        return True

    def open_profile_dialog(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self, "Open profile", self._profile_dir(), "Profiles (*.toml)")
        return self.open_profile(path) if path else False

    def save_profile_dialog(self) -> bool:
        if self.profile_path is None:
            PROFILE_DIR.mkdir(exist_ok=True)  # the dialog opens in calibration/, the profiles' home
        path, _ = QFileDialog.getSaveFileName(self, "Save profile as", self._profile_dir(), "Profiles (*.toml)")
        if not path:
            return False
        return self.save_profile(path if path.endswith(".toml") else path + ".toml")

    # --- view -------------------------------------------------------------------
    def set_view(self, mode: str) -> None:
        self.preview.set_mode(mode)
        self.view_actions[mode].setChecked(True)

    def next_view(self) -> None:
        modes = views.VIEW_MODES
        self.set_view(modes[(modes.index(self.preview.mode) + 1) % len(modes)])

    def set_eyedropper(self, on: bool) -> None:
        self.preview.set_eyedropper(on)
        for widget in (self.eyedropper_action, self.panel.color_control.eyedropper):
            widget.blockSignals(True)
            widget.setChecked(on)
            widget.blockSignals(False)

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def escape(self) -> None:
        if self.preview.eyedropper:
            self.set_eyedropper(False)
        elif self.preview.draw_shape is not None:
            self.preview.set_draw(None)
            self.statusBar().showMessage("drawing cancelled", 3000)
        elif self.preview.edit_layer is not None:
            self.set_shape_editing(False)
        elif self.calibrator.running:
            self.calibrator.cancel()
        elif self.isFullScreen():
            self.showNormal()

    # --- masks ---------------------------------------------------------------------
    def apply_masks(self, stack: MaskStack, row: int | None = None) -> None:
        """Use ``stack`` from the next frame on and show it (selecting ``row``)."""
        self.masks = stack
        self._push_masks(stack)
        self.outputs.set_choices(self._blur_suits(stack))
        self.mask_panel.show_stack(stack, row)
        self.fit_panel()
        self._show_edit_layer()
        self._update_title()

    def _push_masks(self, stack: MaskStack) -> None:
        self._masks_pushed.append(stack)
        self.pipeline.update_masks(stack)

    def start_drawing(self, shape: str, mode: str = "intersect") -> None:
        """Put the preview in draw mode for a new ``shape`` layer merged with ``mode``."""
        self.set_eyedropper(False)
        self.set_shape_editing(False)
        self._draw_mode = mode
        self.preview.set_draw(shape)
        how = ("click its points on the picture, double-click or Enter to close it" if shape == "poly"
               else "drag a box on the picture")
        self.statusBar().showMessage(f"drawing a {'garbage' if mode == 'intersect' else 'core'} {shape}: {how}",
                                     10000)

    def _shape_drawn(self, shape: str, points: tuple[float, ...]) -> None:
        try:
            layer = MaskLayer("shape", shape=shape, points=points, mode=self._draw_mode)
        except LivekeyError as err:
            self.show_error(str(err))
            return
        self.apply_masks(self.masks.add(layer), len(self.masks))
        self.set_shape_editing(True)  # drawn: now its handles can be dragged

    def _shape_edited(self, layer: MaskLayer) -> None:
        row = self.mask_panel.row
        if 0 <= row < len(self.masks) and self.masks[row].type == "shape":
            self.masks = self.masks.set(row, layer)
            self._push_masks(self.masks)
            self.mask_panel.show_stack(self.masks, row)
            self._update_title()

    def set_shape_editing(self, on: bool) -> None:
        """Show (or hide) the selected shape's handles on the preview for dragging."""
        layer = self.mask_panel.layer
        on = bool(on) and layer is not None and layer.type == "shape"
        for widget in (self.edit_shape_action, self.mask_panel.edit):
            widget.blockSignals(True)
            widget.setChecked(on)
            widget.blockSignals(False)
        self._show_edit_layer()

    def _show_edit_layer(self) -> None:
        layer = self.mask_panel.layer
        editing = self.mask_panel.edit.isChecked() and layer is not None and layer.type == "shape"
        self.edit_shape_action.setChecked(editing)
        self.preview.set_edit_layer(layer if editing else None)

    # --- calibration ------------------------------------------------------------------
    def calibrate(self) -> None:
        """Count down, collect frames of the empty screen, measure (Esc or the button again cancels)."""
        self._banner_timer.stop()  # an earlier result's banner must not end this countdown's
        if self.calibrator.running:
            self.calibrator.cancel()
        else:
            self.calibrator.start()
        self.io.calibrate.setText("Cancel calibration" if self.calibrator.running else "Calibrate…")

    def _calibration_status(self, text: str) -> None:
        self.io.calibrate_info.setText(text)
        self.statusBar().showMessage(text, 5000)
        if not self.calibrator.running:
            self.io.calibrate.setText("Calibrate…")

    def _show_result(self, large: str, small: str) -> None:
        """The calibration's outcome over the picture for BANNER_S, then the picture alone."""
        self.preview.set_banner(large, small)
        self._banner_timer.start(BANNER_S * 1000)

    def _calibration_failed(self, text: str) -> None:
        self._show_result("Not calibrated", text)
        self.io.calibrate.setText("Calibrate…")
        self.io.calibrate_info.setText("refused: see the message")
        self.show_error(text)

    def _calibrated(self, cal: Calibration) -> None:
        self._show_result("Calibrated", calibration_summary(cal))
        self.io.calibrate.setText("Calibrate…")
        name = self.profile_path.stem if self.profile_path else "studio"
        PROFILE_DIR.mkdir(exist_ok=True)
        path, _ = QFileDialog.getSaveFileName(self, "Save the calibration as", str(PROFILE_DIR / f"{name}.toml"),
                                              "Profiles (*.toml)")
        if not path:
            self.io.calibrate_info.setText("calibrated; not saved, not applied")
            return
        path = path if path.endswith(".toml") else path + ".toml"
        try:
            plate = save_calibration(cal, path)
        except LivekeyError as err:
            self.show_error(str(err))
            return
        self.apply_settings(cal.settings.replace(plate=str(plate)))
        text = f"calibrated: {calibration_summary(cal)}; saved {path} and {plate.name}"
        self.io.calibrate_info.setText(text)
        self.statusBar().showMessage(text, 10000)

    # --- source and backdrop --------------------------------------------------------
    def switch_source(self, spec: str) -> bool:
        from livekey.media.sources import open_source

        return self._switch("source", spec, open_source, self.pipeline.set_source)

    def switch_backdrop(self, spec: str) -> bool:
        from livekey.media.backdrops import open_backdrop

        def set_backdrop(backdrop) -> None:
            self._backdrop_set = backdrop
            self.pipeline.set_backdrop(backdrop)

        if not self._switch("backdrop", spec, open_backdrop, set_backdrop):
            return False
        self.outputs.remember(spec.strip())
        if spec.strip() == "blur" and not self._blur_suits(self.masks):
            self.statusBar().showMessage(f"note: {BLUR_NOTE}", 10000)
        return True

    def _switch(self, what: str, spec: str, opener, setter) -> bool:
        """Open ``spec`` and hand it to the pipeline; a bad spec is reported and changes nothing."""
        spec = spec.strip()
        try:
            setter(opener(spec))
        except LivekeyError as err:
            self.show_error(str(err))
            return False
        self.statusBar().showMessage(f"{what}: {spec}", 5000)
        return True

    def _browse(self, box: QComboBox, title: str, switch) -> None:
        images = " ".join(f"*{suffix}" for suffix in IMAGE_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, title, "", f"Media (*.mp4 *.mov *.mkv *.webm *.avi {images});;"
                                              "All files (*)")
        if path:
            box.setCurrentText(path)
            switch(path)

    # --- outputs -----------------------------------------------------------------
    def _frame_size(self) -> tuple[int, int] | None:
        output = self.preview.output
        if output is None:
            self.show_error("no frame yet: wait for the picture before starting an output")
            return None
        h, w = output.composite.shape[:2]
        return w, h

    def _show_output_state(self) -> None:
        for widget, on in ((self.outputs.vcam, self.vcam is not None), (self.vcam_action, self.vcam is not None),
                           (self.outputs.record, self.recorder is not None),
                           (self.record_action, self.recorder is not None)):
            widget.blockSignals(True)
            widget.setChecked(on)
            widget.blockSignals(False)
        if self.vcam is not None:
            self.outputs.vcam_info.setText(getattr(self.vcam, "info", "on"))

    def step_backdrop(self, by: int) -> bool:
        """Switch to the next (``by`` > 0) or previous backdrop in the strip's list."""
        spec = step(self.outputs.choices, self.outputs.backdrop.currentText(), by)
        return spec is not None and self.switch_backdrop(spec)

    def set_frozen(self, on: bool) -> None:
        """Freeze frame: key the frame of this moment over and over (settings still apply), or go live."""
        self.pipeline.set_frozen(on)
        self.freeze_action.setChecked(on)
        self.statusBar().showMessage("frozen: keying the held frame (Ctrl+F goes live)" if on else "live", 5000)

    def choose_record_dir(self) -> bool:
        """Ask for the folder new recordings go to (a recording under way keeps its file)."""
        folder = QFileDialog.getExistingDirectory(self, "Record to folder", str(self.record_dir))
        if not folder:
            return False
        self.set_record_dir(folder)
        return True

    def set_record_dir(self, folder: str | Path) -> None:
        self.record_dir = Path(folder)
        self.outputs.show_folder(self.record_dir)

    def set_vcam(self, on: bool) -> None:
        if on and self.vcam is None:
            size = self._frame_size()
            if size is not None:
                try:
                    self.vcam = open_sink("vcam", self.vcam_device, size[0], size[1], self.fps)
                    self.pipeline.add_sink(self.vcam)
                except LivekeyError as err:
                    self.vcam = None
                    self.show_error(str(err))
        elif not on and self.vcam is not None:
            vcam, self.vcam = self.vcam, None
            self.pipeline.remove_sink(vcam)
        self._show_output_state()

    def set_recording(self, on: bool) -> None:
        if on and self.recorder is None:
            size = self._frame_size()
            if size is not None:
                alpha = self.preview.output.composite.ndim == 3 and self.preview.output.composite.shape[2] == 4
                path = self.record_dir / time.strftime(f"livekey-%Y%m%d-%H%M%S.{'mov' if alpha else 'mp4'}")
                try:
                    self.record_dir.mkdir(parents=True, exist_ok=True)
                    recorder = open_sink("record", str(path), size[0], size[1], self.fps, alpha=alpha)
                    self.pipeline.add_sink(recorder)
                except (LivekeyError, OSError) as err:
                    self.show_error(str(err))
                else:
                    self.recorder, self.recording_path = recorder, path
                    self.recording_started = time.monotonic()
                    self.outputs.show_recording(format_recording(0, 0))
        elif not on and self.recorder is not None:
            self.pipeline.remove_sink(self.recorder)  # closes it: the file is finalised here
            self._recording_ended()
        self._show_output_state()

    def _recording_ended(self) -> None:
        self.recorder = None
        size = self.recording_path.stat().st_size if self.recording_path.exists() else 0
        self.outputs.show_stopped(self.recording_path, size)
        self.statusBar().showMessage(f"saved {self.recording_path}", 10000)

    # --- help and closing -----------------------------------------------------------
    def help_html(self) -> str:
        rows = "".join(f"<tr><td><b>{a.shortcut().toString(QKeySequence.NativeText)}</b></td>"
                       f"<td>{a.text().replace('&', '')}</td></tr>" for a in self.shortcut_actions if
                       not a.shortcut().isEmpty())
        modes = "".join(f"<li><b>{views.VIEW_TITLES[m]}</b> ({n}): {views.VIEW_HELP[m]}</li>"
                        for n, m in enumerate(views.VIEW_MODES, start=1))
        return (f"<h3>Keyboard shortcuts</h3><table cellspacing=4>{rows}</table>"
                f"<h3>Views</h3><ul>{modes}</ul>"
                f"<p>Status thresholds: alpha \u2264 {views.STATUS_SCREEN_MAX} is screen, alpha \u2265 "
                f"{views.STATUS_SOLID_MIN} solid foreground (alpha 0..255).</p>"
                "<h3>Eyedropper</h3><p>Press E (or Pick), then click the screen for a 9\u00d79 pixel average or "
                "drag a box over it: the key colour is the mean of the raw camera pixels in it, whatever view "
                "is shown. Esc cancels.</p>"
                "<h3>Masks</h3><p>The Masks list is the mask stack, applied top to bottom after the colour key "
                "(itself a layer). Add a garbage shape (outside it is screen) or a core shape (inside it is "
                "solid): for a polygon click its points on the picture and double-click or press Enter to close "
                "it; for a rectangle or ellipse drag a box. Edit shape (M) shows the selected shape's handles: "
                "drag a handle to move that point, drag inside the shape to move it. The check box turns a "
                "layer off; Up/Down reorder. Masks are saved in the profile.</p>"
                "<h3>Calibrate</h3><p>Ctrl+K counts down (step out of frame), averages frames of the empty "
                "screen into a clean plate, and saves and applies a key profile measured from it.</p>"
                "<h3>Panel</h3><p>Basic shows the few settings most keys need, All every group (click a "
                "group's title to fold it). The mouse wheel scrolls the panel; it changes a slider, box or list "
                "only after you click into it. Ctrl+F freezes the frame: the held picture is keyed again and "
                "again, so every change shows on it.</p>"
                "<p>Every change applies to the next frame. Hover a control for its help and range; \u21ba "
                "resets it to its default. A bold label marks a setting changed from its default; * in the "
                "title marks unsaved changes to the profile.</p>")

    def show_help(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("livekey: shortcuts and views")
        layout = QVBoxLayout(dialog)
        text = QTextBrowser()
        text.setHtml(self.help_html())
        layout.addWidget(text)
        dialog.resize(560, 640)
        dialog.open()
        self.help_dialog = dialog

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the pipeline (which closes its sinks, finalising a recording) before the window goes."""
        self._closing = True
        self.bridge.closed = True
        self.calibrator.cancel()
        self.stats_timer.stop()
        if hasattr(self.pipeline, "unsubscribe"):
            self.pipeline.unsubscribe(self.bridge.push)
        self.pipeline.stop()
        super().closeEvent(event)


def open_window(pipeline: Pipeline, profile_path: str | Path | None = None, **options: Any) -> ControlWindow:
    window = ControlWindow(pipeline, profile_path, **options)
    window.show()
    return window
