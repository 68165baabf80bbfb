#!/usr/bin/python3
"""Send malformed frames to paste from the Linux side of the testbed (scapy).

Run in the Linux namespace (Debian's python3-scapy: /usr/bin/python3):

  malformed.py --iface IF --dst-mac PASTE_MAC [--dport 5001]
               [--start-file F] [--start-timeout 60] [--only KIND,...] [--gap S]

With --start-file, it first sniffs IF and waits for F to exist, printing
"malformed: sniffing" once the sniffer runs; it learns the live TCP
connection to dst-ip:dport from the frames seen (the last sequence number
each way), so the frames aimed at that connection carry its exact next
sequence and acknowledgement numbers and a payload that would corrupt the
echoed stream if paste accepted it. Without a connection seen they go to a
made-up one.

Frames (IPv4 unless said otherwise):
  runt-10          10 bytes: shorter than an Ethernet header (not IPv4; the
                   kernel refuses to send it: reported as refused)
  runt-eth-only    14 bytes: an Ethernet header of type IPv4, nothing else
  runt-ip-partial  24 bytes: 10 bytes of an IPv4 header
  ihl-3            IHL 3 (a 12-byte header)
  ihl-too-long     IHL 15 (60 bytes) in a 40-byte packet
  bad-ip-csum      IP header checksum wrong, TCP right (*)
  bad-tcp-csum     TCP checksum wrong (*)
  tcp-doff-past    TCP data offset 15 (60 bytes) in a 24-byte segment (*)
  tcp-doff-short   TCP data offset 2 (8 bytes) (*)
  frag-first       MF set, offset 0: first fragment of a 3,020-byte segment (*)
  frag-middle      MF set, offset 1480
  frag-last        MF clear, offset 2960: completes the datagram
  totlen-short     IP total length 30: 10 bytes of a TCP header (*)
  totlen-long      IP total length 1500 in a 60-byte frame (*)
  ethertype-88b5   unknown ethertype 0x88b5 (not IPv4)
  (*) aimed at the live connection: its exact next sequence and ACK numbers
      and a payload that, accepted, would corrupt the echoed stream.

Fragments and DPDK's net_af_packet: its sockets join a PACKET_FANOUT group
with PACKET_FANOUT_FLAG_DEFRAG, so the kernel of the paste namespace
reassembles IPv4 fragments before the driver sees them. An incomplete set is
held there and never reaches paste; a complete one reaches it as one
datagram, here larger than the driver's ring frame (2,048 bytes) and so
truncated, with an IP total length past its end. Each frame line says so:
"reaches=frame" (paste gets it as sent), "reaches=held" (kept by the
kernel's reassembly), "reaches=datagram" (completes a datagram delivered
truncated), "reaches=no" (refused by the sending kernel).

Frames are sent on a plain AF_PACKET socket, exactly as built (scapy's own
L2 socket would quietly pad a frame the kernel refuses to 60 bytes).

Prints one line per frame: "malformed: <kind> len=<bytes> ipv4=<0|1>
reaches=<...> sent|refused (<why>)" and last: "malformed: sent=<N>
ipv4=<M> reach=<R> reach_ipv4=<Q> refused=<K> conn=<sport>|none", where R
counts the frames paste receives (as sent, or the reassembled datagram) and
Q those of them that are IPv4.
Exit status 0 unless scapy itself failed.
"""

import argparse
import os
import socket
import sys
import time

try:
    from scapy.all import (AsyncSniffer, Ether, IP, TCP, Raw, conf, get_if_hwaddr,
                           raw, sendp)
except ImportError as e:
    print("malformed: scapy not available under %s: %s" % (sys.executable, e), flush=True)
    sys.exit(3)


def log(msg):
    print("malformed: " + msg, flush=True)


def with_bad_ip_csum(pkt):
    good = Ether(raw(pkt))[IP].chksum
    pkt = pkt.copy()
    pkt[IP].chksum = good ^ 0x5a5a
    return pkt


