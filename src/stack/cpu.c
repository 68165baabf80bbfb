/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_cycles.h>
#include <rte_pause.h>

#include "cpu.h"

uint64_t
pst_cycles(void)
{
	return rte_get_tsc_cycles();
}

uint64_t
pst_cycles_hz(void)
{
	return rte_get_tsc_hz();
}

void
pst_cpu_pause(void)
{
	rte_pause();
}
