/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: paste-objects's parsers of what clients send
 * (examples/objects/): the first byte chooses one, the rest is its input.
 *
 *   0  an HTTP head (http.h), then the whole request answered (handler.h:
 *      SigV4 over every header, routing, the XML reply), as the server does
 *   1  a CompleteMultipartUpload body, 2  a Delete body (xml_read.h)
 *   3  a request target routed with the input's headers absent (route.h)
 *   4  an aws-chunked body (chunked.h) in pieces the input's second byte
 *      sizes, under AWS's example seed signature
 *
 * Invariants: the results are the documented ones; a parsed part number
 * is 1..10000, a Delete has 1..1000 keys of 1..1024 bytes; the chunked
 * decoder never reports more payload than declared, reports it in order,
 * and never reads past its input; a reply's head ends with CRLF CRLF and
 * its Content-Length is its body's.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "handler.h"
#include "http.h"
#include "keys.h"
#include "route.h"
#include "xml_read.h"

#define INVARIANT(c)                                                         \
	do {                                                                 \
		if (!(c)) {                                                  \
			fprintf(stderr, "fuzz invariant: %s (%s:%d)\n", #c,  \
				__FILE__, __LINE__);                         \
			abort();                                             \
		}                                                            \
	} while (0)

static struct obj_keys keys;

static void
fuzz_request(const char *d, size_t n)
{
	struct obj_service svc = { &keys, "us-east-1", 0, 0 };
	struct obj_http_req req;
	struct obj_response r;
	const char *status;
	size_t hl = obj_http_head_len(d, n);
	char want[64];

	if (hl == 0 || obj_http_parse(d, hl, &req, &status) != 0)
		return;
	obj_handle(&svc, &req, 1369353600, &r);
	INVARIANT(r.head_len >= 4 && memcmp(r.head + r.head_len - 4, "\r\n\r\n", 4) == 0);
	snprintf(want, sizeof(want), "Content-Length: %zu\r\n", r.body_len);
	INVARIANT(strcmp(req.method, "HEAD") == 0 || strstr(r.head, want) != NULL);
	obj_response_fini(&r);
}

static void
fuzz_bodies(int which, const char *d, size_t n)
{
	struct obj_xml_doc *doc = NULL;
	unsigned int count, i;

	if (which == 1) {
		const struct obj_complete_part *parts;

		if (obj_xml_read_complete(d, n, &doc, &parts, &count) != OBJ_OK)
			return;
		INVARIANT(count >= 1 && count <= OBJ_PART_NUMBER_MAX);
		for (i = 0; i < count; i++)
			INVARIANT(parts[i].number >= 1 && parts[i].number <= OBJ_PART_NUMBER_MAX);
	} else {
		const struct obj_str *k;
		int quiet;

		if (obj_xml_read_delete(d, n, &doc, &k, &count, &quiet) != OBJ_OK)
			return;
		INVARIANT(count >= 1 && count <= OBJ_DELETE_KEYS_MAX);
		for (i = 0; i < count; i++)
			INVARIANT(k[i].len >= 1 && k[i].len <= OBJ_OBJECT_KEY_MAX);
	}
	obj_xml_doc_free(doc);
}

static void
fuzz_route(const char *d, size_t n)
{
	static const char *const methods[] = { "GET", "PUT", "HEAD", "DELETE", "POST" };
	static struct obj_route rt;
	char *target;

	if (n < 1)
		return;
	target = malloc(n - 1 + 1);     /* exactly: an overread is caught */
	if (target == NULL)
		return;
	memcpy(target, d + 1, n - 1);
	if (obj_route_parse(methods[(unsigned char)d[0] % 5], target, n - 1, NULL, 0, &rt) == OBJ_OK &&
	    rt.op >= OBJ_OP_PUT_OBJECT)
		INVARIANT(rt.key.len >= 1 && rt.key.len <= OBJ_OBJECT_KEY_MAX);
	free(target);
}

struct seen {
	uint64_t next;
};

static void
on_data(void *arg, const char *p, size_t len, uint64_t off)
{
	struct seen *s = arg;

	(void)p;
	INVARIANT(off == s->next);
	s->next += len;
}

static void
fuzz_chunked(const char *d, size_t n)
{
	struct obj_sigv4_auth a;
	struct obj_chunked c;
	struct seen s = { 0 };
	size_t off = 0, used, piece;
	int ret = OBJ_CHUNKED_MORE;

	if (n < 1)
		return;
	memset(&a, 0, sizeof(a));
	snprintf(a.amz_date, sizeof(a.amz_date), "20130524T000000Z");
	snprintf(a.scope, sizeof(a.scope), "20130524/us-east-1/s3/aws4_request");
	snprintf(a.seed_signature, sizeof(a.seed_signature),
		 "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
	obj_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1",
			      "s3", a.signing_key);
	piece = (unsigned char)d[0] + 1u;
	d++;
	n--;
	obj_chunked_init(&c, &a, 66560);
	while (off < n && ret == OBJ_CHUNKED_MORE) {
		size_t k = n - off < piece ? n - off : piece;
		char *copy = malloc(k);     /* exactly: an overread is caught */

		if (copy == NULL)
			return;
		memcpy(copy, d + off, k);
		ret = obj_chunked_feed(&c, copy, k, &used, on_data, &s);
		INVARIANT(used <= k);
		INVARIANT(ret != OBJ_CHUNKED_MORE || used == k);
		free(copy);
		off += k;
	}
	INVARIANT(s.next <= 66560);
	INVARIANT(ret != OBJ_CHUNKED_DONE || s.next == 66560);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data + 1;
	char *copy;

	if (size < 1)
		return 0;
	if (keys.n == 0 && obj_keys_add(&keys, "AKIAIOSFODNN7EXAMPLE",
					"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") != 0)
		abort();
	/* An exact copy, so that reading past the input is caught. */
	copy = malloc(size - 1 + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, d, size - 1);
	switch (data[0] % 5) {
	case 0: fuzz_request(copy, size - 1); break;
	case 1: fuzz_bodies(1, copy, size - 1); break;
	case 2: fuzz_bodies(2, copy, size - 1); break;
	case 3: fuzz_route(copy, size - 1); break;
	case 4: fuzz_chunked(copy, size - 1); break;
	}
	free(copy);
	return 0;
}
