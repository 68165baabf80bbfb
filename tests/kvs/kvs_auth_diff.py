#!/usr/bin/python3
"""Authentication replies of paste-kvs against redis-server, byte for byte
(tests/kvs/test_kvs_redis_diff.sh). Both run with the same password.

  kvs_auth_diff.py KVS_HOST KVS_PORT REDIS_HOST REDIS_PORT PASSWORD

Each case is a fresh connection: its requests pipelined, one reply each.
Nothing here is a deliberate difference. Exit status 0 when all match.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvs_redis_diff import Server, cmd  # noqa: E402


def cases(pw):
    noauth = [cmd("SET", "k", "v"), cmd("GET", "k"), cmd("DEL", "k"), cmd("EXISTS", "k"),
              cmd("MSET", "a", "1"), cmd("MGET", "a"), cmd("INCR", "n"), cmd("DBSIZE"),
              cmd("FLUSHALL"), cmd("INFO"), cmd("PING"), cmd("ECHO", "x"),
              cmd("SELECT", "0"), cmd("CONFIG", "GET", "save"), cmd("COMMAND"),
              cmd("CLUSTER", "INFO"), cmd("READONLY"), b"GET k\r\n"]
    return {
        # Every command but AUTH and QUIT waits for AUTH.
        "unauthenticated": [(r, 1) for r in noauth],
        # Redis checks the name and the number of words first...
        "errors before auth": [(cmd("NOSUCH", "a"), 1), (cmd("GET"), 1),
                               (cmd("GET", "a", "b"), 1), (cmd("CONFIG", "FOO"), 1),
                               (cmd("CONFIG", "GET"), 1), (cmd("COMMAND", "FOO"), 1)],
        # ... and the other arguments after it.
        "errors after auth": [(cmd("SET", "k", "v", "EX", "foo"), 1), (cmd("PING", "a", "b"), 1),
                              (cmd("FLUSHALL", "foo"), 1), (cmd("SELECT", "x"), 1),
                              (cmd("MSET", "a", "1", "b"), 1)],
        "wrong password": [(cmd("AUTH", "x" + pw), 1), (cmd("GET", "k"), 1),
                           (cmd("AUTH", "default", pw + "x"), 1), (cmd("AUTH", "nobody", pw), 1),
                           (cmd("AUTH", ""), 1), (b"AUTH wrong\r\n", 1), (cmd("SET", "k", "v"), 1)],
        "auth arity": [(cmd("AUTH"), 1), (cmd("AUTH", "a", "b", "c"), 1), (cmd("auth", "a", "b", "c", "d"), 1)],
        "right password": [(cmd("AUTH", pw), 1), (cmd("SET", "k", "v"), 1), (cmd("GET", "k"), 1),
                           (cmd("DEL", "k"), 1), (cmd("AUTH", "wrong"), 1), (cmd("GET", "k"), 1)],
        "default user": [(cmd("AUTH", "default", pw), 1), (cmd("SET", "k2", "v"), 1),
                         (cmd("GET", "k2"), 1), (cmd("DEL", "k2"), 1)],
        "inline auth": [(b"AUTH " + pw.encode() + b"\r\n", 1), (b"PING\r\n", 1)],
        "quit unauthenticated": [(cmd("QUIT"), 1)],
        # Transactions: NOAUTH refuses MULTI and WATCH; EXEC's refusal is
        # an aborted transaction's; a queued AUTH runs at EXEC.
        "transaction unauthenticated": [(cmd("MULTI"), 1), (cmd("WATCH", "k"), 1),
                                        (cmd("EXEC"), 1), (cmd("DISCARD"), 1),
                                        (cmd("UNWATCH"), 1), (cmd("EXEC", "x"), 1)],
        "transaction auth": [(cmd("AUTH", pw), 1), (cmd("MULTI"), 1), (cmd("SET", "t", "1"), 1),
                             (cmd("AUTH", "wrong"), 1), (cmd("AUTH", pw), 1), (cmd("GET", "t"), 1),
                             (cmd("EXEC"), 1), (cmd("DEL", "t"), 1)],
        # HELLO is let in first (no_auth), and authenticates with AUTH.
        "hello unauthenticated": [(cmd("HELLO"), 1), (cmd("HELLO", "2"), 1),
                                  (cmd("HELLO", "2", "SETNAME", "x"), 1),
                                  (cmd("HELLO", "2", "AUTH", "default", pw + "x"), 1),
                                  (cmd("HELLO", "2", "AUTH", "nobody", pw), 1),
                                  (cmd("HELLO", "4"), 1), (cmd("HELLO", "x"), 1),
                                  (cmd("HELLO", "2", "FOO"), 1), (cmd("GET", "k"), 1),
                                  (cmd("CLIENT", "ID"), 1), (cmd("CLIENT", "FOO"), 1),
                                  (cmd("CLIENT", "GETNAME", "x"), 1), (cmd("KEYS", "*"), 1),
                                  (cmd("SCAN", "0"), 1), (cmd("SCAN", "x"), 1),
                                  (cmd("TIME"), 1), (cmd("WAIT", "0", "0"), 1),
                                  (cmd("FLUSHDB", "x", "y"), 1), (cmd("RANDOMKEY"), 1)],
        "hello auth": [(cmd("HELLO", "2", "AUTH", "default", pw, "SETNAME", "me"), 1),
                       (cmd("CLIENT", "GETNAME"), 1), (cmd("GET", "k"), 1),
                       (cmd("HELLO", "2", "AUTH", "default", "wrong"), 1), (cmd("GET", "k"), 1)],
    }


def mask_id(reply):
    """HELLO's id (each server's own connection number) and version."""
    at = reply.find(b"$2\r\nid\r\n:")
    if at < 0:
        return reply
    end = reply.index(b"\r\n", at + 9)
    reply = reply[:at + 9] + b"<id>" + reply[end:]
    at = reply.index(b"$7\r\nversion\r\n") + 13
    end = reply.index(b"\r\n", reply.index(b"\r\n", at) + 2)
    return reply[:at] + b"<version>" + reply[end:]


def run(server, requests):
    c = server.connect()
    got = []
    for req, n in requests:
        c.s.sendall(req)
        got += c.replies(n, time.time() + 10)
    c.close()
    return got


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    kvs = Server("paste-kvs", sys.argv[1], int(sys.argv[2]))
    redis = Server("redis", sys.argv[3], int(sys.argv[4]))
    failed = []
    for name, requests in cases(sys.argv[5]).items():
        a = [mask_id(x) for x in run(kvs, requests)]
        b = [mask_id(x) for x in run(redis, requests)]
        if a == b:
            print("same: %s (%d replies)" % (name, len(a)))
            continue
        print("DIFFERENT: %s" % name)
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else b"<none>"
            y = b[i] if i < len(b) else b"<none>"
            if x != y:
                print("  reply %d: paste-kvs %r" % (i, x[:120]))
                print("  reply %d: redis     %r" % (i, y[:120]))
        failed.append(name)
    print("%d auth cases, %d different: %s" % (len(cases("")), len(failed),
                                                 ", ".join(failed) or "none"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
