/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For fuzz_frames.c: abort every TCP connection lwIP has, including those
 * the application never saw (handshake not complete, TIME_WAIT). Apart
 * because lwIP's and DPDK's headers define the same IP macros.
 */
#include "lwip/priv/tcp_priv.h"

#include "fuzz_lwip_reset.h"

void
fz_lwip_abort_all(void)
{
	/* tcp_abort() unlinks the pcb (calling its error callback first). */
	while (tcp_active_pcbs != NULL)
		tcp_abort(tcp_active_pcbs);
	while (tcp_tw_pcbs != NULL)
		tcp_abort(tcp_tw_pcbs);
}
