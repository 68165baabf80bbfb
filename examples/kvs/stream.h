/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a connection's receive stream, kept spans parsed in place.
 *
 * Values stay in the pool buffers the NIC received them into: a value is a
 * list of names (one per buffer it spans). The server holds every received
 * segment as it arrives (pst_conn_hold: a connection's receive stream is a
 * queue of held spans, which keep its TCP window closed until consumed),
 * parses requests across spans, and turns a SET's value range into names,
 * keeping the buffers under them (pst_conn_keep_held). A DRAM reference
 * count per pool buffer (values and queued replies, see store.h) decides
 * when a kept buffer is released; a hold ends when its span is consumed.
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
	uint32_t hold;            /* the stack's hold on them (0: none) */
	uint32_t crc;             /* with KV_SPAN_CRC: CRC32C of the bytes */
	uint8_t kept;             /* holder->keep done: part of a value */
	uint8_t flags;            /* KV_SPAN_*: what was done at arrival */
};

/* kv_span::flags and kv_part::flags. A value's segments are checksummed
 * and flushed as they arrive (kv_stream_push_value), while the driver's
 * write of them is still in cache: by the time a 1 MiB value is whole,
 * its first segments have left it, and the store would read them again. */
#define KV_SPAN_CRC     1u  /* crc is the CRC32C of exactly these bytes */
#define KV_SPAN_FLUSHED 2u  /* the bytes were flushed (pst_pool_flush) */

/* What the stream knows of one name's bytes (kv_stream_names_parts). */
struct kv_part {
	uint32_t crc;             /* with KV_SPAN_CRC */
	uint32_t flags;           /* KV_SPAN_CRC: a whole span's checksum;
	                           * KV_SPAN_FLUSHED: flushed at arrival */
};

/* How the spans' bytes are retained: the stack's holds, on a connection.
 * @name is the span's (any sub-range of its buffer). */
struct kv_stream_holder {
	/* The buffer under @hold becomes (part of) a stored value: at most
	 * once per span. NULL: values are copied, nothing is kept. */
	int (*keep)(void *arg, uint32_t hold, pst_name name);
	/* keep for @n spans at once (the spans of one value), in order:
	 * returns how many, from the first, became storage. NULL: keep one
	 * at a time. */
	unsigned int (*keep_many)(void *arg, const uint32_t *holds, const pst_name *names,
				  unsigned int n);
	/* The span under @hold is consumed; @kept: keep was called for it. */
	void (*unhold)(void *arg, uint32_t hold, pst_name name, int kept);
	void *arg;
};

/* Bytes received on one connection and not yet consumed, in order. Offsets
 * used by the parsers count from the first byte past @base: an open
 * transaction's requests are left unconsumed in front of them (multi.c),
 * skipped by every lookup until EXEC runs them or they are consumed. */
struct kv_stream {
	struct kv_span *spans;
	unsigned int n, cap;
	size_t len;               /* bytes in the spans past @base */
	size_t base;              /* bytes in front, unconsumed but skipped
	                           * (kv_stream_skip); 0 but in a transaction */
	/* The span offset 0 (past @base) lies in, and where that span starts
	 * (counting @base): the parsers' fast paths look there first, as
	 * they look in the first span when nothing is skipped. */
	unsigned int front_i;
	size_t front_start;
	/* Cached for the fast paths: &spans[front_i] (when n > 0) and
	 * base - front_start, set with them (kv_stream_front_set). */
	const struct kv_span *front;
	size_t front_skip;
	/* NULL: spans are not held (tests); set to NULL when the holds ended
	 * with their connection. */
	const struct kv_stream_holder *holder;
	/* Where lookups reached: span hint_i starts at offset hint_base. A
	 * lookup past it, or nearer it than the front, starts there, so a
	 * parse that resumes far into a request of many spans finds its place
	 * without stepping over every span from the first. A cache (lookups update it through a const
	 * stream); consuming resets it. */
	unsigned int hint_i;
	size_t hint_base;
	uint64_t span_steps;      /* spans lookups stepped over since
	                           * kv_stream_init: the cost tests bound */
};

/* [off, off+len) where it lies when the first span holds it whole, as it
 * usually does for a request's lines and arguments; NULL otherwise (the
 * caller goes across spans). */
static inline const uint8_t *
kv_stream_in_first_span(const struct kv_stream *s, size_t off, size_t len)
{
	const struct kv_span *sp;

	if (s->n == 0)
		return NULL;
	sp = s->front;
	off += s->front_skip;
	return off + len <= sp->len ? sp->data + off : NULL;
}

