/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a durable key-value server whose values stay where the NIC put
 * them. RESP2 (redis-cli, redis-benchmark) and HTTP/1.1 (curl, wrk) on one
 * lcore, run to completion; every mutation is acknowledged only after its
 * value and index entry are flushed and drained.
 *
 *   paste-kvs [EAL args] -- --ip A.B.C.D[/len] [options]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "server.h"

struct kvs_opts {
	const char *pool_file;
	uint64_t pool_bufs;
	const struct kv_index_ops *index;
	int copy;
	uint32_t drain_delay_us;
	uint32_t ip, netmask;
	uint16_t port_id, resp_port, http_port;
	unsigned int n_mbufs, max_conns;
	double stats_period;
	int busy_poll;
	enum pst_tx_zero_copy tx_zc;
	enum pst_persist_mode persist;
	const char *peer_mac, *peer_ip;
};

static volatile int force_quit;

static void
on_signal(int sig)
{
	(void)sig;
	force_quit = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: paste-kvs [EAL args] -- --ip A.B.C.D[/len] [options]\n"
		"  --index wal|btree        persistent index (default wal)\n"
		"  --copy                   copy values out of packet buffers (baseline)\n"
		"  --pool-file F            pool file (default /dev/shm/paste-kvs.pool)\n"
		"  --pool-bufs N            buffers when creating the pool (default 262144)\n"
		"  --persist MODE           auto|flush|msync|fence (default flush)\n"
		"  --pm-drain-delay-us N    extra latency per drain, emulating slower PM\n"
		"  --resp-port P            RESP port (default 6379, 0: off)\n"
		"  --http-port P            HTTP port (default 8080, 0: off)\n"
		"  --port N                 DPDK port id (default 0)\n"
		"  --mbufs N                RX mbufs (default 4096)\n"
		"  --max-conns N            connection limit (default 1024)\n"
		"  --peer-ip A --peer-mac M static ARP entry\n"
		"  --busy-poll              never sleep when idle\n"
		"  --tx-zero-copy MODE      auto|on|off: GET replies attached to the TX\n"
		"                           mbufs or copied into the frame (default auto:\n"
		"                           copied on drivers that copy every frame anyway)\n"
		"  --stats-period S         print statistics every S seconds\n");
}

