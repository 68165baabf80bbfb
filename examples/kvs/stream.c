/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a connection's receive stream, a queue of held spans.
 *
 * The span array carries one hidden record in front of it (spans[-1]): the
 * name the first span was pushed with and how many of its bytes have been
 * consumed. Only the first span is ever trimmed, so this is all that is
 * needed to hand the pushed name back when the span goes, while spans[0]
 * itself describes what is left (as stream.h promises).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "stream_cursor.h"

#define STREAM_FIRST_CAP 8

/* spans[-1]: name = pushed name of spans[0], len = bytes trimmed off it. */
static struct kv_span *
stream_head(const struct kv_stream *s)
{
	return s->spans - 1;
}

/* stream_locate past the first span: from the hint when @off is past it
 * or nearer it than the front. @off counts from the first unconsumed byte
 * (s->base included), as the hint does. */
static int
stream_locate_far(const struct kv_stream *s, size_t off, unsigned int *span,
		  uint32_t *pos)
{
	/* The hint is a cache: the streams lookups take as const are
	 * never const objects. */
	struct kv_stream *m = (struct kv_stream *)s;
	unsigned int i = s->front_i;
	size_t base = s->front_start;

	if (s->hint_i < s->n && off >= s->hint_base) {
		i = s->hint_i;
		base = s->hint_base;
	} else if (s->hint_i < s->n && s->hint_base - off < off - base) {
		/* Nearer the hint than the front (a line a parser has just
		 * found the end of): walk back from there. */
		i = s->hint_i;
		base = s->hint_base;
		while (base > off) {
			base -= s->spans[--i].len;
			m->span_steps++;
		}
	}
	for (; i < s->n; base += s->spans[i].len, i++) {
		if (off - base < s->spans[i].len) {
			*span = i;
			*pos = (uint32_t)(off - base);
			if (base >= s->hint_base) {
				m->hint_i = i;
				m->hint_base = base;
			}
			return 0;
		}
		m->span_steps++;
	}
	return -1; /* s->len disagrees with the spans */
}

/* The span and the position in it of stream offset @off (< s->len, past
 * s->base). Most lookups are in the first span (a request's start):
 * inline, no hint. */
static inline int
stream_locate(const struct kv_stream *s, size_t off, unsigned int *span,
	      uint32_t *pos)
{
	if (off >= s->len)
		return -1;
	if (off + s->front_skip < s->front->len) {
		*span = s->front_i;
		*pos = (uint32_t)(off + s->front_skip);
		return 0;
	}
	return stream_locate_far(s, off + s->base, span, pos);
}

size_t
kv_stream_copy(const struct kv_stream *s, size_t off, void *dst, size_t len)
{
	unsigned int i;
	uint32_t pos;
	size_t done = 0, chunk;

	if (len == 0 || stream_locate(s, off, &i, &pos) != 0)
		return 0;
	for (; i < s->n && done < len; i++, pos = 0) {
		chunk = s->spans[i].len - pos;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((uint8_t *)dst + done, s->spans[i].data + pos, chunk);
		done += chunk;
	}
	return done;
}

long
kv_stream_find(const struct kv_stream *s, size_t off, int c)
{
	unsigned int i;
	uint32_t pos;
	size_t base;
	const uint8_t *hit;

	if (stream_locate(s, off, &i, &pos) != 0)
		return -1;
	base = off - pos;   /* span i's start, less s->base */
	for (; i < s->n; base += s->spans[i].len, i++, pos = 0) {
		if (s->spans[i].len == pos)
			continue;
		hit = memchr(s->spans[i].data + pos, c, s->spans[i].len - pos);
		if (hit != NULL)
			return (long)(base + (size_t)(hit - s->spans[i].data));
	}
	return -1;
}

uint8_t
kv_stream_byte(const struct kv_stream *s, size_t off)
{
	unsigned int i;
	uint32_t pos;

	if (stream_locate(s, off, &i, &pos) != 0)
		return 0;
	return s->spans[i].data[pos];
}

/* Keep @sp's buffer for the stream's holder, once: what naming a span's
 * bytes (kv_stream_names, kv_stream_spans) takes. 0, or the holder's
 * refusal. */
static inline int
span_keep_once(const struct kv_stream *s, struct kv_span *sp)
{
	if (s->holder == NULL || s->holder->keep == NULL || sp->hold == 0 || sp->kept)
		return 0;
	if (s->holder->keep(s->holder->arg, sp->hold, sp->name) != 0)
		return -1;
	sp->kept = 1;
	return 0;
}

/* Spans a value's naming keeps per holder->keep_many call. */
#define KEEP_BATCH 64

/* The holder's keep_many of the @n spans @sp (holds @holds): 0, or -1
 * when not all became storage (those that did are marked). */
static int
spans_keep(const struct kv_stream *s, struct kv_span **sp, const uint32_t *holds,
	   const pst_name *names, unsigned int n)
{
	unsigned int k, i;

	if (n == 0)
		return 0;
	k = s->holder->keep_many(s->holder->arg, holds, names, n);
	for (i = 0; i < k && i < n; i++)
		sp[i]->kept = 1;
	return k == n ? 0 : -1;
}

