"""The control window (PyQt5): live preview, every setting, eyedropper, view modes, profiles.

``run_window(pipeline)`` is what ``livekey run`` calls when a screen exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from livekey.runtime.pipeline import Pipeline


def has_screen() -> bool:
    """True when a window can be shown (Linux/BSD need X11 or Wayland; others always have one).
    No Qt import: the command line asks before it loads the window."""
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def application():
    """The QApplication, created (high-DPI aware) if there is none yet."""
    from PyQt5.QtCore import Qt
    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        from livekey.ui.qt_env import clear_cv2_qt_variables

        clear_cv2_qt_variables()  # before Qt reads them
        # Must be set before the application exists: logical coordinates, sharp 2x images.
        QApplication.setAttribute(Qt.AA_EnableHighDpiScaling, True)
        QApplication.setAttribute(Qt.AA_UseHighDpiPixmaps, True)
        app = QApplication(["livekey"])
        app.setApplicationName("livekey")
        app.setStyle("Fusion")  # the same look on every desktop (and in the docs' screenshot)
    return app


def _started(pipeline: Pipeline) -> bool:
    started = getattr(pipeline, "started", None)
    if started is None:  # no public flag in the contract: running threads mean start() was called
        started = bool(getattr(pipeline, "_threads", ()))
    return bool(started)


def run_window(pipeline: Pipeline, profile_path: str | Path | None = None, **options: Any) -> int:
    """Show the control window for ``pipeline``, start it if needed, run the Qt event loop until
    the window is closed (or the pipeline stops by itself), stop the pipeline, return the exit code.

    ``options``: source and backdrop (the specs shown in their boxes), record_dir, vcam_device,
    fps (for the virtual camera and recorder), view (the first view mode), controller (the run's
    :class:`~livekey.control.state.Controller`, whose changes the window follows).
    """
    from livekey.runtime.startup import start_up
    from livekey.ui.window import open_window

    controller = options.pop("controller", None)
    start_up()
    app = application()
    window = open_window(pipeline, profile_path, **options)
    sync = None
    if controller is not None:  # changes made through the control API show in the window
        from livekey.ui.control_sync import ControlSync

        sync = ControlSync(window, controller)
    # Lay out and paint the window before the first frame: building it takes long enough that a
    # camera already running would drop frames meanwhile.
    app.processEvents()
    if not _started(pipeline):
        pipeline.start()
    try:
        code = app.exec_()
    finally:
        if sync is not None:
            sync.detach()
        window.close()
        pipeline.stop()
    return code


__all__ = ["application", "has_screen", "run_window"]
