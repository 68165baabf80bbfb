/* SPDX-License-Identifier: BSD-3-Clause */
/* AWS Signature Version 4, the server's side (sigv4.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sigv4.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define QUERY_PARAMS_MAX 128
#define PARAM_MAX 1024                  /* decoded bytes of an auth parameter */

/* An output buffer that remembers it overflowed rather than failing each
 * append: the callers check once, at the end. */
struct sbuf {
	char *p;
	size_t len, size;
	int full;
};

static void
sb_put(struct sbuf *b, const void *s, size_t n)
{
	if (b->full || b->len + n >= b->size) {
		b->full = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void
sb_chr(struct sbuf *b, char c)
{
	sb_put(b, &c, 1);
}

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

/* Decode %XX escapes of [s, s+n) into @out (n bytes at least). '+' stays
 * '+': S3 signs the path and query as URIs, not as form data.
 * @return the decoded length, or -1 on a broken escape. */
static long
pct_decode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;
	int h, l;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n)
			return -1;
		h = hexval((unsigned char)s[i + 1]);
		l = hexval((unsigned char)s[i + 2]);
		if (h < 0 || l < 0)
			return -1;
		out[o++] = (char)(h << 4 | l);
		i += 2;
	}
	return (long)o;
}

static int
unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* AWS's URI encoding: unreserved bytes as they are, '/' too when
 * @keep_slash, every other byte as %XX in upper case. */
static void
sb_uri_encode(struct sbuf *b, const char *s, size_t n, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3] = { '%', 0, 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			sb_chr(b, (char)c);
		} else {
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 15];
			sb_put(b, esc, 3);
		}
	}
}

/* A query parameter, decoded then encoded again the canonical way. */
struct qparam {
	char *name, *value;             /* canonical (encoded), NUL-terminated */
};

static int
qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* [s, s+n) decoded and encoded again, in a new string (NULL: no memory
 * or a broken escape, told apart by *bad). */
static char *
recode(const char *s, size_t n, int *bad)
{
	char *dec = malloc(n + 1), *out;
	struct sbuf b;
	long dl;

	if (dec == NULL)
		return NULL;
	dl = pct_decode(s, n, dec);
	if (dl < 0) {
		free(dec);
		*bad = 1;
		return NULL;
	}
	out = malloc((size_t)dl * 3 + 1);
	if (out == NULL) {
		free(dec);
		return NULL;
	}
	b = (struct sbuf){ out, 0, (size_t)dl * 3 + 1, 0 };
	out[0] = '\0';
	sb_uri_encode(&b, dec, (size_t)dl, 0);
	free(dec);
	return out;
}

/* The canonical query string: every parameter but X-Amz-Signature, sorted.
 * @return 0, -ENOMEM, -EILSEQ or -E2BIG (too many parameters). */
