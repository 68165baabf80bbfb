#!/usr/bin/python3
"""Differential test of paste-kvs against redis-server (standard library
only), for tests/kvs/test_kvs_redis_diff.sh.

  kvs_redis_diff.py KVS_HOST KVS_PORT REDIS_HOST REDIS_PORT

Each case sends the same raw RESP (or inline) requests, pipelined on a
fresh connection, to both servers after a FLUSHALL of each, reads one reply
per request that has one, and compares the replies byte for byte (and,
for cases that end the connection, that both servers close it). The cases
in DELIBERATE differ on purpose, each for the reason given there: they run
too, and their replies are printed, but only the other cases fail the test.
Exit status 0 when every other case matched, 1 otherwise.
"""
import socket
import sys
import time


def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def cmd(*words):
    """One multibulk request of @words (str or bytes)."""
    ws = [w.encode() if isinstance(w, str) else w for w in words]
    return b"*%d\r\n" % len(ws) + b"".join(bulk(w) for w in ws)


BIG = bytes((i * 7 + 3) % 256 for i in range(300000))
BIN = b"a\r\nb\x00c\r\n\x00"
LONG = b"e" * 100000
MB = 1 << 20             # both servers' proto-max-bulk-len (test_kvs_redis_diff.sh)
T = "4102444800"          # 2100-01-01 00:00:00 UTC in seconds: a deadline far ahead

# Commands paste-kvs does not serve (issue 24): each answers Redis's
# unknown command error.
UNSERVED = [("LCS", "a", "b"), ("OBJECT", "ENCODING", "a"), ("SORT", "a"), ("DUMP", "a"),
            ("RESTORE", "a", "0", "x"), ("MOVE", "a", "1"), ("MIGRATE", "h", "1", "a", "0", "1"),
            ("WAITAOF", "0", "0", "0"), ("HSET", "h", "f", "v"), ("HGET", "h", "f"),
            ("LPUSH", "l", "x"), ("RPOP", "l"), ("SADD", "s", "m"), ("SMEMBERS", "s"),
            ("ZADD", "z", "1", "m"), ("ZRANGE", "z", "0", "-1")]

