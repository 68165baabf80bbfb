# SPDX-License-Identifier: BSD-3-Clause
"""The systems under test: paste-kvs (on either testbed), linux-kvs and
redis-server; starting, readiness, statistics, stopping."""

import os
import re
import shutil
import signal
import time

from common import (
    BenchError, CLEAN, CLIENT_CORE, PERSIST_MODE, PREFIX_LEN, RESP_PORT, SERVER_CORE,
    SERVER_IP,
    dir_bytes, kv_fields, now, ns_cmd, ns_enter, read_text, rss_kb, run, spawn_logged,
    stop_proc)


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
        self.proc = spawn_logged(self.command(pool_bufs), self.log, self.stop_signal)
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

    def alive(self):
        """Still able to answer: its process (and, on the nic testbed, the
        bridge) running."""
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        return read_text(self.log)

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
               "--busy-poll", "--stats-period", "0.1", "--max-conns", "1024",
               "--persist", PERSIST_MODE]
        cmd += self.ctx.kvs_extra + getattr(self, "extra", [])
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
    bridge (testbeds.Bridge) on the client core, so the server core makes no
    system call, as with a NIC that DMAs."""
    side = "n"

    def start(self, pool_bufs):
        # The bridge runs only while a nic system does: it busy-polls the
        # client core that the other systems' clients need.
        self.ctx.bridge.start(self.name)
        super().start(pool_bufs)

    def stop(self):
        # The bridge stops forwarding first (see Bridge.pause), then
        # paste-kvs leaves, then the bridge: no memif disconnect while it
        # forwards.
        self.ctx.bridge.pause()
        rc = super().stop()
        self.ctx.bridge.stop(self.name)
        return rc

    def alive(self):
        return super().alive() and self.ctx.bridge.running()

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
            "--max-conns", "1024", "--persist", PERSIST_MODE])
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
