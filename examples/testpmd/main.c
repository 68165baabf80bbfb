/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-testpmd: a dpdk-testpmd look-alike whose mbufs' data buffers live in
 * a paste pool file.
 *
 * Raw modes (io, macswap, rxonly, txonly) drive the ethdev directly, to show
 * what the port does with pool-backed mbufs. Stack modes (icmpecho, tcp-echo,
 * tcp-sink, tcp-client) run paste's TCP/IP stack on the port, to show TCP
 * payload arriving in place in the pool and being persisted there.
 * The log mode forwards between two ports and records every frame durably
 * before it leaves (fwd_log.c, doc/testpmd.md).
 *
 *   paste-testpmd EAL-args -- [--forward-mode=MODE] [--stats-period N]
 *       [--pool-file F] [--pool-bufs N] [--persist auto|flush|msync|fence]
 *       [--nb-mbufs N] [--rxd N] [--txd N] [--burst N] [--port N]
 *       [--ip A.B.C.D[/len]] [--gateway A.B.C.D]
 *       [--peer-mac XX:XX:XX:XX:XX:XX --peer-ip A.B.C.D]
 *       [--tcp-port P] [--connect A.B.C.D:P] [--client-bytes N]
 *       [--no-persist] [--keep] [--fault k=v[,k=v...]] [--busy-poll]
 *       [--max-time S] [--txonly-dst-mac MAC] [--txonly-len B] [--json F]
 *       [--peer-port N] [--log-segments N] [--log-filter k=v,...] [--log-discard]
 *       [-a|--auto-start]
 *
 * Exit status: 0 success, 1 run-time failure (no port, refused pool file,
 * tcp-client failure), 2 bad command line.
 *
 * Shaped like DPDK's examples/skeleton and l2fwd: port_init, a main loop on
 * the main lcore, force_quit on SIGINT/SIGTERM, getopt_long after the EAL.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_pause.h>

#include "example_util.h"
#include "paste.h"
#include "testpmd.h"

#define EXIT_USAGE 2

/* Raw modes spin this many empty polls before they start sleeping. */
#define IDLE_SPINS 1024
#define IDLE_SLEEP_US 50

static const struct tp_engine *const engines[TP_MODE_MAX] = {
	[TP_MODE_IO] = &tp_engine_io,
	[TP_MODE_MACSWAP] = &tp_engine_macswap,
	[TP_MODE_RXONLY] = &tp_engine_rxonly,
	[TP_MODE_TXONLY] = &tp_engine_txonly,
	[TP_MODE_ICMPECHO] = &tp_engine_icmpecho,
	[TP_MODE_TCP_ECHO] = &tp_engine_tcp_echo,
	[TP_MODE_TCP_SINK] = &tp_engine_tcp_sink,
	[TP_MODE_TCP_CLIENT] = &tp_engine_tcp_client,
	[TP_MODE_LOG] = &tp_engine_log,
};

