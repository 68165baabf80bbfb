# SPDX-License-Identifier: BSD-3-Clause
"""The load: the matrix of points, loading keys, the clients
(redis-benchmark, wrk) and their output, one point's measurement
(Runner), and the correctness checks."""

import csv
import io
import os
import re
import subprocess

from common import (
    BenchError, CLEAN, CLIENT_BOUND, CLIENT_CORE, HTTP_PORT, PROG, RESP_PORT, SERVER_CORE,
    SERVER_IP, cpu_delta, cpu_times, now, ns_enter, run, stop_proc)


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
