/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Who may use the server (doc/kvs.md, "Authentication"): the password of
 * the default user (--requirepass-file) and named users (--user-file), as
 * Redis 7.0's AUTH sees them, and the gate every request passes before it
 * runs. Only digests of the passwords are kept, and a password is checked
 * by comparing digests in constant time: neither the time a check takes
 * nor its memory tells how much of a guess was right, or how long the
 * password is.
 */
#ifndef KVS_AUTH_H
#define KVS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"
#include "stream.h"

#define KV_AUTH_DIGEST 32          /* BLAKE2b-256 */
#define KV_AUTH_USER_MAX 64        /* bytes of a user's name */
/* Failed AUTHs after which a connection is closed: an online guesser pays
 * a new connection (a handshake, a slot of --max-conns) every few guesses. */
#define KV_AUTH_MAX_FAILURES 10

struct kv_auth_user {
	char name[KV_AUTH_USER_MAX + 1];
	uint8_t digest[KV_AUTH_DIGEST];
};

struct kv_auth {
	int has_default;               /* the default user has a password */
	uint8_t default_digest[KV_AUTH_DIGEST];
	struct kv_auth_user *users;    /* --user-file's */
	unsigned int n_users;
};

/* Per connection, zeroed at its start. */
struct kv_auth_conn {
	int authenticated;
	unsigned int failures;         /* failed AUTHs */
};

/* Redis 7.0's words, byte for byte. */
#define KV_AUTH_NOAUTH "-NOAUTH Authentication required.\r\n"
#define KV_AUTH_WRONGPASS \
	"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
#define KV_AUTH_NOPASS                                                   \
	"-ERR AUTH <password> called without any password configured for " \
	"the default user. Are you sure your configuration is correct?\r\n"

/* A password is needed at all: the default user has one, or users are
 * named (the default user then has none that matches). */
static inline int
kv_auth_required(const struct kv_auth *a)
{
	return a != NULL && (a->has_default || a->n_users > 0);
}

/* Give the default user password @pass (@len bytes, at least one).
 * @return 0 or -EINVAL. */
int kv_auth_set_password(struct kv_auth *a, const char *pass, size_t len);

/* The default user's password from the first line of @path (its newline,
 * and a CR before it, not part of it). @return 0, or -errno with @err
 * saying what is wrong (an empty password is -EINVAL). */
int kv_auth_load_password(struct kv_auth *a, const char *path, char *err, size_t errlen);

/* Users from @path, a "name:password" a line ('#' lines and blank ones
 * skipped). @return 0, or -errno with @err naming the file and line. */
int kv_auth_load_users(struct kv_auth *a, const char *path, char *err, size_t errlen);

void kv_auth_fini(struct kv_auth *a);

/* @user (NULL, or @ulen bytes: NULL is the default user) holds password
 * @pass, the bytes [@off, @off + @len) of @s. Takes the same time whatever
 * the password and the guess. @return 1 or 0. */
int kv_auth_check(const struct kv_auth *a, const char *user, size_t ulen,
		  const struct kv_stream *s, size_t off, size_t len);

/* An HTTP request's Authorization value (@off, @len in @s): "Bearer
 * <password>" (the default user's) or "Basic <base64 of user:password>".
 * @return 1 when it names a user with that password, else 0. */
int kv_auth_check_http(const struct kv_auth *a, const struct kv_stream *s,
		       size_t off, size_t len);

/* May request @req run on a connection in state @conn (NULL: one that
 * never authenticates)? Without a password, yes; else only once the
 * connection authenticated (HTTP: the request carries credentials), or
 * for the commands Redis lets in first (no_auth: AUTH, QUIT). @return 1
 * or 0. */
int kv_auth_allows(const struct kv_auth *a, const struct kv_auth_conn *conn,
		   const struct kv_stream *s, const struct kv_request *req);

#endif /* KVS_AUTH_H */
