/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': the authentication gate (examples/kvs/auth.h). Which
 * requests a connection that did not authenticate may make, passwords and
 * users checked, HTTP's credentials, and the files refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "proto.h"
#include "stream.h"

/* @text as a stream of one span. */
static void
stream_of(struct kv_stream *s, const char *text)
{
	kv_stream_init(s);
	assert_int_equal(kv_stream_push(s, 0, text, (uint32_t)strlen(text)), 0);
}

/* Parse one RESP request of @text: the parser's result. */
static int
parse(struct kv_stream *s, const char *text, struct kv_request *req)
{
	char err[512];

	stream_of(s, text);
	return kv_resp_parse(s, NULL, req, err, sizeof(err));
}

static int
check(const struct kv_auth *a, const char *user, const char *pass)
{
	struct kv_stream s;
	int ok;

	stream_of(&s, pass);
	ok = kv_auth_check(a, user, user != NULL ? strlen(user) : 0, &s, 0, s.len);
	kv_stream_fini(&s, NULL, NULL);
	return ok;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_gate(void **state)
{
	static const char *const refused[] = {
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
		"*1\r\n$8\r\nFLUSHALL\r\n", "*1\r\n$4\r\nINFO\r\n", "*1\r\n$4\r\nPING\r\n",
		"*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n", "*1\r\n$7\r\nCOMMAND\r\n", "GET k\r\n",
	};
	static const char *const allowed[] = {
		"*2\r\n$4\r\nAUTH\r\n$1\r\nx\r\n", "*1\r\n$4\r\nQUIT\r\n", "auth a b\r\n",
	};
	struct kv_auth a = { 0 };
	struct kv_auth_conn conn = { 0 };
	struct kv_request req;
	struct kv_stream s;
	size_t i;

	(void)state;
	/* No password: everything runs. */
	assert_int_equal(parse(&s, refused[0], &req), KV_PARSE_OK);
	assert_true(kv_auth_allows(&a, &conn, &s, &req));
	assert_true(kv_auth_allows(NULL, NULL, &s, &req));
	kv_stream_fini(&s, NULL, NULL);

	assert_int_equal(kv_auth_set_password(&a, "s3cret", 6), 0);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(parse(&s, refused[i], &req), KV_PARSE_OK);
		assert_false(kv_auth_allows(&a, &conn, &s, &req));
		assert_false(kv_auth_allows(&a, NULL, &s, &req));
		conn.authenticated = 1;
		assert_true(kv_auth_allows(&a, &conn, &s, &req));
		conn.authenticated = 0;
		kv_stream_fini(&s, NULL, NULL);
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		assert_int_equal(parse(&s, allowed[i], &req), KV_PARSE_OK);
		assert_true(kv_auth_allows(&a, &conn, &s, &req));
		kv_stream_fini(&s, NULL, NULL);
	}
	kv_auth_fini(&a);
}

/* Which parse errors Redis gives before asking for AUTH. */
static void
test_early_errors(void **state)
{
	static const struct { const char *text; int early; } cases[] = {
		{ "*1\r\n$6\r\nNOSUCH\r\n", 1 },
		{ "*1\r\n$3\r\nGET\r\n", 1 },
		{ "*2\r\n$6\r\nCONFIG\r\n$3\r\nFOO\r\n", 1 },
		{ "*2\r\n$7\r\nCOMMAND\r\n$3\r\nFOO\r\n", 1 },
		{ "*3\r\n$4\r\nPING\r\n$1\r\na\r\n$1\r\nb\r\n", 0 },      /* PING's own check */
		{ "*4\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n", 0 },
		{ "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nEX\r\n", 0 },
		{ "*2\r\n$8\r\nFLUSHALL\r\n$3\r\nfoo\r\n", 0 },
	};
	struct kv_request req;
	struct kv_stream s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(&s, cases[i].text, &req), KV_PARSE_BAD_REQUEST);
		assert_int_equal(req.early_error, cases[i].early);
		kv_stream_fini(&s, NULL, NULL);
	}
}

static void
test_passwords(void **state)
{
	char path[] = "/tmp/test_auth_XXXXXX";
	struct kv_auth a = { 0 };
	char err[256];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "# users\nalice:wonder:land\n\nbob:b\n");
	assert_int_equal(kv_auth_load_users(&a, path, err, sizeof(err)), 0);
	assert_true(kv_auth_required(&a));
	assert_true(check(&a, "alice", "wonder:land"));
	assert_false(check(&a, "alice", "wonder"));
	assert_false(check(&a, "alice", "b"));
	assert_true(check(&a, "bob", "b"));
	assert_false(check(&a, "carol", "b"));
	/* Users, but no password for the default user: it matches nothing. */
	assert_false(check(&a, NULL, ""));
	assert_false(check(&a, "default", "b"));
	write_file(path, "pw\r\nsecond line\n");
	assert_int_equal(kv_auth_load_password(&a, path, err, sizeof(err)), 0);
	assert_true(check(&a, NULL, "pw"));
	assert_true(check(&a, "default", "pw"));
	assert_false(check(&a, NULL, "pw\r"));
	assert_false(check(&a, NULL, "p"));
	assert_false(check(&a, NULL, ""));
	kv_auth_fini(&a);

	/* Refused: an empty password, a bad user line, a missing file. */
	write_file(path, "\nafter an empty line\n");
	assert_int_equal(kv_auth_load_password(&a, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no password"));
	write_file(path, "");
	assert_int_equal(kv_auth_load_password(&a, path, err, sizeof(err)), -EINVAL);
	write_file(path, "alice\n");
	assert_int_equal(kv_auth_load_users(&a, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1:"));
	unlink(path);
	assert_int_equal(kv_auth_load_password(&a, path, err, sizeof(err)), -ENOENT);
	assert_false(kv_auth_required(&a));
	kv_auth_fini(&a);
}

/* HTTP: credentials in each request, Bearer or Basic. */
static void
test_http(void **state)
{
	static const struct { const char *hdr; int ok; } cases[] = {
		{ "Authorization: Bearer s3cret", 1 },
		{ "authorization: bearer   s3cret", 1 },
		{ "Authorization: Bearer s3cre", 0 },
		{ "Authorization: Bearer s3cretx", 0 },
		{ "Authorization: Basic ZGVmYXVsdDpzM2NyZXQ=", 1 },   /* default:s3cret */
		{ "Authorization: Basic Ym9iOmI=", 1 },               /* bob:b */
		{ "Authorization: Basic Ym9iOmM=", 0 },               /* bob:c */
		{ "Authorization: Basic !!!", 0 },
		{ "Authorization: Digest s3cret", 0 },
		{ "X-Other: 1", 0 },
	};
	char path[] = "/tmp/test_auth_XXXXXX", text[256];
	struct kv_auth a = { 0 };
	struct kv_request req;
	struct kv_stream s;
	char err[256];
	size_t i;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "bob:b\n");
	assert_int_equal(kv_auth_load_users(&a, path, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(kv_auth_set_password(&a, "s3cret", 6), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "GET /k HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n",
			 cases[i].hdr);
		stream_of(&s, text);
		assert_int_equal(kv_http_parse(&s, NULL, &req, err, sizeof(err)), KV_PARSE_OK);
		if (kv_auth_allows(&a, NULL, &s, &req) != cases[i].ok)
			fail_msg("%s: allowed %d", cases[i].hdr, !cases[i].ok);
		kv_stream_fini(&s, NULL, NULL);
	}
	kv_auth_fini(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_early_errors),
		cmocka_unit_test(test_passwords),
		cmocka_unit_test(test_http),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
