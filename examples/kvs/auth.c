/* SPDX-License-Identifier: BSD-3-Clause */
/* Passwords and the authentication gate (auth.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "command.h"

/* A password's digest. The bytes are hashed, not compared, so that a
 * check costs the same for a guess of any length and prefix. */
static void
digest_bytes(const void *p, size_t len, uint8_t out[KV_AUTH_DIGEST])
{
	crypto_generichash(out, KV_AUTH_DIGEST, p, len, NULL, 0);
}

/* The same, of bytes of the receive stream (they may span segments). */
static void
digest_stream(const struct kv_stream *s, size_t off, size_t len, uint8_t out[KV_AUTH_DIGEST])
{
	crypto_generichash_state st;
	uint8_t chunk[256];
	size_t n;

	crypto_generichash_init(&st, NULL, 0, KV_AUTH_DIGEST);
	while (len > 0) {
		n = len < sizeof(chunk) ? len : sizeof(chunk);
		n = kv_stream_copy(s, off, chunk, n);
		if (n == 0)
			break;
		crypto_generichash_update(&st, chunk, n);
		off += n;
		len -= n;
	}
	crypto_generichash_final(&st, out, KV_AUTH_DIGEST);
	sodium_memzero(chunk, sizeof(chunk));
}

int
kv_auth_set_password(struct kv_auth *a, const char *pass, size_t len)
{
	if (len == 0 || sodium_init() < 0)
		return -EINVAL;
	digest_bytes(pass, len, a->default_digest);
	a->has_default = 1;
	return 0;
}

/* One line of @f without its LF (and a CR before it), into @buf. Returns
 * its length, -1 at the end of the file, -2 when longer than @size - 1. */
static long
read_line(FILE *f, char *buf, size_t size)
{
	size_t n;

	if (fgets(buf, (int)size, f) == NULL)
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (!feof(f))
		return -2;
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return (long)n;
}

int
kv_auth_load_password(struct kv_auth *a, const char *path, char *err, size_t errlen)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	long n;
	int ret = 0;

	if (f == NULL) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	n = read_line(f, line, sizeof(line));
	if (n == -2) {
		snprintf(err, errlen, "%s: the password is longer than %zu bytes", path,
			 sizeof(line) - 2);
		ret = -EINVAL;
	} else if (n <= 0) {
		snprintf(err, errlen, "%s: no password on its first line", path);
		ret = -EINVAL;
	} else {
		ret = kv_auth_set_password(a, line, (size_t)n);
		if (ret != 0)
			snprintf(err, errlen, "%s: libsodium failed to start", path);
	}
	sodium_memzero(line, sizeof(line));
	fclose(f);
	return ret;
}

int
kv_auth_load_users(struct kv_auth *a, const char *path, char *err, size_t errlen)
{
	struct kv_auth_user *u;
	char line[4096], *colon;
	FILE *f = fopen(path, "r");
	unsigned int lineno = 0;
	long n;
	int ret = 0;

	if (f == NULL) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "%s: libsodium failed to start", path);
		ret = -EINVAL;
		goto out;
	}
	while ((n = read_line(f, line, sizeof(line))) != -1) {
		lineno++;
		if (n == 0 || line[0] == '#')
			continue;
		colon = n > 0 ? strchr(line, ':') : NULL;
		if (n == -2 || colon == NULL || colon == line || colon[1] == '\0' ||
		    (size_t)(colon - line) > KV_AUTH_USER_MAX) {
			snprintf(err, errlen,
				 "%s:%u: not \"user:password\" (a name of 1 to %d bytes, "
				 "a password of at least one)", path, lineno, KV_AUTH_USER_MAX);
			ret = -EINVAL;
			goto out;
		}
		u = realloc(a->users, (a->n_users + 1) * sizeof(*u));
		if (u == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			ret = -ENOMEM;
			goto out;
		}
		a->users = u;
		u = &a->users[a->n_users++];
		memcpy(u->name, line, (size_t)(colon - line));
		u->name[colon - line] = '\0';
		digest_bytes(colon + 1, strlen(colon + 1), u->digest);
	}
	if (a->n_users == 0) {
		snprintf(err, errlen, "%s: names no user", path);
		ret = -EINVAL;
	}
