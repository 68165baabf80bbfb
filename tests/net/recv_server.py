#!/usr/bin/python3
"""One-connection TCP receiver for the 'net' tests and the benchmark.

Listens on --bind:--port, prints "recv-server: listening" (flushed), accepts
one connection (waiting at most --accept-timeout s), reads until EOF (at most
--timeout s in all) and writes the bytes to --out (or discards them with
--out -). Last line: "recv-server: bytes=<B> sha256=<hex> seconds=<s>", the
seconds counted from the first byte to EOF. Exit status 0 after a clean EOF,
1 on timeout or error.
"""

import argparse
import hashlib
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", default="198.18.0.2")
    p.add_argument("--port", type=int, default=5002)
    p.add_argument("--out", default="-")
    p.add_argument("--accept-timeout", type=float, default=60.0)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--no-hash", action="store_true", help="skip SHA-256 (benchmarks)")
    a = p.parse_args()

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(1)
    ls.settimeout(a.accept_timeout)
    print("recv-server: listening on %s:%d" % (a.bind, a.port), flush=True)
    deadline = time.monotonic() + a.timeout
    try:
        conn, peer = ls.accept()
    except socket.timeout:
        print("recv-server: no connection within %.0f s" % a.accept_timeout, flush=True)
        return 1
    ls.close()
    print("recv-server: connection from %s:%d" % peer, flush=True)
    h = hashlib.sha256()
    out = None if a.out == "-" else open(a.out, "wb")
    total = 0
    first = None
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                print("recv-server: timeout after %d bytes" % total, flush=True)
                return 1
            conn.settimeout(left)
            n = conn.recv_into(buf)
            if n == 0:
                break
            if first is None:
                first = time.monotonic()
            total += n
            if not a.no_hash:
                h.update(view[:n])
            if out is not None:
                out.write(view[:n])
    except (OSError, socket.timeout) as e:
        print("recv-server: error after %d bytes: %s" % (total, e), flush=True)
        return 1
    finally:
        conn.close()
        if out is not None:
            out.close()
    secs = time.monotonic() - first if first is not None else 0.0
    print("recv-server: bytes=%d sha256=%s seconds=%.6f"
          % (total, "-" if a.no_hash else h.hexdigest(), secs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
