"""The mask stack: merge maths, shapes, image masks, difference key, segmentation, profiles."""

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from livekey import masks
from livekey.config.profile import Profile
from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.errors import LivekeyError
from livekey.lab import quality
from livekey.masks import KEY_LAYER, MaskLayer, MaskStack, combine, diff, parse_mask_spec, segment
from livekey.masks import shape as shape_layer
from livekey.media import synthetic


def reference(alpha: np.ndarray, mask: np.ndarray, mode: str, opacity: float) -> np.ndarray:
    """The documented maths in float: op, then a lerp by opacity."""
    a, m = alpha / 255.0, mask / 255.0
    merged = {"add": np.maximum(a, m), "subtract": np.minimum(a, 1 - m), "intersect": np.minimum(a, m),
              "replace": m}[mode]
    return (a + opacity * (merged - a)) * 255.0


@pytest.mark.parametrize("mode", masks.MODES)
@pytest.mark.parametrize("opacity", [0.0, 0.35, 1.0])
def test_combine_matches_reference(mode, opacity):
    rng = np.random.default_rng(1)
    alpha = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    mask = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    expected = reference(alpha.astype(float), mask.astype(float), mode, opacity)
    out = alpha.copy()
    combine(out, mask, mode, opacity, np.empty_like(out))
    assert np.abs(out - expected).max() <= 0.51  # rounded to the nearest level
    if mode != "replace" and opacity == 1.0:
        assert not np.array_equal(out, alpha)


def test_feather_and_invert():
    mask = np.zeros((21, 21), np.uint8)
    mask[:, 10:] = 255
    out = np.empty_like(mask)
    masks.feather_invert(mask, 0, True, out)
    assert np.array_equal(out, 255 - mask)
    masks.feather_invert(mask, 4.0, False, out)
    row = out[10].astype(int)
    assert row[0] == 0 and row[-1] == 255 and 0 < row[9] < 255 and np.all(np.diff(row) >= 0)
    assert abs(row[9] + row[10] - 255) <= 2  # a Gaussian edge is symmetric about the step


@pytest.mark.parametrize("shape,points,area", [
    ("rect", (0.25, 0.2, 0.75, 0.6), 0.5 * 0.4),
    ("ellipse", (0.5, 0.5, 0.3, 0.25), np.pi * 0.3 * 0.25),
    ("poly", (0.1, 0.1, 0.9, 0.1, 0.1, 0.9), 0.5 * 0.8 * 0.8),
])
def test_shapes_are_normalised_and_survive_a_resolution_change(shape, points, area):
    for w, h in ((160, 90), (640, 360), (333, 250)):
        m = shape_layer.rasterise_shape(shape, points, w, h)
        assert abs(m.mean() / 255 - area) < 0.01, (w, h)


def test_shapes_and_images_are_rasterised_once_per_size(tmp_path):
    cv2.imwrite(str(tmp_path / "m.png"), np.full((10, 10), 200, np.uint8))
    shape = MaskLayer("shape", shape="ellipse", points=(0.5, 0.5, 0.2, 0.2), feather=3.0)
    image = MaskLayer("image", path=str(tmp_path / "m.png"))
    for layer in (shape, image):
        first = masks.static_mask(layer, 64, 48)
        assert masks.static_mask(layer, 64, 48) is first and not first.flags.writeable
        assert masks.static_mask(layer, 32, 24).shape == (24, 32)
    stage = masks.MaskStage(MaskStack((KEY_LAYER, shape)))
    frame = np.zeros((48, 64, 3), np.uint8)
    stage(frame, np.full((48, 64), 255, np.uint8), frame.copy())
    assert stage._steps[0].mask(frame, frame) is masks.static_mask(shape, 64, 48)


