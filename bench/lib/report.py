# SPDX-License-Identifier: BSD-3-Clause
"""From results to figures: aggregate over repeats (medians and spreads),
ratios, targets, the markdown report, the plots and the terminal summary."""

import os
import platform
import re
import shutil
import subprocess

from capacity import (CAPACITY_HEADER, HEADROOM, LOADGEN_BUFS, MATRIX_HEADER, capacity_status,
                      capacity_table_rows, matrix_server_bufs, matrix_table_rows)
from common import CLEAN, CLIENT_BOUND, Context, PROG, REPO, median


# ---- aggregation ---------------------------------------------------------

def aggregate(results):
    groups = {}
    for r in results:
        groups.setdefault((r["system"], r["point"]), []).append(r)
    agg = {}
    for key, rs in groups.items():
        a = dict(system=key[0], point=key[1], reps=len(rs))
        for f in ("rps", "p50", "p99", "avg", "server_us_per_req", "client_util",
                  "server_util", "server_core_util", "pkts_in_per_req", "pkts_out_per_req",
                  "bridge_util"):
            a[f] = median([r.get(f) for r in rs])
        a["rps_all"] = [round(r["rps"], 1) for r in rs]
        # The spread over the repeats: a difference inside it is noise.
        for f in ("rps", "server_us_per_req"):
            xs = [r[f] for r in rs if r.get(f) is not None]
            a[f + "_min"] = min(xs) if xs else None
            a[f + "_max"] = max(xs) if xs else None
        a["errors"] = sum(r.get("errors", 0) or 0 for r in rs)
        a["client_bound"] = a["client_util"] is not None and a["client_util"] >= CLIENT_BOUND
        agg[key] = a
    return agg


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def within_noise(a, b, field="rps"):
    """Whether two points' repeats overlap (min-max of one meets the
    other's): their ratio is then no win and no loss. A point measured once
    has no spread, and its ratio stands as measured."""
    lo_a, hi_a = a.get(field + "_min"), a.get(field + "_max")
    lo_b, hi_b = b.get(field + "_min"), b.get(field + "_max")
    if None in (lo_a, hi_a, lo_b, hi_b) or a.get("reps", 1) < 2 or b.get("reps", 1) < 2:
        return False
    return lo_a <= hi_b and lo_b <= hi_a


def fmt_ratio(r, key):
    """One ratio cell: the factor, "within noise" when the repeats overlap,
    cb when a side was client-bound."""
    if key not in r:
        return "-"
    cell = "%.2f" % r[key]
    if r.get(key + " noise"):
        cell = "within noise (%s)" % cell
    if r.get(key + " client-bound"):
        cell += " cb"
    return cell


def fmt_spread(a, field="rps", digits=0):
    lo, hi = a.get(field + "_min"), a.get(field + "_max")
    if lo is None or hi is None or a.get("reps", 1) < 2:
        return "-"
    return "%s-%s" % (fmt_num(lo, digits), fmt_num(hi, digits))


def against_linux(agg, system, field, zero_ok=False):
    """(point, system's figures, linux-kvs's) for every point where both
    have a @field (a zero counts as none unless zero_ok)."""
    def has(v):
        return v is not None and (zero_ok or v != 0)

    for (s, pt), a in agg.items():
        b = agg.get(("linux-kvs", pt))
        if s == system and b and has(a[field]) and has(b[field]):
            yield pt, a, b


