# SPDX-License-Identifier: BSD-3-Clause
"""The objects phase: paste-objects on the nic testbed (a memif bridged to
the veth, as PasteKvsNic) against linux-objects (its Linux-sockets build,
epoll on the veth), one after the other on the server core, under
objects-load (bench/objects-load) on the client core.

Points: PUT and GET of 1 MiB and 64 MiB objects (MiB/s) and of 4 KiB ones
(req/s). Around each point both servers print their "stages:" line
(SIGUSR1; --stage-cycles): the deltas give the server's busy cycles per
MiB stored (PUT) or sent (GET), split into MD5, SHA-256, CRC, flush, copy,
keep, drain and the rest; and after the PUTs, the pool's kept bytes per
byte the store holds. Both servers hash every byte they store (MD5 for the
ETag): the target (issue 25) is on the time outside hashing, paste-objects
at most 2/3 of linux-objects per MiB.

Busy cycles: paste-objects's are its polls that did work (the stack's
busy_cycles), linux-objects's the time from each epoll_wait's return to
the next call (system calls included; the kernel's receive softirqs that
run while it waits are not, so linux-objects's figure is a lower bound).

Both clocks also count the time another process took the core from the
server while it was busy, and on a shared machine that is much: a polling
server preempted in an empty poll finds frames when it runs again, so the
whole preemption lands in a busy poll. Beside the busy figures, "CPU"
figures per MiB from the kernel's own accounts (/proc/PID/schedstat): the
busy time and its stages scaled by the share of it the server had the
core. paste-objects's share is its own count, its thread's CPU clock
read once a poll and summed over busy polls (busy_cpu_ns, less the reads'
cost); from a server without it, its polling thread's run time over run
time plus run_delay (preemption spread evenly, which charges paste-objects
more than its due, since a poller preempted in an empty poll finds frames
when it runs again). linux-objects's share is its thread's CPU time (its system calls,
and softirqs that interrupted it) over its busy time, and to that the
server core's softirq time from /proc/stat is added (the kernel's TCP
receive work, which RPS steers there and which mostly runs while
linux-objects waits; tick-sampled, and ticks that fell in softirqs
interrupting linux-objects are counted twice: an upper bound).
"""

import json
import os
import signal
import statistics
import time

from common import (
    BenchError, CLIENT_CORE, PERSIST_MODE, PREFIX_LEN, PROG, SERVER_CORE, SERVER_IP,
    kv_fields, now, ns_cmd, ns_enter, read_text, run)
from servers import LinuxKvs, PasteKvsNic

KEY_ID = "AKIAPASTEBENCH00001"
SECRET = "paste/bench+Secret0123456789abcdefghijKL"
PORT = 9000
BUCKET = "bench"
MIB = 1 << 20
STAGES = ("md5", "sha256", "crc", "flush", "copy", "keep", "drain")
# paste-objects only: its stack's stages (the driver's receive bursts, the
# memif's copy of every frame; transmitting and timers). linux-objects's
# kernel work is inside its system calls, in "rest".
STACK = ("rx_burst", "tx_and_timers")

# (name, size, conns, keys): keys are overwritten round robin.
POINTS = {
    "full": [("4 KiB", 4096, 8, 1024), ("1 MiB", MIB, 4, 64), ("64 MiB", 64 * MIB, 2, 2)],
    "quick": [("4 KiB", 4096, 8, 512), ("1 MiB", MIB, 4, 32), ("64 MiB", 64 * MIB, 2, 2)],
    "smoke": [("4 KiB", 4096, 2, 16), ("1 MiB", MIB, 2, 4), ("64 MiB", 64 * MIB, 1, 1)],
}
SECONDS = {"full": 5.0, "quick": 2.0, "smoke": 0.3}
REPS = {"full": 3, "quick": 2, "smoke": 1}
POOL_BUFS = 524288      # 1.1 GiB: two 64 MiB uploads promised and four kept


