/* SPDX-License-Identifier: BSD-3-Clause */
/* S3 requests, path style, routed (route.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "route.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Room for @n bytes in the arena, or NULL. */
static char *
arena_take(struct obj_route *rt, size_t n)
{
	char *p;

	if (n > sizeof(rt->arena) - rt->arena_used)
		return NULL;
	p = rt->arena + rt->arena_used;
	rt->arena_used += n;
	return p;
}

/* [s, s+n) percent-decoded into the arena as @out ('+' stays '+').
 * @return OBJ_OK, OBJ_ERR_INVALID_URI or OBJ_ERR_TOO_LARGE. */
static enum obj_err
decode(struct obj_route *rt, const char *s, size_t n, struct obj_str *out)
{
	char *d = arena_take(rt, n + 1);
	size_t i, o = 0;

	if (d == NULL)
		return OBJ_ERR_TOO_LARGE;
	for (i = 0; i < n; i++) {
		int h, l;

		if (s[i] != '%') {
			d[o++] = s[i];
			continue;
		}
		if (i + 2 >= n)
			return OBJ_ERR_INVALID_URI;
		h = hexval((unsigned char)s[i + 1]);
		l = hexval((unsigned char)s[i + 2]);
		if (h < 0 || l < 0)
			return OBJ_ERR_INVALID_URI;
		d[o++] = (char)(h << 4 | l);
		i += 2;
	}
	d[o] = '\0';
	/* What was not used of the escapes goes back. */
	rt->arena_used -= n - o;
	out->p = d;
	out->len = o;
	return OBJ_OK;
}

/* Well-formed UTF-8 without the C0 controls XML 1.0 cannot carry (all
 * but TAB, LF and CR). S3 takes any UTF-8, but its listings are XML: such
 * keys are refused rather than listed wrong. */
static int
utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k, need;
		uint32_t cp;

		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return 0;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + need >= n)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond Unicode. */
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

int
obj_bucket_name_valid(const char *name, size_t len)
{
	size_t i, dots = 0, digits_only = 1;

	if (len < 3 || len > OBJ_BUCKET_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return 0;
		if (c == '.') {
			dots++;
			if (i > 0 && name[i - 1] == '.')
				return 0;
		} else if (c < '0' || c > '9') {
			digits_only = 0;
		}
	}
	if (name[0] == '.' || name[0] == '-' || name[len - 1] == '.' || name[len - 1] == '-')
		return 0;
	if (dots == 3 && digits_only)
		return 0;               /* 192.168.5.4 */
	if (len >= 4 && memcmp(name, "xn--", 4) == 0)
		return 0;
	if (len >= 8 && memcmp(name + len - 8, "-s3alias", 8) == 0)
		return 0;
	return 1;
}

/* A decimal of at most 9 digits. @return 0 or -1. */
static int
small_uint(const struct obj_str *s, unsigned int *v)
{
	size_t i;

	if (s->len == 0 || s->len > 9)
		return -1;
	*v = 0;
	for (i = 0; i < s->len; i++) {
		if (s->p[i] < '0' || s->p[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned int)(s->p[i] - '0');
	}
	return 0;
}

/* "bytes=A-B", "bytes=A-", "bytes=-N". Anything else (several ranges
 * too) leaves has_range 0: the whole object is served, as S3 does. */
static void
parse_range(struct obj_route *rt, const char *v, size_t n)
{
	int64_t a = -1, b = -1;
	size_t i = 6;

	if (n < 8 || memcmp(v, "bytes=", 6) != 0)
		return;
	if (v[i] >= '0' && v[i] <= '9') {
		a = 0;
		for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
			if (a > (INT64_MAX - 9) / 10)
				return;
			a = a * 10 + (v[i] - '0');
		}
	}
	if (i >= n || v[i++] != '-')
		return;
	if (i < n) {
		b = 0;
		for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
			if (b > (INT64_MAX - 9) / 10)
				return;
			b = b * 10 + (v[i] - '0');
		}
		if (i != n)
			return;
	}
	if ((a < 0 && b < 0) || (a >= 0 && b >= 0 && b < a))
		return;
	rt->has_range = 1;
	rt->range_first = a;
	rt->range_last = b;
}

/* x-amz-copy-source-range: "bytes=A-B", both given, A <= B (S3 takes no
 * other form there). */
