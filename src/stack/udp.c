/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste_udp.h over lwIP's raw UDP API. A received datagram's pbuf is
 * handed to the application as segments in place, like a TCP segment; a
 * datagram's kept buffers are charged to its socket until released
 * through it, which is what bounds what a flood can take from the pool.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/ip4.h"
#include "lwip/pbuf.h"
#include "lwip/prot/udp.h"
#include "lwip/stats.h"
#include "lwip/udp.h"

#include "error.h"
#include "lwip_errno.h"
#include "paste_udp.h"
#include "pool_stack.h"
#include "stack_internal.h"

/* Segments of one datagram: one per pbuf of the chain. Without IP
 * reassembly a datagram is one frame, hence one or two pbufs. */
#define UDP_SEGS_MAX 8

struct pst_udp_sock {
	struct pst_stack *stack;
	struct udp_pcb *pcb;
	pst_udp_recv_fn recv;
	void *arg;
	int in_recv;  /* inside the receive callback: segments may be kept */
	int gone;     /* closed inside the callback: freed when it returns */
	struct pst_udp_stats stats;
};

/* Drop a datagram whose UDP length field lies: beyond the IP payload it
 * is malformed; short of it, the rest is padding to cut off (RFC 768). */
static int
check_length(struct pbuf *p)
{
	const struct udp_hdr *h = (const void *)((const char *)p->payload - UDP_HLEN);
	uint32_t ulen = lwip_ntohs(h->len);

	if (ulen < UDP_HLEN || ulen - UDP_HLEN > p->tot_len)
		return -1;
	if (ulen - UDP_HLEN < p->tot_len)
		pbuf_realloc(p, (u16_t)(ulen - UDP_HLEN));
	return 0;
}

static void
on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
	u16_t port)
{
	struct pst_udp_sock *s = arg;
	struct pst_pool *pool = s->stack->pool;
	struct pst_segment segs[UDP_SEGS_MAX];
	struct pbuf *q;
	unsigned int n = 0;

	(void)pcb;
	if (check_length(p) != 0) {
		s->stats.rx_dropped_bad_len++;
		goto done;
	}
	if (s->recv == NULL) {
		s->stats.rx_dropped_nocb++;
		goto done;
	}
	for (q = p; q != NULL; q = q->next) {
		if (q->len == 0)
			continue;
		if (n == UDP_SEGS_MAX) {
			s->stats.rx_dropped_bad_len++;
			goto done;
		}
		segs[n].data = q->payload;
		segs[n].len = q->len;
		segs[n].priv = q;
		segs[n].name = pst_pool_addr_to_name(pool, q->payload, q->len);
		n++;
	}
	if (n == 0) { /* an empty datagram is still one (empty) segment */
		segs[0] = (struct pst_segment){ p->payload, 0,
			pst_pool_addr_to_name(pool, p->payload, 0), p };
		n = 1;
	}
	/* Charged only when kept, but a datagram that could not be kept in
	 * full is not offered: the budget is a promise about the next keep. */
	if (s->stats.rcv_held + n > s->stats.rcv_budget) {
		s->stats.rx_dropped_budget++;
		goto done;
	}
	s->stats.rx_datagrams++;
	s->stats.rx_bytes += p->tot_len;
	s->in_recv = 1;
	s->recv(s->arg, s, lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(addr))), port,
		segs, n);
	s->in_recv = 0;
done:
	/* Buffers the application kept stay; the others return to the pool. */
	pbuf_free(p);
	if (s->gone)
		free(s);
}

struct pst_udp_sock *
pst_udp_bind(struct pst_stack *stack, uint16_t port, pst_udp_recv_fn recv,
	     void *arg)
{
	struct pst_udp_sock *s;
	err_t err;

	if (stack == NULL) {
		pst_fail(EINVAL, "udp bind: NULL stack");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		pst_fail(ENOMEM, "udp bind: out of memory");
		return NULL;
	}
	s->pcb = udp_new();
	if (s->pcb == NULL) {
		pst_fail(ENOMEM, "udp bind: no free UDP PCB (MEMP_NUM_UDP_PCB)");
		goto fail;
	}
	err = udp_bind(s->pcb, IP4_ADDR_ANY, port);
	if (err != ERR_OK) {
		pst_fail(-pst_lwip_errno(err), "udp bind: port %u: %s", port,
			 pst_strerror(pst_lwip_errno(err)));
		goto fail;
	}
	s->stack = stack;
	s->recv = recv;
	s->arg = arg;
	s->stats.rcv_budget = PST_UDP_RCVBUF_DEFAULT;
	udp_recv(s->pcb, on_recv, s);
	return s;
fail:
	if (s->pcb != NULL)
		udp_remove(s->pcb);
	free(s);
	return NULL;
}

