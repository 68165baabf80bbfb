#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The engine of bench/run.sh: paste-kvs, linux-kvs and Redis side by side.

Two testbeds of scripts/testbed.sh, so a kernel server never shares paste's
veth or address:
  P  paste-kvs on P-p (net_af_packet), answering as 198.18.0.1;
  K  the kernel servers (linux-kvs, redis-server) bound to 198.18.0.1 on K-p,
     the paste-side veth of a second pair.
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
import csv
import datetime
import io
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTBED = os.path.join(REPO, "scripts", "testbed.sh")
SERVER_IP = "198.18.0.1"
PREFIX_LEN = 24
SERVER_CORE = 1
CLIENT_CORE = 0
RESP_PORT = 6379
HTTP_PORT = 8080
CLIENT_BOUND = 0.95          # client core busy fraction that makes a point client-bound


class BenchError(Exception):
    pass


def now():
    return time.monotonic()


# ---- progress ------------------------------------------------------------

class Progress:
    def __init__(self, quiet=False):
        self.t0 = now()
        self.tty = sys.stderr.isatty()
        self.quiet = quiet
        self.width = 0

    def line(self, msg):
        if self.quiet:
            return
        text = "[%5.0fs] %s" % (now() - self.t0, msg)
        if self.tty:
            pad = max(0, self.width - len(text))
            sys.stderr.write("\r" + text + " " * pad)
            sys.stderr.flush()
            self.width = len(text)
        else:
            sys.stderr.write(text + "\n")

    def say(self, msg):
        """A line that stays."""
        if self.tty and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            self.width = 0
        sys.stderr.write("bench: %s\n" % msg)
        sys.stderr.flush()


PROG = Progress()


# ---- cleanup registry ----------------------------------------------------

