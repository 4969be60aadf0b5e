"""The Numba kernels against the NumPy reference, and the behaviour of the key and spill maths."""

import keying_reference as ref
import numpy as np
import pytest

from livekey.config.settings import Settings
from livekey.engine import keying
from livekey.media import synthetic

GREEN, BLUE = (62, 177, 48), (190, 92, 28)
SETTINGS = [
    Settings(),
    Settings(spill_method="limit", spill_mix=0.8, spill_luma=False),
    Settings(spill_method="average", unmix=False, hue_width=60, hue_softness=30),
    Settings(spill_method="none", sat_floor=0.3, val_floor=0.2),
]


def random_frame(rng, h, w, key):
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    screen_rows = rng.random(h) < 0.4
    near = np.clip(np.array(key) + rng.integers(-25, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    frame[screen_rows] = near[screen_rows]
    return frame


def run_kernels(frame, screen, back, p):
    h, w = frame.shape[:2]
    alpha, fg = np.empty((h, w), np.uint8), np.empty((h, w, 3), np.uint8)
    keying.key_frame(frame, screen, p, alpha, fg)
    alpha2, comp = np.empty((h, w), np.uint8), np.empty((h, w, 3), np.uint8)
    keying.key_composite(frame, screen, back, p, alpha2, comp)
    bgra = np.empty((h, w, 4), np.uint8)
    keying.to_bgra(fg, alpha, bgra)
    return alpha, fg, alpha2, comp, bgra


def assert_close(kernel_out, ref_out, ref_alpha, kernel_alpha):
    """At most 1 level apart; where fastmath rounds alpha to the other side of a level the
    colour of a nearly transparent pixel is amplified by 1/alpha, so colours are compared only
    where the mattes agree, and such pixels must be rare."""
    da = np.abs(kernel_alpha.astype(int) - ref_alpha)
    assert da.max() <= 1
    assert (da > 0).mean() < 0.01
    same = da == 0
    diff = np.abs(kernel_out.astype(int) - ref_out.astype(int))
    assert diff[same].max(initial=0) <= 1


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (37, 53), (64, 101), (120, 7)])
@pytest.mark.parametrize("key", [GREEN, BLUE])
@pytest.mark.parametrize("settings", SETTINGS)
def test_kernels_match_reference_on_random_frames(size, key, settings):
    rng = np.random.default_rng(hash((size, key)) % 2**32)
    h, w = size
    frame = random_frame(rng, h, w, key)
    back = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    screen = keying.flat_screen(key, h, w)
    p = keying.param_vector(settings, key)
    alpha, fg, alpha2, comp, bgra = run_kernels(frame, screen, back, p)
    ra, rfg = ref.key_frame(frame, screen, p)
    ra2, rcomp = ref.key_composite(frame, screen, back, p)
    assert_close(fg, rfg, ra, alpha)
    assert_close(comp, rcomp, ra2, alpha2)
    assert np.array_equal(alpha, alpha2)
    assert np.array_equal(bgra, ref.to_bgra(fg, alpha))
    assert np.array_equal(keying_composite(fg, alpha, back), ref.composite(fg, alpha, back))


def keying_composite(fg, alpha, back):
    out = np.empty_like(fg)
    keying.composite(fg, alpha, back, out)
    return out


@pytest.mark.parametrize("scene", ["portrait", "blue", "glass"])
def test_kernels_match_reference_on_synthetic_frames_with_per_pixel_screen(scene):
    frame = synthetic.scene(scene, 161, 90)
    key = tuple(int(v) for v in np.median(frame.screen.reshape(-1, 3), axis=0))
    p = keying.param_vector(Settings(), key)
    back = synthetic.backdrop(161, 90)
    alpha, fg, alpha2, comp, _ = run_kernels(frame.image, frame.screen, back, p)
    ra, rfg = ref.key_frame(frame.image, frame.screen, p)
    ra2, rcomp = ref.key_composite(frame.image, frame.screen, back, p)
    assert_close(fg, rfg, ra, alpha)
    assert_close(comp, rcomp, ra2, alpha2)