# name -> (requests: [(bytes, replies)], the connection ends after them)
CASES = {
    "ping": ([(cmd("PING"), 1), (cmd("ping", "hello"), 1), (b"PING\r\n", 1)], False),
    "ping long": ([(cmd("PING", LONG), 1)], False),
    "echo long": ([(cmd("ECHO", LONG), 1), (cmd("ECHO", BIN), 1), (cmd("ECHO", ""), 1)], False),
    "ping arity": ([(cmd("PING", "a", "b"), 1), (cmd("ECHO"), 1), (cmd("ECHO", "a", "b"), 1)], False),
    "set get": ([(cmd("SET", "k", "v"), 1), (cmd("GET", "k"), 1), (cmd("GET", "nokey"), 1)], False),
    "empty key": ([(cmd("SET", "", "v0"), 1), (cmd("GET", ""), 1), (cmd("EXISTS", ""), 1),
                   (cmd("DBSIZE"), 1), (cmd("DEL", ""), 1), (cmd("GET", ""), 1),
                   (cmd("EXISTS", ""), 1), (cmd("DEL", ""), 1)], False),
    "empty value": ([(cmd("SET", "e", ""), 1), (cmd("GET", "e"), 1), (cmd("EXISTS", "e"), 1)], False),
    "binary key and value": ([(cmd("SET", BIN, BIN), 1), (cmd("GET", BIN), 1),
                              (cmd("MGET", BIN, "x", BIN), 1), (cmd("DEL", BIN), 1),
                              (cmd("GET", BIN), 1)], False),
    "large value": ([(cmd("SET", "big", BIG), 1), (cmd("GET", "big"), 1),
                     (cmd("SET", "big", b"small"), 1), (cmd("GET", "big"), 1)], False),
    "set options": ([(cmd("SET", "o", "1", "EX", "100"), 1), (cmd("SET", "o", "2", "PX", "100000"), 1),
                     (cmd("SET", "o", "3", "NX"), 1), (cmd("GET", "o"), 1),
                     (cmd("SET", "o", "4", "XX"), 1), (cmd("GET", "o"), 1),
                     (cmd("SET", "p", "5", "XX"), 1), (cmd("GET", "p"), 1),
                     (cmd("SET", "p", "6", "nx", "px", "50000"), 1), (cmd("GET", "p"), 1),
                     (cmd("set", "q", "7", "ex", "10", "xx"), 1)], False),
    "set option errors": ([(cmd("SET", "o", "1", "EX"), 1), (cmd("SET", "o", "1", "EX", "0"), 1),
                           (cmd("SET", "o", "1", "EX", "-5"), 1), (cmd("SET", "o", "1", "EX", "abc"), 1),
                           (cmd("SET", "o", "1", "EX", "1", "PX", "1"), 1),
                           (cmd("SET", "o", "1", "NX", "XX"), 1), (cmd("SET", "o", "1", "FOO"), 1),
                           (cmd("SET", "o", "1", "EX", "010"), 1), (cmd("SET", "o", "1", "EX", "+5"), 1),
                           (cmd("SET", "o", "1", "EX", " 5"), 1),
                           (cmd("SET", "o", "1", "EX", "9223372036854775807"), 1),
                           (cmd("SET", "o", "1", "PX", "9223372036854775808"), 1),
                           (cmd("GET", "o"), 1)], False),
    "set get option": ([(cmd("SET", "g", "old"), 1), (cmd("SET", "g", "new", "GET"), 1),
                        (cmd("GET", "g"), 1), (cmd("SET", "h", "1", "GET"), 1),
                        (cmd("SET", "g", "x", "NX", "GET"), 1), (cmd("GET", "g"), 1),
                        (cmd("SET", "i", "x", "XX", "GET"), 1), (cmd("EXISTS", "i"), 1),
                        (cmd("SET", "g", BIG, "GET"), 1), (cmd("SET", "g", "y", "GET"), 1),
                        (cmd("SET", "g", "z", "GET", "GET"), 1)], False),
    "arity": ([(cmd("GET"), 1), (cmd("GET", "a", "b"), 1), (cmd("SET", "a"), 1),
               (cmd("DEL"), 1), (cmd("EXISTS"), 1), (cmd("MSET", "a"), 1),
               (cmd("MSET", "a", "1", "b"), 1), (cmd("MGET"), 1), (cmd("INCR"), 1),
               (cmd("DBSIZE", "x"), 1), (cmd("FLUSHALL", "x"), 1)], False),
    "unknown command": ([(cmd("NOSUCH"), 1), (cmd("nosuch", "a", "b c"), 1),
                         (cmd("FOO", "x" * 200), 1), (cmd("", "a"), 1)], False),
    "del exists several": ([(cmd("MSET", "a", "1", "b", "2", "c", "3"), 1),
                            (cmd("EXISTS", "a", "b", "x", "a"), 1),
                            (cmd("DEL", "a", "x", "b", "a"), 1), (cmd("EXISTS", "a", "b", "c"), 1),
                            (cmd("MGET", "a", "b", "c", "x"), 1), (cmd("DBSIZE"), 1)], False),
    "incr": ([(cmd("INCR", "n"), 1), (cmd("INCR", "n"), 1), (cmd("GET", "n"), 1),
              (cmd("SET", "n", "-5"), 1), (cmd("INCR", "n"), 1),
              (cmd("SET", "s", "abc"), 1), (cmd("INCR", "s"), 1),
              (cmd("SET", "s", "+5"), 1), (cmd("INCR", "s"), 1),
              (cmd("SET", "s", " 5"), 1), (cmd("INCR", "s"), 1),
              (cmd("SET", "s", "007"), 1), (cmd("INCR", "s"), 1),
              (cmd("SET", "s", "-0"), 1), (cmd("INCR", "s"), 1),
              (cmd("SET", "s", ""), 1), (cmd("INCR", "s"), 1),
              (cmd("SET", "m", "9223372036854775807"), 1), (cmd("INCR", "m"), 1),
              (cmd("SET", "m", "-9223372036854775808"), 1), (cmd("INCR", "m"), 1),
              (cmd("SET", "m", "99999999999999999999"), 1), (cmd("INCR", "m"), 1)], False),
    "flushall dbsize": ([(cmd("MSET", "a", "1", "b", "2"), 1), (cmd("DBSIZE"), 1),
                         (cmd("FLUSHALL"), 1), (cmd("DBSIZE"), 1), (cmd("SET", "a", "1"), 1),
                         (cmd("FLUSHALL", "ASYNC"), 1), (cmd("FLUSHALL", "sync"), 1),
                         (cmd("DBSIZE"), 1)], False),
    "pipelined batch": ([(b"".join(cmd("SET", "p%d" % i, "v%d" % i) for i in range(200)), 200),
                         (b"".join(cmd("GET", "p%d" % i) for i in range(0, 200, 3)), 67),
                         (cmd("DBSIZE"), 1)], False),
    "inline": ([(b"SET il hello\r\n", 1), (b"GET il\r\n", 1), (b"EXISTS il nx\n", 1),
                (b"  GET   il  \r\n", 1), (b"SET 'q k' \"v w\"\r\n", 1), (b"GET 'q k'\r\n", 1),
                (b"\r\n", 0), (b"PING\r\n", 1)], False),
    "inline escapes": ([(b'SET esc "a\\x41\\n"\r\n', 1), (b"GET esc\r\n", 1)], False),
    "empty requests": ([(b"*0\r\n", 0), (b"*-1\r\n", 0), (cmd("PING"), 1)], False),
    "select": ([(cmd("SELECT", "0"), 1), (cmd("SELECT", "1"), 1), (cmd("SELECT", "x"), 1)], False),
    "quit": ([(cmd("SET", "qq", "1"), 1), (cmd("QUIT"), 1)], True),
    "protocol error": ([(cmd("PING"), 1), (b"*1\r\nfoo\r\n", 1)], True),
    "bad bulk length": ([(b"*2\r\n$3\r\nGET\r\n$-7\r\n", 1)], True),
    "multibulk count": ([(b"*1000\r\n" + cmd("PING")[4:], 0), (b"*foo\r\n", 1)], True),
    # Lengths are read as Redis's string2ll reads them: no leading zero, no -0.
    "bulk length leading zero": ([(cmd("PING"), 1), (b"*2\r\n$03\r\nGET\r\n$1\r\nk\r\n", 1)],
                                 True),
    "bulk length -0": ([(b"*1\r\n$-0\r\n", 1)], True),
    "multibulk leading zero": ([(cmd("PING"), 1), (b"*02\r\n$3\r\nGET\r\n$1\r\nk\r\n", 1)],
                               True),
    "multibulk -0": ([(b"*-0\r\n", 1)], True),
    "key over 250 bytes": ([(cmd("SET", "k" * 251, "v"), 1), (cmd("GET", "k" * 251), 1)], False),
    "unquoted inline quote": ([(b'SET a "b"c\r\n', 1)], True),
    "setnx getset getdel": ([(cmd("SETNX", "a", "1"), 1), (cmd("SETNX", "a", "2"), 1),
                             (cmd("GET", "a"), 1), (cmd("GETSET", "a", "3"), 1),
                             (cmd("GETSET", "b", "4"), 1), (cmd("GET", "b"), 1),
                             (cmd("GETDEL", "a"), 1), (cmd("GETDEL", "a"), 1),
                             (cmd("EXISTS", "a"), 1), (cmd("GETSET", "g", BIG), 1),
                             (cmd("GETDEL", "g"), 1), (cmd("SET", "t", "1", "EX", "100"), 1),
                             (cmd("GETSET", "t", "2"), 1), (cmd("SETNX", "a"), 1), (cmd("GETSET", "a"), 1),
                             (cmd("GETDEL", "a", "b"), 1)], False),
    "incrby decrby decr": ([(cmd("INCRBY", "n", "10"), 1), (cmd("INCRBY", "n", "-3"), 1),
                            (cmd("DECRBY", "n", "4"), 1), (cmd("DECR", "n"), 1),
                            (cmd("DECR", "m"), 1), (cmd("GET", "n"), 1),
                            (cmd("INCRBY", "n", "x"), 1), (cmd("INCRBY", "n", "1.5"), 1),
                            (cmd("INCRBY", "n", " 1"), 1), (cmd("INCRBY", "n", "01"), 1),
                            (cmd("INCRBY", "n", ""), 1), (cmd("DECRBY", "n", "x"), 1),
                            (cmd("SET", "s", "abc"), 1), (cmd("INCRBY", "s", "1"), 1),
                            (cmd("INCRBY", "s", "x"), 1), (cmd("DECR", "s"), 1),
                            (cmd("SET", "b", "9223372036854775800"), 1),
                            (cmd("INCRBY", "b", "7"), 1), (cmd("INCRBY", "b", "1"), 1),
                            (cmd("SET", "b", "-9223372036854775800"), 1),
                            (cmd("DECRBY", "b", "8"), 1), (cmd("DECR", "b"), 1),
                            (cmd("DECRBY", "b", "-9223372036854775808"), 1),
                            (cmd("DECRBY", "z", "-9223372036854775808"), 1),
                            (cmd("INCRBY", "z", "-9223372036854775808"), 1),
                            (cmd("DECRBY", "z", "9223372036854775807"), 1),
                            (cmd("INCRBY", "n", "9223372036854775808"), 1),
                            (cmd("INCRBY", "n"), 1), (cmd("DECR"), 1),
                            (cmd("DECRBY", "n", "1", "2"), 1)], False),
    "incrbyfloat": ([(cmd("INCRBYFLOAT", "f", "10.5"), 1), (cmd("INCRBYFLOAT", "f", "0.1"), 1),
                     (cmd("INCRBYFLOAT", "f", "-5.0e3"), 1), (cmd("INCRBYFLOAT", "g", "3.0e3"), 1),
                     (cmd("INCRBYFLOAT", "g", "5.0e3"), 1), (cmd("GET", "g"), 1),
                     (cmd("INCRBYFLOAT", "h", "1"), 1), (cmd("INCRBYFLOAT", "h", "-1"), 1),
                     (cmd("INCRBYFLOAT", "h", "-0.0"), 1), (cmd("INCRBYFLOAT", "h", "1e-20"), 1),
                     (cmd("INCRBYFLOAT", "h", "0x10"), 1), (cmd("INCRBYFLOAT", "i", "1.23456789012345678"), 1),
                     (cmd("INCRBYFLOAT", "j", "1e300"), 1),
                     (cmd("INCRBYFLOAT", "f", "abc"), 1), (cmd("INCRBYFLOAT", "f", ""), 1),
                     (cmd("INCRBYFLOAT", "f", " 1"), 1), (cmd("INCRBYFLOAT", "f", "1 "), 1),
                     (cmd("INCRBYFLOAT", "f", "nan"), 1), (cmd("INCRBYFLOAT", "f", "inf"), 1),
                     (cmd("INCRBYFLOAT", "f", "-inf"), 1), (cmd("INCRBYFLOAT", "f", "1e5000"), 1),
                     (cmd("SET", "s", "abc"), 1), (cmd("INCRBYFLOAT", "s", "1"), 1),
                     (cmd("SET", "s", "1.5"), 1), (cmd("INCRBYFLOAT", "s", "2"), 1),
                     (cmd("SET", "s", " 1"), 1), (cmd("INCRBYFLOAT", "s", "2"), 1),
                     (cmd("INCRBYFLOAT", "s"), 1)], False),
    "append strlen": ([(cmd("APPEND", "a", "hello"), 1), (cmd("APPEND", "a", " world"), 1),
                       (cmd("GET", "a"), 1), (cmd("STRLEN", "a"), 1), (cmd("STRLEN", "x"), 1),
                       (cmd("APPEND", "a", ""), 1), (cmd("APPEND", "e", ""), 1),
                       (cmd("EXISTS", "e"), 1), (cmd("APPEND", "b", BIG), 1),
                       (cmd("APPEND", "b", BIN), 1), (cmd("STRLEN", "b"), 1), (cmd("GET", "b"), 1),
                       (cmd("SET", "c", b"x" * 1000000), 1), (cmd("APPEND", "c", b"y" * 48576), 1),
                       (cmd("APPEND", "c", "z"), 1), (cmd("STRLEN", "c"), 1),
                       (cmd("SET", "t", "1", "EX", "100"), 1), (cmd("APPEND", "t", "2"), 1),
                       (cmd("APPEND", "a"), 1), (cmd("STRLEN"), 1), (cmd("STRLEN", "a", "b"), 1)],
                      False),
    "getrange substr": ([(cmd("SET", "s", "Hello World"), 1)] +
                        [(cmd("GETRANGE", "s", a, b), 1) for a, b in
                         (("0", "4"), ("-5", "-1"), ("0", "-1"), ("5", "3"), ("0", "100"),
                          ("-100", "-50"), ("-1", "-5"), ("20", "30"), ("0", "-100"),
                          ("-100", "2"), ("3", "3"), ("-1", "-1"))] +
                        [(cmd("SUBSTR", "s", "1", "3"), 1), (cmd("GETRANGE", "x", "0", "1"), 1),
                         (cmd("SET", "e", ""), 1), (cmd("GETRANGE", "e", "0", "-1"), 1),
                         (cmd("GETRANGE", "s", "a", "1"), 1), (cmd("GETRANGE", "x", "0", "b"), 1),
                         (cmd("GETRANGE", "s", "0"), 1), (cmd("SUBSTR", "s", "0", "1", "2"), 1),
                         (cmd("SET", "b", BIG), 1), (cmd("GETRANGE", "b", "1000", "250000"), 1)],
                        False),
    "setrange": ([(cmd("SETRANGE", "s", "0", "Hello"), 1), (cmd("SETRANGE", "s", "6", "World"), 1),
                  (cmd("GET", "s"), 1), (cmd("SETRANGE", "s", "1", "a"), 1), (cmd("GET", "s"), 1),
                  (cmd("SETRANGE", "s", "3", ""), 1), (cmd("SETRANGE", "x", "3", ""), 1),
                  (cmd("EXISTS", "x"), 1), (cmd("SETRANGE", "x", "0", ""), 1),
                  (cmd("SETRANGE", "y", "2", "ab"), 1), (cmd("GET", "y"), 1),
                  (cmd("SETRANGE", "s", "-1", "a"), 1), (cmd("SETRANGE", "s", "x", "a"), 1),
                  (cmd("SETRANGE", "x", "-1", ""), 1),
                  (cmd("SETRANGE", "s", "%d" % (MB - 1), "a"), 1), (cmd("STRLEN", "s"), 1),
                  (cmd("SETRANGE", "s", "%d" % MB, "a"), 1),
                  (cmd("SETRANGE", "s", "%d" % (MB - 1), "ab"), 1),
                  (cmd("SETRANGE", "z", "9223372036854775807", "a"), 1),
                  (cmd("SETRANGE", "b", "100", BIG), 1), (cmd("GETRANGE", "b", "0", "-1"), 1),
                  (cmd("SETRANGE", "s", "0"), 1)], False),
    "rename": ([(cmd("SET", "a", "1"), 1), (cmd("RENAME", "a", "b"), 1), (cmd("GET", "a"), 1),
                (cmd("GET", "b"), 1), (cmd("RENAME", "a", "b"), 1), (cmd("RENAME", "b", "b"), 1),
                (cmd("RENAME", "q", "q"), 1), (cmd("SET", "c", "3"), 1),
                (cmd("RENAME", "b", "c"), 1), (cmd("GET", "c"), 1), (cmd("DBSIZE"), 1),
                (cmd("SET", "big", BIG), 1), (cmd("RENAME", "big", "big2"), 1),
                (cmd("GET", "big2"), 1), (cmd("SET", "t", "1", "EX", "100"), 1),
                (cmd("RENAME", "t", "u"), 1), (cmd("SET", "v", "2"), 1), (cmd("RENAME", "v", "u"), 1), (cmd("RENAME", "a"), 1), (cmd("RENAME", "a", "b", "c"), 1)], False),
    "renamenx": ([(cmd("MSET", "a", "1", "b", "2"), 1), (cmd("RENAMENX", "a", "b"), 1),
                  (cmd("RENAMENX", "a", "c"), 1), (cmd("MGET", "a", "b", "c"), 1),
                  (cmd("RENAMENX", "a", "d"), 1), (cmd("RENAMENX", "c", "c"), 1),
                  (cmd("RENAMENX", "q", "q"), 1), (cmd("RENAMENX", "a"), 1)], False),
    "type unlink touch": ([(cmd("SET", "a", "1"), 1), (cmd("TYPE", "a"), 1), (cmd("TYPE", "x"), 1),
                           (cmd("MSET", "b", "2", "c", "3"), 1), (cmd("TOUCH", "a", "b", "x", "a"), 1),
                           (cmd("UNLINK", "a", "x", "b", "a"), 1), (cmd("EXISTS", "a", "b", "c"), 1),
                           (cmd("TYPE"), 1), (cmd("TYPE", "a", "b"), 1), (cmd("UNLINK"), 1),
                           (cmd("TOUCH"), 1)], False),
    # Deadlines (exec_ttl.c): relative ones read back in whole seconds only
    # (TTL rounds; both servers answer within the same second), absolute
    # ones exactly.
    "ttl expire": ([(cmd("SET", "a", "1"), 1), (cmd("TTL", "a"), 1), (cmd("PTTL", "a"), 1),
                    (cmd("TTL", "nokey"), 1), (cmd("PTTL", "nokey"), 1),
                    (cmd("EXPIRETIME", "a"), 1), (cmd("PEXPIRETIME", "nokey"), 1),
                    (cmd("EXPIRE", "a", "100"), 1), (cmd("TTL", "a"), 1),
                    (cmd("EXPIRE", "a", "100", "NX"), 1), (cmd("EXPIRE", "a", "200", "XX"), 1),
                    (cmd("TTL", "a"), 1), (cmd("EXPIRE", "a", "50", "GT"), 1),
                    (cmd("EXPIRE", "a", "300", "gt"), 1), (cmd("EXPIRE", "a", "400", "LT"), 1),
                    (cmd("EXPIRE", "a", "10", "lt"), 1), (cmd("TTL", "a"), 1),
                    (cmd("PERSIST", "a"), 1), (cmd("PERSIST", "a"), 1), (cmd("TTL", "a"), 1),
                    (cmd("EXPIRE", "a", "100", "XX"), 1), (cmd("EXPIRE", "a", "100", "GT"), 1),
                    (cmd("EXPIRE", "a", "100", "LT"), 1), (cmd("TTL", "a"), 1),
                    (cmd("PERSIST", "a"), 1), (cmd("EXPIRE", "a", "100", "NX", "NX"), 1),
                    (cmd("PEXPIREAT", "a", "%s000" % T), 1), (cmd("PEXPIRETIME", "a"), 1),
                    (cmd("EXPIRETIME", "a"), 1), (cmd("EXPIREAT", "a", "%d" % (int(T) + 1)), 1),
                    (cmd("PEXPIRETIME", "a"), 1), (cmd("PEXPIREAT", "a", "%s499" % T), 1),
                    (cmd("EXPIRETIME", "a"), 1), (cmd("PEXPIREAT", "a", "%s500" % T), 1),
                    (cmd("EXPIRETIME", "a"), 1), (cmd("PEXPIRE", "a", "100000"), 1),
                    (cmd("TTL", "a"), 1), (cmd("GET", "a"), 1),
                    (cmd("EXPIREAT", "a", "1"), 1), (cmd("EXISTS", "a"), 1), (cmd("GET", "a"), 1),
                    (cmd("TTL", "a"), 1), (cmd("SET", "b", "1"), 1), (cmd("PEXPIRE", "b", "-5"), 1),
                    (cmd("EXISTS", "b"), 1), (cmd("SET", "b", "1"), 1), (cmd("EXPIRE", "b", "0"), 1),
                    (cmd("GET", "b"), 1), (cmd("EXPIRE", "nokey", "10"), 1),
                    (cmd("PERSIST", "nokey"), 1), (cmd("SET", "c", "1"), 1),
                    (cmd("PEXPIREAT", "c", "9223372036854775807"), 1),
                    (cmd("PEXPIRETIME", "c"), 1), (cmd("EXPIRETIME", "c"), 1),
                    (cmd("EXPIREAT", "c", "-5"), 1), (cmd("EXISTS", "c"), 1)], False),
    "expire errors": ([(cmd("SET", "a", "1"), 1), (cmd("EXPIRE", "a"), 1), (cmd("EXPIRE", "a", "abc"), 1),
                       (cmd("EXPIRE", "a", "10", "foo"), 1), (cmd("EXPIRE", "a", "abc", "Foo"), 1),
                       (cmd("EXPIRE", "a", "10", "NX", "XX"), 1),
                       (cmd("EXPIRE", "a", "10", "GT", "LT"), 1),
                       (cmd("EXPIRE", "a", "10", "nx", "gt"), 1),
                       (cmd("PEXPIRE", "a", "10", "lt", "nx"), 1),
                       (cmd("EXPIRE", "a", "9223372036854775807"), 1),
                       (cmd("EXPIRE", "a", "-9223372036854775807"), 1),
                       (cmd("PEXPIRE", "a", "9223372036854775807"), 1),
                       (cmd("EXPIREAT", "a", "9223372036854775807"), 1),
                       (cmd("EXPIRE", "a", "1.5"), 1), (cmd("PEXPIREAT", "a", ""), 1),
                       (cmd("TTL", "a"), 1), (cmd("TTL"), 1), (cmd("TTL", "a", "b"), 1),
                       (cmd("PTTL"), 1), (cmd("EXPIRETIME", "a", "b"), 1),
                       (cmd("PERSIST"), 1), (cmd("PERSIST", "a", "b"), 1),
                       (cmd("EXPIRE", "nokey", "abc"), 1),
                       (cmd("EXPIRE", "nokey", "9223372036854775807"), 1)], False),
    "set deadlines": ([(cmd("SET", "k", "v", "EXAT", T), 1), (cmd("EXPIRETIME", "k"), 1),
                       (cmd("SET", "k", "v", "PXAT", "%s123" % T), 1), (cmd("PEXPIRETIME", "k"), 1),
                       (cmd("SET", "k", "v2", "KEEPTTL"), 1), (cmd("PEXPIRETIME", "k"), 1),
                       (cmd("GET", "k"), 1), (cmd("SET", "k", "v3"), 1), (cmd("TTL", "k"), 1),
                       (cmd("SET", "k", "v", "EX", "100", "EX", "200"), 1), (cmd("TTL", "k"), 1),
                       (cmd("SET", "k", "v", "keepttl", "KEEPTTL"), 1), (cmd("TTL", "k"), 1),
                       (cmd("SET", "k", "v4", "KEEPTTL", "GET"), 1), (cmd("TTL", "k"), 1),
                       (cmd("SET", "k", "v5", "XX", "KEEPTTL"), 1), (cmd("TTL", "k"), 1),
                       (cmd("SET", "k", "v6", "GET", "EX", "300"), 1), (cmd("TTL", "k"), 1),
                       (cmd("SET", "k", "v7", "NX", "GET"), 1), (cmd("SET", "n", "v", "NX", "KEEPTTL"), 1),
                       (cmd("TTL", "n"), 1), (cmd("SET", "k", "v", "PXAT", "1"), 1),
                       (cmd("GET", "k"), 1), (cmd("EXISTS", "k"), 1),
                       (cmd("SET", "k", "v", "PXAT", "9223372036854775807"), 1),
                       (cmd("PEXPIRETIME", "k"), 1),
                       (cmd("SET", "k", "v", "EXAT", "9223372036854775"), 1),
                       (cmd("PEXPIRETIME", "k"), 1),
                       (cmd("SET", "k", "v", "EX", "10", "PX", "10"), 1),
                       (cmd("SET", "k", "v", "KEEPTTL", "EX", "1"), 1),
                       (cmd("SET", "k", "v", "PXAT", "5", "KEEPTTL"), 1),
                       (cmd("SET", "k", "v", "EXAT", "1", "PXAT", "1"), 1),
                       (cmd("SET", "k", "v", "EXAT", "0"), 1), (cmd("SET", "k", "v", "PXAT", "-1"), 1),
                       (cmd("SET", "k", "v", "EXAT", "9223372036854776"), 1),
                       (cmd("SET", "k", "v", "PX", "9223372036854775807"), 1),
                       (cmd("SET", "k", "v", "EX", "9223372036854775"), 1),
                       (cmd("SET", "k", "v", "EXAT", "abc"), 1), (cmd("SET", "k", "v", "EXAT"), 1),
                       (cmd("SET", "k", "v", "KEEPTTLX"), 1), (cmd("PEXPIRETIME", "k"), 1)], False),
    "getex": ([(cmd("SET", "g", "1"), 1), (cmd("GETEX", "g"), 1), (cmd("GETEX", "g", "EX", "100"), 1),
               (cmd("TTL", "g"), 1), (cmd("GETEX", "g", "PERSIST"), 1), (cmd("TTL", "g"), 1),
               (cmd("GETEX", "g", "PXAT", "%s000" % T), 1), (cmd("PEXPIRETIME", "g"), 1),
               (cmd("GETEX", "g", "exat", "%d" % (int(T) + 7)), 1), (cmd("EXPIRETIME", "g"), 1),
               (cmd("GETEX", "g", "px", "200000"), 1), (cmd("TTL", "g"), 1),
               (cmd("GETEX", "g", "EX", "100", "EX", "50"), 1), (cmd("TTL", "g"), 1),
               (cmd("GETEX", "g", "PERSIST", "PERSIST"), 1), (cmd("TTL", "g"), 1),
               (cmd("GETEX", "g", "PERSIST"), 1),
               (cmd("GETEX", "nokey", "EX", "abc"), 1), (cmd("GETEX", "nokey", "EX", "0"), 1),
               (cmd("GETEX", "nokey", "FOO"), 1),
               (cmd("GETEX", "g", "EX", "0"), 1), (cmd("GETEX", "g", "PX", "-1"), 1),
               (cmd("GETEX", "g", "EX", "abc"), 1), (cmd("GETEX", "g", "EX", "10", "PX", "10"), 1),
               (cmd("GETEX", "g", "PERSIST", "EX", "1"), 1), (cmd("GETEX", "g", "EX", "1", "PERSIST"), 1),
               (cmd("GETEX", "g", "FOO"), 1), (cmd("GETEX", "g", "EX"), 1),
               (cmd("GETEX", "g", "KEEPTTL"), 1), (cmd("GETEX", "g", "GET"), 1),
               (cmd("GETEX", "g", "PX", "9223372036854775807"), 1),
               (cmd("GETEX", "g", "EX", "9223372036854775807"), 1),
               (cmd("GETEX", "g", "EXAT", "9223372036854776"), 1),
               (cmd("GETEX", "g", "PXAT", "9223372036854775807"), 1), (cmd("PEXPIRETIME", "g"), 1),
               (cmd("GETEX", "g", "EXAT", "1"), 1), (cmd("EXISTS", "g"), 1), (cmd("GETEX", "g"), 1),
               (cmd("SET", "big", BIG), 1), (cmd("GETEX", "big", "EX", "100"), 1),
               (cmd("TTL", "big"), 1), (cmd("GETEX"), 1)], False),
    "setex psetex": ([(cmd("SETEX", "s", "100", "v"), 1), (cmd("TTL", "s"), 1), (cmd("GET", "s"), 1),
                      (cmd("PSETEX", "s", "200000", "w"), 1), (cmd("TTL", "s"), 1), (cmd("GET", "s"), 1),
                      (cmd("SETEX", "s", "0", "v"), 1), (cmd("SETEX", "s", "-1", "v"), 1),
                      (cmd("SETEX", "s", "abc", "v"), 1), (cmd("PSETEX", "s", "0", "v"), 1),
                      (cmd("SETEX", "s", "9223372036854775807", "v"), 1),
                      (cmd("SETEX", "s", "9223372036854775", "v"), 1),
                      (cmd("PSETEX", "s", "9223372036854775807", "v"), 1),
                      (cmd("SETEX", "s", "10"), 1), (cmd("PSETEX", "s", "10", "v", "x"), 1),
                      (cmd("SETEX", "s", "100", BIG), 1), (cmd("GET", "s"), 1), (cmd("TTL", "s"), 1),
                      (cmd("GETSET", "s", "x"), 1), (cmd("TTL", "s"), 1),
                      (cmd("SETEX", "s", "100", "v"), 1), (cmd("SET", "s", "y"), 1),
                      (cmd("TTL", "s"), 1)], False),
    "ttl carry": ([(cmd("SETEX", "c", "100", "5"), 1), (cmd("INCR", "c"), 1), (cmd("TTL", "c"), 1),
                   (cmd("INCRBY", "c", "5"), 1), (cmd("DECR", "c"), 1), (cmd("TTL", "c"), 1),
                   (cmd("INCRBYFLOAT", "c", "1.5"), 1), (cmd("TTL", "c"), 1),
                   (cmd("APPEND", "c", "x"), 1), (cmd("TTL", "c"), 1),
                   (cmd("SETRANGE", "c", "0", "9"), 1), (cmd("TTL", "c"), 1), (cmd("GET", "c"), 1),
                   (cmd("RENAME", "c", "d"), 1), (cmd("TTL", "d"), 1), (cmd("TTL", "c"), 1),
                   (cmd("SETEX", "e", "300", "1"), 1), (cmd("RENAME", "e", "d"), 1),
                   (cmd("TTL", "d"), 1), (cmd("SET", "f", "1"), 1), (cmd("RENAME", "f", "d"), 1),
                   (cmd("TTL", "d"), 1), (cmd("SETEX", "g", "100", "1"), 1),
                   (cmd("RENAMENX", "g", "h"), 1), (cmd("TTL", "h"), 1),
                   (cmd("SETEX", "m", "100", "1"), 1), (cmd("MSET", "m", "2"), 1), (cmd("TTL", "m"), 1),
                   (cmd("SETEX", "m", "100", "1"), 1), (cmd("SETNX", "m", "2"), 1), (cmd("TTL", "m"), 1),
                   (cmd("GETDEL", "m"), 1), (cmd("TTL", "m"), 1),
                   (cmd("SETEX", "m", "100", "1"), 1), (cmd("DEL", "m"), 1), (cmd("SET", "m", "1"), 1),
                   (cmd("TTL", "m"), 1)], False),
    "copy": ([(cmd("SET", "s", "1", "EX", "100"), 1), (cmd("COPY", "s", "t"), 1), (cmd("TTL", "t"), 1),
              (cmd("GET", "t"), 1), (cmd("COPY", "s", "t"), 1), (cmd("SET", "s", "2"), 1),
              (cmd("COPY", "s", "t", "REPLACE"), 1), (cmd("GET", "t"), 1), (cmd("TTL", "t"), 1),
              (cmd("COPY", "s", "s"), 1), (cmd("COPY", "nokey", "t"), 1), (cmd("COPY", "nokey", "nokey"), 1),
              (cmd("COPY", "s", "t", "foo"), 1), (cmd("COPY", "s", "t", "DB"), 1),
              (cmd("COPY", "s", "t", "DB", "x"), 1), (cmd("COPY", "s", "t", "db", "0", "replace"), 1),
              (cmd("COPY", "s", "t", "DB", "99999999999"), 1),
              (cmd("COPY", "s", "t", "REPLACE", "REPLACE"), 1), (cmd("COPY", "s"), 1),
              (cmd("SET", "big", BIG), 1), (cmd("COPY", "big", "big2"), 1), (cmd("DEL", "big"), 1),
              (cmd("GET", "big2"), 1), (cmd("SET", "big2", "x"), 1), (cmd("GET", "big2"), 1),
              (cmd("DBSIZE"), 1)], False),
    "copy to another db": ([(cmd("SET", "s", "1"), 1), (cmd("COPY", "s", "u", "DB", "1"), 1),
                            (cmd("COPY", "s", "s", "DB", "1"), 1),
                            (cmd("COPY", "s", "u", "DB", "-1"), 1)], False),
    # Keyspace iteration (issue 24). Key order is each server's own: the
    # replies are compared with their arrays of keys sorted (NORMALIZE),
    # and every SCAN here covers the whole keyspace in one call (fewer
    # keys than COUNT), so both answer cursor 0.
    "keys": ([(cmd("MSET", "hello", "1", "hallo", "2", "hxllo", "3", "a", "4", "foo:bar", "5",
                   "", "6", BIN, "7", "h[ae]llo", "8"), 1)] +
             [(cmd("KEYS", p), 1) for p in ("*", "h?llo", "h[ae]llo", "h[^e]llo", "h\\[ae]llo",
                                             "*:*", "nomatch", "", "**", "a", "*o", "h[a-e]llo",
                                             "h[e-a]llo", "[", "h[ae")] +
             [(cmd("KEYS"), 1), (cmd("KEYS", "a", "b"), 1)], False),
    "keys empty": ([(cmd("KEYS", "*"), 1), (cmd("KEYS", "a*"), 1)], False),
    "scan": ([(cmd("MSET", "hello", "1", "hallo", "2", "a", "3", "foo:bar", "4", "", "5"), 1),
              (cmd("SCAN", "0"), 1), (cmd("SCAN", "0", "MATCH", "h*"), 1),
              (cmd("SCAN", "0", "COUNT", "100"), 1), (cmd("SCAN", "0", "TYPE", "string"), 1),
              (cmd("SCAN", "0", "TYPE", "hash"), 1), (cmd("SCAN", "0", "TYPE", "foo"), 1),
              (cmd("SCAN", "0", "match", "*:*", "count", "50", "type", "STRING"), 1),
              (cmd("SCAN", "0", "MATCH", "*"), 1), (cmd("SCAN", "0", "MATCH", "**"), 1),
              (cmd("SCAN", "0", "COUNT", "5", "COUNT", "20"), 1),
              (cmd("SCAN", "0", "MATCH", "x", "MATCH", "h?llo"), 1)], False),
    "scan errors": ([(cmd("SCAN", "x"), 1), (cmd("SCAN", " 1"), 1), (cmd("SCAN", "0x10"), 1),
                     (cmd("SCAN", "5abc"), 1), (cmd("SCAN", "18446744073709551616"), 1),
                     (cmd("SCAN", "0", "COUNT", "0"), 1), (cmd("SCAN", "0", "COUNT", "-1"), 1),
                     (cmd("SCAN", "0", "COUNT", "x"), 1),
                     (cmd("SCAN", "0", "COUNT", "10000000000000000000"), 1),
                     (cmd("SCAN", "0", "MATCH"), 1), (cmd("SCAN", "0", "FOO"), 1),
                     (cmd("SCAN", "0", "TYPE"), 1), (cmd("SCAN", "0", "COUNT", "1", "FOO", "x"), 1),
                     (cmd("SCAN"), 1)], False),
    # Cursors as strtoul reads them (Redis 7.0), on an empty keyspace.
    "scan cursors": ([(cmd("SCAN", ""), 1), (cmd("SCAN", "+5"), 1), (cmd("SCAN", "010"), 1),
                      (cmd("SCAN", "-1"), 1), (cmd("SCAN", "18446744073709551615"), 1),
                      (cmd("SCAN", "12345678901234567890"), 1)], False),
    "randomkey": ([(cmd("RANDOMKEY"), 1), (cmd("SET", "only", "1"), 1), (cmd("RANDOMKEY"), 1),
                   (cmd("RANDOMKEY"), 1), (cmd("DEL", "only"), 1), (cmd("RANDOMKEY"), 1),
                   (cmd("SET", BIN, "1"), 1), (cmd("RANDOMKEY"), 1),
                   (cmd("RANDOMKEY", "x"), 1)], False),
    "flushdb": ([(cmd("MSET", "a", "1", "b", "2"), 1), (cmd("FLUSHDB"), 1), (cmd("DBSIZE"), 1),
                 (cmd("SET", "a", "1"), 1), (cmd("FLUSHDB", "ASYNC"), 1), (cmd("EXISTS", "a"), 1),
                 (cmd("FLUSHDB", "sync"), 1), (cmd("FLUSHDB", "x"), 1),
                 (cmd("FLUSHDB", "a", "b"), 1), (cmd("FLUSHDB", "async", "b"), 1),
                 (cmd("FLUSHALL", "a", "b"), 1), (cmd("DBSIZE"), 1)], False),
    # HELLO's id is each server's own connection number (NORMALIZE masks
    # it), and its version paste-kvs's INFO redis_version.
    "hello": ([(cmd("HELLO"), 1), (cmd("HELLO", "2"), 1), (cmd("HELLO", "2", "SETNAME", "foo"), 1),
               (cmd("CLIENT", "GETNAME"), 1), (cmd("HELLO", "2", "setname", "bar"), 1),
               (cmd("CLIENT", "GETNAME"), 1), (cmd("HELLO", "2", "AUTH", "default", "x"), 1),
               (cmd("HELLO", "2", "AUTH", "foo", "x"), 1),
               (cmd("HELLO", "2", "SETNAME", "a", "AUTH", "default", "x"), 1),
               (cmd("HELLO", "4"), 1), (cmd("HELLO", "1"), 1), (cmd("HELLO", "0"), 1),
               (cmd("HELLO", "-1"), 1), (cmd("HELLO", "3x"), 1), (cmd("HELLO", "02"), 1),
               (cmd("HELLO", "2", "AUTH"), 1), (cmd("HELLO", "2", "AUTH", "default"), 1),
               (cmd("HELLO", "2", "FOO"), 1), (cmd("HELLO", "2", "SETNAME"), 1),
               (cmd("HELLO", "2", "AUTH", "default", "x", "SETNAME"), 1),
               (cmd("HELLO", "2", "SETNAME", "a b"), 1), (cmd("CLIENT", "GETNAME"), 1)], False),
    "hello 3": ([(cmd("HELLO", "3"), 1), (cmd("PING"), 1)], False),
    "client names": ([(cmd("CLIENT", "GETNAME"), 1), (cmd("CLIENT", "SETNAME", "foo"), 1),
                      (cmd("CLIENT", "GETNAME"), 1), (cmd("client", "setname", "x-y:z!~"), 1),
                      (cmd("CLIENT", "GETNAME"), 1), (cmd("CLIENT", "SETNAME", ""), 1),
                      (cmd("CLIENT", "GETNAME"), 1), (cmd("CLIENT", "SETNAME", "a b"), 1),
                      (cmd("CLIENT", "SETNAME", "a\nb"), 1), (cmd("CLIENT", "SETNAME", b"\xc3\xa9"), 1),
                      (cmd("CLIENT", "GETNAME"), 1), (cmd("CLIENT", "ID"), 1)], False),
    "client errors": ([(cmd("CLIENT"), 1), (cmd("CLIENT", "FOO"), 1), (cmd("CLIENT", "SETNAME"), 1),
                       (cmd("CLIENT", "SETNAME", "a", "b"), 1), (cmd("CLIENT", "GETNAME", "x"), 1),
                       (cmd("CLIENT", "ID", "x"), 1), (cmd("CLIENT", "INFO", "x"), 1),
                       (cmd("CLIENT", "LIST", "foo"), 1), (cmd("CLIENT", "LIST", "TYPE"), 1),
                       (cmd("CLIENT", "LIST", "TYPE", "foo"), 1), (cmd("CLIENT", "LIST", "ID"), 1),
                       (cmd("CLIENT", "LIST", "ID", "x"), 1), (cmd("CLIENT", "LIST", "ID", "0"), 1)],
                      False),
    "client list": ([(cmd("CLIENT", "SETNAME", "me"), 1), (cmd("CLIENT", "LIST"), 1),
                     (cmd("CLIENT", "INFO"), 1), (cmd("CLIENT", "LIST", "TYPE", "normal"), 1)], False),
    "time": ([(cmd("TIME"), 1), (cmd("TIME", "x"), 1)], False),
    "wait": ([(cmd("WAIT", "0", "0"), 1), (cmd("WAIT", "1", "10"), 1), (cmd("WAIT", "x", "0"), 1),
              (cmd("WAIT", "0", "x"), 1), (cmd("WAIT", "0", "-1"), 1), (cmd("WAIT", "0"), 1),
              (cmd("WAIT", "0", "0", "0"), 1)], False),
    # Not served (issue 24): unknown commands, in Redis's words (checked
    # against the text UNKNOWN builds, as Redis words it, below).
    "not served": ([(cmd(*w), 1) for w in UNSERVED], False),
    "waitaof": ([(cmd("WAITAOF", "0", "0", "0"), 1)], False),
    "msetnx": ([(cmd("MSETNX", "a", "1", "b", "2"), 1), (cmd("MGET", "a", "b"), 1),
                (cmd("MSETNX", "b", "3", "c", "4"), 1), (cmd("MGET", "a", "b", "c"), 1),
                (cmd("EXISTS", "c"), 1), (cmd("MSETNX", "c", "5"), 1), (cmd("GET", "c"), 1),
                (cmd("MSETNX", "d", "1", "d", "2"), 1), (cmd("GET", "d"), 1),
                (cmd("MSETNX", "c", "6", "c", "7"), 1), (cmd("GET", "c"), 1),
                (cmd("MSETNX", "big", BIG, "big2", BIG + b"x"), 1),
                (cmd("STRLEN", "big2"), 1), (cmd("MSETNX", "e", "", "f", BIG), 1),
                (cmd("EXISTS", "e", "f"), 1), (cmd("DBSIZE"), 1),
                (cmd("MSETNX"), 1), (cmd("MSETNX", "a"), 1), (cmd("MSETNX", "x", "1", "y"), 1),
                (cmd("EXISTS", "x", "y"), 1)], False),
    "mset units": ([(cmd("SET", "t", "1", "EX", "100"), 1),
                    (cmd("MSET", "t", "2", "u", BIG, "t", "3"), 1), (cmd("GET", "t"), 1),
                    (cmd("STRLEN", "u"), 1), (cmd("MSET", "u", "", "v", "1"), 1),
                    (cmd("MGET", "t", "u", "v"), 1), (cmd("DBSIZE"), 1)], False),
}


