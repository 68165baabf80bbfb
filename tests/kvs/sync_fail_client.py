#!/usr/bin/env python3
"""Client of tests/kvs/test_kvs_sync_fail.sh: paste-kvs when msync fails.

sync_fail_client.py write IP PORT FLAG_FILE ACKED_FILE
    Writes keys that are acknowledged, then creates FLAG_FILE (the next
    msync of the pool fails: tests/kvs/fail_msync.c) and pipelines more
    writes on two connections, with a third connection idle. Checks that
    no write of that batch, nor any later one, is acknowledged and that
    every connection is reset or closed. Every write that was
    acknowledged, before or after the fault, goes to ACKED_FILE as
    "key value" lines: the restart must find them all.
sync_fail_client.py verify IP PORT ACKED_FILE
    Every acknowledged write reads back with its value.
Prints one line per check; exit status 1 when one fails.
"""
import os
import socket
import sys
import time

failed = 0


def check(ok, what):
    global failed
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failed += 1


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, ip, port):
        self.s = socket.create_connection((ip, port), timeout=10)
        self.buf = b""

    def send(self, *args):
        self.s.sendall(cmd(*args))

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        ln, self.buf = self.buf[:i], self.buf[i + 2:]
        return ln.decode(errors="replace")

    def reply(self):
        """One reply: a status/error/int line, or a bulk string's body."""
        ln = self.line()
        if not ln.startswith("$") or ln == "$-1":
            return ln
        n = int(ln[1:])
        while len(self.buf) < n + 2:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n + 2:]
        return body.decode(errors="replace")

    def until_closed(self, seconds):
        """Everything received until the peer resets or closes the
        connection, and how it ended ("reset", "closed" or "open" when
        @seconds passed first)."""
        got = self.buf
        self.buf = b""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got, "open"
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return got, "open"
            except ConnectionResetError:
                return got, "reset"
            if not d:
                return got, "closed"
            got += d


def value(key, n):
    return "%s-v%d-" % (key, n) + "x" * (64 + n % 700)


def write(ip, port, flag, acked_file):
    acked = {}
    a, b, idle = Conn(ip, port), Conn(ip, port), Conn(ip, port)
    for i in range(40):
        k = "pre%d" % i
        a.send("SET", k, value(k, i))
    for i in range(40):
        k = "pre%d" % i
        r = a.reply()
        if r == "+OK":
            acked[k] = value(k, i)
    check(len(acked) == 40, "40 SETs before the fault acknowledged (%d)" % len(acked))
    # Overwrites too: after the fault the old value must be what reads back.
    a.send("SET", "mk", "v1")
    check(a.reply() == "+OK", "SET mk v1 before the fault is acknowledged")
    acked["mk"] = "v1"

    open(flag, "w").close()
    batch = [("mk", "v2")] + [("post%d" % i, value("post%d" % i, i)) for i in range(30)]
    # The server may reset a connection while its batch is still being
    # sent: a send that fails is a write never acknowledged.
    for c, part in ((a, batch[:16]), (b, batch[16:] + [("later", "never")])):
        for k, v in part:
            try:
                c.send("SET", k, v)
            except OSError:
                break
        time.sleep(0.3)
    replies = {}
    for name, c in (("a", a), ("b", b), ("idle", idle)):
        try:
            got, how = c.until_closed(15)
        except OSError as e:
            got, how = b"", "error %s" % e
        replies[name] = got
        check(how in ("reset", "closed"),
              "connection %s is reset or closed after the failed drain (%s)" % (name, how))
    # Whatever was answered is an acknowledgement the restart must honour.
    oks = replies["a"].count(b"+OK\r\n")
    for k, v in batch[:16][:oks]:
        acked[k] = v
    oks_b = replies["b"].count(b"+OK\r\n")
    for k, v in (batch[16:] + [("later", "never")])[:oks_b]:
        acked[k] = v
    check(oks + oks_b == 0, "no write of the failed batch, nor a later one, is "
          "acknowledged (%d +OK)" % (oks + oks_b))
    check(replies["idle"] == b"", "the idle connection got no bytes (%r)" % replies["idle"][:40])
    if os.path.exists(flag):
        check(False, "the server never synced after the flag was set")
        os.unlink(flag)
    with open(acked_file, "w") as f:
        for k, v in acked.items():
            f.write("%s %s\n" % (k, v))
    return 1 if failed else 0


def verify(ip, port, acked_file):
    with open(acked_file) as f:
        acked = [ln.split(" ", 1) for ln in f.read().splitlines()]
    c = Conn(ip, port)
    for k, _ in acked:
        c.send("GET", k)
    bad = []
    for k, v in acked:
        r = c.reply()
        if r != v:
            bad.append("%s=%r" % (k, r[:20]))
    check(not bad and len(acked) >= 41, "all %d acknowledged writes read back%s" %
          (len(acked), (": lost " + ", ".join(bad[:5])) if bad else ""))
    return 1 if failed else 0


def main():
    if sys.argv[1] == "write":
        return write(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    return verify(sys.argv[2], int(sys.argv[3]), sys.argv[4])


if __name__ == "__main__":
    sys.exit(main())
