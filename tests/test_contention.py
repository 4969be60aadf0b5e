"""`livekey bench --load N`: its table, its error, and the busy processes it leaves behind (none)."""

import json
import os
import signal
import subprocess
import sys
import time

from livekey import cli
from livekey.lab import contention


def test_spread_is_min_median_p90():
    s = contention.spread([5.0, 1.0, 3.0, 2.0, 4.0, 100.0, 6.0, 7.0, 8.0, 9.0])
    assert (s["min"], s["median"], s["n"]) == (1.0, 5.5, 10) and 9.0 < s["p90"] < 100.0


def test_busy_processes_spin_and_are_gone_after():
    with contention.busy_processes(2) as procs:
        time.sleep(0.5)
        assert all(p.poll() is None for p in procs)
        ticks = [int(open(f"/proc/{p.pid}/stat").read().split()[13]) for p in procs]
        assert min(ticks) > 0  # they burn CPU (user clock ticks)
    assert all(p.poll() is not None for p in procs)


def test_the_load_table_has_a_row_per_load(capsys):
    assert cli.main(["bench", "--load", "1", "--repeats", "3", "--sizes", "64x36", "--no-ffmpeg", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["size"] == "64x36" and set(out["loads"]) == {"0", "1"}
    assert out["loads"]["0"]["livekey"]["ratio"] == 1.0 and out["loads"]["1"]["livekey"]["n"] == 3


def test_a_load_out_of_range_is_one_line(capsys):
    assert cli.main(["bench", "--load", "17", "--no-ffmpeg"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("livekey: error: --load takes 0 to 16"), err


def test_sigterm_leaves_no_busy_process(tmp_path):
    code = ("import time\nfrom livekey.lab import contention\n"
            "with contention.busy_processes(2) as procs:\n"
            "    print(' '.join(str(p.pid) for p in procs), flush=True)\n    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)
    time.sleep(0.5)
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive = open(f"/proc/{pid}/stat").read().split()[2] != "Z"
        except (ProcessLookupError, FileNotFoundError):
            alive = False
        assert not alive, f"busy process {pid} outlived the bench"