static int
canonical_query(struct sbuf *b, const char *q, size_t qlen)
{
	struct qparam *ps;
	unsigned int n = 0, i;
	size_t pos = 0;
	int rc = 0, bad = 0;

	if (q == NULL || qlen == 0)
		return 0;
	ps = calloc(QUERY_PARAMS_MAX, sizeof(*ps));
	if (ps == NULL)
		return -ENOMEM;
	while (pos <= qlen) {
		const char *amp = memchr(q + pos, '&', qlen - pos);
		size_t end = amp != NULL ? (size_t)(amp - q) : qlen;
		const char *eq = memchr(q + pos, '=', end - pos);
		size_t nend = eq != NULL ? (size_t)(eq - q) : end;

		if (end > pos) {
			if (n == QUERY_PARAMS_MAX) {
				rc = -E2BIG;
				goto out;
			}
			ps[n].name = recode(q + pos, nend - pos, &bad);
			ps[n].value = eq != NULL ? recode(eq + 1, end - nend - 1, &bad) : strdup("");
			if (ps[n].name == NULL || ps[n].value == NULL) {
				n++;
				rc = bad ? -EILSEQ : -ENOMEM;
				goto out;
			}
			if (strcmp(ps[n].name, "X-Amz-Signature") == 0) {
				free(ps[n].name);
				free(ps[n].value);
			} else {
				n++;
			}
		}
		pos = end + 1;
	}
	qsort(ps, n, sizeof(*ps), qparam_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			sb_chr(b, '&');
		sb_str(b, ps[i].name);
		sb_chr(b, '=');
		sb_str(b, ps[i].value);
	}
out:
	for (i = 0; i < n; i++) {
		free(ps[i].name);
		free(ps[i].value);
	}
	free(ps);
	return rc;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
name_is(const struct obj_header *h, const char *name, size_t len)
{
	size_t i;

	if (h->name_len != len)
		return 0;
	for (i = 0; i < len; i++)
		if (lower((unsigned char)h->name[i]) != lower((unsigned char)name[i]))
			return 0;
	return 1;
}

/* A value trimmed, its inner runs of blanks one space (what AWS's
 * canonical headers call "Trimall"). */
static void
sb_trimall(struct sbuf *b, const char *v, size_t n)
{
	size_t i = 0, end = n;
	int blank = 0;

	while (i < end && (v[i] == ' ' || v[i] == '\t'))
		i++;
	while (end > i && (v[end - 1] == ' ' || v[end - 1] == '\t'))
		end--;
	for (; i < end; i++) {
		if (v[i] == ' ' || v[i] == '\t') {
			blank = 1;
			continue;
		}
		if (blank)
			sb_chr(b, ' ');
		blank = 0;
		sb_chr(b, v[i]);
	}
}

/* The canonical headers of the names in @list ("a;b;c"), each "name:value\n".
 * @return 0, or -EINVAL (a name not lower case, empty, or not sent). */
static int
canonical_headers(struct sbuf *b, const struct obj_sigv4_request *r, const char *list)
{
	const char *p = list;

	if (*p == '\0')
		return -EINVAL;
	while (*p != '\0') {
		const char *semi = strchr(p, ';');
		size_t len = semi != NULL ? (size_t)(semi - p) : strlen(p);
		unsigned int i, found = 0;

		if (len == 0)
			return -EINVAL;
		for (i = 0; i < len; i++)
			if (p[i] != lower((unsigned char)p[i]) || p[i] == ' ')
				return -EINVAL;
		sb_put(b, p, len);
		sb_chr(b, ':');
		/* Repeated headers are one, their values joined by commas. */
		for (i = 0; i < r->n_headers; i++)
			if (name_is(&r->headers[i], p, len)) {
				if (found++ > 0)
					sb_chr(b, ',');
				sb_trimall(b, r->headers[i].value, r->headers[i].value_len);
			}
		if (found == 0)
			return -EINVAL;
		sb_chr(b, '\n');
		p += len;
		if (*p == ';')
			p++;
	}
	return 0;
}

long
obj_sigv4_canonical_request(const struct obj_sigv4_request *r,
			    const char *signed_headers, const char *payload,
			    char *buf, size_t size)
{
	struct sbuf b = { buf, 0, size, 0 };
	char *dec;
	long dl;
	int rc;

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	sb_str(&b, r->method);
	sb_chr(&b, '\n');
	/* The path decoded and encoded once: not normalized, so "a//b" and
	 * "./" stay as they are (they name different keys). */
	dec = malloc(r->path_len + 1);
	if (dec == NULL)
		return -ENOMEM;
	dl = pct_decode(r->path, r->path_len, dec);
	if (dl < 0) {
		free(dec);
		return -EILSEQ;
	}
	if (dl == 0)
		sb_chr(&b, '/');
	sb_uri_encode(&b, dec, (size_t)dl, 1);
	free(dec);
	sb_chr(&b, '\n');
	rc = canonical_query(&b, r->query, r->query_len);
	if (rc < 0)
		return rc;
	sb_chr(&b, '\n');
	rc = canonical_headers(&b, r, signed_headers);
	if (rc < 0)
		return rc;
	sb_chr(&b, '\n');
	sb_str(&b, signed_headers);
	sb_chr(&b, '\n');
	sb_str(&b, payload);
	return b.full ? -ENOSPC : (long)b.len;
}

static void
to_hex(const uint8_t *in, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[in[i] >> 4];
		hex[2 * i + 1] = digits[in[i] & 15];
	}
	hex[2 * n] = '\0';
}