static void
parse_copy_range(struct obj_route *rt, const char *v, size_t n)
{
	uint64_t a = 0, b = 0;
	size_t i = 6, d;

	rt->has_copy_range = -1;
	if (n < 9 || memcmp(v, "bytes=", 6) != 0)
		return;
	for (d = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++, d++) {
		if (a > (UINT64_MAX - 9) / 10)
			return;
		a = a * 10 + (uint64_t)(v[i] - '0');
	}
	if (d == 0 || i >= n || v[i++] != '-')
		return;
	for (d = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++, d++) {
		if (b > (UINT64_MAX - 9) / 10)
			return;
		b = b * 10 + (uint64_t)(v[i] - '0');
	}
	if (d == 0 || i != n || b < a)
		return;
	rt->has_copy_range = 1;
	rt->copy_first = a;
	rt->copy_last = b;
}

/* An HTTP-date (IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"). @return
 * Unix seconds, or 0 when malformed (the header is then ignored). */
static time_t
http_date(const char *v, size_t n)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char buf[40], mon[4], gmt[4];
	struct tm tm;
	int day, year, hh, mm, ss, used = 0;
	const char *m;

	if (n >= sizeof(buf) || n < 29)
		return 0;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (sscanf(buf, "%*3[A-Za-z], %2d %3s %4d %2d:%2d:%2d %3s%n",
		   &day, mon, &year, &hh, &mm, &ss, gmt, &used) != 7 || (size_t)used != n ||
	    strcmp(gmt, "GMT") != 0)
		return 0;
	m = strstr(months, mon);
	if (m == NULL || strlen(mon) != 3 || (m - months) % 3 != 0)
		return 0;
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	return timegm(&tm);
}

static int
name_is(const struct obj_header *h, const char *name)
{
	size_t i, n = strlen(name);

	if (h->name_len != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)h->name[i]) != name[i])
			return 0;
	return 1;
}

/* A header's value into the arena, as it is. */
static enum obj_err
keep(struct obj_route *rt, const struct obj_header *h, struct obj_str *out)
{
	char *d = arena_take(rt, h->value_len + 1);

	if (d == NULL)
		return OBJ_ERR_TOO_LARGE;
	memcpy(d, h->value, h->value_len);
	d[h->value_len] = '\0';
	out->p = d;
	out->len = h->value_len;
	return OBJ_OK;
}

/* x-amz-copy-source: "[/]bucket/key[?versionId=...]", percent-encoded. */
static enum obj_err
parse_copy_source(struct obj_route *rt, const struct obj_header *h)
{
	struct obj_str all;
	const char *slash;
	enum obj_err e;
	size_t off = 0, blen;

	e = decode(rt, h->value, h->value_len, &all);
	if (e != OBJ_OK)
		return e;
	if (all.len > 0 && all.p[0] == '/')
		off = 1;
	if (memchr(all.p, '?', all.len) != NULL)
		return OBJ_ERR_NOT_IMPLEMENTED;        /* versionId: no versions */
	slash = memchr(all.p + off, '/', all.len - off);
	if (slash == NULL)
		return OBJ_ERR_INVALID_ARGUMENT;
	blen = (size_t)(slash - all.p) - off;
	if (!obj_bucket_name_valid(all.p + off, blen))
		return OBJ_ERR_INVALID_ARGUMENT;
	memcpy(rt->copy_bucket, all.p + off, blen);
	rt->copy_bucket[blen] = '\0';
	rt->copy_key.p = slash + 1;
	rt->copy_key.len = all.len - blen - off - 1;
	if (rt->copy_key.len == 0 || !utf8_valid(rt->copy_key.p, rt->copy_key.len))
		return OBJ_ERR_INVALID_ARGUMENT;
	if (rt->copy_key.len > OBJ_OBJECT_KEY_MAX)
		return OBJ_ERR_KEY_TOO_LONG;
	return OBJ_OK;
}

