#!/usr/bin/python3
"""RESP and HTTP clients for the paste-kvs tests (standard library only).

  kvs_client.py load HOST PORT LOG --conns N --keys K [--prefix P] [--seconds S]
      N connections write distinct keys (values derived from the key, 1 B to
      6 KiB so that they span segments and buffers); every key whose +OK came
      back is appended to LOG (one line, flushed) before the next request.
      Runs until K keys are written, S seconds pass or the server goes away.
      With --mset M, every M-th request of a connection is an MSET of three
      new keys whose values span several 2 KiB buffers: its keys are listed
      on one line of LOG.units before it is sent, and in LOG once its +OK
      came back. With --multi X, every X-th request (the next one after an
      MSET's turn) is a transaction: MULTI, four SETs of new keys (KEY/eN)
      whose values span several buffers, EXEC, pipelined as redis-py's
      pipeline(transaction=True) sends them; listed in LOG.units likewise,
      its keys in LOG once EXEC's four +OK came back.
  kvs_client.py verify HOST PORT LOG
      GETs every key listed in LOG; exits 1 on any missing or different value.
  kvs_client.py verify-units HOST PORT LOG.units
      Every MSET and every EXEC sent (acknowledged or not) holds all its
      keys with their values or none of them (a unit: issue 24); counts
      each kind whole, absent and cut; exits 1 on one cut.
  kvs_client.py basic HOST RESP_PORT HTTP_PORT
      Every command the server supports, over RESP and HTTP, with answers.
  kvs_client.py fill HOST PORT
      Writes 8 KiB values until the pool is full: the server must answer
      -OOM (not stall), keep serving another connection, and accept writes
      again after FLUSHALL.
  kvs_client.py malformed HOST RESP_PORT HTTP_PORT
      While one connection keeps writing and reading back, others send broken
      requests; each must get the right error; the loaded one sees no error.
"""
import hashlib
import socket
import sys
import threading
import time


def value_for(key: bytes) -> bytes:
    h = hashlib.sha256(key).digest()
    n = 1 + (h[0] << 8 | h[1]) % 6000
    out = bytearray()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:n])


class Resp:
    def __init__(self, host, port, timeout=20):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(parts))

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise ConnectionError("server closed the connection")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            return (t.decode(), rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if t == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise ValueError("bad reply line %r" % line)

    def send_all(self, cmds):
        """Several requests in one write (pipelined)."""
        parts = []
        for args in cmds:
            parts.append(b"*%d\r\n" % len(args))
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(parts))

    def cmd(self, *args):
        self.send(*args)
        return self.reply()


def http(host, port, method, path, body=None, timeout=20):
    s = socket.create_connection((host, port), timeout=timeout)
    req = "%s %s HTTP/1.1\r\nHost: kvs\r\nConnection: close\r\n" % (method, path)
    if body is not None:
        req += "Content-Length: %d\r\n" % len(body)
    s.sendall(req.encode() + b"\r\n" + (body or b""))
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return status, payload


