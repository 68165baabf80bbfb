# SPDX-License-Identifier: BSD-3-Clause
"""Where a request's cost goes: user-space instructions per request
(callgrind) and server core time by function (perf cpu-clock)."""

import os
import re
import shutil
import signal
import subprocess
import time

from common import BenchError, CLEAN, PROG, RESP_PORT, SERVER_CORE, SERVER_IP, now, run
from servers import LinuxKvs, PasteKvs, Redis, SYSTEMS
from loads import pipe_load


# ---- instructions per request (callgrind) --------------------------------

def callgrind_top(dump, n, count=12):
    """The functions with the most instructions of their own, per request."""
    ann = shutil.which("callgrind_annotate")
    if not ann:
        return []
    r = run([ann, "--threshold=100", dump], 120)   # own cost (the default)
    top = []
    lines = r.stdout.decode(errors="replace").splitlines()
    # The flat profile: after the "file:function" header, up to a blank line
    # (auto-annotated sources with inclusive costs follow it).
    start = next((i for i, l in enumerate(lines) if l.rstrip().endswith("file:function")), None)
    if start is None:
        return []
    flat = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        flat.append(line)
    for line in flat:
        m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        fn = m.group(2).strip()
        if ":" not in fn:
            continue
        fn = fn.split(":", 1)[1].split(" [")[0]
        if fn.startswith("(below main)") or fn.startswith("__libc_start") or fn.startswith("0x"):
            continue
        top.append((fn, int(m.group(1).replace(",", "")) / n))
    merged = {}
    for fn, v in top:   # static copies of one inline function, one line each
        merged[fn] = merged.get(fn, 0) + v
    return sorted(merged.items(), key=lambda x: -x[1])[:count]


