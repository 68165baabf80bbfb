# SPDX-License-Identifier: BSD-3-Clause
"""bench/log-bench.sh's results: one table per part and a JSON document.

    logbench.py WORKDIR SECONDS OUT.json COMMIT SIZE...

Reads what log-bench.sh left in WORKDIR (paste-testpmd's --json files, the
per-point counters of the wire part, tcpdump's closing lines)."""

import json
import os
import platform
import re
import sys
import time


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def null_point(work, mode, size):
    j = load(os.path.join(work, "null-%s-%d.json" % (mode, size)))
    if not j:
        return None
    fps = j["forward"]["tx"] / j["elapsed_s"]
    out = dict(part="null", mode=mode, frame_bytes=size, frames_per_s=fps,
               ns_per_frame=1e9 / fps if fps else None, elapsed_s=j["elapsed_s"],
               drains=j["pool"]["drains"], persist=j["pool"]["persist_mode"])
    if j.get("log"):
        out["logged"] = j["log"].get("logged")
    return out


def busy(cpu_line):
    """'cpu0 B cpu1 B' (jiffies) -> {0: B, 1: B}"""
    f = cpu_line.split()
    return {int(f[i][3:]): int(f[i + 1]) for i in range(0, len(f), 2)}


def tcpdump_counts(path):
    got = {}
    try:
        text = open(path).read()
    except OSError:
        return got
    for key in ("captured", "received by filter", "dropped by kernel"):
        m = re.search(r"(\d+) packets? %s" % key, text)
        if m:
            got[key.replace(" ", "_")] = int(m.group(1))
    return got


def wire_point(work, mode, size):
    base = os.path.join(work, "wire-%s-%d" % (mode, size))
    w = load(base + ".json")
    if not w:
        return None
    hz = w["hz"]
    c0, c1 = busy(w["cpu0"]), busy(w["cpu1"])
    frames = w["rx1"] - w["rx0"]
    wall = float(w["wall"])
    out = dict(part="wire", mode=mode, frame_bytes=size, window_s=wall, frames=frames,
               frames_per_s=frames / wall if wall else None,
               core1_busy_s=(c1[1] - c0[1]) / hz, core0_busy_s=(c1[0] - c0[0]) / hz,
               forwarded_total=w["rx_all"])
    out["core1_ns_per_frame"] = out["core1_busy_s"] * 1e9 / frames if frames else None
    out["core0_ns_per_frame"] = out["core0_busy_s"] * 1e9 / frames if frames else None
    send = load(base + ".send.json")
    if send:
        out["sent_total"] = send["forward"]["tx"]
    if mode == "tcpdump":
        td = tcpdump_counts(base + ".fwd.log")
        out.update(("tcpdump_" + k, v) for k, v in td.items())
        out["tcpdump_ns_per_frame"] = (w["td_ticks"] / hz * 1e9 / frames) if frames else None
        if td.get("captured") is not None and w["rx_all"]:
            out["recorded_share"] = td["captured"] / w["rx_all"]
    fwd = load(base + ".fwd.json")
    if fwd and fwd.get("log"):
        out["logged"] = fwd["log"].get("logged")
        out["not_logged"] = fwd["log"].get("not_logged")
        if mode == "log":
            out["recorded_share"] = fwd["log"]["logged"] / max(fwd["forward"]["rx"], 1)
    return out


def memif_point(work, mode, size):
    base = os.path.join(work, "memif-%s-%d" % (mode, size))
    w = load(base + ".json")
    if not w:
        return None
    hz = w["hz"]
    c0, c1 = busy(w["cpu0"]), busy(w["cpu1"])
    wall = float(w["wall"])
    rates = w["rates"]
    fps = sum(rates) / len(rates) if rates else None
    frames = fps * wall if fps else None
    out = dict(part="memif", mode=mode, frame_bytes=size, window_s=wall,
               rx_pps_blocks=rates, frames_per_s=fps,
               core1_busy_s=(c1[1] - c0[1]) / hz, core0_busy_s=(c1[0] - c0[0]) / hz,
               m_busy_s=w["m_ticks"] / hz,
               path="S paste-testpmd txonly -memif- M -memif- R paste-testpmd rxonly, "
                    "one namespace; S and R on core 0, M on core 1")
    out["core1_ns_per_frame"] = out["core1_busy_s"] * 1e9 / frames if frames else None
    out["m_ns_per_frame"] = out["m_busy_s"] * 1e9 / frames if frames else None
    send, recv = load(base + ".send.json"), load(base + ".recv.json")
    if send:
        out["sent_total"] = send["forward"]["tx"]
    if recv:
        out["received_total"] = recv["forward"]["rx"]
    fwd = load(base + ".fwd.json")
    if fwd:
        out["forwarded_total"] = fwd["forward"]["tx"]
        out["m_received_total"] = fwd["forward"]["rx"]
        if fwd.get("log"):
            out["logged"] = fwd["log"].get("logged")
            out["not_logged"] = fwd["log"].get("not_logged")
            if mode == "log":
                out["recorded_share"] = fwd["log"]["logged"] / max(fwd["forward"]["rx"], 1)
    return out