def targets(agg, memory):
    """The issue's targets, each met / missed / not measured, with the factor."""
    out = []

    def get(sysname, point, field="rps"):
        a = agg.get((sysname, point))
        return (a or {}).get(field), a

    def add(name, value, target, higher_better, detail, bound=False):
        if value is None:
            out.append(dict(target=name, value=None, goal=target, met=None,
                            status="not measured", detail=detail))
            return
        met = value >= target if higher_better else value <= target
        # How far off: the factor the value would have to improve by.
        short = None
        if not met and value and target:
            short = target / value if higher_better else value / target
        status = "met" if met else "missed by %.2fx" % short if short else "missed"
        if bound:
            status += " (a client-bound point: no claim)"
        out.append(dict(target=name, value=round(value, 3), goal=round(target, 3), met=met,
                        factor=round(short, 3) if short else None, status=status,
                        detail=detail))

    sb = "SET d=1024 P=16 c=50"
    pw, a1 = get("paste-wal", sb)
    lk, a2 = get("linux-kvs", sb)
    rd, a3 = get("redis", sb)
    cp, a4 = get("paste-copy", sb)
    bound = any(a and a["client_bound"] for a in (a1, a2))
    add("server-bound 1 KiB SET (P16, 50 conns): paste-kvs / linux-kvs >= 2x", ratio(pw, lk), 2.0,
        True, "%s vs %s req/s" % (fmt_num(pw), fmt_num(lk)), bound)
    add("server-bound 1 KiB SET: paste-kvs / redis (appendfsync always) >= 3x", ratio(pw, rd), 3.0,
        True, "%s vs %s req/s" % (fmt_num(pw), fmt_num(rd)))
    add("server-bound 1 KiB SET: zero-copy / --copy >= 1.3x", ratio(pw, cp), 1.3, True,
        "%s vs %s req/s" % (fmt_num(pw), fmt_num(cp)))
    pw8, _ = get("paste-wal", "SET d=8192 P=16 c=50")
    cp8, _ = get("paste-copy", "SET d=8192 P=16 c=50")
    r1 = ratio(pw, cp)
    r8 = ratio(pw8, cp8)
    add("8 KiB SET: zero-copy / --copy, more than at 1 KiB", r8, r1 if r1 else 1.3, True,
        "%s vs %s req/s" % (fmt_num(pw8), fmt_num(cp8)))
    # PASTE's slow-PM experiment: with every drain 10 us long, a server
    # that drains once per request pays it per request; one that drains
    # once per batch spreads it. At P1 only draining per poll across
    # connections batches, so the issue asks for server cost there.
    p1 = "SET d=1024 P=1 c=50"
    ld1, _ = get("linux-kvs+d10", p1, "server_us_per_req")
    for tb, sfx in (("afpacket", ""), ("nic", "@nic")):
        pd1, _ = get("paste-wal" + sfx + "+d10", p1, "server_us_per_req")
        add("[%s] 10 us drain, 1 KiB SET (P1, 50 conns): linux-kvs / paste-kvs server core "
            "time per request >= 4x" % tb, ratio(ld1, pd1), 4.0, True,
            "%s vs %s us" % (fmt_num(pd1, 2), fmt_num(ld1, 2)))
    pd, _ = get("paste-wal+d10", sb)
    ld, _ = get("linux-kvs+d10", sb)
    if pd and ld:
        out.append(dict(target="(info) 10 us drain, 1 KiB SET (P16, 50 conns): paste-kvs / "
                        "linux-kvs req/s", value=round(ratio(pd, ld), 3), goal=None, met=None,
                        status="info", detail="%s vs %s req/s" % (fmt_num(pd), fmt_num(ld))))
    pw_post, _ = get("paste-wal", "post1k P=1 c=50")
    lk_post, _ = get("linux-kvs", "post1k P=1 c=50")
    if pw_post and lk_post:
        out.append(dict(target="(info) wrk 1 KiB POST, 50 conns: paste-kvs / linux-kvs",
                        value=round(ratio(pw_post, lk_post), 3), goal=None, met=None,
                        status="info", detail="%s vs %s req/s" % (fmt_num(pw_post), fmt_num(lk_post))))
    for op in ("SET", "GET"):
        pt = "%s d=1024 P=1 c=1" % op
        p50p, _ = get("paste-wal", pt, "p50")
        p50l, _ = get("linux-kvs", pt, "p50")
        add("1 connection, %s 1 KiB: p50 paste-kvs / linux-kvs <= 0.5" % op, ratio(p50p, p50l), 0.5,
            False, "%s vs %s ms" % (fmt_num(p50p, 3), fmt_num(p50l, 3)))
    worse = []
    compared = 0
    for pt, a, b in against_linux(agg, "paste-wal", "p99", zero_ok=True):
        compared += 1
        if a["p99"] > b["p99"]:
            worse.append("%s (%.3f vs %.3f ms)" % (pt, a["p99"], b["p99"]))
    if compared:
        out.append(dict(target="p99 paste-kvs no worse than linux-kvs at any point",
                        value=len(worse), goal=0, met=not worse,
                        status="met" if not worse else "missed at %d of %d points" % (len(worse), compared),
                        detail="; ".join(worse)))
    else:
        add("p99 paste-kvs no worse than linux-kvs at any point", None, 0, False, "")
    cpw, _ = get("paste-wal", sb, "server_us_per_req")
    clk, _ = get("linux-kvs", sb, "server_us_per_req")
    add("[afpacket] server core time per request (1 KiB SET, P16, 50 conns): paste-kvs / linux-kvs <= 0.5",
        ratio(cpw, clk), 0.5, False, "%s vs %s us" % (fmt_num(cpw, 2), fmt_num(clk, 2)))
    for tb, sfx in (("afpacket", ""), ("nic", "@nic")):
        for op in ("SET", "GET"):
            pt = "%s d=1024 P=16 c=50" % op
            cp_, _ = get("paste-wal" + sfx, pt, "server_us_per_req")
            cl_, _ = get("linux-kvs", pt, "server_us_per_req")
            if tb == "afpacket" and op == "SET":
                continue    # the target above
            add("[%s] server core time per request (1 KiB %s, P16, 50 conns): paste-kvs / "
                "linux-kvs <= 0.5" % (tb, op), ratio(cp_, cl_), 0.5, False,
                "%s vs %s us" % (fmt_num(cp_, 2), fmt_num(cl_, 2)))
        slower, compared = [], 0
        for pt, a, b in against_linux(agg, "paste-wal" + sfx, "rps"):
            compared += 1
            if a["rps"] < b["rps"] and not within_noise(a, b):
                slower.append("%s (%.2fx)" % (pt, a["rps"] / b["rps"]))
        if tb == "nic":
            # Where paste-kvs's core, not the client's, sets the rate.
            short, bound = [], 0
            for pt, a, b in against_linux(agg, "paste-wal@nic", "rps"):
                if a["client_bound"]:
                    continue
                bound += 1
                if a["rps"] < 2 * b["rps"]:
                    short.append("%s (%.2fx)" % (pt, a["rps"] / b["rps"]))
            name2 = "[nic] paste-kvs >= 2x linux-kvs's req/s wherever paste-kvs's core is the limit"
            if bound:
                out.append(dict(target=name2, value=len(short), goal=0, met=not short,
                                status="met" if not short else "missed at %d of %d points" % (
                                    len(short), bound), detail="; ".join(short)))
            else:
                out.append(dict(target=name2, value=None, goal=0, met=None,
                                status="not measured: the client core was the limit at every "
                                "nic point", detail=""))
        name = ("[%s] no point where paste-kvs is slower than linux-kvs beyond the noise of its "
                "repeats" % tb)
        if compared:
            out.append(dict(target=name, value=len(slower), goal=0, met=not slower,
                            status="met" if not slower else "missed at %d of %d points" % (
                                len(slower), compared), detail="; ".join(slower)))
        else:
            add(name, None, 0, False, "")
    mem = {m["system"]: m for m in memory}
    mp = (mem.get("paste-wal") or {}).get("dram_per_key")
    mr = (mem.get("redis") or {}).get("dram_per_key")
    add("DRAM per stored key: paste-kvs / redis <= 0.1", ratio(mp, mr), 0.1, False,
        "%s vs %s bytes" % (fmt_num(mp), fmt_num(mr)))
    return out


