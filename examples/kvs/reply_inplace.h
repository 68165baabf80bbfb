/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a RESP bulk reply sent from the pool in place
 * (reply_inplace.c).
 */
#ifndef KVS_REPLY_INPLACE_H
#define KVS_REPLY_INPLACE_H

#include <stddef.h>
#include <stdint.h>

#include "paste_pool.h"

struct kv_value;

/* The names that send a bulk reply "<hdr><value>\r\n" where the pool
 * already holds its pieces around the value. */
struct kv_inplace {
	pst_name first;   /* v->names[0], over the header too when hdr */
	pst_name last;    /* v->names[n - 1] (the same name when n is 1),
	                   * over the trailer too when trailer */
	int hdr;          /* the @hlen bytes before the value are @hdr */
	int trailer;      /* the 2 bytes after it are CR LF */
};

/* Fill @in for @v (v->n >= 1, its names in @pool, whose buffers hold
 * @buf_size bytes) and the header @hdr of @hlen bytes. The names in
 * between (v->names[1 .. n - 2]) are sent as they are. */
void kv_reply_inplace(const struct pst_pool *pool, uint32_t buf_size,
		      const struct kv_value *v, const char *hdr, size_t hlen,
		      struct kv_inplace *in);

#endif /* KVS_REPLY_INPLACE_H */
