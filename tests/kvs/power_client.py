#!/usr/bin/python3
"""Client side of the whole-server power-loss test (tests/kvs/test_kvs_power.sh).

  power_client.py run HOST PORT OPLOG --ops N --keys K --seed S [--depth D]
                                      [--seconds T]
      One connection sends N operations (SET of new values, overwrites, DEL,
      MSET of 2 to 4 keys whose values span several 2 KiB pool buffers,
      PEXPIREAT, PERSIST; every value distinct, 1 B to 5 KiB) in pipelined
      windows of D and writes OPLOG: one line per key-level operation, in
      the order the server executes them, "i kind key id t_send t_ack unit"
      (kind S, D or X; an MSET is one line per key, all of one unit: the
      command's number; X is a PEXPIREAT or PERSIST, its id field the new
      deadline, 0 for none; CLOCK_MONOTONIC ns: t_send taken before the
      window is sent, t_ack after its reply was read; -1: no reply). A
      SET's value id decides its deadline (deadline_of(): none, or one far
      ahead sent as PXAT); MSET's values have ids without one.
  power_client.py check HOST PORT OPLOG T_HI --keys K
      Reads every key back and checks the recovered store against a power
      loss no later than T_HI (CLOCK_MONOTONIC ns, from kvs_trace_images):
      it must be the state after a prefix of OPLOG that holds every
      operation acknowledged before T_HI and none sent after it, and that
      ends between units (an MSET all or none); every value
      byte-identical to one sent for its key, with the deadline
      (PEXPIRETIME) that prefix gave it; DBSIZE equal to the keys
      found. Prints "check: ok prefix P of [LO, HI] keys K" or the first
      difference, and exits 1 on a failure.
  power_client.py check-maps OPLOG MAPS
      The same check for every in-process recovery that kvs_trace_images
      recover printed to MAPS (a value is checked by its id, length,
      FNV-1a 64 and deadline); prints "check-maps: N images, K keys
      checked, P past the acknowledged state, U cutting an MSET, F
      failures": U counts the
      images that keep part of their epoch's words (not none, not all)
      while an MSET was in flight (sent before the cut, acknowledged after
      it): a power loss between the unit's first and last stored line.
  power_client.py scribble HOST PORT N
      SETs N other keys of 2000 bytes each (taking free buffers, so that a
      buffer both free and named by the index would be overwritten), then
      DELs them.
"""
import hashlib
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvs_client import Resp  # noqa: E402


def key_name(k):
    return b"pw:%04d" % k


# Deadlines: far ahead (2100), so that none passes while a test runs; the
# crash images check that each survives with its value, exactly.
T_FAR = 4102444800000


def deadline_of(vid):
    """The deadline a SET of value vid gives its key (0: none)."""
    return 0 if vid % 3 == 0 else T_FAR + vid


def apply(state, kind, k, v):
    """One key-level operation on a state: key -> (value id, deadline)."""
    if kind == "S":
        state[k] = (v, deadline_of(v))
    elif kind == "D":
        state.pop(k, None)
    elif k in state:
        state[k] = (state[k][0], v)


def value(k, vid):
    """Value number vid of key k: its id first, then bytes that follow."""
    h = hashlib.sha256(b"%d/%d" % (k, vid)).digest()
    n = 1 + (h[0] << 8 | h[1]) % (5000 if h[2] < 64 else 600)
    head = b"v%d;" % vid
    out = bytearray(head)
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:max(n, len(head))])


# An MSET's values: at least this long (two and more 2 KiB buffers).
MSET_MIN = 2500


def value_id(k, v):
    """The id of v if it is exactly a value sent for key k, else None."""
    if not v.startswith(b"v") or b";" not in v[:12]:
        return None
    try:
        vid = int(v[1:v.index(b";")])
    except ValueError:
        return None
    return vid if value(k, vid) == v else None


