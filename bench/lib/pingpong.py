# SPDX-License-Identifier: BSD-3-Clause
"""One RESP connection, one request at a time: round-trip times in
microseconds, as JSON on stdout. bench/lib/idle.py runs it in the client
namespace.

    pingpong.py HOST PORT burst N          N requests back to back
    pingpong.py HOST PORT gap N SECONDS    N requests, each after SECONDS idle
    pingpong.py HOST PORT paced SECONDS RATE  RATE requests/s for SECONDS

Every request is a GET of a 64-byte value set first; every reply is checked.
"""

import json
import socket
import sys
import time

VALUE = b"v" * 64
GET = b"*2\r\n$3\r\nGET\r\n$7\r\nidlekey\r\n"
REPLY = b"$64\r\n" + VALUE + b"\r\n"


def exchange(sock, req, want):
    t0 = time.perf_counter()
    sock.sendall(req)
    got = b""
    while len(got) < len(want):
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("pingpong: connection closed")
        got += chunk
    t1 = time.perf_counter()
    if got != want:
        raise SystemExit("pingpong: unexpected reply %r" % got[:80])
    return (t1 - t0) * 1e6


def main():
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.create_connection((host, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    exchange(sock, b"*3\r\n$3\r\nSET\r\n$7\r\nidlekey\r\n$64\r\n" + VALUE + b"\r\n", b"+OK\r\n")
    rtts = []
    if mode == "burst":
        for _ in range(int(sys.argv[4])):
            rtts.append(exchange(sock, GET, REPLY))
    elif mode == "gap":
        n, gap = int(sys.argv[4]), float(sys.argv[5])
        for _ in range(n):
            time.sleep(gap)
            rtts.append(exchange(sock, GET, REPLY))
    elif mode == "paced":
        secs, rate = float(sys.argv[4]), float(sys.argv[5])
        t_next = time.perf_counter()
        end = t_next + secs
        while t_next < end:
            now = time.perf_counter()
            if now < t_next:
                time.sleep(t_next - now)
            rtts.append(exchange(sock, GET, REPLY))
            t_next += 1.0 / rate
    else:
        raise SystemExit("pingpong: unknown mode %s" % mode)
    sock.close()
    print(json.dumps(dict(mode=mode, rtt_us=rtts)))


if __name__ == "__main__":
    main()