static void
usage(const char *prog)
{
	printf("usage: %s EAL-args -- [options]\n"
	       "  --forward-mode=MODE  io, macswap, rxonly, txonly, icmpecho, tcp-echo,\n"
	       "                       tcp-sink, tcp-client or log (default io)\n"
	       "  --stats-period N     seconds between statistics blocks (default 0: final only)\n"
	       "  --pool-file F        pool file, opened or created\n"
	       "                       (default /dev/shm/paste-testpmd-<pid>.pool, removed at exit)\n"
	       "  --pool-bufs N        buffers of a new pool (default 65536)\n"
	       "  --persist MODE       auto, flush, msync or fence (default auto)\n"
	       "  --nb-mbufs N         mbufs (default 4096)\n"
	       "  --rxd N, --txd N     RX/TX descriptors (default 1024)\n"
	       "  --burst N            raw modes: frames per burst (default 32, max %d)\n"
	       "  --port N             port id (default 0), queue 0\n"
	       "  --ip A.B.C.D[/len]   stack address (required by icmpecho and tcp-*)\n"
	       "  --gateway A.B.C.D    default gateway\n"
	       "  --peer-mac MAC --peer-ip A.B.C.D   static ARP entry\n"
	       "  --tcp-port P         tcp-echo/tcp-sink listen port (default 5001)\n"
	       "  --connect A.B.C.D:P  tcp-client target\n"
	       "  --client-bytes N     tcp-client bytes to send, K/M/G suffix allowed (default 1M)\n"
	       "  --no-persist         tcp-sink: do not flush received bytes\n"
	       "  --keep               tcp-sink: keep every segment's buffer until the close\n"
	       "  --fault k=v,...      seed, rx-drop, rx-dup, rx-reorder, rx-corrupt,\n"
	       "                       tx-drop, tx-dup, tx-reorder, tx-corrupt (0..1)\n"
	       "  --busy-poll          never sleep when idle\n"
	       "  --max-time S         stop after S seconds\n"
	       "  --txonly-dst-mac MAC txonly destination (default 02:00:00:00:00:01)\n"
	       "  --txonly-len B       txonly frame length (default 64, 42..1514)\n"
	       "  --peer-port N        log: the second port; frames go --port <-> --peer-port\n"
	       "  --log-segments N     log: ring of N segments (default 64); when full the\n"
	       "                       oldest segment's frames are released\n"
	       "  --log-filter k=v,... log: record only frames with ethertype=0xHHHH,\n"
	       "                       proto=N (IPv4 protocol), port=N (TCP/UDP either way);\n"
	       "                       all frames are forwarded\n"
	       "  --log-discard        log: drop the pool file's previous log first\n"
	       "  --farewell-key-file F  net_memif: sign farewells with the key in F (16 to\n"
	       "                       64 bytes, the same on both ends; doc/stack.md)\n"
	       "  --json F             write the final statistics as JSON\n"
	       "  -a, --auto-start     accepted for testpmd compatibility\n",
	       prog, TP_MAX_BURST);
}

static int
bad_value(const char *opt, const char *val, const char *expect)
{
	fprintf(stderr, "%s: bad value '%s' for --%s (expected %s)\n",
		TP_PROG, val, opt, expect);
	return -1;
}

static int
bad_range(const char *opt, const char *val, uint64_t min, uint64_t max)
{
	char expect[64];

	snprintf(expect, sizeof(expect), "%" PRIu64 "..%" PRIu64, min, max);
	return bad_value(opt, val, expect);
}

/* The whole file is the key; a longer one is refused here rather than cut. */
static int
read_key_file(const char *path, struct tp_opts *o)
{
	FILE *f = fopen(path, "rb");
	uint8_t extra;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "%s: --farewell-key-file %s: %s\n", TP_PROG, path, strerror(errno));
		return -1;
	}
	n = fread(o->farewell_key, 1, sizeof(o->farewell_key), f);
	if (fread(&extra, 1, 1, f) == 1 || n < 16) {
		fclose(f);
		return bad_value("farewell-key-file", path, "a file of 16 to 64 bytes");
	}
	fclose(f);
	o->farewell_key_len = n;
	return 0;
}

static int
parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
	  uint64_t *out)
{
	return ex_parse_u64(s, min, max, out) == 0 ? 0 : bad_range(opt, s, min, max);
}

static int
parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	return ex_parse_u32(s, min, max, out) == 0 ? 0 : bad_range(opt, s, min, max);
}

static int
parse_u16(const char *opt, const char *s, uint16_t min, uint16_t max, uint16_t *out)
{
	return ex_parse_u16(s, min, max, out) == 0 ? 0 : bad_range(opt, s, min, max);
}

static int
parse_bytes(const char *opt, const char *s, uint64_t *out)
{
	if (ex_parse_bytes(s, out) != 0)
		return bad_value(opt, s, "a byte count, K/M/G suffix allowed");
	return 0;
}

static int
parse_double(const char *opt, const char *s, double min, double max, double *out)
{
	char expect[64];

	if (ex_parse_double(s, min, max, out) == 0)
		return 0;
	snprintf(expect, sizeof(expect), "a number in %g..%g", min, max);
	return bad_value(opt, s, expect);
}

