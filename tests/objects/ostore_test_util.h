/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the object store's unit tests (test_olog.c, test_mpu.c,
 * test_ocompact.c) share: an object's body laid out as the server lays
 * out one it received, and its MD5 taken back from the pool. Include
 * after cmocka.h.
 */
#ifndef OSTORE_TEST_UTIL_H
#define OSTORE_TEST_UTIL_H

#include <stdint.h>
#include <string.h>

#include "etag.h"
#include "ostore.h"
#include "paste.h"

/* The byte at @at of the body's piece @piece, from the test's @arg. */
typedef uint8_t (*ot_byte_fn)(uint32_t piece, uint32_t at, uint32_t arg);

/* @v's MD5 from its bytes, as the server takes it (recovery checks it). */
static inline void
ot_version_md5(struct pst_pool *p, struct obj_version *v)
{
	struct obj_md5 m;

	assert_int_equal(obj_md5_init(&m), 0);
	for (uint32_t i = 0; i < v->n_names; i++)
		obj_md5_update(&m, pst_pool_name_to_addr(p, v->names[i]),
			       pst_name_length(v->names[i]));
	obj_md5_final(&m, v->md5);
}

/* A body of @len bytes as the server receives one: 1,448-byte pieces in
 * buffers taken and kept, each byte from @byte, flushed, MD5 taken, the
 * names referenced in @st. @first_idx: the first piece's buffer, or NULL. */
static inline struct obj_version *
ot_body(struct obj_store *st, struct pst_pool *p, size_t len, const char *ctype,
	size_t ctype_len, const char *meta, size_t meta_len, ot_byte_fn byte,
	uint32_t arg, uint32_t *first_idx)
{
	uint32_t n = (uint32_t)((len + 1447) / 1448), i, j;
	struct obj_version *v = obj_version_new(ctype, ctype_len, meta, meta_len, n);
	struct obj_md5 m;

	assert_non_null(v);
	assert_int_equal(obj_md5_init(&m), 0);
	for (i = 0; i < n; i++) {
		uint32_t idx, take = len - (size_t)i * 1448 < 1448 ? (uint32_t)(len - (size_t)i * 1448)
								 : 1448;
		uint8_t *a;

		assert_int_equal(pst_pool_take(p, &idx), 0);
		assert_int_equal(pst_pool_keep(p, idx), 0);
		if (i == 0 && first_idx != NULL)
			*first_idx = idx;
		a = pst_pool_buf_addr(p, idx);
		for (j = 0; j < take; j++)
			a[j] = byte(i, j, arg);
		pst_pool_flush(p, a, take);
		obj_md5_update(&m, a, take);
		v->names[v->n_names++] = pst_name_make(idx, 0, (uint16_t)take);
	}
	obj_md5_final(&m, v->md5);
	v->size = len;
	obj_store_ref_names(st, v->names, v->n_names, 1);
	return v;
}

#endif
