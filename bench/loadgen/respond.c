/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen --respond: the trivial server that measures the load
 * generator's own ceiling. It parses just enough to find where each request
 * ends (RESP arrays of bulk strings; HTTP request line, headers and
 * Content-Length body), answers GET with the -d bytes the generator's load
 * writes to the key (value.c: key and LG_LOAD_VERSION, so the generator's
 * checks pass without anything stored), PING with +PONG and anything else
 * with +OK (HTTP: 200), and stores nothing. --respond-wrong answers GETs
 * with values wrong in one way, for the checks' tests. Its
 * cost per request is far below a server's, so the generator against it is
 * the fastest the generator can go.
 *
 * Limits: --respond serves at most LG_CONNS_MAX connections and queues at
 * most RESPOND_TX_MAX reply bytes for one (a peer that sends without
 * reading is reset); a request it cannot frame resets its connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_cycles.h>

#include "example_util.h"
#include "loadgen.h"

#define RESPOND_TX_MAX (16u << 20)
#define RESPOND_LINE_MAX 1024
#define CMD_MAX 8
/* "key:" and the digits; longer keys are no generator's. */
#define KEY_MAX 24

enum {
	R_ARRAY,        /* "*N" */
	R_BULK,         /* "$len" */
	R_BODY,         /* the argument's bytes */
	R_CR, R_LF,
	H_REQUEST,      /* "METHOD /path HTTP/1.1" */
	H_HEADER,
	H_BODY,
};

struct rconn {
	struct pst_conn *pc;
	int http;
	int state;
	int64_t args_left;              /* RESP arguments still to come */
	int64_t arg;                    /* RESP: index of the current argument */
	uint64_t left;                  /* bytes of a value or body to skip */
	uint64_t length;                /* HTTP Content-Length */
	char cmd[CMD_MAX + 1];          /* the command (method), upper case */
	uint32_t cmd_len;
	char key[KEY_MAX + 1];          /* the key (RESP argument 1, HTTP path) */
	uint32_t key_len;
	uint32_t line_len;
	char line[RESPOND_LINE_MAX];
	uint8_t *tx;
	size_t tx_len, tx_off, tx_cap;
};

static struct {
	const struct lg_opts *o;
	struct pst_stack *stack;
	struct pst_listener *resp, *http;
	unsigned int n_conns;
	uint64_t requests_resp, requests_http, conns, refused, bad, overflows;
} r;

static void
conn_free(struct rconn *c)
{
	free(c->tx);
	free(c);
	r.n_conns--;
}

static void
conn_reset(struct rconn *c)
{
	static const struct pst_conn_callbacks none;

	pst_conn_set_callbacks(c->pc, &none, NULL);
	pst_conn_abort(c->pc);
	conn_free(c);
}

static void
flush(struct rconn *c)
{
	long n;

	while (c->tx_off < c->tx_len) {
		n = pst_conn_send(c->pc, c->tx + c->tx_off, c->tx_len - c->tx_off);
		if (n <= 0)
			return;         /* -EAGAIN: the sent callback resumes */
		c->tx_off += (size_t)n;
	}
	c->tx_off = c->tx_len = 0;
}

/* Room for @len more reply bytes at c->tx + c->tx_len. @return 0, or -1
 * past the limit. */
static int
reserve(struct rconn *c, size_t len)
{
	size_t cap;
	uint8_t *p;

	if (c->tx_off > 0 && c->tx_len + len > c->tx_cap) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
		c->tx_len -= c->tx_off;
		c->tx_off = 0;
	}
	if (c->tx_len + len > c->tx_cap) {
		if (c->tx_len + len > RESPOND_TX_MAX)
			return -1;
		cap = c->tx_cap > 0 ? c->tx_cap : 64u << 10;
		while (cap < c->tx_len + len)
			cap *= 2;
		p = realloc(c->tx, cap);
		if (p == NULL)
			return -1;
		c->tx = p;
		c->tx_cap = cap;
	}
	return 0;
}

/* Queue a reply. @return 0, or -1 past the limit. */
static int
put(struct rconn *c, const void *data, size_t len)
{
	if (reserve(c, len) != 0)
		return -1;
	memcpy(c->tx + c->tx_len, data, len);
	c->tx_len += len;
	return 0;
}

/* The key's number, or -1 when it is no "key:DIGITS" of the generator. */
static int64_t
key_number(const struct rconn *c)
{
	int64_t v = 0;
	uint32_t i;

	if (c->key_len <= 4 || c->key_len > 4 + LG_KEY_DIGITS || memcmp(c->key, "key:", 4) != 0)
		return -1;
	for (i = 4; i < c->key_len; i++) {
		if (c->key[i] < '0' || c->key[i] > '9')
			return -1;
		v = v * 10 + (c->key[i] - '0');
	}
	return v;
}