static int
parse_ipv4(const char *opt, const char *s, uint32_t *out)
{
	if (ex_parse_ipv4(s, out) != 0)
		return bad_value(opt, s, "A.B.C.D");
	return 0;
}

static int
parse_ip_prefix(const char *s, struct tp_opts *o)
{
	char addr[32];
	const char *len_s;
	uint64_t len = 24;

	if (ex_split(s, '/', addr, sizeof(addr), &len_s) != 0)
		return bad_value("ip", s, "A.B.C.D[/len]");
	if (len_s != NULL && parse_u64("ip", len_s, 1, 32, &len) != 0)
		return -1;
	if (parse_ipv4("ip", addr, &o->ip) != 0)
		return -1;
	o->netmask = ex_netmask((unsigned int)len);
	o->has_ip = 1;
	return 0;
}

static int
parse_connect(const char *s, struct tp_opts *o)
{
	char addr[32];
	const char *port_s;

	if (ex_split(s, ':', addr, sizeof(addr), &port_s) != 0 || port_s == NULL)
		return bad_value("connect", s, "A.B.C.D:PORT");
	if (parse_ipv4("connect", addr, &o->connect_ip) != 0 ||
	    parse_u16("connect", port_s, 1, 65535, &o->connect_port) != 0)
		return -1;
	o->has_connect = 1;
	return 0;
}

static int
parse_mac(const char *opt, const char *s, struct rte_ether_addr *mac)
{
	if (rte_ether_unformat_addr(s, mac) != 0)
		return bad_value(opt, s, "XX:XX:XX:XX:XX:XX");
	return 0;
}

/* Calls item(ctx, key, value) for each "key=value" of the comma-separated
 * list @s of option @opt; 0, or -1 at the first malformed or refused item. */
static int
parse_kv_list(const char *opt, const char *s,
	      int (*item)(void *ctx, const char *key, const char *value), void *ctx)
{
	char *copy, *tok, *save = NULL, *eq;
	int ret = -1;

	copy = strdup(s);
	if (copy == NULL)
		return bad_value(opt, s, "k=v[,k=v...]");
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (eq == NULL) {
			bad_value(opt, tok, "k=v");
			goto out;
		}
		*eq++ = '\0';
		if (item(ctx, tok, eq) != 0)
			goto out;
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

/* One key of --fault. */
static int
fault_item(void *ctx, const char *key, const char *value)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "rx-drop", offsetof(struct pst_fault_config, rx_drop) },
		{ "rx-dup", offsetof(struct pst_fault_config, rx_dup) },
		{ "rx-reorder", offsetof(struct pst_fault_config, rx_reorder) },
		{ "rx-corrupt", offsetof(struct pst_fault_config, rx_corrupt) },
		{ "tx-drop", offsetof(struct pst_fault_config, tx_drop) },
		{ "tx-dup", offsetof(struct pst_fault_config, tx_dup) },
		{ "tx-reorder", offsetof(struct pst_fault_config, tx_reorder) },
		{ "tx-corrupt", offsetof(struct pst_fault_config, tx_corrupt) },
	};
	struct pst_fault_config *f = ctx;
	char name[32];
	unsigned int i;

	if (strcmp(key, "seed") == 0)
		return parse_u64("fault seed", value, 0, UINT64_MAX, &f->seed);
	for (i = 0; i < RTE_DIM(keys); i++)
		if (strcmp(key, keys[i].key) == 0)
			break;
	if (i == RTE_DIM(keys)) {
		fprintf(stderr, "%s: unknown --fault key '%s' (seed, rx-drop, rx-dup, "
			"rx-reorder, rx-corrupt, tx-drop, tx-dup, tx-reorder, tx-corrupt)\n",
			TP_PROG, key);
		return -1;
	}
	snprintf(name, sizeof(name), "fault %s", keys[i].key);
	return parse_double(name, value, 0.0, 1.0, (double *)((char *)f + keys[i].off));
}

/* --fault seed=1,rx-drop=0.01,...: any subset of the keys; a repeated key
 * takes its last value, as a repeated option does. */
