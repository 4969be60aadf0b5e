"""Regenerate docs/window.png: the control window on the demo source, under a real X server.

    xvfb-run -s '-screen 0 1600x1000x24' python docs/screenshot.py [docs/window.png] [view]
"""

import sys

from PyQt5.QtCore import QTimer

from livekey.backdrops import open_backdrop
from livekey.pipeline import Pipeline
from livekey.settings import Settings
from livekey.sources import open_source
from livekey.ui import application
from livekey.ui.window import open_window

SOURCE, BACKDROP = "demo:1280x720@30", "default"


def main() -> None:
    target = sys.argv[1] if len(sys.argv) > 1 else "docs/window.png"
    view = sys.argv[2] if len(sys.argv) > 2 else "split"
    app = application()
    pipeline = Pipeline(open_source(SOURCE), Settings(), open_backdrop(BACKDROP))
    window = open_window(pipeline, "calibration/studio.toml", source=SOURCE, backdrop=BACKDROP, view=view)
    window.resize(1560, 900)
    pipeline.start()

    def grab() -> None:
        window.refresh_status()
        app.primaryScreen().grabWindow(int(window.winId())).save(target)
        print(f"saved {target}")
        window.close()

    QTimer.singleShot(4000, grab)  # a few seconds of frames, so the stats have settled
    app.exec_()


if __name__ == "__main__":
    main()
