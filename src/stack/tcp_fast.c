/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Header prediction: the next in-sequence data segment of an established
 * connection, taken before lwIP's tcp_process() (tcp_input_hook.h).
 *
 * Nearly every segment of a pipelined client is one: ACK (and perhaps
 * PSH), its sequence number the one expected, no new acknowledgement, no
 * options left after the timestamps (tcp_options.c took those), nothing
 * queued out of order, no refused data. For it lwIP's tcp_process() and
 * tcp_receive() walk the RST, SYN, window, duplicate-ACK, RTT, trimming,
 * out-of-order and SACK cases, and tcp_input() splits the data at 64 KiB
 * and checks a delayed close, about 330 instructions a segment that end in
 * a handful of assignments. Here those assignments are made as lwIP makes
 * them, in lwIP's order, and the application's receive callback gets the
 * segment as from tcp_input(). Every segment that is not exactly that case,
 * or on a PCB in any unusual state, is left to lwIP untouched: the test
 * below is all or nothing, and nothing is written before it has passed.
 * tests/unit/test_tcp_fast.c runs lwIP's path and this one over the same
 * segments and compares the PCBs they leave.
 */
#include <stdint.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "tcp_input_hook.h"

int pst_tcp_fast_on = 1;

int
pst_tcp_fast_ok(const struct tcp_pcb *pcb, uint32_t seqno, uint32_t ackno,
		uint32_t tcplen, uint8_t flags)
{
	/* The state first: a listener's PCB is shorter. */
	if (pcb->state != ESTABLISHED || !pst_tcp_fast_on)
		return 0;
	/* ACK, perhaps PSH; no SYN, FIN, RST or URG. (tcplen then is the
	 * data's length: tcp_input() counts SYN and FIN into it.) */
	if ((flags & (TCP_FIN | TCP_SYN | TCP_RST | TCP_URG | TCP_ACK)) != TCP_ACK)
		return 0;
	/* In sequence, inside the window, acknowledging nothing new (a
	 * segment acknowledging our data takes lwIP's way: segments to free,
	 * congestion window, sent callback). */
	if (seqno != pcb->rcv_nxt || tcplen == 0 || tcplen > pcb->rcv_wnd ||
	    ackno != pcb->lastack)
		return 0;
	/* Nothing out of order, refused or to SACK; the application reads;
	 * no RTT sample this ACK would end. */
	if (pcb->ooseq != NULL || pcb->refused_data != NULL || pcb->recv == NULL ||
	    (pcb->flags & TF_RXCLOSED) || LWIP_TCP_SACK_VALID(pcb, 0) ||
	    (pcb->rttest && TCP_SEQ_LT(pcb->rtseq, ackno)))
		return 0;
	return 1;
}

err_t
pst_tcp_fast_input(struct tcp_pcb *pcb, const struct tcp_hdr *hdr, struct pbuf *p,
		   uint32_t seqno, uint32_t ackno, uint32_t tcplen, uint8_t flags)
{
	err_t err;

	if (flags & TCP_PSH)
		p->flags |= PBUF_FLAG_PUSH;
	/* tcp_process(), ESTABLISHED, past its RST and SYN checks and the
	 * option parser (nothing left to parse). */
	pcb->tmr = tcp_ticks;
	pcb->keep_cnt_sent = 0;
	pcb->persist_probe = 0;
	/* tcp_receive(): the send window, RFC 793's update rule as lwIP
	 * writes it. */
	if (TCP_SEQ_LT(pcb->snd_wl1, seqno) ||
	    (pcb->snd_wl1 == seqno && TCP_SEQ_LT(pcb->snd_wl2, ackno)) ||
	    (pcb->snd_wl2 == ackno && (u32_t)SND_WND_SCALE(pcb, hdr->wnd) > pcb->snd_wnd)) {
		pcb->snd_wnd = SND_WND_SCALE(pcb, hdr->wnd);
		if (pcb->snd_wnd_max < pcb->snd_wnd)
			pcb->snd_wnd_max = pcb->snd_wnd;
		pcb->snd_wl1 = seqno;
		pcb->snd_wl2 = ackno;
	}
	/* An old ACK with data: not a duplicate ACK. */
	pcb->dupacks = 0;
	/* The data, next in sequence and inside the window. */
	pcb->rcv_nxt = seqno + tcplen;
	pcb->rcv_wnd -= (tcpwnd_size_t)tcplen;
	tcp_update_rcv_ann_wnd(pcb);
	tcp_ack(pcb);
	/* tcp_input(): the data to the application, with the PCB marked as
	 * the one in input (a tcp_output() inside the callback waits, a close
	 * with unread data is deferred to tcp_input_delayed_close()). The
	 * caller frees one reference to @p after this, as lwIP frees its own
	 * (tcp_input_hook.h): the application gets one of its own. */
	pbuf_ref(p);
	tcp_input_pcb = pcb;
	err = pcb->recv(pcb->callback_arg, pcb, p, ERR_OK);
	tcp_input_pcb = NULL;
	if (err == ERR_ABRT)
		return ERR_ABRT;
	if (err != ERR_OK)
		pcb->refused_data = p;
	return ERR_OK;
}