static enum obj_err
parse_headers(struct obj_route *rt, const struct obj_header *hs, unsigned int n)
{
	size_t meta_bytes = 0;
	enum obj_err e = OBJ_OK;
	unsigned int i;

	for (i = 0; i < n && e == OBJ_OK; i++) {
		const struct obj_header *h = &hs[i];

		if (name_is(h, "range")) {
			parse_range(rt, h->value, h->value_len);
		} else if (name_is(h, "if-match")) {
			e = keep(rt, h, &rt->if_match);
		} else if (name_is(h, "if-none-match")) {
			e = keep(rt, h, &rt->if_none_match);
		} else if (name_is(h, "if-modified-since")) {
			rt->if_modified_since = http_date(h->value, h->value_len);
		} else if (name_is(h, "if-unmodified-since")) {
			rt->if_unmodified_since = http_date(h->value, h->value_len);
		} else if (name_is(h, "content-type")) {
			e = keep(rt, h, &rt->content_type);
		} else if (name_is(h, "content-md5")) {
			size_t got = 0;
			const char *end;

			if (sodium_base642bin(rt->content_md5, sizeof(rt->content_md5), h->value,
					      h->value_len, NULL, &got, &end,
					      sodium_base64_VARIANT_ORIGINAL) != 0 ||
			    got != 16 || end != h->value + h->value_len)
				return OBJ_ERR_INVALID_DIGEST;
			rt->has_content_md5 = 1;
		} else if (name_is(h, "content-length")) {
			size_t k;

			rt->content_length = 0;
			if (h->value_len == 0 || h->value_len > 15)
				return OBJ_ERR_INVALID_ARGUMENT;
			for (k = 0; k < h->value_len; k++) {
				if (h->value[k] < '0' || h->value[k] > '9')
					return OBJ_ERR_INVALID_ARGUMENT;
				rt->content_length = rt->content_length * 10 +
						     (uint64_t)(h->value[k] - '0');
			}
			rt->has_content_length = 1;
		} else if (name_is(h, "x-amz-copy-source")) {
			e = parse_copy_source(rt, h);
		} else if (name_is(h, "x-amz-copy-source-range")) {
			parse_copy_range(rt, h->value, h->value_len);
		} else if (name_is(h, "x-amz-metadata-directive")) {
			if (h->value_len == 7 && memcmp(h->value, "REPLACE", 7) == 0)
				rt->metadata_replace = 1;
			else if (!(h->value_len == 4 && memcmp(h->value, "COPY", 4) == 0))
				return OBJ_ERR_INVALID_ARGUMENT;
		} else if (h->name_len > 11 && strncasecmp(h->name, "x-amz-meta-", 11) == 0) {
			struct obj_meta *m;
			char *d;
			size_t k;

			if (rt->n_meta == OBJ_META_COUNT_MAX)
				return OBJ_ERR_METADATA_TOO_LARGE;
			meta_bytes += h->name_len - 11 + h->value_len;
			if (meta_bytes > OBJ_META_MAX)
				return OBJ_ERR_METADATA_TOO_LARGE;
			m = &rt->meta[rt->n_meta++];
			d = arena_take(rt, h->name_len - 11 + 1);
			if (d == NULL)
				return OBJ_ERR_TOO_LARGE;
			for (k = 11; k < h->name_len; k++)
				d[k - 11] = (char)lower((unsigned char)h->name[k]);
			d[h->name_len - 11] = '\0';
			m->name.p = d;
			m->name.len = h->name_len - 11;
			e = keep(rt, h, &m->value);
		}
	}
	return e;
}

/* Subresources S3 has and this server does not serve. */
static const char *const unserved[] = {
	"acl", "accelerate", "analytics", "cors", "encryption", "intelligent-tiering",
	"inventory", "legal-hold", "lifecycle", "logging", "metrics", "notification",
	"object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
	"replication", "requestPayment", "restore", "retention", "select", "tagging",
	"torrent", "versioning", "versions", "versionId", "website", "attributes",
};

/* Which query parameters a request had (beyond the values kept). */
struct query_flags {
	int uploads, delete_, location, list_type2, has_upload_id;
};

