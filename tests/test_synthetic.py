import numpy as np

from livekey.media import synthetic


def test_clean_render_follows_the_compositing_equation():
    layers = synthetic.build_layers("glass", 160, 90, seed=2)
    f = synthetic.render(layers, clean=True)
    a = layers.alpha[..., None]
    expect = (layers.fg + layers.spill) * a + layers.screen * layers.shadow[..., None] * (1 - a)
    assert np.abs(f.image - expect).max() <= 0.51


def test_scenes_have_soft_edges_and_semi_transparency():
    glass = synthetic.scene("glass", 320, 180)
    soft = (glass.alpha > 0.05) & (glass.alpha < 0.95)
    assert soft.mean() > 0.01
    assert np.any(np.abs(glass.alpha - 0.45) < 0.02)  # the 45% glass


def test_moving_subject_moves_the_truth():
    layers = synthetic.build_layers("portrait", 160, 90)
    a0 = synthetic.render(layers).alpha
    a1 = synthetic.render(layers, dx=10).alpha
    assert np.abs(np.roll(a0, 10, axis=1)[:, 20:-20] - a1[:, 20:-20]).max() < 0.05


def test_glass_keeps_its_own_colour_at_45_percent():
    """A layer painted at 45% opacity has its own colour as the truth foreground, not 45% of it
    (a premultiplied mix here once turned the bright glass into dark grey)."""
    layers = synthetic.build_layers("glass", 320, 180)
    glass = np.abs(layers.alpha - 0.45) < 0.01
    assert glass.sum() > 500
    assert np.abs(layers.fg[glass].mean(axis=0) - (215, 205, 190)).max() < 15, layers.fg[glass].mean(axis=0)


def test_motion_blurred_arm_keeps_its_colour_in_the_blur():
    layers = synthetic.build_layers("glass", 320, 180)
    tail = (layers.alpha > 0.1) & (layers.alpha < 0.5)
    left = tail[:, : 320 // 3]  # the arm is on the left; the glass on the right
    fg = layers.fg[:, : 320 // 3][left]
    assert left.sum() > 50 and np.abs(np.median(fg, axis=0) - (115, 145, 195)).max() < 25, np.median(fg, axis=0)
