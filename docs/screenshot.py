"""Regenerate docs/window.png: the control window on the demo source, under a real X server.

    xvfb-run -s '-screen 0 1600x1000x24' python docs/screenshot.py [docs/window.png] [view] [masks]

With ``masks`` (docs/window-masks.png) a garbage polygon around the subject is being edited.
"""

import sys

from PyQt5.QtCore import QTimer

from livekey.config.settings import Settings
from livekey.masks import MaskLayer
from livekey.media.backdrops import open_backdrop
from livekey.media.sources import open_source
from livekey.runtime.pipeline import Pipeline
from livekey.ui import application
from livekey.ui.window import open_window

SOURCE, BACKDROP = "demo:1280x720@30", "default"
# A garbage polygon around the demo's subject, cutting off the frame's top corners.
GARBAGE = (0.26, 0.06, 0.74, 0.06, 0.92, 1.0, 0.04, 1.0, 0.07, 0.52, 0.18, 0.36)


def main() -> None:
    target = sys.argv[1] if len(sys.argv) > 1 else "docs/window.png"
    view = sys.argv[2] if len(sys.argv) > 2 else "split"
    masks = len(sys.argv) > 3 and sys.argv[3] == "masks"
    app = application()
    pipeline = Pipeline(open_source(SOURCE), Settings(), open_backdrop(BACKDROP))
    window = open_window(pipeline, "calibration/studio.toml", source=SOURCE, backdrop=BACKDROP, view=view)
    window.resize(1560, 900)
    if masks:
        window.mask_panel.add_layer(MaskLayer("shape", shape="poly", points=GARBAGE, feather=3.0))
        window.set_shape_editing(True)
        window.scroll.ensureWidgetVisible(window.mask_panel)
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
