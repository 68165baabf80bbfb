#!/usr/bin/python3
"""SCAN's guarantee through redis-py, for tests/kvs/test_kvs_scan.sh.

  kvs_scan_client.py HOST PORT NAME

Against one server (paste-kvs, or redis-server for the same script):
  - scan_iter over a keyspace that another connection changes between
    every two SCAN calls (new keys by the thousand, deletes): every key
    present for the whole iteration is returned (Redis's guarantee);
  - KEYS and SCAN never return a key past its deadline;
  - RANDOMKEY returns a live key;
  - CLIENT SETNAME / GETNAME / ID / LIST and HELLO through redis-py.
Exit status 0 when all hold. Bounded: every loop has a count limit.
"""
import sys
import time

import redis

STABLE = 2000


def fail(name, msg):
    print("FAIL [%s]: %s" % (name, msg))
    return 1


def scan_under_writes(r, w, name):
    """SCAN calls from @r, writes from @w between each two of them."""
    r.flushall()
    p = w.pipeline(transaction=False)
    for i in range(STABLE):
        p.set("s:%d" % i, "v")
    p.execute()
    seen, cursor, calls, added, deleted = set(), 0, 0, 0, 0
    while True:
        cursor, keys = r.scan(cursor=cursor, count=20)
        seen.update(k for k in keys if k.startswith(b"s:"))
        calls += 1
        if cursor == 0 or calls > 100000:
            break
        # Another connection: growth (a burst at the third call), and
        # deletes of keys added before.
        p = w.pipeline(transaction=False)
        for _ in range(5000 if calls == 3 else 40):
            p.set("c:%d" % added, "v")
            added += 1
        for _ in range(15):
            if deleted < added:
                p.delete("c:%d" % deleted)
                deleted += 1
        if calls == 30:
            for j in range(deleted, min(added, deleted + 3000)):
                p.delete("c:%d" % j)
            deleted = min(added, deleted + 3000)
        p.execute()
    missed = STABLE - len(seen)
    print("[%s] SCAN: %d calls, %d keys added and %d deleted meanwhile, %d of %d "
          "stable keys returned" % (name, calls, added, deleted, len(seen), STABLE))
    if calls > 100000:
        return fail(name, "SCAN did not end")
    if missed:
        return fail(name, "%d keys present throughout were not returned" % missed)
    # scan_iter, redis-py's own loop, over a still keyspace: each key.
    got = set(r.scan_iter(match="s:1*", count=100))
    want = {b"s:%d" % i for i in range(STABLE) if str(i).startswith("1")}
    if got != want:
        return fail(name, "scan_iter MATCH s:1*: %d keys, want %d" % (len(got), len(want)))
    return 0


def deadlines(r, name):
    r.flushall()
    for i in range(50):
        r.set("e:%d" % i, "v", px=150)
    r.set("keep", "v")
    if len(r.keys("e:*")) != 50:
        return fail(name, "KEYS before the deadline")
    time.sleep(0.4)
    if r.keys("e:*") or r.keys("*") != [b"keep"]:
        return fail(name, "KEYS returned keys past their deadline")
    if [k for k in r.scan_iter(count=5) if k != b"keep"]:
        return fail(name, "SCAN returned keys past their deadline")
    for _ in range(20):
        if r.randomkey() != b"keep":
            return fail(name, "RANDOMKEY returned a key past its deadline")
    r.flushdb()
    if r.randomkey() is not None or r.dbsize() != 0:
        return fail(name, "FLUSHDB left keys")
    return 0


def clients(r, w, name):
    if r.client_getname() is not None:
        return fail(name, "a new connection has a name")
    r.client_setname("scanner")
    w.client_setname("writer")
    if r.client_getname() != "scanner" or w.client_getname() != "writer":
        return fail(name, "CLIENT GETNAME: %r %r" % (r.client_getname(), w.client_getname()))
    ids = (r.client_id(), w.client_id())
    if ids[0] == ids[1] or min(ids) <= 0:
        return fail(name, "CLIENT ID: %r" % (ids,))
    listed = {c["name"]: int(c["id"]) for c in r.client_list()}
    if listed.get("scanner") != ids[0] or listed.get("writer") != ids[1]:
        return fail(name, "CLIENT LIST: %r, ids %r" % (listed, ids))
    hello = r.execute_command("HELLO", "2", "SETNAME", "again")
    if hello[hello.index("proto") + 1] != 2 or r.client_getname() != "again":
        return fail(name, "HELLO 2 SETNAME: %r" % (hello,))
    return 0


def main():
    host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    r = redis.Redis(host=host, port=port, socket_timeout=60, decode_responses=False)
    w = redis.Redis(host=host, port=port, socket_timeout=60, decode_responses=False)
    rc = scan_under_writes(r, w, name)
    rc |= deadlines(r, name)
    rc |= clients(redis.Redis(host=host, port=port, socket_timeout=10, decode_responses=True),
                  redis.Redis(host=host, port=port, socket_timeout=10, decode_responses=True),
                  name)
    r.flushall()
    print("[%s] %s" % (name, "all held" if rc == 0 else "FAILED"))
    return rc


if __name__ == "__main__":
    sys.exit(main())