int
pst_udp_connect(struct pst_udp_sock *s, uint32_t ipv4, uint16_t port)
{
	ip_addr_t addr;

	if (s == NULL || s->gone || ipv4 == 0 || port == 0)
		return pst_fail(EINVAL, "udp connect: NULL socket, address or port");
	ip_addr_set_ip4_u32(&addr, lwip_htonl(ipv4));
	/* lwIP's udp_connect only records the peer (and binds if unbound,
	 * which a bound socket is): it cannot fail here. */
	udp_connect(s->pcb, &addr, port);
	return 0;
}

int
pst_udp_disconnect(struct pst_udp_sock *s)
{
	if (s == NULL || s->gone)
		return pst_fail(EINVAL, "udp disconnect: NULL socket");
	udp_disconnect(s->pcb);
	return 0;
}

int
pst_udp_set_rcvbuf(struct pst_udp_sock *s, uint32_t bufs)
{
	if (s == NULL || bufs == 0)
		return pst_fail(EINVAL, "udp rcvbuf: NULL socket or zero budget");
	s->stats.rcv_budget = bufs;
	return 0;
}

int
pst_udp_keep(struct pst_udp_sock *s, const struct pst_segment *seg, pst_name *name)
{
	int ret;

	if (s == NULL || seg == NULL || name == NULL || !s->in_recv ||
	    seg->name == PST_NAME_INVALID)
		return pst_fail(EINVAL, "udp keep: not a named segment of the current receive callback");
	ret = pst_pool_keep(s->stack->pool, pst_name_index(seg->name));
	if (ret != 0)
		return ret;
	s->stats.rx_segments_kept++;
	s->stats.rcv_held++;
	*name = seg->name;
	return 0;
}

int
pst_udp_release(struct pst_udp_sock *s, pst_name name)
{
	int ret;

	if (s == NULL || s->stats.rcv_held == 0 ||
	    pst_pool_name_to_addr(s->stack->pool, name) == NULL)
		return pst_fail(EINVAL, "udp release: NULL socket, bad name or nothing held");
	ret = pst_pool_release(s->stack->pool, pst_name_index(name));
	if (ret != 0)
		return ret;
	s->stats.rcv_held--;
	return 0;
}

/* Send @p (payload only) as one datagram; consumes nothing (the caller
 * frees @p). Returns the payload length or a negative errno. */
static long
send_pbuf(struct pst_udp_sock *s, uint32_t ipv4, uint16_t port, struct pbuf *p)
{
	/* Before the send: lwIP may put the headers in front inside @p. */
	u16_t len = p->tot_len;
	ip_addr_t addr;
	err_t err;

	ip_addr_set_ip4_u32(&addr, lwip_htonl(ipv4));
	err = udp_sendto(s->pcb, p, &addr, port);
	if (err != ERR_OK) {
		int e = pst_lwip_errno(err);

		s->stats.tx_errors++;
		return pst_fail(-e, "udp send: %s", pst_strerror(e));
	}
	s->stats.tx_datagrams++;
	s->stats.tx_bytes += len;
	return len;
}

/* Common checks; resolves the connected peer when @p ipv4 and @p port are
 * both 0. Returns 0 or a negative errno (counted). */
static int
send_check(struct pst_udp_sock *s, uint32_t *ipv4, uint16_t *port, size_t len)
{
	/* One frame: no fragmentation (IP_FRAG 0). */
	size_t max = s->stack->netif.mtu - IP_HLEN - UDP_HLEN;

	if (*ipv4 == 0 && *port == 0) {
		if (!(s->pcb->flags & UDP_FLAGS_CONNECTED)) {
			s->stats.tx_errors++;
			return pst_fail(ENOTCONN, "udp send: socket not connected");
		}
		*ipv4 = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&s->pcb->remote_ip)));
		*port = s->pcb->remote_port;
	}
	if (*ipv4 == 0 || *port == 0) {
		s->stats.tx_errors++;
		return pst_fail(EINVAL, "udp send: address or port 0");
	}
	if (len > max) {
		s->stats.tx_errors++;
		return pst_fail(EMSGSIZE, "udp send: %zu bytes exceed one frame (%zu)",
				len, max);
	}
	return 0;
}