out:
	sodium_memzero(line, sizeof(line));
	fclose(f);
	return ret;
}

void
kv_auth_fini(struct kv_auth *a)
{
	free(a->users);
	sodium_memzero(a, sizeof(*a));
}

/* The digest @user's password must have, or NULL: no such user. The
 * default user is the one named "default" unless the file names one so. */
static const uint8_t *
user_digest(const struct kv_auth *a, const char *user, size_t ulen)
{
	unsigned int i;

	for (i = 0; user != NULL && i < a->n_users; i++)
		if (strlen(a->users[i].name) == ulen && memcmp(a->users[i].name, user, ulen) == 0)
			return a->users[i].digest;
	if (user == NULL || (ulen == 7 && memcmp(user, "default", 7) == 0))
		return a->has_default ? a->default_digest : NULL;
	return NULL;
}

static int
check_digest(const struct kv_auth *a, const char *user, size_t ulen,
	     const uint8_t got[KV_AUTH_DIGEST])
{
	const uint8_t *want = user_digest(a, user, ulen);
	int ok;

	/* An unknown user costs the same as a wrong password. */
	ok = sodium_memcmp(got, want != NULL ? want : a->default_digest, KV_AUTH_DIGEST) == 0;
	return ok && want != NULL;
}

int
kv_auth_check(const struct kv_auth *a, const char *user, size_t ulen,
	      const struct kv_stream *s, size_t off, size_t len)
{
	uint8_t got[KV_AUTH_DIGEST];

	digest_stream(s, off, len, got);
	return check_digest(a, user, ulen, got);
}

/* "Bearer" and "Basic" in any case, then blanks. Returns the scheme's
 * length with the blanks, or 0 when @len bytes at @p are not @scheme. */
static size_t
scheme_is(const char *p, size_t len, const char *scheme)
{
	size_t n = strlen(scheme), i;

	if (len <= n || strncasecmp(p, scheme, n) != 0 || (p[n] != ' ' && p[n] != '\t'))
		return 0;
	for (i = n; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	return i;
}

int
kv_auth_check_http(const struct kv_auth *a, const struct kv_stream *s, size_t off,
		   size_t len)
{
	/* Credentials are short: a longer header is refused unread. */
	char hdr[512], plain[384], *colon;
	uint8_t got[KV_AUTH_DIGEST];
	size_t skip, plen;
	int ok = 0;

	if (len >= sizeof(hdr) || kv_stream_copy(s, off, hdr, len) != len)
		return 0;
	if ((skip = scheme_is(hdr, len, "bearer")) > 0)
		return kv_auth_check(a, NULL, 0, s, off + skip, len - skip);
	if ((skip = scheme_is(hdr, len, "basic")) == 0)
		return 0;
	if (sodium_base642bin((unsigned char *)plain, sizeof(plain) - 1, hdr + skip, len - skip,
			      NULL, &plen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	plain[plen] = '\0';
	colon = memchr(plain, ':', plen);
	if (colon == NULL)
		goto out;
	digest_bytes(colon + 1, plen - (size_t)(colon + 1 - plain), got);
	ok = check_digest(a, plain, (size_t)(colon - plain), got);
out:
	sodium_memzero(hdr, sizeof(hdr));
	sodium_memzero(plain, sizeof(plain));
	return ok;
}

int
kv_auth_allows(const struct kv_auth *a, const struct kv_auth_conn *conn,
	       const struct kv_stream *s, const struct kv_request *req)
{
	if (!kv_auth_required(a) || (kv_commands[req->op].flags & KVC_NO_AUTH))
		return 1;
	if (req->http)
		return req->http_auth.len > 0 &&
		       kv_auth_check_http(a, s, req->http_auth.off, req->http_auth.len);
	return conn != NULL && conn->authenticated;
}
