/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen's request builders, reply parser and latency histogram
 * (bench/loadgen/proto.c, histogram.c), its values' checker (value.c) and
 * --auto-shape (shape.c), without a stack: replies fed in every split,
 * wrong replies counted with their reason, streams that cannot be parsed
 * refused; a value of another key, of an older version or with one byte
 * flipped anywhere caught; percentiles within a bucket of the truth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loadgen.h"

struct seen {
	unsigned int ok, bad, bad_values;
	char why[LG_WHY_MAX];
	/* Values to check: the next reply's key, and the versions. */
	struct lg_parser *p;
	const uint64_t *keys;
	unsigned int n_keys, next;
	uint32_t versions[2];
	unsigned int n_versions;
	uint32_t size;
};

static void
arm(struct seen *s)
{
	if (s->p != NULL && s->next < s->n_keys)
		lg_vcheck_begin(&s->p->vc, s->keys[s->next], s->versions, s->n_versions, s->size);
}

static void
on_reply(void *arg, enum lg_reply how, const char *why)
{
	struct seen *s = arg;

	s->next++;
	arm(s);
	if (how == LG_REPLY_OK) {
		s->ok++;
	} else {
		s->bad++;
		s->bad_values += how == LG_REPLY_WRONG_VALUE;
		snprintf(s->why, sizeof(s->why), "%s", why);
	}
}

/* Feed @text in pieces of @step bytes; @return the parser's last result. */
static int
feed(const struct lg_expect *e, const char *text, size_t step, struct seen *s)
{
	struct lg_parser p;
	size_t len = strlen(text), off, n;
	int ret = 0;

	memset(&p, 0, sizeof(p));
	memset(s, 0, sizeof(*s));
	for (off = 0; off < len && ret == 0; off += n) {
		n = len - off < step ? len - off : step;
		ret = lg_parser_feed(&p, e, (const uint8_t *)text + off, n, on_reply, s);
	}
	if (ret != 0)
		snprintf(s->why, sizeof(s->why), "%s", p.why);
	return ret;
}

static void
test_requests(void **state)
{
	struct lg_request r;
	uint8_t buf[2048];
	const char *set = "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$40\r\n"
			  "key:000000000042:0000000007:";
	uint8_t value[40];
	size_t h = strlen(set);

	(void)state;
	/* The value: its header, then the pattern of (key, version). */
	assert_int_equal(lg_request_init(&r, LG_OP_SET, 40), 0);
	lg_request_put(&r, 42, 7, buf);
	assert_int_equal(r.len, h + 12 + 2);
	assert_memory_equal(buf, set, h);
	lg_value_fill(42, 7, 0, value, sizeof(value));
	assert_memory_equal(buf + h - LG_VALUE_HDR, value, sizeof(value));
	assert_memory_equal(buf + h + 12, "\r\n", 2);
	lg_request_fini(&r);
	assert_int_equal(lg_request_init(&r, LG_OP_SET, 5), 0);
	lg_request_put(&r, 42, 7, buf);
	assert_memory_equal(buf, "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$5\r\nkey:0\r\n", r.len);
	lg_request_fini(&r);
	assert_int_equal(lg_request_init(&r, LG_OP_HGET, 5), 0);
	lg_request_put(&r, 999999999999ull, 0, buf);
	assert_memory_equal(buf, "GET /key:999999999999 HTTP/1.1\r\nHost: paste\r\n\r\n", r.len);
	lg_request_fini(&r);
	assert_int_equal(lg_request_init(&r, LG_OP_POST, 3), 0);
	lg_request_put(&r, 7, 0, buf);
	assert_memory_equal(buf, "POST /key:000000000007 HTTP/1.1\r\nHost: paste\r\n"
			    "Content-Length: 3\r\n\r\nkey", r.len);
	lg_request_fini(&r);
}

static void
test_resp_replies(void **state)
{
	const struct lg_expect set = { .http = 0, .value = 0 };
	const struct lg_expect get = { .http = 0, .value = 1, .value_size = 4 };
	const char *three = "+OK\r\n+OK\r\n+OK\r\n";
	const char *gets = "$4\r\nabcd\r\n$4\r\n\r\n\r\n\r\n";
	struct seen s;
	size_t step;

	(void)state;
	/* Every split gives the same replies. */
	for (step = 1; step <= strlen(gets); step++) {
		assert_int_equal(feed(&set, three, step, &s), 0);
		assert_int_equal(s.ok, 3);
		assert_int_equal(s.bad, 0);
		assert_int_equal(feed(&get, gets, step, &s), 0);
		assert_int_equal(s.ok, 2);
		assert_int_equal(s.bad, 0);
	}
	/* Wrong, but well formed: counted, with the reason. */
	assert_int_equal(feed(&get, "$3\r\nabc\r\n", 2, &s), 0);
	assert_int_equal(s.bad, 1);
	assert_non_null(strstr(s.why, "3-byte value"));
	assert_int_equal(feed(&get, "$-1\r\n", 1, &s), 0);
	assert_int_equal(s.bad, 1);
	assert_non_null(strstr(s.why, "not found"));
	assert_int_equal(feed(&set, "-ERR out of memory\r\n+OK\r\n", 3, &s), 0);
	assert_int_equal(s.bad, 1);
	assert_int_equal(s.ok, 1);
	assert_int_equal(feed(&set, "+QUEUED\r\n", 100, &s), 0);
	assert_int_equal(s.bad, 1);
	/* Not parseable: the stream is refused. */
	assert_int_equal(feed(&get, "$4\r\nabcdXY", 100, &s), -1);
	assert_int_equal(feed(&set, ":1\r\n", 100, &s), -1);
	assert_int_equal(feed(&set, "$x\r\n", 100, &s), -1);
}

