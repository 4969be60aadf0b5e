"""Calibration a person can follow: the countdown big on the picture, then what was measured;
`livekey calibrate` takes camera 0 unless told otherwise, like `run`."""

from pathlib import Path

import numpy as np
import pytest

from livekey.cli import build_parser, main
from livekey.media import images, synthetic
from livekey.ui import window as window_module


def grab(preview) -> np.ndarray:
    image = preview.grab().toImage().convertToFormat(4)  # QImage.Format_RGB32
    arr = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    return arr.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, :image.width(), :3]


def test_the_countdown_is_painted_large_on_the_preview(window, qtbot):
    window.resize(1280, 720)
    window.calibrator.countdown_s = 3
    qtbot.wait(50)
    plain = grab(window.preview)
    window.calibrate()
    assert window.preview.banner[0] == "3" and "Step out" in window.preview.banner[1]
    shown = grab(window.preview)
    h = shown.shape[0]
    changed = np.abs(shown.astype(int) - plain.astype(int)).sum(axis=2) > 60
    rows = np.flatnonzero(changed.any(axis=1))
    assert rows.size and rows.min() < h / 2 < rows.max()  # across the middle of the picture
    white = (shown > 240).all(axis=2) & changed
    glyph_rows = np.flatnonzero(white.any(axis=1))
    assert glyph_rows.max() - glyph_rows.min() > h / 5  # the digit is large, not status-bar text
    qtbot.waitUntil(lambda: window.preview.banner is not None and window.preview.banner[0] == "2", timeout=3000)
    window.calibrate()  # cancel
    assert window.preview.banner is None


def test_a_refused_calibration_says_why_on_the_picture(window, qtbot):
    window.calibrator.countdown_s = 0
    window.calibrate()
    qtbot.waitUntil(lambda: window.preview.banner is not None and window.preview.banner[0] == "Not calibrated",
                    timeout=15000)
    assert "step out of the frame" in window.preview.banner[1]  # the demo's person is in the picture


def test_a_calibration_shows_what_it_measured(window, qtbot, tmp_path, monkeypatch):
    layers = synthetic.build_layers("portrait", 320, 180)
    still = tmp_path / "empty.png"
    images.write_image(still, synthetic.degrade(layers.screen, np.random.default_rng(3)))
    assert window.switch_source(str(still))
    qtbot.waitUntil(lambda: "empty.png" in window.pipeline.source_info, timeout=10000)
    qtbot.wait(300)
    monkeypatch.setattr(window_module.QFileDialog, "getSaveFileName",
                        lambda *a: (str(tmp_path / "calibration" / "empty.toml"), ""))
    monkeypatch.chdir(tmp_path)
    window.calibrator.countdown_s = 0
    window.calibrate()
    qtbot.waitUntil(lambda: window.preview.banner is not None and window.preview.banner[0] == "Calibrated",
                    timeout=15000)
    text = window.preview.banner[1]
    for part in ("key colour #", "screen", "hue spread", "noise"):
        assert part in text
    assert window._banner_timer.isActive()  # it goes away by itself


def test_cli_calibrate_defaults_to_camera_0_like_run():
    args = build_parser().parse_args(["calibrate", "-o", "x.toml"])
    assert args.source == "0"
    assert build_parser().parse_args(["run"]).source in (None, "0")  # run: camera 0 too


@pytest.mark.skipif(Path("/dev/video0").exists(), reason="this machine has a camera 0")
def test_cli_calibrate_without_a_camera_says_so_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "studio.toml"
    assert main(["calibrate", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("livekey: error: ") and "camera 0" in err and "--source demo" in err
    assert not out.exists()  # no profile of the demo screen passed off as the user's
