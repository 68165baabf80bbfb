/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A new connection on a port whose last connection paste closed first.
 *
 * The side that closes first keeps the connection's four-tuple in
 * TIME_WAIT for two maximum segment lifetimes: lwIP's TCP_MSL makes that
 * two minutes. A server closes first often (QUIT, a refused connection, an
 * error, HTTP's Connection: close, a timeout), and its client kept no
 * TIME_WAIT of its own, so a Linux client may pick the same source port
 * for its next connection to the same server at once. lwIP 2.1.3 answers
 * such a SYN from the old connection's TIME_WAIT: with a reset while its
 * sequence number lies inside the old receive window (the client sees
 * "connection refused"), with an ACK past it (the client's connect times
 * out, retrying, until the two minutes are over).
 *
 * RFC 1122 4.2.2.13 lets a SYN reopen a connection in TIME_WAIT when its
 * sequence number is larger than the old connection's last, and RFC 6191
 * when its timestamp is newer than the last one seen; Linux does both. Here the TIME_WAIT PCB is freed and that SYN dropped: the
 * client's SYN retransmission, a second later, finds the listener. (Handing
 * the same SYN on to the listener at once would mean re-entering lwIP's
 * input for a segment tcp_input() has half consumed.) Any other segment,
 * and a SYN that does not qualify, gets lwIP's own TIME_WAIT processing.
 */
#include <stdint.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "tcp_input_hook.h"

#define TCP_HEADER_LEN 20
#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_TS 8
#define OPT_TS_LEN 10

/* The timestamp value of a SYN's options (contiguous, @optlen bytes):
 * 1 and *@tsval, or 0 when it carries none. */
static int
syn_tsval(const uint8_t *opt, uint16_t optlen, uint32_t *tsval)
{
	uint16_t i = 0;

	while (i < optlen) {
		uint8_t kind = opt[i];

		if (kind == OPT_EOL)
			return 0;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= optlen || opt[i + 1] < 2 || i + opt[i + 1] > optlen)
			return 0;
		if (kind == OPT_TS && opt[i + 1] == OPT_TS_LEN) {
			*tsval = (uint32_t)opt[i + 2] << 24 | (uint32_t)opt[i + 3] << 16 |
				 (uint32_t)opt[i + 4] << 8 | opt[i + 5];
			return 1;
		}
		i += opt[i + 1];
	}
	return 0;
}

int
pst_tcp_timewait_syn(struct tcp_pcb *pcb, const void *hdr, uint16_t optlen,
		     uint16_t opt1len, uint32_t seqno, uint8_t flags)
{
	uint32_t tsval;
	int newer;

	if ((flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) != TCP_SYN)
		return 0;
	/* A larger sequence number (RFC 1122) or a newer timestamp (RFC
	 * 6191), as Linux takes them: the timestamp of a SYN on the heels of
	 * the old connection's last segment may be the same millisecond's,
	 * and one older than the last seen by more than one tick is PAWS's
	 * old duplicate, never a new connection. Options split over two
	 * pbufs are left to the sequence number. */
	newer = TCP_SEQ_GT(seqno, pcb->rcv_nxt);
	if ((pcb->flags & TF_TIMESTAMP) && opt1len == optlen &&
	    syn_tsval((const uint8_t *)hdr + TCP_HEADER_LEN, optlen, &tsval)) {
		if ((int32_t)(pcb->ts_recent - tsval) > 1)
			return 0;
		newer = newer || TCP_SEQ_GT(tsval, pcb->ts_recent);
	}
	if (!newer)
		return 0;
	tcp_pcb_remove(&tcp_tw_pcbs, pcb);
	tcp_free(pcb);
	return 1;
}