class ObjectsMixin:
    """What paste-objects and linux-objects share here: the keys file, the
    readiness probe (a CreateBucket answered), the stages line."""

    def keys_file(self):
        path = os.path.join(self.ctx.work, "objects.keys")
        with open(path, "w") as f:
            f.write("%s:%s\n" % (KEY_ID, SECRET))
        os.chmod(path, 0o600)
        return path

    def ready(self):
        if "%s: ready" % self.prog not in self.log_text():
            return False
        r = run(self.client(self.load_cmd("mkbucket", 0, 1, 1, count=1)), 10)
        return r.returncode == 0

    def load_cmd(self, op, size, conns, keys, seconds=None, count=None):
        cmd = [self.ctx.objects_load, "--addr", "%s:%d" % (SERVER_IP, PORT), "--id", KEY_ID,
               "--secret", SECRET, "--bucket", BUCKET, "--op", op, "--size", str(size),
               "--conns", str(conns), "--keys", str(keys), "--prefix", "s%d" % size]
        if count is not None:
            cmd += ["--count", str(count)]
        else:
            cmd += ["--seconds", str(seconds)]
        return cmd

    def stages(self, secs=5):
        """The next "stages:" line, asked for with SIGUSR1."""
        n0 = len(self.stage_lines())
        self.proc.send_signal(signal.SIGUSR1)
        deadline = now() + secs
        while now() < deadline:
            lines = self.stage_lines()
            if len(lines) > n0:
                return lines[-1]
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.fail("no stages line within %d s of SIGUSR1" % secs)

    def stage_lines(self):
        """The "stages:" lines, each with the fields of the "stack:" line
        before it (paste-objects prints one)."""
        out, stack = [], {}
        for line in self.log_text().splitlines():
            if line.startswith("stack: "):
                stack = kv_fields(line)
            elif line.startswith("stages: "):
                d = kv_fields(line)
                for k in STACK:
                    d[k] = stack.get(k, 0)
                out.append(d)
                stack = {}
        return out


class PasteObjectsNic(ObjectsMixin, PasteKvsNic):
    prog = "paste-objects"

    def command(self, pool_bufs):
        cmd = super().command(pool_bufs)
        # paste-kvs's EAL part, paste-objects's options after "--".
        cut = cmd.index("--")
        cmd[cmd.index(self.ctx.paste_kvs)] = self.ctx.paste_objects
        return cmd[:cut] + [
            "--", "--ip", "%s/%d" % (SERVER_IP, PREFIX_LEN), "--pool-file", self.pool,
            "--pool-bufs", str(pool_bufs), "--idle", "poll", "--persist", PERSIST_MODE,
            "--keys-file", self.keys_file(), "--http-port", str(PORT), "--stage-cycles",
            "--request-timeout", "120"]


class LinuxObjects(ObjectsMixin, LinuxKvs):
    prog = "linux-objects"

    def command(self, pool_bufs):
        self.pool = os.path.join(self.ctx.shm, "%s.%d.pool" % (self.name, self.n))
        return ns_cmd(self.server_ns, SERVER_CORE, self.ctx.wrap + [
            self.ctx.linux_objects, "--bind", SERVER_IP, "--http-port", str(PORT),
            "--pool-file", self.pool, "--pool-bufs", str(pool_bufs), "--persist", PERSIST_MODE,
            "--keys-file", self.keys_file(), "--stage-cycles", "--request-timeout", "120"])


SYSTEMS = (("paste-objects@nic", PasteObjectsNic), ("linux-objects", LinuxObjects))


def thread_sched(pid):
    """(run ns, run_delay ns) of a process's main thread, or None."""
    try:
        with open("/proc/%d/task/%d/schedstat" % (pid, pid)) as f:
            run_ns, delay_ns = f.read().split()[:2]
        return int(run_ns), int(delay_ns)
    except (OSError, ValueError):
        return None


