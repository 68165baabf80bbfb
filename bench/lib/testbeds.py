# SPDX-License-Identifier: BSD-3-Clause
"""The namespace testbeds: veth pairs (scripts/testbed.sh), RPS steering of
their receive work, and the nic testbed's bridge (dpdk-testpmd)."""

import os
import re
import signal
import subprocess
import time

from common import (
    BenchError, CLEAN, CLIENT_CORE, PROG, SERVER_CORE, TESTBED, now, ns_cmd, ns_enter,
    proc_cpu_s, read_text, run, spawn_logged, stop_proc)


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
    client core. Two lcores on one CPU: the main lcore only waits.

    It busy-polls the client core, so it runs only while a nic system
    does (PasteKvsNic starts it before paste-kvs and stops it after):
    the kernel servers' and the afpacket points' clients get the core to
    themselves. A bridge that died on its own is recorded in the run's
    failures and the next nic system starts a new one."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.prefix = "pbench%d_bridge" % os.getpid()
        self.proc = None
        self.starts = 0
        self.log = None
        # CPU and wall seconds of the lifetimes that ended, so that cpu_s()
        # counts every lifetime of the run.
        self.cpu_done = 0.0
        self.up_done = 0.0
        self.cpu_last = 0.0
        self.t_start = None
        self.died = []       # exit statuses of bridges that stopped on their own
        self.stop_status = []    # unexpected exit statuses on our stop signal

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
            # Interactive on a pipe that stays open (at its end testpmd
            # quits): pause() stops forwarding before paste-kvs leaves.
            "-i", "--auto-start"])

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, who):
        """Start a bridge for system WHO unless one runs; one that died is
        recorded."""
        if self.running():
            return
        if self.proc is not None:
            self.ended(self.proc.returncode, "before %s started" % who)
        self.starts += 1
        self.log = os.path.join(self.ctx.work, "bridge.%d.log" % self.starts)
        if self.starts == 1:
            CLEAN.paths.append("/var/run/dpdk/" + self.prefix)
        self.proc = spawn_logged(self.command(), self.log, signal.SIGTERM, subprocess.PIPE)
        self.t_start = now()
        self.cpu_last = 0.0
        deadline = now() + 30
        while now() < deadline:
            if "packet forwarding - ports=2" in self.log_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        # Reported once, by the error below (not as a bridge that died).
        if self.proc.poll() is None:
            stop_proc(self.proc, signal.SIGTERM, 10)
        self.close_lifetime()
        raise BenchError("the nic bridge (dpdk-testpmd) did not start forwarding:\n%s"
                         % self.log_tail())

    def command_line(self, line):
        """One testpmd command on its stdin; False if it is gone."""
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def pause(self):
        """Stop forwarding, before the memif peer disconnects: DPDK 22.11's
        memif unmaps the peer's rings on its control thread while the
        forwarding lcore may be reading them (a SIGSEGV seen in 5 of 25
        such disconnects, bench/notes.md). Bounded: a bridge that does not
        answer is stopped by stop() all the same."""
        if not self.running():
            return
        n0 = self.log_text().count("Done.")
        if not self.command_line("stop"):
            return
        deadline = now() + 10
        while now() < deadline and self.running():
            if self.log_text().count("Done.") > n0:
                return
            time.sleep(0.02)

    def log_text(self):
        return read_text(self.log) if self.log else ""

    def log_tail(self):
        return "\n".join(self.log_text().splitlines()[-12:])

    def ended(self, status, when):
        """Account a lifetime that ended without our stop signal."""
        self.died.append(status)
        msg = "the nic bridge (dpdk-testpmd) exited with status %s %s:\n%s" % (
            status, when, self.log_tail())
        self.ctx.failures.append(dict(system="bridge", point=None,
                                      rep=getattr(self.ctx, "rep", 0), error=msg[:2000]))
        PROG.say(msg.splitlines()[0])
        self.close_lifetime()

    def close_lifetime(self):
        self.cpu_done += self.cpu_last
        self.up_done += now() - self.t_start
        self.cpu_last = 0.0
        CLEAN.forget(self.proc)
        try:
            self.proc.stdin.close()
        except OSError:
            pass    # a pipe to a dead process
        self.proc = None

    def cpu_s(self):
        """CPU seconds the bridges of this run have used so far (all their
        threads, every lifetime). A dead one counts up to its last reading."""
        if self.proc is not None:
            try:
                self.cpu_last = proc_cpu_s(self.proc.pid)
            except OSError:
                pass    # reaped: its last reading stands
        return self.cpu_done + self.cpu_last

    def stop(self, who):
        """Stop the bridge after system WHO; False if it had died on its own."""
        if self.proc is None:
            return True
        if self.proc.poll() is not None:
            self.ended(self.proc.returncode, "while %s ran" % who)
            return False
        # Its last reading before the signal: the few ms of its shutdown
        # are not counted.
        self.cpu_s()
        rc = None
        if self.command_line("quit"):
            try:
                rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if rc is None:
            rc = stop_proc(self.proc, signal.SIGTERM, 10)
        if rc not in (0, -signal.SIGTERM):
            # Died during its shutdown (after the nic system's points).
            self.stop_status.append(rc)
        self.close_lifetime()
        return True

    def summary(self):
        """The run's bridge figures for the JSON."""
        return dict(starts=self.starts, cpu_s=round(self.cpu_s(), 3),
                    up_s=round(self.up_done + (now() - self.t_start if self.proc else 0), 3),
                    died=self.died, stop_status=self.stop_status)
