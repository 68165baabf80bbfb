/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seeded fault injection for the driver: which frames to drop, duplicate,
 * reorder or corrupt. Pure decisions, no packet code, so one seed gives the
 * same decisions on every run.
 */
#ifndef PST_FAULT_H
#define PST_FAULT_H

#include <stdint.h>

#include "paste_stack.h"

struct pst_fault {
	struct pst_fault_config cfg;
	uint64_t state;
	int enabled;
};

/* Validate @cfg (probabilities in [0, 1]) and seed the generator.
 * Returns 0 or -EINVAL. */
int pst_fault_init(struct pst_fault *f, const struct pst_fault_config *cfg);

/* 1 with probability @p, else 0. Never 1 when @p is 0. */
int pst_fault_roll(struct pst_fault *f, double p);

/* A uniformly chosen value in [0, n). */
uint32_t pst_fault_pick(struct pst_fault *f, uint32_t n);

#endif /* PST_FAULT_H */