int
kv_stream_names(const struct kv_stream *s, size_t off, size_t len,
		pst_name *names, unsigned int max)
{
	return kv_stream_names_parts(s, off, len, names, NULL, max);
}

int
kv_stream_names_parts(const struct kv_stream *s, size_t off, size_t len,
		      pst_name *names, struct kv_part *parts, unsigned int max)
{
	struct kv_span *batch[KEEP_BATCH];
	uint32_t holds[KEEP_BATCH];
	pst_name bnames[KEEP_BATCH];
	unsigned int i, n = 0, nb = 0;
	int many;
	uint32_t pos;
	size_t chunk;

	if (len == 0)
		return 0;
	if (off > s->len || len > s->len - off || stream_locate(s, off, &i, &pos) != 0)
		return -1;
	/* The spans to keep go to the holder a batch at a time: a value's
	 * buffers become storage together (one flush per line of their
	 * ownership bytes, not one per buffer). */
	many = s->holder != NULL && s->holder->keep != NULL && s->holder->keep_many != NULL;
	for (; i < s->n && len > 0; i++, pos = 0) {
		struct kv_span *sp = &s->spans[i];

		chunk = sp->len - pos;
		if (chunk == 0)
			continue;
		if (chunk > len)
			chunk = len;
		if (n == max)
			return -1;
		if (!many) {
			if (span_keep_once(s, sp) != 0)
				return -1;
		} else if (sp->hold != 0 && !sp->kept) {
			batch[nb] = sp;
			holds[nb] = sp->hold;
			bnames[nb++] = sp->name;
			if (nb == KEEP_BATCH) {
				if (spans_keep(s, batch, holds, bnames, nb) != 0)
					return -1;
				nb = 0;
			}
		}
		if (parts != NULL) {
			parts[n].crc = sp->crc;
			parts[n].flags = sp->flags & KV_SPAN_FLUSHED;
			if (pos == 0 && chunk == sp->len)
				parts[n].flags |= sp->flags & KV_SPAN_CRC;
		}
		names[n++] = pst_name_make(pst_name_index(sp->name),
					   (uint16_t)(pst_name_offset(sp->name) + pos),
					   (uint16_t)chunk);
		len -= chunk;
	}
	if (len != 0 || spans_keep(s, batch, holds, bnames, nb) != 0)
		return -1;
	return (int)n;
}

int
kv_stream_spans(const struct kv_stream *s, size_t off, size_t len,
		struct kv_span *out, unsigned int max)
{
	struct kv_span *sp;
	unsigned int i, n = 0;
	uint32_t pos;
	size_t chunk;

	if (len == 0)
		return 0;
	if (off > s->len || len > s->len - off)
		return -1;
	if (off == 0 && s->base == 0) {  /* a queued request: the front */
		i = 0;
		pos = 0;
	} else if (stream_locate(s, off, &i, &pos) != 0) {
		return -1;
	}
	for (; i < s->n && len > 0; i++, pos = 0) {
		sp = &s->spans[i];
		chunk = sp->len - pos;
		if (chunk == 0)
			continue;
		if (chunk > len)
			chunk = len;
		if (n == max)
			return -1;
		if (span_keep_once(s, sp) != 0)
			return -1;
		out[n].name = pst_name_make(pst_name_index(sp->name),
					    (uint16_t)(pst_name_offset(sp->name) + pos),
					    (uint16_t)chunk);
		out[n].data = sp->data + pos;
		out[n].len = (uint32_t)chunk;
		out[n].hold = 0;
		out[n].kept = 0;
		out[n].crc = sp->crc;
		out[n].flags = sp->flags & KV_SPAN_FLUSHED;
		if (pos == 0 && chunk == sp->len)
			out[n].flags |= sp->flags & KV_SPAN_CRC;
		n++;
		len -= chunk;
	}
	return len == 0 ? (int)n : -1;
}

/* ---- the queue -------------------------------------------------------- */

void
kv_stream_init(struct kv_stream *s)
{
	s->spans = NULL;
	s->n = 0;
	s->cap = 0;
	s->len = 0;
	s->base = 0;
	s->front_i = 0;
	s->front_start = 0;
	s->front = NULL;
	s->front_skip = 0;
	s->holder = NULL;
	s->hint_i = 0;
	s->hint_base = 0;
	s->span_steps = 0;
}

int
kv_stream_push(struct kv_stream *s, pst_name name, const void *data, uint32_t len)
{
	return kv_stream_push_held(s, name, data, len, 0);
}

/* front_i and front_start for s->base, walking on from where they are
 * (a span that ends at s->base is passed when another follows). */
void
kv_stream_front_advance(struct kv_stream *s)
{
	while (s->front_i + 1 < s->n &&
	       s->base - s->front_start >= s->spans[s->front_i].len) {
		s->front_start += s->spans[s->front_i].len;
		s->front_i++;
	}
	kv_stream_front_set(s);
}