# Transactions (MULTI/EXEC/DISCARD/WATCH/UNWATCH): name -> steps, each
# (connection, request, replies) on connections 0 and 1 of the case (both
# fresh), or ("sleep", seconds). Connection 1 is the other client whose
# writes WATCH must see.
def on0(*words, n=1):
    return (0, cmd(*words), n)


def on1(*words, n=1):
    return (1, cmd(*words), n)


TX_CASES = {
    "multi exec": [on0("MULTI"), on0("SET", "a", "1"), on0("INCR", "a"), on0("GET", "a"),
                   on0("MGET", "a", "x"), on0("SET", "big", BIG), on0("GET", "big"),
                   on0("EXEC"), on0("GET", "a"), on0("EXEC")],
    "multi empty": [on0("MULTI"), on0("EXEC"), on0("MULTI"), on0("DISCARD")],
    # Commands that are units of their own (MSET, MSETNX) or empty the
    # store (FLUSHALL, FLUSHDB) inside EXEC's unit.
    "multi units and flushes": [on0("SET", "z", "0"), on0("MULTI"), on0("MSET", "a", "1", "b", BIG),
                                on0("MSETNX", "c", "3", "a", "x"), on0("MSETNX", "d", "4"),
                                on0("FLUSHALL"), on0("SET", "e", "5"), on0("MSET", "f", "6"),
                                on0("FLUSHDB"), on0("MSET", "g", "7", "h", BIG), on0("EXEC"),
                                on0("MGET", "z", "a", "b", "c", "d", "e", "f", "g", "h"),
                                on0("DBSIZE")],
    "queue errors": [on0("MULTI"), on0("MULTI"), on0("WATCH", "x"), on0("FOO", "bar"),
                     on0("GET"), on0("SET", "a", "1"), on0("EXEC"), on0("GET", "a")],
    "nested multi only": [on0("MULTI"), on0("SET", "a", "1"), on0("MULTI"),
                          on0("WATCH", "a"), on0("EXEC"), on0("GET", "a")],
    "without multi": [on0("EXEC"), on0("DISCARD"), on0("UNWATCH"), on0("EXEC", "x"),
                      on0("MULTI", "x"), on0("DISCARD", "x"), on0("WATCH")],
    "run-time errors": [on0("SET", "s", "abc"), on0("MULTI"), on0("INCR", "s"),
                        on0("SET", "t", "1"), on0("INCR", "t"), on0("SET", "o", "1", "FOO"),
                        on0("SET", "o", "1", "EX", "0"), on0("GETRANGE", "t", "x", "1"),
                        on0("RENAME", "nokey", "z"), on0("EXEC"), on0("MGET", "s", "t", "o")],
    "discard": [on0("SET", "a", "0"), on0("MULTI"), on0("SET", "a", "1"), on0("DEL", "a"),
                on0("DISCARD"), on0("GET", "a"), on0("EXEC"), on0("DISCARD")],
    "watch other client": [on0("SET", "w", "1"), on0("WATCH", "w"), on1("SET", "w", "2"),
                           on0("MULTI"), on0("GET", "w"), on0("SET", "x", "1"),
                           on0("EXEC"), on0("GET", "x")],
    "watch same client": [on0("SET", "w", "1"), on0("WATCH", "w"), on0("SET", "w", "2"),
                          on0("MULTI"), on0("GET", "w"), on0("EXEC")],
    "watch untouched": [on0("SET", "w", "1"), on0("WATCH", "w", "v"), on1("SET", "u", "2"),
                        on1("GET", "w"), on0("MULTI"), on0("SET", "w", "3"),
                        on0("EXEC"), on0("GET", "w")],
    "watch own queued write": [on0("WATCH", "w"), on0("MULTI"), on0("SET", "w", "1"),
                               on0("EXEC"), on0("GET", "w")],
    "watch del": [on0("SET", "w", "1"), on0("WATCH", "w"), on1("DEL", "w"),
                  on0("MULTI"), on0("PING"), on0("EXEC"),
                  on0("WATCH", "m"), on1("DEL", "m"), on0("MULTI"), on0("PING"), on0("EXEC")],
    "watch rename": [on0("SET", "a", "1"), on0("WATCH", "b"), on1("RENAME", "a", "b"),
                     on0("MULTI"), on0("PING"), on0("EXEC"),
                     on0("WATCH", "b"), on1("RENAME", "b", "c"), on0("MULTI"), on0("PING"),
                     on0("EXEC")],
    "watch flushall": [on0("SET", "w", "1"), on0("WATCH", "w"), on1("FLUSHALL"),
                       on0("MULTI"), on0("PING"), on0("EXEC"),
                       on0("WATCH", "nokey"), on1("FLUSHALL"), on0("MULTI"), on0("PING"),
                       on0("EXEC")],
    "watch incr append": [on0("SET", "n", "1"), on0("WATCH", "n"), on1("INCR", "n"),
                          on0("MULTI"), on0("GET", "n"), on0("EXEC"),
                          on0("WATCH", "n"), on1("APPEND", "n", "x"), on0("MULTI"),
                          on0("EXEC"), on0("WATCH", "n"), on1("GET", "n"), on0("MULTI"),
                          on0("GET", "n"), on0("EXEC")],
    "unwatch": [on0("SET", "w", "1"), on0("WATCH", "w"), on0("UNWATCH"), on1("SET", "w", "2"),
                on0("MULTI"), on0("GET", "w"), on0("EXEC")],
    "watch after exec": [on0("WATCH", "w"), on0("MULTI"), on0("EXEC"), on1("SET", "w", "2"),
                         on0("MULTI"), on0("GET", "w"), on0("EXEC"),
                         on0("WATCH", "w"), on0("MULTI"), on0("DISCARD"), on1("SET", "w", "3"),
                         on0("MULTI"), on0("GET", "w"), on0("EXEC")],
    "watch queued unwatch": [on0("SET", "w", "1"), on0("WATCH", "w"), on0("MULTI"),
                             on0("UNWATCH"), on1("SET", "w", "2"), on0("GET", "w"),
                             on0("EXEC")],
    "watch expiry": [on0("SET", "e", "1", "PX", "150"), on0("WATCH", "e"), ("sleep", 0.4),
                     on0("MULTI"), on0("PING"), on0("EXEC")],
    "watch expired already": [on0("SET", "e", "1", "PX", "50"), ("sleep", 0.3),
                              on0("WATCH", "e"), on0("MULTI"), on0("PING"), on0("EXEC")],
    "watch expired then set": [on0("SET", "e", "1", "PX", "50"), ("sleep", 0.3),
                               on0("WATCH", "e"), on1("SET", "e", "2"), on0("MULTI"),
                               on0("PING"), on0("EXEC")],
    # Deadlines and transactions (the ttl and multi merge): WATCH sees an
    # EXPIRE or PERSIST of another client; deadline writes and RENAME,
    # COPY inside EXEC's unit.
    "watch expire": [on0("SET", "w", "1"), on0("WATCH", "w"), on1("EXPIRE", "w", "100"),
                     on0("MULTI"), on0("PING"), on0("EXEC"),
                     on0("WATCH", "w"), on1("PERSIST", "w"), on0("MULTI"), on0("PING"),
                     on0("EXEC"), on0("WATCH", "w"), on1("PERSIST", "w"), on0("MULTI"),
                     on0("PING"), on0("EXEC")],
    # An EXPIRE that sets the deadline a key has is a write for WATCH
    # (answered 1); one GT turns down is not.
    "watch same deadline": [on0("SET", "w", "1", "PXAT", "4102444800000"), on0("WATCH", "w"),
                            on1("PEXPIREAT", "w", "4102444800000"), on0("MULTI"),
                            on0("PING"), on0("EXEC"), on0("WATCH", "w"),
                            on1("EXPIREAT", "w", "4102444800", "XX"), on0("MULTI"),
                            on0("PING"), on0("EXEC"), on0("WATCH", "w"),
                            on1("PEXPIREAT", "w", "4102444800000", "GT"), on0("MULTI"),
                            on0("PING"), on0("EXEC")],
    "multi deadlines": [on0("SET", "a", "1"), on0("MULTI"), on0("SET", "b", "2", "EX", "100"),
                        on0("EXPIRE", "a", "200"), on0("SETEX", "c", "300", "3"),
                        on0("RENAME", "b", "d"), on0("COPY", "c", "e"), on0("PERSIST", "a"),
                        on0("GETEX", "e", "PX", "400000"), on0("MSET", "c", "4"),
                        on0("EXEC"), on0("TTL", "a"), on0("TTL", "d"), on0("TTL", "c"),
                        on0("TTL", "e"), on0("MGET", "a", "b", "c", "d", "e"),
                        on0("DBSIZE")],
    "multi quit": [on0("MULTI"), on0("SET", "q", "1"), on0("QUIT"), on1("GET", "q")],
    "inline multi": [(0, b"MULTI\r\nSET a 1\r\nGET a\r\nEXEC\r\n", 4)],
}

