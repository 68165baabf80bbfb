/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen: a load generator on paste's own stack (a DPDK port, e.g.
 * net_memif), redis-benchmark- and wrk-like, and a trivial responder that
 * measures the generator's own ceiling. Shared declarations of its files:
 *
 *   main.c       EAL, pool and stack; runs one of the two modes
 *   options.c    the command line
 *   proto.c      request builders and the resumable reply parser
 *   client.c     connections, pipelining, the tests one after another
 *   histogram.c  latency histogram (log-linear buckets)
 *   report.c     the table and the JSON file
 *   respond.c    --respond: answers RESP and HTTP requests, counts them
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "paste.h"

#define LG_PROG "paste-loadgen"
#define LG_EXIT_USAGE 2

/* The requests a test sends. */
enum lg_op {
	LG_OP_SET,      /* RESP SET key value */
	LG_OP_GET,      /* RESP GET key, of keys SET first */
	LG_OP_POST,     /* HTTP POST /key with the value as body */
	LG_OP_HGET,     /* HTTP GET /key, of keys POSTed first */
	LG_OP_MAX,
};

/* Most tests in one run (-t set,get,post,...). */
#define LG_TESTS_MAX 8
/* Largest -d: a value the stack's send path takes in one call. */
#define LG_VALUE_MAX (60u << 10)
/* Largest -P and -c. */
#define LG_PIPELINE_MAX 1024
#define LG_CONNS_MAX 1024

struct lg_opts {
	int respond;                    /* --respond: the responder */
	uint32_t ip, netmask, gateway;  /* the stack's address, host order */
	uint16_t port_id;
	uint32_t server;                /* --server A.B.C.D */
	int has_server;
	uint16_t resp_port, http_port;
	enum lg_op tests[LG_TESTS_MAX];
	unsigned int n_tests;
	uint32_t conns, pipeline, value_size;
	uint64_t requests;              /* per test; 0: --duration decides */
	double duration;                /* per test, seconds; 0: -n decides */
	uint64_t keyspace;
	int no_load;                    /* GETs of keys stored by an earlier run */
	uint64_t seed;
	double max_time;                /* the whole run, seconds */
	double reply_timeout;           /* no reply for this long: failed */
	const char *json;
	const char *pool_file;
	int pool_file_is_default;
	uint64_t pool_bufs;
	unsigned int n_mbufs;
	int busy_poll;
	int quiet;
};

/* Parse the options after the EAL's. @return 0, 1 after --help, -1 on a
 * bad command line (reported). */
int lg_parse_args(int argc, char **argv, struct lg_opts *o);
/* The usage, on stdout: what --help prints. */
void lg_usage(void);
const char *lg_op_name(enum lg_op op);
int lg_op_is_http(enum lg_op op);
/* A host-order address as A.B.C.D in @buf. @return buf. */
const char *lg_ip_str(uint32_t ip, char buf[16]);

/* ---- proto.c --------------------------------------------------------- */

/* Requests of one test: a template per request with the key's digits
 * written in place. */
struct lg_request {
	enum lg_op op;
	uint8_t *buf;                   /* one request */
	size_t len;
	size_t key_off;                 /* where the key's digits are */
};

#define LG_KEY_DIGITS 12                /* "key:%012llu" as redis-benchmark */

int lg_request_init(struct lg_request *r, enum lg_op op, uint32_t value_size);
void lg_request_fini(struct lg_request *r);
/* Append the request for key number @key to @dst (room for r->len). */
void lg_request_put(const struct lg_request *r, uint64_t key, uint8_t *dst);

/* Take the bytes of a line from @d[*@i, @len) into @line, which holds
 * *@line_len bytes of it already, up to its LF (*@i moves past it).
 * @return 1 when the line is complete (NUL-terminated, without CR and LF;
 * *@line_len is 0 again), 0 when @d ended first, -1 when the line is
 * longer than @max - 1 bytes. */
int lg_line_take(char *line, uint32_t *line_len, size_t max, const uint8_t *d,
		 size_t len, size_t *i);

/* What a reply must be. */
struct lg_expect {
	int http;
	int value;                      /* a value of value_size bytes */
	uint32_t value_size;
};

/* Resumable reply parser: bytes in any split. */
#define LG_LINE_MAX 512
struct lg_parser {
	int state;
	uint64_t left;                  /* body bytes still to skip */
	int status;                     /* HTTP status */
	int64_t length;                 /* RESP bulk / HTTP Content-Length */
	int bad;                        /* this reply is not the expected one */
	char why[96];                   /* ... and why */
	uint32_t line_len;
	char line[LG_LINE_MAX];
};

/* One complete reply: ok, or not (why says what was wrong). */
typedef void (*lg_reply_fn)(void *arg, int ok, const char *why);

/* Feed @len bytes. @return 0, or -1 when the stream cannot be parsed (its
 * reason in p->why): nothing after it can be trusted. */
int lg_parser_feed(struct lg_parser *p, const struct lg_expect *e,
		   const uint8_t *data, size_t len, lg_reply_fn done, void *arg);
void lg_parser_reset(struct lg_parser *p);

/* ---- histogram.c ------------------------------------------------------ */

/* Latencies in nanoseconds, log-linear: 2^LG_HIST_SUB buckets per power
 * of two, so a percentile is within 1/2^LG_HIST_SUB of the truth. */
#define LG_HIST_SUB 5
#define LG_HIST_POW 40
struct lg_hist {
	uint64_t count, sum_ns, max_ns;
	uint64_t bucket[LG_HIST_POW << LG_HIST_SUB];
};

void lg_hist_add(struct lg_hist *h, uint64_t ns);
/* The value at quantile @q (0..1), in ns; 0 when empty. */
uint64_t lg_hist_quantile(const struct lg_hist *h, double q);

/* ---- client.c / report.c ---------------------------------------------- */

/* One test's outcome. */
struct lg_result {
	enum lg_op op;
	uint64_t preload;               /* requests that loaded the keys first */
	uint64_t requests, replies, errors;
	double seconds;
	uint64_t client_busy_cycles;    /* this stack's busy cycles in the test */
	char first_error[160];
	struct lg_hist hist;
};

struct lg_run {
	const struct lg_opts *opt;
	struct pst_stack *stack;
	unsigned int n_results;
	struct lg_result results[LG_TESTS_MAX];
	int failed;                     /* a fatal error ended the run */
	char reason[256];
};

/* Run every test. @return 0 when every reply was the expected one. */
int lg_client_run(struct lg_run *run);

void lg_report_table(const struct lg_run *run, FILE *f);
int lg_report_json(const struct lg_run *run, const char *path);

/* ---- respond.c -------------------------------------------------------- */

/* Answer until SIGINT/SIGTERM or --max-time. @return 0, or -1. */
int lg_respond_run(const struct lg_opts *o, struct pst_stack *stack);

#endif /* LOADGEN_H */
