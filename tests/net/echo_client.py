#!/usr/bin/python3
"""TCP echo client for the 'net' tests and the benchmark.

Stream mode (default): --conns connections at once, each sends its own
pseudo-random bytes (size drawn in [--min-bytes, --max-bytes], content and
sizes from --seed: a rerun sends the same bytes), half-closes, and must read
back exactly the same bytes before the server closes. Every byte read is
compared with what was sent as it arrives. One thread, non-blocking sockets
and a selector: full duplex on every connection, so a server that echoes
while it receives never stalls on us.

  --hold-after B --go-file F: each connection stops sending after B bytes
  until F exists (waiting at most --hold-timeout s). Once every connection
  has sent B bytes and read all of them back, the client prints
  "echo-client: holding" and flushes: the connections are idle and open.

Request/response mode (--rr SIZE --duration S): each connection sends SIZE
bytes, waits for SIZE bytes back (checked), and repeats for S seconds; prints
the request rate.

Last line: "echo-client: conns=N ok=K failed=M bytes_sent=... bytes_received=...
seconds=..." (plus "requests=... rate=..." in --rr mode). Exit status 0 when
every connection ended correctly, 1 otherwise, 2 on bad usage.
Everything is bounded by --timeout (default 120 s).
"""

import argparse
import errno
import os
import random
import selectors
import socket
import sys
import time


def log(msg):
    print("echo-client: " + msg, flush=True)


class Conn:
    def __init__(self, idx, data):
        self.idx = idx
        self.data = data            # bytes to send (stream) or one request (rr)
        self.sent = 0
        self.received = 0
        self.shut = False
        self.done = False
        self.ok = False
        self.error = None
        self.sock = None
        self.connected = False
        self.requests = 0           # rr: completed round trips
        self.rr_in = 0              # rr: bytes of the current reply read


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="198.18.0.1")
    p.add_argument("--port", type=int, default=5001)
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--min-bytes", type=int, default=65536)
    p.add_argument("--max-bytes", type=int, default=1 << 20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--connect-timeout", type=float, default=30.0)
    p.add_argument("--chunk", type=int, default=65536)
    p.add_argument("--hold-after", type=int, default=0)
    p.add_argument("--go-file", default="")
    p.add_argument("--hold-timeout", type=float, default=60.0)
    p.add_argument("--rr", type=int, default=0, metavar="SIZE")
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--sizes-file", default="",
                   help="write each connection's byte count there, one a line")
    a = p.parse_args()
    if a.conns < 1 or a.min_bytes < 1 or a.max_bytes < a.min_bytes:
        p.error("need --conns >= 1 and 1 <= --min-bytes <= --max-bytes")
    if a.hold_after and (not a.go_file or a.hold_after >= a.min_bytes):
        p.error("--hold-after needs --go-file and must be below --min-bytes")
    return a


