#!/usr/bin/python3
"""Clients of a paste-kvs cluster, for tests/kvs/test_kvs_cluster.sh.

  cluster_client.py slots HOST PORT
      redis-py's RedisCluster (Debian's python3-redis), started from one
      node: one key in each of the 16,384 slots, written then read back,
      plus CROSSSLOT refused and hash-tagged multi-key commands served.
  cluster_client.py proxy HOST PORT
      a plain client (redis.Redis) through nutcracker: one key in each slot
      written and read back; any -MOVED reply is a routing error.
  cluster_client.py load MAP OUT SECONDS
      writes keys to every node of the slot map for SECONDS, each request
      sent to its slot's owner over a plain connection; every acknowledged
      key is appended to OUT (flushed at once). Prints per node how many
      writes failed: a node being restarted fails some, the others none.
  cluster_client.py verify HOST PORT OUT
      RedisCluster reads every key of OUT back.
"""
import sys
import time

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot


def keys_for_every_slot():
    keys = [None] * 16384
    missing = 16384
    i = 0
    while missing:
        k = "s%d" % i
        s = key_slot(k.encode())
        if keys[s] is None:
            keys[s] = k
            missing -= 1
        i += 1
    return keys


def slots(host, port):
    rc = RedisCluster(host=host, port=port, socket_timeout=10)
    nodes = rc.get_primaries()
    print("primaries:", sorted("%s:%d" % (n.host, n.port) for n in nodes))
    keys = keys_for_every_slot()
    want = ["v-%s-%d" % (k, i) for i, k in enumerate(keys)]
    pipe = rc.pipeline()
    bad = 0
    for lo in range(0, len(keys), 512):
        for k, v in zip(keys[lo:lo + 512], want[lo:lo + 512]):
            pipe.set(k, v)
        bad += sum(r is not True for r in pipe.execute())
    for lo in range(0, len(keys), 512):
        for k in keys[lo:lo + 512]:
            pipe.get(k)
        got = pipe.execute()
        bad += sum(g != v.encode() for g, v in zip(got, want[lo:lo + 512]))
    print("slots written and read:", len(keys), "bad:", bad)
    try:
        rc.execute_command("MSET", "a-key", "1", "b-key", "2", target_nodes=nodes[0])
        print("CROSSSLOT not refused")
        bad += 1
    except redis.exceptions.ClusterCrossSlotError:
        pass  # redis-py's name for -CROSSSLOT
    except redis.exceptions.ResponseError as e:
        print("not a CROSSSLOT error:", repr(e))
        bad += 1
    rc.mset_nonatomic({"{tag}a": "1", "{tag}b": "2"})
    if rc.mget_nonatomic(["{tag}a", "{tag}b"]) != [b"1", b"2"]:
        bad += 1
    info = rc.info(target_nodes=RedisCluster.PRIMARIES)
    enabled = [v.get("cluster_enabled") for v in info.values()] if isinstance(info, dict) \
        and all(isinstance(v, dict) for v in info.values()) else [info.get("cluster_enabled")]
    if any(e != 1 for e in enabled):
        print("cluster_enabled:", enabled)
        bad += 1
    rc.close()
    return 1 if bad else 0


def proxy(host, port):
    px = redis.Redis(host=host, port=port, socket_timeout=10)
    keys = keys_for_every_slot()
    moved = other = 0
    for lo in range(0, len(keys), 512):
        pipe = px.pipeline(transaction=False)
        for k in keys[lo:lo + 512]:
            pipe.set(k, "px-" + k)
        for r in pipe.execute(raise_on_error=False):
            if isinstance(r, Exception):
                moved += "MOVED" in str(r)
                other += "MOVED" not in str(r)
    wrong = 0
    for lo in range(0, len(keys), 512):
        pipe = px.pipeline(transaction=False)
        for k in keys[lo:lo + 512]:
            pipe.get(k)
        got = pipe.execute(raise_on_error=False)
        wrong += sum(g != ("px-" + k).encode() for g, k in zip(got, keys[lo:lo + 512]))
    print("through the proxy: %d keys, MOVED %d, other errors %d, wrong reads %d"
          % (len(keys), moved, other, wrong))
    return 1 if moved or other or wrong else 0


def read_map(path):
    owners = [None] * 16384
    for line in open(path):
        words = line.split("#")[0].split()
        if not words:
            continue
        host, port = words[1].rsplit(":", 1)
        for w in words[2:]:
            if w.startswith("http="):
                continue
            lo, _, hi = w.partition("-")
            for s in range(int(lo), int(hi or lo) + 1):
                owners[s] = (host, int(port))
    return owners


def load(mapfile, out, seconds):
    owners = read_map(mapfile)
    conns = {}
    fails = {}
    acked = 0
    deadline = time.monotonic() + seconds
    i = 0
    with open(out, "w") as f:
        while time.monotonic() < deadline:
            k = "load-%d" % i
            i += 1
            node = owners[key_slot(k.encode())]
            fails.setdefault(node, 0)
            c = conns.get(node)
            if c is None:
                c = conns[node] = redis.Redis(host=node[0], port=node[1],
                                              socket_timeout=2, socket_connect_timeout=1)
            try:
                if c.set(k, "value-of-" + k) is True:
                    f.write(k + "\n")
                    f.flush()
                    acked += 1
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                fails[node] += 1
                conns.pop(node, None)
                time.sleep(0.01)
    print("acked:", acked, "tried:", i)
    for node, n in sorted(fails.items()):
        print("failed %s:%d %d" % (node[0], node[1], n))
    return 0


def verify(host, port, out):
    rc = RedisCluster(host=host, port=port, socket_timeout=10)
    keys = [line.strip() for line in open(out) if line.strip()]
    bad = 0
    for k in keys:
        if rc.get(k) != ("value-of-" + k).encode():
            bad += 1
    print("verified:", len(keys), "missing or wrong:", bad)
    rc.close()
    return 1 if bad or not keys else 0


def main():
    cmd = sys.argv[1]
    if cmd == "slots":
        return slots(sys.argv[2], int(sys.argv[3]))
    if cmd == "proxy":
        return proxy(sys.argv[2], int(sys.argv[3]))
    if cmd == "load":
        return load(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    if cmd == "verify":
        return verify(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
