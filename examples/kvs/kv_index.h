/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs persistent indexes, both living in the pool file and reached
 * from a pool root slot:
 *  - wal:   an append-only log of entries (key, value names, length, CRC32C)
 *           in a chain of kept pool buffers; a DRAM hash table maps keys to
 *           their latest entry; compaction rewrites live entries when the
 *           log grows past twice the live data.
 *  - btree: a persistent B+tree of pool-buffer nodes keyed by key, whose
 *           leaves hold value names; updates are crash-consistent (copy on
 *           write up to the root, published by one root-slot store).
 *
 * Durability contract: put/del write and FLUSH everything they change
 * (inside a unit, by unit_end() at the latest) but never drain; the server drains once per poll, before replying. A power
 * loss keeps everything up to the last completed drain plus ANY subset of
 * the 8-byte words stored since, flushed or not (a line can be evicted at
 * any time). open() then recovers the state after a PREFIX of the
 * operations that contains every drained one: never a torn entry (CRC32C
 * checks), and never an entry whose value fails @check (its value bytes
 * were cut): recovery falls back to the key's previous version (wal: the
 * log is cut before that record; btree: the other root record).
 *
 * Replacement rule: a structure one put/del replaces (an old value, a log
 * chain, a tree node) is still the durable one until the caller's next
 * drain, so its buffers are released only after that drain. The indexes do
 * this for their own buffers; the server does it for values (kv_store's
 * deferred release): on_old means "no longer named once durable", not "free
 * now".
 *
 * Ownership: the index owns the buffers of its own structure (log buffers,
 * nodes). Value buffers belong to the server, which keeps reference counts;
 * the index reports value names (on recovery, on replacement, on delete)
 * so the server can count and release them.
 */
#ifndef KV_INDEX_H
#define KV_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "paste_pool.h"

/* Why open() refused a pool with -EPROTO, for the operator. */
#define KV_INDEX_OLD_FORMAT \
	"the pool holds this index in the format written before durable TTLs " \
	"(records without a deadline); this paste-kvs cannot read it: read the " \
	"keys out with the paste-kvs that wrote it and store them again"

/* Root slot of the pool where each index starts. */
#define KV_ROOT_WAL 0
#define KV_ROOT_BTREE 1

/* The owner each index claims its root slot as (pst_pool_root_claim()):
 * application KV_OWNER_APP, kind the index's name. The store reconciles
 * the pool against one index, so a pool holds one kind: opening it with
 * the other is refused before anything is written. */
#define KV_OWNER_APP "paste-kvs"

/* A value: its length, CRC32C, its deadline, and the names holding its
 * bytes in order. The deadline is in the same record as the names (so a
 * key is never durable without it); bytes 10..15 are not the value's: the
 * on-media records that double as a kv_value keep fields of their own
 * there. */
struct kv_value {
	uint32_t len;
	uint32_t crc;
	uint16_t n;
	uint64_t deadline_ms;     /* absolute, wall-clock ms since the epoch
				   * (CLOCK_REALTIME); 0: none */
	pst_name names[]; /* n names; lengths add up to len */
};

/* The most names a value an index holds can have: what n counts. paste-kvs
 * writes at most KV_VALUE_NAMES_MAX (kv_limits.h), but a pool another
 * program wrote holds any number up to this, so whatever copies a value
 * read from an index makes room for this many. */
#define KV_INDEX_NAMES_MAX UINT16_MAX

/* Called for every live entry found by open() (recovery), and for every
 * value a put/del/flushall replaces or removes (so the server can drop its
 * references). The value is only valid during the call. */
typedef void (*kv_value_fn)(void *arg, const void *key, uint16_t key_len,
			    const struct kv_value *value);
/* Called for every pool buffer the index itself owns (recovery): the server
 * passes these names, with the value names, to pst_pool_reconcile(). */
typedef void (*kv_owned_fn)(void *arg, pst_name name);
/* Called by open() for candidate live values: nonzero if the value's bytes
 * are whole (its CRC matches). A value that fails makes recovery fall back
 * to a state before the operation that wrote it. */
typedef int (*kv_check_fn)(void *arg, const void *key, uint16_t key_len,
			   const struct kv_value *value);

/* Called for each live key by keys(). */
typedef void (*kv_key_fn)(void *arg, const void *key, uint16_t key_len);
/* keys()'s filter: nonzero if a key whose keyed hash's low 32 bits are
 * @hash32 may be wanted. */
typedef int (*kv_key_want_fn)(void *arg, uint32_t hash32);

struct kv_index_report {
	uint64_t entries;         /* live keys after recovery */
	uint64_t torn;            /* entries dropped: bad CRC (undrained batch) */
	uint64_t fallbacks;       /* times a value failed check: fell back */
	uint64_t log_bytes;       /* wal: bytes of log in use */
	double seconds;           /* time open() took */
};

struct kv_index;