static void
hmac(const uint8_t *key, size_t keylen, const void *msg, size_t len, uint8_t out[32])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void
obj_sigv4_signing_key(const char *secret, const char *date, const char *region,
		      const char *service, uint8_t key[32])
{
	char k0[4 + OBJ_KEY_SECRET_MAX + 1];
	uint8_t a[32], c[32];
	int n = snprintf(k0, sizeof(k0), "AWS4%s", secret);

	if (n < 0 || (size_t)n >= sizeof(k0))
		n = (int)sizeof(k0) - 1;
	hmac((const uint8_t *)k0, (size_t)n, date, strlen(date), a);
	hmac(a, 32, region, strlen(region), c);
	hmac(c, 32, service, strlen(service), a);
	hmac(a, 32, "aws4_request", 12, key);
	sodium_memzero(k0, sizeof(k0));
	sodium_memzero(a, sizeof(a));
	sodium_memzero(c, sizeof(c));
}

void
obj_sigv4_sign(const uint8_t key[32], const char *msg, size_t len,
	       char hex[OBJ_SIGV4_HEX + 1])
{
	uint8_t mac[32];

	hmac(key, 32, msg, len, mac);
	to_hex(mac, 32, hex);
}

void
obj_sigv4_hash_hex(const void *p, size_t len, char hex[OBJ_SIGV4_HEX + 1])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, p, len);
	to_hex(h, sizeof(h), hex);
}

int
obj_sigv4_chunk_signature_hash(const struct obj_sigv4_auth *a, const char *prev,
			       const char *hash, char hex[OBJ_SIGV4_HEX + 1])
{
	char sts[64 + 17 + OBJ_SIGV4_SCOPE_MAX + 3 * (OBJ_SIGV4_HEX + 1)];
	char empty[OBJ_SIGV4_HEX + 1];
	int n;

	obj_sigv4_hash_hex("", 0, empty);
	n = snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s",
		     a->amz_date, a->scope, prev, empty, hash);
	if (n < 0 || (size_t)n >= sizeof(sts))
		return -ENOSPC;
	obj_sigv4_sign(a->signing_key, sts, (size_t)n, hex);
	return 0;
}

int
obj_sigv4_chunk_signature(const struct obj_sigv4_auth *a, const char *prev,
			  const void *data, size_t len, char hex[OBJ_SIGV4_HEX + 1])
{
	char body[OBJ_SIGV4_HEX + 1];

	obj_sigv4_hash_hex(data, len, body);
	return obj_sigv4_chunk_signature_hash(a, prev, body, hex);
}

/* ---- the two ways a request carries its signature ---- */

/* What either way says: the parts of the string to sign and the claim. */
struct claim {
	char key_id[OBJ_KEY_ID_MAX + 1];
	char date[9], region[64], service[32];
	char amz_date[17];
	char signed_headers[PARAM_MAX];
	char signature[OBJ_SIGV4_HEX + 1];
	long expires;                   /* presigned: seconds; else -1 */
};

static const struct obj_header *
find_header(const struct obj_sigv4_request *r, const char *name)
{
	unsigned int i;

	for (i = 0; i < r->n_headers; i++)
		if (name_is(&r->headers[i], name, strlen(name)))
			return &r->headers[i];
	return NULL;
}

