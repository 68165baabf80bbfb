/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PST_SYS_ARCH_STATS_H
#define PST_SYS_ARCH_STATS_H

#include <stdint.h>

/* Number of lwIP assertions that failed in this process. */
uint64_t pst_lwip_assert_count(void);

#endif /* PST_SYS_ARCH_STATS_H */
