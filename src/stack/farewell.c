/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Farewell on net_memif ports (farewell.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_random.h>
#include <sodium.h>

#include "farewell.h"

#define MAGIC "PASTE-FW"
#define VERSION 1
#define VERSION_KEYED 2
/* How long a leaver waits for the answer: a polling peer answers within
 * microseconds, a sleeping one within its longest sleep (1 ms). */
#define LEAVE_WAIT_MS 200
/* How long a parked port waits for its peer's link to go down: a leaver
 * disconnects microseconds after the answer, so this is a thousand times
 * its need, yet what a forged farewell costs stays well under a client's
 * patience (2 s). */
#define PARK_MAX_MS 1000
/* How long a farewell frame waits for room in a full TX ring. */
#define SEND_WAIT_MS 50
#define BURST 32

struct farewell_body {
	char magic[8];
	uint8_t version;
	uint8_t type;
	uint8_t pad[2];
	uint64_t nonce;                /* opaque: compared, never converted */
} __attribute__((packed));

/* Version 2: the tag covers everything before it. */
struct farewell_body_keyed {
	struct farewell_body b;
	uint64_t nonce2;
	uint8_t tag[PST_FAREWELL_TAG_LEN];
} __attribute__((packed));

_Static_assert(offsetof(struct farewell_body_keyed, tag) ==
	       sizeof(((struct pst_farewell_msg *)0)->signed_bytes),
	       "the tag covers the signed bytes");

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

/* A challenge made now cannot answer one of another link-up. */
static void
new_epoch(struct pst_farewell *fw)
{
	if (fw->key_len > 0)
		randombytes_buf(fw->epoch, sizeof(fw->epoch));
}

int
pst_farewell_set_key(struct pst_farewell *fw, const void *key, size_t len)
{
	if (key == NULL || len < PST_FAREWELL_KEY_MIN || len > PST_FAREWELL_KEY_MAX)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	memcpy(fw->key, key, len);
	fw->key_len = len;
	new_epoch(fw);
	return 0;
}

void
pst_farewell_fini(struct pst_farewell *fw)
{
	sodium_memzero(fw->key, sizeof(fw->key));
	sodium_memzero(fw->epoch, sizeof(fw->epoch));
	fw->key_len = 0;
}

int
pst_farewell_parse(const struct rte_mbuf *m, struct pst_farewell_msg *msg)
{
	const struct rte_ether_hdr *eth;
	struct farewell_body_keyed k;

	if (m->data_len < sizeof(*eth) + sizeof(k.b))
		return 0;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (eth->ether_type != rte_cpu_to_be_16(PST_FAREWELL_ETHERTYPE))
		return 0;
	memcpy(&k.b, eth + 1, sizeof(k.b));
	if (memcmp(k.b.magic, MAGIC, sizeof(k.b.magic)) != 0)
		return 0;
	if (k.b.version == VERSION) {
		if (k.b.type != PST_FAREWELL_LEAVING && k.b.type != PST_FAREWELL_PARKED)
			return 0;
		msg->nonce2 = 0;
	} else if (k.b.version == VERSION_KEYED) {
		if (m->data_len < sizeof(*eth) + sizeof(k) ||
		    k.b.type < PST_FAREWELL_LEAVING || k.b.type > PST_FAREWELL_CONFIRM)
			return 0;
		memcpy(&k, eth + 1, sizeof(k));
		memcpy(msg->signed_bytes, &k, sizeof(msg->signed_bytes));
		memcpy(msg->tag, k.tag, sizeof(msg->tag));
		msg->nonce2 = k.nonce2;
	} else {
		return 0;
	}
	msg->version = k.b.version;
	msg->type = (enum pst_farewell_type)k.b.type;
	msg->nonce = k.b.nonce;
	return 1;
}

static void
sign(const struct pst_farewell *fw, const void *bytes, size_t len,
     uint8_t tag[PST_FAREWELL_TAG_LEN])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, fw->key, fw->key_len);
	crypto_auth_hmacsha256_update(&st, bytes, len);
	crypto_auth_hmacsha256_final(&st, tag);
}

/* Whether @msg is version 2 and signed with @fw's key (time-constant). */
static int
authentic(const struct pst_farewell *fw, const struct pst_farewell_msg *msg)
{
	uint8_t tag[PST_FAREWELL_TAG_LEN];

	if (msg->version != VERSION_KEYED || fw->key_len == 0)
		return 0;
	sign(fw, msg->signed_bytes, sizeof(msg->signed_bytes), tag);
	return sodium_memcmp(tag, msg->tag, sizeof(tag)) == 0;
}

/* The challenge for a leaver's nonce in this link-up: derived, not
 * stored, so that no sequence of frames can crowd out the real leaver's. */
static uint64_t
challenge(const struct pst_farewell *fw, uint64_t nonce)
{
	uint8_t h[crypto_auth_hmacsha256_BYTES];
	uint64_t c;

	crypto_auth_hmacsha256(h, (const uint8_t *)&nonce, sizeof(nonce), fw->epoch);
	memcpy(&c, h, sizeof(c));
	return c;
}

static struct rte_mbuf *
build(struct rte_mempool *mp, const struct rte_ether_addr *src, const void *body,
      size_t len)
{
	size_t flen = RTE_MAX((size_t)(RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN),
			      sizeof(struct rte_ether_hdr) + len);
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)flen);
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(eth, 0, flen);
	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = *src;
	eth->ether_type = rte_cpu_to_be_16(PST_FAREWELL_ETHERTYPE);
	memcpy(eth + 1, body, len);
	return m;
}