static int
parse_faults(const char *s, struct pst_fault_config *f)
{
	return parse_kv_list("fault", s, fault_item, f);
}

/* An EtherType, in hex (0x86dd) as usually written, or decimal. */
static int
parse_ethertype(const char *s, uint16_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v > UINT16_MAX || s[0] == '-')
		return bad_value("log-filter ethertype", s, "0x0000..0xffff");
	*out = (uint16_t)v;
	return 0;
}

/* One key of --log-filter. */
static int
log_filter_item(void *ctx, const char *key, const char *value)
{
	struct tp_log_filter *f = ctx;
	uint16_t v;

	if (strcmp(key, "ethertype") == 0) {
		if (parse_ethertype(value, &v) != 0)
			return -1;
		f->ethertype = v;
		f->has_ethertype = 1;
	} else if (strcmp(key, "proto") == 0) {
		if (parse_u16("log-filter proto", value, 0, 255, &v) != 0)
			return -1;
		f->proto = (uint8_t)v;
		f->has_proto = 1;
	} else if (strcmp(key, "port") == 0) {
		if (parse_u16("log-filter port", value, 0, UINT16_MAX, &v) != 0)
			return -1;
		f->l4_port = v;
		f->has_l4_port = 1;
	} else {
		fprintf(stderr, "%s: unknown --log-filter key '%s' (ethertype, proto, port)\n",
			TP_PROG, key);
		return -1;
	}
	return 0;
}

/* --log-filter ethertype=0x0800,proto=17,port=53: any subset. */
static int
parse_log_filter(const char *s, struct tp_log_filter *f)
{
	return parse_kv_list("log-filter", s, log_filter_item, f);
}

static int
parse_mode(const char *s, enum tp_mode *mode)
{
	int i;

	for (i = 0; i < TP_MODE_MAX; i++)
		if (strcmp(s, engines[i]->name) == 0) {
			*mode = (enum tp_mode)i;
			return 0;
		}
	return bad_value("forward-mode", s,
			 "io, macswap, rxonly, txonly, icmpecho, tcp-echo, tcp-sink, tcp-client "
			 "or log");
}

enum {
	OPT_MODE = 256, OPT_STATS_PERIOD, OPT_POOL_FILE, OPT_POOL_BUFS, OPT_PERSIST,
	OPT_NB_MBUFS, OPT_RXD, OPT_TXD, OPT_BURST, OPT_PORT, OPT_IP, OPT_GATEWAY,
	OPT_PEER_MAC, OPT_PEER_IP, OPT_TCP_PORT, OPT_CONNECT, OPT_CLIENT_BYTES,
	OPT_NO_PERSIST, OPT_KEEP, OPT_FAULT, OPT_BUSY_POLL, OPT_MAX_TIME,
	OPT_TXONLY_DST_MAC, OPT_TXONLY_LEN, OPT_JSON, OPT_PEER_PORT, OPT_LOG_SEGMENTS,
	OPT_LOG_FILTER, OPT_LOG_DISCARD, OPT_FAREWELL_KEY_FILE,
};

/* One option with its value (NULL for flags) into @o.
 * @return 0, or -1 on a bad value (already reported). */