def test_garbage_matte_removes_a_light_stand_the_key_keeps():
    img, stand = synthetic.with_light_stand(synthetic.scene("portrait", 320, 180).image)
    keyed = Keyer().matte(img)[0].copy()
    assert keyed[stand].mean() > 240  # the colour key keeps grey: it is not the screen
    garbage = MaskLayer("shape", shape="rect", points=(0.15, 0.0, 0.85, 1.0), feather=2.0)
    alpha = Keyer(mask_stack=MaskStack((KEY_LAYER, garbage))).matte(img)[0]
    assert alpha[stand].max() == 0
    inside = np.zeros_like(stand)
    inside[:, 64:256] = True
    # The subject is untouched: keyed as without the mask, but for the strand search, which a mask
    # stack turns off.
    plain = Keyer(Settings(strands=False)).matte(img)[0]
    assert np.array_equal(alpha[inside], plain[inside])


def test_core_matte_saves_a_green_shirt_the_key_removes():
    spec = synthetic.SceneSpec("green_shirt", shirt=(60, 170, 50))
    w, h = 320, 180
    f = synthetic.render(synthetic.build_layers(spec, w, h, seed=2), seed=3)
    shirt = np.zeros((h, w), bool)
    shirt[int(h * 0.75):, int(w * 0.32):int(w * 0.68)] = True
    shirt &= f.alpha >= 0.999
    plain = Settings(edge_color=False, refine=False)
    keyed = Keyer(plain).matte(f.image)[0].copy()
    assert (keyed[shirt] < 128).mean() > 0.9  # the key takes the green shirt for screen
    core = MaskLayer("shape", mode="add", shape="ellipse", points=(0.5, 1.02, 0.23, 0.39))
    stack = MaskStack((KEY_LAYER, core))
    alpha, fg = Keyer(plain, mask_stack=stack).matte(f.image)
    assert (alpha[shirt] == 255).mean() > 0.99
    # What the core saved keeps the camera's colour (not the key's black or un-mixed grey).
    saved = shirt & (alpha == 255) & (keyed < 255)
    assert saved.sum() > 0.9 * shirt.sum()
    assert np.abs(fg[saved].astype(int) - f.image[saved]).max() <= 1
    # With the default edge colour, pixels beside soft edges take their solid neighbours' colour:
    # still the shirt's camera colour, give or take the smear being repaired.
    fg_default = Keyer(mask_stack=stack).matte(f.image)[1]
    assert np.abs(fg_default[saved].astype(int) - f.image[saved]).mean() < 2
    outside = shape_layer.rasterise_shape("ellipse", (0.5, 1.02, 0.23, 0.39), w, h) == 0
    assert np.array_equal(alpha[outside], keyed[outside])  # the rest keeps the key's matte


def test_difference_key_on_a_room_without_a_screen(tmp_path):
    """The subject in front of a textured, colourful room: keyed against a clean plate."""
    w, h = 640, 360
    f, plate = synthetic.room_scene("portrait", w, h)
    cv2.imwrite(str(tmp_path / "plate.png"), plate)
    back = synthetic.backdrop(w, h, seed=3)
    truth, regions = synthetic.truth_composite(f, back), quality.Regions.of(f.alpha)
    stack = MaskStack((KEY_LAYER, MaskLayer("diff", plate=str(tmp_path / "plate.png"))))
    assert not stack.uses_key
    alpha, comp = Keyer(mask_stack=stack).composite(f.image, back)  # no green: must not ask for one
    s = quality.score(alpha, comp, truth, regions)
    assert s.edge < 6.0 and s.holes < 1.0 and s.leaks < 1.0, s
    # The naive recipe (absdiff, threshold at 30, hard matte) does worse on the edges.
    naive = (cv2.absdiff(f.image, plate).max(axis=2) > 30).astype(np.uint8) * 255
    a = naive[..., None] / 255.0
    naive_comp = (f.image * a + back * (1 - a)).round().astype(np.uint8)
    assert s.edge < quality.score(naive, naive_comp, truth, regions).edge
    # Un-mixing the plate from soft pixels makes the edges better than keeping the camera colour
    # (compared without the edge colour, which repaints most soft pixels from solid ones).
    plain = MaskStack((KEY_LAYER, MaskLayer("diff", plate=str(tmp_path / "plate.png"), unmix=False)))
    own = Settings(edge_color=False)
    unmixed = quality.score(*Keyer(own, mask_stack=stack).composite(f.image, back), truth, regions)
    assert unmixed.edge < quality.score(*Keyer(own, mask_stack=plain).composite(f.image, back), truth, regions).edge