static int
parse_args(int argc, char **argv, struct kvs_opts *o)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "index", required_argument, NULL, 'x' },
		{ "copy", no_argument, NULL, 'c' },
		{ "pool-file", required_argument, NULL, 'f' },
		{ "pool-bufs", required_argument, NULL, 'b' },
		{ "persist", required_argument, NULL, 'P' },
		{ "pm-drain-delay-us", required_argument, NULL, 'd' },
		{ "resp-port", required_argument, NULL, 'r' },
		{ "http-port", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "mbufs", required_argument, NULL, 'm' },
		{ "max-conns", required_argument, NULL, 'n' },
		{ "peer-ip", required_argument, NULL, 'I' },
		{ "peer-mac", required_argument, NULL, 'M' },
		{ "busy-poll", no_argument, NULL, 'B' },
		{ "tx-zero-copy", required_argument, NULL, 'Z' },
		{ "stats-period", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	char *end, *slash;
	struct in_addr a;
	unsigned long v;
	int c, len;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		errno = 0;
		end = NULL;
		switch (c) {
		case 'i':
			slash = strchr(optarg, '/');
			len = slash ? atoi(slash + 1) : 24;
			if (slash)
				*slash = '\0';
			if (inet_pton(AF_INET, optarg, &a) != 1 || len < 1 || len > 32)
				goto bad;
			o->ip = ntohl(a.s_addr);
			o->netmask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
			continue;
		case 'x':
			if (strcmp(optarg, "wal") == 0)
				o->index = &kv_index_wal;
			else if (strcmp(optarg, "btree") == 0)
				o->index = &kv_index_btree;
			else
				goto bad;
			continue;
		case 'c':
			o->copy = 1;
			continue;
		case 'f':
			o->pool_file = optarg;
			continue;
		case 'P':
			if (pst_persist_mode_parse(optarg, &o->persist) != 0)
				goto bad;
			continue;
		case 'B':
			o->busy_poll = 1;
			continue;
		case 'Z':
			if (strcmp(optarg, "auto") == 0)
				o->tx_zc = PST_TX_ZC_AUTO;
			else if (strcmp(optarg, "on") == 0)
				o->tx_zc = PST_TX_ZC_ON;
			else if (strcmp(optarg, "off") == 0)
				o->tx_zc = PST_TX_ZC_OFF;
			else
				goto bad;
			continue;
		case 'I':
			o->peer_ip = optarg;
			continue;
		case 'M':
			o->peer_mac = optarg;
			continue;
		case 's':
			o->stats_period = strtod(optarg, &end);
			if (*end != '\0' || o->stats_period < 0)
				goto bad;
			continue;
		default:
			break;
		}
		if (optarg == NULL)
			goto bad;
		v = strtoul(optarg, &end, 10);
		if (errno != 0 || *end != '\0' || end == optarg)
			goto bad;
		switch (c) {
		case 'b':
			o->pool_bufs = v;
			break;
		case 'd':
			o->drain_delay_us = (uint32_t)v;
			break;
		case 'r':
			if (v > 65535)
				goto bad;
			o->resp_port = (uint16_t)v;
			break;
		case 'h':
			if (v > 65535)
				goto bad;
			o->http_port = (uint16_t)v;
			break;
		case 'p':
			o->port_id = (uint16_t)v;
			break;
		case 'm':
			o->n_mbufs = (unsigned int)v;
			break;
		case 'n':
			o->max_conns = (unsigned int)v;
			break;
		default:
			goto bad;
		}
	}
	if (optind < argc || o->ip == 0) {
		fprintf(stderr, "paste-kvs: %s\n", o->ip == 0 ? "--ip is required" :
			"unexpected argument");
		usage();
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "paste-kvs: bad value for option %s\n", argv[optind - 1]);
	usage();
	return -1;
}

static void
print_stats(const struct kv_server *srv, const struct pst_stack *stack)
{
	struct pst_stack_stats ss;
	struct pst_pool_stats ps;
	const struct kv_store *st = srv->store;

	pst_stack_stats(stack, &ss);
	pst_pool_stats(st->pool, &ps);
	printf("kvs: keys=%" PRIu64 " requests=%" PRIu64 " sets=%" PRIu64 " gets=%" PRIu64
	       " hits=%" PRIu64 " dels=%" PRIu64 " bad_requests=%" PRIu64
	       " bad_streams=%" PRIu64 " conns=%u accepted=%" PRIu64 " refused=%" PRIu64
	       " pool_free=%" PRIu64 " pool_kept=%" PRIu64 " drains=%" PRIu64
	       " busy_cycles=%" PRIu64 " rx_nobufs=%" PRIu64 " lwip_asserts=%" PRIu64
	       " rx_packets=%" PRIu64 " tx_packets=%" PRIu64 " tx_dropped=%" PRIu64
	       " rx_dropped=%" PRIu64 " tcp_retransmits=%" PRIu64 "\n",
	       kv_store_count(st), srv->exec.requests, st->sets, st->gets, st->hits, st->dels,
	       srv->exec.bad_requests, srv->exec.bad_streams, srv->n_conns, srv->accepted,
	       srv->refused, ps.free, ps.kept, ps.drains, ss.busy_cycles, ss.rx_nobufs,
	       ss.lwip_asserts, ss.rx_packets, ss.tx_packets, ss.tx_dropped, ss.rx_dropped,
	       ss.tcp_retransmits);
}

