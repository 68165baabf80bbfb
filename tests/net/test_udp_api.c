/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'net': paste_udp.h against a Linux peer (a forked child with an
 * ordinary UDP socket in the Linux namespace), on a veth testbed with the
 * real af_packet driver and the real libpmem flush path: a connected
 * socket, replies sent by name from the kept request buffers and leaving
 * only after the drain covering their flushes, the receive filter of a
 * connected socket, and the errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "netif_dpdk.h"
#include "netns.h"
#include "poll_child.h"
#include "paste.h"
#include "persist.h"
#include "stack_internal.h"
#include "tx_order.h"

#define POOL_BUFS 8192
#define N_MBUFS 1024
#define SERVER_PORT 7001
#define PEER_PORT 7100    /* the peer's socket the server connects to */
#define STRANGER_PORT 7101 /* another socket of the peer: filtered out */
#define N_REQ 200

static struct testbed tb;
static char pool_path[128];
static struct pst_pool *pool;
static struct pst_stack *stack;

/* ---- connected socket, replies by name after the drain ------------------ */

/* The peer: N_REQ requests from PEER_PORT, each answered with its own
 * bytes; one datagram from STRANGER_PORT first, which must get no answer. */
static int
peer_main(void *arg)
{
	struct sockaddr_in me = { .sin_family = AF_INET }, srv = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 300000 };
	char req[1400], rep[2048];
	int s, stranger, i, tries;

	(void)arg;
	inet_pton(AF_INET, TB_PASTE_IP, &srv.sin_addr);
	srv.sin_port = htons(SERVER_PORT);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	stranger = socket(AF_INET, SOCK_DGRAM, 0);
	me.sin_port = htons(PEER_PORT);
	if (bind(s, (void *)&me, sizeof(me)) != 0)
		return 2;
	me.sin_port = htons(STRANGER_PORT);
	if (bind(stranger, (void *)&me, sizeof(me)) != 0)
		return 2;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(stranger, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(s, (void *)&srv, sizeof(srv)) != 0)
		return 3;
	for (i = 0; i < N_REQ; i++) {
		size_t len = 1 + (size_t)(i * 37) % sizeof(req);
		ssize_t got = -1;

		for (size_t k = 0; k < len; k++)
			req[k] = (char)(i * 7 + k);
		/* Lost datagrams (the af_packet ring) are sent again. */
		for (tries = 0; tries < 10 && got != (ssize_t)len; tries++) {
			if (i == 0)
				sendto(stranger, "x", 1, 0, (void *)&srv, sizeof(srv));
			send(s, req, len, 0);
			got = recv(s, rep, sizeof(rep), 0);
		}
		if (got != (ssize_t)len || memcmp(req, rep, len) != 0)
			return 4;
	}
	/* The server was connected to PEER_PORT: the stranger got nothing. */
	if (recv(stranger, rep, sizeof(rep), MSG_DONTWAIT) >= 0)
		return 5;
	return 0;
}

struct server {
	unsigned int got, kept, stranger;
	long last_send;
};

/* Keep the request, make it durable, answer with its own buffer. */
static void
srv_recv(void *arg, struct pst_udp_sock *s, uint32_t ip, uint16_t port,
	 const struct pst_segment *segs, unsigned int n)
{
	struct server *sv = arg;
	pst_name name;

	(void)ip;
	sv->got++;
	if (port != PEER_PORT)
		sv->stranger++;
	if (n != 1 || pst_udp_keep(s, &segs[0], &name) != 0)
		return;
	sv->kept++;
	pst_flush(stack, segs[0].data, segs[0].len);
	sv->last_send = pst_udp_send_name(s, name);
	assert_int_equal(pst_udp_release(s, name), 0);
}

static void
test_connected_reply_by_name_after_drain(void **state)
{
	static struct order o;
	static struct server sv;
	const struct pst_persist_hook hook = {
		.on_flush = ord_flush, .on_drain = ord_drain, .ctx = &o,
	};
	struct pst_pool_stats before, after;
	struct pst_udp_stats st;
	struct pst_udp_sock *s;
	unsigned int i, flushes, tx, violations;
	pid_t pid;

	(void)state;
	assert_int_equal(pst_pool_stats(pool, &before), 0);
	s = pst_udp_bind(stack, SERVER_PORT, srv_recv, &sv);
	assert_non_null(s);
	assert_int_equal(pst_udp_connect(s, 0xc6120002 /* 198.18.0.2 */, PEER_PORT), 0);
	pst_pool_set_persist_hook(pool, &hook);
	pst_netif_dpdk_set_tx_hook(stack->dev, ord_tx, &o);
	pid = tb_spawn_linux(&tb, peer_main, NULL);
	i = (unsigned int)tb_poll_child(stack, pid, 60);
	pst_pool_set_persist_hook(pool, NULL);
	pst_netif_dpdk_set_tx_hook(stack->dev, NULL, NULL);
	assert_int_equal(i, 0);
	assert_int_equal(sv.stranger, 0);
	assert_true(sv.kept >= N_REQ);
	assert_true(sv.last_send > 0);
	assert_int_equal(pst_udp_stats(s, &st), 0);
	assert_int_equal(st.rcv_held, 0);
	assert_true(st.tx_bytes_zc > 0);
	assert_int_equal(st.tx_datagrams, sv.kept);
	/* Every TX burst comes after a drain covering all earlier flushes. */
	ord_count(&o, &flushes, &tx, &violations);
	assert_true(flushes >= N_REQ);
	assert_true(tx >= N_REQ / 2);
	assert_int_equal(violations, 0);
	pst_udp_close(s);
	/* Every kept request went back to the pool. */
	for (i = 0; i < 100; i++)
		pst_stack_poll(stack);
	assert_int_equal(pst_pool_stats(pool, &after), 0);
	assert_int_equal(after.kept, before.kept);
}

