#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The engine of bench/run.sh: paste-kvs, linux-kvs and Redis side by side.

This file runs the plan; the modules beside it do one job each:
common (process control), testbeds, servers, loads (points, clients,
one point's measurement), capacity (paste-kvs on one core under
paste-loadgen), profiles (callgrind, perf) and report.

Testbeds of scripts/testbed.sh, so a kernel server never shares paste's
veth or address:
  P  paste-kvs on P-p (net_af_packet: the afpacket testbed), as 198.18.0.1;
  N  paste-kvs on a memif bridged to N-p by dpdk-testpmd on the client core
     (the nic testbed; systems NAME@nic);
  K  the kernel servers (linux-kvs, redis-server) bound to 198.18.0.1 on K-p,
     the paste-side veth of a third pair.
Every veth has RPS: its receive work runs on the core that reads it.
Clients run in the Linux namespace of the matching testbed. The server is
pinned to core 1 (EAL -l 1, taskset -c 1), every client to core 0. One
server runs at a time.

Repeats are interleaved: repeat r runs every system in turn (the order
rotated each repeat), each from a fresh pool, through all its points. A
point's figure is the median over the repeats.

Everything this process starts (servers, clients, testbeds, scratch files)
is removed on every exit path: normal end, error, SIGINT, SIGTERM.
"""

import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time

from common import (
    BenchError, CLEAN, CLIENT_BOUND, CLIENT_CORE, Context, PREFIX_LEN, PROG, REPO,
    RESP_PORT, SERVER_CORE, SERVER_IP, now, ns_enter, on_signal, run, tsc_hz_guess)
from testbeds import Bridge, reap_stale, steer_rps, testbed_up
from servers import LinuxKvs, PasteKvs, Redis, SYSTEMS, TESTBEDS, testbed_of
from loads import Checks, Runner, build_points, correctness, delay_points, pipe_load
from idle import idle_run, print_idle
from shards import print_shards, shards_run
from profiles import callgrind_run, profile_run
from capacity import capacity_run, capacity_status, print_capacity, print_matrix
from objbench import objects_run, print_objects
from report import aggregate, machine_info, print_summary, ratios_table, report, targets


def memory_phase(ctx, sysname, checks):
    """Load N distinct 1 KiB keys into a fresh server: DRAM and persistent
    bytes per key."""
    cls, index, copy, delay, label = SYSTEMS[sysname]
    srv = cls(ctx, sysname + "-mem", index, copy, delay)
    n = ctx.mem_keys
    pool_bufs = max(262144, n * 2 + 65536)
    PROG.line("memory: %s, loading %d keys of 1 KiB" % (sysname, n))
    srv.start(pool_bufs)
    try:
        time.sleep(0.3)
        rss0 = srv.rss_kb()
        vm0 = srv.rss_kb("VmRSS")
        s0 = srv.fresh_stats()
        t0 = now()
        pipe_load(srv, n, 1024, prefix="mem:", fmt="%010d", timeout=ctx.mem_timeout)
        load_s = now() - t0
        time.sleep(0.5)
        s1 = srv.fresh_stats()
        rss1 = srv.rss_kb()
        vm1 = srv.rss_kb("VmRSS")
        r = run(srv.client(["redis-cli", "-h", SERVER_IP, "-p", str(RESP_PORT), "DBSIZE"]), 10)
        keys = int(r.stdout.strip() or 0) if r.returncode == 0 else None
        checks.check(keys is not None and keys >= n,
                     "%s: DBSIZE after loading %d distinct keys (%s)" % (sysname, n, keys))
        pbytes = srv.persistent_bytes(s1 or {})
        pbytes0 = srv.persistent_bytes(s0 or {}) if cls is not Redis else 0
        out = dict(system=sysname, keys=n, value_bytes=1024, load_s=round(load_s, 2),
                   rss_anon_before_kb=rss0, rss_anon_after_kb=rss1,
                   vmrss_before_kb=vm0, vmrss_after_kb=vm1,
                   dram_per_key=(rss1 - rss0) * 1024 / n if rss0 and rss1 else None,
                   persistent_bytes=pbytes, persistent_bytes_before=pbytes0,
                   persistent_per_key=(pbytes - pbytes0) / n,
                   space_amplification=(pbytes - pbytes0) / (n * 1024.0))
        if s1 and "pool_kept" in s1:
            out["pool_kept"] = s1["pool_kept"]
            out["buf_size"] = s1.get("buf_size", ctx.buf_size)
        return out
    finally:
        srv.stop()


def main_run(args):
    ctx = Context()
    ctx.mode = "smoke" if args.smoke else ("demo" if args.demo else
                                           ("quick" if args.quick else "full"))
    ctx.seconds = args.seconds or {"full": 1.0, "quick": 0.4, "smoke": 0.2, "demo": 1.0}[ctx.mode]
    ctx.reps = args.reps or (1 if ctx.mode in ("smoke", "demo") else 3)
    ctx.reps_given = bool(args.reps)  # the capacity phase's too, in any mode
    ctx.keyspace = args.keyspace or {"full": 10000, "quick": 1000, "smoke": 200,
                                     "demo": 1000}[ctx.mode]
    ctx.mem_keys = args.mem_keys or {"full": 1000000, "quick": 20000, "smoke": 2000,
                                     "demo": 20000}[ctx.mode]
    ctx.mem_timeout = 900 if ctx.mode == "full" else 60
    ctx.buf_size = 2176
    ctx.tsc_hz = tsc_hz_guess()
    ctx.build = args.build_dir
    ctx.paste_kvs = os.path.join(ctx.build, "examples", "paste-kvs")
    ctx.linux_kvs = os.path.join(ctx.build, "bench", "linux-kvs")
    ctx.eal_mem = args.eal_mem.split()
    # The af_packet ring: 512 frames (the PMD's default) overflow under 50
    # pipelining connections (drops, then the clients' retransmission timeouts).
    ctx.af_packet = os.environ.get("BENCH_AF_PACKET", "qpairs=1,framecnt=4096")
    ctx.testpmd = os.environ.get("BENCH_TESTPMD", "dpdk-testpmd")
    ctx.eal_mem_bridge = os.environ.get("BENCH_BRIDGE_MEM", "--no-huge -m 256").split()
    # An abstract socket (no file): it lives in the nic testbed's network
    # namespace, where both the bridge and paste-kvs run.
    ctx.memif_socket = "/run/paste-bench-%d.memif" % os.getpid()
    ctx.kvs_extra = os.environ.get("BENCH_KVS_ARGS", "").split()
    ctx.wrap = []
    ctx.eal_prefixes = []
    ctx.budget = args.budget or {"full": 2700, "quick": 180, "smoke": 300, "demo": 120}[ctx.mode]
    t_start = now()

    if args.systems:
        systems = args.systems.split(",")
    elif ctx.mode == "full":
        systems = ["paste-wal", "paste-btree", "paste-copy", "paste-wal@nic", "paste-copy@nic",
                   "linux-kvs", "redis"]
    elif ctx.mode == "smoke":
        systems = ["paste-wal", "paste-btree", "paste-copy", "paste-wal@nic", "linux-kvs",
                   "redis"]
    elif ctx.mode == "demo":
        systems = ["paste-wal", "linux-kvs"]
    else:
        systems = ["paste-wal", "paste-copy", "paste-wal@nic", "linux-kvs", "redis"]
    testbeds = args.testbed.split(",") if args.testbed else list(TESTBEDS)
    for t in testbeds:
        if t not in TESTBEDS:
            raise BenchError("--testbed: unknown testbed %s (known: %s)" % (t, ", ".join(TESTBEDS)))
    for s in systems:
        if s not in SYSTEMS:
            raise BenchError("unknown system %s (known: %s)" % (s, ", ".join(SYSTEMS)))
    if args.objects_only:
        systems = []
    systems = [s for s in systems if testbed_of(s) in testbeds + ["veth"]]
    # The objects phase runs paste-objects on the nic testbed.
    ctx.objects_on = (not args.no_objects and ctx.mode in ("full", "quick", "smoke")
                      and "nic" in testbeds)
    ctx.nic = any(testbed_of(s) == "nic" for s in systems) or ctx.objects_on
    missing = []
    if any(issubclass(SYSTEMS[s][0], PasteKvs) for s in systems) and not os.access(ctx.paste_kvs, os.X_OK):
        missing.append(ctx.paste_kvs)
    if any(SYSTEMS[s][0] is LinuxKvs for s in systems) and not os.access(ctx.linux_kvs, os.X_OK):
        missing.append(ctx.linux_kvs)
    if missing:
        if ctx.mode == "smoke" or not args.skip_unbuilt:
            raise BenchError("not built: %s (BUILD_DIR=%s)" % (", ".join(missing), ctx.build))
        PROG.say("warning: not built, skipped: %s" % ", ".join(missing))
        systems = [s for s in systems
                   if not (issubclass(SYSTEMS[s][0], PasteKvs) and ctx.paste_kvs in missing)
                   and not (SYSTEMS[s][0] is LinuxKvs and ctx.linux_kvs in missing)]
    delay_systems = []
    if not args.no_delay:
        for s in systems:
            if s + "+d10" in SYSTEMS and (ctx.mode == "full" or s != "paste-copy"):
                delay_systems.append(s + "+d10")
    points = build_points(ctx.mode)
    if args.points:
        # A developer's loop: a few points, the rest of the run as usual.
        try:
            want = re.compile(args.points)
        except re.error as e:
            raise BenchError("--points: bad regular expression: %s" % e)
        points = [p for p in points if want.search(p["id"])]
        if not points:
            raise BenchError("--points %r matches no point of the %s matrix"
                             % (args.points, ctx.mode))
    dpoints = delay_points(points)

    ctx.work = os.path.join("/tmp", "paste-bench.%d" % os.getpid())
    ctx.shm = os.path.join("/dev/shm", "paste-bench.%d" % os.getpid())
    os.makedirs(ctx.work, exist_ok=True)
    os.makedirs(ctx.shm, exist_ok=True)
    CLEAN.paths += [ctx.work, ctx.shm]
    ctx.pool_pages = pool_pages(ctx.shm)
    PROG.line("pool files: %s" % ctx.pool_pages)

    reap_stale()
    ctx.tb = {"p": "pbp%d" % os.getpid(), "k": "pbk%d" % os.getpid()}
    if ctx.nic:
        ctx.tb["n"] = "pbn%d" % os.getpid()
    ctx.tb = {k: v[:13] for k, v in ctx.tb.items()}
    PROG.line("testbeds %s (paste, afpacket), %s (kernel servers)%s" % (
        ctx.tb["p"], ctx.tb["k"], ", %s (paste, nic)" % ctx.tb["n"] if ctx.nic else ""))
    for tb in ctx.tb.values():
        testbed_up(tb)
    run(ns_enter(ctx.tb["k"] + "-paste") + ["ip", "addr", "add", "%s/%d" % (SERVER_IP, PREFIX_LEN),
         "dev", ctx.tb["k"] + "-p"], 10, check=True)
    steer_rps(ctx)
    checks = Checks()
    failures = []
    ctx.failures = failures
    # Started by each nic system (servers.PasteKvsNic), stopped after it.
    ctx.bridge = Bridge(ctx) if ctx.nic else None
    runner = Runner(ctx)
    results = []
    all_systems = systems + delay_systems
    plan = []
    for rep in range(ctx.reps if all_systems else 0):
        order = all_systems[rep % len(all_systems):] + all_systems[:rep % len(all_systems)]
        for s in order:
            plan.append((rep, s))
    total_points = sum(len(dpoints if s in delay_systems else
                           [p for p in points if p["tool"] == "rb" or SYSTEMS[s][0] is not Redis])
                       for _, s in plan)
    done_points = 0
    skipped_budget = 0
    if args.no_points:
        plan = []
    for rep, s in plan:
        cls, index, copy, delay, label = SYSTEMS[s]
        srv = cls(ctx, s, index, copy, delay)
        pts = dpoints if s in delay_systems else [p for p in points
                                                  if p["tool"] == "rb" or srv.http]
        if now() - t_start > ctx.budget * 0.8 and rep > 0:
            skipped_budget += len(pts)
            continue
        ctx.rep = rep
        PROG.line("rep %d/%d %s: starting" % (rep + 1, ctx.reps, s))
        rc = None
        try:
            srv.start(max(262144, ctx.keyspace * 16 + 65536))
            if rep == 0:
                correctness(srv, checks)
            loaded = None
            # RPC key for wrk's 64-byte GETs.
            if srv.http:
                run(srv.client(["redis-cli", "-h", SERVER_IP, "-p", str(RESP_PORT), "SET", "rpc",
                                "r" * 64]), 10, check=True)
            for p in pts:
                if p["tool"] == "rb" and p["op"] == "get" and loaded != p["d"]:
                    PROG.line("rep %d/%d %s: loading %d keys of %d B" % (
                        rep + 1, ctx.reps, s, ctx.keyspace, p["d"]))
                    pipe_load(srv, ctx.keyspace, p["d"])
                    loaded = p["d"]
                done_points += 1
                PROG.line("rep %d/%d %-14s %-26s [%d/%d]" % (
                    rep + 1, ctx.reps, s, p["id"], done_points, total_points))
                try:
                    res = runner.run_point(srv, p, rep)
                except BenchError as e:
                    # One failed point (a client that timed out, an error
                    # reply) is recorded and the run goes on; a server that
                    # died ends this system's repeat.
                    PROG.say("point failed: %s" % str(e).splitlines()[0][:300])
                    failures.append(dict(system=s, point=p["id"], rep=rep, error=str(e)[:2000]))
                    checks.check(False, "%s: %s (rep %d)" % (s, p["id"], rep + 1))
                    if not srv.alive():
                        # The server or the nic bridge died: the next points
                        # would fail the same way; the next system restarts.
                        break
                    continue
                res["label"] = label
                results.append(res)
        except BenchError as e:
            # A server that did not start, or a failed key load: this
            # system's repeat ends, the run goes on.
            PROG.say("%s, repeat %d: %s" % (s, rep + 1, str(e)[:600]))
            failures.append(dict(system=s, point=None, rep=rep, error=str(e)[:2000]))
            checks.check(False, "%s: repeat %d ran (%s)" % (s, rep + 1, str(e).splitlines()[0][:200]))
        finally:
            rc = srv.stop()
        if rc not in (0, None):
            checks.check(False, "%s exited with status %s" % (s, rc))
        if ctx.mode == "smoke" and results:
            got = [r for r in results if r["system"] == s]
            checks.check(all(r["rps"] > 0 for r in got) and len(got) == len(pts),
                         "%s: every benchmark point answered (%d points)" % (s, len(got)))
    if skipped_budget:
        PROG.say("time budget: %d later points skipped" % skipped_budget)

    memory = []
    if not args.no_memory:
        for s in systems:
            if s in ("paste-btree",) and ctx.mode == "quick":
                continue
            if testbed_of(s) == "nic":
                continue    # the same memory as on the afpacket testbed
            try:
                memory.append(memory_phase(ctx, s, checks))
            except BenchError as e:
                PROG.say("memory, %s: %s" % (s, str(e)[:600]))
                failures.append(dict(system=s, point="memory", rep=0, error=str(e)[:2000]))
                checks.check(False, "%s: memory and space load (%s)" % (
                    s, str(e).splitlines()[0][:200]))

    # Phases of their own (full and quick runs): a failure is recorded and
    # the run goes on.
    for attr, skip, fn, what in (("idle", args.no_idle, idle_run, "idle-mode figures"),
                                 ("shards", args.no_shards, shards_run, "1 vs 2 shards")):
        setattr(ctx, attr, [])
        if skip or ctx.mode not in ("full", "quick"):
            continue
        try:
            setattr(ctx, attr, fn(ctx, quick=ctx.mode == "quick"))
        except BenchError as e:
            PROG.say("%s: %s" % (attr, str(e)[:600]))
            failures.append(dict(system=attr, point=None, rep=0, error=str(e)[:2000]))
            checks.check(False, "%s (%s)" % (what, str(e).splitlines()[0][:200]))

    # paste-kvs's capacity on one core under paste-loadgen (full, quick, and
    # the smoke test, where only its checks count).
    ctx.capacity = []
    ctx.capacity_matrix = []
    ctx.matrix_filter = args.matrix
    ctx.matrix_buf_sizes = args.matrix_buf_sizes
    if not args.no_capacity and ctx.mode in ("full", "quick", "smoke"):
        try:
            ctx.capacity = capacity_run(ctx, checks)
        except BenchError as e:
            PROG.say("capacity: %s" % str(e)[:600])
            failures.append(dict(system="capacity", point=None, rep=0, error=str(e)[:2000]))
            checks.check(False, "capacity on one core (%s)" % str(e).splitlines()[0][:200])

    # The packet logger on the NIC-like path (bench/log-bench.sh --memif):
    # its quick variant in the smoke test, checks only (frames delivered
    # in every mode, every frame logged); the figures come from a run of
    # log-bench.sh itself (doc/benchmarks.md).
    if not args.no_logbench and ctx.mode == "smoke":
        logbench_smoke(ctx, checks, failures)

    # paste-objects against linux-objects (bench/lib/objbench.py): PUT and
    # GET throughput, busy time per MiB by stage, pool bytes per byte.
    ctx.objects = None
    if ctx.objects_on:
        try:
            ctx.objects = objects_run(ctx, checks, ctx.mode)
        except BenchError as e:
            PROG.say("objects: %s" % str(e)[:600])
            failures.append(dict(system="objects", point=None, rep=0, error=str(e)[:2000]))
            checks.check(False, "objects phase (%s)" % str(e).splitlines()[0][:200])

    ctx.profile = []
    if args.profile:
        try:
            ctx.profile = profile_run(ctx, [s for s in systems if s in (
                "paste-wal", "paste-copy", "linux-kvs", "redis")], args.profile)
        except BenchError as e:
            PROG.say("profile: %s" % str(e)[:600])
            failures.append(dict(system="profile", point=None, rep=0, error=str(e)[:2000]))

    ctx.callgrind = []
    if args.callgrind:
        try:
            ctx.callgrind = callgrind_run(ctx, [s for s in systems if s in (
                "paste-wal", "paste-copy", "linux-kvs")], args.callgrind,
                args.callgrind_size)
        except BenchError as e:
            PROG.say("callgrind: %s" % str(e)[:600])
            failures.append(dict(system="callgrind", point=None, rep=0, error=str(e)[:2000]))

    PROG.say("finished in %.0f s" % (now() - t_start))
    return ctx, points, dpoints, results, memory, checks, systems, delay_systems


def logbench_smoke(ctx, checks, failures):
    out = os.path.join(ctx.work, "log-bench-quick.json")
    cmd = ["bash", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "log-bench.sh"), "--memif", "--quick", "--json", out]
    PROG.line("packet logger: log-bench.sh --memif --quick")
    try:
        r = run(cmd, 300)
    except BenchError as e:
        failures.append(dict(system="log-bench", point=None, rep=0, error=str(e)[:2000]))
        checks.check(False, "log-bench --memif --quick (%s)" % str(e)[:200])
        return
    text = (r.stdout + r.stderr).decode(errors="replace")
    for line in text.splitlines():
        if line.startswith(("memif ", "log-bench: FAIL")):
            PROG.say(line)
    if r.returncode != 0:
        failures.append(dict(system="log-bench", point=None, rep=0, error=text[-2000:]))
    checks.check(r.returncode == 0, "log-bench --memif --quick: the memif chain forwarded "
                 "in every mode and log recorded every frame (exit status %d)" % r.returncode)


def pool_pages(path):
    """Pool files in @path on a tmpfs of 2 MiB pages, where this kernel
    allows it: the NVMM emulation then maps the pool as a DAX file system or
    a Device DAX does (2 MiB), not in 4 KiB pages. Zero copy spreads its
    frames over the whole pool, and with 4 KiB pages it paid TLB misses
    that a copy into a few hot receive buffers does not (bench/notes.md,
    2026-12-07). BENCH_POOL_HUGE=0 keeps /dev/shm's 4 KiB pages."""
    if os.environ.get("BENCH_POOL_HUGE", "1") == "0":
        return "/dev/shm, 4 KiB pages (BENCH_POOL_HUGE=0)"
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "huge=always,size=50%",
                        "paste-bench-pools", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    if r.returncode != 0:
        return "/dev/shm, 4 KiB pages (a tmpfs with huge=always could not be mounted: %s)" % (
            r.stdout.decode(errors="replace").strip()[:200])
    CLEAN.mounts.append(path)
    return "a tmpfs with huge=always (2 MiB pages, as DAX maps them)"


