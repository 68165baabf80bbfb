/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store: an index (wal or btree) over values that live in pool buffers,
 * with a DRAM reference count per buffer (values and receive streams hold
 * references; a buffer is released when its count drops to zero).
 */
#ifndef KVS_STORE_H
#define KVS_STORE_H

#include <stdint.h>

#include "kv_index.h"
#include "stream.h"

/* Buffers of dropped values, waiting for the drain that makes the drop
 * durable (one name per buffer and value). */
struct kv_deferred {
	pst_name *v;
	size_t n, cap;
};

struct kv_store {
	struct pst_pool *pool;
	const struct kv_index_ops *ops;
	struct kv_index *idx;
	int copy_mode;             /* --copy: values copied into fresh buffers */
	uint32_t *refs;            /* per pool buffer */
	uint32_t buf_size;
	uint64_t buf_count;
	struct kv_deferred deferred;
	uint64_t deferred_drains;  /* pool drains when the last was deferred */
	/* The store's limit (doc/kvs.md, "The store's limit"): at most
	 * max_bufs buffers kept (values and the index; 0: no limit of its
	 * own), and never the last 1/16 of the pool, of which @reserved are
	 * promised to values still arriving (kv_store_reserve). */
	uint64_t max_bufs;
	uint64_t reserved;
	/* Recovery. */
	struct kv_index_report report;
	/* Recovered keys with a deadline, until
	 * kv_store_recovered_deadlines() hands them over. */
	char *deadlines;
	size_t deadlines_len, deadlines_cap;
	uint64_t recovered;
	uint64_t torn_values;      /* values found cut: the index fell back */
	double recovery_seconds;
	/* Counters. */
	uint64_t sets, gets, hits, dels, errors_nospace;
	uint64_t value_bytes;      /* bytes of live values */
	/* The open unit (kv_store_unit_begin) and the buffers it declared;
	 * what to undo if it fails: the deferred releases it added, the
	 * references its values took, the slot counts it moved. */
	int unit_open;
	int unit_err;              /* a write of the unit failed */
	uint64_t unit_bufs;
	size_t unit_deferred;      /* deferred.n at its begin */
	uint64_t unit_value_bytes;
	struct kv_unit_undo {
		pst_name *refs;    /* one per reference taken */
		size_t n_refs, cap_refs;
		uint32_t *slots;   /* slot << 1 | (1: a key added) */
		size_t n_slots, cap_slots;
	} unit_undo;
	/* Keys per Redis Cluster hash slot (CLUSTER COUNTKEYSINSLOT), kept
	 * as keys come and go: 64 KiB of DRAM, a CRC16 of the key per new
	 * or deleted key. NULL unless opened with KV_STORE_SLOT_COUNTS. */
	uint32_t *slot_keys;
	/* Told of every key written (after the write) or deleted, and of a
	 * FLUSHALL before it empties the store (@key NULL): how WATCH learns
	 * of writes whatever wrote them (multi.c). NULL: no one listens,
	 * which is the case unless some client watches a key. */
	void (*on_write)(void *arg, const void *key, uint16_t key_len);
	void *on_write_arg;
	/* --stage-cycles: TSC cycles of a SET's stages (kv_store_stages()),
	 * measured only when @stages_on (a cycle-counter read costs a
	 * visible share of a small SET). */
	int stages_on;
	struct kv_stage_cycles {
		uint64_t value;    /* zero copy: flushing the received bytes;
				    * --copy: copying them and flushing the copy */
		uint64_t crc;      /* the value's checksum */
		uint64_t index;    /* the index entry, flushed */
		uint64_t keep;     /* keeping received buffers (server.c) */
		uint64_t arrive;   /* zero copy: a value's segments checksummed
				    * and flushed as they arrive (server.c) */
	} stages;
};

