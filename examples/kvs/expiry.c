/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-kvs: SET EX/PX deadlines, a chained hash table by key. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expiry.h"
#include "paste.h"

#define BUCKETS (sizeof(((struct kv_expiry *)0)->b) / sizeof(((struct kv_expiry *)0)->b[0]))

struct kv_expiry_node {
	struct kv_expiry_node *next;
	uint64_t deadline_ms;
	uint16_t len;
	char key[];
};

struct kv_expiry *
kv_expiry_open(void)
{
	return calloc(1, sizeof(struct kv_expiry));
}

void
kv_expiry_close(struct kv_expiry *e)
{
	if (e == NULL)
		return;
	kv_expiry_clear_all(e);
	free(e);
}

uint64_t
kv_expiry_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct kv_expiry_node **
slot(struct kv_expiry *e, const char *key, uint16_t len)
{
	struct kv_expiry_node **p = &e->b[pst_crc32c(key, len) % BUCKETS];

	while (*p != NULL && ((*p)->len != len || memcmp((*p)->key, key, len) != 0))
		p = &(*p)->next;
	return p;
}

uint64_t
kv_expiry_get(struct kv_expiry *e, const char *key, uint16_t len)
{
	struct kv_expiry_node *n = *slot(e, key, len);

	return n != NULL ? n->deadline_ms : 0;
}

void
kv_expiry_set(struct kv_expiry *e, const char *key, uint16_t len, uint64_t deadline_ms)
{
	struct kv_expiry_node **p = slot(e, key, len), *n = *p;

	if (n == NULL) {
		n = malloc(sizeof(*n) + len);
		if (n == NULL)
			return;
		n->next = NULL;
		n->len = len;
		memcpy(n->key, key, len);
		*p = n;
		e->n++;
	}
	n->deadline_ms = deadline_ms;
}

void
kv_expiry_clear(struct kv_expiry *e, const char *key, uint16_t len)
{
	struct kv_expiry_node **p = slot(e, key, len), *n = *p;

	if (n != NULL) {
		*p = n->next;
		free(n);
		e->n--;
	}
}

void
kv_expiry_clear_all(struct kv_expiry *e)
{
	size_t i;

	for (i = 0; i < BUCKETS; i++)
		while (e->b[i] != NULL) {
			struct kv_expiry_node *n = e->b[i];

			e->b[i] = n->next;
			free(n);
		}
	e->n = 0;
}