def run(host, port, oplog, ops, keys, seed, depth=8, seconds=120):
    rng = random.Random(seed)
    c = Resp(host, port, timeout=30)
    lines = []
    vid = 0
    deadline = time.monotonic() + seconds
    done = 0
    while done < ops and time.monotonic() < deadline:
        window = []
        for _ in range(depth):
            r = rng.random()
            k = rng.randrange(keys)
            if r < 0.2:
                window.append(("D", [(k, 0)]))
            elif r < 0.45:
                items = []
                for j in range(2 + rng.randrange(3)):
                    vid += 1
                    # ids whose values are long (a unit over many
                    # buffers) and that carry no deadline (MSET sets none)
                    while (deadline_of(vid) != 0
                           or len(value((k + j) % keys, vid)) < MSET_MIN):
                        vid += 1
                    items.append(((k + j) % keys, vid))
                window.append(("M", items))
            elif r < 0.55:
                # a new deadline for the value there (if any), or none
                dl = 0 if rng.random() < 0.3 else T_FAR + 10**9 + rng.randrange(10**9)
                window.append(("X", [(k, dl)]))
            else:
                vid += 1
                window.append(("S", [(k, vid)]))
        t_send = time.monotonic_ns()
        for kind, items in window:
            if kind == "D":
                c.send(b"DEL", key_name(items[0][0]))
            elif kind == "X":
                if items[0][1] == 0:
                    c.send(b"PERSIST", key_name(items[0][0]))
                else:
                    c.send(b"PEXPIREAT", key_name(items[0][0]), b"%d" % items[0][1])
            elif kind == "S" and deadline_of(items[0][1]) != 0:
                c.send(b"SET", key_name(items[0][0]), value(*items[0]),
                       b"PXAT", b"%d" % deadline_of(items[0][1]))
            elif kind == "S":
                c.send(b"SET", key_name(items[0][0]), value(*items[0]))
            else:
                args = [b"MSET"]
                for k, v in items:
                    args += [key_name(k), value(k, v)]
                c.send(*args)
        for kind, items in window:
            r = c.reply()
            t_ack = time.monotonic_ns()
            ok = isinstance(r, int) if kind in "DX" else r == ("+", "OK")
            if not ok:
                print("run: %s -> %r" % (kind, r), file=sys.stderr)
                return 1
            for k, v in items:
                lines.append("%s %d %d %d %d %d" % ("S" if kind == "M" else kind,
                                                    k, v, t_send, t_ack, done))
            done += 1
    c.close()
    with open(oplog, "w") as f:
        for i, l in enumerate(lines):
            f.write("%d %s\n" % (i, l))
    print("run: %d operations (%d key-level) acknowledged" % (done, len(lines)))
    return 0


def load_oplog(path):
    """(kind, key, id, t_send, t_ack, unit) per line; a line without a
    unit is one of its own."""
    ops = []
    for n, line in enumerate(open(path)):
        f = line.split()
        unit = int(f[6]) if len(f) > 6 else -1 - n
        ops.append((f[1], int(f[2]), int(f[3]), int(f[4]), int(f[5]), unit))
    return ops


def unit_boundary(ops, p):
    """A prefix of p operations ends between units."""
    return p == 0 or p == len(ops) or ops[p - 1][5] != ops[p][5]


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def check_state(ops, t_hi, got):
    """got: key -> (value id, deadline) recovered. A prefix of ops holding
    every one acknowledged before t_hi and none sent after it? Returns (ok,
    text)."""
    lo = 0
    for i, o in enumerate(ops):
        if 0 <= o[4] < t_hi:
            lo = i + 1
    hi = sum(1 for o in ops if o[3] < t_hi)
    state = {}
    for kind, k, v, _, _, _ in ops[:lo]:
        apply(state, kind, k, v)
    acked = dict(state)
    cut = None
    for p in range(lo, hi + 1):
        if state == got:
            if unit_boundary(ops, p):
                return True, "ok prefix %d of [%d, %d] keys %d" % (p, lo, hi, len(got))
            cut = p
        if p < hi:
            kind, k, v, _, _, _ = ops[p]
            apply(state, kind, k, v)
    if cut is not None:
        return False, ("FAIL the state after %d operations, inside the MSET "
                       "(unit %d) of operations %d..: a unit cut"
                       % (cut, ops[cut][5], cut - 1))
    for k in sorted(set(acked) | set(got)):
        if acked.get(k) != got.get(k):
            return False, ("FAIL key %s holds value %s, the acknowledged state "
                           "(%d ops) has %s; no prefix of [%d, %d] matches"
                           % (key_name(k).decode(), got.get(k), lo, acked.get(k), lo, hi))
    return False, "FAIL no prefix of [%d, %d] matches" % (lo, hi)