def test_difference_key_noise_threshold_follows_the_camera():
    rng = np.random.default_rng(0)
    plate = rng.integers(40, 200, (64, 80, 3), dtype=np.uint8)
    noisy = np.clip(plate + rng.normal(0, 8, plate.shape), 0, 255).astype(np.uint8)
    level = diff.plate_noise(noisy, plate, 0.4, step=1)
    assert 5 < level < 20
    out = np.empty((64, 80), np.uint8)
    diff.difference_key(noisy, plate, 0.4, 2.5 * level, 30.0, out)
    assert (out > 0).mean() < 0.15  # the noise-raised threshold leaves the background clear


def test_image_mask_uses_png_alpha_or_luma_and_is_scaled(tmp_path):
    bgra = np.zeros((20, 40, 4), np.uint8)
    bgra[..., :3] = 255  # white everywhere: only the alpha channel tells the mask
    bgra[:, :20, 3] = 255
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    m = masks.static_mask(MaskLayer("image", path=str(tmp_path / "a.png")), 80, 40)
    assert m.shape == (40, 80) and m[:, :38].min() == 255 and m[:, 42:].max() == 0
    luma = masks.static_mask(MaskLayer("image", path=str(tmp_path / "a.png"), channel="luma"), 80, 40)
    assert luma.min() == 255
    cv2.imwrite(str(tmp_path / "g.png"), np.full((5, 5), 77, np.uint8))
    with pytest.raises(LivekeyError, match="has no alpha channel"):
        masks.static_mask(MaskLayer("image", path=str(tmp_path / "g.png"), channel="alpha"), 8, 8)


# --- segmentation with a tiny ONNX model the test builds ---------------------
def _tiny_onnx():
    spec = importlib.util.spec_from_file_location("tiny_onnx", Path(__file__).parent / "bench" / "tiny_onnx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tiny_onnx = _tiny_onnx()
expected_segment = tiny_onnx.expected


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("onnx")
    return tiny_onnx.build(str(tmp_path_factory.mktemp("model") / "tiny.onnx"))


def test_segment_layer_runs_the_model(tiny_model):
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    layer = MaskLayer("segment", model=tiny_model, size="32x24", guided=False)
    out = np.empty((24, 32), np.uint8)
    segment.segment_mask(segment.load_net(tiny_model), frame, layer, out)
    assert np.abs(out - expected_segment(frame) * 255).max() <= 1.0


def test_segment_layer_at_reduced_size_is_scaled_up_and_intersected(tiny_model):
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, 32:] = (0, 0, 255)  # red right half: a high score; black left: sigmoid(0.1)
    layer = MaskLayer("segment", model=tiny_model, size="16x12", mode="intersect")
    stage = masks.MaskStage(MaskStack((KEY_LAYER, layer)))
    alpha = np.full((48, 64), 255, np.uint8)
    stage(frame, alpha, frame.copy())
    left, right = expected_segment(np.array([[[0, 0, 0], [0, 0, 255]]], np.uint8))[0] * 255
    assert abs(int(alpha[10, 5]) - left) <= 1 and abs(int(alpha[10, 60]) - right) <= 1
    assert np.all(np.diff(alpha[10].astype(int)) >= 0)  # a smooth step where the halves meet


