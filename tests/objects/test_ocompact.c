/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The object log's size against a client that overwrites a few keys
 * forever (examples/objects/compact.c, doc/objects.md "Compaction"): five
 * keys overwritten 2,000 times each, with a delete now and then, a second
 * bucket created and deleted, a completed multipart object, a copy and an
 * unfinished upload with two parts alive across it all, a drain after each
 * batch of 1 to 8 requests as the server drains. The log must stay within
 * a bound set by what is live, not by the history; every object, the
 * upload's parts and the multipart object's ETag must read back, before
 * and after a restart, and the pool must keep exactly the log's buffers
 * and what the live records name. Then a log that finds no free buffer
 * for a record (the threshold off, the pool full of data) compacts to
 * make room rather than refuse; and the pause of one compaction at
 * 10,000 and 100,000 live objects, printed (not a pass/fail figure).
 */
#include "../unit/pst_test_util.h"
#include "ostore_test_util.h"

#include <inttypes.h>

#include "compact.h"
#include "etag.h"
#include "mpstore.h"
#include "olog.h"
#include "ostore.h"

#define BUF 2176u
#define NBUFS 4096u
#define NKEYS 5u
#define ROUNDS 2000u
/* Live: about 10 records of ~100 bytes; the log may hold what its
 * compaction threshold lets pile up on top (at most 64 buffers of history
 * by default, then half dead), never the 10,000 records' ~480 buffers. */
#define LOG_BUFS_MAX 160u

struct model {
	uint8_t md5[NKEYS][16];
	uint64_t size[NKEYS];
	int live[NKEYS];
};

static uint8_t
seed_byte(uint32_t piece, uint32_t at, uint32_t seed)
{
	return (uint8_t)(seed * 131u + at * 7u + piece);
}

/* A body of @len bytes from @seed as the server receives one. */
static struct obj_version *
body(struct obj_store *st, struct pst_pool *p, size_t len, uint32_t seed)
{
	return ot_body(st, p, len, "text/x", 6, "m\0v\0", 4, seed_byte, seed, NULL);
}

static void
key_of(char *k, uint32_t key)
{
	snprintf(k, 16, "key/%u", key);
}

/* Every object and the upload read back whole; the pool keeps exactly the
 * log's buffers and what is named. */
static void
check_all(struct obj_store *st, struct pst_pool *p, const struct model *mo,
	  const uint8_t mp_md5[16], uint64_t upload_id)
{
	static uint8_t named[NBUFS];
	struct pst_pool_stats ps;
	uint64_t want = 0;
	struct obj_version *v;
	char k[16], etag[OBJ_ETAG_MAX];
	size_t i;
	uint32_t j;

	tu_assert_verify(p);
	memset(named, 0, sizeof(named));
	for (uint32_t key = 0; key < NKEYS; key++) {
		key_of(k, key);
		v = obj_store_get(st, "bkt", k, strlen(k));
		if (!mo->live[key]) {
			assert_null(v);
			continue;
		}
		assert_non_null(v);
		assert_int_equal(v->size, mo->size[key]);
		assert_memory_equal(v->md5, mo->md5[key], 16);
		assert_true(obj_store_names_whole(st, v->names, v->n_names, v->md5));
		assert_int_equal(v->ctype_len, 6);
		assert_memory_equal(v->meta, "m\0v\0", 4);
	}
	/* The multipart object: its ETag from its parts. */
	v = obj_store_get(st, "bkt", "mp", 2);
	assert_non_null(v);
	assert_int_equal(v->parts, 2);
	assert_memory_equal(v->md5, mp_md5, 16);
	obj_etag_parts(mp_md5, 2, etag);
	assert_string_equal(v->etag, etag);
	/* Its copy: a single object of the same bytes. */
	v = obj_store_get(st, "bkt", "copy", 4);
	assert_non_null(v);
	assert_int_equal(v->parts, 0);
	assert_true(obj_store_names_whole(st, v->names, v->n_names, v->md5));
	/* The unfinished upload and its two parts. */
	assert_int_equal(st->mpu->n, 1);
	assert_true(st->mpu->u[0]->id == upload_id);
	assert_int_equal(st->mpu->u[0]->n_parts, 2);
	for (j = 0; j < 2; j++) {
		const struct obj_mpu_part *pt = &st->mpu->u[0]->parts[j];

		assert_true(obj_store_names_whole(st, pt->names, pt->n_names, pt->md5));
		for (uint32_t q = 0; q < pt->n_names; q++)
			named[pst_name_index(pt->names[q])] = 1;
	}
	assert_int_equal(st->n_buckets, 1);
	for (i = 0; i < st->n_objs; i++)
		for (j = 0; j < st->objs[i].v->n_names; j++)
			named[pst_name_index(st->objs[i].v->names[j])] = 1;
	for (i = 0; i < NBUFS; i++)
		want += named[i];
	/* Drain twice: releases of dropped versions become free. */
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(st);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(st);
	tu_assert_rc(pst_pool_stats(p, &ps), 0);
	assert_int_equal(ps.kept, want + st->log.n_bufs);
}