# Cases whose replies differ from Redis's on purpose, and why.
DELIBERATE = {
    "select": "one database: SELECT of another answers -ERR DB index is out of range",
    "inline escapes": "inline commands take no escapes inside quotes (-ERR, the "
                      "connection stays open); redis-cli and clients send multibulk",
    "multibulk count": "a multibulk count over 65 (the 64-argument limit) is refused "
                       "at the *N line; Redis waits for up to 1M elements",
    "copy to another db": "one database: COPY ... DB n (n != 0) answers -ERR DB index "
                          "is out of range, as a Redis with 'databases 1' does",
    "key over 250 bytes": "keys are at most 250 bytes (KV_KEY_MAX: the indexes' entry "
                          "size); Redis takes up to 512 MB",
    "hello 3": "RESP3 is not served: HELLO 3 answers -NOPROTO as for any version but 2",
    "client list": "CLIENT LIST and INFO give id, addr, name, age, flags, db, cmd and resp: "
                   "paste-kvs has no fds, query buffers or output lists to report",
    "not served": "Redis 7.0 serves these; paste-kvs stores strings only and answers them as "
                  "unknown commands (issue 24), checked against Redis's wording below",
}


def unknown_error(words):
    """Redis 7.0's error for an unknown command (processCommand): the name
    and its first arguments, quoted, 128 bytes of them at most."""
    args = ""
    for w in words[1:]:
        if len(args) >= 128:
            break
        args += "'%s' " % w[:128 - len(args)]
    return ("-ERR unknown command '%s', with args beginning with: %s\r\n"
            % (words[0][:128], args)).encode()