/* A GET's reply: @head, the key's value of -d bytes (wrong as asked), and
 * @tail. Another key than the generator's gets 'x's, as redis-benchmark's
 * values. */
static int
put_value(struct rconn *c, const char *head, const char *tail)
{
	uint32_t d = r.o->value_size, version = LG_LOAD_VERSION;
	int64_t key = key_number(c);
	uint8_t *v;

	if (put(c, head, strlen(head)) != 0 || reserve(c, d) != 0)
		return -1;
	v = c->tx + c->tx_len;
	if (key < 0) {
		memset(v, 'x', d);
	} else {
		if (r.o->respond_wrong == LG_WRONG_KEY)
			key++;
		if (r.o->respond_wrong == LG_WRONG_VERSION)
			version = LG_LOAD_VERSION + 1;
		lg_value_fill((uint64_t)key, version, 0, v, d);
		if (r.o->respond_wrong == LG_WRONG_BYTE && r.o->respond_wrong_byte < d)
			v[r.o->respond_wrong_byte] ^= 0x20;
	}
	c->tx_len += d;
	return put(c, tail, strlen(tail));
}

static int
answer(struct rconn *c)
{
	static const char ok[] = "+OK\r\n", pong[] = "+PONG\r\n",
		http_ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	int get = strcmp(c->cmd, "GET") == 0;
	char head[64];

	if (c->http) {
		r.requests_http++;
		if (!get)
			return put(c, http_ok, sizeof(http_ok) - 1);
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %" PRIu32 "\r\n\r\n",
			 r.o->value_size);
		return put_value(c, head, "");
	}
	r.requests_resp++;
	if (get) {
		snprintf(head, sizeof(head), "$%" PRIu32 "\r\n", r.o->value_size);
		return put_value(c, head, "\r\n");
	}
	if (strcmp(c->cmd, "PING") == 0)
		return put(c, pong, sizeof(pong) - 1);
	return put(c, ok, sizeof(ok) - 1);
}

static void
cmd_add(struct rconn *c, const uint8_t *p, size_t n)
{
	while (n-- > 0 && c->cmd_len < CMD_MAX) {
		char ch = (char)*p++;

		c->cmd[c->cmd_len++] = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch;
	}
	c->cmd[c->cmd_len] = '\0';
}

static void
key_add(struct rconn *c, const uint8_t *p, size_t n)
{
	while (n-- > 0 && c->key_len < KEY_MAX)
		c->key[c->key_len++] = (char)*p++;
	c->key[c->key_len] = '\0';
}

