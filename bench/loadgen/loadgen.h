/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen: a load generator on paste's own stack (a DPDK port, e.g.
 * net_memif), redis-benchmark- and wrk-like, and a trivial responder that
 * measures the generator's own ceiling. Shared declarations of its files:
 *
 *   main.c       EAL, pool and stack; runs one of the two modes
 *   options.c    the command line
 *   proto.c      request builders and the resumable reply parser
 *   value.c      the bytes of a value (key, version) and their checker
 *   shape.c      --auto-shape: -c, -P and -r that fit the pools for -d
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
/* Largest -d: paste-kvs's KV_VALUE_MAX (a request is sent in as many
 * calls as the stack's send buffer takes, a reply checked segment by
 * segment, so neither needs a value in one piece). */
#define LG_VALUE_MAX (1u << 20)
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
	int given_conns, given_pipeline, given_keyspace;
	int auto_shape;                 /* --auto-shape: pick the others */
	uint64_t server_bufs;           /* --server-bufs: the server's pool */
	int respond_wrong;              /* --respond-wrong: enum lg_wrong */
	uint32_t respond_wrong_byte;    /* ... byte:N: the byte flipped */
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
	size_t value_off, value_len;    /* where the value goes (SET, POST) */
};

#define LG_KEY_DIGITS 12                /* "key:%012llu" as redis-benchmark */

int lg_request_init(struct lg_request *r, enum lg_op op, uint32_t value_size);
void lg_request_fini(struct lg_request *r);
/* Append the request for key number @key to @dst (room for r->len); a SET
 * or POST carries the value of (@key, @version). */
void lg_request_put(const struct lg_request *r, uint64_t key, uint32_t version,
		    uint8_t *dst);

/* Take the bytes of a line from @d[*@i, @len) into @line, which holds
 * *@line_len bytes of it already, up to its LF (*@i moves past it).
 * @return 1 when the line is complete (NUL-terminated, without CR and LF;
 * *@line_len is 0 again), 0 when @d ended first, -1 when the line is
 * longer than @max - 1 bytes. */
int lg_line_take(char *line, uint32_t *line_len, size_t max, const uint8_t *d,
		 size_t len, size_t *i);

/* ---- value.c --------------------------------------------------------- */

/* "key:%012llu:%010u:", the key and the version, opens every value. */
#define LG_VALUE_HDR (4 + LG_KEY_DIGITS + 1 + 10 + 1)
/* The version the load before a GET test writes to every key, whatever
 * the run: so a --no-load run knows what an earlier run's load left. SET
 * tests write versions from 1 on. */
#define LG_LOAD_VERSION 0u

/* The value header of (@key, @version), NUL-terminated. */
void lg_value_header(uint64_t key, uint32_t version, char hdr[LG_VALUE_HDR + 1]);
/* Bytes [@off, @off + @n) of the value of (@key, @version), into @dst. */
void lg_value_fill(uint64_t key, uint32_t version, uint64_t off, uint8_t *dst, size_t n);

/* What a checked value turned out to be. */
enum lg_vfound {
	LG_VFOUND_NONE,                 /* not known yet */
	LG_VFOUND_EXPECTED,             /* one of the versions expected */
	LG_VFOUND_OTHER_VERSION,        /* this key's, another version */
	LG_VFOUND_OTHER_KEY,            /* another key's */
	LG_VFOUND_GARBAGE,              /* no header of ours */
};

/* Versions of a key a GET may see: the last acknowledged one and those of
 * SETs of it still in flight. */
#define LG_VCHECK_VERSIONS 4

/* One value checked as it arrives, in any split, without keeping it. */
struct lg_vcheck {
	int armed;                      /* set by begin, cleared by end */
	uint64_t key;
	uint32_t versions[LG_VCHECK_VERSIONS];
	unsigned int n_versions;
	uint32_t size;
	uint64_t off;                   /* bytes seen */
	uint8_t hdr[LG_VALUE_HDR];
	enum lg_vfound found;
	uint64_t found_key;
	uint32_t found_version;
	uint64_t seed;                  /* the found value's pattern */
	int64_t bad_off;                /* first byte unlike it, or -1 */
	uint8_t bad_byte;
};

/* Expect a value of @size bytes of @key, one of @versions. */
void lg_vcheck_begin(struct lg_vcheck *vc, uint64_t key, const uint32_t *versions,
		     unsigned int n_versions, uint32_t size);
/* The value's next @n bytes. */
void lg_vcheck_feed(struct lg_vcheck *vc, const uint8_t *d, size_t n);
/* All fed. @return 0 when it is the value of the key, of one of the
 * versions, byte for byte; else -1 and what it was in @why. */
int lg_vcheck_end(struct lg_vcheck *vc, char *why, size_t len);

/* ---- proto.c: replies -------------------------------------------------- */

/* What a reply must be. */
struct lg_expect {
	int http;
	int value;                      /* a value of value_size bytes */
	uint32_t value_size;
	/* Check its bytes too: parser.vc is armed for each value reply. */
	int check;
};

/* Resumable reply parser: bytes in any split. */
#define LG_LINE_MAX 512
#define LG_WHY_MAX 192
struct lg_parser {
	int state;
	uint64_t left;                  /* body bytes still to skip */
	int status;                     /* HTTP status */
	int64_t length;                 /* RESP bulk / HTTP Content-Length */
	int bad;                        /* this reply is not the expected one */
	int bad_value;                  /* ... its value's bytes are not */
	char why[LG_WHY_MAX];           /* ... and why */
	uint32_t line_len;
	char line[LG_LINE_MAX];
	/* Not reset between replies: the caller arms it for the next one
	 * (from the reply callback too) with lg_vcheck_begin(). */
	struct lg_vcheck vc;
};

/* How a reply was. */
enum lg_reply {
	LG_REPLY_OK,
	LG_REPLY_WRONG,                 /* not the expected kind or size */
	LG_REPLY_WRONG_VALUE,           /* a value of the size, wrong bytes */
};

/* One complete reply: how it was (@why says what was wrong). */
typedef void (*lg_reply_fn)(void *arg, enum lg_reply how, const char *why);

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
	uint64_t values_checked;        /* GET replies checked byte for byte */
	uint64_t wrong_values;          /* ... and found wrong (in errors) */
	double seconds;
	uint64_t client_busy_cycles;    /* this stack's busy cycles in the test */
	char first_error[LG_WHY_MAX + 64];
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

/* ---- shape.c ---------------------------------------------------------- */

/* Payload bytes counted per pool buffer (a frame's TCP payload is up to
 * 1460: the rest is headroom for small frames and headers). */
#define LG_SHAPE_BUF_BYTES 1024u

/* --auto-shape: set the connections, depth and keyspace not given on the
 * command line from -d, --pool-bufs and --server-bufs (doc/benchmarks.md
 * and the usage say the rule); print the choice on @out. */
void lg_auto_shape(struct lg_opts *o, FILE *out);

/* --respond-wrong: how the responder's values are wrong. */
enum lg_wrong {
	LG_WRONG_NONE,
	LG_WRONG_KEY,                   /* the next key's value */
	LG_WRONG_VERSION,               /* version 1, not the load's 0 */
	LG_WRONG_BYTE,                  /* one byte flipped */
};

/* ---- respond.c -------------------------------------------------------- */

/* Answer until SIGINT/SIGTERM or --max-time. @return 0, or -1. */
int lg_respond_run(const struct lg_opts *o, struct pst_stack *stack);

#endif /* LOADGEN_H */
