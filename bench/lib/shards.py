# SPDX-License-Identifier: BSD-3-Clause
"""1 shard against 2 (paste-kvs's cluster mode under scripts/kvs-cluster.sh):
aggregate requests/s and server CPU per request of pipelined 1 KiB SETs and
GETs from redis-benchmark (--cluster for two shards; it refuses a
one-node cluster, which answers every key itself).

The topology of tests/kvs/test_kvs_cluster.sh: a paste namespace with one
veth per shard, bridged in the clients' namespace. Shard 0 runs on the
server core; shard 1 on the client core, which it shares with
redis-benchmark: a 2-core machine has no third core. Shards run with
--idle sleep, so a shard that waits yields the core (busy-polling shards
would take the client's core whole). Server CPU per request: the shards'
user + system time (/proc/PID/stat) over the run / requests; "busy" counts
only their polls that did work (busy_cycles from their statistics)."""

import os
import signal
import time

from common import (
    BenchError, CLEAN, CLIENT_CORE, PERSIST_MODE, PROG, REPO, SERVER_CORE, kv_fields, ns_cmd,
    ns_enter, proc_cpu_s, read_text, run, spawn_logged, stop_proc)
from loads import parse_rb_csv
from testbeds import set_rps

IPS = ("198.18.0.11", "198.18.0.12")
CLIENT_IP = "198.18.0.2"
SUPERVISOR = os.path.join(REPO, "scripts", "kvs-cluster.sh")


