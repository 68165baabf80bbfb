#!/usr/bin/python3
"""The far side of a bridge in front of a paste memif port
(tests/net/test_farewell_bridge.sh): what anyone on that L2 segment can do
with the memif farewell (src/stack/farewell.h), and a client that measures
whether the server still answers.

  sniff IFACE OUT SECONDS        save every farewell frame seen (hex lines)
  exchange IFACE KEYFILE OUT     a key holder leaving: LEAVING, CHALLENGE,
                                 CONFIRM, PARKED; every frame saved
  attack IFACE CAPTURE SECONDS   inject forged farewells (v1, and v2 under a
                                 wrong key) and replay every captured frame,
                                 over and over
  client IP PORT SECONDS         echo requests every 50 ms; the slowest
                                 answer; exit 1 if one took 2 s or more

Frames: Ethernet broadcast, EtherType 0x88B5, "PASTE-FW", version, type,
2 pad bytes, an 8-byte nonce; version 2 adds a second nonce and an
HMAC-SHA256 of the 28 bytes before it.
"""
import hashlib
import hmac
import os
import select
import socket
import sys
import time

ETHERTYPE = 0x88B5
LEAVING, PARKED, CHALLENGE, CONFIRM = 1, 2, 3, 4
PACKET_OUTGOING = 4


def raw(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
    s.bind((iface, 0))
    return s


def mac_of(s):
    """The bound interface's MAC (not from /sys: that is the namespace
    mounted there, not necessarily ours)."""
    return s.getsockname()[4]


def frame(src, version, ftype, nonce, nonce2=b"\0" * 8, key=None):
    body = b"PASTE-FW" + bytes([version, ftype, 0, 0]) + nonce
    if version == 2:
        body += nonce2
        body += hmac.new(key, body, hashlib.sha256).digest()
    f = b"\xff" * 6 + src + ETHERTYPE.to_bytes(2, "big") + body
    return f + b"\0" * max(0, 60 - len(f))


def parse(f):
    """(version, type, nonce, nonce2, tagged bytes, tag) or None."""
    if len(f) < 14 + 20 or f[12:14] != ETHERTYPE.to_bytes(2, "big"):
        return None
    b = f[14:]
    if b[:8] != b"PASTE-FW":
        return None
    if b[8] == 2 and len(b) >= 60:
        return (2, b[9], b[12:20], b[20:28], b[:28], b[28:60])
    return (b[8], b[9], b[12:20], None, None, None)


def received(s, timeout):
    """Frames others sent (not our own outgoing ones) within TIMEOUT."""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return
        try:
            data, addr = s.recvfrom(2048)
        except OSError:
            return      # the interface went with its bridge
        if addr[2] != PACKET_OUTGOING:
            yield data


def sniff(iface, out, secs):
    s = raw(iface)
    with open(out, "a") as f:
        for data in received(s, float(secs)):
            if parse(data):
                f.write(data.hex() + "\n")
                f.flush()
    return 0


def exchange(iface, keyfile, out):
    key = open(keyfile, "rb").read()
    s = raw(iface)
    src = mac_of(s)
    nonce = os.urandom(8)
    seen = []

    def send(f):
        seen.append(f)
        s.send(f)

    send(frame(src, 2, LEAVING, nonce, key=key))
    parked = False
    for data in received(s, 3.0):
        p = parse(data)
        if p is None or p[0] != 2 or p[2] != nonce:
            continue
        if not hmac.compare_digest(hmac.new(key, p[4], hashlib.sha256).digest(), p[5]):
            continue
        seen.append(data)
        if p[1] == CHALLENGE:
            send(frame(src, 2, CONFIRM, nonce, p[3], key))
        elif p[1] == PARKED:
            parked = True
            break
    with open(out, "a") as f:
        for fr in seen:
            f.write(fr.hex() + "\n")
    print("exchange: parked=%d frames=%d" % (parked, len(seen)))
    return 0 if parked else 1


def attack(iface, capture, secs):
    s = raw(iface)
    src = mac_of(s)
    wrong = os.urandom(32)
    replays = []
    if capture and os.path.exists(capture):
        replays = [bytes.fromhex(l.strip()) for l in open(capture) if l.strip()]
    end = time.monotonic() + float(secs)
    forged = replayed = 0
    while time.monotonic() < end:
        s.send(frame(src, 1, LEAVING, os.urandom(8)))
        s.send(frame(src, 2, LEAVING, os.urandom(8), key=wrong))
        s.send(frame(src, 2, CONFIRM, os.urandom(8), os.urandom(8), wrong))
        forged += 3
        for f in replays:
            s.send(f)
            replayed += 1
        time.sleep(0.02)
    print("attack: forged=%d replayed=%d (captured %d)" % (forged, replayed, len(replays)))
    return 0


def client(ip, port, secs):
    c = socket.create_connection((ip, int(port)), timeout=10)
    c.settimeout(10)
    end = time.monotonic() + float(secs)
    worst = 0.0
    n = 0
    while time.monotonic() < end:
        msg = b"%015d\n" % n
        t0 = time.monotonic()
        c.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = c.recv(len(msg) - len(got))
            if not chunk:
                print("client: connection closed after %d requests" % n)
                return 1
            got += chunk
        worst = max(worst, time.monotonic() - t0)
        if got != msg:
            print("client: request %d answered %r" % (n, got))
            return 1
        n += 1
        time.sleep(0.05)
    c.close()
    print("client: requests=%d worst_ms=%d" % (n, worst * 1000))
    return 0 if worst < 2.0 else 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"sniff": sniff, "exchange": exchange, "attack": attack, "client": client}[cmd]
    sys.exit(fn(*args))


if __name__ == "__main__":
    main()