static int
parse_option(int opt, const char *arg, struct tp_opts *o)
{
	switch (opt) {
	case OPT_MODE:
		return parse_mode(arg, &o->mode);
	case OPT_STATS_PERIOD:
		return parse_double("stats-period", arg, 0, 86400, &o->stats_period);
	case OPT_POOL_FILE:
		o->pool_file = arg;
		o->pool_file_is_default = 0;
		return arg[0] == '\0' ? bad_value("pool-file", arg, "a path") : 0;
	case OPT_POOL_BUFS:
		return parse_u64("pool-bufs", arg, 1, PST_POOL_BUF_COUNT_MAX, &o->pool_bufs);
	case OPT_PERSIST:
		if (pst_persist_mode_parse(arg, &o->persist) != 0)
			return bad_value("persist", arg, "auto, flush, msync or fence");
		return 0;
	case OPT_NB_MBUFS:
		return parse_u32("nb-mbufs", arg, 1, 1u << 24, &o->nb_mbufs);
	case OPT_RXD:
		return parse_u16("rxd", arg, 1, UINT16_MAX, &o->rxd);
	case OPT_TXD:
		return parse_u16("txd", arg, 1, UINT16_MAX, &o->txd);
	case OPT_BURST:
		return parse_u16("burst", arg, 1, TP_MAX_BURST, &o->burst);
	case OPT_PORT:
		return parse_u16("port", arg, 0, UINT16_MAX - 1, &o->port);
	case OPT_IP:
		return parse_ip_prefix(arg, o);
	case OPT_GATEWAY:
		return parse_ipv4("gateway", arg, &o->gateway);
	case OPT_PEER_MAC:
		o->has_peer_mac = 1;
		return parse_mac("peer-mac", arg, &o->peer_mac);
	case OPT_PEER_IP:
		o->has_peer_ip = 1;
		return parse_ipv4("peer-ip", arg, &o->peer_ip);
	case OPT_TCP_PORT:
		return parse_u16("tcp-port", arg, 1, 65535, &o->tcp_port);
	case OPT_CONNECT:
		return parse_connect(arg, o);
	case OPT_CLIENT_BYTES:
		return parse_bytes("client-bytes", arg, &o->client_bytes);
	case OPT_NO_PERSIST:
		o->sink_persist = 0;
		return 0;
	case OPT_KEEP:
		o->sink_keep = 1;
		return 0;
	case OPT_FAULT:
		return parse_faults(arg, &o->faults);
	case OPT_BUSY_POLL:
		o->busy_poll = 1;
		return 0;
	case OPT_MAX_TIME:
		return parse_double("max-time", arg, 0, 1e7, &o->max_time);
	case OPT_TXONLY_DST_MAC:
		return parse_mac("txonly-dst-mac", arg, &o->txonly_dst);
	case OPT_TXONLY_LEN:
		return parse_u16("txonly-len", arg, 42, 1514, &o->txonly_len);
	case OPT_JSON:
		o->json = arg;
		return 0;
	case OPT_PEER_PORT:
		o->has_peer_port = 1;
		return parse_u16("peer-port", arg, 0, UINT16_MAX - 1, &o->peer_port);
	case OPT_LOG_SEGMENTS:
		return parse_u32("log-segments", arg, 1, UINT32_MAX, &o->log_segments);
	case OPT_LOG_FILTER:
		return parse_log_filter(arg, &o->log_filter);
	case OPT_LOG_DISCARD:
		o->log_discard = 1;
		return 0;
	case OPT_FAREWELL_KEY_FILE:
		return read_key_file(arg, o);
	case 'a':
		/* Forwarding always starts at once. */
		return 0;
	}
	return -1;
}

/* What one option cannot say alone: the options a mode needs, the ones
 * that go together, whether a new pool holds the mbufs.
 * @return 0, or -1 (reported). */
static int
check_opts(const struct tp_opts *o)
{
	const struct tp_engine *engine = engines[o->mode];

	if (engine->uses_stack && !o->has_ip) {
		fprintf(stderr, "%s: --forward-mode=%s needs --ip A.B.C.D[/len]\n",
			TP_PROG, engine->name);
		return -1;
	}
	if (o->mode == TP_MODE_TCP_CLIENT && !o->has_connect) {
		fprintf(stderr, "%s: --forward-mode=tcp-client needs --connect A.B.C.D:PORT\n",
			TP_PROG);
		return -1;
	}
	if (o->mode == TP_MODE_LOG && (!o->has_peer_port || o->peer_port == o->port)) {
		fprintf(stderr, "%s: --forward-mode=log needs --peer-port N, another port "
			"than --port\n", TP_PROG);
		return -1;
	}
	if (o->mode == TP_MODE_LOG && o->pool_file_is_default) {
		fprintf(stderr, "%s: --forward-mode=log needs --pool-file (the log lives "
			"there, for paste-pcap)\n", TP_PROG);
		return -1;
	}
	if (o->has_peer_ip != o->has_peer_mac) {
		fprintf(stderr, "%s: --peer-mac and --peer-ip go together\n", TP_PROG);
		return -1;
	}
	/* An existing pool file brings its own count; a new one must fit. */
	if (o->pool_file_is_default && o->nb_mbufs > o->pool_bufs) {
		fprintf(stderr, "%s: --nb-mbufs %u exceeds --pool-bufs %" PRIu64 "\n",
			TP_PROG, o->nb_mbufs, o->pool_bufs);
		return -1;
	}
	if (!engine->uses_stack &&
	    (o->has_ip || o->has_peer_ip || o->has_connect || o->gateway != 0))
		fprintf(stderr, "%s: note: stack options are ignored in %s mode\n",
			TP_PROG, engine->name);
	return 0;
}