static void
test_http_replies(void **state)
{
	const struct lg_expect post = { .http = 1, .value = 0 };
	const struct lg_expect hget = { .http = 1, .value = 1, .value_size = 3 };
	const char *posts = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
			    "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
	const char *gets = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
	struct seen s;
	size_t step;

	(void)state;
	for (step = 1; step <= strlen(posts); step++) {
		assert_int_equal(feed(&post, posts, step, &s), 0);
		assert_int_equal(s.ok, 2);
		assert_int_equal(feed(&hget, gets, step, &s), 0);
		assert_int_equal(s.ok, 1);
	}
	assert_int_equal(feed(&hget, "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n",
			      7, &s), 0);
	assert_int_equal(s.bad, 1);
	assert_non_null(strstr(s.why, "404"));
	assert_int_equal(feed(&hget, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", 5, &s), 0);
	assert_int_equal(s.bad, 1);
	assert_int_equal(feed(&post, "HTTP/1.1 200 OK\r\n\r\n", 100, &s), -1);
	assert_non_null(strstr(s.why, "Content-Length"));
	assert_int_equal(feed(&post, "SMTP ready\r\n", 100, &s), -1);
}

static void
test_line_limit(void **state)
{
	const struct lg_expect set = { 0 };
	char *text = malloc(LG_LINE_MAX + 8);
	struct seen s;

	(void)state;
	assert_non_null(text);
	text[0] = '+';
	memset(text + 1, 'a', LG_LINE_MAX + 2);
	memcpy(text + LG_LINE_MAX + 3, "\r\n", 3);
	assert_int_equal(feed(&set, text, 64, &s), -1);
	assert_non_null(strstr(s.why, "longer"));
	free(text);
}

/* ---- values ---------------------------------------------------------- */

#define MIB (1u << 20)

/* Check @v (@len bytes) as the value of @key, one of @versions, fed in
 * pieces of @step. @return lg_vcheck_end()'s result; its why in @why. */
static int
check_value(const uint8_t *v, uint32_t len, size_t step, uint64_t key, const uint32_t *versions,
	    unsigned int n, char *why)
{
	struct lg_vcheck vc;
	size_t off, k;

	lg_vcheck_begin(&vc, key, versions, n, len);
	for (off = 0; off < len; off += k) {
		k = len - off < step ? len - off : step;
		lg_vcheck_feed(&vc, v + off, k);
	}
	why[0] = '\0';
	return lg_vcheck_end(&vc, why, LG_WHY_MAX);
}

static void
test_value_right(void **state)
{
	static const uint32_t sizes[] = { 0, 1, 16, 27, 28, 29, 64, 1000, 70001, MIB };
	static const size_t steps[] = { 1, 7, 1460, MIB };
	uint8_t *v = malloc(MIB), *w = malloc(MIB);
	const uint32_t three = 3;
	char why[LG_WHY_MAX];
	size_t i, j, off;

	(void)state;
	assert_non_null(v);
	assert_non_null(w);
	lg_value_fill(42, 3, 0, v, MIB);
	assert_memory_equal(v, "key:000000000042:0000000003:", LG_VALUE_HDR);
	/* Any piece of it can be made alone, from any offset. */
	for (off = 0; off < MIB; off += 65537) {
		lg_value_fill(42, 3, off, w, 4099);
		assert_memory_equal(w, v + off, off + 4099 <= MIB ? 4099 : MIB - off);
	}
	/* A value of -d bytes is the start of the stream: every size passes,
	 * in every split (1 MiB byte by byte too). */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++)
			assert_int_equal(check_value(v, sizes[i], steps[j], 42, &three, 1, why), 0);
	free(v);
	free(w);
}

static void
test_value_wrong(void **state)
{
	static const uint32_t offsets[] = { 0, 4, 15, 16, 17, 26, 27, 28, 29, 100, 4095, 65535,
					    65536, 65537, 300001, MIB - 1 };
	uint8_t *v = malloc(MIB);
	const uint32_t three = 3, both[2] = { 3, 5 };
	char why[LG_WHY_MAX], want[64];
	size_t i;

	(void)state;
	assert_non_null(v);
	/* Another key's value, whole: named as such. */
	lg_value_fill(43, 3, 0, v, MIB);
	assert_int_equal(check_value(v, MIB, 1460, 42, &three, 1, why), -1);
	assert_non_null(strstr(why, "the value of key:000000000043 version 3"));
	assert_null(strstr(why, "corrupt"));
	/* ... short ones too, though the header is cut: its bytes differ. */
	assert_int_equal(check_value(v, 16, 1, 42, &three, 1, why), -1);
	/* An older version of the key. */
	lg_value_fill(42, 2, 0, v, MIB);
	assert_int_equal(check_value(v, MIB, 1460, 42, &three, 1, why), -1);
	assert_non_null(strstr(why, "version 2 where 3 was expected"));
	/* Either of two versions (one in flight) passes; a third does not. */
	assert_int_equal(check_value(v, MIB, 4096, 42, both, 2, why), -1);
	lg_value_fill(42, 5, 0, v, MIB);
	assert_int_equal(check_value(v, MIB, 4096, 42, both, 2, why), 0);
	lg_value_fill(42, 3, 0, v, MIB);
	assert_int_equal(check_value(v, MIB, 4096, 42, both, 2, why), 0);
	/* The right header over another version's bytes (a stale body). */
	lg_value_fill(42, 2, LG_VALUE_HDR, v + LG_VALUE_HDR, MIB - LG_VALUE_HDR);
	assert_int_equal(check_value(v, MIB, 1460, 42, &three, 1, why), -1);
	assert_non_null(strstr(why, "corrupt from byte 28"));
	/* One byte flipped, anywhere: caught, past the header at its offset. */
	lg_value_fill(42, 3, 0, v, MIB);
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		v[offsets[i]] ^= 0x01;
		assert_int_equal(check_value(v, MIB, 1460, 42, &three, 1, why), -1);
		assert_int_equal(check_value(v, MIB, 1, 42, &three, 1, why), -1);
		if (offsets[i] >= LG_VALUE_HDR) {
			snprintf(want, sizeof(want), "corrupt from byte %u ", offsets[i]);
			assert_non_null(strstr(why, want));
		}
		v[offsets[i]] ^= 0x01;
		assert_int_equal(check_value(v, MIB, 1460, 42, &three, 1, why), 0);
	}
	/* A segment's bytes where another belongs (a name repeated). */
	memcpy(v + 5 * 1460, v + 2 * 1460, 1460);
	assert_int_equal(check_value(v, MIB, 1460, 42, &three, 1, why), -1);
	assert_non_null(strstr(why, "corrupt from byte 7300 "));
	/* ... by a whole number of words too: bytes depend on where they are. */
	lg_value_fill(42, 3, 0, v, MIB);
	memcpy(v + 8192, v + 2048, 1024);
	assert_int_equal(check_value(v, MIB, 1024, 42, &three, 1, why), -1);
	assert_non_null(strstr(why, "corrupt from byte 8192 "));
	/* Not one of ours at all. */
	memset(v, 'x', 64);
	assert_int_equal(check_value(v, 64, 64, 42, &three, 1, why), -1);
	assert_non_null(strstr(why, "no header of ours, wrong from byte 0 ('xxxx"));
	free(v);
}

