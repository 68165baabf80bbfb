/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen's command line (after the EAL's "--"). redis-benchmark's
 * letters where it has one: -t tests, -c connections, -P pipeline depth,
 * -d value size, -n requests, -r keyspace.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_util.h"
#include "loadgen.h"

static const char *const op_names[LG_OP_MAX] = {
	[LG_OP_SET] = "set", [LG_OP_GET] = "get", [LG_OP_POST] = "post", [LG_OP_HGET] = "hget",
};

const char *
lg_op_name(enum lg_op op)
{
	return op < LG_OP_MAX ? op_names[op] : "?";
}

int
lg_op_is_http(enum lg_op op)
{
	return op == LG_OP_POST || op == LG_OP_HGET;
}

const char *
lg_ip_str(uint32_t ip, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
		 ip & 0xff);
	return buf;
}

void
lg_usage(void)
{
	printf("usage: %s EAL-args -- --ip A.B.C.D[/len] --server A.B.C.D [options]\n"
	       "       %s EAL-args -- --ip A.B.C.D[/len] --respond [options]\n"
	       "  --server A.B.C.D     the server to load (paste-kvs, a responder)\n"
	       "  -t, --tests LIST     set, get (RESP), post, hget (HTTP), comma-separated,\n"
	       "                       run in turn on fresh connections (default set,get);\n"
	       "                       get and hget first store every key of the keyspace\n"
	       "  -c N                 connections (default 50, max %u)\n"
	       "  -P N                 requests sent at once per connection; the next\n"
	       "                       ones when all are answered (default 1, max %u)\n"
	       "  -d N                 value bytes (default 64, max %u); a value carries its\n"
	       "                       key and version and every GET's is checked byte for\n"
	       "                       byte (GETs expect what their test's load wrote)\n"
	       "  -n N                 requests per test (default 100000; 0 with --duration)\n"
	       "  --duration S         stop sending after S seconds of a test\n"
	       "  -r, --keyspace N     random keys key:000000000000..N-1 (default 10000)\n"
	       "  --auto-shape         choose -c, -P and -r (those not given) for -d: in\n"
	       "                       flight c x P x (d + 64) <= 1/16 of the smaller pool\n"
	       "                       (--pool-bufs, --server-bufs; %u B a buffer), c <= 16\n"
	       "                       first, then P <= 32; stored r x d in whole buffers\n"
	       "                       <= 1/4 of --server-bufs, r <= 10000; prints them\n"
	       "  --server-bufs N      the server's pool buffers, for --auto-shape\n"
	       "                       (default 262144: paste-kvs's default)\n"
	       "  --seed N             the random keys' seed\n"
	       "  --no-load            get/hget: the keys are stored already (an earlier\n"
	       "                       run with the same -r and -d): measure the GETs alone\n"
	       "  --max-time S         fail if the whole run takes longer (default 60)\n"
	       "  --timeout S          fail when no reply comes for S seconds (default 10)\n"
	       "  --json F             the results as JSON\n"
	       "  --respond            answer RESP (+OK, GET: the -d byte value the load\n"
	       "                       writes to the key) and HTTP (200) requests instead:\n"
	       "                       the generator's ceiling\n"
	       "  --respond-wrong W    ... with wrong values: key (the next key's), version\n"
	       "                       (version 1's) or byte:N (byte N flipped), to see\n"
	       "                       the checks fail\n"
	       "  --resp-port P, --http-port P   (default 6379, 8080)\n"
	       "  --gateway A.B.C.D    default gateway\n"
	       "  --port N             DPDK port (default 0)\n"
	       "  --pool-file F        pool file (default /dev/shm/paste-loadgen-<pid>.pool,\n"
	       "                       removed at exit)\n"
	       "  --pool-bufs N        buffers of a new pool (default 65536)\n"
	       "  --mbufs N            RX mbufs (default 4096)\n"
	       "  --busy-poll          never sleep when idle\n"
	       "Exit status: 0 every reply as expected, 1 a wrong reply, a connection\n"
	       "failure or a timeout, 2 a bad command line.\n",
	       LG_PROG, LG_PROG, LG_CONNS_MAX, LG_PIPELINE_MAX, LG_VALUE_MAX, LG_SHAPE_BUF_BYTES);
}

static int
bad(const char *opt, const char *val, const char *expect)
{
	fprintf(stderr, "%s: bad value '%s' for %s (expected %s)\n", LG_PROG, val, opt, expect);
	return -1;
}

