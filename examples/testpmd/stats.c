/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-testpmd statistics: dpdk-testpmd's "NIC statistics for port N" block
 * from rte_eth_stats_get(), the stack's counters in stack modes, and the
 * final JSON report.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "example_util.h"
#include "paste.h"
#include "testpmd.h"

static const char *nic_stats_border = "########################";

const char *
tp_ip_str(uint32_t ip, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
		 (ip >> 8) & 0xff, ip & 0xff);
	return buf;
}

const char *
tp_mac_str(const struct rte_ether_addr *mac, char *buf)
{
	const uint8_t *b = mac->addr_bytes;

	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5]);
	return buf;
}

/* A port that cannot report (stopped, or a driver without stats) shows
 * zeros rather than stale numbers. */
static void
port_stats(uint16_t port, struct rte_eth_stats *s)
{
	if (rte_eth_stats_get(port, s) != 0)
		memset(s, 0, sizeof(*s));
}

void
tp_stats_init(struct tp_stats *st, const struct tp_ctx *ctx)
{
	memset(st, 0, sizeof(*st));
	st->hz = rte_get_tsc_hz();
	port_stats(ctx->port, &st->start);
	st->last = st->start;
	st->start_tsc = st->last_tsc = rte_rdtsc();
}

static void
stack_line(const struct tp_ctx *ctx)
{
	struct pst_stack_stats s;

	if (ctx->stack == NULL || pst_stack_stats(ctx->stack, &s) != 0)
		return;
	printf("stack: rx_packets=%" PRIu64 " rx_bytes=%" PRIu64 " tx_packets=%" PRIu64
	       " tx_bytes=%" PRIu64 " rx_nobufs=%" PRIu64 " rx_bad_csum=%" PRIu64
	       " rx_truncated=%" PRIu64 " rx_dropped=%" PRIu64 " tx_dropped=%" PRIu64
	       " tx_ring_full=%" PRIu64 " fault_drops=%" PRIu64
	       " fault_dups=%" PRIu64 " fault_reorders=%" PRIu64 " fault_corrupts=%" PRIu64
	       " tcp_retransmits=%" PRIu64 " polls=%" PRIu64 " busy_polls=%" PRIu64
	       " lwip_asserts=%" PRIu64 " peer_farewells=%" PRIu64
	       " peer_farewell_timeouts=%" PRIu64 " peer_farewells_refused=%" PRIu64 "\n",
	       s.rx_packets, s.rx_bytes, s.tx_packets, s.tx_bytes, s.rx_nobufs,
	       s.rx_bad_csum, s.rx_truncated, s.rx_dropped, s.tx_dropped, s.tx_ring_full,
	       s.fault_drops, s.fault_dups, s.fault_reorders, s.fault_corrupts, s.tcp_retransmits,
	       s.polls, s.busy_polls, s.lwip_asserts, s.peer_farewells,
	       s.peer_farewell_timeouts, s.peer_farewells_refused);
}

/* Rate of a counter between two samples; counters are never reset here,
 * but a driver may wrap or reset: report 0 rather than a huge number. */
static double
rate(uint64_t now, uint64_t before, double secs)
{
	return now > before && secs > 0 ? (double)(now - before) / secs : 0.0;
}

