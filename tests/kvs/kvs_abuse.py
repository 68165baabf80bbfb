#!/usr/bin/python3
"""Clients that try to make a key-value server hold what it should not
(standard library only), for tests/kvs/test_kvs_abuse.sh.

  kvs_abuse.py CLASS HOST PORT READY_FILE [--hold S]

CLASS is one of:
  bigvalue  8 connections declare large values: 4 declare 512 MiB (each
            must get "-ERR Protocol error: invalid bulk length" and be
            closed at once), 4 declare 1 MiB, send 256 KiB of it, and stall.
  unread    4 connections SET a 64 KiB value, then pipeline GETs of it and
            never read the replies (for S seconds: whether the server
            closed them is for the caller to count).
  idle      100 connections each send the start of a SET and nothing more.
  trickle   one connection sends a 3 KiB ECHO in 8-byte writes (TCP_NODELAY),
            2 ms apart; the reply must be the argument, whole. (One byte a
            segment is the stack's test: it gathers small segments.)

The abuse is in place when READY_FILE is created; the abusers then stay up
to S seconds (default 10) or until the server closes all of them, and leave.
Exit status 0 when every check held, the server's closing every stalled
abuser within S seconds included (its timeouts must be shorter); 1
otherwise (the reason on stdout or stderr).
"""
import socket
import sys
import time


def connect(host, port):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_line(s, deadline):
    buf = b""
    while not buf.endswith(b"\r\n"):
        s.settimeout(max(0.1, deadline - time.time()))
        b = s.recv(1)
        if not b:
            break
        buf += b
    return buf


def closed_by_server(s, timeout):
    """True if the server closes @s (EOF or RST) within @timeout seconds."""
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except (socket.timeout, TimeoutError):
        return False


def hold(conns, seconds):
    """Keep @conns open until the server closed each or @seconds passed;
    returns how many the server closed."""
    end = time.time() + seconds
    closed = set()
    while len(closed) < len(conns) and time.time() < end:
        for i, s in enumerate(conns):
            if i not in closed and closed_by_server(s, 0.05):
                closed.add(i)
    return len(closed)


def ready(path):
    with open(path, "w") as f:
        f.write("ready\n")


def bigvalue(host, port, ready_file, hold_s):
    ok = True
    huge = [connect(host, port) for _ in range(4)]
    for s in huge:
        s.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nhuge\r\n$536870912\r\n" + b"x" * 1000)
    stall = [connect(host, port) for _ in range(4)]
    for s in stall:
        s.sendall(b"*3\r\n$3\r\nSET\r\n$5\r\nstall\r\n$1048576\r\n" + b"y" * 262144)
    ready(ready_file)
    for s in huge:
        line = read_line(s, time.time() + 5)
        if line != b"-ERR Protocol error: invalid bulk length\r\n":
            print("bigvalue: 512 MiB bulk got %r" % line, file=sys.stderr)
            ok = False
        elif not closed_by_server(s, 5):
            print("bigvalue: 512 MiB bulk: connection left open", file=sys.stderr)
            ok = False
    n = hold(stall, hold_s)
    print("bigvalue: %d of 4 stalled uploads closed by the server" % n)
    return ok and n == 4


def unread(host, port, ready_file, hold_s):
    conns = []
    for i in range(4):
        s = connect(host, port)
        key = b"unread%d" % i
        s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$65536\r\n%s\r\n"
                  % (len(key), key, b"v" * 65536))
        if read_line(s, time.time() + 5) != b"+OK\r\n":
            print("unread: SET failed", file=sys.stderr)
            return False
        get = b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key)
        s.setblocking(False)
        sent = 0
        try:
            for _ in range(3000):
                sent += s.send(get)
        except BlockingIOError:
            pass
        conns.append(s)
    ready(ready_file)
    # Reading would end the abuse, and a reset from a server whose replies
    # fill a zero window is not acceptable to the client (its sequence
    # number is past the window, RFC 5961): the test script counts the
    # server's closes on its side.
    time.sleep(hold_s)
    for s in conns:
        s.close()
    # The values are stored (not the abuse): delete them, for the pool's
    # free count to come back to where it was.
    s = connect(host, port)
    s.sendall(b"*5\r\n$3\r\nDEL\r\n" +
              b"".join(b"$7\r\nunread%d\r\n" % i for i in range(4)))
    deleted = read_line(s, time.time() + 5)
    if deleted != b":4\r\n":
        print("unread: DEL of the 4 values answered %r" % deleted, file=sys.stderr)
    return deleted == b":4\r\n"


def idle(host, port, ready_file, hold_s):
    conns = []
    for i in range(100):
        s = connect(host, port)
        s.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100\r\nabc")
        conns.append(s)
    ready(ready_file)
    n = hold(conns, hold_s)
    print("idle: %d of 100 connections closed by the server" % n)
    return n == 100


def trickle(host, port, ready_file, hold_s):
    arg = bytes(ord("a") + i % 26 for i in range(3072))
    req = b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (len(arg), arg)
    s = connect(host, port)
    ready(ready_file)
    for i in range(0, len(req), 8):
        s.send(req[i:i + 8])
        time.sleep(0.002)
    want = b"$%d\r\n%s\r\n" % (len(arg), arg)
    got = b""
    end = time.time() + 10
    s.settimeout(1)
    while len(got) < len(want) and time.time() < end:
        try:
            b = s.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        if not b:
            break
        got += b
    if got != want:
        print("trickle: ECHO of %d bytes came back as %d bytes %r..."
              % (len(arg), len(got), got[:40]), file=sys.stderr)
        return False
    print("trickle: %d bytes in %d writes, echoed whole" % (len(arg), (len(req) + 7) // 8))
    return True


def main():
    classes = {"bigvalue": bigvalue, "unread": unread, "idle": idle, "trickle": trickle}
    args = sys.argv[1:]
    hold_s = 10.0
    if "--hold" in args:
        i = args.index("--hold")
        hold_s = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 4 or args[0] not in classes:
        print(__doc__, file=sys.stderr)
        return 2
    ok = classes[args[0]](args[1], int(args[2]), args[3], hold_s)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
