/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': paste-kvs's receive stream, its RESP and HTTP request
 * parsers, its command table (every row against Redis's own description,
 * and COMMAND's replies) and its reply formatting, without EAL.
 *
 * The key property: a request split anywhere across spans parses exactly
 * as the same bytes in one span. Every request here is also parsed split
 * at every byte boundary into two spans, as 1-byte spans, and as random
 * spans with empty ones between; every strict prefix must ask for more.
 * Each span lives in its own malloc() block of exactly its size, so a read
 * past a span's end is an out-of-bounds read under ASan.
 *
 * Spans are named pst_name_make(i, 0, len) with i the span's number: the
 * parsers never resolve names, and the tests turn the names the stream
 * hands out back into bytes through their own span table.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "command.h"
#include "exec.h"
#include "expiry.h"
#include "keyhash.h"
#include "kv_limits.h"
#include "proto.h"
#include "reply.h"
#include "stream.h"

#define P_RESP 0
#define P_HTTP 1

typedef int (*parse_fn)(const struct kv_stream *, const struct kv_limits *,
			struct kv_request *, char *, size_t);
static const parse_fn parsers[2] = { kv_resp_parse, kv_http_parse };
static const struct kv_limits *test_limits;  /* NULL: the parsers' defaults */

/* ---- PRNG (xorshift64*), seeded: failures reproduce ------------------- */

static uint64_t
rnd(uint64_t *st)
{
	uint64_t x = *st;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*st = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static size_t
rnd_below(uint64_t *st, size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd(st) % n);
}

/* ---- streams built from split messages -------------------------------- */

struct built {
	struct kv_stream s;
	uint8_t **bufs;           /* span i's bytes, exactly its size */
	uint32_t *lens;
	pst_name *names;          /* as pushed */
	unsigned int n;
	unsigned int dropped;     /* spans handed back, in push order */
};

static long live_spans;           /* allocated, not yet freed: leak check */

static void
drop_check(void *arg, pst_name name)
{
	struct built *b = arg;

	assert_true(b->dropped < b->n);
	assert_true(name == b->names[b->dropped]);
	b->dropped++;
}

/* Build a stream of @nsizes spans of the given sizes (summing to len). */
static void
build(struct built *b, const void *msg, size_t len, const size_t *sizes,
      unsigned int nsizes)
{
	size_t off = 0;
	unsigned int i;

	memset(b, 0, sizeof(*b));
	kv_stream_init(&b->s);
	b->bufs = calloc(nsizes ? nsizes : 1, sizeof(*b->bufs));
	b->lens = calloc(nsizes ? nsizes : 1, sizeof(*b->lens));
	b->names = calloc(nsizes ? nsizes : 1, sizeof(*b->names));
	assert_non_null(b->bufs);
	assert_non_null(b->lens);
	assert_non_null(b->names);
	for (i = 0; i < nsizes; i++) {
		assert_true(off + sizes[i] <= len);
		b->bufs[i] = malloc(sizes[i] ? sizes[i] : 1);
		assert_non_null(b->bufs[i]);
		live_spans++;
		if (sizes[i] > 0)
			memcpy(b->bufs[i], (const uint8_t *)msg + off, sizes[i]);
		b->lens[i] = (uint32_t)sizes[i];
		b->names[i] = pst_name_make(i, 0, (uint16_t)sizes[i]);
		assert_int_equal(kv_stream_push(&b->s, b->names[i], b->bufs[i],
						 (uint32_t)sizes[i]), 0);
		b->n++;
		off += sizes[i];
	}
	assert_true(off == len);
	assert_true(b->s.len == len);
}

static void
unbuild(struct built *b)
{
	unsigned int i;

	kv_stream_fini(&b->s, drop_check, b);
	assert_int_equal(b->dropped, b->n);
	assert_null(b->s.spans);
	assert_int_equal(b->s.len, 0);
	for (i = 0; i < b->n; i++) {
		free(b->bufs[i]);
		live_spans--;
	}
	free(b->bufs);
	free(b->lens);
	free(b->names);
}

/* Splits. Each returns the number of sizes written to @sizes (room for
 * len + 1 + extra empties). */
/* One span, or as few as names allow (a span is at most UINT16_MAX). */
static unsigned int
split_whole(size_t len, size_t *sizes)
{
	unsigned int n = 0;

	do {
		sizes[n] = len < UINT16_MAX ? len : UINT16_MAX;
		len -= sizes[n++];
	} while (len > 0);
	return n;
}

/* Split at k (each side in as few spans as names allow). */
static unsigned int
split_at(size_t len, size_t k, size_t *sizes)
{
	unsigned int n = split_whole(k, sizes);

	return n + split_whole(len - k, sizes + n);
}

static unsigned int
split_bytes(size_t len, size_t *sizes)
{
	size_t i;

	for (i = 0; i < len; i++)
		sizes[i] = 1;
	return (unsigned int)len;
}

/* Random pieces of 1..max bytes, with empty spans now and then; needs room
 * for 2 * len + 2 sizes. */
static unsigned int
split_random(size_t len, size_t max, uint64_t *rng, size_t *sizes)
{
	unsigned int n = 0;
	size_t left = len, k;

	if (rnd_below(rng, 4) == 0)
		sizes[n++] = 0;
	while (left > 0) {
		k = 1 + rnd_below(rng, max);
		if (k > left)
			k = left;
		sizes[n++] = k;
		left -= k;
		if (rnd_below(rng, 8) == 0)
			sizes[n++] = 0;
	}
	return n;
}

/* Spans of 1448 bytes (an MSS), the last one shorter. */
static unsigned int
split_mss(size_t len, size_t *sizes)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < len; i += 1448)
		sizes[n++] = len - i < 1448 ? len - i : 1448;
	return n;
}

/* The split of round @round of a test: whole, 1-byte spans, then random
 * spans of up to 64 bytes. */
static unsigned int
split_round(unsigned int round, size_t len, uint64_t *rng, size_t *sizes)
{
	if (round == 0)
		return split_whole(len, sizes);
	if (round == 1)
		return split_bytes(len, sizes);
	return split_random(len, 1 + rnd_below(rng, 64), rng, sizes);
}

static size_t *
sizes_for(size_t len)
{
	size_t *s = calloc(2 * len + 4, sizeof(size_t));

	assert_non_null(s);
	return s;
}

/* ---- parse results ---------------------------------------------------- */

struct res {
	int r;
	struct kv_request req;
	char err[512];
};

static void
do_parse(int p, const struct kv_stream *s, struct res *out)
{
	memset(out, 0x5a, sizeof(*out)); /* the parser must reset everything */
	out->r = parsers[p](s, test_limits, &out->req, out->err, sizeof(out->err));
	assert_true(memchr(out->err, '\0', sizeof(out->err)) != NULL);
	assert_null(strchr(out->err, '\r'));
	assert_null(strchr(out->err, '\n'));
	assert_true(out->r == KV_PARSE_OK || out->r == KV_PARSE_MORE ||
		    out->r == KV_PARSE_BAD_REQUEST || out->r == KV_PARSE_BAD_STREAM);
	if (out->r == KV_PARSE_OK || out->r == KV_PARSE_BAD_REQUEST) {
		unsigned int i;

		assert_true(out->req.consumed > 0);
		assert_true(out->req.consumed <= s->len);
		assert_true(out->req.argc <= KV_MAX_ARGS);
		for (i = 0; i < out->req.argc; i++)
			assert_true(out->req.argv[i].off + out->req.argv[i].len <=
				    out->req.consumed);
	}
	if (out->r == KV_PARSE_OK)
		assert_true(out->req.op != KV_OP_NONE);
	if (out->r == KV_PARSE_OK || out->r == KV_PARSE_MORE)
		assert_string_equal(out->err, "");
	else
		assert_true(out->err[0] != '\0');
}

static int
res_equal(const struct res *a, const struct res *b)
{
	const struct kv_request *x = &a->req, *y = &b->req;
	unsigned int i;

	if (a->r != b->r || strcmp(a->err, b->err) != 0)
		return 0;
	if (x->op != y->op || x->argc != y->argc || x->set_flags != y->set_flags ||
	    x->expire_ms != y->expire_ms || x->consumed != y->consumed ||
	    x->http != y->http || x->http_keepalive != y->http_keepalive ||
	    x->http_expect_continue != y->http_expect_continue ||
	    x->http_head != y->http_head)
		return 0;
	for (i = 0; i < x->argc && i < KV_MAX_ARGS; i++)
		if (x->argv[i].off != y->argv[i].off || x->argv[i].len != y->argv[i].len)
			return 0;
	return 1;
}

static void
print_res(const char *what, const struct res *a)
{
	unsigned int i;

	print_message("%s: r=%d err='%s' op=%d argc=%u flags=%u expire=%lld consumed=%zu "
		      "http=%d ka=%d expect=%d head=%d\n", what, a->r, a->err, a->req.op,
		      a->req.argc, a->req.set_flags, (long long)a->req.expire_ms,
		      a->req.consumed, a->req.http, a->req.http_keepalive,
		      a->req.http_expect_continue, a->req.http_head);
	for (i = 0; i < a->req.argc && i < KV_MAX_ARGS; i++)
		print_message("  argv[%u] = [%zu, +%zu)\n", i, a->req.argv[i].off,
			      a->req.argv[i].len);
}

static void
assert_res_equal(const struct res *want, const struct res *got, const char *how)
{
	if (!res_equal(want, got)) {
		print_res("one span", want);
		print_res(how, got);
		fail_msg("results differ (%s)", how);
	}
}

/* The names kv_stream_names gives for @a are exactly the argument's bytes:
 * resolved through the test's span table, their lengths sum to a->len and
 * their concatenation equals kv_stream_copy of the range. */
static void
check_names(const struct built *b, const struct kv_arg *a)
{
	pst_name *names = malloc((a->len + 1) * sizeof(*names));
	uint8_t *want = malloc(a->len + 1), *got = malloc(a->len + 1);
	size_t sum = 0;
	int n, i;

	assert_non_null(want);
	assert_non_null(got);
	assert_int_equal(kv_stream_copy(&b->s, a->off, want, a->len), a->len);
	assert_non_null(names);
	n = kv_stream_names(&b->s, a->off, a->len, names, (unsigned int)a->len + 1);
	assert_true(n >= 0);
	if (a->len == 0)
		assert_int_equal(n, 0);
	for (i = 0; i < n; i++) {
		uint32_t idx = pst_name_index(names[i]);
		uint16_t o = pst_name_offset(names[i]), l = pst_name_length(names[i]);

		assert_true(idx < b->n);
		assert_true(l > 0);
		assert_true((uint32_t)o + l <= b->lens[idx]);
		memcpy(got + sum, b->bufs[idx] + o, l);
		sum += l;
		assert_true(sum <= a->len);
		/* names are sub-ranges of spans in order */
		if (i > 0)
			assert_true(idx > pst_name_index(names[i - 1]));
	}
	assert_int_equal(sum, a->len);
	assert_memory_equal(want, got, a->len);
	if (n > 1)
		assert_int_equal(kv_stream_names(&b->s, a->off, a->len, names,
						 (unsigned int)n - 1), -1);
	free(want);
	free(got);
	free(names);
}

static void
check_all_names(const struct built *b, const struct res *r)
{
	unsigned int i;

	if (r->r != KV_PARSE_OK)
		return;
	for (i = 0; i < r->req.argc; i++)
		check_names(b, &r->req.argv[i]);
}

static void
parse_split(int p, const void *msg, size_t len, const size_t *sizes,
	    unsigned int n, struct res *out)
{
	struct built b;

	build(&b, msg, len, sizes, n);
	do_parse(p, &b.s, out);
	check_all_names(&b, out);
	unbuild(&b);
}

/* RESP with a kv_parse_state: the spans arrive one at a time and each
 * arrival is parsed, resuming; after each, the result is what a parse from
 * the first byte gives. Returns the bytes the resuming parser examined. */
static uint64_t resume_span_steps; /* of the last check_resume's parses */

static uint64_t
check_resume_p(int p, const void *msg, size_t len, const size_t *sizes, unsigned int n);

static uint64_t
check_resume(const void *msg, size_t len, const size_t *sizes, unsigned int n)
{
	return check_resume_p(P_RESP, msg, len, sizes, n);
}

/* The same for either parser. */
static uint64_t
check_resume_p(int p, const void *msg, size_t len, const size_t *sizes, unsigned int n)
{
	struct kv_parse_state st;
	struct kv_stream view, rview;
	struct res want, got;
	struct built b;
	unsigned int j;

	memset(&st, 0, sizeof(st));
	build(&b, msg, len, sizes, n);
	view = b.s;
	view.len = 0;
	rview = view;     /* the resuming parser's: its lookups counted apart */
	for (j = 1; j <= n; j++) {
		view.n = rview.n = j;
		view.len += b.lens[j - 1];
		rview.len = view.len;
		do_parse(p, &view, &want);
		memset(&got, 0x5a, sizeof(got));
		got.r = (p == P_RESP ? kv_resp_parse_resume : kv_http_parse_resume)(
			&rview, test_limits, &st, &got.req, got.err, sizeof(got.err));
		assert_res_equal(&want, &got, "resumed");
		if (want.r != KV_PARSE_MORE)
			break;
	}
	unbuild(&b);
	resume_span_steps = rview.span_steps;
	return st.examined;
}

/* Parse @msg whole into @ref, then check that every split gives the same
 * and (unless @prefixes is 0) that every strict prefix asks for more. */
static void
check_splits(int p, const void *msg, size_t len, struct res *ref, int prefixes)
{
	size_t *sizes = sizes_for(len);
	uint64_t rng = 0x9e3779b97f4a7c15ULL ^ len;
	struct res got;
	char how[64];
	size_t k, step;
	unsigned int n, i;

	parse_split(p, msg, len, sizes, split_whole(len, sizes), ref);
	/* Every boundary for short messages, a sample for long ones. */
	step = len <= 4096 ? 1 : len / 509 + 1;
	for (k = 1; k < len; k += step) {
		parse_split(p, msg, len, sizes, split_at(len, k, sizes), &got);
		snprintf(how, sizeof(how), "split at %zu", k);
		assert_res_equal(ref, &got, how);
	}
	if (len <= 200000) {
		parse_split(p, msg, len, sizes, split_bytes(len, sizes), &got);
		assert_res_equal(ref, &got, "1-byte spans");
	}
	if (len <= 4096)
		check_resume_p(p, msg, len, sizes, split_bytes(len, sizes));
	for (i = 0; i < 4; i++) {
		n = split_random(len, i < 2 ? 7 : 1500, &rng, sizes);
		parse_split(p, msg, len, sizes, n, &got);
		assert_res_equal(ref, &got, "random spans");
		if (n <= 4096)
			check_resume_p(p, msg, len, sizes, n);
	}
	if (prefixes && ref->r != KV_PARSE_BAD_STREAM) {
		for (k = 0; k < len; k += step) {
			parse_split(p, msg, k, sizes, split_whole(k, sizes), &got);
			if (got.r != KV_PARSE_MORE) {
				print_res("prefix", &got);
				fail_msg("prefix of %zu of %zu bytes gave %d", k, len, got.r);
			}
			if (k > 1 && k <= 4096) {
				struct res g2;

				parse_split(p, msg, k, sizes, split_at(k, k / 2, sizes), &g2);
				assert_res_equal(&got, &g2, "prefix split");
			}
		}
	}
	free(sizes);
}

/* Checks request @i of a pipeline test, as parsed from @b. */
typedef void (*pipeline_check_fn)(const struct built *b, const struct res *r, size_t i);

/* @nreqs requests back to back (the strings at @msg, @stride bytes
 * apart: the first member of each row of a table), parsed one after the
 * other with the stream consumed in between, in 300 differently split
 * streams: @check sees each result; then the stream is empty and asks for
 * more. */
static void
check_pipeline(int p, const char *const *msg, size_t stride, size_t nreqs,
	       uint64_t seed, pipeline_check_fn check)
{
	static char all[4096];
	size_t *sizes, len = 0;
	uint64_t rng = seed;
	unsigned int round;

	for (size_t i = 0; i < nreqs; i++) {
		const char *m = *(const char *const *)((const char *)msg + i * stride);

		assert_true(len + strlen(m) <= sizeof(all));
		memcpy(all + len, m, strlen(m));
		len += strlen(m);
	}
	sizes = sizes_for(len);

	for (round = 0; round < 300; round++) {
		struct built b;
		struct res r;
		size_t base = 0, i;

		build(&b, all, len, sizes, split_round(round, len, &rng, sizes));
		for (i = 0; i < nreqs; i++) {
			do_parse(p, &b.s, &r);
			check(&b, &r, i);
			kv_stream_consume(&b.s, r.req.consumed, drop_check, &b);
			base += r.req.consumed;
			assert_int_equal(b.s.len, len - base);
		}
		do_parse(p, &b.s, &r);
		assert_int_equal(r.r, KV_PARSE_MORE);
		assert_int_equal(b.s.len, 0);
		unbuild(&b);
	}
	free(sizes);
}

#define CHECK_PIPELINE(p, table, seed, check) \
	check_pipeline(p, &(table)[0].msg, sizeof((table)[0]), \
		       sizeof(table) / sizeof((table)[0]), seed, check)

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NOARGS ((const char *const[]){ NULL })
#define WHOLE ((size_t)-1)

static size_t
count_args(const char *const *a)
{
	size_t n = 0;

	while (a[n] != NULL)
		n++;
	return n;
}

/* The argument's bytes equal @want. */
static void
assert_arg(int p, const void *msg, size_t len, const struct kv_arg *a, const char *want)
{
	(void)p;
	assert_true(a->off + a->len <= len);
	if (a->len != strlen(want) || memcmp((const uint8_t *)msg + a->off, want, a->len) != 0)
		fail_msg("argument [%zu, +%zu) is '%.*s', want '%s'", a->off, a->len,
			 (int)a->len, (const char *)msg + a->off, want);
}

static int check_prefixes = 1;   /* check_req: every strict prefix is MORE */

