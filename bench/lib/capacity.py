# SPDX-License-Identifier: BSD-3-Clause
"""The capacity phase: paste-kvs's requests/s on its one core under a load
that a kernel client on the other core cannot offer.

paste-loadgen (bench/loadgen: paste's own stack as the client) and the
server talk over a net_memif in the afpacket testbed's paste namespace,
the server pinned to the server core, the generator to the client core,
both busy-polling. First the generator's own ceiling: against its
responder (paste-loadgen --respond, which only frames and answers). Then
paste-kvs (wal, zero copy): req/s as measured, and its busy cycles per
request (its own busy_cycles over the requests it counted). Where the
ceiling is under 1.5x the target, the measured req/s says more about the
generator than about the server: the capacity is then also given as
1 / (server busy time per request), labelled derived."""

import json
import os
import re
import subprocess
import time

from common import (
    BenchError, CLIENT_CORE, PREFIX_LEN, PROG, SERVER_CORE, SERVER_IP, median, now, ns_enter,
    run)
from servers import PasteKvs, Server

CLIENT_IP = "198.18.0.2"
# The targets of issue 13. PASTE's one-core figure was 483K 1 KiB WAL
# POSTs/s: the POST point sets paste-kvs's HTTP path beside it (its "ref",
# not a target).
POINTS = (
    dict(id="SET d=1024 P=16 c=50", test="set", d=1024, P=16, c=50, target=500000),
    dict(id="GET d=64 P=16 c=50", test="get", d=64, P=16, c=50, target=1000000),
    dict(id="POST d=1024 P=16 c=50", test="post", d=1024, P=16, c=50, target=None,
         ref=483000),
)
HEADROOM = 1.5
# Server core busy fraction that makes a measured rate the server's limit.
SERVER_BOUND = 0.9
# Tries of one paste-loadgen run whose memif did not connect (nothing sent).
CONNECT_TRIES = 4
CONNECT_FAILED = "Failed to connect socket"
# The generator's pool (its --pool-bufs).
LOADGEN_BUFS = 65536


def memif_vdev(ctx, role):
    # Abstract: the socket lives in the namespace both processes run in.
    return ("--vdev=net_memif0,role=%s,socket=%s,socket-abstract=yes"
            % (role, ctx.capacity_socket))


def eal(ctx, core, prefix):
    ctx.eal_prefixes.append(prefix)
    # No --no-shconf: memif registers a multi-process action at probe time.
    return (["-l", str(core)] + ctx.eal_mem + ["--no-pci", "--no-telemetry", "--iova-mode=va",
            "--file-prefix", prefix, "--log-level=lib.eal:error"])


class Responder(Server):
    """paste-loadgen --respond on the server core."""
    family = "responder"
    side = "p"
    http = False

    def command(self, pool_bufs):
        self.pool = os.path.join(self.ctx.shm, "%s.%d.pool" % (self.name, self.n))
        return ns_enter(self.server_ns) + [self.ctx.loadgen] + eal(
            self.ctx, SERVER_CORE, "pbench%d_resp%d" % (os.getpid(), self.n)) + [
            memif_vdev(self.ctx, "server"), "--", "--ip", "%s/%d" % (SERVER_IP, PREFIX_LEN),
            "--respond", "-d", str(self.value), "--busy-poll", "--pool-file", self.pool,
            "--pool-bufs", str(pool_bufs)]

    def ready(self):
        return "paste-loadgen: responding" in self.log_text()

    def stats_lines(self):
        return []

    def cleanup_files(self):
        if os.path.exists(self.pool):
            os.unlink(self.pool)


class PasteKvsMemif(PasteKvs):
    """paste-kvs with the generator's memif as its port."""

    def port_args(self):
        return [memif_vdev(self.ctx, "server")]

    def ready(self):
        # Nothing of the kernel's reaches this port: the ready line it is.
        return "paste-kvs: ready" in self.log_text()


def memif_listening(ns, name):
    """Whether the abstract unix socket NAME listens in namespace NS
    (/proc/net/unix shows the namespace of the process reading it; flags
    00010000 mark a listening socket)."""
    r = run(ns_enter(ns) + ["cat", "/proc/net/unix"], 10)
    for line in r.stdout.decode(errors="replace").splitlines()[1:]:
        f = line.split()
        if len(f) >= 8 and f[7] == "@" + name and f[3] == "00010000":
            return True
    return False