/* The parser checks a value reply's bytes against the armed check, over
 * many segments, and says which replies were wrong values. */
static void
test_value_replies(void **state)
{
	const uint32_t size = 70000, load = LG_LOAD_VERSION;
	const struct lg_expect get = { .value = 1, .value_size = size, .check = 1 };
	const struct lg_expect hget = { .http = 1, .value = 1, .value_size = size, .check = 1 };
	static const uint64_t keys[3] = { 7, 8, 9 };
	size_t head = 0, len, off, n, step;
	uint8_t *text = malloc(3 * (size + 64));
	struct lg_parser p;
	struct seen s;
	unsigned int k;
	int http, ret;

	(void)state;
	assert_non_null(text);
	for (http = 0; http <= 1; http++)
		for (step = 1460; step <= 4 * 1460; step += 3 * 1460) {
			/* Three replies: keys 7, 8, and 8's value again for 9. */
			len = 0;
			for (k = 0; k < 3; k++) {
				head = (size_t)sprintf((char *)text + len, http ?
					"HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n" :
					"$%u\r\n", size);
				len += head;
				lg_value_fill(k == 2 ? 8 : keys[k], load, 0, text + len, size);
				len += size;
				if (!http)
					len += (size_t)sprintf((char *)text + len, "\r\n");
			}
			memset(&p, 0, sizeof(p));
			memset(&s, 0, sizeof(s));
			s.p = &p;
			s.keys = keys;
			s.n_keys = 3;
			s.versions[0] = load;
			s.n_versions = 1;
			s.size = size;
			arm(&s);
			ret = 0;
			for (off = 0; off < len && ret == 0; off += n) {
				n = len - off < step ? len - off : step;
				ret = lg_parser_feed(&p, http ? &hget : &get, text + off, n, on_reply,
						     &s);
			}
			assert_int_equal(ret, 0);
			assert_int_equal(s.ok, 2);
			assert_int_equal(s.bad_values, 1);
			assert_non_null(strstr(s.why, "key:000000000009 (version 0): the value of "
					       "key:000000000008"));
		}
	/* A value reply when no request asked to check one: not trusted. */
	memset(&p, 0, sizeof(p));
	memset(&s, 0, sizeof(s));
	assert_int_equal(lg_parser_feed(&p, &get, (const uint8_t *)"$70000\r\n", 8, on_reply, &s),
			 -1);
	free(text);
}