/* Check one request in every split; @consumed WHOLE means len. */
static void
check_req(int p, const void *msg, size_t len, int r, enum kv_op op,
	  const char *const *args, uint32_t flags, int64_t expire_ms,
	  const char *err, size_t consumed, struct res *out)
{
	struct res ref;
	size_t i;

	check_splits(p, msg, len, &ref, check_prefixes);
	if (ref.r != r) {
		print_res("got", &ref);
		fail_msg("'%.*s': result %d, want %d", (int)(len < 200 ? len : 200),
			 (const char *)msg, ref.r, r);
	}
	if (err != NULL)
		assert_string_equal(ref.err, err);
	if (r == KV_PARSE_OK || r == KV_PARSE_BAD_REQUEST)
		assert_int_equal(ref.req.consumed, consumed == WHOLE ? len : consumed);
	if (r == KV_PARSE_OK) {
		assert_int_equal(ref.req.op, op);
		if (args != NULL) {
			assert_int_equal(ref.req.argc, count_args(args));
			for (i = 0; i < ref.req.argc; i++)
				assert_arg(p, msg, len, &ref.req.argv[i], args[i]);
		}
		assert_int_equal(ref.req.set_flags, flags);
		assert_int_equal(ref.req.expire_ms, expire_ms);
	} else {
		assert_int_equal(ref.req.op, KV_OP_NONE);
		assert_int_equal(ref.req.argc, 0);
	}
	assert_int_equal(ref.req.http, p == P_HTTP);
	if (out != NULL)
		*out = ref;
}

/* ---- RESP helpers ----------------------------------------------------- */

/* A multibulk request of @words into @out (big enough); returns its length. */
static size_t
mb(char *out, const char *const *words)
{
	size_t n = count_args(words), len = 0, i;

	len += (size_t)sprintf(out + len, "*%zu\r\n", n);
	for (i = 0; i < n; i++) {
		size_t wl = strlen(words[i]);

		len += (size_t)sprintf(out + len, "$%zu\r\n", wl);
		memcpy(out + len, words[i], wl);
		len += wl;
		memcpy(out + len, "\r\n", 2);
		len += 2;
	}
	return len;
}

/* The same words as an inline command, or 0 if they cannot be one. */
static size_t
inl(char *out, const char *const *words)
{
	size_t len = 0, i;

	for (i = 0; words[i] != NULL; i++) {
		if (words[i][0] == '\0' || strpbrk(words[i], " \t\r\n\"'\v\f") != NULL)
			return 0;
		len += (size_t)sprintf(out + len, "%s%s", i ? " " : "", words[i]);
	}
	memcpy(out + len, "\r\n", 2);
	return len + 2;
}

static char mbuf[1 << 16];

/* The command, in multibulk and in inline form, parses to @op/@args. */
static void
resp_ok(const char *const *words, enum kv_op op, const char *const *args,
	uint32_t flags, int64_t expire_ms)
{
	size_t len = mb(mbuf, words);

	check_req(P_RESP, mbuf, len, KV_PARSE_OK, op, args, flags, expire_ms, "", WHOLE, NULL);
	len = inl(mbuf, words);
	if (len > 0)
		check_req(P_RESP, mbuf, len, KV_PARSE_OK, op, args, flags, expire_ms, "",
			  WHOLE, NULL);
}

/* The command, both forms, is refused with @err and skipped whole. */
static void
resp_bad(const char *const *words, const char *err)
{
	size_t len = mb(mbuf, words);

	check_req(P_RESP, mbuf, len, KV_PARSE_BAD_REQUEST, 0, NULL, 0, 0, err, WHOLE, NULL);
	len = inl(mbuf, words);
	if (len > 0)
		check_req(P_RESP, mbuf, len, KV_PARSE_BAD_REQUEST, 0, NULL, 0, 0, err,
			  WHOLE, NULL);
}

static void
resp_raw(const char *msg, int r, enum kv_op op, const char *const *args,
	 const char *err, size_t consumed)
{
	check_req(P_RESP, msg, strlen(msg), r, op, args, 0, 0, err, consumed, NULL);
}

/* A message refused with an error. */
struct refusal {
	const char *msg;
	const char *err;
};

/* Each message is refused with its error: skipped whole (BAD_REQUEST), or
 * ending the stream (BAD_STREAM). */
static void
check_refusals(int p, int r, const struct refusal *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_req(p, cases[i].msg, strlen(cases[i].msg), r, 0, NULL, 0, 0, cases[i].err,
			  WHOLE, NULL);
}

#define CHECK_REFUSALS(p, r, cases) \
	check_refusals(p, r, cases, sizeof(cases) / sizeof(cases[0]))

/* ---- setup / teardown ------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	live_spans = 0;
	check_prefixes = 1;
	test_limits = NULL;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (live_spans != 0) {
		print_error("%ld span buffers leaked\n", live_spans);
		return -1;
	}
	return 0;
}

/* ======================================================================= */
/* stream                                                                  */
/* ======================================================================= */

/* "GET key\r\n" split as a peer's TCP stack might, names with offsets. */
static const char *const parts[] = { "GE", "T k", "", "ey\r", "\n" };

static void
push_parts(struct kv_stream *s, pst_name *names)
{
	unsigned int i;

	kv_stream_init(s);
	for (i = 0; i < 5; i++) {
		names[i] = pst_name_make(10 + i, (uint16_t)(100 * i), (uint16_t)strlen(parts[i]));
		assert_int_equal(kv_stream_push(s, names[i], parts[i],
						(uint32_t)strlen(parts[i])), 0);
	}
	assert_int_equal(s->len, 9);
	assert_int_equal(s->n, 5);
}

struct drops {
	pst_name names[64];
	unsigned int n;
};

static void
record_drop(void *arg, pst_name name)
{
	struct drops *d = arg;

	assert_true(d->n < 64);
	d->names[d->n++] = name;
}

static void
test_stream_copy_find_byte(void **state)
{
	struct kv_stream s;
	pst_name names[5];
	char buf[32];
	size_t off;

	(void)state;
	push_parts(&s, names);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(kv_stream_copy(&s, 0, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "GET key\r\n");
	memset(buf, 0, sizeof(buf));
	assert_int_equal(kv_stream_copy(&s, 4, buf, 3), 3);
	assert_string_equal(buf, "key");
	assert_int_equal(kv_stream_copy(&s, 5, buf, 2), 2);
	assert_memory_equal(buf, "ey", 2);
	assert_int_equal(kv_stream_copy(&s, 8, buf, 10), 1);
	assert_int_equal(kv_stream_copy(&s, 9, buf, 10), 0);
	assert_int_equal(kv_stream_copy(&s, 100, buf, 10), 0);
	assert_int_equal(kv_stream_copy(&s, 0, buf, 0), 0);

	assert_int_equal(kv_stream_find(&s, 0, '\n'), 8);
	assert_int_equal(kv_stream_find(&s, 0, '\r'), 7);
	assert_int_equal(kv_stream_find(&s, 0, 'T'), 2);
	assert_int_equal(kv_stream_find(&s, 3, 'k'), 4);
	assert_int_equal(kv_stream_find(&s, 4, 'k'), 4);
	assert_int_equal(kv_stream_find(&s, 5, 'k'), -1);
	assert_int_equal(kv_stream_find(&s, 0, 'z'), -1);
	assert_int_equal(kv_stream_find(&s, 9, '\n'), -1);
	assert_int_equal(kv_stream_find(&s, 1000, '\n'), -1);

	for (off = 0; off < 9; off++)
		assert_int_equal(kv_stream_byte(&s, off), (uint8_t)"GET key\r\n"[off]);
	assert_int_equal(kv_stream_byte(&s, 9), 0); /* out of range: 0, no read */

	kv_stream_fini(&s, NULL, NULL);
	assert_null(s.spans);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.len, 0);
}

static void
test_stream_names(void **state)
{
	struct kv_stream s;
	pst_name names[5], out[8];

	(void)state;
	push_parts(&s, names);
	/* "key": 'k' at 2 in span 1 (offset 100), empty span 2 skipped, "ey" in 3 */
	assert_int_equal(kv_stream_names(&s, 4, 3, out, 8), 2);
	assert_true(out[0] == pst_name_make(11, 102, 1));
	assert_true(out[1] == pst_name_make(13, 300, 2));
	/* The whole stream: every non-empty span whole. */
	assert_int_equal(kv_stream_names(&s, 0, 9, out, 8), 4);
	assert_true(out[0] == names[0]);
	assert_true(out[1] == names[1]);
	assert_true(out[2] == names[3]);
	assert_true(out[3] == names[4]);
	/* Inside one span. */
	assert_int_equal(kv_stream_names(&s, 3, 1, out, 8), 1);
	assert_true(out[0] == pst_name_make(11, 101, 1));
	/* Ending exactly at a span's end, starting exactly at one's start. */
	assert_int_equal(kv_stream_names(&s, 2, 3, out, 8), 1);
	assert_true(out[0] == names[1]);
	assert_int_equal(kv_stream_names(&s, 5, 3, out, 8), 1);
	assert_true(out[0] == pst_name_make(13, 300, 3));
	/* Empty, too many, out of range. */
	assert_int_equal(kv_stream_names(&s, 4, 0, out, 8), 0);
	assert_int_equal(kv_stream_names(&s, 0, 9, out, 3), -1);
	assert_int_equal(kv_stream_names(&s, 0, 9, out, 0), -1);
	assert_int_equal(kv_stream_names(&s, 4, 6, out, 8), -1);
	assert_int_equal(kv_stream_names(&s, 10, 1, out, 8), -1);
	kv_stream_fini(&s, NULL, NULL);
}

/* What kv_stream_names_parts says of bytes pushed as a value's (their
 * CRC32C taken and flushed at arrival): a CRC only for a name that is a
 * whole such span, flushed for any part of one, nothing for spans pushed
 * plainly; a trimmed span's CRC is forgotten (it was the whole span's). */
static void
test_stream_names_parts(void **state)
{
	static const char a[] = "SET k 0123", b[] = "456789abcd", c[] = "ef\r\nGET";
	struct kv_stream s;
	struct kv_part parts[4];
	pst_name out[4];
	struct kv_span spans[4];

	(void)state;
	kv_stream_init(&s);
	assert_int_equal(kv_stream_push(&s, pst_name_make(1, 10, 10), a, 10), 0);
	assert_int_equal(kv_stream_push_value(&s, pst_name_make(2, 20, 10), b, 10, 0, 0x1234u), 0);
	assert_int_equal(kv_stream_push_value(&s, pst_name_make(3, 30, 7), c, 7, 0, 0x5678u), 0);
	/* "0123456789abcdef": part of span 1, span 2 whole, part of span 3. */
	assert_int_equal(kv_stream_names_parts(&s, 6, 16, out, parts, 4), 3);
	assert_true(out[0] == pst_name_make(1, 16, 4));
	assert_int_equal(parts[0].flags, 0);
	assert_true(out[1] == pst_name_make(2, 20, 10));
	assert_int_equal(parts[1].flags, KV_SPAN_CRC | KV_SPAN_FLUSHED);
	assert_int_equal(parts[1].crc, 0x1234u);
	assert_true(out[2] == pst_name_make(3, 30, 2));
	assert_int_equal(parts[2].flags, KV_SPAN_FLUSHED);
	/* Span 3 whole: its CRC. */
	assert_int_equal(kv_stream_names_parts(&s, 20, 7, out, parts, 4), 1);
	assert_int_equal(parts[0].flags, KV_SPAN_CRC | KV_SPAN_FLUSHED);
	assert_int_equal(parts[0].crc, 0x5678u);
	/* The same through kv_stream_spans (a queued request's pieces). */
	assert_int_equal(kv_stream_spans(&s, 6, 16, spans, 4), 3);
	assert_int_equal(spans[0].flags, 0);
	assert_int_equal(spans[1].flags, KV_SPAN_CRC | KV_SPAN_FLUSHED);
	assert_int_equal(spans[1].crc, 0x1234u);
	assert_int_equal(spans[2].flags, KV_SPAN_FLUSHED);
	/* Span 2 trimmed by a consume: still flushed, no CRC. */
	kv_stream_consume(&s, 12, NULL, NULL);
	assert_int_equal(kv_stream_names_parts(&s, 0, 8, out, parts, 4), 1);
	assert_true(out[0] == pst_name_make(2, 22, 8));
	assert_int_equal(parts[0].flags, KV_SPAN_FLUSHED);
	kv_stream_fini(&s, NULL, NULL);
}

/* Bytes skipped (an open transaction's requests, multi.c) are out of
 * every lookup's sight until sought back; the front span follows the
 * skips, a push after a skip that reached the end, and a consume drops
 * the skipped bytes with the consumed ones. */
static void
test_stream_skip_seek(void **state)
{
	static const char a[] = "abc", b[] = "defg", c[] = "hi", d[] = "jk";
	struct kv_stream s;
	pst_name out[4];
	char buf[8];

	(void)state;
	kv_stream_init(&s);
	assert_int_equal(kv_stream_push(&s, pst_name_make(1, 0, 3), a, 3), 0);
	assert_int_equal(kv_stream_push(&s, pst_name_make(2, 0, 4), b, 4), 0);
	assert_int_equal(kv_stream_push(&s, pst_name_make(3, 0, 2), c, 2), 0);
	kv_stream_skip(&s, 3);
	assert_int_equal(s.len, 6);
	assert_int_equal(s.base, 3);
	assert_int_equal(s.front_i, 1);
	assert_ptr_equal(kv_stream_in_first_span(&s, 1, 3), b + 1);
	assert_null(kv_stream_in_first_span(&s, 3, 2));   /* across spans */
	assert_int_equal(kv_stream_find(&s, 0, 'g'), 3);
	assert_int_equal(kv_stream_find(&s, 0, 'a'), -1);
	assert_int_equal(kv_stream_byte(&s, 4), 'h');
	assert_int_equal(kv_stream_copy(&s, 2, buf, 4), 4);
	assert_memory_equal(buf, "fghi", 4);
	assert_int_equal(kv_stream_names(&s, 2, 3, out, 4), 2);
	assert_true(out[0] == pst_name_make(2, 2, 2));
	assert_true(out[1] == pst_name_make(3, 0, 1));
	kv_stream_skip(&s, 4);
	assert_int_equal(s.front_i, 2);
	assert_int_equal(kv_stream_byte(&s, 0), 'h');
	/* Back to a skipped request, and forth again. */
	kv_stream_seek(&s, 1);
	assert_int_equal(s.len, 8);
	assert_int_equal(s.front_i, 0);
	assert_int_equal(kv_stream_copy(&s, 0, buf, 5), 5);
	assert_memory_equal(buf, "bcdef", 5);
	kv_stream_seek(&s, 9);   /* everything skipped */
	assert_int_equal(s.len, 0);
	assert_int_equal(kv_stream_push(&s, pst_name_make(4, 0, 2), d, 2), 0);
	assert_int_equal(s.front_i, 3);
	assert_ptr_equal(kv_stream_in_first_span(&s, 0, 2), d);
	/* Consuming one byte drops the nine skipped before it. */
	kv_stream_consume(&s, 1, NULL, NULL);
	assert_int_equal(s.base, 0);
	assert_int_equal(s.len, 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(kv_stream_byte(&s, 0), 'k');
	kv_stream_fini(&s, NULL, NULL);
}

static void
test_stream_consume(void **state)
{
	struct kv_stream s;
	struct drops d = { .n = 0 };
	pst_name names[5], out[4];
	char buf[16];

	(void)state;
	push_parts(&s, names);
	/* Part of the first span: trimmed, nothing dropped. */
	kv_stream_consume(&s, 1, record_drop, &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(s.len, 8);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.spans[0].len, 1);
	assert_int_equal(s.spans[0].data[0], 'E');
	assert_true(s.spans[0].name == pst_name_make(10, 1, 1));
	assert_int_equal(kv_stream_names(&s, 0, 2, out, 4), 2);
	assert_true(out[0] == pst_name_make(10, 1, 1));
	assert_true(out[1] == pst_name_make(11, 100, 1));
	/* The rest of it and part of the next: span 0 dropped under its pushed
	 * name, span 1 trimmed. */
	kv_stream_consume(&s, 2, record_drop, &d);
	assert_int_equal(d.n, 1);
	assert_true(d.names[0] == names[0]);
	assert_int_equal(s.len, 6);
	assert_int_equal(s.n, 4);
	assert_true(s.spans[0].name == pst_name_make(11, 101, 2));
	memset(buf, 0, sizeof(buf));
	kv_stream_copy(&s, 0, buf, sizeof(buf));
	assert_string_equal(buf, " key\r\n");
	assert_int_equal(kv_stream_find(&s, 0, '\n'), 5);
	/* Exactly to the end of span 1: it and the empty span 2 go. */
	kv_stream_consume(&s, 2, record_drop, &d);
	assert_int_equal(d.n, 3);
	assert_true(d.names[1] == names[1]);
	assert_true(d.names[2] == names[2]);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.len, 4);
	/* Nothing: nothing happens. */
	kv_stream_consume(&s, 0, record_drop, &d);
	assert_int_equal(d.n, 3);
	assert_int_equal(s.len, 4);
	/* Trim span 3, then fini hands back its pushed name, then span 4's. */
	kv_stream_consume(&s, 2, record_drop, &d);
	assert_int_equal(d.n, 3);
	assert_true(s.spans[0].name == pst_name_make(13, 302, 1));
	kv_stream_fini(&s, record_drop, &d);
	assert_int_equal(d.n, 5);
	assert_true(d.names[3] == names[3]);
	assert_true(d.names[4] == names[4]);
	assert_null(s.spans);
	assert_int_equal(s.len, 0);

	/* More than there is: everything, including trailing empty spans. */
	d.n = 0;
	push_parts(&s, names);
	assert_int_equal(kv_stream_push(&s, pst_name_make(99, 0, 0), "", 0), 0);
	kv_stream_consume(&s, 1000, record_drop, &d);
	assert_int_equal(d.n, 6);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.len, 0);
	/* Reuse after emptying: a new first span, trimmed, then fini. */
	assert_int_equal(kv_stream_push(&s, pst_name_make(7, 50, 4), "abcd", 4), 0);
	kv_stream_consume(&s, 3, record_drop, &d);
	assert_int_equal(d.n, 6);
	assert_true(s.spans[0].name == pst_name_make(7, 53, 1));
	assert_int_equal(kv_stream_byte(&s, 0), 'd');
	kv_stream_fini(&s, record_drop, &d);
	assert_int_equal(d.n, 7);
	assert_true(d.names[6] == pst_name_make(7, 50, 4));
	/* fini of a never used stream, and twice. */
	kv_stream_init(&s);
	kv_stream_fini(&s, record_drop, &d);
	kv_stream_fini(&s, record_drop, &d);
	assert_int_equal(d.n, 7);
	/* consume of an empty stream. */
	kv_stream_consume(&s, 5, record_drop, &d);
	assert_int_equal(d.n, 7);
}

