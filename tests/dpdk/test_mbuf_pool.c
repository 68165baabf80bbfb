/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'dpdk': the pktmbuf mempool over the pool file, on real DPDK
 * ethdev ports of virtual devices (net_ring loops TX back to RX; net_null
 * fills RX bursts from the mempool). EAL runs with --no-huge --no-pci.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "paste_mbuf.h"
#include "paste_pool.h"
#include "pool_internal.h"

#define BURST 32

static char pool_path[128];
static uint16_t ring_port, null_port;

static struct pst_pool *
make_pool(uint64_t count)
{
	struct pst_pool_config cfg = {
		.path = pool_path,
		.buf_count = count,
		.persist_mode = PST_PERSIST_FLUSH,
	};
	struct pst_pool *pool;

	unlink(pool_path);
	pool = pst_pool_create(&cfg);
	if (pool == NULL)
		print_error("create %s: %s\n", pool_path, pst_errormsg());
	assert_non_null(pool);
	return pool;
}

static struct pst_pool *
reopen_pool(void)
{
	struct pst_pool_config cfg = {
		.path = pool_path,
		.persist_mode = PST_PERSIST_FLUSH,
	};
	struct pst_pool *pool = pst_pool_open(&cfg);

	if (pool == NULL)
		print_error("open %s: %s\n", pool_path, pst_errormsg());
	assert_non_null(pool);
	return pool;
}

static int
port_start(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(port, 0, 512, rte_eth_dev_socket_id(port),
					     NULL, mp);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(port, 0, 512, rte_eth_dev_socket_id(port),
					     NULL);
	if (ret == 0)
		ret = rte_eth_dev_start(port);
	return ret;
}

static void
port_stop(uint16_t port)
{
	assert_int_equal(rte_eth_dev_stop(port), 0);
}

static int
inside(const struct pst_pool *pool, const void *p, size_t len)
{
	struct pst_pool_info info;

	pst_pool_info(pool, &info);
	return (const char *)p >= (const char *)info.bufs &&
	       (const char *)p + len <=
		       (const char *)info.bufs + info.buf_count * info.buf_size;
}

struct scan {
	const struct pst_pool *pool;
	unsigned int outside;
	unsigned int kept_hit;
};

static void
scan_mbuf(struct rte_mempool *mp, void *opaque, void *obj, unsigned int i)
{
	struct scan *s = opaque;
	struct rte_mbuf *m = obj;
	struct pst_pool_info info;
	size_t off;

	(void)mp;
	(void)i;
	pst_pool_info(s->pool, &info);
	if (!inside(s->pool, m->buf_addr, m->buf_len)) {
		s->outside++;
		return;
	}
	off = (size_t)((char *)m->buf_addr - (char *)info.bufs);
	if (off % info.buf_size != 0)
		s->outside++;
	/* A kept buffer must never be handed to a driver again. */
	if (s->pool->dstate[off / info.buf_size] == PST_D_KEPT)
		s->kept_hit++;
}

static void
fill(struct rte_mbuf *m, uint32_t seq, uint16_t len)
{
	char *p = rte_pktmbuf_append(m, len);
	uint16_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++)
		p[i] = (char)(seq * 31 + i);
}

static int
check_pattern(const char *p, uint32_t seq, uint16_t len)
{
	uint16_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (char)(seq * 31 + i))
			return 0;
	return 1;
}

/* Send n frames with sequence numbers through the ring port and receive
 * them back; returns how many came back into @rx. */
static unsigned int
ring_roundtrip(struct rte_mempool *mp, uint32_t seq0, unsigned int n,
	       struct rte_mbuf **rx, uint16_t len)
{
	struct rte_mbuf *tx[BURST];
	unsigned int i, sent, got = 0;
	int tries;

	assert_true(n <= BURST);
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, tx, n), 0);
	for (i = 0; i < n; i++)
		fill(tx[i], seq0 + i, len);
	sent = rte_eth_tx_burst(ring_port, 0, tx, (uint16_t)n);
	assert_int_equal(sent, n);
	for (tries = 0; tries < 100 && got < n; tries++)
		got += rte_eth_rx_burst(ring_port, 0, rx + got, (uint16_t)(n - got));
	return got;
}

