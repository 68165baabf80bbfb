/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-testpmd: shared declarations of main.c, the forwarding engines
 * (fwd_raw.c, fwd_stack.c) and the statistics (stats.c).
 */
#ifndef TESTPMD_H
#define TESTPMD_H

#include <stdint.h>
#include <stdio.h>

#include <rte_ethdev.h>
#include <rte_ether.h>

#include "paste.h"

#define TP_PROG "paste-testpmd"

/* Largest --burst, as dpdk-testpmd's MAX_PKT_BURST. */
#define TP_MAX_BURST 512

enum tp_mode {
	TP_MODE_IO,
	TP_MODE_MACSWAP,
	TP_MODE_RXONLY,
	TP_MODE_TXONLY,
	TP_MODE_ICMPECHO,
	TP_MODE_TCP_ECHO,
	TP_MODE_TCP_SINK,
	TP_MODE_TCP_CLIENT,
	TP_MODE_LOG,
	TP_MODE_MAX,
};

/* Why the forwarding loop ended. */
enum tp_end {
	TP_END_DONE,    /* the engine finished (tcp-client) */
	TP_END_SIGNAL,  /* SIGINT or SIGTERM */
	TP_END_TIME,    /* --max-time elapsed */
	TP_END_ERROR,   /* the poll failed */
};

/* log mode: which frames are recorded (all when nothing is set). */
struct tp_log_filter {
	int has_ethertype, has_proto, has_l4_port;
	uint16_t ethertype;
	uint8_t proto;
	uint16_t l4_port;
};

/* Command line, after the EAL arguments. Addresses are in host order. */
struct tp_opts {
	enum tp_mode mode;
	double stats_period;            /* seconds; 0: final block only */
	const char *pool_file;
	int pool_file_is_default;       /* remove it at exit */
	uint64_t pool_bufs;
	enum pst_persist_mode persist;
	unsigned int nb_mbufs;
	uint16_t rxd, txd, burst;
	uint16_t port;
	int has_ip;
	uint32_t ip, netmask, gateway;
	int has_peer_ip, has_peer_mac;
	uint32_t peer_ip;
	struct rte_ether_addr peer_mac;
	uint16_t tcp_port;
	int has_connect;
	uint32_t connect_ip;
	uint16_t connect_port;
	uint64_t client_bytes;
	int sink_persist;               /* cleared by --no-persist */
	int sink_keep;
	struct pst_fault_config faults;
	int busy_poll;
	double max_time;                /* seconds; 0: until a signal */
	struct rte_ether_addr txonly_dst;
	uint16_t txonly_len;
	const char *json;
	/* log mode */
	int has_peer_port;
	uint16_t peer_port;
	uint32_t log_segments;
	struct tp_log_filter log_filter;
	int log_discard;
	/* net_memif: the farewell key, read from a file (not argv: ps shows
	 * argv to everyone) */
	uint8_t farewell_key[64];
	size_t farewell_key_len;
};

/* What the engines share with main.c and stats.c. */
struct tp_ctx {
	const struct tp_opts *opt;
	const struct tp_engine *engine;
	struct pst_pool *pool;
	struct rte_mempool *mp;         /* raw modes: the pool's mempool */
	struct pst_stack *stack;        /* stack modes */
	/* Raw modes: net_memif peers that leave (paste_port.h), for
	 * ctx->port and --peer-port. */
	struct pst_port_guard *guard, *peer_guard;
	uint16_t port;
	struct rte_ether_addr mac;
	/* The pool's buffer area: data outside it was copied, not received
	 * in place (the zero-copy checks of rxonly and tcp-sink). */
	uintptr_t bufs_lo, bufs_hi;
	int done;                       /* set by an engine to end the loop */
	int status;                     /* exit status the engine asks for */
};

/*
 * A forwarding engine, as dpdk-testpmd's struct fwd_engine. Each hook
 * returns 0 or a negative errno unless said otherwise; NULL hooks are skipped.
 */
struct tp_engine {
	const char *name;
	int uses_stack;
	/* Build the datapath: port and mempool, or stack and connections. */
	int (*setup)(struct tp_ctx *ctx);
	/* One iteration: number of frames handled (0: idle), or < 0. */
	int (*poll)(struct tp_ctx *ctx);
	/* The loop ended; a client that did not finish reports why. */
	void (*end)(struct tp_ctx *ctx, enum tp_end why);
	/* Lines printed after the final statistics block. */
	void (*summary)(struct tp_ctx *ctx);
	/* Members added to the JSON object, each preceded by ",\n". */
	void (*json)(const struct tp_ctx *ctx, FILE *f);
	/* Undo setup; the pool is closed by main.c afterwards. */
	void (*teardown)(struct tp_ctx *ctx);
};

extern const struct tp_engine tp_engine_io, tp_engine_macswap,
	tp_engine_rxonly, tp_engine_txonly;
extern const struct tp_engine tp_engine_icmpecho, tp_engine_tcp_echo,
	tp_engine_tcp_sink, tp_engine_tcp_client;
extern const struct tp_engine tp_engine_log;

/* fwd_raw.c, shared with fwd_log.c: the pool's mempool and ctx->port
 * (tp_raw_setup), one more port on the same mempool (tp_port_init; @mac
 * may be NULL), and stopping ctx->port before the pool goes. */
int tp_raw_setup(struct tp_ctx *ctx);
int tp_port_init(struct tp_ctx *ctx, uint16_t port, struct rte_ether_addr *mac);
void tp_raw_teardown(struct tp_ctx *ctx);
/* A raw mode's bursts on a port of tp_port_init: none while its memif peer
 * is leaving (0 received; what would be sent is dropped and counted in
 * @dropped), and no farewell frame among those received. */
uint16_t tp_rx_burst(struct tp_ctx *ctx, uint16_t port, struct rte_mbuf **pkts, uint16_t n);
uint16_t tp_tx_burst(struct tp_ctx *ctx, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
		     uint64_t *dropped);
/* Say farewell on @port's guard and stop and close the port. */
void tp_port_stop(struct tp_ctx *ctx, uint16_t port);
/* The guards' counters as JSON members (each preceded by ",\n"). */
void tp_guard_json(const struct tp_ctx *ctx, FILE *f);

/* Counters kept between two statistics blocks. */
struct tp_stats {
	uint64_t hz;
	uint64_t start_tsc, last_tsc;
	struct rte_eth_stats start, last;
};

void tp_stats_init(struct tp_stats *st, const struct tp_ctx *ctx);
void tp_stats_show(struct tp_stats *st, const struct tp_ctx *ctx);
int tp_stats_json(const struct tp_stats *st, const struct tp_ctx *ctx,
		  const char *path);

/* Helpers shared by the engines. */
static inline int
tp_in_pool(const struct tp_ctx *ctx, const void *data, size_t len)
{
	uintptr_t p = (uintptr_t)data;

	return p >= ctx->bufs_lo && p <= ctx->bufs_hi && len <= ctx->bufs_hi - p;
}

/* Format a host-order IPv4 address; @buf needs 16 bytes. */
const char *tp_ip_str(uint32_t ip, char *buf);
/* Format a MAC address in lower case; @buf needs 18 bytes. */
const char *tp_mac_str(const struct rte_ether_addr *mac, char *buf);

#endif /* TESTPMD_H */
