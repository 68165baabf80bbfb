/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-process recovery of one crash image with paste-kvs's own store, index
 * and pool code, for kvs_trace_images (the keys of power_client.py).
 */
#ifndef KVS_TRACE_RECOVER_H
#define KVS_TRACE_RECOVER_H

#include <stdint.h>
#include <stdio.h>

#include "kv_index.h"

#define TRACE_RECOVER_KEYS_MAX 4096u

struct trace_recover_counts {
	uint64_t keys;            /* keys found and read */
	uint64_t fallbacks;       /* the index fell back to an earlier version */
	uint64_t cut_values;      /* values found cut */
	uint64_t scribbled;       /* free buffers overwritten */
	uint64_t failures;
};

/*
 * Open the pool image at @path, recover it with the store over @ops (the
 * pool verifies, reconciled), read keys 0 .. @keys-1, overwrite every free
 * buffer and read them again (no buffer both free and named: the same
 * bytes), then recover it a second time (the same map, no fallback).
 * Appends to @out " fallbacks F keys: K:ID:LEN:FNV:DL ..." (ID -1 when the
 * value does not start as a power_client.py value; FNV-1a 64 of its
 * bytes; DL the deadline in its record, 0 for none) and a newline, or " FAIL what" and a newline.
 * Returns 0, or -1 on a failure (counted in @c).
 */
int trace_recover_image(const char *path, const struct kv_index_ops *ops, uint32_t keys,
			FILE *out, struct trace_recover_counts *c);

#endif /* KVS_TRACE_RECOVER_H */
