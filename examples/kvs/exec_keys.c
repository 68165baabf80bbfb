/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the keyspace commands that name keys rather than change
 * values: RENAME, RENAMENX, TYPE, TOUCH (UNLINK is DEL's handler), with
 * Redis 7.0's replies.
 *
 * RENAME's durability: the indexes change one key per operation, so a
 * rename is two, a put under the new name (the same value buffers, by
 * name: no byte is copied) and a delete of the old, written as one unit
 * (store.h): after a crash the value is under the old name or under the
 * new one, never under both or neither. Inside EXEC, the two join EXEC's
 * unit.
 */
#include <string.h>

#include "command.h"
#include "exec_call.h"
#include "expiry.h"
#include "kv_limits.h"
#include "store.h"

/* The value being renamed: its names, copied out of the index (whose
 * pointer a put or delete invalidates). As many as a value stored here may
 * have. */
static union {
	struct kv_value v;
	char room[sizeof(struct kv_value) + KV_VALUE_NAMES_MAX * sizeof(pst_name)];
} moving;

/* RENAME src dst, or RENAMENX (@nx): 1 renamed, 0 not (RENAMENX: dst
 * exists, or src is dst), -1 replied with an error already. */
static int
rename_key(struct kv_call *c, int nx)
{
	struct kv_exec *srv = c->srv;
	struct kv_expiry *e = srv->expiry;
	char src[KV_KEY_MAX], dst[KV_KEY_MAX];
	uint16_t slen = kv_call_key(c, 0, src), dlen = kv_call_key(c, 1, dst);
	const struct kv_value *v = kv_call_lookup(c, src, slen);
	int ret, nested;

	if (v == NULL) {
		kv_call_error(c, "ERR no such key");
		return -1;
	}
	if (slen == dlen && memcmp(src, dst, slen) == 0)
		return 0;
	if (v->n > KV_VALUE_NAMES_MAX) {   /* a pool another program wrote */
		kv_call_error(c, kv_call_set_error(-E2BIG));
		return -1;
	}
	memcpy(&moving.v, v, sizeof(*v) + v->n * sizeof(v->names[0]));
	if (nx && kv_call_lookup(c, dst, dlen) != NULL)
		return 0;
	/* The deadline goes with the value, in dst's record; dst's own, if
	 * any, goes. Inside EXEC, EXEC's unit holds both writes (units do
	 * not nest). */
	nested = srv->store->unit_open;
	if (!nested) {
		ret = kv_store_unit_begin(srv->store,
					  kv_store_set_bufs(srv->store, moving.v.len, 0));
		if (ret != 0)
			goto fail;
	}
	ret = kv_store_set_at(srv->store, dst, dlen, moving.v.names, moving.v.n, moving.v.len,
			      moving.v.deadline_ms);
	if (ret == 0) {
		ret = kv_store_del(srv->store, src, slen);
		ret = ret < 0 ? ret : 0;
	}
	if (ret != 0) {
		if (!nested)
			(void)kv_store_unit_abort(srv->store);
		goto fail;
	}
	if (!nested && (ret = kv_store_unit_end(srv->store)) != 0)
		goto fail;
	if (moving.v.deadline_ms != 0) {
		kv_expiry_clear(e, src, slen);
		kv_expiry_set(e, dst, dlen, moving.v.deadline_ms);
	} else if (e->n > 0) {
		kv_expiry_clear(e, dst, dlen);
	}
	return 1;
fail:
	kv_call_error(c, kv_call_set_error(ret));
	return -1;
}

void
kv_cmd_rename(struct kv_call *c)
{
	if (rename_key(c, 0) >= 0)
		kv_call_simple(c, "OK");
}

void
kv_cmd_renamenx(struct kv_call *c)
{
	int r = rename_key(c, 1);

	if (r >= 0)
		kv_call_int(c, r);
}

/* Every value here is a string. */
void
kv_cmd_type(struct kv_call *c)
{
	char key[KV_KEY_MAX];
	uint16_t klen = kv_call_key(c, 0, key);

	kv_call_simple(c, kv_call_lookup(c, key, klen) != NULL ? "string" : "none");
}

/* TOUCH key...: how many exist (no access times are kept to update). */
void
kv_cmd_touch(struct kv_call *c)
{
	char key[KV_KEY_MAX];
	int64_t count = 0;
	unsigned int i;
	uint16_t klen;

	for (i = 0; i < c->req->argc; i++) {
		klen = kv_call_key(c, i, key);
		count += kv_call_lookup(c, key, klen) != NULL;
	}
	kv_call_int(c, count);
}