static void
count_drop(void *arg, pst_name name)
{
	uint32_t *next = arg;

	assert_int_equal(pst_name_index(name), *next);
	assert_int_equal(pst_name_offset(name), 0);
	assert_int_equal(pst_name_length(name), 3);
	(*next)++;
}

static void
test_stream_push(void **state)
{
	static uint8_t data[3000];
	struct kv_stream s;
	uint32_t next = 0;
	unsigned int i;
	size_t off;

	(void)state;
	kv_stream_init(&s);
	assert_int_equal(kv_stream_push(&s, 1, data, 65536), -EINVAL);
	assert_int_equal(kv_stream_push(&s, 1, NULL, 1), -EINVAL);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.len, 0);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 256);
	/* Growth through many reallocations; consume in odd steps. */
	for (i = 0; i < 1000; i++)
		assert_int_equal(kv_stream_push(&s, pst_name_make(i, 0, 3), data + 3 * i, 3), 0);
	assert_int_equal(s.len, 3000);
	assert_true(s.cap >= 1000);
	for (off = 0; off < 3000; off += 97)
		assert_int_equal(kv_stream_byte(&s, off), data[off]);
	assert_int_equal(kv_stream_find(&s, 2998, data[2999]), 2999);
	off = 0;
	while (s.len > 0) {
		size_t k = s.len < 7 ? s.len : 7;

		kv_stream_consume(&s, k, count_drop, &next);
		off += k;
		/* spans wholly before off are gone, the one holding off stays */
		assert_int_equal(next, off / 3);
		if (s.len > 0)
			assert_int_equal(kv_stream_byte(&s, 0), data[off]);
	}
	assert_int_equal(next, 1000);
	kv_stream_fini(&s, count_drop, &next);
	assert_int_equal(next, 1000);
}

/* Every name pushed comes back exactly once, in order, whatever the
 * consumption pattern. */
static void
test_stream_drop_order(void **state)
{
	uint64_t rng = 42;
	unsigned int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		static uint8_t msg[4000];
		size_t *sizes = sizes_for(sizeof(msg));
		struct built b;
		unsigned int n;
		size_t i, off = 0;

		for (i = 0; i < sizeof(msg); i++)
			msg[i] = (uint8_t)rnd(&rng);
		n = split_random(sizeof(msg), 1 + rnd_below(&rng, 300), &rng, sizes);
		build(&b, msg, sizeof(msg), sizes, n);
		while (b.s.len > 0 && rnd_below(&rng, 50) != 0) {
			size_t k = rnd_below(&rng, 400);
			uint8_t got[64];
			size_t want = b.s.len < 64 ? b.s.len : 64;

			kv_stream_consume(&b.s, k, drop_check, &b);
			off += k < sizeof(msg) - off ? k : sizeof(msg) - off;
			assert_int_equal(b.s.len, sizeof(msg) - off);
			want = b.s.len < 64 ? b.s.len : 64;
			assert_int_equal(kv_stream_copy(&b.s, 0, got, want), want);
			assert_memory_equal(got, msg + off, want);
			if (b.s.len > 0) {
				struct kv_arg a = { rnd_below(&rng, b.s.len), 0 };

				a.len = rnd_below(&rng, b.s.len - a.off + 1);
				check_names(&b, &a);
			}
		}
		unbuild(&b); /* checks the drop order and count */
		free(sizes);
	}
}

/* ======================================================================= */
/* RESP                                                                    */
/* ======================================================================= */

static void
test_resp_commands(void **state)
{
	(void)state;
	resp_ok(ARGS("PING"), KV_OP_PING, NOARGS, 0, 0);
	resp_ok(ARGS("ping", "hello"), KV_OP_PING, ARGS("hello"), 0, 0);
	resp_ok(ARGS("ECHO", "hi there"), KV_OP_ECHO, ARGS("hi there"), 0, 0);
	resp_ok(ARGS("GET", "k"), KV_OP_GET, ARGS("k"), 0, 0);
	resp_ok(ARGS("gEt", "key:000001"), KV_OP_GET, ARGS("key:000001"), 0, 0);
	resp_ok(ARGS("SET", "k", "v"), KV_OP_SET, ARGS("k", "v"), 0, 0);
	resp_ok(ARGS("set", "key", ""), KV_OP_SET, ARGS("key", ""), 0, 0);
	resp_ok(ARGS("DEL", "a"), KV_OP_DEL, ARGS("a"), 0, 0);
	resp_ok(ARGS("DEL", "a", "b", "c"), KV_OP_DEL, ARGS("a", "b", "c"), 0, 0);
	resp_ok(ARGS("EXISTS", "a", "b"), KV_OP_EXISTS, ARGS("a", "b"), 0, 0);
	resp_ok(ARGS("MSET", "a", "1", "b", "2"), KV_OP_MSET, ARGS("a", "1", "b", "2"), 0, 0);
	resp_ok(ARGS("MGET", "a", "b", "zz"), KV_OP_MGET, ARGS("a", "b", "zz"), 0, 0);
	resp_ok(ARGS("INCR", "counter"), KV_OP_INCR, ARGS("counter"), 0, 0);
	resp_ok(ARGS("DBSIZE"), KV_OP_DBSIZE, NOARGS, 0, 0);
	resp_ok(ARGS("FLUSHALL"), KV_OP_FLUSHALL, NOARGS, 0, 0);
	resp_ok(ARGS("FLUSHALL", "ASYNC"), KV_OP_FLUSHALL, ARGS("ASYNC"), 0, 0);
	resp_ok(ARGS("flushall", "sync"), KV_OP_FLUSHALL, ARGS("sync"), 0, 0);
	resp_ok(ARGS("INFO"), KV_OP_INFO, NOARGS, 0, 0);
	resp_ok(ARGS("INFO", "server"), KV_OP_INFO, ARGS("server"), 0, 0);
	resp_ok(ARGS("INFO", "server", "clients"), KV_OP_INFO, ARGS("server", "clients"), 0, 0);
	/* CONFIG GET: argv holds the parameters, not "GET" */
	resp_ok(ARGS("CONFIG", "GET", "save"), KV_OP_CONFIG_GET, ARGS("save"), 0, 0);
	resp_ok(ARGS("config", "get", "appendonly"), KV_OP_CONFIG_GET, ARGS("appendonly"), 0, 0);
	resp_ok(ARGS("CONFIG", "Get", "a", "b"), KV_OP_CONFIG_GET, ARGS("a", "b"), 0, 0);
	resp_ok(ARGS("COMMAND"), KV_OP_COMMAND, NOARGS, 0, 0);
	resp_ok(ARGS("COMMAND", "DOCS"), KV_OP_COMMAND, ARGS("DOCS"), 0, 0);
	resp_ok(ARGS("command", "COUNT"), KV_OP_COMMAND, ARGS("COUNT"), 0, 0);
	resp_ok(ARGS("SELECT", "0"), KV_OP_SELECT, ARGS("0"), 0, 0);
	resp_ok(ARGS("QUIT"), KV_OP_QUIT, NOARGS, 0, 0);
}

static void
test_resp_set_options(void **state)
{
	(void)state;
	resp_ok(ARGS("SET", "k", "v", "EX", "10"), KV_OP_SET, ARGS("k", "v"), 0, 10000);
	resp_ok(ARGS("SET", "k", "v", "px", "1500"), KV_OP_SET, ARGS("k", "v"), 0, 1500);
	resp_ok(ARGS("SET", "k", "v", "NX"), KV_OP_SET, ARGS("k", "v"), KV_SET_NX, 0);
	resp_ok(ARGS("SET", "k", "v", "xx"), KV_OP_SET, ARGS("k", "v"), KV_SET_XX, 0);
	resp_ok(ARGS("SET", "k", "v", "EX", "10", "NX"), KV_OP_SET, ARGS("k", "v"),
		KV_SET_NX, 10000);
	resp_ok(ARGS("SET", "k", "v", "Xx", "pX", "7"), KV_OP_SET, ARGS("k", "v"), KV_SET_XX, 7);
	resp_ok(ARGS("SET", "k", "v", "NX", "NX"), KV_OP_SET, ARGS("k", "v"), KV_SET_NX, 0);
	resp_ok(ARGS("SET", "k", "v", "PX", "9223372036854775807"), KV_OP_SET, ARGS("k", "v"),
		0, INT64_MAX);
	resp_ok(ARGS("SET", "k", "v", "EX", "9223372036854775"), KV_OP_SET, ARGS("k", "v"),
		0, 9223372036854775000LL);
	/* a value that looks like an option is a value */
	resp_ok(ARGS("SET", "EX", "NX"), KV_OP_SET, ARGS("EX", "NX"), 0, 0);

	resp_bad(ARGS("SET", "k", "v", "EX"), "ERR syntax error");
	resp_bad(ARGS("SET", "k", "v", "NX", "XX"), "ERR syntax error");
	resp_bad(ARGS("SET", "k", "v", "XX", "NX"), "ERR syntax error");
	resp_bad(ARGS("SET", "k", "v", "EX", "1", "PX", "1"), "ERR syntax error");
	/* one kind of deadline, which may repeat (the last counts), as in
	 * Redis 7.0 */
	resp_ok(ARGS("SET", "k", "v", "EX", "1", "EX", "2"), KV_OP_SET, ARGS("k", "v"), 0, 2000);
	resp_bad(ARGS("SET", "k", "v", "EXAT", "1", "PXAT", "1"), "ERR syntax error");
	resp_bad(ARGS("SET", "k", "v", "KEEPTTL", "EX", "1"), "ERR syntax error");
	resp_bad(ARGS("SET", "k", "v", "PX", "1", "KEEPTTL"), "ERR syntax error");
	resp_bad(ARGS("SET", "k", "v", "KEEPTTLX"), "ERR syntax error");
	resp_ok(ARGS("SET", "k", "v", "KEEPTTL", "keepttl"), KV_OP_SET, ARGS("k", "v"),
		KV_SET_KEEPTTL, 0);
	resp_ok(ARGS("SET", "k", "v", "exat", "7"), KV_OP_SET, ARGS("k", "v"),
		KV_SET_EXPIRE_AT, 7000);
	resp_ok(ARGS("SET", "k", "v", "PXAT", "9223372036854775807", "GET"), KV_OP_SET,
		ARGS("k", "v"), KV_SET_EXPIRE_AT | KV_SET_GET, INT64_MAX);
	resp_bad(ARGS("SET", "k", "v", "EXAT", "9223372036854776"),
		 "ERR invalid expire time in 'set' command");
	resp_bad(ARGS("SET", "k", "v", "PXAT", "0"), "ERR invalid expire time in 'set' command");
	resp_bad(ARGS("SET", "k", "v", "EXAT"), "ERR syntax error");
	resp_ok(ARGS("SET", "k", "v", "GET"), KV_OP_SET, ARGS("k", "v"), KV_SET_GET, 0);
	resp_ok(ARGS("SET", "k", "v", "nx", "get", "ex", "5"), KV_OP_SET, ARGS("k", "v"),
		KV_SET_NX | KV_SET_GET, 5000);
	resp_bad(ARGS("SET", "k", "v", "NXX"), "ERR syntax error");
	resp_bad(ARGS("SET", "k", "v", "EX", "0"), "ERR invalid expire time in 'set' command");
	resp_bad(ARGS("SET", "k", "v", "PX", "-5"), "ERR invalid expire time in 'set' command");
	resp_bad(ARGS("SET", "k", "v", "EX", "9223372036854776"),
		 "ERR invalid expire time in 'set' command");
	resp_bad(ARGS("SET", "k", "v", "EX", "ten"), "ERR value is not an integer or out of range");
	resp_bad(ARGS("SET", "k", "v", "EX", "1.5"), "ERR value is not an integer or out of range");
	resp_bad(ARGS("SET", "k", "v", "EX", "+5"), "ERR value is not an integer or out of range");
	resp_bad(ARGS("SET", "k", "v", "EX", "-"), "ERR value is not an integer or out of range");
	/* as Redis's string2ll: no leading zero, no "-0", no blank */
	resp_bad(ARGS("SET", "k", "v", "EX", "010"), "ERR value is not an integer or out of range");
	resp_bad(ARGS("SET", "k", "v", "EX", "-0"), "ERR value is not an integer or out of range");
	resp_bad(ARGS("SET", "k", "v", "EX", " 5"), "ERR value is not an integer or out of range");
	resp_bad(ARGS("SET", "k", "v", "PX", "0"), "ERR invalid expire time in 'set' command");
	resp_bad(ARGS("SET", "k", "v", "PX", "9223372036854775808"),
		 "ERR value is not an integer or out of range");
	resp_bad(ARGS("SET", "k", "v", "EX", ""), "ERR value is not an integer or out of range");
}

