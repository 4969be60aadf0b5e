"""Regenerate docs/window.png: the control window on the demo source, under a real X server.

    xvfb-run -s '-screen 0 1920x1080x24' python docs/screenshot.py [docs/window.png] [--view split]
    xvfb-run -s '-screen 0 1280x720x24' python docs/screenshot.py /tmp/small.png --whole-screen --all

The window opens as it does for a user: at most 90% of the screen. ``--masks`` (docs/window-masks.png)
edits a garbage polygon around the subject; ``--all`` shows every setting instead of the Basic view;
``--whole-screen`` saves the whole screen, to show the window fits on it.
"""

import argparse

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", default="docs/window.png")
    parser.add_argument("--view", default="split")
    parser.add_argument("--masks", action="store_true")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--whole-screen", action="store_true")
    args = parser.parse_args()
    app = application()
    pipeline = Pipeline(open_source(SOURCE), Settings(), open_backdrop(BACKDROP))
    window = open_window(pipeline, "calibration/studio.toml", source=SOURCE, backdrop=BACKDROP, view=args.view)
    if args.all:
        window.panel.set_detail("all")
    if args.masks:
        window.mask_panel.add_layer(MaskLayer("shape", shape="poly", points=GARBAGE, feather=3.0))
        window.set_shape_editing(True)
        window.scroll.ensureWidgetVisible(window.mask_panel)
    pipeline.start()

    def grab() -> None:
        window.refresh_status()
        screen = app.primaryScreen()
        shot = screen.grabWindow(0) if args.whole_screen else screen.grabWindow(int(window.winId()))
        shot.save(args.target)
        print(f"saved {args.target} ({shot.width()}x{shot.height()}; window {window.width()}x{window.height()})")
        window.close()

    QTimer.singleShot(4000, grab)  # a few seconds of frames, so the stats have settled
    app.exec_()


if __name__ == "__main__":
    main()
