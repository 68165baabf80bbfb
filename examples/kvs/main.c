/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a durable key-value server whose values stay where the NIC put
 * them. RESP2 (redis-cli, redis-benchmark) and HTTP/1.1 (curl, wrk) on one
 * lcore, run to completion; every mutation is acknowledged only after its
 * value and index entry are flushed and drained.
 *
 *   paste-kvs [EAL args] -- --ip A.B.C.D[/len] [options]
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>

#include "cluster.h"
#include "example_util.h"
#include "main_shared.h"
#include "server.h"

/* The exit status after a failed drain: sysexits.h's EX_IOERR, so that a
 * supervisor (scripts/kvs-cluster.sh) and an operator can tell it from a
 * crash or a bad option. */
#define KVS_EXIT_DRAIN_FAILED 74
/* How long a stopped server keeps answering with resets. */
#define KVS_FAILED_DRAIN_LINGER_S 0.5

/* Long options without a letter of their own. */
#define OPT_STAGE_CYCLES 0x101

struct kvs_opts {
	struct kv_main_opts common;     /* the options linux-kvs has too */
	int copy;
	int stage_cycles;
	uint32_t ip, netmask;
	uint16_t port_id;
	unsigned int n_mbufs;
	enum pst_idle_mode idle;
	enum pst_tx_zero_copy tx_zc;
	const char *peer_mac, *peer_ip;
	const char *cluster_config, *cluster_node;  /* cluster mode: both */
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: paste-kvs [EAL args] -- --ip A.B.C.D[/len] [options]\n"
		KV_MAIN_INDEX_USAGE
		"  --copy                   copy values out of packet buffers (baseline)\n"
		"  --pool-file F            pool file (default /dev/shm/paste-kvs.pool)\n"
		"  --pool-bufs N            buffers when creating the pool (default 262144)\n"
		KV_MAIN_PERSIST_USAGE
		"  --resp-port P            RESP port (default 6379, 0: off)\n"
		"  --http-port P            HTTP port (default 8080, 0: off)\n"
		"  --port N                 DPDK port id (default 0)\n"
		"  --mbufs N                RX mbufs (default 4096)\n"
		"  --max-conns N            connection limit (default 1024)\n"
		KV_MAIN_LIMITS_USAGE
		KV_MAIN_AUTH_USAGE
		"  --peer-ip A --peer-mac M static ARP entry\n"
		"  --idle sleep|nap|poll    when idle: sleep until a frame or a timer\n"
		"                           (RX interrupt, else a back-off to 1 ms;\n"
		"                           the default), nap 50 us at a time, or\n"
		"                           busy-poll (doc/operations.md)\n"
		"  --busy-poll              the same as --idle poll\n"
		"  --tx-zero-copy MODE      auto|on|off: GET replies attached to the TX\n"
		"                           mbufs or copied into the frame (default auto:\n"
		"                           copied on drivers that copy every frame anyway)\n"
		"  --stats-period S         print statistics every S seconds\n"
		"  --stage-cycles           also time each stage of a SET and print the\n"
		"                           cycles per SET of each on a 'stages:' line\n"
		"                           with the statistics (costs a few cycle-counter\n"
		"                           reads per SET)\n"
		"  --cluster-config F --cluster-node NAME\n"
		"                           a Redis Cluster node: NAME's slots of the\n"
		"                           slot map F (doc/kvs.md)\n");
}

static int
parse_idle(const char *s, enum pst_idle_mode *mode)
{
	static const char *const names[] = {
		[PST_IDLE_NAP] = "nap", [PST_IDLE_SLEEP] = "sleep", [PST_IDLE_POLL] = "poll",
	};
	int i = ex_parse_choice(s, names, sizeof(names) / sizeof(names[0]));

	if (i < 0)
		return -1;
	*mode = (enum pst_idle_mode)i;
	return 0;
}

static int
parse_tx_zero_copy(const char *s, enum pst_tx_zero_copy *mode)
{
	static const char *const names[] = {
		[PST_TX_ZC_AUTO] = "auto", [PST_TX_ZC_ON] = "on", [PST_TX_ZC_OFF] = "off",
	};
	int i = ex_parse_choice(s, names, sizeof(names) / sizeof(names[0]));

	if (i < 0)
		return -1;
	*mode = (enum pst_tx_zero_copy)i;
	return 0;
}