/*
 * Parse the application's options (what follows "--").
 * @return 0, 1 after --help, -1 on a bad command line (already reported).
 */
static int
parse_args(int argc, char **argv, struct tp_opts *o)
{
	static const struct option longopts[] = {
		{ "forward-mode", required_argument, NULL, OPT_MODE },
		{ "stats-period", required_argument, NULL, OPT_STATS_PERIOD },
		{ "pool-file", required_argument, NULL, OPT_POOL_FILE },
		{ "pool-bufs", required_argument, NULL, OPT_POOL_BUFS },
		{ "persist", required_argument, NULL, OPT_PERSIST },
		{ "nb-mbufs", required_argument, NULL, OPT_NB_MBUFS },
		{ "rxd", required_argument, NULL, OPT_RXD },
		{ "txd", required_argument, NULL, OPT_TXD },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "gateway", required_argument, NULL, OPT_GATEWAY },
		{ "peer-mac", required_argument, NULL, OPT_PEER_MAC },
		{ "peer-ip", required_argument, NULL, OPT_PEER_IP },
		{ "tcp-port", required_argument, NULL, OPT_TCP_PORT },
		{ "connect", required_argument, NULL, OPT_CONNECT },
		{ "client-bytes", required_argument, NULL, OPT_CLIENT_BYTES },
		{ "no-persist", no_argument, NULL, OPT_NO_PERSIST },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "fault", required_argument, NULL, OPT_FAULT },
		{ "busy-poll", no_argument, NULL, OPT_BUSY_POLL },
		{ "max-time", required_argument, NULL, OPT_MAX_TIME },
		{ "txonly-dst-mac", required_argument, NULL, OPT_TXONLY_DST_MAC },
		{ "txonly-len", required_argument, NULL, OPT_TXONLY_LEN },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "peer-port", required_argument, NULL, OPT_PEER_PORT },
		{ "log-segments", required_argument, NULL, OPT_LOG_SEGMENTS },
		{ "log-filter", required_argument, NULL, OPT_LOG_FILTER },
		{ "log-discard", no_argument, NULL, OPT_LOG_DISCARD },
		{ "farewell-key-file", required_argument, NULL, OPT_FAREWELL_KEY_FILE },
		{ "auto-start", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* Our messages, not getopt's. */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":ah", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(argv[0]);
			return 1;
		}
		if (c == ':') {
			fprintf(stderr, "%s: option '%s' needs a value\n", TP_PROG,
				argv[optind - 1]);
			return -1;
		}
		if (c == '?') {
			fprintf(stderr, "%s: unknown option '%s' (see --help)\n", TP_PROG,
				argv[optind - 1]);
			return -1;
		}
		if (parse_option(c, optarg, o) != 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", TP_PROG, argv[optind]);
		return -1;
	}
	return check_opts(o);
}

/* Open the pool file if it exists, else create it. */
static struct pst_pool *
pool_open_or_create(const struct tp_opts *o)
{
	struct pst_pool_config cfg;
	struct pst_pool *pool;

	memset(&cfg, 0, sizeof(cfg));
	cfg.path = o->pool_file;
	cfg.persist_mode = o->persist;
	pool = ex_pool_open_or_create(&cfg, o->pool_bufs);
	if (pool == NULL)
		fprintf(stderr, "%s: pool file %s refused: %s (%s)\n", TP_PROG,
			o->pool_file, pst_errormsg(), pst_strerror(pst_errno));
	return pool;
}

