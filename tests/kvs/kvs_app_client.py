#!/usr/bin/python3
"""redis-py used as applications use it, against paste-kvs and redis-server
side by side (tests/kvs/test_kvs_app.sh). Both run with the same password.

  kvs_app_client.py KVS_HOST KVS_PORT REDIS_HOST REDIS_PORT PASSWORD

On each server, through redis-py's ordinary calls:
- a cache with TTLs: cache-aside reads (a miss computed and set with ex=,
  then hits), set(px=) entries seen expiring, nx= and keepttl=, ttl/pttl
  within their bounds;
- counters: incr, incrby, decr, decrby, incrbyfloat, and the error of a
  counter that is not a number;
- pipeline(transaction=True) of writes and reads, and one with an error
  queued (EXECABORT: redis-py raises the queued command's error, nothing
  run);
- optimistic locking: WATCH, read, MULTI, write, EXEC, a conflicting
  writer on a second connection in the first attempt of every other
  round, retried at most 5 times a round;
- scan_iter while a second connection writes new keys and deletes others:
  every key present through the whole scan is returned, nothing returned
  that never existed;
- client names: client_setname/client_getname, client_name= at connect,
  the name in CLIENT LIST;
- AUTH: no password or a wrong one refused (redis-py's errors and texts),
  the right one served.
Each part gives a result that must be the same on both servers and as
expected. Exit status 0 when all are, 1 otherwise.
"""
import sys
import time

import redis


def err(e):
    return "%s:%s" % (type(e).__name__, e)


def cache(r):
    """Cache-aside: a miss is computed and stored with a TTL, then hit."""
    out = []
    computed = [0]

    def fetch(user):
        v = r.get("cache:user:%d" % user)
        if v is None:
            computed[0] += 1
            v = b"profile-%d" % user
            r.set("cache:user:%d" % user, v, ex=60)
        return v

    for _ in range(3):
        for user in range(20):
            fetch(user)
    out.append(computed[0])                      # 20 misses, 40 hits
    ttls = [r.ttl("cache:user:%d" % u) for u in range(20)]
    out.append(all(55 <= t <= 60 for t in ttls))
    out.append(0 < r.pttl("cache:user:0") <= 60000)
    # short-lived entries: seen, then gone (lazily on read, and by count)
    for i in range(10):
        r.set("cache:short:%d" % i, "x" * (i + 1), px=200)
    out.append(r.mget(["cache:short:%d" % i for i in range(10)]).count(None))
    out.append(r.exists(*["cache:short:%d" % i for i in range(10)]))
    time.sleep(0.5)
    out.append(r.mget(["cache:short:%d" % i for i in range(10)]).count(None))
    out.append(r.exists(*["cache:short:%d" % i for i in range(10)]))
    out.append(r.ttl("cache:short:0"))           # -2: gone
    # a lock with nx=: the second taker fails; keepttl= keeps the deadline
    out.append(r.set("lock:job", "owner-1", nx=True, px=30000))
    out.append(r.set("lock:job", "owner-2", nx=True, px=30000))
    out.append(r.get("lock:job"))
    out.append(r.set("lock:job", "owner-1b", keepttl=True))
    out.append(0 < r.pttl("lock:job") <= 30000)
    out.append(r.set("lock:job", "owner-1c"))
    out.append(r.ttl("lock:job"))                # -1: SET cleared it
    out.append(r.expire("lock:job", 100))
    out.append(r.persist("lock:job"))
    out.append(r.ttl("lock:job"))
    out.append(r.setex("cache:sx", 30, "v"))
    out.append(r.ttl("cache:sx") in (29, 30))
    out.append(r.getex("cache:sx", persist=True))
    out.append(r.ttl("cache:sx"))
    out.append(r.ttl("cache:nokey"))
    return out


