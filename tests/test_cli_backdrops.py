"""`livekey key` takes every backdrop `run` takes, through media/backdrops.py; one status view."""

import cv2
import numpy as np
import pytest

from livekey.cli import main
from livekey.engine.status import STATUS_BETWEEN_BGR, status_view
from livekey.media import synthetic
from livekey.runtime.frames import Output
from livekey.ui import views


@pytest.fixture
def scene(tmp_path):
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), synthetic.scene("portrait", 320, 180).image)
    return path


def keyed(scene, tmp_path, backdrop, suffix="png"):
    out = tmp_path / f"out.{suffix}"
    status = tmp_path / "status.png"
    assert main(["key", str(scene), "-o", str(out), "--backdrop", backdrop, "--status", str(status)]) == 0
    return cv2.imread(str(out), cv2.IMREAD_UNCHANGED), cv2.imread(str(status))


@pytest.mark.parametrize("spec, bgr", [("#0000ff", (255, 0, 0)), ("black", (0, 0, 0)), ("white", (255, 255, 255))])
def test_key_composites_over_a_colour_like_run(scene, tmp_path, spec, bgr):
    out, status = keyed(scene, tmp_path, spec)
    screen = (status == 0).all(axis=2)  # black in the status view: fully keyed
    assert screen.mean() > 0.3
    assert (np.abs(out[screen].astype(int) - bgr) <= 3).all()  # alpha 0..2 there


def test_key_over_transparent_writes_rgba(scene, tmp_path):
    out, status = keyed(scene, tmp_path, "transparent")
    assert out.shape[2] == 4
    assert out[(status == 0).all(axis=2), 3].max() <= 2


def test_key_over_blur_on_a_green_screen_says_what_it_does(scene, tmp_path, capsys):
    out, status = keyed(scene, tmp_path, "blur")
    assert "green screen" in capsys.readouterr().err
    screen = (status == 0).all(axis=2)
    b, g, r = out[screen].mean(axis=0)
    assert g > r + 30 and g > b + 30  # blurred green: why the note is there


def test_key_with_a_bad_backdrop_is_one_line(scene, tmp_path, capsys):
    assert main(["key", str(scene), "-o", str(tmp_path / "o.png"), "--backdrop", "#12345"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("livekey: error: backdrop '#12345'") and err.count("\n") == 1


def test_one_status_view_in_the_window_and_the_cli(scene, tmp_path):
    _, status = keyed(scene, tmp_path, "black")
    alpha = np.arange(256, dtype=np.uint8).reshape(16, 16)
    raw = np.zeros((16, 16, 3), np.uint8)
    window = views.render_view("status", Output(0, 0.0, raw, alpha, raw))
    np.testing.assert_array_equal(window, status_view(alpha))
    between = (status == STATUS_BETWEEN_BGR).all(axis=2)
    assert between.any()  # the edge band is red in the file, as in the window and the README
    assert STATUS_BETWEEN_BGR == (0, 0, 220)