def wait_listening(ctx, srv, secs=10):
    """Until the server's memif socket listens: its ready line is printed
    after the port starts, but a generator must not race the listener."""
    deadline = now() + secs
    while not memif_listening(srv.server_ns, ctx.capacity_socket):
        if not srv.alive():
            srv.fail("exited with status %s" % srv.proc.returncode)
        if now() > deadline:
            srv.fail("its memif socket %s did not listen within %d s"
                     % (ctx.capacity_socket, secs))
        time.sleep(0.05)


def loadgen_once(ctx, srv, point, secs, n, no_load):
    """One paste-loadgen process against srv: (exit status, output, JSON)."""
    ctx.capacity_runs += 1
    k = ctx.capacity_runs
    js = os.path.join(ctx.work, "loadgen.%d.json" % k)
    pool = os.path.join(ctx.shm, "loadgen.%d.pool" % k)
    cmd = ns_enter(srv.server_ns) + [ctx.loadgen] + eal(
        ctx, CLIENT_CORE, "pbench%d_lg%d" % (os.getpid(), k)) + [
        memif_vdev(ctx, "client"), "--", "--ip", "%s/%d" % (CLIENT_IP, PREFIX_LEN),
        "--server", SERVER_IP, "-t", point["test"], "-d", str(point["d"]),
        "--busy-poll", "--pool-file", pool, "--pool-bufs", str(LOADGEN_BUFS), "--json", js,
        "--max-time", str(int(secs * 3 + 60))]
    if point.get("auto"):
        # -c, -P and -r from the pools (bench/loadgen/shape.c): the same
        # for the GET test's load and its measured run.
        cmd += ["--auto-shape", "--server-bufs", str(point["server_bufs"])]
    else:
        cmd += ["-c", str(point["c"]), "-P", str(point["P"]), "-r", str(ctx.keyspace)]
    cmd += ["-n", str(n)] if n else ["-n", "0", "--duration", str(secs)]
    if no_load:
        cmd.append("--no-load")
    try:
        r = run(cmd, secs * 3 + 90)
    finally:
        if os.path.exists(pool):
            os.unlink(pool)
    out = (r.stdout + r.stderr).decode(errors="replace")
    try:
        with open(js) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        doc = None
    return r.returncode, out, doc


def loadgen(ctx, srv, point, secs, n=0, no_load=False):
    """One paste-loadgen run against srv; its JSON's test entry. A run
    whose memif did not connect sent nothing: it is tried again, a few
    times, once the server's socket listens."""
    for attempt in range(1, CONNECT_TRIES + 1):
        wait_listening(ctx, srv)
        rc, out, doc = loadgen_once(ctx, srv, point, secs, n, no_load)
        if rc == 0 and doc is not None and doc["status"] == "ok" and doc["tests"]:
            res = dict(doc["tests"][0])
            res["shape"] = dict(c=doc.get("conns"), P=doc.get("pipeline"),
                                r=doc.get("keyspace"))
            return res
        if CONNECT_FAILED not in out or attempt == CONNECT_TRIES:
            break
        listening = memif_listening(srv.server_ns, ctx.capacity_socket)
        ctx.capacity_retries.append(dict(point=point["id"], server=srv.name, attempt=attempt,
                                         listening_after=listening))
        PROG.say("capacity: paste-loadgen %s: memif did not connect (try %d of %d, the "
                 "server's socket %s listening); again" % (
                     point["id"], attempt, CONNECT_TRIES, "still" if listening else "not"))
        time.sleep(0.5 * attempt)
    raise BenchError("paste-loadgen %s against %s failed (exit %d, try %d of %d): %s" % (
        point["id"], srv.name, rc, attempt, CONNECT_TRIES, out[-600:]))


def busy(srv, stats):
    hz = stats.get("tsc_hz") or srv.ctx.tsc_hz
    return stats.get("busy_cycles", 0) / hz, stats.get("requests", 0)


def kvs_point(ctx, srv, point, secs):
    """paste-kvs under the generator: the run's figures, and the server's
    busy time per request from its statistics lines around the run."""
    if point["test"] == "get":
        # Store the keyspace (the generator's GET test does, then a few
        # GETs): the measured run then counts GETs alone.
        loadgen(ctx, srv, point, secs, n=point.get("preload_n") or max(
            1000, point["c"] * point["P"]))
    s0 = srv.fresh_stats()
    res = loadgen(ctx, srv, point, secs, no_load=point["test"] == "get")
    s1 = srv.fresh_stats()
    if not s0 or not s1:
        raise BenchError("%s: no statistics line around the run" % srv.name)
    b0, r0 = busy(srv, s0)
    b1, r1 = busy(srv, s1)
    n = r1 - r0
    srv.last_stats = s1
    return res, (b1 - b0) / n * 1e6 if n > 0 else None, n, (b1 - b0)


