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
#include "pool_internal.h"
#include "stack_internal.h"

struct pst_listener {
	struct pst_stack *stack;
	struct tcp_pcb *pcb;
	pst_accept_fn accept;
	void *arg;
};

struct pst_conn {
	struct pst_stack *stack;
	struct tcp_pcb *pcb;
	struct pst_conn_callbacks cb;
	void *arg;
	pst_connected_fn connected;
	int established;
	int in_cb;        /* inside one of the application's callbacks */
	int in_recv;      /* ... the receive callback: segments may be kept */
	int gone;         /* closed or aborted by the application meanwhile */
	int aborted;      /* ... with tcp_abort: lwIP wants ERR_ABRT back */
};

static void conn_detach(struct pst_conn *c);

/* After an application callback: a connection it closed or aborted is
 * freed now; lwIP must hear ERR_ABRT if its PCB is gone. */
static err_t
callback_done(struct pst_conn *c)
{
	int aborted = c->aborted;

	c->in_cb = 0;
	if (!c->gone)
		return ERR_OK;
	free(c);
	return aborted ? ERR_ABRT : ERR_OK;
}

static struct pst_conn *
conn_new(struct pst_stack *stack, struct tcp_pcb *pcb)
{
	struct pst_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->stack = stack;
	c->pcb = pcb;
	return c;
}

/* Make room for @n segments in the stack's reusable array. */
static int
segs_reserve(struct pst_stack *s, unsigned int n)
{
	struct pst_segment *segs;
	unsigned int cap = s->segs_cap ? s->segs_cap : 64;

	if (n <= s->segs_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	segs = realloc(s->segs, cap * sizeof(*segs));
	if (segs == NULL)
		return -ENOMEM;
	s->segs = segs;
	s->segs_cap = cap;
	return 0;
}

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct pst_conn *c = arg;
	struct pst_stack *s = c->stack;
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
	if (segs_reserve(s, n) != 0)
		return ERR_MEM; /* lwIP keeps the data and offers it again */
	n = 0;
	for (q = p; q != NULL; q = q->next) {
		struct pst_segment *seg;

		if (q->len == 0)
			continue;
		seg = &s->segs[n++];
		seg->data = q->payload;
		seg->len = q->len;
		seg->priv = q;
		seg->name = pst_pool_addr_to_name(s->pool, q->payload, q->len);
	}
	tot = p->tot_len;
	c->in_cb = c->in_recv = 1;
	if (c->cb.recv != NULL)
		c->cb.recv(c->arg, c, s->segs, n);
	c->in_recv = 0;
	/* Buffers the application kept stay; the others return to the pool. */
	pbuf_free(p);
	if (!c->gone)
		tcp_recved(pcb, tot);
	return callback_done(c);
}

static err_t
on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct pst_conn *c = arg;

	(void)pcb;
	c->in_cb = 1;
	if (c->cb.sent != NULL)
		c->cb.sent(c->arg, c, len);
	return callback_done(c);
}

static void
on_err(void *arg, err_t err)
{
	struct pst_conn *c = arg;

	/* lwIP has freed the PCB already; the connection goes too, whatever
	 * the callback calls on it. */
	c->pcb = NULL;
	c->in_cb = 1;
	if (!c->established && c->connected != NULL)
		c->connected(c->arg, c, pst_lwip_errno(err));
	else if (c->cb.closed != NULL)
		c->cb.closed(c->arg, c, pst_lwip_errno(err));
	free(c);
}

static void
conn_attach(struct pst_conn *c)
{
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
	c = conn_new(l->stack, newpcb);
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
	l->stack = stack;
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
	c = pcb != NULL ? conn_new(stack, pcb) : NULL;
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
		free(c);
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
	ret = pst_pool_keep(c->stack->pool, pst_name_index(seg->name));
	if (ret != 0)
		return ret;
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
	room = tcp_sndbuf(c->pcb);
	if (len > room)
		len = room;
	if (len > UINT16_MAX)
		len = UINT16_MAX; /* tcp_write takes a 16-bit length */
	if (len == 0 || tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN - 4)
		return pst_fail(EAGAIN, "send: send buffer full");
	err = tcp_write(c->pcb, data, (u16_t)len, TCP_WRITE_FLAG_COPY);
	if (err == ERR_MEM)
		return pst_fail(EAGAIN, "send: send queue full");
	if (err != ERR_OK)
		return pst_fail(-pst_lwip_errno(err), "send: %s",
				pst_strerror(pst_lwip_errno(err)));
	/* Frames only queue in the driver: they leave after the poll's drain. */
	tcp_output(c->pcb);
	return (long)len;
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
	if (c == NULL)
		return pst_fail(EINVAL, "close: NULL connection");
	conn_detach(c);
	if (c->pcb != NULL && tcp_close(c->pcb) != ERR_OK) {
		/* Out of memory for the FIN: reset instead of leaking. */
		tcp_abort(c->pcb);
		c->aborted = 1;
	}
	c->pcb = NULL;
	if (c->in_cb)
		c->gone = 1; /* freed when the callback returns */
	else
		free(c);
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
	if (c->in_cb) {
		c->gone = 1;
	} else {
		free(c);
	}
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

int
pst_flush(struct pst_stack *stack, const void *addr, size_t len)
{
	if (stack == NULL)
		return pst_fail(EINVAL, "flush: NULL stack");
	return pst_pool_flush(stack->pool, addr, len);
}

void
pst_tcp_shutdown_all(void)
{
	struct tcp_pcb *pcb, *next;

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
}
