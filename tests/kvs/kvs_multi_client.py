#!/usr/bin/python3
"""Transactions through redis-py against paste-kvs and redis-server side by
side, for tests/kvs/test_kvs_redis_diff.sh.

  kvs_multi_client.py KVS_HOST KVS_PORT REDIS_HOST REDIS_PORT

On each server: pipeline(transaction=True) of writes and reads (a large
value among them), a run-time error inside EXEC that rolls nothing back,
optimistic locking (WATCH, GET, MULTI, SET, EXEC) with a conflicting
writer on another connection every third round (redis-py's WatchError,
retried), Redis.transaction() with its retry loop, two threads
incrementing one counter through WATCH transactions at once (no update
lost), transactions whose queued values exceed a quarter of the smallest
TCP window paste-kvs grants (16 KiB: it moves them out of the receive
stream) and any window it grants (5 MiB), and raw segments that carry a
whole transaction with the requests after its EXEC or DISCARD. The results of the deterministic parts must be the same on both
servers and as expected; exit status 0 when they are, 1 otherwise.
"""
import sys
import threading

import redis

BIG = bytes((i * 13 + 5) % 256 for i in range(100000))


def pipelined(r):
    p = r.pipeline(transaction=True)
    p.set("a", "1").incr("a").get("a").mget("a", "nokey").set("big", BIG)
    p.get("big").delete("a").exists("a", "big")
    return p.execute()


def runtime_error(r):
    r.set("s", "abc")
    p = r.pipeline(transaction=True)
    p.incr("s").set("t", "1").incr("t")
    got = p.execute(raise_on_error=False)
    return [type(x).__name__ + ":" + str(x) if isinstance(x, Exception) else x
            for x in got] + [r.mget("s", "t")]


def optimistic(r, other):
    """50 rounds of a WATCHed read-modify-write; every third round another
    client writes the key between the WATCH and the EXEC, once."""
    r.set("counter", 0)
    conflicts = 0
    for i in range(50):
        interfered = False
        with r.pipeline() as p:
            while True:
                try:
                    p.watch("counter")
                    v = int(p.get("counter"))
                    if i % 3 == 0 and not interfered:
                        other.incr("counter")
                        interfered = True
                    p.multi()
                    p.set("counter", v + 1)
                    p.execute()
                    break
                except redis.WatchError:
                    conflicts += 1
    return [conflicts, int(r.get("counter"))]


def helper(r, other):
    """Redis.transaction(): its function retried after a WatchError."""
    r.set("h", 10)
    calls = [0]

    def fn(p):
        calls[0] += 1
        v = int(p.get("h"))
        if calls[0] == 1:
            other.set("h", 20)
        p.multi()
        p.set("h", v * 2)

    r.transaction(fn, "h")
    return [calls[0], int(r.get("h"))]


def racing(host, port):
    """Two clients increment one counter 100 times each through WATCH
    transactions at once: no increment may be lost."""
    clients = [redis.Redis(host=host, port=port, socket_timeout=10) for _ in range(2)]
    clients[0].set("race", 0)
    errors = []

    def work(r):
        try:
            for _ in range(100):
                def fn(p):
                    v = int(p.get("race"))
                    p.multi()
                    p.set("race", v + 1)
                r.transaction(fn, "race")
        except Exception as e:  # reported, not swallowed
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(r,)) for r in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return [int(clients[0].get("race")), errors, any(t.is_alive() for t in threads)]


def large(r):
    """Transactions past a quarter of the window (24 x 1 KiB) and past the
    whole window (80 x 64 KiB): every value arrives and is applied."""
    out = []
    for n, size in ((24, 1024), (80, 65536)):
        p = r.pipeline(transaction=True)
        for i in range(n):
            p.set("large%d" % i, bytes([65 + i % 26]) * size)
        got = p.execute()
        # paste-kvs takes at most 64 arguments a command: GETs, pipelined
        p = r.pipeline(transaction=False)
        for i in range(n):
            p.get("large%d" % i)
        vals = p.execute()
        out.append([got == [True] * n,
                    all(v == bytes([65 + i % 26]) * size for i, v in enumerate(vals))])
        p = r.pipeline(transaction=False)
        for i in range(n):
            p.delete("large%d" % i)
        p.execute()
    return out


def cmd(*w):
    return b"*%d\r\n" % len(w) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in w)


def raw(host, port):
    """One send each: MULTI, SETs, EXEC and requests after it; MULTI, a
    SET, DISCARD and a GET; replies compared byte for byte."""
    import socket
    import time
    sends = [
        cmd(b"MULTI") + cmd(b"SET", b"r1", b"x" * 300) + cmd(b"INCR", b"rn") +
        cmd(b"GET", b"r1") + cmd(b"EXEC") + cmd(b"GET", b"rn") + cmd(b"PING"),
        cmd(b"MULTI") + cmd(b"SET", b"r2", b"y") + cmd(b"DISCARD") + cmd(b"GET", b"r2") +
        cmd(b"EXISTS", b"r1", b"r2"),
        cmd(b"MULTI") + cmd(b"SET", b"r3", b"z") + cmd(b"NOSUCH") + cmd(b"EXEC") +
        cmd(b"GET", b"r3") + cmd(b"DEL", b"r1", b"rn"),
    ]
    out = []
    s = socket.create_connection((host, port), timeout=10)
    for data in sends:
        s.sendall(data)
        buf = b""
        deadline = time.time() + 10
        # each send's replies end with a reply that ends the exchange
        while time.time() < deadline:
            buf += s.recv(65536)
            if buf.endswith(b"+PONG\r\n") or buf.endswith(b":1\r\n") or \
               buf.endswith(b":2\r\n"):
                break
        out.append(buf)
    s.close()
    return out


def run(host, port):
    r = redis.Redis(host=host, port=port, socket_timeout=10)
    other = redis.Redis(host=host, port=port, socket_timeout=10)
    r.flushall()
    out = {
        "pipeline": pipelined(r),
        "run-time error": runtime_error(r),
        "optimistic": optimistic(r, other),
        "transaction()": helper(r, other),
    }
    out["racing"] = racing(host, port)
    out["large"] = large(r)
    out["raw"] = raw(host, port)
    r.flushall()
    return out


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    kvs = run(sys.argv[1], int(sys.argv[2]))
    red = run(sys.argv[3], int(sys.argv[4]))
    want = {
        "pipeline": [True, 2, b"2", [b"2", None], True, BIG, 1, 1],
        "run-time error": ["ResponseError:value is not an integer or out of range", True, 2,
                           [b"abc", b"2"]],
        "optimistic": [17, 67],
        "transaction()": [2, 40],
        "racing": [200, [], False],
        "large": [[True, True], [True, True]],
        "raw": [b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:1\r\n$300\r\n" +
                b"x" * 300 + b"\r\n$1\r\n1\r\n+PONG\r\n",
                b"+OK\r\n+QUEUED\r\n+OK\r\n$-1\r\n:1\r\n",
                b"+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
                b"-EXECABORT Transaction discarded because of previous errors.\r\n$-1\r\n:2\r\n"],
    }
    ok = True
    for name in want:
        same = kvs[name] == red[name]
        right = kvs[name] == want[name]
        print("%s: %s%s" % (name, "same" if same else "DIFFERENT",
                            "" if right else " (not as expected)"))
        if not same or not right:
            print("  paste-kvs %r\n  redis     %r\n  want      %r"
                  % (kvs[name], red[name], want[name]))
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
