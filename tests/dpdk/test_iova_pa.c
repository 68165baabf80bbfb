/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'dpdk': the pool and the stack in IOVA-as-PA mode, on virtual
 * devices (net_ring loops TX back to RX). Pool buffers then carry no IOVA
 * (RTE_BAD_IOVA), which virtual devices never read, and nothing needs a
 * DMA mapping (paste_mbuf.h).
 *
 * EAL can only select PA mode with hugepages and physical addresses (root,
 * /proc/self/pagemap): without them the test is skipped (exit 77), saying
 * why.
 */
#include "../unit/pst_test_util.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "paste.h"

#define BURST 16
#define LEN 200

static uint16_t rx_port, stack_port;

static struct pst_pool *
make_pool(uint64_t count)
{
	char path[PATH_MAX];

	return tu_must_create(tu_path(path, sizeof(path), "pa"), 0, count,
			      PST_PERSIST_FLUSH);
}

static void
no_iova(struct rte_mempool *mp, void *opaque, void *obj, unsigned int i)
{
	unsigned int *with_iova = opaque;

	(void)mp;
	(void)i;
	if (rte_mbuf_iova_get(obj) != RTE_BAD_IOVA)
		(*with_iova)++;
}

/* Frames land in the pool file, and a kept one is there by its name. */
static void
test_receive_in_pa_mode(void **state)
{
	struct pst_pool *pool = make_pool(1024);
	struct rte_mbuf *tx[BURST], *rx[BURST];
	struct rte_eth_conf conf;
	struct rte_mempool *mp;
	unsigned int i, got = 0, with_iova = 0;
	const char *kept;
	pst_name name;
	int tries;

	(void)state;
	mp = pst_pool_mempool_create(pool, "pa_rx", 256, 0, 0, SOCKET_ID_ANY);
	if (mp == NULL)
		print_error("mempool: %s\n", pst_errormsg());
	assert_non_null(mp);
	rte_mempool_obj_iter(mp, no_iova, &with_iova);
	assert_int_equal(with_iova, 0);
	/* A virtual device needs no mapping, in PA mode as in VA mode. */
	assert_int_equal(pst_pool_dma_map(pool, rx_port), 0);

	memset(&conf, 0, sizeof(conf));
	assert_int_equal(rte_eth_dev_configure(rx_port, 1, 1, &conf), 0);
	assert_int_equal(rte_eth_rx_queue_setup(rx_port, 0, 256, SOCKET_ID_ANY,
						NULL, mp), 0);
	assert_int_equal(rte_eth_tx_queue_setup(rx_port, 0, 256, SOCKET_ID_ANY,
						NULL), 0);
	assert_int_equal(rte_eth_dev_start(rx_port), 0);

	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, tx, BURST), 0);
	for (i = 0; i < BURST; i++)
		memset(rte_pktmbuf_append(tx[i], LEN), 'a' + (int)i, LEN);
	assert_int_equal(rte_eth_tx_burst(rx_port, 0, tx, BURST), BURST);
	for (tries = 0; tries < 100 && got < BURST; tries++)
		got += rte_eth_rx_burst(rx_port, 0, rx + got, (uint16_t)(BURST - got));
	assert_int_equal(got, BURST);
	for (i = 0; i < BURST; i++)
		assert_true(pst_pool_name_valid(pool, pst_mbuf_name(pool, rx[i])));

	assert_int_equal(pst_mbuf_keep(pool, rx[3], &name), 0);
	kept = pst_pool_name_to_addr(pool, name);
	assert_non_null(kept);
	assert_int_equal(pst_name_length(name), LEN);
	for (i = 0; i < LEN; i++)
		assert_int_equal(kept[i], 'a' + 3);
	for (i = 0; i < BURST; i++)
		rte_pktmbuf_free(rx[i]);

	assert_int_equal(rte_eth_dev_stop(rx_port), 0);
	assert_int_equal(pst_pool_mempool_close(pool), 0);
	assert_int_equal(pst_pool_release(pool, pst_name_index(name)), 0);
	assert_int_equal(pst_pool_drain(pool), 0);
	tu_assert_verify(pool);
	tu_close(pool);
}

/* The stack starts (the pool's mempool, the port, lwIP), polls and
 * closes: its port set-up maps the pool for DMA, which a virtual device
 * must not refuse in PA mode. */
static void
test_stack_in_pa_mode(void **state)
{
	struct pst_pool *pool = make_pool(4096);
	struct pst_stack_config cfg = {
		.port_id = stack_port,
		.ipv4_addr = 0xc6120001,
		.pool = pool,
		.n_mbufs = 512,
	};
	struct pst_stack *stack;
	int i;

	(void)state;
	stack = pst_stack_create(&cfg);
	if (stack == NULL)
		print_error("stack: %s\n", pst_errormsg());
	assert_non_null(stack);
	for (i = 0; i < 100; i++)
		assert_true(pst_stack_poll(stack) >= 0);
	pst_stack_close(stack);
	tu_assert_verify(pool);
	tu_close(pool);
}

/* Close what a failed test left open and remove its files. DPDK keeps
 * descriptors of its own, so tu_test_teardown()'s leak check does not
 * apply here. */
static int
test_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < TU_MAX_POOLS; i++)
		if (tu_pools[i] != NULL) {
			pst_pool_close(tu_pools[i]);
			tu_pools[i] = NULL;
		}
	return tu_rm_dir_contents(tu_dir);
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

int
main(void)
{
	char prefix[64];
	char *argv[] = {
		"test_iova_pa", "--iova-mode=pa", "--in-memory", "-m", "128",
		"--no-pci", "--no-telemetry", "--log-level=lib.eal:error",
		"--vdev=net_ring0", "--vdev=net_ring1", prefix, NULL,
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_receive_in_pa_mode, test_teardown),
		cmocka_unit_test_teardown(test_stack_in_pa_mode, test_teardown),
	};
	int ret;

	snprintf(prefix, sizeof(prefix), "--file-prefix=pst-iova-pa-%d", (int)getpid());
	if (rte_eal_init(argc, argv) < 0) {
		printf("test_iova_pa: skipped: EAL cannot run in IOVA-as-PA mode here "
		       "(needs hugepages and physical addresses, i.e. root): %s\n",
		       rte_strerror(rte_errno));
		return 77;
	}
	if (rte_eal_iova_mode() != RTE_IOVA_PA ||
	    rte_eth_dev_get_port_by_name("net_ring0", &rx_port) != 0 ||
	    rte_eth_dev_get_port_by_name("net_ring1", &stack_port) != 0) {
		fprintf(stderr, "test_iova_pa: not in PA mode, or ring ports missing\n");
		rte_eal_cleanup();
		return 1;
	}
	if (tu_group_setup_common("iovapa") != 0) {
		rte_eal_cleanup();
		return 1;
	}
	ret = cmocka_run_group_tests_name("dpdk_iova_pa", tests, NULL,
					  group_teardown);
	rte_eal_cleanup();
	return ret;
}