void
tp_stats_show(struct tp_stats *st, const struct tp_ctx *ctx)
{
	struct rte_eth_stats s;
	uint64_t now = rte_rdtsc();
	double secs = (double)(now - st->last_tsc) / (double)st->hz;
	double rx_pps, tx_pps, rx_bps, tx_bps;

	port_stats(ctx->port, &s);
	rx_pps = rate(s.ipackets, st->last.ipackets, secs);
	tx_pps = rate(s.opackets, st->last.opackets, secs);
	rx_bps = rate(s.ibytes, st->last.ibytes, secs) * 8;
	tx_bps = rate(s.obytes, st->last.obytes, secs) * 8;

	printf("\n  %s NIC statistics for port %-2d %s\n",
	       nic_stats_border, ctx->port, nic_stats_border);
	printf("  RX-packets: %-10" PRIu64 " RX-missed: %-10" PRIu64 " RX-bytes:  %-" PRIu64 "\n",
	       s.ipackets, s.imissed, s.ibytes);
	printf("  RX-errors: %-" PRIu64 "\n", s.ierrors);
	printf("  RX-nombuf:  %-10" PRIu64 "\n", s.rx_nombuf);
	printf("  TX-packets: %-10" PRIu64 " TX-errors: %-10" PRIu64 " TX-bytes:  %-" PRIu64 "\n",
	       s.opackets, s.oerrors, s.obytes);
	printf("\n  Throughput (since last show)\n");
	printf("  Rx-pps: %12.0f          Rx-bps: %12.0f\n", rx_pps, rx_bps);
	printf("  Tx-pps: %12.0f          Tx-bps: %12.0f\n", tx_pps, tx_bps);
	printf("  Rx-Mpps: %11.6f          Rx-Gb/s: %11.6f\n", rx_pps / 1e6, rx_bps / 1e9);
	printf("  Tx-Mpps: %11.6f          Tx-Gb/s: %11.6f\n", tx_pps / 1e6, tx_bps / 1e9);
	printf("  %s############################%s\n", nic_stats_border, nic_stats_border);
	stack_line(ctx);

	st->last = s;
	st->last_tsc = now;
}

static void
json_stack(const struct tp_ctx *ctx, FILE *f)
{
	struct pst_stack_stats s;

	if (ctx->stack == NULL || pst_stack_stats(ctx->stack, &s) != 0) {
		fprintf(f, ",\n  \"stack\": null");
		return;
	}
	fprintf(f, ",\n  \"stack\": {\"rx_packets\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
		", \"tx_packets\": %" PRIu64 ", \"tx_bytes\": %" PRIu64
		", \"rx_nobufs\": %" PRIu64 ", \"rx_bad_csum\": %" PRIu64
		", \"rx_truncated\": %" PRIu64
		", \"rx_dropped\": %" PRIu64 ", \"tx_dropped\": %" PRIu64
		", \"tx_ring_full\": %" PRIu64 ", \"fault_drops\": %" PRIu64 ", \"fault_dups\": %" PRIu64
		", \"fault_reorders\": %" PRIu64 ", \"fault_corrupts\": %" PRIu64
		", \"tcp_retransmits\": %" PRIu64 ", \"polls\": %" PRIu64
		", \"busy_polls\": %" PRIu64 ", \"busy_cycles\": %" PRIu64
		", \"drains\": %" PRIu64 ", \"lwip_asserts\": %" PRIu64
		", \"peer_farewells\": %" PRIu64 ", \"peer_farewell_timeouts\": %" PRIu64
		", \"peer_farewells_refused\": %" PRIu64 "}",
		s.rx_packets, s.rx_bytes, s.tx_packets, s.tx_bytes, s.rx_nobufs,
		s.rx_bad_csum, s.rx_truncated, s.rx_dropped, s.tx_dropped, s.tx_ring_full,
		s.fault_drops, s.fault_dups, s.fault_reorders, s.fault_corrupts, s.tcp_retransmits,
		s.polls, s.busy_polls, s.busy_cycles, s.drains, s.lwip_asserts,
		s.peer_farewells, s.peer_farewell_timeouts, s.peer_farewells_refused);
}

