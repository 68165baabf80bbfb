/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': paste-objects's S3 request routing (route.h), the XML of
 * its responses (xml.h, s3xml.h) and the strict reader of its request
 * bodies (xml_read.h), malformed input included.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "etag.h"
#include "handler.h"
#include "http.h"
#include "route.h"
#include "s3xml.h"
#include "xml.h"
#include "xml_read.h"

static struct obj_route rt;

static enum obj_err
route_h(const char *method, const char *target, const struct obj_header *h, unsigned int n)
{
	return obj_route_parse(method, target, strlen(target), h, n, &rt);
}

static enum obj_err
route(const char *method, const char *target)
{
	return route_h(method, target, NULL, 0);
}

static struct obj_header
hdr(const char *name, const char *value)
{
	struct obj_header h = { name, strlen(name), value, strlen(value) };

	return h;
}

static void
assert_str(const struct obj_str *s, const char *want)
{
	assert_non_null(s->p);
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->p, want, s->len);
}

static void
test_route_ops(void **state)
{
	static const struct {
		const char *method, *target;
		enum obj_op op;
	} cases[] = {
		{ "GET", "/", OBJ_OP_LIST_BUCKETS },
		{ "PUT", "/bkt", OBJ_OP_CREATE_BUCKET },
		{ "PUT", "/bkt/", OBJ_OP_CREATE_BUCKET },
		{ "DELETE", "/bkt", OBJ_OP_DELETE_BUCKET },
		{ "HEAD", "/bkt", OBJ_OP_HEAD_BUCKET },
		{ "GET", "/bkt", OBJ_OP_LIST_OBJECTS },
		{ "GET", "/bkt?list-type=2", OBJ_OP_LIST_OBJECTS_V2 },
		{ "GET", "/bkt?uploads", OBJ_OP_LIST_UPLOADS },
		{ "GET", "/bkt?location", OBJ_OP_GET_BUCKET_LOCATION },
		{ "POST", "/bkt?delete", OBJ_OP_DELETE_OBJECTS },
		{ "POST", "/bkt?delete=", OBJ_OP_DELETE_OBJECTS },
		{ "PUT", "/bkt/k", OBJ_OP_PUT_OBJECT },
		{ "PUT", "/bkt/k?x-id=PutObject", OBJ_OP_PUT_OBJECT },
		{ "GET", "/bkt/k", OBJ_OP_GET_OBJECT },
		{ "HEAD", "/bkt/k", OBJ_OP_HEAD_OBJECT },
		{ "DELETE", "/bkt/k", OBJ_OP_DELETE_OBJECT },
		{ "POST", "/bkt/k?uploads", OBJ_OP_CREATE_UPLOAD },
		{ "PUT", "/bkt/k?partNumber=1&uploadId=u", OBJ_OP_UPLOAD_PART },
		{ "POST", "/bkt/k?uploadId=u", OBJ_OP_COMPLETE_UPLOAD },
		{ "DELETE", "/bkt/k?uploadId=u", OBJ_OP_ABORT_UPLOAD },
		{ "GET", "/bkt/k?uploadId=u", OBJ_OP_LIST_PARTS },
		{ "GET", "/bkt/k?response-content-type=text%2Fplain", OBJ_OP_GET_OBJECT },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (route(cases[i].method, cases[i].target) != OBJ_OK || rt.op != cases[i].op)
			fail_msg("%s %s: %s", cases[i].method, cases[i].target, obj_op_name(rt.op));
	}
	assert_string_equal(obj_op_name(OBJ_OP_PUT_OBJECT), "PutObject");

	/* Copies: the header makes PUT a copy. */
	{
		struct obj_header h[] = { hdr("x-amz-copy-source", "/src-bkt/a%20b%2Bc") };

		assert_int_equal(route_h("PUT", "/bkt/k", h, 1), OBJ_OK);
		assert_int_equal(rt.op, OBJ_OP_COPY_OBJECT);
		assert_string_equal(rt.copy_bucket, "src-bkt");
		assert_str(&rt.copy_key, "a b+c");
		assert_int_equal(route_h("PUT", "/bkt/k?partNumber=2&uploadId=u", h, 1), OBJ_OK);
		assert_int_equal(rt.op, OBJ_OP_UPLOAD_PART_COPY);
		assert_int_equal(rt.has_copy_range, 0);
		{
			/* x-amz-copy-source-range: "bytes=A-B", both ends. */
			static const struct { const char *v; int ok; uint64_t a, b; } rc[] = {
				{ "bytes=0-0", 1, 0, 0 }, { "bytes=5-9", 1, 5, 9 },
				{ "bytes=9-5", -1, 0, 0 }, { "bytes=5-", -1, 0, 0 },
				{ "bytes=-5", -1, 0, 0 }, { "bytes=1-2,4-5", -1, 0, 0 },
				{ "items=1-2", -1, 0, 0 },
			};
			struct obj_header h2[2];

			h2[0] = h[0];
			for (size_t j = 0; j < sizeof(rc) / sizeof(rc[0]); j++) {
				h2[1] = hdr("x-amz-copy-source-range", rc[j].v);
				assert_int_equal(route_h("PUT", "/bkt/k?partNumber=2&uploadId=u", h2, 2),
						 OBJ_OK);
				if (rt.has_copy_range != rc[j].ok)
					fail_msg("%s: %d", rc[j].v, rt.has_copy_range);
				if (rc[j].ok == 1)
					assert_true(rt.copy_first == rc[j].a && rt.copy_last == rc[j].b);
			}
		}
		h[0] = hdr("x-amz-copy-source", "src-bkt/k");
		assert_int_equal(route_h("PUT", "/bkt/k", h, 1), OBJ_OK);
		assert_str(&rt.copy_key, "k");
		h[0] = hdr("x-amz-copy-source", "src-bkt/k?versionId=3");
		assert_int_equal(route_h("PUT", "/bkt/k", h, 1), OBJ_ERR_NOT_IMPLEMENTED);
		h[0] = hdr("x-amz-copy-source", "src-bkt");
		assert_int_equal(route_h("PUT", "/bkt/k", h, 1), OBJ_ERR_INVALID_ARGUMENT);
		h[0] = hdr("x-amz-copy-source", "/Bad_Bucket/k");
		assert_int_equal(route_h("PUT", "/bkt/k", h, 1), OBJ_ERR_INVALID_ARGUMENT);
	}

	/* Methods a resource does not take. */
	assert_int_equal(route("PUT", "/"), OBJ_ERR_METHOD_NOT_ALLOWED);
	assert_int_equal(route("POST", "/bkt"), OBJ_ERR_METHOD_NOT_ALLOWED);
	assert_int_equal(route("POST", "/bkt/k"), OBJ_ERR_METHOD_NOT_ALLOWED);
	assert_int_equal(route("PATCH", "/bkt/k"), OBJ_ERR_METHOD_NOT_ALLOWED);
	/* Subresources not served. */
	assert_int_equal(route("GET", "/bkt?acl"), OBJ_ERR_NOT_IMPLEMENTED);
	assert_int_equal(route("PUT", "/bkt?versioning"), OBJ_ERR_NOT_IMPLEMENTED);
	assert_int_equal(route("GET", "/bkt/k?tagging"), OBJ_ERR_NOT_IMPLEMENTED);
	assert_int_equal(route("GET", "/bkt/k?partNumber=1"), OBJ_ERR_NOT_IMPLEMENTED);
	/* A part without its number, numbers out of range. */
	assert_int_equal(route("PUT", "/bkt/k?uploadId=u"), OBJ_ERR_INVALID_ARGUMENT);
	assert_int_equal(route("PUT", "/bkt/k?partNumber=0&uploadId=u"), OBJ_ERR_INVALID_ARGUMENT);
	assert_int_equal(route("PUT", "/bkt/k?partNumber=10001&uploadId=u"), OBJ_ERR_INVALID_ARGUMENT);
	assert_int_equal(route("PUT", "/bkt/k?partNumber=10000&uploadId=u"), OBJ_OK);
	assert_int_equal(route("PUT", "/bkt/k?partNumber=1x&uploadId=u"), OBJ_ERR_INVALID_ARGUMENT);
	assert_int_equal(route("GET", "/bkt?list-type=1"), OBJ_ERR_INVALID_ARGUMENT);
	assert_int_equal(route("GET", "/bkt?max-keys=-1"), OBJ_ERR_INVALID_ARGUMENT);
	assert_int_equal(route("GET", "/bkt?encoding-type=xml"), OBJ_ERR_INVALID_ARGUMENT);
	/* Not a path. */
	assert_int_equal(route("GET", "bkt/k"), OBJ_ERR_INVALID_URI);
	assert_int_equal(route("GET", ""), OBJ_ERR_INVALID_URI);
}

