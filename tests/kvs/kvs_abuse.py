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
            closed them, by its send timeout or output limit, is for the
            caller to count).
  idle      100 connections each send the start of a SET and nothing more.
  outlimit  4 connections pipeline MGETs of one 1 MiB value 8 times (8 MiB
            a reply) and never read them, against a server whose
            --client-output-limit is 2 MiB (the caller counts the closes
            by the limit). The value is deleted after.
  oom       8 connections each declare a 1 MiB value (SET, some with PX
            after it) and send 64 KiB of it, against a server whose store
            (--maxmemory) cannot hold all of them: the ones refused must be
            answered -OOM before the rest of their value is sent, then the
            values are completed and a PING follows on each: +OK (stored)
            or nothing (refused), then +PONG. Each key then reads back
            whole or not at all (never half-stored); at least one upload
            is stored and one refused. The stored keys are deleted. Then
            an HTTP PUT of 1 MiB (port 8080) must get 507 before its body
            is sent, and a GET after it on the same connection a 404.
  gather    one connection starts an ECHO of 100,000 bytes and sends its
            argument a byte at a time while another sends whole ECHOs of
            2,400 bytes in three 800-byte segments between those bytes, for
            up to 3 s: every trickled byte lands in a shared gather buffer
            the other connection's segments fill and then leave. The
            trickler must be cut off by the request timeout; the ECHOs must
            come back whole. (What it pins meanwhile is for the caller to
            measure: bounded in buffers, not one per byte.)
  budget    against a server whose store may fill the pool: 256 KiB values
            are SET until the store answers -OOM (the pool is then down to
            the last 1/16 the store leaves), 4 of them are deleted, then 8 connections each start
            an ECHO of 1,000,000 bytes and send as much of its argument as their
            windows take, and stall (the request timeout must cut them
            off). The values are deleted after. (What the windows let them
            pin is for the caller to measure: the store's buffers are not
            the stack's to grant.)
  oos       the same full store, then 8 connections opened by hand (scapy;
            an nftables table of our own drops the kernel's resets) send
            256 one-byte segments each, out of order, and nothing in
            order, for S seconds, then reset. (What they pin meanwhile is
            for the caller to measure.)
  lwip      20 connections with 4 KiB receive buffers pipeline 5,000 GETs
            of a 1 KiB value each and never read the replies (for S
            seconds; the caller counts the server's closes). On paste-kvs
            their replies queue in lwIP's segments and pbuf descriptors,
            which every connection shares.
  slowack   4 connections opened with scapy each GET a 64 KiB value, then
            acknowledge one more byte of the reply every 0.4 s with an
            open window (lwIP's retransmissions never give up on them);
            the server must reset all of them within S seconds.
  multi     4 connections each open a transaction (MULTI) and queue 64
            SETs of 64 KiB (4 MiB) against a server whose transactions may
            queue 1 MiB (--multi-max-bytes): some must be +QUEUED, the rest
            refused "-ERR transaction too large", none executed. Two then
            leave without EXEC, two stall (the request timeout must cut
            them off); none of the keys exists after.
  multismall 4 connections each open a transaction and queue 10 SETs of
            200 bytes (paste-kvs leaves them unconsumed in the receive
            stream); two leave without EXEC, two stall with a request's
            start sent (the request timeout must cut them off); none of
            the keys exists after.
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


def connect(host, port, tries=3):
    """A connection with TCP_NODELAY. A connect that times out is tried
    again from a new port (at most @tries times, said on stderr): once in
    a fresh-machine run the idle class's 40th connect went unanswered for
    10 s right after the unread class, whose server-side connections the
    server had just closed; a SYN from a port Linux reused for one of
    those can meet a closing lwIP PCB (see the session note)."""
    for i in range(tries):
        try:
            s = socket.create_connection((host, port), timeout=10)
            break
        except (TimeoutError, socket.timeout):
            print("connect to %s:%d timed out (try %d of %d)" % (host, port, i + 1, tries),
                  file=sys.stderr)
            if i + 1 == tries:
                raise
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
        except (BlockingIOError, ConnectionError):
            # Full, or cut off already by the output limit (linux-kvs
            # executes 4 MiB of them before it writes any).
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


def outlimit(host, port, ready_file, hold_s):
    size, key = 1048576, b"outlimit"
    s = connect(host, port)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
              % (len(key), key, size, b"o" * size))
    if read_line(s, time.time() + 10) != b"+OK\r\n":
        print("outlimit: SET failed", file=sys.stderr)
        return False
    # 8 MiB a reply: past the 4 MiB lwIP send buffer and the 2 MiB limit
    # in one reply (paste-kvs takes no request while a reply waits).
    mget = b"*9\r\n$4\r\nMGET\r\n" + b"$%d\r\n%s\r\n" % (len(key), key) * 8
    conns = [connect(host, port) for _ in range(4)]
    for c in conns:
        c.sendall(mget * 3)
    ready(ready_file)
    # Not read (see unread): the caller counts the server's closes.
    time.sleep(min(hold_s, 3.0))
    for c in conns:
        c.close()
    s.sendall(b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(key), key))
    deleted = read_line(s, time.time() + 5)
    s.close()
    if deleted != b":1\r\n":
        print("outlimit: DEL of the value answered %r" % deleted, file=sys.stderr)
    return deleted == b":1\r\n"


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


HTTP_PORT = 8080
OOM_REPLY = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"


def recv_until(s, enough, deadline):
    """Bytes from @s until enough(bytes so far), EOF or @deadline."""
    got = b""
    while not enough(got) and time.time() < deadline:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            b = s.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        if not b:
            break
        got += b
    return got


def recv_exact(s, n, deadline):
    """Up to @n bytes from @s, until @deadline."""
    return recv_until(s, lambda got: len(got) >= n, deadline)


def early_replies(conns, settle, limit):
    """Lines the server sent on @conns without waiting for the rest of
    their requests: collected until none came for @settle seconds (at most
    @limit seconds in all). Returns {index: line}."""
    lines = {}
    end = time.time() + limit
    quiet = time.time() + settle
    while time.time() < min(end, quiet):
        for i, s in enumerate(conns):
            if i in lines:
                continue
            s.setblocking(False)
            try:
                b = s.recv(1)
            except BlockingIOError:
                continue
            finally:
                s.setblocking(True)
            lines[i] = b + read_line(s, time.time() + 5) if b else b"<closed>"
            quiet = time.time() + settle
        time.sleep(0.05)
    return lines


def oom(host, port, ready_file, hold_s):
    size = 1048576
    value = bytes(ord("A") + i % 23 for i in range(size))
    head, conns, keys, reqs = 65536, [], [], []
    for i in range(8):
        key = b"oom%d" % i
        opts = [b"PX", b"600000"] if i % 2 else []
        words = [b"SET", key, value] + opts
        req = b"*%d\r\n" % len(words) + b"".join(
            b"$%d\r\n%s\r\n" % (len(w), w) for w in words)
        cut = req.index(value) + head
        s = connect(host, port)
        s.sendall(req[:cut])
        conns.append(s)
        keys.append(key)
        reqs.append(req[cut:])
    # HTTP too, while those reservations are held: a PUT refused with 507
    # before its body is sent (its body is sent later, dropped, and the
    # next request on the connection served).
    h = connect(host, HTTP_PORT)
    hbody = b"h" * size
    h.sendall(b"PUT /oomhttp HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % size
              + hbody[:head])
    status = read_line(h, time.time() + 3)
    early = early_replies(conns, 2.0, 3.0)
    ok = True
    for i, line in early.items():
        if line != OOM_REPLY:
            print("oom: upload %d answered %r before it was whole" % (i, line),
                  file=sys.stderr)
            ok = False
    ready(ready_file)
    # (briefly: the reserved uploads are cut off by the request timeout)
    time.sleep(min(hold_s, 0.3))
    # The rest of every value, and a PING on the same connection: the
    # refused ones must have dropped their bytes and stayed in sync.
    for i, s in enumerate(conns):
        s.sendall(reqs[i] + b"*1\r\n$4\r\nPING\r\n")
    stored = []
    for i, s in enumerate(conns):
        want = b"+PONG\r\n" if i in early else b"+OK\r\n+PONG\r\n"
        got = recv_exact(s, len(want), time.time() + 20)
        if got != want:
            print("oom: upload %d (%s) then PING: %r, want %r"
                  % (i, "refused" if i in early else "reserved", got, want),
                  file=sys.stderr)
            ok = False
        elif i not in early:
            stored.append(i)
        s.close()
    if status != b"HTTP/1.1 507 Insufficient Storage\r\n":
        print("oom: HTTP PUT answered %r before its body was whole" % status,
              file=sys.stderr)
        ok = False
    h.sendall(hbody[head:] + b"GET /oomhttp HTTP/1.1\r\n\r\n")
    rest = recv_until(h, lambda got: b"404 Not Found" in got, time.time() + 20)
    if b"HTTP/1.1 404 Not Found" not in rest:
        print("oom: GET after the refused PUT: %r" % rest[-200:], file=sys.stderr)
        ok = False
    h.close()
    # Whole or nothing, read back on a fresh connection.
    s = connect(host, port)
    for i, key in enumerate(keys):
        s.sendall(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))
        want = (b"$%d\r\n%s\r\n" % (size, value)) if i in stored else b"$-1\r\n"
        got = recv_exact(s, len(want), time.time() + 20)
        if got != want:
            print("oom: GET %s: %d bytes %r..., want %s" % (
                key.decode(), len(got), got[:20],
                "the whole value" if i in stored else "nil"), file=sys.stderr)
            ok = False
    if stored:
        s.sendall(b"*%d\r\n$3\r\nDEL\r\n" % (len(stored) + 1) + b"".join(
            b"$%d\r\n%s\r\n" % (len(keys[i]), keys[i]) for i in stored))
        deleted = read_line(s, time.time() + 5)
        if deleted != b":%d\r\n" % len(stored):
            print("oom: DEL of the stored values: %r" % deleted, file=sys.stderr)
            ok = False
    s.close()
    print("oom: %d of 8 uploads stored, %d refused before their value arrived"
          % (len(stored), len(early)))
    return ok and len(stored) >= 1 and len(early) >= 1


def trickle(host, port, ready_file, hold_s):
    arg = bytes(ord("a") + i % 26 for i in range(3072))
    req = b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (len(arg), arg)
    s = connect(host, port)
    ready(ready_file)
    for i in range(0, len(req), 8):
        s.send(req[i:i + 8])
        time.sleep(0.002)
    want = b"$%d\r\n%s\r\n" % (len(arg), arg)
    got = recv_exact(s, len(want), time.time() + 10)
    if got != want:
        print("trickle: ECHO of %d bytes came back as %d bytes %r..."
              % (len(arg), len(got), got[:40]), file=sys.stderr)
        return False
    print("trickle: %d bytes in %d writes, echoed whole" % (len(arg), (len(req) + 7) // 8))
    return True


def gather(host, port, ready_file, hold_s):
    a = connect(host, port)
    a.sendall(b"*2\r\n$4\r\nECHO\r\n$100000\r\n")
    b = connect(host, port)
    arg = bytes(ord("a") + i % 26 for i in range(2400))
    want = b"$2400\r\n%s\r\n" % arg
    rounds, end, ok = 0, time.time() + 3.0, True
    while time.time() < end and rounds < 5000:
        a.send(b"z")
        time.sleep(0.0002)
        b.send(b"*2\r\n$4\r\nECHO\r\n$2400\r\n" + arg[:800])
        time.sleep(0.0002)
        b.send(arg[800:1600])
        time.sleep(0.0002)
        b.send(arg[1600:] + b"\r\n")
        got = recv_exact(b, len(want), time.time() + 5)
        if got != want:
            print("gather: ECHO %d came back as %d bytes %r..."
                  % (rounds, len(got), got[:40]), file=sys.stderr)
            ok = False
            break
        rounds += 1
    b.close()
    ready(ready_file)
    n = hold([a], hold_s)
    print("gather: %d bytes trickled between %d ECHOs; trickler %s by the server"
          % (rounds, rounds, "closed" if n else "not closed"))
    return ok and n == 1


def fill_store(host, port, what):
    """SET 256 KiB values until the store answers -OOM, then DEL 4 of them
    (room for the healthy client's SETs, about 720 buffers). Returns the
    connection and the keys stored, or None."""
    size = 262144
    value = b"f" * size
    s = connect(host, port)
    keys = []
    line = b""
    for i in range(1000):
        key = b"fill%d" % i
        s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                  % (len(key), key, size, value))
        line = read_line(s, time.time() + 10)
        if line != b"+OK\r\n":
            break
        keys.append(key)
    if not line.startswith(b"-OOM"):
        print("%s: SET %d answered %r, not -OOM" % (what, len(keys), line), file=sys.stderr)
        return None
    gone = keys[-4:]
    del keys[-4:]
    s.sendall(b"*5\r\n$3\r\nDEL\r\n" + b"".join(
        b"$%d\r\n%s\r\n" % (len(k), k) for k in gone))
    if read_line(s, time.time() + 10) != b":4\r\n":
        print("%s: DEL of 4 values failed" % what, file=sys.stderr)
        return None
    return s, keys


def empty_store(s, keys, what):
    s.sendall(b"*%d\r\n$3\r\nDEL\r\n" % (len(keys) + 1) + b"".join(
        b"$%d\r\n%s\r\n" % (len(k), k) for k in keys))
    deleted = read_line(s, time.time() + 10)
    s.close()
    if deleted != b":%d\r\n" % len(keys):
        print("%s: DEL of the values answered %r" % (what, deleted), file=sys.stderr)
        return False
    return True


def budget(host, port, ready_file, hold_s):
    filled = fill_store(host, port, "budget")
    if filled is None:
        return False
    s, keys = filled
    conns = []
    chunk = b"e" * 65536
    for _ in range(8):
        c = connect(host, port)
        c.sendall(b"*2\r\n$4\r\nECHO\r\n$1000000\r\n")
        conns.append(c)
    end = time.time() + 1.5
    sent = [0] * len(conns)
    for c in conns:
        c.setblocking(False)
    while time.time() < end:
        for i, c in enumerate(conns):
            try:
                while sent[i] < 1000000 - len(chunk):
                    sent[i] += c.send(chunk)
            except (BlockingIOError, ConnectionError):
                pass
        time.sleep(0.05)
    ready(ready_file)
    n = hold(conns, hold_s)
    for c in conns:
        c.close()
    print("budget: %d values of 256 KiB in the store; %d abusers sent %s bytes; "
          "%d closed by the server" % (len(keys), len(conns), sent, n))
    return empty_store(s, keys, "budget") and n == len(conns)


def raw_ports(count):
    """A base for @count source ports of connections made by hand (scapy),
    below the kernel's ephemeral range: a port inside it could be the one
    the kernel picks for the healthy client's own connection to the same
    server, whose SYN the server would take for the hand-made connection's
    and whose reset our nftables rule would drop (a lost SYN, a 1 s retry,
    a healthy check past its bound)."""
    import os
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    slots = (low - 10000) // count
    if slots < 1:
        raise RuntimeError("ephemeral range starts at %d: no room for raw ports" % low)
    return 10000 + os.getpid() % slots * count


def oos(host, port, ready_file, hold_s):
    """8 connections opened by hand (scapy; the kernel's resets to the
    server's SYN-ACKs dropped by an nftables rule of our own), each then
    sends 256 one-byte segments out of order (a gap before them), 2 bytes
    apart, and nothing in order; reset at the end."""
    import logging
    import os
    import random
    import subprocess
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import IP, TCP, conf, send, sr1
    conf.verb = 0
    filled = fill_store(host, port, "oos")
    if filled is None:
        return False
    s, keys = filled
    table = "kvsabuse%d" % os.getpid()
    base = raw_ports(16)
    subprocess.run(["nft", "add table inet %s" % table], check=True)
    subprocess.run(["nft", "add chain inet %s out { type filter hook output priority 0; }"
                    % table], check=True)
    subprocess.run(["nft", "add rule inet %s out tcp sport %d-%d tcp flags rst drop"
                    % (table, base, base + 15)], check=True)
    ok, conns = True, []
    try:
        for i in range(8):
            sport, isn = base + i, random.randrange(1 << 31)
            syn = IP(dst=host) / TCP(sport=sport, dport=port, flags="S", seq=isn,
                                     options=[("MSS", 1460)])
            sa = sr1(syn, timeout=3)
            if sa is None or not sa.haslayer(TCP) or (sa[TCP].flags & 0x12) != 0x12:
                print("oos: no SYN-ACK for connection %d" % i, file=sys.stderr)
                ok = False
                break
            ack = sa[TCP].seq + 1
            send(IP(dst=host) / TCP(sport=sport, dport=port, flags="A", seq=isn + 1, ack=ack))
            conns.append((sport, isn, ack))
        pkts = [IP(dst=host) / TCP(sport=sport, dport=port, flags="A",
                                   seq=isn + 1 + 1000 + 2 * j, ack=ack) / b"x"
                for j in range(256) for sport, isn, ack in conns]
        send(pkts)
        ready(ready_file)
        time.sleep(hold_s)
    finally:
        # (the table drops our resets too)
        subprocess.run(["nft", "delete table inet %s" % table])
        for sport, isn, ack in conns:
            send(IP(dst=host) / TCP(sport=sport, dport=port, flags="R", seq=isn + 1))
    print("oos: %d connections sent 256 one-byte segments out of order each" % len(conns))
    return empty_store(s, keys, "oos") and ok and len(conns) == 8


def lwip(host, port, ready_file, hold_s):
    """20 connections with 4 KiB receive buffers pipeline 5,000 GETs of a
    1 KiB value each and never read: their replies queue in the server
    (for paste-kvs, lwIP's segments and pbuf descriptors, which every
    connection shares). The caller counts the server's closes."""
    key, size = b"lwipval", 1024
    s = connect(host, port)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
              % (len(key), key, size, b"l" * size))
    if read_line(s, time.time() + 10) != b"+OK\r\n":
        print("lwip: SET failed", file=sys.stderr)
        return False
    get = b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key)
    conns = []
    for _ in range(20):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.settimeout(10)
        c.connect((host, port))
        c.setblocking(False)
        conns.append(c)
    sent = [0] * len(conns)
    end = time.time() + 3.0
    while time.time() < end and min(sent) < 5000:
        for i, c in enumerate(conns):
            try:
                while sent[i] < 5000:
                    c.send(get)
                    sent[i] += 1
            except (BlockingIOError, ConnectionError):
                pass
        time.sleep(0.02)
    ready(ready_file)
    time.sleep(hold_s)
    for c in conns:
        c.close()
    s.sendall(b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(key), key))
    deleted = read_line(s, time.time() + 10)
    s.close()
    print("lwip: 20 connections sent %d..%d GETs each, reading nothing" % (min(sent), max(sent)))
    if deleted != b":1\r\n":
        print("lwip: DEL of the value answered %r" % deleted, file=sys.stderr)
        return False
    return True


