#!/usr/bin/python3
"""Client side of the whole-server power-loss test (tests/kvs/test_kvs_power.sh).

  power_client.py run HOST PORT OPLOG --ops N --keys K --seed S [--depth D]
                                      [--seconds T]
      One connection sends N operations (SET of new values, overwrites, DEL,
      MSET of 2 to 4 keys whose values span several 2 KiB pool buffers,
      transactions: MULTI, 2 to 4 of SET of such values, DEL, PEXPIREAT,
      PERSIST and SET of a short-lived key, EXEC; PEXPIREAT, PERSIST; every
      value distinct, 1 B to 5 KiB) in pipelined windows of D and writes
      OPLOG: one line per key-level operation, in the order the server
      executes them, "i kind key id t_send t_ack unit ukind deadline"
      (kind S, D, X or T; an MSET or EXEC is one line per key-level
      operation, all of one unit: the command's number, ukind M or E, "-"
      for a command of its own; X is a PEXPIREAT or PERSIST, its id field
      the new deadline, 0 for none; CLOCK_MONOTONIC ns: t_send taken before
      the window is sent, t_ack after its reply was read; -1: no reply). A
      SET's value id decides its deadline (deadline_of(): none, or one far
      ahead sent as PXAT); MSET's values have ids without one. The last
      SHORT keys are short-lived: only ever SET (T), with a PXAT 50 to 400
      ms ahead of the wall clock (the deadline field), so that each has
      expired long before any check, and never given a deadline by X.
  power_client.py check HOST PORT OPLOG T_HI --keys K
      Reads every key back and checks the recovered store against a power
      loss no later than T_HI (CLOCK_MONOTONIC ns, from kvs_trace_images):
      it must be the state after a prefix of OPLOG that holds every
      operation acknowledged before T_HI and none sent after it, and that
      ends between units (an MSET or EXEC all or none); every value
      byte-identical to one sent for its key, with the deadline
      (PEXPIRETIME) that prefix gave it; a key whose deadline passed
      (the short-lived ones) never returned, and reclaimed: DBSIZE comes
      down to the keys found within 2 s. Prints "check: ok prefix P of
      [LO, HI] keys K expired E" or the first difference, and exits 1 on a
      failure.
  power_client.py check-maps OPLOG MAPS
      The same check for every in-process recovery that kvs_trace_images
      recover printed to MAPS (a value is checked by its id, length,
      FNV-1a 64 and deadline; a record whose deadline passed is one the
      server never returns, checked as absent); prints "check-maps: N
      images, K keys checked, X expired, P past the acknowledged state, U
      cutting an MSET, E cutting an EXEC, F failures": U (E) counts the
      images that keep part of their epoch's words (not none, not all)
      while an MSET (EXEC) was in flight (sent before the cut, acknowledged
      after it): a power loss between the unit's first and last stored
      line.
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


# The last SHORT keys of the key space are short-lived (see run).
SHORT = 8


def apply(state, kind, k, v, dl=0):
    """One key-level operation on a state: key -> (value id, deadline)."""
    if kind == "S":
        state[k] = (v, deadline_of(v))
    elif kind == "T":
        state[k] = (v, dl)
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


def send_op(c, kind, k, v, dl):
    """One key-level operation as its command."""
    if kind == "D":
        c.send(b"DEL", key_name(k))
    elif kind == "X" and v == 0:
        c.send(b"PERSIST", key_name(k))
    elif kind == "X":
        c.send(b"PEXPIREAT", key_name(k), b"%d" % v)
    elif kind == "T":
        c.send(b"SET", key_name(k), value(k, v), b"PXAT", b"%d" % dl)
    elif deadline_of(v) != 0:
        c.send(b"SET", key_name(k), value(k, v), b"PXAT", b"%d" % deadline_of(v))
    else:
        c.send(b"SET", key_name(k), value(k, v))


def reply_ok(kind, r):
    return isinstance(r, int) if kind in "DX" else r == ("+", "OK")


def run(host, port, oplog, ops, keys, seed, depth=8, seconds=120):
    rng = random.Random(seed)
    c = Resp(host, port, timeout=30)
    lines = []
    vid = [0]
    deadline = time.monotonic() + seconds
    done = 0
    regular = keys - SHORT

    def long_id(k, far):
        """A value id for key k whose value is long (a unit over many
        buffers), with a far deadline or none as asked."""
        vid[0] += 1
        while ((deadline_of(vid[0]) != 0) != far
               or len(value(k, vid[0])) < MSET_MIN):
            vid[0] += 1
        return vid[0]

    def short_set():
        """A SET of a short-lived key: T, a PXAT 50 to 400 ms ahead."""
        vid[0] += 1
        k = regular + rng.randrange(SHORT)
        return ("T", k, vid[0], int(time.time() * 1000) + 50 + rng.randrange(350))

    def new_deadline(k):
        """X: a new far deadline for the value there (if any), or none."""
        dl = 0 if rng.random() < 0.3 else T_FAR + 10**9 + rng.randrange(10**9)
        return ("X", k, dl, 0)

    while done < ops and time.monotonic() < deadline:
        window = []   # (ukind, [(kind, key, id, deadline)])
        for _ in range(depth):
            r = rng.random()
            k = rng.randrange(regular)
            if r < 0.15:
                window.append(("-", [("D", k, 0, 0)]))
            elif r < 0.35:
                # MSET sets no deadline
                window.append(("M", [("S", (k + j) % regular, long_id((k + j) % regular, False), 0)
                                     for j in range(2 + rng.randrange(3))]))
            elif r < 0.55:
                items = []
                for j in range(2 + rng.randrange(3)):
                    kj, q = (k + j) % regular, rng.random()
                    if q < 0.5:
                        items.append(("S", kj, long_id(kj, rng.random() < 0.5), 0))
                    elif q < 0.65:
                        items.append(("D", kj, 0, 0))
                    elif q < 0.8:
                        items.append(new_deadline(kj))
                    else:
                        items.append(short_set())
                window.append(("E", items))
            elif r < 0.63:
                window.append(("-", [new_deadline(k)]))
            elif r < 0.68:
                window.append(("-", [short_set()]))
            else:
                vid[0] += 1
                window.append(("-", [("S", k, vid[0], 0)]))
        t_send = time.monotonic_ns()
        for ukind, items in window:
            if ukind == "M":
                args = [b"MSET"]
                for _, k, v, _ in items:
                    args += [key_name(k), value(k, v)]
                c.send(*args)
                continue
            if ukind == "E":
                c.send(b"MULTI")
            for item in items:
                send_op(c, *item)
            if ukind == "E":
                c.send(b"EXEC")
        for ukind, items in window:
            if ukind == "E":
                r = [c.reply() for _ in range(len(items) + 1)]
                got = c.reply()
                ok = (r == [("+", "OK")] + [("+", "QUEUED")] * len(items)
                      and isinstance(got, list) and len(got) == len(items)
                      and all(reply_ok(it[0], g) for it, g in zip(items, got)))
            else:
                got = c.reply()
                ok = reply_ok("S" if ukind == "M" else items[0][0], got)
            t_ack = time.monotonic_ns()
            if not ok:
                print("run: %s %r -> %r" % (ukind, items, got), file=sys.stderr)
                return 1
            for kind, k, v, dl in items:
                lines.append("%s %d %d %d %d %d %s %d" % (kind, k, v, t_send, t_ack, done,
                                                          ukind, dl))
            done += 1
    c.close()
    with open(oplog, "w") as f:
        for i, l in enumerate(lines):
            f.write("%d %s\n" % (i, l))
    print("run: %d operations (%d key-level) acknowledged" % (done, len(lines)))
    return 0


def load_oplog(path):
    """(kind, key, id, t_send, t_ack, unit, ukind, deadline) per line; a
    line without a unit is one of its own."""
    ops = []
    for n, line in enumerate(open(path)):
        f = line.split()
        unit = int(f[6]) if len(f) > 6 else -1 - n
        ukind = f[7] if len(f) > 7 else "-"
        ops.append((f[1], int(f[2]), int(f[3]), int(f[4]), int(f[5]), unit, ukind,
                    int(f[8]) if len(f) > 8 else 0))
    return ops


def live(state, now_ms):
    """The keys of a state a server returns at wall-clock now_ms: those
    whose deadline has not passed."""
    return {k: e for k, e in state.items() if e[1] == 0 or e[1] > now_ms}


def unit_boundary(ops, p):
    """A prefix of p operations ends between units."""
    return p == 0 or p == len(ops) or ops[p - 1][5] != ops[p][5]


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def check_state(ops, t_hi, got, now_ms):
    """got: key -> (value id, deadline) recovered, those past their
    deadline at now_ms left out. A prefix of ops holding every one
    acknowledged before t_hi and none sent after it? Returns (ok, text)."""
    lo = 0
    for i, o in enumerate(ops):
        if 0 <= o[4] < t_hi:
            lo = i + 1
    hi = sum(1 for o in ops if o[3] < t_hi)
    state = {}
    for o in ops[:lo]:
        apply(state, o[0], o[1], o[2], o[7])
    acked = live(state, now_ms)
    cut = None
    for p in range(lo, hi + 1):
        shown = live(state, now_ms)
        if shown == got:
            if unit_boundary(ops, p):
                return True, ("ok prefix %d of [%d, %d] keys %d expired %d"
                              % (p, lo, hi, len(got), len(state) - len(shown)))
            cut = p
        if p < hi:
            o = ops[p]
            apply(state, o[0], o[1], o[2], o[7])
    if cut is not None:
        return False, ("FAIL the state after %d operations, inside the %s "
                       "(unit %d) of operations %d..: a unit cut"
                       % (cut, "EXEC" if ops[cut][6] == "E" else "MSET", ops[cut][5], cut - 1))
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
    now_ms = int(time.time() * 1000)
    # Expired keys count in DBSIZE until active expiry reclaims them
    # (Redis's rule); it must, within 2 s.
    for _ in range(40):
        n = c.cmd(b"DBSIZE")
        if n == len(got):
            break
        time.sleep(0.05)
    c.close()
    if n != len(got):
        print("check: FAIL DBSIZE %r, %d keys of the workload found" % (n, len(got)))
        return 1
    ok, text = check_state(ops, t_hi, got, now_ms)
    print("check: " + text)
    return 0 if ok else 1


def check_maps(oplog, maps):
    """The in-process recoveries of kvs_trace_images recover."""
    ops = load_oplog(oplog)
    now_ms = int(time.time() * 1000)
    expect = {}
    n = bad = keys = past = expired = 0
    # MSETs, EXECs: (t_send, t_ack) of each unit of more than one line
    sizes = {}
    for o in ops:
        sizes[o[5]] = sizes.get(o[5], 0) + 1
    flight = {u: sorted({(o[3], o[4] if o[4] >= 0 else 1 << 62)
                         for o in ops if sizes[o[5]] > 1 and o[6] == u}) for u in "ME"}
    cuts = {u: 0 for u in "ME"}
    for line in open(maps):
        if not line.startswith("map "):
            continue
        n += 1
        head, _, entries = line.partition(" keys:")
        f = head.split()
        if "words" in f:
            w = f.index("words")
            taken, total, t_hi = int(f[w + 1]), int(f[w + 3]), int(f[3])
            for u in "ME":
                if 0 < taken < total and any(ts < t_hi <= ta for ts, ta in flight[u]):
                    cuts[u] += 1
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
            if dl != 0 and dl <= now_ms:
                expired += 1   # never returned: checked as absent
            else:
                got[k] = (vid, dl)
        else:
            ok, text = check_state(ops, int(f[3]), got, now_ms)
            keys += len(got)
            if not ok:
                print("check-maps: record %s (%s): %s" % (f[1], f[5], text))
                bad += 1
            elif int(text.split()[2]) > int(text.split()[4].strip("[,")):
                past += 1
    print("check-maps: %d images, %d keys checked, %d expired, %d past the "
          "acknowledged state, %d cutting an MSET, %d cutting an EXEC, %d failures"
          % (n, keys, expired, past, cuts["M"], cuts["E"], bad))
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
