"""The real-material benchmark end to end on a tiny folder of drawn 'photos' with known alpha."""

import json

import cv2
import numpy as np
import pytest

from livekey import peers, real_material
from livekey.cli import main
from livekey.errors import LivekeyError

W, H = 160, 120
DISC_BGR = (60, 120, 200)
LEAF_BGR = (40, 170, 60)


def _object(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(colour float32, alpha 0..1) of a drawn object: a soft disc with strands, or a green leaf."""
    ss = 4
    cov = np.zeros((H * ss, W * ss), np.uint8)
    if kind == "disc":
        cv2.circle(cov, (W * ss // 2, H * ss // 2 + 40), 150, 255, -1)
        for i in range(12):  # thin strands off the top, a quarter pixel wide
            x = W * ss // 2 - 120 + 20 * i
            cv2.line(cov, (x, H * ss // 2 - 90), (x + 30, 30), 255, 1)
    else:
        cv2.ellipse(cov, (W * ss // 2, H * ss // 2), (220, 120), 20, 0, 360, 255, -1)
    alpha = cv2.resize(cov.astype(np.float32) / 255, (W, H), interpolation=cv2.INTER_AREA)
    colour = np.empty((H, W, 3), np.float32)
    colour[:] = DISC_BGR if kind == "disc" else LEAF_BGR
    return colour, alpha


def _photo(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The object photographed over a grey, textured room: (image uint8, alpha uint8)."""
    fg, alpha = _object(kind)
    rng = np.random.default_rng(3)
    room = cv2.GaussianBlur(rng.uniform(60, 190, (H, W, 3)).astype(np.float32), (15, 15), 0)
    room = room.mean(axis=2, keepdims=True).repeat(3, axis=2)  # grey: no screen colour in it
    a = alpha[..., None]
    image = fg * a + room * (1 - a)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "photos"
    (root / "image").mkdir(parents=True)
    (root / "alpha").mkdir()
    for name, kind in (("disc", "disc"), ("leaf", "leaf")):
        image, alpha = _photo(kind)
        cv2.imwrite(str(root / "image" / f"{name}.png"), image)
        cv2.imwrite(str(root / "alpha" / f"{name}.png"), alpha)
    return root


def test_foreground_is_estimated_and_cached(folder, tmp_path):
    objects = {o.name: o for o in real_material.load_objects(folder)}
    disc = objects["disc"]
    assert disc.fg.shape == (H, W, 3) and disc.alpha.shape == (H, W)
    solid = disc.alpha > 0.99
    assert np.abs(disc.fg[solid] - DISC_BGR).max() < 8  # the object's own colour, not the room's
    cached = list((tmp_path / "cache" / "livekey" / "real").glob("*-fg.png"))
    assert len(cached) == 2
    again = {o.name: o for o in real_material.load_objects(folder)}["disc"]
    assert np.abs(again.fg[solid] - disc.fg[solid]).max() < 0.5


def test_objects_are_scaled_to_the_long_side(folder):
    disc = real_material.load_objects(folder, ["disc"], long_side=80)[0]
    assert disc.alpha.shape == (60, 80) and disc.fg.shape == (60, 80, 3)
    assert abs(disc.alpha.mean() - _object("disc")[1].mean()) < 0.01  # coverage kept


def test_green_objects_go_over_blue_only(folder):
    objects = {o.name: o for o in real_material.load_objects(folder)}
    assert objects["leaf"].screens == ("blue",)
    assert objects["disc"].screens == ("green", "blue")
    fg, alpha = _object("disc")
    assert real_material.screens_for("GT13", fg, alpha) == ("blue",)  # the set's own list
    assert real_material.screens_for("GT24", fg, alpha) == ("green",)


def test_placed_frames_are_deterministic_and_on_their_screen(folder):
    disc = real_material.load_objects(folder, ["disc"])[0]
    one, two = real_material.place(disc, "blue"), real_material.place(disc, "blue")
    assert np.array_equal(one.image, two.image)
    clear = disc.alpha == 0
    b, g, r = (one.image[..., c][clear].astype(int) for c in range(3))
    assert (b > g + 30).mean() > 0.95 and (b > r + 30).mean() > 0.95
    green = real_material.place(disc, "green").image[clear]
    assert (green[:, 1].astype(int) > green[:, 0] + 30).mean() > 0.95


def test_shadow_of_a_cut_off_object_runs_past_the_frame():
    alpha = np.zeros((H, W), np.float32)
    alpha[30:90, :25] = 1  # cut off by the left edge
    shadow = real_material.shadow_layer(alpha, 0.5, dx=20, dy=0)
    assert shadow[50:70, 0].max() < 0.6  # dark on the edge column too: no lit strip along the frame
    assert shadow[5, 100] > 0.99


def test_report_end_to_end(folder, tmp_path):
    results = real_material.report([folder], progress=False)
    normal = {"disc/green", "disc/blue", "leaf/blue"}
    assert set(results) == normal | {f"{s}-hard" for s in normal}
    for row in results.values():
        assert set(row) == set(real_material.KEYERS)
        for label, s in row.items():
            assert all(np.isfinite(s[k]) for k in ("edge", "holes", "leaks", "soft_bias", "seams")), label
    disc = results["disc/green"]
    assert disc["livekey"]["edge"] < disc["hsv_best"]["edge"], disc
    assert disc["obs_best"]["settings"]["similarity"] > 0
    table = real_material.format_table(results)
    assert "| disc | green | livekey |" in table and "| disc | green-hard | livekey |" in table
    assert "normal: livekey edge error / best peer's: mean" in table and "\nhard: livekey" in table


def test_cli_writes_json_and_saves_pictures(folder, tmp_path, capsys):
    save, out = tmp_path / "save", tmp_path / "real.json"
    save.mkdir()
    assert main(["quality", "--real", str(folder), "--scenes", "leaf", "--save", str(save), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert list(data) == ["leaf/blue", "leaf/blue-hard"] and data["leaf/blue"]["ffmpeg_best"]["edge"] > 0
    assert {p.name for p in save.iterdir()} >= {"leaf-blue-composite.png", "leaf-blue-matte.png",
                                               "leaf-blue-status.png", "leaf-blue-hard-input.png"}
    assert "| leaf | blue | obs_best |" in capsys.readouterr().out


def test_grid_search_refines_between_grid_points():
    best, cost = real_material.grid_search({"x": (0.0, 0.25, 0.5, 0.75, 1.0), "y": (0, 1)},
                                           lambda p: (p["x"] - 0.33) ** 2 + p["y"])
    assert abs(best["x"] - 0.33) < 0.05 and best["y"] == 0  # the coarse grid alone gives 0.25


def test_seams_see_a_per_block_matte():
    truth = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (64, 1))
    band = np.ones_like(truth, bool)
    assert abs(real_material.seams(truth.copy(), truth, band)) < 0.01
    blocky = truth.copy()
    blocky += np.repeat(np.random.default_rng(0).uniform(-0.2, 0.2, (64, 16)), 4, axis=1)  # one offset a block
    assert real_material.seams(blocky, truth, band) > 5


def test_soft_bias_sign():
    truth = np.full((8, 8), 0.3, np.float32)
    assert real_material.soft_bias(truth * 0.5, truth) == pytest.approx(-0.15)
    assert real_material.soft_bias(truth + 0.2, truth) == pytest.approx(0.2)


def test_ffmpeg_model_keys_the_screen_not_the_subject():
    frame = np.zeros((20, 20, 3), np.uint8)
    frame[:, :10] = (0, 255, 0)
    frame[:, 10:] = (40, 60, 200)
    alpha, _ = peers.ffmpeg_chromakey(frame, np.zeros_like(frame), (0, 255, 0), similarity=0.1, blend=0.05)
    assert alpha[:, :6].max() == 0 and alpha[:, 14:].min() == 1


@pytest.mark.parametrize("make,message", [
    (lambda root: root / "nowhere", "does not exist"),
    (lambda root: (root / "alpha" / "leaf.png").unlink() or root, "has no ground truth"),
    (lambda root: [p.unlink() for p in root.glob("*/*.png")] and root, "holds no image"),
])
def test_bad_folders_give_one_line(folder, capsys, make, message):
    assert main(["quality", "--real", str(make(folder))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("livekey: error:") and message in err[-1]


def test_unknown_scene_and_missing_save_folder(folder, tmp_path):
    with pytest.raises(LivekeyError, match="no scene GT99"):
        real_material.report([folder], ["GT99"], progress=False)
    with pytest.raises(LivekeyError, match="does not exist"):
        real_material.report([folder], save=tmp_path / "absent", progress=False)


@pytest.mark.parametrize("argv,message", [
    (["quality", "--scenes", "portrait,bogus"], "no synthetic scene bogus"),
    (["quality", "--save", "somewhere"], "go with --real"),
    (["quality", "--conditions", "hard"], "go with --real"),
])
def test_synthetic_quality_refuses_real_only_options(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_hard_condition_is_darker_noisier_and_deterministic(folder):
    disc = real_material.load_objects(folder, ["disc"])[0]
    normal, hard = real_material.place(disc, "green"), real_material.place(disc, "green", "hard")
    assert np.array_equal(hard.image, real_material.place(disc, "green", "hard").image)
    clear, solid = disc.alpha == 0, disc.alpha > 0.99
    g_normal, g_hard = (f.image[..., 1][clear].astype(float) for f in (normal, hard))
    assert g_hard.mean() < 0.75 * g_normal.mean()  # the screen at 0.4-0.6 of its colour, not 0.75-1.05
    assert hard.image[solid].mean() < 0.75 * normal.image[solid].mean()  # the subject's exposure drops too
    # Strongly uneven: the clean plate's spread (light falloff and ramp) relative to its level.
    plate_n, plate_h = (f.screen[..., 1].astype(float) for f in (normal, hard))
    assert plate_h.std() / plate_h.mean() > 1.5 * plate_n.std() / plate_n.mean()
    # Noisier: the grain left after removing the smooth light, on screen away from the subject.
    far = cv2.erode(clear.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    grain = [np.abs(f.image.astype(np.float32) - cv2.GaussianBlur(f.image.astype(np.float32), (7, 7), 0))[far].mean()
             for f in (normal, hard)]
    assert grain[1] > 1.2 * grain[0]


@pytest.mark.parametrize("screen,channel", [("green", 1), ("blue", 0)])
def test_hard_shadow_falls_right_beside_the_subject(folder, screen, channel):
    disc = real_material.load_objects(folder, ["disc"])[0]
    hard = real_material.place(disc, screen, "hard")
    # In a ring 3 px wide just outside the disc, its shadow side is far darker than the clean plate:
    # the shadow is deep (0.3-0.5 of the light left) and hardly offset.
    ring = (cv2.dilate((disc.alpha > 0.01).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0) & (disc.alpha == 0)
    seen = hard.image[..., channel][ring].astype(float) / hard.screen[..., channel][ring]
    assert np.percentile(seen, 5) < 0.65


def test_one_condition_from_the_cli(folder, tmp_path, capsys):
    out = tmp_path / "real.json"
    assert main(["quality", "--real", str(folder), "--scenes", "leaf", "--conditions", "hard", "--json", str(out)]) == 0
    assert list(json.loads(out.read_text())) == ["leaf/blue-hard"]
    table = capsys.readouterr().out
    assert "| leaf | blue-hard | livekey |" in table and "hard: livekey" in table and "normal:" not in table


@pytest.mark.parametrize("value,message", [("dim", "no condition dim"), (",", "no condition (none given)")])
def test_unknown_condition_gives_one_line(folder, capsys, value, message):
    assert main(["quality", "--real", str(folder), "--conditions", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("livekey: error:") and message in err[-1] and "normal, hard" in err[-1]
