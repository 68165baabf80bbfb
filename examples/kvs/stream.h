/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a connection's receive stream, kept spans parsed in place.
 *
 * Values stay in the pool buffers the NIC received them into: a value is a
 * list of names (one per buffer it spans). The server keeps every received
 * segment as it arrives (a connection's receive stream is a queue of kept
 * spans), parses requests across spans, and turns a SET's value range into
 * names. A DRAM reference count per pool buffer (stream + values, see
 * store.h) decides when a buffer is released.
 */
#ifndef KVS_STREAM_H
#define KVS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "paste.h"

struct kv_span {
	pst_name name;            /* the bytes' durable name */
	const uint8_t *data;      /* where they are mapped now */
	uint32_t len;
};

/* Bytes received on one connection and not yet consumed, in order. Offsets
 * used by the parsers count from the first unconsumed byte. */
struct kv_stream {
	struct kv_span *spans;
	unsigned int n, cap;
	size_t len;               /* bytes in the spans */
};

/* Copy [off, off+len) to dst; returns bytes copied. */
size_t kv_stream_copy(const struct kv_stream *s, size_t off, void *dst, size_t len);
/* Offset of the first byte c at or after off, or -1. */
long kv_stream_find(const struct kv_stream *s, size_t off, int c);
/* Byte at off (off < s->len). */
uint8_t kv_stream_byte(const struct kv_stream *s, size_t off);
/* The names covering [off, off+len): sub-ranges of the spans' names, in
 * order. Returns how many (at most max), or -1 if more than max needed. */
int kv_stream_names(const struct kv_stream *s, size_t off, size_t len,
		    pst_name *names, unsigned int max);

/* Called for each span a stream lets go of, with the span's name as it was
 * pushed (the whole segment, even when its front was consumed before). */
typedef void (*kv_stream_drop_fn)(void *arg, pst_name span_name);

/* An empty stream (no allocation until the first push). */
void kv_stream_init(struct kv_stream *s);
/* Append @len bytes at @data named @name (a span of at most UINT16_MAX
 * bytes: names cannot describe more). Empty spans are kept too, so that
 * every pushed name comes back through @drop exactly once.
 * Returns 0, -ENOMEM, or -EINVAL (len > UINT16_MAX, or data NULL). */
int kv_stream_push(struct kv_stream *s, pst_name name, const void *data,
		   uint32_t len);
/* Remove the first @n bytes (all of them if n > s->len). Each span that
 * becomes fully consumed is removed and passed to drop(arg, its pushed
 * name) in stream order; a partially consumed first span is trimmed (its
 * data, len and name then describe the rest). @drop may be NULL. */
void kv_stream_consume(struct kv_stream *s, size_t n, kv_stream_drop_fn drop,
		       void *arg);
/* Drop every remaining span (as consume does) and free the span array;
 * the stream is empty (initialised) afterwards. @drop may be NULL. */
void kv_stream_fini(struct kv_stream *s, kv_stream_drop_fn drop, void *arg);

#endif /* KVS_STREAM_H */
