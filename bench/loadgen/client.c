/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen's client: -c connections, each sending -P requests at once
 * and the next -P only when all their replies are in (redis-benchmark's
 * pipelining), the tests one after another on fresh connections. A GET
 * test first SETs (an HTTP GET first POSTs) every key of the keyspace, so
 * each GET has a value to check.
 *
 * Values carry their key and version (value.c) and every GET's is checked
 * byte for byte. The rule: a GET must see its key's LG_LOAD_VERSION, what
 * the load wrote. A test sends one kind of request, so no SET is in flight
 * while GETs are, and a GET test's load (--no-load: the earlier run's) is
 * the last write of every key before it. SET tests write versions 1, 2...
 * (of the run), which a later GET would report as another version. A test
 * mixing SETs and GETs would pass the checker the key's last acknowledged
 * version and those of its SETs in flight (lg_vcheck_begin() takes several).
 *
 * Everything runs inside pst_stack_poll()'s callbacks but the first batch
 * of each connection, so the stack's busy cycles are the generator's cost.
 * A request's latency runs from the moment its batch was built to the
 * poll that received its reply.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "example_util.h"
#include "loadgen.h"

/* After the last test, poll this long so the FINs are exchanged. */
#define LINGER_MS 100
/* Wrong values described on stderr; the rest only counted. */
#define WRONG_SHOWN 5

/* A request in flight: whose reply is next. */
struct slot {
	uint64_t key;
	uint32_t version;
};

struct lg_conn {
	struct pst_conn *pc;
	unsigned int idx;
	int connected;
	uint32_t outstanding;           /* requests of the batch not answered */
	uint32_t head;                  /* the first of them in slots */
	struct slot *slots;             /* the batch's requests, in order */
	uint64_t batch_tsc;             /* when the batch was built */
	uint8_t *tx;                    /* the batch, until queued */
	size_t tx_len, tx_off, tx_cap;
	struct lg_parser parser;
};

/* One pass of requests over the connections: a test, or its preload. */
struct phase {
	struct lg_request req;
	struct lg_expect expect;
	int sequential;                 /* keys 0, 1, 2... (the preload) */
	int versioned;                  /* SETs of versions 1, 2... (else the load's) */
	uint64_t next_key;
	uint64_t budget;                /* requests to issue */
	uint64_t stop_tsc;              /* issue none after this (UINT64_MAX) */
	uint64_t issued, replies, errors, checked, wrong_values;
	uint64_t first_tsc, last_tsc;
	struct lg_hist *hist;           /* NULL: not measured */
	char first_error[LG_WHY_MAX];
};

static struct {
	struct lg_run *run;
	const struct lg_opts *o;
	struct lg_conn *conns;
	unsigned int n_conns, n_connected;
	struct phase *ph;
	uint64_t hz, deadline_tsc, last_reply_tsc, now_tsc;
	double ns_per_cycle;
	uint64_t rnd;
	uint32_t version;               /* the last a SET test wrote */
	uint64_t wrong_shown;
	uint16_t port;
} g;