def points_on(ctx, checks, srv, pool_bufs, rep, measure, strict_exit=True, points=POINTS):
    """Start srv, run measure(point) for every point, stop it. A point
    that fails is recorded (a failed check and the run's failures) and
    the next one runs. A server that died (DPDK 22.11's memif faults when
    its peer leaves during a burst; paste's farewell, src/stack/farewell.h,
    prevents that when the generator exits in order, not when it is killed)
    is recorded and started again, and a point it died under is run once
    more. Its exit status at the end is a check if strict_exit, else only
    recorded."""
    def failed(p, e):
        ctx.failures.append(dict(system="capacity", point="%s (%s)" % (p["id"], srv.name),
                                 rep=rep, error=str(e)[:2000]))
        checks.check(False, "capacity: %s %s, repeat %d (%s)" % (
            srv.name, p["id"], rep + 1, str(e).splitlines()[0][:200]))

    def running():
        """srv up, started (again) if need be; the error if it cannot be."""
        if srv.alive():
            return None
        if srv.proc is not None:
            rc = srv.stop()
            what = "%s exited with status %s, repeat %d (started again)" % (
                srv.name, rc, rep + 1)
            ctx.failures.append(dict(system="capacity", point=None, rep=rep, error=what))
            if strict_exit:
                checks.check(False, "capacity: " + what)
            else:
                PROG.say("capacity: warning: " + what)
        try:
            srv.start(pool_bufs)
            return None
        except BenchError as e:
            srv.stop()
            return e

    todo = list(points)
    try:
        while todo:
            p = todo.pop(0)
            for attempt in (1, 2):
                err = running()
                if err:
                    for q in [p] + todo:
                        failed(q, err)
                    return
                try:
                    measure(p)
                    break
                except BenchError as e:
                    if srv.alive() or attempt == 2:
                        failed(p, e)
                        break
                    PROG.say("capacity: %s died under %s; once more on a new one"
                             % (srv.name, p["id"]))
    finally:
        gone = srv.proc is not None and not srv.alive()
        rc = srv.stop()
    if rc not in (0, None):
        what = "%s exited with status %s %s, repeat %d" % (
            srv.name, rc, "before its stop signal" if gone else "on its stop signal", rep + 1)
        ctx.failures.append(dict(system="capacity", point=None, rep=rep, error=what))
        if not strict_exit:
            # Seen twice in about a dozen runs (SIGSEGV) before the
            # memif farewell, after every reply of its points had been
            # checked: its figures stand.
            PROG.say("capacity: warning: %s; its figures stand" % what)
            return
    if strict_exit and rc is not None:
        checks.check(rc == 0, "capacity: %s exited with status %s" % (srv.name, rc))


def spread(xs):
    return (min(xs), max(xs)) if xs else (None, None)


def capacity_run(ctx, checks):
    """Ceiling and paste-kvs per point, ctx.reps times each; a list of rows.
    A repeat that failed leaves out its figures: each row is the median
    of the repeats that succeeded, and says how many did."""
    ctx.loadgen = os.path.join(ctx.build, "bench", "paste-loadgen")
    if not os.access(ctx.loadgen, os.X_OK):
        raise BenchError("not built: %s" % ctx.loadgen)
    ctx.capacity_socket = "/run/paste-bench-%d-capacity.memif" % os.getpid()
    ctx.capacity_runs = 0
    ctx.capacity_retries = []
    reps = ctx.reps if ctx.mode == "full" or getattr(ctx, "reps_given", False) else 1
    matrix = getattr(ctx, "matrix_filter", None)
    # --matrix REGEX, a developer's loop: those matrix points alone.
    rows = [] if matrix else targets_run(ctx, checks, reps)
    ctx.capacity_matrix = matrix_run(ctx, checks, {"full": 3.0, "quick": 1.0, "smoke": 0.2}.get(
        ctx.mode, 1.0), reps, matrix)
    add_memcpy(ctx, ctx.capacity_matrix)
    if ctx.capacity_retries and rows:
        rows[0]["connect_retries"] = ctx.capacity_retries
    return rows