/* EAL is set up outside CMocka's group setup: a failed group setup would
 * report zero tests run, which must count as a failure, not a pass. */
static int
eal_setup(void)
{
	char *argv[] = {
		"test_mbuf_pool", "--no-huge", "-m", "256", "--no-pci",
		"--no-shconf", "--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:error",
		"--vdev=net_ring0", "--vdev=net_null0,copy=1", NULL,
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	snprintf(pool_path, sizeof(pool_path), "/dev/shm/pst-test-mbuf-%d.pool",
		 (int)getpid());
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "test_mbuf_pool: rte_eal_init failed: %s\n",
			rte_strerror(rte_errno));
		return -1;
	}
	if (rte_eth_dev_get_port_by_name("net_ring0", &ring_port) != 0 ||
	    rte_eth_dev_get_port_by_name("net_null0", &null_port) != 0) {
		fprintf(stderr, "test_mbuf_pool: net_ring0/net_null0 ports missing\n");
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unlink(pool_path);
	rte_eal_cleanup();
	return 0;
}

static int
test_teardown(void **state)
{
	(void)state;
	unlink(pool_path);
	return 0;
}

/* Every mbuf's data buffer is a buffer of the pool file. */
static void
test_mempool_buffers_in_file(void **state)
{
	struct pst_pool *pool = make_pool(1024);
	struct pst_pool_stats st;
	struct rte_mempool *mp;
	struct scan s = { .pool = pool };

	(void)state;
	mp = pst_pool_mempool_create(pool, "mp_infile", 512, 0, 64, SOCKET_ID_ANY);
	assert_non_null(mp);
	assert_int_equal(rte_mempool_obj_iter(mp, scan_mbuf, &s), 512);
	assert_int_equal(rte_pktmbuf_priv_size(mp), 64);
	assert_int_equal(s.outside, 0);
	assert_int_equal(s.kept_hit, 0);
	pst_pool_stats(pool, &st);
	assert_int_equal(st.lent, 512);
	assert_int_equal(st.free, 512);
	assert_int_equal(pst_pool_verify(pool), 0);
	assert_int_equal(pst_pool_mempool_close(pool), 0);
	pst_pool_stats(pool, &st);
	assert_int_equal(st.free, 1024);
	assert_int_equal(st.lent, 0);
	pst_pool_close(pool);
}

/* Frames received on a real ethdev port land in the file, are named, and
 * the names resolve to the received bytes. */
static void
test_ring_rx_lands_in_file(void **state)
{
	struct pst_pool *pool = make_pool(2048);
	struct rte_mbuf *rx[BURST];
	struct rte_mempool *mp;
	unsigned int i, got;

	(void)state;
	mp = pst_pool_mempool_create(pool, "mp_ring", 1024, 32, 0, SOCKET_ID_ANY);
	assert_non_null(mp);
	assert_int_equal(port_start(ring_port, mp), 0);
	assert_int_equal(pst_pool_dma_map(pool, ring_port), 0);
	got = ring_roundtrip(mp, 7, BURST, rx, 1000);
	assert_int_equal(got, BURST);
	for (i = 0; i < got; i++) {
		pst_name name = pst_mbuf_name(pool, rx[i]);
		const char *data = rte_pktmbuf_mtod(rx[i], const char *);

		assert_true(inside(pool, data, rx[i]->data_len));
		assert_int_not_equal(name, PST_NAME_INVALID);
		assert_int_equal(pst_name_length(name), 1000);
		assert_ptr_equal(pst_pool_name_to_addr(pool, name), data);
		assert_true(check_pattern(data, 7 + i, 1000));
	}
	rte_pktmbuf_free_bulk(rx, got);
	port_stop(ring_port);
	assert_int_equal(pst_pool_mempool_close(pool), 0);
	pst_pool_close(pool);
}