static void
json_pool(const struct tp_ctx *ctx, FILE *f)
{
	struct pst_pool_info info;
	struct pst_pool_stats s;

	if (pst_pool_info(ctx->pool, &info) != 0 || pst_pool_stats(ctx->pool, &s) != 0) {
		fprintf(f, ",\n  \"pool\": null");
		return;
	}
	fprintf(f, ",\n  \"pool\": {\"path\": ");
	ex_json_str(f, ctx->opt->pool_file);
	fprintf(f, ", \"buf_size\": %u, \"buf_count\": %" PRIu64
		", \"persist_mode\": \"%s\", \"is_pmem\": %s"
		", \"free\": %" PRIu64 ", \"lent\": %" PRIu64 ", \"kept\": %" PRIu64
		", \"releasing\": %" PRIu64 ", \"takes\": %" PRIu64 ", \"keeps\": %" PRIu64
		", \"releases\": %" PRIu64 ", \"nobufs\": %" PRIu64 ", \"flushes\": %" PRIu64
		", \"bytes_flushed\": %" PRIu64 ", \"drains\": %" PRIu64
		", \"msyncs\": %" PRIu64 "}",
		info.buf_size, info.buf_count, pst_persist_mode_name(info.persist_mode),
		info.is_pmem ? "true" : "false", s.free, s.lent, s.kept, s.releasing,
		s.takes, s.keeps, s.releases, s.nobufs, s.flushes, s.bytes_flushed,
		s.drains, s.msyncs);
}

int
tp_stats_json(const struct tp_stats *st, const struct tp_ctx *ctx, const char *path)
{
	struct rte_eth_stats s;
	double secs = (double)(rte_rdtsc() - st->start_tsc) / (double)st->hz;
	double rx_pps, tx_pps, rx_bps, tx_bps;
	char macs[18], ips[16];
	FILE *f;

	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "%s: --json %s: %s\n", TP_PROG, path, strerror(errno));
		return -1;
	}
	port_stats(ctx->port, &s);
	/* Averages over the whole run, not since the last block. */
	rx_pps = rate(s.ipackets, st->start.ipackets, secs);
	tx_pps = rate(s.opackets, st->start.opackets, secs);
	rx_bps = rate(s.ibytes, st->start.ibytes, secs) * 8;
	tx_bps = rate(s.obytes, st->start.obytes, secs) * 8;

	fprintf(f, "{\n  \"program\": \"%s\",\n  \"mode\": \"%s\",\n  \"port\": %u,\n"
		"  \"mac\": \"%s\",\n  \"ip\": ", TP_PROG, ctx->engine->name, ctx->port,
		tp_mac_str(&ctx->mac, macs));
	if (ctx->engine->uses_stack)
		fprintf(f, "\"%s\"", tp_ip_str(ctx->opt->ip, ips));
	else
		fprintf(f, "null");
	fprintf(f, ",\n  \"exit_status\": %d,\n  \"elapsed_s\": %.6f", ctx->status, secs);
	fprintf(f, ",\n  \"port_stats\": {\"rx_packets\": %" PRIu64 ", \"rx_missed\": %" PRIu64
		", \"rx_bytes\": %" PRIu64 ", \"rx_errors\": %" PRIu64
		", \"rx_nombuf\": %" PRIu64 ", \"tx_packets\": %" PRIu64
		", \"tx_errors\": %" PRIu64 ", \"tx_bytes\": %" PRIu64 "}",
		s.ipackets, s.imissed, s.ibytes, s.ierrors, s.rx_nombuf, s.opackets,
		s.oerrors, s.obytes);
	fprintf(f, ",\n  \"throughput\": {\"rx_pps\": %.1f, \"rx_bps\": %.1f"
		", \"tx_pps\": %.1f, \"tx_bps\": %.1f, \"rx_mpps\": %.6f, \"rx_gbps\": %.6f"
		", \"tx_mpps\": %.6f, \"tx_gbps\": %.6f}",
		rx_pps, rx_bps, tx_pps, tx_bps, rx_pps / 1e6, rx_bps / 1e9,
		tx_pps / 1e6, tx_bps / 1e9);
	json_stack(ctx, f);
	json_pool(ctx, f);
	if (ctx->engine->json != NULL)
		ctx->engine->json(ctx, f);
	fprintf(f, "\n}\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "%s: --json %s: %s\n", TP_PROG, path, strerror(errno));
		return -1;
	}
	return 0;
}