@pytest.mark.parametrize("make,message", [
    (lambda d: str(d / "none.onnx"), "does not exist"),
    (lambda d: str(d), "is a folder"),
    (lambda d: (d / "bad.onnx").write_text("not a model") and str(d / "bad.onnx"), "not an ONNX model"),
])
def test_bad_segment_model_is_a_clear_error(tmp_path, make, message):
    layer = MaskLayer("segment", model=make(tmp_path))
    with pytest.raises(LivekeyError, match=message):
        MaskStack((KEY_LAYER, layer)).validate()


def test_segment_channel_out_of_range(tiny_model):
    layer = MaskLayer("segment", model=tiny_model, size="16x16", channel=2)
    with pytest.raises(LivekeyError, match="has 1 output channels"):
        segment.segment_mask(segment.load_net(tiny_model), np.zeros((16, 16, 3), np.uint8), layer,
                           np.empty((16, 16), np.uint8))


# --- stacks, keyer, profiles, specs -------------------------------------------
def test_stack_editing_returns_new_stacks():
    s0 = MaskStack()
    assert len(s0) == 1 and not s0.active and s0.uses_key
    garbage = MaskLayer("shape")
    s1 = s0.add(garbage).add(MaskLayer("shape", mode="add"), index=0)
    assert [layer.type for layer in s1] == ["shape", "key", "shape"] and len(s0) == 1
    assert s1.key_index == 1 and s1.active
    s2 = s1.move(0, 2)
    assert [layer.mode for layer in s2] == ["replace", "intersect", "add"]
    s3 = s2.toggle(1)
    assert not s3[1].enabled and s2[1].enabled
    assert s3.remove(1)[1].mode == "add"
    with pytest.raises(LivekeyError, match="cannot be removed"):
        s3.remove(0)
    with pytest.raises(LivekeyError, match="no mask layer 7"):
        s3.toggle(7)
    with pytest.raises(LivekeyError, match="one key layer"):
        MaskStack((KEY_LAYER, KEY_LAYER))
    assert not s0.set(0, KEY_LAYER.replace(enabled=False)).uses_key
    assert not s0.add(MaskLayer("diff")).uses_key and s0.add(MaskLayer("diff", opacity=0.5)).uses_key


def test_keyer_update_masks_applies_on_next_frame():
    f = synthetic.scene("portrait", 160, 90)
    k = Keyer(Settings(edge_color=False, refine=False))  # no matte stages of its own: the one-pass path
    full = k.matte(f.image)[0].copy()
    k.update_masks(MaskStack().add(MaskLayer("shape", points=(0.0, 0.0, 0.5, 1.0))))
    half = k.matte(f.image)[0]
    assert half[:, 82:].max() == 0 and np.array_equal(half[:, :78], full[:, :78])
    k.update_masks(MaskStack())
    assert np.array_equal(k.matte(f.image)[0], full) and k.stages == []


def test_disabled_key_passes_the_camera_colour_through():
    f = synthetic.scene("portrait", 160, 90)
    stack = MaskStack((KEY_LAYER.replace(enabled=False), MaskLayer("shape", mode="add")))
    alpha, fg = Keyer(mask_stack=stack).matte(f.image)
    assert alpha.min() == 255 and np.array_equal(fg, f.image)


def test_profile_with_a_mask_stack_round_trips(tmp_path):
    cv2.imwrite(str(tmp_path / "hold.png"), np.full((4, 4), 255, np.uint8))
    stack = MaskStack((
        MaskLayer("shape", mode="add", shape="poly", points=(0.1, 0.2, 0.3, 0.4, 0.5, 0.1), feather=3.5),
        KEY_LAYER.replace(opacity=0.8),
        MaskLayer("image", path=str(tmp_path / "hold.png"), mode="subtract", invert=True),
        MaskLayer("diff", plate=str(tmp_path / "plate.png"), threshold=20.0, enabled=False),
        MaskLayer("segment", model=str(tmp_path / "m.onnx"), size="192x108", activation="sigmoid", every=2),
    ))
    profile = Profile(Settings(hue_width=42.0), stack)
    profile.save(tmp_path / "p.toml")
    text = (tmp_path / "p.toml").read_text()
    assert text.count("[[mask]]") == 5 and "[key]" in text
    assert Profile.load(tmp_path / "p.toml") == profile
    assert Settings.load(tmp_path / "p.toml") == profile.settings  # settings alone skip [[mask]]
    assert "[[mask]]" not in (Profile(Settings()).save(tmp_path / "q.toml") or (tmp_path / "q.toml").read_text())