static void
test_route_keys(void **state)
{
	static const struct {
		const char *target, *key;
	} cases[] = {
		{ "/bkt/a%20b", "a b" },
		{ "/bkt/a+b", "a+b" },
		{ "/bkt/a%2Bb", "a+b" },
		{ "/bkt/a//b", "a//b" },
		{ "/bkt/./x/../y", "./x/../y" },
		{ "/bkt//lead", "/lead" },
		{ "/bkt/trail/", "trail/" },
		{ "/bkt/%E1%88%B4", "\xe1\x88\xb4" },
		{ "/bkt/100%25", "100%" },
		{ "/bkt/q%3Fmark?x-id=GetObject", "q?mark" },
		{ "/bkt/tab%09x", "tab\tx" },
	};
	char longkey[1100 + 8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (route("GET", cases[i].target) != OBJ_OK)
			fail_msg("%s refused", cases[i].target);
		assert_string_equal(rt.bucket, "bkt");
		assert_str(&rt.key, cases[i].key);
	}
	/* 1,024 bytes of key, not 1,025 (counted decoded). */
	memcpy(longkey, "/bkt/", 5);
	memset(longkey + 5, 'k', 1024);
	longkey[5 + 1024] = '\0';
	assert_int_equal(route("PUT", longkey), OBJ_OK);
	assert_int_equal(rt.key.len, 1024);
	longkey[5 + 1024] = 'k';
	longkey[5 + 1025] = '\0';
	assert_int_equal(route("PUT", longkey), OBJ_ERR_KEY_TOO_LONG);
	/* Broken escapes, bytes that are not UTF-8, controls XML cannot carry. */
	assert_int_equal(route("GET", "/bkt/a%2"), OBJ_ERR_INVALID_URI);
	assert_int_equal(route("GET", "/bkt/a%G1"), OBJ_ERR_INVALID_URI);
	assert_int_equal(route("GET", "/bkt/a?prefix=%"), OBJ_ERR_INVALID_URI);
	assert_int_equal(route("GET", "/bkt/%FF"), OBJ_ERR_INVALID_URI);
	assert_int_equal(route("GET", "/bkt/%C0%AF"), OBJ_ERR_INVALID_URI);       /* overlong '/' */
	assert_int_equal(route("GET", "/bkt/%ED%A0%80"), OBJ_ERR_INVALID_URI);    /* surrogate */
	assert_int_equal(route("GET", "/bkt/%E1%88"), OBJ_ERR_INVALID_URI);       /* cut short */
	assert_int_equal(route("GET", "/bkt/a%00b"), OBJ_ERR_INVALID_URI);
	assert_int_equal(route("GET", "/bkt/a%01b"), OBJ_ERR_INVALID_URI);
}

