#!/usr/bin/env python3
"""Client of tests/kvs/test_kvs_misconf.sh: paste-kvs while msync fails.

misconf_client.py IP PORT FLAG_FILE
While FLAG_FILE exists the server's msync fails (tests/kvs/fail_msync.c).
Checks that a write executed in a poll whose drain failed is acknowledged
only after a later drain succeeds, that nothing at all is sent while drains
fail, that writes arriving meanwhile get -MISCONF (reads and INFO served),
and that writes are accepted again afterwards. Prints one line per check;
exit status 1 when one fails.
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

    def silent_for(self, seconds):
        """True when nothing arrives for @seconds."""
        if self.buf:
            return False
        self.s.settimeout(seconds)
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.s.settimeout(10)
        self.buf += d
        return False


def info_field(text, name):
    for ln in text.split("\r\n"):
        if ln.startswith(name + ":"):
            return ln.split(":", 1)[1]
    return None


def main():
    ip, port, flag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    a, b = Conn(ip, port), Conn(ip, port)
    a.send("SET", "mk", "v1")
    check(a.reply() == "+OK", "SET before the fault is acknowledged")

    open(flag, "w").close()
    try:
        a.send("SET", "mk", "v2")
        check(a.silent_for(1.0), "no reply while the drain of a SET fails")
        b.send("SET", "refused", "x")
        b.send("GET", "mk")
        b.send("INFO")
        check(b.silent_for(0.5), "nothing at all is sent while drains fail")
    finally:
        os.unlink(flag)
    check(a.reply() == "+OK", "the SET is acknowledged after a drain succeeds")
    r = b.reply()
    check(r.startswith("-MISCONF "), "a write while drains fail gets -MISCONF (%r)" % r[:40])
    r = b.reply()
    check(r == "v2", "a read while drains fail is served (%r)" % r)
    info = b.reply()
    check(info_field(info, "writes_refused") == "1", "INFO writes_refused:1 meanwhile")
    check(int(info_field(info, "drain_failures") or 0) >= 1, "INFO drain_failures counted")

    # A drain succeeded: writes are accepted again.
    deadline = time.monotonic() + 10
    while True:
        b.send("SET", "after", "y")
        r = b.reply()
        if r == "+OK" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    check(r == "+OK", "writes are accepted after a drain succeeds")
    b.send("GET", "refused")
    check(b.reply() == "$-1", "the refused write was not executed")
    b.send("INFO")
    info = b.reply()
    check(info_field(info, "writes_refused") == "0", "INFO writes_refused:0 after")
    check(info_field(info, "misconf_refused") == "1", "INFO misconf_refused:1")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
