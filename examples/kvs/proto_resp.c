/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: RESP2 requests, parsed where they lie in the receive stream.
 *
 * Two framings, as Redis reads them: a multibulk request (an array of bulk
 * strings, what redis-cli and redis-benchmark send) when the first byte is
 * '*', otherwise an inline command (one line split on blanks, what
 * redis-benchmark's *_INLINE tests and telnet users send). The parser is
 * stateless: it starts from the first unconsumed byte each time and answers
 * KV_PARSE_MORE until a whole request is there, so a request may be split
 * across spans anywhere. With a struct kv_parse_state, a multibulk request
 * resumes at its first unframed element and an inline line's search for
 * its LF where it stopped: a request trickled in n pieces costs O(n)
 * bytes read, not O(n^2). Arguments are byte ranges of the stream; only the
 * command name, option words and small numbers are copied out.
 *
 * Two ways to read a multibulk request, one result: lines that lie whole
 * in one span are read with a pointer (frame_plain: what a pipelined
 * request nearly always is), everything else byte by byte through a
 * cursor that crosses spans. The plain path only ever accepts what the
 * byte-wise one would, to the same values; at anything else it hands over,
 * so that every error and limit lives in one place.
 *
 * Errors follow Redis: a request that is well framed but wrong (unknown
 * command, wrong arity, bad option, key too long) is consumed
 * whole and answered (KV_PARSE_BAD_REQUEST); broken framing (and an
 * inline line with unbalanced quotes) answers and closes
 * (KV_PARSE_BAD_STREAM). Empty requests ("*0\r\n", "*-1\r\n", an
 * empty inline line) get no reply in Redis: they are folded into the
 * consumed bytes of the request that follows them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "kv_limits.h"
#include "proto.h"
#include "stream_cursor.h"

/* Elements per request: the command name and its arguments. Redis takes
 * up to 1M and waits for them; a count we would refuse anyway is refused
 * at once. */
#define RESP_MULTIBULK_MAX (KV_MAX_ARGS + 1)
#define RESP_INLINE_MAX (64 * 1024)              /* Redis PROTO_INLINE_MAX_SIZE */
#define RESP_NUMBER_LINE_MAX 24                  /* "*N" / "$N" line, digits */
#define RESP_NAME_MAX 32                         /* command names we copy */

/* A request's framing, before its meaning. */
struct resp_frame {
	struct kv_arg name;       /* the command name */
	unsigned int nargs;       /* arguments after it (all of them) */
	struct kv_arg *args;      /* KV_MAX_ARGS: the request's argv, framed
	                           * in place */
	size_t end;               /* stream offset just past the request */
};

enum { FRAME_OK, FRAME_MORE, FRAME_EMPTY, FRAME_BAD };

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Copy a short range out (at most size-1 bytes), NUL-terminated, for
 * messages: bytes that could break a reply line become '?'. */
static void
copy_printable(const struct kv_stream *s, const struct kv_arg *a, char *dst,
	       size_t size, int lower)
{
	size_t n = a->len < size - 1 ? a->len : size - 1, i;

	n = kv_stream_copy(s, a->off, dst, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)dst[i];

		if (c < 0x20 || c > 0x7e || c == '\'')
			c = '?';
		else if (lower && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		dst[i] = (char)c;
	}
	dst[n] = '\0';
}

/* The range, lower-cased, if it fits in @size-1 bytes; else "" (no word
 * we look for is that long). */
static void
copy_word(const struct kv_stream *s, const struct kv_arg *a, char *dst, size_t size)
{
	size_t i;

	if (a->len >= size) {
		dst[0] = '\0';
		return;
	}
	kv_stream_copy(s, a->off, dst, a->len);
	for (i = 0; i < a->len; i++)
		if (dst[i] >= 'A' && dst[i] <= 'Z')
			dst[i] = (char)(dst[i] - 'A' + 'a');
	dst[a->len] = '\0';
}

int
kv_strict_int64(const char *p, size_t len, int64_t *v)
{
	size_t i = 0;
	int neg = 0;
	uint64_t acc = 0, lim;

	if (len == 1 && p[0] == '0') {
		*v = 0;
		return 0;
	}
	if (len > 0 && p[0] == '-') {
		neg = 1;
		i = 1;
	}
	/* No sign but '-', no blank, no leading zero (so no "-0"). */
	if (i >= len || p[i] < '1' || p[i] > '9')
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (acc > (lim - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		acc = acc * 10 + (uint64_t)(p[i] - '0');
	}
	*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

/* Argument @a as kv_strict_int64 reads it. Returns 0 or -1. */
static int
arg_to_int64(const struct kv_stream *s, const struct kv_arg *a, int64_t *v)
{
	char buf[24];

	if (a->len == 0 || a->len >= sizeof(buf))
		return -1;
	kv_stream_copy(s, a->off, buf, a->len);
	return kv_strict_int64(buf, a->len, v);
}

/* Whether digit @ch, the @digits-th of a length line (after a '-' if @neg),
 * with @acc read before it, makes the line one Redis refuses: its
 * string2ll takes "0" but no other leading zero and no "-0", so "$03" and
 * "*02" are protocol errors there. Refused as soon as seen: no line that
 * starts so is a length. */
static inline int
leading_zero(int neg, int digits, long long acc, int ch)
{
	return (digits > 1 && acc == 0) || (neg && digits == 1 && ch == '0');
}

/* read_number_line() where the whole line lies in the cursor's span (the
 * usual case): the same rules over a pointer, without the cursor's
 * per-byte span checks. Returns FRAME_MORE, without moving the cursor,
 * when the span ends first: the caller then walks the spans. */
static int
read_number_line_in_span(struct kv_cursor *c, long long *v)
{
	const struct kv_span *sp;
	const uint8_t *p0, *p, *end;
	long long acc = 0;
	int neg = 0, digits = 0;

	if (!kv_cursor_settle(c))
		return FRAME_MORE;
	sp = &c->s->spans[c->i];
	p0 = p = sp->data + c->pos;
	end = sp->data + sp->len;
	for (; p < end && *p != '\r'; p++) {
		if (p - p0 >= RESP_NUMBER_LINE_MAX)
			return FRAME_BAD;
		if (*p == '-' && p == p0) {
			neg = 1;
			continue;
		}
		if (*p < '0' || *p > '9' || ++digits > 18 || leading_zero(neg, digits, acc, *p))
			return FRAME_BAD;
		acc = acc * 10 + (*p - '0');
	}
	if (end - p < 2)
		return FRAME_MORE;
	if (p[1] != '\n' || digits == 0)
		return FRAME_BAD;
	p += 2;
	c->pos += (uint32_t)(p - p0);
	c->off += (size_t)(p - p0);
	*v = neg ? -acc : acc;
	return FRAME_OK;
}

/* Read "<number>\r\n" at the cursor: optional '-', then digits, as
 * leading_zero() allows them. Returns FRAME_OK, FRAME_MORE or FRAME_BAD. */
static int
read_number_line(struct kv_cursor *c, long long *v)
{
	long long acc = 0;
	int ch, neg = 0, digits = 0;
	unsigned int n = 0;

	ch = read_number_line_in_span(c, v);
	if (ch != FRAME_MORE)
		return ch;
	for (;;) {
		ch = kv_cursor_next(c);
		if (ch < 0)
			return FRAME_MORE;
		if (ch == '\r')
			break;
		if (++n > RESP_NUMBER_LINE_MAX)
			return FRAME_BAD;
		if (ch == '-' && n == 1) {
			neg = 1;
			continue;
		}
		if (ch < '0' || ch > '9')
			return FRAME_BAD;
		if (++digits > 18)      /* far beyond any limit we accept */
			return FRAME_BAD;
		if (leading_zero(neg, digits, acc, ch))
			return FRAME_BAD;
		acc = acc * 10 + (ch - '0');
	}
	ch = kv_cursor_next(c);
	if (ch < 0)
		return FRAME_MORE;
	if (ch != '\n' || digits == 0)
		return FRAME_BAD;
	*v = neg ? -acc : acc;
	return FRAME_OK;
}

static void
frame_add(struct resp_frame *f, unsigned int k, size_t off, size_t len)
{
	if (k == 0) {
		f->name.off = off;
		f->name.len = len;
		return;
	}
	if (k - 1 < KV_MAX_ARGS) {
		f->args[k - 1].off = off;
		f->args[k - 1].len = len;
	}
	f->nargs = k;
}

/* An element's @len bytes and CRLF at the cursor, moving past them when
 * all are there. */
static int
frame_body(const struct kv_stream *s, struct kv_cursor *c, size_t len, char *err,
	   size_t errlen)
{
	if (s->len - c->off < len + 2)
		return FRAME_MORE;
	kv_cursor_skip(c, len);
	if (kv_cursor_next(c) != '\r' || kv_cursor_next(c) != '\n') {
		set_err(err, errlen, "ERR Protocol error: expected '\\r\\n' after bulk string");
		return FRAME_BAD;
	}
	return FRAME_OK;
}

/* A "$len\r\n" line at the cursor, moving past it (as far as it read,
 * whatever the result). */
static inline int
frame_bulk_len(struct kv_cursor *c, size_t max_bulk, long long *len, char *err,
	       size_t errlen)
{
	int r, ch;

	ch = kv_cursor_next(c);
	if (ch < 0)
		return FRAME_MORE;
	if (ch != '$') {
		set_err(err, errlen, "ERR Protocol error: expected '$', got '%c'",
			ch >= 0x21 && ch <= 0x7e ? ch : '?');
		return FRAME_BAD;
	}
	r = read_number_line(c, len);
	if (r == FRAME_MORE)
		return r;
	/* Refused before any of its bytes arrive: a client cannot make us
	 * hold more than max_bulk bytes for one argument. */
	if (r == FRAME_BAD || *len < 0 || (unsigned long long)*len > max_bulk) {
		set_err(err, errlen, "ERR Protocol error: invalid bulk length");
		return FRAME_BAD;
	}
	return FRAME_OK;
}

/* One "$len\r\n<len bytes>\r\n" at the cursor, moving it on (as far as
 * it read, whatever the result): its bytes at *off, *len_out. */
static int
frame_element(const struct kv_stream *s, struct kv_cursor *c, size_t max_bulk,
	      size_t *off, long long *len_out, char *err, size_t errlen)
{
	int r = frame_bulk_len(c, max_bulk, len_out, err, errlen);

	if (r != FRAME_OK)
		return r;
	*off = c->off;
	return frame_body(s, c, (size_t)*len_out, err, errlen);
}

int
kv_resp_read_bulk_len(const struct kv_stream *s, size_t off,
		      const struct kv_limits *lim, size_t *len, size_t *used,
		      char *err, size_t errlen)
{
	static const struct kv_limits defaults = KV_LIMITS_DEFAULT;
	struct kv_cursor c;
	long long n;
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	kv_cursor_init(&c, s, off);
	r = frame_bulk_len(&c, (lim != NULL ? lim : &defaults)->max_bulk, &n, err, errlen);
	if (r == FRAME_MORE)
		return KV_PARSE_MORE;
	if (r != FRAME_OK)
		return KV_PARSE_BAD_STREAM;
	*len = (size_t)n;
	*used = c.off - off;
	return KV_PARSE_OK;
}

/* ---- the plain path: lines read with a pointer -------------------------- */

/* "<digits>\r\n" at *pp, all before @end, its value at most @max: the value
 * in *v and *pp moved past the LF. Returns 0, or -1, *pp unmoved, for
 * anything else (a sign, no digit, a leading zero, more than 18, a line across spans, a
 * value over @max): read_number_line and its callers decide those. What
 * this accepts, read_number_line reads to the same value. */
static inline int
plain_number(const uint8_t **pp, const uint8_t *end, size_t max, size_t *v)
{
	const uint8_t *p = *pp, *lim;
	size_t acc = 0;
	unsigned int d;

	if (end - p < 3)
		return -1;
	/* One digit ("*3", "$3" of GET and SET): no loop. */
	d = (unsigned int)p[0] - '0';
	if (d <= 9 && p[1] == '\r' && p[2] == '\n' && d <= max) {
		*pp = p + 3;
		*v = d;
		return 0;
	}
	/* A leading zero: read_number_line refuses it. */
	if (d == 0)
		return -1;
	/* Where the CR must be at the latest: after 18 digits, and with
	 * the LF before @end. 18 digits cannot overflow acc. */
	lim = end - p > 20 ? p + 18 : end - 2;
	for (; p < lim && (d = (unsigned int)*p - '0') <= 9; p++)
		acc = acc * 10 + d;
	if (p == *pp || p[0] != '\r' || p[1] != '\n' || acc > max)
		return -1;
	*pp = p + 2;
	*v = acc;
	return 0;
}

/* The count and then as many elements as lie plainly in the spans (each
 * "$len" line whole in one span, each element's bytes and CRLF there),
 * read with a pointer instead of the cursor's per-byte span checks: a
 * pipelined request usually lies so. The cursor is at the count's first
 * digit; on return it is just past the last element framed. Returns how
 * many were (*count set), or -1, the cursor unmoved, when the count line is
 * not plain. It refuses nothing and waits for nothing: at the first
 * element it does not accept (an error, a line across spans, bytes still
 * to come) it stops, and the byte-wise path reads that element from its
 * '$' as it always did (reading again at most one line). Only when the
 * element's "$len" line is whole and its bytes are not all there yet does
 * it say so (*body, *body_len: where they start, how many), for the
 * caller to wait as the byte-wise path would. */
static long long
frame_plain(const struct kv_stream *s, struct kv_cursor *c, size_t max_bulk,
	    struct resp_frame *f, long long *count, size_t *body, size_t *body_len)
{
	const uint8_t *p, *base, *end, *el;
	struct kv_cursor back;
	size_t n, len, bytes;
	long long k;

	if (!kv_cursor_settle(c))
		return -1;
	base = p = s->spans[c->i].data + c->pos;
	end = s->spans[c->i].data + s->spans[c->i].len;
	if (plain_number(&p, end, RESP_MULTIBULK_MAX, &n) != 0 || n == 0)
		return -1;
	*count = (long long)n;
	for (k = 0; k < (long long)n; k++) {
		if (p == end) {
			/* The next line starts a span: step there. */
			c->pos += (uint32_t)(p - base);
			c->off += (size_t)(p - base);
			if (!kv_cursor_settle(c))
				return k;
			base = p = s->spans[c->i].data + c->pos;
			end = s->spans[c->i].data + s->spans[c->i].len;
		}
		el = p;
		if (*p != '$')
			break;
		p++;
		if (plain_number(&p, end, max_bulk, &len) != 0) {
			p = el;
			break;
		}
		if ((size_t)(end - p) >= len + 2) {
			if (p[len] != '\r' || p[len + 1] != '\n') {
				p = el;
				break;
			}
			frame_add(f, (unsigned int)k, c->off + (size_t)(p - base), len);
			p += len + 2;
			continue;
		}
		/* The bytes run on into later spans: the cursor walks there
		 * (a span at a time, not a byte). */
		back = *c;
		c->pos += (uint32_t)(p - base);
		c->off += (size_t)(p - base);
		bytes = c->off;
		if (s->len - c->off < len + 2) {
			*body = bytes;
			*body_len = len;
			*c = back;
			p = el;
			break;
		}
		if (kv_cursor_skip(c, len) != 0 ||
		    kv_cursor_next(c) != '\r' || kv_cursor_next(c) != '\n') {
			*c = back;
			p = el;
			break;
		}
		frame_add(f, (unsigned int)k, bytes, len);
		if (!kv_cursor_settle(c))
			return k + 1;   /* the stream ends here */
		base = p = s->spans[c->i].data + c->pos;
		end = s->spans[c->i].data + s->spans[c->i].len;
	}
	c->pos += (uint32_t)(p - base);
	c->off += (size_t)(p - base);
	return k;
}

/* Keep elements [0, k) and where element k starts, for the next call. */
static void
save_frame(struct kv_parse_state *st, const struct resp_frame *f, size_t start,
	   long long count, long long k, size_t at)
{
	if (st == NULL)
		return;
	st->start = start;
	st->count = count;
	st->k = (unsigned int)k;
	st->resume = at;
	if (k > 0)
		st->elem[0] = f->name;
	/* A SET or GET waits at its value (k 2): one assignment, not a call
	 * of memcpy. */
	if (k == 2)
		st->elem[1] = f->args[0];
	else if (k > 2)
		memcpy(st->elem + 1, f->args, (size_t)(k - 1) * sizeof(f->args[0]));
}

/* The first st->k elements save_frame() kept, back into @f. */
static inline void
restore_frame(const struct kv_parse_state *st, struct resp_frame *f)
{
	unsigned int k = st->k;

	if (k > 0)
		f->name = st->elem[0];
	if (k == 2)   /* as save_frame() */
		f->args[0] = st->elem[1];
	else if (k > 2)
		memcpy(f->args, st->elem + 1, (size_t)(k - 1) * sizeof(f->args[0]));
	f->nargs = k > 0 ? k - 1 : 0;
}

/* A multibulk waiting at the bytes of its last element (its "$len" line
 * read: st->body), all of which have arrived: framed whole when a CRLF
 * follows them, without frame_multibulk()'s resumption (a 1 KiB SET
 * straddling two segments waits so three times in four). Returns 0 with
 * @f filled, or -1 for anything else (a CRLF missing included), which
 * frame_multibulk() then reads and refuses as before. */
static inline int
frame_last_body(const struct kv_stream *s, struct kv_parse_state *st,
		struct resp_frame *f)
{
	size_t end = st->body + st->body_len;
	struct kv_cursor c;

	if (st->k + 1 != st->count)
		return -1;
	kv_cursor_init(&c, s, end);
	if (kv_cursor_next(&c) != '\r' || kv_cursor_next(&c) != '\n')
		return -1;
	restore_frame(st, f);
	frame_add(f, st->k, st->body, st->body_len);
	f->end = end + 2;
	st->examined += st->body_len + 2;   /* as frame_multibulk() counts */
	return 0;
}

/* "*N\r\n" then N times "$len\r\n<len bytes>\r\n", from @start, or from
 * where @st says the last call stopped. */
static int
frame_multibulk(const struct kv_stream *s, size_t start, size_t max_bulk,
		struct kv_parse_state *st, struct resp_frame *f, char *err, size_t errlen)
{
	struct kv_cursor c;
	long long count = 0, len, k = 0;
	size_t off, at, body = 0, body_len = 0;
	int r;

	f->nargs = 0;
	if (st != NULL && st->resume != 0) {
		/* The count and the first k elements were read before. */
		count = st->count;
		k = st->k;
		restore_frame(st, f);
		if (st->body == 0)   /* else the loop starts at the bytes */
			kv_cursor_init(&c, s, st->resume);
	} else {
		kv_cursor_init(&c, s, start + 1);
		k = frame_plain(s, &c, max_bulk, f, &count, &body, &body_len);
		if (st != NULL && k >= 0)
			st->examined += c.off - start;
		if (k == count) {
			f->end = c.off;
			return FRAME_OK;
		}
		if (body != 0) {
			/* What the loop below does when element k's bytes
			 * are still to come, without reading its line again. */
			save_frame(st, f, start, count, k, c.off);
			if (st != NULL) {
				st->examined += body - c.off;
				st->body = body;
				st->body_len = body_len;
			}
			return FRAME_MORE;
		}
	}
	if (k < 0) {
		k = 0;
		r = read_number_line(&c, &count);
		if (st != NULL)
			st->examined += c.off - start;
		if (r == FRAME_MORE)
			return r;
		if (r == FRAME_BAD || count > RESP_MULTIBULK_MAX) {
			set_err(err, errlen, "ERR Protocol error: invalid multibulk length");
			return FRAME_BAD;
		}
		if (count <= 0) {
			f->end = c.off;
			return FRAME_EMPTY;
		}
	}
	for (; k < count; k++) {
		if (st != NULL && st->body != 0) {
			/* Element k's "$len" was read: wait for its bytes only. */
			off = st->body;
			len = (long long)st->body_len;
			st->body = 0;
			kv_cursor_init(&c, s, off);
			at = off;
			r = frame_body(s, &c, (size_t)len, err, errlen);
		} else {
			at = c.off;
			off = 0;
			len = 0;
			r = frame_element(s, &c, max_bulk, &off, &len, err, errlen);
		}
		if (st != NULL)
			st->examined += c.off - at;
		if (r == FRAME_MORE) {
			save_frame(st, f, start, count, k, at);
			if (st != NULL && off != 0 && c.off == off) {
				st->body = off;   /* its header is whole */
				st->body_len = (size_t)len;
			}
		}
		if (r != FRAME_OK)
			return r;
		frame_add(f, (unsigned int)k, off, (size_t)len);
	}
	f->end = c.off;
	return FRAME_OK;
}


static int
is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\v' || ch == '\f' || ch == '\r';
}

/* One line, split on blanks; "..." and '...' group blanks (escapes are not
 * supported). Returns FRAME_OK, FRAME_MORE, FRAME_EMPTY, FRAME_BAD (framing)
 * or, with *bad set, a well-framed line we refuse (f->end is set). */
static int
frame_inline(const struct kv_stream *s, size_t start, struct kv_parse_state *st,
	     struct resp_frame *f, int *bad, char *err, size_t errlen)
{
	struct kv_cursor c;
	size_t line_end, tok, k = 0, from = start;
	long nl;
	int ch, quote;

	if (st != NULL && st->scanned > start)
		from = st->scanned;   /* no LF before: searched last time */
	nl = kv_stream_find(s, from, '\n');
	if (st != NULL) {
		st->examined += (nl < 0 ? s->len : (size_t)nl + 1) - from;
		st->scanned = nl < 0 ? s->len : 0;
	}
	if (nl < 0 || (size_t)nl - start > RESP_INLINE_MAX) {
		if (s->len - start > RESP_INLINE_MAX) {
			set_err(err, errlen, "ERR Protocol error: too big inline request");
			return FRAME_BAD;
		}
		return FRAME_MORE;
	}
	f->end = (size_t)nl + 1;
	line_end = (size_t)nl;
	if (line_end > start && kv_stream_byte(s, line_end - 1) == '\r')
		line_end--;
	f->nargs = 0;
	kv_cursor_init(&c, s, start);
	for (;;) {
		while (c.off < line_end && is_blank(kv_cursor_peek(&c)))
			kv_cursor_next(&c);
		if (c.off >= line_end)
			break;
		ch = kv_cursor_next(&c);
		if (ch == '"' || ch == '\'') {
			quote = ch;
			tok = c.off;
			for (;;) {
				if (c.off >= line_end) {
					/* Redis closes: so do we */
					set_err(err, errlen,
						"ERR Protocol error: unbalanced quotes in request");
					return FRAME_BAD;
				}
				ch = kv_cursor_next(&c);
				if (ch == quote)
					break;
				if (ch == '\\') {
					set_err(err, errlen,
						"ERR Protocol error: escapes in inline requests are not supported");
					*bad = 1;
					return FRAME_BAD;
				}
			}
			frame_add(f, (unsigned int)k++, tok, c.off - 1 - tok);
			if (c.off < line_end && !is_blank(kv_cursor_peek(&c))) {
				/* "a"b: Redis calls this unbalanced too */
				set_err(err, errlen,
					"ERR Protocol error: unbalanced quotes in request");
				return FRAME_BAD;
			}
		} else {
			tok = c.off - 1;
			while (c.off < line_end && !is_blank(kv_cursor_peek(&c)))
				kv_cursor_next(&c);
			frame_add(f, (unsigned int)k++, tok, c.off - tok);
		}
	}
	return k == 0 ? FRAME_EMPTY : FRAME_OK;
}

/* ---- commands --------------------------------------------------------- */

/* 0 if @a is at most @max bytes, else -1 with @why in err. */
static int
check_len(const struct kv_arg *a, size_t max, const char *why, char *err, size_t errlen)
{
	if (a->len > max) {
		set_err(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}

/* As many words as the row's arity asks for (with the name), no more than
 * it takes, and keys in whole steps. */
static int
arity_ok(const struct kv_command *cmd, unsigned int nargs)
{
	int words = (int)nargs + 1;

	if (cmd->arity > 0 ? words != cmd->arity : words < -cmd->arity)
		return 0;
	if (cmd->args_max != 0 && nargs > cmd->args_max)
		return 0;
	return cmd->last_key >= 0 || cmd->key_step <= 1 ||
	       (words - cmd->first_key) % cmd->key_step == 0;
}

/* The keys where the row says they are, in request order (values were
 * bounded by max_bulk as they were framed). */
static int
check_keys(const struct kv_command *cmd, const struct resp_frame *f, char *err,
	   size_t errlen)
{
	int last = cmd->last_key < 0 ? (int)f->nargs + 1 + cmd->last_key : cmd->last_key;
	int pos;

	if (cmd->first_key == 0)
		return 0;
	for (pos = cmd->first_key; pos <= last; pos += cmd->key_step) {
		if (check_len(&f->args[pos - 1], KV_KEY_MAX, "ERR key too long", err,
			      errlen) != 0)
			return -1;
	}
	return 0;
}

/* SET key value [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL] [NX | XX]
 * [GET], as Redis 7.0 reads it: one kind of deadline, which may repeat (the
 * last one counts). A relative deadline's sum with the clock is checked as
 * the command runs (exec.c). */
static int
set_options(const struct kv_stream *s, const struct resp_frame *f,
	    struct kv_request *req, char *err, size_t errlen)
{
	char word[8], unit = 0;  /* the deadline given: 'e' EX, 'p' PX,
				  * 'E' EXAT, 'P' PXAT, 'k' KEEPTTL */
	unsigned int i;
	int64_t v = 0;
	const struct kv_arg *num = NULL;

	for (i = 2; i < f->nargs; i++) {
		char u = 0;

		copy_word(s, &f->args[i], word, sizeof(word));
		if (strcmp(word, "ex") == 0)
			u = 'e';
		else if (strcmp(word, "px") == 0)
			u = 'p';
		else if (strcmp(word, "exat") == 0)
			u = 'E';
		else if (strcmp(word, "pxat") == 0)
			u = 'P';
		if (strcmp(word, "nx") == 0 && !(req->set_flags & KV_SET_XX)) {
			req->set_flags |= KV_SET_NX;
		} else if (strcmp(word, "xx") == 0 && !(req->set_flags & KV_SET_NX)) {
			req->set_flags |= KV_SET_XX;
		} else if (strcmp(word, "get") == 0) {
			req->set_flags |= KV_SET_GET;
		} else if (strcmp(word, "keepttl") == 0 && (unit == 0 || unit == 'k')) {
			unit = 'k';
		} else if (u != 0 && (unit == 0 || unit == u) && i + 1 < f->nargs) {
			unit = u;
			num = &f->args[++i];
		} else {
			set_err(err, errlen, "ERR syntax error");
			return -1;
		}
	}
	if (unit == 'k')
		req->set_flags |= KV_SET_KEEPTTL;
	if (unit == 0 || unit == 'k')
		return 0;
	if (arg_to_int64(s, num, &v) != 0) {
		set_err(err, errlen, "ERR value is not an integer or out of range");
		return -1;
	}
	if (v <= 0 || ((unit == 'e' || unit == 'E') && v > INT64_MAX / 1000)) {
		set_err(err, errlen, "ERR invalid expire time in 'set' command");
		return -1;
	}
	req->expire_ms = unit == 'e' || unit == 'E' ? v * 1000 : v;
	if (unit == 'E' || unit == 'P')
		req->set_flags |= KV_SET_EXPIRE_AT;
	return 0;
}

/* COMMAND's subcommands (checked here, answered by kv_cmd_command). */
static int
command_subcommand(const struct kv_stream *s, const struct resp_frame *f,
		   char *err, size_t errlen)
{
	char word[8], shown[64];

	if (f->nargs == 0)
		return 0;
	copy_word(s, &f->args[0], word, sizeof(word));
	if (strcmp(word, "info") == 0 || strcmp(word, "docs") == 0)
		return 0;
	if (strcmp(word, "count") == 0 || strcmp(word, "list") == 0) {
		if (f->nargs == 1)
			return 0;
		set_err(err, errlen, "ERR wrong number of arguments for 'command|%s' command",
			word);
		return -1;
	}
	copy_printable(s, &f->args[0], shown, sizeof(shown), 0);
	set_err(err, errlen, "ERR unknown subcommand '%s'. Try COMMAND HELP.", shown);
	return -1;
}

/* CLIENT's subcommands served (exec_conn.c) and their words with the
 * name, checked here, before authentication, as Redis checks them. */
static int
client_subcommand(const struct kv_stream *s, const struct resp_frame *f,
		  char *err, size_t errlen)
{
	static const struct {
		const char *name;
		int arity;    /* words with "client" and the subcommand; -N: N or more */
	} subs[] = {
		{ "setname", 3 }, { "getname", 2 }, { "id", 2 }, { "info", 2 }, { "list", -2 },
	};
	char word[16], shown[64];
	unsigned int i;
	int words = (int)f->nargs + 1;

	copy_word(s, &f->args[0], word, sizeof(word));
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(word, subs[i].name) != 0)
			continue;
		if (subs[i].arity > 0 ? words == subs[i].arity : words >= -subs[i].arity)
			return 0;
		set_err(err, errlen, "ERR wrong number of arguments for 'client|%s' command",
			word);
		return -1;
	}
	copy_printable(s, &f->args[0], shown, sizeof(shown), 0);
	set_err(err, errlen, "ERR unknown subcommand '%s'. Try CLIENT HELP.", shown);
	return -1;
}

/* Append at most @max bytes of @a to @dst (at *n), as C's "%.*s" would
 * (up to a NUL), CR and LF shown as blanks: they would end the reply line. */
static void
append_shown(const struct kv_stream *s, const struct kv_arg *a, size_t max, char *dst,
	     size_t *n)
{
	struct kv_cursor c;
	size_t i;
	int ch;

	kv_cursor_init(&c, s, a->off);
	for (i = 0; i < a->len && i < max; i++) {
		ch = kv_cursor_next(&c);
		if (ch <= 0)
			break;
		dst[(*n)++] = ch == '\r' || ch == '\n' ? ' ' : (char)ch;
	}
}

/* Redis 7's words for an unknown command: its name and its first
 * arguments, 128 bytes of each at most and of the arguments in all. */
static void
unknown_command(const struct kv_stream *s, const struct resp_frame *f, char *err,
		size_t errlen)
{
	char name[129], args[128 + 3 * KV_MAX_ARGS + 1];
	size_t n = 0, k = 0;
	unsigned int i;

	append_shown(s, &f->name, 128, name, &k);
	name[k] = '\0';
	for (i = 0; i < f->nargs && i < KV_MAX_ARGS && n < 128; i++) {
		args[n++] = '\'';
		append_shown(s, &f->args[i], 128 - (n - 1), args, &n);
		args[n++] = '\'';
		args[n++] = ' ';
	}
	args[n] = '\0';
	set_err(err, errlen, "ERR unknown command '%s', with args beginning with: %s", name,
		args);
}

/* Give a framed request its meaning. Returns KV_PARSE_OK or
 * KV_PARSE_BAD_REQUEST. Kept out of line: resp_command()'s front answers
 * most requests without this frame's buffers. */
static __attribute__((noinline)) int
resp_command_rows(const struct kv_stream *s, const struct resp_frame *f,
		  struct kv_request *req, char *err, size_t errlen)
{
	const struct kv_command *cmd = NULL;
	const uint8_t *in_place = kv_stream_in_first_span(s, f->name.off, f->name.len);
	char name[RESP_NAME_MAX], shown[64], word[16];
	unsigned int nargs = f->nargs;

	if (in_place != NULL) {   /* most often */
		cmd = kv_command_find_nocase((const char *)in_place, f->name.len);
	} else if (f->name.len < sizeof(name)) {
		copy_word(s, &f->name, name, sizeof(name));
		cmd = kv_command_find(name, f->name.len);
	}
	/* What Redis says before it checks authentication, and so what a
	 * client that did not authenticate hears too. */
	req->early_error = 1;
	if (cmd == NULL) {
		unknown_command(s, f, err, errlen);
		return KV_PARSE_BAD_REQUEST;
	}
	/* Known from here, errors or not (req->bad_op). */
	req->op = (enum kv_op)(cmd - kv_commands);
	if (nargs > KV_MAX_ARGS) {
		set_err(err, errlen, "ERR too many arguments for '%s' command (at most %d)",
			cmd->name, KV_MAX_ARGS);
		return KV_PARSE_BAD_REQUEST;
	}
	if (!arity_ok(cmd, nargs)) {
		/* Redis checks the arity first; PING's and FLUSHALL's most,
		 * and MSET's pairs, only as the command runs. */
		req->early_error = cmd->arity > 0 ? (int)nargs + 1 != cmd->arity
						  : (int)nargs + 1 < -cmd->arity;
		set_err(err, errlen, "ERR wrong number of arguments for '%s' command",
			cmd->name);
		return KV_PARSE_BAD_REQUEST;
	}
	req->argc = nargs;    /* argv: framed there (f->args) */
	req->early_error = 0;
	if (check_keys(cmd, f, err, errlen) != 0)
		return KV_PARSE_BAD_REQUEST;
	/* What the parser understands of some commands' other arguments. */
	switch (req->op) {
	case KV_OP_SET:
		if (set_options(s, f, req, err, errlen) != 0)
			return KV_PARSE_BAD_REQUEST;
		req->argc = 2;
		break;
	case KV_OP_FLUSHALL:
	case KV_OP_FLUSHDB:
		/* [ASYNC | SYNC]: more words are a syntax error too. */
		if (nargs >= 1) {
			copy_word(s, &f->args[0], word, sizeof(word));
			if (nargs > 1 || (strcmp(word, "async") != 0 && strcmp(word, "sync") != 0)) {
				set_err(err, errlen, "ERR syntax error");
				return KV_PARSE_BAD_REQUEST;
			}
		}
		break;
	case KV_OP_CONFIG_GET:
		/* CONFIG GET param [param ...]: argv holds the parameters. */
		copy_word(s, &f->args[0], word, sizeof(word));
		req->early_error = 1;   /* subcommand errors, as above */
		if (strcmp(word, "get") != 0) {
			copy_printable(s, &f->args[0], shown, sizeof(shown), 0);
			set_err(err, errlen, "ERR unknown subcommand '%s'. Try CONFIG HELP.",
				shown);
			return KV_PARSE_BAD_REQUEST;
		}
		if (nargs < 2) {
			set_err(err, errlen,
				"ERR wrong number of arguments for 'config|get' command");
			return KV_PARSE_BAD_REQUEST;
		}
		req->early_error = 0;
		req->argc = nargs - 1;
		memmove(req->argv, req->argv + 1, req->argc * sizeof(req->argv[0]));
		break;
	case KV_OP_CLIENT:
		if (client_subcommand(s, f, err, errlen) != 0) {
			req->early_error = 1;
			return KV_PARSE_BAD_REQUEST;
		}
		break;
	case KV_OP_COMMAND:
		if (command_subcommand(s, f, err, errlen) != 0) {
			req->early_error = 1;
			return KV_PARSE_BAD_REQUEST;
		}
		break;
	default:
		break;
	}
	return KV_PARSE_OK;
}

/* resp_command_rows(), with GET key and SET key value (no option) in
 * front: what it decides for them (their arity, the key's length; argv as
 * framed) in a few tests, without its general checks. Anything else, a
 * key too long included, goes to it and is answered there. */
static inline int
resp_command(const struct kv_stream *s, const struct resp_frame *f,
	     struct kv_request *req, char *err, size_t errlen)
{
	const uint8_t *in_place;
	enum kv_op op;

	if (f->name.len == 3 && (f->nargs == 1 || f->nargs == 2) &&
	    f->args[0].len <= KV_KEY_MAX &&
	    (in_place = kv_stream_in_first_span(s, f->name.off, 3)) != NULL) {
		op = f->nargs == 1 ? KV_OP_GET : KV_OP_SET;
		if (kv_command_find_nocase((const char *)in_place, 3) == &kv_commands[op]) {
			req->op = op;
			req->argc = f->nargs;
			return KV_PARSE_OK;
		}
	}
	return resp_command_rows(s, f, req, err, errlen);
}

/* Frame the request at the start of the stream (after empty ones). */
static int
resp_frame(const struct kv_stream *s, const struct kv_limits *lim,
	   struct kv_parse_state *st, struct resp_frame *f, int *bad, char *err,
	   size_t errlen)
{
	/* Empty requests before st->start were skipped by an earlier call. */
	size_t start = st != NULL ? st->start : 0;
	const uint8_t *first;
	int r;

	for (;;) {
		if (start >= s->len) {
			r = FRAME_MORE;
			break;
		}
		*bad = 0;
		/* A request's first byte is most often in the first span. */
		first = kv_stream_in_first_span(s, start, 1);
		if ((first != NULL ? *first : kv_stream_byte(s, start)) == '*')
			r = frame_multibulk(s, start, lim->max_bulk, st, f, err, errlen);
		else
			r = frame_inline(s, start, st, f, bad, err, errlen);
		if (r != FRAME_EMPTY)
			break;
		start = f->end;  /* no reply, as in Redis */
		if (st != NULL)
			st->scanned = 0;
	}
	if (st != NULL && r == FRAME_MORE)
		st->start = start;
	return r;
}

/* Element k of the multibulk @st is reading has its "$len" read and not
 * all its bytes: if it is a value to store (a key_values command's, after
 * a key), say so in req->pending_*. */
static void
pending_value(const struct kv_stream *s, struct kv_parse_state *st,
	      struct kv_request *req)
{
	const struct kv_command *cmd;
	char name[RESP_NAME_MAX];
	int key = (int)st->k - 1;   /* the element before, as a key position */

	if (st->k < 2)
		return;
	if (!st->cmd_known) {   /* once a request: the name is read again
	                         * from its spans otherwise */
		st->cmd = NULL;
		if (st->elem[0].len < sizeof(name)) {
			copy_word(s, &st->elem[0], name, sizeof(name));
			st->cmd = kv_command_find(name, st->elem[0].len);
		}
		st->cmd_known = 1;
	}
	cmd = st->cmd;
	if (cmd == NULL || !cmd->key_values || cmd->first_key == 0 || key < cmd->first_key ||
	    (key - cmd->first_key) % cmd->key_step != 0 ||
	    (cmd->last_key >= 0 && key > cmd->last_key))
		return;
	req->pending_len = st->body_len;
	req->pending_end = st->body + st->body_len + 2;
	req->pending_elem = st->k;
	req->pending_after = (unsigned int)(st->count - st->k - 1);
}

/* kv_parse_state_reset of the RESP fields: a connection speaks one
 * protocol, and clearing the HTTP state's 112 bytes was a memset per
 * request. */
static void
resp_state_reset(struct kv_parse_state *st)
{
	st->start = st->resume = st->scanned = st->body = 0;
	st->k = 0;
	st->count = 0;
	st->cmd_known = 0;
}

void
kv_parse_state_reset(struct kv_parse_state *st)
{
	resp_state_reset(st);
	memset(&st->http, 0, sizeof(st->http));
}

int
kv_resp_parse(const struct kv_stream *s, const struct kv_limits *lim,
	      struct kv_request *req, char *err, size_t errlen)
{
	return kv_resp_parse_resume(s, lim, NULL, req, err, errlen);
}

int
kv_resp_parse_resume(const struct kv_stream *s, const struct kv_limits *lim,
		     struct kv_parse_state *st, struct kv_request *req, char *err,
		     size_t errlen)
{
	static const struct kv_limits defaults = KV_LIMITS_DEFAULT;
	struct resp_frame f;
	int r, bad = 0;

	kv_request_clear(req);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (lim == NULL)
		lim = &defaults;
	if (st != NULL && st->body != 0 && s->len - st->body < st->body_len + 2) {
		/* A value still arriving (an 8 KiB one takes six segments):
		 * nothing to frame until its last byte and CRLF are here. */
		r = FRAME_MORE;
	} else {
		f.args = req->argv;
		if (st != NULL && st->body != 0 && frame_last_body(s, st, &f) == 0)
			r = FRAME_OK;
		else
			r = resp_frame(s, lim, st, &f, &bad, err, errlen);
	}
	if (r == FRAME_MORE) {
		if (st != NULL && st->body != 0 && st->body_len >= KV_RESERVE_MIN)
			pending_value(s, st, req);
		return KV_PARSE_MORE;
	}
	if (st != NULL)     /* the request is framed: start afresh next time */
		resp_state_reset(st);
	if (r == FRAME_BAD) {
		if (!bad)
			return KV_PARSE_BAD_STREAM;
		req->consumed = f.end;
		return KV_PARSE_BAD_REQUEST;
	}
	req->consumed = f.end;
	r = resp_command(s, &f, req, err, errlen);
	if (r != KV_PARSE_OK) {
		req->bad_op = req->op;
		req->op = KV_OP_NONE;
		req->argc = 0;
		req->set_flags = 0;
		req->expire_ms = 0;
	}
	return r;
}
