/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'dpdk': the farewell on memif ports (src/stack/farewell.h), on a
 * net_ring port, which loops TX back to RX and whose link can be set down
 * and up: what one end sends is what the same end reads, so a stack that
 * leaves hears its own "leaving", answers it and reads its own answer.
 * The two-process case over a real net_memif is tests/net/test_loadgen.sh
 * (stacks) and tests/net/test_vdevs.sh (raw pollers); here also the public
 * guard of paste_port.h: its refusals, and a port of another driver that
 * it leaves alone.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "farewell.h"
#include "paste_errno.h"
#include "paste_port.h"

static uint16_t port;
static struct rte_mempool *mp;
static const struct rte_ether_addr mac = { { 0x02, 0, 0, 0, 0, 0x42 } };

static void
drain_ring(void)
{
	struct rte_mbuf *pkts[32];
	uint16_t n;

	while ((n = rte_eth_rx_burst(port, 0, pkts, 32)) > 0)
		rte_pktmbuf_free_bulk(pkts, n);
}

static void
fw_setup(struct pst_farewell *fw, const char *driver)
{
	drain_ring();
	assert_int_equal(rte_eth_dev_set_link_up(port), 0);
	pst_farewell_init(fw, port, 0, mp, &mac, driver);
}

/* The one frame the ring holds: parsed into @msg (1) or not a farewell. */
static int
read_one(struct pst_farewell_msg *msg)
{
	struct rte_mbuf *m = NULL;
	int ret;

	assert_int_equal(rte_eth_rx_burst(port, 0, &m, 1), 1);
	ret = pst_farewell_parse(m, msg);
	rte_pktmbuf_free(m);
	return ret;
}

static void
test_frame_round_trip(void **state)
{
	struct pst_farewell_msg msg;
	struct rte_mbuf *m;
	const struct rte_ether_hdr *eth;

	(void)state;
	m = pst_farewell_frame(mp, &mac, PST_FAREWELL_PARKED, 0x1122334455667788ULL);
	assert_non_null(m);
	/* A minimum Ethernet frame, broadcast, from us. */
	assert_int_equal(m->pkt_len, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	assert_true(rte_is_broadcast_ether_addr(&eth->dst_addr));
	assert_memory_equal(&eth->src_addr, &mac, sizeof(mac));
	assert_int_equal(pst_farewell_parse(m, &msg), 1);
	assert_int_equal(msg.type, PST_FAREWELL_PARKED);
	assert_true(msg.nonce == 0x1122334455667788ULL);
	rte_pktmbuf_free(m);
}

/* Anything not exactly a farewell is left to lwIP: another EtherType,
 * a short frame, another magic, version or type. */
static void
test_not_a_farewell(void **state)
{
	static const size_t body = sizeof(struct rte_ether_hdr);
	struct pst_farewell_msg msg;
	struct rte_mbuf *m;
	uint8_t *b;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		m = pst_farewell_frame(mp, &mac, PST_FAREWELL_LEAVING, 7);
		assert_non_null(m);
		b = rte_pktmbuf_mtod(m, uint8_t *);
		switch (i) {
		case 0: b[12] = 0x08; b[13] = 0x00; break;  /* IPv4 */
		case 1: m->data_len = m->pkt_len = (uint32_t)body + 19; break;
		case 2: b[body] = 'p'; break;                /* magic */
		case 3: b[body + 8] = 2; break;              /* version */
		case 4: b[body + 9] = 3; break;              /* type */
		}
		assert_int_equal(pst_farewell_parse(m, &msg), 0);
		rte_pktmbuf_free(m);
	}
}

/* Only a net_memif port takes part; others never leave with a frame. */
static void
test_other_drivers_stay_out(void **state)
{
	struct pst_farewell fw;

	(void)state;
	fw_setup(&fw, "net_ring");
	assert_false(fw.enabled);
	assert_int_equal(pst_farewell_leave(&fw), 0);
	assert_int_equal(rte_eth_rx_burst(port, 0, &(struct rte_mbuf *){ NULL }, 1), 0);
}

/* A "leaving" is answered with its nonce, then the port is parked until
 * its link went down and came up again. */
