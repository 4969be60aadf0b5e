"""Key quality on the synthetic ground-truth scenes, against OBS Chroma Key v2 at its best settings."""

import cv2
import numpy as np
import pytest

from livekey.config.settings import Settings
from livekey.engine import screen
from livekey.engine.keyer import Keyer
from livekey.engine.screen import detect_key_color, estimate_screen
from livekey.errors import LivekeyError
from livekey.lab import peers, quality
from livekey.media import synthetic


@pytest.fixture(scope="module")
def report():
    return quality.report()


@pytest.mark.parametrize("scene", list(synthetic.SCENES))
def test_untuned_livekey_edge_no_worse_than_best_obs(report, scene):
    row = report[scene]
    assert row["livekey"]["edge"] <= row["obs_best"]["edge"], row


@pytest.mark.parametrize("scene", list(synthetic.SCENES))
def test_holes_and_leaks_under_half_a_percent(report, scene):
    s = report[scene]["livekey"]
    assert s["holes"] < 0.5 and s["leaks"] < 0.5, s


def test_livekey_beats_naive_hsv_everywhere(report):
    for row in report.values():
        assert row["livekey"]["edge"] < row["hsv_inrange"]["edge"]


def test_score_sees_a_bad_key():
    f = synthetic.scene("portrait", 320, 180)
    back = synthetic.backdrop(320, 180)
    truth = synthetic.truth_composite(f, back)
    regions = quality.Regions.of(f.alpha)
    opaque = quality.score(np.ones_like(f.alpha), f.image, truth, regions)
    assert opaque.leaks == 100.0 and opaque.holes == 0.0
    perfect = quality.score(f.alpha, np.clip(truth + 0.5, 0, 255).astype(np.uint8), truth, regions)
    assert perfect.edge < 0.6 and perfect.frame < 0.6 and perfect.holes == 0 and perfect.leaks == 0


def test_obs_defaults_key_the_screen_but_not_the_subject():
    f = synthetic.scene("portrait", 320, 180)
    back = synthetic.backdrop(320, 180)
    alpha, comp = peers.obs_chroma_key(f.image, back, (0, 255, 0))  # OBS defaults: pure green, 400, 80, 100
    regions = quality.Regions.of(f.alpha)
    assert alpha[regions.clear].mean() < 0.05 and alpha[regions.solid].mean() > 0.95


@pytest.mark.parametrize("scene,family", [("portrait", "green"), ("blue", "blue"), ("teal", "blue")])
def test_detect_key_colour(scene, family):
    f = synthetic.scene(scene, 320, 180)
    b, g, r = detect_key_color(f.image)
    assert (g if family == "green" else b) == max(b, g, r)
    lit = np.median(f.screen.reshape(-1, 3), axis=0)
    assert np.abs(np.array((b, g, r)) - lit).max() < 40


def test_detect_key_colour_refuses_a_picture_without_screen():
    grey = np.full((90, 160, 3), 128, np.uint8)
    with pytest.raises(LivekeyError, match="no green or blue screen"):
        detect_key_color(grey)


def test_screen_estimate_follows_uneven_light_and_shadow():
    layers = synthetic.build_layers("portrait", 320, 180)
    f = synthetic.render(layers, seed=1)
    light = layers.screen * layers.shadow[..., None]  # what actually falls on the screen
    est = estimate_screen(f.image, detect_key_color(f.image)).astype(np.float32)
    clear = quality.Regions.of(f.alpha).clear
    flat = np.median(light[clear], axis=0)
    err_est = np.abs(est - light)[clear].mean()
    err_flat = np.abs(flat - light)[clear].mean()
    assert err_est < 0.4 * err_flat, (err_est, err_flat)