/* net_null allocates its RX mbufs from our mempool too. */
static void
test_null_rx_lands_in_file(void **state)
{
	struct pst_pool *pool = make_pool(1024);
	struct rte_mbuf *rx[BURST];
	struct rte_mempool *mp;
	uint16_t i, got;

	(void)state;
	mp = pst_pool_mempool_create(pool, "mp_null", 512, 0, 0, SOCKET_ID_ANY);
	assert_non_null(mp);
	assert_int_equal(port_start(null_port, mp), 0);
	got = rte_eth_rx_burst(null_port, 0, rx, BURST);
	assert_true(got > 0);
	for (i = 0; i < got; i++)
		assert_true(inside(pool, rte_pktmbuf_mtod(rx[i], void *),
				   rx[i]->data_len));
	rte_pktmbuf_free_bulk(rx, got);
	port_stop(null_port);
	assert_int_equal(pst_pool_mempool_close(pool), 0);
	pst_pool_close(pool);
}

/*
 * PASTE's buffer swap: a 4K-mbuf mempool receives and keeps 200K frames
 * out of a 256K-buffer pool; RX never runs dry, and after a restart every
 * kept frame is where its name says.
 */
static void
test_keep_200k_with_4k_mbufs(void **state)
{
	const unsigned int total = 200000, n_mbufs = 4096;
	struct pst_pool *pool = make_pool(262144);
	static pst_name names[200000];
	struct rte_mbuf *rx[BURST];
	struct pst_pool_stats st;
	struct rte_mempool *mp;
	unsigned int kept = 0, i, got;
	struct scan s;

	(void)state;
	mp = pst_pool_mempool_create(pool, "mp_200k", n_mbufs, 64, 0, SOCKET_ID_ANY);
	assert_non_null(mp);
	assert_int_equal(port_start(ring_port, mp), 0);
	while (kept < total) {
		unsigned int n = total - kept < BURST ? total - kept : BURST;

		got = ring_roundtrip(mp, kept, n, rx, 200);
		assert_int_equal(got, n);
		for (i = 0; i < got; i++) {
			const char *data = rte_pktmbuf_mtod(rx[i], const char *);

			assert_true(inside(pool, data, 200));
			assert_int_equal(pst_pool_flush(pool, data, 200), 0);
			assert_int_equal(pst_mbuf_keep(pool, rx[i], &names[kept + i]), 0);
		}
		/* One drain per burst, as the stack does per poll. */
		assert_int_equal(pst_pool_drain(pool), 0);
		rte_pktmbuf_free_bulk(rx, got);
		if ((kept + got) / 50000 != kept / 50000)
			print_message("  kept %u of %u buffers\n", kept + got, total);
		kept += got;
	}
	pst_pool_stats(pool, &st);
	assert_int_equal(st.kept, total);
	assert_int_equal(st.lent, n_mbufs);
	assert_int_equal(st.free, 262144 - total - n_mbufs);
	/* RX capacity is intact: every mbuf is home and points at a lent,
	 * never a kept, buffer. */
	assert_int_equal(rte_mempool_avail_count(mp), n_mbufs);
	s = (struct scan){ .pool = pool };
	rte_mempool_obj_iter(mp, scan_mbuf, &s);
	assert_int_equal(s.outside, 0);
	assert_int_equal(s.kept_hit, 0);
	got = ring_roundtrip(mp, 4242, BURST, rx, 64);
	assert_int_equal(got, BURST);
	rte_pktmbuf_free_bulk(rx, got);
	assert_int_equal(pst_pool_verify(pool), 0);
	port_stop(ring_port);
	assert_int_equal(pst_pool_mempool_close(pool), 0);
	pst_pool_close(pool);

	pool = reopen_pool();
	pst_pool_stats(pool, &st);
	assert_int_equal(st.kept, total);
	assert_int_equal(st.free, 262144 - total);
	for (i = 0; i < total; i += 997)
		assert_true(check_pattern(pst_pool_name_to_addr(pool, names[i]), i, 200));
	assert_true(check_pattern(pst_pool_name_to_addr(pool, names[total - 1]),
				  total - 1, 200));
	/* A new mempool after the restart stays off the kept buffers. */
	mp = pst_pool_mempool_create(pool, "mp_200k_again", n_mbufs, 0, 0, SOCKET_ID_ANY);
	assert_non_null(mp);
	s = (struct scan){ .pool = pool };
	rte_mempool_obj_iter(mp, scan_mbuf, &s);
	assert_int_equal(s.kept_hit, 0);
	assert_int_equal(pst_pool_verify(pool), 0);
	pst_pool_close(pool); /* frees the mempool too */
}