static void
test_park_until_link_cycles(void **state)
{
	struct pst_farewell fw;
	struct pst_farewell_msg msg;
	struct rte_mbuf *m;

	(void)state;
	fw_setup(&fw, "net_memif");
	assert_true(fw.enabled);
	assert_int_equal(pst_farewell_parked(&fw), 0);
	m = pst_farewell_frame(mp, &mac, PST_FAREWELL_LEAVING, 99);
	assert_int_equal(pst_farewell_input(&fw, m), 1);
	assert_int_equal(read_one(&msg), 1);
	assert_int_equal(msg.type, PST_FAREWELL_PARKED);
	assert_true(msg.nonce == 99);
	assert_true(fw.parks == 1);

	assert_int_equal(pst_farewell_parked(&fw), 1);
	assert_int_equal(pst_farewell_parked(&fw), 1);   /* link still up */
	assert_int_equal(rte_eth_dev_set_link_down(port), 0);
	assert_int_equal(pst_farewell_parked(&fw), 1);
	assert_int_equal(rte_eth_dev_set_link_up(port), 0);
	assert_int_equal(pst_farewell_parked(&fw), 0);   /* the next peer */
	assert_true(fw.park_timeouts == 0);

	/* An answer nobody waits for is consumed and changes nothing. */
	m = pst_farewell_frame(mp, &mac, PST_FAREWELL_PARKED, 5);
	assert_int_equal(pst_farewell_input(&fw, m), 1);
	assert_int_equal(pst_farewell_parked(&fw), 0);
	assert_true(fw.parks == 1);
}

/* A leaver that never disconnects does not keep the port parked. */
static void
test_park_is_bounded(void **state)
{
	struct pst_farewell fw;
	struct pst_farewell_msg msg;
	uint64_t end;

	(void)state;
	fw_setup(&fw, "net_memif");
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame(mp, &mac,
						  PST_FAREWELL_LEAVING, 1)), 1);
	assert_int_equal(read_one(&msg), 1);
	end = rte_get_timer_cycles() + rte_get_timer_hz() * 4;
	while (pst_farewell_parked(&fw) && rte_get_timer_cycles() < end)
		usleep(10000);
	assert_int_equal(fw.parked, 0);
	assert_true(fw.park_timeouts == 1);
}

/* A park the bound ended means the "leaver" stayed: a forged farewell, or
 * one replayed by whoever shares the peer's L2 segment (a bridge). Its
 * port takes no farewell again, answers none, until its link has gone
 * down and come up (another peer). */
static void
test_timeout_refuses_until_link_cycles(void **state)
{
	struct pst_farewell fw;
	struct pst_farewell_msg msg;
	uint64_t end;

	(void)state;
	fw_setup(&fw, "net_memif");
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame(mp, &mac,
						  PST_FAREWELL_LEAVING, 1)), 1);
	assert_int_equal(read_one(&msg), 1);
	end = rte_get_timer_cycles() + rte_get_timer_hz() * 4;
	while (pst_farewell_parked(&fw) && rte_get_timer_cycles() < end)
		usleep(10000);
	assert_true(fw.park_timeouts == 1);

	/* The same frame again, and a fresh one: consumed, not answered,
	 * no park. */
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame(mp, &mac,
						  PST_FAREWELL_LEAVING, 1)), 1);
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame(mp, &mac,
						  PST_FAREWELL_LEAVING, 2)), 1);
	assert_int_equal(rte_eth_rx_burst(port, 0, &(struct rte_mbuf *){ NULL }, 1), 0);
	assert_int_equal(pst_farewell_parked(&fw), 0);
	assert_true(fw.parks == 1);

	/* Another peer: the link went down and up, seen by the poll. */
	assert_int_equal(rte_eth_dev_set_link_down(port), 0);
	assert_int_equal(pst_farewell_parked(&fw), 0);
	assert_int_equal(rte_eth_dev_set_link_up(port), 0);
	assert_int_equal(pst_farewell_parked(&fw), 0);
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame(mp, &mac,
						  PST_FAREWELL_LEAVING, 3)), 1);
	assert_int_equal(read_one(&msg), 1);
	assert_int_equal(msg.type, PST_FAREWELL_PARKED);
	assert_int_equal(pst_farewell_parked(&fw), 1);
	assert_true(fw.parks == 2);
}