static int
span_push(struct kv_stream *s, pst_name name, const void *data, uint32_t len,
	  uint32_t hold, uint32_t crc, uint8_t flags)
{
	struct kv_span *sp;

	if (len > UINT16_MAX || (data == NULL && len > 0))
		return -EINVAL;
	if (s->n == s->cap) {
		unsigned int cap = s->cap ? s->cap * 2 : STREAM_FIRST_CAP;
		struct kv_span *mem = s->spans ? stream_head(s) : NULL;

		if (cap < s->cap)
			return -ENOMEM;
		mem = realloc(mem, ((size_t)cap + 1) * sizeof(*mem));
		if (mem == NULL)
			return -ENOMEM;
		if (s->spans == NULL)
			memset(mem, 0, sizeof(*mem));
		s->spans = mem + 1;
		s->cap = cap;
	}
	if (s->n == 0) {
		stream_head(s)->name = name;
		stream_head(s)->len = 0;
	}
	sp = &s->spans[s->n++];
	sp->name = name;
	sp->data = data;
	sp->len = len;
	sp->hold = hold;
	sp->kept = 0;
	sp->crc = crc;
	sp->flags = flags;
	s->len += len;
	/* The spans may have moved; the front may have been a span's end:
	 * it moves on to this one. */
	kv_stream_front_set(s);
	if (s->base > 0 && s->front_skip >= s->front->len)
		kv_stream_front_advance(s);
	return 0;
}

int
kv_stream_push_held(struct kv_stream *s, pst_name name, const void *data,
		    uint32_t len, uint32_t hold)
{
	return span_push(s, name, data, len, hold, 0, 0);
}

int
kv_stream_push_value(struct kv_stream *s, pst_name name, const void *data,
		     uint32_t len, uint32_t hold, uint32_t crc)
{
	return span_push(s, name, data, len, hold, crc, KV_SPAN_CRC | KV_SPAN_FLUSHED);
}

void
kv_stream_consume(struct kv_stream *s, size_t n, kv_stream_drop_fn drop, void *arg)
{
	struct kv_span *head, *sp;
	unsigned int k = 0;
	pst_name name;

	if (s->n == 0)
		return;
	head = stream_head(s);
	if (n > s->len)
		n = s->len;
	s->len -= n;
	n += s->base;       /* what was skipped goes with them */
	s->base = 0;
	s->front_i = 0;
	s->front_start = 0;
	s->front = s->spans;
	s->front_skip = 0;
	s->hint_i = 0;      /* offsets move: forget where lookups were */
	s->hint_base = 0;
	/* Whole spans: everything the n bytes reach the end of. */
	while (k < s->n && n >= s->spans[k].len) {
		n -= s->spans[k].len;
		if (s->holder != NULL && s->spans[k].hold != 0)
			s->holder->unhold(s->holder->arg, s->spans[k].hold,
					  s->spans[k].name, s->spans[k].kept);
		if (drop != NULL)
			drop(arg, k == 0 ? head->name : s->spans[k].name);
		k++;
	}
	if (k > 0) {
		s->n -= k;
		/* Most often one span is left (the next request's start):
		 * an assignment, not a call of memmove. */
		if (s->n == 1)
			s->spans[0] = s->spans[k];
		else
			memmove(s->spans, s->spans + k, s->n * sizeof(*s->spans));
		if (s->n > 0)
			head->name = s->spans[0].name;
		head->len = 0;
	}
	if (n == 0)
		return;
	/* Part of the first span: trim it. */
	sp = &s->spans[0];
	name = sp->name;
	sp->data += n;
	sp->len -= (uint32_t)n;
	sp->flags &= (uint8_t)~KV_SPAN_CRC;  /* it was the whole span's */
	sp->name = pst_name_make(pst_name_index(name),
				 (uint16_t)(pst_name_offset(name) + n),
				 (uint16_t)sp->len);
	head->len += (uint32_t)n;
}

void
kv_stream_fini(struct kv_stream *s, kv_stream_drop_fn drop, void *arg)
{
	const struct kv_stream_holder *holder = s->holder;

	if (s->spans == NULL) {
		kv_stream_init(s);
		s->holder = holder;
		return;
	}
	kv_stream_consume(s, s->len, drop, arg);
	/* Whatever is left is empty spans the loop above did not reach. */
	kv_stream_consume(s, 0, drop, arg);
	free(stream_head(s));
	kv_stream_init(s);
	s->holder = holder;
}

/* ---- cursors (stream_cursor.h) ---------------------------------------- */

void
kv_cursor_init_far(struct kv_cursor *c, const struct kv_stream *s, size_t off)
{
	c->s = s;
	c->off = off;
	if (stream_locate(s, off, &c->i, &c->pos) != 0) {
		/* At or past the end: park at the end. */
		c->i = s->n;
		c->pos = 0;
		c->off = s->len;
	}
}

int
kv_cursor_skip(struct kv_cursor *c, size_t n)
{
	const struct kv_stream *s = c->s;
	size_t room;

	while (n > 0) {
		if (c->i >= s->n)
			return -1;
		room = s->spans[c->i].len - c->pos;
		if (n < room) {
			c->pos += (uint32_t)n;
			c->off += n;
			return 0;
		}
		n -= room;
		c->off += room;
		c->i++;
		c->pos = 0;
	}
	return 0;
}