/*
 * The application's options are checked before the EAL starts, so a bad
 * command line fails fast with status 2 whatever the EAL needs.
 * *@eal_argc gets the number of arguments before "--" (the EAL's).
 * @return 0, 1 after --help, -1 on a bad command line (already reported).
 */
static int
parse_app_args(int argc, char **argv, struct tp_opts *o, int *eal_argc)
{
	char *saved;
	int i, ret;

	*eal_argc = argc;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			*eal_argc = i;
			break;
		}
	if (*eal_argc == argc)
		return 0;
	/* getopt_long wants the program name in front. */
	saved = argv[*eal_argc];
	argv[*eal_argc] = argv[0];
	ret = parse_args(argc - *eal_argc, argv + *eal_argc, o);
	argv[*eal_argc] = saved;
	return ret;
}

/* @return 0, or the exit status of a failed start (EAL cleaned up). */
static int
eal_start(int eal_argc, char **argv)
{
	int ret = rte_eal_init(eal_argc, argv);

	if (ret < 0) {
		fprintf(stderr, "%s: EAL init failed: %s\n", TP_PROG, rte_strerror(rte_errno));
		return rte_errno == EINVAL ? EXIT_USAGE : EXIT_FAILURE;
	}
	if (ret + 1 < eal_argc) {
		fprintf(stderr, "%s: unexpected argument '%s' before '--'\n", TP_PROG,
			argv[ret + 1]);
		rte_eal_cleanup();
		return EXIT_USAGE;
	}
	return 0;
}

/* Open or create the pool and note where its buffers are (the engines'
 * zero-copy checks). */
static int
pool_start(struct tp_ctx *ctx)
{
	const struct tp_opts *o = ctx->opt;
	struct pst_pool_info info;

	ctx->pool = pool_open_or_create(o);
	if (ctx->pool == NULL)
		return -1;
	pst_pool_info(ctx->pool, &info);
	ctx->bufs_lo = (uintptr_t)info.bufs;
	ctx->bufs_hi = ctx->bufs_lo + info.buf_count * info.buf_size;
	printf("%s: pool %s: %" PRIu64 " buffers x %u B, persist %s%s\n", TP_PROG,
	       o->pool_file, info.buf_count, info.buf_size,
	       pst_persist_mode_name(info.persist_mode), info.is_pmem ? " (pmem)" : "");
	return 0;
}

static double
tsc_to_s(uint64_t cycles)
{
	return (double)cycles / (double)rte_get_tsc_hz();
}

/*
 * The forwarding loop on the main lcore: poll, and between polls print the
 * periodic statistics and watch the clock. The stack modes sleep inside
 * pst_stack_poll() when idle; the raw modes back off here.
 */
static enum tp_end
lcore_main(struct tp_ctx *ctx, struct tp_stats *st)
{
	const struct tp_opts *o = ctx->opt;
	uint64_t hz = rte_get_tsc_hz();
	uint64_t start = rte_rdtsc(), now, next_stats = UINT64_MAX;
	uint64_t deadline = UINT64_MAX;
	unsigned int idle = 0;
	int n;

	if (o->stats_period > 0)
		next_stats = start + (uint64_t)(o->stats_period * hz);
	if (o->max_time > 0)
		deadline = start + (uint64_t)(o->max_time * hz);

	while (!ex_force_quit && !ctx->done) {
		n = ctx->engine->poll(ctx);
		if (n < 0) {
			fprintf(stderr, "%s: poll failed: %s\n", TP_PROG, pst_strerror(n));
			return TP_END_ERROR;
		}
		now = rte_rdtsc();
		/* The final block follows at once: no periodic one just before. */
		if (now >= deadline)
			return TP_END_TIME;
		if (now >= next_stats) {
			tp_stats_show(st, ctx);
			next_stats += (uint64_t)(o->stats_period * hz);
			if (next_stats < now)
				next_stats = now + (uint64_t)(o->stats_period * hz);
		}
		if (ctx->engine->uses_stack || o->busy_poll)
			continue;
		if (n > 0) {
			idle = 0;
		} else if (++idle < IDLE_SPINS) {
			rte_pause();
		} else {
			/* A busy-polling lcore owns a whole core; on a shared test
			 * machine an idle port must give it back. */
			rte_delay_us_sleep(IDLE_SLEEP_US);
		}
	}
	return ctx->done ? TP_END_DONE : TP_END_SIGNAL;
}

