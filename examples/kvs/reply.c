/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: reply elements, written into the caller's buffer.
 *
 * Each function returns the element's length, or -1 when it does not fit
 * (the buffer is then left in an unspecified state). A fitting element is
 * also NUL-terminated when there is room for it, which the length never
 * counts. Texts that go into a reply line (RESP status and error messages,
 * the HTTP reason phrase) have CR and LF replaced by blanks so that a
 * message can never end the line early and inject a reply of its own.
 */
#include <stdint.h>
#include <limits.h>
#include <string.h>

#include "reply.h"

struct out {
	char *buf;
	size_t size, len;
	int full;
};

static void
out_bytes(struct out *o, const char *p, size_t n)
{
	if (o->full || n > o->size - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
out_str(struct out *o, const char *p)
{
	out_bytes(o, p, strlen(p));
}

/* A text on one line: CR and LF become blanks. */
static void
out_line_text(struct out *o, const char *p)
{
	size_t start = o->len, i, n = strlen(p);

	out_bytes(o, p, n);
	if (o->full)
		return;
	for (i = start; i < o->len; i++)
		if (o->buf[i] == '\r' || o->buf[i] == '\n')
			o->buf[i] = ' ';
}

static int
out_end(struct out *o)
{
	if (o->full || o->len > INT_MAX)
		return -1;
	if (o->len < o->size)
		o->buf[o->len] = '\0';
	return (int)o->len;
}

static int
line(char *buf, size_t size, char type, const char *text)
{
	struct out o = { buf, buf != NULL ? size : 0, 0, 0 };

	out_bytes(&o, &type, 1);
	out_line_text(&o, text != NULL ? text : "");
	out_bytes(&o, "\r\n", 2);
	return out_end(&o);
}

int
kv_resp_simple(char *buf, size_t size, const char *msg)
{
	return line(buf, size, '+', msg);
}

int
kv_resp_error(char *buf, size_t size, const char *msg)
{
	return line(buf, size, '-', msg);
}

/* Decimal digits of @v into @num (at least 21 bytes), NUL-terminated. Not
 * snprintf(): every GET reply formats its length, and a format string
 * parsed per reply is a large share of a GET's own work. */
static char *
fmt_u64(char *num, uint64_t v)
{
	char tmp[20];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	memcpy(num, tmp + n, sizeof(tmp) - n);
	num[sizeof(tmp) - n] = '\0';
	return num;
}

static char *
fmt_i64(char *num, int64_t v)
{
	if (v >= 0)
		return fmt_u64(num, (uint64_t)v);
	num[0] = '-';
	/* -(v + 1) + 1 avoids overflowing on INT64_MIN */
	fmt_u64(num + 1, (uint64_t)(-(v + 1)) + 1);
	return num;
}

/* A number line ("$1024\r\n", ":-1\r\n"): digits hold no CR or LF, so the
 * line is written straight, without line()'s scan for them. Every GET
 * reply starts with one; through line() it cost a GET some 250
 * instructions. */
static int
number_line(char *buf, size_t size, char type, const char *num)
{
	size_t n = strlen(num);

	if (buf == NULL || size < n + 3)
		return -1;
	buf[0] = type;
	memcpy(buf + 1, num, n);
	buf[n + 1] = '\r';
	buf[n + 2] = '\n';
	if (size > n + 3)
		buf[n + 3] = '\0';
	return (int)(n + 3);
}

int
kv_resp_integer(char *buf, size_t size, int64_t n)
{
	char num[24];

	return number_line(buf, size, ':', fmt_i64(num, n));
}

int
kv_resp_bulk_header(char *buf, size_t size, size_t len)
{
	char num[24];

	return number_line(buf, size, '$', fmt_u64(num, len));
}

int
kv_resp_null_bulk(char *buf, size_t size)
{
	return number_line(buf, size, '$', "-1");
}

int
kv_resp_array_header(char *buf, size_t size, long n)
{
	char num[24];

	return number_line(buf, size, '*', fmt_i64(num, n));
}

int
kv_http_status(char *buf, size_t size, int code, const char *text,
	       size_t content_length, int keepalive)
{
	struct out o = { buf, buf != NULL ? size : 0, 0, 0 };
	char num[48];

	if (code < 100 || code > 999)
		return -1;
	out_str(&o, "HTTP/1.1 ");
	out_str(&o, fmt_u64(num, (uint64_t)code));
	out_str(&o, " ");
	out_line_text(&o, text != NULL ? text : "");
	out_str(&o, "\r\nContent-Length: ");
	out_str(&o, fmt_u64(num, content_length));
	out_str(&o, "\r\n");
	out_str(&o, keepalive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
	return out_end(&o);
}