/* Copy [s, s+n) as a string into @dst of @size bytes. @return 0 or -1. */
static int
copy_str(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* "AKID/20130524/us-east-1/s3/aws4_request". @return 0 or -1. */
static int
parse_credential(struct claim *c, const char *s, size_t n)
{
	const char *parts[5];
	size_t lens[5];
	unsigned int k = 0;
	size_t i, start = 0;

	for (i = 0; i <= n; i++)
		if (i == n || s[i] == '/') {
			if (k == 5)
				return -1;
			parts[k] = s + start;
			lens[k++] = i - start;
			start = i + 1;
		}
	if (k != 5 || lens[1] != 8 || lens[4] != 12 || memcmp(parts[4], "aws4_request", 12) != 0)
		return -1;
	for (i = 0; i < 8; i++)
		if (parts[1][i] < '0' || parts[1][i] > '9')
			return -1;
	if (copy_str(c->key_id, sizeof(c->key_id), parts[0], lens[0]) < 0 ||
	    copy_str(c->date, sizeof(c->date), parts[1], lens[1]) < 0 ||
	    copy_str(c->region, sizeof(c->region), parts[2], lens[2]) < 0 ||
	    copy_str(c->service, sizeof(c->service), parts[3], lens[3]) < 0 ||
	    lens[0] == 0 || lens[2] == 0 || lens[3] == 0)
		return -1;
	return 0;
}

/* "yyyymmddThhmmssZ" into Unix seconds. @return 0 or -1. */
static int
parse_amz_date(const char *s, time_t *t)
{
	struct tm tm;
	int v[6], i;
	static const int at[6] = { 0, 4, 6, 9, 11, 13 }, w[6] = { 4, 2, 2, 2, 2, 2 };

	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	for (i = 0; i < 6; i++) {
		int k;

		v[i] = 0;
		for (k = 0; k < w[i]; k++) {
			char ch = s[at[i] + k];

			if (ch < '0' || ch > '9')
				return -1;
			v[i] = v[i] * 10 + (ch - '0');
		}
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

static int
is_hex64(const char *s)
{
	size_t i;

	if (strlen(s) != OBJ_SIGV4_HEX)
		return 0;
	for (i = 0; i < OBJ_SIGV4_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* The Authorization header: "AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=..., Signature=..." (the three in any order). */
static enum obj_sigv4_error
parse_authorization(const struct obj_header *h, struct claim *c, char *detail, size_t dlen)
{
	const char *v = h->value, *end = h->value + h->value_len;
	int have = 0;

	if (h->value_len == sizeof(ALGORITHM) - 1 && memcmp(v, ALGORITHM, h->value_len) == 0)
		goto malformed;
	if (h->value_len < sizeof(ALGORITHM) || memcmp(v, ALGORITHM " ", sizeof(ALGORITHM)) != 0) {
		snprintf(detail, dlen, "Unsupported Authorization Type");
		return OBJ_SIGV4_UNSUPPORTED;
	}
	v += sizeof(ALGORITHM);
	while (v < end) {
		const char *comma, *eq;
		size_t n;

		while (v < end && (*v == ' ' || *v == ','))
			v++;
		if (v == end)
			break;
		comma = memchr(v, ',', (size_t)(end - v));
		n = comma != NULL ? (size_t)(comma - v) : (size_t)(end - v);
		while (n > 0 && v[n - 1] == ' ')
			n--;
		eq = memchr(v, '=', n);
		if (eq == NULL)
			goto malformed;
		if ((size_t)(eq - v) == 10 && memcmp(v, "Credential", 10) == 0) {
			if (parse_credential(c, eq + 1, n - 11) < 0)
				goto malformed;
			have |= 1;
		} else if ((size_t)(eq - v) == 13 && memcmp(v, "SignedHeaders", 13) == 0) {
			if (copy_str(c->signed_headers, sizeof(c->signed_headers), eq + 1, n - 14) < 0)
				goto malformed;
			have |= 2;
		} else if ((size_t)(eq - v) == 9 && memcmp(v, "Signature", 9) == 0) {
			if (copy_str(c->signature, sizeof(c->signature), eq + 1, n - 10) < 0)
				goto malformed;
			have |= 4;
		} else {
			goto malformed;
		}
		v += n;
	}
	if (have != 7)
		goto malformed;
	return OBJ_SIGV4_OK;
malformed:
	snprintf(detail, dlen, "The authorization header is malformed");
	return OBJ_SIGV4_HEADER_MALFORMED;
}

/* The decoded value of query parameter @name into @out. @return its
 * length, -1 when absent, -2 when malformed or too long. */
static long
query_param(const struct obj_sigv4_request *r, const char *name, char *out, size_t size)
{
	size_t pos = 0, qlen = r->query_len, nl = strlen(name);
	const char *q = r->query;

	if (q == NULL)
		return -1;
	while (pos <= qlen) {
		const char *amp = memchr(q + pos, '&', qlen - pos);
		size_t end = amp != NULL ? (size_t)(amp - q) : qlen;
		const char *eq = memchr(q + pos, '=', end - pos);
		size_t nend = eq != NULL ? (size_t)(eq - q) : end;

		if (nend - pos == nl && memcmp(q + pos, name, nl) == 0) {
			size_t vl = eq != NULL ? end - nend - 1 : 0;
			long dl;

			if (vl >= size)
				return -2;
			dl = pct_decode(eq != NULL ? eq + 1 : "", vl, out);
			if (dl < 0)
				return -2;
			out[dl] = '\0';
			return dl;
		}
		pos = end + 1;
	}
	return -1;
}

static enum obj_sigv4_error
parse_presigned(const struct obj_sigv4_request *r, struct claim *c, char *detail, size_t dlen)
{
	char v[PARAM_MAX];
	long n;
	char *end;

	if (query_param(r, "X-Amz-Algorithm", v, sizeof(v)) < 0 || strcmp(v, ALGORITHM) != 0) {
		snprintf(detail, dlen, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
		return OBJ_SIGV4_QUERY_MALFORMED;
	}
	n = query_param(r, "X-Amz-Credential", v, sizeof(v));
	if (n < 0 || parse_credential(c, v, (size_t)n) < 0)
		goto malformed;
	if (query_param(r, "X-Amz-Date", c->amz_date, sizeof(c->amz_date)) < 0 ||
	    query_param(r, "X-Amz-SignedHeaders", c->signed_headers, sizeof(c->signed_headers)) < 0 ||
	    query_param(r, "X-Amz-Signature", c->signature, sizeof(c->signature)) < 0 ||
	    query_param(r, "X-Amz-Expires", v, sizeof(v)) < 0)
		goto malformed;
	errno = 0;
	c->expires = strtol(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || c->expires < 1) {
		snprintf(detail, dlen, "X-Amz-Expires should be a number");
		return OBJ_SIGV4_QUERY_MALFORMED;
	}
	if (c->expires > OBJ_SIGV4_EXPIRES_MAX) {
		snprintf(detail, dlen, "X-Amz-Expires must be less than a week (in seconds) that is 604800");
		return OBJ_SIGV4_QUERY_MALFORMED;
	}
	return OBJ_SIGV4_OK;
malformed:
	snprintf(detail, dlen, "Query-string authentication version 4 requires the X-Amz-Algorithm, "
		 "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
		 "X-Amz-Expires parameters.");
	return OBJ_SIGV4_QUERY_MALFORMED;
}

/* The payload hash the signature covers, into @a->payload. */
static enum obj_sigv4_error
payload_of(const struct obj_sigv4_request *r, int presigned, struct obj_sigv4_auth *a)
{
	const struct obj_header *h = find_header(r, "x-amz-content-sha256");
	char v[OBJ_SIGV4_HEX + 1];

	if (h == NULL) {
		if (presigned) {
			snprintf(a->payload, sizeof(a->payload), "%s", OBJ_SIGV4_UNSIGNED);
			return OBJ_SIGV4_OK;
		}
		if (r->body_hash == NULL)
			return OBJ_SIGV4_MISSING_SHA256;
		snprintf(a->payload, sizeof(a->payload), "%s", r->body_hash);
		return OBJ_SIGV4_OK;
	}
	if (copy_str(v, sizeof(v), h->value, h->value_len) < 0)
		return OBJ_SIGV4_BAD_SHA256;
	if (!is_hex64(v) && strcmp(v, OBJ_SIGV4_UNSIGNED) != 0 && strcmp(v, OBJ_SIGV4_STREAMING) != 0)
		return OBJ_SIGV4_BAD_SHA256;
	memcpy(a->payload, v, sizeof(v));
	return OBJ_SIGV4_OK;
}

enum obj_sigv4_error
obj_sigv4_verify(const struct obj_sigv4_request *r, const struct obj_sigv4_config *cfg,
		 struct obj_sigv4_auth *out)
{
	const struct obj_header *auth = find_header(r, "authorization");
	char qalg[sizeof(ALGORITHM) + 8];
	int presigned = query_param(r, "X-Amz-Algorithm", qalg, sizeof(qalg)) != -1;
	char hash[OBJ_SIGV4_HEX + 1], sig[OBJ_SIGV4_HEX + 1];
	enum obj_sigv4_error e, malformed;
	struct claim c;
	char *creq = NULL, *sts = NULL;
	size_t cap;
	time_t t;
	long n;
	int len;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.expires = -1;
	if (auth != NULL && presigned) {
		snprintf(out->detail, sizeof(out->detail), "Only one auth mechanism allowed");
		return OBJ_SIGV4_TWO_WAYS;
	}
	if (auth == NULL && !presigned)
		return OBJ_SIGV4_ANONYMOUS;
	if (auth != NULL) {
		const struct obj_header *d = find_header(r, "x-amz-date");

		e = parse_authorization(auth, &c, out->detail, sizeof(out->detail));
		if (e != OBJ_SIGV4_OK)
			return e;
		if (d == NULL || copy_str(c.amz_date, sizeof(c.amz_date), d->value, d->value_len) < 0) {
			snprintf(out->detail, sizeof(out->detail),
				 "AWS authentication requires a valid x-amz-date header");
			return OBJ_SIGV4_HEADER_MALFORMED;
		}
	} else {
		e = parse_presigned(r, &c, out->detail, sizeof(out->detail));
		if (e != OBJ_SIGV4_OK)
			return e;
	}
	malformed = presigned ? OBJ_SIGV4_QUERY_MALFORMED : OBJ_SIGV4_HEADER_MALFORMED;
	if (parse_amz_date(c.amz_date, &t) < 0 || memcmp(c.amz_date, c.date, 8) != 0) {
		snprintf(out->detail, sizeof(out->detail), "Invalid credential date or request date");
		return malformed;
	}
	if (strcmp(c.region, cfg->region) != 0) {
		snprintf(out->detail, sizeof(out->detail), "the region '%.20s' is wrong; expecting '%.20s'",
			 c.region, cfg->region);
		return malformed;
	}
	if (strcmp(c.service, cfg->service) != 0) {
		snprintf(out->detail, sizeof(out->detail), "wrong service '%.20s'", c.service);
		return malformed;
	}
	out->key = obj_keys_find(cfg->keys, c.key_id, strlen(c.key_id));
	if (out->key == NULL)
		return OBJ_SIGV4_UNKNOWN_KEY;
	if (presigned) {
		if (cfg->now > t + c.expires)
			return OBJ_SIGV4_EXPIRED;
		if (t > cfg->now + OBJ_SIGV4_SKEW_MAX)
			return OBJ_SIGV4_SKEWED;
	} else if (t > cfg->now + OBJ_SIGV4_SKEW_MAX || t < cfg->now - OBJ_SIGV4_SKEW_MAX) {
		return OBJ_SIGV4_SKEWED;
	}
	e = payload_of(r, presigned, out);
	if (e != OBJ_SIGV4_OK)
		return e;
	out->presigned = presigned;

	cap = 4096 + 3 * (r->path_len + r->query_len);
	for (unsigned int i = 0; i < r->n_headers; i++)
		cap += r->headers[i].name_len + r->headers[i].value_len + 2;
	creq = malloc(cap);
	if (creq == NULL) {
		/* Not the client's fault, but nothing was verified. */
		snprintf(out->detail, sizeof(out->detail), "out of memory");
		return OBJ_SIGV4_MISMATCH;
	}
	n = obj_sigv4_canonical_request(r, c.signed_headers, out->payload, creq, cap);
	if (n == -EILSEQ) {
		free(creq);
		return OBJ_SIGV4_BAD_URI;
	}
	if (n < 0) {
		free(creq);
		snprintf(out->detail, sizeof(out->detail), n == -EINVAL ?
			 "a signed header is missing or SignedHeaders is malformed" :
			 "the request is too large to sign");
		return n == -EINVAL ? malformed : OBJ_SIGV4_MISMATCH;
	}
	obj_sigv4_hash_hex(creq, (size_t)n, hash);
	free(creq);

	len = snprintf(out->scope, sizeof(out->scope), "%s/%s/%s/aws4_request",
		       c.date, c.region, c.service);
	if (len < 0 || (size_t)len >= sizeof(out->scope))
		return malformed;
	memcpy(out->amz_date, c.amz_date, sizeof(out->amz_date));
	sts = malloc(256);
	if (sts == NULL)
		return OBJ_SIGV4_MISMATCH;
	len = snprintf(sts, 256, ALGORITHM "\n%s\n%s\n%s", c.amz_date, out->scope, hash);
	obj_sigv4_signing_key(out->key->secret, c.date, c.region, c.service, out->signing_key);
	obj_sigv4_sign(out->signing_key, sts, (size_t)len, sig);
	free(sts);
	/* The claim is checked for shape first so that the comparison always
	 * runs over 64 bytes, whatever the client sent. */
	if (!is_hex64(c.signature) || sodium_memcmp(sig, c.signature, OBJ_SIGV4_HEX) != 0) {
		sodium_memzero(out->signing_key, sizeof(out->signing_key));
		return OBJ_SIGV4_MISMATCH;
	}
	memcpy(out->seed_signature, sig, sizeof(sig));
	return OBJ_SIGV4_OK;
}

static const struct {
	const char *code, *message;
	int status;
} errors[] = {
	[OBJ_SIGV4_OK] = { "", "", 200 },
	[OBJ_SIGV4_ANONYMOUS] = { "AccessDenied", "Access Denied", 403 },
	[OBJ_SIGV4_HEADER_MALFORMED] = { "AuthorizationHeaderMalformed",
		"The authorization header is malformed", 400 },
	[OBJ_SIGV4_QUERY_MALFORMED] = { "AuthorizationQueryParametersError",
		"Error parsing the X-Amz-Credential parameter", 400 },
	[OBJ_SIGV4_UNSUPPORTED] = { "InvalidRequest",
		"The authorization mechanism you have provided is not supported. "
		"Please use AWS4-HMAC-SHA256.", 400 },
	[OBJ_SIGV4_MISSING_SHA256] = { "InvalidRequest",
		"Missing required header for this request: x-amz-content-sha256", 400 },
	[OBJ_SIGV4_BAD_SHA256] = { "InvalidArgument",
		"x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.", 400 },
	[OBJ_SIGV4_UNKNOWN_KEY] = { "InvalidAccessKeyId",
		"The AWS Access Key Id you provided does not exist in our records.", 403 },
	[OBJ_SIGV4_MISMATCH] = { "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you "
		"provided. Check your key and signing method.", 403 },
	[OBJ_SIGV4_SKEWED] = { "RequestTimeTooSkewed",
		"The difference between the request time and the current time is too large.", 403 },
	[OBJ_SIGV4_EXPIRED] = { "AccessDenied", "Request has expired", 403 },
	[OBJ_SIGV4_BAD_URI] = { "InvalidURI", "Couldn't parse the specified URI.", 400 },
	[OBJ_SIGV4_TWO_WAYS] = { "InvalidArgument", "Only one auth mechanism allowed; only the "
		"X-Amz-Algorithm query parameter, Signature query string parameter or the "
		"Authorization header should be specified", 400 },
};

const char *
obj_sigv4_code(enum obj_sigv4_error e)
{
	return (unsigned int)e < sizeof(errors) / sizeof(errors[0]) ? errors[e].code : "AccessDenied";
}

const char *
obj_sigv4_message(enum obj_sigv4_error e)
{
	return (unsigned int)e < sizeof(errors) / sizeof(errors[0]) ? errors[e].message : "Access Denied";
}

int
obj_sigv4_status(enum obj_sigv4_error e)
{
	return (unsigned int)e < sizeof(errors) / sizeof(errors[0]) ? errors[e].status : 403;
}