int
main(int argc, char **argv)
{
	struct kvs_opts o = {
		.pool_file = "/dev/shm/paste-kvs.pool",
		.pool_bufs = 262144,
		.index = &kv_index_wal,
		.resp_port = 6379,
		.http_port = 8080,
		.n_mbufs = 4096,
		.max_conns = 1024,
		.persist = PST_PERSIST_FLUSH,
	};
	struct pst_pool_config pool_cfg = { 0 };
	struct pst_stack_config cfg = { 0 };
	struct kv_store store;
	struct kv_server srv = { .store = &store };
	struct pst_pool *pool = NULL;
	struct pst_stack *stack = NULL;
	int ret, status = 1, store_open = 0;
	double next_stats = 0;
	unsigned int polls = 0;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "paste-kvs: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	if (parse_args(argc, argv, &o) != 0)
		goto out;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!rte_eth_dev_is_valid_port(o.port_id)) {
		fprintf(stderr, "paste-kvs: no DPDK port %u (give a --vdev or a NIC)\n", o.port_id);
		goto out;
	}
	pool_cfg.path = o.pool_file;
	pool_cfg.persist_mode = o.persist;
	pool_cfg.drain_delay_ns = o.drain_delay_us * 1000;
	pool = pst_pool_open(&pool_cfg);
	if (pool == NULL && pst_errno == ENOENT) {
		pool_cfg.buf_count = o.pool_bufs;
		pool = pst_pool_create(&pool_cfg);
	}
	if (pool == NULL) {
		fprintf(stderr, "paste-kvs: pool %s: %s\n", o.pool_file, pst_errormsg());
		goto out;
	}
	ret = kv_store_open(&store, pool, o.index, o.copy);
	if (ret != 0) {
		fprintf(stderr, "paste-kvs: index %s: %s (%s)\n", o.index->name,
			pst_strerror(ret), pst_errormsg());
		goto out;
	}
	store_open = 1;
	printf("paste-kvs: recovered %" PRIu64 " keys in %.3f s (index %s, %" PRIu64
	       " torn entries and %" PRIu64 " torn values dropped)\n",
	       store.recovered - store.torn_values, store.recovery_seconds, o.index->name,
	       store.report.torn, store.torn_values);

	cfg.port_id = o.port_id;
	cfg.ipv4_addr = o.ip;
	cfg.ipv4_netmask = o.netmask;
	cfg.pool = pool;
	cfg.n_mbufs = o.n_mbufs;
	cfg.busy_poll = o.busy_poll;
	cfg.tx_zero_copy = o.tx_zc;
	stack = pst_stack_create(&cfg);
	if (stack == NULL) {
		fprintf(stderr, "paste-kvs: stack: %s\n", pst_errormsg());
		goto out;
	}
	if (o.peer_ip != NULL && o.peer_mac != NULL) {
		struct in_addr a;
		uint8_t mac[6];

		if (inet_pton(AF_INET, o.peer_ip, &a) != 1 ||
		    sscanf(o.peer_mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
			   &mac[2], &mac[3], &mac[4], &mac[5]) != 6 ||
		    pst_stack_add_arp(stack, ntohl(a.s_addr), mac) != 0) {
			fprintf(stderr, "paste-kvs: bad --peer-ip/--peer-mac\n");
			goto out;
		}
	}
	srv.stack = stack;
	srv.max_conns = o.max_conns;
	ret = kv_server_listen(&srv, o.resp_port, o.http_port);
	if (ret != 0) {
		fprintf(stderr, "paste-kvs: listen: %s\n", pst_errormsg());
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("paste-kvs: ready resp=%u http=%u index=%s values=%s drain_delay_us=%u\n",
	       o.resp_port, o.http_port, o.index->name, o.copy ? "copy" : "zero-copy",
	       o.drain_delay_us);
	while (!force_quit) {
		if (pst_stack_poll(stack) < 0) {
			fprintf(stderr, "paste-kvs: drain failed: %s\n", pst_errormsg());
			break;
		}
		/* clock_gettime() in every poll cost a tenth of the core. */
		if (o.stats_period > 0 && (++polls & 1023) == 0 && now_s() >= next_stats) {
			if (next_stats > 0)
				print_stats(&srv, stack);
			next_stats = now_s() + o.stats_period;
		}
	}
	print_stats(&srv, stack);
	status = 0;
out:
	kv_exec_fini(&srv.exec);
	pst_stack_close(stack);
	if (store_open)
		kv_store_close(&store);
	pst_pool_close(pool);
	rte_eal_cleanup();
	return status;
}