def targets_run(ctx, checks, reps):
    """The generator's ceiling and paste-kvs at the targets' points."""
    secs = {"full": 5.0, "quick": 1.5, "smoke": 0.3}.get(ctx.mode, 1.5)
    seen = {p["id"]: dict(ceiling=[], ceiling_client_us=[], rps=[], p50=[], p99=[], p999=[],
                          max=[], srv_us=[], srv_util=[], client_us=[], requests=[])
            for p in POINTS}

    def ceiling(resp, p):
        # The responder answers any GET: no keys to store.
        res = loadgen(ctx, resp, p, secs, no_load=True)
        if checks.check(res["errors"] == 0 and res["replies"] > 0,
                        "capacity: paste-loadgen %s against its responder: %d replies, "
                        "%d wrong" % (p["id"], res["replies"], res["errors"])):
            seen[p["id"]]["ceiling"].append(res["rps"])
            seen[p["id"]]["ceiling_client_us"].append(res["client_us_per_req"])

    def server(kvs, p):
        res, us, n, busy_s = kvs_point(ctx, kvs, p, secs)
        if not checks.check(res["errors"] == 0 and res["replies"] > 0 and n == res["replies"],
                            "capacity: paste-kvs %s: %d replies, %d wrong, %d counted by the "
                            "server" % (p["id"], res["replies"], res["errors"], n)):
            return
        d = seen[p["id"]]
        d["rps"].append(res["rps"])
        for q in ("p50", "p99", "p999", "max"):
            d[q].append(res["latency_us"][q])
        d["srv_us"].append(us)
        d["srv_util"].append(busy_s / res["seconds"] if res["seconds"] else None)
        d["client_us"].append(res["client_us_per_req"])
        d["requests"].append(res["replies"])

    for rep in range(reps):
        resp = Responder(ctx, "responder")
        # Only the GET point's replies carry a value.
        resp.value = [p["d"] for p in POINTS if p["test"] == "get"][0]
        PROG.line("capacity %d/%d: paste-loadgen against its responder" % (rep + 1, reps))
        # The responder's exit status is recorded, not checked: the ceiling
        # is taken from replies already checked, and a fault on its way
        # out (the memif race of bench/notes.md, which the farewell now
        # prevents) would not be paste-kvs's.
        points_on(ctx, checks, resp, 65536, rep, lambda p: ceiling(resp, p), strict_exit=False)
        kvs = PasteKvsMemif(ctx, "paste-wal-capacity", "wal")
        PROG.line("capacity %d/%d: paste-loadgen against paste-kvs" % (rep + 1, reps))
        points_on(ctx, checks, kvs, max(262144, ctx.keyspace * 4 + 131072), rep,
                  lambda p: server(kvs, p))
    rows = []
    for p in POINTS:
        d = seen[p["id"]]
        row = dict(point=p["id"], target=p["target"], ref=p.get("ref"), reps=reps, seconds=secs,
                   ceiling_ok=len(d["ceiling"]), ok=len(d["rps"]),
                   ceiling_rps=median(d["ceiling"]),
                   ceiling_client_us_per_req=median(d["ceiling_client_us"]),
                   rps=median(d["rps"]),
                   p50_us=median(d["p50"]), p99_us=median(d["p99"]),
                   p999_us=median(d["p999"]), max_us=median(d["max"]),
                   server_us_per_req=median(d["srv_us"]), server_util=median(d["srv_util"]),
                   client_us_per_req=median(d["client_us"]), requests=sum(d["requests"]))
        row["ceiling_min"], row["ceiling_max"] = spread(d["ceiling"])
        row["rps_min"], row["rps_max"] = spread(d["rps"])
        us = row["server_us_per_req"]
        row["derived_rps"] = 1e6 / us if us else None
        # The generator cannot show a rate near the target: derived it is.
        # Without a ceiling (its runs failed) the measured rate stands.
        if not row["ok"]:
            row["basis"] = "failed"
        elif row["ceiling_rps"] is not None and \
                row["ceiling_rps"] < HEADROOM * (p["target"] or p["ref"]):
            row["basis"] = "derived"
        else:
            row["basis"] = "measured"
        row["capacity_rps"] = (row["derived_rps"] if row["basis"] == "derived" else
                               row["rps"] if row["basis"] == "measured" else None)
        # A measured rate with the server core mostly waiting is a lower
        # bound: something else (the generator, another process on the
        # core) set it.
        row["server_bound"] = (row["server_util"] or 0) >= SERVER_BOUND
        rows.append(row)
    return rows