def parse_reply(b, pos=0):
    """One RESP2 reply at @pos: (value, end). Arrays are lists; others the
    raw bytes of their line or bulk."""
    end = b.index(b"\r\n", pos) + 2
    kind, head = b[pos:pos + 1], b[pos + 1:end - 2]
    if kind == b"$" and int(head) >= 0:
        n = int(head)
        return b[pos:end + n + 2], end + n + 2
    if kind == b"*" and int(head) >= 0:
        out = []
        for _ in range(int(head)):
            v, end = parse_reply(b, end)
            out.append(v)
        return out, end
    return b[pos:end], end


def unparse(v):
    if isinstance(v, list):
        return b"*%d\r\n" % len(v) + b"".join(unparse(x) for x in v)
    return v


def sort_keys(v):
    """Arrays of bulk strings sorted (key order is each server's own)."""
    if isinstance(v, list):
        v = [sort_keys(x) for x in v]
        if all(not isinstance(x, list) for x in v):
            v = sorted(v)
    return v


def mask_hello(v):
    """HELLO's id (a connection number) and version (7.0.x) masked."""
    if isinstance(v, list) and len(v) == 14 and v[0] == b"$6\r\nserver\r\n":
        v = list(v)
        v[3], v[7] = b"<version>", b"<id>"
    return v