long
pst_udp_sendto(struct pst_udp_sock *s, uint32_t ipv4, uint16_t port,
	       const void *data, size_t len)
{
	struct pbuf *p;
	long ret;

	if (s == NULL || s->gone || (data == NULL && len > 0))
		return pst_fail(EINVAL, "udp send: NULL argument");
	ret = send_check(s, &ipv4, &port, len);
	if (ret != 0)
		return ret;
	p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (p == NULL) {
		s->stats.tx_errors++;
		return pst_fail(ENOMEM, "udp send: no stack memory");
	}
	if (len > 0)
		pbuf_take(p, data, (u16_t)len);
	ret = send_pbuf(s, ipv4, port, p);
	pbuf_free(p);
	return ret;
}

long
pst_udp_send(struct pst_udp_sock *s, const void *data, size_t len)
{
	return pst_udp_sendto(s, 0, 0, data, len);
}

long
pst_udp_sendto_name(struct pst_udp_sock *s, uint32_t ipv4, uint16_t port,
		    pst_name name)
{
	struct pbuf *p;
	void *data;
	long ret;

	if (s == NULL || s->gone)
		return pst_fail(EINVAL, "udp send_name: NULL socket");
	data = pst_pool_name_to_addr(s->stack->pool, name);
	if (data == NULL) {
		s->stats.tx_errors++;
		return pst_fail(EINVAL, "udp send_name: invalid name");
	}
	ret = send_check(s, &ipv4, &port, pst_name_length(name));
	if (ret != 0)
		return ret;
	/* A reference to the bytes in place: lwIP puts the headers in a pbuf
	 * of their own in front, and the driver attaches the kept buffer to
	 * the frame (pinning it until the NIC is done) or copies it. */
	p = pbuf_alloc(PBUF_RAW, pst_name_length(name), PBUF_REF);
	if (p == NULL) {
		s->stats.tx_errors++;
		return pst_fail(ENOMEM, "udp send_name: no stack memory");
	}
	p->payload = data;
	ret = send_pbuf(s, ipv4, port, p);
	pbuf_free(p);
	if (ret >= 0)
		s->stats.tx_bytes_zc += (uint64_t)ret;
	return ret;
}

long
pst_udp_send_name(struct pst_udp_sock *s, pst_name name)
{
	return pst_udp_sendto_name(s, 0, 0, name);
}

void
pst_udp_close(struct pst_udp_sock *s)
{
	if (s == NULL || s->gone)
		return;
	udp_remove(s->pcb);
	s->pcb = NULL;
	if (s->in_recv)
		s->gone = 1; /* on_recv still uses it: freed there */
	else
		free(s);
}

uint16_t
pst_udp_local_port(const struct pst_udp_sock *s)
{
	return s == NULL || s->pcb == NULL ? 0 : s->pcb->local_port;
}

int
pst_udp_stats(const struct pst_udp_sock *s, struct pst_udp_stats *stats)
{
	if (s == NULL || stats == NULL)
		return pst_fail(EINVAL, "udp stats: NULL argument");
	*stats = s->stats;
	return 0;
}

int
pst_udp_global_stats(const struct pst_stack *stack, struct pst_udp_global_stats *st)
{
	if (stack == NULL || st == NULL)
		return pst_fail(EINVAL, "udp stats: NULL argument");
	st->rx_datagrams = lwip_stats.udp.recv;
	st->rx_bad_checksum = lwip_stats.udp.chkerr;
	st->rx_bad_length = lwip_stats.udp.lenerr;
	st->rx_no_socket = lwip_stats.udp.proterr;
	/* With IP_REASSEMBLY 0 and IP options allowed, lwIP's only use of
	 * ip.opterr is a dropped fragment. */
	st->ip_fragments_dropped = lwip_stats.ip.opterr;
	return 0;
}