static int
num(const char *s, int64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	*v = strtoll(s, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* A complete line in c->line. @return 0, 1 when it ended a request, -1. */
static int
line_done(struct rconn *c)
{
	const char *l = c->line;
	int64_t v;

	switch (c->state) {
	case R_ARRAY:
		if (l[0] != '*' || num(l + 1, &v) != 0 || v < 1)
			return -1;
		c->args_left = v;
		c->arg = 0;
		c->cmd_len = 0;
		c->cmd[0] = '\0';
		c->key_len = 0;
		c->key[0] = '\0';
		c->state = R_BULK;
		return 0;
	case R_BULK:
		if (l[0] != '$' || num(l + 1, &v) != 0)
			return -1;
		c->left = (uint64_t)v;
		c->state = v > 0 ? R_BODY : R_CR;
		return 0;
	case H_REQUEST:
		if (l[0] == '\0')
			return 0;       /* a blank line between requests */
		c->cmd_len = 0;
		cmd_add(c, (const uint8_t *)l, strcspn(l, " "));
		/* The path, without its '/', is the key. */
		l += strcspn(l, " ");
		l += strspn(l, " ");
		l += *l == '/';
		c->key_len = 0;
		key_add(c, (const uint8_t *)l, strcspn(l, " "));
		c->length = 0;
		c->state = H_HEADER;
		return 0;
	default: /* H_HEADER */
		if (l[0] == '\0') {
			c->left = c->length;
			c->state = c->left > 0 ? H_BODY : H_REQUEST;
			return c->left > 0 ? 0 : 1;
		}
		if (strncasecmp(l, "content-length:", 15) == 0) {
			l += 15 + strspn(l + 15, " \t");
			if (num(l, &v) != 0)
				return -1;
			c->length = (uint64_t)v;
		}
		return 0;
	}
}

/* Parse @len bytes; answer each request completed. @return 0 or -1. */
static int
feed(struct rconn *c, const uint8_t *d, size_t len)
{
	size_t i = 0, n;
	int ret;

	while (i < len) {
		switch (c->state) {
		case R_BODY:
		case H_BODY:
			n = len - i < c->left ? len - i : (size_t)c->left;
			if (c->state == R_BODY && c->arg == 0)
				cmd_add(c, d + i, n);
			else if (c->state == R_BODY && c->arg == 1)
				key_add(c, d + i, n);
			c->left -= n;
			i += n;
			if (c->left > 0)
				continue;
			if (c->state == R_BODY) {
				c->state = R_CR;
				continue;
			}
			c->state = H_REQUEST;
			if (answer(c) != 0)
				return -1;
			continue;
		case R_CR:
		case R_LF:
			if (d[i++] != (c->state == R_CR ? '\r' : '\n'))
				return -1;
			if (c->state == R_CR) {
				c->state = R_LF;
				continue;
			}
			c->arg++;
			c->state = --c->args_left > 0 ? R_BULK : R_ARRAY;
			if (c->args_left == 0 && answer(c) != 0)
				return -1;
			continue;
		default:
			break;
		}
		ret = lg_line_take(c->line, &c->line_len, RESPOND_LINE_MAX, d, len, &i);
		if (ret < 0)
			return -1;
		if (ret == 0)
			break;
		ret = line_done(c);
		if (ret < 0 || (ret == 1 && answer(c) != 0))
			return -1;
	}
	return 0;
}

static void
on_recv(void *arg, struct pst_conn *pc, const struct pst_segment *segs, unsigned int n)
{
	struct rconn *c = arg;
	unsigned int i;

	(void)pc;
	if (n == 0) {
		static const struct pst_conn_callbacks none;

		flush(c);
		pst_conn_set_callbacks(c->pc, &none, NULL);
		if (pst_conn_close(c->pc) != 0)
			pst_conn_abort(c->pc);
		conn_free(c);
		return;
	}
	for (i = 0; i < n; i++)
		if (feed(c, segs[i].data, segs[i].len) != 0) {
			if (c->tx_len - c->tx_off >= RESPOND_TX_MAX / 2)
				r.overflows++;
			else
				r.bad++;
			conn_reset(c);
			return;
		}
	flush(c);
}

static void
on_sent(void *arg, struct pst_conn *pc, size_t len)
{
	(void)pc;
	(void)len;
	flush(arg);
}

static void
on_closed(void *arg, struct pst_conn *pc, int err)
{
	(void)pc;
	(void)err;
	conn_free(arg);
}

static void
on_accept(void *arg, struct pst_conn *pc)
{
	static const struct pst_conn_callbacks cb = {
		.recv = on_recv, .sent = on_sent, .closed = on_closed,
	};
	struct rconn *c;

	if (r.n_conns >= LG_CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		r.refused++;
		pst_conn_abort(pc);
		return;
	}
	r.n_conns++;
	r.conns++;
	c->pc = pc;
	c->http = arg != NULL;
	c->state = c->http ? H_REQUEST : R_ARRAY;
	pst_conn_set_callbacks(pc, &cb, c);
}

static void
print_counts(void)
{
	struct pst_stack_stats ss;

	pst_stack_stats(r.stack, &ss);
	printf("respond: requests=%" PRIu64 " resp=%" PRIu64 " http=%" PRIu64 " conns=%" PRIu64
	       " refused=%" PRIu64 " bad=%" PRIu64 " overflows=%" PRIu64 " busy_cycles=%" PRIu64
	       " tsc_hz=%" PRIu64 " lwip_asserts=%" PRIu64 " peer_farewells=%" PRIu64 "\n",
	       r.requests_resp + r.requests_http, r.requests_resp, r.requests_http, r.conns,
	       r.refused, r.bad, r.overflows, ss.busy_cycles, rte_get_tsc_hz(), ss.lwip_asserts,
	       ss.peer_farewells);
}

int
lg_respond_run(const struct lg_opts *o, struct pst_stack *stack)
{
	uint64_t deadline;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.stack = stack;
	if (o->resp_port != 0 &&
	    (r.resp = pst_tcp_listen(stack, o->resp_port, on_accept, NULL)) == NULL) {
		fprintf(stderr, "%s: listen on %u: %s\n", LG_PROG, o->resp_port, pst_errormsg());
		goto out;
	}
	/* The accept argument tells the protocols apart: non-NULL is HTTP. */
	if (o->http_port != 0 &&
	    (r.http = pst_tcp_listen(stack, o->http_port, on_accept, &r)) == NULL) {
		fprintf(stderr, "%s: listen on %u: %s\n", LG_PROG, o->http_port, pst_errormsg());
		goto out;
	}
	printf("%s: responding resp=%u http=%u value=%u%s\n", LG_PROG, o->resp_port,
	       o->http_port, o->value_size, o->respond_wrong != LG_WRONG_NONE ? " wrong" : "");
	deadline = o->max_time > 0 ? rte_rdtsc() + (uint64_t)(o->max_time * rte_get_tsc_hz()) :
		   UINT64_MAX;
	while (!ex_force_quit && rte_rdtsc() < deadline)
		if (pst_stack_poll(stack) < 0)
			break;
	print_counts();
	ret = 0;
out:
	if (r.resp != NULL)
		pst_listener_close(r.resp);
	if (r.http != NULL)
		pst_listener_close(r.http);
	return ret;
}