def buf_sizes(arg):
    """--matrix-buf-sizes: pool buffer sizes paste-kvs accepts (multiples of
    64, 512 to 65472)."""
    try:
        out = [int(x) for x in arg.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("want sizes such as 2176,1664")
    if not out or any(x < 512 or x > 65472 or x % 64 for x in out):
        raise argparse.ArgumentTypeError("a size is a multiple of 64, 512 to 65472")
    return out


def main():
    ap = argparse.ArgumentParser(prog="bench/run.sh")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--demo", action="store_true",
                    help="scripts/demo.sh: paste-kvs and linux-kvs, one short run each, "
                    "a comparison table, no files written")
    ap.add_argument("--systems")
    ap.add_argument("--testbed", metavar="T[,T]",
                    help="afpacket, nic or both (default): which testbeds run paste-kvs")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--keyspace", type=int)
    ap.add_argument("--mem-keys", type=int)
    ap.add_argument("--budget", type=float)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-points", action="store_true", help="skip the throughput points")
    ap.add_argument("--callgrind", type=int, default=0, metavar="N",
                    help="also count user-space instructions per request under callgrind "
                    "(N pipelined SETs and GETs per server)")
    ap.add_argument("--callgrind-size", type=int, default=1024, metavar="BYTES",
                    help="--callgrind's value size (default 1024; e.g. 1048576 to count "
                    "a large GET's instructions, zero copy against --copy)")
    ap.add_argument("--points", metavar="REGEX",
                    help="only the points whose name matches, e.g. 'SET d=1024 P=16 c=50'")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="also sample the server core with perf (cpu-clock) over N pipelined "
                    "1 KiB SETs and GETs per server: where its time goes, per request")
    ap.add_argument("--no-delay", action="store_true")
    ap.add_argument("--no-shards", action="store_true",
                    help="skip 1 vs 2 shards (paste-kvs cluster mode, redis-benchmark --cluster)")
    ap.add_argument("--no-capacity", action="store_true",
                    help="skip the capacity phase (paste-loadgen against its responder and "
                    "paste-kvs over memif, one core each)")
    ap.add_argument("--matrix", metavar="REGEX",
                    help="the capacity phase: only the zero-copy/copy matrix's points whose "
                    "name matches (e.g. 'POST'), without its target points")
    ap.add_argument("--matrix-buf-sizes", metavar="N,N", type=buf_sizes,
                    help="the zero-copy/copy matrix's pool buffer sizes, each size's servers "
                    "in turn (default 1664; '2176,1664' compares DPDK's default with it)")
    ap.add_argument("--no-logbench", action="store_true",
                    help="smoke test: skip bench/log-bench.sh --memif --quick")
    ap.add_argument("--no-idle", action="store_true",
                    help="skip the idle-mode figures (paste-kvs --idle poll|nap|sleep)")
    ap.add_argument("--no-objects", action="store_true",
                    help="skip the objects phase (paste-objects against linux-objects)")
    ap.add_argument("--objects-only", action="store_true",
                    help="only the objects phase (bench/objects-bench.sh); its result in "
                    "bench/results/objects-*.json")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--skip-unbuilt", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--doc", metavar="FILE",
                    help="write the report here (default: doc/benchmarks.md, full runs only)")
    ap.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", os.path.join(REPO, "build")))
    ap.add_argument("--eal-mem", default=os.environ.get("BENCH_EAL_MEM", "--no-huge -m 512"))
    ap.add_argument("--report", metavar="JSON",
                    help="only regenerate doc/benchmarks.md and the plots from a result file")
    args = ap.parse_args()
    if args.report:
        with open(args.report) as f:
            doc = json.load(f)
        doc.setdefault("json_name", os.path.basename(args.report))
        try:
            report(doc, args.doc)
        finally:
            CLEAN.run()
        return 0
    if args.smoke:
        args.quick = True
    if args.demo:
        args.no_memory = args.no_delay = args.no_doc = args.no_objects = True
    if args.objects_only:
        args.no_memory = args.no_delay = args.no_capacity = args.no_logbench = True
        args.no_idle = args.no_shards = args.no_points = True
        args.no_doc = True
    if not os.path.isabs(args.build_dir):
        args.build_dir = os.path.abspath(args.build_dir)

    # SIGINT too: a shell starts background jobs with SIGINT ignored, and
    # Python then leaves it ignored.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    status = 0
    try:
        ctx, points, dpoints, results, memory, checks, systems, dsys = main_run(args)
        agg = aggregate(results)
        date = datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
        doc = dict(date=date, machine=machine_info(),
                   config=dict(mode=ctx.mode, reps=ctx.reps, seconds=ctx.seconds,
                               keyspace=ctx.keyspace, mem_keys=ctx.mem_keys, tsc_hz=ctx.tsc_hz,
                               eal_mem=" ".join(ctx.eal_mem), server_core=SERVER_CORE,
                               client_core=CLIENT_CORE, client_bound=CLIENT_BOUND,
                               pool_files=ctx.pool_pages),
                   systems=systems, delay_systems=dsys,
                   labels={s: SYSTEMS[s][4] for s in systems + dsys},
                   points=points, delay_points=dpoints, runs=results,
                   aggregate=sorted(agg.values(), key=lambda a: (a["point"], a["system"])),
                   memory=memory, callgrind=ctx.callgrind, idle=ctx.idle,
                   shards=ctx.shards, capacity=ctx.capacity,
                   capacity_matrix=ctx.capacity_matrix,
                   profile=ctx.profile, objects=ctx.objects, failures=ctx.failures,
                   bridge=ctx.bridge.summary() if ctx.bridge else None,
                   checks=dict(passed=checks.passed, failed=checks.failed, lines=checks.lines))
        doc["ratios"] = ratios_table(agg, [p["id"] for p in points])
        doc["targets"] = targets(agg, memory) + capacity_status(ctx.capacity)
        if not args.smoke and not args.demo:
            outdir = args.out or os.path.join(REPO, "bench", "results")
            os.makedirs(outdir, exist_ok=True)
            stamp = date.replace(":", "").replace("-", "")
            name = "%s-%s%s.json" % ("objects" if args.objects_only else "kvs", stamp,
                                     "-quick" if ctx.mode == "quick" else "")
            doc["json_name"] = name
            for fn in (name, "objects-latest.json" if args.objects_only else "latest.json"):
                with open(os.path.join(outdir, fn), "w") as f:
                    json.dump(doc, f, indent=1)
            PROG.say("wrote %s" % os.path.join(outdir, name))
            # Only a full run may rewrite the committed doc/benchmarks.md and
            # its plots; a quick run's figures would replace the real ones.
            if args.no_doc:
                pass
            elif ctx.mode == "full" or args.doc:
                report(doc, args.doc, ctx.work)
            else:
                PROG.say("%s run: doc/benchmarks.md left alone (--doc FILE writes a report)"
                         % ctx.mode)
        if not args.objects_only:
            print_summary(doc)
        if ctx.idle:
            print_idle(ctx.idle)
        if ctx.shards:
            print_shards(ctx.shards)
        if ctx.capacity:
            print_capacity(ctx.capacity)
        print_matrix(ctx.capacity_matrix)
        print_objects(ctx.objects)
        for line in checks.lines:
            print(line)
        if checks.failed:
            status = 1
        print("%d passed, %d failed" % (checks.passed, checks.failed))
    except BenchError as e:
        PROG.say("error: %s" % e)
        print("0 passed, 1 failed")
        status = 1
    except KeyboardInterrupt as e:
        PROG.say("interrupted (%s): cleaning up" % (e or "SIGINT"))
        status = 130
    finally:
        CLEAN.run()
    return status


if __name__ == "__main__":
    sys.exit(main())
