/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Output batching over a receive burst: lwIP's tcp_in.c calls
 * pst_tcp_input_output() instead of tcp_output() (tcp_input_hook.h); while
 * a burst is being fed to lwIP that only notes a send is due, and the sends
 * happen once per connection at the end of the burst. The hook finds the
 * batch of the stack whose netif received the segment.
 */
#include "lwip/ip.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "stack_internal.h"
#include "tcp_batch.h"

signed char pst_tcp_input_output(struct tcp_pcb *pcb);

signed char
pst_tcp_input_output(struct tcp_pcb *pcb)
{
	struct netif *nif = ip_current_input_netif();
	struct pst_tcp_batch *b;

	/* lwIP 2.1.3 starts the persist timer when unsent data meets a closed
	 * window, and stops it only when tcp_output() sends. A peer that
	 * acknowledges the zero-window probe's byte without opening its window
	 * acknowledges a 1-byte segment whole: lwIP frees it, leaving the timer
	 * ticking with nothing to send. It asserted "persist ticking with empty
	 * send buffer" and counted probes until it dropped a healthy
	 * connection. Found by the frames fuzz target. Called after each
	 * segment lwIP processed for @pcb: nothing unsent, no persist. */
	if (pcb->persist_backoff > 0 && pcb->unsent == NULL)
		pcb->persist_backoff = 0;
	if (nif == NULL)
		return tcp_output(pcb);
	b = &pst_stack_of_netif(nif)->batch;
	/* A SYN-ACK, or an ACK in TIME_WAIT (that PCB is on another list
	 * than the one swept below), leaves at once. So do the duplicate
	 * ACKs of a connection with a hole in its sequence space: the peer
	 * retransmits fast only after three of them, and one per burst would
	 * leave it waiting for its retransmission timer. */
	if (!b->batching || pcb->state == SYN_RCVD || pcb->state == TIME_WAIT ||
	    pcb->ooseq != NULL)
		return tcp_output(pcb);
	b->deferred = 1;
	return ERR_OK;
}

void
pst_tcp_batch_begin(struct pst_tcp_batch *b)
{
	b->batching = 1;
}

void
pst_tcp_batch_end(struct pst_tcp_batch *b)
{
	struct tcp_pcb *pcb, *next;

	b->batching = 0;
	if (!b->deferred)
		return;
	b->deferred = 0;
	/* The PCBs that deferred a send are on the active list unless they
	 * were freed meanwhile: walking the list never touches a freed one. */
	for (pcb = tcp_active_pcbs; pcb != NULL; pcb = next) {
		next = pcb->next;
		if (pcb->unsent != NULL || (pcb->flags & TF_ACK_NOW))
			tcp_output(pcb);
	}
}
