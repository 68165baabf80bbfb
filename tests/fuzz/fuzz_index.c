/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: paste-kvs's persistent indexes. Recovery (open +
 * reconcile, through kv_store_open) then get, put and delete, on a mutated
 * pool image holding a WAL or a B+tree.
 *
 * Two baselines (one per index) are built once: 40 keys set, some
 * overwritten and deleted, values of 1 to 2000 bytes over 256 buffers of
 * 1024 bytes. An input is:
 *   flags (1 byte): 1 the B+tree (else the WAL), 2 fix the header CRC
 *   patches (fuzz_image.h) anywhere in the header page, the state bytes
 *   and the buffers
 *   the rest: bytes of the values the target puts after recovery
 * Invariants: recovery either succeeds or fails with a negative errno and
 * leaves the pool closable; after it the pool verifies, and every value
 * the index returns has valid names whose lengths add up to its length and
 * whose bytes are readable (under ASan the buffers reconcile left free are
 * poisoned: a value naming one fails); values put after recovery read
 * back, and so after a reopen, with the deleted key gone.
 */
#include "fuzz_image.h"
#include "kv_index.h"
#include "paste_errno.h"
#include "store.h"

#define BUF_SIZE 1024u
#define BUF_COUNT 256u
#define KEYS 40u
#define NEW_KEYS 3u

static struct fz_image img[2];
static char path[2][160];
static const struct kv_index_ops *const ops[2] = { &kv_index_wal, &kv_index_btree };

static uint16_t
key_of(unsigned int i, char *k)
{
	return (uint16_t)sprintf(k, "key:%03u", i);
}

static void
drain(struct kv_store *st)
{
	if (pst_pool_drain(st->pool) != 0)
		fz_fail("drain: %s", pst_strerror(pst_errno));
	kv_store_release_durable(st);
}

/* SET as linux-kvs does: the value's bytes copied into pool buffers of
 * its own, as many as it needs. */
static int
set_value(struct kv_store *st, const char *key, uint16_t key_len, const uint8_t *val,
	  uint32_t len)
{
	struct kv_stream s;
	int ret;

	kv_stream_init(&s);
	ret = kv_stream_push(&s, PST_NAME_INVALID, val, len);
	if (ret == 0)
		ret = kv_store_set_copy(st, key, key_len, &s, 0, len);
	kv_stream_fini(&s, NULL, NULL);
	return ret;
}

static void
baseline(unsigned int which)
{
	struct pst_pool_config cfg = { .path = path[which], .buf_size = BUF_SIZE,
				       .buf_count = BUF_COUNT,
				       .persist_mode = PST_PERSIST_FLUSH };
	static uint8_t val[2000];
	struct kv_store st;
	struct pst_pool *p;
	char k[16];
	int ret;

	fz_path("index", which ? "btree" : "wal", path[which], sizeof(path[which]));
	unlink(path[which]);
	p = pst_pool_create(&cfg);
	if (p == NULL)
		fz_fail("create: %s", pst_strerror(pst_errno));
	ret = kv_store_open(&st, p, ops[which], 0);
	if (ret != 0)
		fz_fail("kv_store_open: %s", pst_strerror(ret));
	for (unsigned int round = 0; round < 2; round++)
		for (unsigned int i = 0; i < KEYS; i++) {
			uint32_t len = 1 + (i * 397u + round * 911u) % (uint32_t)sizeof(val);

			if (round == 1 && i % 3 != 0)
				continue;
			memset(val, 'A' + (int)(i % 26), len);
			ret = set_value(&st, k, key_of(i, k), val, round ? len / 4 + 1 : len);
			if (ret != 0)
				fz_fail("baseline set %u: %s", i, pst_strerror(ret));
			if (i % 4 == 0)
				drain(&st);
		}
	for (unsigned int i = 0; i < KEYS; i += 7)
		kv_store_del(&st, k, key_of(i, k));
	drain(&st);
	kv_store_close(&st);
	pst_pool_close(p);
	fz_image_load(&img[which], path[which]);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	baseline(0);
	baseline(1);
	return 0;
}

/* A value the index returns: valid names, lengths that add up, bytes that
 * can be read. Returns a checksum of its bytes. */
static uint32_t
check_value(struct pst_pool *p, const struct kv_value *v, const char *key)
{
	uint32_t sum = 0, len = 0;

	for (uint16_t i = 0; i < v->n; i++) {
		const uint8_t *a = pst_pool_name_to_addr(p, v->names[i]);

		FZ_CHECK(a != NULL, "%s: name %u (0x%016llx) is not valid", key, i,
			 (unsigned long long)v->names[i]);
		for (uint32_t j = 0; j < pst_name_length(v->names[i]); j++)
			sum = sum * 31 + a[j];
		len += pst_name_length(v->names[i]);
	}
	FZ_CHECK(len == v->len, "%s: names hold %u bytes, value %u", key, len, v->len);
	return sum;
}

