# SPDX-License-Identifier: BSD-3-Clause
"""The idle-mode figures (paste-kvs --idle poll|nap|sleep, doc/operations.md):
for each mode, on the afpacket testbed,
  - idle: the server's CPU (/proc/PID/stat, user + system) over a quiet
    period, in % of a core;
  - back-to-back: one connection, GETs one after another (p50/p99 us);
  - after idle: one connection, each GET after 0.2 s of silence, the
    latency of waking (p50/p99 us);
  - paced: one connection, one GET per millisecond; server CPU and p50/p99.
The client (bench/lib/pingpong.py, Python) runs on the client core; its own
round trip is in every figure alike, so compare modes, not absolutes."""

import json
import os
import time

from common import (
    BenchError, CLIENT_CORE, PROG, RESP_PORT, SERVER_IP, ns_cmd, proc_cpu_s, run)
from servers import PasteKvs

MODES = ("poll", "nap", "sleep")
PINGPONG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pingpong.py")


def pctl(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


def pingpong(srv, args, timeout):
    r = run(ns_cmd(srv.client_ns, CLIENT_CORE, ["/usr/bin/python3", PINGPONG, SERVER_IP,
                                                str(RESP_PORT)] + args), timeout)
    if r.returncode != 0:
        raise BenchError("pingpong %s: %s" % (" ".join(args), r.stderr.decode()[-300:]))
    return json.loads(r.stdout)["rtt_us"]


def idle_point(ctx, mode, quiet_s, gaps, paced_s):
    srv = PasteKvs(ctx, "paste-wal-idle-" + mode, "wal")
    srv.extra = ["--idle", mode]
    srv.start(65536)
    try:
        time.sleep(0.5)
        pid = srv.proc.pid
        c0 = proc_cpu_s(pid)
        time.sleep(quiet_s)
        idle_pct = (proc_cpu_s(pid) - c0) * 100 / quiet_s
        burst = pingpong(srv, ["burst", "500"], 60)
        gap = pingpong(srv, ["gap", str(gaps), "0.2"], 60 + gaps)
        c0, t0 = proc_cpu_s(pid), time.time()
        paced = pingpong(srv, ["paced", str(paced_s), "1000"], 60 + paced_s)
        paced_pct = (proc_cpu_s(pid) - c0) * 100 / (time.time() - t0)
        stats = srv.fresh_stats() or {}
    finally:
        srv.stop()
    out = dict(mode=mode, idle_cpu_pct=round(idle_pct, 1), paced_cpu_pct=round(paced_pct, 1),
               paced_requests=len(paced), idle_sleeps=stats.get("idle_sleeps"))
    for name, xs in (("burst", burst), ("after_idle", gap), ("paced", paced)):
        out[name + "_p50_us"] = round(pctl(xs, 0.5), 1)
        out[name + "_p99_us"] = round(pctl(xs, 0.99), 1)
    return out


def idle_run(ctx, quick=False):
    """Every mode in turn; a list of result dicts."""
    out = []
    for mode in MODES:
        PROG.line("idle: paste-kvs --idle %s" % mode)
        out.append(idle_point(ctx, mode, 2.0 if quick else 5.0, 10 if quick else 30,
                              2 if quick else 5))
    return out


def print_idle(rows):
    print()
    print("%-6s %8s %9s %15s %15s %15s" % ("idle", "idle cpu", "paced cpu", "b2b p50/p99 us",
                                            "after-idle us", "paced 1/ms us"))
    for r in rows:
        print("%-6s %7.1f%% %8.1f%% %7.0f/%-7.0f %7.0f/%-7.0f %7.0f/%-7.0f" % (
            r["mode"], r["idle_cpu_pct"], r["paced_cpu_pct"], r["burst_p50_us"],
            r["burst_p99_us"], r["after_idle_p50_us"], r["after_idle_p99_us"],
            r["paced_p50_us"], r["paced_p99_us"]))