/* A restart: the store closed and opened again from the pool file; the
 * pool @p replaced by the reopened one. Nothing was left to release or
 * fall back on (a clean close). */
static struct pst_pool *
restart(struct obj_store *st, struct pst_pool *p, const char *path)
{
	obj_store_close(st);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(st, p), 0);
	assert_int_equal(st->released_at_start, 0);
	assert_int_equal(st->fallbacks, 0);
	return p;
}

static void
test_overwrites_bounded(void **state)
{
	char path[PATH_MAX], k[16], id[OBJ_MPU_ID_LEN + 1], etag[OBJ_ETAG_MAX];
	struct pst_pool *p;
	struct obj_store st;
	struct obj_version *v;
	struct obj_mpu *u, *keep;
	static struct model mo;
	uint8_t mp_md5[16];
	uint32_t idx[2] = { 0, 1 }, seed = 1;
	uint64_t rs = 20261207, upload_id;
	size_t max_bufs = 0;

	(void)state;
	memset(&mo, 0, sizeof(mo));
	tu_path(path, sizeof(path), "compact");
	p = tu_must_create(path, BUF, NBUFS, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	st.mpu->min_part = 1;
	assert_int_equal(obj_store_bucket_add(&st, "bkt", 5), 0);
	/* An upload left unfinished through everything. */
	assert_int_equal(obj_mpu_create(&st, "bkt", "open", 4, "a/b", 3, "", 0, 7, &keep), 0);
	upload_id = keep->id;
	for (uint32_t part = 1; part <= 2; part++) {
		v = body(&st, p, 2000, seed++);
		assert_int_equal(obj_mpu_part_put(&st, keep, part, v, 8), 0);
		obj_version_put(&st, v);
	}
	/* A completed multipart object and a copy of it. */
	assert_int_equal(obj_mpu_create(&st, "bkt", "mp", 2, "", 0, "", 0, 9, &u), 0);
	for (uint32_t part = 1; part <= 2; part++) {
		v = body(&st, p, 1500, seed++);
		assert_int_equal(obj_mpu_part_put(&st, u, part, v, 10), 0);
		obj_version_put(&st, v);
	}
	assert_int_equal(obj_mpu_complete(&st, u, idx, 2, 11, etag), 0);
	memcpy(mp_md5, obj_store_get(&st, "bkt", "mp", 2)->md5, 16);
	v = obj_store_copy_version(&st, obj_store_get(&st, "bkt", "mp", 2), "", 0, "", 0, 12);
	assert_non_null(v);
	assert_int_equal(obj_store_put(&st, "bkt", "copy", 4, v), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_release_durable(&st);
	/* The overwrites, in batches of 1 to 8 requests between drains. */
	for (uint32_t round = 0; round < ROUNDS * NKEYS;) {
		uint32_t n = 1 + (uint32_t)((rs = rs * 6364136223846793005ull + 1) >> 33) % 8;

		for (uint32_t i = 0; i < n && round < ROUNDS * NKEYS; i++, round++) {
			uint32_t key = round % NKEYS;

			obj_store_release_durable(&st);     /* as process() */
			key_of(k, key);
			if (round % 97 == 13) {
				assert_int_equal(obj_store_del(&st, "bkt", k, strlen(k)), 0);
				mo.live[key] = 0;
				continue;
			}
			if (round % 331 == 7) {
				assert_int_equal(obj_store_bucket_add(&st, "tmp", 20), 0);
				assert_int_equal(obj_store_bucket_del(&st, "tmp"), 0);
			}
			v = body(&st, p, 1 + (round * 37) % 1400, seed++);
			v->mtime = 100 + round;
			memcpy(mo.md5[key], v->md5, 16);
			mo.size[key] = v->size;
			mo.live[key] = 1;
			assert_int_equal(obj_store_put(&st, "bkt", k, strlen(k), v), 0);
		}
		assert_int_equal(pst_pool_drain(p), 0);
		obj_store_release_durable(&st);
		if (st.log.n_bufs > max_bufs)
			max_bufs = st.log.n_bufs;
	}
	print_message("[ compact ] %u requests: the log at most %zu buffers, %zu at the end "
		      "(%" PRIu64 " records); %" PRIu64 " compactions, the last %" PRIu64
		      " records to %" PRIu64 " in %" PRIu64 " us\n", ROUNDS * NKEYS, max_bufs,
		      st.log.n_bufs, st.log.seq, st.compactions, st.compact_recs_before,
		      st.compact_recs_after, st.compact_ns_last / 1000);
	assert_true(st.compactions >= 5);
	assert_int_equal(st.compact_failures, 0);
	check_all(&st, p, &mo, mp_md5, upload_id);
	assert_true(max_bufs <= LOG_BUFS_MAX);
	/* A restart: the same, from the log as it is now. */
	obj_mpu_id_str(keep, id);
	p = restart(&st, p, path);
	check_all(&st, p, &mo, mp_md5, upload_id);
	assert_non_null(obj_mpu_find(&st, "bkt", "open", 4, id, strlen(id)));
	assert_true(st.log.n_bufs <= LOG_BUFS_MAX);
	obj_store_close(&st);
	tu_close(p);
	unlink(path);
}

/* The threshold off and the pool nearly full of data: a record that finds
 * too few free buffers makes the log compact (its dead records give
 * buffers back) rather than being refused; with no room even for the new
 * chain, the refusal stays (-ENOBUFS, nothing changed). */
static void
test_full_pool(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_levels lv;
	struct obj_store st;
	struct obj_version *v, *big;
	uint32_t i, idx, data;
	size_t bufs;

	(void)state;
	tu_path(path, sizeof(path), "full");
	p = tu_must_create(path, BUF, 256, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	st.compact_pct = 0;
	assert_int_equal(obj_store_bucket_add(&st, "bkt", 5), 0);
	/* One object holding all but 40 free buffers. */
	pst_pool_levels(p, &lv);
	big = body(&st, p, (size_t)(lv.free - 40) * 1448, 9);
	assert_int_equal(obj_store_put(&st, "bkt", "big", 3, big), 0);
	/* 600 empty PUTs of one key: records only, ~25 log buffers, dead
	 * but the last. */
	for (i = 0; i < 600; i++) {
		v = obj_version_new("", 0, "", 0, 0);
		assert_non_null(v);
		assert_int_equal(obj_store_put(&st, "bkt", "k", 1, v), 0);
		assert_int_equal(pst_pool_drain(p), 0);
		obj_store_release_durable(&st);
	}
	bufs = st.log.n_bufs;
	/* Other data (bodies arriving) leaves 6 buffers free. */
	for (pst_pool_levels(p, &lv); lv.free > 6; pst_pool_levels(p, &lv)) {
		assert_int_equal(pst_pool_take(p, &idx), 0);
		assert_int_equal(pst_pool_keep(p, idx), 0);
	}
	/* An object of 3,000 one-byte names (in one buffer): a record of
	 * ~24 KB, 12 log buffers. */
	assert_int_equal(pst_pool_take(p, &data), 0);
	assert_int_equal(pst_pool_keep(p, data), 0);
	memset(pst_pool_buf_addr(p, data), 'x', 2000);
	pst_pool_flush(p, pst_pool_buf_addr(p, data), 2000);
	v = obj_version_new("", 0, "", 0, 3000);
	assert_non_null(v);
	for (i = 0; i < 3000; i++)
		v->names[v->n_names++] = pst_name_make(data, (uint16_t)(i % 2000), 1);
	v->size = 3000;
	ot_version_md5(p, v);
	obj_store_ref_names(&st, v->names, v->n_names, 1);
	assert_int_equal(obj_store_put(&st, "bkt", "many", 4, v), 0);
	print_message("[ compact ] a record of 12 buffers with 5 free: %" PRIu64 " compaction "
		      "for room, the log %zu buffers, was %zu\n", st.compactions, st.log.n_bufs,
		      bufs);
	assert_int_equal(st.compactions, 1);
	assert_true(st.log.n_bufs < bufs);
	/* No room left even for a new chain: refused, nothing changed. */
	while (pst_pool_take(p, &idx) == 0)
		assert_int_equal(pst_pool_keep(p, idx), 0);
	for (i = 0; i < 200; i++) {
		char k[16];
		int ret;

		snprintf(k, sizeof(k), "n%u", i);
		v = obj_version_new("", 0, "", 0, 0);
		assert_non_null(v);
		ret = obj_store_put(&st, "bkt", k, strlen(k), v);
		if (ret != 0) {
			assert_int_equal(ret, -ENOBUFS);
			obj_version_put(&st, v);
			assert_null(obj_store_get(&st, "bkt", k, strlen(k)));
			break;
		}
	}
	assert_true(i < 200);
	assert_int_equal(pst_pool_drain(p), 0);
	obj_store_close(&st);
	tu_close(p);
	/* Restarted: the objects whole, the buffers kept by nothing freed. */
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	v = obj_store_get(&st, "bkt", "big", 3);
	assert_non_null(v);
	assert_true(obj_store_names_whole(&st, v->names, v->n_names, v->md5));
	v = obj_store_get(&st, "bkt", "many", 4);
	assert_non_null(v);
	assert_int_equal(v->n_names, 3000);
	assert_true(obj_store_names_whole(&st, v->names, v->n_names, v->md5));
	assert_non_null(obj_store_get(&st, "bkt", "k", 1));
	assert_true(st.released_at_start > 0);
	obj_store_close(&st);
	tu_close(p);
	unlink(path);
}

/* Compaction spread over polls (st.compact_slice records a slice): a
 * store of up to 400 keys (one bucket, 1 to 3 buffers an object) under
 * overwrites, deletes, a bucket created and deleted, multipart uploads
 * created, given parts, completed and aborted, 1 to 8 requests between
 * polls (a drain, then obj_store_release_durable, as the server). While a
 * compaction is under way those requests land before and after its
 * cursor; at its switch the new chain must hold them all: the store is
 * checked against the model running, after a restart from the compacted
 * log, and after a stop in the middle of a compaction (its chain given
 * up, nothing left kept). The slice bound is structural: no slice wrote
 * more than compact_slice records plus the requests since the last. */
#define SL_KEYS 400u
#define SL_UPL 4u
#define SL_SLICE 16u
#define SL_OPS_MAX 8u

struct sl_model {
	uint8_t md5[SL_KEYS][16];
	uint64_t size[SL_KEYS];
	int live[SL_KEYS];
	uint8_t mp_md5[SL_UPL][16];
	int mp_live[SL_UPL];
	char up_id[SL_UPL][OBJ_MPU_ID_LEN + 1];
	uint32_t up_parts[SL_UPL];
	int up_live[SL_UPL];
	int tmp;
};

static uint64_t
sl_rand(uint64_t *rs)
{
	*rs = *rs * 6364136223846793005ull + 1442695040888963407ull;
	return *rs >> 33;
}

static struct obj_mpu *
sl_upload(struct obj_store *st, const struct sl_model *mo, uint32_t i)
{
	char k[16];

	snprintf(k, sizeof(k), "up/%u", i);
	return obj_mpu_find(st, "bkt", k, strlen(k), mo->up_id[i], OBJ_MPU_ID_LEN);
}

static void
sl_check(struct obj_store *st, struct pst_pool *p, const struct sl_model *mo)
{
	struct obj_version *v;
	struct obj_mpu *u;
	char k[16];
	uint32_t i;

	tu_assert_verify(p);
	for (i = 0; i < SL_KEYS; i++) {
		snprintf(k, sizeof(k), "k/%03u", i);
		v = obj_store_get(st, "bkt", k, strlen(k));
		if (!mo->live[i]) {
			assert_null(v);
			continue;
		}
		assert_non_null(v);
		assert_memory_equal(v->md5, mo->md5[i], 16);
		assert_int_equal(v->size, mo->size[i]);
		assert_true(obj_store_names_whole(st, v->names, v->n_names, v->md5));
	}
	for (i = 0; i < SL_UPL; i++) {
		snprintf(k, sizeof(k), "up/%u", i);
		v = obj_store_get(st, "bkt", k, strlen(k));
		if (mo->mp_live[i]) {
			assert_non_null(v);
			assert_memory_equal(v->md5, mo->mp_md5[i], 16);
			assert_true(v->parts > 0);
		} else {
			assert_null(v);
		}
		u = mo->up_live[i] ? sl_upload(st, mo, i) : NULL;
		if (mo->up_live[i]) {
			assert_non_null(u);
			assert_int_equal(u->n_parts, mo->up_parts[i]);
		}
	}
	assert_int_equal(obj_store_bucket(st, "tmp") != NULL, mo->tmp);
	assert_non_null(obj_store_bucket(st, "bkt"));
}

/* One request at random against @st and the model. */
static void
sl_op(struct obj_store *st, struct pst_pool *p, struct sl_model *mo, uint64_t *rs,
      uint32_t *seed)
{
	uint32_t what = (uint32_t)(sl_rand(rs) % 100), i = (uint32_t)(sl_rand(rs) % SL_KEYS);
	struct obj_version *v;
	struct obj_mpu *u;
	char k[16], etag[OBJ_ETAG_MAX];

	snprintf(k, sizeof(k), "k/%03u", i);
	if (what < 70) {
		v = body(st, p, 1 + (size_t)(sl_rand(rs) % 3000), (*seed)++);
		memcpy(mo->md5[i], v->md5, 16);
		mo->size[i] = v->size;
		mo->live[i] = 1;
		assert_int_equal(obj_store_put(st, "bkt", k, strlen(k), v), 0);
	} else if (what < 85) {
		assert_int_equal(obj_store_del(st, "bkt", k, strlen(k)), 0);
		mo->live[i] = 0;
	} else if (what < 88) {
		if (mo->tmp)
			assert_int_equal(obj_store_bucket_del(st, "tmp"), 0);
		else
			assert_int_equal(obj_store_bucket_add(st, "tmp", 3), 0);
		mo->tmp = !mo->tmp;
	} else {
		i = (uint32_t)(sl_rand(rs) % SL_UPL);
		snprintf(k, sizeof(k), "up/%u", i);
		if (!mo->up_live[i]) {
			assert_int_equal(obj_mpu_create(st, "bkt", k, strlen(k), "", 0, "", 0, 4, &u), 0);
			obj_mpu_id_str(u, mo->up_id[i]);
			mo->up_live[i] = 1;
			mo->up_parts[i] = 0;
			return;
		}
		u = sl_upload(st, mo, i);
		assert_non_null(u);
		if (mo->up_parts[i] < 3 && what < 97) {
			v = body(st, p, 1 + (size_t)(sl_rand(rs) % 2500), (*seed)++);
			assert_int_equal(obj_mpu_part_put(st, u, ++mo->up_parts[i], v, 5), 0);
			obj_version_put(st, v);
		} else if (mo->up_parts[i] > 0 && what < 99) {
			uint32_t idx[3] = { 0, 1, 2 };

			assert_int_equal(obj_mpu_complete(st, u, idx, mo->up_parts[i], 6, etag), 0);
			memcpy(mo->mp_md5[i], obj_store_get(st, "bkt", k, strlen(k))->md5, 16);
			mo->mp_live[i] = 1;
			mo->up_live[i] = 0;
		} else {
			assert_int_equal(obj_mpu_abort(st, u, 0), 0);
			mo->up_live[i] = 0;
		}
	}
}

static void
sl_setup(struct obj_store *st)
{
	st->mpu->min_part = 1;
	st->compact_slice = SL_SLICE;
	st->compact_min_bufs = 8;
}

static void
test_slices(void **state)
{
	static struct sl_model mo;
	char path[PATH_MAX];
	struct pst_pool *p;
	struct obj_store st;
	uint64_t rs = 2512, polls, busy_polls = 0, busy_ops = 0, reflected = 0, slices = 0;
	uint64_t done = 0, total_done = 0;
	uint32_t seed = 1, stops = 0;

	(void)state;
	memset(&mo, 0, sizeof(mo));
	tu_path(path, sizeof(path), "slices");
	p = tu_must_create(path, BUF, NBUFS, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	sl_setup(&st);
	assert_int_equal(obj_store_bucket_add(&st, "bkt", 1), 0);
	for (polls = 0; polls < 20000 && (done < 6 || stops < 2); polls++) {
		uint32_t n = 1 + (uint32_t)(sl_rand(&rs) % SL_OPS_MAX);
		int busy = st.compact_run != NULL;

		for (uint32_t j = 0; j < n; j++) {
			/* As process() before a connection's requests: no drain
			 * since, so no slice (one a drain, i.e. a poll). */
			obj_store_release_durable(&st);
			sl_op(&st, p, &mo, &rs, &seed);
		}
		busy_ops += busy ? n : 0;
		assert_int_equal(pst_pool_drain(p), 0);
		obj_store_release_durable(&st);
		busy_polls += st.compact_run != NULL;
		if (st.compactions > done) {
			/* A switch: everything reflected, read back now. */
			done = st.compactions;
			total_done++;
			reflected += st.compact_reflected_last;
			slices += st.compact_slices_last;
			assert_true(st.compact_slices_last > 1);
			sl_check(&st, p, &mo);
		}
		if (done >= 3 && st.compact_run != NULL && stops < 2 && polls % 5 == 0) {
			/* Stopped in the middle of one: its chain given up. */
			sl_check(&st, p, &mo);
			obj_store_close(&st);
			tu_close(p);
			p = tu_must_open(path, PST_PERSIST_FLUSH);
			assert_int_equal(obj_store_open(&st, p), 0);
			sl_setup(&st);
			assert_int_equal(st.released_at_start, 0);
			assert_int_equal(st.fallbacks, 0);
			sl_check(&st, p, &mo);
			stops++;
			done = st.compactions;
		}
	}
	print_message("[ compact ] slices of %u records: %" PRIu64 " polls, %" PRIu64 " with a "
		      "compaction under way (%" PRIu64 " requests then), %" PRIu64 " compactions "
		      "after the first restart, %" PRIu64 " slices, %" PRIu64 " records reflected, "
		      "at most %" PRIu64 " records a slice; log %zu buffers\n", SL_SLICE, polls,
		      busy_polls, busy_ops, st.compactions, slices, reflected,
		      st.compact_slice_recs_max, st.log.n_bufs);
	assert_true(done >= 6 && stops == 2);
	assert_true(busy_ops > 0 && reflected > 0);
	assert_int_equal(st.compact_failures, 0);
	assert_true(st.compact_slice_recs_max <= SL_SLICE + SL_OPS_MAX);
	/* One slice a poll: a compaction's slices run in the polls it was
	 * under way after, and the one that switched it. */
	assert_true(slices <= busy_polls + total_done);
	sl_check(&st, p, &mo);
	/* A restart from the compacted log. */
	p = restart(&st, p, path);
	sl_check(&st, p, &mo);
	obj_store_close(&st);
	tu_close(p);
	unlink(path);
}

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* One compaction's pause with @n live objects of one 100-byte name each
 * (sharing buffers, as small segments do), three times; then a restart
 * from the compacted log. */
static void
pause_at(uint32_t n)
{
	char path[PATH_MAX], k[32];
	struct pst_pool *p;
	struct obj_store st;
	struct obj_version *v;
	uint32_t i, idx = 0;
	uint64_t ns[3];

	tu_path(path, sizeof(path), "pause");
	p = tu_must_create(path, BUF, n / 20 + n / 16 * 3 + 1024, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	st.compact_pct = 0;
	assert_int_equal(obj_store_bucket_add(&st, "bkt", 5), 0);
	for (i = 0; i < n; i++) {
		if (i % 20 == 0) {
			assert_int_equal(pst_pool_take(p, &idx), 0);
			assert_int_equal(pst_pool_keep(p, idx), 0);
			memset(pst_pool_buf_addr(p, idx), (int)i, 2000);
			pst_pool_flush(p, pst_pool_buf_addr(p, idx), 2000);
		}
		v = obj_version_new("binary/octet-stream", 19, "", 0, 1);
		assert_non_null(v);
		v->names[0] = pst_name_make(idx, (uint16_t)(i % 20 * 100), 100);
		v->n_names = 1;
		v->size = 100;
		v->mtime = i;
		ot_version_md5(p, v);
		obj_store_ref_names(&st, v->names, 1, 1);
		snprintf(k, sizeof(k), "photos/2026/%08u.jpg", i);
		assert_int_equal(obj_store_put(&st, "bkt", k, strlen(k), v), 0);
	}
	assert_int_equal(pst_pool_drain(p), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(obj_compact(&st), 0);
		ns[i] = st.compact_ns_last;
		obj_store_release_durable(&st);
	}
	print_message("[ compact ] %u live objects: %" PRIu64 " records, %" PRIu64 " log buffers "
		      "(%" PRIu64 " bytes): paused %.1f, %.1f, %.1f ms\n", n, st.compact_recs_after,
		      st.compact_bufs_after, st.log.bytes, (double)ns[0] / 1e6, (double)ns[1] / 1e6,
		      (double)ns[2] / 1e6);
	assert_int_equal(st.compact_recs_after, (uint64_t)n + 1);
	/* The same spread over polls, slices of the default size: each
	 * slice's pause (the last one's with the switch and its two drains),
	 * and the weighing that starts one (the live bytes summed). */
	for (i = 0; i < 3; i++) {
		uint64_t t0 = now_ns(), weigh, steps = 0, longest = 0, t, t_rel, rel_steps;
		int ret;

		(void)obj_compact_live_bytes(&st);
		weigh = now_ns() - t0;
		assert_int_equal(obj_compact_begin(&st), 0);
		for (;;) {
			t0 = now_ns();
			ret = obj_compact_step(&st);
			t = now_ns() - t0;
			if (ret != 0 || ++steps >= 1000000)
				break;
			longest = t > longest ? t : longest;
		}
		assert_int_equal(ret, 1);
		/* Then the old chain released, a slice of buffers a call. */
		for (t_rel = 0, rel_steps = 0; st.compact_run != NULL && rel_steps < 100000;
		     rel_steps++) {
			t0 = now_ns();
			assert_int_equal(obj_compact_step(&st), 0);
			t0 = now_ns() - t0;
			t_rel = t0 > t_rel ? t0 : t_rel;
		}
		assert_null(st.compact_run);
		print_message("[ compact ] %u live objects in slices of %u records: %" PRIu64
			      " slices, the longest %.2f ms (before the switch: %.2f ms; the switch "
			      "%.2f ms; %" PRIu64 " releasing the old chain after it: %.2f ms), all "
			      "%.1f ms; weighing %.2f ms\n", n, st.compact_slice,
			      st.compact_slices_last, (double)st.compact_ns_last / 1e6,
			      (double)longest / 1e6, (double)t / 1e6, rel_steps, (double)t_rel / 1e6,
			      (double)st.compact_work_ns_last / 1e6, (double)weigh / 1e6);
		assert_int_equal(st.compact_recs_after, (uint64_t)n + 1);
		assert_true(st.compact_slices_last >= (uint64_t)n / st.compact_slice);
		assert_true(st.compact_slice_recs_max <= st.compact_slice);
		obj_store_release_durable(&st);
	}
	/* The look that would start one, a slice at a time as well: the
	 * live bytes summed; nothing dead, so nothing compacted. */
	{
		uint64_t before = st.compactions, calls = 0, longest = 0, t0, t;

		st.compact_pct = 50;
		st.compact_min_bufs = 1;
		st.compact_check_at = 0;
		do {
			/* A poll's drain: one slice a drain. */
			assert_int_equal(pst_pool_drain(p), 0);
			t0 = now_ns();
			assert_int_equal(obj_compact_maybe(&st), 0);
			t = now_ns() - t0;
			longest = t > longest ? t : longest;
		} while (st.compact_run != NULL && ++calls < 1000000);
		assert_null(st.compact_run);
		assert_int_equal(st.compactions, before);
		assert_true(calls >= (uint64_t)n / st.compact_slice);
		print_message("[ compact ] %u live objects weighed in %" PRIu64 " calls, the longest "
			      "%.2f ms\n", n, calls + 1, (double)longest / 1e6);
		st.compact_pct = 0;
	}
	obj_store_close(&st);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(obj_store_open(&st, p), 0);
	assert_int_equal(st.n_objs, n);
	assert_int_equal(st.released_at_start, 0);
	snprintf(k, sizeof(k), "photos/2026/%08u.jpg", n - 1);
	v = obj_store_get(&st, "bkt", k, strlen(k));
	assert_non_null(v);
	assert_true(obj_store_names_whole(&st, v->names, v->n_names, v->md5));
	obj_store_close(&st);
	tu_close(p);
	unlink(path);
}

static void
test_pause(void **state)
{
	(void)state;
	pause_at(10000);
	pause_at(100000);
}

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("ocompact");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_overwrites_bounded, tu_test_setup,
						tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_full_pool, tu_test_setup, tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_slices, tu_test_setup, tu_test_teardown),
		cmocka_unit_test_setup_teardown(test_pause, tu_test_setup, tu_test_teardown),
	};

	return cmocka_run_group_tests_name("objects_compact", tests, group_setup,
					   group_teardown);
}