def test_screen_estimate_block_means_are_the_area_average():
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (96, 160, 3), dtype=np.uint8)
    small = np.empty((12, 20, 3), np.float32)
    screen._block_means(frame, small)
    area = cv2.resize(frame, (20, 12), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert np.abs(small - frame.reshape(12, 8, 20, 8, 3).mean(axis=(1, 3))).max() < 1e-3
    assert np.abs(small - area).max() <= 0.5  # what the estimate was built on: cv2's, rounded


def test_relit_plate_follows_the_shadow_on_the_screen():
    """The clean plate relit by the frame's light: where the subject's shadow darkens the screen
    to 60%, the relit plate is as dark as the frame, and its interpolation is cv2's."""
    layers = synthetic.build_layers("portrait", 320, 180)
    plate = np.clip(layers.screen + 0.5, 0, 255).astype(np.uint8)
    shade = np.ones((180, 320), np.float32)
    shade[40:140, 200:300] = 0.6
    shade = cv2.GaussianBlur(shade, (0, 0), 8.0)
    frame = np.clip(layers.screen * shade[..., None] + 0.5, 0, 255).astype(np.uint8)
    relit = screen.relight_plate(frame, plate, detect_key_color(frame)).astype(np.float32)
    inside = (slice(70, 110), slice(230, 270))
    assert np.abs(relit[inside] - frame[inside]).mean() < 3, np.abs(relit[inside] - frame[inside]).mean()
    assert np.abs(plate[inside].astype(np.float32) - frame[inside]).mean() > 30
    gain = np.random.default_rng(1).uniform(0.2, 3.0, (23, 40, 3)).astype(np.float32)
    out = np.empty_like(plate)
    wide = cv2.resize(gain, (320, 23), interpolation=cv2.INTER_LINEAR)
    screen._scale_by(plate, wide, *screen._row_taps(180, 23), out)
    full = cv2.resize(gain, (320, 180), interpolation=cv2.INTER_LINEAR)
    expected = np.floor(np.clip(plate * full + 0.5, 0, 255))  # rounded as the kernel rounds
    assert np.abs(out - expected).max() <= 1


# Achieved edge error as a multiple of OBS's best, per scene (worst scene) and on average, from a
# live session's second frame (the screen estimate refined where the first frame saw the screen),
# with the per-cell solve, the strands' side rule, a light subject's outer row taken back and the
# solve's own screen beside the subject (chroma shift and luma lift): default 0.396-0.493 (mean
# 0.451), clean plate 0.398-0.488 (0.450), edge colour alone 0.49-0.90, chroma detail 0.357-0.467
# (0.420), with the plate 0.358-0.472 (0.419). The 0.5x target is reached on every scene by every
# variant that solves the edge.
PER_SCENE = {"livekey": 0.5, "livekey_plate": 0.5, "livekey_colour": 0.95, "livekey_detail": 0.5,
             "livekey_detail_plate": 0.5}
MEAN = {"livekey": 0.46, "livekey_plate": 0.46, "livekey_detail": 0.43, "livekey_detail_plate": 0.43}


@pytest.mark.parametrize("variant", list(PER_SCENE))
@pytest.mark.parametrize("scene", list(synthetic.SCENES))
def test_default_and_plate_keys_beat_best_obs(report, scene, variant):
    """Holes and leaks below the 0.2% target (leaks measured at most 0.197%, blond with chroma detail and the plate;
    the subject's shadow hugging the shoulder made 0.22-0.35% before the solve took it for screen)."""
    row = report[scene]
    assert row[variant]["edge"] <= PER_SCENE[variant] * row["obs_best"]["edge"], row
    # Never worse than the one-pass key (edge colour alone: within 2%; on the glass it is 1.4% worse:
    # the pale glass next to the purple sleeve takes some of the sleeve's colour).
    assert row[variant]["edge"] <= (1.02 if variant == "livekey_colour" else 1.0) * row["livekey_fused"]["edge"], row
    # Edge colour alone does not solve the alpha, so the shadow stays a faint leak (0.23% at most).
    leak_limit = 0.25 if variant == "livekey_colour" else 0.2
    assert row[variant]["holes"] < 0.2 and row[variant]["leaks"] < leak_limit, row[variant]


@pytest.mark.parametrize("variant", list(MEAN))
def test_mean_ratio_to_best_obs(report, variant):
    ratios = [row[variant]["edge"] / row["obs_best"]["edge"] for row in report.values()]
    assert np.mean(ratios) <= MEAN[variant], ratios


def test_chroma_detail_lowers_edge_error(report):
    """Lower on average (measured 0.93), and on no scene more than 5% higher: on the blue scene it is
    1.01x, as the default solve reads chroma per 4:2:0 cell and the restored chroma is read per pixel."""
    ratios = [row["livekey_detail"]["edge"] / row["livekey"]["edge"] for row in report.values()]
    assert max(ratios) <= 1.05 and np.mean(ratios) < 0.95, ratios


def test_quality_command_prints_both_tables(capsys):
    from livekey.cli import main

    assert main(["quality", "--scenes", "blue"]) == 0
    out = capsys.readouterr().out
    assert "| blue | livekey |" in out and "| blue | stabilised |" in out


def test_screen_estimate_does_not_take_glass_for_lit_screen():
    """A pale glass over the screen is less saturated than any lit or shadowed part of the screen:
    the estimate fills behind it from the screen around instead of taking it for screen."""
    layers = synthetic.build_layers("glass", 640, 360)
    f = synthetic.render(layers, seed=1)
    glass = np.abs(f.alpha - 0.45) < 0.01
    light = (layers.screen * layers.shadow[..., None])[glass].mean(axis=0)
    est = estimate_screen(f.image, detect_key_color(f.image)).astype(np.float32)[glass].mean(axis=0)
    seen = f.image[glass].astype(np.float32).mean(axis=0)
    assert np.abs(est - light).max() < 0.4 * np.abs(seen - light).max(), (est, light, seen)


def _screen_with_square(shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 96 x 128 screen (60, 180, 50) with a grey square keyed solid, its matte, and an estimate
    ``shift`` levels too dark."""
    frame = np.empty((96, 128, 3), np.uint8)
    frame[:] = (60, 180, 50)
    frame[32:64, 40:88] = (128, 120, 110)
    alpha = np.zeros((96, 128), np.uint8)
    alpha[32:64, 40:88] = 255
    estimate = np.clip(frame.astype(np.int16) - shift, 0, 255).astype(np.uint8)
    estimate[32:64, 40:88] = (60 - shift, 180 - shift, 50 - shift)  # filled in behind the subject
    return frame, alpha, estimate


def test_seen_screen_moves_the_estimate_to_the_screen_seen_beside_the_subject():
    frame, alpha, estimate = _screen_with_square(5)
    seen, out = screen.SeenScreen(), np.empty_like(frame)
    assert not seen.apply(estimate, out)  # nothing seen yet
    seen.collect(frame, alpha)
    assert seen.apply(estimate, out)
    screen_colour = np.array((60, 180, 50))
    beside = np.zeros(alpha.shape, bool)  # the screen up to 4 px round the square, and 4 px of its edge
    beside[28:68, 36:92] = True
    beside[36:60, 44:84] = False
    assert np.abs(out[beside].astype(np.int16) - screen_colour).max() <= 1
    # Screen clear all round keys out whatever the estimate, and is left as it was.
    assert np.array_equal(out[:16], estimate[:16]) and np.array_equal(out[:, :24], estimate[:, :24])
    # The subject's colour is never taken for screen: blocks next to it do not count.
    assert (np.abs(out.astype(np.int16) - screen_colour).max(axis=2) <= 5).all()
    assert not seen.apply(estimate, out)  # what was seen is used once


def test_seen_screen_leaves_the_estimate_behind_a_wide_subject_and_where_the_light_changed():
    frame, alpha, estimate = _screen_with_square(5)
    frame[:, :] = (60, 180, 50)
    frame[8:88, 8:120] = (128, 120, 110)
    alpha[:] = 0
    alpha[8:88, 8:120] = 255
    estimate[8:88, 8:120] = (55, 175, 45)
    seen, out = screen.SeenScreen(), np.empty_like(frame)
    seen.collect(frame, alpha)
    seen.apply(estimate, out)
    middle = (slice(40, 56), slice(48, 80))  # more than 3 blocks from any seen screen
    assert np.array_equal(out[middle], estimate[middle])
    # A seen colour far from the estimate (the subject moved there, or the light changed) is ignored.
    frame, alpha, estimate = _screen_with_square(25)
    seen.collect(frame, alpha)
    seen.apply(estimate, out)
    assert np.array_equal(out, estimate)


def test_seen_screen_with_a_plate_keeps_the_plates_detail():
    frame, alpha, _ = _screen_with_square(0)
    plate = np.empty_like(frame)
    plate[:] = (70, 200, 60)
    plate[:, ::2] = (60, 190, 50)  # a fine weave the screen light falls on
    light = 0.85
    seen_screen = np.clip(plate * light + 0.5, 0, 255).astype(np.uint8)
    frame[alpha == 0] = seen_screen[alpha == 0]
    relit = np.clip(plate * 0.9 + 0.5, 0, 255).astype(np.uint8)  # the coarse gain, too bright beside the subject
    seen, out = screen.SeenScreen(), np.empty_like(frame)
    seen.collect(frame, alpha)
    assert seen.apply(relit, out, plate)
    beside = np.zeros(alpha.shape, bool)
    beside[28:68, 36:92] = True
    beside[36:60, 44:84] = False
    assert np.abs(out[beside].astype(np.int16) - seen_screen[beside]).max() <= 1  # the weave kept, at the light seen
    assert np.array_equal(out[:16], relit[:16])


def test_keyer_refines_the_auto_screen_from_its_second_frame(tmp_path):
    layers = synthetic.build_layers("portrait", 640, 360)
    f = synthetic.render(layers, seed=1)
    keyer = Keyer(Settings())
    keyer.matte(f.image)
    coarse = keyer.screen.copy()
    assert np.array_equal(coarse, estimate_screen(f.image, keyer.key_bgr, keyer.screen_model._tolerance))
    keyer.matte(f.image)
    refined = keyer.screen
    light = layers.screen * layers.shadow[..., None]
    shows = quality.Regions.of(f.alpha).edge & (f.alpha < 0.998)  # the edge band where the screen shows
    err_coarse = np.abs(coarse - light)[shows].mean()
    err_refined = np.abs(refined - light)[shows].mean()
    assert err_refined < 0.9 * err_coarse, (err_refined, err_coarse)  # measured 5.6 against 6.9 levels
    # With a clean plate it is the plate relit, then the plate times the light seen beside the subject.
    plate = tmp_path / "plate.png"
    cv2.imwrite(str(plate), f.screen)
    with_plate = Keyer(Settings(plate=str(plate)))
    with_plate.matte(f.image)
    relit = with_plate.screen.copy()
    with_plate.matte(f.image)
    err_relit = np.abs(relit - light)[shows].mean()
    err_refined = np.abs(with_plate.screen - light)[shows].mean()
    assert err_refined < 0.9 * err_relit, (err_refined, err_relit)
    # Without the edge solve the estimate is kept as it is (the solve clears the faint leaks a refined
    # estimate leaves in a steep shadow), and so is the plate when the subject's shadow is kept.
    one_pass = Keyer(Settings(refine=False))
    for _ in range(3):
        one_pass.matte(f.image)
        assert np.array_equal(one_pass.screen, coarse)
    keep = Keyer(Settings(plate=str(plate), shadow="keep"))
    for _ in range(3):
        keep.matte(f.image)
        assert np.array_equal(keep.screen, cv2.imread(str(plate)))
