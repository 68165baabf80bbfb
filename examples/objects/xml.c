/* SPDX-License-Identifier: BSD-3-Clause */
/* The XML writer (xml.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml.h"

static void
put(struct obj_xml *x, const char *s, size_t n)
{
	if (x->oom)
		return;
	if (x->len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 1024;
		char *b;

		while (cap < x->len + n + 1)
			cap *= 2;
		b = realloc(x->buf, cap);
		if (b == NULL) {
			x->oom = 1;
			return;
		}
		x->buf = b;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, s, n);
	x->len += n;
	x->buf[x->len] = '\0';
}

static void
puts_(struct obj_xml *x, const char *s)
{
	put(x, s, strlen(s));
}

void
obj_xml_init(struct obj_xml *x)
{
	memset(x, 0, sizeof(*x));
	puts_(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

void
obj_xml_open(struct obj_xml *x, const char *name, const char *xmlns)
{
	if (x->depth == OBJ_XML_DEPTH) {
		x->depth++;             /* finish says -EINVAL */
		return;
	}
	if (x->depth > OBJ_XML_DEPTH)
		return;
	x->open[x->depth++] = name;
	put(x, "<", 1);
	puts_(x, name);
	if (xmlns != NULL) {
		puts_(x, " xmlns=\"");
		puts_(x, xmlns);
		put(x, "\"", 1);
	}
	put(x, ">", 1);
}

void
obj_xml_close(struct obj_xml *x)
{
	if (x->depth == 0 || x->depth > OBJ_XML_DEPTH)
		return;
	x->depth--;
	put(x, "</", 2);
	puts_(x, x->open[x->depth]);
	put(x, ">", 1);
}

static void
escaped(struct obj_xml *x, const char *s, size_t n)
{
	size_t i, from = 0;

	for (i = 0; i < n; i++) {
		const char *rep = NULL;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		case '\r': rep = "&#13;"; break;
		default: continue;
		}
		put(x, s + from, i - from);
		puts_(x, rep);
		from = i + 1;
	}
	put(x, s + from, n - from);
}

void
obj_xml_text(struct obj_xml *x, const char *name, const char *text, size_t len)
{
	put(x, "<", 1);
	puts_(x, name);
	put(x, ">", 1);
	escaped(x, text, len);
	put(x, "</", 2);
	puts_(x, name);
	put(x, ">", 1);
}

void
obj_xml_str(struct obj_xml *x, const char *name, const char *text)
{
	obj_xml_text(x, name, text, strlen(text));
}

void
obj_xml_u64(struct obj_xml *x, const char *name, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	obj_xml_str(x, name, b);
}

void
obj_xml_bool(struct obj_xml *x, const char *name, int v)
{
	obj_xml_str(x, name, v ? "true" : "false");
}

void
obj_xml_time(struct obj_xml *x, const char *name, time_t t)
{
	struct tm tm;
	char b[32];

	gmtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	obj_xml_str(x, name, b);
}

void
obj_xml_urlenc(struct obj_xml *x, const char *name, const char *text, size_t len, int encode)
{
	static const char hex[] = "0123456789ABCDEF";
	char *b;
	size_t i, o = 0;

	if (!encode) {
		obj_xml_text(x, name, text, len);
		return;
	}
	b = malloc(len * 3 + 1);
	if (b == NULL) {
		x->oom = 1;
		return;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
			b[o++] = (char)c;
		} else if (c == ' ') {
			b[o++] = '+';
		} else {
			b[o++] = '%';
			b[o++] = hex[c >> 4];
			b[o++] = hex[c & 15];
		}
	}
	obj_xml_text(x, name, b, o);
	free(b);
}

int
obj_xml_finish(struct obj_xml *x, const char **out, size_t *len)
{
	if (x->oom)
		return -ENOMEM;
	if (x->depth != 0)
		return -EINVAL;
	*out = x->buf;
	*len = x->len;
	return 0;
}

void
obj_xml_fini(struct obj_xml *x)
{
	free(x->buf);
	memset(x, 0, sizeof(*x));
}
