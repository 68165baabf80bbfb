/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a RESP bulk reply sent from the pool in place.
 *
 * A value stored from a RESP SET lies in the received segment right after
 * its "$<len>\r\n" line and right before its "\r\n": the very bytes a GET's
 * reply puts around it. Where the pool still holds exactly those bytes
 * there, the value's first name is extended back over the header and its
 * last name on over the trailer, and the whole reply leaves by name. The
 * small pieces were a send of their own between the names, which lwIP
 * copies into a pbuf of its own (allocated, checksummed apart, freed on
 * the ACK): about 550 instructions of a pipelined 1 KiB GET's.
 *
 * The bytes are compared, never assumed: a value that was copied
 * (--copy), sent inline, or whose header straddled two segments fails the
 * comparison and its reply is sent in pieces as before. Nothing writes into
 * those bytes while the reply is in flight: they lie in the value's own
 * buffer, which is kept (storage: the stack never receives into it again)
 * and pinned by the send.
 */
#include <stdint.h>
#include <string.h>

#include "kv_index.h"
#include "reply_inplace.h"

/* Sanitizer builds poison a received buffer's bytes outside its frame
 * (src/common/asan_poison.h) so that parsers cannot read stale bytes. The
 * comparison here may look just past a value that ends its frame (its CRLF
 * came in the next segment): such bytes are not part of what was received,
 * so they count as not matching. In other builds they are stale bytes of a
 * kept buffer, compared like any other: equal, they are what is sent. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KV_INPLACE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define KV_INPLACE_ASAN 1
#endif

#ifdef KV_INPLACE_ASAN
#include <sanitizer/asan_interface.h>

static int
readable(const char *p, size_t n)
{
	return __asan_region_is_poisoned((void *)(uintptr_t)p, n) == NULL;
}
#else
static int
readable(const char *p, size_t n)
{
	(void)p;
	(void)n;
	return 1;
}
#endif

void
kv_reply_inplace(const struct pst_pool *pool, uint32_t buf_size,
		 const struct kv_value *v, const char *hdr, size_t hlen,
		 struct kv_inplace *in)
{
	pst_name first = v->names[0], last = v->names[v->n - 1];
	uint32_t off = pst_name_offset(first), len = pst_name_length(first);
	const char *p = pst_pool_name_to_addr(pool, first);
	size_t grown;

	in->first = first;
	in->last = last;
	in->hdr = 0;
	in->trailer = 0;
	if (p == NULL)
		return;
	/* A name's offset and length are 16 bits: the widened one must fit
	 * them as well as the buffer. */
	if (off >= hlen && len + hlen <= UINT16_MAX && readable(p - hlen, hlen) &&
	    memcmp(p - hlen, hdr, hlen) == 0) {
		in->first = pst_name_make(pst_name_index(first), (uint16_t)(off - hlen),
					  (uint16_t)(len + hlen));
		in->hdr = 1;
	}
	if (v->n > 1) {
		off = pst_name_offset(last);
		len = pst_name_length(last);
		p = pst_pool_name_to_addr(pool, last);
		if (p == NULL)
			return;
	}
	grown = v->n == 1 && in->hdr ? hlen : 0;   /* the name already widened */
	if (off + len + 2 <= buf_size && len + grown + 2 <= UINT16_MAX &&
	    readable(p + len, 2) && p[len] == '\r' && p[len + 1] == '\n') {
		in->trailer = 1;
		if (v->n == 1)
			in->first += 2;   /* the length is the name's low 16 bits */
		else
			in->last += 2;
	}
	if (v->n == 1)
		in->last = in->first;
}