def mask_numbers(v):
    """Integers and bulk strings of digits (ids, times) masked."""
    if isinstance(v, list):
        return [mask_numbers(x) for x in v]
    if v[:1] == b":" or (v[:1] == b"$" and v.split(b"\r\n")[1].isdigit()):
        return b"<number>"
    return v


# Replies both servers' are passed through before they are compared.
NORMALIZE = {"keys": sort_keys, "scan": sort_keys, "keys empty": sort_keys,
             "hello": mask_hello, "client names": mask_numbers, "time": mask_numbers}


class Server:
    def __init__(self, name, host, port):
        self.name, self.host, self.port = name, host, port

    def connect(self):
        s = socket.create_connection((self.host, self.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Conn(s)


class Conn:
    def __init__(self, s):
        self.s, self.buf, self.eof = s, b"", False

    def fill(self, deadline):
        if self.eof:
            return False
        self.s.settimeout(max(0.05, deadline - time.time()))
        try:
            b = self.s.recv(1 << 20)
        except (socket.timeout, TimeoutError, ConnectionResetError):
            if time.time() >= deadline:
                return False
            return True
        if not b:
            self.eof = True
            return False
        self.buf += b
        return True

    def line(self, pos, deadline):
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i >= 0:
                return i + 2
            if not self.fill(deadline) and (self.eof or time.time() >= deadline):
                return None

    def reply_end(self, pos, deadline):
        """Where the reply starting at @pos ends, or None."""
        end = self.line(pos, deadline)
        if end is None:
            return None
        kind, head = self.buf[pos:pos + 1], self.buf[pos + 1:end - 2]
        if kind in (b"+", b"-", b":"):
            return end
        if kind == b"$":
            n = int(head)
            if n < 0:
                return end
            while len(self.buf) < end + n + 2:
                if not self.fill(deadline) and (self.eof or time.time() >= deadline):
                    return None
            return end + n + 2
        if kind == b"*":
            n = int(head)
            for _ in range(max(n, 0)):
                end = self.reply_end(end, deadline)
                if end is None:
                    return None
            return end
        return None

    def replies(self, n, deadline):
        out, pos = [], 0
        for _ in range(n):
            end = self.reply_end(pos, deadline)
            if end is None:
                out.append(b"<no reply: %r>" % self.buf[pos:pos + 60])
                break
            out.append(self.buf[pos:end])
            pos = end
        self.buf = self.buf[pos:]
        return out

    def closed(self, seconds):
        end = time.time() + seconds
        while self.fill(end):
            pass
        return self.eof

    def close(self):
        self.s.close()


def run_case(server, requests, closes):
    c = server.connect()
    c.s.sendall(cmd("FLUSHALL"))
    flushed = c.replies(1, time.time() + 10)
    got = []
    for req, n in requests:
        c.s.sendall(req)
        got += c.replies(n, time.time() + 10)
    extra = b""
    if closes:
        got.append(b"<closed>" if c.closed(3) else b"<left open>")
        extra = c.buf
    c.close()
    return flushed, got, extra


def run_tx_case(server, steps):
    conns = [server.connect(), server.connect()]
    conns[0].s.sendall(cmd("FLUSHALL"))
    flushed = conns[0].replies(1, time.time() + 10)
    got = []
    for step in steps:
        if step[0] == "sleep":
            time.sleep(step[1])
            continue
        who, req, n = step
        conns[who].s.sendall(req)
        got += [b"%d: " % who + r for r in conns[who].replies(n, time.time() + 10)]
    for c in conns:
        c.close()
    return flushed, got, b""


def show(b):
    return repr(b if len(b) <= 120 else b[:100] + b"...(%d bytes)" % len(b))


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    kvs = Server("paste-kvs", sys.argv[1], int(sys.argv[2]))
    redis = Server("redis", sys.argv[3], int(sys.argv[4]))
    failed, deliberate = [], []
    cases = [(n, lambda s, r=r, c=c: run_case(s, r, c)) for n, (r, c) in CASES.items()]
    cases += [(n, lambda s, t=t: run_tx_case(s, t)) for n, t in TX_CASES.items()]
    for name, run in cases:
        results = [run(s) for s in (kvs, redis)]
        if name in NORMALIZE:
            results = [(f, [unparse(NORMALIZE[name](parse_reply(x)[0]))
                            if not x.startswith(b"<") else x for x in got], extra)
                       for f, got, extra in results]
        if name == "not served":
            want = [unknown_error(w) for w in UNSERVED]
            if results[0][1] != want:
                print("DIFFERENT: not served: paste-kvs %s, want %s" % (results[0][1], want))
                failed.append(name)
        for s, (flushed, _, _) in zip((kvs, redis), results):
            if flushed != [b"+OK\r\n"]:
                print("%s: %s: FLUSHALL answered %r" % (name, s.name, flushed))
                failed.append(name)
        a, b = results[0][1:], results[1][1:]
        if a == b:
            print("same: %s (%d replies)" % (name, len(a[0])))
            if name in DELIBERATE:
                print("  (listed as deliberate but the same now: %s)" % name)
            continue
        tag = "DELIBERATE" if name in DELIBERATE else "DIFFERENT"
        print("%s: %s" % (tag, name))
        if name in DELIBERATE:
            print("  why: %s" % DELIBERATE[name])
        for i, (x, y) in enumerate(zip(a[0], b[0])):
            if x != y:
                print("  reply %d: paste-kvs %s" % (i, show(x)))
                print("  reply %d: redis     %s" % (i, show(y)))
        if len(a[0]) != len(b[0]):
            print("  replies: paste-kvs %d, redis %d" % (len(a[0]), len(b[0])))
        if a[1] != b[1]:
            print("  after the close: paste-kvs %s, redis %s" % (show(a[1]), show(b[1])))
        (deliberate if name in DELIBERATE else failed).append(name)
    print("%d cases: %d the same, %d deliberate differences, %d unexpected: %s"
          % (len(cases), len(cases) - len(failed) - len(deliberate), len(deliberate),
             len(failed), ", ".join(failed) or "none"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
