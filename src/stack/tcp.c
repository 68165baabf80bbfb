/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste_tcp.h over lwIP's raw TCP API. Received pbufs are handed to the
 * application as segments in place; a segment whose pbuf lies in a pool
 * buffer carries that buffer's durable name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "error.h"
#include "lwip_errno.h"
#include "pool_stack.h"
#include "stack_internal.h"
#include "tcp.h"

/* What the connections of one stack share. */
struct pst_tcp {
	struct pst_pool *pool;
	/* Connections whose send failed for want of lwIP memory, not of
	 * window: no acknowledgement may be coming to wake them, so the poll
	 * offers them their sent callback again. */
	struct pst_conn *blocked;
	/* Segment array handed to receive callbacks, grown on demand. */
	struct pst_segment *segs;
	unsigned int segs_cap;
};

struct pst_listener {
	struct pst_tcp *tcp;
	struct tcp_pcb *pcb;
	pst_accept_fn accept;
	void *arg;
};

struct pst_conn {
	struct pst_tcp *tcp;
	struct tcp_pcb *pcb;
	struct pst_conn_callbacks cb;
	void *arg;
	pst_connected_fn connected;
	int established;
	int in_cb;        /* inside one of the application's callbacks */
	int in_recv;      /* ... the receive callback: segments may be kept */
	int gone;         /* closed or aborted by the application meanwhile */
	int aborted;      /* ... with tcp_abort: lwIP wants ERR_ABRT back */
	int lingering;    /* closed, waiting for zero-copy data to be acked */
	struct tcp_pcb *linger_pcb; /* closed inside a callback, may linger */
	/* Zero-copy sends not yet acknowledged, oldest first: the buffer and
	 * the stream offset where its bytes end. */
	struct zc_pending {
		uint64_t end;
		uint32_t index;
	} *zc;
	unsigned int zc_head, zc_len, zc_cap;
	/* On the list of connections blocked on lwIP memory. */
	struct pst_conn *blk_next, **blk_pprev;
	struct pst_conn_stats stats;
};

static void conn_detach(struct pst_conn *c);
static void output(struct pst_conn *c);
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static void on_err(void *arg, err_t err);

/* A closed connection with zero-copy bytes in flight stays attached to
 * its PCB (sent and err callbacks only) until they are acknowledged. */
static void
linger(struct pst_conn *c, struct tcp_pcb *pcb)
{
	c->pcb = pcb;
	c->lingering = 1;
	tcp_arg(pcb, c);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
}

/* Unpin buffers whose bytes the peer acknowledged (all of them when the
 * connection is gone: lwIP dropped its references). */
static void
zc_release(struct pst_conn *c, int all)
{
	while (c->zc_len > 0) {
		struct zc_pending *z = &c->zc[c->zc_head];

		if (!all && z->end > c->stats.bytes_acked)
			break;
		pst_pool_unpin(c->tcp->pool, z->index);
		c->zc_head = (c->zc_head + 1) % c->zc_cap;
		c->zc_len--;
	}
}

static void
unblock(struct pst_conn *c)
{
	if (c->blk_pprev == NULL)
		return;
	*c->blk_pprev = c->blk_next;
	if (c->blk_next != NULL)
		c->blk_next->blk_pprev = c->blk_pprev;
	c->blk_next = NULL;
	c->blk_pprev = NULL;
}

/* A send failed because lwIP had no segment or pbuf left (ERR_MEM), which
 * other connections' acknowledgements free: an acknowledgement of this one
 * may never come (it may have nothing in flight), so the poll wakes it. */
static void
block(struct pst_conn *c)
{
	struct pst_tcp *tcp = c->tcp;

	if (c->blk_pprev != NULL)
		return;
	c->blk_next = tcp->blocked;
	if (tcp->blocked != NULL)
		tcp->blocked->blk_pprev = &c->blk_next;
	tcp->blocked = c;
	c->blk_pprev = &tcp->blocked;
	c->stats.send_blocked++;
}