def slowack(host, port, ready_file, hold_s):
    """4 connections opened by hand (scapy, as oos) each GET a 64 KiB value
    and then acknowledge one more byte of the reply every 0.4 s, a little
    before each retransmission timeout, with an open window: lwIP's
    retransmission count never reaches its limit. The server must reset
    every one of them within S seconds."""
    import logging
    import os
    import random
    import subprocess
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import IP, TCP, AsyncSniffer, conf, send, sr1
    conf.verb = 0
    key, size = b"slowack", 65536
    s = connect(host, port)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
              % (len(key), key, size, b"s" * size))
    if read_line(s, time.time() + 10) != b"+OK\r\n":
        print("slowack: SET failed", file=sys.stderr)
        return False
    get = b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key)
    table = "kvsslow%d" % os.getpid()
    base = raw_ports(8)
    subprocess.run(["nft", "add table inet %s" % table], check=True)
    subprocess.run(["nft", "add chain inet %s out { type filter hook output priority 0; }"
                    % table], check=True)
    subprocess.run(["nft", "add rule inet %s out tcp sport %d-%d tcp flags rst drop"
                    % (table, base, base + 7)], check=True)
    reset = set()

    def on_pkt(p):
        if TCP in p and p[TCP].sport == port and p[TCP].flags & 0x04:
            reset.add(p[TCP].dport)

    # (on the interface toward the server: the namespace has no default
    # route, so scapy's default interface is another)
    sniffer = AsyncSniffer(iface=conf.route.route(host)[0],
                           lfilter=lambda p: TCP in p and p[TCP].sport == port,
                           prn=on_pkt, store=False)
    sniffer.start()
    ok, conns = True, []
    try:
        for i in range(4):
            sport, isn = base + i, random.randrange(1 << 31)
            sa = sr1(IP(dst=host) / TCP(sport=sport, dport=port, flags="S", seq=isn,
                                        window=65535, options=[("MSS", 1460)]), timeout=3)
            if sa is None or not sa.haslayer(TCP) or (sa[TCP].flags & 0x12) != 0x12:
                print("slowack: no SYN-ACK for connection %d" % i, file=sys.stderr)
                ok = False
                break
            srv = sa[TCP].seq + 1
            send(IP(dst=host) / TCP(sport=sport, dport=port, flags="PA", seq=isn + 1,
                                    ack=srv, window=65535) / get)
            conns.append([sport, isn + 1 + len(get), srv])
        ready(ready_file)
        end = time.time() + hold_s
        while time.time() < end and len(reset) < len(conns):
            time.sleep(0.4)
            for c in conns:
                if c[0] in reset:
                    continue
                c[2] += 1
                send(IP(dst=host) / TCP(sport=c[0], dport=port, flags="A", seq=c[1],
                                        ack=c[2], window=65535))
    finally:
        sniffer.stop()
        subprocess.run(["nft", "delete table inet %s" % table])
        for c in conns:
            if c[0] not in reset:
                send(IP(dst=host) / TCP(sport=c[0], dport=port, flags="R", seq=c[1]))
    n = len([c for c in conns if c[0] in reset])
    print("slowack: %d of %d connections acknowledging a byte every 0.4 s reset by the server"
          % (n, len(conns)))
    s.sendall(b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(key), key))
    deleted = read_line(s, time.time() + 10)
    s.close()
    if deleted != b":1\r\n":
        print("slowack: DEL of the value answered %r" % deleted, file=sys.stderr)
        ok = False
    return ok and len(conns) == 4 and n == 4


