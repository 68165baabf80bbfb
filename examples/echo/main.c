/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-echo: a TCP echo server that never copies the bytes it echoes.
 *
 * Each received segment is kept where the NIC put it (its pool buffer leaves
 * circulation), sent back by name straight from that buffer, and released;
 * the release takes effect once the peer has acknowledged the bytes.
 *
 * With --udp it echoes UDP datagrams the same way instead (udp_echo.c).
 *
 *   paste-echo [EAL args] -- --ip A.B.C.D [--port P] [--pool-file F]
 *              [--udp [--rcvbuf BUFS] [--hold]]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "example_util.h"
#include "paste.h"
#include "udp_echo.h"

#define QUEUE_MAX 4096 /* names waiting for send buffer space */
#define POOL_BUFS 65536
/* The root slot claimed as this program's; it never holds a value. */
#define ECHO_ROOT_SLOT 0u

struct echo_conn {
	pst_name queue[QUEUE_MAX];
	unsigned int head, len;
	int peer_done;
};

static struct pst_pool *pool;

/* Send queued names in order; stop at the first that does not fit. */
static void
send_queued(struct pst_conn *conn, struct echo_conn *ec)
{
	while (ec->len > 0) {
		pst_name name = ec->queue[ec->head];

		if (pst_conn_send_name(conn, name) == -EAGAIN)
			return; /* the sent callback calls us again */
		/* Sent (or failed for good): the buffer is not ours to keep.
		 * A release of a buffer still in flight waits for its ACK. */
		pst_pool_release(pool, pst_name_index(name));
		ec->head = (ec->head + 1) % QUEUE_MAX;
		ec->len--;
	}
	if (ec->peer_done) {
		pst_conn_close(conn);
		free(ec);
	}
}

static void
on_recv(void *arg, struct pst_conn *conn, const struct pst_segment *segs,
	unsigned int n)
{
	struct echo_conn *ec = arg;
	unsigned int i;
	pst_name name;

	if (n == 0) { /* the peer is done sending */
		ec->peer_done = 1;
		send_queued(conn, ec);
		return;
	}
	for (i = 0; i < n; i++) {
		if (ec->len < QUEUE_MAX && pst_conn_keep(conn, &segs[i], &name) == 0) {
			ec->queue[(ec->head + ec->len++) % QUEUE_MAX] = name;
			continue;
		}
		/* Not in a pool buffer, or too much queued: this one is copied. */
		send_queued(conn, ec);
		if (pst_conn_send(conn, segs[i].data, segs[i].len) != (long)segs[i].len) {
			fprintf(stderr, "paste-echo: send buffer full, resetting\n");
			pst_conn_abort(conn);
			free(ec);
			return;
		}
	}
	send_queued(conn, ec);
}

static void
on_sent(void *arg, struct pst_conn *conn, size_t len)
{
	(void)len;
	send_queued(conn, arg);
}

static void
on_closed(void *arg, struct pst_conn *conn, int err)
{
	struct echo_conn *ec = arg;

	(void)conn;
	fprintf(stderr, "paste-echo: connection lost: %s\n", pst_strerror(err));
	while (ec->len > 0) {
		pst_pool_release(pool, pst_name_index(ec->queue[ec->head]));
		ec->head = (ec->head + 1) % QUEUE_MAX;
		ec->len--;
	}
	free(ec);
}

static void
on_accept(void *arg, struct pst_conn *conn)
{
	const struct pst_conn_callbacks cb = {
		.recv = on_recv, .sent = on_sent, .closed = on_closed,
	};
	struct echo_conn *ec = calloc(1, sizeof(*ec));

	(void)arg;
	if (ec == NULL) {
		pst_conn_abort(conn);
		return;
	}
	pst_conn_set_callbacks(conn, &cb, ec);
}

struct echo_opts {
	uint32_t ip;               /* host order; 0: not given */
	uint16_t port;
	const char *pool_file;
	int udp, hold;
	uint32_t rcvbuf;           /* 0: the default budget */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: paste-echo [EAL] -- --ip A.B.C.D [--port P] [--pool-file F]\n"
		"                  [--udp [--rcvbuf BUFS] [--hold]]\n");
}

/* @return 0, or -1 on a bad command line (reported). */
static int
parse_args(int argc, char **argv, struct echo_opts *o)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "pool-file", required_argument, NULL, 'f' },
		{ "udp", no_argument, NULL, 'u' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ "hold", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t port;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'i' && ex_parse_ipv4(optarg, &o->ip) == 0)
			continue;
		if (c == 'p' && ex_parse_u64(optarg, 1, 65535, &port) == 0) {
			o->port = (uint16_t)port;
			continue;
		}
		if (c == 'f') {
			o->pool_file = optarg;
			continue;
		}
		if (c == 'u' || c == 'h') {
			*(c == 'u' ? &o->udp : &o->hold) = 1;
			continue;
		}
		if (c == 'r' && ex_parse_u32(optarg, 1, UINT32_MAX, &o->rcvbuf) == 0)
			continue;
		usage(stderr);
		return -1;
	}
	if (o->ip == 0) {
		fprintf(stderr, "paste-echo: --ip is required\n");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct echo_opts o = { .port = 7, .pool_file = "/dev/shm/paste-echo.pool" };
	struct pst_pool_config pool_cfg = { .buf_count = POOL_BUFS };
	struct pst_stack_config cfg = { .port_id = 0 };
	struct pst_stack *stack = NULL;
	struct in_addr ip;
	int ret;

	if (ex_help_requested(argc, argv)) {
		usage(stdout);
		return 0;
	}
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "paste-echo: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	/* The buffer count is checked on open too: a pool of another size is
	 * refused, not reused. */
	pool_cfg.path = o.pool_file;
	pool = ex_pool_open_or_create(&pool_cfg, POOL_BUFS);
	if (pool == NULL)
		goto fail;
	/* Nothing this server keeps survives it: free last run's buffers,
	 * once the pool is known to be ours (a claim holds no value; it
	 * makes paste-kvs and the others refuse this pool, and us theirs). */
	if (pst_pool_root_claim(pool, ECHO_ROOT_SLOT, "paste-echo", NULL) != 0 ||
	    pst_pool_reconcile(pool, NULL, 0, NULL) != 0)
		goto fail;
	cfg.pool = pool;
	cfg.ipv4_addr = o.ip;
	stack = pst_stack_create(&cfg);
	if (stack == NULL)
		goto fail;
	if (o.udp ? udp_echo_start(stack, o.port, o.rcvbuf, o.hold) != 0
		  : pst_tcp_listen(stack, o.port, on_accept, NULL) == NULL)
		goto fail;
	ex_catch_quit_signals();
	ip.s_addr = htonl(o.ip);
	printf("paste-echo: listening on %s:%u%s\n", inet_ntoa(ip), o.port,
	       o.udp ? " (udp)" : "");
	fflush(stdout);
	ret = pst_stack_run(stack, &ex_force_quit);
	udp_echo_stop();
	pst_stack_close(stack);
	pst_pool_close(pool);
	rte_eal_cleanup();
	return ret == 0 ? 0 : 1;
fail:
	fprintf(stderr, "paste-echo: %s\n", pst_errormsg());
	udp_echo_stop();
	pst_stack_close(stack);
	pst_pool_close(pool);
	rte_eal_cleanup();
	return 1;
}
