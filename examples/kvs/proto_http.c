/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: HTTP/1.1 requests (keep-alive, pipelining), parsed where they
 * lie in the receive stream, enough for wrk and curl:
 *
 *   GET /key, HEAD /key     -> GET's row (http_head set for HEAD)
 *   PUT /key, POST /key     -> SET's, the body (Content-Length) is the value
 *   DELETE /key             -> DEL's
 *
 * (the rows of the command table, command.h: execution runs their handlers
 * for both protocols).
 *
 * The key is the path after the leading '/', up to a '?' (the query is
 * ignored), not percent-decoded; bytes outside 0x21..0x7e are refused.
 * Bodies need a Content-Length: Transfer-Encoding cannot be framed here, so
 * it ends the connection (411). Like the RESP parser this is stateless and
 * answers KV_PARSE_MORE until the whole request, body included, is there.
 *
 * Errors carry the status line text in err ("400 Bad Request"): a request
 * whose framing is known (headers complete, body length known) is consumed
 * whole and answered (KV_PARSE_BAD_REQUEST); anything that leaves the end of
 * the request unknown answers and closes (KV_PARSE_BAD_STREAM). A request
 * refused while its client still waits for "100 Continue" is also
 * BAD_STREAM: the body will not come until it is asked for.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kv_limits.h"
#include "proto.h"
#include "stream_cursor.h"

#define HTTP_HEADER_MAX 8192      /* request line + headers + empty line */
#define HTTP_METHOD_MAX 16


/* The methods, each mapped onto a command. */
struct http_method {
	const char *name;
	enum kv_op op;
	int body;                 /* the body is the value: Content-Length needed */
	int head;                 /* the command's reply without its body */
};

static const struct http_method methods[] = {
	{ "GET", KV_OP_GET, 0, 0 },
	{ "HEAD", KV_OP_GET, 0, 1 },
	{ "PUT", KV_OP_SET, 1, 0 },
	{ "POST", KV_OP_SET, 1, 0 },
	{ "DELETE", KV_OP_DEL, 0, 0 },
};

/* A line of the header block: [off, off+len) without its "\r\n" or "\n". */
struct http_line {
	size_t off, len;
	size_t next;              /* first byte of the following line */
};

enum { LINE_OK, LINE_MORE, LINE_TOO_BIG };

static void
set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

/* The line at @off, which must end before @limit; it has no LF before
 * @from (>= off), searched already. *@examined counts the bytes searched. */
static int
next_line(const struct kv_stream *s, size_t off, size_t from, size_t limit,
	  struct http_line *l, uint64_t *examined)
{
	long nl = kv_stream_find(s, from, '\n');

	*examined += (nl < 0 ? s->len : (size_t)nl + 1) - from;
	if (nl < 0)
		return s->len >= limit ? LINE_TOO_BIG : LINE_MORE;
	if ((size_t)nl >= limit)
		return LINE_TOO_BIG;
	l->off = off;
	l->next = (size_t)nl + 1;
	l->len = (size_t)nl - off;
	if (l->len > 0 && kv_stream_byte(s, (size_t)nl - 1) == '\r')
		l->len--;
	return LINE_OK;
}