def counters(r):
    out = [r.incr("ctr:hits"), r.incr("ctr:hits"), r.incrby("ctr:hits", 40),
           r.decr("ctr:hits"), r.decrby("ctr:hits", 10), r.get("ctr:hits"),
           r.incrbyfloat("ctr:avg", 1.5), r.incrbyfloat("ctr:avg", -0.25),
           r.incrbyfloat("ctr:avg", 10), r.get("ctr:avg")]
    r.set("ctr:text", "abc")
    for f in (lambda: r.incr("ctr:text"), lambda: r.incrbyfloat("ctr:text", 1)):
        try:
            out.append(f())
        except redis.ResponseError as e:
            out.append(err(e))
    r.set("ctr:ttl", 5, ex=100)
    out.append(r.incr("ctr:ttl"))
    out.append(r.ttl("ctr:ttl") in (99, 100))    # INCR keeps the TTL
    return out


def pipelines(r):
    p = r.pipeline(transaction=True)
    p.set("order:1", "new").incr("orders").expire("order:1", 50)
    p.get("order:1").incrbyfloat("revenue", 9.99).mget("order:1", "orders", "nokey")
    p.ttl("order:1").delete("nokey").exists("order:1")
    out = p.execute()
    p = r.pipeline(transaction=True)
    p.set("order:2", "x").incr("orders")
    p.execute_command("SET", "order:3")          # wrong arity: queued error
    try:
        out.append(p.execute())
    except redis.ResponseError as e:   # redis-py names the queued error
        out.append(err(e))
    out.append([r.exists("order:2"), r.get("orders")])
    return out


def optimistic(r, other):
    """Move 1 unit from one account to another 20 times through WATCH; in
    the first attempt of every other round the second connection deposits
    into the source between the read and the EXEC."""
    r.mset({"acct:a": 100, "acct:b": 0})
    attempts = conflicts = 0
    for i in range(20):
        for attempt in range(5):
            attempts += 1
            with r.pipeline() as p:
                try:
                    p.watch("acct:a", "acct:b")
                    a, b = int(p.get("acct:a")), int(p.get("acct:b"))
                    if i % 2 == 0 and attempt == 0:
                        other.incrby("acct:a", 10)
                    p.multi()
                    p.set("acct:a", a - 1)
                    p.set("acct:b", b + 1)
                    p.execute()
                    break
                except redis.WatchError:
                    conflicts += 1
        else:
            return ["round %d: no EXEC in 5 attempts" % i]
    return [attempts, conflicts, int(r.get("acct:a")), int(r.get("acct:b"))]


def scanning(r, other):
    """scan_iter (COUNT 20) while the other connection writes 600 new keys
    and deletes 300 of the 1,000 keys of another family, a few writes per
    key returned."""
    # through a pipeline of SETs: paste-kvs takes at most 64 arguments
    # a command (doc/kvs.md), an MSET of 32 pairs
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set("stable:%04d" % i, i)
    for i in range(300):
        p.set("doomed:%04d" % i, i)
    p.execute()
    ever = {b"stable:%04d" % i for i in range(1000)} | {b"doomed:%04d" % i for i in range(300)}
    seen = set()
    written = 0
    for k in r.scan_iter(count=20):
        seen.add(k)
        if written < 600:
            p = other.pipeline(transaction=False)
            for j in range(written, min(written + 3, 600)):
                p.set("fresh:%04d" % j, j)
                if j < 300:
                    p.delete("doomed:%04d" % j)
            p.execute()
            written = min(written + 3, 600)
    ever |= {b"fresh:%04d" % j for j in range(written)}
    stable = {b"stable:%04d" % i for i in range(1000)}
    return [len(stable - seen), len(seen - ever), written > 0,
            sorted(k for k in seen if k.startswith(b"stable:")) == sorted(stable),
            len(list(r.scan_iter(match="stable:00*", count=100))),
            r.dbsize()]


