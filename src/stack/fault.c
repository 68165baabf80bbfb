/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "fault.h"

static int
probability_ok(double p)
{
	return p >= 0.0 && p <= 1.0; /* also false for NaN */
}

int
pst_fault_init(struct pst_fault *f, const struct pst_fault_config *cfg)
{
	const double *p;
	size_t i, n;

	memset(f, 0, sizeof(*f));
	if (cfg == NULL)
		return 0;
	p = &cfg->rx_drop;
	n = (sizeof(*cfg) - offsetof(struct pst_fault_config, rx_drop)) / sizeof(double);
	for (i = 0; i < n; i++) {
		if (!probability_ok(p[i]))
			return pst_fail(EINVAL, "fault probability #%zu (%g) is not in [0, 1]",
					i, p[i]);
		if (p[i] > 0.0)
			f->enabled = 1;
	}
	f->cfg = *cfg;
	/* xorshift64* must not start at zero. */
	f->state = cfg->seed ? cfg->seed : 0x9e3779b97f4a7c15ull;
	return 0;
}

static uint64_t
next(struct pst_fault *f)
{
	f->state ^= f->state >> 12;
	f->state ^= f->state << 25;
	f->state ^= f->state >> 27;
	return f->state * 0x2545f4914f6cdd1dull;
}

int
pst_fault_roll(struct pst_fault *f, double p)
{
	if (p <= 0.0)
		return 0;
	/* 53 random bits as a double in [0, 1). */
	return (double)(next(f) >> 11) * (1.0 / 9007199254740992.0) < p;
}

uint32_t
pst_fault_pick(struct pst_fault *f, uint32_t n)
{
	return n == 0 ? 0 : (uint32_t)(next(f) % n);
}