def callgrind_calls(dump, names):
    """How many times each function of @names was called during the dump:
    the call counts of every call site whose callee it is. Function names
    are compressed in the file: "(id) name" the first time, "(id)" after."""
    ids, calls = {}, dict((nm, 0) for nm in names)
    callee = None
    with open(dump, errors="replace") as f:
        for line in f:
            m = re.match(r"^c?fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if m:
                if m.group(2) is not None:
                    ids[m.group(1)] = m.group(2).strip()
                callee = ids.get(m.group(1)) if line.startswith("cfn=") else None
                continue
            if callee in calls and line.startswith("calls="):
                calls[callee] += int(line[6:].split()[0])
                callee = None
    return calls


def dump_now(ctl, pid, work, cgfile):
    """Dump callgrind's counters now: (the dump's path, its total)."""
    before = set(os.listdir(work))
    run([ctl, "-d", str(pid)], 60, check=True)
    for fn in sorted(set(os.listdir(work)) - before):
        if fn.startswith(os.path.basename(cgfile)):
            dump = os.path.join(work, fn)
            with open(dump) as f:
                for line in f:
                    if line.startswith("totals:") or line.startswith("summary:"):
                        return dump, int(line.split()[1])
    raise BenchError("no callgrind dump of %s" % cgfile)


def keep_dump(dump, system, what):
    """Keep a dump for callgrind_annotate by hand (the work dir goes)."""
    keep = os.environ.get("PASTE_BENCH_CALLGRIND_DIR")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(dump, os.path.join(keep, "callgrind.%s.%s.out" % (system, what)))


# A paste-kvs poll that found nothing to do, as counted in the dumps.
EMPTY_POLL_FN = "pst_idle_empty_poll"
POLL_FN = "pst_stack_poll"


def callgrind_run(ctx, systems, n, size=1024):
    """User-space instructions per request: each server under callgrind,
    counters zeroed after start-up, then n pipelined SETs of size bytes
    (1 KiB unless bench.py's --callgrind-size says otherwise) and n
    pipelined GETs of them, each followed by a dump. Valgrind slows the server some
    fifty times, so it is busy throughout and idle polls hardly count.
    Kernel work (syscalls, the TCP stack for the kernel servers, the
    af_packet ring for paste) is not counted."""
    out = []
    vg = shutil.which("valgrind")
    ctl = shutil.which("callgrind_control")
    if not vg or not ctl:
        raise BenchError("valgrind not found (apt-get install valgrind)")
    ctx.ready_secs = 300
    for s in systems:
        cls, index, copy, delay, label = SYSTEMS[s]
        if cls is Redis:
            continue
        cgfile = os.path.join(ctx.work, "callgrind.%s.out" % s)
        ctx.wrap = [vg, "--tool=callgrind", "--callgrind-out-file=" + cgfile]
        srv = cls(ctx, s, index, copy, delay)
        PROG.line("callgrind: %s starting under valgrind" % s)
        srv.start(262144)
        try:
            pid = srv.proc.pid
            row = dict(system=s, requests=n, value_size=size)
            if srv.family == "paste":
                # What a poll that finds nothing costs (the server alone,
                # no client): the loads' own empty polls are taken out of
                # their figures with it, since how many there are depends
                # on how far valgrind lets the server fall behind its
                # clients, not on the server's code.
                run([ctl, "-z", str(pid)], 60, check=True)
                time.sleep(2)
                dump, total = dump_now(ctl, pid, ctx.work, cgfile)
                polls = callgrind_calls(dump, [POLL_FN])[POLL_FN]
                row["ir_per_empty_poll"] = total / polls if polls else None
                keep_dump(dump, s, "idle")
            for op in ("set", "get"):
                run([ctl, "-z", str(pid)], 60, check=True)
                PROG.line("callgrind: %s, %d pipelined %d-byte %ss" % (s, n, size, op.upper()))
                if op == "set":
                    pipe_load(srv, n, size, prefix="key:", fmt="%012d", timeout=600)
                else:
                    r = run(srv.client(["redis-benchmark", "-h", SERVER_IP, "-p", str(RESP_PORT),
                                        "-t", "get", "-n", str(n), "-c", "10", "-P", "16",
                                        "-r", str(n), "--csv"]), 900)
                    if r.returncode != 0:
                        raise BenchError("%s: redis-benchmark under callgrind failed" % s)
                dump, total = dump_now(ctl, pid, ctx.work, cgfile)
                row["ir_per_%s" % op] = total / n
                if row.get("ir_per_empty_poll"):
                    empty = callgrind_calls(dump, [EMPTY_POLL_FN])[EMPTY_POLL_FN]
                    row["empty_polls_per_%s" % op] = empty / n
                    row["ir_busy_per_%s" % op] = (total - empty * row["ir_per_empty_poll"]) / n
                row["top_%s" % op] = callgrind_top(dump, n)
                keep_dump(dump, s, op)
            out.append(row)
            PROG.say("callgrind %s: %.0f instructions per SET, %.0f per GET (user space)%s" % (
                s, row["ir_per_set"], row["ir_per_get"],
                "; without empty polls (%.0f each; %.2f per SET, %.2f per GET): %.0f, %.0f" % (
                    row["ir_per_empty_poll"], row["empty_polls_per_set"],
                    row["empty_polls_per_get"], row["ir_busy_per_set"], row["ir_busy_per_get"])
                if row.get("ir_busy_per_set") is not None else ""))
        finally:
            srv.stop()
    ctx.wrap = []
    return out


# ---- where the server core's time goes (perf, cpu-clock) ----------------

PROFILE_HZ = 2000
# What an idle core runs: time the server did not use.
IDLE_SYMS = re.compile(r"(idle|safe_halt|cpuidle|mwait|native_halt|hlt)", re.I)


def profile_classify(samples, server_bin):
    """Sorts perf samples of the server core into server code, C library,
    DPDK libraries, other user code, kernel and idle."""
    cats = dict(server=0, libc=0, dpdk=0, other_user=0, kernel=0, idle=0)
    syms = {}
    for n, comm, dso, kind, sym in samples:
        if kind == "k":
            cat = "idle" if IDLE_SYMS.search(sym) else "kernel"
        elif dso == server_bin:
            cat = "server"
        elif dso.startswith("libc.so") or dso.startswith("libm.so"):
            cat = "libc"
        elif dso.startswith("librte_"):
            cat = "dpdk"
        else:
            cat = "other_user"
        cats[cat] += n
        if cat != "idle":
            key = ("[k] " if kind == "k" else "") + sym
            syms[key] = syms.get(key, 0) + n
    return cats, syms


def profile_parse(text):
    out = []
    for line in text.splitlines():
        m = re.match(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+\[(.)\]\s+(.+?)\s*$", line)
        if m:
            out.append((int(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5)))
    return out


def profile_run(ctx, systems, n):
    """Where the server core's time goes: the whole core sampled with perf's
    cpu-clock event (a timer: it needs no hardware counters, which this VM
    lacks) while n pipelined 1 KiB SETs, then n GETs, run (-P 16, 50
    connections). Kernel work done on that core for the server (its TCP
    stack, af_packet, the veth and the client's receive path) is counted
    with the kernel; idle is left out of the per-request figures."""
    perf = shutil.which("perf")
    if not perf:
        raise BenchError("perf not found (apt-get install linux-perf)")
    out = []
    for s in systems:
        cls, index, copy, delay, label = SYSTEMS[s]
        srv = cls(ctx, s, index, copy, delay)
        PROG.line("profile: %s starting" % s)
        srv.start(max(262144, ctx.keyspace * 16 + 65536))
        try:
            pipe_load(srv, ctx.keyspace, 1024)
            # Debian's redis-server is a link to redis-check-rdb: perf names
            # the file.
            server_bin = {PasteKvs: os.path.basename(ctx.paste_kvs),
                          LinuxKvs: os.path.basename(ctx.linux_kvs)}.get(
                              cls, os.path.basename(os.path.realpath(
                                  shutil.which("redis-server") or "redis-server")))
            row = dict(system=s, requests=n, hz=PROFILE_HZ)
            for op in ("set", "get"):
                data = os.path.join(ctx.work, "perf.%s.%s.data" % (s, op))
                PROG.line("profile: %s, %d pipelined 1 KiB %ss" % (s, n, op.upper()))
                rec = CLEAN.proc(subprocess.Popen(
                    [perf, "record", "-q", "-a", "-C", str(SERVER_CORE), "-e", "cpu-clock",
                     "-F", str(PROFILE_HZ), "-o", data], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL))
                time.sleep(0.5)   # perf's set-up, before the load starts
                t0 = now()
                r = run(srv.client(["redis-benchmark", "-h", SERVER_IP, "-p", str(RESP_PORT),
                                    "-t", op, "-d", "1024", "-n", str(n), "-c", "50", "-P", "16",
                                    "-r", str(ctx.keyspace), "--csv"]), 600)
                wall = now() - t0
                rec.send_signal(signal.SIGINT)
                try:
                    rec.wait(60)
                except subprocess.TimeoutExpired:
                    rec.kill()
                    raise BenchError("perf record did not stop")
                if r.returncode != 0:
                    raise BenchError("%s: redis-benchmark under perf failed" % s)
                rep = run([perf, "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                           "-F", "sample,comm,dso,sym"], 300)
                cats, syms = profile_classify(profile_parse(rep.stdout.decode(errors="replace")),
                                              server_bin)
                us = 1e6 / PROFILE_HZ / n   # one sample, in microseconds per request
                row[op] = dict(
                    wall_s=round(wall, 3),
                    us_per_req={k: round(v * us, 3) for k, v in cats.items() if k != "idle"},
                    busy_us_per_req=round(sum(v for k, v in cats.items() if k != "idle") * us, 3),
                    idle_share=round(cats["idle"] / max(1, sum(cats.values())), 3),
                    top=[(k, round(v * us, 3)) for k, v in
                         sorted(syms.items(), key=lambda kv: -kv[1])[:14]])
                os.unlink(data)
            out.append(row)
            PROG.say("profile %s: %.2f us of server core per SET, %.2f per GET" % (
                s, row["set"]["busy_us_per_req"], row["get"]["busy_us_per_req"]))
        finally:
            srv.stop()
    return out
