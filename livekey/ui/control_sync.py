"""Changes made through the control API, shown in the window.

The :class:`~livekey.control.state.Controller` tells its listeners on the thread that made the
change (an HTTP worker); :class:`ControlSync` carries the news to Qt's thread with a queued signal
and asks the window to show the controller's state there.

The window's own method for that is ``sync_from_state()``: it reads what the pipeline does now
(settings, masks, backdrop, sinks), whoever changed it. A window without one (before the outputs-first
window lands) is brought in line by :func:`show_in_window` with its public methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, Qt, pyqtSignal

if TYPE_CHECKING:
    from livekey.control.state import Controller
    from livekey.ui.window import ControlWindow

HOOK = "sync_from_state"  # the window method that shows the pipeline's state, called after each change


class ControlSync(QObject):
    """Follows ``controller`` in ``window`` until :meth:`detach`."""

    changed = pyqtSignal(str)

    def __init__(self, window: ControlWindow, controller: Controller) -> None:
        super().__init__(window)
        self.window, self.controller = window, controller
        self.changed.connect(self._show, Qt.QueuedConnection)
        self._listener = self.changed.emit  # kept: the same object unsubscribes
        controller.subscribe(self._listener)

    def detach(self) -> None:
        self.controller.unsubscribe(self._listener)

    def _show(self, what: str) -> None:
        hook = getattr(self.window, HOOK, None)
        if hook is not None:
            hook()
        else:
            show_in_window(self.window, self.controller, what)


def _show_settings(window: ControlWindow, controller: Controller) -> str:
    window.apply_settings(controller.settings)  # the same Settings object: the pipeline sees no change
    return "settings changed"


def _show_profile(window: ControlWindow, controller: Controller) -> str:
    window.open_profile(controller.profile_path)  # reads the file the API just applied: the same values
    return f"profile {controller.profile_path}"


def _show_backdrop(window: ControlWindow, controller: Controller) -> str:
    window.io.backdrop.setCurrentText(controller.backdrop_spec)
    return f"backdrop {controller.backdrop_spec}"


def _show_record(window: ControlWindow, controller: Controller) -> str:
    recording = controller.recording_status()
    return f"recording to {recording['path']}" if recording["active"] else "recording stopped"


SHOW = {"settings": _show_settings, "profile": _show_profile, "backdrop": _show_backdrop, "record": _show_record}


def show_in_window(window: ControlWindow, controller: Controller, what: str) -> None:
    """Bring the window's controls in line with the controller after a change ``what``."""
    note = SHOW[what](window, controller) if what in SHOW else what
    window.statusBar().showMessage(f"control API: {note}", 5000)