def unit_value(key: bytes) -> bytes:
    """An MSET's value: 2500 bytes or more, several pool buffers."""
    v = value_for(key)
    return v * (2500 // len(v) + 1)


EXEC_OK = [("+", "OK")] + [("+", "QUEUED")] * 4 + [[("+", "OK")] * 4]


def load(host, port, log, conns=4, keys=5000, prefix="k", seconds=60, mset=0, multi=0):
    lock = threading.Lock()
    counter = [0]
    deadline = time.time() + seconds
    f = open(log, "a", buffering=1)
    fu = open(log + ".units", "a", buffering=1) if mset or multi else None

    def worker(w):
        try:
            c = Resp(host, port, timeout=10)
        except OSError:
            return
        while time.time() < deadline:
            with lock:
                if counter[0] >= keys:
                    break
                i = counter[0]
                counter[0] += 1
            key = b"%s-%d" % (prefix.encode(), i)
            unit, tx = [], multi and i % multi == 1 % multi
            if mset and i % mset == 0:
                unit = [key + b"/%d" % j for j in range(3)]
            elif tx:
                unit = [key + b"/e%d" % j for j in range(4)]
            try:
                if unit:
                    with lock:
                        fu.write(" ".join(k.decode() for k in unit) + "\n")
                if tx:
                    c.send_all([[b"MULTI"]] + [[b"SET", k, unit_value(k)] for k in unit] +
                               [[b"EXEC"]])
                    r = [c.reply() for _ in range(len(unit) + 2)]
                    r = ("+", "OK") if r == EXEC_OK else r
                elif unit:
                    args = [b"MSET"]
                    for k in unit:
                        args += [k, unit_value(k)]
                    r = c.cmd(*args)
                else:
                    r = c.cmd(b"SET", key, value_for(key))
            except (OSError, ValueError, ConnectionError):
                return
            if r != ("+", "OK"):
                print("load: SET %s -> %r" % (key, r), file=sys.stderr)
                return
            # Acknowledged: durable. Logged before the next request.
            with lock:
                for k in unit or [key]:
                    f.write(k.decode() + "\n")

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    f.close()
    if fu is not None:
        fu.close()
    return 0


def expected_value(k: bytes) -> bytes:
    return unit_value(k) if b"/" in k else value_for(k)


def verify(host, port, log):
    keys = [l.strip().encode() for l in open(log) if l.strip()]
    c = Resp(host, port)
    bad = 0
    for k in keys:
        v = c.cmd(b"GET", k)
        if v != expected_value(k):
            bad += 1
            if bad <= 5:
                print("verify: %s: %s" % (k.decode(), "missing" if v is None else
                      "different (%d bytes)" % len(v)), file=sys.stderr)
    print("verify: %d acknowledged keys, %d bad" % (len(keys), bad))
    return 1 if bad else 0


def verify_units(host, port, ulog):
    units = [l.split() for l in open(ulog) if l.strip()]
    c = Resp(host, port)
    # per kind (MSET, EXEC: keys KEY/eN): [whole, none, cut]
    counts = {"MSET": [0, 0, 0], "EXEC": [0, 0, 0]}
    for u in units:
        kind = "EXEC" if "/e" in u[0] else "MSET"
        got = [c.cmd(b"GET", k.encode()) for k in u]
        present = sum(1 for k, v in zip(u, got) if v is not None)
        right = all(v is None or v == unit_value(k.encode()) for k, v in zip(u, got))
        if present == len(u) and right:
            counts[kind][0] += 1
        elif present == 0:
            counts[kind][1] += 1
        else:
            counts[kind][2] += 1
            if counts[kind][2] <= 5:
                print("verify-units: %s %s: %d of %d keys present%s" %
                      (kind, " ".join(u), present, len(u), "" if right else ", values differ"),
                      file=sys.stderr)
    print("verify-units: " + "; ".join(
        "%d %ss sent: %d whole, %d none, %d cut" % (sum(n), kind, n[0], n[1], n[2])
        for kind, n in counts.items() if sum(n)))
    cut = sum(n[2] for n in counts.values())
    return 1 if cut or not units else 0


def expect(cond, what, failures):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def basic(host, rport, hport):
    f = []
    c = Resp(host, rport)
    expect(c.cmd("PING") == ("+", "PONG"), "PING", f)
    expect(c.cmd("SET", "a", "1") == ("+", "OK"), "SET a 1", f)
    expect(c.cmd("GET", "a") == b"1", "GET a", f)
    big = value_for(b"big") * 20
    expect(c.cmd("SET", "big", big) == ("+", "OK"), "SET big (%d B)" % len(big), f)
    expect(c.cmd("GET", "big") == big, "GET big", f)
    expect(c.cmd("GET", "nope") is None, "GET missing is nil", f)
    expect(c.cmd("SET", "a", "2", "NX") is None, "SET NX on existing is nil", f)
    expect(c.cmd("SET", "b", "2", "XX") is None, "SET XX on missing is nil", f)
    expect(c.cmd("SET", "b", "2", "NX") == ("+", "OK"), "SET NX on missing", f)
    expect(c.cmd("EXISTS", "a", "b", "zz") == 2, "EXISTS counts", f)
    expect(c.cmd("MSET", "m1", "x", "m2", "y") == ("+", "OK"), "MSET", f)
    expect(c.cmd("MGET", "m1", "zz", "m2") == [b"x", None, b"y"], "MGET", f)
    expect(c.cmd("INCR", "ctr") == 1 and c.cmd("INCR", "ctr") == 2, "INCR", f)
    expect(c.cmd("INCR", "big")[0] == "-", "INCR of a non-number is an error", f)
    expect(c.cmd("DEL", "a", "zz") == 1, "DEL counts", f)
    expect(c.cmd("SET", "ttl", "v", "PX", "100") == ("+", "OK"), "SET PX", f)
    time.sleep(0.3)
    expect(c.cmd("GET", "ttl") is None, "PX expiry", f)
    expect(c.cmd("SETEX", "ttl2", "100", "v") == ("+", "OK") and
           c.cmd("TTL", "ttl2") == 100 and c.cmd("PERSIST", "ttl2") == 1 and
           c.cmd("TTL", "ttl2") == -1, "SETEX, TTL, PERSIST", f)
    expect(c.cmd("PEXPIRE", "ttl2", "100") == 1 and c.cmd("COPY", "ttl2", "ttl3") == 1 and
           0 < c.cmd("PTTL", "ttl3") <= 100, "PEXPIRE, COPY carries the deadline", f)
    time.sleep(0.3)
    expect(c.cmd("GET", "ttl2") is None and c.cmd("GET", "ttl3") is None,
           "PEXPIRE expiry", f)
    n = c.cmd("DBSIZE")
    expect(isinstance(n, int) and n >= 5, "DBSIZE", f)
    info = c.cmd("INFO")
    expect(isinstance(info, bytes) and b"db0:keys=" in info, "INFO", f)
    expect(c.cmd("CONFIG", "GET", "save") == [b"save", b""], "CONFIG GET save", f)
    expect(isinstance(c.cmd("COMMAND", "DOCS"), list), "COMMAND DOCS", f)
    expect(c.cmd("COMMAND", "COUNT") == 64,
           "COMMAND COUNT (20, the string and keyspace commands, the deadline commands, MSETNX, "
           "the transactions', KEYS, SCAN, RANDOMKEY, FLUSHDB, HELLO, CLIENT, TIME, WAIT)", f)
    expect(c.cmd("MSETNX", "nx1", "1", "nx2", big) == 1, "MSETNX of absent keys", f)
    expect(c.cmd("MSETNX", "nx2", "x", "nx3", "y") == 0 and c.cmd("EXISTS", "nx3") == 0
           and c.cmd("GET", "nx2") == big, "MSETNX with a key that exists: nothing set", f)
    expect(c.cmd("COMMAND", "INFO", "mset") ==
           [[b"mset", -3, [("+", "write"), ("+", "denyoom")], 1, -1, 2]],
           "COMMAND INFO mset: Redis's arity, flags and key positions", f)
    # Pipelining: many requests in one write, answers in order.
    c.s.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$3\r\np%d\r\n$1\r\n%d\r\n" % (i, i % 10)
                         for i in range(10, 60)))
    expect(all(c.reply() == ("+", "OK") for _ in range(50)), "50 pipelined SETs", f)
    expect(c.cmd("GET", "p42") == b"2", "GET after pipeline", f)
    st, body = http(host, hport, "PUT", "/h1", b"hello over http")
    expect(st == 200, "HTTP PUT", f)
    st, body = http(host, hport, "GET", "/h1")
    expect(st == 200 and body == b"hello over http", "HTTP GET", f)
    expect(c.cmd("GET", "h1") == b"hello over http", "RESP sees the HTTP value", f)
    st, body = http(host, hport, "HEAD", "/h1")
    expect(st == 200 and body == b"", "HTTP HEAD: the GET's headers, no body", f)
    st, body = http(host, hport, "GET", "/big")
    expect(st == 200 and body == big, "HTTP GET of a RESP value", f)
    st, _ = http(host, hport, "DELETE", "/h1")
    expect(st == 200, "HTTP DELETE", f)
    st, _ = http(host, hport, "GET", "/h1")
    expect(st == 404, "HTTP GET after DELETE is 404", f)
    st, body = http(host, hport, "HEAD", "/h1")
    expect(st == 404 and body == b"", "HTTP HEAD of a missing key: 404, no body", f)
    long_arg = b"e" * 5000
    expect(c.cmd(b"ECHO", long_arg) == long_arg, "ECHO returns 5000 bytes whole", f)
    expect(c.cmd(b"PING", long_arg) == long_arg, "PING returns 5000 bytes whole", f)
    expect(c.cmd("FLUSHALL") == ("+", "OK") and c.cmd("DBSIZE") == 0, "FLUSHALL", f)
    c.close()
    print("%d failed" % len(f))
    return 1 if f else 0


