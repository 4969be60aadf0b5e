"""Changes made through the control API, shown in the window.

The :class:`~livekey.control.state.Controller` tells its listeners on the thread that made the
change (an HTTP worker); :class:`ControlSync` carries the news to Qt's thread with a queued signal
and asks the window to show the controller's state there.

The window's own method for that is ``sync_from_state()``: it reads what the pipeline does now
(settings, masks, backdrop, sinks), whoever changed it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, Qt, pyqtSignal

if TYPE_CHECKING:
    from livekey.control.state import Controller
    from livekey.ui.window import ControlWindow


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
        if what == "profile":  # the pipeline does not know the file: the window opens it to name it
            self.window.open_profile(self.controller.profile_path)
        self.window.sync_from_state()
        self.window.statusBar().showMessage(f"control API: {what} changed", 5000)
