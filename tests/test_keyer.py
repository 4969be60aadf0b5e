import numpy as np
import pytest

from livekey.config.settings import Settings
from livekey.engine import keyer as keyer_module
from livekey.engine import keying, matte
from livekey.engine.keyer import Keyer
from livekey.media import synthetic


def test_settings_update_applies_on_next_frame():
    f = synthetic.scene("portrait", 160, 90)
    back = synthetic.backdrop(160, 90)
    k = Keyer()
    a1 = k.composite(f.image, back)[0].copy()
    k.update(Settings(screen_high=0.3, screen_low=0.0))
    assert k.settings.screen_high == 0.85  # not before the next frame
    a2 = k.composite(f.image, back)[0]
    assert k.settings.screen_high == 0.3 and not np.array_equal(a1, a2)


def test_matte_stages_run_between_key_and_composite(monkeypatch):
    """A stage that clears the matte must make every output show the backdrop / zero alpha."""

    def clear(frame, alpha, fg):
        alpha[:] = 0

    monkeypatch.setattr(keyer_module, "matte_stages", lambda settings, keyer: [clear])
    f = synthetic.scene("portrait", 160, 90)
    back = synthetic.backdrop(160, 90)
    k = Keyer()
    alpha, out = k.composite(f.image, back)
    assert alpha.max() == 0 and np.array_equal(out, back)
    assert k.rgba(f.image)[..., 3].max() == 0
    assert k.matte(f.image)[0].max() == 0


def test_fused_and_staged_paths_agree():
    f = synthetic.scene("blue", 160, 90)
    back = synthetic.backdrop(160, 90)
    k = Keyer(Settings(edge_color=False, refine=False))
    a1, c1 = (x.copy() for x in k.composite(f.image, back))
    k.stages = [lambda frame, alpha, fg: None]
    a2, c2 = k.composite(f.image, back)
    assert np.array_equal(a1, a2) and np.abs(c1.astype(int) - c2).max() <= 1


def test_auto_key_colour_is_refined_over_the_first_frames():
    """A first frame from a camera still settling its white balance is outvoted by later ones."""
    layers = synthetic.build_layers("portrait", 160, 90)
    settled = synthetic.render(layers, seed=1).image
    tinted = np.clip(settled.astype(np.int16) + (40, -30, 0), 0, 255).astype(np.uint8)  # too blue at first
    back = synthetic.backdrop(160, 90)
    k = Keyer()
    k.composite(tinted, back)
    first = np.array(k.key_bgr)
    for _ in range(60):
        k.composite(settled, back)
    truth = np.median(settled[layers.alpha < 0.01], axis=0)
    assert np.abs(first - truth).max() > 20  # the first guess was off
    assert np.abs(np.array(k.key_bgr) - truth).max() < np.abs(first - truth).max() / 2


def test_explicit_key_colour_is_never_remeasured():
    f = synthetic.scene("portrait", 160, 90)
    k = Keyer(Settings(key_color="#30b13e"))
    for _ in range(20):
        k.composite(f.image, synthetic.backdrop(160, 90))
    assert k.key_bgr == (0x3E, 0xB1, 0x30)


def test_warm_up_compiles_what_the_settings_use_before_the_first_frame():
    """In a fresh process (so nothing else compiled them), warm_up readies the matte kernels the
    default path uses and every screen kernel but the plate relight's (the far fill runs only on some
    frames: compiled on the first of them, it would drop frames); for a live session (which may
    switch to a plate), the relight too. Without refine and edge colour, no matte kernel at all."""
    import subprocess
    import sys

    code = ("import sys, numba\nfrom livekey.engine import keyer, matte, screen\n"
            "from livekey.config.settings import Settings\n"
            "def ready(module):\n"
            "    kernels = [f for f in vars(module).values() if isinstance(f, numba.core.dispatcher.Dispatcher)\n"
            "               and f.targetoptions.get('inline') != 'always' and f.targetoptions.get('parallel')]\n"
            "    return sum(1 for f in kernels if f.signatures), len(kernels)\n"
            "before = ready(matte)[0] + ready(screen)[0]\n"
            "settings = {'default': Settings(), 'live': Settings(),\n"
            "            'plain': Settings(refine=False, edge_color=False)}[sys.argv[1]]\n"
            "keyer.warm_up(settings, outputs=('composite',), live=sys.argv[1] == 'live')\n"
            "print(before, ready(matte)[0], *ready(screen), screen._scale_by.signatures != [])\n")

    def run(which: str) -> list[str]:
        return subprocess.run([sys.executable, "-c", code, which], capture_output=True, text=True,
                              check=True).stdout.split()

    before, matte_ready, screen_ready, screen_kernels, relight = run("default")
    assert before == "0" and int(matte_ready) >= 5 and relight == "False"
    assert int(screen_ready) == int(screen_kernels) - 1, (screen_ready, screen_kernels)  # all but _scale_by
    assert run("live")[2:] == [screen_kernels, screen_kernels, "True"]
    assert run("plain")[1] == "0"


def test_rgba_also_leaves_the_matte_in_alpha_out():
    f = synthetic.scene("portrait", 160, 90)
    alpha = np.empty((90, 160), np.uint8)
    bgra = Keyer().rgba(f.image, alpha_out=alpha)
    assert np.array_equal(bgra[..., 3], alpha) and alpha.min() == 0 and alpha.max() == 255


def test_the_solve_on_the_composite_gives_the_picture_of_solving_the_foreground_then_compositing():
    """The default path solves the key's composite in place; over moving frames of several scenes
    (the solver's state follows them alike) it must equal the matte and foreground composited."""
    back = synthetic.backdrop(320, 180)
    for name, settings in (("portrait", Settings()), ("glass", Settings()), ("blond", Settings(edge_color=False)),
                           ("teal", Settings(refine=False))):
        layers = synthetic.build_layers(name, 320, 180, seed=2)
        fused, staged = Keyer(settings), Keyer(settings)
        for i in range(4):
            image = synthetic.render(layers, dx=4.0 * i, seed=i).image
            a1, c1 = fused.composite(image, back)
            assert fused._solves_composite
            a2, fg = staged.matte(image)
            c2 = np.empty_like(c1)
            keying.composite(fg, a2, back, c2)
            assert np.array_equal(a1, a2), name
            assert np.array_equal(c1, c2), name
        assert (a1 > 0).any() and (a1 < 255).any()  # a real edge was solved


def test_chroma_detail_keeps_the_separate_composite():
    """Restoring chroma keys the band again into the foreground: that solver cannot take a composite."""
    k = Keyer(Settings(chroma_detail=True))
    f = synthetic.scene("portrait", 160, 90)
    back = synthetic.backdrop(160, 90)
    alpha, out = k.composite(f.image, back)
    assert not k._solves_composite
    a2, fg = Keyer(Settings(chroma_detail=True)).matte(f.image)
    c2 = np.empty_like(out)
    keying.composite(fg, a2, back, c2)
    assert np.array_equal(out, c2)
    with pytest.raises(ValueError, match="cannot solve a composite"):
        matte.EdgeSolver(restore=True)(f.image, k.screen, alpha, out.copy(), k.params, backdrop=back)