def core_softirq_s(core):
    """The core's softirq seconds from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%d " % core):
                return int(line.split()[7]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def cpu_sample(srv):
    return dict(sched=thread_sched(srv.proc.pid), softirq=core_softirq_s(SERVER_CORE))


def md5_cpu_us_per_mib():
    """MD5's CPU cost per MiB here (hashlib: OpenSSL's, as the servers'
    libcrypto), the least of 5 rounds of 16 MiB in 1,448-byte pieces, by
    the thread's CPU clock: a hashing cost common to both servers that the
    machine's load does not inflate."""
    import hashlib
    piece = os.urandom(1448)
    n = 16 * MIB // 1448
    best = None
    for _ in range(5):
        t0 = time.thread_time()
        h = hashlib.md5()
        for _ in range(n):
            h.update(piece)
        h.digest()
        us = (time.thread_time() - t0) * 1e6 / (n * 1448 / MIB)
        best = us if best is None else min(best, us)
    return best


def cpu_fraction(srv, before, after, busy_s):
    """The share of its busy time a server had the core (the module's
    docstring), and its kernel's receive softirq seconds, or None."""
    a, b = before["sched"], after["sched"]
    if a is None or b is None:
        return None
    run_s, delay_s = (b[0] - a[0]) / 1e9, (b[1] - a[1]) / 1e9
    polls = after["stages"].get("busy_cpu_polls", 0) - before["stages"].get("busy_cpu_polls", 0)
    if polls > 0 and busy_s > 0:
        # paste-objects's own count: its thread's CPU clock around busy
        # polls, less the clock reads' cost.
        cpu_ns = (after["stages"]["busy_cpu_ns"] - before["stages"]["busy_cpu_ns"]
                  - polls * after["stages"].get("cpu_clock_ns", 0))
        return (min(max(cpu_ns / 1e9 / busy_s, 0.0), 1.0), 0.0)
    if isinstance(srv, LinuxObjects):
        return (min(run_s / busy_s, 1.0) if busy_s > 0 else 1.0,
                after["softirq"] - before["softirq"])
    # A polling thread is always running or waiting to run.
    return (run_s / (run_s + delay_s) if run_s + delay_s > 0 else 1.0, 0.0)


def delta(a, b):
    return {k: b[k] - a[k] for k in b if isinstance(b.get(k), (int, float))
            and isinstance(a.get(k), (int, float))}


