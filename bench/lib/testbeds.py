# SPDX-License-Identifier: BSD-3-Clause
"""The namespace testbeds: veth pairs (scripts/testbed.sh), RPS steering of
their receive work, and the nic testbed's bridge (dpdk-testpmd)."""

import os
import re
import signal
import time

from common import (
    BenchError, CLEAN, CLIENT_CORE, SERVER_CORE, TESTBED, now, ns_cmd, ns_enter, read_text,
    run, spawn_logged, stop_proc)


# ---- testbeds ------------------------------------------------------------

def reap_stale():
    """Testbeds of earlier runs whose process died without cleaning up."""
    r = run(["ip", "netns", "list"], 10)
    for line in r.stdout.decode().splitlines():
        m = re.match(r"^(pb[pkns](\d+))-(paste|linux)\b", line)
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
        self.proc = spawn_logged(self.command(), self.log, signal.SIGTERM)
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
        return read_text(self.log)

    def check(self):
        """Raise if the bridge is no longer running (with its log's tail)."""
        if self.proc is None or self.proc.poll() is not None:
            raise BenchError("the nic bridge (dpdk-testpmd) is not running (status %s):\n%s" % (
                None if self.proc is None else self.proc.returncode,
                "\n".join(self.log_text().splitlines()[-12:])))

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
