/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': paste-objects's SigV4 verifier (examples/objects/sigv4.h)
 * against AWS's published signatures: the SigV4 test suite (service
 * "service", 20150830T123600Z) and the S3 examples of "Signature
 * Calculations for the Authorization Header" and of presigned URLs and
 * aws-chunked uploads (examplebucket, 20130524T000000Z). Each is verified
 * as a request (accepted), then tampered with (refused), and the errors
 * of time, keys and shape.
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

#include "chunked.h"
#include "keys.h"
#include "sigv4.h"

#define SUITE_ID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_NOW 1440938160            /* 20150830T123600Z */
#define S3_ID "AKIAIOSFODNN7EXAMPLE"
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_NOW 1369353600               /* 20130524T000000Z */
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A request written as "Name:value" lines, the way the suite shows them. */
struct req {
	struct obj_header h[16];
	unsigned int n;
	char auth[512];
	struct obj_sigv4_request r;
};

static void
add(struct req *q, const char *name, const char *value)
{
	q->h[q->n].name = name;
	q->h[q->n].name_len = strlen(name);
	q->h[q->n].value = value;
	q->h[q->n].value_len = strlen(value);
	q->n++;
}

/* @target "path?query". */
static void
start(struct req *q, const char *method, const char *target)
{
	const char *qm = strchr(target, '?');

	memset(q, 0, sizeof(*q));
	q->r.method = method;
	q->r.path = target;
	q->r.path_len = qm != NULL ? (size_t)(qm - target) : strlen(target);
	q->r.query = qm != NULL ? qm + 1 : NULL;
	q->r.query_len = qm != NULL ? strlen(qm + 1) : 0;
	q->r.headers = q->h;
}

static void
sign_header(struct req *q, const char *id, const char *date, const char *scope,
	    const char *signed_headers, const char *sig)
{
	snprintf(q->auth, sizeof(q->auth),
		 "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s, SignedHeaders=%s, Signature=%s",
		 id, date, scope, signed_headers, sig);
	add(q, "Authorization", q->auth);
}

static struct obj_keys keys;