def test_profile_paths_are_relative_to_the_profile(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "p.toml").write_text('[[mask]]\ntype = "image"\npath = "hold.png"\n')
    layer = Profile.load(tmp_path / "sub" / "p.toml").masks[1]
    assert layer.path == str(tmp_path / "sub" / "hold.png")


@pytest.mark.parametrize("toml,message", [
    ('[[mask]]\ntype = "blob"\n', "unknown mask type 'blob'"),
    ('[[mask]]\npath = "x.png"\n', "needs type"),
    ('[[mask]]\ntype = "shape"\nshape = "rect"\npoints = [0.1, 0.2]\n', "[[mask]] number 1: shape mask: a rect "
     "takes 4 numbers"),
    ('[[mask]]\ntype = "shape"\nopacity = 3\n', "opacity: 3 is not allowed"),
    ('[[mask]]\ntype = "diff"\nthreshhold = 3\n', "has no field 'threshhold'"),
    ('mask = 3\n', "array of tables"),
    ('[[mask]]\ntype = "key"\n[[mask]]\ntype = "key"\n', "one key layer"),
])
def test_bad_mask_tables_are_clear_errors(tmp_path, toml, message):
    (tmp_path / "p.toml").write_text(toml)
    with pytest.raises(LivekeyError) as err:
        Profile.load(tmp_path / "p.toml")
    assert message in str(err.value) and str(tmp_path / "p.toml") in str(err.value)


@pytest.mark.parametrize("spec,expected", [
    ("garbage:rect:0.1,0,0.9,1", MaskLayer("shape", shape="rect", points=(0.1, 0.0, 0.9, 1.0))),
    ("core:ellipse:0.5,0.9,0.2,0.3:feather=4", MaskLayer("shape", mode="add", shape="ellipse",
                                                         points=(0.5, 0.9, 0.2, 0.3), feather=4.0)),
    ("~garbage:poly:0,0,1,0,0.5,1@subtract", MaskLayer("shape", mode="subtract", invert=True, shape="poly",
                                                       points=(0.0, 0.0, 1.0, 0.0, 0.5, 1.0))),
    ("image:logo.png@subtract", MaskLayer("image", path="logo.png", mode="subtract")),
    ("hold.png", MaskLayer("image", path="hold.png")),
    ("diff:plates/empty.png:threshold=20:unmix=false", MaskLayer("diff", plate="plates/empty.png", threshold=20.0,
                                                                 unmix=False)),
    ("segment:m.onnx:size=256x144:activation=sigmoid", MaskLayer("segment", model="m.onnx", size="256x144",
                                                                 activation="sigmoid")),
    ("key:feather=1.5", KEY_LAYER.replace(feather=1.5)),
])
def test_mask_specs(spec, expected):
    assert parse_mask_spec(spec) == [expected]


@pytest.mark.parametrize("spec,message", [
    ("blob:1,2", "unknown mask kind 'blob'"),
    ("garbage:rect:0.1,0,0.9", "a rect takes 4 numbers"),
    ("garbage:square:0,0,1,1", "expected garbage:rect|ellipse|poly"),
    ("garbage:rect:0,0,x,1", "points: '0,0,x,1' is not allowed"),
    ("garbage:rect:0,0,5,1", "is not allowed; expected comma-separated numbers in -1..2"),
    ("core:poly:0,0,1,1", "at least 3 points"),
    ("core:ellipse:0.5,0.5,0,0.2", "radii"),
    ("diff", "expected diff:PLATE.PNG"),
    ("image:a.png@blend", "@blend is not a mode"),
    ("image:a.png:opacity=2", "opacity: 2.0 is not allowed"),
    ("segment:m.onnx:size=big", "size: 'big' is not allowed"),
    ("key:1,2", "key takes no arguments"),
])
def test_bad_mask_specs_name_the_spec_and_the_problem(spec, message):
    with pytest.raises(LivekeyError) as err:
        parse_mask_spec(spec)
    assert str(err.value).startswith(f"--mask {spec!r}: ") and message in str(err.value)