@pytest.mark.parametrize("spots", [(), (0,), (63,), (64, 127), (140,), (149,)])
def test_a_lone_subject_pixel_in_a_run_of_screen_is_keyed_and_clear_runs_show_the_backdrop(spots):
    """The key skips the colour of runs of pixels it left clear: a single subject pixel anywhere in a
    run (first, last, the row's short last run) must still get its colour, and clear runs must show
    the backdrop exactly."""
    h, w = 3, 150
    frame = keying.flat_screen(GREEN, h, w).copy()
    for x in spots:
        frame[1, x] = (40, 90, 200)
    back = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
    screen = keying.flat_screen(GREEN, h, w)
    p = keying.param_vector(Settings(), GREEN)
    alpha, fg, alpha2, comp, _ = run_kernels(frame, screen, back, p)
    ra2, rcomp = ref.key_composite(frame, screen, back, p)
    ra, rfg = ref.key_frame(frame, screen, p)
    assert_close(comp, rcomp, ra2, alpha2)
    assert_close(fg, rfg, ra, alpha)
    subject = np.zeros((h, w), bool)
    subject[1, list(spots)] = True
    assert (alpha[subject] == 255).all() and (alpha[~subject] == 0).all()
    assert np.array_equal(comp[~subject], back[~subject])
    assert (fg[subject] == (40, 90, 200)).all() and (fg[~subject] == 0).all()
    assert (comp[subject] == (40, 90, 200)).all()


def key_pixels(colors, settings=None, key=GREEN):
    frame = np.array(colors, np.uint8).reshape(1, -1, 3)
    p = keying.param_vector(settings or Settings(), key)
    alpha, fg = ref.key_frame(frame, keying.flat_screen(key, 1, frame.shape[1]), p)
    alpha2, fg2 = np.empty_like(alpha), np.empty_like(fg)
    keying.key_frame(frame, keying.flat_screen(key, 1, frame.shape[1]), p, alpha2, fg2)
    assert np.abs(alpha2.astype(int) - alpha).max() <= 1
    return alpha2[0], fg2[0]


def test_screen_colour_is_transparent_and_greys_stay_opaque():
    alpha, _ = key_pixels([GREEN, (255, 255, 255), (128, 128, 128), (0, 0, 0), (4, 12, 4)])
    assert alpha[0] == 0
    assert list(alpha[1:4]) == [255, 255, 255]
    assert alpha[4] == 255  # a dark green shadow under the value floor is never keyed


def test_blue_screen_and_far_hues():
    alpha, _ = key_pixels([BLUE, (30, 40, 200), (40, 180, 200)], key=BLUE)
    assert alpha[0] == 0 and alpha[1] == 255 and alpha[2] == 255


def test_soft_edge_keys_in_proportion():
    """A 50/50 mix of screen and a grey keys near half transparent (the linear screen amount)."""
    grey = np.array((120, 120, 120))
    mix = (0.5 * np.array(GREEN) + 0.5 * grey).round().astype(int)
    alpha, fg = key_pixels([tuple(mix)], Settings(screen_low=0.0, screen_high=1.0))
    assert abs(int(alpha[0]) - 128) <= 6
    assert np.abs(fg[0].astype(int) - grey).max() <= 8  # un-mixing recovers the grey


def test_hue_band_edges():
    """Inside the band fully keyed; beyond width/2 + softness not keyed at all."""
    s = Settings(hue_width=30, hue_softness=10)
    near = (62, 177, 70)  # a few degrees from the key
    far = (150, 177, 48)  # a green-cyan ~50 degrees away
    alpha, _ = key_pixels([near, far], s)
    assert alpha[0] < 40 and alpha[1] == 255