def with_bad_tcp_csum(pkt):
    good = Ether(raw(pkt))[TCP].chksum
    pkt = pkt.copy()
    pkt[TCP].chksum = good ^ 0x00ff
    return pkt


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iface", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--src-ip", default="198.18.0.2")
    p.add_argument("--dst-ip", default="198.18.0.1")
    p.add_argument("--dport", type=int, default=5001)
    p.add_argument("--start-file", default="")
    p.add_argument("--start-timeout", type=float, default=60.0)
    p.add_argument("--only", default="", help="comma-separated kinds to send (default: all)")
    p.add_argument("--gap", type=float, default=0.01, help="seconds between frames")
    a = p.parse_args()
    conf.verb = 0
    src_mac = get_if_hwaddr(a.iface)

    # Learn the live connection: the next sequence number each way.
    sport = None
    seq = 1000
    ack = 2000
    if a.start_file:
        flows = {}

        def seen(pkt):
            if IP not in pkt or TCP not in pkt:
                return
            ip, tcp = pkt[IP], pkt[TCP]
            plen = ip.len - ip.ihl * 4 - tcp.dataofs * 4
            nxt = tcp.seq + plen + (1 if tcp.flags & 0x03 else 0)  # SYN, FIN
            if ip.src == a.src_ip and ip.dst == a.dst_ip and tcp.dport == a.dport:
                f = flows.setdefault(tcp.sport, {})
                f["seq"] = nxt & 0xffffffff
                f["ack"] = tcp.ack
                f["t"] = time.monotonic()
            elif ip.src == a.dst_ip and ip.dst == a.src_ip and tcp.sport == a.dport:
                f = flows.setdefault(tcp.dport, {})
                f["peer_nxt"] = nxt & 0xffffffff

        sniffer = AsyncSniffer(iface=a.iface, prn=seen, store=False)
        sniffer.start()
        time.sleep(0.5)
        log("sniffing on %s" % a.iface)
        deadline = time.monotonic() + a.start_timeout
        while not os.path.exists(a.start_file):
            if time.monotonic() > deadline:
                log("no start file within %.0f s" % a.start_timeout)
                sniffer.stop()
                return 1
            time.sleep(0.05)
        sniffer.stop()
        live = [(f.get("t", 0), sp) for sp, f in flows.items() if "seq" in f]
        if live:
            sport = max(live)[1]
            f = flows[sport]
            seq = f["seq"]
            ack = f.get("peer_nxt", f["ack"])
            log("live connection %s:%d -> %s:%d seq=%d ack=%d"
                % (a.src_ip, sport, a.dst_ip, a.dport, seq, ack))
        else:
            log("no connection to port %d seen: aiming at a made-up one" % a.dport)
    cport = sport if sport is not None else 40000

    eth = Ether(src=src_mac, dst=a.dst_mac)
    ip = IP(src=a.src_ip, dst=a.dst_ip, id=4242)
    evil = Raw(b"MALFORMED-FRAME-ACCEPTED!" * 8)
    seg = TCP(sport=cport, dport=a.dport, flags="PA", seq=seq, ack=ack, window=1024)

    frames = []   # (kind, bytes, is_ipv4, reaches)
    frames.append(("runt-10", raw(eth)[:10], False, "frame"))
    frames.append(("runt-eth-only", raw(eth / ip)[:14], True, "frame"))
    frames.append(("runt-ip-partial", raw(eth / ip / seg)[:24], True, "frame"))
    frames.append(("ihl-3", raw(eth / IP(src=a.src_ip, dst=a.dst_ip, ihl=3) / seg / evil), True, "frame"))
    b = bytearray(raw(eth / ip / TCP(sport=cport, dport=a.dport)))
    b[14] = 0x4f  # IHL 15: a 60-byte header in a 40-byte packet
    frames.append(("ihl-too-long", bytes(b), True, "frame"))
    frames.append(("bad-ip-csum", raw(with_bad_ip_csum(eth / ip / seg / evil)), True, "frame"))
    frames.append(("bad-tcp-csum", raw(with_bad_tcp_csum(eth / ip / seg / evil)), True, "frame"))
    frames.append(("tcp-doff-past", raw(eth / ip / TCP(sport=cport, dport=a.dport, flags="PA",
                                                       seq=seq, ack=ack, dataofs=15) / Raw(b"EVIL")), True, "frame"))
    frames.append(("tcp-doff-short", raw(eth / ip / TCP(sport=cport, dport=a.dport, flags="PA",
                                                        seq=seq, ack=ack, dataofs=2) / evil), True, "frame"))
    # Fragments: the first one holds a real segment of the connection; the
    # TCP checksum covers the whole (never complete) datagram.
    whole = IP(raw(IP(src=a.src_ip, dst=a.dst_ip, id=777) / seg / Raw(b"F" * 3000)))
    body = raw(whole)[20:]
    frag_hdr = dict(src=a.src_ip, dst=a.dst_ip, id=777, proto=6)
    frames.append(("frag-first", raw(eth / IP(flags="MF", frag=0, **frag_hdr) / Raw(body[:1480])), True, "held"))
    frames.append(("frag-middle", raw(eth / IP(flags="MF", frag=185, **frag_hdr) / Raw(body[1480:2960])), True, "held"))
    frames.append(("frag-last", raw(eth / IP(flags=0, frag=370, **frag_hdr) / Raw(body[2960:])), True, "datagram"))
    frames.append(("totlen-short", raw(eth / IP(src=a.src_ip, dst=a.dst_ip, len=30) / seg / evil), True, "frame"))
    b = bytearray(raw(eth / ip / TCP(sport=cport, dport=a.dport, flags="PA", seq=seq, ack=ack) / Raw(b"x" * 6)))
    b[16:18] = (1500).to_bytes(2, "big")   # total length past the frame
    # Keep the header checksum right, so only the length is wrong.
    b[24:26] = b"\x00\x00"
    s = 0
    for i in range(14, 34, 2):
        s += (b[i] << 8) | b[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    b[24:26] = (~s & 0xffff).to_bytes(2, "big")
    frames.append(("totlen-long", bytes(b), True, "frame"))
    frames.append(("ethertype-88b5", raw(Ether(src=src_mac, dst=a.dst_mac, type=0x88b5) /
                                         Raw(b"\x00" * 46)), False, "frame"))

    sent = ipv4 = refused = reach = reach4 = 0
    only = set(k for k in a.only.split(",") if k)
    # A plain packet socket: frames leave exactly as built, or are refused.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.bind((a.iface, 0))
        for kind, data, is4, reaches in frames:
            if only and kind not in only:
                continue
            try:
                s.send(data)
            except OSError as e:
                refused += 1
                log("%s len=%d ipv4=%d reaches=no refused (%s)"
                    % (kind, len(data), int(is4), e.strerror))
                continue
            sent += 1
            ipv4 += 1 if is4 else 0
            if reaches in ("frame", "datagram"):
                reach += 1
                reach4 += 1 if is4 else 0
            log("%s len=%d ipv4=%d reaches=%s sent" % (kind, len(data), int(is4), reaches))
            time.sleep(a.gap)
    finally:
        s.close()
    log("sent=%d ipv4=%d reach=%d reach_ipv4=%d refused=%d conn=%s"
        % (sent, ipv4, reach, reach4, refused, sport if sport is not None else "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