def topology(ctx):
    name = ("pbs%d" % os.getpid())[:13]
    paste, linux = name + "-paste", name + "-linux"
    CLEAN.testbeds.append(name)
    for ns in (paste, linux):
        run(["ip", "netns", "add", ns], 10, check=True)
    lx = ns_enter(linux)
    for cmd in (["ip", "link", "add", name + "-br", "type", "bridge", "forward_delay", "0",
                 "stp_state", "0"],
                ["sysctl", "-qw", "net.ipv6.conf.%s-br.disable_ipv6=1" % name],
                ["ip", "addr", "add", CLIENT_IP + "/24", "dev", name + "-br"],
                ["ip", "link", "set", name + "-br", "up"], ["ip", "link", "set", "lo", "up"]):
        run(lx + cmd, 10, check=True)
    for i, core in ((0, SERVER_CORE), (1, CLIENT_CORE)):
        p, l = "%s-%dp" % (name, i), "%s-%dl" % (name, i)
        run(["ip", "link", "add", p, "netns", paste, "type", "veth", "peer", "name", l,
             "netns", linux], 10, check=True)
        for ns, ifn in ((paste, p), (linux, l)):
            run(ns_enter(ns) + ["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % ifn], 10)
            for f in ("tx", "rx", "tso", "gso", "gro"):
                run(ns_enter(ns) + ["ethtool", "-K", ifn, f, "off"], 10)
        run(lx + ["ip", "link", "set", l, "master", name + "-br", "up"], 10, check=True)
        run(ns_enter(paste) + ["ip", "link", "set", p, "up"], 10, check=True)
        set_rps(paste, p, core)
        set_rps(linux, l, CLIENT_CORE)
    return name


def last_stats(log):
    lines = [l for l in read_text(log).splitlines() if l.startswith("kvs: ")]
    return kv_fields(lines[-1]) if lines else {}


class Cluster:
    def __init__(self, ctx, name, n):
        self.ctx, self.name, self.n = ctx, name, n
        self.dir = os.path.join(ctx.shm, "shards%d" % n)
        os.makedirs(self.dir, exist_ok=True)
        self.map = os.path.join(self.dir, "slots.conf")
        with open(self.map, "w") as f:
            if n == 1:
                f.write("shard0 %s:6379 0-16383\n" % IPS[0])
            else:
                f.write("shard0 %s:6379 0-8191\nshard1 %s:6379 8192-16383\n" % IPS)
        cmd = ns_enter(name + "-paste") + [
            "bash", SUPERVISOR, "--map", self.map, "--dir", self.dir,
            "--paste-kvs", ctx.paste_kvs, "--eal", " ".join(
                ctx.eal_mem + ["--no-pci", "--no-shconf", "--no-telemetry", "--iova-mode=va",
                               "--log-level=lib.eal:error"])]
        for i, core in list(((0, SERVER_CORE), (1, CLIENT_CORE)))[:n]:
            cmd += ["--shard", "shard%d" % i, str(core),
                    "net_af_packet0,iface=%s-%dp,%s" % (name, i, ctx.af_packet)]
        cmd += ["--", "--pool-bufs", "262144", "--persist", PERSIST_MODE, "--idle", "sleep",
                "--stats-period", "0.2", "--max-conns", "1024", "--http-port", "0"]
        self.proc = spawn_logged(cmd, os.path.join(ctx.work, "shards%d.log" % n),
                                 signal.SIGTERM)
        self.logs = [os.path.join(self.dir, "shard%d.log" % i) for i in range(n)]
        deadline = time.time() + 60
        while time.time() < deadline:
            if all("paste-kvs: ready" in read_text(l) for l in self.logs) and all(
                    self.ping(ip) for ip in IPS[:n]):
                break
            if self.proc.poll() is not None:
                raise BenchError("kvs-cluster.sh exited: %s" % read_text(
                    os.path.join(ctx.work, "shards%d.log" % n))[-500:])
            time.sleep(0.2)
        else:
            raise BenchError("%d shard(s) not ready within 60 s" % n)
        self.pids = [int(read_text(os.path.join(self.dir, "shard%d.pid" % i)).strip())
                     for i in range(n)]

    def client(self, argv):
        return ns_cmd(self.name + "-linux", CLIENT_CORE, argv)

    def ping(self, ip):
        r = run(self.client(["redis-cli", "-h", ip, "-p", "6379", "PING"]), 5)
        return r.returncode == 0 and r.stdout.strip() == b"PONG"

    def load(self, op, requests):
        s0 = [last_stats(l) for l in self.logs]
        c0 = [proc_cpu_s(p) for p in self.pids]
        # redis-benchmark --cluster refuses a cluster of one node; one
        # node that owns every slot never answers MOVED anyway.
        cluster = ["--cluster"] if self.n > 1 else []
        r = run(self.client(["redis-benchmark"] + cluster + ["-h", IPS[0], "-p", "6379",
                             "-t", op, "-P", "16", "-c", "50", "-d", "1024", "-n",
                             str(requests), "-r", "10000", "--csv"]), 300)
        time.sleep(0.5)     # a statistics line after the run
        c1 = [proc_cpu_s(p) for p in self.pids]
        s1 = [last_stats(l) for l in self.logs]
        res = parse_rb_csv(r.stdout.decode(errors="replace"))
        if r.returncode != 0 or not res:
            raise BenchError("redis-benchmark --cluster %s: %s" % (
                op, (r.stdout + r.stderr).decode(errors="replace")[-400:]))
        reqs = [b.get("requests", 0) - a.get("requests", 0) for a, b in zip(s0, s1)]
        busy = [b.get("busy_cycles", 0) - a.get("busy_cycles", 0) for a, b in zip(s0, s1)]
        total = sum(reqs) or 1
        return dict(shards=self.n, op=op, rps=round(res["rps"]), p50_ms=res["p50"],
                    p99_ms=res["p99"], requests_per_shard=reqs,
                    cpu_us_per_req=(sum(c1) - sum(c0)) * 1e6 / total,
                    busy_us_per_req=sum(busy) / self.ctx.tsc_hz * 1e6 / total)

    def stop(self):
        rc = stop_proc(self.proc, signal.SIGTERM, 20)
        CLEAN.forget(self.proc)
        return rc


def shards_run(ctx, quick=False):
    """1 shard, then 2: a list of result dicts (one per shards x op)."""
    name = topology(ctx)
    out = []
    requests = 100000 if quick else 400000
    for n in (1, 2):
        PROG.line("shards: %d shard(s)" % n)
        cl = Cluster(ctx, name, n)
        try:
            for op in ("set", "get"):
                out.append(cl.load(op, requests))
        finally:
            cl.stop()
    return out


def print_shards(rows):
    print()
    print("%-7s %-4s %10s %8s %8s %12s %12s %s" % ("shards", "op", "req/s", "p50 ms", "p99 ms",
                                                  "cpu us/req", "busy us/req", "per shard"))
    for r in rows:
        print("%-7d %-4s %10d %8.3f %8.3f %12.2f %12.2f %s" % (
            r["shards"], r["op"], r["rps"], r["p50_ms"], r["p99_ms"], r["cpu_us_per_req"],
            r["busy_us_per_req"], "/".join(str(x) for x in r["requests_per_shard"])))
