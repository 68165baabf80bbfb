/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stack forwarding engines: icmpecho, tcp-echo, tcp-sink and tcp-client on
 * paste's TCP/IP stack (pst_stack_*, pst_tcp_*, pst_conn_*).
 *
 * tcp-sink is the zero-copy proof: every received segment must point into
 * the pool's buffer area and carry a durable name; it is flushed there (made
 * durable by the drain that ends the poll) and optionally kept, all without
 * copying a byte. Its "closed" line counts the segments that broke the rule.
 *
 * Every callback runs inside pst_stack_poll(). Work that must not run inside
 * a callback (aborting a connection, closing once a backlog is sent) is
 * deferred to the service step after the poll.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <openssl/evp.h>

#include <rte_common.h>
#include <rte_cycles.h>

#include "example_util.h"
#include "paste.h"
#include "testpmd.h"

/* tcp-echo: bytes waiting to be echoed per connection, at most. */
#define ECHO_FIFO_MAX (64u << 20)
#define ECHO_FIFO_MIN (64u << 10)

/* tcp-client: bytes generated at a time. */
#define CLIENT_CHUNK (64u << 10)
/* tcp-client: after everything is acknowledged, wait this long without
 * receiving before closing, so an echo server's last bytes are not refused
 * (lwIP resets a connection that receives data after its close). */
#define CLIENT_QUIET_MS 200
/* tcp-client: after the close, poll until the FIN exchange is over: this
 * long without traffic, at most CLIENT_LINGER_MAX_MS. */
#define CLIENT_LINGER_IDLE_MS 100
#define CLIENT_LINGER_MAX_MS 1000

/* Connections remembered for the JSON report. */
#define MAX_RECORDS 1024

struct conn_record {
	unsigned int seq;
	uint32_t ip;
	uint16_t port;
	int err;
	uint64_t bytes, persisted, outside, kept;
	char sha[65];
};

static struct tp_ctx *g_ctx;
static struct pst_listener *listener;
static unsigned int conn_seq;

static struct {
	uint64_t conns, bytes, persisted, outside, kept, keep_failed;
	unsigned int n;
	struct conn_record rec[MAX_RECORDS];
} closed;

static const struct pst_conn_callbacks no_callbacks;

static uint64_t
ms_to_tsc(unsigned int ms)
{
	return rte_get_tsc_hz() / 1000 * ms;
}

static EVP_MD_CTX *
sha_new(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		md = NULL;
	}
	return md;
}

/* Finish a digest into 64 hex digits. */
static void
sha_hex(EVP_MD_CTX *md, char hex[65])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int i, len = 0;

	if (EVP_DigestFinal_ex(md, d, &len) != 1)
		len = 0;
	for (i = 0; i < len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	hex[2 * i] = '\0';
}

static void
record(unsigned int seq, uint32_t ip, uint16_t port, int err, uint64_t bytes,
       uint64_t persisted, uint64_t outside, uint64_t kept, const char *sha)
{
	struct conn_record *r;

	closed.conns++;
	closed.bytes += bytes;
	closed.persisted += persisted;
	closed.outside += outside;
	closed.kept += kept;
	if (closed.n == MAX_RECORDS)
		return;
	r = &closed.rec[closed.n++];
	r->seq = seq;
	r->ip = ip;
	r->port = port;
	r->err = err;
	r->bytes = bytes;
	r->persisted = persisted;
	r->outside = outside;
	r->kept = kept;
	snprintf(r->sha, sizeof(r->sha), "%s", sha != NULL ? sha : "");
}