static void
conn_free(struct pst_conn *c)
{
	unblock(c);
	zc_release(c, 1);
	free(c->zc);
	free(c);
}

/* After an application callback: a connection it closed or aborted is
 * freed now; lwIP must hear ERR_ABRT if its PCB is gone. */
static err_t
callback_done(struct pst_conn *c)
{
	int aborted = c->aborted;

	c->in_cb = 0;
	if (!c->gone)
		return ERR_OK;
	if (c->linger_pcb != NULL && c->zc_len > 0 && !aborted) {
		c->gone = 0;
		linger(c, c->linger_pcb);
		c->linger_pcb = NULL;
		return ERR_OK;
	}
	conn_free(c);
	return aborted ? ERR_ABRT : ERR_OK;
}

static struct pst_conn *
conn_new(struct pst_tcp *tcp, struct tcp_pcb *pcb)
{
	struct pst_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->tcp = tcp;
	c->pcb = pcb;
	return c;
}

/* Make room for @n segments in the reusable array. */
static int
segs_reserve(struct pst_tcp *tcp, unsigned int n)
{
	struct pst_segment *segs;
	unsigned int cap = tcp->segs_cap ? tcp->segs_cap : 64;

	if (n <= tcp->segs_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	segs = realloc(tcp->segs, cap * sizeof(*segs));
	if (segs == NULL)
		return -ENOMEM;
	tcp->segs = segs;
	tcp->segs_cap = cap;
	return 0;
}

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct pst_conn *c = arg;
	struct pst_tcp *tcp = c->tcp;
	struct pbuf *q;
	unsigned int n = 0;
	u16_t tot;

	(void)err;
	if (p == NULL) {
		/* FIN from the peer. */
		c->in_cb = 1;
		if (c->cb.recv != NULL)
			c->cb.recv(c->arg, c, NULL, 0);
		return callback_done(c);
	}
	for (q = p; q != NULL; q = q->next)
		n++;
	if (segs_reserve(tcp, n) != 0)
		return ERR_MEM; /* lwIP keeps the data and offers it again */
	n = 0;
	for (q = p; q != NULL; q = q->next) {
		struct pst_segment *seg;

		if (q->len == 0)
			continue;
		seg = &tcp->segs[n++];
		seg->data = q->payload;
		seg->len = q->len;
		seg->priv = q;
		seg->name = pst_pool_addr_to_name(tcp->pool, q->payload, q->len);
	}
	tot = p->tot_len;
	c->stats.bytes_received += tot;
	c->stats.segments_received += n;
	/* The bytes are the application's from here on (kept or done with
	 * when the callback returns): reopen the window first, so that a
	 * close from inside the callback is a FIN, not lwIP's RST for data
	 * the application never took. */
	tcp_recved(pcb, tot);
	c->in_cb = c->in_recv = 1;
	if (c->cb.recv != NULL)
		c->cb.recv(c->arg, c, tcp->segs, n);
	c->in_recv = 0;
	/* Buffers the application kept stay; the others return to the pool. */
	pbuf_free(p);
	return callback_done(c);
}

static err_t
on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct pst_conn *c = arg;

	(void)pcb;
	c->stats.bytes_acked += len;
	zc_release(c, 0);
	if (c->lingering) {
		if (c->zc_len == 0) {
			/* Everything sent by name is acknowledged: lwIP no longer
			 * needs the connection object. */
			conn_detach(c);
			conn_free(c);
		}
		return ERR_OK;
	}
	c->in_cb = 1;
	if (c->cb.sent != NULL)
		c->cb.sent(c->arg, c, len);
	return callback_done(c);
}