/* Every key the index holds (of those the baseline set) is a sound value;
 * returns how many there are. */
static uint64_t
check_all(struct kv_store *st)
{
	uint64_t found = 0;
	char k[16];

	for (unsigned int i = 0; i < KEYS; i++) {
		const struct kv_value *v = kv_store_get(st, k, key_of(i, k));

		if (v != NULL) {
			check_value(st->pool, v, k);
			found++;
		}
	}
	return found;
}

struct put {
	char key[16];
	uint16_t key_len;
	uint8_t val[64];
	uint32_t len;
	int stored;
};

/* The values just put read back as they were put. */
static void
check_puts(struct kv_store *st, const struct put *put, unsigned int n, const char *when)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct kv_value *v = kv_store_get(st, put[i].key, put[i].key_len);
		uint8_t got[64];
		uint32_t off = 0;

		if (!put[i].stored)
			continue;
		FZ_CHECK(v != NULL, "%s: %s is gone", when, put[i].key);
		check_value(st->pool, v, put[i].key);
		FZ_CHECK(v->len == put[i].len, "%s: %s has %u bytes, put %u", when,
			 put[i].key, v->len, put[i].len);
		for (uint16_t j = 0; j < v->n; j++) {
			memcpy(got + off, pst_pool_name_to_addr(st->pool, v->names[j]),
			       pst_name_length(v->names[j]));
			off += pst_name_length(v->names[j]);
		}
		FZ_CHECK(memcmp(got, put[i].val, put[i].len) == 0, "%s: %s has other bytes",
			 when, put[i].key);
	}
}

static struct pst_pool *
open_store(struct kv_store *st, unsigned int which, const char *when)
{
	struct pst_pool_config cfg = { .path = path[which],
				       .persist_mode = PST_PERSIST_FLUSH };
	struct pst_pool *p = pst_pool_open(&cfg);
	int ret;

	if (p == NULL)
		return NULL;
	ret = kv_store_open(st, p, ops[which], 0);
	if (ret != 0) {
		FZ_CHECK(ret < 0, "%s: kv_store_open returned %d", when, ret);
		pst_pool_close(p);
		return NULL;
	}
	FZ_CHECK(pst_pool_verify(p) == 0, "%s: verify: %s", when, pst_strerror(pst_errno));
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t flags = fz_u8(&in);
	unsigned int which = flags & 1;
	struct put put[NEW_KEYS];
	struct kv_store st;
	struct pst_pool *p;
	uint64_t count;
	char k[16];
	int ret;

	fz_image_restore(&img[which]);
	fz_image_patch(&img[which], &in, 16, 1);
	if (flags & 2)
		fz_image_fix_crc(&img[which]);
	p = open_store(&st, which, "recovery");
	if (p == NULL)
		return 0;
	count = kv_store_count(&st);
	FZ_CHECK(check_all(&st) <= count, "more baseline keys found than the index counts");
	for (unsigned int i = 0; i < NEW_KEYS; i++) {
		put[i].key_len = (uint16_t)sprintf(put[i].key, "new:%u", i);
		put[i].len = 1 + fz_u8(&in) % (uint32_t)sizeof(put[i].val);
		memset(put[i].val, 'n', put[i].len);
		fz_bytes(&in, put[i].val, put[i].len);
		ret = set_value(&st, put[i].key, put[i].key_len, put[i].val, put[i].len);
		FZ_CHECK(ret == 0 || ret == -ENOSPC, "set %s: %d", put[i].key, ret);
		put[i].stored = ret == 0;
	}
	ret = kv_store_del(&st, k, key_of(1, k));
	FZ_CHECK(ret >= 0, "del: %d", ret);
	drain(&st);
	check_puts(&st, put, NEW_KEYS, "after put");
	FZ_CHECK(kv_store_get(&st, k, key_of(1, k)) == NULL, "deleted key still there");
	check_all(&st);
	kv_store_close(&st);
	pst_pool_close(p);

	p = open_store(&st, which, "reopen");
	FZ_CHECK(p != NULL, "a recovered pool no longer opens");
	check_puts(&st, put, NEW_KEYS, "after reopen");
	FZ_CHECK(kv_store_get(&st, k, key_of(1, k)) == NULL, "deleted key back after reopen");
	check_all(&st);
	kv_store_close(&st);
	pst_pool_close(p);
	return 0;
}
