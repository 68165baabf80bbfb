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
 * snprintf(): a format string parsed per reply is a large share of a small
 * request's own work. */
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

/* How many decimal digits @v has. */
static inline unsigned int
decimal_len(uint64_t v)
{
	unsigned int n = 1;

	for (; v >= 10000; v /= 10000)
		n += 4;
	return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* A number line ("$1024\r\n", ":-1\r\n"): its digits written in place,
 * two at a time from a table, with no scan for CR or LF (digits hold
 * none). Every GET reply starts with one: through fmt_u64(), strlen and
 * memcpy it cost a GET some 68 instructions, through line() some 250.
 * @neg: a minus sign before the magnitude @v. */
static int
number_line(char *buf, size_t size, char type, int neg, uint64_t v)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
	unsigned int n = decimal_len(v), w = n + (neg != 0), r;
	char *d;

	if (buf == NULL || size < (size_t)w + 3)
		return -1;
	buf[0] = type;
	buf[1] = '-';   /* overwritten by the first digit unless @neg */
	for (d = buf + 1 + w; v >= 100; v /= 100) {
		r = (unsigned int)(v % 100);
		d -= 2;
		d[0] = pairs[2 * r];
		d[1] = pairs[2 * r + 1];
	}
	if (v >= 10) {
		d[-2] = pairs[2 * v];
		d[-1] = pairs[2 * v + 1];
	} else {
		d[-1] = (char)('0' + v);
	}
	buf[w + 1] = '\r';
	buf[w + 2] = '\n';
	if (size > (size_t)w + 3)
		buf[w + 3] = '\0';
	return (int)(w + 3);
}

/* |@v|, INT64_MIN's too. */
static inline uint64_t
magnitude(int64_t v)
{
	/* -(v + 1) + 1 avoids overflowing on INT64_MIN */
	return v >= 0 ? (uint64_t)v : (uint64_t)(-(v + 1)) + 1;
}

int
kv_resp_integer(char *buf, size_t size, int64_t n)
{
	return number_line(buf, size, ':', n < 0, magnitude(n));
}

int
kv_resp_bulk_header(char *buf, size_t size, size_t len)
{
	return number_line(buf, size, '$', 0, len);
}

int
kv_resp_null_bulk(char *buf, size_t size)
{
	return number_line(buf, size, '$', 1, 1);
}

int
kv_resp_array_header(char *buf, size_t size, long n)
{
	return number_line(buf, size, '*', n < 0, magnitude(n));
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