/* ---- errors ------------------------------------------------------------ */

static void
test_errors(void **state)
{
	static char big[9000];
	struct pst_segment fake = { .name = pst_name_make(1, 0, 10) };
	struct pst_udp_sock *s, *t;
	pst_name name;

	(void)state;
	assert_null(pst_udp_bind(NULL, 7002, NULL, NULL));
	assert_int_equal(pst_errno, EINVAL);
	s = pst_udp_bind(stack, 7002, NULL, NULL);
	assert_non_null(s);
	assert_null(pst_udp_bind(stack, 7002, NULL, NULL));
	assert_int_equal(pst_errno, EADDRINUSE);
	t = pst_udp_bind(stack, 0, NULL, NULL);
	assert_non_null(t);
	assert_true(pst_udp_local_port(t) != 0);
	pst_udp_close(t);
	assert_int_equal(pst_udp_send(s, "x", 1), -ENOTCONN);
	assert_int_equal(pst_udp_sendto(s, 0xc6120002, 0, "x", 1), -EINVAL);
	assert_int_equal(pst_udp_sendto(s, 0xc6120002, 9, big, 1473), -EMSGSIZE);
	assert_int_equal(pst_udp_sendto(s, 0xc6120002, 9, NULL, 5), -EINVAL);
	assert_int_equal(pst_udp_sendto_name(s, 0xc6120002, 9, PST_NAME_INVALID), -EINVAL);
	assert_int_equal(pst_udp_connect(s, 0, 9), -EINVAL);
	assert_int_equal(pst_udp_set_rcvbuf(s, 0), -EINVAL);
	assert_int_equal(pst_udp_keep(s, &fake, &name), -EINVAL); /* not in a callback */
	assert_int_equal(pst_udp_release(s, pst_name_make(1, 0, 10)), -EINVAL); /* nothing held */
	/* The largest datagram one frame holds goes. */
	assert_int_equal(pst_udp_sendto(s, 0xc6120002, 9, big, 1472), 1472);
	assert_int_equal(pst_udp_connect(s, 0xc6120002, 9), 0);
	assert_int_equal(pst_udp_send(s, "abc", 3), 3);
	assert_int_equal(pst_udp_disconnect(s), 0);
	assert_int_equal(pst_udp_send(s, "abc", 3), -ENOTCONN);
	{
		struct pst_udp_stats st;

		assert_int_equal(pst_udp_stats(s, &st), 0);
		assert_int_equal(st.tx_datagrams, 2);
		assert_int_equal(st.tx_errors, 5); /* the NULL-data refusal comes before the count */
	}
	pst_udp_close(s);
	pst_udp_close(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_connected_reply_by_name_after_drain),
	};
	struct pst_pool_config pcfg = {
		.path = pool_path, .buf_count = POOL_BUFS,
		.persist_mode = PST_PERSIST_FLUSH,
	};
	struct pst_stack_config scfg = {
		.port_id = 0, .ipv4_addr = 0xc6120001, .n_mbufs = N_MBUFS,
	};
	int ret;

	if (tb_eal_up(&tb, "pu", "test_udp_api") != 0) {
		tb_down();
		return 1;
	}
	snprintf(pool_path, sizeof(pool_path), "/dev/shm/pst-test-udp-%d.pool", (int)getpid());
	unlink(pool_path);
	pool = pst_pool_create(&pcfg);
	if (pool == NULL)
		goto fail;
	scfg.pool = pool;
	stack = pst_stack_create(&scfg);
	if (stack == NULL)
		goto fail;
	ret = cmocka_run_group_tests_name("net_udp_api", tests, NULL, NULL);
	pst_stack_close(stack);
	pst_pool_close(pool);
	unlink(pool_path);
	rte_eal_cleanup();
	tb_down();
	return ret;
fail:
	fprintf(stderr, "test_udp_api: %s\n", pst_errormsg());
	pst_pool_close(pool);
	unlink(pool_path);
	rte_eal_cleanup();
	tb_down();
	return 1;
}