def point(srv, op, name, size, conns, keys, seconds):
    before = srv.stages()
    cpu0 = cpu_sample(srv)
    cpu0["stages"] = before
    r = run(srv.client(srv.load_cmd(op, size, conns, keys, seconds=seconds)), seconds + 120)
    cpu1 = cpu_sample(srv)
    after = srv.stages()
    cpu1["stages"] = after
    try:
        load = json.loads(r.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError("%s %s %s: objects-load said: %s" % (
            srv.name, op, name, (r.stdout + r.stderr).decode(errors="replace")[-400:]))
    d = delta(before, after)
    hz = after.get("hz") or 1
    mib = (d.get("bytes_stored", 0) if op == "put" else d.get("bytes_sent", 0)) / MIB
    out = dict(system=srv.name, op=op, point=name, size=size, conns=conns, keys=keys,
               ops=load["ops"], errors=load["errors"], seconds=load["seconds"],
               ops_per_s=load["ops_per_s"], mib_per_s=load["mib_per_s"],
               error=load.get("error"), busy_s=d.get("busy", 0) / hz, mib=mib)
    if mib > 0:
        us = lambda c: c / hz * 1e6 / mib  # noqa: E731 (microseconds per MiB)
        out["busy_us_per_mib"] = us(d.get("busy", 0))
        st = {k: us(d.get(k, 0)) for k in STAGES + STACK}
        # The record's CRC is counted apart; the rest of the record (its
        # copy into the log, its flush, the index) is in "rest".
        st["rest"] = out["busy_us_per_mib"] - sum(st.values())
        out["stages_us_per_mib"] = st
        out["outside_hashing_us_per_mib"] = out["busy_us_per_mib"] - st["md5"] - st["sha256"]
        cf = cpu_fraction(srv, cpu0, cpu1, out["busy_s"])
        if cf is not None:
            # Busy time and its stages scaled by the share of it the server
            # had the core; the kernel's softirqs added (linux-objects).
            f, softirq_s = cf
            out["cpu_share"] = f
            out["core_softirq_us_per_mib"] = softirq_s * 1e6 / mib
            out["cpu_us_per_mib"] = out["busy_us_per_mib"] * f + out["core_softirq_us_per_mib"]
            out["cpu_outside_hashing_us_per_mib"] = (out["cpu_us_per_mib"]
                                                     - (st["md5"] + st["sha256"]) * f)
    if load["ops"] > 0:
        out["busy_us_per_req"] = d.get("busy", 0) / hz * 1e6 / load["ops"]
    if op == "put" and after.get("object_bytes"):
        out["pool_bytes_per_stored_byte"] = (after["pool_kept"] * after["buf_size"]
                                             / after["object_bytes"])
    return out


def run_system(ctx, sysname, cls, rep, mode, checks):
    srv = cls(ctx, sysname)
    results = []
    rc = None
    try:
        srv.start(POOL_BUFS)
        for name, size, conns, keys in POINTS[mode]:
            # Every key written once before the timed PUTs (the GETs read
            # them): not measured.
            r = run(srv.client(srv.load_cmd("put", size, conns, keys,
                                            count=(keys + conns - 1) // conns)), 300)
            if r.returncode != 0:
                raise BenchError("%s: preloading %d objects of %s: %s" % (
                    sysname, keys, name, r.stdout.decode(errors="replace")[-300:]))
            for op in ("put", "get"):
                PROG.line("objects rep %d %s %s %s" % (rep + 1, sysname, op.upper(), name))
                res = point(srv, op, name, size, conns, keys, SECONDS[mode])
                res["rep"] = rep
                results.append(res)
                if rep == 0:
                    checks.check(res["errors"] == 0 and res["ops"] > 0,
                                 "objects: %s %s %s answered (%d ok, %d errors%s)" % (
                                     sysname, op.upper(), name, res["ops"], res["errors"],
                                     ": " + res["error"] if res.get("error") else ""))
    finally:
        rc = srv.stop()
    if rc not in (0, None):
        checks.check(False, "objects: %s exited with status %s" % (sysname, rc))
    return results


def spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return dict(median=statistics.median(xs), min=min(xs), max=max(xs), n=len(xs))


def summarize(results, md5_us=None):
    """Per point and system: medians and ranges over the repeats; per
    point: paste/linux ratios and the target."""
    rows = []
    keys = []
    for r in results:
        k = (r["point"], r["op"])
        if k not in keys:
            keys.append(k)
    for point_name, op in keys:
        row = dict(point=point_name, op=op, systems={})
        for sysname, _ in SYSTEMS:
            rs = [r for r in results if r["system"] == sysname and r["point"] == point_name
                  and r["op"] == op]
            if not rs:
                continue
            s = dict(
                rate=spread([r["ops_per_s"] if point_name == "4 KiB" else r["mib_per_s"]
                             for r in rs]),
                busy_us_per_mib=spread([r.get("busy_us_per_mib") for r in rs]),
                outside_hashing_us_per_mib=spread([r.get("outside_hashing_us_per_mib")
                                                   for r in rs]),
                busy_us_per_req=spread([r.get("busy_us_per_req") for r in rs]),
                cpu_us_per_mib=spread([r.get("cpu_us_per_mib") for r in rs]),
                cpu_outside_hashing_us_per_mib=spread([r.get("cpu_outside_hashing_us_per_mib")
                                                       for r in rs]),
                core_softirq_us_per_mib=spread([r.get("core_softirq_us_per_mib") for r in rs]),
                stages_us_per_mib={st: spread([r.get("stages_us_per_mib", {}).get(st)
                                               for r in rs]) for st in STAGES + STACK + ("rest",)},
                pool_bytes_per_stored_byte=spread([r.get("pool_bytes_per_stored_byte")
                                                   for r in rs]),
                errors=sum(r["errors"] for r in rs))
            row["systems"][sysname] = s
        p, l = row["systems"].get("paste-objects@nic"), row["systems"].get("linux-objects")
        if p and l:
            def ratio(field):
                a, b = p[field], l[field]
                if a and b and b["median"]:
                    return a["median"] / b["median"]
                return None
            row["rate_ratio"] = ratio("rate")
            row["busy_ratio"] = ratio("busy_us_per_mib")
            row["outside_hashing_ratio"] = ratio("outside_hashing_us_per_mib")
            row["target_met"] = (row["outside_hashing_ratio"] is not None
                                 and row["outside_hashing_ratio"] <= 2 / 3)
            row["cpu_outside_hashing_ratio"] = ratio("cpu_outside_hashing_us_per_mib")
            # CPU per MiB less one MD5 cost measured apart (PUTs hash every
            # byte, GETs none): the target's "outside hashing" by clocks
            # the load does not inflate.
            if p["cpu_us_per_mib"] and l["cpu_us_per_mib"]:
                h = md5_us if (op == "put" and md5_us) else 0.0
                pc, lc = p["cpu_us_per_mib"]["median"], l["cpu_us_per_mib"]["median"]
                row["cpu_common_md5_us_per_mib"] = h
                row["cpu_outside_common_md5"] = dict(paste=pc - h, linux=lc - h)
                row["cpu_outside_common_md5_ratio"] = (pc - h) / (lc - h) if lc > h else None
                row["cpu_target_met"] = (row["cpu_outside_common_md5_ratio"] is not None
                                         and row["cpu_outside_common_md5_ratio"] <= 2 / 3)
            # The same MD5 code hashes the same bytes in both, but
            # linux-objects's stage also absorbs the kernel's receive
            # softirqs that interrupt it (RPS puts them on the server
            # core): a common hashing cost, the smaller of the two, taken
            # off both busy times, is the fairer "outside hashing".
            def med(sys_s, field):
                v = sys_s["stages_us_per_mib"].get(field)
                return v["median"] if v else 0
            hp = med(p, "md5") + med(p, "sha256")
            hl = med(l, "md5") + med(l, "sha256")
            if p["busy_us_per_mib"] and l["busy_us_per_mib"] and (hp or hl):
                h = min(hp, hl)
                pb, lb = p["busy_us_per_mib"]["median"], l["busy_us_per_mib"]["median"]
                row["common_hashing_us_per_mib"] = h
                row["outside_common_hashing_ratio"] = (pb - h) / (lb - h) if lb > h else None
                # And without the memif's copy of every received frame
                # (rx_burst), which a NIC's DMA does instead.
                row["outside_common_hashing_and_rx_copy_ratio"] = (
                    (pb - h - med(p, "rx_burst")) / (lb - h) if lb > h else None)
        rows.append(row)
    return rows


def objects_run(ctx, checks, mode):
    """The phase: each system in turn, rotated per repeat. @return the
    document's "objects" part."""
    for attr, rel in (("paste_objects", ("examples", "paste-objects")),
                      ("linux_objects", ("bench", "linux-objects")),
                      ("objects_load", ("bench", "objects-load"))):
        path = os.path.join(ctx.build, *rel)
        if not os.access(path, os.X_OK):
            raise BenchError("not built: %s" % path)
        setattr(ctx, attr, path)
    results = []
    t0 = now()
    # paste-objects's start touches its pool and lwIP's memory pools page
    # by page: on a loaded machine (a load average of 25 on 2 cores) it
    # took over 30 s.
    ready_secs = getattr(ctx, "ready_secs", None)
    ctx.ready_secs = max(ready_secs or 30, 120)
    try:
        return objects_reps(ctx, checks, mode, results, t0)
    finally:
        if ready_secs is None:
            del ctx.ready_secs
        else:
            ctx.ready_secs = ready_secs


def objects_reps(ctx, checks, mode, results, t0):
    for rep in range(REPS[mode]):
        order = SYSTEMS if rep % 2 == 0 else SYSTEMS[::-1]
        for sysname, cls in order:
            try:
                results += run_system(ctx, sysname, cls, rep, mode, checks)
            except BenchError as e:
                PROG.say("objects, %s rep %d: %s" % (sysname, rep + 1, str(e)[:600]))
                ctx.failures.append(dict(system=sysname, point="objects", rep=rep,
                                         error=str(e)[:2000]))
                checks.check(False, "objects: %s repeat %d ran (%s)" % (
                    sysname, rep + 1, str(e).splitlines()[0][:200]))
    md5_us = md5_cpu_us_per_mib()
    rows = summarize(results, md5_us)
    return dict(mode=mode, md5_cpu_us_per_mib=md5_us, seconds=SECONDS[mode], reps=REPS[mode], pool_bufs=POOL_BUFS,
                points=[dict(point=n, size=s, conns=c, keys=k) for n, s, c, k in POINTS[mode]],
                runs=results, summary=rows, elapsed_s=round(now() - t0, 1))


def fmt(s, f="%.0f"):
    if not s:
        return "-"
    if s["n"] > 1 and s["min"] != s["max"]:
        return (f + " (" + f + "-" + f + ")") % (s["median"], s["min"], s["max"])
    return f % s["median"]


def print_objects(doc):
    """The human table: rates, busy time per MiB and its stages, ratios."""
    if not doc or not doc.get("summary"):
        return
    print("\nObjects: paste-objects (nic testbed) vs linux-objects, %d repeat(s) of %.1f s, "
          "medians (min-max)" % (doc["reps"], doc["seconds"]))
    print("%-10s %-18s %-22s %-22s %-22s %s" % ("point", "system", "rate", "busy us/MiB",
                                                "outside hashing", "pool B/stored B"))
    for row in doc["summary"]:
        for sysname, s in row["systems"].items():
            unit = "req/s" if row["point"] == "4 KiB" else "MiB/s"
            print("%-10s %-18s %-22s %-22s %-22s %s" % (
                "%s %s" % (row["op"].upper(), row["point"]), sysname,
                fmt(s["rate"]) + " " + unit, fmt(s["busy_us_per_mib"]),
                fmt(s["outside_hashing_us_per_mib"]),
                fmt(s["pool_bytes_per_stored_byte"], "%.2f")))
        if row.get("rate_ratio") is not None:
            print("%-10s %-18s rate %.2f, busy/MiB %.2f, outside hashing %.2f: target (<= 0.67) %s"
                  % ("", "paste/linux", row["rate_ratio"], row["busy_ratio"] or 0,
                     row["outside_hashing_ratio"] or 0,
                     "met" if row["target_met"] else "NOT met"))
            if row.get("cpu_outside_hashing_ratio") is not None:
                print("%-10s %-18s CPU us/MiB outside hashing (preemption out; kernel "
                      "softirqs in): %s vs %s, ratio %.2f" % (
                          "", "", fmt(row["systems"]["paste-objects@nic"]
                                      ["cpu_outside_hashing_us_per_mib"]),
                          fmt(row["systems"]["linux-objects"]["cpu_outside_hashing_us_per_mib"]),
                          row["cpu_outside_hashing_ratio"]))
            if row.get("cpu_outside_common_md5_ratio") is not None:
                print("%-10s %-18s CPU us/MiB less a common MD5 cost (%.0f): %.0f vs %.0f, "
                      "ratio %.2f: target %s" % (
                          "", "", row["cpu_common_md5_us_per_mib"],
                          row["cpu_outside_common_md5"]["paste"],
                          row["cpu_outside_common_md5"]["linux"],
                          row["cpu_outside_common_md5_ratio"],
                          "met" if row["cpu_target_met"] else "NOT met"))
            if row.get("outside_common_hashing_ratio") is not None:
                print("%-10s %-18s outside a common hashing cost (%.0f us/MiB) %.2f; "
                      "without the memif's receive copy too %.2f" % (
                          "", "", row["common_hashing_us_per_mib"],
                          row["outside_common_hashing_ratio"],
                          row["outside_common_hashing_and_rx_copy_ratio"]))
    print("\nStages, us per MiB stored (PUT) or sent (GET), medians:")
    cols = STAGES + STACK + ("rest",)
    print("%-10s %-18s " % ("point", "system") + " ".join("%8s" % s[:8] for s in cols))
    for row in doc["summary"]:
        for sysname, s in row["systems"].items():
            print("%-10s %-18s " % ("%s %s" % (row["op"].upper(), row["point"]), sysname) +
                  " ".join("%8s" % ("%.0f" % s["stages_us_per_mib"][st]["median"]
                                     if s["stages_us_per_mib"][st] else "-") for st in cols))
