/* SPDX-License-Identifier: BSD-3-Clause */
/* The strict reader of S3's request bodies (xml_read.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xml_read.h"

#define DEPTH_MAX 8

struct node {
	const char *name;               /* in the body, not NUL-terminated */
	size_t name_len;
	char *text;                     /* decoded, in doc->text */
	size_t text_len;
	int first, next, last;          /* children, -1: none */
	int has_child;
};

struct obj_xml_doc {
	struct node *nodes;
	unsigned int n, cap;
	char *text;                     /* every decoded text */
	size_t text_used;
	struct obj_complete_part *parts;
	struct obj_str *keys;
};

struct reader {
	const char *s;
	size_t len, pos;
	struct obj_xml_doc *doc;
};

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_name_char(int c, int first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80)
		return 1;
	return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

static void
skip_space(struct reader *r)
{
	while (r->pos < r->len && is_space((unsigned char)r->s[r->pos]))
		r->pos++;
}

static int
starts(const struct reader *r, const char *lit)
{
	size_t n = strlen(lit);

	return r->len - r->pos >= n && memcmp(r->s + r->pos, lit, n) == 0;
}

/* Skip past @end. @return 0, or -1 when it never comes. */
static int
skip_past(struct reader *r, const char *end)
{
	size_t n = strlen(end);

	while (r->pos + n <= r->len) {
		if (memcmp(r->s + r->pos, end, n) == 0) {
			r->pos += n;
			return 0;
		}
		r->pos++;
	}
	return -1;
}

/* Comments and processing instructions between elements; a DOCTYPE or
 * CDATA is refused (S3's bodies need neither). @return 0 or -1. */
static int
skip_misc(struct reader *r)
{
	for (;;) {
		skip_space(r);
		if (starts(r, "<!--")) {
			r->pos += 4;
			if (skip_past(r, "-->") < 0)
				return -1;
		} else if (starts(r, "<?")) {
			r->pos += 2;
			if (skip_past(r, "?>") < 0)
				return -1;
		} else {
			return 0;
		}
	}
}

static int
read_name(struct reader *r, const char **name, size_t *len)
{
	size_t start = r->pos;

	if (r->pos >= r->len || !is_name_char((unsigned char)r->s[r->pos], 1))
		return -1;
	while (r->pos < r->len && is_name_char((unsigned char)r->s[r->pos], 0))
		r->pos++;
	*name = r->s + start;
	*len = r->pos - start;
	return 0;
}

