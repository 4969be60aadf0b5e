"""The control API under load: does a stream deck hammering it cost the live pipeline frames?

    PYTHONPATH=. python tests/bench/control_bench.py [--mode demo:1280x720@30] [--rate 100] [--seconds 10]

Starts ``livekey run --source MODE --no-preview --control 0`` in a subprocess (the real command,
headless, loopback only), waits for it to run warm, then measures two windows of the same length
in the same run: one with no requests, one with ``--rate`` requests a second sent on a fixed
schedule (a new connection each, as a stream deck's HTTP module makes). The mix per 100 requests:
90 ``GET /api/status``, 8 ``PATCH /api/settings`` (hue_width flipping 30 <-> 31, so the keyer takes
a new Settings), 1 ``PUT /api/backdrop`` (two colours in turn), 1 ``POST /api/snapshot`` (a PNG of
the 720p composite). Reported per window: frames the pipeline dropped, frames out and fps, the CPU
the livekey process used (in cores: the requests' cost, less noisy than drops); for the
loaded window, request latency p50/p99 (all and per kind) and any non-2xx answers. The request
loop is bounded (rate x seconds requests, at most 3x the window's time) and only ever talks to
127.0.0.1. The machine may be shared: compare the two windows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "control-bench-token"
WARM_FRAMES = 60  # frames out before measuring: the kernels are compiled or loaded, the caches full


def call(url: str, method: str = "GET", body: dict | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status(api: str) -> dict:
    return json.loads(call(api + "status")[1])


def request_for(i: int) -> tuple[str, str, str, dict | None]:
    """(kind, method, path, body) of the i-th request of the mix."""
    slot = i % 100
    if slot == 0:
        return "snapshot", "POST", "snapshot", None
    if slot == 50:
        return "backdrop", "PUT", "backdrop", {"backdrop": "#00ff00" if i % 200 < 100 else "#202830"}
    if slot % 12 == 6:  # 8 of every 100
        return "settings", "PATCH", "settings", {"hue_width": 30.0 + (i // 12) % 2}
    return "status", "GET", "status", None


def window(api: str, pid: int, seconds: float, rate: float) -> dict:
    """One measured window; ``rate`` 0 sends nothing but the two status reads that bound it."""
    before = status(api)
    cpu_before = cpu_seconds(pid)
    t0 = time.monotonic()
    latencies: dict[str, list[float]] = {}
    failures: list[str] = []
    count = int(rate * seconds)
    for i in range(count):
        due = t0 + i / rate
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        elif now - t0 > 3 * seconds:
            failures.append(f"stopped after {i} requests: the server fell too far behind")
            break
        kind, method, path, body = request_for(i)
        start = time.monotonic()
        code, reply = call(api + path, method, body)
        latencies.setdefault(kind, []).append((time.monotonic() - start) * 1000)
        if code >= 300:
            failures.append(f"{method} /api/{path}: {code} {reply[:120]!r}")
    if count == 0:
        time.sleep(seconds)
    elapsed = time.monotonic() - t0
    cpu_after = cpu_seconds(pid)
    after = status(api)
    frames = after["frames"] - before["frames"]
    result = {"seconds": round(elapsed, 2), "requests": sum(len(v) for v in latencies.values()),
              "frames_out": frames, "fps": round(frames / elapsed, 2), "dropped": after["dropped"] - before["dropped"],
              "failures": failures[:5], "failed": len(failures),
              # CPU the livekey process used (every thread), in cores: what the requests cost it
              "livekey_cpu_cores": None if cpu_before is None else round((cpu_after - cpu_before) / elapsed, 3)}
    if latencies:
        every = np.concatenate([np.asarray(v) for v in latencies.values()])
        result["request_ms"] = {"p50": round(float(np.percentile(every, 50)), 2),
                                "p99": round(float(np.percentile(every, 99)), 2)}
        result["request_ms_by_kind"] = {k: {"n": len(v), "p50": round(float(np.percentile(v, 50)), 2),
                                            "p99": round(float(np.percentile(v, 99)), 2)}
                                        for k, v in latencies.items()}
    return result


def start_livekey(mode: str, cwd: str) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "livekey", "run", "--source", mode, "--no-preview",
                             "--control", "0", "--control-token", TOKEN, "--stats"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    line = ""
    while "control API at" not in line:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit(f"livekey ended before serving the API: {proc.stderr.read()}")
    return proc, re.search(r"at (http://127\.0\.0\.1:\d+/api/)", line).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="demo:1280x720@30")
    parser.add_argument("--rate", type=float, default=100.0, help="requests a second (default 100)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each window (default 10)")
    args = parser.parse_args()
    if not (0 < args.rate <= 1000 and 0 < args.seconds <= 120):
        raise SystemExit("--rate must be in 0..1000 and --seconds in 0..120")
    with tempfile.TemporaryDirectory() as tmp:
        proc, api = start_livekey(args.mode, tmp)
        try:
            deadline = time.monotonic() + 300
            while status(api)["frames"] < WARM_FRAMES:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("livekey did not reach its first frames within 300 s")
                time.sleep(0.5)
            results = {"mode": args.mode, "rate": args.rate,
                       "idle": window(api, proc.pid, args.seconds, 0),
                       "loaded": window(api, proc.pid, args.seconds, args.rate)}
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
    run = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    results["run"] = {k: run.get(k) for k in ("frames_out", "dropped", "fps", "latency_ms_p50", "latency_ms_p99")}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
