/* SPDX-License-Identifier: BSD-3-Clause */
/* Appending bytes sent by name to a connection's unsent queue (tcp_zc.c). */
#ifndef PST_TCP_ZC_H
#define PST_TCP_ZC_H

#include <sys/uio.h>

#include "lwip/tcp.h"

/*
 * Queue @len bytes at @data on @pcb by reference, as tcp_write(pcb, data,
 * len, 0) does (the bytes must stay until acknowledged), building the same
 * segments: the tail of the last unsent segment first, then new segments
 * of a header pbuf and a reference pbuf each, the last one pushed. Unlike
 * tcp_write it never copies part of the bytes into the spare room of a
 * copied pbuf (that room is given up), and it does without tcp_write's
 * per-call generality (copy mode, SYN states, checksum on copy).
 * The caller has checked that the connection is established.
 * Returns ERR_OK, ERR_CONN (not in a state that sends data) or ERR_MEM
 * (no room in the send buffer or queue, or no memory: nothing queued).
 */
err_t pst_tcp_append_ref(struct tcp_pcb *pcb, const void *data, u16_t len);

/*
 * pst_tcp_append_ref() as one of a run of appends to @pcb between which
 * nothing else touches its unsent queue (no output, input or timer):
 * @last is the queue's last segment as the run's previous append left it,
 * NULL at the run's start (the queue is then walked, once), and is set to
 * the new last segment on ERR_OK. A value sent as many names then costs
 * one walk of the queue, not one per name (the queue holds up to
 * TCP_SND_QUEUELEN pbufs). Same returns as pst_tcp_append_ref(); on an
 * error @last is unchanged.
 */
err_t pst_tcp_append_ref_run(struct tcp_pcb *pcb, const void *data, u16_t len,
			     struct tcp_seg **last);

/*
 * Queue a copy of @n pieces (@len bytes in all: their lengths's sum, which
 * the caller checked), on @pcb, as
 * tcp_write(pcb, data, len, TCP_WRITE_FLAG_COPY) does for their bytes
 * written at once, building the same segments: the spare room of the last
 * copied pbuf first, then a copied pbuf chained onto the last unsent
 * segment, then new segments of one pbuf each (headers, then data, with
 * room to the MSS left for the next copy: unsent_oversize). Its pbufs
 * come from a free list per thread instead of lwIP's heap.
 * Returns ERR_OK, ERR_CONN (not in a state that sends data), ERR_VAL (an
 * MSS over TCP_MSS: use tcp_write) or ERR_MEM (no room in the send buffer
 * or queue, or no memory: nothing queued).
 */
err_t pst_tcp_append_copy(struct tcp_pcb *pcb, const struct iovec *pieces,
			  unsigned int n, u16_t len);

#endif /* PST_TCP_ZC_H */
