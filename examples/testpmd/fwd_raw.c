/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Raw forwarding engines: io, macswap, rxonly and txonly on the ethdev
 * itself, no TCP/IP stack. The port receives into mbufs of the pool's
 * mempool (pst_pool_mempool_create), so every frame a driver writes lands in
 * the pool file; rxonly checks that it really does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_udp.h>

#include "paste.h"
#include "testpmd.h"

#define MEMPOOL_CACHE 256

/* txonly's frames: UDP 198.18.0.1:9 -> 198.18.0.2:9 (discard), the RFC 2544
 * benchmarking range the testbed uses. */
#define TXONLY_SRC_IP ((198u << 24) | (18u << 16) | 1u)
#define TXONLY_DST_IP ((198u << 24) | (18u << 16) | 2u)
#define TXONLY_UDP_PORT 9

static struct {
	uint64_t rx, tx, tx_dropped;
	uint64_t rx_outside;            /* rxonly: frames not in the pool */
	uint8_t tmpl[RTE_ETHER_MAX_LEN]; /* txonly: the frame, built once */
} raw;

int
tp_port_init(struct tp_ctx *ctx, uint16_t port, struct rte_ether_addr *mac)
{
	const struct tp_opts *o = ctx->opt;
	struct rte_eth_conf port_conf;
	struct rte_eth_dev_info dev_info;
	struct rte_eth_txconf txconf;
	struct pst_port_guard *g;
	uint16_t nb_rxd = o->rxd, nb_txd = o->txd;
	int socket = rte_eth_dev_socket_id(port);
	int ret;

	memset(&port_conf, 0, sizeof(port_conf));
	ret = rte_eth_dev_info_get(port, &dev_info);
	if (ret != 0) {
		fprintf(stderr, "%s: port %u: info: %s\n", TP_PROG, port, rte_strerror(-ret));
		return ret;
	}
	/* Every mbuf comes from one mempool and is never shared: the driver
	 * may return them to the pool in bulk (as in examples/skeleton). */
	if (dev_info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		port_conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

	ret = rte_eth_dev_configure(port, 1, 1, &port_conf);
	if (ret != 0)
		goto fail;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (ret != 0)
		goto fail;
	ret = rte_eth_rx_queue_setup(port, 0, nb_rxd, socket < 0 ? 0 : (unsigned int)socket,
				     NULL, ctx->mp);
	if (ret < 0)
		goto fail;
	txconf = dev_info.default_txconf;
	txconf.offloads = port_conf.txmode.offloads;
	ret = rte_eth_tx_queue_setup(port, 0, nb_txd, socket < 0 ? 0 : (unsigned int)socket,
				     &txconf);
	if (ret < 0)
		goto fail;
	/* Virtual devices want a pool's buffers mapped no more than they
	 * want anything else; a real NIC behind an IOMMU does. */
	ret = pst_pool_dma_map(ctx->pool, port);
	if (ret != 0 && ret != -ENOTSUP) {
		fprintf(stderr, "%s: port %u: DMA map: %s\n", TP_PROG, port, pst_errormsg());
		return ret;
	}
	ret = rte_eth_dev_start(port);
	if (ret < 0)
		goto fail;
	if (mac != NULL) {
		ret = rte_eth_macaddr_get(port, mac);
		if (ret != 0)
			goto fail;
	}
	/* As dpdk-testpmd: see every frame on the wire, not just ours. */
	ret = rte_eth_promiscuous_enable(port);
	if (ret != 0 && ret != -ENOTSUP)
		fprintf(stderr, "%s: port %u: promiscuous mode: %s\n", TP_PROG, port,
			rte_strerror(-ret));
	/* A memif peer that leaves while we poll makes us fault in DPDK
	 * 22.11 unless it says farewell first (paste_port.h). */
	g = pst_port_guard_create(port, 0, ctx->mp, o->farewell_key_len > 0 ? o->farewell_key : NULL,
				  o->farewell_key_len);
	if (g == NULL) {
		fprintf(stderr, "%s: port %u: %s\n", TP_PROG, port, pst_errormsg());
		return -1;
	}
	if (port == ctx->port)
		ctx->guard = g;
	else
		ctx->peer_guard = g;
	return 0;
fail:
	fprintf(stderr, "%s: port %u: setup failed: %s\n", TP_PROG, port, rte_strerror(-ret));
	return ret;
}

int
tp_raw_setup(struct tp_ctx *ctx)
{
	memset(&raw, 0, sizeof(raw));
	/* No private area: raw modes keep no per-packet state. */
	ctx->mp = pst_pool_mempool_create(ctx->pool, "tpmd_mbufs", ctx->opt->nb_mbufs,
					  MEMPOOL_CACHE, 0, (int)rte_socket_id());
	if (ctx->mp == NULL) {
		fprintf(stderr, "%s: mempool of %u mbufs: %s\n", TP_PROG,
			ctx->opt->nb_mbufs, pst_errormsg());
		return -1;
	}
	return tp_port_init(ctx, ctx->port, &ctx->mac) == 0 ? 0 : -1;
}

static struct pst_port_guard **
guard_of(struct tp_ctx *ctx, uint16_t port)
{
	return port == ctx->port ? &ctx->guard : &ctx->peer_guard;
}

uint16_t
tp_rx_burst(struct tp_ctx *ctx, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	struct pst_port_guard *g = *guard_of(ctx, port);

	if (pst_port_guard_parked(g))
		return 0;
	n = rte_eth_rx_burst(port, 0, pkts, n);
	return n == 0 ? 0 : pst_port_guard_rx(g, pkts, n);
}

uint16_t
tp_tx_burst(struct tp_ctx *ctx, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
	    uint64_t *dropped)
{
	uint16_t sent = 0;

	if (n > 0 && !pst_port_guard_parked(*guard_of(ctx, port)))
		sent = rte_eth_tx_burst(port, 0, pkts, n);
	if (sent < n) {
		*dropped += n - sent;
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
	return sent;
}

void
tp_port_stop(struct tp_ctx *ctx, uint16_t port)
{
	struct pst_port_guard **g = guard_of(ctx, port);

	if (*g != NULL)
		(void)pst_port_guard_leave(*g);
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	pst_port_guard_destroy(*g);
	*g = NULL;
}

void
tp_guard_json(const struct tp_ctx *ctx, FILE *f)
{
	struct pst_port_guard_stats a, b;

	pst_port_guard_stats(ctx->guard, &a);
	pst_port_guard_stats(ctx->peer_guard, &b);
	fprintf(f, ",\n  \"peer_farewells\": {\"parks\": %" PRIu64 ", \"park_timeouts\": %" PRIu64
		", \"refused\": %" PRIu64 "}", a.parks + b.parks, a.park_timeouts + b.park_timeouts,
		a.refused + b.refused);
}

void
tp_raw_teardown(struct tp_ctx *ctx)
{
	if (ctx->mp == NULL)
		return;
	/* Stop and close before the pool frees the mempool under it. */
	tp_port_stop(ctx, ctx->port);
	ctx->mp = NULL;
}

/* Send what the TX ring takes; count and free the rest (testpmd's
 * "TX-dropped"). */
static uint16_t
send_burst(struct tp_ctx *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = tp_tx_burst(ctx, ctx->port, pkts, n, &raw.tx_dropped);

	raw.tx += sent;
	return sent;
}

static int
io_poll(struct tp_ctx *ctx)
{
	struct rte_mbuf *pkts[TP_MAX_BURST];
	uint16_t n = tp_rx_burst(ctx, ctx->port, pkts, ctx->opt->burst);

	if (n == 0)
		return 0;
	raw.rx += n;
	send_burst(ctx, pkts, n);
	return n;
}

static int
macswap_poll(struct tp_ctx *ctx)
{
	struct rte_mbuf *pkts[TP_MAX_BURST];
	struct rte_ether_hdr *eth;
	struct rte_ether_addr tmp;
	uint16_t i, n = tp_rx_burst(ctx, ctx->port, pkts, ctx->opt->burst);

	if (n == 0)
		return 0;
	raw.rx += n;
	for (i = 0; i < n; i++) {
		if (pkts[i]->data_len < sizeof(*eth))
			continue;
		eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		rte_ether_addr_copy(&eth->dst_addr, &tmp);
		rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
		rte_ether_addr_copy(&tmp, &eth->src_addr);
	}
	send_burst(ctx, pkts, n);
	return n;
}

/* A frame is received in place when every segment's data lies in the pool's
 * buffer area and has a name there. */
static int
frame_in_pool(const struct tp_ctx *ctx, const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next)
		if (!tp_in_pool(ctx, rte_pktmbuf_mtod(m, const void *), m->data_len) ||
		    pst_mbuf_name(ctx->pool, m) == PST_NAME_INVALID)
			return 0;
	return 1;
}

static int
rxonly_poll(struct tp_ctx *ctx)
{
	struct rte_mbuf *pkts[TP_MAX_BURST];
	uint16_t i, n = tp_rx_burst(ctx, ctx->port, pkts, ctx->opt->burst);

	if (n == 0)
		return 0;
	raw.rx += n;
	for (i = 0; i < n; i++)
		if (!frame_in_pool(ctx, pkts[i]))
			raw.rx_outside++;
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

static void
rxonly_summary(struct tp_ctx *ctx)
{
	(void)ctx;
	printf("rxonly: frames=%" PRIu64 " outside_pool=%" PRIu64 "\n", raw.rx,
	       raw.rx_outside);
}

static void
txonly_build(struct tp_ctx *ctx)
{
	const struct tp_opts *o = ctx->opt;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)raw.tmpl;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *payload = (uint8_t *)(udp + 1);
	uint16_t ip_len = (uint16_t)(o->txonly_len - sizeof(*eth));
	unsigned int i;

	rte_ether_addr_copy(&o->txonly_dst, &eth->dst_addr);
	rte_ether_addr_copy(&ctx->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->total_length = rte_cpu_to_be_16(ip_len);
	ip->src_addr = rte_cpu_to_be_32(TXONLY_SRC_IP);
	ip->dst_addr = rte_cpu_to_be_32(TXONLY_DST_IP);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(TXONLY_UDP_PORT);
	udp->dst_port = rte_cpu_to_be_16(TXONLY_UDP_PORT);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(ip_len - sizeof(*ip)));
	udp->dgram_cksum = 0; /* optional in IPv4 */
	for (i = 0; payload + i < raw.tmpl + o->txonly_len; i++)
		payload[i] = (uint8_t)i;
}

static int
txonly_setup(struct tp_ctx *ctx)
{
	uint16_t room;

	if (tp_raw_setup(ctx) != 0)
		return -1;
	room = rte_pktmbuf_data_room_size(ctx->mp) - RTE_PKTMBUF_HEADROOM;
	if (ctx->opt->txonly_len > room) {
		fprintf(stderr, "%s: --txonly-len %u does not fit a %u-byte pool buffer\n",
			TP_PROG, ctx->opt->txonly_len, room);
		return -1;
	}
	txonly_build(ctx);
	return 0;
}

static int
txonly_poll(struct tp_ctx *ctx)
{
	struct rte_mbuf *pkts[TP_MAX_BURST];
	uint16_t len = ctx->opt->txonly_len, i, n = ctx->opt->burst, got;

	/* Whatever comes back (a net_ring loops TX to RX) is dropped, so the
	 * RX side never stalls the TX side. */
	got = tp_rx_burst(ctx, ctx->port, pkts, n);
	if (got > 0) {
		raw.rx += got;
		rte_pktmbuf_free_bulk(pkts, got);
	}
	if (rte_pktmbuf_alloc_bulk(ctx->mp, pkts, n) != 0)
		return got;
	for (i = 0; i < n; i++) {
		rte_memcpy(rte_pktmbuf_mtod(pkts[i], void *), raw.tmpl, len);
		pkts[i]->data_len = len;
		pkts[i]->pkt_len = len;
	}
	return got + send_burst(ctx, pkts, n);
}

static void
raw_json(const struct tp_ctx *ctx, FILE *f)
{
	fprintf(f, ",\n  \"forward\": {\"rx\": %" PRIu64 ", \"tx\": %" PRIu64
		", \"tx_dropped\": %" PRIu64 "}", raw.rx, raw.tx, raw.tx_dropped);
	tp_guard_json(ctx, f);
	if (ctx->opt->mode == TP_MODE_RXONLY)
		fprintf(f, ",\n  \"rxonly\": {\"frames\": %" PRIu64 ", \"outside_pool\": %"
			PRIu64 "}", raw.rx, raw.rx_outside);
}

const struct tp_engine tp_engine_io = {
	.name = "io",
	.setup = tp_raw_setup,
	.poll = io_poll,
	.json = raw_json,
	.teardown = tp_raw_teardown,
};

const struct tp_engine tp_engine_macswap = {
	.name = "macswap",
	.setup = tp_raw_setup,
	.poll = macswap_poll,
	.json = raw_json,
	.teardown = tp_raw_teardown,
};

const struct tp_engine tp_engine_rxonly = {
	.name = "rxonly",
	.setup = tp_raw_setup,
	.poll = rxonly_poll,
	.summary = rxonly_summary,
	.json = raw_json,
	.teardown = tp_raw_teardown,
};

const struct tp_engine tp_engine_txonly = {
	.name = "txonly",
	.setup = txonly_setup,
	.poll = txonly_poll,
	.json = raw_json,
	.teardown = tp_raw_teardown,
};
