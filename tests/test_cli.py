"""``livekey key`` and ``livekey bench`` end to end, through the real entry point."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from livekey.cli import main
from livekey.engine.keyer import Keyer
from livekey.media import synthetic


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("scene")
    f = synthetic.scene("portrait", 320, 180)
    path = d / "green.jpg"
    cv2.imwrite(str(path), f.image)
    return path, f


def test_key_writes_straight_alpha_rgba(scene_file, tmp_path, capsys):
    path, f = scene_file
    out = tmp_path / "out.png"
    assert main(["key", str(path), "-o", str(out)]) == 0
    img = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert img.shape == (180, 320, 4)
    alpha = img[..., 3].astype(np.float32) / 255
    assert alpha[f.alpha <= 0.001].mean() < 0.05
    assert alpha[f.alpha >= 0.999].mean() > 0.98
    solid = (f.alpha >= 0.999) & (alpha > 0.99)
    assert np.abs(img[..., :3][solid].astype(float) - f.fg[solid]).mean() < 12  # colour kept, not premultiplied
    assert "detected" in capsys.readouterr().out


def test_key_keys_a_still_as_a_live_session_keys_its_second_frame(tmp_path):
    f = synthetic.scene("portrait", 640, 360)
    path, out = tmp_path / "green.png", tmp_path / "out.png"
    cv2.imwrite(str(path), f.image)
    assert main(["key", str(path), "-o", str(out)]) == 0
    alpha = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., 3]
    keyer = Keyer()
    first = keyer.matte(f.image)[0].copy()
    second = keyer.matte(f.image)[0]
    assert np.array_equal(alpha, second) and not np.array_equal(alpha, first)


def test_key_with_backdrop_of_other_size_is_covered_and_said(scene_file, tmp_path, capsys):
    path, _ = scene_file
    back = tmp_path / "back.png"
    cv2.imwrite(str(back), synthetic.backdrop(200, 300))
    out = tmp_path / "comp.jpg"
    assert main(["key", str(path), "-o", str(out), "--backdrop", str(back)]) == 0
    assert cv2.imread(str(out)).shape == (180, 320, 3)
    assert "scaled to cover 320x180" in capsys.readouterr().err


def test_key_with_profile_and_flag(scene_file, tmp_path):
    path, _ = scene_file
    prof = tmp_path / "p.toml"
    prof.write_text('[key]\nkey_color = "#30b13e"\n')
    out = tmp_path / "o.png"
    assert main(["key", str(path), "-o", str(out), "--profile", str(prof), "--hue-width", "40"]) == 0


@pytest.mark.parametrize("args,message", [
    (["key", "missing.jpg", "-o", "x.png"], "does not exist"),
    (["key", "{not_image}", "-o", "x.png"], "is not an image"),
    (["key", "{scene}", "-o", "x.jpg"], "cannot hold transparency"),
    (["key", "{scene}", "-o", "{tmp}/no/such/dir/x.png"], "does not exist"),
    (["key", "{scene}", "-o", "x.png", "--profile", "{bad_profile}"], "unknown key key.nope"),
    (["key", "{scene}", "-o", "x.png", "--hue-width", "999"], "hue_width"),
    (["key", "{scene}", "-o", "x.png", "--backdrop", "missing.png"], "backdrop 'missing.png' is not a file"),
    (["key", "{grey}", "-o", "x.png"], "no green or blue screen"),
    (["bench", "--sizes", "big"], "is not WIDTHxHEIGHT"),
])
def test_bad_input_is_one_line_and_nonzero(scene_file, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.jpg").write_text("not an image")
    (tmp_path / "bad.toml").write_text("[key]\nnope = 1\n")
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((40, 60, 3), 128, np.uint8))
    fill = {"not_image": tmp_path / "notes.jpg", "scene": scene_file[0], "tmp": tmp_path,
            "bad_profile": tmp_path / "bad.toml", "grey": tmp_path / "grey.png"}
    assert main([a.format(**fill) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("livekey: error:") and message in err and "\n" not in err


def test_console_script_runs_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "livekey", "key", "nope.png", "-o", "x.png"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "does not exist" in proc.stderr


def test_bench_json_shape(capsys):
    assert main(["bench", "--json", "--sizes", "64x48", "96x64", "--repeats", "3", "--no-ffmpeg"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"64x48", "96x64"}
    for entry in data.values():
        assert entry["ms"] > 0 and entry["copy_ms"] >= 0 and entry["kernel_ms"] > 0


@pytest.mark.parametrize("command", ["key", "calibrate", "bench", "quality", "run", "devices"])
def test_every_command_prints_its_help(command, capsys):
    """Help text comes from the settings declaration; a "%" in it once crashed argparse."""
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ") and command in out
    if command in ("key", "run"):
        assert "--chroma-detail" in out and "7% less edge error" in out