def names(host, port, pw):
    r = redis.Redis(host=host, port=port, password=pw, socket_timeout=10)
    named = redis.Redis(host=host, port=port, password=pw, socket_timeout=10,
                        client_name="worker-7")
    out = [r.client_getname(), r.client_setname("web-frontend-1"), r.client_getname(),
           named.client_getname()]
    listed = {c.get("name") for c in r.client_list()}
    out.append(sorted(n for n in listed if n in ("web-frontend-1", "worker-7")))
    try:
        r.client_setname("has space")
        out.append("accepted")
    except redis.ResponseError as e:
        out.append(err(e))
    out.append(r.client_setname(""))
    out.append(r.client_getname())
    r.close()
    named.close()
    return out


def auth(host, port, pw):
    out = []
    for password in (None, "wrong-" + pw):
        c = redis.Redis(host=host, port=port, password=password, socket_timeout=10)
        try:
            out.append(c.set("auth:k", "v"))
        except (redis.AuthenticationError, redis.ResponseError) as e:
            out.append(err(e))
        c.close()
    c = redis.Redis(host=host, port=port, username="default", password=pw, socket_timeout=10)
    out += [c.set("auth:k", "v"), c.get("auth:k"), c.delete("auth:k")]
    try:
        out.append(c.execute_command("AUTH", "nope"))
    except redis.ResponseError as e:
        out.append(err(e))
    out.append(c.ping())                         # still authenticated
    c.close()
    return out


def run(host, port, pw):
    r = redis.Redis(host=host, port=port, password=pw, socket_timeout=10)
    other = redis.Redis(host=host, port=port, password=pw, socket_timeout=10)
    r.flushall()
    out = {}
    for name, f in (("cache", lambda: cache(r)), ("counters", lambda: counters(r)),
                    ("pipeline", lambda: pipelines(r)),
                    ("optimistic", lambda: optimistic(r, other)),
                    ("scan", lambda: (r.flushall(), scanning(r, other))[1]),
                    ("names", lambda: names(host, port, pw)),
                    ("auth", lambda: auth(host, port, pw))):
        try:
            out[name] = f()
        except Exception as e:  # reported as the part's result
            out[name] = "raised " + err(e)
    r.flushall()
    r.close()
    other.close()
    return out


WANT = {
    "cache": [20, True, True, 0, 10, 10, 0, -2, True, None, b"owner-1", True, True, True,
              -1, True, True, -1, True, True, b"v", -1, -2],
    "counters": [1, 2, 42, 41, 31, b"31", 1.5, 1.25, 11.25, b"11.25",
                 "ResponseError:value is not an integer or out of range",
                 "ResponseError:value is not a valid float", 6, True],
    "pipeline": [True, 1, True, b"new", 9.99, [b"new", b"1", None], 50, 0, 1,
                 "ResponseError:Command # 3 (SET order:3) of pipeline caused error: wrong "
                 "number of arguments for 'set' command", [0, b"1"]],
    "optimistic": [30, 10, 180, 20],
    "scan": [0, 0, True, True, 100, 1600],
    "names": [None, True, "web-frontend-1", "worker-7", ["web-frontend-1", "worker-7"],
              "ResponseError:Client names cannot contain spaces, newlines or special "
              "characters.", True, None],
    "auth": ["AuthenticationError:Authentication required.",
             "ResponseError:WRONGPASS invalid username-password pair or user is disabled.",
             True, b"v", 1,
             "ResponseError:WRONGPASS invalid username-password pair or user is disabled.",
             True],
}


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    pw = sys.argv[5]
    kvs = run(sys.argv[1], int(sys.argv[2]), pw)
    red = run(sys.argv[3], int(sys.argv[4]), pw)
    ok = True
    for name, want in WANT.items():
        same = kvs[name] == red[name]
        right = kvs[name] == want
        print("%s: %s%s" % (name, "same" if same else "DIFFERENT",
                            "" if right else " (not as expected)"))
        if not same or not right:
            print("  paste-kvs %r\n  redis     %r\n  want      %r" % (kvs[name], red[name], want))
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
