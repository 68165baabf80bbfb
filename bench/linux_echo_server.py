#!/usr/bin/python3
"""The Linux baseline for paste's tcp-echo: an epoll echo server (selectors).

  linux_echo_server.py [--bind 198.18.0.1] [--port 5001] [--max-time S]

One thread, non-blocking sockets, level-triggered epoll: what a plain sockets
server does. Each readable socket is read once (up to 256 KiB) and the bytes
written back; bytes the socket does not take at once wait in a per-connection
buffer (flushed when writable), so a client that sends more than it reads is
not blocked forever. A connection is closed after the peer's EOF once its
buffer is flushed. Prints "linux-echo: listening" once bound, and at exit
(SIGINT, SIGTERM or --max-time) "linux-echo: conns=N bytes=B".
"""

import argparse
import selectors
import signal
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", default="198.18.0.1")
    p.add_argument("--port", type=int, default=5001)
    p.add_argument("--max-time", type=float, default=0.0)
    a = p.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    sel = selectors.EpollSelector()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(1024)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ, None)
    print("linux-echo: listening on %s:%d" % (a.bind, a.port), flush=True)

    conns = 0
    total = 0
    pending = {}   # socket -> bytearray not yet written
    eof = set()
    end = time.monotonic() + a.max_time if a.max_time > 0 else None

    def close(s):
        sel.unregister(s)
        pending.pop(s, None)
        eof.discard(s)
        s.close()

    while not stop:
        if end is not None and time.monotonic() >= end:
            break
        try:
            events = sel.select(timeout=0.2)
        except InterruptedError:
            continue
        for key, mask in events:
            s = key.fileobj
            if s is ls:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(c, selectors.EVENT_READ, None)
                conns += 1
                continue
            if mask & selectors.EVENT_WRITE:
                buf = pending.get(s)
                try:
                    n = s.send(buf)
                except BlockingIOError:
                    n = 0
                except OSError:
                    close(s)
                    continue
                del buf[:n]
                if not buf:
                    pending.pop(s, None)
                    if s in eof:
                        close(s)
                        continue
                    sel.modify(s, selectors.EVENT_READ, None)
                continue
            if mask & selectors.EVENT_READ:
                try:
                    data = s.recv(262144)
                except BlockingIOError:
                    continue
                except OSError:
                    close(s)
                    continue
                if not data:
                    if s in pending:
                        eof.add(s)
                        sel.modify(s, selectors.EVENT_WRITE, None)
                    else:
                        close(s)
                    continue
                total += len(data)
                if s in pending:
                    pending[s] += data
                    continue
                try:
                    n = s.send(data)
                except BlockingIOError:
                    n = 0
                except OSError:
                    close(s)
                    continue
                if n < len(data):
                    pending[s] = bytearray(data[n:])
                    sel.modify(s, selectors.EVENT_READ | selectors.EVENT_WRITE, None)
    print("linux-echo: conns=%d bytes=%d" % (conns, total), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
