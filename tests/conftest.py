"""Shared fixtures. Qt runs offscreen: these machines have no screen."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DEMO = "demo:320x180@30"


@pytest.fixture(scope="session", autouse=True)
def started_up():
    """The process start-up a command runs before its first kernel (the thread policy, the kernel
    cache check), here once for the test session: some tests call kernels directly."""
    from livekey.runtime.startup import start_up

    start_up()
BACKDROP = "#204060"  # dark blue: nothing like the green screen, so raw and composite differ


def make_pipeline(settings=None):
    """A real pipeline on the small demo source (not started)."""
    from livekey.config.settings import Settings
    from livekey.media.backdrops import open_backdrop
    from livekey.media.sources import open_source
    from livekey.runtime.pipeline import Pipeline

    return Pipeline(open_source(DEMO), settings or Settings(), open_backdrop(BACKDROP))


@pytest.fixture
def window(qtbot, tmp_path):
    """The control window on a started demo pipeline, showing frames; closed (pipeline stopped) after."""
    from livekey.ui.window import open_window

    pipeline = make_pipeline()
    win = open_window(pipeline, None, source=DEMO, backdrop=BACKDROP, record_dir=tmp_path / "rec")
    qtbot.addWidget(win)
    pipeline.start()
    qtbot.waitUntil(lambda: win.preview.output is not None, timeout=20000)
    yield win
    win.close()
    pipeline.stop()
