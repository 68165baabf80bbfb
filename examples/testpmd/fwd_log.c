/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `log` engine: frames forwarded between two ports (--port and
 * --peer-port), each one recorded durably before it leaves ("log before
 * forward"). A received frame's pool buffer is kept where the driver wrote
 * it and named in a record of the packet log (examples/pktlog); one drain
 * per burst covers the burst's frames and records, then the burst is sent.
 *
 * The mbuf itself gets a fresh buffer from the keep (RX capacity intact),
 * so the frame is copied back into it for transmission: the logged copy is
 * the one the driver wrote, the transmitted one is the copy.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>

#include "paste.h"
#include "pktlog.h"
#include "testpmd.h"

static struct {
	struct pl_writer *log;
	uint64_t rx, tx, tx_dropped;
	uint64_t logged;       /* frames recorded */
	uint64_t filtered;     /* forwarded, not matching the filter */
	uint64_t not_logged;   /* keep refused (no free buffer): forwarded */
	uint64_t multiseg;     /* frames in several buffers: dropped */
	uint64_t drain_failed; /* bursts dropped because their drain failed */
	int peer_started;
} lg;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Is @p port either L4 port of an unfragmented IPv4 TCP or UDP frame? */
static int
l4_port_match(const struct rte_ipv4_hdr *ip, const uint8_t *end, uint16_t port)
{
	const uint8_t *l4 = (const uint8_t *)ip + rte_ipv4_hdr_len(ip);
	uint16_t sport, dport;

	if (ip->next_proto_id != IPPROTO_TCP && ip->next_proto_id != IPPROTO_UDP)
		return 0;
	if ((rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) != 0 ||
	    l4 + 4 > end)
		return 0;
	memcpy(&sport, l4, 2);
	memcpy(&dport, l4 + 2, 2);
	return rte_be_to_cpu_16(sport) == port || rte_be_to_cpu_16(dport) == port;
}

/* Does the frame match --log-filter? Every given criterion must hold. */
static int
filter_match(const struct tp_log_filter *f, const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *end = p + m->data_len;
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)p;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	uint16_t type;

	if (!f->has_ethertype && !f->has_proto && !f->has_l4_port)
		return 1;
	if (m->data_len < sizeof(*eth))
		return 0;
	type = rte_be_to_cpu_16(eth->ether_type);
	if (f->has_ethertype && type != f->ethertype)
		return 0;
	if (!f->has_proto && !f->has_l4_port)
		return 1;
	if (type != RTE_ETHER_TYPE_IPV4 || (const uint8_t *)(ip + 1) > end ||
	    (const uint8_t *)ip + rte_ipv4_hdr_len(ip) > end)
		return 0;
	if (f->has_proto && ip->next_proto_id != f->proto)
		return 0;
	return !f->has_l4_port || l4_port_match(ip, end, f->l4_port);
}

static int
log_setup(struct tp_ctx *ctx)
{
	const struct tp_opts *o = ctx->opt;
	struct pst_pool_stats ps;
	struct pst_pool_info info;
	uint64_t need;
	int ret;

	memset(&lg, 0, sizeof(lg));
	/* First: --log-discard reconciles, and the log keeps buffers. */
	if (pst_pool_root_claim(ctx->pool, PL_ROOT_SLOT, PL_OWNER_APP, PL_OWNER_KIND) != 0) {
		fprintf(stderr, "%s: %s: refusing it\n", TP_PROG, pst_errormsg());
		return -1;
	}
	if (o->log_discard) {
		/* Before the mempool: it releases every kept buffer. */
		ret = pl_discard(ctx->pool);
		if (ret != 0) {
			fprintf(stderr, "%s: --log-discard: %s\n", TP_PROG, strerror(-ret));
			return -1;
		}
	}
	/* Ports first, the log last: a setup that fails leaves no log behind
	 * to make the next start refuse the pool. */
	if (tp_raw_setup(ctx) != 0)
		return -1;
	if (tp_port_init(ctx, o->peer_port, NULL) != 0)
		return -1;
	lg.peer_started = 1;
	/* The ring's frames must fit the free buffers left beside the mbufs,
	 * or keeps would fail and frames go unlogged: refuse now. */
	if (pst_pool_info(ctx->pool, &info) != 0 || pst_pool_stats(ctx->pool, &ps) != 0)
		return -1;
	if (o->log_segments > pl_max_segments(info.buf_size)) {
		fprintf(stderr, "%s: --log-segments %u: at most %u with %u-byte buffers\n",
			TP_PROG, o->log_segments, pl_max_segments(info.buf_size), info.buf_size);
		return -1;
	}
	need = (uint64_t)o->log_segments * (pl_records_per_segment(info.buf_size) + 1) + 1;
	if (ps.free < need) {
		fprintf(stderr, "%s: a ring of %u segments needs %" PRIu64 " free buffers "
			"beside the %u mbufs; the pool has %" PRIu64 " (lower --log-segments "
			"or raise --pool-bufs)\n", TP_PROG, o->log_segments, need,
			o->nb_mbufs, ps.free);
		return -1;
	}
	ret = pl_create(ctx->pool, o->log_segments, &lg.log);
	if (ret == -EEXIST) {
		fprintf(stderr, "%s: the pool file %s holds a packet log already: export it "
			"with paste-pcap, then start again with --log-discard\n",
			TP_PROG, o->pool_file);
		return -1;
	}
	if (ret != 0) {
		fprintf(stderr, "%s: creating a log of %u segments: %s\n", TP_PROG,
			o->log_segments, strerror(-ret));
		return -1;
	}
	printf("%s: log: ports %u <-> %u, ring of %u segments (%" PRIu64 " frames)\n",
	       TP_PROG, ctx->port, o->peer_port, o->log_segments, pl_capacity(lg.log));
	return 0;
}