/* Running out of free buffers is an error the caller handles. */
static void
test_keep_exhaustion(void **state)
{
	struct pst_pool *pool = make_pool(64);
	struct rte_mbuf *m;
	struct pst_pool_stats st;
	struct rte_mempool *mp;
	pst_name name, last = PST_NAME_INVALID;
	void *before;
	int i, ret = 0;

	(void)state;
	assert_null(pst_pool_mempool_create(pool, "mp_too_big", 65, 0, 0, SOCKET_ID_ANY));
	assert_int_equal(pst_errno, ENOBUFS);
	mp = pst_pool_mempool_create(pool, "mp_exhaust", 32, 0, 0, SOCKET_ID_ANY);
	assert_non_null(mp);
	for (i = 0; i < 40 && ret == 0; i++) {
		m = rte_pktmbuf_alloc(mp);
		assert_non_null(m);
		fill(m, (uint32_t)i, 100);
		before = m->buf_addr;
		ret = pst_mbuf_keep(pool, m, &name);
		if (ret == 0)
			last = name;
		if (ret != 0) {
			/* Nothing changed: the frame is still there. */
			assert_ptr_equal(m->buf_addr, before);
			assert_true(check_pattern(rte_pktmbuf_mtod(m, char *), (uint32_t)i, 100));
		}
		rte_pktmbuf_free(m);
	}
	assert_int_equal(ret, -ENOBUFS);
	assert_int_equal(i, 33); /* 32 spare buffers swapped in, the 33rd fails */
	pst_pool_stats(pool, &st);
	assert_int_equal(st.nobufs, 2); /* mp_too_big, then the 33rd keep */
	assert_int_equal(st.kept, 32);
	assert_int_equal(st.free, 0);
	assert_int_equal(pst_pool_verify(pool), 0);
	/* Releasing makes room again, once the release is durable. */
	assert_int_equal(pst_pool_release(pool, pst_name_index(last)), 0);
	m = rte_pktmbuf_alloc(mp);
	assert_int_equal(pst_mbuf_keep(pool, m, &name), -ENOBUFS);
	assert_int_equal(pst_pool_drain(pool), 0);
	assert_int_equal(pst_mbuf_keep(pool, m, &name), 0);
	rte_pktmbuf_free(m);
	assert_int_equal(pst_pool_verify(pool), 0);
	assert_int_equal(pst_pool_mempool_close(pool), 0);
	pst_pool_close(pool);
}

