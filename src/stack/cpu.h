/* SPDX-License-Identifier: BSD-3-Clause */
/* The CPU's cycle counter and pause, from DPDK, for the poll loop (cpu.c). */
#ifndef PST_CPU_H
#define PST_CPU_H

#include <stdint.h>

/* TSC cycles. */
uint64_t pst_cycles(void);

/* TSC cycles per second. */
uint64_t pst_cycles_hz(void);

/* A short pause for idle polls (rte_pause). */
void pst_cpu_pause(void);

#endif /* PST_CPU_H */