def check(path):
    """--check OUT.json: the quick run's assertions (no timing): every
    memif mode delivered frames, log recorded every frame it received."""
    doc = load(path)
    bad = []
    pts = [p for p in (doc or {}).get("points", []) if p["part"] == "memif"]
    if not pts:
        bad.append("no memif point in %s" % path)
    for p in pts:
        what = "memif %d B %s" % (p["frame_bytes"], p["mode"])
        if not p.get("received_total"):
            bad.append("%s: R received no frame" % what)
        if not p.get("frames_per_s"):
            bad.append("%s: no receive rate inside the window" % what)
        if p["mode"] == "log" and (not p.get("m_received_total")
                                   or p.get("logged") != p.get("m_received_total")):
            bad.append("%s: logged %s of %s frames received" % (
                what, p.get("logged"), p.get("m_received_total")))
    for b in bad:
        print("log-bench: FAIL: " + b)
    print("log-bench: %d memif points checked, %d failed" % (len(pts), len(bad)))
    return 1 if bad else 0


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    if sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2]))
    work, secs, dest, commit = sys.argv[1:5]
    sizes = [int(s) for s in sys.argv[5:]]
    points = []
    for size in sizes:
        for mode in ("io", "log"):
            p = null_point(work, mode, size)
            if p:
                points.append(p)
        for mode in ("bridge", "tcpdump", "fwd", "log"):
            p = wire_point(work, mode, size)
            if p:
                points.append(p)
        for mode in ("testpmd", "fwd", "log"):
            p = memif_point(work, mode, size)
            if p:
                points.append(p)
    for p in points:
        if p["part"] == "null":
            print("null %4d B %-8s %12s frames/s %8s ns/frame" % (
                p["frame_bytes"], p["mode"], fmt(p["frames_per_s"], ",.0f"),
                fmt(p["ns_per_frame"], ".1f")))
    for size in sizes:
        wire = [p for p in points if p["part"] == "wire" and p["frame_bytes"] == size]
        ref = next((p for p in wire if p["mode"] == "tcpdump"), None)
        for p in wire:
            rel = (p["frames_per_s"] / ref["frames_per_s"]
                   if ref and ref["frames_per_s"] else None)
            p["frames_per_s_vs_tcpdump"] = rel
            p["core1_ns_vs_tcpdump"] = (p["core1_ns_per_frame"] / ref["core1_ns_per_frame"]
                                        if ref and ref["core1_ns_per_frame"]
                                        and p["core1_ns_per_frame"] else None)
            print("wire %4d B %-8s %12s frames/s (x%s vs tcpdump) core1 %8s ns/frame "
                  "(x%s) recorded %s" % (
                      size, p["mode"], fmt(p["frames_per_s"], ",.0f"), fmt(rel, ".2f"),
                      fmt(p["core1_ns_per_frame"], ".0f"), fmt(p["core1_ns_vs_tcpdump"], ".2f"),
                      fmt(p.get("recorded_share"), ".1%")))
    for size in sizes:
        mem = [p for p in points if p["part"] == "memif" and p["frame_bytes"] == size]
        ref = next((p for p in mem if p["mode"] == "testpmd"), None)
        for p in mem:
            rel = (p["frames_per_s"] / ref["frames_per_s"]
                   if ref and ref["frames_per_s"] and p["frames_per_s"] else None)
            p["frames_per_s_vs_testpmd"] = rel
            print("memif %4d B %-8s %12s frames/s (x%s vs testpmd io) M's CPU %6s ns/frame, "
                  "core 1 %6s ns/frame, recorded %s" % (
                      size, p["mode"], fmt(p["frames_per_s"], ",.0f"), fmt(rel, ".2f"),
                      fmt(p["m_ns_per_frame"], ".0f"), fmt(p["core1_ns_per_frame"], ".0f"),
                      fmt(p.get("recorded_share"), ".1%")))
    doc = dict(benchmark="log-bench", time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               commit=commit, seconds=float(secs), machine=dict(
                   cpus=os.cpu_count(), kernel=platform.release()),
               points=points)
    with open(dest, "w") as f:
        json.dump(doc, f, indent=1)
    print("log-bench: results in %s" % dest)


if __name__ == "__main__":
    main()