static enum obj_err
parse_query(struct obj_route *rt, const char *q, size_t qlen, struct query_flags *f)
{
	size_t pos = 0;

	while (pos < qlen) {
		const char *amp = memchr(q + pos, '&', qlen - pos);
		size_t end = amp != NULL ? (size_t)(amp - q) : qlen;
		const char *eq = memchr(q + pos, '=', end - pos);
		size_t nend = eq != NULL ? (size_t)(eq - q) : end;
		struct obj_str name, value = { "", 0 };
		enum obj_err e;
		size_t i;

		if (end == pos) {
			pos = end + 1;
			continue;
		}
		e = decode(rt, q + pos, nend - pos, &name);
		if (e == OBJ_OK && eq != NULL)
			e = decode(rt, eq + 1, end - nend - 1, &value);
		if (e != OBJ_OK)
			return e;
		pos = end + 1;
#define IS(s) (name.len == sizeof(s) - 1 && memcmp(name.p, s, name.len) == 0)
		if (IS("prefix")) {
			rt->prefix = value;
		} else if (IS("delimiter")) {
			rt->delimiter = value;
		} else if (IS("marker")) {
			rt->marker = value;
		} else if (IS("start-after")) {
			rt->start_after = value;
		} else if (IS("continuation-token")) {
			rt->continuation_token = value;
		} else if (IS("key-marker")) {
			rt->key_marker = value;
		} else if (IS("upload-id-marker")) {
			rt->upload_id_marker = value;
		} else if (IS("max-keys") || IS("max-uploads") || IS("max-parts")) {
			unsigned int v;

			if (small_uint(&value, &v) < 0)
				return OBJ_ERR_INVALID_ARGUMENT;
			rt->max_keys = v < OBJ_MAX_KEYS_DEFAULT ? v : OBJ_MAX_KEYS_DEFAULT;
		} else if (IS("part-number-marker")) {
			if (small_uint(&value, &rt->part_number_marker) < 0)
				return OBJ_ERR_INVALID_ARGUMENT;
		} else if (IS("encoding-type")) {
			if (!(value.len == 3 && memcmp(value.p, "url", 3) == 0))
				return OBJ_ERR_INVALID_ARGUMENT;
			rt->encoding_url = 1;
		} else if (IS("fetch-owner")) {
			rt->fetch_owner = value.len == 4 && memcmp(value.p, "true", 4) == 0;
		} else if (IS("list-type")) {
			if (!(value.len == 1 && value.p[0] == '2'))
				return OBJ_ERR_INVALID_ARGUMENT;
			f->list_type2 = 1;
		} else if (IS("uploadId")) {
			rt->upload_id = value;
			f->has_upload_id = 1;
		} else if (IS("partNumber")) {
			if (small_uint(&value, &rt->part_number) < 0 || rt->part_number < 1 ||
			    rt->part_number > OBJ_PART_NUMBER_MAX)
				return OBJ_ERR_INVALID_ARGUMENT;
		} else if (IS("uploads")) {
			f->uploads = 1;
		} else if (IS("delete")) {
			f->delete_ = 1;
		} else if (IS("location")) {
			f->location = 1;
		} else {
			for (i = 0; i < sizeof(unserved) / sizeof(unserved[0]); i++)
				if (name.len == strlen(unserved[i]) &&
				    memcmp(name.p, unserved[i], name.len) == 0)
					return OBJ_ERR_NOT_IMPLEMENTED;
			/* Others (x-id=..., response-* overrides, X-Amz-*
			 * of presigned URLs) change nothing here. */
		}
#undef IS
	}
	return OBJ_OK;
}

enum obj_err
obj_route_parse(const char *method, const char *target, size_t len,
		const struct obj_header *headers, unsigned int n_headers, struct obj_route *rt)
{
	const char *qm = memchr(target, '?', len);
	size_t plen = qm != NULL ? (size_t)(qm - target) : len;
	struct query_flags f = { 0 };
	struct obj_str path;
	const char *slash;
	size_t blen;
	enum obj_err e;
	int get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0,
	    head = strcmp(method, "HEAD") == 0, del = strcmp(method, "DELETE") == 0,
	    post = strcmp(method, "POST") == 0;

	memset(rt, 0, offsetof(struct obj_route, arena));
	rt->max_keys = OBJ_MAX_KEYS_DEFAULT;
	if (plen == 0 || target[0] != '/')
		return OBJ_ERR_INVALID_URI;
	e = decode(rt, target + 1, plen - 1, &path);
	if (e != OBJ_OK)
		return e;
	if (qm != NULL) {
		e = parse_query(rt, qm + 1, len - plen - 1, &f);
		if (e != OBJ_OK)
			return e;
	}
	e = parse_headers(rt, headers, n_headers);
	if (e != OBJ_OK)
		return e;

	if (path.len == 0) {                    /* the service */
		if (!get)
			return OBJ_ERR_METHOD_NOT_ALLOWED;
		rt->op = OBJ_OP_LIST_BUCKETS;
		return OBJ_OK;
	}
	slash = memchr(path.p, '/', path.len);
	blen = slash != NULL ? (size_t)(slash - path.p) : path.len;
	if (!obj_bucket_name_valid(path.p, blen))
		return OBJ_ERR_INVALID_BUCKET_NAME;
	memcpy(rt->bucket, path.p, blen);
	rt->bucket[blen] = '\0';

	if (slash == NULL || (size_t)(slash - path.p) + 1 == path.len) {
		/* The bucket: "/b" or "/b/". */
		if (put)
			rt->op = OBJ_OP_CREATE_BUCKET;
		else if (del)
			rt->op = OBJ_OP_DELETE_BUCKET;
		else if (head)
			rt->op = OBJ_OP_HEAD_BUCKET;
		else if (get && f.uploads)
			rt->op = OBJ_OP_LIST_UPLOADS;
		else if (get && f.location)
			rt->op = OBJ_OP_GET_BUCKET_LOCATION;
		else if (get)
			rt->op = f.list_type2 ? OBJ_OP_LIST_OBJECTS_V2 : OBJ_OP_LIST_OBJECTS;
		else if (post && f.delete_)
			rt->op = OBJ_OP_DELETE_OBJECTS;
		else
			return OBJ_ERR_METHOD_NOT_ALLOWED;
		return OBJ_OK;
	}

	rt->key.p = slash + 1;
	rt->key.len = path.len - blen - 1;
	if (rt->key.len > OBJ_OBJECT_KEY_MAX)
		return OBJ_ERR_KEY_TOO_LONG;
	if (!utf8_valid(rt->key.p, rt->key.len))
		return OBJ_ERR_INVALID_URI;
	if (put && f.has_upload_id) {
		if (rt->part_number == 0)
			return OBJ_ERR_INVALID_ARGUMENT;
		rt->op = rt->copy_key.p != NULL ? OBJ_OP_UPLOAD_PART_COPY : OBJ_OP_UPLOAD_PART;
	} else if (put) {
		rt->op = rt->copy_key.p != NULL ? OBJ_OP_COPY_OBJECT : OBJ_OP_PUT_OBJECT;
	} else if (get) {
		rt->op = f.has_upload_id ? OBJ_OP_LIST_PARTS : OBJ_OP_GET_OBJECT;
	} else if (head) {
		rt->op = OBJ_OP_HEAD_OBJECT;
	} else if (del) {
		rt->op = f.has_upload_id ? OBJ_OP_ABORT_UPLOAD : OBJ_OP_DELETE_OBJECT;
	} else if (post && f.uploads) {
		rt->op = OBJ_OP_CREATE_UPLOAD;
	} else if (post && f.has_upload_id) {
		rt->op = OBJ_OP_COMPLETE_UPLOAD;
	} else {
		return OBJ_ERR_METHOD_NOT_ALLOWED;
	}
	/* partNumber on a GET or HEAD asks for one part of an object. */
	if ((get || head) && rt->part_number != 0 && !f.has_upload_id)
		return OBJ_ERR_NOT_IMPLEMENTED;
	return OBJ_OK;
}