def raw(host, port, data, timeout=5):
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
            if len(out) > 4096:
                break
    except socket.timeout:
        pass
    s.close()
    return out


def malformed(host, rport, hport):
    f = []
    stop = threading.Event()
    loaded = {"ops": 0, "errors": 0}

    def loader():
        c = Resp(host, rport)
        i = 0
        while not stop.is_set():
            k = b"load-%d" % (i % 500)
            v = value_for(k)
            try:
                if c.cmd(b"SET", k, v) != ("+", "OK") or c.cmd(b"GET", k) != v:
                    loaded["errors"] += 1
            except Exception:
                loaded["errors"] += 1
                return
            loaded["ops"] += 1
            i += 1

    t = threading.Thread(target=loader)
    t.start()
    time.sleep(0.3)
    # Well framed but invalid: an error reply, the connection stays usable.
    r = raw(host, rport, b"*1\r\n$7\r\nFOOBARX\r\n*1\r\n$4\r\nPING\r\n", timeout=2)
    expect(r.startswith(b"-ERR") and b"+PONG" in r, "unknown command: -ERR, then PING works", f)
    r = raw(host, rport, b"*2\r\n$3\r\nGET\r\n$300\r\n" + b"k" * 300 + b"\r\n*1\r\n$4\r\nPING\r\n", timeout=2)
    expect(r.startswith(b"-ERR") and b"+PONG" in r, "oversize key: -ERR, then PING works", f)
    r = raw(host, rport, b"*1\r\n$3\r\nGET\r\n", timeout=2)
    expect(r.startswith(b"-ERR"), "wrong arity: -ERR", f)
    # Broken framing: an error, then the server closes.
    for bad in (b"*x\r\n", b"*1\r\n$-5\r\nabc\r\n", b"*1\r\n$3\r\nabcdef\r\n", b"$\r\n\x00\xff"):
        r = raw(host, rport, bad)
        expect(r.startswith(b"-ERR"), "broken RESP %r: -ERR and close" % bad[:12], f)
    r = raw(host, hport, b"GARBAGE\r\n\r\n")
    expect(r.startswith(b"HTTP/1.1 400"), "broken HTTP request line: 400", f)
    r = raw(host, hport, b"PUT /k HTTP/1.1\r\nContent-Length: zz\r\n\r\n")
    expect(r.startswith(b"HTTP/1.1 4"), "bad Content-Length: 4xx", f)
    r = raw(host, hport, b"BREW /pot HTTP/1.1\r\n\r\n", timeout=2)
    expect(r.startswith(b"HTTP/1.1 405"), "unknown method: 405", f)
    r = raw(host, hport, b"GET /" + b"k" * 300 + b" HTTP/1.1\r\nConnection: close\r\n\r\n")
    expect(r.startswith(b"HTTP/1.1 4"), "oversize key over HTTP: 4xx", f)
    time.sleep(0.5)
    stop.set()
    t.join(20)
    expect(loaded["ops"] > 10 and loaded["errors"] == 0,
           "loaded connection unaffected (%d ops, %d errors)" % (loaded["ops"], loaded["errors"]), f)
    print("%d failed" % len(f))
    return 1 if f else 0