/* An option paste-kvs alone has. @return 0, or -1 (bad value or option). */
static int
parse_option(int opt, const char *arg, struct kvs_opts *o)
{
	switch (opt) {
	case 'i':
		return ex_parse_ipv4_prefix(arg, &o->ip, &o->netmask);
	case 'c':
		o->copy = 1;
		return 0;
	case OPT_STAGE_CYCLES:
		o->stage_cycles = 1;
		return 0;
	case 'p':
		return ex_parse_u16(arg, 0, UINT16_MAX, &o->port_id);
	case 'm':
		return ex_parse_u32(arg, 0, UINT32_MAX, &o->n_mbufs);
	case 'I':
		o->peer_ip = arg;
		return 0;
	case 'M':
		o->peer_mac = arg;
		return 0;
	case 'B':
		o->idle = PST_IDLE_POLL;
		return 0;
	case 'W':
		return parse_idle(arg, &o->idle);
	case 'Z':
		return parse_tx_zero_copy(arg, &o->tx_zc);
	case 'C':
		o->cluster_config = arg;
		return 0;
	case 'N':
		o->cluster_node = arg;
		return 0;
	default:
		return -1;
	}
}

static int
parse_args(int argc, char **argv, struct kvs_opts *o)
{
	static const struct option opts[] = {
		KV_MAIN_LONGOPTS,
		{ "ip", required_argument, NULL, 'i' },
		{ "copy", no_argument, NULL, 'c' },
		{ "stage-cycles", no_argument, NULL, OPT_STAGE_CYCLES },
		{ "port", required_argument, NULL, 'p' },
		{ "mbufs", required_argument, NULL, 'm' },
		{ "peer-ip", required_argument, NULL, 'I' },
		{ "peer-mac", required_argument, NULL, 'M' },
		{ "busy-poll", no_argument, NULL, 'B' },
		{ "idle", required_argument, NULL, 'W' },
		{ "tx-zero-copy", required_argument, NULL, 'Z' },
		{ "cluster-config", required_argument, NULL, 'C' },
		{ "cluster-node", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret, li = 0;

	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		ret = kv_main_parse_opt(&o->common, c, optarg);
		if (ret == 1)
			ret = parse_option(c, optarg, o);
		if (ret != 0) {
			/* getopt_long reported an unknown option itself;
			 * argv[optind - 1] would be the value when it came
			 * as a word of its own */
			if (c != '?')
				fprintf(stderr, "paste-kvs: bad value '%s' for --%s\n",
					optarg ? optarg : "", opts[li].name);
			usage(stderr);
			return -1;
		}
	}
	if ((o->cluster_config == NULL) != (o->cluster_node == NULL)) {
		fprintf(stderr, "paste-kvs: --cluster-config and --cluster-node go together\n");
		return -1;
	}
	if (optind < argc || o->ip == 0) {
		fprintf(stderr, "paste-kvs: %s\n", o->ip == 0 ? "--ip is required" :
			"unexpected argument");
		usage(stderr);
		return -1;
	}
	return 0;
}

static int
add_peer(struct pst_stack *stack, const struct kvs_opts *o)
{
	struct rte_ether_addr mac;
	uint32_t ip;

	if (ex_parse_ipv4(o->peer_ip, &ip) != 0 ||
	    rte_ether_unformat_addr(o->peer_mac, &mac) != 0 ||
	    pst_stack_add_arp(stack, ip, mac.addr_bytes) != 0) {
		fprintf(stderr, "paste-kvs: bad --peer-ip/--peer-mac\n");
		return -1;
	}
	return 0;
}

/* The stack on the port, with the peer's static ARP entry if given. */
static struct pst_stack *
stack_start(const struct kvs_opts *o, struct pst_pool *pool)
{
	const struct pst_stack_config cfg = {
		.port_id = o->port_id,
		.ipv4_addr = o->ip,
		.ipv4_netmask = o->netmask,
		.pool = pool,
		.n_mbufs = o->n_mbufs,
		.idle = o->idle,
		.tx_zero_copy = o->tx_zc,
		/* --send-timeout also bounds replies the stack has taken:
		 * a client whose window stays zero that long is reset there,
		 * and so is one that acknowledges less than 1 KiB/s of them
		 * (all of them, if fewer were outstanding) over that long. */
		.zero_window_timeout_ms = o->common.send_timeout <= 0 ? -1
			: o->common.send_timeout >= INT32_MAX / 1000.0 ? INT32_MAX
			: (int32_t)(o->common.send_timeout * 1000),
		.ack_progress_ms = o->common.send_timeout <= 0 ? -1
			: o->common.send_timeout >= INT32_MAX / 1000.0 ? INT32_MAX
			: (int32_t)(o->common.send_timeout * 1000),
	};
	struct pst_stack *stack = pst_stack_create(&cfg);

	if (stack == NULL) {
		fprintf(stderr, "paste-kvs: stack: %s\n", pst_errormsg());
		return NULL;
	}
	if (o->peer_ip != NULL && o->peer_mac != NULL && add_peer(stack, o) != 0) {
		pst_stack_close(stack);
		return NULL;
	}
	return stack;
}

/* The slot map, with this node's ports in it the ones it listens on: a
 * client redirected to another port would never reach it. */
static struct kv_cluster *
cluster_open(const struct kvs_opts *o)
{
	struct kv_cluster *cl = malloc(sizeof(*cl));
	const struct kv_cluster_node *self;
	char err[256];

	if (cl == NULL) {
		fprintf(stderr, "paste-kvs: out of memory\n");
		return NULL;
	}
	if (kv_cluster_load(cl, o->cluster_config, o->cluster_node, err, sizeof(err)) != 0) {
		fprintf(stderr, "paste-kvs: slot map %s: %s\n", o->cluster_config, err);
		goto fail;
	}
	self = &cl->nodes[cl->self];
	if (self->port != o->common.resp_port ||
	    (self->http_port != 0 && self->http_port != o->common.http_port)) {
		fprintf(stderr, "paste-kvs: slot map %s gives node '%s' ports %u/%u, "
			"it listens on %u/%u\n", o->cluster_config, self->name, self->port,
			self->http_port, o->common.resp_port, o->common.http_port);
		goto fail;
	}
	return cl;
fail:
	free(cl);
	return NULL;
}

/* --stage-cycles: where a SET's cycles go, per SET. The stack's stages
 * cover every request of the run, GETs too: they are per SET only in a
 * run of SETs. */
static void
print_stages(const struct kv_store *st, const struct pst_stack_stats *ss)
{
	const struct kv_stage_cycles *c = &st->stages;
	double n = st->sets > 0 ? (double)st->sets : 1;

	printf("stages: sets=%" PRIu64 " busy=%.0f rx=%.0f rx_burst=%.0f keep=%.0f arrive=%.0f"
	       " value=%.0f crc=%.0f"
	       " index=%.0f drain=%.0f tx_and_timers=%.0f (TSC cycles per SET)\n",
	       st->sets, (double)ss->busy_cycles / n, (double)ss->rx_cycles / n,
	       (double)ss->rx_burst_cycles / n, (double)c->keep / n, (double)c->arrive / n,
	       (double)c->value / n, (double)c->crc / n,
	       (double)c->index / n, (double)ss->drain_cycles / n,
	       ((double)ss->busy_cycles - (double)ss->rx_cycles - (double)ss->drain_cycles) / n);
}

static void
print_stats(const struct kv_server *srv)
{
	struct pst_stack_stats ss;

	pst_stack_stats(srv->stack, &ss);
	kv_main_print_counts(srv->store, &srv->exec, srv->n_conns, srv->accepted,
			     srv->refused);
	printf(" busy_cycles=%" PRIu64 " rx_nobufs=%" PRIu64 " lwip_asserts=%" PRIu64
	       " rx_packets=%" PRIu64 " tx_packets=%" PRIu64 " tx_dropped=%" PRIu64
	       " tx_ring_full=%" PRIu64
	       " rx_dropped=%" PRIu64 " tcp_retransmits=%" PRIu64 " idle_sleeps=%" PRIu64
	       " idle_intr_wakeups=%" PRIu64 " peer_farewells=%" PRIu64
	       " peer_farewells_refused=%" PRIu64 " tcp_segs=%" PRIu64 " pbufs=%" PRIu64
	       " ack_progress_aborts=%" PRIu64 "\n",
	       ss.busy_cycles, ss.rx_nobufs, ss.lwip_asserts, ss.rx_packets,
	       ss.tx_packets, ss.tx_dropped, ss.tx_ring_full, ss.rx_dropped, ss.tcp_retransmits,
	       ss.idle_sleeps, ss.idle_intr_wakeups, ss.peer_farewells,
	       ss.peer_farewells_refused, ss.lwip_tcp_segs, ss.lwip_pbufs,
	       ss.tcp_ack_progress_aborts);
	if (srv->store->stages_on)
		print_stages(srv->store, &ss);
}

/* A drain of the pool failed: the stack has stopped (fail-stop,
 * paste_stack.h), nothing of this batch or after it was acknowledged and
 * every connection was reset. Keep polling for a moment so that peers
 * whose reset was lost hear one again, then stop without another write
 * to the pool: what the medium holds is for recovery to decide. */
static void
stop_on_failed_drain(struct kv_server *srv, int ret)
{
	double until = ex_now_s() + KVS_FAILED_DRAIN_LINGER_S;

	fprintf(stderr, "paste-kvs: drain of the pool failed: %s (%s); stopping: the "
		"writes of this batch were not acknowledged, every connection is "
		"reset, and a restart recovers what the medium holds\n",
		strerror(-ret), pst_errormsg());
	while (ex_now_s() < until)
		(void)pst_stack_poll(srv->stack);
	print_stats(srv);
}

/* Poll until SIGINT or SIGTERM, with the clients' timeouts checked and
 * statistics every --stats-period. Returns 0, or the negative errno of a
 * failed drain. */
static int
serve(struct kv_server *srv, double stats_period, int sleeps)
{
	double next_stats = 0, now;
	unsigned int polls = 0;
	int ret;

	kv_server_tick(srv, ex_now_s());
	while (!ex_force_quit) {
		ret = pst_stack_poll(srv->stack);
		if (ret < 0) {
			stop_on_failed_drain(srv, ret);
			return ret;
		}
		kv_store_release_durable(srv->store);
		/* Reading the clock on every poll takes a visible share of the
		 * core: look at it every 1024 polls, and after every empty poll
		 * when those may have slept (1024 sleeps would make the
		 * clients' timeouts seconds late). */
		if ((++polls & 1023) != 0 && !(sleeps && ret == 0))
			continue;
		now = ex_now_s();
		kv_server_tick(srv, now);
		if (stats_period > 0 && now >= next_stats) {
			if (next_stats > 0)
				print_stats(srv);
			next_stats = now + stats_period;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct kvs_opts o = {
		.common = KV_MAIN_OPTS_DEFAULT("/dev/shm/paste-kvs.pool"),
		.n_mbufs = 4096,
		.idle = PST_IDLE_SLEEP,
	};
	struct kv_store store;
	struct kv_server srv = { .store = &store };
	struct kv_cluster *cluster = NULL;
	struct kv_auth auth = { 0 };
	struct pst_pool *pool;
	int ret, status = 1;

	if (ex_help_requested(argc, argv)) {
		usage(stdout);
		return 0;
	}
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "paste-kvs: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	if (parse_args(argc, argv, &o) != 0)
		goto out;
	if (kv_main_load_auth(&o.common, "paste-kvs", &auth) != 0) {
		status = 2;
		goto out;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.cluster_config != NULL && (cluster = cluster_open(&o)) == NULL)
		goto out;
	if (!rte_eth_dev_is_valid_port(o.port_id)) {
		fprintf(stderr, "paste-kvs: no DPDK port %u (give a --vdev or a NIC)\n", o.port_id);
		goto out;
	}
	pool = kv_main_open_store(&o.common, "paste-kvs",
				  (o.copy ? KV_STORE_COPY : 0) |
				  (o.stage_cycles ? KV_STORE_STAGES : 0) |
				  (cluster != NULL ? KV_STORE_SLOT_COUNTS : 0), &store);
	if (pool == NULL)
		goto out;
	srv.stack = stack_start(&o, pool);
	if (srv.stack == NULL)
		goto close_store;
	srv.max_conns = o.common.max_conns;
	srv.limits = o.common.limits;
	srv.output_limit = o.common.output_limit;
	srv.idle_timeout = o.common.idle_timeout;
	srv.request_timeout = o.common.request_timeout;
	srv.send_timeout = o.common.send_timeout;
	if (kv_server_listen(&srv, o.common.resp_port, o.common.http_port) != 0) {
		fprintf(stderr, "paste-kvs: listen: %s\n", pst_errormsg());
		goto close_stack;
	}
	srv.exec.cluster = cluster;
	srv.exec.auth = &auth;
	ex_catch_quit_signals();
	printf("paste-kvs: ready resp=%u http=%u index=%s values=%s drain_delay_us=%u"
	       " cluster=%s auth=%s\n", o.common.resp_port, o.common.http_port,
	       o.common.index->name, o.copy ? "copy" : "zero-copy", o.common.drain_delay_us,
	       cluster != NULL ? o.cluster_node : "off",
	       kv_auth_required(&auth) ? "required" : "off");

	if (o.idle == PST_IDLE_SLEEP) {
		struct pst_stack_stats ss;

		pst_stack_stats(srv.stack, &ss);
		printf("paste-kvs: idle: sleep, waking on %s\n", ss.idle_rx_intr ?
		       "the port's RX interrupt" : "a timer (the port has no RX interrupt)");
	}
	if (serve(&srv, o.common.stats_period, o.idle == PST_IDLE_SLEEP) < 0) {
		/* No teardown: closing the store and the pool would write to
		 * the file whose sync failed. _exit, not a return: what is
		 * left open is left on purpose, and no exit handler (a leak
		 * checker's among them) is to run over it. */
		fflush(stdout);
		_exit(KVS_EXIT_DRAIN_FAILED);
	}
	print_stats(&srv);
	status = 0;
close_stack:
	kv_exec_fini(&srv.exec);
	pst_stack_close(srv.stack);
close_store:
	kv_store_close(&store);
	pst_pool_close(pool);
out:
	kv_auth_fini(&auth);
	free(cluster);
	rte_eal_cleanup();
	return status;
}