/* kv_store_open's flags. */
#define KV_STORE_COPY        1u  /* --copy: values copied into fresh buffers */
#define KV_STORE_SLOT_COUNTS 2u  /* count keys per cluster slot (cluster mode) */
#define KV_STORE_STAGES      4u  /* --stage-cycles: time a SET's stages */

/* The cycle counter for kv_store::stages, 0 when they are off. */
uint64_t kv_store_stage_clock(const struct kv_store *st);

/* Open the pool's index and recover: the index falls back past values
 * whose bytes are torn, the store counts references and reconciles the
 * pool. Before the stack exists. */
int kv_store_open(struct kv_store *st, struct pst_pool *pool,
		  const struct kv_index_ops *ops, unsigned int flags);
void kv_store_close(struct kv_store *st);

/* Called for each recovered key that has a deadline. */
typedef void (*kv_deadline_fn)(void *arg, const void *key, uint16_t key_len,
			       uint64_t deadline_ms);
/* Hand the keys with a deadline kv_store_open() recovered to @fn (the
 * server's expiry table), once: the list is freed after. */
void kv_store_recovered_deadlines(struct kv_store *st, kv_deadline_fn fn, void *arg);

/* Drop the references of values replaced or deleted before the pool's
 * last drain (their replacement is durable now). Call once per poll; the
 * store's own writes call it too. */
void kv_store_release_durable(struct kv_store *st);

/* The buffers a value of @len bytes may take while it arrives: the
 * stack gathers held segments shorter than half a buffer, so each buffer
 * holds half a buffer's bytes at least; and its two ends. */
uint64_t kv_store_value_bufs(const struct kv_store *st, uint64_t len);
/* Promise @bufs buffers to a value whose length is declared and whose
 * bytes are still arriving: other writes cannot take them. Returns 0, or
 * -ENOSPC (nothing reserved) when the store's limit cannot hold them. */
int kv_store_reserve(struct kv_store *st, uint64_t bufs);
/* Return a reservation: the value was stored (its buffers are counted as
 * kept now), refused, or its connection went. */
void kv_store_unreserve(struct kv_store *st, uint64_t bufs);

/* Reference counting of pool buffers (by any name inside them). */
void kv_ref(struct kv_store *st, pst_name name);
void kv_unref(struct kv_store *st, pst_name name);

/* SET key = the value held by @names (bytes of a receive stream, already
 * referenced by it). Flushes value and index entry; durable after the
 * poll's drain. Returns 0, -ENOSPC, -EINVAL, -E2BIG. */
int kv_store_set(struct kv_store *st, const void *key, uint16_t key_len,
		 const pst_name *names, unsigned int n, uint32_t len);
/* SET key = [off, off+len) of @s, copied into pool buffers of the value's
 * own (flushed, kept): the stream's spans are only read through their data
 * pointers (their names may be PST_NAME_INVALID: bytes in DRAM). linux-kvs
 * stores every value this way. Durable after the next drain. Returns 0,
 * -ENOSPC (pool full), -EINVAL (key), -E2BIG (value over KV_VALUE_MAX or
 * outside the stream). */
int kv_store_set_copy(struct kv_store *st, const void *key, uint16_t key_len,
		      const struct kv_stream *s, size_t off, size_t len);
/* SET from bytes in DRAM (what INCR, APPEND, SETRANGE compute): copied
 * into pool buffers of the value's own (flushed, kept). Durable after the
 * next drain. Returns 0, -ENOSPC, -EINVAL (key), -E2BIG (over
 * KV_VALUE_MAX). */
int kv_store_set_bytes(struct kv_store *st, const void *key, uint16_t key_len,
		       const void *data, uint32_t len);
/* The same three with a deadline written in the value's record
 * (kv_value.deadline_ms: absolute wall-clock ms, 0 none). */
int kv_store_set_at(struct kv_store *st, const void *key, uint16_t key_len,
		    const pst_name *names, unsigned int n, uint32_t len,
		    uint64_t deadline_ms);
int kv_store_set_copy_at(struct kv_store *st, const void *key, uint16_t key_len,
			 const struct kv_stream *s, size_t off, size_t len,
			 uint64_t deadline_ms);
