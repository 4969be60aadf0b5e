"""Light wrap: the backdrop's light round the subject's edge."""

import numpy as np

from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.engine.light_wrap import LightWrap
from livekey.media import synthetic


def _scene():
    f = synthetic.scene("portrait", 320, 180)
    back = np.zeros((180, 320, 3), np.uint8)
    back[:] = (40, 220, 250)  # a warm, bright backdrop: far from every colour of the subject
    return f, back


def test_light_wrap_moves_the_inner_edge_towards_the_backdrop_and_nothing_else():
    f, back = _scene()
    alpha, plain = (a.copy() for a in Keyer(Settings()).composite(f.image, back))
    wrapped = Keyer(Settings(light_wrap=0.8)).composite(f.image, back)[1]
    dist = lambda img: np.abs(img.astype(np.float32) - back).sum(axis=2)  # noqa: E731
    edge = (alpha > 128) & (alpha < 255)
    assert (dist(wrapped)[edge] < dist(plain)[edge] - 5).mean() > 0.8  # nearer the backdrop's colour
    clear = alpha == 0
    assert np.array_equal(wrapped[clear], plain[clear])  # the backdrop itself stays as it was
    # Deep inside the subject (the body's centre) nothing changes.
    assert np.abs(wrapped[170:, 150:170].astype(int) - plain[170:, 150:170]).max() <= 1


def test_light_wrap_reaches_further_with_a_larger_radius():
    f, back = _scene()
    alpha = Keyer(Settings()).composite(f.image, back)[0].copy()
    solid = alpha == 255
    changed = {}
    for radius in (4.0, 32.0):
        out = np.zeros_like(f.image)
        LightWrap(1.0, radius)(alpha, back, out)  # from black: every changed pixel shows
        changed[radius] = int((out[solid].max(axis=1) > 8).sum())
    assert changed[32.0] > 2 * changed[4.0] > 0, changed


def test_light_wrap_off_is_the_plain_composite():
    f, back = _scene()
    out = Keyer(Settings()).composite(f.image, back)[1].copy()
    before = out.copy()
    LightWrap(0.0, 16.0)(np.full(out.shape[:2], 200, np.uint8), back, out)
    assert np.array_equal(out, before)


def test_light_wrap_follows_settings_changed_mid_stream():
    """Turned on, re-sized and off again on a running keyer, from the next frame on."""
    f, back = _scene()
    keyer = Keyer(Settings())
    plain = keyer.composite(f.image, back)[1].copy()
    outs = []
    for settings in (Settings(light_wrap=0.8), Settings(light_wrap=0.8, light_wrap_radius=48), Settings()):
        keyer.update(settings)
        outs.append(keyer.composite(f.image, back)[1].copy())
    assert not np.array_equal(outs[0], plain) and not np.array_equal(outs[1], outs[0])
    assert np.array_equal(outs[2], plain)