# ---- zero copy against --copy (issue 23) ----------------------------------
#
# paste-kvs (wal) zero copy and --copy side by side, SET and GET from 64 B
# to 1 MiB, each size's connections, depth and keyspace chosen by
# paste-loadgen --auto-shape from the two pools (bench/loadgen/shape.c: in
# flight at most 1/16 of the smaller pool, stored at most 1/4 of the
# server's), and PASTE's own workload, 1 KiB HTTP POSTs without pipelining
# from 50 and 100 connections. A server per group of points (a value size,
# or the POSTs), started fresh for each mode: its store then holds only that
# size's values, and the space it reports is theirs. Within a repeat the two
# modes alternate group by group (zero copy, copy, zero copy, ...), so
# drifting load on the shared machine falls on both.

MATRIX_SIZES = (64, 1024, 8192, 65536, 1048576)
MATRIX_SMOKE_SIZES = (64, 1048576)
MATRIX_MODES = (("zero-copy", False), ("copy", True))


def size_name(d):
    return ("%d MiB" % (d >> 20) if d >= 1 << 20 and d % (1 << 20) == 0 else
            "%d KiB" % (d >> 10) if d >= 1024 and d % 1024 == 0 else "%d B" % d)


def matrix_server_bufs(mode):
    # The smoke test's pools are small: its points check replies, not speed.
    return 65536 if mode == "smoke" else 262144


def matrix_groups(mode):
    """[(group name, [points])]: a server is started for each group."""
    bufs = matrix_server_bufs(mode)
    groups = []
    for d in (MATRIX_SMOKE_SIZES if mode == "smoke" else MATRIX_SIZES):
        groups.append((size_name(d), [
            dict(id="%s %s" % (t.upper(), size_name(d)), test=t, d=d, auto=True,
                 server_bufs=bufs, preload_n=64 if mode == "smoke" else 256)
            for t in ("set", "get")]))
    if mode != "smoke":
        groups.append(("POST", [dict(id="POST 1 KiB P=1 c=%d" % c, test="post", d=1024, P=1,
                                     c=c) for c in (50, 100)]))
    return groups


def space_of(stats):
    """Stored value bytes per pool byte the values hold (pool buffers kept
    less the index's, times the buffer size), None without the fields."""
    need = ("pool_kept", "index_bufs", "value_bytes", "buf_size")
    if not stats or any(k not in stats for k in need):
        return None
    held = (stats["pool_kept"] - stats["index_bufs"]) * stats["buf_size"]
    return stats["value_bytes"] / held if held > 0 and stats["value_bytes"] else None


# The pool buffer size of the matrix's servers (--matrix-buf-sizes): 1,664
# bytes, the mbuf headroom and a 1,514-byte frame, which a memif receives
# into one buffer; zero copy then stores 86-87% of its pool bytes, against
# 66% in DPDK's default 2,176 (doc/kvs.md, "Pool buffer size").
MATRIX_BUF_SIZES = (1664,)


