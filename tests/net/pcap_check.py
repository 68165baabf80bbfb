#!/usr/bin/env python3
"""What the packet-log tests ask of pcap files (paste-pcap's export, tcpdump's
capture), read with the standard library only.

  pcap_check.py contains EXPORT CAPTURE T0 T1
      every frame of CAPTURE is in EXPORT, byte for byte (as a multiset);
      EXPORT's timestamps never go back and lie in [T0, T1] (Unix seconds);
      prints "export=N capture=M missing=K"; exit 1 when K > 0 or a
      timestamp is off
  pcap_check.py udp-ports EXPORT
      prints "frames=N udp_dports=P1,P2,... seqs=FIRST..LAST contiguous=0|1"
      (seqs: the 8-byte big-endian counters that udp_send puts first in each
      datagram's payload)
  pcap_check.py udp_send DST PORT COUNT [RATE]
      COUNT datagrams to DST:PORT, payload: an 8-byte counter then 56..1400
      bytes that depend on it; RATE datagrams per second at most
"""
import collections
import socket
import struct
import sys
import time


def read_pcap(path):
    """[(ts_seconds_float, bytes)] of a classic pcap file (us or ns)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise SystemExit(f"{path}: not a pcap file ({len(data)} bytes)")
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0xA1B2C3D4:
        endian, scale = "<", 1e-6
    elif magic == 0xA1B23C4D:
        endian, scale = "<", 1e-9
    elif magic == 0xD4C3B2A1:
        endian, scale = ">", 1e-6
    elif magic == 0x4D3CB2A1:
        endian, scale = ">", 1e-9
    else:
        raise SystemExit(f"{path}: bad pcap magic {magic:#x}")
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, length = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if caplen != length:
            raise SystemExit(f"{path}: truncated frame ({caplen} of {length} bytes)")
        frames.append((sec + frac * scale, data[off:off + caplen]))
        off += caplen
    if off != len(data):
        raise SystemExit(f"{path}: {len(data) - off} trailing bytes")
    return frames


def contains(export, capture, t0, t1):
    exp = read_pcap(export)
    cap = read_pcap(capture)
    have = collections.Counter(frame for _, frame in exp)
    missing = 0
    for _, frame in cap:
        if have[frame] > 0:
            have[frame] -= 1
        else:
            missing += 1
    bad_ts = sum(1 for ts, _ in exp if not float(t0) <= ts <= float(t1))
    back = sum(1 for a, b in zip(exp, exp[1:]) if b[0] < a[0])
    print(f"export={len(exp)} capture={len(cap)} missing={missing} "
          f"ts_outside_run={bad_ts} ts_backwards={back}")
    return 0 if missing == 0 and bad_ts == 0 and back == 0 else 1


def udp_ports(export):
    dports, seqs = set(), []
    frames = read_pcap(export)
    for _, f in frames:
        if len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 17:
            dports.add("non-udp")
            continue
        ihl = (f[14] & 15) * 4
        udp = 14 + ihl
        dports.add(str(struct.unpack(">H", f[udp + 2:udp + 4])[0]))
        if len(f) >= udp + 16:
            seqs.append(struct.unpack(">Q", f[udp + 8:udp + 16])[0])
    contiguous = int(seqs == list(range(seqs[0], seqs[0] + len(seqs)))) if seqs else 0
    span = f"{seqs[0]}..{seqs[-1]}" if seqs else "none"
    print(f"frames={len(frames)} udp_dports={','.join(sorted(dports))} "
          f"seqs={span} contiguous={contiguous}")
    return 0


def udp_send(dst, port, count, rate=20000.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.monotonic()
    for i in range(count):
        body = bytes((i * 7 + j) & 255 for j in range(56 + (i * 37) % 1345))
        s.sendto(struct.pack(">Q", i) + body, (dst, port))
        ahead = i / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    return 0


def main(argv):
    if len(argv) == 6 and argv[1] == "contains":
        return contains(*argv[2:])
    if len(argv) == 3 and argv[1] == "udp-ports":
        return udp_ports(argv[2])
    if len(argv) in (5, 6) and argv[1] == "udp_send":
        rate = float(argv[5]) if len(argv) == 6 else 20000.0
        return udp_send(argv[2], int(argv[3]), int(argv[4]), rate)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
