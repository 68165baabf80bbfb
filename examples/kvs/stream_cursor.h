/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a read position in a receive stream, private to the parsers.
 *
 * The parsers walk a request byte by byte across spans without copying it;
 * a cursor keeps the span it is in, so a walk costs O(bytes + spans) rather
 * than a span lookup per byte. A cursor never reads at or past s->len.
 */
#ifndef KVS_STREAM_CURSOR_H
#define KVS_STREAM_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

struct kv_cursor {
	const struct kv_stream *s;
	unsigned int i;           /* span */
	uint32_t pos;             /* byte inside span i */
	size_t off;               /* stream offset of the next byte (past
	                           * s->base, as every offset) */
};

/* kv_cursor_init past the first span. */
void kv_cursor_init_far(struct kv_cursor *c, const struct kv_stream *s, size_t off);

/* Place @c at stream offset @off (at most s->len). Most cursors start in
 * the first span (a request's start): inline. */
static inline void
kv_cursor_init(struct kv_cursor *c, const struct kv_stream *s, size_t off)
{
	size_t at = s->front_skip + off;

	if (off < s->len && at < s->front->len) {
		c->s = s;
		c->i = s->front_i;
		c->pos = (uint32_t)at;
		c->off = off;
		return;
	}
	kv_cursor_init_far(c, s, off);
}

/* Move to the next non-empty span when the current one is used up. */
static inline int
kv_cursor_settle(struct kv_cursor *c)
{
	while (c->i < c->s->n && c->pos >= c->s->spans[c->i].len) {
		c->i++;
		c->pos = 0;
	}
	return c->i < c->s->n;
}

/* The next byte without moving, or -1 at the end of the stream. */
static inline int
kv_cursor_peek(struct kv_cursor *c)
{
	if (!kv_cursor_settle(c))
		return -1;
	return c->s->spans[c->i].data[c->pos];
}

/* The next byte, moving past it, or -1 at the end of the stream. */
static inline int
kv_cursor_next(struct kv_cursor *c)
{
	if (!kv_cursor_settle(c))
		return -1;
	c->off++;
	return c->s->spans[c->i].data[c->pos++];
}

/* Move @n bytes on. Returns 0, or -1 (cursor at the end) if the stream
 * holds fewer. */
int kv_cursor_skip(struct kv_cursor *c, size_t n);

#endif /* KVS_STREAM_CURSOR_H */