static int
parse_tests(const char *s, struct lg_opts *o)
{
	char buf[128], *tok, *save = NULL;
	int i;

	if (strlen(s) >= sizeof(buf))
		return bad("--tests", s, "a short list");
	snprintf(buf, sizeof(buf), "%s", s);
	o->n_tests = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		i = ex_parse_choice(tok, op_names, LG_OP_MAX);
		if (i < 0)
			return bad("--tests", tok, "set, get, post or hget");
		if (o->n_tests == LG_TESTS_MAX)
			return bad("--tests", s, "at most 8 tests");
		o->tests[o->n_tests++] = (enum lg_op)i;
	}
	return o->n_tests > 0 ? 0 : bad("--tests", s, "set, get, post or hget");
}

enum {
	OPT_IP = 256, OPT_SERVER, OPT_DURATION, OPT_SEED, OPT_MAX_TIME, OPT_TIMEOUT, OPT_JSON,
	OPT_RESPOND, OPT_RESP_PORT, OPT_HTTP_PORT, OPT_GATEWAY, OPT_PORT, OPT_POOL_FILE,
	OPT_POOL_BUFS, OPT_MBUFS, OPT_BUSY_POLL, OPT_NO_LOAD, OPT_AUTO_SHAPE, OPT_SERVER_BUFS,
	OPT_RESPOND_WRONG,
};

static int
parse_wrong(const char *arg, struct lg_opts *o)
{
	if (strcmp(arg, "key") == 0)
		o->respond_wrong = LG_WRONG_KEY;
	else if (strcmp(arg, "version") == 0)
		o->respond_wrong = LG_WRONG_VERSION;
	else if (strncmp(arg, "byte:", 5) == 0 &&
		 ex_parse_u32(arg + 5, 0, LG_VALUE_MAX - 1, &o->respond_wrong_byte) == 0)
		o->respond_wrong = LG_WRONG_BYTE;
	else
		return bad("--respond-wrong", arg, "key, version or byte:N");
	o->respond = 1;
	return 0;
}

static int
u32(const char *opt, const char *arg, uint32_t min, uint32_t max, uint32_t *dst)
{
	char range[32];

	if (ex_parse_u32(arg, min, max, dst) == 0)
		return 0;
	snprintf(range, sizeof(range), "%" PRIu32 "..%" PRIu32, min, max);
	return bad(opt, arg, range);
}

static int
parse_option(int c, const char *arg, struct lg_opts *o)
{
	uint32_t v;

	switch (c) {
	case 't': return parse_tests(arg, o);
	case 'c':
		o->given_conns = 1;
		return u32("-c", arg, 1, LG_CONNS_MAX, &o->conns);
	case 'P':
		o->given_pipeline = 1;
		return u32("-P", arg, 1, LG_PIPELINE_MAX, &o->pipeline);
	case 'd': return u32("-d", arg, 0, LG_VALUE_MAX, &o->value_size);
	case 'n':
		return ex_parse_u64(arg, 0, UINT64_MAX / 2, &o->requests) == 0 ? 0 :
		       bad("-n", arg, "a request count");
	case 'r':
		o->given_keyspace = 1;
		return ex_parse_u64(arg, 1, 1000000000000ull, &o->keyspace) == 0 ? 0 :
		       bad("--keyspace", arg, "1..10^12");
	case OPT_IP:
		return ex_parse_ipv4_prefix(arg, &o->ip, &o->netmask) == 0 ? 0 :
		       bad("--ip", arg, "A.B.C.D[/len]");
	case OPT_SERVER:
		o->has_server = 1;
		return ex_parse_ipv4(arg, &o->server) == 0 ? 0 : bad("--server", arg, "A.B.C.D");
	case OPT_GATEWAY:
		return ex_parse_ipv4(arg, &o->gateway) == 0 ? 0 : bad("--gateway", arg, "A.B.C.D");
	case OPT_DURATION:
		return ex_parse_double(arg, 0, 86400, &o->duration) == 0 ? 0 :
		       bad("--duration", arg, "seconds");
	case OPT_SEED:
		return ex_parse_u64(arg, 0, UINT64_MAX, &o->seed) == 0 ? 0 : bad("--seed", arg, "N");
	case OPT_MAX_TIME:
		return ex_parse_double(arg, 0.1, 86400, &o->max_time) == 0 ? 0 :
		       bad("--max-time", arg, "0.1..86400 seconds");
	case OPT_TIMEOUT:
		return ex_parse_double(arg, 0.1, 3600, &o->reply_timeout) == 0 ? 0 :
		       bad("--timeout", arg, "0.1..3600 seconds");
	case OPT_JSON: o->json = arg; return 0;
	case OPT_RESPOND: o->respond = 1; return 0;
	case OPT_RESP_PORT:
		return ex_parse_u16(arg, 0, 65535, &o->resp_port) == 0 ? 0 :
		       bad("--resp-port", arg, "0..65535");
	case OPT_HTTP_PORT:
		return ex_parse_u16(arg, 0, 65535, &o->http_port) == 0 ? 0 :
		       bad("--http-port", arg, "0..65535");
	case OPT_PORT:
		return ex_parse_u16(arg, 0, 65534, &o->port_id) == 0 ? 0 : bad("--port", arg, "N");
	case OPT_POOL_FILE:
		o->pool_file = arg;
		o->pool_file_is_default = 0;
		return arg[0] != '\0' ? 0 : bad("--pool-file", arg, "a path");
	case OPT_POOL_BUFS:
		return ex_parse_u64(arg, 1024, PST_POOL_BUF_COUNT_MAX, &o->pool_bufs) == 0 ? 0 :
		       bad("--pool-bufs", arg, "a buffer count");
	case OPT_MBUFS:
		if (u32("--mbufs", arg, 64, 1u << 20, &v) != 0)
			return -1;
		o->n_mbufs = v;
		return 0;
	case OPT_BUSY_POLL: o->busy_poll = 1; return 0;
	case OPT_NO_LOAD: o->no_load = 1; return 0;
	case OPT_AUTO_SHAPE: o->auto_shape = 1; return 0;
	case OPT_SERVER_BUFS:
		return ex_parse_u64(arg, 1024, PST_POOL_BUF_COUNT_MAX, &o->server_bufs) == 0 ? 0 :
		       bad("--server-bufs", arg, "a buffer count");
	case OPT_RESPOND_WRONG: return parse_wrong(arg, o);
	}
	return -1;
}