const char *
obj_op_name(enum obj_op op)
{
	static const char *const names[OBJ_OP_COUNT] = {
		[OBJ_OP_NONE] = "None",
		[OBJ_OP_LIST_BUCKETS] = "ListBuckets",
		[OBJ_OP_CREATE_BUCKET] = "CreateBucket",
		[OBJ_OP_DELETE_BUCKET] = "DeleteBucket",
		[OBJ_OP_HEAD_BUCKET] = "HeadBucket",
		[OBJ_OP_GET_BUCKET_LOCATION] = "GetBucketLocation",
		[OBJ_OP_LIST_OBJECTS] = "ListObjects",
		[OBJ_OP_LIST_OBJECTS_V2] = "ListObjectsV2",
		[OBJ_OP_LIST_UPLOADS] = "ListMultipartUploads",
		[OBJ_OP_DELETE_OBJECTS] = "DeleteObjects",
		[OBJ_OP_PUT_OBJECT] = "PutObject",
		[OBJ_OP_COPY_OBJECT] = "CopyObject",
		[OBJ_OP_GET_OBJECT] = "GetObject",
		[OBJ_OP_HEAD_OBJECT] = "HeadObject",
		[OBJ_OP_DELETE_OBJECT] = "DeleteObject",
		[OBJ_OP_CREATE_UPLOAD] = "CreateMultipartUpload",
		[OBJ_OP_UPLOAD_PART] = "UploadPart",
		[OBJ_OP_UPLOAD_PART_COPY] = "UploadPartCopy",
		[OBJ_OP_COMPLETE_UPLOAD] = "CompleteMultipartUpload",
		[OBJ_OP_ABORT_UPLOAD] = "AbortMultipartUpload",
		[OBJ_OP_LIST_PARTS] = "ListParts",
	};

	return (unsigned int)op < OBJ_OP_COUNT ? names[op] : "None";
}

size_t
obj_route_meta(const struct obj_route *rt, char *meta)
{
	size_t ml = 0;
	unsigned int i;

	for (i = 0; i < rt->n_meta; i++) {
		memcpy(meta + ml, rt->meta[i].name.p, rt->meta[i].name.len);
		ml += rt->meta[i].name.len;
		meta[ml++] = '\0';
		memcpy(meta + ml, rt->meta[i].value.p, rt->meta[i].value.len);
		ml += rt->meta[i].value.len;
		meta[ml++] = '\0';
	}
	return ml;
}
