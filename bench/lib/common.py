# SPDX-License-Identifier: BSD-3-Clause
"""Process control shared by the bench modules: errors, progress lines,
the cleanup registry, commands in a namespace, per-core CPU time."""

import os
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
# Named, never the servers' default (auto: msync off persistent memory), so
# the baselines do not move with it: flush is the NVMM emulation on /dev/shm.
PERSIST_MODE = "flush"
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
        self.mounts = []
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
        for path in reversed(self.mounts):
            subprocess.run(["umount", path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        self.mounts = []
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


def proc_cpu_s(pid):
    """CPU seconds (user and system, all threads) of a process; OSError
    once it is gone."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


# ---- the run -------------------------------------------------------------

class Context:
    pass


def spawn_logged(cmd, log, sig, stdin=subprocess.DEVNULL):
    """Start a long-running process with its output in LOG (its command
    line in LOG.cmd), registered for cleanup with its stop signal."""
    with open(log + ".cmd", "w") as f:
        f.write(" ".join(cmd) + "\n")
    with open(log, "w") as logf:
        return CLEAN.proc(subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                           stdin=stdin), sig)


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""