/* A forged farewell costs at most one short park: well under the 2 s a
 * client waits before it calls a server unresponsive. */
static void
test_park_bound_is_short(void **state)
{
	struct pst_farewell fw;
	struct pst_farewell_msg msg;
	uint64_t start, end;

	(void)state;
	fw_setup(&fw, "net_memif");
	start = rte_get_timer_cycles();
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame(mp, &mac,
						  PST_FAREWELL_LEAVING, 4)), 1);
	assert_int_equal(read_one(&msg), 1);
	end = start + rte_get_timer_hz() * 4;
	while (pst_farewell_parked(&fw) && rte_get_timer_cycles() < end)
		usleep(1000);
	assert_int_equal(fw.parked, 0);
	assert_true(rte_get_timer_cycles() - start < rte_get_timer_hz() * 12 / 10);
}

static const char key[] = "sixteen-or-more-bytes-of-key";
static const char other_key[] = "another-key-that-is-long-enough";

static void
fw_setup_keyed(struct pst_farewell *fw, const char *k)
{
	fw_setup(fw, "net_memif");
	assert_int_equal(pst_farewell_set_key(fw, k, strlen(k)), 0);
}

/* What the test reads back: the one frame on the ring. */
static struct pst_farewell_msg
read_keyed(void)
{
	struct pst_farewell_msg msg;

	assert_int_equal(read_one(&msg), 1);
	assert_int_equal(msg.version, 2);
	return msg;
}

static void
test_key_too_short(void **state)
{
	struct pst_farewell fw;

	(void)state;
	fw_setup(&fw, "net_memif");
	assert_int_equal(pst_farewell_set_key(&fw, "short", 5), -EINVAL);
	assert_int_equal(pst_farewell_set_key(&fw, NULL, 32), -EINVAL);
}

/* With a key, a leaver and its peer still agree on the loop: LEAVING,
 * CHALLENGE, CONFIRM, PARKED, all of them its own. */
static void
test_keyed_leave_is_answered(void **state)
{
	struct pst_farewell fw;

	(void)state;
	fw_setup_keyed(&fw, key);
	assert_int_equal(pst_farewell_leave(&fw), 1);
	assert_int_equal(rte_eth_rx_burst(port, 0, &(struct rte_mbuf *){ NULL }, 1), 0);
	assert_false(fw.parked);
}

/* A keyed port takes nothing from whoever lacks the key: the unsigned
 * farewell anyone can forge, one signed with another key, a CONFIRM that
 * answers no challenge of its own. No answer, no park, each refused. */
static void
test_keyed_refuses_forgeries(void **state)
{
	struct pst_farewell fw, mallory;

	(void)state;
	fw_setup_keyed(&fw, key);
	fw_setup_keyed(&mallory, other_key);
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame(mp, &mac,
						  PST_FAREWELL_LEAVING, 1)), 1);
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame_keyed(&mallory,
						  PST_FAREWELL_LEAVING, 2, 0)), 1);
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame_keyed(&mallory,
						  PST_FAREWELL_CONFIRM, 2, 3)), 1);
	assert_int_equal(rte_eth_rx_burst(port, 0, &(struct rte_mbuf *){ NULL }, 1), 0);
	assert_int_equal(pst_farewell_parked(&fw), 0);
	assert_true(fw.parks == 0);
	assert_true(fw.refused == 3);
	/* An unkeyed port cannot check a signature: refused too. */
	fw_setup(&mallory, "net_memif");
	assert_int_equal(pst_farewell_input(&mallory, pst_farewell_frame_keyed(&fw,
						  PST_FAREWELL_LEAVING, 4, 0)), 1);
	assert_int_equal(rte_eth_rx_burst(port, 0, &(struct rte_mbuf *){ NULL }, 1), 0);
	assert_true(mallory.refused == 1);
}

/* A key holder's farewell parks once; the same frames, captured and
 * replayed after the link cycled (another link-up), park nothing: the
 * challenge is bound to the link-up it was made in. */