def matrix_run(ctx, checks, secs, reps, only=None):
    """The zero-copy/copy matrix: a list of rows, one per point and pool
    buffer size, each with both modes' figures (medians, min-max over the
    repeats that succeeded) and their ratios. only: a regular expression,
    the points to run. With several buffer sizes (ctx.matrix_buf_sizes),
    each size's servers run in turn within each group, so that the sizes
    too share the machine's drift."""
    groups = matrix_groups(ctx.mode)
    sizes = tuple(getattr(ctx, "matrix_buf_sizes", None) or MATRIX_BUF_SIZES)
    if only:
        want = re.compile(only)
        groups = [(g, [p for p in pts if want.search(p["id"])]) for g, pts in groups]
        groups = [(g, pts) for g, pts in groups if pts]
        if not groups:
            raise BenchError("--matrix %r matches no point of the %s matrix" % (only, ctx.mode))
    seen = {(p["id"], m, bs): dict(rps=[], srv_us=[], p50=[], p99=[], space=[], requests=[],
                                   shape=None, values_checked=0, by_rep={})
            for _, pts in groups for p in pts for m, _ in MATRIX_MODES for bs in sizes}

    def measure(kvs, mname, bs, rep, p):
        res, us, n, busy_s = kvs_point(ctx, kvs, p, secs)
        checked = res.get("values_checked", 0)
        ok = (res["errors"] == 0 and res.get("wrong_values", 0) == 0 and res["replies"] > 0
              and n == res["replies"] and (p["test"] != "get" or checked == res["replies"]))
        if not checks.check(ok, "capacity matrix: paste-kvs %s %s, %d-byte buffers: %d replies, "
                            "%d wrong, %d values checked, %d counted by the server" % (
                                mname, p["id"], bs, res["replies"], res["errors"], checked, n)):
            return
        d = seen[(p["id"], mname, bs)]
        d["rps"].append(res["rps"])
        d["srv_us"].append(us)
        d["p50"].append(res["latency_us"]["p50"])
        d["p99"].append(res["latency_us"]["p99"])
        d["requests"].append(res["replies"])
        d["values_checked"] += checked
        d["shape"] = res.get("shape")
        d["by_rep"][rep] = (res["rps"], us)
        if p["test"] == "set":
            d["space"].append(space_of(kvs.last_stats))

    for rep in range(reps):
        for gname, pts in groups:
            for bs in sizes:
                for mname, copy in MATRIX_MODES:
                    kvs = PasteKvsMemif(ctx, "paste-%s-matrix" % ("copy" if copy else "wal"),
                                        "wal", copy=copy)
                    kvs.extra = ["--pool-buf-size", str(bs)]
                    PROG.line("capacity matrix %d/%d: %s, paste-kvs %s, %d-byte buffers" % (
                        rep + 1, reps, gname, mname, bs))
                    points_on(ctx, checks, kvs, matrix_server_bufs(ctx.mode), rep,
                              lambda p: measure(kvs, mname, bs, rep, p), points=pts)
    rows = []
    for _, pts in groups:
        for p in pts:
            for bs in sizes:
                rows.append(matrix_row(seen, p, bs, reps, secs,
                                       "%s, %d B bufs" % (p["id"], bs) if len(sizes) > 1
                                       else p["id"]))
    return rows


def matrix_row(seen, p, bs, reps, secs, name):
    row = dict(point=name, test=p["test"], d=p["d"], reps=reps, seconds=secs, buf_size=bs)
    for mname, _ in MATRIX_MODES:
        d = seen[(p["id"], mname, bs)]
        m = dict(ok=len(d["rps"]), rps=median(d["rps"]),
                 server_us_per_req=median(d["srv_us"]), requests=sum(d["requests"]),
                 p50_us=median(d["p50"]), p99_us=median(d["p99"]),
                 values_checked=d["values_checked"], shape=d["shape"],
                 rps_all=[round(x, 1) for x in d["rps"]],
                 server_us_all=[None if x is None else round(x, 4) for x in d["srv_us"]],
                 server_us_by_rep={k: v[1] for k, v in d["by_rep"].items()})
        m["rps_min"], m["rps_max"] = spread(d["rps"])
        m["server_us_min"], m["server_us_max"] = spread(
            [x for x in d["srv_us"] if x is not None])
        sp = [x for x in d["space"] if x is not None]
        m["stored_per_pool_byte"] = median(sp)
        m["stored_per_pool_byte_min"], m["stored_per_pool_byte_max"] = spread(sp)
        row[mname] = m
    z, c = row["zero-copy"], row["copy"]
    row["rps_ratio"] = ratio(z["rps"], c["rps"])
    row["busy_ratio"] = ratio(z["server_us_per_req"], c["server_us_per_req"])
    # The ratios of the repeats, each zero copy over the copy run that
    # followed it.
    zr = seen[(p["id"], "zero-copy", bs)]["by_rep"]
    cr = seen[(p["id"], "copy", bs)]["by_rep"]
    both = sorted(set(zr) & set(cr))
    row["rps_ratio_min"], row["rps_ratio_max"] = spread(
        [x for x in (ratio(zr[k][0], cr[k][0]) for k in both) if x is not None])
    row["busy_ratio_min"], row["busy_ratio_max"] = spread(
        [x for x in (ratio(zr[k][1], cr[k][1]) for k in both) if x is not None])
    return row


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def memcpy_times(ctx, sizes):
    """{size: (warm us, cold us)}: one copy of a value of that size on this
    machine (bench/memcpy-time: the least CPU time per copy over its
    batches, in TCP-segment pieces; cold = into memory not touched
    lately, as --copy's fresh pool buffers)."""
    tool = os.path.join(ctx.build, "bench", "memcpy-time")
    if not os.access(tool, os.X_OK):
        raise BenchError("not built: %s" % tool)
    out = subprocess.run([tool] + [str(d) for d in sorted(set(sizes))], check=True,
                         capture_output=True, text=True, timeout=300).stdout
    res = json.loads(out.strip().splitlines()[-1])
    return {r["size"]: (r["warm_ns"] / 1000.0, r["cold_ns"] / 1000.0) for r in res["results"]}


