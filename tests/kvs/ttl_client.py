#!/usr/bin/env python3
"""Client of test_kvs_ttl.sh: keys with short and long deadlines.

  set HOST PORT PREFIX   N keys PREFIX:short:i with PX 300, N keys
                         PREFIX:long:i with EX 3600, N keys PREFIX:none:i
                         without a deadline; exits 0 when all were +OK.
  check HOST PORT PREFIX DBSIZE
                         after the short deadlines passed: first, before any
                         key is read, DBSIZE must come down to DBSIZE within
                         20 s (active expiry reclaims the recovered short
                         keys by itself); then every short key gone (GET
                         nil), every long key there with a TTL within
                         [3600 - 120, 3600], every plain key there with
                         TTL -1. Prints each failure.
"""
import sys
import time

import redis

N = 200


def main():
    cmd, host, port, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    slack = 120
    r = redis.Redis(host=host, port=port, socket_timeout=10)
    if cmd == "set":
        p = r.pipeline(transaction=False)
        for i in range(N):
            p.set(f"{prefix}:short:{i}", f"s{i}", px=300)
            p.set(f"{prefix}:long:{i}", f"l{i}", ex=3600)
            p.set(f"{prefix}:none:{i}", f"n{i}")
        bad = [x for x in p.execute() if x is not True]
        print(f"set: {3 * N - len(bad)} of {3 * N} acknowledged")
        return 0 if not bad else 1
    if cmd != "check":
        print("usage: ttl_client.py set|check HOST PORT PREFIX [SLACK]")
        return 2
    failures = 0
    want = int(sys.argv[5])
    end = time.monotonic() + 20
    n = r.dbsize()
    while n != want and time.monotonic() < end:
        time.sleep(0.1)
        n = r.dbsize()
    if n != want:
        failures += 1
        print(f"FAIL DBSIZE {n} after 20 s, want {want}: expired keys not reclaimed")
    for i in range(N):
        k = f"{prefix}:short:{i}"
        v = r.get(k)
        if v is not None:
            failures += 1
            if failures <= 5:
                print(f"FAIL {k}: expired key returned {v!r}")
    for i in range(N):
        k = f"{prefix}:long:{i}"
        v = r.get(k)
        try:
            ttl = r.execute_command("TTL", k)
        except redis.ResponseError as e:
            ttl = f"error {e}"
        if v != f"l{i}".encode() or not isinstance(ttl, int) or \
                not 3600 - slack <= ttl <= 3600:
            failures += 1
            if failures <= 10:
                print(f"FAIL {k}: value {v!r} ttl {ttl!r} (want l{i}, 3600-{slack}..3600)")
    for i in range(N):
        k = f"{prefix}:none:{i}"
        v = r.get(k)
        try:
            ttl = r.execute_command("TTL", k)
        except redis.ResponseError as e:
            ttl = f"error {e}"
        if v != f"n{i}".encode() or ttl != -1:
            failures += 1
            if failures <= 15:
                print(f"FAIL {k}: value {v!r} ttl {ttl!r} (want n{i}, -1)")
    print(f"check: {failures} failures over {3 * N} keys")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