static void
fatal(const char *fmt, ...)
{
	va_list ap;

	if (g.run->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(g.run->reason, sizeof(g.run->reason), fmt, ap);
	va_end(ap);
	g.run->failed = 1;
}

static uint64_t
next_random(void)
{
	/* xorshift64*: cheap, and the same keys for the same --seed. */
	g.rnd ^= g.rnd >> 12;
	g.rnd ^= g.rnd << 25;
	g.rnd ^= g.rnd >> 27;
	return g.rnd * 0x2545F4914F6CDD1DULL;
}

/* The next reply's value check, when there is a next reply and a value. */
static void
arm(struct lg_conn *c)
{
	const struct phase *ph = g.ph;
	const struct slot *s = &c->slots[c->head];

	if (c->outstanding == 0 || !ph->expect.check)
		return;
	lg_vcheck_begin(&c->parser.vc, s->key, &s->version, 1, ph->expect.value_size);
}

static int
may_issue(const struct phase *ph)
{
	return ph->issued < ph->budget && rte_rdtsc() < ph->stop_tsc && !g.run->failed;
}

static void
flush(struct lg_conn *c)
{
	long r;

	while (c->tx_off < c->tx_len && c->pc != NULL) {
		r = pst_conn_send(c->pc, c->tx + c->tx_off, c->tx_len - c->tx_off);
		if (r == -EAGAIN || r == 0)
			return;         /* the sent callback resumes */
		if (r < 0) {
			fatal("connection %u: send: %s", c->idx, pst_strerror((int)r));
			return;
		}
		c->tx_off += (size_t)r;
	}
	c->tx_off = c->tx_len = 0;
}

/* The next -P requests (fewer at the end of the budget). */
static void
issue_batch(struct lg_conn *c)
{
	struct phase *ph = g.ph;
	uint64_t n = ph->budget - ph->issued, key, i;

	if (n > g.o->pipeline)
		n = g.o->pipeline;
	for (i = 0; i < n; i++) {
		key = ph->sequential ? ph->next_key++ : next_random() % g.o->keyspace;
		c->slots[i].key = key;
		c->slots[i].version = ph->versioned ? ++g.version : LG_LOAD_VERSION;
		lg_request_put(&ph->req, key, c->slots[i].version, c->tx + c->tx_len);
		c->tx_len += ph->req.len;
	}
	ph->issued += n;
	c->outstanding = (uint32_t)n;
	c->head = 0;
	arm(c);
	c->batch_tsc = rte_rdtsc();
	if (ph->first_tsc == 0)
		ph->first_tsc = c->batch_tsc;
	flush(c);
}

static void
on_reply(void *arg, enum lg_reply how, const char *why)
{
	struct lg_conn *c = arg;
	struct phase *ph = g.ph;

	if (c->outstanding == 0) {
		fatal("connection %u: a reply to no request", c->idx);
		return;
	}
	c->outstanding--;
	c->head++;
	arm(c);
	ph->replies++;
	if (how == LG_REPLY_OK && ph->expect.check)
		ph->checked++;
	if (how == LG_REPLY_WRONG_VALUE) {
		ph->wrong_values++;
		if (g.wrong_shown++ < WRONG_SHOWN)
			fprintf(stderr, "%s: wrong value: %s\n", LG_PROG, why);
	}
	ph->last_tsc = g.now_tsc;
	if (ph->hist != NULL)
		lg_hist_add(ph->hist, (uint64_t)((double)(g.now_tsc - c->batch_tsc) *
						 g.ns_per_cycle));
	if (how != LG_REPLY_OK && ph->errors++ == 0)
		snprintf(ph->first_error, sizeof(ph->first_error), "%s", why);
}

static void
conn_recv(void *arg, struct pst_conn *pc, const struct pst_segment *segs, unsigned int n)
{
	struct lg_conn *c = arg;
	unsigned int i;

	(void)pc;
	if (n == 0) {
		fatal("connection %u: closed by the server with %u replies outstanding",
		      c->idx, c->outstanding);
		return;
	}
	if (g.ph == NULL) {
		fatal("connection %u: bytes from the server while no test runs", c->idx);
		return;
	}
	g.now_tsc = g.last_reply_tsc = rte_rdtsc();
	for (i = 0; i < n && !g.run->failed; i++)
		if (lg_parser_feed(&c->parser, &g.ph->expect, segs[i].data, segs[i].len,
				   on_reply, c) != 0)
			fatal("connection %u: unparseable reply: %s", c->idx, c->parser.why);
	if (c->outstanding == 0 && may_issue(g.ph))
		issue_batch(c);
}

static void
conn_sent(void *arg, struct pst_conn *pc, size_t len)
{
	(void)pc;
	(void)len;
	flush(arg);
}

static void
conn_closed(void *arg, struct pst_conn *pc, int err)
{
	struct lg_conn *c = arg;

	(void)pc;
	c->pc = NULL;
	fatal("connection %u: %s (%u replies outstanding)", c->idx,
	      err == -ECONNRESET ? "reset by the server" : pst_strerror(err), c->outstanding);
}

static void
conn_connected(void *arg, struct pst_conn *pc, int err)
{
	struct lg_conn *c = arg;
	char ip[16];

	(void)pc;
	if (err != 0) {
		c->pc = NULL;
		fatal("connect to %s:%u: %s", lg_ip_str(g.o->server, ip), g.port,
		      err == -ECONNRESET ? "connection refused" : pst_strerror(err));
		return;
	}
	c->connected = 1;
	g.n_connected++;
}

static const struct pst_conn_callbacks conn_cb = {
	.recv = conn_recv,
	.sent = conn_sent,
	.closed = conn_closed,
};
static const struct pst_conn_callbacks no_cb;

/* Poll until @cond holds, the run fails, or a limit passes. */
static void
poll_until(int (*cond)(void), const char *what)
{
	uint64_t now, idle_limit = (uint64_t)(g.o->reply_timeout * (double)g.hz);
	int ret;

	g.last_reply_tsc = rte_rdtsc();
	while (!cond() && !g.run->failed) {
		ret = pst_stack_poll(g.run->stack);
		if (ret < 0) {
			fatal("the stack's poll failed: %s", pst_strerror(ret));
			return;
		}
		now = rte_rdtsc();
		if (ex_force_quit)
			fatal("interrupted while %s", what);
		else if (now >= g.deadline_tsc)
			fatal("--max-time %.1f s passed while %s", g.o->max_time, what);
		else if (now - g.last_reply_tsc > idle_limit)
			fatal("no reply for %.1f s while %s", g.o->reply_timeout, what);
	}
}

static int
all_connected(void)
{
	return g.n_connected == g.n_conns;
}

static int
phase_over(void)
{
	unsigned int i;

	if (may_issue(g.ph))
		return 0;
	for (i = 0; i < g.n_conns; i++)
		if (g.conns[i].outstanding > 0)
			return 0;
	return 1;
}

static int
open_conns(uint16_t port, size_t tx_cap)
{
	struct lg_conn *c;
	unsigned int i;
	char ip[16];

	g.port = port;
	g.n_connected = 0;
	for (i = 0; i < g.n_conns; i++) {
		c = &g.conns[i];
		memset(c, 0, sizeof(*c));
		c->idx = i;
		c->tx_cap = tx_cap;
		c->tx = malloc(tx_cap);
		c->slots = malloc(g.o->pipeline * sizeof(*c->slots));
		if (c->tx == NULL || c->slots == NULL) {
			fatal("out of memory for %u connections' requests", g.n_conns);
			return -1;
		}
		c->pc = pst_tcp_connect(g.run->stack, g.o->server, port, conn_connected, c);
		if (c->pc == NULL) {
			fatal("connect to %s:%u: %s (%s)", lg_ip_str(g.o->server, ip), port,
			      pst_errormsg(),
			      pst_strerror(pst_errno));
			return -1;
		}
		pst_conn_set_callbacks(c->pc, &conn_cb, c);
	}
	poll_until(all_connected, "connecting");
	return g.run->failed ? -1 : 0;
}

static void
close_conns(void)
{
	unsigned int i;

	for (i = 0; i < g.n_conns; i++) {
		struct lg_conn *c = &g.conns[i];

		if (c->pc != NULL) {
			pst_conn_set_callbacks(c->pc, &no_cb, NULL);
			if (g.run->failed || pst_conn_close(c->pc) != 0)
				pst_conn_abort(c->pc);
			c->pc = NULL;
		}
		free(c->tx);
		c->tx = NULL;
		free(c->slots);
		c->slots = NULL;
	}
}

/* Send a phase's requests and wait for every reply. */
static void
run_phase(struct phase *ph, const char *what)
{
	unsigned int i;

	g.ph = ph;
	for (i = 0; i < g.n_conns; i++) {
		lg_parser_reset(&g.conns[i].parser);
		g.conns[i].parser.vc.armed = 0;
	}
	for (i = 0; i < g.n_conns && may_issue(ph); i++)
		issue_batch(&g.conns[i]);
	poll_until(phase_over, what);
	g.ph = NULL;
}

static int
phase_init(struct phase *ph, enum lg_op op, uint64_t budget, double duration)
{
	memset(ph, 0, sizeof(*ph));
	if (lg_request_init(&ph->req, op, g.o->value_size) != 0) {
		fatal("out of memory");
		return -1;
	}
	ph->expect.http = lg_op_is_http(op);
	ph->expect.value = op == LG_OP_GET || op == LG_OP_HGET;
	ph->expect.value_size = g.o->value_size;
	ph->expect.check = ph->expect.value;
	ph->versioned = op == LG_OP_SET || op == LG_OP_POST;
	ph->budget = budget;
	ph->stop_tsc = duration > 0 ? rte_rdtsc() + (uint64_t)(duration * (double)g.hz) :
		       UINT64_MAX;
	return 0;
}

static void
run_test(struct lg_result *res)
{
	enum lg_op op = res->op, load_op = op == LG_OP_HGET ? LG_OP_POST : LG_OP_SET;
	int http = lg_op_is_http(op);
	int preload = (op == LG_OP_GET || op == LG_OP_HGET) && !g.o->no_load;
	struct pst_stack_stats s0, s1;
	struct lg_request sizing;
	struct phase ph;
	size_t req_len;
	char what[64];

	/* Room for a batch of the longer of the two requests. */
	if (lg_request_init(&sizing, load_op, g.o->value_size) != 0) {
		fatal("out of memory");
		return;
	}
	req_len = sizing.len;
	lg_request_fini(&sizing);
	if (lg_request_init(&sizing, op, g.o->value_size) != 0) {
		fatal("out of memory");
		return;
	}
	if (sizing.len > req_len)
		req_len = sizing.len;
	lg_request_fini(&sizing);
	if (open_conns(http ? g.o->http_port : g.o->resp_port,
		       req_len * g.o->pipeline) != 0)
		goto out;
	if (preload) {
		if (phase_init(&ph, load_op, g.o->keyspace, 0) != 0)
			goto out;
		ph.sequential = 1;
		ph.versioned = 0;       /* the load's version: what GETs expect */
		snprintf(what, sizeof(what), "loading %" PRIu64 " keys for %s", g.o->keyspace,
			 lg_op_name(op));
		run_phase(&ph, what);
		res->preload = ph.replies;
		res->errors += ph.errors;
		if (ph.errors > 0)
			snprintf(res->first_error, sizeof(res->first_error), "loading keys: %s",
				 ph.first_error);
		lg_request_fini(&ph.req);
	}
	if (g.run->failed)
		goto out;
	if (phase_init(&ph, op, g.o->requests > 0 ? g.o->requests : UINT64_MAX,
		       g.o->duration) != 0)
		goto out;
	ph.hist = &res->hist;
	snprintf(what, sizeof(what), "running %s", lg_op_name(op));
	pst_stack_stats(g.run->stack, &s0);
	run_phase(&ph, what);
	pst_stack_stats(g.run->stack, &s1);
	res->requests = ph.issued;
	res->replies = ph.replies;
	res->errors += ph.errors;
	res->values_checked = ph.checked;
	res->wrong_values = ph.wrong_values;
	if (ph.errors > 0 && res->first_error[0] == '\0')
		snprintf(res->first_error, sizeof(res->first_error), "%s", ph.first_error);
	res->seconds = ph.last_tsc > ph.first_tsc ?
		(double)(ph.last_tsc - ph.first_tsc) / (double)g.hz : 0;
	res->client_busy_cycles = s1.busy_cycles - s0.busy_cycles;
	lg_request_fini(&ph.req);
out:
	close_conns();
}

int
lg_client_run(struct lg_run *run)
{
	uint64_t linger;
	unsigned int t;

	memset(&g, 0, sizeof(g));
	g.run = run;
	g.o = run->opt;
	g.hz = rte_get_tsc_hz();
	/* In double: seconds of cycles times 10^9 overflow 64 bits. */
	g.ns_per_cycle = 1e9 / (double)g.hz;
	g.deadline_tsc = rte_rdtsc() + (uint64_t)(g.o->max_time * (double)g.hz);
	g.rnd = g.o->seed != 0 ? g.o->seed : 0x9E3779B97F4A7C15ULL;
	g.n_conns = g.o->conns;
	g.conns = calloc(g.n_conns, sizeof(*g.conns));
	if (g.conns == NULL) {
		fatal("out of memory");
		return -1;
	}
	for (t = 0; t < g.o->n_tests && !run->failed; t++) {
		run->results[t].op = g.o->tests[t];
		run->n_results = t + 1;
		run_test(&run->results[t]);
	}
	/* Let the FIN exchanges finish before the stack goes. */
	linger = rte_rdtsc() + g.hz / 1000 * LINGER_MS;
	while (rte_rdtsc() < linger)
		pst_stack_poll(run->stack);
	free(g.conns);
	for (t = 0; t < run->n_results; t++)
		if (run->results[t].errors > 0)
			return -1;
	return run->failed ? -1 : 0;
}