def add_memcpy(ctx, rows):
    """Issue 23's "whole copy saved" on the SET rows: zero copy's busy time
    per SET at most copy's less one copy of the value (memcpy_times), for
    the medians and for each repeat's pair (a zero-copy run and the copy
    run that followed it), against the cold copy (what --copy pays) and
    the warm one (the copy's least cost)."""
    sets = [r for r in rows if r["test"] == "set"]
    if not sets:
        return
    PROG.line("memcpy-time: one copy of each value size on this machine")
    times = memcpy_times(ctx, [r["d"] for r in sets])
    for r in sets:
        warm, cold = times[r["d"]]
        r["memcpy_warm_us"], r["memcpy_cold_us"] = round(warm, 3), round(cold, 3)
        z, c = r["zero-copy"], r["copy"]
        zs, cs = z.get("server_us_by_rep") or {}, c.get("server_us_by_rep") or {}
        pairs = [(zs[k], cs[k]) for k in sorted(set(zs) & set(cs))
                 if zs[k] is not None and cs[k] is not None]
        for name, t in (("cold", cold), ("warm", warm)):
            if z["server_us_per_req"] is None or c["server_us_per_req"] is None:
                r["copy_saved_" + name] = None
            else:
                r["copy_saved_" + name] = z["server_us_per_req"] <= c["server_us_per_req"] - t
            r["copy_saved_%s_reps" % name] = [sum(1 for a, b in pairs if a <= b - t), len(pairs)]


def fmt_k(v):
    return "-" if v is None else "%.0fK" % (v / 1000)


def fmt_f(fmt, v):
    return "-" if v is None else fmt % v


def capacity_table_rows(rows):
    """Rows for the report's and the terminal's table."""
    out = []
    for r in rows:
        goal = (fmt_k(r["target"]) if r["target"] else
                "(PASTE %s)" % fmt_k(r.get("ref")))
        if r["basis"] == "failed":
            cap = "- (no repeat succeeded)"
        else:
            cap = "%s %s%s" % (fmt_k(r["capacity_rps"]), r["basis"],
                               "" if r["basis"] == "derived" or r.get("server_bound")
                               else ", a lower bound (server not saturated)")
        # Older result files have no counts: every repeat succeeded there.
        out.append((r["point"], goal, "%s (%s-%s)" % (
            fmt_k(r["ceiling_rps"]), fmt_k(r["ceiling_min"]), fmt_k(r["ceiling_max"])),
            fmt_f("%.2f", r["ceiling_client_us_per_req"]),
            "%s (%s-%s)" % (fmt_k(r["rps"]), fmt_k(r["rps_min"]), fmt_k(r["rps_max"])),
            fmt_f("%.3f", r["server_us_per_req"]),
            fmt_f("%.0f%%", None if r["server_util"] is None else 100 * min(1.0, r["server_util"])),
            "%s / %s / %s" % (fmt_f("%.0f", r["p50_us"]), fmt_f("%.0f", r["p99_us"]),
                              fmt_f("%.0f", r["p999_us"])),
            fmt_k(r["derived_rps"]),
            "%d/%d, %d/%d" % (r.get("ceiling_ok", r["reps"]), r["reps"], r.get("ok", r["reps"]),
                              r["reps"]),
            cap))
    return out


CAPACITY_HEADER = ("point", "target", "loadgen ceiling req/s", "loadgen us/req",
                   "paste-kvs req/s", "srv busy us/req", "srv busy", "p50/p99/p99.9 us",
                   "1/busy", "repeats ok (ceiling, paste-kvs)", "capacity")


def print_capacity(rows):
    print()
    print("capacity on one core (paste-loadgen over memif; derived = 1/(server busy time "
          "per request), used where the generator's ceiling is under %.1fx the target)"
          % HEADROOM)
    for r in [CAPACITY_HEADER] + capacity_table_rows(rows):
        print("  " + " | ".join(str(c) for c in r))