static void
test_resp_errors(void **state)
{
	static char key[KV_KEY_MAX + 2];

	(void)state;
	/* Redis 7's words: the name, then the first arguments */
	resp_bad(ARGS("FOO"), "ERR unknown command 'FOO', with args beginning with: ");
	resp_bad(ARGS("foo", "bar", "baz"),
		 "ERR unknown command 'foo', with args beginning with: 'bar' 'baz' ");
	resp_bad(ARGS("GETX", "k"), "ERR unknown command 'GETX', with args beginning with: 'k' ");
	resp_bad(ARGS("SETEXX", "k", "10", "v"),
		 "ERR unknown command 'SETEXX', with args beginning with: 'k' '10' 'v' ");
	resp_bad(ARGS("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_abcdefghij"),
		 "ERR unknown command "
		 "'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_abcdefghij'"
		 ", with args beginning with: ");
	/* 128 bytes of the arguments in all, each cut to what is left */
	memset(key, 'a', 110);
	key[110] = '\0';
	resp_bad(ARGS("x", key, "bcdefghijklmnopqrstuvwxyz", "c"),
		 "ERR unknown command 'x', with args beginning with: "
		 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' 'bcdefghijklmnop' ");
	/* CR and LF would end the reply line: blanks */
	check_req(P_RESP, "*1\r\n$5\r\nA\r\nB'\r\n", 15, KV_PARSE_BAD_REQUEST, 0, NULL, 0, 0,
		  "ERR unknown command 'A  B'', with args beginning with: ", WHOLE, NULL);
	check_req(P_RESP, "*1\r\n$0\r\n\r\n", 10, KV_PARSE_BAD_REQUEST, 0, NULL, 0, 0,
		  "ERR unknown command '', with args beginning with: ", WHOLE, NULL);

	resp_bad(ARGS("PING", "a", "b"), "ERR wrong number of arguments for 'ping' command");
	resp_bad(ARGS("ECHO"), "ERR wrong number of arguments for 'echo' command");
	resp_bad(ARGS("ECHO", "a", "b"), "ERR wrong number of arguments for 'echo' command");
	resp_bad(ARGS("GET"), "ERR wrong number of arguments for 'get' command");
	resp_bad(ARGS("get", "a", "b"), "ERR wrong number of arguments for 'get' command");
	resp_bad(ARGS("SET"), "ERR wrong number of arguments for 'set' command");
	resp_bad(ARGS("SET", "k"), "ERR wrong number of arguments for 'set' command");
	resp_bad(ARGS("DEL"), "ERR wrong number of arguments for 'del' command");
	resp_bad(ARGS("EXISTS"), "ERR wrong number of arguments for 'exists' command");
	resp_bad(ARGS("MSET"), "ERR wrong number of arguments for 'mset' command");
	resp_bad(ARGS("MSET", "a"), "ERR wrong number of arguments for 'mset' command");
	resp_bad(ARGS("MSET", "a", "1", "b"), "ERR wrong number of arguments for 'mset' command");
	resp_bad(ARGS("MGET"), "ERR wrong number of arguments for 'mget' command");
	resp_bad(ARGS("INCR"), "ERR wrong number of arguments for 'incr' command");
	resp_bad(ARGS("INCR", "a", "b"), "ERR wrong number of arguments for 'incr' command");
	resp_bad(ARGS("DBSIZE", "x"), "ERR wrong number of arguments for 'dbsize' command");
	/* Redis 7.0 (getFlushCommandFlags): more than one option is a syntax
	 * error, not an arity one. */
	resp_bad(ARGS("FLUSHALL", "ASYNC", "x"), "ERR syntax error");
	resp_bad(ARGS("FLUSHDB", "ASYNC", "x"), "ERR syntax error");
	resp_bad(ARGS("FLUSHDB", "LATER"), "ERR syntax error");
	resp_bad(ARGS("CLIENT"), "ERR wrong number of arguments for 'client' command");
	resp_bad(ARGS("CLIENT", "FOO"), "ERR unknown subcommand 'FOO'. Try CLIENT HELP.");
	resp_bad(ARGS("CLIENT", "SETNAME"),
		 "ERR wrong number of arguments for 'client|setname' command");
	resp_bad(ARGS("client", "GetName", "x"),
		 "ERR wrong number of arguments for 'client|getname' command");
	resp_bad(ARGS("FLUSHALL", "LATER"), "ERR syntax error");
	resp_bad(ARGS("CONFIG"), "ERR wrong number of arguments for 'config' command");
	resp_bad(ARGS("CONFIG", "GET"), "ERR wrong number of arguments for 'config|get' command");
	resp_bad(ARGS("CONFIG", "SET", "save", ""),
		 "ERR unknown subcommand 'SET'. Try CONFIG HELP.");
	resp_bad(ARGS("SELECT"), "ERR wrong number of arguments for 'select' command");
	resp_bad(ARGS("SELECT", "1", "2"), "ERR wrong number of arguments for 'select' command");

	/* Keys longer than KV_KEY_MAX, in every key position. */
	memset(key, 'k', KV_KEY_MAX);
	key[KV_KEY_MAX] = '\0';
	resp_ok(ARGS("GET", key), KV_OP_GET, ARGS(key), 0, 0);
	resp_ok(ARGS("SET", key, "v"), KV_OP_SET, ARGS(key, "v"), 0, 0);
	key[KV_KEY_MAX] = 'k';
	key[KV_KEY_MAX + 1] = '\0';
	resp_bad(ARGS("GET", key), "ERR key too long");
	resp_bad(ARGS("SET", key, "v"), "ERR key too long");
	resp_bad(ARGS("SET", key, "v", "EX", "10"), "ERR key too long");
	resp_bad(ARGS("DEL", "a", key), "ERR key too long");
	resp_bad(ARGS("EXISTS", key), "ERR key too long");
	resp_bad(ARGS("MGET", "a", "b", key), "ERR key too long");
	resp_bad(ARGS("MSET", "a", "1", key, "2"), "ERR key too long");
	resp_bad(ARGS("INCR", key), "ERR key too long");
	/* ... but not where it is a value */
	resp_ok(ARGS("SET", "k", key), KV_OP_SET, ARGS("k", key), 0, 0);
	resp_ok(ARGS("MSET", "k", key), KV_OP_MSET, ARGS("k", key), 0, 0);
	resp_ok(ARGS("ECHO", key), KV_OP_ECHO, ARGS(key), 0, 0);
}

static void
test_resp_too_many_args(void **state)
{
	static char names[KV_MAX_ARGS + 2][8];
	const char *words[KV_MAX_ARGS + 3];
	unsigned int i;
	size_t len;
	struct res r;

	(void)state;
	words[0] = "DEL";
	for (i = 0; i < KV_MAX_ARGS + 1; i++) {
		snprintf(names[i], sizeof(names[i]), "k%u", i);
		words[i + 1] = names[i];
	}
	words[KV_MAX_ARGS + 1] = NULL;  /* DEL and 64 keys: fine */
	len = mb(mbuf, words);
	check_req(P_RESP, mbuf, len, KV_PARSE_OK, KV_OP_DEL, words + 1, 0, 0, "", WHOLE, &r);
	len = inl(mbuf, words);
	check_req(P_RESP, mbuf, len, KV_PARSE_OK, KV_OP_DEL, words + 1, 0, 0, "", WHOLE, &r);
	words[KV_MAX_ARGS + 2] = NULL; /* 65 keys: refused */
	words[KV_MAX_ARGS + 1] = names[KV_MAX_ARGS];
	/* multibulk: at the count line, before any argument is waited for */
	len = mb(mbuf, words);
	check_req(P_RESP, mbuf, len, KV_PARSE_BAD_STREAM, 0, NULL, 0, 0,
		  "ERR Protocol error: invalid multibulk length", 0, NULL);
	check_prefixes = 0;
	check_req(P_RESP, "*66\r\n", 5, KV_PARSE_BAD_STREAM, 0, NULL, 0, 0,
		  "ERR Protocol error: invalid multibulk length", 0, NULL);
	check_prefixes = 1;
	/* inline: the line is bounded already, so it is skipped whole */
	len = inl(mbuf, words);
	check_req(P_RESP, mbuf, len, KV_PARSE_BAD_REQUEST, 0, NULL, 0, 0,
		  "ERR too many arguments for 'del' command (at most 64)", WHOLE, NULL);
}

#define E_MULTIBULK "ERR Protocol error: invalid multibulk length"
#define E_BULK "ERR Protocol error: invalid bulk length"
#define E_BULK_END "ERR Protocol error: expected '\\r\\n' after bulk string"

static void
test_resp_framing_errors(void **state)
{
	static const struct refusal broken[] = {
		{ "*abc\r\n", E_MULTIBULK },
		{ "*1x\r\n", E_MULTIBULK },
		{ "*\r\n", E_MULTIBULK },
		{ "*1\rx", E_MULTIBULK },
		{ "*1048577\r\n", E_MULTIBULK },
		{ "*99999999999999999999999999999\r\n", E_MULTIBULK },
		/* a count line that never ends is refused without waiting */
		{ "*0000000000000000000000000", E_MULTIBULK },
		/* Redis's string2ll: no leading zero, no "-0" */
		{ "*02\r\n$3\r\nGET\r\n$1\r\nk\r\n", E_MULTIBULK },
		{ "*00\r\n", E_MULTIBULK },
		{ "*-0\r\n", E_MULTIBULK },
		{ "*-01\r\n", E_MULTIBULK },
		{ "*2\r\n+GET\r\n", "ERR Protocol error: expected '$', got '+'" },
		{ "*2\r\n$3\r\nGET\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'" },
		{ "*2\r\n\r\n", "ERR Protocol error: expected '$', got '?'" },
		{ "*1\r\n$abc\r\n", E_BULK },
		{ "*1\r\n$-1\r\n", E_BULK },
		{ "*1\r\n$\r\n", E_BULK },
		{ "*1\r\n$536870913\r\n", E_BULK },
		{ "*1\r\n$1048577\r\n", E_BULK },  /* KV_VALUE_MAX + 1 */
		{ "*2\r\n$03\r\nGET\r\n$1\r\nk\r\n", E_BULK },
		{ "*2\r\n$3\r\nGET\r\n$01\r\nk\r\n", E_BULK },
		{ "*1\r\n$00\r\n\r\n", E_BULK },
		{ "*1\r\n$-0\r\n", E_BULK },
		{ "*1\r\n$4\r\nPINGxx", E_BULK_END },
		{ "*1\r\n$4\r\nPING\rx", E_BULK_END },
		{ "*1\r\n$3\r\nPING\r\n", E_BULK_END },
	};

	(void)state;
	CHECK_REFUSALS(P_RESP, KV_PARSE_BAD_STREAM, broken);
	/* a bulk of max_bulk bytes is waited for */
	resp_raw("*1\r\n$1048576\r\nabc", KV_PARSE_MORE, 0, NULL, "", 0);
	/* an inline line that never ends is refused past 64 KiB */
	{
		size_t n = 64 * 1024 + 1;
		char *big = malloc(n + 1);
		struct res r;
		size_t sizes[4];
		struct built b;

		assert_non_null(big);
		memset(big, 'a', n);
		big[n] = '\0';
		check_req(P_RESP, big, n, KV_PARSE_BAD_STREAM, 0, NULL, 0, 0,
			  "ERR Protocol error: too big inline request", 0, NULL);
		build(&b, big, n - 1, sizes, split_whole(n - 1, sizes));
		do_parse(P_RESP, &b.s, &r);
		assert_int_equal(r.r, KV_PARSE_MORE);
		unbuild(&b);
		free(big);
	}
}

#define E_UNBALANCED "ERR Protocol error: unbalanced quotes in request"

static void
test_resp_inline(void **state)
{
	static const struct refusal refused[] = {
		{ "GET k\rx\r\n", "ERR wrong number of arguments for 'get' command" },
		{ "SET k \"a\\nb\"\r\n",
		  "ERR Protocol error: escapes in inline requests are not supported" },
		{ "FOO bar\r\n", "ERR unknown command 'FOO', with args beginning with: 'bar' " },
		{ "$3\r\n", "ERR unknown command '$3', with args beginning with: " },
	};
	/* Redis closes on these (its inline parse fails) */
	static const struct refusal broken[] = {
		{ "SET k \"abc\r\n", E_UNBALANCED },
		{ "SET k \"a\"b\r\n", E_UNBALANCED },
		{ "SET k 'abc\n", E_UNBALANCED },
	};

	(void)state;
	resp_raw("PING\r\n", KV_PARSE_OK, KV_OP_PING, NOARGS, "", WHOLE);
	resp_raw("PING\n", KV_PARSE_OK, KV_OP_PING, NOARGS, "", WHOLE);
	resp_raw("  set \t k   v  \r\n", KV_PARSE_OK, KV_OP_SET, ARGS("k", "v"), "", WHOLE);
	resp_raw("SET k \"hello world\"\r\n", KV_PARSE_OK, KV_OP_SET,
		 ARGS("k", "hello world"), "", WHOLE);
	resp_raw("SET 'a key' 'it is'\r\n", KV_PARSE_OK, KV_OP_SET, ARGS("a key", "it is"), "",
		 WHOLE);
	resp_raw("SET k \"\"\r\n", KV_PARSE_OK, KV_OP_SET, ARGS("k", ""), "", WHOLE);
	check_req(P_RESP, "SET k \"v\" EX 5\r\n", 16, KV_PARSE_OK, KV_OP_SET, ARGS("k", "v"), 0,
		  5000, "", WHOLE, NULL);
	CHECK_REFUSALS(P_RESP, KV_PARSE_BAD_REQUEST, refused);
	CHECK_REFUSALS(P_RESP, KV_PARSE_BAD_STREAM, broken);
	/* only the first line is the request */
	check_prefixes = 0;
	resp_raw("PING\r\nGET k\r\n", KV_PARSE_OK, KV_OP_PING, NOARGS, "", 6);
	check_prefixes = 1;
}

/* Empty requests get no reply: they go with the next request's bytes. */
static void
test_resp_empty_requests(void **state)
{
	(void)state;
	resp_raw("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", KV_PARSE_OK, KV_OP_PING, NOARGS, "",
		 WHOLE);
	resp_raw("\r\n\n   \r\nPING\r\n", KV_PARSE_OK, KV_OP_PING, NOARGS, "", WHOLE);
	resp_raw("*0\r\n\r\nFOO\r\n", KV_PARSE_BAD_REQUEST, 0, NULL,
		 "ERR unknown command 'FOO', with args beginning with: ", WHOLE);
	resp_raw("*0\r\n*xyz\r\n", KV_PARSE_BAD_STREAM, 0, NULL,
		 "ERR Protocol error: invalid multibulk length", 0);
	resp_raw("*0\r\n", KV_PARSE_MORE, 0, NULL, "", 0);
	resp_raw("\r\n", KV_PARSE_MORE, 0, NULL, "", 0);
	resp_raw("", KV_PARSE_MORE, 0, NULL, "", 0);
}

/* Bulk strings are binary: CR, LF, NUL, '*' and '$' inside values. */
static void
test_resp_binary_values(void **state)
{
	static const char msg[] = "*3\r\n$3\r\nSET\r\n$4\r\nk\0\r\n\r\n$12\r\n*1\r\n$4\r\n\0\xff\r\n\r\n";
	struct res r;
	uint8_t got[16];

	(void)state;
	check_req(P_RESP, msg, sizeof(msg) - 1, KV_PARSE_OK, KV_OP_SET, NULL, 0, 0, "", WHOLE, &r);
	assert_int_equal(r.req.argc, 2);
	assert_int_equal(r.req.argv[0].len, 4);
	assert_memory_equal(msg + r.req.argv[0].off, "k\0\r\n", 4);
	assert_int_equal(r.req.argv[1].len, 12);
	memcpy(got, msg + r.req.argv[1].off, 12);
	assert_memory_equal(got, "*1\r\n$4\r\n\0\xff\r\n", 12);
}

/* A 1 MiB value in MSS-sized spans: OK, its names cover it exactly (as
 * parse_split checks); one byte more is refused as soon as its length is
 * read, the connection closed. */
static void
test_resp_big_values(void **state)
{
	size_t vlen = KV_VALUE_MAX, hdr, len, *sizes, i;
	char *msg = malloc(KV_VALUE_MAX + 100);
	struct res r;
	unsigned int n;

	(void)state;
	if (msg == NULL) {
		fail_msg("out of memory");
		return;
	}
	sizes = sizes_for(KV_VALUE_MAX + 100);
	for (vlen = KV_VALUE_MAX; vlen <= KV_VALUE_MAX + 1; vlen++) {
		hdr = (size_t)sprintf(msg, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n", vlen);
		for (i = 0; i < vlen; i++)
			msg[hdr + i] = (char)('a' + i % 26);
		memcpy(msg + hdr + vlen, "\r\n", 2);
		len = hdr + vlen + 2;
		n = split_mss(len, sizes);
		parse_split(P_RESP, msg, len, sizes, n, &r);
		if (vlen == KV_VALUE_MAX) {
			assert_int_equal(r.r, KV_PARSE_OK);
			assert_int_equal(r.req.argv[1].off, hdr);
			assert_int_equal(r.req.argv[1].len, vlen);
			/* all but the last byte: wait */
			sizes[n - 1]--;
			parse_split(P_RESP, msg, len - 1, sizes, n, &r);
			assert_int_equal(r.r, KV_PARSE_MORE);
			/* and the whole value split at every 4099th boundary */
			check_req(P_RESP, msg, len, KV_PARSE_OK, KV_OP_SET, NULL, 0, 0, NULL,
				  WHOLE, NULL);
		} else {
			assert_int_equal(r.r, KV_PARSE_BAD_STREAM);
			assert_string_equal(r.err, E_BULK);
			/* with none of the value there yet */
			parse_split(P_RESP, msg, hdr, &hdr, 1, &r);
			assert_int_equal(r.r, KV_PARSE_BAD_STREAM);
			assert_string_equal(r.err, E_BULK);
		}
	}
	/* MSET with an oversize value too */
	hdr = (size_t)sprintf(msg, "*3\r\n$4\r\nMSET\r\n$1\r\nk\r\n$%u\r\n", KV_VALUE_MAX + 1);
	memset(msg + hdr, 'x', KV_VALUE_MAX + 1);
	memcpy(msg + hdr + KV_VALUE_MAX + 1, "\r\n", 2);
	parse_split(P_RESP, msg, hdr, &hdr, 1, &r);
	assert_int_equal(r.r, KV_PARSE_BAD_STREAM);
	assert_string_equal(r.err, E_BULK);
	free(sizes);
	free(msg);
}

/* What redis-benchmark and redis-cli send, pipelined. */
static const struct {
	const char *msg;
	int r;
	enum kv_op op;
	const char *args[5];
} resp_pipeline[] = {
	{ "*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n", KV_PARSE_OK, KV_OP_COMMAND, { "DOCS" } },
	{ "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n", KV_PARSE_OK,
	  KV_OP_CONFIG_GET, { "save" } },
	{ "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$10\r\nappendonly\r\n", KV_PARSE_OK,
	  KV_OP_CONFIG_GET, { "appendonly" } },
	{ "PING\r\n", KV_PARSE_OK, KV_OP_PING, { NULL } },
	{ "*1\r\n$4\r\nPING\r\n", KV_PARSE_OK, KV_OP_PING, { NULL } },
	{ "*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nxxx\r\n", KV_PARSE_OK,
	  KV_OP_SET, { "key:__rand_int__", "xxx" } },
	{ "*0\r\n*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n", KV_PARSE_OK, KV_OP_GET,
	  { "key:__rand_int__" } },
	{ "*1\r\n$3\r\nFOO\r\n", KV_PARSE_BAD_REQUEST, KV_OP_NONE, { NULL } },
	{ "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n", KV_PARSE_OK, KV_OP_INCR,
	  { "counter" } },
	{ "SET k \"v w\"\r\n", KV_PARSE_OK, KV_OP_SET, { "k", "v w" } },
	{ "*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$2\r\n\r\n\r\n$1\r\nb\r\n$0\r\n\r\n", KV_PARSE_OK,
	  KV_OP_MSET, { "a", "\r\n", "b", "" } },
	{ "*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n", KV_PARSE_OK, KV_OP_DEL,
	  { "a", "b" } },
	{ "*1\r\n$4\r\nQUIT\r\n", KV_PARSE_OK, KV_OP_QUIT, { NULL } },
};

static void
resp_pipeline_check(const struct built *b, const struct res *r, size_t i)
{
	unsigned int j;

	assert_int_equal(r->r, resp_pipeline[i].r);
	assert_int_equal(r->req.consumed, strlen(resp_pipeline[i].msg));
	if (r->r != KV_PARSE_OK)
		return;
	assert_int_equal(r->req.op, resp_pipeline[i].op);
	for (j = 0; resp_pipeline[i].args[j] != NULL; j++) {
		char got[32] = { 0 };

		assert_int_equal(r->req.argv[j].len, strlen(resp_pipeline[i].args[j]));
		kv_stream_copy(&b->s, r->req.argv[j].off, got, r->req.argv[j].len);
		assert_string_equal(got, resp_pipeline[i].args[j]);
	}
	assert_int_equal(r->req.argc, j);
	check_all_names(b, r);
}

/* The redis-benchmark pipeline, parsed across random spans. */
static void
test_resp_pipeline(void **state)
{
	(void)state;
	CHECK_PIPELINE(P_RESP, resp_pipeline, 7, resp_pipeline_check);
}

/* A smaller proto-max-bulk-len: refused at the length line, in every
 * argument position, and in HTTP as 413, without waiting for the bytes. */
#define CHECK_STR(p, msg, ...) check_req(p, msg, strlen(msg), __VA_ARGS__)
static void
test_max_bulk_option(void **state)
{
	static const struct kv_limits small = { .max_bulk = 10 };

	(void)state;
	test_limits = &small;
	CHECK_STR(P_RESP, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n",
		  KV_PARSE_OK, KV_OP_SET, ARGS("k", "0123456789"), 0, 0, "", WHOLE, NULL);
	CHECK_STR(P_HTTP, "PUT /k HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
		  KV_PARSE_OK, KV_OP_SET, ARGS("k", "0123456789"), 0, 0, "", WHOLE, NULL);
	check_prefixes = 0;
	CHECK_STR(P_RESP, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$11\r\n",
		  KV_PARSE_BAD_STREAM, 0, NULL, 0, 0, E_BULK, 0, NULL);
	CHECK_STR(P_RESP, "*2\r\n$3\r\nGET\r\n$11\r\n",
		  KV_PARSE_BAD_STREAM, 0, NULL, 0, 0, E_BULK, 0, NULL);
	CHECK_STR(P_RESP, "*1\r\n$11\r\n", KV_PARSE_BAD_STREAM, 0, NULL, 0, 0, E_BULK, 0,
		  NULL);
	CHECK_STR(P_HTTP, "PUT /k HTTP/1.1\r\nContent-Length: 11\r\n\r\n",
		  KV_PARSE_BAD_STREAM, 0, NULL, 0, 0, KV_HTTP_413, 0, NULL);
}

/* A request whose lines lie whole in one span is framed with a pointer
 * (proto_resp.c's plain path); split, each piece from the split on is read
 * byte by byte. check_req parses each message whole and split at every
 * byte (and resumed, and in 1-byte spans) and wants the same result, the
 * same arguments and the same error from all: here the messages that sit on
 * the plain path's edges (what it accepts, and the first thing past it). */
static void
test_resp_plain_path(void **state)
{
	static const struct kv_limits small = { .max_bulk = 16 };
	static const struct refusal broken[] = {
		{ "*66\r\n$4\r\nPING\r\n", E_MULTIBULK },         /* KV_MAX_ARGS + 2 */
		{ "*+1\r\n$4\r\nPING\r\n", E_MULTIBULK },
		{ "*1 \r\n$4\r\nPING\r\n", E_MULTIBULK },
		{ "*1\n\n$4\r\nPING\r\n", E_MULTIBULK },
		{ "*2\r\n$3\r\nGET\r\n$0000000000000000001\r\nk\r\n", E_BULK }, /* 19 */
		/* leading zeros and "-0", where the plain path reads them */
		{ "*02\r\n$3\r\nGET\r\n$1\r\nk\r\n", E_MULTIBULK },
		{ "*2\r\n$003\r\nGET\r\n$1\r\nk\r\n", E_BULK },
		{ "*2\r\n$3\r\nGET\r\n$000000000000000001\r\nk\r\n", E_BULK },
		{ "*2\r\n$3\r\nGET\r\n$-0\r\n\r\n", E_BULK },
		{ "*2\r\n$3\r\nGET\r\n$-1\r\nk\r\n", E_BULK },
		{ "*2\r\n$3\r\nGET\r\n$+1\r\nk\r\n", E_BULK },
		{ "*2\r\n$3\r\nGET\r\n$1 \r\nk\r\n", E_BULK },
		{ "*2\r\n$3\r\nGET\r\n$1\n\nk\r\n", E_BULK },
		{ "*2\r\n$3\r\nGET\r\n$1\r\r\nk\r\n", E_BULK },
		{ "*2\r\n$3\r\nGET\r\n$17\r\n", E_BULK },       /* max_bulk + 1 */
		{ "*3\r\n$3\r\nSET\r\n$17\r\n01234567890123456\r\n$1\r\nv\r\n", E_BULK },
		{ "*2\r\n$3\r\nGET\r\n$1\r\nkx\r\n", E_BULK_END },
		{ "*2\r\n$3\r\nGET\r\n$1\r\nk\n\r", E_BULK_END },
		{ "*2\r\n$3\r\nGET\r\n$2\r\nk\r\n\r", E_BULK_END },
		{ "*2\r\n$3\r\nGETT\r\n$1\r\nk\r\n", E_BULK_END },
		{ "*2\r\n$3\r\nGET\r\nx1\r\nk\r\n", "ERR Protocol error: expected '$', got 'x'" },
		{ "*2\r\n$3\r\nGET\r\n\r\n", "ERR Protocol error: expected '$', got '?'" },
	};
	static const struct refusal refused[] = {
		{ "*1\r\n$3\r\nFOO\r\n", "ERR unknown command 'FOO', with args beginning with: " },
		{ "*2\r\n$3\r\nG\xc5T\r\n$1\r\nk\r\n",
		  "ERR unknown command 'G\xc5T', with args beginning with: 'k' " },
		{ "*2\r\n$3\r\nG\x05T\r\n$1\r\nk\r\n",
		  "ERR unknown command 'G\x05T', with args beginning with: 'k' " },
		{ "*3\r\n$3\r\nGET\r\n$1\r\na\r\n$1\r\nb\r\n",
		  "ERR wrong number of arguments for 'get' command" },
	};
	static char msg[4096];
	const char *w[70];
	size_t len;
	int i;

	(void)state;
	test_limits = &small;
	resp_raw("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$16\r\n0123456789abcdef\r\n",
		 KV_PARSE_OK, KV_OP_SET, ARGS("key", "0123456789abcdef"), "", WHOLE);
	resp_raw("*2\r\n$3\r\ngEt\r\n$1\r\nk\r\n", KV_PARSE_OK, KV_OP_GET, ARGS("k"),
		 "", WHOLE);
	/* "0" alone is the one length with a leading zero (Redis's string2ll) */
	resp_raw("*2\r\n$3\r\nGET\r\n$0\r\n\r\n", KV_PARSE_OK, KV_OP_GET, ARGS(""), "",
		 WHOLE);
	/* the most elements a request may have: KV_MAX_ARGS + 1 */
	w[0] = "MSET";
	for (i = 1; i <= KV_MAX_ARGS; i++)
		w[i] = i % 2 ? "k" : "v";
	w[KV_MAX_ARGS + 1] = NULL;
	len = mb(msg, w);
	check_req(P_RESP, msg, len, KV_PARSE_OK, KV_OP_MSET, w + 1, 0, 0, "", WHOLE, NULL);
	/* and the empty requests before one, skipped */
	resp_raw("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", KV_PARSE_OK, KV_OP_PING, NOARGS, "",
		 WHOLE);
	CHECK_REFUSALS(P_RESP, KV_PARSE_BAD_REQUEST, refused);
	check_prefixes = 0;
	CHECK_REFUSALS(P_RESP, KV_PARSE_BAD_STREAM, broken);
	/* a request, then bytes that are not one: only the first is read */
	resp_raw("*1\r\n$4\r\nPING\r\n*x\r\n", KV_PARSE_OK, KV_OP_PING, NOARGS, "", 14);
	resp_raw("*1\r\n$4\r\nPING\r\n$4\r\nPING\r\n", KV_PARSE_OK, KV_OP_PING, NOARGS,
		 "", 14);
}

/* A request trickled a byte at a time costs linear work when resumed: the
 * parser examines each byte about once, where starting over from the first
 * byte on every arrival examines n^2/2 (a 3 KiB value: 4.7 M bytes). */
static void
test_resp_resume_linear(void **state)
{
	static char msg[8192];
	size_t *sizes, len, hdr, i;
	uint64_t examined;
	unsigned int n;

	(void)state;
	hdr = (size_t)sprintf(msg, "*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$3000\r\n");
	for (i = 0; i < 3000; i++)
		msg[hdr + i] = (char)('a' + i % 26);
	memcpy(msg + hdr + 3000, "\r\n", 2);
	len = hdr + 3002;
	sizes = sizes_for(len);
	n = split_bytes(len, sizes);
	examined = check_resume(msg, len, sizes, n);
	print_message("resume: %zu bytes in %u pieces, %" PRIu64 " bytes examined\n", len, n,
		      examined);
	assert_true(examined <= 2 * len);
	/* and the lookups find where to resume without stepping over every
	 * span from the first on each arrival (n pieces: n spans) */
	print_message("resume: %" PRIu64 " spans stepped over by lookups\n", resume_span_steps);
	assert_true(resume_span_steps <= 4 * (uint64_t)n);
	/* many elements, each resumed at (far into the request) */
	len = (size_t)sprintf(msg, "*61\r\n$4\r\nMSET\r\n");
	for (i = 0; i < 30; i++)
		len += (size_t)sprintf(msg + len, "$3\r\nk%02zu\r\n$5\r\nv%04zu\r\n", i, i);
	n = split_bytes(len, sizes);
	examined = check_resume(msg, len, sizes, n);
	print_message("resume: MSET of %zu bytes in %u pieces, %" PRIu64 " bytes examined, %"
		      PRIu64 " spans stepped over\n", len, n, examined, resume_span_steps);
	assert_true(examined <= 2 * len);
	assert_true(resume_span_steps <= 4 * (uint64_t)n);
	/* HTTP: a request line, 40 headers and a 3000-byte body trickled:
	 * each line read once, the body's length checked per arrival */
	len = (size_t)sprintf(msg, "PUT /slow HTTP/1.1\r\n");
	for (i = 0; i < 40; i++)
		len += (size_t)sprintf(msg + len, "X-Header-%02zu: some value %zu\r\n", i, i);
	len += (size_t)sprintf(msg + len, "Content-Length: 3000\r\n\r\n");
	memset(msg + len, 'b', 3000);
	len += 3000;
	n = split_bytes(len, sizes);
	examined = check_resume_p(P_HTTP, msg, len, sizes, n);
	print_message("resume: HTTP %zu bytes in %u pieces, %" PRIu64 " bytes examined, %"
		      PRIu64 " spans stepped over\n", len, n, examined, resume_span_steps);
	assert_true(examined <= 2 * len);
	assert_true(resume_span_steps <= 4 * (uint64_t)n);
	/* inline too: a 3000-byte line trickled */
	memset(msg, 'x', 3000);
	memcpy(msg, "ECHO ", 5);
	memcpy(msg + 3000, "\r\n", 2);
	n = split_bytes(3002, sizes);
	examined = check_resume(msg, 3002, sizes, n);
	assert_true(examined <= 2 * 3002);
	assert_true(resume_span_steps <= 4 * (uint64_t)n);
	/* and through empty requests, which are skipped once (a "*N" line,
	 * 24 bytes at most, is read again from its start on each arrival:
	 * here 1 + 2 + 3 + 4 bytes for each "*0\r\n") */
	len = 0;
	for (i = 0; i < 500; i++)
		len += (size_t)sprintf(msg + len, "*0\r\n");
	len += (size_t)sprintf(msg + len, "*1\r\n$4\r\nPING\r\n");
	n = split_bytes(len, sizes);
	examined = check_resume(msg, len, sizes, n);
	assert_true(examined <= 3 * len);
	free(sizes);
}

static void
test_resp_err_buffer(void **state)
{
	static const char msg[] = "*1\r\n$3\r\nFOO\r\n";
	size_t sizes[4];
	struct kv_request req;
	struct built b;
	char err[8];

	(void)state;
	build(&b, msg, sizeof(msg) - 1, sizes, split_whole(sizeof(msg) - 1, sizes));
	assert_int_equal(kv_resp_parse(&b.s, NULL, &req, NULL, 0), KV_PARSE_BAD_REQUEST);
	assert_int_equal(req.consumed, sizeof(msg) - 1);
	memset(err, 'x', sizeof(err));
	assert_int_equal(kv_resp_parse(&b.s, NULL, &req, err, sizeof(err)), KV_PARSE_BAD_REQUEST);
	assert_string_equal(err, "ERR unk");
	memset(err, 'x', sizeof(err));
	assert_int_equal(kv_resp_parse(&b.s, NULL, &req, err, 1), KV_PARSE_BAD_REQUEST);
	assert_int_equal(err[0], '\0');
	assert_int_equal(err[1], 'x');
	assert_int_equal(kv_http_parse(&b.s, NULL, &req, NULL, 0), KV_PARSE_BAD_STREAM);
	unbuild(&b);
}

/* ======================================================================= */
/* the command table                                                       */
/* ======================================================================= */

/* Redis 7.0's description of the commands paste-kvs serves: what COMMAND
 * must say (flags in Redis's order). Rows are found in the table by name,
 * so that a command missing from it fails here rather than the build. */
static const struct {
	const char *name;
	int arity;
	const char *flags[7];
	int first, last, step;
} redis_commands[] = {
	{ "ping", -1, { "fast" }, 0, 0, 0 },
	{ "get", 2, { "readonly", "fast" }, 1, 1, 1 },
	{ "set", -3, { "write", "denyoom" }, 1, 1, 1 },
	{ "del", -2, { "write" }, 1, -1, 1 },
	{ "exists", -2, { "readonly", "fast" }, 1, -1, 1 },
	{ "mset", -3, { "write", "denyoom" }, 1, -1, 2 },
	{ "mget", -2, { "readonly", "fast" }, 1, -1, 1 },
	{ "incr", 2, { "write", "denyoom", "fast" }, 1, 1, 1 },
	{ "dbsize", 1, { "readonly", "fast" }, 0, 0, 0 },
	{ "flushall", -1, { "write" }, 0, 0, 0 },
	{ "info", -1, { "loading", "stale" }, 0, 0, 0 },
	{ "config", -2, { NULL }, 0, 0, 0 },
	{ "command", -1, { "loading", "stale" }, 0, 0, 0 },
	{ "quit", -1,
	  { "noscript", "loading", "stale", "fast", "no_auth", "allow_busy" }, 0, 0, 0 },
	{ "select", 2, { "loading", "stale", "fast" }, 0, 0, 0 },
	{ "echo", 2, { "fast" }, 0, 0, 0 },
	{ "cluster", -2, { NULL }, 0, 0, 0 },
	{ "readonly", 1, { "loading", "stale", "fast" }, 0, 0, 0 },
	{ "readwrite", 1, { "loading", "stale", "fast" }, 0, 0, 0 },
	{ "auth", -2,
	  { "noscript", "loading", "stale", "fast", "no_auth", "allow_busy" }, 0, 0, 0 },
	{ "setnx", 3, { "write", "denyoom", "fast" }, 1, 1, 1 },
	{ "getset", 3, { "write", "denyoom", "fast" }, 1, 1, 1 },
	{ "getdel", 2, { "write", "fast" }, 1, 1, 1 },
	{ "incrby", 3, { "write", "denyoom", "fast" }, 1, 1, 1 },
	{ "decrby", 3, { "write", "denyoom", "fast" }, 1, 1, 1 },
	{ "decr", 2, { "write", "denyoom", "fast" }, 1, 1, 1 },
	{ "incrbyfloat", 3, { "write", "denyoom", "fast" }, 1, 1, 1 },
	{ "append", 3, { "write", "denyoom", "fast" }, 1, 1, 1 },
	{ "strlen", 2, { "readonly", "fast" }, 1, 1, 1 },
	{ "getrange", 4, { "readonly" }, 1, 1, 1 },
	{ "substr", 4, { "readonly" }, 1, 1, 1 },
	{ "setrange", 4, { "write", "denyoom" }, 1, 1, 1 },
	{ "rename", 3, { "write" }, 1, 2, 1 },
	{ "renamenx", 3, { "write", "fast" }, 1, 2, 1 },
	{ "type", 2, { "readonly", "fast" }, 1, 1, 1 },
	{ "unlink", -2, { "write", "fast" }, 1, -1, 1 },
	{ "touch", -2, { "readonly", "fast" }, 1, -1, 1 },
	{ "expire", -3, { "write", "fast" }, 1, 1, 1 },
	{ "pexpire", -3, { "write", "fast" }, 1, 1, 1 },
	{ "expireat", -3, { "write", "fast" }, 1, 1, 1 },
	{ "pexpireat", -3, { "write", "fast" }, 1, 1, 1 },
	{ "ttl", 2, { "readonly", "fast" }, 1, 1, 1 },
	{ "pttl", 2, { "readonly", "fast" }, 1, 1, 1 },
	{ "expiretime", 2, { "readonly", "fast" }, 1, 1, 1 },
	{ "pexpiretime", 2, { "readonly", "fast" }, 1, 1, 1 },
	{ "persist", 2, { "write", "fast" }, 1, 1, 1 },
	{ "getex", -2, { "write", "fast" }, 1, 1, 1 },
	{ "setex", 4, { "write", "denyoom" }, 1, 1, 1 },
	{ "psetex", 4, { "write", "denyoom" }, 1, 1, 1 },
	{ "copy", -3, { "write", "denyoom" }, 1, 2, 1 },
	{ "multi", 1, { "noscript", "loading", "stale", "fast", "allow_busy" }, 0, 0, 0 },
	{ "exec", 1, { "noscript", "loading", "stale", "skip_slowlog" }, 0, 0, 0 },
	{ "discard", 1, { "noscript", "loading", "stale", "fast", "allow_busy" }, 0, 0, 0 },
	{ "watch", -2, { "noscript", "loading", "stale", "fast", "allow_busy" }, 1, -1, 1 },
	{ "unwatch", 1, { "noscript", "loading", "stale", "fast", "allow_busy" }, 0, 0, 0 },
	{ "keys", 2, { "readonly" }, 0, 0, 0 },
	{ "scan", -2, { "readonly" }, 0, 0, 0 },
	{ "randomkey", 1, { "readonly" }, 0, 0, 0 },
	{ "flushdb", -1, { "write" }, 0, 0, 0 },
	{ "hello", -1, { "noscript", "loading", "stale", "fast", "no_auth", "allow_busy" }, 0, 0, 0 },
	{ "client", -2, { NULL }, 0, 0, 0 },
	{ "time", 1, { "loading", "stale", "fast" }, 0, 0, 0 },
	{ "wait", 3, { "noscript" }, 0, 0, 0 },
	{ "msetnx", -3, { "write", "denyoom" }, 1, -1, 2 },
};

#define N_REDIS_COMMANDS (sizeof(redis_commands) / sizeof(redis_commands[0]))

/* The table's row for redis_commands[i]. */
static const struct kv_command *
row(size_t i)
{
	const struct kv_command *cmd = kv_command_find(redis_commands[i].name,
							strlen(redis_commands[i].name));

	if (cmd == NULL)
		fail_msg("'%s' is not in the command table", redis_commands[i].name);
	return cmd;
}

/* COMMAND's entry for redis_commands[i], written out by hand. */
static size_t
want_info(size_t i, char *out)
{
	size_t len, nflags = 0;

	while (redis_commands[i].flags[nflags] != NULL)
		nflags++;
	len = (size_t)sprintf(out, "*6\r\n$%zu\r\n%s\r\n:%d\r\n*%zu\r\n",
			      strlen(redis_commands[i].name), redis_commands[i].name,
			      redis_commands[i].arity, nflags);
	for (size_t f = 0; f < nflags; f++)
		len += (size_t)sprintf(out + len, "+%s\r\n", redis_commands[i].flags[f]);
	len += (size_t)sprintf(out + len, ":%d\r\n:%d\r\n:%d\r\n", redis_commands[i].first,
			       redis_commands[i].last, redis_commands[i].step);
	return len;
}

static void
test_command_table(void **state)
{
	char want[256], got[256];

	(void)state;
	assert_int_equal(KV_COMMANDS_N, N_REDIS_COMMANDS);
	for (size_t i = 0; i < N_REDIS_COMMANDS; i++) {
		const struct kv_command *cmd = row(i);
		size_t len = want_info(i, want);
		int n;

		assert_ptr_equal(kv_command_find(redis_commands[i].name,
						 strlen(redis_commands[i].name)), cmd);
		assert_non_null(cmd->run);
		memset(got, 'x', sizeof(got));
		n = kv_command_info(cmd, got, sizeof(got));
		if (n != (int)len || memcmp(got, want, len) != 0)
			fail_msg("COMMAND INFO %s: '%.*s', want '%.*s'", redis_commands[i].name,
				 n, got, (int)len, want);
		/* exact fit works, anything shorter fails */
		assert_int_equal(kv_command_info(cmd, got, len), (int)len);
		for (size_t size = 0; size < len; size++)
			assert_int_equal(kv_command_info(cmd, got, size), -1);
	}
	assert_null(kv_command_find("GET", 3));
	assert_null(kv_command_find("ge", 2));
	assert_null(kv_command_find("gets", 4));
	assert_null(kv_command_find("", 0));
}

/* The command table's walk, as both lookups did before SET and GET were
 * read as one word: @nocase folds A-Z only. */
static const struct kv_command *
find_by_walk(const char *name, size_t len, int nocase)
{
	for (unsigned int op = 1; op < KV_OP_COUNT; op++) {
		const struct kv_command *cmd = &kv_commands[op];
		size_t i;

		if (cmd->name_len != len)
			continue;
		for (i = 0; i < len; i++) {
			char c = name[i];

			if (nocase && c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != cmd->name[i])
				break;
		}
		if (i == len)
			return cmd;
	}
	return NULL;
}

/* Three-byte names: SET's and GET's in every case, and each with any byte
 * in any one place, find what the walk finds (or-ing 0x20 must fold only
 * letters: "s\x05t", "SE\x14" and the like are unknown). */
static void
test_command_find_three_bytes(void **state)
{
	static const char *const bases[] = { "set", "get", "del", "ttl" };
	char name[3];

	(void)state;
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		for (unsigned int cases = 0; cases < 8; cases++) {
			for (unsigned int pos = 0; pos < 4; pos++) {
				for (unsigned int byte = 0; byte < 256; byte++) {
					for (unsigned int i = 0; i < 3; i++)
						name[i] = (cases >> i) & 1 ?
							  (char)(bases[b][i] - 'a' + 'A') :
							  bases[b][i];
					if (pos < 3)
						name[pos] = (char)byte;
					assert_ptr_equal(kv_command_find_nocase(name, 3),
							 find_by_walk(name, 3, 1));
					assert_ptr_equal(kv_command_find(name, 3),
							 find_by_walk(name, 3, 0));
				}
			}
		}
	}
	assert_ptr_equal(kv_command_find_nocase("SeT", 3), &kv_commands[KV_OP_SET]);
	assert_ptr_equal(kv_command_find_nocase("gET", 3), &kv_commands[KV_OP_GET]);
	assert_null(kv_command_find_nocase("s\x05t", 3));
	assert_null(kv_command_find_nocase("SE\x14", 3));
	assert_null(kv_command_find("SET", 3));
	assert_null(kv_command_find_nocase("se", 2));
}

/* @words as a multibulk request, parsed in one span. */
static void
parse_words(const char *const *words, struct res *r)
{
	size_t len = mb(mbuf, words), sizes[4];
	struct built b;

	build(&b, mbuf, len, sizes, split_whole(len, sizes));
	do_parse(P_RESP, &b.s, r);
	unbuild(&b);
}

/* @name and @n arguments "a0", "a1"..., into @words. */
static const char *const *
words_n(const char **words, const char *name, unsigned int n)
{
	static const char *const args[] = { "a0", "a1", "a2", "a3", "a4", "a5", "a6" };

	assert_true(n <= sizeof(args) / sizeof(args[0]));
	words[0] = name;
	memcpy(words + 1, args, n * sizeof(args[0]));
	words[n + 1] = NULL;
	return words;
}

/* Every row's arity: one word short is refused, the fewest it takes pass
 * the count (some then fail on their contents), and a fixed arity or a
 * maximum takes no more. */
static void
test_command_arity(void **state)
{
	const char *words[10];
	char wrong[96];
	struct res r;

	(void)state;
	for (size_t i = 0; i < N_REDIS_COMMANDS; i++) {
		const struct kv_command *cmd = row(i);
		unsigned int fewest = (unsigned int)abs(cmd->arity) - 1;

		snprintf(wrong, sizeof(wrong), "ERR wrong number of arguments for '%s' command",
			 cmd->name);
		parse_words(words_n(words, cmd->name, fewest), &r);
		if (strcmp(r.err, wrong) == 0)
			fail_msg("%s with %u arguments: '%s'", cmd->name, fewest, r.err);
		if (fewest > 0)
			resp_bad(words_n(words, cmd->name, fewest - 1), wrong);
		if (cmd->arity > 0)
			resp_bad(words_n(words, cmd->name, fewest + 1), wrong);
		if (cmd->args_max > 0)
			resp_bad(words_n(words, cmd->name, cmd->args_max + 1u), wrong);
	}
	/* keys that come in steps come in whole steps */
	resp_bad(ARGS("MSET", "a", "1", "b"), "ERR wrong number of arguments for 'mset' command");
}

/* Every row's keys: a word too long for a key is refused where the row says
 * a key is, and only there. */
static void
test_command_keys(void **state)
{
	static char big[KV_KEY_MAX + 2];
	const char *words[8];
	struct res r;

	(void)state;
	memset(big, 'k', KV_KEY_MAX + 1);
	for (size_t i = 0; i < N_REDIS_COMMANDS; i++) {
		const struct kv_command *cmd = row(i);
		int nwords = abs(cmd->arity), last;

		if (cmd->first_key == 0)
			continue;
		if (cmd->arity < 0)
			nwords += 2 * cmd->key_step; /* more keys than the fewest */
		last = cmd->last_key < 0 ? nwords + cmd->last_key : cmd->last_key;
		for (int pos = 1; pos < nwords; pos++) {
			int is_key = pos >= cmd->first_key && pos <= last &&
				     (pos - cmd->first_key) % cmd->key_step == 0;

			words[0] = cmd->name;
			for (int k = 1; k < nwords; k++)
				words[k] = k == pos ? big : "v";
			words[nwords] = NULL;
			parse_words(words, &r);
			if (is_key != (strcmp(r.err, "ERR key too long") == 0))
				fail_msg("%s: a long word at %d gave '%s'", cmd->name, pos, r.err);
			if (is_key)
				resp_bad(words, "ERR key too long");
		}
	}
}

/* Parse the first @part bytes of @msg (one span), resuming through @st
 * for RESP, into @r. */
static void
parse_part(int http, const char *msg, size_t part, struct kv_parse_state *st,
	   struct res *r)
{
	size_t sizes[4];
	struct built b;

	build(&b, msg, part, sizes, split_whole(part, sizes));
	r->r = http ? kv_http_parse(&b.s, test_limits, &r->req, r->err, sizeof(r->err))
		    : kv_resp_parse_resume(&b.s, test_limits, st, &r->req, r->err,
					   sizeof(r->err));
	unbuild(&b);
}

/* A value whose length is declared and whose bytes are not all there is
 * reported (pending_*) for the server to reserve or refuse; other
 * incomplete arguments are not. */
static void
test_pending_value(void **state)
{
	static char msg[2 * KV_RESERVE_MIN + 512];
	const size_t big = KV_RESERVE_MIN;
	struct kv_parse_state st;
	struct res r;
	size_t len, head;

	(void)state;
	/* SET's value, declared, 10 bytes there; then its EX argument. */
	len = (size_t)sprintf(msg, "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", big);
	head = len;
	memset(msg + len, 'v', big);
	len += big;
	len += (size_t)sprintf(msg + len, "\r\n$2\r\nEX\r\n$2\r\n10\r\n");
	memset(&st, 0, sizeof(st));
	parse_part(0, msg, head + 10, &st, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.pending_len, big);
	assert_int_equal(r.req.pending_elem, 2);
	assert_int_equal(r.req.pending_end, head + big + 2);
	assert_int_equal(r.req.pending_after, 2);
	parse_part(0, msg, head + big + 2 + 6, &st, &r);       /* in "EX" */
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.pending_len, 0);
	parse_part(0, msg, len, &st, &r);
	assert_int_equal(r.r, KV_PARSE_OK);
	assert_int_equal(r.req.pending_len, 0);
	/* below KV_RESERVE_MIN: checked when stored, not reported */
	len = (size_t)sprintf(msg, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\nab", big - 1);
	memset(&st, 0, sizeof(st));
	parse_part(0, msg, len, &st, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.pending_len, 0);
	/* MSET: the values (elements 2 and 4), not the keys. */
	len = (size_t)sprintf(msg, "*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$%zu\r\nbbb",
			      big);
	memset(&st, 0, sizeof(st));
	parse_part(0, msg, len, &st, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.pending_len, 0);       /* a key */
	len = (size_t)sprintf(msg, "*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$3\r\nbbb"
			      "\r\n$%zu\r\nxy", big + 30);
	memset(&st, 0, sizeof(st));
	parse_part(0, msg, len, &st, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.pending_len, big + 30);
	assert_int_equal(r.req.pending_elem, 4);
	assert_int_equal(r.req.pending_after, 0);
	/* ECHO's argument is not stored; nor without a state. */
	len = (size_t)sprintf(msg, "*2\r\n$4\r\nECHO\r\n$%zu\r\nab", big);
	memset(&st, 0, sizeof(st));
	parse_part(0, msg, len, &st, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.pending_len, 0);
	len = (size_t)sprintf(msg, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\nab", big);
	parse_part(0, msg, len, NULL, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.pending_len, 0);
	/* HTTP: a PUT's body, once the headers are whole. */
	len = (size_t)sprintf(msg, "PUT /k HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", big);
	parse_part(1, msg, len - 2, NULL, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.pending_len, 0);
	parse_part(1, msg, len, NULL, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.pending_len, big);
	assert_int_equal(r.req.pending_end, len + big);
	assert_int_equal(r.req.pending_after, 0);
}

/* The bulk lengths of a refused request's elements, read to drop them. */
static void
test_read_bulk_len(void **state)
{
	static const char *const bad[] = { "x3\r\n", "$-1\r\n", "$2000000\r\n", "$1a\r\n",
					   "$012\r\n", "$-0\r\n" };
	size_t sizes[4], len = 0, used = 0;
	char err[96];
	struct built b;
	unsigned int i;

	(void)state;
	build(&b, "..$12\r\nab", 10, sizes, split_whole(10, sizes));
	assert_int_equal(kv_resp_read_bulk_len(&b.s, 2, test_limits, &len, &used, err,
					       sizeof(err)), KV_PARSE_OK);
	assert_int_equal(len, 12);
	assert_int_equal(used, 5);
	unbuild(&b);
	build(&b, "$12\r", 4, sizes, split_whole(4, sizes));
	assert_int_equal(kv_resp_read_bulk_len(&b.s, 0, test_limits, &len, &used, err,
					       sizeof(err)), KV_PARSE_MORE);
	unbuild(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build(&b, bad[i], strlen(bad[i]), sizes, split_whole(strlen(bad[i]), sizes));
		assert_int_equal(kv_resp_read_bulk_len(&b.s, 0, test_limits, &len, &used, err,
						       sizeof(err)), KV_PARSE_BAD_STREAM);
		assert_true(strncmp(err, "ERR Protocol error", 18) == 0);
		unbuild(&b);
	}
}

/* Replies of one request through kv_exec_next, into @out. */
struct captured {
	char buf[8192];
	size_t len;
	int closed;
};

static void
capture_bytes(void *ctx, const void *data, size_t len)
{
	struct captured *c = ctx;

	assert_true(c->len + len <= sizeof(c->buf));
	memcpy(c->buf + c->len, data, len);
	c->len += len;
}

static void
capture_value(void *ctx, const struct kv_value *v)
{
	(void)ctx;
	(void)v;
	fail_msg("COMMAND sent a value");
}

static void
capture_close(void *ctx)
{
	((struct captured *)ctx)->closed = 1;
}

/* Execute @words and compare the reply with @want (@want_len bytes). */
static void
exec_reply(struct kv_exec *x, const char *const *words, const char *want, size_t want_len)
{
	struct captured cap = { .len = 0 };
	int continue_sent = 0;
	const struct kv_out out = { .bytes = capture_bytes, .value = capture_value,
				    .close = capture_close, .ctx = &cap,
				    .continue_sent = &continue_sent };
	size_t len = mb(mbuf, words), sizes[4];
	struct built b;

	build(&b, mbuf, len, sizes, split_whole(len, sizes));
	assert_int_equal(kv_exec_next(x, &b.s, 0, &out), (long)len);
	unbuild(&b);
	if (cap.len != want_len || memcmp(cap.buf, want, want_len) != 0)
		fail_msg("%s %s: '%.*s', want '%.*s'", words[0], words[1] ? words[1] : "",
			 (int)cap.len, cap.buf, (int)want_len, want);
	assert_int_equal(cap.closed, 0);
}

/* COMMAND and its subcommands answer from the table, in Redis's format. */
static void
test_command_reply(void **state)
{
	static char all[8192], names[1024], want[4096];
	size_t all_len, names_len, len;
	struct kv_exec x;

	(void)state;
	/* COMMAND touches no store */
	assert_int_equal(kv_exec_init(&x, NULL, 0), 0);
	all_len = (size_t)sprintf(all, "*%zu\r\n", N_REDIS_COMMANDS);
	names_len = (size_t)sprintf(names, "*%zu\r\n", N_REDIS_COMMANDS);
	for (enum kv_op op = 1; op < KV_OP_COUNT; op++)
		for (size_t i = 0; i < N_REDIS_COMMANDS; i++)
			if (strcmp(redis_commands[i].name, kv_commands[op].name) == 0) {
				all_len += want_info(i, all + all_len);
				names_len += (size_t)sprintf(names + names_len, "$%zu\r\n%s\r\n",
							     strlen(redis_commands[i].name),
							     redis_commands[i].name);
			}
	exec_reply(&x, ARGS("COMMAND"), all, all_len);
	exec_reply(&x, ARGS("command", "info"), all, all_len);
	exec_reply(&x, ARGS("COMMAND", "LIST"), names, names_len);
	len = (size_t)sprintf(want, ":%zu\r\n", N_REDIS_COMMANDS);
	exec_reply(&x, ARGS("COMMAND", "COUNT"), want, len);
	/* names in any case; unknown ones are nil */
	len = (size_t)sprintf(want, "*3\r\n");
	len += want_info(1, want + len);
	len += (size_t)sprintf(want + len, "$-1\r\n");
	len += want_info(5, want + len);
	exec_reply(&x, ARGS("COMMAND", "INFO", "GET", "nosuch", "mSeT"), want, len);
	exec_reply(&x, ARGS("COMMAND", "INFO", "abcdefghijklmnopqrstuvwxyz"), "*1\r\n$-1\r\n", 9);
	/* the longest name, and keys in two positions */
	len = (size_t)sprintf(want, "*2\r\n");
	len += want_info(26, want + len);
	len += want_info(32, want + len);
	assert_string_equal(redis_commands[26].name, "incrbyfloat");
	assert_string_equal(redis_commands[32].name, "rename");
	exec_reply(&x, ARGS("COMMAND", "INFO", "IncrByFloat", "rename"), want, len);
	/* no docs to give */
	exec_reply(&x, ARGS("COMMAND", "DOCS"), "*0\r\n", 4);
	exec_reply(&x, ARGS("COMMAND", "DOCS", "get"), "*0\r\n", 4);
	kv_exec_fini(&x);

	resp_bad(ARGS("COMMAND", "GETKEYS", "get", "k"),
		 "ERR unknown subcommand 'GETKEYS'. Try COMMAND HELP.");
	resp_bad(ARGS("COMMAND", "COUNT", "x"),
		 "ERR wrong number of arguments for 'command|count' command");
	resp_bad(ARGS("COMMAND", "LIST", "FILTERBY", "x"),
		 "ERR wrong number of arguments for 'command|list' command");
}

/* ECHO and PING return their argument whole, however long (Redis does;
 * they were cut at KV_KEY_MAX bytes). */
static void
test_echo_long(void **state)
{
	static char arg[3001], want[3100];
	struct kv_exec x;
	size_t len;

	(void)state;
	assert_int_equal(kv_exec_init(&x, NULL, 0), 0);
	for (size_t i = 0; i < sizeof(arg) - 1; i++)
		arg[i] = (char)('a' + i % 26);
	len = (size_t)sprintf(want, "$%zu\r\n%s\r\n", sizeof(arg) - 1, arg);
	exec_reply(&x, ARGS("ECHO", arg), want, len);
	exec_reply(&x, ARGS("PING", arg), want, len);
	exec_reply(&x, ARGS("ECHO", ""), "$0\r\n\r\n", 6);
	exec_reply(&x, ARGS("PING"), "+PONG\r\n", 7);
	kv_exec_fini(&x);
}

/* The expiry table grows with its keys (it had 4,096 buckets for good)
 * and finds every deadline after each doubling. */
static void
test_expiry_grows(void **state)
{
	struct kv_expiry *e = kv_expiry_open();
	char key[16];
	uint16_t len;
	unsigned int i;

	(void)state;
	assert_non_null(e);
	assert_int_equal(e->nb, 4096);
	for (i = 0; i < 20000; i++) {
		len = (uint16_t)sprintf(key, "k%u", i);
		kv_expiry_set(e, key, len, 1000 + i);
	}
	assert_int_equal(e->n, 20000);
	assert_true(e->nb >= 20000);
	for (i = 0; i < 20000; i += 2) {
		len = (uint16_t)sprintf(key, "k%u", i);
		kv_expiry_clear(e, key, len);
	}
	for (i = 0; i < 20000; i++) {
		len = (uint16_t)sprintf(key, "k%u", i);
		assert_int_equal(kv_expiry_get(e, key, len), i % 2 ? 1000 + i : 0);
	}
	assert_int_equal(e->n, 10000);
	kv_expiry_clear_all(e);
	assert_int_equal(e->n, 0);
	assert_int_equal(kv_expiry_get(e, "k1", 2), 0);
	kv_expiry_close(e);
	/* the keyed hash: drawn once (a second init keeps the secret),
	 * stable within the process, keys told apart */
	{
		uint64_t h = kv_key_hash("k1", 2);

		assert_int_equal(kv_key_hash_init(), 0);
		assert_true(kv_key_hash("k1", 2) == h);
	}
	assert_true(kv_key_hash("k1", 2) == kv_key_hash("k1", 2));
	assert_true(kv_key_hash("k1", 2) != kv_key_hash("k2", 2));
	assert_true(kv_key_hash("", 0) != kv_key_hash("k1", 2));
	/* keyhash.c's SipHash, run with 2-4 rounds, is libsodium's
	 * SipHash-2-4 for every tail length (0-7) and several blocks: the
	 * 1-3 the tables use is the same code with fewer rounds. */
	{
		uint8_t key[KV_SIPHASH_KEYBYTES], msg[64];
		unsigned char ref[crypto_shorthash_BYTES];
		uint64_t want;
		unsigned int k, len, j;

		assert_int_equal(sizeof(key), crypto_shorthash_KEYBYTES);
		for (k = 0; k < 4; k++) {
			randombytes_buf(key, sizeof(key));
			randombytes_buf(msg, sizeof(msg));
			for (len = 0; len <= sizeof(msg); len++) {
				crypto_shorthash(ref, msg, len, key);
				want = 0;
				for (j = 0; j < sizeof(ref); j++)
					want |= (uint64_t)ref[j] << (8 * j);
				assert_true(kv_siphash(key, msg, len, 2, 4) == want);
				assert_true(kv_siphash(key, msg, len, 1, 3) != want);
				/* The tail's word loads stay inside the message:
				 * the same bytes in a block of exactly their size
				 * (ASan checks the reads). */
				{
					uint8_t *exact = malloc(len > 0 ? len : 1);

					assert_non_null(exact);
					memcpy(exact, msg, len);
					assert_true(kv_siphash(key, exact, len, 2, 4) == want);
					free(exact);
				}
			}
		}
	}
}

static void
count_expired(void *arg, const char *key, uint16_t len)
{
	(void)key;
	assert_true(len > 0);
	(*(unsigned int *)arg)++;
}

/* The active sweep: a bounded number of buckets a step, resuming where it
 * stopped; only keys at or past their deadline go. */
static void
test_expiry_collect(void **state)
{
	struct kv_expiry *e = kv_expiry_open();
	unsigned int i, got = 0, steps = 0;
	char key[16];
	uint16_t len;

	(void)state;
	assert_non_null(e);
	for (i = 0; i < 3000; i++) {
		len = (uint16_t)sprintf(key, "k%u", i);
		kv_expiry_set(e, key, len, i % 3 == 0 ? 500 : 2000);
	}
	/* nothing due at 100 */
	assert_int_equal(kv_expiry_collect(e, 100, SIZE_MAX, count_expired, &got), 0);
	/* at 1000, the 1000 keys due, 64 buckets a step: all after a full
	 * turn of the table, never more than were due */
	while (got < 1000 && steps < 4096 / 64 + 1) {
		assert_true(kv_expiry_collect(e, 1000, 64, count_expired, &got) <= 1000);
		steps++;
	}
	assert_int_equal(got, 1000);
	assert_int_equal(e->n, 2000);
	assert_true(steps <= 4096 / 64);
	for (i = 0; i < 3000; i++) {
		len = (uint16_t)sprintf(key, "k%u", i);
		assert_int_equal(kv_expiry_get(e, key, len), i % 3 == 0 ? 0 : 2000);
	}
	assert_int_equal(kv_expiry_collect(e, 2000, SIZE_MAX, count_expired, &got), 2000);
	assert_int_equal(e->n, 0);
	kv_expiry_close(e);
}

/* ======================================================================= */
/* HTTP                                                                    */
/* ======================================================================= */

static void
http_req(const char *msg, int r, enum kv_op op, const char *const *args,
	 const char *err, size_t consumed, struct res *out)
{
	check_req(P_HTTP, msg, strlen(msg), r, op, args, 0, 0, err, consumed, out);
}

static void
test_http_requests(void **state)
{
	struct res r;

	(void)state;
	http_req("GET /foo HTTP/1.1\r\nHost: localhost\r\n\r\n", KV_PARSE_OK, KV_OP_GET,
		 ARGS("foo"), "", WHOLE, &r);
	assert_int_equal(r.req.http_keepalive, 1);
	assert_int_equal(r.req.http_head, 0);
	http_req("HEAD /foo HTTP/1.1\r\n\r\n", KV_PARSE_OK, KV_OP_GET, ARGS("foo"), "", WHOLE, &r);
	assert_int_equal(r.req.http_head, 1);
	http_req("DELETE /a/b.c HTTP/1.1\r\nHost: x\r\n\r\n", KV_PARSE_OK, KV_OP_DEL,
		 ARGS("a/b.c"), "", WHOLE, NULL);
	http_req("PUT /k HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", KV_PARSE_OK, KV_OP_SET,
		 ARGS("k", "hello"), "", WHOLE, &r);
	assert_int_equal(r.req.argv[1].off, strlen("PUT /k HTTP/1.1\r\nContent-Length: 5\r\n\r\n"));
	http_req("POST /k HTTP/1.1\r\ncontent-LENGTH:3\r\n\r\nabc", KV_PARSE_OK, KV_OP_SET,
		 ARGS("k", "abc"), "", WHOLE, NULL);
	http_req("PUT /k HTTP/1.1\r\nContent-Length:  0 \r\n\r\n", KV_PARSE_OK, KV_OP_SET,
		 ARGS("k", ""), "", WHOLE, NULL);
	/* the body is binary and may look like anything */
	http_req("PUT /k HTTP/1.1\r\nContent-Length: 23\r\n\r\nGET /x HTTP/1.1\r\n\r\n\r\n\r\n",
		 KV_PARSE_OK, KV_OP_SET, ARGS("k", "GET /x HTTP/1.1\r\n\r\n\r\n\r\n"), "", WHOLE,
		 NULL);
	/* the query is not part of the key */
	http_req("GET /key?x=1&y HTTP/1.1\r\n\r\n", KV_PARSE_OK, KV_OP_GET, ARGS("key"), "",
		 WHOLE, NULL);
	/* empty lines before the request line; bare LF line ends */
	http_req("\r\n\r\nGET /k HTTP/1.1\r\n\r\n", KV_PARSE_OK, KV_OP_GET, ARGS("k"), "", WHOLE,
		 NULL);
	http_req("GET /k HTTP/1.1\nHost: x\n\n", KV_PARSE_OK, KV_OP_GET, ARGS("k"), "", WHOLE,
		 NULL);
	/* GET with a body: the body is skipped with it */
	http_req("GET /k HTTP/1.1\r\nContent-Length: 2\r\n\r\nxy", KV_PARSE_OK, KV_OP_GET,
		 ARGS("k"), "", WHOLE, NULL);
	/* the same Content-Length twice is fine */
	http_req("PUT /k HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz",
		 KV_PARSE_OK, KV_OP_SET, ARGS("k", "z"), "", WHOLE, NULL);
	/* other headers, odd blanks and bytes, are ignored */
	http_req("GET /k HTTP/1.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nX-A:\r\n"
		 "X-B: \t v\xc3\xa9 \t\r\n\r\n", KV_PARSE_OK, KV_OP_GET, ARGS("k"), "", WHOLE, NULL);
	/* keys: any visible ASCII, up to KV_KEY_MAX */
	http_req("GET /~!$%25&'()*+,;=:@-._ HTTP/1.1\r\n\r\n", KV_PARSE_OK, KV_OP_GET,
		 ARGS("~!$%25&'()*+,;=:@-._"), "", WHOLE, NULL);
	/* only the first request */
	check_prefixes = 0;
	http_req("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", KV_PARSE_OK, KV_OP_GET,
		 ARGS("a"), "", 19, NULL);
	check_prefixes = 1;
	/* HTTP/1.2 is an HTTP/1.x */
	http_req("GET /k HTTP/1.2\r\n\r\n", KV_PARSE_OK, KV_OP_GET, ARGS("k"), "", WHOLE, NULL);
}

static void
test_http_keepalive(void **state)
{
	static const struct {
		const char *msg;
		int keepalive;
	} gets[] = {
		{ "GET /k HTTP/1.1\r\n\r\n", 1 },
		{ "GET /k HTTP/1.1\r\nConnection: close\r\n\r\n", 0 },
		{ "GET /k HTTP/1.1\r\nconnection: Upgrade, CLOSE\r\n\r\n", 0 },
		{ "GET /k HTTP/1.0\r\n\r\n", 0 },
		{ "GET /k HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1 },
		{ "GET /k HTTP/1.0\r\nConnection: keep-alive , te\r\n\r\n", 1 },
		{ "GET /k HTTP/1.0\r\nConnection: keep-alivex\r\n\r\n", 0 },
		{ "GET /k HTTP/1.1\r\nX-Connection: close\r\n\r\n", 1 },
	};
	struct res r;

	(void)state;
	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
		http_req(gets[i].msg, KV_PARSE_OK, KV_OP_GET, ARGS("k"), "", WHOLE, &r);
		assert_int_equal(r.req.http_keepalive, gets[i].keepalive);
	}
	/* errors say it too: the server keeps or closes after a refusal */
	http_req("PATCH /k HTTP/1.0\r\n\r\n", KV_PARSE_BAD_REQUEST, 0, NULL,
		 "405 Method Not Allowed", WHOLE, &r);
	assert_int_equal(r.req.http_keepalive, 0);
	http_req("PATCH /k HTTP/1.1\r\n\r\n", KV_PARSE_BAD_REQUEST, 0, NULL,
		 "405 Method Not Allowed", WHOLE, &r);
	assert_int_equal(r.req.http_keepalive, 1);
}

/* curl sends "Expect: 100-continue" with big bodies and waits. */
static void
test_http_expect_continue(void **state)
{
	static const char hdr[] =
		"PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-Continue\r\n\r\n";
	char msg[256];
	size_t sizes[4];
	struct built b;
	struct res r;
	size_t len;

	(void)state;
	len = (size_t)snprintf(msg, sizeof(msg), "%s0123456789", hdr);
	/* headers only, and headers with part of the body: MORE + expect */
	for (size_t k = sizeof(hdr) - 1; k < len; k++) {
		build(&b, msg, k, sizes, split_at(k, k / 2, sizes));
		do_parse(P_HTTP, &b.s, &r);
		assert_int_equal(r.r, KV_PARSE_MORE);
		assert_int_equal(r.req.http_expect_continue, 1);
		unbuild(&b);
	}
	/* not before the headers are complete */
	build(&b, msg, sizeof(hdr) - 2, sizes, split_whole(sizeof(hdr) - 2, sizes));
	do_parse(P_HTTP, &b.s, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.http_expect_continue, 0);
	unbuild(&b);
	/* complete: OK, no 100 needed */
	check_req(P_HTTP, msg, len, KV_PARSE_OK, KV_OP_SET, ARGS("big", "0123456789"), 0, 0, "",
		  WHOLE, &r);
	assert_int_equal(r.req.http_expect_continue, 0);
	/* HTTP/1.0 clients do not wait for it */
	len = (size_t)snprintf(msg, sizeof(msg),
			       "PUT /k HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
	build(&b, msg, len, sizes, split_whole(len, sizes));
	do_parse(P_HTTP, &b.s, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.http_expect_continue, 0);
	unbuild(&b);
	/* a refusal is not worth waiting for the body: answer and close */
	len = (size_t)snprintf(msg, sizeof(msg),
			       "PATCH /k HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
	build(&b, msg, len, sizes, split_whole(len, sizes));
	do_parse(P_HTTP, &b.s, &r);
	assert_int_equal(r.r, KV_PARSE_BAD_STREAM);
	assert_string_equal(r.err, "405 Method Not Allowed");
	assert_int_equal(r.req.http_expect_continue, 0);
	unbuild(&b);
	/* ... unless the body came anyway (its prefixes are BAD_STREAM above) */
	len = (size_t)snprintf(msg, sizeof(msg),
			       "PATCH /k HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc");
	check_prefixes = 0;
	check_req(P_HTTP, msg, len, KV_PARSE_BAD_REQUEST, 0, NULL, 0, 0, "405 Method Not Allowed",
		  WHOLE, NULL);
	check_prefixes = 1;
	/* without Expect, a refused request's body is waited for and skipped */
	len = (size_t)snprintf(msg, sizeof(msg), "PATCH /k HTTP/1.1\r\nContent-Length: 3\r\n\r\nab");
	build(&b, msg, len, sizes, split_whole(len, sizes));
	do_parse(P_HTTP, &b.s, &r);
	assert_int_equal(r.r, KV_PARSE_MORE);
	assert_int_equal(r.req.http_expect_continue, 0);
	unbuild(&b);
}

static void
test_http_errors(void **state)
{
	/* refusals with intact framing: consumed whole (body too) */
	static const struct refusal refused[] = {
		{ "GET / HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET /?x=1 HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "PUT / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab", KV_HTTP_400 },
		{ "GET /a\x01z HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET /a\x7f HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET /a\tb HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET /k?a\x01 HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET k HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET http://h/k HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "PATCH /k HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", KV_HTTP_405 },
		{ "OPTIONS * HTTP/1.1\r\n\r\n", KV_HTTP_405 },
		{ "get /k HTTP/1.1\r\n\r\n", KV_HTTP_405 },
		{ "GETTINGVERYLONGMETHODNAME /k HTTP/1.1\r\n\r\n", KV_HTTP_405 },
		{ "PUT /k HTTP/1.1\r\n\r\n", KV_HTTP_411 },
		{ "POST /k HTTP/1.1\r\nHost: x\r\n\r\n", KV_HTTP_411 },
	};
	/* the end of the request is unknown: answer and close */
	static const struct refusal broken[] = {
		{ "PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		  KV_HTTP_411 },
		{ "PATCH /k HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n", KV_HTTP_411 },
		{ "PUT /k HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", KV_HTTP_413 },
		{ "PUT /k HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", KV_HTTP_400 },
		{ "PUT /k HTTP/1.1\r\nContent-Length: -1\r\n\r\n", KV_HTTP_400 },
		{ "PUT /k HTTP/1.1\r\nContent-Length:\r\n\r\n", KV_HTTP_400 },
		{ "PUT /k HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", KV_HTTP_400 },
		{ "PUT /k HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", KV_HTTP_400 },
		/* malformed request lines */
		{ "GET\r\n\r\n", KV_HTTP_400 },
		{ "GET /k\r\n\r\n", KV_HTTP_400 },
		{ "GET /k \r\n\r\n", KV_HTTP_400 },
		{ "GET  /k HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET /k  HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET /k HTTP/1.1 x\r\n\r\n", KV_HTTP_400 },
		{ "GET /k http/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET /k HTTP/1.\r\n\r\n", KV_HTTP_400 },
		{ " GET /k HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "G\rT /k HTTP/1.1\r\n\r\n", KV_HTTP_400 },
		{ "GET /k HTTP/1.1\r\r\n\r\n", KV_HTTP_400 },
		{ "*1\r\n$4\r\nPING\r\n", KV_HTTP_400 },
		{ "GET /k HTTP/2.0\r\n\r\n", KV_HTTP_505 },
		{ "GET /k HTTP/0.9\r\n\r\n", KV_HTTP_505 },
		/* malformed headers */
		{ "GET /k HTTP/1.1\r\nHost x\r\n\r\n", KV_HTTP_400 },
		{ "GET /k HTTP/1.1\r\nHost : x\r\n\r\n", KV_HTTP_400 },
		{ "GET /k HTTP/1.1\r\n: x\r\n\r\n", KV_HTTP_400 },
		{ "GET /k HTTP/1.1\r\nA: b\r\n c\r\n\r\n", KV_HTTP_400 },
		{ "GET /k HTTP/1.1\r\nA: b\x01\r\n\r\n", KV_HTTP_400 },
		{ "GET /k HTTP/1.1\r\nA: b\rc\r\n\r\n", KV_HTTP_400 },
	};
	static char big[10000];
	char key[KV_KEY_MAX + 40];
	size_t n;

	(void)state;
	CHECK_REFUSALS(P_HTTP, KV_PARSE_BAD_REQUEST, refused);
	CHECK_REFUSALS(P_HTTP, KV_PARSE_BAD_STREAM, broken);
	memset(key, 'k', sizeof(key));
	n = (size_t)snprintf(big, sizeof(big), "GET /%.*s HTTP/1.1\r\n\r\n", KV_KEY_MAX, key);
	check_req(P_HTTP, big, n, KV_PARSE_OK, KV_OP_GET, NULL, 0, 0, "", WHOLE, NULL);
	n = (size_t)snprintf(big, sizeof(big), "GET /%.*s HTTP/1.1\r\n\r\n", KV_KEY_MAX + 1, key);
	check_req(P_HTTP, big, n, KV_PARSE_BAD_REQUEST, 0, NULL, 0, 0, KV_HTTP_414, WHOLE, NULL);
	n = (size_t)snprintf(big, sizeof(big), "PUT /%.*s HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
			     KV_KEY_MAX + 1, key);
	check_req(P_HTTP, big, n, KV_PARSE_BAD_REQUEST, 0, NULL, 0, 0, KV_HTTP_414, WHOLE, NULL);
	n = (size_t)snprintf(big, sizeof(big), "PUT /k HTTP/1.1\r\nContent-Length: %u\r\n\r\n",
			     KV_VALUE_MAX + 1);
	check_req(P_HTTP, big, n, KV_PARSE_BAD_STREAM, 0, NULL, 0, 0, KV_HTTP_413, 0, NULL);
	/* headers past 8 KiB, ended or not */
	n = (size_t)snprintf(big, sizeof(big), "GET /k HTTP/1.1\r\nX-Big: %8200d\r\n\r\n", 1);
	check_req(P_HTTP, big, n, KV_PARSE_BAD_STREAM, 0, NULL, 0, 0, KV_HTTP_431, 0, NULL);
	n = (size_t)snprintf(big, sizeof(big), "GET /k HTTP/1.1\r\nX-Big: %8200d", 1);
	check_req(P_HTTP, big, n, KV_PARSE_BAD_STREAM, 0, NULL, 0, 0, KV_HTTP_431, 0, NULL);
	memset(big, '\n', 9000);
	check_req(P_HTTP, big, 9000, KV_PARSE_BAD_STREAM, 0, NULL, 0, 0, KV_HTTP_431, 0, NULL);
	/* exactly 8 KiB is fine; one byte less than that without the end waits */
	n = (size_t)snprintf(big, sizeof(big), "GET /k HTTP/1.1\r\nX-Big: %*d\r\n\r\n",
			     8192 - 28, 1);
	assert_int_equal(n, 8192);
	check_req(P_HTTP, big, n, KV_PARSE_OK, KV_OP_GET, ARGS("k"), 0, 0, "", WHOLE, NULL);
	check_req(P_HTTP, big, n - 1, KV_PARSE_MORE, 0, NULL, 0, 0, "", 0, NULL);
	n = (size_t)snprintf(big, sizeof(big), "GET /k HTTP/1.1\r\nX-Big: %*d\r\n\r\n",
			     8192 - 27, 1);
	check_req(P_HTTP, big, n, KV_PARSE_BAD_STREAM, 0, NULL, 0, 0, KV_HTTP_431, 0, NULL);
}

/* What wrk sends, pipelined, with bodies. */
static const struct {
	const char *msg;
	int r;
	enum kv_op op;
	const char *key, *value;
	int ka;
} http_pipeline[] = {
	{ "GET /index HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n\r\n", KV_PARSE_OK, KV_OP_GET,
	  "index", NULL, 1 },
	{ "PUT /k1 HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789",
	  KV_PARSE_OK, KV_OP_SET, "k1", "0123456789", 1 },
	{ "\r\nPOST /k2 HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\r\n", KV_PARSE_OK,
	  KV_OP_SET, "k2", "\r\n\r\n", 1 },
	{ "PATCH /k3 HTTP/1.1\r\nContent-Length: 2\r\n\r\nzz", KV_PARSE_BAD_REQUEST,
	  KV_OP_NONE, NULL, NULL, 1 },
	{ "DELETE /k1 HTTP/1.1\r\n\r\n", KV_PARSE_OK, KV_OP_DEL, "k1", NULL, 1 },
	{ "HEAD /k2 HTTP/1.1\r\n\r\n", KV_PARSE_OK, KV_OP_GET, "k2", NULL, 1 },
	{ "GET / HTTP/1.1\r\n\r\n", KV_PARSE_BAD_REQUEST, KV_OP_NONE, NULL, NULL, 1 },
	{ "GET /k2 HTTP/1.1\r\nConnection: close\r\n\r\n", KV_PARSE_OK, KV_OP_GET, "k2",
	  NULL, 0 },
};

static void
http_pipeline_check(const struct built *b, const struct res *r, size_t i)
{
	char got[32];

	assert_int_equal(r->r, http_pipeline[i].r);
	assert_int_equal(r->req.consumed, strlen(http_pipeline[i].msg));
	assert_int_equal(r->req.http_keepalive, http_pipeline[i].ka);
	if (r->r != KV_PARSE_OK)
		return;
	assert_int_equal(r->req.op, http_pipeline[i].op);
	memset(got, 0, sizeof(got));
	kv_stream_copy(&b->s, r->req.argv[0].off, got, r->req.argv[0].len);
	assert_string_equal(got, http_pipeline[i].key);
	assert_int_equal(r->req.argc, http_pipeline[i].value ? 2 : 1);
	if (http_pipeline[i].value != NULL) {
		memset(got, 0, sizeof(got));
		kv_stream_copy(&b->s, r->req.argv[1].off, got, r->req.argv[1].len);
		assert_string_equal(got, http_pipeline[i].value);
	}
	check_all_names(b, r);
}

/* The wrk pipeline, parsed across random spans. */
static void
test_http_pipeline(void **state)
{
	(void)state;
	CHECK_PIPELINE(P_HTTP, http_pipeline, 11, http_pipeline_check);
}

/* A 1 MiB body in MSS-sized spans, its names covering it exactly (as
 * parse_split checks). */
static void
test_http_big_body(void **state)
{
	size_t hdr, len, i, *sizes;
	char *msg = malloc(KV_VALUE_MAX + 200);
	struct res r;

	(void)state;
	if (msg == NULL) {
		fail_msg("out of memory");
		return;
	}
	hdr = (size_t)sprintf(msg, "PUT /big HTTP/1.1\r\nContent-Length: %u\r\n\r\n", KV_VALUE_MAX);
	for (i = 0; i < KV_VALUE_MAX; i++)
		msg[hdr + i] = (char)(i * 13);
	len = hdr + KV_VALUE_MAX;
	sizes = sizes_for(len);
	parse_split(P_HTTP, msg, len, sizes, split_mss(len, sizes), &r);
	assert_int_equal(r.r, KV_PARSE_OK);
	assert_int_equal(r.req.argv[1].off, hdr);
	assert_int_equal(r.req.argv[1].len, KV_VALUE_MAX);
	check_req(P_HTTP, msg, len, KV_PARSE_OK, KV_OP_SET, NULL, 0, 0, "", WHOLE, NULL);
	free(sizes);
	free(msg);
}

/* ======================================================================= */
/* robustness                                                              */
/* ======================================================================= */

static const char *const corpus_resp[] = {
	"*1\r\n$4\r\nPING\r\n",
	"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
	"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nEX\r\n$2\r\n10\r\n",
	"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n",
	"*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
	"*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n",
	"*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n",
	"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n",
	"*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n",
	"*4\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
	"*2\r\n$8\r\nFLUSHALL\r\n$5\r\nASYNC\r\n",
	"*0\r\n",
	"PING\r\n",
	"SET k \"v w\" PX 100 NX\r\n",
	"GET k\n",
	"*1\r\n$6\r\nDBSIZE\r\n",
};

static const char *const corpus_http[] = {
	"GET /key HTTP/1.1\r\nHost: localhost\r\n\r\n",
	"PUT /key HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello",
	"POST /k HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
	"DELETE /key HTTP/1.1\r\nConnection: close\r\n\r\n",
	"HEAD /key?x=1 HTTP/1.1\r\n\r\n",
	"PUT /big HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nabcd",
	"\r\nGET /k HTTP/1.1\nHost: x\n\n",
};

static const char specials[] = "\r\n*$:+-0123456789 \t\"'\\?/%:,\x00\xff"
			       "HTTP/1.1Content-Length";

static size_t
mutate(uint8_t *buf, size_t len, size_t cap, uint64_t *rng)
{
	size_t pos = rnd_below(rng, len + 1), k, src;

	switch (rnd_below(rng, 9)) {
	case 0: /* any byte */
		if (len > 0)
			buf[rnd_below(rng, len)] = (uint8_t)rnd(rng);
		break;
	case 1: /* a byte that matters to the framing */
		if (len > 0)
			buf[rnd_below(rng, len)] = (uint8_t)specials[rnd_below(rng, sizeof(specials) - 1)];
		break;
	case 2: /* insert one */
		if (len < cap) {
			memmove(buf + pos + 1, buf + pos, len - pos);
			buf[pos] = (uint8_t)specials[rnd_below(rng, sizeof(specials) - 1)];
			len++;
		}
		break;
	case 3: /* delete a few */
		k = 1 + rnd_below(rng, 8);
		if (pos + k <= len) {
			memmove(buf + pos, buf + pos + k, len - pos - k);
			len -= k;
		}
		break;
	case 4: /* duplicate a run */
		if (len > 0) {
			src = rnd_below(rng, len);
			k = 1 + rnd_below(rng, len - src);
			if (len + k <= cap) {
				memmove(buf + pos + k, buf + pos, len - pos);
				memmove(buf + pos, buf + (src < pos ? src : src + k), k);
				len += k;
			}
		}
		break;
	case 5: /* truncate */
		len = pos;
		break;
	case 6: { /* a number somewhere */
		static const char *const nums[] = {
			"0", "-1", "-2", "99999999999", "536870913", "1048577", "65", "1048576",
			"9223372036854775808", "",
		};
		const char *num = nums[rnd_below(rng, sizeof(nums) / sizeof(nums[0]))];

		k = strlen(num);
		if (len + k <= cap) {
			memmove(buf + pos + k, buf + pos, len - pos);
			memcpy(buf + pos, num, k);
			len += k;
		}
		break;
	}
	case 7: /* swap two */
		if (len > 1) {
			size_t a = rnd_below(rng, len), b = rnd_below(rng, len);
			uint8_t t = buf[a];

			buf[a] = buf[b];
			buf[b] = t;
		}
		break;
	default: /* append another request */
		break;
	}
	return len;
}

/* Parse @msg as a pipeline, consuming after each request, in two differently
 * split streams at once: both must agree at every step. */
static void
fuzz_one(int p, const uint8_t *msg, size_t len, uint64_t *rng, size_t *sizes)
{
	struct built a, b;
	struct res ra, rb;
	unsigned int steps = 0;

	build(&a, msg, len, sizes, split_random(len, 1 + rnd_below(rng, 40), rng, sizes));
	if (rnd_below(rng, 2))
		build(&b, msg, len, sizes, split_whole(len, sizes));
	else
		build(&b, msg, len, sizes, split_random(len, 1 + rnd_below(rng, 8), rng, sizes));
	for (;;) {
		do_parse(p, &a.s, &ra);
		do_parse(p, &b.s, &rb);
		assert_res_equal(&ra, &rb, "fuzz");
		if (ra.r == KV_PARSE_OK)
			check_all_names(&a, &ra);
		if (ra.r != KV_PARSE_OK && ra.r != KV_PARSE_BAD_REQUEST)
			break;
		assert_true(++steps <= len);
		kv_stream_consume(&a.s, ra.req.consumed, drop_check, &a);
		kv_stream_consume(&b.s, rb.req.consumed, drop_check, &b);
		assert_int_equal(a.s.len, b.s.len);
	}
	unbuild(&a);
	unbuild(&b);
}

static void
test_fuzz(void **state)
{
	enum { CAP = 4096, ROUNDS = 100000 };
	static uint8_t buf[CAP];
	size_t *sizes = sizes_for(CAP);
	uint64_t rng = 0x5eed0f9a57e0ULL;
	unsigned long counts[2][4] = { { 0 } };
	unsigned int round, m;

	(void)state;
	for (round = 0; round < ROUNDS; round++) {
		int kind = (int)rnd_below(&rng, 2);
		const char *const *corpus = kind == P_RESP ? corpus_resp : corpus_http;
		size_t ncorpus = kind == P_RESP ? sizeof(corpus_resp) / sizeof(corpus_resp[0])
						: sizeof(corpus_http) / sizeof(corpus_http[0]);
		size_t len = 0, k;
		struct built b;
		struct res r;

		/* one to three requests, then one to four mutations */
		for (k = 1 + rnd_below(&rng, 3); k > 0; k--) {
			const char *m0 = corpus[rnd_below(&rng, ncorpus)];
			size_t ml = strlen(m0);

			if (len + ml <= CAP) {
				memcpy(buf + len, m0, ml);
				len += ml;
			}
		}
		for (m = 1 + (unsigned int)rnd_below(&rng, 4); m > 0; m--)
			len = mutate(buf, len, CAP, &rng);
		if (round % 64 == 0) { /* now and then plain noise */
			len = rnd_below(&rng, 200);
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)rnd(&rng);
		}
		/* both parsers see every input */
		fuzz_one(kind, buf, len, &rng, sizes);
		fuzz_one(!kind, buf, len, &rng, sizes);
		build(&b, buf, len, sizes, split_whole(len, sizes));
		do_parse(kind, &b.s, &r);
		counts[kind][r.r == KV_PARSE_OK ? 0 : r.r == KV_PARSE_MORE ? 1 :
			     r.r == KV_PARSE_BAD_REQUEST ? 2 : 3]++;
		unbuild(&b);
	}
	print_message("fuzz: resp ok %lu more %lu bad_request %lu bad_stream %lu\n",
		      counts[0][0], counts[0][1], counts[0][2], counts[0][3]);
	print_message("fuzz: http ok %lu more %lu bad_request %lu bad_stream %lu\n",
		      counts[1][0], counts[1][1], counts[1][2], counts[1][3]);
	/* the mutations reach every outcome */
	for (m = 0; m < 2; m++) {
		assert_true(counts[m][0] > 1000);
		assert_true(counts[m][1] > 1000);
		assert_true(counts[m][2] > 100);
		assert_true(counts[m][3] > 1000);
	}
	free(sizes);
}

/* ======================================================================= */
/* replies                                                                 */
/* ======================================================================= */

static void
test_reply_resp(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(kv_resp_simple(buf, sizeof(buf), "OK"), 5);
	assert_string_equal(buf, "+OK\r\n");
	assert_int_equal(kv_resp_simple(buf, sizeof(buf), "PONG"), 7);
	assert_string_equal(buf, "+PONG\r\n");
	assert_int_equal(kv_resp_error(buf, sizeof(buf), "ERR syntax error"), 19);
	assert_string_equal(buf, "-ERR syntax error\r\n");
	/* a message cannot end the line early */
	assert_int_equal(kv_resp_error(buf, sizeof(buf), "ERR a\r\n+OK"), 13);
	assert_string_equal(buf, "-ERR a  +OK\r\n");
	assert_int_equal(kv_resp_integer(buf, sizeof(buf), 0), 4);
	assert_string_equal(buf, ":0\r\n");
	assert_int_equal(kv_resp_integer(buf, sizeof(buf), -42), 6);
	assert_string_equal(buf, ":-42\r\n");
	assert_int_equal(kv_resp_integer(buf, sizeof(buf), INT64_MIN), 23);
	assert_string_equal(buf, ":-9223372036854775808\r\n");
	assert_int_equal(kv_resp_bulk_header(buf, sizeof(buf), 0), 4);
	assert_string_equal(buf, "$0\r\n");
	assert_int_equal(kv_resp_bulk_header(buf, sizeof(buf), 1048576), 10);
	assert_string_equal(buf, "$1048576\r\n");
	assert_int_equal(kv_resp_null_bulk(buf, sizeof(buf)), 5);
	assert_string_equal(buf, "$-1\r\n");
	assert_int_equal(kv_resp_array_header(buf, sizeof(buf), 2), 4);
	assert_string_equal(buf, "*2\r\n");
	assert_int_equal(kv_resp_array_header(buf, sizeof(buf), 0), 4);
	assert_string_equal(buf, "*0\r\n");
	assert_int_equal(kv_resp_array_header(buf, sizeof(buf), -1), 5);
	assert_string_equal(buf, "*-1\r\n");

	/* exact fit (no room for a NUL) is fine; one byte short is not */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(kv_resp_simple(buf, 5, "OK"), 5);
	assert_memory_equal(buf, "+OK\r\nx", 6);
	assert_int_equal(kv_resp_simple(buf, 4, "OK"), -1);
	assert_int_equal(kv_resp_error(buf, 3, "ERR"), -1);
	assert_int_equal(kv_resp_integer(buf, 3, 100), -1);
	assert_int_equal(kv_resp_bulk_header(buf, 4, 10), -1);
	assert_int_equal(kv_resp_null_bulk(buf, 4), -1);
	assert_int_equal(kv_resp_array_header(buf, 3, 10), -1);
	assert_int_equal(kv_resp_simple(NULL, 0, "OK"), -1);
	assert_int_equal(kv_resp_simple(buf, 0, "OK"), -1);
	assert_int_equal(kv_resp_simple(buf, sizeof(buf), ""), 3);
	assert_string_equal(buf, "+\r\n");
}

/* Number lines (reply.c writes their digits two at a time): every digit
 * count, both sides of each power of ten, both signs and the extremes, as
 * snprintf writes them, in a buffer that fits exactly (no NUL written
 * past the line) and one byte short. */
static void
check_number_line(int (*fmt)(char *, size_t, int64_t), char type, int64_t v)
{
	char want[32], buf[32];
	int n = snprintf(want, sizeof(want), "%c%" PRId64 "\r\n", type, v);

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(fmt(buf, (size_t)n, v), n);
	assert_memory_equal(buf, want, (size_t)n);
	assert_int_equal(buf[n], 'x');
	assert_int_equal(fmt(buf, sizeof(buf), v), n);
	assert_string_equal(buf, want);
	assert_int_equal(fmt(buf, (size_t)n - 1, v), -1);
}

static int
fmt_integer(char *buf, size_t size, int64_t v)
{
	return kv_resp_integer(buf, size, v);
}

static int
fmt_array(char *buf, size_t size, int64_t v)
{
	return kv_resp_array_header(buf, size, (long)v);
}

static int
fmt_bulk(char *buf, size_t size, int64_t v)
{
	return kv_resp_bulk_header(buf, size, (size_t)v);
}

static void
test_reply_numbers(void **state)
{
	int64_t p = 1, v;
	int i, d;

	(void)state;
	for (i = 0; i < 19; i++) {   /* p = 10^i, up to 10^18 */
		for (d = -1; d <= 1; d++) {
			v = p + d;
			check_number_line(fmt_integer, ':', v);
			check_number_line(fmt_integer, ':', -v);
			check_number_line(fmt_array, '*', v);
			check_number_line(fmt_array, '*', -v);
			if (v >= 0)
				check_number_line(fmt_bulk, '$', v);
		}
		if (i < 18) {   /* past 10^18, int64_t overflows */
			check_number_line(fmt_integer, ':', p * 10 - 1); /* all nines */
			p *= 10;
		}
	}
	check_number_line(fmt_integer, ':', INT64_MAX);
	check_number_line(fmt_integer, ':', INT64_MIN);
	check_number_line(fmt_array, '*', INT64_MIN);
	check_number_line(fmt_bulk, '$', INT64_MAX);
	/* every value below 10000 (each pair of the table) */
	for (v = 0; v < 10000; v++) {
		check_number_line(fmt_bulk, '$', v);
		check_number_line(fmt_integer, ':', -v);
	}
}

static void
test_reply_http(void **state)
{
	char buf[128];
	int n;

	(void)state;
	n = kv_http_status(buf, sizeof(buf), 200, "OK", 5, 1);
	assert_string_equal(buf, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
				 "Connection: keep-alive\r\n\r\n");
	assert_int_equal(n, (int)strlen(buf));
	n = kv_http_status(buf, sizeof(buf), 404, "Not Found", 0, 0);
	assert_string_equal(buf, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
				 "Connection: close\r\n\r\n");
	assert_int_equal(n, (int)strlen(buf));
	n = kv_http_status(buf, sizeof(buf), 413, "Payload\r\nX: y", 1048576, 1);
	assert_string_equal(buf, "HTTP/1.1 413 Payload  X: y\r\nContent-Length: 1048576\r\n"
				 "Connection: keep-alive\r\n\r\n");
	/* every size short of the whole fails, the exact size works */
	n = kv_http_status(buf, sizeof(buf), 200, "OK", 5, 1);
	for (int size = 0; size < n; size++)
		assert_int_equal(kv_http_status(buf, (size_t)size, 200, "OK", 5, 1), -1);
	assert_int_equal(kv_http_status(buf, (size_t)n, 200, "OK", 5, 1), n);
	assert_int_equal(kv_http_status(buf, sizeof(buf), 42, "OK", 5, 1), -1);
	assert_int_equal(kv_http_status(buf, sizeof(buf), 1000, "OK", 5, 1), -1);
}

/* Replies the parsers' error texts turn into stay one line each. */
static void
test_reply_error_texts(void **state)
{
	static const char msg[] = "*1\r\n$9\r\nA\r\nB\r\n-C?\r\n";
	size_t sizes[4];
	struct built b;
	struct res r;
	char buf[256];
	int n;

	(void)state;
	build(&b, msg, sizeof(msg) - 1, sizes, split_whole(sizeof(msg) - 1, sizes));
	do_parse(P_RESP, &b.s, &r);
	assert_int_equal(r.r, KV_PARSE_BAD_REQUEST);
	n = kv_resp_error(buf, sizeof(buf), r.err);
	assert_true(n > 0);
	assert_ptr_equal(strchr(buf, '\r'), buf + n - 2);
	unbuild(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stream_copy_find_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_names_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_consume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_skip_seek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_drop_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_set_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_too_many_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_framing_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_inline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_empty_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_binary_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_big_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_pipeline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_err_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_bulk_option, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_plain_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resp_resume_linear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_bulk_len, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_find_three_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_arity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_collect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_expect_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_pipeline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_big_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_resp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_error_texts, setup, teardown),
	};

	return cmocka_run_group_tests_name("kvs_proto", tests, NULL, NULL);
}