/* Receive a burst on @p in, log it, drain once, forward it on @p out. */
static int
log_burst(struct tp_ctx *ctx, uint16_t in, uint16_t out)
{
	const struct tp_opts *o = ctx->opt;
	struct rte_mbuf *pkts[TP_MAX_BURST], *m;
	uint16_t i, n, kept = 0, fwd = 0, off, len;
	uint64_t ts;
	pst_name name;
	const void *data;

	n = tp_rx_burst(ctx, in, pkts, o->burst);
	if (n == 0)
		return 0;
	lg.rx += n;
	ts = now_ns();
	for (i = 0; i < n; i++) {
		m = pkts[i];
		if (m->nb_segs != 1) {
			/* A record names one buffer; never forward unlogged. */
			lg.multiseg++;
			rte_pktmbuf_free(m);
			continue;
		}
		pkts[fwd++] = m;
		if (!filter_match(&o->log_filter, m)) {
			lg.filtered++;
			continue;
		}
		off = m->data_off;
		len = m->data_len;
		if (pst_mbuf_keep(ctx->pool, m, &name) != 0) {
			lg.not_logged++;
			continue;
		}
		data = pst_pool_name_to_addr(ctx->pool, name);
		pl_append(lg.log, name, in, ts, data, len);
		m->data_off = off;
		m->data_len = len;
		m->pkt_len = len;
		rte_memcpy(rte_pktmbuf_mtod(m, void *), data, len);
		kept++;
	}
	if (kept > 0 && pst_pool_drain(ctx->pool) != 0) {
		/* Not durable: nothing of this burst may leave. */
		lg.drain_failed++;
		rte_pktmbuf_free_bulk(pkts, fwd);
		return n;
	}
	lg.logged += kept;
	lg.tx += tp_tx_burst(ctx, out, pkts, fwd, &lg.tx_dropped);
	return n;
}

static int
log_poll(struct tp_ctx *ctx)
{
	return log_burst(ctx, ctx->port, ctx->opt->peer_port) +
	       log_burst(ctx, ctx->opt->peer_port, ctx->port);
}

static void
log_summary(struct tp_ctx *ctx)
{
	struct pl_stats st;

	(void)ctx;
	if (lg.log == NULL)
		return;
	pl_writer_stats(lg.log, &st);
	printf("log: rx=%" PRIu64 " tx=%" PRIu64 " tx_dropped=%" PRIu64 " logged=%" PRIu64
	       " filtered=%" PRIu64 " not_logged=%" PRIu64 " multiseg_dropped=%" PRIu64
	       " drain_failed=%" PRIu64 " evicted_segments=%" PRIu64
	       " evicted_frames=%" PRIu64 " release_errors=%" PRIu64 "\n",
	       lg.rx, lg.tx, lg.tx_dropped, lg.logged, lg.filtered, lg.not_logged,
	       lg.multiseg, lg.drain_failed, st.evicted_segments, st.evicted_frames,
	       st.release_errors);
}

static void
log_json(const struct tp_ctx *ctx, FILE *f)
{
	struct pl_stats st;

	(void)ctx;
	if (lg.log == NULL)
		return;
	pl_writer_stats(lg.log, &st);
	fprintf(f, ",\n  \"forward\": {\"rx\": %" PRIu64 ", \"tx\": %" PRIu64
		", \"tx_dropped\": %" PRIu64 "}", lg.rx, lg.tx, lg.tx_dropped);
	tp_guard_json(ctx, f);
	fprintf(f, ",\n  \"log\": {\"logged\": %" PRIu64 ", \"filtered\": %" PRIu64
		", \"not_logged\": %" PRIu64 ", \"multiseg_dropped\": %" PRIu64
		", \"drain_failed\": %" PRIu64 ", \"evicted_segments\": %" PRIu64
		", \"evicted_frames\": %" PRIu64 ", \"capacity\": %" PRIu64 "}",
		lg.logged, lg.filtered, lg.not_logged, lg.multiseg, lg.drain_failed,
		st.evicted_segments, st.evicted_frames, pl_capacity(lg.log));
}

static void
log_teardown(struct tp_ctx *ctx)
{
	if (lg.peer_started)
		tp_port_stop(ctx, ctx->opt->peer_port);
	tp_raw_teardown(ctx);
	pl_writer_free(lg.log);
	lg.log = NULL;
}

const struct tp_engine tp_engine_log = {
	.name = "log",
	.setup = log_setup,
	.poll = log_poll,
	.summary = log_summary,
	.json = log_json,
	.teardown = log_teardown,
};
