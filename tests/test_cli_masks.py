"""``livekey key`` with --mask, --overlay and RGBA backdrops; ``livekey bench --masks``; bad input."""

import json

import cv2
import numpy as np
import pytest

from livekey.cli import main
from livekey.media import synthetic


@pytest.fixture(scope="module")
def stand_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("stand")
    img, stand = synthetic.with_light_stand(synthetic.scene("portrait", 320, 180).image)
    cv2.imwrite(str(d / "stand.png"), img)
    return d / "stand.png", stand


def test_key_with_garbage_mask_removes_the_stand(stand_file, tmp_path, capsys):
    path, stand = stand_file
    out = tmp_path / "o.png"
    assert main(["key", str(path), "-o", str(out)]) == 0
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., 3][stand].mean() > 240
    assert main(["key", str(path), "-o", str(out), "--mask", "garbage:rect:0.15,0,0.85,1:feather=2"]) == 0
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., 3][stand].max() == 0
    assert "masks key@replace; shape@intersect" in capsys.readouterr().out


def test_mask_toml_file_and_profile(stand_file, tmp_path):
    path, stand = stand_file
    (tmp_path / "m.toml").write_text('[[mask]]\ntype = "shape"\nshape = "rect"\npoints = [0.15, 0, 0.85, 1]\n')
    (tmp_path / "p.toml").write_text('[key]\nhue_width = 40.0\n\n[[mask]]\ntype = "shape"\nshape = "rect"\n'
                                     'points = [0.15, 0, 0.85, 1]\n')
    for args in (["--mask", str(tmp_path / "m.toml")], ["--profile", str(tmp_path / "p.toml")]):
        out = tmp_path / "o.png"
        assert main(["key", str(path), "-o", str(out), *args]) == 0
        assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., 3][stand].max() == 0


def test_diff_mask_keys_a_room_without_asking_for_a_screen(tmp_path, capsys):
    f, plate = synthetic.room_scene("portrait", 320, 180)
    cv2.imwrite(str(tmp_path / "room.png"), f.image)
    cv2.imwrite(str(tmp_path / "plate.png"), plate)
    out = tmp_path / "o.png"
    assert main(["key", str(tmp_path / "room.png"), "-o", str(out), "--mask", f"diff:{tmp_path / 'plate.png'}"]) == 0
    alpha = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., 3] / 255.0
    assert np.abs(alpha - f.alpha).mean() < 0.05
    assert "no colour key" in capsys.readouterr().out


def test_overlay_and_rgba_backdrop(stand_file, tmp_path):
    path, _ = stand_file
    logo = np.zeros((18, 32, 4), np.uint8)
    logo[:9] = (255, 0, 0, 255)  # opaque blue top half, transparent bottom
    cv2.imwrite(str(tmp_path / "logo.png"), logo)
    back = np.zeros((180, 320, 4), np.uint8)
    back[:, :160] = (0, 200, 0, 255)  # left half an opaque green backdrop, right half transparent
    cv2.imwrite(str(tmp_path / "back.png"), back)
    out = tmp_path / "o.png"
    assert main(["key", str(path), "-o", str(out), "--backdrop", str(tmp_path / "back.png"),
                 "--overlay", str(tmp_path / "logo.png")]) == 0
    img = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert img.shape == (180, 320, 4)
    assert np.all(img[:80, :, :3] == (255, 0, 0)) and img[:80, :, 3].min() == 255  # the overlay on top
    assert img[100:, 5:150, 3].min() == 255  # the opaque backdrop under the screen
    assert img[150:, 300:, 3].max() == 0  # screen over transparent backdrop: still transparent
    assert main(["key", str(path), "-o", str(tmp_path / "c.jpg"), "--overlay", str(tmp_path / "logo.png"),
                 "--backdrop", str(tmp_path / "logo.png")]) == 2  # RGBA result cannot go to a JPEG


@pytest.mark.parametrize("args,message", [
    (["--mask", "blob:1"], "--mask 'blob:1': unknown mask kind 'blob'"),
    (["--mask", "garbage:rect:0,0,1"], "a rect takes 4 numbers"),
    (["--mask", "image:missing.png"], "mask image missing.png does not exist"),
    (["--mask", "image:{notes}"], "is not an image OpenCV can read"),
    (["--mask", "diff:missing.png"], "clean plate missing.png does not exist"),
    (["--mask", "segment:{notes}"], "is not an ONNX model OpenCV can load"),
    (["--mask", "{bad_toml}"], "unknown mask type 'blob'"),
    (["--mask", "missing.toml"], "mask file missing.toml does not exist"),
    (["--overlay", "{plain}"], "has no alpha channel; use a PNG with transparency"),
    (["--overlay", "missing.png"], "overlay missing.png does not exist"),
])
def test_bad_mask_input_is_one_line(stand_file, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "bad.toml").write_text('[[mask]]\ntype = "blob"\n')
    cv2.imwrite(str(tmp_path / "plain.png"), np.zeros((4, 4, 3), np.uint8))
    fill = {"notes": tmp_path / "notes.png", "bad_toml": tmp_path / "bad.toml", "plain": tmp_path / "plain.png"}
    argv = ["key", str(stand_file[0]), "-o", "x.png", *(a.format(**fill) for a in args)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("livekey: error:") and message in err and "\n" not in err


def test_bench_masks_json(capsys):
    assert main(["bench", "--json", "--sizes", "96x64", "--repeats", "2", "--no-ffmpeg", "--masks"]) == 0
    entry = json.loads(capsys.readouterr().out)["96x64"]
    assert entry["ms"] > 0 and set(entry["masks"]) == {"none", "shape", "image", "diff"}
    assert all(m["stage_ms"] > 0 and m["full_ms"] > 0 for k, m in entry["masks"].items() if k != "none")