static void
test_keyed_replay_refused(void **state)
{
	struct pst_farewell fw, leaver;
	struct pst_farewell_msg ch, msg;

	(void)state;
	fw_setup_keyed(&leaver, key);
	fw_setup_keyed(&fw, key);
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame_keyed(&leaver,
						  PST_FAREWELL_LEAVING, 77, 0)), 1);
	ch = read_keyed();
	assert_int_equal(ch.type, PST_FAREWELL_CHALLENGE);
	assert_true(ch.nonce == 77);
	assert_false(fw.parked);        /* a LEAVING alone parks nothing */
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame_keyed(&leaver,
						  PST_FAREWELL_CONFIRM, 77, ch.nonce2)), 1);
	msg = read_keyed();
	assert_int_equal(msg.type, PST_FAREWELL_PARKED);
	assert_true(msg.nonce == 77);
	assert_int_equal(pst_farewell_parked(&fw), 1);
	assert_true(fw.parks == 1);

	assert_int_equal(rte_eth_dev_set_link_down(port), 0);
	assert_int_equal(pst_farewell_parked(&fw), 1);
	assert_int_equal(rte_eth_dev_set_link_up(port), 0);
	assert_int_equal(pst_farewell_parked(&fw), 0);

	/* The replayed LEAVING gets a new challenge; the replayed CONFIRM
	 * answers the old one. */
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame_keyed(&leaver,
						  PST_FAREWELL_LEAVING, 77, 0)), 1);
	msg = read_keyed();
	assert_int_equal(msg.type, PST_FAREWELL_CHALLENGE);
	assert_true(msg.nonce2 != ch.nonce2);
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame_keyed(&leaver,
						  PST_FAREWELL_CONFIRM, 77, ch.nonce2)), 1);
	assert_int_equal(rte_eth_rx_burst(port, 0, &(struct rte_mbuf *){ NULL }, 1), 0);
	assert_int_equal(pst_farewell_parked(&fw), 0);
	assert_true(fw.parks == 1);
	assert_true(fw.refused == 1);
	/* ... and a key holder's fresh farewell in this link-up still works. */
	assert_int_equal(pst_farewell_input(&fw, pst_farewell_frame_keyed(&leaver,
						  PST_FAREWELL_CONFIRM, 77, msg.nonce2)), 1);
	assert_int_equal(read_keyed().type, PST_FAREWELL_PARKED);
	assert_int_equal(pst_farewell_parked(&fw), 1);
	assert_true(fw.parks == 2);
	assert_int_equal(rte_eth_dev_set_link_down(port), 0);
	assert_int_equal(pst_farewell_parked(&fw), 1);
	assert_int_equal(rte_eth_dev_set_link_up(port), 0);
	assert_int_equal(pst_farewell_parked(&fw), 0);
}

/* Leaving: the frame goes out and the answer with the same nonce ends the
 * wait. On the loop the leaver reads its own "leaving" first, answers it
 * as a peer leaving at the same moment would, and reads that answer. */
static void
test_leave_is_answered(void **state)
{
	struct pst_farewell fw;

	(void)state;
	fw_setup(&fw, "net_memif");
	assert_int_equal(pst_farewell_leave(&fw), 1);
	assert_int_equal(rte_eth_rx_burst(port, 0, &(struct rte_mbuf *){ NULL }, 1), 0);
}

/* Nobody answers (a down link sends nothing; a peer that is not paste
 * drops the frame): the leaver does not wait, or waits its bound. */
static void
test_leave_unanswered(void **state)
{
	struct pst_farewell fw;

	(void)state;
	fw_setup(&fw, "net_memif");
	assert_int_equal(rte_eth_dev_set_link_down(port), 0);
	assert_int_equal(pst_farewell_leave(&fw), 0);
	assert_int_equal(rte_eth_dev_set_link_up(port), 0);
	/* A parked stack does not say farewell either: its peer is gone. */
	fw.parked = 1;
	assert_int_equal(pst_farewell_leave(&fw), 0);
	fw.parked = 0;
}

