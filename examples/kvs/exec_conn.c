/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the connection and server commands HELLO, CLIENT (SETNAME,
 * GETNAME, ID, INFO, LIST), TIME and WAIT, with Redis 7.0's replies.
 * RESP2 only: HELLO 3 answers as for a version not served. With no
 * replicas, WAIT answers 0 at once. The parser checked CLIENT's
 * subcommand and its arity (proto_resp.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "auth.h"
#include "client.h"
#include "command.h"
#include "exec_call.h"
#include "expiry.h"
#include "stream.h"

void
kv_client_start(struct kv_exec *x, struct kv_client *cl, uint32_t ipv4, uint16_t port)
{
	cl->id = ++x->client_ids;
	cl->created_ms = kv_expiry_now_ms();
	if (ipv4 != 0 || port != 0)
		snprintf(cl->addr, sizeof(cl->addr), "%u.%u.%u.%u:%u", ipv4 >> 24,
			 (ipv4 >> 16) & 0xff, (ipv4 >> 8) & 0xff, ipv4 & 0xff, port);
	cl->prev = NULL;
	cl->next = x->clients;
	if (cl->next != NULL)
		cl->next->prev = cl;
	x->clients = cl;
}

void
kv_client_end(struct kv_exec *x, struct kv_client *cl)
{
	if (cl->id == 0)
		return;   /* never started */
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		x->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	cl->prev = cl->next = NULL;
	cl->id = 0;
}

/* Argument @i, of up to @size - 1 bytes, as a C string (longer: ""). */
static void
arg_word(const struct kv_call *c, unsigned int i, char *dst, size_t size)
{
	const struct kv_arg *a = &c->req->argv[i];
	size_t n = a->len < size ? kv_stream_copy(c->rx, a->off, dst, a->len) : 0;

	dst[n] = '\0';
}

/* Set the connection's name to argument @i: 0, or -1 replied with
 * Redis's error (a name of '!'..'~' bytes only; the empty one clears). */
static int
set_name(struct kv_call *c, unsigned int i)
{
	const struct kv_arg *a = &c->req->argv[i];
	struct kv_client *cl = c->out->client;
	char name[KV_CLIENT_NAME_MAX];
	size_t k;

	if (a->len > sizeof(name)) {
		kv_call_error(c, "ERR Client names are limited to 128 bytes here");
		return -1;
	}
	kv_stream_copy(c->rx, a->off, name, a->len);
	for (k = 0; k < a->len; k++)
		if (name[k] < '!' || name[k] > '~') {
			kv_call_error(c, "ERR Client names cannot contain spaces, newlines "
				      "or special characters.");
			return -1;
		}
	if (cl != NULL) {
		memcpy(cl->name, name, a->len);
		cl->name_len = (uint16_t)a->len;
	}
	return 0;
}

/* HELLO's AUTH user pass, at argument @i: 1 authenticated, 0 replied
 * with WRONGPASS (the connection may be closed, as after AUTH). */
static int
hello_auth(struct kv_call *c, unsigned int i)
{
	const struct kv_auth *a = c->srv->auth;
	struct kv_auth_conn *conn = c->out->auth;
	const struct kv_arg *user = &c->req->argv[i], *pass = &c->req->argv[i + 1];
	char name[KV_AUTH_USER_MAX + 1];
	size_t ulen = user->len <= KV_AUTH_USER_MAX ?
		      kv_stream_copy(c->rx, user->off, name, user->len) : 0;
	int ok;

	if (!kv_auth_required(a))
		/* The default user takes any password; no one else exists. */
		ok = user->len == 7 && ulen == 7 && memcmp(name, "default", 7) == 0;
	else
		ok = user->len <= KV_AUTH_USER_MAX &&
		     kv_auth_check(a, name, ulen, c->rx, pass->off, pass->len);
	if (ok) {
		if (conn != NULL)
			conn->authenticated = 1;
		return 1;
	}
	c->srv->auth_failures++;
	c->out->bytes(c->out->ctx, KV_AUTH_WRONGPASS, sizeof(KV_AUTH_WRONGPASS) - 1);
	if (kv_auth_required(a) && (conn == NULL || ++conn->failures >= KV_AUTH_MAX_FAILURES))
		c->out->close(c->out->ctx);
	return 0;
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
void
kv_cmd_hello(struct kv_call *c)
{
	const struct kv_request *req = c->req;
	const struct kv_client *cl = c->out->client;
	const struct kv_auth_conn *conn = c->out->auth;
	unsigned int i, auth_at = 0, name_at = 0;
	char word[8];
	int64_t ver;

	if (req->argc >= 1) {
		if (kv_call_int64(c, 0, &ver) != 0) {
			kv_call_error(c, "ERR Protocol version is not an integer or out of range");
			return;
		}
		if (ver != 2) {   /* RESP3 is not served */
			kv_call_error(c, "NOPROTO unsupported protocol version");
			return;
		}
	}
	for (i = 1; i < req->argc; i++) {
		unsigned int more = req->argc - 1 - i;
		char shown[64];

		arg_word(c, i, word, sizeof(word));
		if (strcasecmp(word, "auth") == 0 && more >= 2) {
			auth_at = i + 1;
			i += 2;
		} else if (strcasecmp(word, "setname") == 0 && more >= 1) {
			name_at = ++i;
		} else {
			arg_word(c, i, shown, sizeof(shown));
			char msg[128];

			snprintf(msg, sizeof(msg), "ERR Syntax error in HELLO option '%s'", shown);
			kv_call_error(c, msg);
			return;
		}
	}
	if (auth_at != 0 && !hello_auth(c, auth_at))
		return;
	if (kv_auth_required(c->srv->auth) && (conn == NULL || !conn->authenticated)) {
		kv_call_error(c, "NOAUTH HELLO must be called with the client already "
			      "authenticated, otherwise the HELLO AUTH <user> <pass> "
			      "option can be used to authenticate the client and select the "
			      "RESP protocol version at the same time");
		return;
	}
	if (name_at != 0 && set_name(c, name_at) != 0)
		return;
	kv_call_array(c, 14);
	kv_call_bulk(c, "server", 6);
	kv_call_bulk(c, "redis", 5);
	kv_call_bulk(c, "version", 7);
	kv_call_bulk(c, KV_REDIS_VERSION, sizeof(KV_REDIS_VERSION) - 1);
	kv_call_bulk(c, "proto", 5);
	kv_call_int(c, 2);
	kv_call_bulk(c, "id", 2);
	kv_call_int(c, cl != NULL ? (int64_t)cl->id : 0);
	kv_call_bulk(c, "mode", 4);
	kv_call_bulk(c, "standalone", 10);
	kv_call_bulk(c, "role", 4);
	kv_call_bulk(c, "master", 6);
	kv_call_bulk(c, "modules", 7);
	kv_call_array(c, 0);
}

/* One line of CLIENT LIST and INFO: the fields paste-kvs has, in Redis's
 * order and words. */
static int
client_line(const struct kv_client *cl, uint64_t now, char *buf, size_t size)
{
	unsigned int op = cl->last_op < KV_OP_COUNT ? cl->last_op : KV_OP_NONE;

	return snprintf(buf, size, "id=%" PRIu64 " addr=%s name=%.*s age=%" PRIu64
			" flags=N db=0 cmd=%s%s resp=2\n",
			cl->id, cl->addr, (int)cl->name_len, cl->name,
			(now - cl->created_ms) / 1000,
			op != KV_OP_NONE ? kv_commands[op].name : "NULL",
			op == KV_OP_CLIENT ? "|list" : "");
}

/* Is @id among arguments 2.. of CLIENT LIST ID (checked already)? */
static int
id_listed(const struct kv_call *c, uint64_t id)
{
	unsigned int i;
	int64_t v;

	for (i = 2; i < c->req->argc; i++)
		if (kv_call_int64(c, i, &v) == 0 && (uint64_t)v == id)
			return 1;
	return 0;
}

/* CLIENT LIST [TYPE type | ID id...]: every connection is a normal one. */
static void
client_list(struct kv_call *c)
{
	const struct kv_request *req = c->req;
	uint64_t now = kv_expiry_now_ms();
	const struct kv_client *cl;
	size_t len = 0, cap = 0;
	char *buf = NULL, line[KV_CLIENT_NAME_MAX + 160], word[16], msg[96];
	int n, by_id = 0, none = 0;
	unsigned int i;
	int64_t v;

	if (req->argc > 1)
		arg_word(c, 1, word, sizeof(word));
	if (req->argc == 3 && strcasecmp(word, "type") == 0) {
		arg_word(c, 2, word, sizeof(word));
		if (strcasecmp(word, "normal") == 0) {
			none = 0;
		} else if (strcasecmp(word, "master") == 0 || strcasecmp(word, "replica") == 0 ||
			   strcasecmp(word, "slave") == 0 || strcasecmp(word, "pubsub") == 0) {
			none = 1;
		} else {
			char shown[64];

			arg_word(c, 2, shown, sizeof(shown));
			snprintf(msg, sizeof(msg), "ERR Unknown client type '%s'", shown);
			kv_call_error(c, msg);
			return;
		}
	} else if (req->argc > 2 && strcasecmp(word, "id") == 0) {
		for (i = 2; i < req->argc; i++)
			if (kv_call_int64(c, i, &v) != 0) {
				kv_call_error(c, "ERR Invalid client ID");
				return;
			}
		by_id = 1;
	} else if (req->argc != 1) {
		kv_call_error(c, "ERR syntax error");
		return;
	}
	for (cl = none ? NULL : c->srv->clients; cl != NULL; cl = cl->next) {
		if (by_id && !id_listed(c, cl->id))
			continue;
		n = client_line(cl, now, line, sizeof(line));
		if (n < 0)
			continue;
		if (len + (size_t)n > cap) {
			size_t ncap = cap ? 2 * cap : 4096;
			char *p;

			while (ncap < len + (size_t)n)
				ncap *= 2;
			p = realloc(buf, ncap);
			if (p == NULL) {
				free(buf);
				kv_call_error(c, "ERR out of memory listing the clients");
				return;
			}
			buf = p;
			cap = ncap;
		}
		memcpy(buf + len, line, (size_t)n);
		len += (size_t)n;
	}
	kv_call_bulk(c, buf != NULL ? buf : "", len);
	free(buf);
}

/* CLIENT SETNAME name | GETNAME | ID | INFO | LIST [options] */
void
kv_cmd_client(struct kv_call *c)
{
	const struct kv_client *cl = c->out->client;
	char word[16], line[KV_CLIENT_NAME_MAX + 160];
	int n;

	arg_word(c, 0, word, sizeof(word));
	if (strcasecmp(word, "setname") == 0) {
		if (set_name(c, 1) == 0)
			kv_call_simple(c, "OK");
	} else if (strcasecmp(word, "getname") == 0) {
		if (cl == NULL || cl->name_len == 0)
			kv_call_null(c);
		else
			kv_call_bulk(c, cl->name, cl->name_len);
	} else if (strcasecmp(word, "id") == 0) {
		kv_call_int(c, cl != NULL ? (int64_t)cl->id : 0);
	} else if (strcasecmp(word, "info") == 0) {
		n = cl != NULL ? client_line(cl, kv_expiry_now_ms(), line, sizeof(line)) : 0;
		kv_call_bulk(c, line, n > 0 ? (size_t)n : 0);
	} else {
		client_list(c);
	}
}

/* TIME: seconds and microseconds, as two bulk strings. */
void
kv_cmd_time(struct kv_call *c)
{
	struct timeval tv;
	char num[24];
	int n;

	gettimeofday(&tv, NULL);
	kv_call_array(c, 2);
	n = snprintf(num, sizeof(num), "%lld", (long long)tv.tv_sec);
	kv_call_bulk(c, num, (size_t)n);
	n = snprintf(num, sizeof(num), "%ld", (long)tv.tv_usec);
	kv_call_bulk(c, num, (size_t)n);
}

/* WAIT numreplicas timeout: no replicas, none to wait for. */
void
kv_cmd_wait(struct kv_call *c)
{
	int64_t v;

	/* The timeout is read first, as Redis does. */
	if (kv_call_int64(c, 1, &v) != 0) {
		kv_call_error(c, "ERR timeout is not an integer or out of range");
		return;
	}
	if (v < 0) {
		kv_call_error(c, "ERR timeout is negative");
		return;
	}
	if (v > 0 && (uint64_t)v > INT64_MAX - kv_expiry_now_ms()) {
		kv_call_error(c, "ERR timeout is out of range");
		return;
	}
	if (kv_call_int64(c, 0, &v) != 0) {
		kv_call_error(c, "ERR value is not an integer or out of range");
		return;
	}
	kv_call_int(c, 0);
}
