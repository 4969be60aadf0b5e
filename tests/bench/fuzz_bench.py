"""Issue 27's fuzzing target: 1,000 hostile profiles, 300 ``--mask`` specs and 100 odd images (the
issue's regression corpus among them), each kind in its own process. Reports tracebacks (any
exception but a one-line LivekeyError), hangs (over 10 s), the slowest case and the process's
peak memory (ru_maxrss).

Run: ``PYTHONPATH=. python tests/bench/fuzz_bench.py [profiles=1000 masks=300 images=100]``
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
HANG_S = 10


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang


def run_kind(kind: str, count: int) -> dict:
    """Run ``count`` generated cases of ``kind`` (plus the corpus) in this process; return the tally."""
    import fuzz_strategies as fs
    import test_files
    from hypothesis import HealthCheck, Phase, given, settings

    from livekey.config.profile import Profile
    from livekey.errors import LivekeyError
    from livekey.masks import parse_mask_spec
    from livekey.media.images import read_image

    folder = Path(tempfile.mkdtemp(prefix="livekey-fuzz-bench-"))
    os.mkfifo(folder / "pipe.png")
    os.chdir(folder)
    tally = {"kind": kind, "cases": 0, "errors": 0, "valid": 0, "tracebacks": [], "hangs": 0, "slowest_s": 0.0,
             "longest_message": 0}

    def attempt(action) -> None:
        signal.alarm(HANG_S)
        t0 = time.monotonic()
        try:
            action()
            tally["valid"] += 1
        except LivekeyError as err:
            tally["errors"] += 1
            text = str(err)
            tally["longest_message"] = max(tally["longest_message"], len(text))
            if "\n" in text:
                tally["tracebacks"].append(f"multi-line message: {text[:200]!r}")
        except Hang:
            tally["hangs"] += 1
        except BaseException as err:  # noqa: BLE001 - counting them is the point
            tally["tracebacks"].append(f"{type(err).__name__}: {str(err)[:200]}")
        finally:
            signal.alarm(0)
        tally["cases"] += 1
        tally["slowest_s"] = max(tally["slowest_s"], round(time.monotonic() - t0, 3))

    def profile(data: bytes) -> None:
        (folder / "p.toml").write_bytes(data)

        def load():
            Profile.load(folder / "p.toml").masks.validate()
        attempt(load)

    def image(data: bytes) -> None:
        (folder / "i.img").write_bytes(data)
        attempt(lambda: read_image(folder / "i.img", "input", keep_alpha=True))

    def mask(spec: str) -> None:
        attempt(lambda: parse_mask_spec(spec))

    run, strategy, corpus = {
        "profiles": (profile, fs.profile_bytes(), [c for c, _ in test_files.PROFILE_CASES]),
        "masks": (mask, fs.mask_specs(), [c for c, _ in test_files.MASK_CASES]),
        "images": (image, fs.image_bytes(), [test_files.png_header(60000, 60000)]),
    }[kind]
    for case in corpus:
        run(case)
    many = settings(max_examples=count - len(corpus), deadline=None, database=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck))
    many(given(strategy)(run))()
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    tally["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    tally["tracebacks"] = tally["tracebacks"][:10] + ([f"... {len(tally['tracebacks'])} in all"]
                                                      if len(tally["tracebacks"]) > 10 else [])
    return tally


def main(argv: list[str]) -> int:
    counts = {"profiles": 1000, "masks": 300, "images": 100}
    for arg in argv:
        name, _, value = arg.partition("=")
        counts[name] = int(value)
    if os.environ.get("LIVEKEY_FUZZ_KIND"):
        kind = os.environ["LIVEKEY_FUZZ_KIND"]
        signal.signal(signal.SIGALRM, _alarm)
        print(json.dumps(run_kind(kind, counts[kind])))
        return 0
    failed = False
    print("| kind | cases | one-line errors | valid | tracebacks | hangs | slowest s | longest message | peak MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind in counts:
        env = dict(os.environ, LIVEKEY_FUZZ_KIND=kind)
        proc = subprocess.run([sys.executable, __file__, *argv], env=env, capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            print(f"| {kind} | crashed (rc {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]} |")
            failed = True
            continue
        t = json.loads(lines[-1])
        print(f"| {kind} | {t['cases']} | {t['errors']} | {t['valid']} | {len(t['tracebacks'])} | {t['hangs']} | "
              f"{t['slowest_s']} | {t['longest_message']} | {t['peak_mb']} |")
        for line in t["tracebacks"]:
            print(f"    {line}")
        failed |= bool(t["tracebacks"] or t["hangs"] or t["peak_mb"] > 500)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