def main():
    a = parse_args()
    rng = random.Random(a.seed)
    conns = []
    for i in range(a.conns):
        if a.rr:
            data = rng.randbytes(a.rr)
        else:
            size = rng.randint(a.min_bytes, a.max_bytes)
            data = random.Random(a.seed * 1000003 + i).randbytes(size)
        conns.append(Conn(i, data))

    sel = selectors.DefaultSelector()
    start = time.monotonic()
    deadline = start + a.timeout
    rr_end = None
    holding = bool(a.hold_after)
    hold_since = None

    for c in conns:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if a.rr:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = s.connect_ex((a.host, a.port))
        if err not in (0, errno.EINPROGRESS):
            c.error = "connect: " + os.strerror(err)
            c.done = True
            s.close()
            continue
        c.sock = s
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)

    def finish(c, error=None):
        if c.done:
            return
        c.done = True
        c.error = error
        c.ok = error is None
        if c.sock is not None:
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
            c.sock = None

    def want_write(c):
        if a.rr:
            return c.sent < len(c.data)
        if c.shut:
            return False
        if holding and c.sent >= a.hold_after:
            return False
        return True

    def update_events(c):
        if c.sock is None:
            return
        ev = selectors.EVENT_READ
        if not c.connected or want_write(c):
            ev |= selectors.EVENT_WRITE
        sel.modify(c.sock, ev, c)

    while True:
        live = [c for c in conns if not c.done]
        if not live:
            break
        now = time.monotonic()
        if now >= deadline:
            for c in live:
                finish(c, "timeout after %.0f s (sent %d/%d, received %d)"
                       % (a.timeout, c.sent, len(c.data), c.received))
            break
        if a.rr and rr_end is not None and now >= rr_end:
            for c in live:
                finish(c)   # rr: ending the measurement is success
            break
        if holding:
            if hold_since is None and all(
                    c.done or (c.sent >= a.hold_after and c.received >= a.hold_after)
                    for c in conns):
                hold_since = now
                log("holding (%d connections idle after %d bytes each)"
                    % (len(live), a.hold_after))
            if hold_since is not None:
                if os.path.exists(a.go_file):
                    holding = False
                    log("go")
                    for c in live:
                        update_events(c)
                elif now - hold_since > a.hold_timeout:
                    for c in live:
                        finish(c, "no go file within %.0f s" % a.hold_timeout)
                    continue
        if not all(c.connected for c in live) and now - start > a.connect_timeout:
            for c in live:
                if not c.connected:
                    finish(c, "connect timeout")
            continue

        for key, mask in sel.select(timeout=0.1):
            c = key.data
            if c.done:
                continue
            if not c.connected:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    finish(c, "connect: " + os.strerror(err))
                    continue
                if mask & (selectors.EVENT_WRITE | selectors.EVENT_READ):
                    c.connected = True
                    if a.rr and rr_end is None and all(x.connected or x.done for x in conns):
                        pass
            if mask & selectors.EVENT_WRITE and want_write(c):
                end = len(c.data)
                if holding and not a.rr:
                    end = min(end, a.hold_after)
                try:
                    n = c.sock.send(c.data[c.sent:min(end, c.sent + a.chunk)])
                    c.sent += n
                except BlockingIOError:
                    pass
                except OSError as e:
                    finish(c, "send: " + e.strerror)
                    continue
                if not a.rr and c.sent == len(c.data) and not c.shut:
                    try:
                        c.sock.shutdown(socket.SHUT_WR)
                    except OSError as e:
                        finish(c, "shutdown: " + e.strerror)
                        continue
                    c.shut = True
            if mask & selectors.EVENT_READ:
                try:
                    buf = c.sock.recv(1 << 20)
                except BlockingIOError:
                    buf = None
                except OSError as e:
                    finish(c, "recv: %s (sent %d/%d, received %d)"
                           % (e.strerror, c.sent, len(c.data), c.received))
                    continue
                if buf is not None:
                    if not buf:
                        if a.rr:
                            finish(c, "server closed the connection")
                        elif c.received == len(c.data):
                            finish(c)
                        else:
                            finish(c, "EOF after %d of %d bytes" % (c.received, len(c.data)))
                        continue
                    if a.rr:
                        off = c.rr_in
                        exp = c.data[off:off + len(buf)]
                        c.received += len(buf)
                        c.rr_in += len(buf)
                        if buf != exp or c.rr_in > len(c.data):
                            finish(c, "reply %d differs from the request" % c.requests)
                            continue
                        if c.rr_in == len(c.data):
                            c.requests += 1
                            c.rr_in = 0
                            c.sent = 0
                    else:
                        exp = c.data[c.received:c.received + len(buf)]
                        if buf != exp:
                            first = next((i for i in range(min(len(buf), len(exp)))
                                          if buf[i] != exp[i]), min(len(buf), len(exp)))
                            finish(c, "byte %d differs from what was sent"
                                   % (c.received + first))
                            continue
                        c.received += len(buf)
            update_events(c)
        if a.rr and rr_end is None and all(c.connected or c.done for c in conns):
            rr_end = time.monotonic() + a.duration
            rr_start = time.monotonic()
            rr_base = sum(c.requests for c in conns)

    elapsed = time.monotonic() - start
    ok = sum(1 for c in conns if c.ok)
    failed = [c for c in conns if not c.ok]
    for c in failed[:20]:
        log("conn %d (%d bytes): %s" % (c.idx, len(c.data), c.error))
    line = ("conns=%d ok=%d failed=%d bytes_sent=%d bytes_received=%d seconds=%.3f"
            % (len(conns), ok, len(failed), sum(c.sent for c in conns) if not a.rr else
               sum(c.requests for c in conns) * a.rr,
               sum(c.received for c in conns), elapsed))
    if a.rr:
        reqs = sum(c.requests for c in conns) - (rr_base if rr_end else 0)
        secs = (time.monotonic() - rr_start) if rr_end else 0.0
        line += " requests=%d rate=%.1f" % (reqs, reqs / secs if secs > 0 else 0.0)
    if a.sizes_file:
        with open(a.sizes_file, "w") as f:
            for c in conns:
                f.write("%d\n" % len(c.data))
    log(line)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