class Cleanup:
    """What this run started, undone in reverse order, once."""

    def __init__(self):
        self.procs = []       # (Popen, stop signal)
        self.testbeds = []
        self.paths = []
        self.done = False

    def proc(self, p, sig=signal.SIGTERM):
        self.procs.append((p, sig))
        return p

    def forget(self, p):
        self.procs = [(q, s) for (q, s) in self.procs if q is not p]

    def run(self):
        if self.done:
            return
        self.done = True
        for p, sig in reversed(self.procs):
            stop_proc(p, sig, 5)
        self.procs = []
        for name in reversed(self.testbeds):
            subprocess.run(["bash", TESTBED, "down", name], env=dict(os.environ, TB_QUIET="1"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        self.testbeds = []
        for path in reversed(self.paths):
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.exists(path):
                os.unlink(path)
        self.paths = []


CLEAN = Cleanup()


def stop_proc(p, sig=signal.SIGTERM, secs=5):
    """Stop one process we started (by its pid): sig, then SIGKILL."""
    if p.poll() is not None:
        return p.returncode
    try:
        p.send_signal(sig)
        return p.wait(timeout=secs)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait(timeout=10)


def on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


# ---- small helpers -------------------------------------------------------

def run(cmd, timeout, input=None, check=False):
    """Run a command to completion with a time limit; returns CompletedProcess."""
    try:
        r = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError("timed out after %ss: %s" % (timeout, " ".join(cmd)))
    if check and r.returncode != 0:
        raise BenchError("%s: exit %d: %s" % (" ".join(cmd[:6]), r.returncode,
                                               r.stderr.decode(errors="replace")[-500:]))
    return r


def ns_enter(ns):
    # nsenter, like scripts/testbed.sh: the network namespace only (ip netns
    # exec would also give the process a mount namespace of its own).
    return ["nsenter", "--net=/run/netns/" + ns]


def ns_cmd(ns, core, argv):
    return ns_enter(ns) + ["taskset", "-c", str(core)] + argv


def median(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return statistics.median(xs)


def cpu_times():
    """Per-core (busy, total) jiffies from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+)\s+(.*)", line)
            if not m:
                continue
            v = [int(x) for x in m.group(2).split()]
            idle = v[3] + (v[4] if len(v) > 4 else 0)
            total = sum(v[:8])
            out[int(m.group(1))] = (total - idle, total)
    return out


def cpu_delta(a, b, core):
    busy = b[core][0] - a[core][0]
    total = b[core][1] - a[core][1]
    hz = os.sysconf("SC_CLK_TCK")
    return (busy / total if total > 0 else None), busy / hz


def tsc_hz_guess():
    """TSC frequency for paste's busy_cycles, when the stats line lacks it."""
    try:
        r = subprocess.run(["dmesg"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
        m = re.search(r"tsc: Refined TSC clocksource calibration: ([\d.]+) MHz", r.stdout.decode())
        if not m:
            m = re.search(r"tsc: Detected ([\d.]+) MHz", r.stdout.decode())
        if m:
            return float(m.group(1)) * 1e6
    except (OSError, subprocess.TimeoutExpired):
        pass
    with open("/proc/cpuinfo") as f:
        m = re.search(r"cpu MHz\s*:\s*([\d.]+)", f.read())
    return float(m.group(1)) * 1e6 if m else None


def kv_fields(line):
    d = {}
    for tok in line.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            try:
                d[k] = int(v)
            except ValueError:
                try:
                    d[k] = float(v)
                except ValueError:
                    d[k] = v
    return d


def rss_kb(pid, field="RssAnon"):
    """Resident memory of a process in KiB. RssAnon by default: the pool file
    (a shared mapping of /dev/shm, i.e. the emulated persistent memory) is
    RssShmem and is counted as persistent bytes, not DRAM."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


# ---- testbeds ------------------------------------------------------------

def reap_stale():
    """Testbeds of earlier runs whose process died without cleaning up."""
    r = run(["ip", "netns", "list"], 10)
    for line in r.stdout.decode().splitlines():
        m = re.match(r"^(pb[pkn](\d+))-(paste|linux)\b", line)
        if not m or int(m.group(2)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(2)), 0)
            continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        run(["bash", TESTBED, "down", m.group(1)], 60)


def testbed_up(name):
    CLEAN.testbeds.append(name)
    r = run(["bash", TESTBED, "up", name], 60)
    if r.returncode != 0:
        raise BenchError("testbed %s did not come up: %s" % (name, r.stderr.decode()[-500:]))


def set_rps(ns, ifname, core):
    """Steer receive processing of a veth to one core (RPS), so that the
    core that owns a socket pays its TCP input, as interrupt affinity does
    with a real NIC (on a veth it would otherwise run on the sender's core).
    ip netns exec remounts /sys, which fails in a chroot: a sysfs instance
    mounted from inside the namespace shows its devices everywhere."""
    mask = "%x" % (1 << core)
    script = ('d=$(mktemp -d /tmp/paste-bench-sysfs.XXXXXX) || exit 1; '
              'mount -t sysfs sysfs "$d" || { rmdir "$d"; exit 1; }; '
              'f="$d/class/net/$1/queues/rx-0/rps_cpus"; '
              'echo "$2" > "$f" && cat "$f"; rc=$?; umount "$d"; rmdir "$d"; exit $rc')
    r = run(ns_enter(ns) + ["sh", "-c", script, "rps", ifname, mask], 10)
    got = r.stdout.decode().strip().replace(",", "").lstrip("0")
    if r.returncode != 0 or got != mask.lstrip("0"):
        raise BenchError("RPS on %s in %s: could not set rps_cpus to %s (%s)" % (
            ifname, ns, mask, (r.stdout + r.stderr).decode(errors="replace").strip()[-300:]))


def steer_rps(ctx):
    """Every veth's receive work on the core of the process that reads it:
    the server's veth on the server core, the client's on the client core;
    in the nic testbed the bridge reads the paste-side veth on the client
    core."""
    for side, tb in ctx.tb.items():
        set_rps(tb + "-paste", tb + "-p", CLIENT_CORE if side == "n" else SERVER_CORE)
        set_rps(tb + "-linux", tb + "-l", CLIENT_CORE)


class Bridge:
    """The nic testbed's "NIC": dpdk-testpmd in io mode forwarding between
    a memif (paste-kvs's port) and an af_packet on the veth, pinned to the
    client core. It lives as long as the testbed; each paste-kvs connects to
    it as memif client. Two lcores on one CPU: the main lcore only waits."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.prefix = "pbench%d_bridge" % os.getpid()
        self.log = os.path.join(ctx.work, "bridge.log")
        self.proc = None

    def command(self):
        tb = self.ctx.tb["n"]
        # stdbuf: its "forwarding" line must reach the log while it runs.
        return ns_cmd(tb + "-paste", CLIENT_CORE, [
            "stdbuf", "-oL", self.ctx.testpmd, "--lcores=0@%d,1@%d" % (CLIENT_CORE, CLIENT_CORE)]
            + self.ctx.eal_mem_bridge + [
            "--no-pci", "--no-telemetry", "--iova-mode=va", "--file-prefix", self.prefix,
            "--log-level=lib.eal:error",
            "--vdev=net_memif0,role=server,socket=%s,socket-abstract=yes" % self.ctx.memif_socket,
            "--vdev=net_af_packet0,iface=%s-p,%s" % (tb, self.ctx.af_packet),
            "--", "--forward-mode=io", "--total-num-mbufs=16384", "--disable-link-check",
            "--no-lsc-interrupt",
            # A stats period keeps it running without a terminal (without
            # one it exits at end of stdin); a long one keeps it quiet.
            "--stats-period=100000"])

    def start(self):
        CLEAN.paths.append("/var/run/dpdk/" + self.prefix)
        cmd = self.command()
        with open(self.log + ".cmd", "w") as f:
            f.write(" ".join(cmd) + "\n")
        logf = open(self.log, "w")
        self.proc = CLEAN.proc(subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL), signal.SIGTERM)
        logf.close()
        deadline = now() + 30
        while now() < deadline:
            text = self.log_text()
            if "packet forwarding - ports=2" in text:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise BenchError("the nic bridge (dpdk-testpmd) did not start forwarding:\n%s"
                         % "\n".join(self.log_text().splitlines()[-12:]))

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cpu_s(self):
        """CPU seconds the bridge has used so far (all its threads)."""
        if self.proc is None:
            return None
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc is not None:
            stop_proc(self.proc, signal.SIGTERM, 10)
            CLEAN.forget(self.proc)
            self.proc = None


# ---- servers -------------------------------------------------------------

class Server:
    """One system under test. Subclasses: PasteKvs, LinuxKvs, Redis."""
    http = True
    family = "?"

    def __init__(self, ctx, name, index="wal", copy=False, delay_us=0):
        self.ctx = ctx
        self.name = name
        self.index = index
        self.copy = copy
        self.delay_us = delay_us
        self.proc = None
        self.log = None
        self.n = 0

    # the client side
    @property
    def client_ns(self):
        return self.ctx.tb[self.side] + "-linux"

    @property
    def server_ns(self):
        return self.ctx.tb[self.side] + "-paste"

    def client(self, argv):
        return ns_cmd(self.client_ns, CLIENT_CORE, argv)

    def start(self, pool_bufs):
        self.n += 1
        self.log = os.path.join(self.ctx.work, "%s.%d.log" % (self.name, self.n))
        cmd = self.command(pool_bufs)
        with open(self.log + ".cmd", "w") as f:
            f.write(" ".join(cmd) + "\n")
        logf = open(self.log, "w")
        self.proc = CLEAN.proc(subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL), self.stop_signal)
        logf.close()
        self.wait_ready(getattr(self.ctx, "ready_secs", 30))

    stop_signal = signal.SIGINT

    def stop(self):
        if self.proc is None:
            return
        rc = stop_proc(self.proc, self.stop_signal, 15)
        CLEAN.forget(self.proc)
        self.proc = None
        self.cleanup_files()
        return rc

    def cleanup_files(self):
        pass

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def fail(self, msg):
        tail = "\n".join(self.log_text().splitlines()[-15:])
        raise BenchError("%s: %s\n---- %s\n%s\n----" % (self.name, msg, self.log, tail))

    def wait_ready(self, secs):
        deadline = now() + secs
        while now() < deadline:
            if self.proc.poll() is not None:
                self.fail("exited with status %s before it was ready" % self.proc.returncode)
            if self.ready():
                return
            time.sleep(0.05)
        self.fail("not ready within %d s" % secs)

    # statistics lines ("kvs: k=v ...") of paste-kvs and linux-kvs
    def stats_lines(self):
        return [kv_fields(l) for l in self.log_text().splitlines() if l.startswith("kvs: ")]

    def fresh_stats(self, secs=3):
        """The next statistics line printed from now on."""
        n0 = len(self.stats_lines())
        deadline = now() + secs
        while now() < deadline:
            lines = self.stats_lines()
            if len(lines) > n0:
                return lines[-1]
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        return None

    def rss_kb(self, field="RssAnon"):
        return rss_kb(self.proc.pid, field)

    def resp_ok(self):
        r = run(self.client(["redis-cli", "-h", SERVER_IP, "-p", str(RESP_PORT), "PING"]), 5)
        return r.returncode == 0 and r.stdout.strip() == b"PONG"


class PasteKvs(Server):
    family = "paste"
    side = "p"

    def command(self, pool_bufs):
        self.pool = os.path.join(self.ctx.shm, "%s.%d.pool" % (self.name, self.n))
        prefix = "pbench%d_%d_%s" % (os.getpid(), self.n, re.sub(r"[^A-Za-z0-9]", "", self.name))
        self.ctx.eal_prefixes.append(prefix)
        CLEAN.paths.append("/var/run/dpdk/" + prefix)
        cmd = ns_enter(self.server_ns) + self.ctx.wrap + [self.ctx.paste_kvs,
               "-l", str(SERVER_CORE)] + self.ctx.eal_mem + [
               "--no-pci", "--no-telemetry", "--iova-mode=va",
               "--file-prefix", prefix, "--log-level=lib.eal:error"] + self.port_args() + [
               "--", "--ip", "%s/%d" % (SERVER_IP, PREFIX_LEN), "--index", self.index,
               "--pool-file", self.pool, "--pool-bufs", str(pool_bufs),
               "--busy-poll", "--stats-period", "0.1", "--max-conns", "1024"]
        cmd += self.ctx.kvs_extra
        if self.copy:
            cmd.append("--copy")
        if self.delay_us:
            cmd += ["--pm-drain-delay-us", str(self.delay_us)]
        return cmd

    def port_args(self):
        """The afpacket testbed: the kernel is the NIC (a sendto per burst)."""
        return ["--no-shconf",
                "--vdev=net_af_packet0,iface=%s-p,%s" % (self.ctx.tb["p"], self.ctx.af_packet)]

    def ready(self):
        if "paste-kvs: ready" not in self.log_text():
            return False
        # The stack answers ARP and TCP once its poll loop runs.
        return self.resp_ok()

    def cleanup_files(self):
        if os.path.exists(self.pool):
            os.unlink(self.pool)

    def persistent_bytes(self, stats):
        return stats.get("pool_kept", 0) * stats.get("buf_size", self.ctx.buf_size)


class PasteKvsNic(PasteKvs):
    """The nic testbed: paste-kvs's port is a memif whose other end is the
    bridge (testbed_nic_up) on the client core, so the server core makes no
    system call, as with a NIC that DMAs."""
    side = "n"

    def port_args(self):
        # No --no-shconf: memif registers a multi-process action at probe
        # time, which EAL refuses without a shared configuration.
        return ["--vdev=net_memif0,role=client,socket=%s,socket-abstract=yes"
                % self.ctx.memif_socket]


class LinuxKvs(Server):
    family = "linux-kvs"
    side = "k"

    def command(self, pool_bufs):
        self.pool = os.path.join(self.ctx.shm, "%s.%d.pool" % (self.name, self.n))
        cmd = ns_cmd(self.server_ns, SERVER_CORE, [
            ] + self.ctx.wrap + [
            self.ctx.linux_kvs, "--index", self.index, "--pool-file", self.pool,
            "--pool-bufs", str(pool_bufs), "--bind", SERVER_IP, "--stats-period", "0.2",
            "--max-conns", "1024"])
        if self.delay_us:
            cmd += ["--pm-drain-delay-us", str(self.delay_us)]
        return cmd

    def ready(self):
        return "linux-kvs: ready" in self.log_text() and self.resp_ok()

    def cleanup_files(self):
        if os.path.exists(self.pool):
            os.unlink(self.pool)

    def persistent_bytes(self, stats):
        return stats.get("pool_kept", 0) * stats.get("buf_size", self.ctx.buf_size)


class Redis(Server):
    family = "redis"
    side = "k"
    http = False
    stop_signal = signal.SIGTERM

    def command(self, pool_bufs):
        self.dir = os.path.join(self.ctx.shm, "%s.%d" % (self.name, self.n))
        os.makedirs(self.dir, exist_ok=True)
        return ns_cmd(self.server_ns, SERVER_CORE, [
            "redis-server", "--port", str(RESP_PORT), "--bind", SERVER_IP,
            "--protected-mode", "no", "--daemonize", "no", "--save", "",
            "--appendonly", "yes", "--appendfsync", "always", "--dir", self.dir,
            "--maxclients", "1024", "--io-threads", "1", "--loglevel", "warning"])

    def ready(self):
        return self.resp_ok()

    def cleanup_files(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def stats_lines(self):
        return []

    def info(self):
        r = run(self.client(["redis-cli", "-h", SERVER_IP, "-p", str(RESP_PORT), "INFO"]), 10)
        d = {}
        for line in r.stdout.decode(errors="replace").splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.strip().split(":", 1)
                d[k] = v
        return d

    def fresh_stats(self, secs=3):
        info = self.info()
        out = {"requests": int(info.get("total_commands_processed", 0))}
        m = re.search(r"keys=(\d+)", info.get("db0", ""))
        out["keys"] = int(m.group(1)) if m else 0
        return out

    def persistent_bytes(self, stats):
        return dir_bytes(self.dir)


SYSTEMS = {
    # name: (class, index, copy, delay_us, label)
    "paste-wal": (PasteKvs, "wal", False, 0, "paste-kvs zero-copy, wal"),
    "paste-btree": (PasteKvs, "btree", False, 0, "paste-kvs zero-copy, btree"),
    "paste-copy": (PasteKvs, "wal", True, 0, "paste-kvs --copy, wal"),
    "linux-kvs": (LinuxKvs, "wal", False, 0, "linux-kvs (epoll, copy + fence before write), wal"),
    "redis": (Redis, None, False, 0, "redis-server, appendonly yes, appendfsync always"),
    "paste-wal+d10": (PasteKvs, "wal", False, 10, "paste-kvs zero-copy, wal, 10 us drain"),
    "paste-copy+d10": (PasteKvs, "wal", True, 10, "paste-kvs --copy, wal, 10 us drain"),
    "linux-kvs+d10": (LinuxKvs, "wal", False, 10, "linux-kvs, wal, 10 us drain"),
}
# Every paste-kvs system again on the nic testbed: NAME@nic (and
# NAME@nic+d10), so that both testbeds' rows sit side by side.
for _name, (_cls, _ix, _cp, _d, _label) in list(SYSTEMS.items()):
    if _cls is PasteKvs:
        _base, _plus, _var = _name.partition("+")
        SYSTEMS[_base + "@nic" + _plus + _var] = (PasteKvsNic, _ix, _cp, _d,
                                                  _label + ", nic testbed")
TESTBEDS = ("afpacket", "nic")


def testbed_of(sysname):
    """The testbed of a system's rows: nic, afpacket, or veth (the kernel
    servers, whose veth is the same in both modes)."""
    cls = SYSTEMS[sysname][0]
    return "nic" if cls is PasteKvsNic else "afpacket" if cls is PasteKvs else "veth"


# ---- workloads -----------------------------------------------------------

def point_id(p):
    if p["tool"] == "rb":
        return "%s d=%d P=%d c=%d" % (p["op"].upper(), p["d"], p["P"], p["c"])
    return "%s P=%d c=%d" % (p["op"], p["P"], p["c"])


def build_points(mode):
    """The matrix of (client, op, size, pipeline, connections) per mode."""
    pts = []
    if mode == "full":
        sizes, pipes, conns = [64, 1024, 8192], [1, 16], [1, 50, 100]
    elif mode == "quick":
        sizes, pipes, conns = [1024], [1, 16], [1, 50]
    else:  # smoke
        sizes, pipes, conns = [1024], [1, 16], [1, 50]
    for d in sizes:
        for op in ("set", "get"):
            for P in pipes:
                for c in conns:
                    if mode != "full" and P == 16 and c == 1:
                        continue
                    if mode != "full" and op == "get" and P == 1:
                        continue
                    pts.append(dict(tool="rb", op=op, d=d, P=P, c=c, write=op == "set"))
    for op in ("post1k", "rpc64"):
        for P in pipes:
            for c in conns:
                if mode != "full" and (c == 1 or P == 16):
                    continue
                pts.append(dict(tool="wrk", op=op, d=1024 if op == "post1k" else 64, P=P, c=c,
                                write=op == "post1k"))
    for p in pts:
        p["id"] = point_id(p)
    return pts


def delay_points(points):
    """The write workloads the 10 us drain variants run."""
    return [p for p in points if p["write"] and p["c"] == 50 and p["d"] == 1024]


def redis_pipe_stream(keys, size, prefix="key:", fmt="%012d", start=0):
    """RESP SET commands for keys prefix+fmt % i, i in [start, start+keys)."""
    # Incompressible values (Redis compresses its AOF's RDB preamble with
    # LZF: repeated bytes would make its space per key meaningless).
    import random
    rnd = random.Random(size)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    noise = bytes(rnd.choice(alphabet) for _ in range(size + 8192))
    vh = b"$%d\r\n" % size
    chunks = []
    for i in range(start, start + keys):
        k = (prefix + fmt % i).encode()
        off = (i * 7919) % 8192
        val = noise[off:off + size]
        chunks.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n%s%s\r\n" % (len(k), k, vh, val))
        if len(chunks) >= 4096:
            yield b"".join(chunks)
            chunks = []
    if chunks:
        yield b"".join(chunks)


def pipe_load(srv, keys, size, prefix="key:", fmt="%012d", timeout=600):
    """Load keys with redis-cli --pipe (pipelined SETs) from the client core."""
    cmd = srv.client(["redis-cli", "-h", SERVER_IP, "-p", str(RESP_PORT), "--pipe",
                      "--pipe-timeout", "30"])
    p = CLEAN.proc(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT))
    deadline = now() + timeout
    try:
        for chunk in redis_pipe_stream(keys, size, prefix, fmt):
            if now() > deadline:
                raise BenchError("%s: loading %d keys took over %d s" % (srv.name, keys, timeout))
            p.stdin.write(chunk)
        p.stdin.close()
        p.wait(timeout=max(5, deadline - now()))   # its output is a few lines
        out = p.stdout.read()
    except (BrokenPipeError, subprocess.TimeoutExpired):
        stop_proc(p)
        raise BenchError("%s: redis-cli --pipe failed" % srv.name)
    finally:
        CLEAN.forget(p)
    text = out.decode(errors="replace")
    m = re.search(r"errors: (\d+), replies: (\d+)", text)
    if not m or int(m.group(1)) != 0 or int(m.group(2)) != keys:
        raise BenchError("%s: redis-cli --pipe: %s" % (srv.name, text.strip()[-300:]))


def parse_rb_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    hdr = None
    for row in rows:
        if row and row[0] == "test":
            hdr = row
        elif hdr and row and len(row) == len(hdr):
            d = dict(zip(hdr, row))
            return dict(rps=float(d["rps"]), p50=float(d["p50_latency_ms"]),
                        p99=float(d["p99_latency_ms"]), avg=float(d["avg_latency_ms"]),
                        max=float(d["max_latency_ms"]))
    return None


def wrk_time_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", s)
    if not m:
        return None
    v = float(m.group(1))
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[m.group(2)]


def parse_wrk(text):
    out = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        return None
    out["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if m:
        out["requests"] = int(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        out[key] = wrk_time_ms(m.group(1)) if m else None
        # wrk prints 0.00us when a percentile falls outside its histogram
        # (pipelined sends: it times only some responses): unknown, not 0.
        if not out[key]:
            out[key] = None
    m = re.search(r"Latency\s+(\S+)", text)
    out["avg"] = wrk_time_ms(m.group(1)) if m else None
    errs = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errs += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errs += sum(int(x) for x in m.groups())
    out["errors"] = errs
    return out


WRK_POST = """-- 1 KiB HTTP POSTs (PASTE's WAL workload) over KEYS keys, DEPTH per send
local body = string.rep("v", 1024)
local depth = DEPTH
local keys = KEYS
local reqs = {}
init = function(args)
  for j = 1, 64 do
    local r = {}
    for i = 1, depth do
      r[i] = wrk.format("POST", "/w" .. ((j * depth + i) % keys), nil, body)
    end
    reqs[j] = table.concat(r)
  end
end
local n = 0
request = function()
  n = n + 1
  return reqs[n % 64 + 1]
end
"""

WRK_RPC = """-- 64-byte RPC: GET of a 64-byte value, DEPTH per send
local req
init = function(args)
  local r = {}
  for i = 1, DEPTH do r[i] = wrk.format("GET", "/rpc") end
  req = table.concat(r)
end
request = function() return req end
"""


def veth_packets(ns, ifname):
    """(rx packets, tx packets) of an interface inside a namespace."""
    r = run(ns_enter(ns) + ["cat", "/proc/net/dev"], 10)
    for line in r.stdout.decode().splitlines():
        if line.strip().startswith(ifname + ":"):
            v = line.split(":", 1)[1].split()
            return int(v[1]), int(v[9])
    return None


class Runner:
    def __init__(self, ctx):
        self.ctx = ctx
        self.estimate = {}   # (system, point id) -> req/s seen

    def requests_for(self, srv, p):
        est = self.estimate.get((srv.name, p["id"]))
        if est is None:
            base = 8000 if p["c"] == 1 else 40000
            if p["P"] > 1:
                base *= 4
            if p["d"] >= 8192:
                base /= 3
            est = base
        n = int(est * self.ctx.seconds)
        return max(n, 200 * p["P"], 2 * p["c"] * p["P"])

    def run_point(self, srv, p, rep):
        # Only paste-kvs's own accounting is needed per point (busy cycles);
        # kernel servers are measured from /proc/stat.
        before_stats = srv.fresh_stats() if srv.family == "paste" else None
        cli_if = self.ctx.tb[srv.side] + "-l"
        pk0 = veth_packets(srv.client_ns, cli_if)
        bridge = self.ctx.bridge if srv.side == "n" else None
        b0 = bridge.cpu_s() if bridge else None
        c0 = cpu_times()
        t0 = now()
        if p["tool"] == "rb":
            res = self.run_rb(srv, p)
        else:
            res = self.run_wrk(srv, p)
        wall = now() - t0
        c1 = cpu_times()
        b1 = bridge.cpu_s() if bridge else None
        pk1 = veth_packets(srv.client_ns, cli_if)
        after_stats = srv.fresh_stats() if srv.family == "paste" else None
        cu, _ = cpu_delta(c0, c1, CLIENT_CORE)
        su, sbusy = cpu_delta(c0, c1, SERVER_CORE)
        res.update(system=srv.name, point=p["id"], rep=rep, wall_s=round(wall, 3),
                   client_util=cu, server_core_util=su)
        if b0 is not None and b1 is not None and wall > 0:
            # The bridge polls, so the client core is always busy; its own
            # share says how much the client tool had left.
            res["bridge_util"] = min(1.0, (b1 - b0) / wall)
        reqs = res.get("requests")
        if pk0 and pk1 and reqs:
            # Frames on the wire per request, seen from the client's veth:
            # to the server (client tx) and from it (client rx).
            res["pkts_in_per_req"] = (pk1[1] - pk0[1]) / reqs
            res["pkts_out_per_req"] = (pk1[0] - pk0[0]) / reqs
        srv_reqs = None
        if before_stats and after_stats:
            srv_reqs = after_stats.get("requests", 0) - before_stats.get("requests", 0)
            res["server_requests"] = srv_reqs
        if srv.family == "paste" and before_stats and after_stats and "busy_cycles" in after_stats:
            hz = after_stats.get("tsc_hz") or self.ctx.tsc_hz
            busy_s = (after_stats["busy_cycles"] - before_stats["busy_cycles"]) / hz
            n = srv_reqs or reqs
            res["server_us_per_req"] = busy_s / n * 1e6 if n else None
            res["server_util"] = min(1.0, busy_s / wall) if wall > 0 else None
        else:
            res["server_us_per_req"] = sbusy / reqs * 1e6 if reqs else None
            res["server_util"] = su
        res["client_bound"] = cu is not None and cu >= CLIENT_BOUND
        if res.get("rps"):
            self.estimate[(srv.name, p["id"])] = res["rps"]
        return res

    def run_rb(self, srv, p):
        n = self.requests_for(srv, p)
        cmd = srv.client(["redis-benchmark", "-h", SERVER_IP, "-p", str(RESP_PORT),
                          "-t", p["op"], "-n", str(n), "-c", str(p["c"]), "-P", str(p["P"]),
                          "-d", str(p["d"]), "-r", str(self.ctx.keyspace), "--csv"])
        r = run(cmd, timeout=self.ctx.seconds * 20 + 30)
        res = parse_rb_csv(r.stdout.decode(errors="replace"))
        if r.returncode != 0 or res is None:
            raise BenchError("%s: redis-benchmark %s failed (exit %d): %s" % (
                srv.name, p["id"], r.returncode,
                (r.stdout + r.stderr).decode(errors="replace")[-400:]))
        res["requests"] = n
        res["errors"] = 0
        return res

    def run_wrk(self, srv, p):
        script = os.path.join(self.ctx.work, "%s-P%d.lua" % (p["op"], p["P"]))
        if not os.path.exists(script):
            src = WRK_POST if p["op"] == "post1k" else WRK_RPC
            src = src.replace("DEPTH", str(p["P"])).replace("KEYS", str(self.ctx.keyspace))
            with open(script, "w") as f:
                f.write(src)
        secs = max(1, int(round(self.ctx.seconds)))
        cmd = srv.client(["wrk", "-t1", "-c", str(p["c"]), "-d", "%ds" % secs, "--latency",
                          "--timeout", "5s", "-s", script,
                          "http://%s:%d/" % (SERVER_IP, HTTP_PORT)])
        r = run(cmd, timeout=secs + 30)
        text = r.stdout.decode(errors="replace")
        res = parse_wrk(text)
        if r.returncode != 0 or res is None:
            raise BenchError("%s: wrk %s failed (exit %d): %s" % (
                srv.name, p["id"], r.returncode, (text + r.stderr.decode())[-400:]))
        if p["P"] > 1:
            # wrk counts responses, but measures latency per send: a
            # pipelined send's latency is that of its last response.
            pass
        return res


# ---- correctness checks (every mode; all that --smoke asserts) -----------

class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.lines = []

    def check(self, ok, what):
        if ok:
            self.passed += 1
            self.lines.append("PASS: " + what)
        else:
            self.failed += 1
            self.lines.append("FAIL: " + what)
        PROG.say(("PASS: " if ok else "FAIL: ") + what)
        return ok


def correctness(srv, checks):
    """SET then GET returns the value (RESP, and HTTP where served)."""
    import random
    rnd = random.Random(hash(srv.name) & 0xffff)
    for size in (64, 1500, 8192):
        val = bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(size))
        key = "smoke:%s:%d" % (srv.name, size)
        r = run(srv.client(["redis-cli", "-h", SERVER_IP, "-p", str(RESP_PORT), "-x", "SET", key]),
                10, input=val)
        ok = r.returncode == 0 and r.stdout.strip() == b"OK"
        r = run(srv.client(["redis-cli", "-h", SERVER_IP, "-p", str(RESP_PORT), "--no-raw",
                            "GET", key]), 10)
        got = r.stdout.strip()
        ok = ok and r.returncode == 0 and got == b'"' + val + b'"'
        checks.check(ok, "%s: RESP SET then GET of a %d-byte value" % (srv.name, size))
    if srv.http:
        val = bytes(rnd.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3000))
        url = "http://%s:%d/smoke-%s" % (SERVER_IP, HTTP_PORT, srv.name)
        r = run(srv.client(["curl", "-sS", "-m", "10", "-X", "PUT", "--data-binary", "@-",
                            "-o", "/dev/null", "-w", "%{http_code}", url]), 15, input=val)
        ok = r.returncode == 0 and r.stdout.strip() == b"200"
        r = run(srv.client(["curl", "-sS", "-m", "10", url]), 15)
        checks.check(ok and r.returncode == 0 and r.stdout == val,
                     "%s: HTTP PUT then GET of a 3000-byte body" % srv.name)


# ---- the run -------------------------------------------------------------

class Context:
    pass


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
    systems = [s for s in systems if testbed_of(s) in testbeds + ["veth"]]
    ctx.nic = any(testbed_of(s) == "nic" for s in systems)
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
    ctx.bridge = None
    if ctx.nic:
        ctx.bridge = Bridge(ctx)
        ctx.bridge.start()

    checks = Checks()
    failures = []
    ctx.failures = failures
    runner = Runner(ctx)
    results = []
    all_systems = systems + delay_systems
    plan = []
    for rep in range(ctx.reps):
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
                    if srv.proc.poll() is not None:
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
                "paste-wal", "paste-copy", "linux-kvs")], args.callgrind)
        except BenchError as e:
            PROG.say("callgrind: %s" % str(e)[:600])
            failures.append(dict(system="callgrind", point=None, rep=0, error=str(e)[:2000]))

    PROG.say("finished in %.0f s" % (now() - t_start))
    return ctx, points, dpoints, results, memory, checks, systems, delay_systems


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


def callgrind_run(ctx, systems, n):
    """User-space instructions per request: each server under callgrind,
    counters zeroed after start-up, then n pipelined 1 KiB SETs and n
    pipelined GETs, each followed by a dump. Valgrind slows the server some
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
            row = dict(system=s, requests=n)
            for op in ("set", "get"):
                run([ctl, "-z", str(pid)], 60, check=True)
                PROG.line("callgrind: %s, %d pipelined 1 KiB %ss" % (s, n, op.upper()))
                if op == "set":
                    pipe_load(srv, n, 1024, prefix="key:", fmt="%012d", timeout=600)
                else:
                    r = run(srv.client(["redis-benchmark", "-h", SERVER_IP, "-p", str(RESP_PORT),
                                        "-t", "get", "-n", str(n), "-c", "10", "-P", "16",
                                        "-r", str(n), "--csv"]), 900)
                    if r.returncode != 0:
                        raise BenchError("%s: redis-benchmark under callgrind failed" % s)
                before = set(os.listdir(ctx.work))
                run([ctl, "-d", str(pid)], 60, check=True)
                total = None
                dump = None
                for fn in sorted(set(os.listdir(ctx.work)) - before):
                    if fn.startswith(os.path.basename(cgfile)):
                        dump = os.path.join(ctx.work, fn)
                        with open(dump) as f:
                            for line in f:
                                if line.startswith("totals:") or line.startswith("summary:"):
                                    total = int(line.split()[1])
                if total is None:
                    raise BenchError("%s: no callgrind dump" % s)
                row["ir_per_%s" % op] = total / n
                row["top_%s" % op] = callgrind_top(dump, n)
            out.append(row)
            PROG.say("callgrind %s: %.0f instructions per SET, %.0f per GET (user space)" % (
                s, row["ir_per_set"], row["ir_per_get"]))
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


# ---- aggregation ---------------------------------------------------------

def aggregate(results):
    groups = {}
    for r in results:
        groups.setdefault((r["system"], r["point"]), []).append(r)
    agg = {}
    for key, rs in groups.items():
        a = dict(system=key[0], point=key[1], reps=len(rs))
        for f in ("rps", "p50", "p99", "avg", "server_us_per_req", "client_util",
                  "server_util", "server_core_util", "pkts_in_per_req", "pkts_out_per_req",
                  "bridge_util"):
            a[f] = median([r.get(f) for r in rs])
        a["rps_all"] = [round(r["rps"], 1) for r in rs]
        # The spread over the repeats: a difference inside it is noise.
        for f in ("rps", "server_us_per_req"):
            xs = [r[f] for r in rs if r.get(f) is not None]
            a[f + "_min"] = min(xs) if xs else None
            a[f + "_max"] = max(xs) if xs else None
        a["errors"] = sum(r.get("errors", 0) or 0 for r in rs)
        a["client_bound"] = a["client_util"] is not None and a["client_util"] >= CLIENT_BOUND
        agg[key] = a
    return agg


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def within_noise(a, b, field="rps"):
    """Whether two points' repeats overlap (min-max of one meets the
    other's): their ratio is then no win and no loss. A point measured once
    has no spread, and its ratio stands as measured."""
    lo_a, hi_a = a.get(field + "_min"), a.get(field + "_max")
    lo_b, hi_b = b.get(field + "_min"), b.get(field + "_max")
    if None in (lo_a, hi_a, lo_b, hi_b) or a.get("reps", 1) < 2 or b.get("reps", 1) < 2:
        return False
    return lo_a <= hi_b and lo_b <= hi_a


def fmt_ratio(r, key):
    """One ratio cell: the factor, "within noise" when the repeats overlap,
    cb when a side was client-bound."""
    if key not in r:
        return "-"
    cell = "%.2f" % r[key]
    if r.get(key + " noise"):
        cell = "within noise (%s)" % cell
    if r.get(key + " client-bound"):
        cell += " cb"
    return cell


def fmt_spread(a, field="rps", digits=0):
    lo, hi = a.get(field + "_min"), a.get(field + "_max")
    if lo is None or hi is None or a.get("reps", 1) < 2:
        return "-"
    return "%s-%s" % (fmt_num(lo, digits), fmt_num(hi, digits))


def targets(agg, memory):
    """The issue's targets, each met / missed / not measured, with the factor."""
    out = []

    def get(sysname, point, field="rps"):
        a = agg.get((sysname, point))
        return (a or {}).get(field), a

    def add(name, value, target, higher_better, detail, bound=False):
        if value is None:
            out.append(dict(target=name, value=None, goal=target, met=None,
                            status="not measured", detail=detail))
            return
        met = value >= target if higher_better else value <= target
        # How far off: the factor the value would have to improve by.
        short = None
        if not met and value and target:
            short = target / value if higher_better else value / target
        status = "met" if met else "missed by %.2fx" % short if short else "missed"
        if bound:
            status += " (a client-bound point: no claim)"
        out.append(dict(target=name, value=round(value, 3), goal=round(target, 3), met=met,
                        factor=round(short, 3) if short else None, status=status,
                        detail=detail))

    sb = "SET d=1024 P=16 c=50"
    pw, a1 = get("paste-wal", sb)
    lk, a2 = get("linux-kvs", sb)
    rd, a3 = get("redis", sb)
    cp, a4 = get("paste-copy", sb)
    bound = any(a and a["client_bound"] for a in (a1, a2))
    add("server-bound 1 KiB SET (P16, 50 conns): paste-kvs / linux-kvs >= 2x", ratio(pw, lk), 2.0,
        True, "%s vs %s req/s" % (fmt_num(pw), fmt_num(lk)), bound)
    add("server-bound 1 KiB SET: paste-kvs / redis (appendfsync always) >= 3x", ratio(pw, rd), 3.0,
        True, "%s vs %s req/s" % (fmt_num(pw), fmt_num(rd)))
    add("server-bound 1 KiB SET: zero-copy / --copy >= 1.3x", ratio(pw, cp), 1.3, True,
        "%s vs %s req/s" % (fmt_num(pw), fmt_num(cp)))
    pw8, _ = get("paste-wal", "SET d=8192 P=16 c=50")
    cp8, _ = get("paste-copy", "SET d=8192 P=16 c=50")
    r1 = ratio(pw, cp)
    r8 = ratio(pw8, cp8)
    add("8 KiB SET: zero-copy / --copy, more than at 1 KiB", r8, r1 if r1 else 1.3, True,
        "%s vs %s req/s" % (fmt_num(pw8), fmt_num(cp8)))
    pd, _ = get("paste-wal+d10", sb)
    ld, _ = get("linux-kvs+d10", sb)
    add("10 us drain, 1 KiB SET (P16, 50 conns): paste-kvs / linux-kvs >= 4x", ratio(pd, ld), 4.0,
        True, "%s vs %s req/s" % (fmt_num(pd), fmt_num(ld)))
    pw_post, _ = get("paste-wal", "post1k P=1 c=50")
    lk_post, _ = get("linux-kvs", "post1k P=1 c=50")
    if pw_post and lk_post:
        out.append(dict(target="(info) wrk 1 KiB POST, 50 conns: paste-kvs / linux-kvs",
                        value=round(ratio(pw_post, lk_post), 3), goal=None, met=None,
                        status="info", detail="%s vs %s req/s" % (fmt_num(pw_post), fmt_num(lk_post))))
    for op in ("SET", "GET"):
        pt = "%s d=1024 P=1 c=1" % op
        p50p, _ = get("paste-wal", pt, "p50")
        p50l, _ = get("linux-kvs", pt, "p50")
        add("1 connection, %s 1 KiB: p50 paste-kvs / linux-kvs <= 0.5" % op, ratio(p50p, p50l), 0.5,
            False, "%s vs %s ms" % (fmt_num(p50p, 3), fmt_num(p50l, 3)))
    worse = []
    compared = 0
    for (s, pt), a in agg.items():
        if s != "paste-wal":
            continue
        b = agg.get(("linux-kvs", pt))
        if not b or a["p99"] is None or b["p99"] is None:
            continue
        compared += 1
        if a["p99"] > b["p99"]:
            worse.append("%s (%.3f vs %.3f ms)" % (pt, a["p99"], b["p99"]))
    if compared:
        out.append(dict(target="p99 paste-kvs no worse than linux-kvs at any point",
                        value=len(worse), goal=0, met=not worse,
                        status="met" if not worse else "missed at %d of %d points" % (len(worse), compared),
                        detail="; ".join(worse)))
    else:
        add("p99 paste-kvs no worse than linux-kvs at any point", None, 0, False, "")
    cpw, _ = get("paste-wal", sb, "server_us_per_req")
    clk, _ = get("linux-kvs", sb, "server_us_per_req")
    add("server core time per request (1 KiB SET, P16, 50 conns): paste-kvs / linux-kvs <= 0.5",
        ratio(cpw, clk), 0.5, False, "%s vs %s us" % (fmt_num(cpw, 2), fmt_num(clk, 2)))
    for tb, sfx in (("afpacket", ""), ("nic", "@nic")):
        for op in ("SET", "GET"):
            pt = "%s d=1024 P=16 c=50" % op
            cp_, _ = get("paste-wal" + sfx, pt, "server_us_per_req")
            cl_, _ = get("linux-kvs", pt, "server_us_per_req")
            if tb == "afpacket" and op == "SET":
                continue    # the target above
            add("[%s] server core time per request (1 KiB %s, P16, 50 conns): paste-kvs / "
                "linux-kvs <= 0.5" % (tb, op), ratio(cp_, cl_), 0.5, False,
                "%s vs %s us" % (fmt_num(cp_, 2), fmt_num(cl_, 2)))
        slower, compared = [], 0
        for (sname, pt), a in agg.items():
            b = agg.get(("linux-kvs", pt))
            if sname != "paste-wal" + sfx or not b or not a["rps"] or not b["rps"]:
                continue
            compared += 1
            if a["rps"] < b["rps"] and not within_noise(a, b):
                slower.append("%s (%.2fx)" % (pt, a["rps"] / b["rps"]))
        name = ("[%s] no point where paste-kvs is slower than linux-kvs beyond the noise of its "
                "repeats" % tb)
        if compared:
            out.append(dict(target=name, value=len(slower), goal=0, met=not slower,
                            status="met" if not slower else "missed at %d of %d points" % (
                                len(slower), compared), detail="; ".join(slower)))
        else:
            add(name, None, 0, False, "")
    mem = {m["system"]: m for m in memory}
    mp = (mem.get("paste-wal") or {}).get("dram_per_key")
    mr = (mem.get("redis") or {}).get("dram_per_key")
    add("DRAM per stored key: paste-kvs / redis <= 0.1", ratio(mp, mr), 0.1, False,
        "%s vs %s bytes" % (fmt_num(mp), fmt_num(mr)))
    return out


def fmt_num(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(v)
    return "{:.{}f}".format(v, digits)


def ratio_cells(row, a, b, key):
    if a and b and a["rps"] and b["rps"]:
        row[key] = round(a["rps"] / b["rps"], 3)
        row[key + " client-bound"] = bool(a["client_bound"] or b["client_bound"])
        row[key + " noise"] = within_noise(a, b)


def ratios_table(agg, order=()):
    """paste-kvs's req/s over the others', per point and per testbed of
    paste-kvs (afpacket, nic), the two testbeds' rows next to each other."""
    rows = []
    seen = {pt for (_, pt) in agg}
    points = [pt for pt in order if pt in seen] + sorted(seen - set(order))
    for pt in points:
        for tb, sfx in (("afpacket", ""), ("nic", "@nic")):
            pw = agg.get(("paste-wal" + sfx, pt))
            if not pw:
                continue
            row = dict(point=pt, testbed=tb)
            for other, key in (("linux-kvs", "paste/linux-kvs"), ("redis", "paste/redis"),
                               ("paste-copy" + sfx, "zero-copy/copy")):
                ratio_cells(row, pw, agg.get((other, pt)), key)
            rows.append(row)
    for tb, sfx in (("afpacket", ""), ("nic", "@nic")):
        for pt in points:
            row = {"point": pt + " (10 us drain)", "testbed": tb}
            ratio_cells(row, agg.get(("paste-wal" + sfx + "+d10", pt)),
                        agg.get(("linux-kvs+d10", pt)), "paste/linux-kvs")
            if "paste/linux-kvs" in row:
                rows.append(row)
    return rows


# ---- reports -------------------------------------------------------------

def machine_info():
    def cmd(argv):
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
            return r.stdout.decode(errors="replace").strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    lscpu = cmd(["lscpu"])
    keep = {}
    for line in lscpu.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            if k.strip() in ("Architecture", "Model name", "CPU(s)", "Thread(s) per core",
                             "Hypervisor vendor", "Virtualization type", "L1d cache", "L2 cache",
                             "L3 cache", "CPU MHz", "BogoMIPS", "Flags"):
                v = v.strip()
                if k.strip() == "Flags":
                    v = " ".join(f for f in v.split() if f in (
                        "clflush", "clflushopt", "clwb", "sse4_2", "avx2", "avx512f", "constant_tsc",
                        "nonstop_tsc", "invariant_tsc", "tsc_known_freq"))
                keep[k.strip()] = v
    mem = ""
    with open("/proc/meminfo") as f:
        m = re.search(r"MemTotal:\s+(\d+)", f.read())
        mem = "%.1f GiB" % (int(m.group(1)) / 1048576) if m else ""
    return dict(
        lscpu=keep, memory=mem, kernel=platform.release(),
        os=cmd(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        redis_server=cmd(["redis-server", "--version"]),
        redis_benchmark=cmd(["redis-benchmark", "--version"]),
        wrk=cmd(["sh", "-c", "wrk -v 2>&1 | head -n 1"]),
        gcc=cmd(["sh", "-c", "gcc --version | head -n 1"]),
        dpdk=cmd(["pkg-config", "--modversion", "libdpdk"]),
        libpmem=cmd(["pkg-config", "--modversion", "libpmem"]),
        commit=cmd(["git", "-C", REPO, "describe", "--always", "--dirty"]),
        tsc_hz=None)


def write_plots(ctx, agg, systems, outdir, prefix):
    """PNG plots: throughput and latency against connections, per system."""
    gp = shutil.which("gnuplot")
    if not gp:
        return []
    groups = {}
    for (s, pt), a in agg.items():
        m = re.match(r"(\S+)( d=\d+)? P=(\d+) c=(\d+)$", pt)
        if not m:
            continue
        g = "%s%s P=%s" % (m.group(1), m.group(2) or "", m.group(3))
        groups.setdefault(g, {}).setdefault(s, []).append((int(m.group(4)), a))
    made = []
    for g, per in sorted(groups.items()):
        if all(len(v) < 2 for v in per.values()):
            continue   # one connection count: no curve to draw
        slug = re.sub(r"[^A-Za-z0-9]+", "-", g).strip("-").lower()
        datafiles = []
        for s, pts in sorted(per.items()):
            fn = os.path.join(ctx.work, "plot-%s-%s.dat" % (slug, s))
            with open(fn, "w") as f:
                for c, a in sorted(pts, key=lambda x: x[0]):
                    f.write("%d %s %s %s\n" % (c, a["rps"] or 0, a["p50"] or 0, a["p99"] or 0))
            datafiles.append((s, fn))
        png = os.path.join(outdir, "%s-%s.png" % (prefix, slug))
        plot_t = ", ".join("'%s' using 1:2 with linespoints title '%s'" % (fn, s) for s, fn in datafiles)
        plot_l = ", ".join("'%s' using 1:3 with linespoints title '%s p50', '%s' using 1:4 with "
                           "linespoints dashtype 2 title '%s p99'" % (fn, s, fn, s) for s, fn in datafiles)
        script = """set terminal pngcairo size 1300,460 font ',9'
set output '%s'
set multiplot layout 1,2 title '%s (%s run)'
set xlabel 'connections'
set ylabel 'requests/s'
set key top left font ',8'
set grid
set yrange [0:*]
plot %s
set ylabel 'latency (ms; p99 dashed)'
set key outside right font ',7'
set logscale y
set yrange [*:*]
plot %s
unset multiplot
""" % (png, g, ctx.mode, plot_t, plot_l)
        r = subprocess.run([gp], input=script.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if r.returncode == 0 and os.path.exists(png):
            made.append(png)
    return made


def fmt_pct(v):
    return "-" if v is None else "%.0f%%" % (v * 100)


def write_markdown(path, doc):
    ctx = doc["config"]
    lines = []
    w = lines.append
    w("# Benchmarks: paste-kvs, linux-kvs and Redis side by side")
    w("")
    w("Generated by `bench/run.sh%s` on %s (commit %s). Do not edit by hand: "
      "the explanations come from `bench/notes.md`." % (
          " --quick" if ctx["mode"] == "quick" else "", doc["date"], doc["machine"]["commit"]))
    w("")
    w("## Machine and versions")
    w("")
    m = doc["machine"]
    for k, v in m["lscpu"].items():
        w("- %s: %s" % (k, v))
    w("- memory: %s" % m["memory"])
    w("- kernel: %s (%s)" % (m["kernel"], m["os"]))
    w("- %s; %s; %s" % (m["redis_server"], m["redis_benchmark"], m["wrk"]))
    w("- %s; DPDK %s; libpmem %s" % (m["gcc"], m["dpdk"], m["libpmem"]))
    w("- TSC: %.3f GHz (converts paste's busy cycles to time)" % ((ctx.get("tsc_hz") or 0) / 1e9))
    w("")
    w("## How it was measured")
    w("")
    w("- Testbeds: veth pairs across network namespaces (`scripts/testbed.sh`), one per "
      "kind of server, clients in the Linux namespace of the same pair. linux-kvs and "
      "redis-server listen on 198.18.0.1 on their own pair. paste-kvs runs on two testbeds, "
      "side by side in every table: **afpacket** (systems without a suffix): DPDK's "
      "`net_af_packet` on the veth, so the kernel is its NIC and every transmit burst is a "
      "`sendto` and a kernel copy on paste's own core (the worst case); **nic** (systems "
      "ending in `@nic`): its port is a `net_memif` whose other end is a bridge, "
      "`dpdk-testpmd` in io mode forwarding between the memif and an af_packet on the veth, "
      "pinned to the client core, so paste's core makes no system call, as with a NIC that "
      "DMAs. The bridge busy-polls and shares the client core with the client tool: the "
      "`bridge` column is its share of that core.")
    w("- Receive work: RPS (`rx-0/rps_cpus`) on every veth puts a frame's receive processing "
      "on the core of the process that reads it (server veths on core 1, client veths and "
      "the bridge's veth on core 0), as interrupt affinity does with a NIC; without it, a "
      "veth runs the receiver's TCP input on the sender's core, and kernel servers would get "
      "theirs for free on the client's core.")
    w("- Cores: the server is pinned to core 1 (EAL `-l 1`, `taskset -c 1`), every client to "
      "core 0. One server at a time. paste-kvs busy-polls (`--busy-poll`).")
    w("- %d repeat(s) per point, interleaved: each repeat runs every system in turn (the order "
      "rotated), each from a fresh pool, so slow drift of a shared machine hits all of them. "
      "Figures are medians, with the min-max over the repeats beside them; a ratio whose "
      "two sides' repeats overlap is reported as within noise. Runs of about %.1f s per point."
      % (ctx["reps"], ctx["seconds"]))
    w("- Clients: `redis-benchmark -r %d --csv` (Redis %s; SET and GET; -d value bytes; "
      "-P pipeline depth; -c connections; p50 and p99 from its histogram) and `wrk -t1 --latency` "
      "with Lua scripts (1 KiB POSTs over %d keys; 64-byte RPC = GET of a 64-byte value; "
      "pipelined variants send P requests per write). GETs run after the keyspace is loaded "
      "with values of the point's size." % (ctx["keyspace"], m["redis_benchmark"].split()[-1] if m["redis_benchmark"] else "?",
                                            ctx["keyspace"]))
    w("- Persistence: paste-kvs and linux-kvs keep values in a pool file on /dev/shm with "
      "`--persist flush` (cache-line flushes and one sfence per drain: persistent memory "
      "emulated in DRAM); redis-server has `appendonly yes`, `appendfsync always`, its "
      "directory on the same tmpfs. `+d10` rows add `--pm-drain-delay-us 10` (every drain that "
      "makes data durable waits 10 us more, PASTE's slow-PM experiment).")
    w("- Utilisation: per-core busy time from /proc/stat over each run. A point whose client "
      "core was at least %d%% busy is **client-bound** (marked `cb`): the client, not the "
      "server, set the rate, and no ratio is claimed from it. Server capacity comes from the "
      "pipelined points. On the nic testbed the bridge's polling keeps the client core busy, "
      "so its points are all client-bound: there, server core time per request is the "
      "figure to compare." % int(CLIENT_BOUND * 100))
    w("- Server time per request: kernel servers: busy time of core 1 / requests (includes the "
      "kernel's TCP work done on that core). paste-kvs: TSC cycles of the polls that did work "
      "(its own `busy_cycles`) / requests it counted; its core is always 100% busy because it "
      "polls, so its utilisation column is busy cycles / wall time.")
    w("")
    w("## Targets")
    w("")
    w("| target | value | goal | status | detail |")
    w("|---|---|---|---|---|")
    for t in doc["targets"]:
        w("| %s | %s | %s | %s | %s |" % (t["target"], "-" if t["value"] is None else t["value"],
                                          "-" if t.get("goal") is None else t["goal"],
                                          t["status"],
                                          t.get("detail", "")))
    w("")
    w("## Ratios (requests/s)")
    w("")
    w("`cb`: one side client-bound, no claim. `within noise`: the two systems' req/s over "
      "the repeats overlap (min-max), so the ratio is neither a win nor a loss. The testbed "
      "column is paste-kvs's: `afpacket` (the kernel is its NIC) or `nic` (a memif bridged "
      "on the client core); the kernel servers' veth is the same in both.")
    w("")
    w("| point | testbed | paste/linux-kvs | paste/redis | zero-copy/copy |")
    w("|---|---|---|---|---|")
    for r in doc["ratios"]:
        cells = [fmt_ratio(r, k) for k in ("paste/linux-kvs", "paste/redis", "zero-copy/copy")]
        w("| %s | %s | %s |" % (r["point"], r.get("testbed", "afpacket"), " | ".join(cells)))
    w("")
    w("## All points")
    w("")
    w("req/s and latency are medians over the repeats, `req/s min-max` their spread; "
      "`srv us/req` is server core time per request (the cost; min-max beside it); "
      "`cli`/`srv` are the client and server core utilisation, `bridge` the nic testbed's "
      "forwarder's share of the client core. `@nic` systems are paste-kvs on the nic testbed, "
      "the others without it on the afpacket testbed.")
    w("")
    w("| point | system | srv us/req | us/req min-max | req/s | req/s min-max | p50 ms | p99 ms "
      "| cli | bridge | srv | frames in/out per req | note |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    order = doc["systems"] + doc["delay_systems"]
    pts = []
    for p in doc["points"] + doc["delay_points"]:
        if p["id"] not in pts:
            pts.append(p["id"])
    aggmap = {(a["system"], a["point"]): a for a in doc["aggregate"]}
    for pt in pts:
        for s in order:
            a = aggmap.get((s, pt))
            if not a:
                continue
            note = "cb" if a["client_bound"] else ""
            if a["errors"]:
                note += " %d errors" % a["errors"]
            w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s |" % (
                pt, s, fmt_num(a["server_us_per_req"], 2),
                fmt_spread(a, "server_us_per_req", 2), fmt_num(a["rps"]), fmt_spread(a),
                fmt_num(a["p50"], 3), fmt_num(a["p99"], 3), fmt_pct(a["client_util"]),
                fmt_pct(a.get("bridge_util")), fmt_pct(a["server_util"]),
                fmt_num(a.get("pkts_in_per_req"), 2), fmt_num(a.get("pkts_out_per_req"), 2),
                note.strip()))
    w("")
    w("## Memory and space")
    w("")
    if doc["memory"]:
        w("%d distinct keys with 1 KiB values loaded into a fresh server (pipelined, "
          "`redis-cli --pipe`). DRAM: growth of the server's RSS. Persistent: pool buffers kept "
          "x buffer size (paste-kvs, linux-kvs; index structures included) or the AOF's bytes "
          "(Redis). Amplification: persistent bytes / value bytes." % doc["memory"][0]["keys"])
        w("")
        w("| system | DRAM bytes/key | persistent bytes/key | space amplification | load s |")
        w("|---|---|---|---|---|")
        for mm in doc["memory"]:
            w("| %s | %s | %s | %.2f | %s |" % (mm["system"], fmt_num(mm["dram_per_key"]),
                                               fmt_num(mm["persistent_per_key"]),
                                               mm["space_amplification"], mm["load_s"]))
    else:
        w("(not measured in this run)")
    w("")
    if doc.get("callgrind"):
        w("## Instructions per request (callgrind)")
        w("")
        w("User-space instructions only (valgrind's callgrind; perf counters are not available "
          "in this VM), counted after start-up over %d pipelined 1 KiB SETs (`redis-cli --pipe`) "
          "and as many GETs (`redis-benchmark -P 16 -c 10`). The kernel's share (syscalls, the "
          "TCP stack for linux-kvs, the af_packet ring for paste-kvs) is not in these numbers."
          % doc["callgrind"][0]["requests"])
        w("")
        w("| system | instructions per SET | instructions per GET |")
        w("|---|---|---|")
        for c in doc["callgrind"]:
            w("| %s | %s | %s |" % (c["system"], fmt_num(c.get("ir_per_set")),
                                    fmt_num(c.get("ir_per_get"))))
        w("")
        for c in doc["callgrind"]:
            for op in ("set", "get"):
                if c.get("top_" + op):
                    w("%s, %s: instructions per request by function (own cost): %s" % (
                        c["system"], op.upper(), "; ".join(
                            "`%s` %s" % (fn, fmt_num(v)) for fn, v in c["top_" + op][:8])))
                    w("")
    if doc.get("profile"):
        w("## Where the server core's time goes (perf)")
        w("")
        w("The server core sampled with perf's `cpu-clock` event (%d Hz, a timer: no hardware "
          "counters needed) over %d pipelined 1 KiB SETs and as many GETs (`redis-benchmark "
          "-P 16 -c 50`), in microseconds of that core per request. `kernel` is every kernel "
          "function that ran on the core apart from idle: the server's system calls and TCP "
          "stack, the af_packet ring for paste-kvs, and the veth and the client's TCP receive "
          "path, which run on the sender's core. paste-kvs busy-polls: its empty polls "
          "(`sys_now`, `pst_cycles`, `pst_stack_poll`, the RX call) count as server code here, "
          "so where the client, not paste-kvs, is the limit its figures are upper bounds; the "
          "`srv us/req` column above counts only polls that did work." % (doc["profile"][0]["hz"],
                                                        doc["profile"][0]["requests"]))
        w("")
        w("| system | op | busy us/req | server code | libc | DPDK libs | kernel | other | idle share |")
        w("|---|---|---|---|---|---|---|---|---|")
        for pr in doc["profile"]:
            for op in ("set", "get"):
                o = pr.get(op)
                if not o:
                    continue
                u = o["us_per_req"]
                w("| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %d%% |" % (
                    pr["system"], op.upper(), o["busy_us_per_req"], u["server"], u["libc"],
                    u["dpdk"], u["kernel"], u["other_user"], round(100 * o["idle_share"])))
        w("")
        for pr in doc["profile"]:
            for op in ("set", "get"):
                o = pr.get(op)
                if o and o.get("top"):
                    w("%s, %s: us per request by function: %s" % (
                        pr["system"], op.upper(), "; ".join(
                            "`%s` %.3f" % (fn, v) for fn, v in o["top"][:10])))
                    w("")
    if doc.get("failures"):
        w("## Failures")
        w("")
        w("Points that did not complete (recorded, not averaged in):")
        w("")
        for f in doc["failures"]:
            w("- %s, %s, repeat %d: %s" % (f["system"], f["point"] or "start/load",
                                           f["rep"] + 1, f["error"].splitlines()[0][:300]))
        w("")
    if doc.get("plots"):
        w("## Plots")
        w("")
        for p in doc["plots"]:
            rel = os.path.relpath(p, os.path.dirname(path))
            w("![%s](%s)" % (os.path.basename(p), rel))
            w("")
    notes = os.path.join(REPO, "bench", "notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            w(f.read().rstrip())
        w("")
    w("## Raw data")
    w("")
    w("`bench/results/%s` (every repeat of every point, the machine, the configuration), "
      "written by the run; `bench/run.sh --report FILE` makes this page again from it. Per "
      "bench/results/README.md, only runs made deliberately on a quiet machine are "
      "committed." % doc.get("json_name", "latest.json"))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def print_summary(doc):
    aggmap = {(a["system"], a["point"]): a for a in doc["aggregate"]}
    order = doc["systems"] + doc["delay_systems"]
    pts = []
    for p in doc["points"] + doc["delay_points"]:
        if p["id"] not in pts:
            pts.append(p["id"])
    print("%-22s %-19s %7s %10s %17s %8s %8s %5s %5s %5s %11s" % (
        "point", "system", "us/req", "req/s", "req/s min-max", "p50ms", "p99ms", "cli",
        "bridg", "srv", "frames i/o"))
    for pt in pts:
        for s in order:
            a = aggmap.get((s, pt))
            if not a:
                continue
            print("%-22s %-19s %7s %10s %17s %8s %8s %5s %5s %5s %5s/%-5s%s" % (
                pt, s, fmt_num(a["server_us_per_req"], 2), fmt_num(a["rps"]), fmt_spread(a),
                fmt_num(a["p50"], 3), fmt_num(a["p99"], 3), fmt_pct(a["client_util"]),
                fmt_pct(a.get("bridge_util")), fmt_pct(a["server_util"]),
                fmt_num(a.get("pkts_in_per_req"), 2), fmt_num(a.get("pkts_out_per_req"), 2),
                "  client-bound" if a["client_bound"] else ""))
    if doc["ratios"]:
        print()
        print("%-34s %-8s %24s %24s %24s" % ("ratio of req/s (cb: client-bound)", "testbed",
                                            "paste/linux-kvs", "paste/redis", "zero-copy/copy"))
        for r in doc["ratios"]:
            cells = [fmt_ratio(r, k) for k in ("paste/linux-kvs", "paste/redis", "zero-copy/copy")]
            print("%-34s %-8s %24s %24s %24s" % (r["point"], r.get("testbed", "afpacket"),
                                                 cells[0], cells[1], cells[2]))
    if doc["memory"]:
        print()
        print("%-15s %14s %16s %8s" % ("memory", "DRAM B/key", "persistent B/key", "ampl."))
        for m in doc["memory"]:
            print("%-15s %14s %16s %8.2f" % (m["system"], fmt_num(m["dram_per_key"]),
                                             fmt_num(m["persistent_per_key"]),
                                             m["space_amplification"]))
    print()
    print("targets:")
    for t in doc["targets"]:
        word = ("not measured" if t["status"].startswith("not") else
                t["status"].split()[0])
        if word == "not measured" and doc["config"]["mode"] == "demo":
            continue
        print("  %-12s %s: %s%s" % (
            word, t["target"], "-" if t["value"] is None else t["value"],
            " (%s)" % t["status"] if word == "missed" else ""))


def report(doc, docpath=None, work=None):
    """doc/benchmarks.md and its plots from a result document."""
    docpath = docpath or os.path.join(REPO, "doc", "benchmarks.md")
    # From the runs: a JSON file of an older run gets the spreads too.
    agg = aggregate(doc["runs"])
    doc["aggregate"] = sorted(agg.values(), key=lambda a: (a["point"], a["system"]))
    # Targets and ratios are recomputed: a report made again from an older
    # JSON file follows the current definitions.
    doc["ratios"] = ratios_table(agg, [p["id"] for p in doc["points"]])
    doc["targets"] = targets(agg, doc.get("memory", []))
    tmp = work or os.path.join("/tmp", "paste-bench-report.%d" % os.getpid())
    os.makedirs(tmp, exist_ok=True)
    if not work:
        CLEAN.paths.append(tmp)
    pctx = Context()
    pctx.work = tmp
    pctx.mode = doc["config"]["mode"]
    imgdir = os.path.join(os.path.dirname(os.path.abspath(docpath)), "img")
    os.makedirs(imgdir, exist_ok=True)
    plots = write_plots(pctx, agg, doc["systems"] + doc["delay_systems"], imgdir, "bench")
    doc["plots"] = plots
    write_markdown(docpath, doc)
    PROG.say("wrote %s and %d plot(s)" % (docpath, len(plots)))


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
    ap.add_argument("--points", metavar="REGEX",
                    help="only the points whose name matches, e.g. 'SET d=1024 P=16 c=50'")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="also sample the server core with perf (cpu-clock) over N pipelined "
                    "1 KiB SETs and GETs per server: where its time goes, per request")
    ap.add_argument("--no-delay", action="store_true")
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
        args.no_memory = args.no_delay = args.no_doc = True
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
                               client_core=CLIENT_CORE, client_bound=CLIENT_BOUND),
                   systems=systems, delay_systems=dsys,
                   labels={s: SYSTEMS[s][4] for s in systems + dsys},
                   points=points, delay_points=dpoints, runs=results,
                   aggregate=sorted(agg.values(), key=lambda a: (a["point"], a["system"])),
                   memory=memory, callgrind=ctx.callgrind,
                   profile=ctx.profile, failures=ctx.failures, checks=dict(passed=checks.passed, failed=checks.failed,
                                              lines=checks.lines))
        doc["ratios"] = ratios_table(agg, [p["id"] for p in points])
        doc["targets"] = targets(agg, memory)
        if not args.smoke and not args.demo:
            outdir = args.out or os.path.join(REPO, "bench", "results")
            os.makedirs(outdir, exist_ok=True)
            stamp = date.replace(":", "").replace("-", "")
            name = "kvs-%s%s.json" % (stamp, "-quick" if ctx.mode == "quick" else "")
            doc["json_name"] = name
            for fn in (name, "latest.json"):
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
        print_summary(doc)
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
