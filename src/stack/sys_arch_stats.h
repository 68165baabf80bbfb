/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PST_SYS_ARCH_STATS_H
#define PST_SYS_ARCH_STATS_H

#include <stdint.h>

/* Number of lwIP assertions that failed in this process. */
uint64_t pst_lwip_assert_count(void);

/* Replace lwIP's clock (sys_now) with @now, NULL: the TSC again. For fuzz
 * targets, whose inputs drive time so that every run repeats; call it
 * before pst_stack_create(). */
void pst_lwip_set_clock(uint32_t (*now)(void));

/* Whether pst_lwip_set_clock() replaced the clock: a stack created after
 * that checks lwIP's timers at every poll, not once per TSC millisecond,
 * so that they follow the replaced clock alone. */
int pst_lwip_clock_replaced(void);

#endif /* PST_SYS_ARCH_STATS_H */
