/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-objects: writing S3's XML response bodies. Elements are opened and
 * closed in order; text is escaped (& < > " ' and CR, which XML readers
 * would otherwise turn into LF). The writer grows its buffer and remembers
 * a failed allocation, so the caller checks once, at obj_xml_finish.
 */
#ifndef OBJ_XML_H
#define OBJ_XML_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define OBJ_XML_DEPTH 8
#define OBJ_S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

struct obj_xml {
	char *buf;
	size_t len, cap;
	int oom;
	unsigned int depth;
	const char *open[OBJ_XML_DEPTH];
};

/* Start a document: the XML declaration. */
void obj_xml_init(struct obj_xml *x);
/* <name> (with xmlns="@xmlns" unless NULL); at most OBJ_XML_DEPTH deep. */
void obj_xml_open(struct obj_xml *x, const char *name, const char *xmlns);
/* </name> of the innermost open element. */
void obj_xml_close(struct obj_xml *x);
/* <name>text</name>, @text's @len bytes escaped. */
void obj_xml_text(struct obj_xml *x, const char *name, const char *text, size_t len);
void obj_xml_str(struct obj_xml *x, const char *name, const char *text);
void obj_xml_u64(struct obj_xml *x, const char *name, uint64_t v);
void obj_xml_bool(struct obj_xml *x, const char *name, int v);
/* ISO 8601 in UTC with milliseconds, as S3 writes LastModified. */
void obj_xml_time(struct obj_xml *x, const char *name, time_t t);
/* <name>text</name> with @text URL-encoded (encoding-type=url: a space is
 * '+', what is not unreserved nor '/' is %XX). */
void obj_xml_urlenc(struct obj_xml *x, const char *name, const char *text, size_t len,
		    int encode);

/* The document (every element closed): *@out and *@len, owned by @x.
 * @return 0, -ENOMEM, or -EINVAL when elements are still open or nested
 * too deep. */
int obj_xml_finish(struct obj_xml *x, const char **out, size_t *len);
void obj_xml_fini(struct obj_xml *x);

#endif /* OBJ_XML_H */
