/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects's XML (s3xml.h, xml_read.h) for test_xml_botocore.py,
 * which reads it with botocore's own parser and writes the request bodies
 * botocore serializes.
 *
 *   xml_check render TARGET   keys on stdin, one a line in hex: the
 *                             listing of them for GET TARGET, then the
 *                             other responses, each document ending with
 *                             a line "--"
 *   xml_check complete|delete a body on stdin: its parts ("N ETAG") or
 *                             keys (hex), one a line, or the S3 error code
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "s3xml.h"
#include "xml_read.h"

#define KEYS_MAX 64

static void
emit(struct obj_xml *x)
{
	const char *out;
	size_t len;

	if (obj_xml_finish(x, &out, &len) != 0) {
		fprintf(stderr, "xml_check: document not finished\n");
		exit(2);
	}
	fwrite(out, 1, len, stdout);
	printf("\n--\n");
	obj_xml_fini(x);
}

static int
unhex(const char *s, char *out)
{
	size_t n = strlen(s), i;
	unsigned int b;

	for (i = 0; i + 1 < n; i += 2) {
		if (sscanf(s + i, "%2x", &b) != 1)
			return -1;
		out[i / 2] = (char)b;
	}
	return (int)(n / 2);
}

static int
render(const char *target)
{
	static struct obj_route rt;
	static char keybuf[KEYS_MAX][OBJ_OBJECT_KEY_MAX + 1];
	static char line[2 * OBJ_OBJECT_KEY_MAX + 4];
	struct obj_object_entry o[KEYS_MAX];
	struct obj_delete_entry d[KEYS_MAX];
	struct obj_upload_entry u[KEYS_MAX];
	struct obj_owner owner = { "AKIAOWNER", "owner name" };
	struct obj_bucket_entry b[] = { { "bkt", 1369353600 }, { "b.2-x", 1700000000 } };
	struct obj_part_entry p[] = { { 1, 1369353600, "\"p1\"", 5242880 }, { 2, 1369353601, "\"p2\"", 7 } };
	struct obj_list_result res = { 0 };
	struct obj_xml x;
	unsigned int n = 0;

	while (n < KEYS_MAX && fgets(line, sizeof(line), stdin) != NULL) {
		int len;

		line[strcspn(line, "\n")] = '\0';
		len = unhex(line, keybuf[n]);
		if (len < 0)
			return 2;
		o[n] = (struct obj_object_entry){ { keybuf[n], (size_t)len }, 1369353600 + n,
						  "\"5d41402abc4b2a76b9719d911017c592\"", 1000u * n };
		d[n] = (struct obj_delete_entry){ { keybuf[n], (size_t)len }, n % 2 ? "AccessDenied" : NULL,
						  n % 2 ? "Access Denied" : NULL };
		u[n] = (struct obj_upload_entry){ { keybuf[n], (size_t)len }, "UP-1", 1369353600 };
		n++;
	}
	if (obj_route_parse("GET", target, strlen(target), NULL, 0, &rt) != OBJ_OK)
		return 2;
	res.objects = o;
	res.n_objects = n > 0 ? n - 1 : 0;
	res.prefixes = n > 0 ? &o[n - 1].key : NULL;   /* the last as a CommonPrefix */
	res.n_prefixes = n > 0;
	res.truncated = 1;
	res.next = o[0].key;
	res.owner = &owner;
	obj_xml_init(&x);
	obj_s3xml_list_objects(&x, &rt, &res);
	emit(&x);
	obj_xml_init(&x);
	obj_s3xml_list_buckets(&x, &owner, b, 2);
	emit(&x);
	obj_xml_init(&x);
	obj_s3xml_error(&x, "NoSuchKey", "The specified key does not exist.", "/bkt/<&>", "RID1");
	emit(&x);
	obj_xml_init(&x);
	obj_s3xml_delete_result(&x, d, n, 0);
	emit(&x);
	obj_xml_init(&x);
	obj_s3xml_initiate_upload(&x, "bkt", &o[0].key, "UP-1");
	emit(&x);
	obj_xml_init(&x);
	obj_s3xml_complete_upload(&x, "http://h/bkt/k", "bkt", &o[0].key, "\"e-2\"");
	emit(&x);
	obj_xml_init(&x);
	obj_s3xml_copy_result(&x, "\"e\"", 1369353600, 0);
	emit(&x);
	if (obj_route_parse("GET", "/bkt/k?uploadId=UP-1&max-parts=2", 32, NULL, 0, &rt) != OBJ_OK)
		return 2;
	obj_xml_init(&x);
	obj_s3xml_list_parts(&x, &rt, &owner, p, 2, 1, 2);
	emit(&x);
	if (obj_route_parse("GET", "/bkt?uploads", 12, NULL, 0, &rt) != OBJ_OK)
		return 2;
	obj_xml_init(&x);
	obj_s3xml_list_uploads(&x, &rt, &owner, u, n, NULL, 0, 1, &o[0].key, "UP-1");
	emit(&x);
	return 0;
}

static void
print_hex(const struct obj_str *s)
{
	size_t i;

	for (i = 0; i < s->len; i++)
		printf("%02x", (unsigned char)s->p[i]);
	printf("\n");
}

int
main(int argc, char **argv)
{
	static char body[OBJ_XML_BODY_MAX];
	struct obj_xml_doc *doc;
	unsigned int n, i;
	size_t len;
	enum obj_err e;

	if (argc == 3 && strcmp(argv[1], "render") == 0)
		return render(argv[2]);
	if (argc != 2)
		return 2;
	len = fread(body, 1, sizeof(body), stdin);
	if (strcmp(argv[1], "complete") == 0) {
		const struct obj_complete_part *parts;

		e = obj_xml_read_complete(body, len, &doc, &parts, &n);
		if (e != OBJ_OK) {
			printf("%s\n", obj_err_code(e));
			return 0;
		}
		for (i = 0; i < n; i++)
			printf("%u %.*s\n", parts[i].number, (int)parts[i].etag.len, parts[i].etag.p);
	} else if (strcmp(argv[1], "delete") == 0) {
		const struct obj_str *keys;
		int quiet;

		e = obj_xml_read_delete(body, len, &doc, &keys, &n, &quiet);
		if (e != OBJ_OK) {
			printf("%s\n", obj_err_code(e));
			return 0;
		}
		printf("quiet=%d\n", quiet);
		for (i = 0; i < n; i++)
			print_hex(&keys[i]);
	} else {
		return 2;
	}
	obj_xml_doc_free(doc);
	return 0;
}