def test_spill_limit_removes_green_cast_and_luma_restore_keeps_whites_white():
    spilled_white = (225, 250, 225)
    alpha, fg = key_pixels([spilled_white], Settings(spill_method="average"))
    assert alpha[0] == 255
    b, g, r = (int(v) for v in fg[0])
    assert g <= max(b, r) + 1  # the green cast is gone
    assert min(b, g, r) >= 225  # luma restored: not darkened to grey
    _, fg_dark = key_pixels([spilled_white], Settings(spill_method="average", spill_luma=False))
    assert int(fg_dark[0][1]) == 225 and int(fg_dark[0][0]) == 225


def test_spill_strength_zero_and_none_leave_colour():
    colour = (100, 200, 150)
    for s in (Settings(spill_strength=0.0), Settings(spill_method="none")):
        _, fg = key_pixels([colour], s.replace(hue_width=5, hue_softness=0, sat_floor=0.9))
        assert tuple(int(v) for v in fg[0]) == colour


def test_spill_methods_differ_as_documented():
    colour = (40, 200, 160)  # B, G, R
    out = {m: key_pixels([colour], Settings(spill_method=m, spill_luma=False, sat_floor=0.9))[1][0]
           for m in ("limit", "average", "max")}
    assert int(out["max"][1]) == 160
    assert int(out["average"][1]) == 100
    limit = key_pixels([colour], Settings(spill_method="limit", spill_mix=1.0, spill_luma=False,
                                          sat_floor=0.9))[1][0]
    assert int(limit[1]) == 160  # mix 1.0: green limited by red alone


def test_partial_spill_strength_removes_its_share_and_gives_back_its_luma():
    """Green 200 over the limit's 110 (mean of B 100 and R 120) is 90 levels of spill: strength 0.5
    removes 45 of them, and spill_luma gives back 45 x the green luma weight (0.7152) to all three."""
    colour = (100, 200, 120)
    s = Settings(spill_method="limit", spill_mix=0.5, hue_width=5, hue_softness=0, sat_floor=0.9)
    _, plain = key_pixels([colour], s.replace(spill_strength=0.5, spill_luma=False))
    assert tuple(int(v) for v in plain[0]) == (100, 155, 120)
    _, lifted = key_pixels([colour], s.replace(spill_strength=0.5))
    lift = 45 * 0.7152
    assert np.abs(lifted[0].astype(float) - (100 + lift, 155 + lift, 120 + lift)).max() <= 0.5


def test_blue_spill_channel():
    alpha, fg = key_pixels([(250, 220, 220)], Settings(spill_method="average", spill_luma=False), key=BLUE)
    assert int(fg[0][0]) == 220


def test_key_colour_from_a_sample():
    s = Settings(key_color="#30b13e")
    assert s.key_bgr() == (0x3E, 0xB1, 0x30)
    alpha, _ = key_pixels([s.key_bgr()], s, key=s.key_bgr())
    assert alpha[0] == 0


def test_warm_up_compiles_everything():
    keying.warm_up()
    for kernel in (keying.key_frame, keying.to_bgra, keying.key_composite, keying.composite):
        assert kernel.signatures


def test_screen_share_sees_the_screen_in_a_mix_the_hue_band_keeps_solid():
    """The screen's chroma a pixel shows, whatever its hue: 1 for the screen, about its light for
    the screen in shadow, 0 for a subject of another hue or a grey; and a mix of red hair with the
    screen, which leaves the key's hue band (keyed solid), still shows a good part of it."""
    green = np.float32((62, 177, 48))
    q = keying.param_vector(Settings(), tuple(int(v) for v in green))

    def share(bgr):
        return float(keying.screen_share(*(np.float32(v) for v in bgr), *green, q))

    def key(bgr):
        return float(keying.key_alpha(*(np.float32(v) for v in bgr), *green, q))

    assert share(green) == pytest.approx(1.0)
    assert share(0.6 * green) == pytest.approx((0.6 - 0.05) / 0.8, abs=0.01)
    assert share((30, 60, 200)) == 0.0 and share((128, 128, 128)) == 0.0
    mix = 0.3 * np.float32((30, 60, 200)) + 0.7 * green
    assert key(mix) == 255.0  # the hue band: solid
    assert share(mix) > 0.3
