#!/usr/bin/python3
"""UDP peer for paste-echo --udp (tests/net/test_udp_echo.sh), run in the
Linux namespace.

  udp_client.py echo HOST PORT COUNT SEED [--rounds R] [--dups-ok]
      COUNT datagrams of random sizes (0..1472 bytes, seeded), each led by
      its 4-byte number. Unanswered ones are sent again, up to R rounds
      (losses from nftables). Every reply must equal the datagram with its
      number, byte for byte; duplicated replies of a datagram must all be
      equal to it. Prints "udp echo: ok sent=N replies=M dups=D" or fails.
  udp_client.py send HOST PORT SIZE [COUNT]
      COUNT datagrams of SIZE bytes, no reply expected (floods, datagrams
      Linux fragments). Prints "udp send: N".
  udp_client.py ctl HOST PORT COMMAND
      one control datagram; prints the reply (up to 5 tries).
  udp_client.py raw HOST PORT KIND
      a malformed UDP datagram through a raw socket (the kernel adds the IP
      header): "len-past" (length field beyond the payload), "len-short"
      (length field below 8), "bad-csum" (wrong checksum), "frag" (a
      400-byte datagram as two IP fragments, built by hand: what Linux
      sends for a datagram larger than the MTU).
Every loop is bounded in count and time.
"""
import random
import socket
import struct
import sys
import time

MAX_PAYLOAD = 1472


def echo(host, port, count, seed, rounds, dups_ok):
    rng = random.Random(seed)
    sent = {}
    for i in range(count):
        size = rng.randint(4, MAX_PAYLOAD)
        sent[i] = struct.pack("!I", i) + rng.randbytes(size - 4)
    # a zero-length datagram is echoed too (checked apart: it has no number)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect((host, port))
    answered, replies, dups = set(), 0, 0
    empty_ok = False
    for r in range(rounds):
        todo = [i for i in sent if i not in answered]
        if not todo and empty_ok:
            break
        window = 64
        for k in range(0, len(todo), window):
            for i in todo[k:k + window] + ([] if empty_ok else [None]):
                try:
                    s.send(b"" if i is None else sent[i])
                except PermissionError:  # nftables dropped it on output
                    pass
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    break
                replies += 1
                if len(data) == 0:
                    empty_ok = True
                    continue
                if len(data) < 4:
                    sys.exit("udp echo: FAIL short reply of %d bytes" % len(data))
                (i,) = struct.unpack("!I", data[:4])
                if i not in sent or data != sent[i]:
                    sys.exit("udp echo: FAIL reply %d differs from what was sent" % i)
                if i in answered:
                    dups += 1
                    if not dups_ok:
                        sys.exit("udp echo: FAIL duplicate reply %d" % i)
                answered.add(i)
                if all(j in answered for j in todo[k:k + window]) and empty_ok:
                    break
    missing = [i for i in sent if i not in answered]
    if missing or not empty_ok:
        sys.exit("udp echo: FAIL %d datagrams never answered (empty answered: %s)"
                 % (len(missing), empty_ok))
    print("udp echo: ok sent=%d replies=%d dups=%d" % (count, replies, dups))


def send(host, port, size, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = bytes(range(256)) * (size // 256 + 1)
    n = 0
    for _ in range(count):
        try:
            s.sendto(payload[:size], (host, port))
            n += 1
        except OSError:  # ENOBUFS from a full qdisc: part of a flood
            time.sleep(0.001)
    print("udp send: %d" % n)


def ctl(host, port, command):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    for _ in range(5):
        s.sendto(command.encode(), (host, port))
        try:
            print(s.recv(4096).decode())
            return
        except socket.timeout:
            continue
    sys.exit("udp ctl: no reply to %r" % command)


def fragments(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    payload = bytes(range(200)) * 2
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    src = socket.inet_aton("0.0.0.0")  # the kernel fills in the source
    dst = socket.inet_aton(host)
    ident = random.randint(1, 65535)
    first, rest = udp[:208], udp[208:]  # 208: a multiple of 8
    for off8, mf, chunk in ((0, 1, first), (208 // 8, 0, rest)):
        flags = (mf << 13) | off8
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ident,
                         flags, 64, socket.IPPROTO_UDP, 0, src, dst)
        s.sendto(ip + chunk, (host, 0))
    print("udp raw: frag sent")


def raw(host, port, kind):
    if kind == "frag":
        fragments(host, port)
        return
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    payload = b"malformed-" + kind.encode()
    length = 8 + len(payload)
    if kind == "len-past":
        length += 100
    elif kind == "len-short":
        length = 4
    # checksum 0 means "none" in UDP over IPv4; a fixed wrong one otherwise
    csum = 0x1234 if kind == "bad-csum" else 0
    hdr = struct.pack("!HHHH", 40000, port, length, csum)
    s.sendto(hdr + payload, (host, 0))
    print("udp raw: %s sent" % kind)


def main():
    a = sys.argv[1:]
    if len(a) >= 5 and a[0] == "echo":
        rounds = int(a[a.index("--rounds") + 1]) if "--rounds" in a else 3
        echo(a[1], int(a[2]), int(a[3]), int(a[4]), rounds, "--dups-ok" in a)
    elif len(a) >= 4 and a[0] == "send":
        send(a[1], int(a[2]), int(a[3]), int(a[4]) if len(a) > 4 else 1)
    elif len(a) == 4 and a[0] == "ctl":
        ctl(a[1], int(a[2]), a[3])
    elif len(a) == 4 and a[0] == "raw":
        raw(a[1], int(a[2]), a[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
