import numpy as np

from livekey import synthetic


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