def none_stored(host, port, keys, tag):
    """True when no key of a transaction that never ran exists."""
    s = connect(host, port)
    s.sendall(b"*%d\r\n$6\r\nEXISTS\r\n" % (len(keys) + 1) +
              b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys))
    line = read_line(s, time.time() + 5)
    s.close()
    if line != b":0\r\n":
        print("%s: EXISTS of the queued keys answered %r" % (tag, line), file=sys.stderr)
        return False
    return True


def multi(host, port, ready_file, hold_s):
    ok = True
    value = b"q" * 65536
    conns = [connect(host, port) for _ in range(4)]
    for i, s in enumerate(conns):
        s.sendall(b"*1\r\n$5\r\nMULTI\r\n")
        line = read_line(s, time.time() + 5)
        if line != b"+OK\r\n":
            print("multi: MULTI answered %r" % line, file=sys.stderr)
            return False
        queued = refused = 0
        for k in range(64):
            key = b"multi%d_%d" % (i, k)
            s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                      % (len(key), key, len(value), value))
            line = read_line(s, time.time() + 5)
            if line == b"+QUEUED\r\n":
                queued += 1
            elif line.startswith(b"-ERR transaction too large"):
                refused += 1
            else:
                print("multi: queued SET answered %r" % line, file=sys.stderr)
                ok = False
                break
        print("multi: connection %d: %d queued, %d refused" % (i, queued, refused))
        if queued < 8 or queued > 16 or refused != 64 - queued:
            ok = False
    conns[0].close()
    conns[1].close()
    ready(ready_file)
    n = hold(conns[2:], hold_s)
    print("multi: %d of 2 open transactions closed by the server" % n)
    keys = [b"multi%d_%d" % (i, k) for i in range(4) for k in range(2)]
    return none_stored(host, port, keys, "multi") and ok and n == 2