def check(host, port, oplog, t_hi, keys):
    ops = load_oplog(oplog)
    c = Resp(host, port, timeout=30)
    for k in range(keys):
        c.send(b"GET", key_name(k))
        c.send(b"PEXPIRETIME", key_name(k))
    got = {}
    for k in range(keys):
        v = c.reply()
        dl = c.reply()
        if v is None:
            continue
        vid = value_id(k, v)
        if vid is None:
            print("check: FAIL key %s holds %d bytes that were never sent for it"
                  % (key_name(k).decode(), len(v)))
            return 1
        got[k] = (vid, dl if dl != -1 else 0)
    n = c.cmd(b"DBSIZE")
    c.close()
    if n != len(got):
        print("check: FAIL DBSIZE %r, %d keys of the workload found" % (n, len(got)))
        return 1
    ok, text = check_state(ops, t_hi, got)
    print("check: " + text)
    return 0 if ok else 1


def check_maps(oplog, maps):
    """The in-process recoveries of kvs_trace_images recover."""
    ops = load_oplog(oplog)
    expect = {}
    n = bad = keys = past = cuts = 0
    # MSETs: (t_send, t_ack) of each unit of more than one key
    sizes = {}
    for o in ops:
        sizes[o[5]] = sizes.get(o[5], 0) + 1
    msets = sorted({(o[3], o[4] if o[4] >= 0 else 1 << 62)
                    for o in ops if sizes[o[5]] > 1})
    for line in open(maps):
        if not line.startswith("map "):
            continue
        n += 1
        head, _, entries = line.partition(" keys:")
        f = head.split()
        if "words" in f:
            w = f.index("words")
            taken, total, t_hi = int(f[w + 1]), int(f[w + 3]), int(f[3])
            if 0 < taken < total and any(ts < t_hi <= ta for ts, ta in msets):
                cuts += 1
        if "FAIL" in f or not entries and "fallbacks" not in f:
            print("check-maps: %s" % line.strip())
            bad += 1
            continue
        got = {}
        for e in entries.split():
            k, vid, length, h, dl = (int(x) for x in e.split(":"))
            if (k, vid) not in expect:
                v = value(k, vid) if vid >= 0 else b""
                expect[(k, vid)] = (len(v), fnv1a64(v))
            if vid < 0 or expect[(k, vid)] != (length, h):
                print("check-maps: record %s: key %s holds %d bytes that were "
                      "never sent for it" % (f[1], key_name(k).decode(), length))
                bad += 1
                break
            got[k] = (vid, dl)
        else:
            ok, text = check_state(ops, int(f[3]), got)
            keys += len(got)
            if not ok:
                print("check-maps: record %s (%s): %s" % (f[1], f[5], text))
                bad += 1
            elif int(text.split()[2]) > int(text.split()[4].strip("[,")):
                past += 1
    print("check-maps: %d images, %d keys checked, %d past the acknowledged "
          "state, %d cutting an MSET, %d failures" % (n, keys, past, cuts, bad))
    return 1 if bad or n == 0 else 0


def scribble(host, port, n):
    c = Resp(host, port, timeout=30)
    for i in range(n):
        c.send(b"SET", b"sc:%d" % i, bytes([i % 251]) * 2000)
    bad = sum(1 for _ in range(n) if c.reply() != ("+", "OK"))
    for i in range(n):
        c.send(b"DEL", b"sc:%d" % i)
    bad += sum(1 for _ in range(n) if c.reply() != 1)
    c.close()
    print("scribble: %d keys written and deleted, %d bad replies" % (n, bad))
    return 1 if bad else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "check-maps":
        return check_maps(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "scribble":
        return scribble(argv[2], int(argv[3]), int(argv[4]))
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    mode, host, port, oplog = argv[1], argv[2], int(argv[3]), argv[4]
    if mode == "run":
        o = dict(zip(argv[5::2], argv[6::2]))
        return run(host, port, oplog, int(o["--ops"]), int(o["--keys"]),
                   int(o["--seed"]), int(o.get("--depth", 8)),
                   float(o.get("--seconds", 120)))
    if mode == "check" and len(argv) >= 6:
        o = dict(zip(argv[6::2], argv[7::2]))
        return check(host, port, oplog, int(argv[5]), int(o["--keys"]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