/* Copy [off, off+len) to dst; returns bytes copied. */
size_t kv_stream_copy(const struct kv_stream *s, size_t off, void *dst, size_t len);
/* Offset of the first byte c at or after off, or -1. */
long kv_stream_find(const struct kv_stream *s, size_t off, int c);
/* Byte at off (off < s->len). */
uint8_t kv_stream_byte(const struct kv_stream *s, size_t off);
/* The names covering [off, off+len): sub-ranges of the spans' names, in
 * order, their buffers kept through the holder (a value is stored). Returns
 * how many (at most max), or -1 if more than max needed or a keep failed. */
int kv_stream_names(const struct kv_stream *s, size_t off, size_t len,
		    pst_name *names, unsigned int max);

/* kv_stream_names, with @parts[i] (NULL: not wanted) saying what was
 * done to names[i]'s bytes at arrival: a name that is a whole span pushed
 * by kv_stream_push_value has its CRC32C; any part of such a span was
 * flushed. */
int kv_stream_names_parts(const struct kv_stream *s, size_t off, size_t len,
			  pst_name *names, struct kv_part *parts, unsigned int max);

/* The same as kv_stream_names, with each piece's bytes too: into
 * @out[0..max) as (name, data, len), hold 0 (a queued request's bytes,
 * multi.c). Returns how many, or -1. */
int kv_stream_spans(const struct kv_stream *s, size_t off, size_t len,
		    struct kv_span *out, unsigned int max);

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
/* The same for bytes under the stack's hold @hold: the holder's unhold
 * gets it back when the span is consumed. */
int kv_stream_push_held(struct kv_stream *s, pst_name name, const void *data,
			uint32_t len, uint32_t hold);
/* kv_stream_push_held for the bytes of a value being received, already
 * checksummed (@crc: their CRC32C) and flushed by the caller, which
 * kv_stream_names_parts reports. */
int kv_stream_push_value(struct kv_stream *s, pst_name name, const void *data,
			 uint32_t len, uint32_t hold, uint32_t crc);
/* front_i and front_start moved on to s->base (stream.c). */
void kv_stream_front_advance(struct kv_stream *s);

/* front and front_skip from spans, base, front_i and front_start. */
static inline void
kv_stream_front_set(struct kv_stream *s)
{
	s->front = s->spans + s->front_i;
	s->front_skip = s->base - s->front_start;
}

/* Leave the first @n bytes (at most s->len) unconsumed but out of sight:
 * offsets count from past them (s->base grows by n). Once per request of
 * an open transaction: inline. */
static inline void
kv_stream_skip(struct kv_stream *s, size_t n)
{
	if (n > s->len)
		n = s->len;
	s->base += n;
	s->len -= n;
	s->front_skip += n;
	if (s->n > 0 && s->front_skip >= s->front->len)
		kv_stream_front_advance(s);
}

/* Where the stream is seen from (s->base) and its front span there: a
 * place to come back to with kv_stream_return(). */
struct kv_stream_mark {
	size_t base;
	unsigned int front_i;
	size_t front_start;
};

static inline struct kv_stream_mark
kv_stream_here(const struct kv_stream *s)
{
	return (struct kv_stream_mark){ .base = s->base, .front_i = s->front_i,
					.front_start = s->front_start };
}

/* kv_stream_seek() to a place kv_stream_here() took, with nothing
 * consumed since: its front span is known, nothing is walked. */
static inline void
kv_stream_return(struct kv_stream *s, struct kv_stream_mark at)
{
	s->len = s->base + s->len - at.base;
	s->base = at.base;
	s->front_i = at.front_i;
	s->front_start = at.front_start;
	kv_stream_front_set(s);
}

/* Look from @pos bytes past the first unconsumed one (pos at most
 * s->base + s->len): s->base becomes @pos. What kv_stream_skip() left out
 * of sight is seen again this way, and hidden again by seeking back. */
static inline void
kv_stream_seek(struct kv_stream *s, size_t pos)
{
	size_t total = s->base + s->len;

	if (pos > total)
		pos = total;
	if (pos < s->front_start) {   /* back: from the first span */
		s->front_i = 0;
		s->front_start = 0;
	}
	s->base = pos;
	s->len = total - pos;
	kv_stream_front_set(s);
	if (s->n > 0 && s->front_skip >= s->front->len)
		kv_stream_front_advance(s);
}
/* Remove the first @n bytes past s->base, and the s->base bytes in front
 * of them (all of them if n > s->len; s->base is 0 afterwards). Each span that
 * becomes fully consumed is removed, unheld, and passed to drop(arg, its
 * pushed name) in stream order; a partially consumed first span is trimmed (its
 * data, len and name then describe the rest, and its CRC is forgotten). @drop may be NULL. */
void kv_stream_consume(struct kv_stream *s, size_t n, kv_stream_drop_fn drop,
		       void *arg);
/* Drop every remaining span (as consume does) and free the span array;
 * the stream is empty (initialised) afterwards. @drop may be NULL. */
void kv_stream_fini(struct kv_stream *s, kv_stream_drop_fn drop, void *arg);

#endif /* KVS_STREAM_H */
