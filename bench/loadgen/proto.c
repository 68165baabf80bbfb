/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-loadgen: the requests (RESP SET/GET, HTTP POST/GET, keys
 * "key:%012llu" as redis-benchmark's -r; values of value.c) and the reply
 * parser, which checks each reply's shape: +OK for a SET, a bulk of exactly
 * the value's size for a GET, HTTP 200 with the value's Content-Length for
 * a GET and 200 for a POST; and, when asked, a value's bytes (value.c). It
 * runs on bytes in any split (segments, callbacks) and checks values where
 * they lie, without copying them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loadgen.h"

int
lg_request_init(struct lg_request *r, enum lg_op op, uint32_t value_size)
{
	char head[160];
	int n = 0;
	size_t body = 0;

	memset(r, 0, sizeof(*r));
	r->op = op;
	switch (op) {
	case LG_OP_SET:
		n = snprintf(head, sizeof(head), "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%0*d\r\n$%" PRIu32 "\r\n",
			     4 + LG_KEY_DIGITS, LG_KEY_DIGITS, 0, value_size);
		body = value_size + 2;
		break;
	case LG_OP_GET:
		n = snprintf(head, sizeof(head), "*2\r\n$3\r\nGET\r\n$%d\r\nkey:%0*d\r\n",
			     4 + LG_KEY_DIGITS, LG_KEY_DIGITS, 0);
		break;
	case LG_OP_POST:
		n = snprintf(head, sizeof(head), "POST /key:%0*d HTTP/1.1\r\nHost: paste\r\n"
			     "Content-Length: %" PRIu32 "\r\n\r\n", LG_KEY_DIGITS, 0, value_size);
		body = value_size;
		break;
	case LG_OP_HGET:
		n = snprintf(head, sizeof(head), "GET /key:%0*d HTTP/1.1\r\nHost: paste\r\n\r\n",
			     LG_KEY_DIGITS, 0);
		break;
	default:
		return -1;
	}
	r->len = (size_t)n + body;
	r->buf = malloc(r->len);
	if (r->buf == NULL)
		return -1;
	memcpy(r->buf, head, (size_t)n);
	/* The value's bytes are each request's own (lg_request_put()). */
	r->value_off = (size_t)n;
	r->value_len = body > 0 ? value_size : 0;
	if (op == LG_OP_SET)
		memcpy(r->buf + n + value_size, "\r\n", 2);
	r->key_off = (size_t)(strstr(head, "key:") - head) + 4;
	return 0;
}

void
lg_request_fini(struct lg_request *r)
{
	free(r->buf);
	r->buf = NULL;
}

void
lg_request_put(const struct lg_request *r, uint64_t key, uint32_t version, uint8_t *dst)
{
	size_t tail = r->value_off + r->value_len;
	uint8_t *d;
	int i;

	memcpy(dst, r->buf, r->value_off);
	lg_value_fill(key, version, 0, dst + r->value_off, r->value_len);
	memcpy(dst + tail, r->buf + tail, r->len - tail);
	d = dst + r->key_off;
	for (i = LG_KEY_DIGITS - 1; i >= 0; i--) {
		d[i] = (uint8_t)('0' + key % 10);
		key /= 10;
	}
}

/* ---- replies ---------------------------------------------------------- */

int
lg_line_take(char *line, uint32_t *line_len, size_t max, const uint8_t *d, size_t len,
	     size_t *i)
{
	const uint8_t *nl = memchr(d + *i, '\n', len - *i);
	size_t n = nl != NULL ? (size_t)(nl - (d + *i)) : len - *i;

	if (*line_len + n >= max)
		return -1;
	memcpy(line + *line_len, d + *i, n);
	*line_len += (uint32_t)n;
	*i += n;
	if (nl == NULL)
		return 0;
	(*i)++;
	if (*line_len > 0 && line[*line_len - 1] == '\r')
		(*line_len)--;
	line[*line_len] = '\0';
	*line_len = 0;
	return 1;
}

enum {
	P_START,        /* before a reply: RESP or HTTP by the expectation */
	P_RESP_LINE,
	P_RESP_BODY,
	P_RESP_CR,
	P_RESP_LF,
	P_HTTP_STATUS,
	P_HTTP_HEADER,
	P_HTTP_BODY,
};

void
lg_parser_reset(struct lg_parser *p)
{
	memset(p, 0, offsetof(struct lg_parser, line));
}

static void
mismatch(struct lg_parser *p, const char *fmt, const char *a, long long b)
{
	/* A reply of the wrong kind or size has no value to check. */
	p->vc.armed = 0;
	if (p->bad)
		return;
	p->bad = 1;
	if (a != NULL)
		snprintf(p->why, sizeof(p->why), fmt, a);
	else
		snprintf(p->why, sizeof(p->why), fmt, b);
}

static int
unparseable(struct lg_parser *p, const char *why)
{
	snprintf(p->why, sizeof(p->why), "%s", why);
	return -1;
}

/* A value's bytes, as they come. */
static void
value_bytes(struct lg_parser *p, const uint8_t *d, size_t n)
{
	if (p->vc.armed)
		lg_vcheck_feed(&p->vc, d, n);
}

static void
finish(struct lg_parser *p, lg_reply_fn done, void *arg)
{
	char why[LG_WHY_MAX];
	enum lg_reply how;

	if (p->vc.armed && !p->bad && lg_vcheck_end(&p->vc, p->why, sizeof(p->why)) != 0)
		p->bad = p->bad_value = 1;
	p->vc.armed = 0;
	/* done() may arm the next reply's check; the reset leaves it be. */
	snprintf(why, sizeof(why), "%s", p->why);
	how = !p->bad ? LG_REPLY_OK : p->bad_value ? LG_REPLY_WRONG_VALUE : LG_REPLY_WRONG;
	lg_parser_reset(p);
	done(arg, how, why);
}

/* A value reply begins: its check must have been armed. */
static int
value_begins(struct lg_parser *p, const struct lg_expect *e)
{
	if (e->check && !p->bad && !p->vc.armed)
		return unparseable(p, "a value reply with no request to check it against");
	return 0;
}

/* A decimal number, possibly negative, the whole of @s. */
static int
parse_num(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
resp_line(struct lg_parser *p, const struct lg_expect *e, lg_reply_fn done, void *arg)
{
	const char *l = p->line;

	switch (l[0]) {
	case '+':
		if (e->value)
			mismatch(p, "status %.60s where a value was expected", l, 0);
		else if (strcmp(l, "+OK") != 0)
			mismatch(p, "%.60s instead of +OK", l, 0);
		finish(p, done, arg);
		return 0;
	case '-':
		mismatch(p, "error reply %.60s", l, 0);
		finish(p, done, arg);
		return 0;
	case '$':
		if (parse_num(l + 1, &p->length) != 0 || p->length < -1)
			return unparseable(p, "bad bulk length line");
		if (p->length == -1) {
			mismatch(p, e->value ? "nil: the key was not found%s" :
				 "nil where +OK was expected%s", "", 0);
			finish(p, done, arg);
			return 0;
		}
		if (!e->value)
			mismatch(p, "a %lld-byte bulk where +OK was expected", NULL, p->length);
		else if (p->length != (int64_t)e->value_size)
			mismatch(p, "a %lld-byte value, not the size set", NULL, p->length);
		else if (value_begins(p, e) != 0)
			return -1;
		p->left = (uint64_t)p->length;
		p->state = p->left > 0 ? P_RESP_BODY : P_RESP_CR;
		return 0;
	default:
		return unparseable(p, "unexpected RESP reply type");
	}
}

static int
http_line(struct lg_parser *p, const struct lg_expect *e, lg_reply_fn done, void *arg)
{
	const char *l = p->line;
	int64_t v;

	if (p->state == P_HTTP_STATUS) {
		if (strncmp(l, "HTTP/1.", 7) != 0 || strlen(l) < 12 || l[8] != ' ')
			return unparseable(p, "bad HTTP status line");
		p->status = atoi(l + 9);
		p->length = -1;
		p->state = P_HTTP_HEADER;
		return 0;
	}
	if (l[0] != '\0') {
		if (strncasecmp(l, "content-length:", 15) == 0) {
			l += 15;
			while (*l == ' ' || *l == '\t')
				l++;
			if (parse_num(l, &v) != 0 || v < 0)
				return unparseable(p, "bad Content-Length");
			p->length = v;
		}
		return 0;
	}
	/* The empty line: the body follows. */
	if (p->length < 0)
		return unparseable(p, "HTTP reply without Content-Length");
	if (p->status != 200)
		mismatch(p, "HTTP status %lld", NULL, p->status);
	else if (e->value && p->length != (int64_t)e->value_size)
		mismatch(p, "a %lld-byte body, not the size posted", NULL, p->length);
	else if (e->value && value_begins(p, e) != 0)
		return -1;
	p->left = (uint64_t)p->length;
	if (p->left == 0)
		finish(p, done, arg);
	else
		p->state = P_HTTP_BODY;
	return 0;
}

int
lg_parser_feed(struct lg_parser *p, const struct lg_expect *e, const uint8_t *data,
	       size_t len, lg_reply_fn done, void *arg)
{
	size_t i = 0, n;
	int ret;

	while (i < len) {
		switch (p->state) {
		case P_START:
			p->state = e->http ? P_HTTP_STATUS : P_RESP_LINE;
			continue;
		case P_RESP_BODY:
		case P_HTTP_BODY:
			n = len - i < p->left ? len - i : (size_t)p->left;
			value_bytes(p, data + i, n);
			p->left -= n;
			i += n;
			if (p->left > 0)
				continue;
			if (p->state == P_RESP_BODY)
				p->state = P_RESP_CR;
			else
				finish(p, done, arg);
			continue;
		case P_RESP_CR:
		case P_RESP_LF:
			if (data[i++] != (p->state == P_RESP_CR ? '\r' : '\n'))
				return unparseable(p, "value not followed by CRLF");
			if (p->state == P_RESP_CR)
				p->state = P_RESP_LF;
			else
				finish(p, done, arg);
			continue;
		default:
			break;
		}
		ret = lg_line_take(p->line, &p->line_len, LG_LINE_MAX, data, len, &i);
		if (ret < 0)
			return unparseable(p, "reply line longer than 512 bytes");
		if (ret == 0)
			break;
		ret = p->state == P_RESP_LINE ? resp_line(p, e, done, arg) :
		      http_line(p, e, done, arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}
