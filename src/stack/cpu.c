/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_cycles.h>
#include <rte_pause.h>

#include "cpu.h"

uint64_t
pst_cycles(void)
{
	return rte_get_tsc_cycles();
}

void
pst_cpu_pause(void)
{
	rte_pause();
}
