/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The order of flushes, drains and TX bursts, recorded through the pool's
 * persist hook and the driver's TX hook, for tests asserting that nothing
 * leaves before the drain covering the poll's flushes. Header-only: each
 * test program is one file.
 */
#ifndef PST_TEST_TX_ORDER_H
#define PST_TEST_TX_ORDER_H

#include <stddef.h>

struct order {
	char ev[1 << 16]; /* 'F' flush, 'D' drain, 'T' TX burst */
	unsigned int n;
};

static void
ord_flush(void *ctx, const void *addr, size_t len)
{
	struct order *o = ctx;

	(void)addr;
	(void)len;
	if (o->n < sizeof(o->ev))
		o->ev[o->n++] = 'F';
}

static void
ord_drain(void *ctx)
{
	struct order *o = ctx;

	if (o->n < sizeof(o->ev))
		o->ev[o->n++] = 'D';
}

static void
ord_tx(void *ctx, unsigned int n)
{
	struct order *o = ctx;

	(void)n;
	if (o->n < sizeof(o->ev))
		o->ev[o->n++] = 'T';
}

/* Count flushes and TX bursts, and the bursts that came while a flush was
 * not yet drained (violations). */
static void
ord_count(const struct order *o, unsigned int *flushes, unsigned int *tx,
	  unsigned int *violations)
{
	unsigned int i, dirty = 0;

	*flushes = *tx = *violations = 0;
	for (i = 0; i < o->n; i++) {
		if (o->ev[i] == 'F') {
			(*flushes)++;
			dirty = 1;
		} else if (o->ev[i] == 'D') {
			dirty = 0;
		} else {
			(*tx)++;
			*violations += dirty;
		}
	}
}

#endif /* PST_TEST_TX_ORDER_H */
