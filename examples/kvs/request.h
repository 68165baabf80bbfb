/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a request as the parsers hand it to execution (proto.h says
 * how each parser fills it in). Arguments are byte ranges of the receive
 * stream, never copies.
 */
#ifndef KVS_REQUEST_H
#define KVS_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define KV_MAX_ARGS 64            /* RESP arguments per command */

enum kv_op {
	KV_OP_NONE = 0,
	/* The parser looks names up in this order: MULTI and EXEC, which
	 * come with every transaction, early (callgrind: 280 instructions a
	 * lookup at the end). */
	KV_OP_PING, KV_OP_GET, KV_OP_SET, KV_OP_MULTI, KV_OP_EXEC,
	KV_OP_DEL, KV_OP_EXISTS,
	KV_OP_MSET, KV_OP_MGET, KV_OP_INCR, KV_OP_DBSIZE, KV_OP_FLUSHALL,
	KV_OP_INFO, KV_OP_CONFIG_GET, KV_OP_COMMAND, KV_OP_QUIT, KV_OP_SELECT,
	KV_OP_ECHO,
	KV_OP_CLUSTER, KV_OP_READONLY, KV_OP_READWRITE,   /* cluster.h */
	KV_OP_AUTH,                                       /* auth.h */
	KV_OP_SETNX, KV_OP_GETSET, KV_OP_GETDEL,
	KV_OP_INCRBY, KV_OP_DECRBY, KV_OP_DECR, KV_OP_INCRBYFLOAT,
	KV_OP_APPEND, KV_OP_STRLEN, KV_OP_GETRANGE, KV_OP_SUBSTR,
	KV_OP_SETRANGE,                                   /* exec_strings.c */
	KV_OP_RENAME, KV_OP_RENAMENX, KV_OP_TYPE, KV_OP_UNLINK,
	KV_OP_TOUCH,                                      /* exec_keys.c */
	KV_OP_EXPIRE, KV_OP_PEXPIRE, KV_OP_EXPIREAT, KV_OP_PEXPIREAT,
	KV_OP_TTL, KV_OP_PTTL, KV_OP_EXPIRETIME, KV_OP_PEXPIRETIME,
	KV_OP_PERSIST, KV_OP_GETEX, KV_OP_SETEX, KV_OP_PSETEX,
	KV_OP_COPY,                                       /* exec_ttl.c */
	KV_OP_DISCARD, KV_OP_WATCH, KV_OP_UNWATCH,        /* multi.c */
	KV_OP_KEYS, KV_OP_SCAN, KV_OP_RANDOMKEY, KV_OP_FLUSHDB, /* exec_keyspace.c */
	KV_OP_HELLO, KV_OP_CLIENT, KV_OP_TIME, KV_OP_WAIT, /* exec_conn.c */
	KV_OP_MSETNX,                                     /* exec.c, a unit */
	KV_OP_COUNT               /* not a command: how many there are, + 1 */
};

/* Flags of SET. */
#define KV_SET_NX 0x1             /* only if absent */
#define KV_SET_XX 0x2             /* only if present */
#define KV_SET_GET 0x4            /* reply with the value it replaces */
#define KV_SET_KEEPTTL 0x8        /* keep the deadline of the value replaced */
#define KV_SET_EXPIRE_AT 0x10     /* EXAT/PXAT: expire_ms is absolute (ms
				   * since the epoch), not relative */

/* A byte range of the stream. */
struct kv_arg {
	size_t off;
	size_t len;
};

struct kv_request {
	enum kv_op op;            /* its row of kv_commands[] (command.h) */
	unsigned int argc;        /* arguments after the command name */
	struct kv_arg argv[KV_MAX_ARGS];
	uint32_t set_flags;       /* KV_SET_* */
	int64_t expire_ms;        /* SET EX/PX (relative) or EXAT/PXAT
	                           * (KV_SET_EXPIRE_AT), in ms: > 0 when given */
	size_t consumed;          /* bytes of the stream the request used */
	int http;                 /* parsed from HTTP, reply in HTTP */
	int http_keepalive;       /* HTTP: keep the connection open after */
	int http_expect_continue; /* HTTP, with KV_PARSE_MORE: the headers are
	                           * complete, the body is not, and the client
	                           * waits for "HTTP/1.1 100 Continue\r\n\r\n"
	                           * (send it once per request). 0 otherwise. */
	int http_head;            /* HTTP HEAD (op KV_OP_GET): reply with the
	                           * GET's headers, without the body */
	struct kv_arg http_auth;  /* HTTP: the Authorization header's value
	                           * (len 0: none), with KV_PARSE_OK and with
	                           * KV_PARSE_MORE once the headers are whole */
	int early_error;          /* KV_PARSE_BAD_REQUEST: an error Redis
	                           * gives before it asks whether the client
	                           * authenticated (an unknown command or
	                           * subcommand, a wrong number of words);
	                           * others are NOAUTH's until it did */
	enum kv_op bad_op;        /* KV_PARSE_BAD_REQUEST of a known command
	                           * (op is KV_OP_NONE then): which, so that a
	                           * DENYOOM one is refused for the store's
	                           * limit first, as Redis refuses it */
	/* With KV_PARSE_MORE: a value to store (SET's or MSET's, a PUT's body)
	 * of KV_RESERVE_MIN bytes or more whose length is declared and whose
	 * bytes have not all arrived, so that the server can reserve room for
	 * it, or refuse it, before they do. pending_len 0: none. */
	size_t pending_len;       /* its declared length */
	size_t pending_end;       /* stream offset just past it (RESP: past
	                           * its CRLF; HTTP: the end of the request) */
	unsigned int pending_elem; /* RESP: its element (SET's value: 2);
	                           * HTTP: 1 */
	unsigned int pending_after; /* RESP: elements of the request after it */
};

/* Every field but argv, whose entries past argc mean nothing: clearing
 * its 1 KiB took a memset per request (150 instructions, callgrind). */
static inline void
kv_request_clear(struct kv_request *r)
{
	r->op = KV_OP_NONE;
	r->argc = 0;
	r->set_flags = 0;
	r->expire_ms = 0;
	r->consumed = 0;
	r->http = 0;
	r->http_keepalive = 0;
	r->http_expect_continue = 0;
	r->http_head = 0;
	r->http_auth.len = 0;
	r->early_error = 0;
	r->bad_op = KV_OP_NONE;
	r->pending_len = 0;
}

#endif /* KVS_REQUEST_H */
