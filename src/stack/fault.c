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

/* Every probability of @cfg in [0, 1]: 0 and *any set when one is
 * non-zero, or -EINVAL naming the first that is not. */
static int
check_probabilities(const struct pst_fault_config *cfg, int *any)
{
	const struct {
		const char *name;
		double p;
	} probs[] = {
		{ "rx_drop", cfg->rx_drop },
		{ "rx_dup", cfg->rx_dup },
		{ "rx_reorder", cfg->rx_reorder },
		{ "rx_corrupt", cfg->rx_corrupt },
		{ "tx_drop", cfg->tx_drop },
		{ "tx_dup", cfg->tx_dup },
		{ "tx_reorder", cfg->tx_reorder },
		{ "tx_corrupt", cfg->tx_corrupt },
	};
	size_t i;

	*any = 0;
	for (i = 0; i < sizeof(probs) / sizeof(probs[0]); i++) {
		if (!probability_ok(probs[i].p))
			return pst_fail(EINVAL, "fault probability %s (%g) is not in [0, 1]",
					probs[i].name, probs[i].p);
		if (probs[i].p > 0.0)
			*any = 1;
	}
	return 0;
}

int
pst_fault_init(struct pst_fault *f, const struct pst_fault_config *cfg)
{
	int ret;

	memset(f, 0, sizeof(*f));
	if (cfg == NULL)
		return 0;
	ret = check_probabilities(cfg, &f->enabled);
	if (ret != 0)
		return ret;
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