static void
body_init(struct farewell_body *b, int version, enum pst_farewell_type type,
	  uint64_t nonce)
{
	memset(b, 0, sizeof(*b));
	memcpy(b->magic, MAGIC, sizeof(b->magic));
	b->version = (uint8_t)version;
	b->type = (uint8_t)type;
	b->nonce = nonce;
}

struct rte_mbuf *
pst_farewell_frame(struct rte_mempool *mp, const struct rte_ether_addr *src,
		   enum pst_farewell_type type, uint64_t nonce)
{
	struct farewell_body b;

	body_init(&b, VERSION, type, nonce);
	return build(mp, src, &b, sizeof(b));
}

struct rte_mbuf *
pst_farewell_frame_keyed(const struct pst_farewell *fw, enum pst_farewell_type type,
			 uint64_t nonce, uint64_t nonce2)
{
	struct farewell_body_keyed k;

	body_init(&k.b, VERSION_KEYED, type, nonce);
	k.nonce2 = nonce2;
	sign(fw, &k, offsetof(struct farewell_body_keyed, tag), k.tag);
	return build(fw->tx_mp, &fw->mac, &k, sizeof(k));
}

/* One frame, a few tries: the peer reads its ring continuously. Signed
 * when the port has a key. */
static int
send_frame(struct pst_farewell *fw, enum pst_farewell_type type, uint64_t nonce,
	   uint64_t nonce2)
{
	struct rte_mbuf *m = fw->key_len > 0 ?
		pst_farewell_frame_keyed(fw, type, nonce, nonce2) :
		pst_farewell_frame(fw->tx_mp, &fw->mac, type, nonce);
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * SEND_WAIT_MS;

	if (m == NULL)
		return -1;
	/* A ring the peer has not emptied (an unpaced sender leaving, a
	 * peer descheduled on a busy core) frees a slot when the peer next
	 * polls: wait for that rather than leave unannounced. */
	do {
		if (rte_eth_tx_burst(fw->port, fw->queue, &m, 1) == 1)
			return 0;
		rte_pause();
	} while (rte_get_timer_cycles() < end);
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

/* A peer's LEAVING or CONFIRM, answered as its peer must. Returns 1 when
 * the port is to park; @leaving: we are leaving ourselves (a peer leaving
 * at the same moment, or our own frames on a loop), so answer, never park.
 * Unanswered frames leave the leaver to leave all the same. */
static int
respond(struct pst_farewell *fw, const struct pst_farewell_msg *msg, int leaving)
{
	if (msg->type != PST_FAREWELL_LEAVING && msg->type != PST_FAREWELL_CONFIRM)
		return 0;       /* answers are the leaver's business */
	if (fw->key_len == 0 && msg->version != VERSION) {
		refuse(fw, "signed, but this port has no farewell key");
		return 0;
	}
	if (fw->key_len > 0 && !authentic(fw, msg)) {
		refuse(fw, "not signed with this port's farewell key");
		return 0;
	}
	if (!leaving && (fw->parked || fw->refusing)) {
		refuse(fw, "a park this link-up already timed out");
		return 0;
	}
	if (fw->key_len == 0) {
		(void)send_frame(fw, PST_FAREWELL_PARKED, msg->nonce, 0);
		return !leaving;
	}
	if (msg->type == PST_FAREWELL_LEAVING) {
		(void)send_frame(fw, PST_FAREWELL_CHALLENGE, msg->nonce,
				 challenge(fw, msg->nonce));
		return 0;
	}
	if (sodium_memcmp(&msg->nonce2, &(uint64_t){ challenge(fw, msg->nonce) },
			  sizeof(msg->nonce2)) != 0) {
		refuse(fw, "answers no challenge of this link-up (replayed?)");
		return 0;
	}
	(void)send_frame(fw, PST_FAREWELL_PARKED, msg->nonce, msg->nonce2);
	return !leaving;
}

int
pst_farewell_input(struct pst_farewell *fw, struct rte_mbuf *m)
{
	struct pst_farewell_msg msg;

	if (!pst_farewell_parse(m, &msg))
		return 0;
	rte_pktmbuf_free(m);
	if (respond(fw, &msg, 0)) {
		fw->parked = 1;
		fw->seen_down = 0;
		fw->parked_at = rte_get_timer_cycles();
		fw->parks++;
	}
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
			new_epoch(fw);
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

/* Whether @msg, read while leaving with @nonce, is our answer; a keyed
 * CHALLENGE to our LEAVING is signed back on the way. */
static int
our_answer(struct pst_farewell *fw, const struct pst_farewell_msg *msg, uint64_t nonce)
{
	if (msg->nonce != nonce)
		return 0;
	if (fw->key_len == 0)
		return msg->type == PST_FAREWELL_PARKED && msg->version == VERSION;
	if (!authentic(fw, msg))
		return 0;
	if (msg->type == PST_FAREWELL_CHALLENGE)
		(void)send_frame(fw, PST_FAREWELL_CONFIRM, nonce, msg->nonce2);
	return msg->type == PST_FAREWELL_PARKED;
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
	if (send_frame(fw, PST_FAREWELL_LEAVING, nonce, 0) != 0)
		return -1;
	end = rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * LEAVE_WAIT_MS;
	while (!answered && rte_get_timer_cycles() < end) {
		n = rte_eth_rx_burst(fw->port, fw->queue, pkts, BURST);
		for (i = 0; i < n; i++) {
			if (pst_farewell_parse(pkts[i], &msg) && !answered) {
				/* Both ends leaving at once: each answers the
				 * other and goes on waiting for its own answer. */
				if (our_answer(fw, &msg, nonce))
					answered = 1;
				else
					(void)respond(fw, &msg, 1);
			}
			rte_pktmbuf_free(pkts[i]);
		}
		if (n == 0)
			rte_pause();
	}
	return answered;
}
