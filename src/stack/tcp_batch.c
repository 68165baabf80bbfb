/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Output batching over a receive burst: lwIP's tcp_in.c calls
 * pst_tcp_input_output() instead of tcp_output() (tcp_input_hook.h); while
 * a burst is being fed to lwIP that only notes a send is due, and the sends
 * happen once per connection at the end of the burst.
 */
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "tcp_batch.h"

static int batching;
static int deferred; /* a send waits for the end of the burst */

signed char pst_tcp_input_output(struct tcp_pcb *pcb);

signed char
pst_tcp_input_output(struct tcp_pcb *pcb)
{
	/* A SYN-ACK, or an ACK in TIME_WAIT (that PCB is on another list
	 * than the one swept below), leaves at once. So do the duplicate
	 * ACKs of a connection with a hole in its sequence space: the peer
	 * retransmits fast only after three of them, and one per burst would
	 * leave it waiting for its retransmission timer. */
	if (!batching || pcb->state == SYN_RCVD || pcb->state == TIME_WAIT ||
	    pcb->ooseq != NULL)
		return tcp_output(pcb);
	deferred = 1;
	return ERR_OK;
}

void
pst_tcp_batch_begin(void)
{
	batching = 1;
}

void
pst_tcp_batch_end(void)
{
	struct tcp_pcb *pcb, *next;

	batching = 0;
	if (!deferred)
		return;
	deferred = 0;
	/* The PCBs that deferred a send are on the active list unless they
	 * were freed meanwhile: walking the list never touches a freed one. */
	for (pcb = tcp_active_pcbs; pcb != NULL; pcb = next) {
		next = pcb->next;
		if (pcb->unsent != NULL || (pcb->flags & TF_ACK_NOW))
			tcp_output(pcb);
	}
}