void
pst_tcp_resume_blocked(struct pst_tcp *tcp)
{
	struct pst_conn *list = tcp->blocked, *c;
	int gone;

	/* Take the whole list first: a callback that fails again puts its
	 * connection back, for the next poll. */
	if (list == NULL)
		return;
	tcp->blocked = NULL;
	list->blk_pprev = &list;
	while ((c = list) != NULL) {
		unblock(c);
		if (c->pcb == NULL || c->gone || c->lingering || c->cb.sent == NULL)
			continue;
		c->in_cb = 1;
		c->cb.sent(c->arg, c, 0);
		gone = c->gone;
		callback_done(c); /* frees a connection the callback closed */
		if (!gone && c->pcb != NULL && !c->lingering)
			tcp_output(c->pcb);
	}
}

static void
on_err(void *arg, err_t err)
{
	struct pst_conn *c = arg;

	/* lwIP has freed the PCB already; the connection goes too, whatever
	 * the callback calls on it. */
	c->pcb = NULL;
	c->in_cb = 1;
	if (c->lingering)
		; /* the application closed it already */
	else if (!c->established && c->connected != NULL)
		c->connected(c->arg, c, pst_lwip_errno(err));
	else if (c->cb.closed != NULL)
		c->cb.closed(c->arg, c, pst_lwip_errno(err));
	conn_free(c);
}

static void
conn_attach(struct pst_conn *c)
{
	/* Batching is per poll: everything queued in a poll leaves together
	 * after its drain. Nagle would only hold small replies back longer. */
	tcp_nagle_disable(c->pcb);
	tcp_arg(c->pcb, c);
	tcp_recv(c->pcb, on_recv);
	tcp_sent(c->pcb, on_sent);
	tcp_err(c->pcb, on_err);
}

static void
conn_detach(struct pst_conn *c)
{
	if (c->pcb == NULL)
		return;
	tcp_arg(c->pcb, NULL);
	tcp_recv(c->pcb, NULL);
	tcp_sent(c->pcb, NULL);
	tcp_err(c->pcb, NULL);
}

static err_t
on_accept(void *arg, struct tcp_pcb *newpcb, err_t err)
{
	struct pst_listener *l = arg;
	struct pst_conn *c;

	if (err != ERR_OK || newpcb == NULL)
		return ERR_VAL;
	c = conn_new(l->tcp, newpcb);
	if (c == NULL) {
		tcp_abort(newpcb);
		return ERR_ABRT;
	}
	c->established = 1;
	conn_attach(c);
	c->in_cb = 1;
	l->accept(l->arg, c);
	return callback_done(c);
}

struct pst_listener *
pst_tcp_listen(struct pst_stack *stack, uint16_t port, pst_accept_fn accept,
	       void *arg)
{
	struct pst_listener *l;
	struct tcp_pcb *pcb, *lpcb;
	err_t err;

	if (stack == NULL || accept == NULL || port == 0) {
		pst_fail(EINVAL, "listen: NULL argument or port 0");
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (l == NULL || pcb == NULL) {
		pst_fail(ENOMEM, "listen: out of memory");
		goto fail;
	}
	err = tcp_bind(pcb, IP4_ADDR_ANY, port);
	if (err != ERR_OK) {
		pst_fail(-pst_lwip_errno(err), "listen: port %u: %s", port,
			 pst_strerror(pst_lwip_errno(err)));
		goto fail;
	}
	lpcb = tcp_listen_with_backlog_and_err(pcb, TCP_DEFAULT_LISTEN_BACKLOG, &err);
	if (lpcb == NULL) {
		pst_fail(-pst_lwip_errno(err), "listen: port %u: %s", port,
			 pst_strerror(pst_lwip_errno(err)));
		goto fail;
	}
	l->tcp = stack->tcp;
	l->pcb = lpcb;
	l->accept = accept;
	l->arg = arg;
	tcp_arg(lpcb, l);
	tcp_accept(lpcb, on_accept);
	return l;
fail:
	if (pcb != NULL)
		tcp_close(pcb);
	free(l);
	return NULL;
}

void
pst_listener_close(struct pst_listener *l)
{
	if (l == NULL)
		return;
	tcp_arg(l->pcb, NULL);
	tcp_accept(l->pcb, NULL);
	tcp_close(l->pcb);
	free(l);
}

static err_t
on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct pst_conn *c = arg;

	(void)pcb;
	c->established = 1;
	c->in_cb = 1;
	if (c->connected != NULL)
		c->connected(c->arg, c, pst_lwip_errno(err));
	return callback_done(c);
}

