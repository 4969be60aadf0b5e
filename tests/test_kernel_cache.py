"""The on-disk kernel cache follows the package's source, across modules."""

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np

from livekey import cli
from livekey.engine import kernel_cache
from livekey.media import synthetic


def test_purge_drops_the_package_kernels_when_the_source_changed(tmp_path):
    ours = [tmp_path / "keying.key_frame-251.py311.nbi", tmp_path / "matte._solve_blocks-520.py311.1.nbc"]
    other = tmp_path / "someone.f-3.py311.nbi"
    for path in (*ours, other):
        path.write_bytes(b"x")
    assert kernel_cache.purge_stale(tmp_path, "digest-1", ["keying", "matte"]) == 2
    assert not any(p.exists() for p in ours) and other.exists()
    assert (tmp_path / kernel_cache.STAMP).read_text() == "digest-1"
    # Cached under the same source: kept.
    ours[0].write_bytes(b"x")
    assert kernel_cache.purge_stale(tmp_path, "digest-1", ["keying", "matte"]) == 0
    assert ours[0].exists()
    assert kernel_cache.purge_stale(tmp_path, "digest-2", ["keying", "matte"]) == 1


def test_digest_follows_every_kernel_module(tmp_path):
    (tmp_path / "a.py").write_text("@numba.njit\ndef f():\n    return 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("@numba.njit\ndef g():\n    return 2\n")
    before = kernel_cache.source_digest(tmp_path)
    assert kernel_cache.source_digest(tmp_path) == before
    (tmp_path / "sub" / "b.py").write_text("@numba.njit\ndef g():\n    return 3\n")
    assert kernel_cache.source_digest(tmp_path) != before


def test_digest_skips_the_modules_without_kernels(tmp_path):
    (tmp_path / "a.py").write_text("@numba.njit\ndef f():\n    return 1\n")
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "m.py").write_text("Z = 1\n")
    (tmp_path / "pipeline.py").write_text("import numba\nW = 1\n")
    before = kernel_cache.source_digest(tmp_path)
    (tmp_path / "ui" / "m.py").write_text("Z = 2\n")
    (tmp_path / "pipeline.py").write_text("import numba\nW = 2\n")
    assert kernel_cache.source_digest(tmp_path) == before
    names = {p.name for p in kernel_cache.kernel_modules()}
    assert {"keying.py", "matte.py", "screen.py", "diff.py"} <= names
    assert not names & {"keyer.py", "pipeline.py", "cli.py", "kernel_cache.py", "settings.py"}


def _kernel_code(module) -> list:
    """The code objects of ``module``'s kernels, nested ones included."""
    import numba.core.registry

    codes = []
    for value in vars(module).values():
        if isinstance(value, numba.core.registry.CPUDispatcher) and value.py_func.__module__ == module.__name__:
            stack = [value.py_func.__code__]
            while stack:
                code = stack.pop()
                codes.append(code)
                stack.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return codes


def test_kernels_read_only_from_kernel_modules():
    """What a kernel reads from another livekey module is compiled into it: that module must be
    digested, or an edit there would leave the cached kernel stale."""
    import ast
    import importlib

    digested = {p.relative_to(kernel_cache.PACKAGE).with_suffix("").as_posix().replace("/", ".")
                for p in kernel_cache.kernel_modules()}
    checked = 0
    for name in sorted(digested):
        module = importlib.import_module(f"livekey.{name}")
        read = {n for code in _kernel_code(module) for n in code.co_names}
        tree = ast.parse(Path(module.__file__).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("livekey."):
                source = node.module.removeprefix("livekey.")
                for alias in node.names:
                    if (alias.asname or alias.name) in read:
                        checked += 1
                        assert source in digested or f"{source}.{alias.name}" in digested, (
                            f"a kernel in livekey.{name} reads {alias.name} from livekey.{source}, which "
                            "defines no kernel: the cache digest does not cover it")
    assert checked >= 2  # matte reads keying's helpers, masks/diff its unmix_pixel


_KEY_AND_SOLVE = textwrap.dedent("""
    import sys, numpy as np
    from livekey.runtime.startup import start_up
    start_up()
    from livekey.engine import keying, matte, screen
    from livekey.media import synthetic
    from livekey.config.settings import Settings
    f = synthetic.scene("blond", 96, 54).image
    key = screen.detect_key_color(f)
    scr = keying.flat_screen(key, 54, 96)
    p = keying.param_vector(Settings(), key)
    a, fg = np.empty((54, 96), np.uint8), np.empty((54, 96, 3), np.uint8)
    keying.key_frame(f, scr, p, a, fg)
    matte.EdgeSolver()(f, scr, a, fg, p)
    np.save(sys.argv[1], np.dstack([fg, a[..., None]]))
    from livekey.engine import kernel_cache
    print("warm" if kernel_cache.warm else "cold")
""")


def test_a_change_in_keying_reaches_the_cached_edge_solve(tmp_path):
    """The edge solve (matte.py) inlines keying's despill. Cached, then keying.py changed so that
    despill paints every visible pixel level 7: the edge band must be 7 too, not the old colour."""
    package = tmp_path / "livekey"
    shutil.copytree(Path(kernel_cache.PACKAGE), package, ignore=shutil.ignore_patterns("__pycache__"))
    script = tmp_path / "key_and_solve.py"
    script.write_text(_KEY_AND_SOLVE)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("NUMBA_CACHE_DIR", None)

    def run(out: Path, expect: str) -> np.ndarray:
        done = subprocess.run([sys.executable, str(script), str(out)], env=env, check=True, cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.stdout.split()[-1] == expect, done.stdout  # whether the kernels were found cached
        return np.load(out)

    first = run(tmp_path / "first.npy", "cold")
    assert np.array_equal(run(tmp_path / "again.npy", "warm"), first)
    assert list((package / "engine" / "__pycache__").glob("matte.*.nbc")), "the edge solve was not cached"
    keying = package / "engine" / "keying.py"
    source = keying.read_text()
    despill = re.search(r"def despill_pixel\(.*?\n    return fb, fg, fr\n", source, re.S)
    assert despill is not None
    seven = "_F0 + np.float32(7)"
    painted = despill.group(0).replace("    return fb, fg, fr\n", f"    return {seven}, {seven}, {seven}\n")
    keying.write_text(source.replace(despill.group(0), painted))
    second = run(tmp_path / "second.npy", "cold")
    visible = second[..., 3] > 0
    band = visible & (second[..., 3] < 255)
    assert band.sum() > 20 and np.array_equal(first[..., 3], second[..., 3])
    assert (second[..., :3][visible] == 7).all(), np.unique(second[..., :3][band])


def test_the_cli_says_nothing_of_compiling_when_nothing_compiles(capsys, tmp_path):
    """(tests/test_cold_start.py shows the line when a compile runs.)"""
    image = tmp_path / "in.png"
    cv2.imwrite(str(image), synthetic.scene("portrait", 64, 36).image)
    key = ["key", str(image), "-o", str(tmp_path / "out.png")]
    # Bad input fails before anything compiles: its error stays the one line.
    assert cli.main([*key, "--backdrop", str(tmp_path / "missing.png")]) == 2
    err = capsys.readouterr().err
    assert "compiling" not in err and len(err.strip().splitlines()) == 1, err
    assert cli.main(key) == 0
    capsys.readouterr()
    assert cli.main(key) == 0  # everything compiled (or loaded) by now: not a word of it
    assert "compil" not in capsys.readouterr().err
