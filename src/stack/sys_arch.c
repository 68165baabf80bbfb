/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Time, randomness and diagnostics for lwIP. Time comes from the TSC once
 * DPDK's EAL has measured its frequency, from CLOCK_MONOTONIC before that
 * (lwIP may be initialised before the EAL in unit tests).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_random.h>

#include "lwip/sys.h"
#include "sys_arch_stats.h"

static atomic_uint_fast64_t lwip_asserts;
static uint32_t (*clock_override)(void);

void
pst_lwip_set_clock(uint32_t (*now)(void))
{
	clock_override = now;
}

int
pst_lwip_clock_replaced(void)
{
	return clock_override != NULL;
}

uint32_t
sys_now(void)
{
	/* Called by every poll: the cycles per millisecond are worked out
	 * once, not at every call. */
	static uint64_t cycles_per_ms;
	struct timespec ts;

	if (clock_override != NULL)
		return clock_override();
	if (cycles_per_ms == 0)
		cycles_per_ms = rte_get_tsc_hz() / 1000;
	if (cycles_per_ms != 0)
		return (uint32_t)(rte_get_tsc_cycles() / cycles_per_ms);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

uint32_t
pst_lwip_rand(void)
{
	return (uint32_t)rte_rand();
}

void
pst_lwip_assert(const char *msg, const char *file, int line)
{
	/* Report the first few in full; after that only count. */
	if (atomic_fetch_add(&lwip_asserts, 1) < 16)
		fprintf(stderr, "paste: lwIP assertion \"%s\" failed at %s:%d\n",
			msg, file, line);
}

uint64_t
pst_lwip_assert_count(void)
{
	return atomic_load(&lwip_asserts);
}
