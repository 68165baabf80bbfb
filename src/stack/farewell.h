/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Farewell on net_memif ports: a process that leaves says so first, and its
 * peer stops touching the port until the link has gone down.
 *
 * DPDK 22.11's memif unmaps the shared rings from its interrupt thread when
 * the peer disconnects, while the polling thread may be inside an RX or TX
 * burst on them: the burst checked "connected" a moment before. The poller
 * then faults (seen in paste-kvs and paste-loadgen --respond as their memif
 * clients left). A peer parked before the disconnect is in no burst when
 * the unmap comes. Both ends must be paste; another peer (dpdk-testpmd,
 * VPP) still meets the race when it leaves (doc/operations.md).
 *
 * The frames: Ethernet broadcast, EtherType 0x88B5 (IEEE 802 local
 * experimental), "PASTE-FW", a version, a type (leaving, parked) and the
 * leaver's nonce, which the "parked" answer echoes.
 *
 * Anyone on the peer's L2 segment can send these bytes when the peer is a
 * bridge (dpdk-testpmd in io mode, VPP): a farewell parks a port at most
 * once per link-up, for 1 s at most, and a park that the bound ended (the
 * "leaver" stayed) refuses farewells until the link has gone down and up
 * (doc/stack.md, "Who may say farewell").
 *
 * With a shared key (pst_stack_config.farewell_key) the frames are
 * version 2, signed (HMAC-SHA256), and a farewell takes a challenge: the
 * leaver's LEAVING is answered with a CHALLENGE derived from a secret
 * drawn anew at every link-up, the leaver signs it back in a CONFIRM, and
 * only that parks the port. Without the key nothing parks it; a captured
 * exchange answers a challenge of another link-up.
 */
#ifndef PST_FAREWELL_H
#define PST_FAREWELL_H

#include <stdint.h>

#include <rte_ether.h>

struct rte_mbuf;
struct rte_mempool;

#define PST_FAREWELL_ETHERTYPE 0x88B5

enum pst_farewell_type {
	PST_FAREWELL_LEAVING = 1,      /* the sender stops polling and goes */
	PST_FAREWELL_PARKED = 2,       /* the answer: "I no longer touch it" */
	PST_FAREWELL_CHALLENGE = 3,    /* keyed: "sign this back" */
	PST_FAREWELL_CONFIRM = 4,      /* keyed: the challenge, signed back */
};

#define PST_FAREWELL_KEY_MIN 16        /* bytes */
#define PST_FAREWELL_KEY_MAX 64        /* HMAC-SHA256's block */
#define PST_FAREWELL_TAG_LEN 32

/* A farewell frame's contents, as pst_farewell_parse() reads them. */
struct pst_farewell_msg {
	int version;                   /* 1: unsigned; 2: keyed */
	enum pst_farewell_type type;
	uint64_t nonce;                /* the leaver's */
	uint64_t nonce2;               /* version 2: the challenge */
	uint8_t signed_bytes[28];      /* version 2: what the tag covers */
	uint8_t tag[PST_FAREWELL_TAG_LEN];
};

struct pst_farewell {
	int enabled;                   /* the port is a net_memif */
	uint16_t port, queue;
	struct rte_mempool *tx_mp;     /* DRAM mbufs for the two frames */
	struct rte_ether_addr mac;
	int parked;                    /* the peer left or is leaving */
	int refusing;                  /* a park timed out: no farewell taken
					* until the link cycles */
	int seen_down;                 /* parked or refusing, and the link
					* was seen down since */
	int peer_gone;                 /* the last park ended by the link
					* cycling: what was queued for that
					* peer is for nobody */
	uint64_t parked_at;            /* TSC */
	uint64_t parks;                /* peers that said farewell */
	uint64_t park_timeouts;        /* parks ended by the time bound */
	uint64_t refused;              /* farewells not taken */
	size_t key_len;                /* 0: unkeyed */
	uint8_t key[PST_FAREWELL_KEY_MAX];
	uint8_t epoch[32];             /* keyed: secret of this link-up */
};

/* Set up for @port; enabled only when @driver is "net_memif". */
void pst_farewell_init(struct pst_farewell *fw, uint16_t port, uint16_t queue,
		       struct rte_mempool *tx_mp, const struct rte_ether_addr *mac,
		       const char *driver);

/* Sign farewells with @key (PST_FAREWELL_KEY_MIN to _MAX bytes) and take
 * only signed ones. Returns 0, -EINVAL (bad length or NULL) or -EIO
 * (libsodium could not start). */
int pst_farewell_set_key(struct pst_farewell *fw, const void *key, size_t len);

/* Forget the key. */
void pst_farewell_fini(struct pst_farewell *fw);

/* Whether @m is a farewell frame; if so, fill @msg. Frames of the right
 * EtherType with anything else in them are not farewells (0). */
int pst_farewell_parse(const struct rte_mbuf *m, struct pst_farewell_msg *msg);

/* Build a farewell frame from @mp, or NULL when it has no mbuf. */
struct rte_mbuf *pst_farewell_frame(struct rte_mempool *mp,
				    const struct rte_ether_addr *src,
				    enum pst_farewell_type type, uint64_t nonce);

/* A version 2 frame signed with @fw's key, from @mp; NULL without an
 * mbuf. */
struct rte_mbuf *pst_farewell_frame_keyed(const struct pst_farewell *fw,
					  enum pst_farewell_type type,
					  uint64_t nonce, uint64_t nonce2);

/* A received frame: 1 if it was a farewell, which this consumed (and
 * freed); a "leaving" one parks the port after the answer is sent, unless
 * the port is refusing farewells (counted in refused, no answer). */
int pst_farewell_input(struct pst_farewell *fw, struct rte_mbuf *m);

/* 1 while the port must be left alone; call it every poll while parked
 * or refusing. Unparks once the link went down and came up again (a new
 * peer: peer_gone set), or after a bound if the leaver never disconnected
 * (refusing set until the link cycles). */
int pst_farewell_parked(struct pst_farewell *fw);

/* Before the port stops: tell the peer and wait, a bounded time, for its
 * answer; what arrives meanwhile is dropped. Returns 1 if the peer
 * answered, 0 if not (not paste, or not there), -1 without an mbuf. */
int pst_farewell_leave(struct pst_farewell *fw);

#endif /* PST_FAREWELL_H */