def capacity_status(rows):
    """The targets' lines: met or missed, on the capacity's basis."""
    return [dict(target="%s on one core >= %s/s" % (r["point"], fmt_k(r["target"])),
                 value=fmt_k(r["capacity_rps"]) + " (" + r["basis"] + ")",
                 goal=fmt_k(r["target"]),
                 status="not measured" if r["capacity_rps"] is None else
                 "met" if r["capacity_rps"] >= r["target"] else "missed",
                 detail="" if r["basis"] == "derived" or r.get("server_bound") else
                 "server core %.0f%% busy: a lower bound; 1/busy gives %s" % (
                     100 * (r["server_util"] or 0), fmt_k(r["derived_rps"])))
            for r in rows if r["target"]]



def fmt_range(fmt, lo, hi):
    return "" if lo is None or hi is None or lo == hi else " (%s-%s)" % (fmt % lo, fmt % hi)


def fmt_shape(m):
    sh = m.get("shape") or {}
    return "-" if not sh else "%s/%s/%s" % (sh.get("c"), sh.get("P"), sh.get("r"))


def matrix_table_rows(rows):
    """Rows of the zero-copy/copy table: per point, each mode's req/s and
    busy us/req (medians, min-max), their ratios (of the medians, min-max of
    the repeats' own), and for SETs the stored bytes per pool byte."""
    out = []
    for r in rows:
        z, c = r["zero-copy"], r["copy"]

        def rps(m):
            # Thousands where they mean something; 1 MiB values go at hundreds.
            if m["rps"] is not None and m["rps"] < 10000:
                return fmt_f("%.0f", m["rps"]) + fmt_range("%.0f", m["rps_min"], m["rps_max"])
            return fmt_k(m["rps"]) + fmt_range("%.0fK", *[None if x is None else x / 1000 for x in
                                                        (m["rps_min"], m["rps_max"])])

        def us(m):
            return fmt_f("%.3f", m["server_us_per_req"]) + fmt_range(
                "%.3f", m["server_us_min"], m["server_us_max"])

        def rat(key):
            return fmt_f("%.2f", r[key]) + fmt_range("%.2f", r[key + "_min"], r[key + "_max"])

        def space(m):
            v = m.get("stored_per_pool_byte")
            return "-" if v is None else "%.0f%%" % (100 * v) + fmt_range(
                "%.0f%%", *[None if x is None else 100 * x for x in
                            (m["stored_per_pool_byte_min"], m["stored_per_pool_byte_max"])])

        out.append((r["point"], "%s, %s" % (fmt_shape(z), fmt_shape(c)) if fmt_shape(z) !=
                    fmt_shape(c) else fmt_shape(z), rps(z), rps(c), rat("rps_ratio"), us(z),
                    us(c), rat("busy_ratio"),
                    space(z) if r["test"] == "set" else "", space(c) if r["test"] == "set" else "",
                    copy_saved(r), "%d/%d, %d/%d" % (z["ok"], r["reps"], c["ok"], r["reps"])))
    return out


def copy_saved(r):
    """The "whole copy saved" cell of a SET row: one copy's us (warm /
    cold), then whether zero copy's median busy time is at most copy's less
    the cold copy, and in how many repeats' pairs."""
    if r.get("memcpy_cold_us") is None:
        return ""
    yes = r.get("copy_saved_cold")
    n, of = r.get("copy_saved_cold_reps", [0, 0])
    return "%.3f / %.3f: %s (%d/%d)" % (r["memcpy_warm_us"], r["memcpy_cold_us"],
                                        "-" if yes is None else "yes" if yes else "no", n, of)


MATRIX_HEADER = ("point", "c/P/r", "zero copy req/s", "copy req/s", "req/s zc/copy",
                 "zero copy busy us/req", "copy busy us/req", "busy zc/copy",
                 "stored/pool byte, zero copy", "stored/pool byte, copy",
                 "memcpy us (warm / cold): zc <= copy - cold? (repeats)",
                 "repeats ok (zc, copy)")


def print_matrix(rows):
    if not rows:
        return
    print()
    print("zero copy against --copy on one core (paste-kvs wal, paste-loadgen over memif; "
          "ratios zero copy / copy: req/s > 1 and busy < 1 favour zero copy)")
    for r in [MATRIX_HEADER] + matrix_table_rows(rows):
        print("  " + " | ".join(str(c) for c in r))