def multismall(host, port, ready_file, hold_s):
    ok = True
    conns = [connect(host, port) for _ in range(4)]
    for i, s in enumerate(conns):
        s.sendall(b"*1\r\n$5\r\nMULTI\r\n" + b"".join(
            b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$200\r\n%s\r\n"
            % (len(b"small%d_%d" % (i, k)), b"small%d_%d" % (i, k), b"s" * 200)
            for k in range(10)))
        want = b"+OK\r\n" + b"+QUEUED\r\n" * 10
        got = b""
        deadline = time.time() + 5
        while len(got) < len(want) and time.time() < deadline:
            got += s.recv(4096)
        if got != want:
            print("multismall: connection %d answered %r" % (i, got), file=sys.stderr)
            ok = False
    conns[0].close()
    conns[1].close()
    for s in conns[2:]:
        s.sendall(b"*3\r\n$3\r\nSET\r\n")   # a request begun, never ended
    ready(ready_file)
    n = hold(conns[2:], hold_s)
    print("multismall: %d of 2 open transactions closed by the server" % n)
    keys = [b"small%d_%d" % (i, k) for i in range(4) for k in range(10)]
    return none_stored(host, port, keys, "multismall") and ok and n == 2


def main():
    classes = {"bigvalue": bigvalue, "unread": unread, "idle": idle, "oom": oom,
               "outlimit": outlimit, "trickle": trickle,
               "gather": gather, "budget": budget, "oos": oos,
               "lwip": lwip, "slowack": slowack, "multi": multi,
               "multismall": multismall}
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