struct pst_conn *
pst_tcp_connect(struct pst_stack *stack, uint32_t ipv4, uint16_t port,
		pst_connected_fn connected, void *arg)
{
	struct tcp_pcb *pcb;
	struct pst_conn *c;
	ip_addr_t dst;
	err_t err;

	if (stack == NULL || ipv4 == 0 || port == 0) {
		pst_fail(EINVAL, "connect: bad address");
		return NULL;
	}
	pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	c = pcb != NULL ? conn_new(stack->tcp, pcb) : NULL;
	if (c == NULL) {
		if (pcb != NULL)
			tcp_close(pcb);
		pst_fail(ENOMEM, "connect: out of memory");
		return NULL;
	}
	c->connected = connected;
	c->arg = arg;
	conn_attach(c);
	ip_addr_set_ip4_u32(&dst, lwip_htonl(ipv4));
	err = tcp_connect(pcb, &dst, port, on_connected);
	if (err != ERR_OK) {
		conn_detach(c);
		tcp_abort(pcb);
		conn_free(c);
		pst_fail(-pst_lwip_errno(err), "connect: %s",
			 pst_strerror(pst_lwip_errno(err)));
		return NULL;
	}
	return c;
}

int
pst_conn_set_callbacks(struct pst_conn *c, const struct pst_conn_callbacks *cb,
		       void *arg)
{
	if (c == NULL || cb == NULL)
		return pst_fail(EINVAL, "set callbacks: NULL argument");
	c->cb = *cb;
	c->arg = arg;
	return 0;
}

int
pst_conn_keep(struct pst_conn *c, const struct pst_segment *seg, pst_name *name)
{
	int ret;

	if (c == NULL || seg == NULL || name == NULL || !c->in_recv ||
	    seg->name == PST_NAME_INVALID)
		return pst_fail(EINVAL, "keep: not a named segment of the current receive callback");
	/* The pbuf still holds the buffer (lent); keeping it means the pbuf's
	 * release at the end of the callback leaves it alone. */
	ret = pst_pool_keep(c->tcp->pool, pst_name_index(seg->name));
	if (ret != 0)
		return ret;
	c->stats.segments_kept++;
	*name = seg->name;
	return 0;
}

long
pst_conn_send(struct pst_conn *c, const void *data, size_t len)
{
	size_t room;
	err_t err;

	if (c == NULL || (data == NULL && len > 0))
		return pst_fail(EINVAL, "send: NULL argument");
	if (c->pcb == NULL || c->gone || !c->established)
		return pst_fail(ENOTCONN, "send: connection is not open");
	if (len == 0)
		return 0;
	room = tcp_sndbuf(c->pcb);
	if (len > room)
		len = room;
	if (len > UINT16_MAX)
		len = UINT16_MAX; /* tcp_write takes a 16-bit length */
	if (len == 0 || tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN - 4) {
		c->stats.send_eagain++;
		return pst_fail(EAGAIN, "send: send buffer full");
	}
	err = tcp_write(c->pcb, data, (u16_t)len, TCP_WRITE_FLAG_COPY);
	if (err == ERR_MEM) {
		c->stats.send_eagain++;
		block(c);
		return pst_fail(EAGAIN, "send: send queue full");
	}
	if (err != ERR_OK)
		return pst_fail(-pst_lwip_errno(err), "send: %s",
				pst_strerror(pst_lwip_errno(err)));
	c->stats.bytes_sent += len;
	output(c);
	return (long)len;
}