static void
test_errors(void **state)
{
	struct pst_pool *pool = make_pool(256);
	struct rte_mempool *mp, *foreign;
	struct rte_mbuf *m, *f;
	pst_name name;

	(void)state;
	assert_null(pst_pool_mempool_create(NULL, "x", 1, 0, 0, SOCKET_ID_ANY));
	assert_int_equal(pst_errno, EINVAL);
	assert_null(pst_pool_mempool_create(pool, "x", 0, 0, 0, SOCKET_ID_ANY));
	assert_int_equal(pst_errno, EINVAL);
	assert_null(pst_pool_mempool_create(pool, "x", 8, 0, 3, SOCKET_ID_ANY));
	assert_int_equal(pst_errno, EINVAL);
	assert_int_equal(pst_pool_mempool_close(pool), -EINVAL);
	assert_int_equal(pst_pool_dma_map(pool, ring_port), -EINVAL);

	mp = pst_pool_mempool_create(pool, "mp_err", 64, 0, 0, SOCKET_ID_ANY);
	assert_non_null(mp);
	assert_null(pst_pool_mempool_create(pool, "mp_err2", 64, 0, 0, SOCKET_ID_ANY));
	assert_int_equal(pst_errno, EBUSY);

	foreign = rte_pktmbuf_pool_create("mp_foreign", 63, 0, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(foreign);
	f = rte_pktmbuf_alloc(foreign);
	assert_non_null(f);
	assert_int_equal(pst_mbuf_keep(pool, f, &name), -EINVAL);
	assert_int_equal(pst_mbuf_name(pool, f), PST_NAME_INVALID);
	rte_pktmbuf_free(f);
	rte_mempool_free(foreign);

	m = rte_pktmbuf_alloc(mp);
	assert_non_null(m);
	assert_int_equal(pst_mbuf_keep(pool, m, NULL), -EINVAL);
	rte_mbuf_refcnt_update(m, 1);
	assert_int_equal(pst_mbuf_keep(pool, m, &name), -EBUSY);
	rte_mbuf_refcnt_update(m, -1);
	/* An mbuf out of the mempool blocks freeing it. */
	assert_int_equal(pst_pool_mempool_close(pool), -EBUSY);
	rte_pktmbuf_free(m);
	assert_int_equal(pst_pool_mempool_close(pool), 0);
	assert_int_equal(pst_pool_verify(pool), 0);
	pst_pool_close(pool);
}

/* A failed DMA mapping (what VFIO or mlx5 answer for an fsdax file, which
 * Linux will not pin for the long term) is an error that says why and
 * names the way out, whatever the errno: EOPNOTSUPP is ENOTSUP on Linux,
 * and must not pass for "this bus needs no mapping". PST_TEST_DMA_FAIL
 * makes the port look physical and its mapping fail with that errno. */
static void
test_dma_map_failure_names_devdax(void **state)
{
	static const int errs[] = { EOPNOTSUPP, EINVAL, EFAULT };
	struct pst_pool *pool = make_pool(256);
	struct rte_mempool *mp;
	char v[16];

	(void)state;
	mp = pst_pool_mempool_create(pool, "mp_dma", 64, 0, 0, SOCKET_ID_ANY);
	assert_non_null(mp);
	for (unsigned int i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		int ret;

		snprintf(v, sizeof(v), "%d", errs[i]);
		setenv("PST_TEST_DMA_FAIL", v, 1);
		ret = pst_pool_dma_map(pool, null_port);
		unsetenv("PST_TEST_DMA_FAIL");
		if (ret != -errs[i])
			fail_msg("dma map failing with %d returned %d: %s", errs[i], ret,
				 pst_errormsg());
		if (strstr(pst_errormsg(), "fsdax") == NULL ||
		    strstr(pst_errormsg(), "/dev/dax") == NULL)
			fail_msg("the message does not name fsdax and /dev/dax: %s",
				 pst_errormsg());
	}
	/* Without the hook the virtual device needs no mapping. */
	assert_int_equal(pst_pool_dma_map(pool, null_port), 0);
	assert_int_equal(pst_pool_mempool_close(pool), 0);
	pst_pool_close(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_mempool_buffers_in_file, test_teardown),
		cmocka_unit_test_teardown(test_ring_rx_lands_in_file, test_teardown),
		cmocka_unit_test_teardown(test_null_rx_lands_in_file, test_teardown),
		cmocka_unit_test_teardown(test_keep_200k_with_4k_mbufs, test_teardown),
		cmocka_unit_test_teardown(test_keep_exhaustion, test_teardown),
		cmocka_unit_test_teardown(test_errors, test_teardown),
		cmocka_unit_test_teardown(test_dma_map_failure_names_devdax, test_teardown),
	};

	if (eal_setup() != 0)
		return 1;
	return cmocka_run_group_tests_name("dpdk_mbuf_pool", tests, NULL,
					   group_teardown);
}