/* RFC 9110 tchar. */
static int
is_tchar(int c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c > 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Does [off, off+len) equal @word, ignoring case? */
static int
range_is(const struct kv_stream *s, size_t off, size_t len, const char *word)
{
	struct kv_cursor c;
	size_t i;

	if (len != strlen(word))
		return 0;
	kv_cursor_init(&c, s, off);
	for (i = 0; i < len; i++)
		if (lower(kv_cursor_next(&c)) != word[i])
			return 0;
	return 1;
}

/* What the request line says. */
struct http_reqline {
	const struct http_method *method; /* NULL: not one we serve */
	size_t target_off, target_len;
	int minor;                /* HTTP/1.minor */
};

/* "METHOD SP target SP HTTP/1.x". Returns 0, or -1 with err set. */
static int
parse_request_line(const struct kv_stream *s, const struct http_line *l,
		   struct http_reqline *rl, char *err, size_t errlen)
{
	char method[HTTP_METHOD_MAX + 1], version[9];
	struct kv_cursor c;
	size_t end = l->off + l->len, n = 0, i;
	int ch;

	kv_cursor_init(&c, s, l->off);
	while (c.off < end && is_tchar(ch = kv_cursor_peek(&c))) {
		kv_cursor_next(&c);
		if (n < HTTP_METHOD_MAX)
			method[n] = (char)ch;
		n++;
	}
	if (n == 0 || c.off >= end || kv_cursor_next(&c) != ' ')
		goto bad;
	rl->method = NULL;
	if (n <= HTTP_METHOD_MAX) {
		method[n] = '\0';
		for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
			if (strcmp(method, methods[i].name) == 0)
				rl->method = &methods[i];
	}
	rl->target_off = c.off;
	while (c.off < end && kv_cursor_peek(&c) != ' ')
		kv_cursor_next(&c);
	rl->target_len = c.off - rl->target_off;
	if (rl->target_len == 0 || c.off >= end)
		goto bad;
	kv_cursor_next(&c); /* the SP */
	if (end - c.off != 8)
		goto bad;
	kv_stream_copy(s, c.off, version, 8);
	version[8] = '\0';
	if (memcmp(version, "HTTP/", 5) != 0 || version[6] != '.' ||
	    version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
		goto bad;
	if (version[5] != '1') {
		set_err(err, errlen, KV_HTTP_505);
		return -1;
	}
	rl->minor = version[7] - '0';
	return 0;
bad:
	set_err(err, errlen, KV_HTTP_400);
	return -1;
}

/* Content-Length: 1*DIGIT (repeats must agree). Returns 0 or -1. */
static int
header_length(const struct kv_stream *s, size_t off, size_t len, struct kv_http_headers *h)
{
	struct kv_cursor c;
	size_t v = 0, i;
	int ch;

	if (len == 0)
		return -1;
	kv_cursor_init(&c, s, off);
	for (i = 0; i < len; i++) {
		ch = kv_cursor_next(&c);
		if (ch < '0' || ch > '9')
			return -1;
		v = v * 10 + (size_t)(ch - '0');
		if (v > KV_VALUE_MAX)
			v = KV_VALUE_MAX + 1;
	}
	if (h->have_length && h->length != v)
		return -1;
	h->have_length = 1;
	h->length = v;
	return 0;
}

/* Connection: a comma-separated list of options. */
static void
header_connection(const struct kv_stream *s, size_t off, size_t len,
		  struct kv_http_headers *h)
{
	struct kv_cursor c;
	char tok[16];
	size_t n = 0, i;
	int ch, too_long = 0;

	kv_cursor_init(&c, s, off);
	for (i = 0; i <= len; i++) {
		ch = i < len ? kv_cursor_next(&c) : ',';
		if (ch == ' ' || ch == '\t')
			continue;       /* no option has blanks inside */
		if (ch != ',') {
			if (n < sizeof(tok) - 1)
				tok[n++] = (char)lower(ch);
			else
				too_long = 1;
			continue;
		}
		tok[n] = '\0';
		if (!too_long && strcmp(tok, "close") == 0)
			h->conn_close = 1;
		else if (!too_long && strcmp(tok, "keep-alive") == 0)
			h->conn_keepalive = 1;
		n = 0;
		too_long = 0;
	}
}

/* One "name: value" line. Returns 0, or -1 with err set (the request
 * cannot be framed). */
static int
parse_header(const struct kv_stream *s, const struct http_line *l,
	     struct kv_http_headers *h, char *err, size_t errlen)
{
	struct kv_cursor c;
	size_t end = l->off + l->len, name_len, voff, vend;
	int ch;

	kv_cursor_init(&c, s, l->off);
	while (c.off < end && is_tchar(kv_cursor_peek(&c)))
		kv_cursor_next(&c);
	name_len = c.off - l->off;
	/* no name (this covers obs-fold), blanks before ':', no ':' at all */
	if (name_len == 0 || c.off >= end || kv_cursor_next(&c) != ':')
		goto bad;
	while (c.off < end && ((ch = kv_cursor_peek(&c)) == ' ' || ch == '\t'))
		kv_cursor_next(&c);
	voff = vend = c.off;
	while (c.off < end) {
		ch = kv_cursor_next(&c);
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			goto bad;
		if (ch != ' ' && ch != '\t')
			vend = c.off;
	}
	if (range_is(s, l->off, name_len, "content-length")) {
		if (header_length(s, voff, vend - voff, h) != 0)
			goto bad;
	} else if (range_is(s, l->off, name_len, "transfer-encoding")) {
		set_err(err, errlen, KV_HTTP_411);
		return -1;
	} else if (range_is(s, l->off, name_len, "connection")) {
		header_connection(s, voff, vend - voff, h);
	} else if (range_is(s, l->off, name_len, "authorization")) {
		h->auth.off = voff;
		h->auth.len = vend - voff;
	} else if (range_is(s, l->off, name_len, "expect")) {
		if (range_is(s, voff, vend - voff, "100-continue"))
			h->expect_continue = 1;
	}
	return 0;
bad:
	set_err(err, errlen, KV_HTTP_400);
	return -1;
}

/* What is wrong with the request as a key-value operation, or NULL. */
static const char *
check_request(const struct kv_stream *s, const struct http_reqline *rl,
	      const struct kv_http_headers *h, struct kv_arg *key)
{
	struct kv_cursor c;
	size_t i;
	int ch;

	if (rl->method == NULL)
		return KV_HTTP_405;
	if (rl->method->body && !h->have_length)
		return KV_HTTP_411;
	if (kv_stream_byte(s, rl->target_off) != '/')
		return KV_HTTP_400;
	key->off = rl->target_off + 1;
	key->len = 0;
	kv_cursor_init(&c, s, key->off);
	for (i = 1; i < rl->target_len; i++) {
		ch = kv_cursor_next(&c);
		if (ch < 0x21 || ch > 0x7e)
			return KV_HTTP_400;
		if (ch == '?')
			break;
		key->len++;
	}
	for (i++; i < rl->target_len; i++) {  /* the query: checked, ignored */
		ch = kv_cursor_next(&c);
		if (ch < 0x21 || ch > 0x7e)
			return KV_HTTP_400;
	}
	if (key->len == 0)
		return KV_HTTP_400;
	if (key->len > KV_KEY_MAX)
		return KV_HTTP_414;
	return NULL;
}

/* Read the request line and the headers, each line once, from where @hs
 * stopped. Returns KV_PARSE_OK when they are whole (hs->body set),
 * KV_PARSE_MORE, or KV_PARSE_BAD_STREAM with err set. */
static int
read_head(const struct kv_stream *s, struct kv_http_state *hs, uint64_t *examined,
	  char *err, size_t errlen)
{
	struct http_reqline rl;
	struct http_line l;
	int r;

	for (;;) {
		r = next_line(s, hs->line, hs->scanned > hs->line ? hs->scanned : hs->line,
			      HTTP_HEADER_MAX, &l, examined);
		if (r == LINE_MORE) {
			hs->scanned = s->len;
			return KV_PARSE_MORE;
		}
		if (r == LINE_TOO_BIG) {
			set_err(err, errlen, KV_HTTP_431);
			return KV_PARSE_BAD_STREAM;
		}
		*examined += l.next - l.off;
		hs->line = l.next;
		if (!hs->reqline) {
			/* Empty lines before it are skipped (RFC 9112 2.2). */
			if (l.len == 0)
				continue;
			if (parse_request_line(s, &l, &rl, err, errlen) != 0)
				return KV_PARSE_BAD_STREAM;
			hs->reqline = 1;
			hs->method = rl.method != NULL ? (int)(rl.method - methods) : -1;
			hs->target_off = rl.target_off;
			hs->target_len = rl.target_len;
			hs->minor = rl.minor;
			continue;
		}
		if (l.len == 0) {
			hs->body = l.next;
			return KV_PARSE_OK;
		}
		if (parse_header(s, &l, &hs->h, err, errlen) != 0)
			return KV_PARSE_BAD_STREAM;
	}
}

int
kv_http_parse(const struct kv_stream *s, const struct kv_limits *lim,
	      struct kv_request *req, char *err, size_t errlen)
{
	return kv_http_parse_resume(s, lim, NULL, req, err, errlen);
}

int
kv_http_parse_resume(const struct kv_stream *s, const struct kv_limits *lim,
		     struct kv_parse_state *st, struct kv_request *req, char *err,
		     size_t errlen)
{
	static const struct kv_limits defaults = KV_LIMITS_DEFAULT;
	struct kv_http_state local, *hs = &local;
	const struct http_method *method;
	struct http_reqline rl;
	uint64_t examined = 0;
	size_t total;
	int r;

	kv_request_clear(req);
	req->http = 1;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (st != NULL)
		hs = &st->http;
	else
		memset(&local, 0, sizeof(local));
	if (hs->body == 0) {
		r = read_head(s, hs, &examined, err, errlen);
		if (st != NULL)
			st->examined += examined;
		if (r == KV_PARSE_MORE)
			return r;
		if (r != KV_PARSE_OK)
			goto done;
		method = hs->method >= 0 ? &methods[hs->method] : NULL;
		rl.method = method;
		rl.target_off = hs->target_off;
		rl.target_len = hs->target_len;
		hs->bad = check_request(s, &rl, &hs->h, &hs->key);
		if (hs->minor == 0)
			hs->h.expect_continue = 0; /* RFC 9110 10.1.1: ignored from HTTP/1.0 */
	}
	method = hs->method >= 0 ? &methods[hs->method] : NULL;
	req->http_auth = hs->h.auth;
	req->http_keepalive = hs->minor >= 1;
	if (hs->h.conn_close)
		req->http_keepalive = 0;
	else if (hs->h.conn_keepalive)
		req->http_keepalive = 1;

	if (lim == NULL)
		lim = &defaults;
	if (hs->h.have_length && hs->h.length > lim->max_bulk) {
		/* Not worth waiting for: refuse it and close. */
		set_err(err, errlen, KV_HTTP_413);
		r = KV_PARSE_BAD_STREAM;
		goto done;
	}
	total = hs->body + (hs->h.have_length ? hs->h.length : 0);
	if (s->len < total) {
		if (hs->bad != NULL && hs->h.expect_continue) {
			set_err(err, errlen, hs->bad);
			r = KV_PARSE_BAD_STREAM;
			goto done;
		}
		req->http_expect_continue = hs->bad == NULL && hs->h.expect_continue;
		if (hs->bad == NULL && method->body && hs->h.length >= KV_RESERVE_MIN) {
			/* a value on its way, worth reserving for */
			req->pending_len = hs->h.length;
			req->pending_end = total;
			req->pending_elem = 1;
			req->pending_after = 0;
		}
		return KV_PARSE_MORE;
	}
	req->consumed = total;
	if (hs->bad != NULL) {
		set_err(err, errlen, hs->bad);
		r = KV_PARSE_BAD_REQUEST;
		goto done;
	}
	req->op = method->op;
	req->http_head = method->head;
	req->argc = 1;
	req->argv[0] = hs->key;
	if (method->body) {
		req->argc = 2;
		req->argv[1].off = hs->body;
		req->argv[1].len = hs->h.length;
	}
	r = KV_PARSE_OK;
done:
	if (st != NULL)
		memset(hs, 0, sizeof(*hs));   /* the next request starts afresh */
	return r;
}