/* Inside one of this connection's callbacks lwIP is processing its input
 * and calls tcp_output() when done: pieces of one reply sent separately
 * (a header, a value by name, a trailer) then share segments. Elsewhere,
 * output now; frames still only queue in the driver until the drain. */
static void
output(struct pst_conn *c)
{
	if (!c->in_cb)
		tcp_output(c->pcb);
}

static int
zc_push(struct pst_conn *c, uint64_t end, uint32_t index)
{
	if (c->zc_len == c->zc_cap) {
		unsigned int cap = c->zc_cap ? c->zc_cap * 2 : 16, i;
		struct zc_pending *zc = malloc(cap * sizeof(*zc));

		if (zc == NULL)
			return -ENOMEM;
		for (i = 0; i < c->zc_len; i++)
			zc[i] = c->zc[(c->zc_head + i) % c->zc_cap];
		free(c->zc);
		c->zc = zc;
		c->zc_cap = cap;
		c->zc_head = 0;
	}
	c->zc[(c->zc_head + c->zc_len) % c->zc_cap] = (struct zc_pending){ end, index };
	c->zc_len++;
	return 0;
}

long
pst_conn_send_name(struct pst_conn *c, pst_name name)
{
	struct pst_pool *pool;
	uint32_t index;
	uint16_t len;
	void *data;
	err_t err;
	int ret;

	if (c == NULL)
		return pst_fail(EINVAL, "send_name: NULL connection");
	if (c->pcb == NULL || c->gone || !c->established)
		return pst_fail(ENOTCONN, "send_name: connection is not open");
	pool = c->tcp->pool;
	data = pst_pool_name_to_addr(pool, name);
	if (data == NULL)
		return -EINVAL;
	index = pst_name_index(name);
	len = pst_name_length(name);
	if (len == 0)
		return 0;
	if (tcp_sndbuf(c->pcb) < len ||
	    tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN - 4) {
		c->stats.send_eagain++;
		return pst_fail(EAGAIN, "send_name: send buffer full");
	}
	/* Pin the buffer first: it must be kept, and stays until acked. */
	ret = pst_pool_pin(pool, index);
	if (ret != 0)
		return ret;
	if (zc_push(c, c->stats.bytes_sent + len, index) != 0) {
		pst_pool_unpin(pool, index);
		return pst_fail(ENOMEM, "send_name: out of memory");
	}
	/* No copy flag: lwIP references the bytes in place (PBUF_ROM). */
	err = tcp_write(c->pcb, data, len, 0);
	if (err != ERR_OK) {
		c->zc_len--;
		pst_pool_unpin(pool, index);
		if (err == ERR_MEM) {
			c->stats.send_eagain++;
			block(c);
			return pst_fail(EAGAIN, "send_name: send queue full");
		}
		return pst_fail(-pst_lwip_errno(err), "send_name: %s",
				pst_strerror(pst_lwip_errno(err)));
	}
	c->stats.bytes_sent += len;
	c->stats.bytes_sent_zc += len;
	output(c);
	return len;
}

int
pst_conn_stats(const struct pst_conn *c, struct pst_conn_stats *stats)
{
	if (c == NULL || stats == NULL)
		return pst_fail(EINVAL, "conn stats: NULL argument");
	*stats = c->stats;
	return 0;
}

int
pst_segments_locate(const struct pst_segment *segs, unsigned int n,
		    size_t offset, unsigned int *seg, size_t *seg_offset)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (offset < segs[i].len) {
			*seg = i;
			*seg_offset = offset;
			return 0;
		}
		offset -= segs[i].len;
	}
	return -ERANGE;
}

size_t
pst_segments_copy(const struct pst_segment *segs, unsigned int n,
		  size_t offset, void *dst, size_t len)
{
	unsigned int i;
	size_t off, done = 0, chunk;

	if (len == 0 || pst_segments_locate(segs, n, offset, &i, &off) != 0)
		return 0;
	for (; i < n && done < len; i++, off = 0) {
		chunk = segs[i].len - off;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((char *)dst + done, (const char *)segs[i].data + off, chunk);
		done += chunk;
	}
	return done;
}

