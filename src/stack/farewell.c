/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Farewell on net_memif ports (farewell.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_random.h>

#include "farewell.h"

#define MAGIC "PASTE-FW"
#define VERSION 1
/* How long a leaver waits for the answer: a polling peer answers within
 * microseconds, a sleeping one within its longest sleep (1 ms). */
#define LEAVE_WAIT_MS 200
/* How long a parked port waits for its peer's link to go down: a leaver
 * disconnects microseconds after the answer, so this is a thousand times
 * its need, yet what a forged farewell costs stays well under a client's
 * patience (2 s). */
#define PARK_MAX_MS 1000
#define BURST 32

struct farewell_body {
	char magic[8];
	uint8_t version;
	uint8_t type;
	uint8_t pad[2];
	uint64_t nonce;                /* opaque: compared, never converted */
} __attribute__((packed));

void
pst_farewell_init(struct pst_farewell *fw, uint16_t port, uint16_t queue,
		  struct rte_mempool *tx_mp, const struct rte_ether_addr *mac,
		  const char *driver)
{
	memset(fw, 0, sizeof(*fw));
	fw->enabled = driver != NULL && strcmp(driver, "net_memif") == 0;
	fw->port = port;
	fw->queue = queue;
	fw->tx_mp = tx_mp;
	fw->mac = *mac;
}

int
pst_farewell_parse(const struct rte_mbuf *m, struct pst_farewell_msg *msg)
{
	const struct rte_ether_hdr *eth;
	struct farewell_body b;

	if (m->data_len < sizeof(*eth) + sizeof(b))
		return 0;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (eth->ether_type != rte_cpu_to_be_16(PST_FAREWELL_ETHERTYPE))
		return 0;
	memcpy(&b, eth + 1, sizeof(b));
	if (memcmp(b.magic, MAGIC, sizeof(b.magic)) != 0 || b.version != VERSION ||
	    (b.type != PST_FAREWELL_LEAVING && b.type != PST_FAREWELL_PARKED))
		return 0;
	msg->type = (enum pst_farewell_type)b.type;
	msg->nonce = b.nonce;
	return 1;
}

struct rte_mbuf *
pst_farewell_frame(struct rte_mempool *mp, const struct rte_ether_addr *src,
		   enum pst_farewell_type type, uint64_t nonce)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth;
	struct farewell_body b;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RTE_ETHER_MIN_LEN -
							  RTE_ETHER_CRC_LEN);
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(eth, 0, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = *src;
	eth->ether_type = rte_cpu_to_be_16(PST_FAREWELL_ETHERTYPE);
	memset(&b, 0, sizeof(b));
	memcpy(b.magic, MAGIC, sizeof(b.magic));
	b.version = VERSION;
	b.type = (uint8_t)type;
	b.nonce = nonce;
	memcpy(eth + 1, &b, sizeof(b));
	return m;
}

/* One frame, a few tries: the peer reads its ring continuously. */
static int
send_frame(struct pst_farewell *fw, enum pst_farewell_type type, uint64_t nonce)
{
	struct rte_mbuf *m = pst_farewell_frame(fw->tx_mp, &fw->mac, type, nonce);
	int tries;

	if (m == NULL)
		return -1;
	for (tries = 0; tries < 1000; tries++) {
		if (rte_eth_tx_burst(fw->port, fw->queue, &m, 1) == 1)
			return 0;
		rte_pause();
	}
	rte_pktmbuf_free(m);
	return -1;
}

/* Log lines an attacker can cause: one per doubling of the count. */
static void
refuse(struct pst_farewell *fw, const char *why)
{
	fw->refused++;
	if ((fw->refused & (fw->refused - 1)) == 0)
		fprintf(stderr, "paste: port %u: farewell refused: %s (%" PRIu64
			" refused so far)\n", fw->port, why, fw->refused);
}

int
pst_farewell_input(struct pst_farewell *fw, struct rte_mbuf *m)
{
	struct pst_farewell_msg msg;

	if (!pst_farewell_parse(m, &msg))
		return 0;
	rte_pktmbuf_free(m);
	/* A stray answer (its leaver gave up waiting) means nothing here. */
	if (msg.type != PST_FAREWELL_LEAVING)
		return 1;
	/* Unanswered: a leaver that hears nothing leaves all the same. */
	if (fw->parked || fw->refusing) {
		refuse(fw, "a park this link-up already timed out");
		return 1;
	}
	(void)send_frame(fw, PST_FAREWELL_PARKED, msg.nonce);
	fw->parked = 1;
	fw->seen_down = 0;
	fw->parked_at = rte_get_timer_cycles();
	fw->parks++;
	return 1;
}

int
pst_farewell_parked(struct pst_farewell *fw)
{
	struct rte_eth_link link;

	if (!fw->parked && !fw->refusing)
		return 0;
	/* The link status is the driver's own memory, not the rings. */
	if (rte_eth_link_get_nowait(fw->port, &link) == 0) {
		if (link.link_status == RTE_ETH_LINK_DOWN) {
			fw->seen_down = 1;
		} else if (fw->seen_down) {
			/* Another link-up, another peer: it may leave once. */
			fw->peer_gone = fw->parked;
			fw->parked = 0;
			fw->refusing = 0;
			fw->seen_down = 0;
		}
	}
	if (fw->parked &&
	    rte_get_timer_cycles() - fw->parked_at > rte_get_timer_hz() / 1000 * PARK_MAX_MS) {
		/* The "leaver" stayed: the farewell was forged or replayed
		 * (or its sender hung). Taking more would let whoever sent it
		 * silence the port again and again. */
		fw->parked = 0;
		fw->refusing = 1;
		fw->park_timeouts++;
		fprintf(stderr, "paste: port %u: the peer that said farewell is still there "
			"after %d ms: farewells refused until its link goes down\n",
			fw->port, PARK_MAX_MS);
	}
	return fw->parked;
}

int
pst_farewell_leave(struct pst_farewell *fw)
{
	struct rte_mbuf *pkts[BURST];
	struct pst_farewell_msg msg;
	struct rte_eth_link link;
	uint64_t nonce = rte_rand();
	uint64_t end;
	uint16_t n, i;
	int answered = 0;

	if (!fw->enabled || fw->parked)
		return 0;
	if (rte_eth_link_get_nowait(fw->port, &link) != 0 ||
	    link.link_status == RTE_ETH_LINK_DOWN)
		return 0;
	if (send_frame(fw, PST_FAREWELL_LEAVING, nonce) != 0)
		return -1;
	end = rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * LEAVE_WAIT_MS;
	while (!answered && rte_get_timer_cycles() < end) {
		n = rte_eth_rx_burst(fw->port, fw->queue, pkts, BURST);
		for (i = 0; i < n; i++) {
			if (pst_farewell_parse(pkts[i], &msg)) {
				if (msg.type == PST_FAREWELL_PARKED && msg.nonce == nonce)
					answered = 1;
				/* Both ends leaving at once: each answers the
				 * other and goes on waiting for its own answer. */
				else if (msg.type == PST_FAREWELL_LEAVING)
					(void)send_frame(fw, PST_FAREWELL_PARKED, msg.nonce);
			}
			rte_pktmbuf_free(pkts[i]);
		}
		if (n == 0)
			rte_pause();
	}
	return answered;
}
