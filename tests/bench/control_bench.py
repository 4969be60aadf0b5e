"""The control API under load: does a stream deck hammering it cost the live pipeline frames?

    PYTHONPATH=. python tests/bench/control_bench.py [--mode demo:1280x720@30] [--rate 100] [--seconds 10]
                                                     [--rounds 3] [--new-connections]

Starts ``livekey run --source MODE --no-preview --control 0`` in a subprocess (the real command,
headless, loopback only), waits for it to run warm, then measures ``--rounds`` pairs of windows of
the same length in the same run: one with no requests, one with ``--rate`` requests a second sent
on a fixed schedule from this process, over one kept-alive connection (as Companion's HTTP module
does on current Node) or with ``--new-connections`` a new one each. The mix per 100 requests:
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
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "control-bench-token"
WARM_FRAMES = 60  # frames out before measuring: the kernels are compiled or loaded, the caches full


class Client:
    """Requests to the API on 127.0.0.1, over one kept-alive connection or a new one each."""

    def __init__(self, api: str, keep_alive: bool = True) -> None:
        parts = urlsplit(api)
        assert parts.hostname == "127.0.0.1", "the benchmark only ever talks to loopback"
        self.port, self.prefix, self.keep_alive = parts.port, parts.path, keep_alive
        self._conn: HTTPConnection | None = None

    def call(self, path: str, method: str = "GET", body: dict | None = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        for attempt in (1, 2):  # a kept-alive connection the server closed: open a new one once
            if self._conn is None:
                self._conn = HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self._conn.request(method, self.prefix + path, body=data, headers=headers)
                resp = self._conn.getresponse()
                reply = resp.read()
            except (OSError, HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            if not self.keep_alive:
                self.close()
            return resp.status, reply
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status(client: Client) -> dict:
    return json.loads(client.call("status")[1])


def deck_request(i: int) -> tuple[str, str, str, dict | None]:
    """(kind, method, path, body) of the i-th request of the deck mix."""
    slot = i % 100
    if slot == 0:
        return "snapshot", "POST", "snapshot", None
    if slot == 50:
        return "backdrop", "PUT", "backdrop", {"backdrop": "#00ff00" if i % 200 < 100 else "#202830"}
    if slot % 12 == 6:  # 8 of every 100
        return "settings", "PATCH", "settings", {"hue_width": 30.0 + (i // 12) % 2}
    return "status", "GET", "status", None


MIXES = {  # --mix NAME: the i-th request
    "deck": deck_request,
    "status": lambda i: ("status", "GET", "status", None),
    "settings": lambda i: ("settings", "PATCH", "settings", {"hue_width": 30.0 + i % 2}),
    "snapshot": lambda i: ("snapshot", "POST", "snapshot", None),
}


def window(client: Client, pid: int, seconds: float, rate: float, mix=deck_request) -> dict:
    """One measured window; ``rate`` 0 sends nothing but the two status reads that bound it."""
    time.sleep(0.2)  # the pipeline's counters are read at most every 0.1 s: start from fresh ones
    before = status(client)
    t_before = time.monotonic()
    cpu_before, client_before = cpu_seconds(pid), time.process_time()
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
        kind, method, path, body = mix(i)
        start = time.monotonic()
        code, reply = client.call(path, method, body)
        latencies.setdefault(kind, []).append((time.monotonic() - start) * 1000)
        if code >= 300:
            failures.append(f"{method} /api/{path}: {code} {reply[:120]!r}")
    if count == 0:
        time.sleep(seconds)
    elapsed = time.monotonic() - t0
    cpu_after, client_after = cpu_seconds(pid), time.process_time()
    time.sleep(0.2)
    after = status(client)
    span = time.monotonic() - t_before  # what the two counter reads bound
    frames = after["frames"] - before["frames"]
    result = {"seconds": round(elapsed, 2), "requests": sum(len(v) for v in latencies.values()),
              "frames_out": frames, "fps": round(frames / span, 2), "dropped": after["dropped"] - before["dropped"],
              "failures": failures[:5], "failed": len(failures),
              # CPU the livekey process used (every thread), in cores: what the requests cost it
              "livekey_cpu_cores": None if cpu_before is None else round((cpu_after - cpu_before) / elapsed, 3),
              "client_cpu_cores": round((client_after - client_before) / elapsed, 3)}
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


def summary(rounds: list[dict]) -> dict:
    """Per kind of window: dropped frames in all, and min/median/max of fps and CPU over the rounds."""
    out = {}
    for kind in ("idle", "loaded"):
        rows = [r[kind] for r in rounds]
        out[kind] = {"dropped_total": sum(r["dropped"] for r in rows), "dropped_each": [r["dropped"] for r in rows]}
        for key in ("fps", "livekey_cpu_cores", "client_cpu_cores"):
            values = sorted(r[key] for r in rows if r[key] is not None)
            if values:
                out[kind][key] = [values[0], values[len(values) // 2], values[-1]]
    every = [ms for r in rounds for ms in (r["loaded"]["request_ms"]["p50"], r["loaded"]["request_ms"]["p99"])]
    out["request_ms_p50_p99_each"] = [every[i:i + 2] for i in range(0, len(every), 2)]
    out["failed_requests"] = sum(r["loaded"]["failed"] for r in rounds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="demo:1280x720@30")
    parser.add_argument("--rate", type=float, default=100.0, help="requests a second (default 100)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each window (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="idle + loaded window pairs (default 3)")
    parser.add_argument("--new-connections", action="store_true", help="a new connection for every request")
    parser.add_argument("--mix", choices=list(MIXES), default="deck",
                        help="deck (default; see above), or only status, settings or snapshot requests")
    args = parser.parse_args()
    if not (0 < args.rate <= 1000 and 0 < args.seconds <= 120 and 1 <= args.rounds <= 10):
        raise SystemExit("--rate must be in 0..1000, --seconds in 0..120 and --rounds in 1..10")
    with tempfile.TemporaryDirectory() as tmp:
        proc, api = start_livekey(args.mode, tmp)
        client = Client(api, keep_alive=not args.new_connections)
        try:
            deadline = time.monotonic() + 300
            while status(client)["frames"] < WARM_FRAMES:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("livekey did not reach its first frames within 300 s")
                time.sleep(0.5)
            rounds = [{"idle": window(client, proc.pid, args.seconds, 0),
                       "loaded": window(client, proc.pid, args.seconds, args.rate, MIXES[args.mix])}
                      for _ in range(args.rounds)]
        finally:
            client.close()
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=60)
    run = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    results = {"mode": args.mode, "rate": args.rate, "mix": args.mix, "keep_alive": not args.new_connections,
               "load_average": os.getloadavg()[0], "summary": summary(rounds), "rounds": rounds,
               "run": {k: run.get(k) for k in ("frames_out", "dropped", "fps", "latency_ms_p50", "latency_ms_p99")}}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
