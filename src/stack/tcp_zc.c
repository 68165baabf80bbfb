/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bytes sent by name (a kept pool buffer's, referenced in place) appended
 * to lwIP's unsent queue without tcp_write().
 *
 * tcp_write() is general: copy or reference, oversized copies, checksum on
 * copy, SYN states, three phases staged in locals. A reply of values sent
 * by name calls it once per piece (about 545 instructions each, measured
 * with callgrind: bench/notes.md). This builds the segments tcp_write would
 * for a reference, from lwIP's own structures (tcp_priv.h, as tcp_batch.c
 * does): each segment is a header pbuf (PBUF_RAM, room for the headers
 * below TCP, then TCP's own and its options) followed by data pbufs, with
 * seg->len its data bytes and its TCP header filled in but for ackno, wnd
 * and checksum (tcp_output's). lwIP splits, retransmits and frees such
 * segments as its own, since they are built as its own are.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/memp.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "tcp_zc.h"

/* Options in a data segment with these flags (tcp_out.c's
 * LWIP_TCP_OPT_LENGTH_SEGMENT without a hook, which paste does not set). */
/* The shared steps of the two appends cost what their copies did: one
 * body per call site, as before they were shared. */
#define PST_ALWAYS_INLINE __attribute__((always_inline))

#define SEG_OPTLEN(flags) ((u16_t)(LWIP_TCP_OPT_LENGTH(flags)))

/* A reference pbuf for @len bytes at @data: what pbuf_alloc(PBUF_RAW,
 * len, PBUF_ROM) returns (freed by pbuf_free as such), without its
 * generality (about 50 instructions of 76 a call). */
static struct pbuf *
ref_pbuf(const void *data, u16_t len)
{
	struct pbuf *p = (struct pbuf *)memp_malloc(MEMP_PBUF);

	if (p == NULL)
		return NULL;
	p->next = NULL;
	p->payload = (void *)(uintptr_t)data;
	p->tot_len = len;
	p->len = len;
	p->type_internal = (u8_t)PBUF_ROM;
	p->flags = 0;
	p->ref = 1;
	p->if_idx = NETIF_NO_INDEX;
	return p;
}

/*
 * Header pbufs: a segment's first pbuf holds its TCP header and options
 * and room for the headers below. lwIP's are PBUF_RAM, one malloc() and
 * free() each (about 140 and 100 instructions); these are custom pbufs of
 * the same type on a free list per thread, returned to it by pbuf_free().
 * The free list is capped; the rest goes back to malloc, and a thread's
 * list is freed when the thread ends.
 */
#define HDR_ROOM (LWIP_MEM_ALIGN_SIZE(PBUF_TRANSPORT) + 40)
#define HDR_FREE_MAX 8192

/*
 * Copy pbufs: copied bytes go into a pbuf of their own with room for a
 * whole segment, as tcp_write's copies do (one PBUF_RAM pbuf per segment:
 * headers, options, data, spare room announced in unsent_oversize), from
 * a free list per thread like the header pbufs.
 */
#define COPY_ROOM (LWIP_MEM_ALIGN_SIZE(PBUF_TRANSPORT) + TCP_MSS)
#define COPY_FREE_MAX 4096

/* A header or copy pbuf: its memory (HDR_ROOM or COPY_ROOM bytes, and
 * room to align them) follows. */
struct pooled {
	struct pbuf_custom pc;
	struct pooled *next;
	u8_t mem[];
};

struct free_list {
	struct pooled *head;
	unsigned int n;
};

static _Thread_local struct free_list hdr_list, copy_list;
static _Thread_local int lists_registered;
static pthread_key_t lists_key;
static pthread_once_t lists_once = PTHREAD_ONCE_INIT;

static void
list_free(struct free_list *fl)
{
	struct pooled *c, *next;

	for (c = fl->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	fl->head = NULL;
	fl->n = 0;
}

/* At a thread's end (pthread key destructor): its free lists. */
static void
lists_free(void *unused)
{
	(void)unused;
	list_free(&hdr_list);
	list_free(&copy_list);
}

static void
lists_key_make(void)
{
	(void)pthread_key_create(&lists_key, lists_free);
}

/* A thread's lists are freed when it ends (the key's destructor). */
static void
lists_register(void)
{
	if (!lists_registered) {
		/* Any value but NULL: the destructor runs. */
		(void)pthread_once(&lists_once, lists_key_make);
		(void)pthread_setspecific(lists_key, &hdr_list);
		lists_registered = 1;
	}
}

static inline PST_ALWAYS_INLINE void
list_give(struct free_list *fl, unsigned int max, struct pbuf *p)
{
	struct pooled *c = (struct pooled *)(void *)p;

	if (fl->n >= max) {
		free(c);
		return;
	}
	c->next = fl->head;
	fl->head = c;
	fl->n++;
}

static void
hdr_release(struct pbuf *p)
{
	list_give(&hdr_list, HDR_FREE_MAX, p);
}

static void
copy_release(struct pbuf *p)
{
	list_give(&copy_list, COPY_FREE_MAX, p);
}

/* A PBUF_RAM custom pbuf of @len bytes from @fl (or malloc: @room bytes
 * of memory), its payload @at bytes into its aligned memory. */
static inline PST_ALWAYS_INLINE struct pbuf *
list_take(struct free_list *fl, size_t room, pbuf_free_custom_fn release, u16_t at,
	  u16_t len)
{
	struct pooled *c = fl->head;
	struct pbuf *p;

	if (c != NULL) {
		fl->head = c->next;
		fl->n--;
	} else {
		lists_register();
		c = malloc(sizeof(*c) + room + MEM_ALIGNMENT - 1);
		if (c == NULL)
			return NULL;
	}
	c->pc.custom_free_function = release;
	p = &c->pc.pbuf;
	p->next = NULL;
	p->payload = (u8_t *)LWIP_MEM_ALIGN(c->mem) + at;
	p->tot_len = len;
	p->len = len;
	p->type_internal = (u8_t)PBUF_RAM;
	p->flags = PBUF_FLAG_IS_CUSTOM;
	p->ref = 1;
	p->if_idx = NETIF_NO_INDEX;
	return p;
}

/* A copy pbuf of @len bytes whose payload lies @at bytes into its memory
 * (0 for a pbuf chained after others, PBUF_RAW; the TCP header's place for
 * a segment's first); its room runs to COPY_ROOM. */
static struct pbuf *
copy_pbuf(u16_t at, u16_t len)
{
	return list_take(&copy_list, COPY_ROOM, copy_release, at, len);
}

/* A header pbuf holding a TCP header and @optlen option bytes, its payload
 * at the TCP header, as pbuf_alloc(PBUF_TRANSPORT, optlen, PBUF_RAM) then
 * pbuf_add_header(TCP_HLEN) leave it. */
static struct pbuf *
hdr_pbuf(u16_t optlen)
{
	return list_take(&hdr_list, HDR_ROOM, hdr_release,
			 LWIP_MEM_ALIGN_SIZE(PBUF_TRANSPORT) - TCP_HLEN,
			 (u16_t)(TCP_HLEN + optlen));
}

/* @seg's fields and its TCP header as tcp_create_segment() sets them, over
 * @p, whose payload starts at that header. */
static inline PST_ALWAYS_INLINE void
seg_init(struct tcp_seg *seg, const struct tcp_pcb *pcb, struct pbuf *p, u16_t len,
	 u32_t seqno, u8_t optflags, u16_t optlen)
{
	seg->flags = optflags;
	seg->next = NULL;
	seg->p = p;
	seg->len = len;
	seg->tcphdr = (struct tcp_hdr *)p->payload;
	seg->tcphdr->src = lwip_htons(pcb->local_port);
	seg->tcphdr->dest = lwip_htons(pcb->remote_port);
	seg->tcphdr->seqno = lwip_htonl(seqno);
	TCPH_HDRLEN_FLAGS_SET(seg->tcphdr, (5 + optlen / 4), 0);
	seg->tcphdr->urgp = 0;
}

/* A new segment of @len bytes at @data starting at sequence number @seqno,
 * as tcp_write's third phase and tcp_create_segment() build it. */
static struct tcp_seg *
new_segment(const struct tcp_pcb *pcb, const void *data, u16_t len, u32_t seqno,
	    u8_t optflags, u16_t optlen)
{
	struct pbuf *hdr, *ref;
	struct tcp_seg *seg;

	ref = ref_pbuf(data, len);
	if (ref == NULL)
		return NULL;
	hdr = hdr_pbuf(optlen);
	if (hdr == NULL) {
		pbuf_free(ref);
		return NULL;
	}
	hdr->next = ref;
	hdr->tot_len = (u16_t)(hdr->tot_len + len);
	seg = (struct tcp_seg *)memp_malloc(MEMP_TCP_SEG);
	if (seg == NULL) {
		pbuf_free(hdr);
		return NULL;
	}
	seg_init(seg, pcb, hdr, len, seqno, optflags, optlen);
	return seg;
}

/* What tcp_write() decides before building segments for @len more bytes:
 * whether the send buffer and queue take them (ERR_MEM, the caller marks
 * the PCB), the segment size, no bigger than half the largest window the
 * peer offered (the caller keeps snd_wnd_max at 2 or more), the options
 * of each segment, and the last unsent segment (NULL: none). */
static inline PST_ALWAYS_INLINE err_t
append_begin(const struct tcp_pcb *pcb, u16_t len, u16_t *mss_local, u8_t *optflags,
	     struct tcp_seg *known_last, struct tcp_seg **last)
{
	struct tcp_seg *seg;
	u16_t mss;

	if (len > pcb->snd_buf ||
	    pcb->snd_queuelen >= LWIP_MIN(TCP_SND_QUEUELEN, TCP_SNDQUEUELEN_OVERFLOW + 1))
		return ERR_MEM;
	mss = LWIP_MIN(pcb->mss, TCPWND_MIN16(pcb->snd_wnd_max / 2));
	mss = mss ? mss : pcb->mss;
	*optflags = 0;
	if (pcb->flags & TF_TIMESTAMP) {
		*optflags = TF_SEG_OPTS_TS;
		mss = LWIP_MAX(mss, LWIP_TCP_OPT_LEN_TS + 1);
	}
	*mss_local = mss;
	if (known_last != NULL) {
		*last = known_last;
		return ERR_OK;
	}
	for (seg = pcb->unsent; seg != NULL && seg->next != NULL; seg = seg->next)
		;
	*last = seg;
	return ERR_OK;
}

/* @queue (new segments, @tail its last; NULL: the bytes all went into
 * @last) after the unsent ones, and the @len bytes counted as tcp_write()
 * counts them; the last segment pushed. @oversize: the spare room left in
 * the last segment's last pbuf, copied bytes only. */
static inline PST_ALWAYS_INLINE void
append_commit(struct tcp_pcb *pcb, struct tcp_seg *last, struct tcp_seg *queue,
	      struct tcp_seg *tail, u16_t len, u16_t queuelen, u16_t oversize)
{
	struct tcp_seg *seg;

	if (last == NULL)
		pcb->unsent = queue;
	else
		last->next = queue;
#if TCP_OVERSIZE
	pcb->unsent_oversize = oversize;
#else
	(void)oversize;
#endif
	pcb->snd_lbb += len;
	pcb->snd_buf -= len;
	pcb->snd_queuelen = queuelen;
	seg = tail != NULL ? tail : last;
	TCPH_SET_FLAG(seg->tcphdr, TCP_PSH);
}

static void
free_queue(struct tcp_seg *seg)
{
	struct tcp_seg *next;

	for (; seg != NULL; seg = next) {
		next = seg->next;
		pbuf_free(seg->p);
		memp_free(MEMP_TCP_SEG, seg);
	}
}

static inline PST_ALWAYS_INLINE err_t
append_ref(struct tcp_pcb *pcb, const void *data, u16_t len, struct tcp_seg **run_last)
{
	struct tcp_seg *last = NULL, *queue = NULL, *tail = NULL, *seg;
	struct pbuf *concat = NULL, *q = NULL;
	u16_t mss_local, optlen, pos = 0, extend = 0, seglen, queuelen;
	u8_t optflags = 0;

	if (pcb->state != ESTABLISHED && pcb->state != CLOSE_WAIT)
		return ERR_CONN;
	if (len == 0)
		return ERR_OK;
	if (append_begin(pcb, len, &mss_local, &optflags, *run_last, &last) != ERR_OK)
		goto memerr;
	queuelen = pcb->snd_queuelen;
	optlen = SEG_OPTLEN(optflags);

	/* The room left in the last unsent segment, unless it carries no data
	 * (a SYN or FIN alone). Its spare copied room, if any, is given up:
	 * the bytes are referenced, never copied. */
	if (last != NULL) {
		u16_t used, space;

		used = (u16_t)(last->len + SEG_OPTLEN(last->flags));
		space = mss_local > used ? (u16_t)(mss_local - used) : 0;
		if (space > 0 && last->len > 0) {
			seglen = LWIP_MIN(space, len);
			for (q = last->p; q->next != NULL; q = q->next)
				;
			/* The bytes just after a reference: widen it. */
			if ((q->type_internal & (PBUF_TYPE_FLAG_STRUCT_DATA_CONTIGUOUS |
						 PBUF_TYPE_FLAG_DATA_VOLATILE)) == 0 &&
			    (const u8_t *)q->payload + q->len == (const u8_t *)data) {
				extend = seglen;
			} else {
				concat = ref_pbuf(data, seglen);
				if (concat == NULL)
					goto memerr;
				queuelen++;
			}
			pos = seglen;
		}
	}

	/* New segments for the rest, two pbufs each. */
	while (pos < len) {
		seglen = LWIP_MIN((u16_t)(len - pos), (u16_t)(mss_local - optlen));
		queuelen = (u16_t)(queuelen + 2);
		if (queuelen > LWIP_MIN(TCP_SND_QUEUELEN, TCP_SNDQUEUELEN_OVERFLOW))
			goto fail;
		seg = new_segment(pcb, (const u8_t *)data + pos, seglen,
				  pcb->snd_lbb + pos, optflags, optlen);
		if (seg == NULL)
			goto fail;
		if (queue == NULL)
			queue = seg;
		else
			tail->next = seg;
		tail = seg;
		pos = (u16_t)(pos + seglen);
	}

	/* Commit: the last segment's chain grows by @grow bytes (a pbuf more,
	 * or its last reference widened), in one walk, as pbuf_cat would. */
	if (concat != NULL || extend > 0) {
		u16_t grow = concat != NULL ? concat->tot_len : extend;

		for (q = last->p; q->next != NULL; q = q->next)
			q->tot_len = (u16_t)(q->tot_len + grow);
		q->tot_len = (u16_t)(q->tot_len + grow);
		if (concat != NULL)
			q->next = concat;
		else
			q->len = (u16_t)(q->len + extend);
		last->len = (u16_t)(last->len + grow);
	}
	/* (tcp_write copies into the last pbuf of the last unsent segment
	 * while unsent_oversize is non-zero: that pbuf is no longer the
	 * copied one.) */
	append_commit(pcb, last, queue, tail, len, queuelen, 0);
	*run_last = tail != NULL ? tail : last;
	return ERR_OK;
fail:
	free_queue(queue);
	if (concat != NULL)
		pbuf_free(concat);
memerr:
	tcp_set_flags(pcb, TF_NAGLEMEMERR);
	return ERR_MEM;
}

err_t
pst_tcp_append_ref(struct tcp_pcb *pcb, const void *data, u16_t len)
{
	struct tcp_seg *last = NULL;

	return append_ref(pcb, data, len, &last);
}

err_t
pst_tcp_append_ref_run(struct tcp_pcb *pcb, const void *data, u16_t len,
		       struct tcp_seg **last)
{
	return append_ref(pcb, data, len, last);
}

/* Where the next byte to copy is in a list of pieces. */
struct cursor {
	const struct iovec *pc;
	unsigned int i;
	size_t off;
};

/* @k bytes, 16 or fewer (a reply's header or CRLF) in a few moves of
 * their own rather than a call. */
static inline void
copy_small(u8_t *d, const u8_t *s, size_t k)
{
	if (k >= 8) {
		uint64_t a, b;

		memcpy(&a, s, 8);
		memcpy(&b, s + k - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + k - 8, &b, 8);
	} else if (k >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + k - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + k - 4, &b, 4);
	} else if (k > 0) {
		d[0] = s[0];
		d[k / 2] = s[k / 2];
		d[k - 1] = s[k - 1];
	}
}

static void
cursor_copy(struct cursor *c, u8_t *dst, size_t len)
{
	while (len > 0) {
		const struct iovec *p = &c->pc[c->i];
		const u8_t *src = (const u8_t *)p->iov_base + c->off;
		size_t k = p->iov_len - c->off;

		if (k > len) {
			k = len;
			c->off += k;
		} else {
			c->i++;
			c->off = 0;
		}
		if (k <= 16)
			copy_small(dst, src, k);
		else
			memcpy(dst, src, k);
		dst += k;
		len -= k;
	}
}

/* A new segment of @len copied bytes at sequence number @seqno: one copy
 * pbuf, as tcp_write's third phase with TCP_WRITE_FLAG_COPY builds it. */
static struct tcp_seg *
copy_segment(const struct tcp_pcb *pcb, struct cursor *cur, u16_t len, u32_t seqno,
	     u8_t optflags, u16_t optlen)
{
	u16_t at = (u16_t)(LWIP_MEM_ALIGN_SIZE(PBUF_TRANSPORT) - TCP_HLEN);
	struct tcp_seg *seg;
	struct pbuf *p;

	p = copy_pbuf(at, (u16_t)(TCP_HLEN + optlen + len));
	if (p == NULL)
		return NULL;
	seg = (struct tcp_seg *)memp_malloc(MEMP_TCP_SEG);
	if (seg == NULL) {
		pbuf_free(p);
		return NULL;
	}
	cursor_copy(cur, (u8_t *)p->payload + TCP_HLEN + optlen, len);
	seg_init(seg, pcb, p, len, seqno, optflags, optlen);
	return seg;
}

err_t
pst_tcp_append_copy(struct tcp_pcb *pcb, const struct iovec *pieces, unsigned int n,
		    u16_t len)
{
	struct tcp_seg *last = NULL, *queue = NULL, *tail = NULL, *seg;
	struct pbuf *concat = NULL, *q = NULL;
	u16_t mss_local, optlen, pos = 0, seglen, queuelen, oversize = 0, used1 = 0;
	struct cursor cur = { pieces, 0, 0 };
	u8_t optflags = 0;

	(void)n;
	if (pcb->state != ESTABLISHED && pcb->state != CLOSE_WAIT)
		return ERR_CONN;
	if (len == 0)
		return ERR_OK;
	if (pcb->mss > TCP_MSS)
		return ERR_VAL; /* wider than a copy pbuf: tcp_write's */
	if (append_begin(pcb, len, &mss_local, &optflags, NULL, &last) != ERR_OK)
		goto memerr;
	queuelen = pcb->snd_queuelen;
	optlen = SEG_OPTLEN(optflags);

	if (last != NULL) {
		u16_t used, space;

		used = (u16_t)(last->len + SEG_OPTLEN(last->flags));
		space = mss_local > used ? (u16_t)(mss_local - used) : 0;
		for (q = last->p; q->next != NULL; q = q->next)
			;
		/* Phase 1: the spare room of the last copied pbuf (lwIP's
		 * invariant: unsent_oversize bytes free after its last pbuf's
		 * bytes). Written now, counted at the commit. */
		oversize = pcb->unsent_oversize;
		if (oversize > 0) {
			used1 = LWIP_MIN(space, LWIP_MIN(oversize, len));
			cursor_copy(&cur, (u8_t *)q->payload + q->len, used1);
			pos = used1;
			oversize = (u16_t)(oversize - used1);
			space = (u16_t)(space - used1);
		}
		/* Phase 2: a copy pbuf chained onto the last segment. */
		if (pos < len && space > 0 && last->len > 0) {
			seglen = LWIP_MIN(space, (u16_t)(len - pos));
			concat = copy_pbuf(0, seglen);
			if (concat == NULL)
				goto memerr;
			cursor_copy(&cur, (u8_t *)concat->payload, seglen);
			queuelen++;
			oversize = (u16_t)(space - seglen);
			pos = (u16_t)(pos + seglen);
		}
	}

	/* Phase 3: new segments of one copy pbuf each. */
	while (pos < len) {
		seglen = LWIP_MIN((u16_t)(len - pos), (u16_t)(mss_local - optlen));
		queuelen++;
		if (queuelen > LWIP_MIN(TCP_SND_QUEUELEN, TCP_SNDQUEUELEN_OVERFLOW))
			goto fail;
		seg = copy_segment(pcb, &cur, seglen, pcb->snd_lbb + pos, optflags, optlen);
		if (seg == NULL)
			goto fail;
		if (queue == NULL)
			queue = seg;
		else
			tail->next = seg;
		tail = seg;
		oversize = (u16_t)(mss_local - optlen - seglen);
		pos = (u16_t)(pos + seglen);
	}

	/* Commit: the last segment's chain grows by what phases 1 and 2
	 * put there. */
	if (used1 > 0 || concat != NULL) {
		u16_t grow = (u16_t)(used1 + (concat != NULL ? concat->len : 0));
		struct pbuf *r;

		for (r = last->p; r != q; r = r->next)
			r->tot_len = (u16_t)(r->tot_len + grow);
		q->tot_len = (u16_t)(q->tot_len + grow);
		q->len = (u16_t)(q->len + used1);
		q->next = concat != NULL ? concat : q->next;
		last->len = (u16_t)(last->len + grow);
	}
	append_commit(pcb, last, queue, tail, len, queuelen, oversize);
	return ERR_OK;
fail:
	free_queue(queue);
	if (concat != NULL)
		pbuf_free(concat);
memerr:
	tcp_set_flags(pcb, TF_NAGLEMEMERR);
	return ERR_MEM;
}
