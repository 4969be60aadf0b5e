import argparse
import copy
import pickle
from pathlib import Path

import pytest

from livekey.config.settings import SETTINGS, Settings, add_arguments, settings_from_args
from livekey.errors import LivekeyError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_valid_and_in_range():
    s = Settings()
    for setting in SETTINGS:
        assert setting.check(s[setting.name]) == s[setting.name]


def test_out_of_range_names_setting_and_range():
    with pytest.raises(LivekeyError, match=r"hue_width: 500.*5\.\.180 deg"):
        Settings(hue_width=500)


def test_unknown_setting_is_an_error():
    with pytest.raises(LivekeyError, match="unknown setting 'hue'"):
        Settings(hue=3)


def test_screen_low_must_be_below_high():
    with pytest.raises(LivekeyError, match="screen_low"):
        Settings(screen_low=0.9, screen_high=0.5)


def test_colour_forms():
    assert Settings(key_color="#00FF00").key_bgr() == (0, 255, 0)
    assert Settings(key_color="102030").key_bgr() == (0x30, 0x20, 0x10)
    assert Settings(key_color="auto").key_bgr() is None
    assert Settings(key_color="green").key_color.startswith("#")
    with pytest.raises(LivekeyError, match="key_color"):
        Settings(key_color="chartreuse")


def test_settings_are_immutable():
    s = Settings()
    with pytest.raises(AttributeError):
        s.hue_width = 3
    assert s.replace(hue_width=40).hue_width == 40 and s.hue_width != 40


def test_toml_round_trip(tmp_path):
    s = Settings(hue_width=44.5, spill_method="average", unmix=False, key_color="#112233")
    s.save(tmp_path / "p.toml")
    assert Settings.load(tmp_path / "p.toml") == s


def test_toml_unknown_key_names_key(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[key]\nhue_wdth = 3\n")
    with pytest.raises(LivekeyError, match=r"unknown key key.hue_wdth"):
        Settings.load(p)


def test_toml_unknown_section(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[colour]\nx = 1\n")
    with pytest.raises(LivekeyError, match=r"unknown section \[colour\]"):
        Settings.load(p)


def test_toml_out_of_range_names_key_and_range(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[spill]\nspill_strength = 2.0\n")
    with pytest.raises(LivekeyError, match=r"spill\.spill_strength: 2\.0 .*0\.\.1"):
        Settings.load(p)


def test_toml_wrong_type(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text('[key]\nunmix = "yes"\n')
    with pytest.raises(LivekeyError, match="unmix"):
        Settings.load(p)


def test_toml_syntax_error_and_missing_file(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[key\n")
    with pytest.raises(LivekeyError, match="not valid TOML"):
        Settings.load(p)
    with pytest.raises(LivekeyError, match="profile .*none.toml does not exist"):
        Settings.load(tmp_path / "none.toml")


@pytest.mark.parametrize("name", ["green", "blue"])
def test_presets_load(name):
    s = Settings.load(ROOT / "calibration" / f"{name}.toml")
    b, g, r = s.key_bgr()
    assert (g if name == "green" else b) == max(b, g, r)


def test_every_setting_has_a_flag_and_flags_override_base():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = {a.dest for a in parser._actions}
    assert {s.name for s in SETTINGS} <= flags
    args = parser.parse_args(["--hue-width", "50", "--no-unmix", "--spill-method", "average"])
    s = settings_from_args(args, Settings(hue_softness=20))
    assert (s.hue_width, s.unmix, s.spill_method, s.hue_softness) == (50, False, "average", 20)


def test_bad_flag_value_is_clear():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(LivekeyError, match="hue_width: 'wide' is not a valid value"):
        settings_from_args(parser.parse_args(["--hue-width", "wide"]))


def test_settings_pickle_and_copy_to_equal_settings():
    """A render sends its settings to worker processes and Ray tasks by pickling."""
    s = Settings(hue_width=40.0, spill_method="average")
    back = pickle.loads(pickle.dumps(s))
    assert isinstance(back, Settings) and back == s and back.hue_width == 40.0
    assert copy.deepcopy(s) == s and back != Settings()


def test_a_pickled_setting_out_of_range_is_refused_when_loaded():
    """Unpickling rebuilds through the constructor, so it checks the values again."""
    data = pickle.dumps(Settings()).replace(b"hue_width", b"hue_wodth")
    with pytest.raises(LivekeyError, match="unknown setting 'hue_wodth'"):
        pickle.loads(data)
