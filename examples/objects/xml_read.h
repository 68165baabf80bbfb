/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: the request bodies S3 takes as XML, read strictly.
 * CompleteMultipartUpload (its parts, in order) and Delete (its keys and
 * Quiet). Anything that is not well-formed XML, or not that schema, is
 * MalformedXML: mismatched or unclosed tags, text outside the root, a
 * DOCTYPE (no entities but the five predefined ones and character
 * references, so no expansion and nothing external), an unknown element
 * where the schema has none, a missing Key or PartNumber, numbers out of
 * range, too many parts or keys. The xmlns attribute is not checked (the
 * SDKs send S3's; some clients none).
 */
#ifndef OBJ_XML_READ_H
#define OBJ_XML_READ_H

#include <stddef.h>

#include "route.h"
#include "s3err.h"

#define OBJ_DELETE_KEYS_MAX 1000        /* keys of one Delete, as S3 */
#define OBJ_XML_BODY_MAX (4u << 20)     /* bytes of a body read here */

struct obj_complete_part {
	unsigned int number;            /* 1..10000 */
	struct obj_str etag;            /* as sent, quotes and all */
};

/* The parsed body: the strings point into it. */
struct obj_xml_doc;

/*
 * Read a CompleteMultipartUpload body of @len bytes at @body: its parts in
 * *@parts (*@n of them, at least one, at most OBJ_PART_NUMBER_MAX), which
 * stay valid until obj_xml_doc_free(*@doc).
 * @return OBJ_OK, OBJ_ERR_MALFORMED_XML or OBJ_ERR_TOO_LARGE (no memory,
 * or a body over OBJ_XML_BODY_MAX); nothing to free on an error.
 */
enum obj_err obj_xml_read_complete(const char *body, size_t len, struct obj_xml_doc **doc,
				   const struct obj_complete_part **parts, unsigned int *n);

/* Read a Delete body: its keys (1 to OBJ_DELETE_KEYS_MAX; a VersionId is
 * accepted and ignored: no versions) and whether Quiet is true. */
enum obj_err obj_xml_read_delete(const char *body, size_t len, struct obj_xml_doc **doc,
				 const struct obj_str **keys, unsigned int *n, int *quiet);

void obj_xml_doc_free(struct obj_xml_doc *doc);

#endif /* OBJ_XML_READ_H */
