/* SPDX-License-Identifier: BSD-3-Clause */
/* HTTP/1.1 request heads (http.h). */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "http.h"

#define BAD "400 Bad Request"

size_t
obj_http_head_len(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static int
is_tchar(int c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c > 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The line at @p (up to @end): its length without CR LF, *next after it. */
static size_t
line_at(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n;

	if (nl == NULL) {
		*next = end;
		return (size_t)(end - p);
	}
	*next = nl + 1;
	n = (size_t)(nl - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return n;
}

static int
value_is(const struct obj_header *h, const char *word)
{
	return h->value_len == strlen(word) && strncasecmp(h->value, word, h->value_len) == 0;
}

int
obj_http_parse(const char *head, size_t len, struct obj_http_req *req, const char **status)
{
	const char *end = head + len, *p = head, *next, *sp1, *sp2;
	size_t n, i;
	int conn_close = 0, conn_keep = 0;

	memset(req, 0, offsetof(struct obj_http_req, headers));
	req->n_headers = 0;
	req->has_length = 0;
	req->length = 0;
	req->expect_continue = 0;
	*status = BAD;
	n = line_at(p, end, &next);
	sp1 = memchr(p, ' ', n);
	if (sp1 == NULL || sp1 == p || (size_t)(sp1 - p) > OBJ_HTTP_METHOD_MAX)
		return -1;
	for (i = 0; p + i < sp1; i++)
		if (!is_tchar((unsigned char)p[i]))
			return -1;
	memcpy(req->method, p, (size_t)(sp1 - p));
	req->method[sp1 - p] = '\0';
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return -1;
	req->target = sp1 + 1;
	req->target_len = (size_t)(sp2 - sp1 - 1);
	for (i = 0; i < req->target_len; i++)
		if ((unsigned char)req->target[i] <= 0x20 || (unsigned char)req->target[i] == 0x7f)
			return -1;
	if ((size_t)(p + n - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return -1;
	if (sp2[8] != '0' && sp2[8] != '1') {
		*status = "505 HTTP Version Not Supported";
		return -1;
	}
	req->minor = sp2[8] - '0';
	p = next;
	for (;;) {
		struct obj_header *h;
		const char *colon;

		n = line_at(p, end, &next);
		if (n == 0)
			break;
		if (p[0] == ' ' || p[0] == '\t')
			return -1;      /* obsolete folding */
		colon = memchr(p, ':', n);
		if (colon == NULL || colon == p)
			return -1;
		for (i = 0; p + i < colon; i++)
			if (!is_tchar((unsigned char)p[i]))
				return -1;
		if (req->n_headers == OBJ_HTTP_HEADERS_MAX) {
			*status = "431 Request Header Fields Too Large";
			return -1;
		}
		h = &req->headers[req->n_headers++];
		h->name = p;
		h->name_len = (size_t)(colon - p);
		h->value = colon + 1;
		h->value_len = n - h->name_len - 1;
		while (h->value_len > 0 && (h->value[0] == ' ' || h->value[0] == '\t')) {
			h->value++;
			h->value_len--;
		}
		while (h->value_len > 0 && (h->value[h->value_len - 1] == ' ' ||
					    h->value[h->value_len - 1] == '\t'))
			h->value_len--;
		if (h->name_len == 14 && strncasecmp(h->name, "content-length", 14) == 0) {
			uint64_t v = 0;

			if (h->value_len == 0 || h->value_len > 15)
				return -1;
			for (i = 0; i < h->value_len; i++) {
				if (h->value[i] < '0' || h->value[i] > '9')
					return -1;
				v = v * 10 + (uint64_t)(h->value[i] - '0');
			}
			if (req->has_length && req->length != v)
				return -1;
			req->has_length = 1;
			req->length = v;
		} else if (h->name_len == 17 && strncasecmp(h->name, "transfer-encoding", 17) == 0) {
			*status = "501 Not Implemented";
			return -1;
		} else if (h->name_len == 10 && strncasecmp(h->name, "connection", 10) == 0) {
			conn_close |= value_is(h, "close");
			conn_keep |= value_is(h, "keep-alive");
		} else if (h->name_len == 6 && strncasecmp(h->name, "expect", 6) == 0) {
			req->expect_continue = value_is(h, "100-continue");
		}
		p = next;
	}
	req->keep_alive = req->minor == 1 ? !conn_close : conn_keep && !conn_close;
	*status = NULL;
	return 0;
}
