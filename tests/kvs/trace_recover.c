/* SPDX-License-Identifier: BSD-3-Clause */
/* In-process recovery of a crash image (trace_recover.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "paste_pool.h"
#include "store.h"
#include "trace_recover.h"

struct kmap {
	int present;
	int64_t id;
	uint32_t len;
	uint64_t fnv;
	uint64_t deadline_ms;     /* in the value's record, 0: none */
};

/* power_client.py's key_name(). */
static uint16_t
key_name(char *buf, size_t size, uint32_t k)
{
	return (uint16_t)snprintf(buf, size, "pw:%04u", k);
}

/* The id of a value that starts "v<id>;", else -1. */
static int64_t
value_id(const uint8_t *head, uint32_t n)
{
	int64_t id = 0;
	uint32_t i;

	if (n < 3 || head[0] != 'v')
		return -1;
	for (i = 1; i < n && head[i] >= '0' && head[i] <= '9'; i++)
		id = id * 10 + (head[i] - '0');
	return i > 1 && i < n && head[i] == ';' ? id : -1;
}

/* Read every key; -1 when a value's names do not add up to its length. */
static int
read_map(struct kv_store *st, uint32_t keys, struct kmap *m)
{
	char name[32];

	for (uint32_t k = 0; k < keys; k++) {
		uint16_t kl = key_name(name, sizeof(name), k);
		const struct kv_value *v = kv_store_get(st, name, kl);
		uint8_t head[24];
		uint32_t total = 0;
		uint64_t fnv = 0xcbf29ce484222325ull;

		memset(&m[k], 0, sizeof(m[k]));
		if (v == NULL)
			continue;
		for (uint16_t i = 0; i < v->n; i++) {
			const uint8_t *a = pst_pool_name_to_addr(st->pool, v->names[i]);
			uint32_t n = pst_name_length(v->names[i]);

			if (a == NULL && n > 0)
				return -1;
			for (uint32_t j = 0; j < n; j++, total++) {
				fnv = (fnv ^ a[j]) * 0x100000001b3ull;
				if (total < sizeof(head))
					head[total] = a[j];
			}
		}
		if (total != v->len)
			return -1;
		m[k] = (struct kmap){ 1, value_id(head, total < sizeof(head) ? total :
						  (uint32_t)sizeof(head)), total, fnv,
				      v->deadline_ms };
	}
	return 0;
}

/* Take every free buffer, overwrite it, give it back. */
static uint64_t
scribble_free(struct pst_pool *p, uint32_t buf_size)
{
	struct pst_pool_stats s;
	uint32_t *taken, n = 0, idx;

	pst_pool_stats(p, &s);
	taken = malloc((s.free + 1) * sizeof(*taken));
	if (taken == NULL)
		return 0;
	while (n < s.free && pst_pool_take(p, &idx) == 0) {
		memset(pst_pool_buf_addr(p, idx), 0xa5, buf_size);
		taken[n++] = idx;
	}
	for (uint32_t i = 0; i < n; i++)
		pst_pool_release(p, taken[i]);
	free(taken);
	return n;
}

static struct pst_pool *
open_image(const char *path, const struct kv_index_ops *ops, struct kv_store *st,
	   const char **why, int *err)
{
	/* A test image: the flush mode anywhere, no durability claimed. */
	struct pst_pool_config cfg = { .path = path, .persist_mode = PST_PERSIST_FLUSH,
				       .persist_unsafe = 1 };
	struct pst_pool *p = pst_pool_open(&cfg);

	if (p == NULL) {
		*why = "the pool does not open";
		*err = pst_errno;
		return NULL;
	}
	*err = kv_store_open(st, p, ops, 0);
	if (*err != 0) {
		*why = "the store does not recover";
		pst_pool_close(p);
		return NULL;
	}
	*err = pst_pool_verify(p);
	if (*err != 0) {
		*why = "the pool does not verify after recovery";
		kv_store_close(st);
		pst_pool_close(p);
		return NULL;
	}
	return p;
}

int
trace_recover_image(const char *path, const struct kv_index_ops *ops, uint32_t keys,
		    FILE *out, struct trace_recover_counts *c)
{
	static struct kmap m1[TRACE_RECOVER_KEYS_MAX], m2[TRACE_RECOVER_KEYS_MAX];
	const char *why = NULL;
	struct pst_pool_info info;
	struct kv_store st;
	struct pst_pool *p;
	uint64_t fallbacks;
	int err = 0;

	p = open_image(path, ops, &st, &why, &err);
	if (p == NULL)
		goto fail;
	fallbacks = st.report.fallbacks;
	c->fallbacks += fallbacks;
	c->cut_values += st.torn_values;
	pst_pool_info(p, &info);
	if (read_map(&st, keys, m1) != 0)
		why = "a value's names do not add up to its length";
	c->scribbled += scribble_free(p, info.buf_size);
	if (why == NULL && (read_map(&st, keys, m2) != 0 || memcmp(m1, m2, sizeof(*m1) * keys)))
		why = "a value changed when the free buffers were overwritten";
	kv_store_close(&st);
	pst_pool_close(p);
	if (why != NULL)
		goto fail;
	p = open_image(path, ops, &st, &why, &err);
	if (p == NULL)
		goto fail;
	if (st.report.fallbacks != 0)
		why = "the second recovery fell back again";
	else if (read_map(&st, keys, m2) != 0 || memcmp(m1, m2, sizeof(*m1) * keys) != 0)
		why = "the second recovery found another state";
	kv_store_close(&st);
	pst_pool_close(p);
	if (why != NULL)
		goto fail;
	fprintf(out, " fallbacks %" PRIu64 " keys:", fallbacks);
	for (uint32_t k = 0; k < keys; k++) {
		if (!m1[k].present)
			continue;
		c->keys++;
		fprintf(out, " %u:%" PRId64 ":%u:%" PRIu64 ":%" PRIu64, k, m1[k].id, m1[k].len,
			m1[k].fnv, m1[k].deadline_ms);
	}
	fputc('\n', out);
	return 0;
fail:
	fprintf(out, " FAIL %s (%s: %s)\n", why, pst_strerror(err), pst_errormsg());
	c->failures++;
	return -1;
}