/* kv_store_set_at with what was done to each name's bytes as they
 * arrived (kv_stream_names_parts; NULL: nothing): zero copy neither
 * flushes again bytes flushed then nor checksums again a whole span whose
 * CRC32C it has. The value's CRC is the same either way. */
int kv_store_set_parts_at(struct kv_store *st, const void *key, uint16_t key_len,
			  const pst_name *names, const struct kv_part *parts,
			  unsigned int n, uint32_t len, uint64_t deadline_ms);
int kv_store_set_bytes_at(struct kv_store *st, const void *key, uint16_t key_len,
			  const void *data, uint32_t len, uint64_t deadline_ms);
/* Give @key's stored value the deadline @deadline_ms (0: none, PERSIST):
 * its names are put again with it, no byte copied; durable after the next
 * drain. Returns 0 (also when it had that deadline: nothing written, but
 * on_write called, as Redis signals the key), -ENOENT (no such key),
 * -ENOSPC, -E2BIG (a value with more names than paste-kvs writes), or a
 * failed unit's error. Inside a unit, one of its writes; like every put,
 * it calls on_write (WATCH sees an EXPIRE). */
int kv_store_expire(struct kv_store *st, const void *key, uint16_t key_len,
		    uint64_t deadline_ms);
/* Copy bytes [off, off + len) of @v into @dst; returns how many there
 * were (fewer past its end). */
size_t kv_store_read(const struct kv_store *st, const struct kv_value *v, size_t off,
		     void *dst, size_t len);
const struct kv_value *kv_store_get(struct kv_store *st, const void *key,
				    uint16_t key_len);
int kv_store_del(struct kv_store *st, const void *key, uint16_t key_len);

/* A unit (MSET, MSETNX, EXEC): the writes between kv_store_unit_begin()
 * and kv_store_unit_end(), all within one poll, become durable together:
 * after any crash image all of them are visible or none is (wal: one
 * COMMIT record; btree: one root record; doc/kvs-index.md, "Units").
 * Reads inside the unit see its writes. @bufs is what the unit's values
 * will take beyond what kv_store_reserve() already holds for them
 * (kv_store_set_bufs() per value): it is decided here, before anything is
 * written, that the unit fits; the unit's writes then skip their own room
 * checks. Returns 0, or -ENOSPC with nothing written (and no unit open).
 * Units do not nest: -EBUSY. FLUSHALL inside a unit is refused (-EBUSY).
 * A write of the unit that fails for want of room or memory (the index's
 * own buffers, despite the check) marks the unit failed: later writes of
 * it return the same error without writing, and kv_store_unit_end()
 * undoes it. */
int kv_store_unit_begin(struct kv_store *st, uint64_t bufs);
/* Close the unit: its writes become durable with the poll's drain (reply
 * after it). Returns 0, or a negative errno when the unit failed (a write
 * of it, or its commit): its writes are then undone in DRAM and none of
 * them is durable. */
int kv_store_unit_end(struct kv_store *st);
/* Abandon the open unit: undone in DRAM and on media (may drain). Returns
 * 0, or a negative errno when the media could not be made to forget it
 * (the index then refuses writes with -EIO). */
int kv_store_unit_abort(struct kv_store *st);
/* The buffers kv_store_unit_begin() counts for a value of @len bytes that
 * is copied into buffers of its own (--copy, DRAM bytes, a value of more
 * received segments than names); 0 for one stored where it was received. */
uint64_t kv_store_set_bufs(const struct kv_store *st, uint64_t len, int copied);
int kv_store_flushall(struct kv_store *st);
uint64_t kv_store_count(const struct kv_store *st);
/* Keys whose hash slot (cluster.h) is @slot (< KV_CLUSTER_SLOTS). */
uint32_t kv_store_slot_count(const struct kv_store *st, unsigned int slot);

#endif /* KVS_STORE_H */