/* What no single option can say. */
static int
check(const struct lg_opts *o, int has_ip)
{
	unsigned int i;

	if (!has_ip) {
		fprintf(stderr, "%s: --ip A.B.C.D[/len] is required (the stack's address)\n",
			LG_PROG);
		return -1;
	}
	if (o->respond)
		return 0;
	if (!o->has_server) {
		fprintf(stderr, "%s: --server A.B.C.D is required (or --respond)\n", LG_PROG);
		return -1;
	}
	if (o->requests == 0 && o->duration == 0) {
		fprintf(stderr, "%s: -n 0 needs --duration S\n", LG_PROG);
		return -1;
	}
	for (i = 0; i < o->n_tests; i++)
		if ((lg_op_is_http(o->tests[i]) ? o->http_port : o->resp_port) == 0) {
			fprintf(stderr, "%s: test %s needs its port (--%s-port)\n", LG_PROG,
				lg_op_name(o->tests[i]), lg_op_is_http(o->tests[i]) ? "http" : "resp");
			return -1;
		}
	return 0;
}

int
lg_parse_args(int argc, char **argv, struct lg_opts *o)
{
	static const struct option longopts[] = {
		{ "tests", required_argument, NULL, 't' },
		{ "keyspace", required_argument, NULL, 'r' },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "max-time", required_argument, NULL, OPT_MAX_TIME },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "respond", no_argument, NULL, OPT_RESPOND },
		{ "resp-port", required_argument, NULL, OPT_RESP_PORT },
		{ "http-port", required_argument, NULL, OPT_HTTP_PORT },
		{ "gateway", required_argument, NULL, OPT_GATEWAY },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "pool-file", required_argument, NULL, OPT_POOL_FILE },
		{ "pool-bufs", required_argument, NULL, OPT_POOL_BUFS },
		{ "mbufs", required_argument, NULL, OPT_MBUFS },
		{ "busy-poll", no_argument, NULL, OPT_BUSY_POLL },
		{ "no-load", no_argument, NULL, OPT_NO_LOAD },
		{ "auto-shape", no_argument, NULL, OPT_AUTO_SHAPE },
		{ "server-bufs", required_argument, NULL, OPT_SERVER_BUFS },
		{ "respond-wrong", required_argument, NULL, OPT_RESPOND_WRONG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, has_ip = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":t:c:P:d:n:r:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			lg_usage();
			return 1;
		}
		if (c == ':' || c == '?') {
			fprintf(stderr, "%s: %s option '%s' (see --help)\n", LG_PROG,
				c == ':' ? "missing value for" : "unknown", argv[optind - 1]);
			return -1;
		}
		if (parse_option(c, optarg, o) != 0)
			return -1;
		has_ip |= c == OPT_IP;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", LG_PROG, argv[optind]);
		return -1;
	}
	return check(o, has_ip);
}
