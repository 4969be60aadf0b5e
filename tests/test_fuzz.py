"""Property-based fuzzing (Hypothesis) of the profile loader, the ``--mask`` parser and the image
reader: every generated input gives a valid result or a one-line LivekeyError, within a time and a
memory bound. Example counts are modest so the suite stays fast; tests/bench/fuzz_bench.py runs
the issue's 1,000 profiles, 300 specs and 100 images."""

import os
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import numpy as np
from fuzz_strategies import image_bytes, mask_specs, profile_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livekey.config.profile import Profile
from livekey.errors import LivekeyError
from livekey.masks import parse_mask_spec
from livekey.media.images import read_image

FUZZ = settings(max_examples=int(os.environ.get("LIVEKEY_FUZZ_EXAMPLES", "40")), deadline=timedelta(seconds=3),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], database=None)
MEMORY_LIMIT = 200 << 20  # bytes traced per example (Python and NumPy allocations)
FOLDER = Path(tempfile.mkdtemp(prefix="livekey-fuzz-"))
os.mkfifo(FOLDER / "pipe.png")


@contextmanager
def bounded():
    """Fail when the block allocates more than MEMORY_LIMIT at its peak or takes over 3 s."""
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"peak {peak >> 20} MB"
    assert time.monotonic() - t0 < 3


def check_error(err: LivekeyError) -> None:
    text = str(err)
    assert text and "\n" not in text and len(text) <= 400, text


@FUZZ
@given(profile_bytes())
def test_profile_loader(data):
    path = FOLDER / "p.toml"
    path.write_bytes(data)
    with bounded():
        try:
            profile = Profile.load(path)
            profile.masks.validate()  # opens the files the layers name
        except LivekeyError as err:
            check_error(err)


@FUZZ
@given(mask_specs())
def test_mask_parser(spec):
    cwd = os.getcwd()
    os.chdir(FOLDER)  # a spec naming a relative file looks here
    try:
        with bounded():
            try:
                layers = parse_mask_spec(spec)
            except LivekeyError as err:
                check_error(err)
            else:
                assert layers and all(layer.type for layer in layers)
    finally:
        os.chdir(cwd)


@FUZZ
@given(image_bytes(), st.booleans())
def test_image_reader(data, keep_alpha):
    path = FOLDER / "i.img"
    path.write_bytes(data)
    with bounded():
        try:
            img = read_image(path, "input", keep_alpha=keep_alpha)
        except LivekeyError as err:
            check_error(err)
        else:
            assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] in ((3, 4) if keep_alpha else (3,))