/* Forward until the loop ends, then report: the final statistics block,
 * the engine's summary, the JSON file, the run time. Sets ctx->status. */
static void
run_and_report(struct tp_ctx *ctx)
{
	const char *json = ctx->opt->json;
	struct tp_stats st;
	enum tp_end why;

	tp_stats_init(&st, ctx);
	ctx->status = EXIT_SUCCESS;
	why = lcore_main(ctx, &st);
	if (why == TP_END_ERROR)
		ctx->status = EXIT_FAILURE;
	if (ctx->engine->end != NULL)
		ctx->engine->end(ctx, why);

	tp_stats_show(&st, ctx);
	if (ctx->engine->summary != NULL)
		ctx->engine->summary(ctx);
	if (json != NULL && tp_stats_json(&st, ctx, json) != 0)
		ctx->status = EXIT_FAILURE;
	printf("%s: ran %.3f s\n", TP_PROG, tsc_to_s(rte_rdtsc() - st.start_tsc));
}

int
main(int argc, char **argv)
{
	static char default_pool[64];
	struct tp_opts o = {
		.mode = TP_MODE_IO,
		.pool_bufs = 65536,
		.log_segments = 64,
		.persist = PST_PERSIST_AUTO,
		.nb_mbufs = 4096,
		.rxd = 1024,
		.txd = 1024,
		.burst = 32,
		.tcp_port = 5001,
		.client_bytes = 1u << 20,
		.sink_persist = 1,
		.txonly_dst = {{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 }},
		.txonly_len = 64,
	};
	struct tp_ctx ctx;
	char macs[18], ips[16];
	int eal_argc, ret, set_up = 0;

	/* Tests read stdout through a pipe as the run goes. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	snprintf(default_pool, sizeof(default_pool), "/dev/shm/paste-testpmd-%ld.pool",
		 (long)getpid());
	o.pool_file = default_pool;
	o.pool_file_is_default = 1;
	if (ex_help_requested(argc, argv)) {
		usage(argv[0]);
		return EXIT_SUCCESS;
	}
	ret = parse_app_args(argc, argv, &o, &eal_argc);
	if (ret != 0)
		return ret > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	ret = eal_start(eal_argc, argv);
	if (ret != 0)
		return ret;

	memset(&ctx, 0, sizeof(ctx));
	ctx.opt = &o;
	ctx.engine = engines[o.mode];
	ctx.port = o.port;
	ctx.status = EXIT_FAILURE;
	ex_catch_quit_signals();

	if (!rte_eth_dev_is_valid_port(o.port)) {
		fprintf(stderr, "%s: no ethdev port %u (%u available; give a --vdev or a device)\n",
			TP_PROG, o.port, rte_eth_dev_count_avail());
		goto out;
	}
	if (pool_start(&ctx) != 0)
		goto out;
	set_up = 1;
	if (ctx.engine->setup(&ctx) != 0)
		goto out;
	printf("%s: ready mode=%s port=%u mac=%s ip=%s\n", TP_PROG, ctx.engine->name,
	       ctx.port, tp_mac_str(&ctx.mac, macs),
	       ctx.engine->uses_stack ? tp_ip_str(o.ip, ips) : "-");

	run_and_report(&ctx);
out:
	if (set_up && ctx.engine->teardown != NULL)
		ctx.engine->teardown(&ctx);
	pst_pool_close(ctx.pool);
	if (ctx.pool != NULL && o.pool_file_is_default)
		unlink(o.pool_file);
	rte_eal_cleanup();
	printf("%s: exit\n", TP_PROG);
	return ctx.status;
}