/* Append the UTF-8 of @cp to @out. @return bytes, or -1 (not a Char). */
static int
utf8_put(uint32_t cp, char *out)
{
	if (cp == 0 || (cp < 0x20 && cp != 9 && cp != 10 && cp != 13) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff || cp > 0x10ffff)
		return -1;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Character data up to the next '<', decoded onto doc->text. @return 0 or -1. */
static int
read_text(struct reader *r, char **text, size_t *len)
{
	char *out = r->doc->text + r->doc->text_used;
	size_t o = 0;

	while (r->pos < r->len && r->s[r->pos] != '<') {
		char c = r->s[r->pos];

		if (c == '>' && r->pos >= 2 && r->s[r->pos - 1] == ']' && r->s[r->pos - 2] == ']')
			return -1;      /* "]]>" may not appear in text */
		if (c != '&') {
			out[o++] = c;
			r->pos++;
			continue;
		}
		{
			const char *semi = memchr(r->s + r->pos, ';', r->len - r->pos);
			size_t n;
			const char *e = r->s + r->pos + 1;

			if (semi == NULL || semi - e > 10)
				return -1;
			n = (size_t)(semi - e);
			if (n == 3 && memcmp(e, "amp", 3) == 0) {
				out[o++] = '&';
			} else if (n == 2 && memcmp(e, "lt", 2) == 0) {
				out[o++] = '<';
			} else if (n == 2 && memcmp(e, "gt", 2) == 0) {
				out[o++] = '>';
			} else if (n == 4 && memcmp(e, "quot", 4) == 0) {
				out[o++] = '"';
			} else if (n == 4 && memcmp(e, "apos", 4) == 0) {
				out[o++] = '\'';
			} else if (n >= 2 && e[0] == '#') {
				int hex = e[1] == 'x';
				uint32_t cp = 0;
				size_t i = hex ? 2 : 1;
				int w;

				if (i == n)
					return -1;
				for (; i < n; i++) {
					int c2 = e[i], d;

					if (c2 >= '0' && c2 <= '9')
						d = c2 - '0';
					else if (hex && c2 >= 'a' && c2 <= 'f')
						d = c2 - 'a' + 10;
					else if (hex && c2 >= 'A' && c2 <= 'F')
						d = c2 - 'A' + 10;
					else
						return -1;
					cp = cp * (hex ? 16 : 10) + (uint32_t)d;
					if (cp > 0x10ffff)
						return -1;
				}
				w = utf8_put(cp, out + o);
				if (w < 0)
					return -1;
				o += (size_t)w;
			} else {
				return -1;      /* no other entities exist here */
			}
			r->pos = (size_t)(semi - r->s) + 1;
		}
	}
	out[o] = '\0';
	*text = out;
	*len = o;
	r->doc->text_used += o + 1;
	return 0;
}

/* Attributes until '>' or "/>": name="value" or name='value', values
 * without '<'. They are not kept. @return 0 or -1. */
static int
skip_attributes(struct reader *r)
{
	for (;;) {
		const char *name;
		size_t nlen;
		char q;

		skip_space(r);
		if (r->pos >= r->len)
			return -1;
		if (r->s[r->pos] == '>' || starts(r, "/>"))
			return 0;
		if (read_name(r, &name, &nlen) < 0)
			return -1;
		skip_space(r);
		if (r->pos >= r->len || r->s[r->pos] != '=')
			return -1;
		r->pos++;
		skip_space(r);
		if (r->pos >= r->len || (r->s[r->pos] != '"' && r->s[r->pos] != '\''))
			return -1;
		q = r->s[r->pos++];
		while (r->pos < r->len && r->s[r->pos] != q) {
			if (r->s[r->pos] == '<')
				return -1;
			r->pos++;
		}
		if (r->pos >= r->len)
			return -1;
		r->pos++;
		/* Attributes need blanks between them. */
		if (r->pos < r->len && !is_space((unsigned char)r->s[r->pos]) &&
		    r->s[r->pos] != '>' && !starts(r, "/>"))
			return -1;
	}
}

static int
new_node(struct obj_xml_doc *d)
{
	if (d->n == d->cap)
		return -1;
	memset(&d->nodes[d->n], 0, sizeof(d->nodes[0]));
	d->nodes[d->n].first = d->nodes[d->n].next = d->nodes[d->n].last = -1;
	return (int)d->n++;
}

/* The element at r->pos ('<' of its start tag) and all inside it.
 * @return its node, or -1. */
static int
read_element(struct reader *r, unsigned int depth)
{
	struct obj_xml_doc *d = r->doc;
	const char *cname;
	size_t clen;
	int me, kid;
	struct node *n;

	if (depth > DEPTH_MAX || r->pos >= r->len || r->s[r->pos] != '<')
		return -1;
	r->pos++;
	me = new_node(d);
	if (me < 0)
		return -1;
	if (read_name(r, &d->nodes[me].name, &d->nodes[me].name_len) < 0 || skip_attributes(r) < 0)
		return -1;
	if (starts(r, "/>")) {
		r->pos += 2;
		d->nodes[me].text = d->text + d->text_used;
		d->text[d->text_used++] = '\0';
		return me;
	}
	r->pos++;                       /* '>' */
	for (;;) {
		char *text;
		size_t tlen;

		if (read_text(r, &text, &tlen) < 0 || r->pos >= r->len)
			return -1;
		n = &d->nodes[me];
		if (n->text == NULL) {
			n->text = text;
			n->text_len = tlen;
		} else {
			/* Text after a child: only blanks. */
			size_t i;

			for (i = 0; i < tlen; i++)
				if (!is_space((unsigned char)text[i]))
					return -1;
		}
		if (starts(r, "</"))
			break;
		if (starts(r, "<!--")) {
			r->pos += 4;
			if (skip_past(r, "-->") < 0)
				return -1;
			continue;
		}
		if (starts(r, "<!") || starts(r, "<?"))
			return -1;      /* CDATA, DOCTYPE, PIs inside: not here */
		kid = read_element(r, depth + 1);
		if (kid < 0)
			return -1;
		n = &d->nodes[me];
		if (n->first < 0)
			n->first = kid;
		else
			d->nodes[n->last].next = kid;
		n->last = kid;
		n->has_child = 1;
	}
	r->pos += 2;
	if (read_name(r, &cname, &clen) < 0)
		return -1;
	n = &d->nodes[me];
	if (clen != n->name_len || memcmp(cname, n->name, clen) != 0)
		return -1;
	skip_space(r);
	if (r->pos >= r->len || r->s[r->pos] != '>')
		return -1;
	r->pos++;
	/* Mixed content (text beside children) is not S3's schema. */
	if (n->has_child) {
		size_t i;

		for (i = 0; i < n->text_len; i++)
			if (!is_space((unsigned char)n->text[i]))
				return -1;
	}
	return me;
}

static void
doc_free(struct obj_xml_doc *d)
{
	if (d == NULL)
		return;
	free(d->nodes);
	free(d->text);
	free(d->parts);
	free(d->keys);
	free(d);
}

void
obj_xml_doc_free(struct obj_xml_doc *doc)
{
	doc_free(doc);
}

/* Parse @body into a new document whose root is node 0. */
static enum obj_err
parse(const char *body, size_t len, struct obj_xml_doc **out)
{
	struct obj_xml_doc *d;
	struct reader r = { body, len, 0, NULL };

	if (len > OBJ_XML_BODY_MAX)
		return OBJ_ERR_TOO_LARGE;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return OBJ_ERR_TOO_LARGE;
	/* A node takes at least "<a/>" of the body. */
	d->cap = (unsigned int)(len / 4 + 1);
	d->nodes = calloc(d->cap, sizeof(*d->nodes));
	/* Decoded text is never longer than its source; each read of text
	 * adds a NUL, and there is one read per element, child or comment. */
	d->text = malloc(2 * len + 2);
	if (d->nodes == NULL || d->text == NULL) {
		doc_free(d);
		return OBJ_ERR_TOO_LARGE;
	}
	r.doc = d;
	/* A byte-order mark, then the declaration and comments. */
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		r.pos = 3;
	if (skip_misc(&r) < 0 || read_element(&r, 0) != 0 || skip_misc(&r) < 0 || r.pos != len) {
		doc_free(d);
		return OBJ_ERR_MALFORMED_XML;
	}
	*out = d;
	return OBJ_OK;
}

static int
is(const struct node *n, const char *name)
{
	return n->name_len == strlen(name) && memcmp(n->name, name, n->name_len) == 0;
}

/* A decimal in [1, max], the whole text. @return 0 or -1. */
static int
number(const struct node *n, unsigned int max, unsigned int *v)
{
	size_t i;

	if (n->has_child || n->text_len == 0 || n->text_len > 9)
		return -1;
	*v = 0;
	for (i = 0; i < n->text_len; i++) {
		if (n->text[i] < '0' || n->text[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned int)(n->text[i] - '0');
	}
	return *v >= 1 && *v <= max ? 0 : -1;
}

enum obj_err
obj_xml_read_complete(const char *body, size_t len, struct obj_xml_doc **doc,
		      const struct obj_complete_part **parts, unsigned int *n)
{
	struct obj_xml_doc *d;
	unsigned int count = 0;
	enum obj_err e = parse(body, len, &d);
	int p;

	if (e != OBJ_OK)
		return e;
	if (!is(&d->nodes[0], "CompleteMultipartUpload"))
		goto malformed;
	for (p = d->nodes[0].first; p >= 0; p = d->nodes[p].next)
		count++;
	if (count == 0 || count > OBJ_PART_NUMBER_MAX)
		goto malformed;
	d->parts = calloc(count, sizeof(*d->parts));
	if (d->parts == NULL) {
		doc_free(d);
		return OBJ_ERR_TOO_LARGE;
	}
	count = 0;
	for (p = d->nodes[0].first; p >= 0; p = d->nodes[p].next) {
		struct obj_complete_part *cp = &d->parts[count++];
		int have_num = 0, have_etag = 0, c;

		if (!is(&d->nodes[p], "Part"))
			goto malformed;
		for (c = d->nodes[p].first; c >= 0; c = d->nodes[c].next) {
			const struct node *k = &d->nodes[c];

			if (is(k, "PartNumber") && !have_num) {
				if (number(k, OBJ_PART_NUMBER_MAX, &cp->number) < 0)
					goto malformed;
				have_num = 1;
			} else if (is(k, "ETag") && !have_etag && !k->has_child) {
				cp->etag.p = k->text;
				cp->etag.len = k->text_len;
				have_etag = 1;
			} else if (k->name_len > 8 && memcmp(k->name, "Checksum", 8) == 0 &&
				   !k->has_child) {
				/* ChecksumCRC32 and its kin: not checked yet. */
			} else {
				goto malformed;
			}
		}
		if (!have_num || !have_etag)
			goto malformed;
	}
	*doc = d;
	*parts = d->parts;
	*n = count;
	return OBJ_OK;
malformed:
	doc_free(d);
	return OBJ_ERR_MALFORMED_XML;
}

enum obj_err
obj_xml_read_delete(const char *body, size_t len, struct obj_xml_doc **doc,
		    const struct obj_str **keys, unsigned int *n, int *quiet)
{
	struct obj_xml_doc *d;
	unsigned int count = 0;
	enum obj_err e = parse(body, len, &d);
	int p, have_quiet = 0;

	if (e != OBJ_OK)
		return e;
	*quiet = 0;
	if (!is(&d->nodes[0], "Delete"))
		goto malformed;
	for (p = d->nodes[0].first; p >= 0; p = d->nodes[p].next)
		count++;
	d->keys = calloc(count + 1, sizeof(*d->keys));
	if (d->keys == NULL) {
		doc_free(d);
		return OBJ_ERR_TOO_LARGE;
	}
	count = 0;
	for (p = d->nodes[0].first; p >= 0; p = d->nodes[p].next) {
		const struct node *o = &d->nodes[p];
		int have_key = 0, c;

		if (is(o, "Quiet") && !have_quiet && !o->has_child) {
			if (o->text_len == 4 && memcmp(o->text, "true", 4) == 0)
				*quiet = 1;
			else if (!(o->text_len == 5 && memcmp(o->text, "false", 5) == 0))
				goto malformed;
			have_quiet = 1;
			continue;
		}
		if (!is(o, "Object") || count == OBJ_DELETE_KEYS_MAX)
			goto malformed;
		for (c = o->first; c >= 0; c = d->nodes[c].next) {
			const struct node *k = &d->nodes[c];

			if (is(k, "Key") && !have_key && !k->has_child) {
				if (k->text_len == 0 || k->text_len > OBJ_OBJECT_KEY_MAX)
					goto malformed;
				d->keys[count].p = k->text;
				d->keys[count].len = k->text_len;
				have_key = 1;
			} else if ((is(k, "VersionId") || is(k, "ETag") || is(k, "LastModifiedTime") ||
				    is(k, "Size")) && !k->has_child) {
				/* No versions, no conditions: nothing to match. */
			} else {
				goto malformed;
			}
		}
		if (!have_key)
			goto malformed;
		count++;
	}
	if (count == 0)
		goto malformed;
	*doc = d;
	*keys = d->keys;
	*n = count;
	return OBJ_OK;
malformed:
	doc_free(d);
	return OBJ_ERR_MALFORMED_XML;
}