/* --auto-shape keeps in flight and stored within the pools, and keeps
 * what the command line gave. */
static void
test_auto_shape(void **state)
{
	static const uint32_t sizes[] = { 0, 64, 1024, 61440, 65536, MIB };
	struct lg_opts o;
	FILE *null = fopen("/dev/null", "w");
	uint64_t flight, value_bufs;
	size_t i;

	(void)state;
	assert_non_null(null);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&o, 0, sizeof(o));
		o.value_size = sizes[i];
		o.pool_bufs = 16384;
		o.server_bufs = 65536;
		lg_auto_shape(&o, null);
		flight = (uint64_t)o.conns * o.pipeline * (sizes[i] + 64);
		value_bufs = (sizes[i] + LG_SHAPE_BUF_BYTES - 1) / LG_SHAPE_BUF_BYTES;
		assert_true(o.conns >= 1 && o.pipeline >= 1 && o.keyspace >= 1);
		assert_true(flight <= 16384ull * LG_SHAPE_BUF_BYTES / 16 || o.conns * o.pipeline == 1);
		assert_true(o.keyspace * (value_bufs ? value_bufs : 1) <= 65536 / 4);
	}
	/* 1 MiB: one request in flight, 16 keys of 1024 buffers. */
	assert_int_equal(o.conns, 1);
	assert_int_equal(o.pipeline, 1);
	assert_int_equal(o.keyspace, 16);
	/* 64 bytes: the most connections and depth, the default keyspace. */
	memset(&o, 0, sizeof(o));
	o.value_size = 64;
	o.pool_bufs = o.server_bufs = 65536;
	lg_auto_shape(&o, null);
	assert_int_equal(o.conns, 16);
	assert_int_equal(o.pipeline, 32);
	assert_int_equal(o.keyspace, 10000);
	/* Given: kept; the rest fits around them. */
	memset(&o, 0, sizeof(o));
	o.value_size = 65536;
	o.pool_bufs = o.server_bufs = 65536;
	o.conns = 2;
	o.given_conns = 1;
	o.keyspace = 5;
	o.given_keyspace = 1;
	lg_auto_shape(&o, null);
	assert_int_equal(o.conns, 2);
	assert_int_equal(o.keyspace, 5);
	assert_int_equal(o.pipeline, 65536ull * 1024 / 16 / (65536 + 64) / 2);
	fclose(null);
}

static void
test_histogram(void **state)
{
	struct lg_hist *h = calloc(1, sizeof(*h));
	uint64_t i, q;

	(void)state;
	assert_non_null(h);
	assert_int_equal(lg_hist_quantile(h, 0.5), 0);
	for (i = 1; i <= 100000; i++)
		lg_hist_add(h, i * 100);        /* 100 ns .. 10 ms, uniform */
	assert_int_equal(h->count, 100000);
	assert_int_equal(h->max_ns, 10000000);
	q = lg_hist_quantile(h, 0.5);
	assert_true(q >= 5000000 && q <= 5000000 + 5000000 / 16);
	q = lg_hist_quantile(h, 0.99);
	assert_true(q >= 9900000 && q <= 9900000 + 9900000 / 16);
	assert_int_equal(lg_hist_quantile(h, 1.0), 10000000);
	/* Beyond the last bucket: counted there, the maximum exact. */
	lg_hist_add(h, UINT64_MAX / 2);
	assert_int_equal(lg_hist_quantile(h, 1.0), UINT64_MAX / 2);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_resp_replies),
		cmocka_unit_test(test_http_replies),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_value_right),
		cmocka_unit_test(test_value_wrong),
		cmocka_unit_test(test_value_replies),
		cmocka_unit_test(test_auto_shape),
		cmocka_unit_test(test_histogram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