long
pst_segments_find(const struct pst_segment *segs, unsigned int n,
		  size_t offset, int c)
{
	unsigned int i;
	size_t off, base = offset;
	const char *hit;

	if (pst_segments_locate(segs, n, offset, &i, &off) != 0)
		return -1;
	base -= off;
	for (; i < n; base += segs[i].len, i++, off = 0) {
		hit = memchr((const char *)segs[i].data + off, c, segs[i].len - off);
		if (hit != NULL)
			return (long)(base + (size_t)(hit - (const char *)segs[i].data));
	}
	return -1;
}

size_t
pst_conn_sendbuf(const struct pst_conn *c)
{
	if (c == NULL || c->pcb == NULL || c->gone)
		return 0;
	return tcp_sndbuf(c->pcb);
}

int
pst_conn_close(struct pst_conn *c)
{
	struct tcp_pcb *pcb;

	if (c == NULL)
		return pst_fail(EINVAL, "close: NULL connection");
	pcb = c->pcb;
	conn_detach(c);
	c->pcb = NULL;
	if (pcb != NULL && tcp_close(pcb) != ERR_OK) {
		/* Out of memory for the FIN: reset instead of leaking. */
		tcp_abort(pcb);
		c->aborted = 1;
		pcb = NULL;
	}
	if (pcb != NULL && c->zc_len > 0 && !c->in_cb) {
		/* Bytes sent by name are still unacknowledged: stay until they
		 * are, to unpin their buffers (or until lwIP gives up). */
		linger(c, pcb);
		return 0;
	}
	if (c->in_cb) {
		c->gone = 1; /* freed when the callback returns */
		c->linger_pcb = pcb;
	} else {
		conn_free(c);
	}
	return 0;
}

void
pst_conn_abort(struct pst_conn *c)
{
	if (c == NULL)
		return;
	conn_detach(c);
	if (c->pcb != NULL)
		tcp_abort(c->pcb);
	if (c->pcb != NULL)
		c->aborted = 1;
	c->pcb = NULL;
	if (c->in_cb)
		c->gone = 1;
	else
		conn_free(c);
}

int
pst_conn_peer(const struct pst_conn *c, uint32_t *ipv4, uint16_t *port)
{
	if (c == NULL || c->pcb == NULL)
		return pst_fail(EINVAL, "peer: connection is not open");
	if (ipv4 != NULL)
		*ipv4 = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&c->pcb->remote_ip)));
	if (port != NULL)
		*port = c->pcb->remote_port;
	return 0;
}

struct pst_tcp *
pst_tcp_open(struct pst_pool *pool)
{
	struct pst_tcp *tcp = calloc(1, sizeof(*tcp));

	if (tcp == NULL) {
		pst_fail(ENOMEM, "stack: out of memory");
		return NULL;
	}
	tcp->pool = pool;
	return tcp;
}

void
pst_tcp_close(struct pst_tcp *tcp)
{
	struct tcp_pcb *pcb, *next;

	if (tcp == NULL)
		return;
	/* Aborting calls each connection's error callback, which frees it. */
	for (pcb = tcp_active_pcbs; pcb != NULL; pcb = next) {
		next = pcb->next;
		tcp_abort(pcb);
	}
	for (pcb = tcp_tw_pcbs; pcb != NULL; pcb = next) {
		next = pcb->next;
		tcp_abort(pcb);
	}
	while (tcp_listen_pcbs.listen_pcbs != NULL) {
		struct tcp_pcb_listen *lpcb = tcp_listen_pcbs.listen_pcbs;

		free(lpcb->callback_arg); /* the pst_listener */
		tcp_arg((struct tcp_pcb *)lpcb, NULL);
		tcp_close((struct tcp_pcb *)lpcb);
	}
	free(tcp->segs);
	free(tcp);
}