static void
json_records(FILE *f, int with_sha)
{
	char ips[16];
	unsigned int i;

	fprintf(f, "\"connections\": %" PRIu64 ", \"bytes\": %" PRIu64, closed.conns,
		closed.bytes);
	if (with_sha)
		fprintf(f, ", \"persisted\": %" PRIu64 ", \"outside_pool\": %" PRIu64
			", \"kept\": %" PRIu64 ", \"keep_failed\": %" PRIu64,
			closed.persisted, closed.outside, closed.kept, closed.keep_failed);
	fprintf(f, ", \"closed\": [");
	for (i = 0; i < closed.n; i++) {
		const struct conn_record *r = &closed.rec[i];

		fprintf(f, "%s\n    {\"seq\": %u, \"peer\": \"%s:%u\", \"err\": %d, \"bytes\": %"
			PRIu64, i == 0 ? "" : ",", r->seq, tp_ip_str(r->ip, ips), r->port,
			r->err, r->bytes);
		if (with_sha)
			fprintf(f, ", \"sha256\": \"%s\", \"persisted\": %" PRIu64
				", \"outside_pool\": %" PRIu64 ", \"kept\": %" PRIu64,
				r->sha, r->persisted, r->outside, r->kept);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

/* ------------------------------------------------------------------ */
/* The stack itself (every stack mode; icmpecho needs nothing more).   */

static int
stack_setup(struct tp_ctx *ctx)
{
	const struct tp_opts *o = ctx->opt;
	struct pst_stack_config cfg;
	char ips[16];
	int ret;

	g_ctx = ctx;
	memset(&cfg, 0, sizeof(cfg));
	cfg.port_id = ctx->port;
	cfg.queue_id = 0;
	cfg.ipv4_addr = o->ip;
	cfg.ipv4_netmask = o->netmask;
	cfg.ipv4_gateway = o->gateway;
	cfg.pool = ctx->pool;
	cfg.n_mbufs = o->nb_mbufs;
	cfg.rx_desc = o->rxd;
	cfg.tx_desc = o->txd;
	cfg.busy_poll = o->busy_poll;
	cfg.faults = o->faults;
	if (o->farewell_key_len > 0) {
		cfg.farewell_key = o->farewell_key;
		cfg.farewell_key_len = o->farewell_key_len;
	}
	ctx->stack = pst_stack_create(&cfg);
	if (ctx->stack == NULL) {
		fprintf(stderr, "%s: stack on port %u: %s (%s)\n", TP_PROG, ctx->port,
			pst_errormsg(), pst_strerror(pst_errno));
		return -1;
	}
	ret = pst_stack_mac(ctx->stack, ctx->mac.addr_bytes);
	if (ret != 0) {
		fprintf(stderr, "%s: stack MAC: %s\n", TP_PROG, pst_strerror(ret));
		return -1;
	}
	if (o->has_peer_ip) {
		ret = pst_stack_add_arp(ctx->stack, o->peer_ip, o->peer_mac.addr_bytes);
		if (ret != 0) {
			fprintf(stderr, "%s: static ARP entry for %s: %s\n", TP_PROG,
				tp_ip_str(o->peer_ip, ips), pst_strerror(ret));
			return -1;
		}
	}
	return 0;
}

static int
stack_poll(struct tp_ctx *ctx)
{
	return pst_stack_poll(ctx->stack);
}

static void
stack_teardown(struct tp_ctx *ctx)
{
	if (listener != NULL) {
		pst_listener_close(listener);
		listener = NULL;
	}
	/* Aborts the connections still open and stops the port. */
	pst_stack_close(ctx->stack);
	ctx->stack = NULL;
}

static int
listen_on(struct tp_ctx *ctx, pst_accept_fn accept)
{
	listener = pst_tcp_listen(ctx->stack, ctx->opt->tcp_port, accept, ctx);
	if (listener == NULL) {
		fprintf(stderr, "%s: listen on TCP port %u: %s (%s)\n", TP_PROG,
			ctx->opt->tcp_port, pst_errormsg(), pst_strerror(pst_errno));
		return -1;
	}
	return 0;
}

static void
peer_of(struct pst_conn *conn, uint32_t *ip, uint16_t *port)
{
	if (pst_conn_peer(conn, ip, port) != 0) {
		*ip = 0;
		*port = 0;
	}
}

/* ------------------------------------------------------------------ */
/* tcp-sink                                                           */

struct sink_conn {
	TAILQ_ENTRY(sink_conn) next;
	struct pst_conn *conn;
	unsigned int seq;
	uint32_t ip;
	uint16_t port;
	uint64_t bytes, persisted, outside, keep_failed;
	EVP_MD_CTX *sha;
	pst_name *kept;         /* --keep: released when the connection ends */
	size_t n_kept, cap_kept;
};

static TAILQ_HEAD(, sink_conn) sink_conns = TAILQ_HEAD_INITIALIZER(sink_conns);

/* The buffers were storage only for the connection's lifetime. A release
 * is durable at the next drain, which the stack issues every poll. */
static void
sink_release(struct sink_conn *sc)
{
	struct pst_pool *pool = pst_stack_pool(g_ctx->stack);
	size_t i;
	int ret;

	for (i = 0; i < sc->n_kept; i++) {
		ret = pst_pool_release(pool, pst_name_index(sc->kept[i]));
		if (ret != 0)
			fprintf(stderr, "tcp-sink: conn %u: release: %s\n", sc->seq,
				pst_errormsg());
	}
	free(sc->kept);
	sc->kept = NULL;
	sc->n_kept = sc->cap_kept = 0;
}

static void
sink_free(struct sink_conn *sc)
{
	TAILQ_REMOVE(&sink_conns, sc, next);
	sink_release(sc);
	EVP_MD_CTX_free(sc->sha);
	free(sc);
}

/* The connection ended (FIN, or reset when err < 0): report it. */
static void
sink_finish(struct sink_conn *sc, int err)
{
	char hex[65], ips[16];

	sha_hex(sc->sha, hex);
	if (err != 0)
		fprintf(stderr, "tcp-sink: conn %u: %s\n", sc->seq, pst_strerror(err));
	if (sc->keep_failed != 0)
		fprintf(stderr, "tcp-sink: conn %u: %" PRIu64 " segments could not be kept\n",
			sc->seq, sc->keep_failed);
	printf("tcp-sink: conn %u from %s:%u closed bytes=%" PRIu64 " sha256=%s persisted=%"
	       PRIu64 " outside_pool=%" PRIu64 "\n", sc->seq, tp_ip_str(sc->ip, ips),
	       sc->port, sc->bytes, hex, sc->persisted, sc->outside);
	closed.keep_failed += sc->keep_failed;
	record(sc->seq, sc->ip, sc->port, err, sc->bytes, sc->persisted, sc->outside,
	       sc->n_kept, hex);
	sink_free(sc);
}

static void
sink_keep(struct sink_conn *sc, const struct pst_segment *seg)
{
	pst_name name;
	pst_name *grown;
	size_t cap;

	if (sc->n_kept == sc->cap_kept) {
		cap = sc->cap_kept == 0 ? 1024 : sc->cap_kept * 2;
		grown = realloc(sc->kept, cap * sizeof(*grown));
		if (grown == NULL) {
			sc->keep_failed++;
			return;
		}
		sc->kept = grown;
		sc->cap_kept = cap;
	}
	if (pst_conn_keep(sc->conn, seg, &name) != 0) {
		sc->keep_failed++;
		return;
	}
	sc->kept[sc->n_kept++] = name;
}

static void
sink_recv(void *arg, struct pst_conn *conn, const struct pst_segment *segs,
	  unsigned int n)
{
	struct sink_conn *sc = arg;
	const struct tp_opts *o = g_ctx->opt;
	unsigned int i;

	if (n == 0) {
		sink_finish(sc, 0);
		if (pst_conn_close(conn) != 0)
			pst_conn_abort(conn);
		return;
	}
	for (i = 0; i < n; i++) {
		const struct pst_segment *s = &segs[i];

		sc->bytes += s->len;
		EVP_DigestUpdate(sc->sha, s->data, s->len);
		/* The zero-copy proof: bytes lwIP copied out of the pool, or
		 * that no name designates, were not received in place. */
		if (!tp_in_pool(g_ctx, s->data, s->len) || s->name == PST_NAME_INVALID)
			sc->outside++;
		/* Flushed now, durable at the drain that ends this poll, before
		 * the ACK of these bytes leaves. */
		if (o->sink_persist && pst_flush(g_ctx->stack, s->data, s->len) == 0)
			sc->persisted += s->len;
		if (o->sink_keep)
			sink_keep(sc, s);
	}
}

static void
sink_closed(void *arg, struct pst_conn *conn, int err)
{
	(void)conn;
	sink_finish(arg, err);
}

static void
sink_accept(void *arg, struct pst_conn *conn)
{
	static const struct pst_conn_callbacks cb = {
		.recv = sink_recv,
		.closed = sink_closed,
	};
	struct sink_conn *sc;

	(void)arg;
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL || (sc->sha = sha_new()) == NULL)
		goto fail;
	sc->conn = conn;
	sc->seq = ++conn_seq;
	peer_of(conn, &sc->ip, &sc->port);
	if (pst_conn_set_callbacks(conn, &cb, sc) != 0)
		goto fail;
	TAILQ_INSERT_TAIL(&sink_conns, sc, next);
	return;
fail:
	fprintf(stderr, "tcp-sink: cannot take a connection: %s\n",
		sc == NULL || sc->sha == NULL ? "out of memory" : "callbacks refused");
	if (sc != NULL)
		EVP_MD_CTX_free(sc->sha);
	free(sc);
	pst_conn_abort(conn);
}

static int
sink_setup(struct tp_ctx *ctx)
{
	if (stack_setup(ctx) != 0)
		return -1;
	return listen_on(ctx, sink_accept);
}

static void
sink_teardown(struct tp_ctx *ctx)
{
	struct sink_conn *sc;

	/* Connections still open are aborted by the stack; they never
	 * finished, so they are not reported, but their buffers go back. */
	while ((sc = TAILQ_FIRST(&sink_conns)) != NULL) {
		pst_conn_set_callbacks(sc->conn, &no_callbacks, NULL);
		sink_free(sc);
	}
	if (ctx->stack != NULL)
		stack_teardown(ctx);
}

static void
sink_json(const struct tp_ctx *ctx, FILE *f)
{
	(void)ctx;
	fprintf(f, ",\n  \"tcp_sink\": {");
	json_records(f, 1);
	fprintf(f, "}");
}

/* ------------------------------------------------------------------ */
/* tcp-echo                                                           */

/* Bytes received but not yet accepted by pst_conn_send(), in a ring. */
struct fifo {
	uint8_t *buf;
	size_t cap, head, len;
};

struct echo_conn {
	TAILQ_ENTRY(echo_conn) next;
	TAILQ_ENTRY(echo_conn) backlog_next;
	int on_backlog;
	struct pst_conn *conn;
	unsigned int seq;
	uint32_t ip;
	uint16_t port;
	uint64_t bytes, echoed;
	int fin;                /* the peer closed: close once the FIFO is sent */
	int overflow;           /* the FIFO would exceed ECHO_FIFO_MAX: abort */
	struct fifo q;
};

static TAILQ_HEAD(, echo_conn) echo_conns = TAILQ_HEAD_INITIALIZER(echo_conns);
/* Connections with bytes to echo or a close to do. */
static TAILQ_HEAD(, echo_conn) echo_backlog = TAILQ_HEAD_INITIALIZER(echo_backlog);

static int
fifo_push(struct fifo *q, const uint8_t *data, size_t n)
{
	size_t need = q->len + n, cap, first, tail;
	uint8_t *buf;

	if (need > ECHO_FIFO_MAX)
		return -ENOBUFS;
	if (need > q->cap) {
		cap = q->cap < ECHO_FIFO_MIN ? ECHO_FIFO_MIN : q->cap;
		while (cap < need)
			cap *= 2;
		if (cap > ECHO_FIFO_MAX)
			cap = ECHO_FIFO_MAX;
		buf = malloc(cap);
		if (buf == NULL)
			return -ENOMEM;
		first = RTE_MIN(q->len, q->cap - q->head);
		if (q->len > 0) {
			memcpy(buf, q->buf + q->head, first);
			memcpy(buf + first, q->buf, q->len - first);
		}
		free(q->buf);
		q->buf = buf;
		q->cap = cap;
		q->head = 0;
	}
	tail = (q->head + q->len) % q->cap;
	first = RTE_MIN(n, q->cap - tail);
	memcpy(q->buf + tail, data, first);
	memcpy(q->buf, data + first, n - first);
	q->len += n;
	return 0;
}

/* Hand the FIFO to the stack as far as its send buffer goes. */
static void
echo_drain(struct echo_conn *ec)
{
	struct fifo *q = &ec->q;
	size_t chunk;
	long r;

	while (q->len > 0) {
		chunk = RTE_MIN(q->len, q->cap - q->head);
		r = pst_conn_send(ec->conn, q->buf + q->head, chunk);
		if (r <= 0)
			break;  /* -EAGAIN: the sent callback or the next poll resumes */
		q->head = (q->head + (size_t)r) % q->cap;
		q->len -= (size_t)r;
		ec->echoed += (uint64_t)r;
	}
}

static void
echo_to_backlog(struct echo_conn *ec)
{
	if (!ec->on_backlog) {
		TAILQ_INSERT_TAIL(&echo_backlog, ec, backlog_next);
		ec->on_backlog = 1;
	}
}

static void
echo_free(struct echo_conn *ec)
{
	if (ec->on_backlog)
		TAILQ_REMOVE(&echo_backlog, ec, backlog_next);
	TAILQ_REMOVE(&echo_conns, ec, next);
	free(ec->q.buf);
	free(ec);
}

static void
echo_finish(struct echo_conn *ec, int err)
{
	if (err != 0)
		fprintf(stderr, "tcp-echo: conn %u: %s\n", ec->seq, pst_strerror(err));
	printf("tcp-echo: conn %u closed bytes=%" PRIu64 "\n", ec->seq, ec->bytes);
	record(ec->seq, ec->ip, ec->port, err, ec->bytes, 0, 0, 0, NULL);
	echo_free(ec);
}

static void
echo_recv(void *arg, struct pst_conn *conn, const struct pst_segment *segs,
	  unsigned int n)
{
	struct echo_conn *ec = arg;
	unsigned int i;
	size_t off;
	long r;

	if (n == 0) {
		ec->fin = 1;
		echo_drain(ec);
		if (ec->q.len == 0 && !ec->overflow) {
			echo_finish(ec, 0);
			if (pst_conn_close(conn) != 0)
				pst_conn_abort(conn);
		} else {
			echo_to_backlog(ec);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		const struct pst_segment *s = &segs[i];

		ec->bytes += s->len;
		if (ec->overflow)
			continue;  /* the connection is being aborted */
		off = 0;
		/* Order matters: only send directly when nothing waits. */
		if (ec->q.len == 0) {
			r = pst_conn_send(conn, s->data, s->len);
			if (r > 0) {
				off = (size_t)r;
				ec->echoed += (uint64_t)r;
			}
		}
		if (off < s->len &&
		    fifo_push(&ec->q, (const uint8_t *)s->data + off, s->len - off) != 0) {
			fprintf(stderr, "tcp-echo: conn %u: more than %u MiB waiting to be "
				"echoed (the peer does not read): aborting\n", ec->seq,
				ECHO_FIFO_MAX >> 20);
			ec->overflow = 1;
		}
	}
	if (ec->q.len > 0 || ec->overflow)
		echo_to_backlog(ec);
}

static void
echo_sent(void *arg, struct pst_conn *conn, size_t len)
{
	struct echo_conn *ec = arg;

	(void)conn;
	(void)len;
	if (!ec->overflow)
		echo_drain(ec);
}

static void
echo_closed(void *arg, struct pst_conn *conn, int err)
{
	(void)conn;
	echo_finish(arg, err);
}

static void
echo_accept(void *arg, struct pst_conn *conn)
{
	static const struct pst_conn_callbacks cb = {
		.recv = echo_recv,
		.sent = echo_sent,
		.closed = echo_closed,
	};
	struct echo_conn *ec;

	(void)arg;
	ec = calloc(1, sizeof(*ec));
	if (ec == NULL)
		goto fail;
	ec->conn = conn;
	ec->seq = ++conn_seq;
	peer_of(conn, &ec->ip, &ec->port);
	if (pst_conn_set_callbacks(conn, &cb, ec) != 0)
		goto fail;
	TAILQ_INSERT_TAIL(&echo_conns, ec, next);
	return;
fail:
	fprintf(stderr, "tcp-echo: cannot take a connection: %s\n",
		ec == NULL ? "out of memory" : "callbacks refused");
	free(ec);
	pst_conn_abort(conn);
}

/* After each poll, outside every callback: push backlogs, close the
 * connections whose peer left once everything is queued, abort overflows. */
static void
echo_service(void)
{
	struct echo_conn *ec, *tmp;
	struct pst_conn *conn;

	for (ec = TAILQ_FIRST(&echo_backlog); ec != NULL; ec = tmp) {
		tmp = TAILQ_NEXT(ec, backlog_next);
		conn = ec->conn;
		if (ec->overflow) {
			pst_conn_set_callbacks(conn, &no_callbacks, NULL);
			echo_finish(ec, -ENOBUFS);
			pst_conn_abort(conn);
			continue;
		}
		echo_drain(ec);
		if (ec->q.len > 0)
			continue;
		if (ec->fin) {
			pst_conn_set_callbacks(conn, &no_callbacks, NULL);
			echo_finish(ec, 0);
			if (pst_conn_close(conn) != 0)
				pst_conn_abort(conn);
			continue;
		}
		TAILQ_REMOVE(&echo_backlog, ec, backlog_next);
		ec->on_backlog = 0;
	}
}

static int
echo_setup(struct tp_ctx *ctx)
{
	if (stack_setup(ctx) != 0)
		return -1;
	return listen_on(ctx, echo_accept);
}

static int
echo_poll(struct tp_ctx *ctx)
{
	int n = pst_stack_poll(ctx->stack);

	if (!TAILQ_EMPTY(&echo_backlog))
		echo_service();
	return n;
}

static void
echo_teardown(struct tp_ctx *ctx)
{
	struct echo_conn *ec;

	while ((ec = TAILQ_FIRST(&echo_conns)) != NULL) {
		pst_conn_set_callbacks(ec->conn, &no_callbacks, NULL);
		echo_free(ec);
	}
	if (ctx->stack != NULL)
		stack_teardown(ctx);
}

static void
echo_json(const struct tp_ctx *ctx, FILE *f)
{
	(void)ctx;
	fprintf(f, ",\n  \"tcp_echo\": {");
	json_records(f, 0);
	fprintf(f, "}");
}

/* ------------------------------------------------------------------ */
/* tcp-client                                                         */

enum client_state {
	CL_CONNECTING,
	CL_SENDING,     /* queueing the pattern */
	CL_ACKWAIT,     /* all queued; waiting for the ACKs and the echo */
	CL_LINGER,      /* closed; letting the FIN exchange finish */
	CL_DONE,
	CL_FAILED,
};

static const char *const client_state_names[] = {
	"connecting", "sending", "ackwait", "linger", "done", "failed",
};

static struct {
	enum client_state state;
	struct pst_conn *conn;
	uint64_t total, queued, acked, received;
	size_t sndbuf0;         /* send buffer when empty: a second ACK gauge */
	int peer_fin;
	uint64_t acked_tsc, last_rx_tsc, linger_tsc, activity_tsc;
	uint64_t start_tsc, connected_tsc, done_tsc;
	EVP_MD_CTX *sha, *rsha;
	char sha_hex[65], rsha_hex[65];
	char reason[160];
	uint64_t chunk_start;
	size_t chunk_len;
	uint8_t chunk[CLIENT_CHUNK];
} cl;

/* Byte i of the stream: the pattern the tests regenerate. */
static void
client_fill(uint64_t start)
{
	uint64_t i, left = cl.total - start;
	size_t k;

	cl.chunk_start = start;
	cl.chunk_len = left < CLIENT_CHUNK ? (size_t)left : CLIENT_CHUNK;
	for (k = 0; k < cl.chunk_len; k++) {
		i = start + k;
		cl.chunk[k] = (uint8_t)((i * 7 + (i >> 12)) & 0xff);
	}
}

static void __rte_format_printf(1, 2)
client_fail(const char *fmt, ...)
{
	va_list ap;

	if (cl.state == CL_DONE || cl.state == CL_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(cl.reason, sizeof(cl.reason), fmt, ap);
	va_end(ap);
	printf("tcp-client: failed: %s\n", cl.reason);
	cl.state = CL_FAILED;
	g_ctx->done = 1;
	g_ctx->status = EXIT_FAILURE;
}

/* Queue as much of the pattern as the send buffer takes. */
static void
client_push(void)
{
	size_t off;
	long r;

	while (cl.state == CL_SENDING && cl.queued < cl.total) {
		if (cl.queued >= cl.chunk_start + cl.chunk_len)
			client_fill(cl.queued);
		off = (size_t)(cl.queued - cl.chunk_start);
		r = pst_conn_send(cl.conn, cl.chunk + off, cl.chunk_len - off);
		if (r == -EAGAIN || r == 0)
			return;  /* resumed by the sent callback or the next poll */
		if (r < 0) {
			client_fail("send: %s", pst_strerror((int)r));
			return;
		}
		/* A short count is not a full buffer (a send takes at most
		 * 64 KiB - 1): go on until -EAGAIN says it is. */
		EVP_DigestUpdate(cl.sha, cl.chunk + off, (size_t)r);
		cl.queued += (uint64_t)r;
	}
	if (cl.state == CL_SENDING && cl.queued == cl.total)
		cl.state = CL_ACKWAIT;
}

static void
client_recv(void *arg, struct pst_conn *conn, const struct pst_segment *segs,
	    unsigned int n)
{
	unsigned int i;

	(void)arg;
	(void)conn;
	if (n == 0) {
		cl.peer_fin = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		cl.received += segs[i].len;
		EVP_DigestUpdate(cl.rsha, segs[i].data, segs[i].len);
	}
	cl.last_rx_tsc = rte_rdtsc();
}

static void
client_sent(void *arg, struct pst_conn *conn, size_t len)
{
	(void)arg;
	(void)conn;
	cl.acked += len;
	client_push();
}

static void
client_closed(void *arg, struct pst_conn *conn, int err)
{
	(void)arg;
	(void)conn;
	cl.conn = NULL;
	client_fail("connection closed by the stack: %s (queued %" PRIu64 ", acked %"
		    PRIu64 " of %" PRIu64 " bytes)", pst_strerror(err), cl.queued,
		    cl.acked, cl.total);
}

static void
client_connected(void *arg, struct pst_conn *conn, int err)
{
	(void)arg;
	if (err != 0) {
		/* The connection failed and is gone. */
		cl.conn = NULL;
		client_fail("connect: %s", pst_strerror(err));
		return;
	}
	cl.conn = conn;
	cl.state = CL_SENDING;
	cl.connected_tsc = rte_rdtsc();
	cl.sndbuf0 = pst_conn_sendbuf(conn);
	client_push();
}

static int
client_setup(struct tp_ctx *ctx)
{
	static const struct pst_conn_callbacks cb = {
		.recv = client_recv,
		.sent = client_sent,
		.closed = client_closed,
	};
	const struct tp_opts *o = ctx->opt;
	char ips[16];

	if (stack_setup(ctx) != 0)
		return -1;
	memset(&cl, 0, sizeof(cl));
	cl.total = o->client_bytes;
	cl.sha = sha_new();
	cl.rsha = sha_new();
	if (cl.sha == NULL || cl.rsha == NULL) {
		fprintf(stderr, "%s: SHA-256: out of memory\n", TP_PROG);
		return -1;
	}
	cl.state = CL_CONNECTING;
	cl.start_tsc = rte_rdtsc();
	cl.conn = pst_tcp_connect(ctx->stack, o->connect_ip, o->connect_port,
				  client_connected, NULL);
	if (cl.conn == NULL) {
		client_fail("connect to %s:%u: %s (%s)", tp_ip_str(o->connect_ip, ips),
			    o->connect_port, pst_errormsg(), pst_strerror(pst_errno));
		return -1;
	}
	/* Before the first poll: no byte can arrive without a callback. */
	if (pst_conn_set_callbacks(cl.conn, &cb, NULL) != 0) {
		client_fail("connect: cannot set callbacks");
		return -1;
	}
	return 0;
}

static int
client_all_acked(void)
{
	if (cl.acked >= cl.total)
		return 1;
	/* A stack that reports ACKs late still frees its send buffer. */
	return cl.sndbuf0 > 0 && cl.conn != NULL && pst_conn_sendbuf(cl.conn) >= cl.sndbuf0;
}

static void
client_done(void)
{
	double secs = (double)(rte_rdtsc() - cl.start_tsc) / (double)rte_get_tsc_hz();

	sha_hex(cl.sha, cl.sha_hex);
	sha_hex(cl.rsha, cl.rsha_hex);
	cl.state = CL_DONE;
	cl.done_tsc = rte_rdtsc();
	if (cl.received > 0)
		printf("tcp-client: done bytes_sent=%" PRIu64 " sha256=%s bytes_received=%"
		       PRIu64 " received_sha256=%s\n", cl.queued, cl.sha_hex, cl.received,
		       cl.rsha_hex);
	else
		printf("tcp-client: done bytes_sent=%" PRIu64 " sha256=%s\n", cl.queued,
		       cl.sha_hex);
	fprintf(stderr, "tcp-client: %" PRIu64 " bytes in %.3f s (%.3f Gb/s)\n", cl.queued,
		secs, secs > 0 ? cl.queued * 8 / secs / 1e9 : 0.0);
	g_ctx->done = 1;
	g_ctx->status = EXIT_SUCCESS;
}

static int
client_poll(struct tp_ctx *ctx)
{
	int n = pst_stack_poll(ctx->stack);
	uint64_t now = rte_rdtsc(), quiet_since;

	switch (cl.state) {
	case CL_SENDING:
		client_push();
		break;
	case CL_ACKWAIT:
		if (!client_all_acked())
			break;
		if (cl.acked_tsc == 0)
			cl.acked_tsc = now;
		quiet_since = RTE_MAX(cl.acked_tsc, cl.last_rx_tsc);
		if (cl.received < cl.total && !cl.peer_fin &&
		    now - quiet_since < ms_to_tsc(CLIENT_QUIET_MS))
			break;
		/* Everything is queued: only now may the close follow. */
		pst_conn_set_callbacks(cl.conn, &no_callbacks, NULL);
		if (pst_conn_close(cl.conn) != 0)
			pst_conn_abort(cl.conn);
		cl.conn = NULL;
		cl.state = CL_LINGER;
		cl.linger_tsc = cl.activity_tsc = now;
		break;
	case CL_LINGER:
		if (n > 0)
			cl.activity_tsc = now;
		if (now - cl.activity_tsc >= ms_to_tsc(CLIENT_LINGER_IDLE_MS) ||
		    now - cl.linger_tsc >= ms_to_tsc(CLIENT_LINGER_MAX_MS))
			client_done();
		break;
	default:
		break;
	}
	return n;
}

static void
client_end(struct tp_ctx *ctx, enum tp_end why)
{
	double secs = (double)(rte_rdtsc() - cl.start_tsc) / (double)rte_get_tsc_hz();

	(void)ctx;
	if (cl.state == CL_DONE || cl.state == CL_FAILED)
		return;
	switch (why) {
	case TP_END_TIME:
		client_fail("timeout after %.1f s while %s (queued %" PRIu64 ", acked %"
			    PRIu64 " of %" PRIu64 " bytes)", secs,
			    client_state_names[cl.state], cl.queued, cl.acked, cl.total);
		break;
	case TP_END_SIGNAL:
		client_fail("interrupted while %s (queued %" PRIu64 " of %" PRIu64 " bytes)",
			    client_state_names[cl.state], cl.queued, cl.total);
		break;
	default:
		client_fail("the stack failed while %s", client_state_names[cl.state]);
		break;
	}
}

static void
client_teardown(struct tp_ctx *ctx)
{
	if (cl.conn != NULL) {
		pst_conn_set_callbacks(cl.conn, &no_callbacks, NULL);
		cl.conn = NULL;
	}
	EVP_MD_CTX_free(cl.sha);
	EVP_MD_CTX_free(cl.rsha);
	cl.sha = cl.rsha = NULL;
	if (ctx->stack != NULL)
		stack_teardown(ctx);
}

static void
client_json(const struct tp_ctx *ctx, FILE *f)
{
	(void)ctx;
	fprintf(f, ",\n  \"tcp_client\": {\"state\": \"%s\", \"bytes_total\": %" PRIu64
		", \"bytes_sent\": %" PRIu64 ", \"bytes_acked\": %" PRIu64
		", \"bytes_received\": %" PRIu64 ", \"sha256\": \"%s\""
		", \"received_sha256\": \"%s\", \"seconds\": %.6f, \"reason\": ",
		client_state_names[cl.state], cl.total, cl.queued, cl.acked, cl.received,
		cl.state == CL_DONE ? cl.sha_hex : "", cl.state == CL_DONE ? cl.rsha_hex : "",
		cl.done_tsc > cl.start_tsc ?
			(double)(cl.done_tsc - cl.start_tsc) / (double)rte_get_tsc_hz() : 0.0);
	ex_json_str(f, cl.reason);
	fprintf(f, "}");
}

/* ------------------------------------------------------------------ */

const struct tp_engine tp_engine_icmpecho = {
	.name = "icmpecho",
	.uses_stack = 1,
	.setup = stack_setup,
	.poll = stack_poll,
	.teardown = stack_teardown,
};

const struct tp_engine tp_engine_tcp_echo = {
	.name = "tcp-echo",
	.uses_stack = 1,
	.setup = echo_setup,
	.poll = echo_poll,
	.json = echo_json,
	.teardown = echo_teardown,
};

const struct tp_engine tp_engine_tcp_sink = {
	.name = "tcp-sink",
	.uses_stack = 1,
	.setup = sink_setup,
	.poll = stack_poll,
	.json = sink_json,
	.teardown = sink_teardown,
};

const struct tp_engine tp_engine_tcp_client = {
	.name = "tcp-client",
	.uses_stack = 1,
	.setup = client_setup,
	.poll = client_poll,
	.end = client_end,
	.json = client_json,
	.teardown = client_teardown,
};