static int
setup(void **state)
{
	(void)state;
	memset(&keys, 0, sizeof(keys));
	assert_int_equal(obj_keys_add(&keys, SUITE_ID, SUITE_SECRET), 0);
	assert_int_equal(obj_keys_add(&keys, S3_ID, S3_SECRET), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	obj_keys_fini(&keys);
	return 0;
}

static enum obj_sigv4_error
verify(struct req *q, const char *service, time_t now, struct obj_sigv4_auth *a)
{
	struct obj_sigv4_config cfg = { &keys, "us-east-1", service, now };

	q->r.n_headers = q->n;
	return obj_sigv4_verify(&q->r, &cfg, a);
}

/* The suite's request: accepted with @sig, refused with its last hex
 * digit changed, and refused with a header value changed. */
struct suite_case {
	const char *method, *target;
	const char *hname[3], *hvalue[3];
	const char *body;
	const char *signed_headers, *sig;
};

static const struct suite_case suite[] = {
	{ "GET", "/", { 0 }, { 0 }, "", "host;x-amz-date",       /* get-vanilla */
	  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "GET", "/?Param1=value1", { 0 }, { 0 }, "", "host;x-amz-date", /* get-vanilla-empty-query-key */
	  "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb" },
	{ "GET", "/\xe1\x88\xb4", { 0 }, { 0 }, "", "host;x-amz-date", /* get-utf8 */
	  "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85" },
	{ "GET", "/?Param2=value2&Param1=value1", { 0 }, { 0 }, "", "host;x-amz-date",
	  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" }, /* -query-order-key-case */
	{ "POST", "/", { 0 }, { 0 }, "", "host;x-amz-date",      /* post-vanilla */
	  "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },
	{ "POST", "/?Param1=value1", { 0 }, { 0 }, "", "host;x-amz-date", /* post-vanilla-query */
	  "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },
	{ "POST", "/", { "Content-Type" }, { "application/x-www-form-urlencoded" }, "Param1=value1",
	  "content-type;host;x-amz-date",                          /* post-x-www-form-urlencoded */
	  "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },
	{ "POST", "/", { "Content-Type" }, { "application/x-www-form-urlencoded; charset=utf8" },
	  "Param1=value1", "content-type;host;x-amz-date",       /* ...-parameters */
	  "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe" },
	{ "GET", "/", { "My-Header1", "My-Header2" }, { " value1", " \"a   b   c\"" }, "",
	  "host;my-header1;my-header2;x-amz-date",               /* get-header-value-trim */
	  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
	{ "GET", "/", { "My-Header1", "My-Header1", "My-Header1" }, { "value2", "value2", "value1" }, "",
	  "host;my-header1;x-amz-date",                          /* get-header-key-duplicate */
	  "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea" },
	{ "POST", "/", { "My-Header1" }, { "value1" }, "", "host;my-header1;x-amz-date",
	  "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c" }, /* post-header-key-sort */
	{ "POST", "/", { "My-Header1" }, { "VALUE1" }, "", "host;my-header1;x-amz-date",
	  "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d" }, /* post-header-value-case */
};

static void
build_suite(struct req *q, const struct suite_case *c, const char *sig, char *hash)
{
	unsigned int k;

	start(q, c->method, c->target);
	add(q, "Host", "example.amazonaws.com");
	for (k = 0; k < 3 && c->hname[k] != NULL; k++)
		add(q, c->hname[k], c->hvalue[k]);
	add(q, "X-Amz-Date", "20150830T123600Z");
	sign_header(q, SUITE_ID, "20150830", "us-east-1/service/aws4_request",
		    c->signed_headers, sig);
	obj_sigv4_hash_hex(c->body, strlen(c->body), hash);
	q->r.body_hash = hash;
}

static void
test_suite_vectors(void **state)
{
	char hash[OBJ_SIGV4_HEX + 1], bad[OBJ_SIGV4_HEX + 1];
	struct obj_sigv4_auth a;
	struct req q;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		const struct suite_case *c = &suite[i];

		build_suite(&q, c, c->sig, hash);
		if (verify(&q, "service", SUITE_NOW, &a) != OBJ_SIGV4_OK)
			fail_msg("case %zu (%s %s) refused", i, c->method, c->target);
		assert_ptr_equal(a.key, &keys.keys[0]);
		assert_string_equal(a.payload, hash);

		/* One hex digit of the signature changed. */
		snprintf(bad, sizeof(bad), "%s", c->sig);
		bad[63] = bad[63] == '0' ? '1' : '0';
		build_suite(&q, c, bad, hash);
		assert_int_equal(verify(&q, "service", SUITE_NOW, &a), OBJ_SIGV4_MISMATCH);

		/* The body is not the one signed. */
		build_suite(&q, c, c->sig, hash);
		obj_sigv4_hash_hex("x", 1, hash);
		assert_int_equal(verify(&q, "service", SUITE_NOW, &a), OBJ_SIGV4_MISMATCH);

		/* The wrong service, or a request the service did not expect. */
		build_suite(&q, c, c->sig, hash);
		assert_int_equal(verify(&q, "s3", SUITE_NOW, &a), OBJ_SIGV4_HEADER_MALFORMED);
	}
}

static void
test_suite_canonical(void **state)
{
	static const char expect[] =
		"GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
		"x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA;
	char buf[512];
	struct req q;

	(void)state;
	start(&q, "GET", "/?Param2=value2&Param1=value1");
	add(&q, "Host", "example.amazonaws.com");
	add(&q, "X-Amz-Date", "20150830T123600Z");
	q.r.n_headers = q.n;
	assert_int_equal(obj_sigv4_canonical_request(&q.r, "host;x-amz-date", EMPTY_SHA,
						     buf, sizeof(buf)), (long)strlen(expect));
	assert_string_equal(buf, expect);
	/* Too small a buffer, a header signed but not sent, a list that is
	 * not lower case. */
	assert_int_equal(obj_sigv4_canonical_request(&q.r, "host;x-amz-date", EMPTY_SHA, buf, 40),
			 -ENOSPC);
	assert_int_equal(obj_sigv4_canonical_request(&q.r, "host;range", EMPTY_SHA, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(obj_sigv4_canonical_request(&q.r, "Host;x-amz-date", EMPTY_SHA, buf,
						     sizeof(buf)), -EINVAL);
	assert_int_equal(obj_sigv4_canonical_request(&q.r, "host;;x-amz-date", EMPTY_SHA, buf,
						     sizeof(buf)), -EINVAL);
}

/* S3's paths are encoded once and never normalized. */
static void
test_s3_paths(void **state)
{
	static const struct { const char *path, *canon; } cases[] = {
		{ "/b/a b", "/b/a%20b" },
		{ "/b/a%20b", "/b/a%20b" },
		{ "/b/a+b", "/b/a%2Bb" },
		{ "/b/a%2Bb", "/b/a%2Bb" },
		{ "/b//x/./y/../z", "/b//x/./y/../z" },
		{ "/b/%E1%88%b4", "/b/%E1%88%B4" },
		{ "/b/\xe1\x88\xb4", "/b/%E1%88%B4" },
		{ "/b/a~b$c", "/b/a~b%24c" },
		{ "", "/" },
	};
	char buf[512], want[256];
	struct req q;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		start(&q, "GET", cases[i].path);
		add(&q, "Host", "h");
		q.r.n_headers = q.n;
		snprintf(want, sizeof(want), "GET\n%s\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD", cases[i].canon);
		assert_true(obj_sigv4_canonical_request(&q.r, "host", OBJ_SIGV4_UNSIGNED, buf, sizeof(buf)) > 0);
		assert_string_equal(buf, want);
	}
	/* Broken escapes. */
	start(&q, "GET", "/b/a%2");
	add(&q, "Host", "h");
	q.r.n_headers = q.n;
	assert_int_equal(obj_sigv4_canonical_request(&q.r, "host", EMPTY_SHA, buf, sizeof(buf)), -EILSEQ);
	start(&q, "GET", "/b/a%zz");
	add(&q, "Host", "h");
	q.r.n_headers = q.n;
	assert_int_equal(obj_sigv4_canonical_request(&q.r, "host", EMPTY_SHA, buf, sizeof(buf)), -EILSEQ);
	start(&q, "GET", "/b/a?x=%g0");
	add(&q, "Host", "h");
	q.r.n_headers = q.n;
	assert_int_equal(obj_sigv4_canonical_request(&q.r, "host", EMPTY_SHA, buf, sizeof(buf)), -EILSEQ);
}

/* "Signature Calculations for the Authorization Header", S3's examples. */
static void
s3_get_object(struct req *q, const char *range, const char *sig)
{
	start(q, "GET", "/test.txt");
	add(q, "Host", "examplebucket.s3.amazonaws.com");
	add(q, "Range", range);
	add(q, "x-amz-content-sha256", EMPTY_SHA);
	add(q, "x-amz-date", "20130524T000000Z");
	sign_header(q, S3_ID, "20130524", "us-east-1/s3/aws4_request",
		    "host;range;x-amz-content-sha256;x-amz-date", sig);
}

#define GET_OBJECT_SIG "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"

static void
test_s3_examples(void **state)
{
	struct obj_sigv4_auth a;
	struct req q;

	(void)state;
	s3_get_object(&q, "bytes=0-9", GET_OBJECT_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_OK);
	assert_string_equal(a.payload, EMPTY_SHA);
	assert_string_equal(a.key->id, S3_ID);
	s3_get_object(&q, "bytes=0-10", GET_OBJECT_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_MISMATCH);

	/* PUT /test$file.text with a Date header signed beside x-amz-date. */
	start(&q, "PUT", "/test$file.text");
	add(&q, "Host", "examplebucket.s3.amazonaws.com");
	add(&q, "Date", "Fri, 24 May 2013 00:00:00 GMT");
	add(&q, "x-amz-date", "20130524T000000Z");
	add(&q, "x-amz-storage-class", "REDUCED_REDUNDANCY");
	add(&q, "x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	sign_header(&q, S3_ID, "20130524", "us-east-1/s3/aws4_request",
		    "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
		    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_OK);
	{
		char h[OBJ_SIGV4_HEX + 1];

		obj_sigv4_hash_hex("Welcome to Amazon S3.", 21, h);
		assert_string_equal(a.payload, h); /* what the body must hash to */
	}

	/* GET ?lifecycle: a parameter without '='. */
	start(&q, "GET", "/?lifecycle");
	add(&q, "Host", "examplebucket.s3.amazonaws.com");
	add(&q, "x-amz-date", "20130524T000000Z");
	add(&q, "x-amz-content-sha256", EMPTY_SHA);
	sign_header(&q, S3_ID, "20130524", "us-east-1/s3/aws4_request",
		    "host;x-amz-content-sha256;x-amz-date",
		    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_OK);

	/* GET ?max-keys=2&prefix=J. */
	start(&q, "GET", "/?max-keys=2&prefix=J");
	add(&q, "Host", "examplebucket.s3.amazonaws.com");
	add(&q, "x-amz-date", "20130524T000000Z");
	add(&q, "x-amz-content-sha256", EMPTY_SHA);
	sign_header(&q, S3_ID, "20130524", "us-east-1/s3/aws4_request",
		    "host;x-amz-content-sha256;x-amz-date",
		    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_OK);
	/* The same parameters in another order sign the same. */
	q.r.path = "/?prefix=J&max-keys=2";
	q.r.query = q.r.path + 2;
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_OK);
	q.r.path = "/?prefix=K&max-keys=2";
	q.r.query = q.r.path + 2;
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_MISMATCH);
}

#define PRESIGNED "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F" \
	"20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&" \
	"X-Amz-SignedHeaders=host&X-Amz-Signature="
#define PRESIGNED_SIG "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

static void
presigned(struct req *q, const char *target)
{
	start(q, "GET", target);
	add(q, "Host", "examplebucket.s3.amazonaws.com");
}

static void
test_presigned(void **state)
{
	struct obj_sigv4_auth a;
	struct req q;

	(void)state;
	presigned(&q, PRESIGNED PRESIGNED_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_OK);
	assert_true(a.presigned);
	assert_string_equal(a.payload, OBJ_SIGV4_UNSIGNED);
	/* Valid to its last second, expired after it, and not yet valid
	 * until 15 minutes before its date. */
	assert_int_equal(verify(&q, "s3", S3_NOW + 86400, &a), OBJ_SIGV4_OK);
	assert_int_equal(verify(&q, "s3", S3_NOW + 86401, &a), OBJ_SIGV4_EXPIRED);
	assert_int_equal(verify(&q, "s3", S3_NOW - 900, &a), OBJ_SIGV4_OK);
	assert_int_equal(verify(&q, "s3", S3_NOW - 901, &a), OBJ_SIGV4_SKEWED);
	/* Tampered: another object, a longer expiry. */
	presigned(&q, "/test2.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
		  "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
		  "X-Amz-SignedHeaders=host&X-Amz-Signature=" PRESIGNED_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_MISMATCH);
	presigned(&q, "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
		  "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86401&"
		  "X-Amz-SignedHeaders=host&X-Amz-Signature=" PRESIGNED_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_MISMATCH);
	/* More than 7 days, a non-number, a missing parameter. */
	presigned(&q, "/t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
		  "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604801&"
		  "X-Amz-SignedHeaders=host&X-Amz-Signature=" PRESIGNED_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_QUERY_MALFORMED);
	presigned(&q, "/t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
		  "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=-5&"
		  "X-Amz-SignedHeaders=host&X-Amz-Signature=" PRESIGNED_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_QUERY_MALFORMED);
	presigned(&q, "/t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
		  "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
		  "X-Amz-SignedHeaders=host&X-Amz-Signature=" PRESIGNED_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_QUERY_MALFORMED);
	presigned(&q, "/t?X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Signature=" PRESIGNED_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_QUERY_MALFORMED);
	/* Signed both ways at once. */
	presigned(&q, PRESIGNED PRESIGNED_SIG);
	add(&q, "Authorization", "AWS4-HMAC-SHA256 Credential=x");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_TWO_WAYS);
}

/* "Signature Calculations for the Authorization Header: Transferring
 * Payload in Multiple Chunks": the seed and each chunk's signature. */
static void
test_chunked(void **state)
{
	static const char *chunk_sigs[] = {
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
	};
	static const size_t lens[] = { 65536, 1024, 0 };
	char sig[OBJ_SIGV4_HEX + 1], prev[OBJ_SIGV4_HEX + 1];
	struct obj_sigv4_auth a;
	struct req q;
	char *data = malloc(65536);
	int i;

	(void)state;
	assert_non_null(data);
	memset(data, 'a', 65536);
	start(&q, "PUT", "/examplebucket/chunkObject.txt");
	add(&q, "Host", "s3.amazonaws.com");
	add(&q, "x-amz-date", "20130524T000000Z");
	add(&q, "x-amz-storage-class", "REDUCED_REDUNDANCY");
	add(&q, "x-amz-content-sha256", OBJ_SIGV4_STREAMING);
	add(&q, "Content-Encoding", "aws-chunked");
	add(&q, "x-amz-decoded-content-length", "66560");
	add(&q, "Content-Length", "66824");
	sign_header(&q, S3_ID, "20130524", "us-east-1/s3/aws4_request",
		    "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
		    "x-amz-decoded-content-length;x-amz-storage-class",
		    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_OK);
	assert_string_equal(a.payload, OBJ_SIGV4_STREAMING);
	assert_string_equal(a.seed_signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
	memcpy(prev, a.seed_signature, sizeof(prev));
	for (i = 0; i < 3; i++) {
		assert_int_equal(obj_sigv4_chunk_signature(&a, prev, data, lens[i], sig), 0);
		assert_string_equal(sig, chunk_sigs[i]);
		memcpy(prev, sig, sizeof(prev));
	}
	/* A chunk changed by one byte signs differently. */
	data[100] = 'b';
	assert_int_equal(obj_sigv4_chunk_signature(&a, a.seed_signature, data, 65536, sig), 0);
	assert_string_not_equal(sig, chunk_sigs[0]);
	free(data);
}

/* The aws-chunked body of the same example, decoded: its length is the
 * example's Content-Length, its payload 66,560 bytes of 'a'. */
struct collected {
	char *buf;
	uint64_t bytes;
	int in_order;
};

static void
collect(void *arg, const char *p, size_t len, uint64_t body_off)
{
	struct collected *c = arg;

	if (body_off != c->bytes)
		c->in_order = 0;
	memcpy(c->buf + body_off, p, len);
	c->bytes += len;
}

static size_t
chunked_body(char *b, const char *sig3_override)
{
	size_t n = 0;

	n += (size_t)sprintf(b + n, "10000;chunk-signature="
			     "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n");
	memset(b + n, 'a', 65536);
	n += 65536;
	n += (size_t)sprintf(b + n, "\r\n400;chunk-signature="
			     "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
	memset(b + n, 'a', 1024);
	n += 1024;
	n += (size_t)sprintf(b + n, "\r\n0;chunk-signature=%s\r\n\r\n", sig3_override != NULL ?
			     sig3_override :
			     "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
	return n;
}

/* Feed @body in pieces of @piece bytes. @return the decoder's last result;
 * *@used_total the bytes it read. */
static int
feed(const struct obj_sigv4_auth *a, const char *body, size_t len, size_t piece,
     uint64_t decoded, struct collected *out, size_t *used_total)
{
	struct obj_chunked c;
	size_t off = 0, used;
	int ret = OBJ_CHUNKED_MORE;

	obj_chunked_init(&c, a, decoded);
	*used_total = 0;
	while (off < len && ret == OBJ_CHUNKED_MORE) {
		size_t n = len - off < piece ? len - off : piece;

		ret = obj_chunked_feed(&c, body + off, n, &used, collect, out);
		*used_total += used;
		off += n;
	}
	return ret;
}

static void
test_chunked_body(void **state)
{
	static const size_t pieces[] = { 1, 7, 88, 4096, 1 << 20 };
	struct obj_sigv4_auth a;
	struct collected out;
	struct req q;
	char *body = malloc(70000), *copy = malloc(70000);
	size_t len, used, i;

	(void)state;
	assert_non_null(body);
	assert_non_null(copy);
	out.buf = malloc(70000);
	assert_non_null(out.buf);
	start(&q, "PUT", "/examplebucket/chunkObject.txt");
	add(&q, "Host", "s3.amazonaws.com");
	add(&q, "x-amz-date", "20130524T000000Z");
	add(&q, "x-amz-storage-class", "REDUCED_REDUNDANCY");
	add(&q, "x-amz-content-sha256", OBJ_SIGV4_STREAMING);
	add(&q, "Content-Encoding", "aws-chunked");
	add(&q, "x-amz-decoded-content-length", "66560");
	add(&q, "Content-Length", "66824");
	sign_header(&q, S3_ID, "20130524", "us-east-1/s3/aws4_request",
		    "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
		    "x-amz-decoded-content-length;x-amz-storage-class",
		    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_OK);

	len = chunked_body(body, NULL);
	assert_int_equal(len, 66824);          /* the example's Content-Length */
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		memset(out.buf, 0, 70000);
		out.bytes = 0;
		out.in_order = 1;
		assert_int_equal(feed(&a, body, len, pieces[i], 66560, &out, &used), OBJ_CHUNKED_DONE);
		assert_int_equal(used, 66824);
		assert_int_equal(out.bytes, 66560);
		assert_true(out.in_order);
		for (size_t k = 0; k < 66560; k++)
			if (out.buf[k] != 'a')
				fail_msg("payload byte %zu wrong (pieces of %zu)", k, pieces[i]);
	}
	/* Bytes after the final chunk are not read. */
	memcpy(copy, body, len);
	memcpy(copy + len, "GET ", 4);
	out.bytes = 0;
	assert_int_equal(feed(&a, copy, len + 4, 1 << 20, 66560, &out, &used), OBJ_CHUNKED_DONE);
	assert_int_equal(used, 66824);

	/* One payload byte changed: the first chunk's signature fails, and
	 * nothing after it is reported. */
	memcpy(copy, body, len);
	copy[1000] = 'b';
	out.bytes = 0;
	assert_int_equal(feed(&a, copy, len, 4096, 66560, &out, &used), -EACCES);
	assert_int_equal(out.bytes, 65536);
	/* The last chunk's signature changed. */
	len = chunked_body(copy, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df0");
	out.bytes = 0;
	assert_int_equal(feed(&a, copy, len, 4096, 66560, &out, &used), -EACCES);
	/* Chunks reordered (the second's signature first) fail. */
	{
		static const char swapped[] = "400;chunk-signature="
			"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n";
		size_t n = strlen(swapped);

		memcpy(copy, swapped, n);
		memset(copy + n, 'a', 1024);
		memcpy(copy + n + 1024, "\r\n", 2);
		out.bytes = 0;
		assert_int_equal(feed(&a, copy, n + 1026, 4096, 66560, &out, &used), -EACCES);
	}
	/* More than declared, a declared length never reached. */
	len = chunked_body(copy, NULL);
	out.bytes = 0;
	assert_int_equal(feed(&a, copy, len, 4096, 66559, &out, &used), -E2BIG);
	out.bytes = 0;
	assert_int_equal(feed(&a, copy, len, 4096, 70000, &out, &used), -EBADMSG);
	/* Cut short: the decoder wants more. */
	out.bytes = 0;
	assert_int_equal(feed(&a, copy, len - 1, 4096, 66560, &out, &used), OBJ_CHUNKED_MORE);
	/* Broken framing. */
	{
		static const char *bad[] = {
			"zz;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
			"400;chunk-signatur=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
			"400;chunk-signature=0055\r\n",
			"400\r\n",
			"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\n",
			"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\nXX",
		};
		char big[300];

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			out.bytes = 0;
			if (feed(&a, bad[i], strlen(bad[i]), 4096, 66560, &out, &used) != -EBADMSG)
				fail_msg("framing %zu accepted", i);
		}
		memset(big, '1', sizeof(big));
		out.bytes = 0;
		assert_int_equal(feed(&a, big, sizeof(big), 4096, 66560, &out, &used), -EBADMSG);
	}
	/* After an error or the end, nothing more is taken. */
	{
		struct obj_chunked c;

		len = chunked_body(copy, NULL);
		obj_chunked_init(&c, &a, 66560);
		out.bytes = 0;
		assert_int_equal(obj_chunked_feed(&c, copy, len, &used, collect, &out), OBJ_CHUNKED_DONE);
		assert_int_equal(obj_chunked_feed(&c, "x", 1, &used, collect, &out), -EINVAL);
	}
	free(out.buf);
	free(copy);
	free(body);
}

static void
test_refusals(void **state)
{
	struct obj_sigv4_auth a;
	struct req q;

	(void)state;
	/* No signature: anonymous. */
	start(&q, "GET", "/test.txt");
	add(&q, "Host", "h");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_ANONYMOUS);
	assert_string_equal(obj_sigv4_code(OBJ_SIGV4_ANONYMOUS), "AccessDenied");
	assert_int_equal(obj_sigv4_status(OBJ_SIGV4_ANONYMOUS), 403);

	/* The clock, 15 minutes either way. */
	s3_get_object(&q, "bytes=0-9", GET_OBJECT_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW + 900, &a), OBJ_SIGV4_OK);
	assert_int_equal(verify(&q, "s3", S3_NOW + 901, &a), OBJ_SIGV4_SKEWED);
	assert_int_equal(verify(&q, "s3", S3_NOW - 901, &a), OBJ_SIGV4_SKEWED);
	assert_string_equal(obj_sigv4_code(OBJ_SIGV4_SKEWED), "RequestTimeTooSkewed");

	/* An unknown key, and a key whose secret differs. */
	start(&q, "GET", "/test.txt");
	add(&q, "Host", "examplebucket.s3.amazonaws.com");
	add(&q, "Range", "bytes=0-9");
	add(&q, "x-amz-content-sha256", EMPTY_SHA);
	add(&q, "x-amz-date", "20130524T000000Z");
	sign_header(&q, "AKIANOBODY", "20130524", "us-east-1/s3/aws4_request",
		    "host;range;x-amz-content-sha256;x-amz-date", GET_OBJECT_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_UNKNOWN_KEY);
	assert_string_equal(obj_sigv4_code(OBJ_SIGV4_UNKNOWN_KEY), "InvalidAccessKeyId");

	/* The region, the credential's date against x-amz-date. */
	q.n = 4;
	sign_header(&q, S3_ID, "20130524", "eu-west-1/s3/aws4_request",
		    "host;range;x-amz-content-sha256;x-amz-date", GET_OBJECT_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_HEADER_MALFORMED);
	assert_non_null(strstr(a.detail, "eu-west-1"));
	q.n = 4;
	sign_header(&q, S3_ID, "20130525", "us-east-1/s3/aws4_request",
		    "host;range;x-amz-content-sha256;x-amz-date", GET_OBJECT_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_HEADER_MALFORMED);

	/* A signed header that is not there: Range dropped. */
	start(&q, "GET", "/test.txt");
	add(&q, "Host", "examplebucket.s3.amazonaws.com");
	add(&q, "x-amz-content-sha256", EMPTY_SHA);
	add(&q, "x-amz-date", "20130524T000000Z");
	sign_header(&q, S3_ID, "20130524", "us-east-1/s3/aws4_request",
		    "host;range;x-amz-content-sha256;x-amz-date", GET_OBJECT_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_HEADER_MALFORMED);

	/* No x-amz-content-sha256 (and no hash from the caller), or not a hash. */
	start(&q, "GET", "/test.txt");
	add(&q, "Host", "h");
	add(&q, "x-amz-date", "20130524T000000Z");
	sign_header(&q, S3_ID, "20130524", "us-east-1/s3/aws4_request", "host;x-amz-date", GET_OBJECT_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_MISSING_SHA256);
	add(&q, "x-amz-content-sha256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_BAD_SHA256);

	/* No x-amz-date; a date that is no date. */
	start(&q, "GET", "/test.txt");
	add(&q, "Host", "h");
	add(&q, "x-amz-content-sha256", EMPTY_SHA);
	sign_header(&q, S3_ID, "20130524", "us-east-1/s3/aws4_request", "host", GET_OBJECT_SIG);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_HEADER_MALFORMED);
	add(&q, "x-amz-date", "20130524T250000Z");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_HEADER_MALFORMED);

	/* Signature V2, and malformed V4 headers. */
	start(&q, "GET", "/test.txt");
	add(&q, "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_UNSUPPORTED);
	{
		static const char *bad[] = {
			"AWS4-HMAC-SHA256",
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3, "
			"SignedHeaders=host, Signature=" GET_OBJECT_SIG,
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/2013052x/us-east-1/s3/aws4_request, "
			"SignedHeaders=host, Signature=" GET_OBJECT_SIG,
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
			"SignedHeaders=host, Signature=" GET_OBJECT_SIG ", Extra=1",
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request/x, "
			"SignedHeaders=host, Signature=" GET_OBJECT_SIG,
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			start(&q, "GET", "/test.txt");
			add(&q, "Host", "h");
			add(&q, "x-amz-date", "20130524T000000Z");
			add(&q, "x-amz-content-sha256", EMPTY_SHA);
			add(&q, "Authorization", bad[i]);
			if (verify(&q, "s3", S3_NOW, &a) != OBJ_SIGV4_HEADER_MALFORMED)
				fail_msg("malformed header %zu accepted", i);
		}
	}
	/* A signature of the wrong length or case is a mismatch. */
	s3_get_object(&q, "bytes=0-9", "F0E8BDB87C964420E857BD35B5D6ED310BD44F0170ABA48DD91039C6036BDB41");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_MISMATCH);
	s3_get_object(&q, "bytes=0-9", "f0e8");
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_MISMATCH);
	/* A broken escape in a signed request's path. */
	s3_get_object(&q, "bytes=0-9", GET_OBJECT_SIG);
	q.r.path = "/test%2.txt";
	q.r.path_len = strlen(q.r.path);
	assert_int_equal(verify(&q, "s3", S3_NOW, &a), OBJ_SIGV4_BAD_URI);
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
test_keys_file(void **state)
{
	char path[] = "/tmp/objects_keys_XXXXXX", err[256];
	struct obj_keys k = { NULL, 0 };
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "# comment\n\nAKIAONE:secret/one+x\r\nAKIATWO:s2\n");
	assert_int_equal(obj_keys_load(&k, path, err, sizeof(err)), 0);
	assert_int_equal(k.n, 2);
	assert_string_equal(obj_keys_find(&k, "AKIAONE", 7)->secret, "secret/one+x");
	assert_string_equal(obj_keys_find(&k, "AKIATWO", 7)->secret, "s2");
	assert_null(obj_keys_find(&k, "AKIATW", 6));
	/* Loading it again: every id is there already, nothing added. */
	assert_int_equal(obj_keys_load(&k, path, err, sizeof(err)), -EEXIST);
	assert_int_equal(k.n, 2);
	obj_keys_fini(&k);

	write_file(path, "AKIAONE:a\nAKIAONE:b\n");
	assert_int_equal(obj_keys_load(&k, path, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, ":2:"));
	assert_int_equal(k.n, 0);
	write_file(path, "AKIAONE\n");
	assert_int_equal(obj_keys_load(&k, path, err, sizeof(err)), -EINVAL);
	write_file(path, "AKIA ONE:x\n");
	assert_int_equal(obj_keys_load(&k, path, err, sizeof(err)), -EINVAL);
	write_file(path, "AKIAONE:sec ret\n");
	assert_int_equal(obj_keys_load(&k, path, err, sizeof(err)), -EINVAL);
	write_file(path, "AKIAONE:\n");
	assert_int_equal(obj_keys_load(&k, path, err, sizeof(err)), -EINVAL);
	assert_int_equal(k.n, 0);
	unlink(path);
	assert_int_equal(obj_keys_load(&k, path, err, sizeof(err)), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite_canonical),
		cmocka_unit_test(test_suite_vectors),
		cmocka_unit_test(test_s3_paths),
		cmocka_unit_test(test_s3_examples),
		cmocka_unit_test(test_presigned),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_chunked_body),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_keys_file),
	};

	return cmocka_run_group_tests_name("objects_sigv4", tests, setup, teardown);
}
