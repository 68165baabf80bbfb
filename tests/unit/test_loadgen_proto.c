/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen's request builders, reply parser and latency histogram
 * (bench/loadgen/proto.c, histogram.c), without a stack: replies fed in
 * every split, wrong replies counted with their reason, streams that
 * cannot be parsed refused, percentiles within a bucket of the truth.
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
	unsigned int ok, bad;
	char why[96];
};

static void
on_reply(void *arg, int ok, const char *why)
{
	struct seen *s = arg;

	if (ok) {
		s->ok++;
	} else {
		s->bad++;
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

	lg_parser_reset(&p);
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

	(void)state;
	assert_int_equal(lg_request_init(&r, LG_OP_SET, 5), 0);
	lg_request_put(&r, 42, buf);
	assert_int_equal(r.len, strlen("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$5\r\nxxxxx\r\n"));
	assert_memory_equal(buf, "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$5\r\nxxxxx\r\n", r.len);
	lg_request_fini(&r);
	assert_int_equal(lg_request_init(&r, LG_OP_HGET, 5), 0);
	lg_request_put(&r, 999999999999ull, buf);
	assert_memory_equal(buf, "GET /key:999999999999 HTTP/1.1\r\nHost: paste\r\n\r\n", r.len);
	lg_request_fini(&r);
	assert_int_equal(lg_request_init(&r, LG_OP_POST, 3), 0);
	lg_request_put(&r, 7, buf);
	assert_memory_equal(buf, "POST /key:000000000007 HTTP/1.1\r\nHost: paste\r\n"
			    "Content-Length: 3\r\n\r\nxxx", r.len);
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
		cmocka_unit_test(test_histogram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