def fill(host, port):
    f = []
    c = Resp(host, port)
    other = Resp(host, port)
    value = b"v" * 8192
    oom = None
    for i in range(20000):
        r = c.cmd(b"SET", b"fill-%d" % i, value)
        if r != ("+", "OK"):
            oom = (i, r)
            break
    expect(oom is not None and oom[1][0] == "-" and oom[1][1].startswith("OOM"),
           "a full pool answers -OOM (%r)" % (oom,), f)
    expect(other.cmd("PING") == ("+", "PONG"), "another connection is still served", f)
    expect(c.cmd("GET", "fill-0") == value, "stored values still read back", f)
    expect(c.cmd("FLUSHALL") == ("+", "OK"), "FLUSHALL", f)
    time.sleep(0.2)
    expect(c.cmd(b"SET", b"after", value) == ("+", "OK"), "writes accepted again after FLUSHALL", f)
    print("%d failed" % len(f))
    return 1 if f else 0


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    mode, host = argv[1], argv[2]
    if mode == "load":
        opts = dict(zip(argv[5::2], argv[6::2]))
        return load(host, int(argv[3]), argv[4], conns=int(opts.get("--conns", 4)),
                    keys=int(opts.get("--keys", 5000)), prefix=opts.get("--prefix", "k"),
                    seconds=float(opts.get("--seconds", 60)),
                    mset=int(opts.get("--mset", 0)), multi=int(opts.get("--multi", 0)))
    if mode == "verify":
        return verify(host, int(argv[3]), argv[4])
    if mode == "verify-units":
        return verify_units(host, int(argv[3]), argv[4])
    if mode == "basic":
        return basic(host, int(argv[3]), int(argv[4]))
    if mode == "fill":
        return fill(host, int(argv[3]))
    if mode == "malformed":
        return malformed(host, int(argv[3]), int(argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