/* pst_port_guard_create refuses what it cannot guard, with pst_errno. */
static void
test_guard_refusals(void **state)
{
	static const uint8_t key[65];

	(void)state;
	assert_null(pst_port_guard_create(port, 0, NULL, NULL, 0));
	assert_int_equal(pst_errno, EINVAL);
	assert_null(pst_port_guard_create(RTE_MAX_ETHPORTS - 1, 0, mp, NULL, 0));
	assert_int_equal(pst_errno, EINVAL);
	assert_null(pst_port_guard_create(port, 0, mp, key, 15));
	assert_int_equal(pst_errno, EINVAL);
	assert_null(pst_port_guard_create(port, 0, mp, key, 65));
	assert_int_equal(pst_errno, EINVAL);
	assert_null(pst_port_guard_create(port, 0, mp, NULL, 16));
	assert_int_equal(pst_errno, EINVAL);
}

/* On a port of another driver the guard passes every frame, farewells
 * included, never parks and says no farewell; NULL guards are no-ops. */
static void
test_guard_other_driver(void **state)
{
	static const uint8_t key[16] = { 1 };
	struct pst_port_guard *g;
	struct pst_port_guard_stats st;
	struct rte_mbuf *pkts[2];

	(void)state;
	drain_ring();
	g = pst_port_guard_create(port, 0, mp, NULL, 0);
	assert_non_null(g);
	pkts[0] = pst_farewell_frame(mp, &mac, PST_FAREWELL_LEAVING, 7);
	pkts[1] = pst_farewell_frame(mp, &mac, PST_FAREWELL_PARKED, 7);
	assert_non_null(pkts[0]);
	assert_non_null(pkts[1]);
	assert_int_equal(pst_port_guard_rx(g, pkts, 2), 2);
	assert_int_equal(pst_port_guard_parked(g), 0);
	assert_int_equal(pst_port_guard_leave(g), 0);
	assert_int_equal(rte_eth_rx_burst(port, 0, &(struct rte_mbuf *){ NULL }, 1), 0);
	pst_port_guard_stats(g, &st);
	assert_int_equal(st.parks + st.park_timeouts + st.refused, 0);
	pst_port_guard_destroy(g);
	assert_int_equal(pst_port_guard_rx(NULL, pkts, 2), 2);
	assert_int_equal(pst_port_guard_parked(NULL), 0);
	assert_int_equal(pst_port_guard_leave(NULL), 0);
	pst_port_guard_stats(NULL, &st);
	assert_int_equal(st.parks, 0);
	pst_port_guard_destroy(NULL);
	rte_pktmbuf_free_bulk(pkts, 2);
	g = pst_port_guard_create(port, 0, mp, key, sizeof(key));
	assert_non_null(g);
	pst_port_guard_destroy(g);
}

static int
eal_setup(void)
{
	char *argv[] = {
		"test_farewell", "--no-huge", "-m", "256", "--no-pci",
		"--no-shconf", "--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:error",
		"--vdev=net_ring0", NULL,
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;
	struct rte_eth_conf conf;

	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "test_farewell: rte_eal_init failed: %s\n",
			rte_strerror(rte_errno));
		return -1;
	}
	mp = rte_pktmbuf_pool_create("fw_mp", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	memset(&conf, 0, sizeof(conf));
	if (mp == NULL || rte_eth_dev_get_port_by_name("net_ring0", &port) != 0 ||
	    rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, NULL, mp) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 256, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_dev_start(port) != 0) {
		fprintf(stderr, "test_farewell: net_ring0 port setup failed\n");
		return -1;
	}
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_round_trip),
		cmocka_unit_test(test_not_a_farewell),
		cmocka_unit_test(test_other_drivers_stay_out),
		cmocka_unit_test(test_park_until_link_cycles),
		cmocka_unit_test(test_park_is_bounded),
		cmocka_unit_test(test_timeout_refuses_until_link_cycles),
		cmocka_unit_test(test_park_bound_is_short),
		cmocka_unit_test(test_key_too_short),
		cmocka_unit_test(test_keyed_leave_is_answered),
		cmocka_unit_test(test_keyed_refuses_forgeries),
		cmocka_unit_test(test_keyed_replay_refused),
		cmocka_unit_test(test_leave_is_answered),
		cmocka_unit_test(test_leave_unanswered),
		cmocka_unit_test(test_guard_refusals),
		cmocka_unit_test(test_guard_other_driver),
	};
	int ret;

	if (eal_setup() != 0)
		return 1;
	ret = cmocka_run_group_tests_name("farewell", tests, NULL, NULL);
	rte_eth_dev_stop(port);
	rte_eal_cleanup();
	return ret;
}