def fmt_num(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(v)
    return "{:.{}f}".format(v, digits)


def ratio_cells(row, a, b, key):
    if a and b and a["rps"] and b["rps"]:
        row[key] = round(a["rps"] / b["rps"], 3)
        row[key + " client-bound"] = bool(a["client_bound"] or b["client_bound"])
        row[key + " noise"] = within_noise(a, b)


def ratios_table(agg, order=()):
    """paste-kvs's req/s over the others', per point and per testbed of
    paste-kvs (afpacket, nic), the two testbeds' rows next to each other."""
    rows = []
    seen = {pt for (_, pt) in agg}
    points = [pt for pt in order if pt in seen] + sorted(seen - set(order))
    for pt in points:
        for tb, sfx in (("afpacket", ""), ("nic", "@nic")):
            pw = agg.get(("paste-wal" + sfx, pt))
            if not pw:
                continue
            row = dict(point=pt, testbed=tb)
            for other, key in (("linux-kvs", "paste/linux-kvs"), ("redis", "paste/redis"),
                               ("paste-copy" + sfx, "zero-copy/copy")):
                ratio_cells(row, pw, agg.get((other, pt)), key)
            rows.append(row)
    for tb, sfx in (("afpacket", ""), ("nic", "@nic")):
        for pt in points:
            row = {"point": pt + " (10 us drain)", "testbed": tb}
            ratio_cells(row, agg.get(("paste-wal" + sfx + "+d10", pt)),
                        agg.get(("linux-kvs+d10", pt)), "paste/linux-kvs")
            if "paste/linux-kvs" in row:
                rows.append(row)
    return rows


# ---- reports -------------------------------------------------------------

def machine_info():
    def cmd(argv):
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
            return r.stdout.decode(errors="replace").strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    lscpu = cmd(["lscpu"])
    keep = {}
    for line in lscpu.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            if k.strip() in ("Architecture", "Model name", "CPU(s)", "Thread(s) per core",
                             "Hypervisor vendor", "Virtualization type", "L1d cache", "L2 cache",
                             "L3 cache", "CPU MHz", "BogoMIPS", "Flags"):
                v = v.strip()
                if k.strip() == "Flags":
                    v = " ".join(f for f in v.split() if f in (
                        "clflush", "clflushopt", "clwb", "sse4_2", "avx2", "avx512f", "constant_tsc",
                        "nonstop_tsc", "invariant_tsc", "tsc_known_freq"))
                keep[k.strip()] = v
    mem = ""
    with open("/proc/meminfo") as f:
        m = re.search(r"MemTotal:\s+(\d+)", f.read())
        mem = "%.1f GiB" % (int(m.group(1)) / 1048576) if m else ""
    return dict(
        lscpu=keep, memory=mem, kernel=platform.release(),
        os=cmd(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        redis_server=cmd(["redis-server", "--version"]),
        redis_benchmark=cmd(["redis-benchmark", "--version"]),
        wrk=cmd(["sh", "-c", "wrk -v 2>&1 | head -n 1"]),
        gcc=cmd(["sh", "-c", "gcc --version | head -n 1"]),
        dpdk=cmd(["pkg-config", "--modversion", "libdpdk"]),
        libpmem=cmd(["pkg-config", "--modversion", "libpmem"]),
        commit=cmd(["git", "-C", REPO, "describe", "--always", "--dirty"]),
        tsc_hz=None)


def write_plots(ctx, agg, systems, outdir, prefix):
    """PNG plots: throughput and latency against connections, per system."""
    gp = shutil.which("gnuplot")
    if not gp:
        return []
    groups = {}
    for (s, pt), a in agg.items():
        m = re.match(r"(\S+)( d=\d+)? P=(\d+) c=(\d+)$", pt)
        if not m:
            continue
        g = "%s%s P=%s" % (m.group(1), m.group(2) or "", m.group(3))
        groups.setdefault(g, {}).setdefault(s, []).append((int(m.group(4)), a))
    made = []
    for g, per in sorted(groups.items()):
        if all(len(v) < 2 for v in per.values()):
            continue   # one connection count: no curve to draw
        slug = re.sub(r"[^A-Za-z0-9]+", "-", g).strip("-").lower()
        datafiles = []
        for s, pts in sorted(per.items()):
            fn = os.path.join(ctx.work, "plot-%s-%s.dat" % (slug, s))
            with open(fn, "w") as f:
                for c, a in sorted(pts, key=lambda x: x[0]):
                    f.write("%d %s %s %s\n" % (c, a["rps"] or 0, a["p50"] or 0, a["p99"] or 0))
            datafiles.append((s, fn))
        png = os.path.join(outdir, "%s-%s.png" % (prefix, slug))
        plot_t = ", ".join("'%s' using 1:2 with linespoints title '%s'" % (fn, s) for s, fn in datafiles)
        plot_l = ", ".join("'%s' using 1:3 with linespoints title '%s p50', '%s' using 1:4 with "
                           "linespoints dashtype 2 title '%s p99'" % (fn, s, fn, s) for s, fn in datafiles)
        script = """set terminal pngcairo size 1300,460 font ',9'
set output '%s'
set multiplot layout 1,2 title '%s (%s run)'
set xlabel 'connections'
set ylabel 'requests/s'
set key top left font ',8'
set grid
set yrange [0:*]
plot %s
set ylabel 'latency (ms; p99 dashed)'
set key outside right font ',7'
set logscale y
set yrange [*:*]
plot %s
unset multiplot
""" % (png, g, ctx.mode, plot_t, plot_l)
        r = subprocess.run([gp], input=script.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if r.returncode == 0 and os.path.exists(png):
            made.append(png)
    return made


def write_matrix_plot(ctx, rows, outdir, prefix):
    """PNG: zero copy / copy (req/s, busy time per request) against value
    size, log x, SETs and GETs; [] without gnuplot or sizes."""
    gp = shutil.which("gnuplot")
    if not gp or not rows:
        return []
    series = []
    for test in ("set", "get"):
        pts = sorted((r["d"], r.get("rps_ratio"), r.get("busy_ratio"))
                     for r in rows if r["test"] == test)
        if len(pts) < 2:
            continue
        fn = os.path.join(ctx.work, "plot-zc-copy-%s.dat" % test)
        with open(fn, "w") as f:
            for d, rr, br in pts:
                f.write("%d %s %s\n" % (d, "NaN" if rr is None else rr,
                                         "NaN" if br is None else br))
        series.append((test.upper(), fn))
    if not series:
        return []
    png = os.path.join(outdir, "%s-capacity-zc-copy.png" % prefix)
    plot = ", ".join(
        "'%s' using 1:2 with linespoints lw 2 title '%s req/s', "
        "'%s' using 1:3 with linespoints dashtype 2 lw 2 title '%s busy time per request'"
        % (fn, t, fn, t) for t, fn in series)
    script = """set terminal pngcairo size 900,500 font ',9'
set output '%s'
set title 'paste-kvs zero copy / --copy on one core, by value size (%s run)'
set xlabel 'value size (bytes)'
set ylabel 'zero copy / copy'
set logscale x 2
set xtics ('64 B' 64, '1 KiB' 1024, '8 KiB' 8192, '64 KiB' 65536, '1 MiB' 1048576)
set grid
set key top left font ',8'
set yrange [0:*]
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 3 lc rgb 'gray40'
plot %s
""" % (png, ctx.mode, plot)
    r = subprocess.run([gp], input=script.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return [png] if r.returncode == 0 and os.path.exists(png) else []


def fmt_pct(v):
    return "-" if v is None else "%.0f%%" % (v * 100)


TEMPLATE = os.path.join(REPO, "bench", "report-template.md")


def template_blocks(path=TEMPLATE):
    """The report's prose: the blocks of bench/report-template.md, each
    after a line "@@ name", with {fields} filled by write_markdown."""
    blocks, name = {}, None
    with open(path) as f:
        for line in f:
            if line.startswith("@@ "):
                name = line[3:].strip()
                blocks[name] = ""
            elif name is not None:
                blocks[name] += line
    return blocks


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def points_rows(doc):
    order = doc["systems"] + doc["delay_systems"]
    pts = []
    for p in doc["points"] + doc["delay_points"]:
        if p["id"] not in pts:
            pts.append(p["id"])
    aggmap = {(a["system"], a["point"]): a for a in doc["aggregate"]}
    for pt in pts:
        for s in order:
            a = aggmap.get((s, pt))
            if a:
                yield pt, s, a


def objects_block(block, o):
    """The objects phase's table (bench/lib/objbench.py's summary)."""
    def cell(s, f="%.0f"):
        if not s:
            return "-"
        if s["n"] > 1 and s["min"] != s["max"]:
            return (f + " (" + f + "-" + f + ")") % (s["median"], s["min"], s["max"])
        return f % s["median"]
    rows, stages = [], []
    for row in o["summary"]:
        for sysname, s in row["systems"].items():
            rows.append(("%s %s" % (row["op"].upper(), row["point"]), sysname,
                         cell(s["rate"]) + (" req/s" if row["point"] == "4 KiB" else " MiB/s"),
                         cell(s["busy_us_per_mib"]), cell(s["outside_hashing_us_per_mib"]),
                         cell(s["pool_bytes_per_stored_byte"], "%.2f"), ""))
            stages.append("%s %s, %s: %s" % (row["op"].upper(), row["point"], sysname, ", ".join(
                "%s %.0f" % (k, v["median"]) for k, v in s["stages_us_per_mib"].items() if v)))
        if row.get("rate_ratio") is not None:
            rows.append(("", "paste / linux", "%.2f" % row["rate_ratio"],
                         "%.2f" % (row["busy_ratio"] or 0),
                         "%.2f" % (row["outside_hashing_ratio"] or 0), "",
                         "target %s" % ("met" if row["target_met"] else "not met")))
    return block.format(reps=o["reps"], seconds=o["seconds"], objects_table=md_table(
        ("point", "system", "rate", "busy us/MiB", "outside hashing", "pool B / stored B",
         "note"), rows), objects_stages="; ".join(stages) + ".")


def write_markdown(path, doc):
    ctx = doc["config"]
    m = doc["machine"]
    blocks = template_blocks()
    machine = ["- %s: %s" % (k, v) for k, v in m["lscpu"].items()]
    machine += ["- memory: %s" % m["memory"], "- kernel: %s (%s)" % (m["kernel"], m["os"]),
                "- %s; %s; %s" % (m["redis_server"], m["redis_benchmark"], m["wrk"]),
                "- %s; DPDK %s; libpmem %s" % (m["gcc"], m["dpdk"], m["libpmem"])]
    targets_rows = [(t["target"], "-" if t["value"] is None else t["value"],
                     "-" if t.get("goal") is None else t["goal"], t["status"],
                     t.get("detail", "")) for t in doc["targets"]]
    ratio_rows = [[r["point"], r.get("testbed", "afpacket")]
                  + [fmt_ratio(r, k) for k in ("paste/linux-kvs", "paste/redis", "zero-copy/copy")]
                  for r in doc["ratios"]]
    point_rows = []
    for pt, s, a in points_rows(doc):
        note = "cb" if a["client_bound"] else ""
        if a["errors"]:
            note += " %d errors" % a["errors"]
        point_rows.append((
            pt, s, fmt_num(a["server_us_per_req"], 2), fmt_spread(a, "server_us_per_req", 2),
            fmt_num(a["rps"]), fmt_spread(a), fmt_num(a["p50"], 3), fmt_num(a["p99"], 3),
            fmt_pct(a["client_util"]), fmt_pct(a.get("bridge_util")), fmt_pct(a["server_util"]),
            "%s / %s" % (fmt_num(a.get("pkts_in_per_req"), 2), fmt_num(a.get("pkts_out_per_req"), 2)),
            note.strip()))
    parts = [blocks["head"].format(
        quick_flag=" --quick" if ctx["mode"] == "quick" else "", date=doc["date"],
        commit=m["commit"], machine="\n".join(machine), tsc_ghz=(ctx.get("tsc_hz") or 0) / 1e9,
        reps=ctx["reps"], seconds=ctx["seconds"], keyspace=ctx["keyspace"],
        redis_version=m["redis_benchmark"].split()[-1] if m["redis_benchmark"] else "?",
        client_bound_pct=int(CLIENT_BOUND * 100),
        targets_table=md_table(("target", "value", "goal", "status", "detail"), targets_rows),
        ratios_table=md_table(("point", "testbed", "paste/linux-kvs", "paste/redis",
                               "zero-copy/copy"), ratio_rows),
        points_table=md_table(("point", "system", "srv us/req", "us/req min-max", "req/s",
                               "req/s min-max", "p50 ms", "p99 ms", "cli", "bridge", "srv",
                               "frames in/out per req", "note"), point_rows))]
    if doc["memory"]:
        parts.append(blocks["memory"].format(keys=doc["memory"][0]["keys"], memory_table=md_table(
            ("system", "DRAM bytes/key", "persistent bytes/key", "space amplification", "load s"),
            [(mm["system"], fmt_num(mm["dram_per_key"]), fmt_num(mm["persistent_per_key"]),
              "%.2f" % mm["space_amplification"], mm["load_s"]) for mm in doc["memory"]])))
    else:
        parts.append(blocks["no-memory"])
    if doc.get("idle"):
        parts.append(blocks["idle"].format(idle_table=md_table(
            ("mode", "idle CPU", "back-to-back p50 / p99 us", "after 0.2 s idle p50 / p99 us",
             "paced 1/ms p50 / p99 us", "CPU, paced"),
            [(r["mode"], "%.1f%%" % r["idle_cpu_pct"],
              "%.0f / %.0f" % (r["burst_p50_us"], r["burst_p99_us"]),
              "%.0f / %.0f" % (r["after_idle_p50_us"], r["after_idle_p99_us"]),
              "%.0f / %.0f" % (r["paced_p50_us"], r["paced_p99_us"]),
              "%.1f%%" % r["paced_cpu_pct"]) for r in doc["idle"]])))
    if doc.get("shards"):
        parts.append(blocks["shards"].format(shards_table=md_table(
            ("shards", "op", "req/s (all shards)", "p50 / p99 ms", "server CPU us/req",
             "busy us/req", "requests per shard"),
            [(r["shards"], r["op"].upper(), fmt_num(r["rps"]),
              "%.3f / %.3f" % (r["p50_ms"], r["p99_ms"]), "%.2f" % r["cpu_us_per_req"],
              "%.2f" % r["busy_us_per_req"], " / ".join(fmt_num(x) for x in r["requests_per_shard"]))
             for r in doc["shards"]])))
    if doc.get("capacity"):
        c0 = doc["capacity"][0]
        parts.append(blocks["capacity"].format(
            reps=c0["reps"], seconds=c0["seconds"], headroom=HEADROOM,
            capacity_table=md_table(CAPACITY_HEADER, capacity_table_rows(doc["capacity"]))))
    if doc.get("capacity_matrix"):
        m0 = doc["capacity_matrix"][0]
        parts.append(blocks["capacity-matrix"].format(
            reps=m0["reps"], seconds=m0["seconds"], loadgen_bufs=fmt_num(LOADGEN_BUFS),
            server_bufs=fmt_num(matrix_server_bufs(ctx["mode"])),
            buf_sizes=" and ".join(fmt_num(b) for b in sorted(
                {r.get("buf_size", 2176) for r in doc["capacity_matrix"]})),
            matrix_table=md_table(MATRIX_HEADER, matrix_table_rows(doc["capacity_matrix"]))))
    if doc.get("callgrind"):
        tops = []
        for c in doc["callgrind"]:
            for op in ("set", "get"):
                if c.get("top_" + op):
                    tops.append("%s, %s: instructions per request by function (own cost): %s\n\n" % (
                        c["system"], op.upper(), "; ".join(
                            "`%s` %s" % (fn, fmt_num(v)) for fn, v in c["top_" + op][:8])))
        parts.append(blocks["callgrind"].format(
            requests=doc["callgrind"][0]["requests"], callgrind_table=md_table(
                ("system", "instructions per SET", "instructions per GET",
                 "empty polls per SET / GET", "per SET / GET without them"),
                [(c["system"], fmt_num(c.get("ir_per_set")), fmt_num(c.get("ir_per_get")),
                  "-" if c.get("ir_busy_per_set") is None else "%.2f / %.2f (%s each)" % (
                      c["empty_polls_per_set"], c["empty_polls_per_get"],
                      fmt_num(c["ir_per_empty_poll"])),
                  "-" if c.get("ir_busy_per_set") is None else "%s / %s" % (
                      fmt_num(c["ir_busy_per_set"]), fmt_num(c["ir_busy_per_get"])))
                 for c in doc["callgrind"]])))
        parts += tops
    if doc.get("profile"):
        rows, tops = [], []
        for pr in doc["profile"]:
            for op in ("set", "get"):
                o = pr.get(op)
                if not o:
                    continue
                u = o["us_per_req"]
                rows.append((pr["system"], op.upper(), "%.2f" % o["busy_us_per_req"],
                             "%.2f" % u["server"], "%.2f" % u["libc"], "%.2f" % u["dpdk"],
                             "%.2f" % u["kernel"], "%.2f" % u["other_user"],
                             "%d%%" % round(100 * o["idle_share"])))
                if o.get("top"):
                    tops.append("%s, %s: us per request by function: %s\n\n" % (
                        pr["system"], op.upper(), "; ".join(
                            "`%s` %.3f" % (fn, v) for fn, v in o["top"][:10])))
        parts.append(blocks["profile"].format(
            hz=doc["profile"][0]["hz"], requests=doc["profile"][0]["requests"],
            profile_table=md_table(("system", "op", "busy us/req", "server code", "libc",
                                    "DPDK libs", "kernel", "other", "idle share"), rows)))
        parts += tops
    if doc.get("objects") and doc["objects"].get("summary"):
        parts.append(objects_block(blocks["objects"], doc["objects"]))
    if doc.get("failures"):
        parts.append(blocks["failures"].format(failure_list="\n".join(
            "- %s, %s, repeat %d: %s" % (f["system"], f["point"] or "start/load", f["rep"] + 1,
                                         f["error"].splitlines()[0][:300])
            for f in doc["failures"])))
    if doc.get("plots"):
        parts.append(blocks["plots"].format(plot_list="\n\n".join(
            "![%s](%s)" % (os.path.basename(p), os.path.relpath(p, os.path.dirname(path)))
            for p in doc["plots"])))
    notes = os.path.join(REPO, "bench", "notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            parts.append(f.read().rstrip() + "\n\n")
    parts.append(blocks["raw"].format(json_name=doc.get("json_name", "latest.json")))
    with open(path, "w") as f:
        f.write("".join(parts).rstrip("\n") + "\n")


def print_summary(doc):
    aggmap = {(a["system"], a["point"]): a for a in doc["aggregate"]}
    order = doc["systems"] + doc["delay_systems"]
    pts = []
    for p in doc["points"] + doc["delay_points"]:
        if p["id"] not in pts:
            pts.append(p["id"])
    print("%-22s %-19s %7s %10s %17s %8s %8s %5s %5s %5s %11s" % (
        "point", "system", "us/req", "req/s", "req/s min-max", "p50ms", "p99ms", "cli",
        "bridg", "srv", "frames i/o"))
    for pt in pts:
        for s in order:
            a = aggmap.get((s, pt))
            if not a:
                continue
            print("%-22s %-19s %7s %10s %17s %8s %8s %5s %5s %5s %5s/%-5s%s" % (
                pt, s, fmt_num(a["server_us_per_req"], 2), fmt_num(a["rps"]), fmt_spread(a),
                fmt_num(a["p50"], 3), fmt_num(a["p99"], 3), fmt_pct(a["client_util"]),
                fmt_pct(a.get("bridge_util")), fmt_pct(a["server_util"]),
                fmt_num(a.get("pkts_in_per_req"), 2), fmt_num(a.get("pkts_out_per_req"), 2),
                "  client-bound" if a["client_bound"] else ""))
    if doc["ratios"]:
        print()
        print("%-34s %-8s %24s %24s %24s" % ("ratio of req/s (cb: client-bound)", "testbed",
                                            "paste/linux-kvs", "paste/redis", "zero-copy/copy"))
        for r in doc["ratios"]:
            cells = [fmt_ratio(r, k) for k in ("paste/linux-kvs", "paste/redis", "zero-copy/copy")]
            print("%-34s %-8s %24s %24s %24s" % (r["point"], r.get("testbed", "afpacket"),
                                                 cells[0], cells[1], cells[2]))
    if doc["memory"]:
        print()
        print("%-15s %14s %16s %8s" % ("memory", "DRAM B/key", "persistent B/key", "ampl."))
        for m in doc["memory"]:
            print("%-15s %14s %16s %8.2f" % (m["system"], fmt_num(m["dram_per_key"]),
                                             fmt_num(m["persistent_per_key"]),
                                             m["space_amplification"]))
    print()
    print("targets:")
    for t in doc["targets"]:
        word = ("not measured" if t["status"].startswith("not") else
                t["status"].split()[0])
        if word == "not measured" and doc["config"]["mode"] == "demo":
            continue
        print("  %-12s %s: %s%s" % (
            word, t["target"], "-" if t["value"] is None else t["value"],
            " (%s)" % t["status"] if word == "missed" else ""))


def report(doc, docpath=None, work=None):
    """doc/benchmarks.md and its plots from a result document."""
    docpath = docpath or os.path.join(REPO, "doc", "benchmarks.md")
    # From the runs: a JSON file of an older run gets the spreads too.
    agg = aggregate(doc["runs"])
    doc["aggregate"] = sorted(agg.values(), key=lambda a: (a["point"], a["system"]))
    # Targets and ratios are recomputed: a report made again from an older
    # JSON file follows the current definitions.
    doc["ratios"] = ratios_table(agg, [p["id"] for p in doc["points"]])
    doc["targets"] = targets(agg, doc.get("memory", [])) + capacity_status(doc.get("capacity", []))
    tmp = work or os.path.join("/tmp", "paste-bench-report.%d" % os.getpid())
    os.makedirs(tmp, exist_ok=True)
    if not work:
        CLEAN.paths.append(tmp)
    pctx = Context()
    pctx.work = tmp
    pctx.mode = doc["config"]["mode"]
    imgdir = os.path.join(os.path.dirname(os.path.abspath(docpath)), "img")
    os.makedirs(imgdir, exist_ok=True)
    plots = write_plots(pctx, agg, doc["systems"] + doc["delay_systems"], imgdir, "bench")
    # The plot: the rows of the last buffer size run (the default's, alone
    # unless --matrix-buf-sizes named more).
    mrows = doc.get("capacity_matrix") or []
    plots += write_matrix_plot(pctx, [r for r in mrows if r.get("buf_size") ==
                                      mrows[-1].get("buf_size")], imgdir, "bench")
    doc["plots"] = plots
    write_markdown(docpath, doc)
    PROG.say("wrote %s and %d plot(s)" % (docpath, len(plots)))