struct kv_index_ops {
	const char *name;         /* "wal" or "btree": the owner kind too */
	unsigned int root_slot;   /* KV_ROOT_WAL or KV_ROOT_BTREE */
	/* Claim the root slot (-PST_EOWNER when the pool holds another
	 * owner's structure, nothing written then; -EPROTO when it holds
	 * this index in the format before deadlines, KV_INDEX_OLD_FORMAT,
	 * nothing written either), open (create when the
	 * root slot is empty) and recover. Calls
	 * @on_value for each live entry and @on_owned for each own buffer;
	 * @check (may be NULL: every value whole) vets values before that.
	 * Must run before the pool's mempool exists (it takes buffers).
	 * Returns 0 or a negative errno; *idx on success. */
	int (*open)(struct kv_index **idx, struct pst_pool *pool,
		    kv_value_fn on_value, kv_owned_fn on_owned,
		    kv_check_fn check, void *arg,
		    struct kv_index_report *report);
	/* Insert or replace. The replaced value (if any) is reported through
	 * @on_old. Returns 0, -ENOSPC (pool full), -EINVAL (key too long). */
	int (*put)(struct kv_index *idx, const void *key, uint16_t key_len,
		   const struct kv_value *value, kv_value_fn on_old, void *arg);
	/* Look up; returns a pointer valid until the next put/del, or NULL. */
	const struct kv_value *(*get)(struct kv_index *idx, const void *key,
				      uint16_t key_len);
	/* Remove; reports the removed value through @on_old. Returns 1 if the
	 * key existed, 0 if not, negative errno on failure. */
	int (*del)(struct kv_index *idx, const void *key, uint16_t key_len,
		   kv_value_fn on_old, void *arg);
	uint64_t (*count)(const struct kv_index *idx);
	/* Remove everything, reporting each value. */
	int (*flushall)(struct kv_index *idx, kv_value_fn on_old, void *arg);
	/* A unit (doc/kvs-index.md, "Units"): the puts and dels between
	 * unit_begin() and unit_end() become durable together. After any
	 * crash image open() finds all of them or none, and a value of the
	 * unit that fails @check makes recovery fall back to before the
	 * whole unit. Units do not nest (-EBUSY); flushall() inside one is
	 * refused (-EBUSY). Nothing is written here. Returns 0 or -EBUSY. */
	int (*unit_begin)(struct kv_index *idx);
	/* Commit the unit (wal: its COMMIT record; btree: one root record),
	 * flushed, never drained: durable with the caller's next drain.
	 * Returns 0, or a negative errno after undoing the unit as
	 * unit_abort() does (-ENOSPC: no room for the commit). */
	int (*unit_end)(struct kv_index *idx);
	/* Undo the open unit in DRAM and on media: no crash image recovers
	 * any of it, and the values it replaced or removed are the current
	 * ones again (the caller undoes what it did with their on_old
	 * reports). May drain. Returns 0, or a negative errno when the media
	 * could not be made to forget the unit: the index then refuses every
	 * write (-EIO) and recovery at the next open decides. */
	int (*unit_abort)(struct kv_index *idx);
	/* Bytes of pool the index structure itself uses. */
	uint64_t (*own_bytes)(const struct kv_index *idx);
	void (*close)(struct kv_index *idx);
	/* Call @fn for every live key, in no defined order (KEYS; SCAN and
	 * RANDOMKEY use scan() and random_key() below). An index that
	 * keeps each key's (uint32_t)kv_key_hash() (wal: its DRAM table) asks
	 * @want (may be NULL: every key) first and skips the key when it says
	 * 0, without reading the key: a walk that needs few keys then touches
	 * few records. The key is valid only during the call; neither
	 * function may change the index. Cost: one visit of every entry
	 * (wal: its DRAM table; btree: every leaf). Returns 0 or a negative
	 * errno. */
	int (*keys)(struct kv_index *idx, kv_key_want_fn want, kv_key_fn fn, void *arg);
	/* One SCAN step over the keys in the index's hash order
	 * (hashorder.h): call @fn once for every key whose 32-bit keyed
	 * hash ((uint32_t)kv_key_hash()) is in [@cursor >> 32, end), where
	 * the index picks end after about @count keys; *next = end << 32,
	 * or 0 when the range ran to the last hash. Each index keeps its
	 * keys hash-ordered in DRAM (wal: its key table; btree: a key
	 * order beside the tree), so a step costs O(@count) expected, not
	 * a walk of every key. Same rules for @fn as keys(). Returns 0 or
	 * a negative errno. */
	int (*scan)(struct kv_index *idx, uint64_t cursor, uint64_t count, kv_key_fn fn,
		    void *arg, uint64_t *next);
	/* Call @fn with one key drawn from @seed (about uniformly), or not
	 * at all when the index is empty. O(1) expected. Returns 0 or a
	 * negative errno. */
	int (*random_key)(struct kv_index *idx, uint64_t seed, kv_key_fn fn, void *arg);
};

extern const struct kv_index_ops kv_index_wal;
extern const struct kv_index_ops kv_index_btree;

#endif /* KV_INDEX_H */
