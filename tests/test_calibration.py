"""livekey calibrate: clean plate, derived settings, refusals, the plate in the keyer."""

import cv2
import numpy as np
import pytest

from livekey.cli import main
from livekey.config import calibration
from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.errors import LivekeyError
from livekey.lab import quality
from livekey.media import synthetic


def test_calibrate_demo_frames():
    frames = calibration.demo_frames(6, 320, 180)
    cal = calibration.calibrate_frames(frames)
    layers = synthetic.build_layers("portrait", 320, 180)
    assert np.abs(cal.plate.astype(np.float32) - layers.screen).mean() < 3.0
    assert cal.settings.plate == "" and cal.settings.refine and cal.settings.screen_model == "plate"
    b, g, r = cal.settings.key_bgr()
    assert g > 150 and r < 80 and b < 90
    assert 0.3 < cal.figures["noise"] < 4 and cal.figures["screen_share"] > 0.95


def test_refuses_a_person_in_the_plate():
    f = synthetic.scene("portrait", 320, 180)
    with pytest.raises(LivekeyError, match="a person"):
        calibration.calibrate_frames([f.image])


def test_refuses_too_little_screen():
    img = calibration.demo_frames(1, 320, 180)[0]
    img[:, :200] = 128
    with pytest.raises(LivekeyError, match="of the picture is screen colour"):
        calibration.calibrate_frames([img])


def test_refuses_no_screen_and_no_frames():
    with pytest.raises(LivekeyError, match="no green or blue screen"):
        calibration.calibrate_frames([np.full((90, 160, 3), 128, np.uint8)])
    with pytest.raises(LivekeyError, match="at least one frame"):
        calibration.calibrate_frames([])


def test_saved_profile_keys_with_its_plate(tmp_path):
    cal = calibration.calibrate_frames(calibration.demo_frames(4))
    plate = calibration.save_calibration(cal, tmp_path / "studio.toml")
    assert plate.exists() and 'plate = "studio-plate.png"' in (tmp_path / "studio.toml").read_text()
    loaded = Settings.load(tmp_path / "studio.toml")
    assert loaded.plate == str(plate)
    f = synthetic.render(synthetic.build_layers("portrait", 640, 360), seed=1)
    back = synthetic.backdrop(640, 360)
    truth = synthetic.truth_composite(f, back)
    regions = quality.Regions.of(f.alpha)
    s_cal = quality.score(*Keyer(loaded).composite(f.image, back), truth, regions)
    s_default = quality.score(*Keyer().composite(f.image, back), truth, regions)
    # The default already solves edges against an auto screen; the plate must do at least as well.
    assert s_cal.edge <= s_default.edge and s_cal.leaks < 0.5 and s_cal.holes < 0.2


def test_shadow_keep_leaves_a_shadow():
    layers = synthetic.build_layers("portrait", 320, 180)
    f = synthetic.render(layers, seed=1)
    clear = quality.Regions.of(f.alpha).clear
    shadowed = clear & (layers.shadow < 0.7)
    with_plate = {}
    for shadow in ("keep", "remove"):
        k = Keyer(Settings(screen_model="plate", shadow=shadow, plate="unused"))
        k.screen_model._load_plate = lambda w, h, plate=f.screen: plate  # the plate as a file is tested above
        with_plate[shadow] = k.matte(f.image)[0]
    keep, remove = with_plate["keep"][shadowed].mean(), with_plate["remove"][shadowed].mean()
    assert keep > 40 and remove < 0.4 * keep, (keep, remove)
    # Right beside the subject too, where the edge solve would otherwise take the shadow for screen.
    beside = shadowed & (cv2.distanceTransform((f.alpha < 0.002).astype(np.uint8), cv2.DIST_L2, 3) < 8)
    assert beside.sum() > 50 and with_plate["keep"][beside].mean() > 40, with_plate["keep"][beside].mean()


def test_plate_model_without_plate_is_an_error():
    f = synthetic.scene("portrait", 160, 90)
    with pytest.raises(LivekeyError, match="no clean plate"):
        Keyer(Settings(screen_model="plate")).matte(f.image)


def test_cli_calibrate_and_key_with_plate(tmp_path, capsys):
    profile = tmp_path / "cal" / "demo.toml"
    assert main(["calibrate", "--frames", "3", "-o", str(profile)]) == 0
    assert "key #" in capsys.readouterr().out
    f = synthetic.scene("portrait")
    src = tmp_path / "in.png"
    import cv2

    cv2.imwrite(str(src), f.image)
    assert main(["key", str(src), "-o", str(tmp_path / "out.png"), "--clean-plate",
                 str(tmp_path / "cal" / "demo-plate.png"), "--status", str(tmp_path / "st.png")]) == 0
    assert (tmp_path / "st.png").exists()


@pytest.mark.parametrize("argv,message", [
    (["calibrate", "--source", "nope.mp4", "-o", "x.toml"], "does not exist"),
    (["calibrate", "--frames", "0", "-o", "x.toml"], "at least 1"),
    (["calibrate", "-o", "x.txt"], "must be a .toml"),
])
def test_cli_calibrate_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("livekey: error:") and message in err and err.count("\n") == 1


def test_cli_key_missing_plate(tmp_path, capsys):
    import cv2

    src = tmp_path / "in.png"
    cv2.imwrite(str(src), synthetic.scene("portrait", 160, 90).image)
    assert main(["key", str(src), "-o", str(tmp_path / "o.png"), "--clean-plate", str(tmp_path / "none.png")]) == 2
    assert "clean plate" in capsys.readouterr().err