static void
test_bucket_names(void **state)
{
	static const char *good[] = { "abc", "my-bucket.v2", "0bucket9", "a.b.c",
		"a23456789012345678901234567890123456789012345678901234567890123" };
	static const char *bad[] = { "ab", "Abc", "a_b", "-abc", "abc-", ".abc", "abc.", "a..b",
		"192.168.5.4", "xn--abc", "abc-s3alias", "a b",
		"a234567890123456789012345678901234567890123456789012345678901234" };
	char target[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(obj_bucket_name_valid(good[i], strlen(good[i])));
		snprintf(target, sizeof(target), "/%s", good[i]);
		assert_int_equal(route("PUT", target), OBJ_OK);
		assert_string_equal(rt.bucket, good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (obj_bucket_name_valid(bad[i], strlen(bad[i])))
			fail_msg("bucket name \"%s\" accepted", bad[i]);
		snprintf(target, sizeof(target), "/%s/k", bad[i]);
		assert_int_equal(route("GET", target), OBJ_ERR_INVALID_BUCKET_NAME);
	}
	assert_int_equal(route("PUT", "/a%20b"), OBJ_ERR_INVALID_BUCKET_NAME);
}

static void
test_route_query(void **state)
{
	(void)state;
	assert_int_equal(route("GET", "/bkt?list-type=2&prefix=a%20b%2F%C3%BC&delimiter=%2F"
			       "&start-after=x%2By&continuation-token=tok%3D%2B%2Fen&max-keys=7"
			       "&encoding-type=url&fetch-owner=true"), OBJ_OK);
	assert_int_equal(rt.op, OBJ_OP_LIST_OBJECTS_V2);
	assert_str(&rt.prefix, "a b/\xc3\xbc");
	assert_str(&rt.delimiter, "/");
	assert_str(&rt.start_after, "x+y");
	assert_str(&rt.continuation_token, "tok=+/en");
	assert_int_equal(rt.max_keys, 7);
	assert_true(rt.encoding_url);
	assert_true(rt.fetch_owner);
	assert_null(rt.marker.p);

	/* Defaults, a max-keys above 1000 held to 1000, an empty prefix. */
	assert_int_equal(route("GET", "/bkt?marker=m&prefix="), OBJ_OK);
	assert_int_equal(rt.max_keys, 1000);
	assert_str(&rt.marker, "m");
	assert_str(&rt.prefix, "");
	assert_null(rt.delimiter.p);
	assert_int_equal(route("GET", "/bkt?max-keys=5000"), OBJ_OK);
	assert_int_equal(rt.max_keys, 1000);
	assert_int_equal(route("GET", "/bkt?max-keys=0"), OBJ_OK);
	assert_int_equal(rt.max_keys, 0);

	assert_int_equal(route("GET", "/bkt?uploads&key-marker=k&upload-id-marker=u&max-uploads=3"),
			 OBJ_OK);
	assert_int_equal(rt.op, OBJ_OP_LIST_UPLOADS);
	assert_str(&rt.key_marker, "k");
	assert_str(&rt.upload_id_marker, "u");
	assert_int_equal(rt.max_keys, 3);
	assert_int_equal(route("GET", "/bkt/k?uploadId=u%2Bp%2F%3Did&part-number-marker=4&max-parts=2"),
			 OBJ_OK);
	assert_str(&rt.upload_id, "u+p/=id");
	assert_int_equal(rt.part_number_marker, 4);
	assert_int_equal(rt.max_keys, 2);
	/* Empty parameters between '&'s are nothing. */
	assert_int_equal(route("GET", "/bkt?&&list-type=2&"), OBJ_OK);
	assert_int_equal(rt.op, OBJ_OP_LIST_OBJECTS_V2);
}

static void
test_route_headers(void **state)
{
	struct obj_header h[8];

	(void)state;
	h[0] = hdr("Range", "bytes=0-9");
	h[1] = hdr("If-Match", "\"abc\"");
	h[2] = hdr("if-none-match", "*");
	h[3] = hdr("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
	h[4] = hdr("If-Unmodified-Since", "Fri, 24 May 2013 00:00:00 GMT");
	h[5] = hdr("Content-Type", "text/plain; charset=utf-8");
	assert_int_equal(route_h("GET", "/bkt/k", h, 6), OBJ_OK);
	assert_true(rt.has_range);
	assert_int_equal(rt.range_first, 0);
	assert_int_equal(rt.range_last, 9);
	assert_str(&rt.if_match, "\"abc\"");
	assert_str(&rt.if_none_match, "*");
	assert_int_equal(rt.if_modified_since, 784111777);
	assert_int_equal(rt.if_unmodified_since, 1369353600);
	assert_str(&rt.content_type, "text/plain; charset=utf-8");

	/* Ranges: open ended, a suffix; malformed or several: ignored. */
	h[0] = hdr("Range", "bytes=100-");
	assert_int_equal(route_h("GET", "/bkt/k", h, 1), OBJ_OK);
	assert_true(rt.has_range);
	assert_int_equal(rt.range_first, 100);
	assert_int_equal(rt.range_last, -1);
	h[0] = hdr("Range", "bytes=-500");
	assert_int_equal(route_h("GET", "/bkt/k", h, 1), OBJ_OK);
	assert_true(rt.has_range);
	assert_int_equal(rt.range_first, -1);
	assert_int_equal(rt.range_last, 500);
	{
		static const char *ignored[] = { "bytes=5-2", "bytes=-", "bytes=0-1,3-4", "items=0-1",
			"bytes=a-b", "bytes= 0-1", "bytes=99999999999999999999-" };
		size_t i;

		for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
			h[0] = hdr("Range", ignored[i]);
			assert_int_equal(route_h("GET", "/bkt/k", h, 1), OBJ_OK);
			if (rt.has_range)
				fail_msg("Range: %s taken", ignored[i]);
		}
	}
	/* Dates that are not HTTP-dates are ignored. */
	h[0] = hdr("If-Modified-Since", "yesterday");
	h[1] = hdr("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 UTC");
	assert_int_equal(route_h("GET", "/bkt/k", h, 2), OBJ_OK);
	assert_int_equal(rt.if_modified_since, 0);
	assert_int_equal(rt.if_unmodified_since, 0);

	/* Content-MD5: 16 bytes of base64, nothing else. */
	h[0] = hdr("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww==");  /* MD5("hello world") */
	h[1] = hdr("Content-Length", "11");
	assert_int_equal(route_h("PUT", "/bkt/k", h, 2), OBJ_OK);
	assert_true(rt.has_content_md5);
	assert_memory_equal(rt.content_md5, "\x5e\xb6\x3b\xbb\xe0\x1e\xee\xd0\x93\xcb\x22\xbb\x8f\x5a\xcd\xc3", 16);
	assert_true(rt.has_content_length);
	assert_int_equal(rt.content_length, 11);
	h[0] = hdr("Content-MD5", "XrY7u+Ae7tCTyyK7j1rN");
	assert_int_equal(route_h("PUT", "/bkt/k", h, 1), OBJ_ERR_INVALID_DIGEST);
	h[0] = hdr("Content-MD5", "not base64!");
	assert_int_equal(route_h("PUT", "/bkt/k", h, 1), OBJ_ERR_INVALID_DIGEST);
	h[0] = hdr("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww==XX");
	assert_int_equal(route_h("PUT", "/bkt/k", h, 1), OBJ_ERR_INVALID_DIGEST);
	h[0] = hdr("Content-Length", "1x");
	assert_int_equal(route_h("PUT", "/bkt/k", h, 1), OBJ_ERR_INVALID_ARGUMENT);

	/* User metadata: names lower-cased, values as sent, 2 KiB in all. */
	h[0] = hdr("X-Amz-Meta-Color", "Blue Sky");
	h[1] = hdr("x-amz-meta-n", "");
	h[2] = hdr("x-amz-metadata-directive", "REPLACE");
	assert_int_equal(route_h("PUT", "/bkt/k", h, 3), OBJ_OK);
	assert_int_equal(rt.n_meta, 2);
	assert_str(&rt.meta[0].name, "color");
	assert_str(&rt.meta[0].value, "Blue Sky");
	assert_str(&rt.meta[1].name, "n");
	assert_str(&rt.meta[1].value, "");
	assert_true(rt.metadata_replace);
	h[2] = hdr("x-amz-metadata-directive", "MOVE");
	assert_int_equal(route_h("PUT", "/bkt/k", h, 3), OBJ_ERR_INVALID_ARGUMENT);
	{
		static char big[2100];

		memset(big, 'v', 2040);
		big[2040] = '\0';
		h[0] = hdr("x-amz-meta-abcd", big);      /* 4 + 2040: fits */
		h[1] = hdr("x-amz-meta-ef", "1234");     /* 2 + 4 = 2050: does not */
		assert_int_equal(route_h("PUT", "/bkt/k", h, 1), OBJ_OK);
		assert_int_equal(route_h("PUT", "/bkt/k", h, 2), OBJ_ERR_METADATA_TOO_LARGE);
	}
}

/* Run @fn's document through the writer: @want exactly. */
static void
assert_doc(struct obj_xml *x, const char *want)
{
	const char *out;
	size_t len;

	assert_int_equal(obj_xml_finish(x, &out, &len), 0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	obj_xml_fini(x);
}

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define NS " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static void
test_xml_writer(void **state)
{
	struct obj_xml x;
	const char *out;
	size_t len;
	int i;

	(void)state;
	obj_xml_init(&x);
	obj_s3xml_error(&x, "NoSuchKey", "The specified key does not exist.", "/bkt/a<b>&\"c'\r",
			"4442587FB7D0A2F9");
	assert_doc(&x, DECL "<Error><Code>NoSuchKey</Code><Message>The specified key does not "
		   "exist.</Message><Resource>/bkt/a&lt;b&gt;&amp;&quot;c&apos;&#13;</Resource>"
		   "<RequestId>4442587FB7D0A2F9</RequestId></Error>");

	/* Unclosed elements, too deep, are refused at the end. */
	obj_xml_init(&x);
	obj_xml_open(&x, "A", NULL);
	assert_int_equal(obj_xml_finish(&x, &out, &len), -EINVAL);
	obj_xml_fini(&x);
	obj_xml_init(&x);
	for (i = 0; i < OBJ_XML_DEPTH + 1; i++)
		obj_xml_open(&x, "A", NULL);
	for (i = 0; i < OBJ_XML_DEPTH + 1; i++)
		obj_xml_close(&x);
	assert_int_equal(obj_xml_finish(&x, &out, &len), -EINVAL);
	obj_xml_fini(&x);

	/* A document larger than the first buffer. */
	obj_xml_init(&x);
	obj_xml_open(&x, "A", NULL);
	for (i = 0; i < 1000; i++)
		obj_xml_u64(&x, "N", (uint64_t)i * 1000000007u);
	obj_xml_close(&x);
	assert_int_equal(obj_xml_finish(&x, &out, &len), 0);
	assert_non_null(strstr(out, "<N>999000006993</N></A>"));
	obj_xml_fini(&x);
}

static void
test_s3xml_results(void **state)
{
	struct obj_owner owner = { "AKIAOWNER", "AKIAOWNER" };
	struct obj_bucket_entry b[] = { { "bkt", 1369353600 }, { "other", 1369353601 } };
	struct obj_object_entry o[] = {
		{ { "a b+c", 5 }, 1369353600, "\"5d41402abc4b2a76b9719d911017c592\"", 5 },
		{ { "\xc3\xbc&", 3 }, 1369353600, "\"abc-2\"", 10485760 },
	};
	struct obj_str prefixes[] = { { "dir/", 4 } };
	struct obj_list_result res = { o, 2, prefixes, 1, 1, { "next tok", 8 }, &owner };
	struct obj_delete_entry d[] = { { { "gone", 4 }, NULL, NULL },
					{ { "x", 1 }, "AccessDenied", "Access Denied" } };
	struct obj_part_entry p[] = { { 1, 1369353600, "\"p1\"", 5242880 } };
	struct obj_upload_entry u[] = { { { "big", 3 }, "UP1", 1369353600 } };
	struct obj_str key = { "k&", 2 };
	struct obj_xml x;

	(void)state;
	obj_xml_init(&x);
	obj_s3xml_list_buckets(&x, &owner, b, 2);
	assert_doc(&x, DECL "<ListAllMyBucketsResult" NS "><Owner><ID>AKIAOWNER</ID><DisplayName>"
		   "AKIAOWNER</DisplayName></Owner><Buckets><Bucket><Name>bkt</Name><CreationDate>"
		   "2013-05-24T00:00:00.000Z</CreationDate></Bucket><Bucket><Name>other</Name>"
		   "<CreationDate>2013-05-24T00:00:01.000Z</CreationDate></Bucket></Buckets>"
		   "</ListAllMyBucketsResult>");

	assert_int_equal(route("GET", "/bkt?list-type=2&prefix=&delimiter=%2F&max-keys=2"
			       "&encoding-type=url"), OBJ_OK);
	obj_xml_init(&x);
	obj_s3xml_list_objects(&x, &rt, &res);
	assert_doc(&x, DECL "<ListBucketResult" NS "><Name>bkt</Name><Prefix></Prefix>"
		   "<KeyCount>3</KeyCount><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter>"
		   "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
		   "<NextContinuationToken>next tok</NextContinuationToken>"
		   "<Contents><Key>a+b%2Bc</Key><LastModified>2013-05-24T00:00:00.000Z</LastModified>"
		   "<ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>5</Size>"
		   "<StorageClass>STANDARD</StorageClass></Contents>"
		   "<Contents><Key>%C3%BC%26</Key><LastModified>2013-05-24T00:00:00.000Z</LastModified>"
		   "<ETag>&quot;abc-2&quot;</ETag><Size>10485760</Size><StorageClass>STANDARD"
		   "</StorageClass></Contents><CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>"
		   "</ListBucketResult>");

	/* Version 1: Marker, NextMarker (with a delimiter), owners. */
	assert_int_equal(route("GET", "/bkt?marker=m&delimiter=/"), OBJ_OK);
	obj_xml_init(&x);
	res.n_objects = 1;
	res.n_prefixes = 0;
	res.next = (struct obj_str){ "a b+c", 5 };
	obj_s3xml_list_objects(&x, &rt, &res);
	assert_doc(&x, DECL "<ListBucketResult" NS "><Name>bkt</Name><Prefix></Prefix>"
		   "<Marker>m</Marker><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
		   "<IsTruncated>true</IsTruncated><NextMarker>a b+c</NextMarker>"
		   "<Contents><Key>a b+c</Key><LastModified>2013-05-24T00:00:00.000Z</LastModified>"
		   "<ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>5</Size>"
		   "<Owner><ID>AKIAOWNER</ID><DisplayName>AKIAOWNER</DisplayName></Owner>"
		   "<StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>");

	obj_xml_init(&x);
	obj_s3xml_initiate_upload(&x, "bkt", &key, "UP1");
	assert_doc(&x, DECL "<InitiateMultipartUploadResult" NS "><Bucket>bkt</Bucket><Key>k&amp;</Key>"
		   "<UploadId>UP1</UploadId></InitiateMultipartUploadResult>");
	obj_xml_init(&x);
	obj_s3xml_complete_upload(&x, "http://h/bkt/k%26", "bkt", &key, "\"e-2\"");
	assert_doc(&x, DECL "<CompleteMultipartUploadResult" NS "><Location>http://h/bkt/k%26"
		   "</Location><Bucket>bkt</Bucket><Key>k&amp;</Key><ETag>&quot;e-2&quot;</ETag>"
		   "</CompleteMultipartUploadResult>");
	obj_xml_init(&x);
	obj_s3xml_copy_result(&x, "\"e\"", 1369353600, 0);
	assert_doc(&x, DECL "<CopyObjectResult" NS "><LastModified>2013-05-24T00:00:00.000Z"
		   "</LastModified><ETag>&quot;e&quot;</ETag></CopyObjectResult>");
	obj_xml_init(&x);
	obj_s3xml_copy_result(&x, "\"e\"", 1369353600, 1);
	assert_doc(&x, DECL "<CopyPartResult" NS "><LastModified>2013-05-24T00:00:00.000Z"
		   "</LastModified><ETag>&quot;e&quot;</ETag></CopyPartResult>");
	obj_xml_init(&x);
	obj_s3xml_delete_result(&x, d, 2, 0);
	assert_doc(&x, DECL "<DeleteResult" NS "><Deleted><Key>gone</Key></Deleted><Error><Key>x</Key>"
		   "<Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>");
	obj_xml_init(&x);
	obj_s3xml_delete_result(&x, d, 2, 1);
	assert_doc(&x, DECL "<DeleteResult" NS "><Error><Key>x</Key><Code>AccessDenied</Code>"
		   "<Message>Access Denied</Message></Error></DeleteResult>");

	assert_int_equal(route("GET", "/bkt/big?uploadId=UP1&max-parts=1"), OBJ_OK);
	obj_xml_init(&x);
	obj_s3xml_list_parts(&x, &rt, &owner, p, 1, 1, 1);
	assert_doc(&x, DECL "<ListPartsResult" NS "><Bucket>bkt</Bucket><Key>big</Key><UploadId>UP1"
		   "</UploadId><Initiator><ID>AKIAOWNER</ID><DisplayName>AKIAOWNER</DisplayName>"
		   "</Initiator><Owner><ID>AKIAOWNER</ID><DisplayName>AKIAOWNER</DisplayName></Owner>"
		   "<StorageClass>STANDARD</StorageClass><PartNumberMarker>0</PartNumberMarker>"
		   "<NextPartNumberMarker>1</NextPartNumberMarker><MaxParts>1</MaxParts>"
		   "<IsTruncated>true</IsTruncated><Part><PartNumber>1</PartNumber><LastModified>"
		   "2013-05-24T00:00:00.000Z</LastModified><ETag>&quot;p1&quot;</ETag><Size>5242880"
		   "</Size></Part></ListPartsResult>");

	assert_int_equal(route("GET", "/bkt?uploads"), OBJ_OK);
	obj_xml_init(&x);
	obj_s3xml_list_uploads(&x, &rt, &owner, u, 1, NULL, 0, 0, NULL, NULL);
	assert_doc(&x, DECL "<ListMultipartUploadsResult" NS "><Bucket>bkt</Bucket><KeyMarker>"
		   "</KeyMarker><UploadIdMarker></UploadIdMarker><MaxUploads>1000</MaxUploads>"
		   "<IsTruncated>false</IsTruncated><Upload><Key>big</Key><UploadId>UP1</UploadId>"
		   "<Initiator><ID>AKIAOWNER</ID><DisplayName>AKIAOWNER</DisplayName></Initiator>"
		   "<Owner><ID>AKIAOWNER</ID><DisplayName>AKIAOWNER</DisplayName></Owner>"
		   "<StorageClass>STANDARD</StorageClass><Initiated>2013-05-24T00:00:00.000Z"
		   "</Initiated></Upload></ListMultipartUploadsResult>");
}

static void
test_read_complete(void **state)
{
	static const char good[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
		"  <!-- a comment -->\n"
		"  <Part><PartNumber>1</PartNumber><ETag>\"a54357aff0632cce46d942af68356b38\"</ETag></Part>\n"
		"  <Part>\n    <ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag>\n"
		"    <PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32>\n  </Part>\n"
		"</CompleteMultipartUpload>\n";
	const struct obj_complete_part *parts;
	struct obj_xml_doc *doc;
	unsigned int n;

	(void)state;
	assert_int_equal(obj_xml_read_complete(good, strlen(good), &doc, &parts, &n), OBJ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(parts[0].number, 1);
	assert_str(&parts[0].etag, "\"a54357aff0632cce46d942af68356b38\"");
	assert_int_equal(parts[1].number, 2);
	assert_str(&parts[1].etag, "\"0c78aef83f66abc1fa1e8477f296d394\"");
	obj_xml_doc_free(doc);

	/* Without declaration or namespace, self-closing ETag (empty). */
	{
		static const char t[] = "<CompleteMultipartUpload><Part><PartNumber>10000</PartNumber>"
					"<ETag/></Part></CompleteMultipartUpload>";

		assert_int_equal(obj_xml_read_complete(t, strlen(t), &doc, &parts, &n), OBJ_OK);
		assert_int_equal(parts[0].number, 10000);
		assert_int_equal(parts[0].etag.len, 0);
		obj_xml_doc_free(doc);
	}
	{
		static const char *bad[] = {
			"",
			"   ",
			"<CompleteMultipartUpload/>",                       /* no part */
			"<CompleteMultipartUpload></CompleteMultipartUpload>",
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
			"</CompleteMultipartUpload>",                        /* no ETag */
			"<CompleteMultipartUpload><Part><ETag>e</ETag></Part></CompleteMultipartUpload>",
			"<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>e</ETag></Part>"
			"</CompleteMultipartUpload>",
			"<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>e</ETag></Part>"
			"</CompleteMultipartUpload>",
			"<CompleteMultipartUpload><Part><PartNumber>1a</PartNumber><ETag>e</ETag></Part>"
			"</CompleteMultipartUpload>",
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber>"
			"<ETag>e</ETag></Part></CompleteMultipartUpload>",
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag>"
			"<Color>red</Color></Part></CompleteMultipartUpload>",  /* unknown element */
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
			"</CompleteMultipartUploa>",                         /* mismatched */
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>",
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
			"</CompleteMultipartUpload><Again/>",                /* two roots */
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
			"</CompleteMultipartUpload>trailing",
			"<CompleteMultipartUpload>text<Part><PartNumber>1</PartNumber><ETag>e</ETag>"
			"</Part></CompleteMultipartUpload>",                 /* mixed content */
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a&b</ETag></Part>"
			"</CompleteMultipartUpload>",                        /* bare & */
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&ent;</ETag></Part>"
			"</CompleteMultipartUpload>",                        /* unknown entity */
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#0;</ETag></Part>"
			"</CompleteMultipartUpload>",                        /* not a Char */
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#xD800;</ETag>"
			"</Part></CompleteMultipartUpload>",
			"<!DOCTYPE x [<!ENTITY a \"b\">]><CompleteMultipartUpload><Part><PartNumber>1"
			"</PartNumber><ETag>&a;</ETag></Part></CompleteMultipartUpload>",
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag><![CDATA[e]]>"
			"</ETag></Part></CompleteMultipartUpload>",
			"<CompleteMultipartUpload xmlns=\"x><Part/></CompleteMultipartUpload>",
			"<CompleteMultipartUpload xmlns=x><Part/></CompleteMultipartUpload>",
			"<CompleteMultipartUpload a=\"1\"b=\"2\"><Part/></CompleteMultipartUpload>",
			"<Delete><Object><Key>k</Key></Object></Delete>",  /* the other schema */
			"<1Complete/>",
			"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
			"<!-- unclosed comment </CompleteMultipartUpload>",
			"<a><b><c><d><e><f><g><h><i><j></j></i></h></g></f></e></d></c></b></a>",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			doc = NULL;
			if (obj_xml_read_complete(bad[i], strlen(bad[i]), &doc, &parts, &n) !=
			    OBJ_ERR_MALFORMED_XML)
				fail_msg("malformed body %zu accepted: %s", i, bad[i]);
			assert_null(doc);
		}
	}
	/* Every prefix of the good body is malformed (cut short). */
	{
		size_t cut, end = strlen(good);

		while (end > 0 && (good[end - 1] == '\n'))
			end--;
		for (cut = 0; cut < end; cut++) {
			doc = NULL;
			if (obj_xml_read_complete(good, cut, &doc, &parts, &n) != OBJ_ERR_MALFORMED_XML)
				fail_msg("body cut at %zu accepted", cut);
		}
	}
}

static void
test_read_delete(void **state)
{
	static const char good[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/"
		"2006-03-01/\"><Object><Key>a b</Key></Object><Object><Key>&lt;&#252;&#x1F600;&gt;"
		"</Key><VersionId>v</VersionId></Object><Quiet>true</Quiet></Delete>";
	const struct obj_str *keys;
	struct obj_xml_doc *doc;
	unsigned int n;
	int quiet;

	(void)state;
	assert_int_equal(obj_xml_read_delete(good, strlen(good), &doc, &keys, &n, &quiet), OBJ_OK);
	assert_int_equal(n, 2);
	assert_true(quiet);
	assert_str(&keys[0], "a b");
	assert_str(&keys[1], "<\xc3\xbc\xf0\x9f\x98\x80>");
	obj_xml_doc_free(doc);

	{
		static const char t[] = "<Delete><Quiet>false</Quiet><Object><Key> k </Key></Object></Delete>";

		assert_int_equal(obj_xml_read_delete(t, strlen(t), &doc, &keys, &n, &quiet), OBJ_OK);
		assert_false(quiet);
		assert_str(&keys[0], " k ");           /* blanks are part of keys */
		obj_xml_doc_free(doc);
	}
	{
		static const char *bad[] = {
			"<Delete></Delete>",
			"<Delete><Quiet>true</Quiet></Delete>",
			"<Delete><Object></Object></Delete>",
			"<Delete><Object><Key></Key></Object></Delete>",
			"<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
			"<Delete><Object><Key>a</Key></Object><Quiet>yes</Quiet></Delete>",
			"<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet><Quiet>true</Quiet></Delete>",
			"<Delete><Object><Key><b>a</b></Key></Object></Delete>",
			"<Delete><Thing><Key>a</Key></Thing></Delete>",
			"<delete><Object><Key>a</Key></Object></delete>",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			doc = NULL;
			if (obj_xml_read_delete(bad[i], strlen(bad[i]), &doc, &keys, &n, &quiet) !=
			    OBJ_ERR_MALFORMED_XML)
				fail_msg("malformed delete %zu accepted: %s", i, bad[i]);
			assert_null(doc);
		}
	}
	/* 1,000 keys, not 1,001. */
	{
		size_t cap = 32 + 1001 * 32, len;
		char *b = malloc(cap);
		int i;

		assert_non_null(b);
		len = (size_t)snprintf(b, cap, "<Delete>");
		for (i = 0; i < 1000; i++)
			len += (size_t)snprintf(b + len, cap - len, "<Object><Key>k%d</Key></Object>", i);
		snprintf(b + len, cap - len, "</Delete>");
		assert_int_equal(obj_xml_read_delete(b, strlen(b), &doc, &keys, &n, &quiet), OBJ_OK);
		assert_int_equal(n, 1000);
		assert_str(&keys[999], "k999");
		obj_xml_doc_free(doc);
		len += (size_t)snprintf(b + len, cap - len, "<Object><Key>k1000</Key></Object>");
		snprintf(b + len, cap - len, "</Delete>");
		assert_int_equal(obj_xml_read_delete(b, strlen(b), &doc, &keys, &n, &quiet),
				 OBJ_ERR_MALFORMED_XML);
		free(b);
	}
	/* Too large a body is refused before it is read. */
	assert_int_equal(obj_xml_read_delete("<Delete/>", OBJ_XML_BODY_MAX + 1, &doc, &keys, &n, &quiet),
			 OBJ_ERR_TOO_LARGE);
	assert_string_equal(obj_err_code(OBJ_ERR_MALFORMED_XML), "MalformedXML");
	assert_int_equal(obj_err_status(OBJ_ERR_MALFORMED_XML), 400);
	assert_int_equal(obj_err_status(OBJ_ERR_METHOD_NOT_ALLOWED), 405);
}

static void
test_http_head(void **state)
{
	static const char good[] =
		"PUT /bkt/a%20b?x=1 HTTP/1.1\r\nHost: 198.18.0.1:9000\r\n"
		"Content-Length: 5\r\nX-Amz-Meta-A:  spaced value \t\r\nExpect: 100-continue\r\n\r\nhello";
	struct obj_http_req req;
	const char *status;
	size_t hl;

	(void)state;
	hl = obj_http_head_len(good, strlen(good));
	assert_int_equal(hl, strlen(good) - 5);
	assert_int_equal(obj_http_head_len(good, hl - 1), 0);
	assert_int_equal(obj_http_parse(good, hl, &req, &status), 0);
	assert_string_equal(req.method, "PUT");
	assert_int_equal(req.target_len, strlen("/bkt/a%20b?x=1"));
	assert_memory_equal(req.target, "/bkt/a%20b?x=1", req.target_len);
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.n_headers, 4);
	assert_true(req.has_length);
	assert_int_equal(req.length, 5);
	assert_true(req.keep_alive);
	assert_true(req.expect_continue);
	assert_int_equal(req.headers[2].value_len, strlen("spaced value"));
	assert_memory_equal(req.headers[2].value, "spaced value", req.headers[2].value_len);
	/* Bare LF line ends; HTTP/1.0 closes unless asked not to. */
	{
		static const char t[] = "GET / HTTP/1.0\nHost: h\n\n";

		assert_int_equal(obj_http_head_len(t, strlen(t)), strlen(t));
		assert_int_equal(obj_http_parse(t, strlen(t), &req, &status), 0);
		assert_false(req.keep_alive);
		assert_false(req.has_length);
	}
	{
		static const struct { const char *head, *status; } bad[] = {
			{ "GET /\r\n\r\n", "400 Bad Request" },
			{ "GET / HTTP/2.0\r\n\r\n", "400 Bad Request" },
			{ "GET / HTTP/1.2\r\n\r\n", "505 HTTP Version Not Supported" },
			{ "G(T / HTTP/1.1\r\n\r\n", "400 Bad Request" },
			{ "GET /a\x01 HTTP/1.1\r\n\r\n", "400 Bad Request" },
			{ "GET  / HTTP/1.1\r\n\r\n", "400 Bad Request" },
			{ "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "400 Bad Request" },
			{ "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "400 Bad Request" },
			{ "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "400 Bad Request" },
			{ "PUT / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n", "400 Bad Request" },
			{ "PUT / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
			  "400 Bad Request" },
			{ "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "501 Not Implemented" },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (obj_http_parse(bad[i].head, strlen(bad[i].head), &req, &status) != -1)
				fail_msg("head %zu accepted", i);
			assert_string_equal(status, bad[i].status);
		}
	}
	/* 64 headers, not 65. */
	{
		static char many[8192];
		size_t n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
		int i;

		for (i = 0; i < 64; i++)
			n += (size_t)snprintf(many + n, sizeof(many) - n, "H%d: v\r\n", i);
		snprintf(many + n, sizeof(many) - n, "\r\n");
		assert_int_equal(obj_http_parse(many, strlen(many), &req, &status), 0);
		snprintf(many + n, sizeof(many) - n, "H64: v\r\n\r\n");
		assert_int_equal(obj_http_parse(many, strlen(many), &req, &status), -1);
		assert_string_equal(status, "431 Request Header Fields Too Large");
	}
}

static void
test_handler(void **state)
{
	static const char signed_get[] =
		"GET /test.txt HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\nRange: bytes=0-9\r\n"
		"x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n"
		"x-amz-date: 20130524T000000Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential="
		"AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;"
		"x-amz-content-sha256;x-amz-date,Signature="
		"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41\r\n\r\n";
	struct obj_keys keys = { NULL, 0 };
	struct obj_service svc = { &keys, "us-east-1", 0, 0, NULL };
	struct obj_http_req req;
	struct obj_response r;
	const char *status;

	(void)state;
	assert_int_equal(obj_keys_add(&keys, "AKIAIOSFODNN7EXAMPLE",
				      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), 0);
	/* Signed (S3's example): routed as GetObject, not stored yet. */
	assert_int_equal(obj_http_parse(signed_get, strlen(signed_get), &req, &status), 0);
	obj_handle(&svc, &req, 1369353600, &r);
	assert_int_equal(r.status, 501);
	assert_non_null(strstr(r.head, "HTTP/1.1 501 Not Implemented\r\n"));
	assert_non_null(strstr(r.body, "<Code>NotImplemented</Code>"));
	assert_non_null(strstr(r.body, "<Resource>/test.txt</Resource>"));
	assert_non_null(strstr(r.body, "<RequestId>0000000000000001</RequestId>"));
	assert_false(r.close);
	obj_response_fini(&r);
	/* An hour later: too skewed. */
	obj_handle(&svc, &req, 1369353600 + 3600, &r);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "<Code>RequestTimeTooSkewed</Code>"));
	obj_response_fini(&r);
	/* Unsigned, HEAD: 403 without a body, closing on HTTP/1.0. */
	{
		static const char t[] = "HEAD /bkt/k HTTP/1.0\r\nHost: h\r\n\r\n";
		char want[64];

		assert_int_equal(obj_http_parse(t, strlen(t), &req, &status), 0);
		obj_handle(&svc, &req, 1369353600, &r);
		assert_int_equal(r.status, 403);
		assert_null(r.body);
		assert_true(r.close);
		snprintf(want, sizeof(want), "Content-Length: 0\r\nConnection: close\r\n\r\n");
		assert_non_null(strstr(r.head, want));
		obj_response_fini(&r);
	}
	assert_int_equal(svc.requests, 3);
	assert_int_equal(svc.refused, 3);
	obj_handle_bad_head("400 Bad Request", &r);
	assert_string_equal(r.head, "HTTP/1.1 400 Bad Request\r\nServer: paste-objects\r\n"
			    "Content-Length: 0\r\nConnection: close\r\n\r\n");
	assert_true(r.close);
	obj_keys_fini(&keys);
}

static void
test_etags(void **state)
{
	static const uint8_t empty[16] = { 0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04,
					   0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e };
	uint8_t d[16], parts[2][16];
	char etag[OBJ_ETAG_MAX];
	struct obj_md5 m;
	static char big[1000000];
	size_t off;

	(void)state;
	assert_int_equal(obj_md5_init(&m), 0);
	obj_md5_final(&m, d);
	assert_memory_equal(d, empty, 16);
	obj_etag_single(d, etag);
	assert_string_equal(etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
	/* In pieces, as a body arrives. */
	memset(big, 'a', sizeof(big));
	assert_int_equal(obj_md5_init(&m), 0);
	for (off = 0; off < sizeof(big); off += 1448)
		obj_md5_update(&m, big + off, sizeof(big) - off < 1448 ? sizeof(big) - off : 1448);
	obj_md5_final(&m, d);
	obj_etag_single(d, etag);
	assert_string_equal(etag, "\"7707d6ae4e027c70eea2a935c2296f21\"");
	/* Multipart: the MD5 of the parts' MD5s, "-N" (hashlib's answer). */
	assert_int_equal(obj_md5_init(&m), 0);
	obj_md5_update(&m, "hello", 5);
	obj_md5_final(&m, parts[0]);
	assert_int_equal(obj_md5_init(&m), 0);
	obj_md5_update(&m, "world", 5);
	obj_md5_final(&m, parts[1]);
	assert_int_equal(obj_etag_multipart((const uint8_t (*)[16])parts, 2, etag), 0);
	assert_string_equal(etag, "\"065947336a2f2a95ba8899f3675c3be6-2\"");
	assert_int_equal(obj_etag_multipart((const uint8_t (*)[16])parts, 0, etag), -EINVAL);

	/* Lists of ETags. */
	assert_true(obj_etag_list_matches("\"abc\"", 5, "\"abc\""));
	assert_true(obj_etag_list_matches("abc", 3, "\"abc\""));            /* unquoted, as S3 takes */
	assert_true(obj_etag_list_matches("\"x\", W/\"abc\"", 12, "\"abc\""));
	assert_true(obj_etag_list_matches("*", 1, "\"abc\""));
	assert_false(obj_etag_list_matches("\"abcd\", \"ab\"", 13, "\"abc\""));
	assert_false(obj_etag_list_matches("", 0, "\"abc\""));
}

static void
test_conditions(void **state)
{
	const char *e = "\"abc\"";
	time_t t = 1369353600;

	(void)state;
	assert_int_equal(obj_conditions(NULL, 0, NULL, 0, 0, 0, e, t, 1), 200);
	assert_int_equal(obj_conditions("\"abc\"", 5, NULL, 0, 0, 0, e, t, 1), 200);
	assert_int_equal(obj_conditions("\"x\"", 3, NULL, 0, 0, 0, e, t, 1), 412);
	assert_int_equal(obj_conditions(NULL, 0, "\"abc\"", 5, 0, 0, e, t, 1), 304);
	assert_int_equal(obj_conditions(NULL, 0, "\"abc\"", 5, 0, 0, e, t, 0), 412);
	assert_int_equal(obj_conditions(NULL, 0, "*", 1, 0, 0, e, t, 0), 412);   /* PUT if absent */
	assert_int_equal(obj_conditions(NULL, 0, "\"x\"", 3, 0, 0, e, t, 1), 200);
	assert_int_equal(obj_conditions(NULL, 0, NULL, 0, t, 0, e, t, 1), 304);
	assert_int_equal(obj_conditions(NULL, 0, NULL, 0, t - 1, 0, e, t, 1), 200);
	assert_int_equal(obj_conditions(NULL, 0, NULL, 0, 0, t - 1, e, t, 1), 412);
	assert_int_equal(obj_conditions(NULL, 0, NULL, 0, 0, t, e, t, 1), 200);
	/* S3's documented pairs: If-Match true with If-Unmodified-Since
	 * false is 200; If-None-Match false (the ETag matches) with
	 * If-Modified-Since true is 304; and If-None-Match true (no match)
	 * makes If-Modified-Since moot: 200. */
	assert_int_equal(obj_conditions("\"abc\"", 5, NULL, 0, 0, t - 1, e, t, 1), 200);
	assert_int_equal(obj_conditions(NULL, 0, "\"abc\"", 5, t - 1, 0, e, t, 1), 304);
	assert_int_equal(obj_conditions(NULL, 0, "\"x\"", 3, t, 0, e, t, 1), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_ops),
		cmocka_unit_test(test_route_keys),
		cmocka_unit_test(test_bucket_names),
		cmocka_unit_test(test_route_query),
		cmocka_unit_test(test_route_headers),
		cmocka_unit_test(test_xml_writer),
		cmocka_unit_test(test_s3xml_results),
		cmocka_unit_test(test_read_complete),
		cmocka_unit_test(test_read_delete),
		cmocka_unit_test(test_http_head),
		cmocka_unit_test(test_handler),
		cmocka_unit_test(test_etags),
		cmocka_unit_test(test_conditions),
	};

	return cmocka_run_group_tests_name("objects_s3", tests, NULL, NULL);
}