def test_shape_editing_helpers():
    rect = MaskLayer("shape", points=(0.1, 0.2, 0.5, 0.6))
    assert masks.shape_handles(rect) == [(0.1, 0.2), (0.5, 0.6)]
    assert masks.hit_handle(rect, 0.52, 0.61, 0.05) == 1 and masks.hit_handle(rect, 0.3, 0.4, 0.05) is None
    assert masks.move_handle(rect, 1, 0.7, 0.8).points == (0.1, 0.2, 0.7, 0.8)
    moved = masks.move_shape(rect, 0.1, -5.0)  # clamped so the shape stays in range
    assert moved.points == pytest.approx((0.2, -1.0, 0.6, -0.6))
    ell = MaskLayer("shape", shape="ellipse", points=(0.5, 0.5, 0.1, 0.2))
    assert masks.move_handle(ell, 0, 0.4, 0.4).points == (0.4, 0.4, 0.1, 0.2)
    assert masks.move_handle(ell, 1, 0.8, 0.6).points == pytest.approx((0.5, 0.5, 0.3, 0.1))
    assert masks.move_shape(ell, 0.1, 0.1).points == pytest.approx((0.6, 0.6, 0.1, 0.2))
    tri = masks.polygon_from_clicks([(0.1, 0.1), (0.9, 0.1), (0.5, 0.9)], mode="add")
    assert tri.shape == "poly" and tri.mode == "add" and len(masks.shape_handles(tri)) == 3
    with pytest.raises(LivekeyError, match="at least 3 points"):
        masks.polygon_from_clicks([(0.1, 0.1), (0.9, 0.1)])


def test_keyer_finds_the_screen_again_when_masks_need_the_key(tmp_path):
    room, plate = synthetic.room_scene("portrait", 160, 90)
    cv2.imwrite(str(tmp_path / "plate.png"), plate)
    k = Keyer(mask_stack=MaskStack().add(MaskLayer("diff", plate=str(tmp_path / "plate.png"))))
    k.matte(room.image)  # no screen here: must not try to detect one
    green = synthetic.scene("portrait", 160, 90)
    k.update_masks(MaskStack())
    alpha = k.matte(green.image)[0]
    fresh = Keyer()
    assert np.array_equal(alpha, fresh.matte(green.image)[0]) and k.key_bgr == fresh.key_bgr


def test_stack_without_colour_key_neither_unmixes_nor_despills(tmp_path):
    """With only a difference key there is no screen: a green shirt keeps its green through the
    later matte operations (which recover the colour again for the changed matte)."""
    w, h = 320, 180
    f, plate = synthetic.room_scene(synthetic.SceneSpec("green_shirt", shirt=(60, 170, 50)), w, h)
    cv2.imwrite(str(tmp_path / "plate.png"), plate)
    stack = MaskStack((KEY_LAYER, MaskLayer("diff", plate=str(tmp_path / "plate.png"))))
    shirt = np.zeros((h, w), bool)
    shirt[int(h * 0.8):, int(w * 0.4):int(w * 0.6)] = True
    shirt &= f.alpha >= 0.999
    for changes in ({}, {"soften": 1.0}, {"clip_black": 0.05}, {"temporal": 0.5}):
        alpha, fg = Keyer(Settings(**changes), mask_stack=stack).matte(f.image)
        solid = shirt & (alpha == 255)
        assert solid.sum() > 0.9 * shirt.sum(), changes
        assert np.abs(fg[solid].astype(int) - f.image[solid]).max() <= 1, changes
