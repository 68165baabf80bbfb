/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste_tcp.h over lwIP's raw TCP API. Received pbufs are handed to the
 * application as segments in place; a segment whose pbuf lies in a pool
 * buffer carries that buffer's durable name.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"

#include "error.h"
#include "lwip_errno.h"
#include "pool_stack.h"
#include "stack_internal.h"
#include "tcp.h"
#include "tcp_zc.h"

/* Received segments shorter than buf_size / GATHER_DIV are copied into a
 * shared buffer when the application holds them: a held byte then costs a
 * byte of the pool, and a held zero-copy segment at most GATHER_DIV times
 * its length. */
#define GATHER_DIV 2u
/* Shared gather buffers one connection's holds may be in at once. Each
 * pins a whole buffer, and other connections' bytes may leave it while
 * this one's stay: a byte a segment among others' small segments pinned a
 * buffer per byte. Past this many, a connection's small segments are
 * gathered into a buffer of its own. */
#define GATHER_SHARED 4u

/* How often connections are checked for a zero-window stall. */
#define ZW_CHECK_MS 100u
#define ZW_DEFAULT_MS 60000u
/* Progress of unacknowledged data (ack_progress_ms, ack_progress_min_rate). */
#define AP_DEFAULT_MS 60000u
#define AP_DEFAULT_RATE 1024u

/* What the connections of one stack share. */
struct pst_tcp {
	struct pst_pool *pool;
	/* Listeners a fail-stop closed (pst_tcp_fail_stop): still the
	 * application's to pst_listener_close(), freed with @tcp if not. */
	struct pst_listener *stopped;
	uint32_t buf_size;
	uint32_t gather_below;     /* hold copies segments shorter than this */
	/* Receive windows: every connection is granted window bytes from the
	 * stack's credit (its budget of pool buffers, in window bytes), up to
	 * `share` each: conn_wnd, or less when the connections with a grant
	 * (n_granted) would otherwise need more than the whole budget. A
	 * grant goes back when the connection does. */
	uint32_t conn_wnd, share;
	uint32_t n_granted;
	int64_t budget, credit;
	/* The budget follows the store: the free buffers when the stack was
	 * created (base_free, while the store kept base_store) less what the
	 * store has kept since, less the reserve (budget_update). */
	uint64_t base_free, base_store, reserve;
	uint64_t held_bytes;       /* held by all connections, now */
	uint64_t gathered;         /* segments copied by pst_conn_hold() */
	/* The shared buffer small held segments are copied into: lent, with
	 * one reference per hold in g_refs[] plus one while it is current. */
	uint32_t g_index, g_used;
	uint32_t *g_refs;
	uint32_t buf_count;
	/* Connections whose send failed for want of lwIP memory, not of
	 * window: no acknowledgement may be coming to wake them, so the poll
	 * offers them their sent callback again. */
	struct pst_conn *blocked;
	/* Connections closed from inside their callbacks, closed for real by
	 * the poll once lwIP is done with the segment (pst_tcp_close_deferred). */
	struct pst_conn *closing;
	/* Segment array handed to receive callbacks, grown on demand. */
	struct pst_segment *segs;
	unsigned int segs_cap;
	/* Zero-window stalls: aborted past zw_timeout ms (0: never). */
	uint32_t zw_timeout;
	int zw_timer;              /* tcp_tick() is registered with lwIP */
	uint64_t zw_aborts;
	/* Acknowledgement progress: checked every ap_window ms (0: never),
	 * at least ap_rate bytes/s. */
	uint32_t ap_window, ap_rate;
	uint64_t ap_aborts;
};

struct pst_listener {
	struct pst_tcp *tcp;
	struct tcp_pcb *pcb;       /* NULL once a fail-stop closed it */
	pst_accept_fn accept;
	void *arg;
	struct pst_listener *next_stopped; /* on pst_tcp::stopped */
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
	int deferred;     /* closed inside a callback: on tcp->closing */
	struct pst_conn *close_next;
	/* Zero-copy sends not yet acknowledged, oldest first: the buffer and
	 * the stream offset where its bytes end. */
	struct zc_pending {
		uint64_t end;
		uint32_t index;
	} *zc;
	unsigned int zc_head, zc_len, zc_cap;
	/* On the list of connections blocked on lwIP memory. */
	struct pst_conn *blk_next, **blk_pprev;
	/* Received bytes held past their callback (pst_conn_hold): slots,
	 * a free list through `next`, and the window they keep closed. */
	struct hold {
		struct pbuf *p;        /* zero copy: the segment's pbuf */
		uint32_t gather;       /* else: the shared buffer's index */
		uint32_t len;
		uint32_t next;         /* free list, or HOLD_USED */
		uint16_t open;         /* its bytes still close the window */
		uint16_t pinned;       /* zero copy, kept: pinned for the hold */
	} *holds;
	uint32_t holds_cap, holds_free;
	uint32_t cb_held;          /* bytes held in the current receive callback */
	uint64_t reopen;           /* consumed inside a callback: reopened after it */
	uint32_t granted;          /* window bytes granted from the stack's credit */
	/* The shared gather buffers its holds are in, with how many of its
	 * holds each (at most GATHER_SHARED), and its own gather buffer. */
	struct gsh {
		uint32_t index, holds;
	} gsh[GATHER_SHARED];
	uint32_t n_gsh;
	uint32_t own_index, own_used; /* own_index UINT32_MAX: none */
	/* Zero-window stall: since when (sys_now() ms) the peer's window has
	 * been zero with data queued and bytes_acked stuck at zw_acked. */
	int zw_stalled, zw_expired;
	/* Acknowledgement progress: a window began at ap_since (ms) with
	 * bytes_acked at ap_acked and bytes_sent at ap_sent (0: no data
	 * queued, no window running). */
	int ap_running, ap_expired;
	uint32_t ap_since;
	uint64_t ap_acked, ap_sent;
	uint32_t zw_since;
	uint64_t zw_acked;
	struct pst_conn_stats stats;
};

#define HOLD_USED UINT32_MAX
#define HOLD_NONE (UINT32_MAX - 1)

/* g_refs[]: holds in a shared buffer (+1 while current), and whether it is
 * pinned because it was kept while held. */
#define G_PINNED 0x80000000u
#define G_COUNT 0x7fffffffu

static void conn_detach(struct pst_conn *c);
static void window_retire(struct pst_conn *c);
static void window_reopen(struct pst_conn *c, uint64_t n);
static void holds_drop_all(struct pst_conn *c);
static void output(struct pst_conn *c);
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static void on_err(void *arg, err_t err);
static int lwip_pool_low(memp_t type);

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

/* ---- receive windows ---------------------------------------------------- */

/* Give lwIP @n more window bytes; tcp_recved() takes 16 bits at a time.
 * Inside lwIP's input for @pcb (a receive callback: nearly every reopen)
 * tcp_recved()'s window update is made here, without the call: its
 * tcp_output() returns at once while tcp_input_pcb is @pcb (tcp_out.c), so
 * all it would do is what is written below, down to the ACK flag that
 * tcp_input()'s own output then acts on. */
static void
recved(struct tcp_pcb *pcb, uint64_t n)
{
	if (pcb == tcp_input_pcb && n <= UINT16_MAX) {
		tcpwnd_size_t wnd = (tcpwnd_size_t)(pcb->rcv_wnd + n);

		if (wnd > TCP_WND_MAX(pcb) || wnd < pcb->rcv_wnd)
			wnd = TCP_WND_MAX(pcb);
		pcb->rcv_wnd = wnd;
		if (tcp_update_rcv_ann_wnd(pcb) >= TCP_WND_UPDATE_THRESHOLD)
			tcp_ack_now(pcb);
		return;
	}
	while (n > 0) {
		u16_t chunk = n > UINT16_MAX ? UINT16_MAX : (u16_t)n;

		tcp_recved(pcb, chunk);
		n -= chunk;
	}
}

/* The grant a connection may have now: an equal share of the budget
 * among the connections that have one, at most conn_wnd, and never less
 * than the 64 KiB (unscaled) that lwIP's handshake announced, since lwIP
 * never moves an announced right edge back. Recomputed when a connection
 * comes or goes, not per segment. */
static void
share_update(struct pst_tcp *tcp)
{
	int64_t share = tcp->n_granted ? tcp->budget / tcp->n_granted : tcp->budget;

	if (share > (int64_t)tcp->conn_wnd)
		share = tcp->conn_wnd;
	if (share < UINT16_MAX)
		share = tcp->conn_wnd < UINT16_MAX ? tcp->conn_wnd : UINT16_MAX;
	tcp->share = (uint32_t)share;
}

static uint32_t
share_of(const struct pst_tcp *tcp, const struct tcp_pcb *pcb)
{
	return tcp->share < TCP_WND_MAX(pcb) ? tcp->share : TCP_WND_MAX(pcb);
}

/* The stack's budget now: the buffers free when it was created, less
 * those the store kept since (kept or releasing: values, its index),
 * less the reserve. Buffers the store keeps are not the stack's to grant,
 * and a store may keep up to 15/16 of the pool: a budget fixed at creation
 * granted the reserve, and more, once the store had grown. Grants already
 * made stay (lwIP never moves an announced edge back); the credit goes
 * down by as much, so that no grant grows and every one over the new share
 * shrinks as its bytes are consumed. */
static void
budget_update(struct pst_tcp *tcp)
{
	struct pst_pool_levels lv;
	uint64_t store, grown, bufs;
	int64_t budget;

	if (pst_pool_levels(tcp->pool, &lv) != 0)
		return;
	store = lv.kept + lv.releasing;
	grown = store > tcp->base_store ? store - tcp->base_store : 0;
	bufs = tcp->base_free > grown + tcp->reserve ? tcp->base_free - grown - tcp->reserve : 0;
	budget = (int64_t)(bufs * tcp->gather_below);
	if (budget == tcp->budget)
		return;
	tcp->credit += budget - tcp->budget;
	tcp->budget = budget;
	share_update(tcp);
}

/* A new connection's window: its share, from what credit is left. */
static void
window_attach(struct pst_conn *c)
{
	struct pst_tcp *tcp = c->tcp;
	struct tcp_pcb *pcb = c->pcb;
	uint32_t want, floor = UINT16_MAX;

	tcp->n_granted++;
	budget_update(tcp);
	share_update(tcp);
	want = share_of(tcp, pcb);
	if (floor > want)
		floor = want;
	if (tcp->credit < (int64_t)want)
		want = tcp->credit > (int64_t)floor ? (uint32_t)tcp->credit : floor;
	c->granted = want;
	tcp->credit -= want;
	if (pcb->rcv_wnd > want) {
		uint32_t told = want > UINT16_MAX ? want : UINT16_MAX;

		pcb->rcv_wnd = want;
		pcb->rcv_ann_wnd = want;
		/* lwIP recorded the SYN-ACK's right edge at its full 4 MiB
		 * window, while the SYN-ACK's unscaled field told the peer
		 * 64 KiB: left there, the next ACK would announce 4 MiB
		 * whatever the grant, and lwIP would drop what the peer sent
		 * past the grant. */
		if (TCP_SEQ_GT(pcb->rcv_ann_right_edge, pcb->rcv_nxt + told))
			pcb->rcv_ann_right_edge = pcb->rcv_nxt + told;
		if (TCP_SEQ_GT(pcb->rcv_nxt + want, pcb->rcv_ann_right_edge))
			pcb->rcv_ann_right_edge = pcb->rcv_nxt + want;
	}
}

/* @n received bytes were consumed or let go of: reopen the window by as
 * much, toward the connection's share. A grant over it (made when fewer
 * connections had one) shrinks by what is consumed, not reopened, and
 * returns to the credit: the announced edge stays, the window closes
 * behind the data. A grant under it grows while the stack has credit. */
static void
window_reopen(struct pst_conn *c, uint64_t n)
{
	struct pst_tcp *tcp = c->tcp;
	uint32_t share, d;

	if (c->pcb == NULL || c->granted == 0)
		return;
	share = share_of(tcp, c->pcb);
	if (c->granted > share) {
		d = c->granted - share;
		if (d > n)
			d = (uint32_t)n;
		c->granted -= d;
		tcp->credit += d;
		n -= d;
	} else if (c->granted < share && tcp->credit > 0) {
		/* Growing: from the budget as the store leaves it now. */
		budget_update(tcp);
		share = share_of(tcp, c->pcb);
		d = c->granted < share ? share - c->granted : 0;
		if ((int64_t)d > tcp->credit)
			d = tcp->credit > 0 ? (uint32_t)tcp->credit : 0;
		c->granted += d;
		tcp->credit -= d;
		n += d;
	}
	if (n > 0)
		recved(c->pcb, n);
}

/* @n bytes consumed: reopen now, or once the current callback is done. */
static void
window_consumed(struct pst_conn *c, uint64_t n)
{
	if (c->in_cb)
		c->reopen += n;
	else
		window_reopen(c, n);
}

/* The connection is going: its holds end and its grant returns. */
static void
window_retire(struct pst_conn *c)
{
	c->reopen = 0;
	holds_drop_all(c); /* its own gather buffer goes with its last hold */
	if (c->granted == 0)
		return;
	c->tcp->credit += c->granted;
	c->granted = 0;
	c->tcp->n_granted--;
	share_update(c->tcp);
}

/* Out-of-order segments a connection may have queued (lwIP's
 * TCP_OOSEQ_PBUFS_LIMIT): each pins a whole pool buffer, whatever its
 * length, so the queue is counted in buffers against the connection's
 * grant, what its held bytes leave of it, one buffer per gather_below
 * bytes: a peer's full-sized segments never reach that, one-byte segments
 * out of order no longer pin a buffer per byte (at most 256, any grant,
 * before). At least one; none before the connection has a grant. */
u16_t
pst_tcp_oos_limit(const struct tcp_pcb *pcb)
{
	const struct pst_conn *c = pcb->callback_arg;
	uint64_t room;

	if (pcb->state == SYN_RCVD || c == NULL || c->granted == 0 ||
	    lwip_pool_low(MEMP_TCP_SEG))
		return 1;
	room = c->granted > c->stats.bytes_held ? c->granted - c->stats.bytes_held : 0;
	room /= c->tcp->gather_below;
	if (room < 1)
		return 1;
	return room > TCP_OOSEQ_MAX_PBUFS ? TCP_OOSEQ_MAX_PBUFS : (u16_t)room;
}

/* ---- lwIP's shared pools ------------------------------------------------ */

/* lwIP's segments and pbuf descriptors are every connection's: past the
 * per-connection cap (TCP_SND_QUEUELEN, lwipopts.h), the last 1/8 of each
 * pool is kept for connections with less than LWIP_SMALL_QUEUE pbufs
 * queued, and for out-of-order queues of one segment, so that connections
 * at the cap (56 of them fill the rest) never take what the others need
 * to answer. */
#define LWIP_SMALL_QUEUE 64u
#define LWIP_POOL_RESERVE(n) ((n) / 8u)

#if !MEMP_STATS
#error "tcp.c reads lwIP's pool usage from its MEMP statistics"
#endif

static int
lwip_pool_low(memp_t type)
{
	const struct stats_mem *m = lwip_stats.memp[type];

	return m->avail - m->used < LWIP_POOL_RESERVE(m->avail);
}

/* Whether @c may queue no more now: at the per-connection cap, or with
 * its share of lwIP's pools taken while they are down to their reserve. */
static int
queue_full(const struct pst_conn *c)
{
	u16_t q = tcp_sndqueuelen(c->pcb);

	if (q >= TCP_SND_QUEUELEN - 4)
		return 1;
	if (q < LWIP_SMALL_QUEUE)
		return 0;
	return lwip_pool_low(MEMP_TCP_SEG) || lwip_pool_low(MEMP_PBUF);
}

/* ---- zero-window stalls ------------------------------------------------ */

/* lwIP probes a zero window for as long as the peer answers, so a peer
 * that never reads again would pin what is queued for it (pool buffers
 * sent by name, lwIP's copies) for ever. */
static int
zw_blocked(const struct tcp_pcb *pcb)
{
	return pcb->snd_wnd == 0 && (pcb->unsent != NULL || pcb->unacked != NULL);
}

/* Abort connections stalled on a zero window for zw_timeout ms. Any
 * acknowledgement restarts the clock, so a slow reader is never taken for
 * a dead one. */
static void
zw_check(struct pst_tcp *tcp)
{
	uint32_t now = sys_now();
	struct tcp_pcb *pcb;
	struct pst_conn *c;

restart:
	for (pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
		/* A half-open PCB's argument is still its listener's. */
		if (pcb->state == SYN_RCVD || (c = pcb->callback_arg) == NULL)
			continue;
		if (!zw_blocked(pcb) || !c->zw_stalled ||
		    c->zw_acked != c->stats.bytes_acked) {
			c->zw_stalled = zw_blocked(pcb);
			c->zw_since = now;
			c->zw_acked = c->stats.bytes_acked;
			continue;
		}
		if (now - c->zw_since < tcp->zw_timeout)
			continue;
		/* on_err() reports -ETIMEDOUT and frees it with all it held.
		 * Its closed callback may have closed others: start over. */
		c->zw_expired = 1;
		tcp->zw_aborts++;
		tcp_abort(pcb);
		goto restart;
	}
}

/* A peer that acknowledges a few bytes before each retransmission
 * timeout keeps lwIP retransmitting for ever, and the connection's send
 * queue with it. Every ap_window ms with data queued, the peer must have
 * acknowledged all that was outstanding when the window began, or
 * ap_rate bytes a second; else the connection is aborted. */
static void
ap_check(struct pst_tcp *tcp)
{
	uint32_t now = sys_now();
	struct tcp_pcb *pcb;
	struct pst_conn *c;
	uint64_t want;

restart:
	for (pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
		if (pcb->state == SYN_RCVD || (c = pcb->callback_arg) == NULL)
			continue;
		if (pcb->unsent == NULL && pcb->unacked == NULL) {
			c->ap_running = 0;
			continue;
		}
		if (!c->ap_running || now - c->ap_since >= tcp->ap_window) {
			want = (uint64_t)tcp->ap_rate * tcp->ap_window / 1000u;
			if (c->ap_running && c->ap_sent - c->ap_acked < want)
				want = c->ap_sent - c->ap_acked;
			if (c->ap_running && c->stats.bytes_acked - c->ap_acked < want) {
				/* on_err() reports -ETIMEDOUT and frees it. */
				c->ap_expired = 1;
				tcp->ap_aborts++;
				tcp_abort(pcb);
				goto restart;
			}
			c->ap_running = 1;
			c->ap_since = now;
			c->ap_acked = c->stats.bytes_acked;
			c->ap_sent = c->stats.bytes_sent;
		}
	}
}

/* lwIP timer, every ZW_CHECK_MS: the budget follows the store, and
 * stalled connections are aborted. */
static void
tcp_tick(void *arg)
{
	struct pst_tcp *tcp = arg;

	sys_timeout(ZW_CHECK_MS, tcp_tick, tcp);
	budget_update(tcp);
	if (tcp->zw_timeout != 0)
		zw_check(tcp);
	if (tcp->ap_window != 0)
		ap_check(tcp);
}

void
pst_tcp_start(struct pst_tcp *tcp)
{
	if (tcp->zw_timer)
		return;
	sys_timeout(ZW_CHECK_MS, tcp_tick, tcp);
	tcp->zw_timer = 1;
}

/* ---- holds ------------------------------------------------------------ */

/* Drop one reference to shared buffer @index; the last returns it. The
 * current buffer goes too when no hold is left in it: what clients held
 * all returns to the pool when they are gone. */
static void
gather_unref(struct pst_tcp *tcp, struct pst_conn *c, uint32_t index)
{
	uint32_t *r = &tcp->g_refs[index];

	--*r;
	if ((*r & G_COUNT) == 1 && index == tcp->g_index) {
		--*r;
		tcp->g_index = UINT32_MAX;
	} else if ((*r & G_COUNT) == 1 && c != NULL && index == c->own_index) {
		--*r;
		c->own_index = UINT32_MAX;
	}
	if ((*r & G_COUNT) != 0)
		return;
	if (*r & G_PINNED)
		pst_pool_unpin(tcp->pool, index);
	*r = 0;
	pst_pool_release_if_lent(tcp->pool, index);
}

/* Stop copying into a gather buffer, *cur (full, or kept). */
static void
gather_retire(struct pst_tcp *tcp, uint32_t *cur)
{
	uint32_t index = *cur;

	if (index == UINT32_MAX)
		return;
	*cur = UINT32_MAX;
	gather_unref(tcp, NULL, index);
}

/* Copy @len bytes into the gather buffer *cur (the shared one, or a
 * connection's own), filled up to *used; returns where, or NULL when no
 * buffer is free (the caller holds the segment in place instead). */
static uint8_t *
gather(struct pst_tcp *tcp, uint32_t *cur, uint32_t *used, const void *data,
       uint32_t len, pst_name *name)
{
	uint8_t *dst;
	uint32_t index;

	if (*cur != UINT32_MAX && *used + len > tcp->buf_size)
		gather_retire(tcp, cur);
	if (*cur == UINT32_MAX) {
		if (pst_pool_take(tcp->pool, &index) != 0)
			return NULL;
		*cur = index;
		*used = 0;
		tcp->g_refs[index] = 1;
	}
	dst = (uint8_t *)pst_pool_buf_addr(tcp->pool, *cur) + *used;
	memcpy(dst, data, len);
	*name = pst_name_make(*cur, (uint16_t)*used, (uint16_t)len);
	*used += len;
	tcp->g_refs[*cur]++;
	tcp->gathered++;
	return dst;
}

static struct gsh *
gsh_find(struct pst_conn *c, uint32_t index)
{
	uint32_t i;

	for (i = 0; i < c->n_gsh; i++)
		if (c->gsh[i].index == index)
			return &c->gsh[i];
	return NULL;
}

/* Gather @len bytes for connection @c: into the shared buffer while its
 * holds are in at most GATHER_SHARED shared buffers (the one these bytes
 * land in counted), else into its own, which no other connection's bytes
 * leave half empty. So what a connection holds pins at most GATHER_SHARED
 * shared buffers, its own filled ones and one it is filling, whatever the
 * segmentation and whatever other connections do. */
static uint8_t *
conn_gather(struct pst_conn *c, const void *data, uint32_t len, pst_name *name)
{
	struct pst_tcp *tcp = c->tcp;
	struct gsh *g = NULL;
	uint8_t *dst;
	int shared = c->n_gsh < GATHER_SHARED;

	if (!shared && tcp->g_index != UINT32_MAX && tcp->g_used + len <= tcp->buf_size)
		shared = (g = gsh_find(c, tcp->g_index)) != NULL;
	if (!shared)
		return gather(tcp, &c->own_index, &c->own_used, data, len, name);
	dst = gather(tcp, &tcp->g_index, &tcp->g_used, data, len, name);
	if (dst == NULL)
		return NULL;
	if (g == NULL && (g = gsh_find(c, tcp->g_index)) == NULL) {
		g = &c->gsh[c->n_gsh++];
		g->index = tcp->g_index;
		g->holds = 0;
	}
	g->holds++;
	return dst;
}

static struct hold *
hold_get(const struct pst_conn *c, uint32_t id)
{
	if (id == 0 || id > c->holds_cap || c->holds[id - 1].next != HOLD_USED)
		return NULL;
	return &c->holds[id - 1];
}

static int
hold_alloc(struct pst_conn *c, uint32_t *id)
{
	uint32_t i;

	if (c->holds_free == HOLD_NONE) {
		uint32_t cap = c->holds_cap ? c->holds_cap * 2 : 64;
		struct hold *h = realloc(c->holds, cap * sizeof(*h));

		if (h == NULL || cap >= HOLD_NONE) {
			if (h != NULL)
				c->holds = h;
			return -ENOMEM;
		}
		for (i = c->holds_cap; i < cap; i++)
			h[i].next = i + 1 < cap ? i + 1 : HOLD_NONE;
		c->holds = h;
		c->holds_free = c->holds_cap;
		c->holds_cap = cap;
	}
	i = c->holds_free;
	c->holds_free = c->holds[i].next;
	c->holds[i].next = HOLD_USED;
	*id = i + 1;
	return 0;
}

/* Let go of hold @h's buffer reference; returns the window bytes it still
 * kept closed. */
static uint32_t
hold_drop(struct pst_conn *c, struct hold *h)
{
	uint32_t open = h->open ? h->len : 0;

	if (h->p != NULL) {
		pbuf_free(h->p);
		if (h->pinned)
			pst_pool_unpin(c->tcp->pool, h->gather);
	} else {
		struct gsh *g = gsh_find(c, h->gather);

		if (g != NULL && --g->holds == 0)
			*g = c->gsh[--c->n_gsh];
		gather_unref(c->tcp, c, h->gather);
	}
	c->tcp->held_bytes -= open;
	c->stats.bytes_held -= open;
	h->next = c->holds_free;
	c->holds_free = (uint32_t)(h - c->holds);
	return open;
}

/* Every hold of a connection that is going away. */
static void
holds_drop_all(struct pst_conn *c)
{
	uint32_t i;

	for (i = 0; i < c->holds_cap; i++)
		if (c->holds[i].next == HOLD_USED)
			hold_drop(c, &c->holds[i]);
	free(c->holds);
	c->holds = NULL;
	c->holds_cap = 0;
	c->holds_free = HOLD_NONE;
}

static void
conn_free(struct pst_conn *c)
{
	unblock(c);
	zc_release(c, 1);
	window_retire(c);
	free(c->zc);
	free(c);
}

/* After an application callback: a connection it aborted is freed now;
 * lwIP must hear ERR_ABRT if its PCB is gone. (A close waits for the poll:
 * pst_conn_close.) */
static err_t
callback_done(struct pst_conn *c)
{
	int aborted = c->aborted;

	c->in_cb = 0;
	if (!c->gone) {
		/* One window update for everything the callback consumed. */
		if (c->reopen > 0) {
			window_reopen(c, c->reopen);
			c->reopen = 0;
		}
		return ERR_OK;
	}
	conn_free(c);
	return aborted ? ERR_ABRT : ERR_OK;
}

static void
deferred_unlink(struct pst_conn *c)
{
	struct pst_conn **pp;

	for (pp = &c->tcp->closing; *pp != NULL; pp = &(*pp)->close_next)
		if (*pp == c) {
			*pp = c->close_next;
			break;
		}
	c->deferred = 0;
}

static struct pst_conn *
conn_new(struct pst_tcp *tcp, struct tcp_pcb *pcb)
{
	struct pst_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->tcp = tcp;
	c->pcb = pcb;
	c->holds_free = HOLD_NONE;
	c->own_index = UINT32_MAX;
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
	struct pbuf *q, *next;
	unsigned int n = 0;
	u16_t tot;

	(void)err;
	if (c->deferred) {
		/* Closed by the application: nobody reads this any more. */
		if (p != NULL)
			pbuf_free(p);
		return ERR_OK;
	}
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
	c->cb_held = 0;
	c->in_cb = c->in_recv = 1;
	if (c->cb.recv != NULL)
		c->cb.recv(c->arg, c, tcp->segs, n);
	c->in_recv = 0;
	/* What the application did not hold is consumed: the window reopens
	 * by that much when the callback is done, and by the rest as the
	 * holds go (not at all if the callback closed the connection: its
	 * close settled the window). */
	(void)pcb;
	c->reopen += tot - c->cb_held;
	/* Piece by piece: a held pbuf must not keep the rest of the chain.
	 * Kept buffers stay; the others return to the pool. */
	for (q = p; q != NULL; q = next) {
		next = q->next;
		q->next = NULL;
		q->tot_len = q->len;
		pbuf_free(q);
	}
	return callback_done(c);
}

static err_t
on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct pst_conn *c = arg;

	(void)pcb;
	c->stats.bytes_acked += len;
	zc_release(c, 0);
	if (c->deferred)
		return ERR_OK;
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
		if (c->pcb == NULL || c->gone || c->lingering || c->deferred ||
		    c->cb.sent == NULL)
			continue;
		c->in_cb = 1;
		c->cb.sent(c->arg, c, 0);
		gone = c->gone;
		callback_done(c); /* frees a connection the callback closed */
		if (!gone && c->pcb != NULL && !c->lingering && !c->deferred)
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
	if (c->zw_expired || c->ap_expired)
		err = ERR_TIMEOUT; /* zw_check() or ap_check() aborted it */
	if (c->deferred)
		deferred_unlink(c); /* the application closed it already */
	else if (c->lingering)
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
	window_attach(c);
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
	struct pst_listener **pp;

	if (l == NULL)
		return;
	if (l->pcb == NULL) {
		/* Closed by a fail-stop: only the object is left. */
		for (pp = &l->tcp->stopped; *pp != NULL; pp = &(*pp)->next_stopped)
			if (*pp == l) {
				*pp = l->next_stopped;
				break;
			}
		free(l);
		return;
	}
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
	/* Not before: lwIP asserts the default window when the SYN-ACK's
	 * window scale option arrives. */
	if (err == ERR_OK)
		window_attach(c);
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

int
pst_conn_hold(struct pst_conn *c, const struct pst_segment *seg,
	      struct pst_held *held)
{
	struct pst_tcp *tcp;
	struct pbuf *q;
	struct hold *h;
	const void *data;
	pst_name name;
	uint32_t id;

	if (c == NULL || seg == NULL || held == NULL || !c->in_recv || seg->priv == NULL)
		return pst_fail(EINVAL, "hold: not a segment of the current receive callback");
	tcp = c->tcp;
	q = seg->priv;
	if (hold_alloc(c, &id) != 0)
		return pst_fail(ENOMEM, "hold: out of memory");
	h = &c->holds[id - 1];
	data = NULL;
	if (seg->len < tcp->gather_below || (seg->name == PST_NAME_INVALID &&
					     seg->len <= tcp->buf_size))
		data = conn_gather(c, seg->data, seg->len, &name);
	if (data != NULL) {
		h->p = NULL;
		h->gather = pst_name_index(name);
		c->stats.segments_gathered++;
	} else {
		/* In place: the pbuf, and with it the buffer, stays lent. */
		pbuf_ref(q);
		h->p = q;
		data = seg->data;
		name = seg->name;
	}
	h->len = seg->len;
	h->open = 1;
	h->pinned = 0;
	c->cb_held += seg->len;
	c->stats.bytes_held += seg->len;
	c->stats.segments_held++;
	tcp->held_bytes += seg->len;
	held->data = data;
	held->len = seg->len;
	held->name = name;
	held->id = id;
	return 0;
}

int
pst_conn_unhold(struct pst_conn *c, uint32_t id)
{
	struct hold *h;
	uint32_t open;

	if (c == NULL || (h = hold_get(c, id)) == NULL)
		return pst_fail(EINVAL, "unhold: no such hold");
	/* Inside a callback, reopened once when it returns (a receive
	 * callback's own holds are still in cb_held: counted once). */
	open = hold_drop(c, h);
	window_consumed(c, open);
	return 0;
}

/* The buffer under hold @h. 0, or -EINVAL for bytes outside the pool. */
static int
held_index(struct pst_tcp *tcp, const struct hold *h, uint32_t *index)
{
	*index = h->p != NULL ? pst_pool_buf_index(tcp->pool, h->p->payload) : h->gather;
	if (*index == UINT32_MAX)
		return pst_fail(EINVAL, "keep held: the bytes are not in a pool buffer");
	return 0;
}

/* Hold @h's buffer @index is kept: pin it, retire it as a gather target,
 * and take its bytes out of the connection's budget. */
static int
held_kept(struct pst_conn *c, struct hold *h, uint32_t index)
{
	struct pst_tcp *tcp = c->tcp;
	int ret;

	/* Kept, the buffer's life is the application's: its holds (this one,
	 * and in a shared buffer other connections' too) pin it, so that a
	 * release of the stored value waits until they end. */
	if (h->p != NULL && !h->pinned) {
		ret = pst_pool_pin(tcp->pool, index);
		if (ret != 0)
			return ret;
		h->pinned = 1;
		h->gather = index;
	} else if (h->p == NULL && !(tcp->g_refs[index] & G_PINNED)) {
		ret = pst_pool_pin(tcp->pool, index);
		if (ret != 0)
			return ret;
		tcp->g_refs[index] |= G_PINNED;
	}
	/* Storage now: copy no more into it. */
	if (index == tcp->g_index)
		gather_retire(tcp, &tcp->g_index);
	else if (index == c->own_index)
		gather_retire(tcp, &c->own_index);
	c->stats.segments_kept++;
	/* Storage is the application's, not the connection's: its bytes no
	 * longer close the window. */
	if (h->open) {
		h->open = 0;
		tcp->held_bytes -= h->len;
		c->stats.bytes_held -= h->len;
		window_consumed(c, h->len);
	}
	return 0;
}

int
pst_conn_keep_held(struct pst_conn *c, uint32_t id)
{
	struct pst_tcp *tcp;
	struct hold *h;
	uint32_t index;
	int ret;

	if (c == NULL || (h = hold_get(c, id)) == NULL)
		return pst_fail(EINVAL, "keep held: no such hold");
	tcp = c->tcp;
	ret = held_index(tcp, h, &index);
	if (ret != 0)
		return ret;
	/* A shared buffer may be kept already, through another of its holds. */
	if (!pst_pool_buf_kept(tcp->pool, index)) {
		ret = pst_pool_keep(tcp->pool, index);
		if (ret != 0)
			return ret;
	}
	return held_kept(c, h, index);
}

/* Holds kept per pst_pool_keep_many() call: a value's buffers go in a few
 * calls without an allocation. */
#define KEEP_BATCH 64

int
pst_conn_keep_held_many(struct pst_conn *c, const uint32_t *ids, unsigned int n,
			unsigned int *kept)
{
	uint32_t index[KEEP_BATCH], fresh[KEEP_BATCH];
	struct hold *h[KEEP_BATCH];
	unsigned int done = 0, k, m, i;
	struct pst_tcp *tcp;
	int ret = 0;

	if (kept != NULL)
		*kept = 0;
	if (c == NULL || kept == NULL || (ids == NULL && n > 0))
		return pst_fail(EINVAL, "keep held many: NULL argument");
	tcp = c->tcp;
	while (done < n) {
		k = n - done < KEEP_BATCH ? n - done : KEEP_BATCH;
		for (i = 0, m = 0; i < k; i++) {
			h[i] = hold_get(c, ids[done + i]);
			if (h[i] == NULL)
				return pst_fail(EINVAL, "keep held many: no such hold (#%u)",
						done + i);
			ret = held_index(tcp, h[i], &index[i]);
			if (ret != 0)
				return ret;
			/* A shared buffer may be kept already (pst_pool_keep_many
			 * keeps one listed twice once). */
			if (!pst_pool_buf_kept(tcp->pool, index[i]))
				fresh[m++] = index[i];
		}
		ret = pst_pool_keep_many(tcp->pool, fresh, m);
		if (ret != 0)
			return ret;
		for (i = 0; i < k; i++) {
			ret = held_kept(c, h[i], index[i]);
			if (ret != 0)
				return ret; /* kept, but neither pinned nor counted */
			*kept = ++done;
		}
	}
	return 0;
}

/* tcp_write() sizes segments at most half the largest window the peer
 * ever offered, except that below a window of 2 (half of it 0) lwIP 2.1.3
 * falls back to the whole MSS: a peer that opened with a window of 1 and
 * later offered 6 left a 73-byte segment queued where now 3 are allowed,
 * and the next write asserted "mss_local is too small" (its free-space
 * arithmetic would wrap). Found by the frames fuzz target. Counting such a
 * window as 2 keeps the sizing monotonic: 1-byte segments, as the half
 * rule means. lwIP reads snd_wnd_max for this sizing only. */
static err_t
enqueue(struct tcp_pcb *pcb, const void *data, u16_t len, u8_t flags)
{
	if (pcb->snd_wnd_max < 2)
		pcb->snd_wnd_max = 2;
	return tcp_write(pcb, data, len, flags);
}

/* Copies go into segments built by tcp_zc.c (tcp_write's segments, its
 * pbufs from a free list, without its per-call generality); tcp_write
 * where those do not apply (an MSS wider than their pbufs). */
static err_t
copy_in(struct tcp_pcb *pcb, const struct iovec *pc, unsigned int n, u16_t len)
{
	unsigned int i;
	size_t at = 0;
	u8_t *all;
	err_t err;

	if (pcb->snd_wnd_max < 2)
		pcb->snd_wnd_max = 2; /* as enqueue() */
	err = pst_tcp_append_copy(pcb, pc, n, len);
	if (err != ERR_VAL)
		return err;
	if (n == 1)
		return enqueue(pcb, pc[0].iov_base, len, TCP_WRITE_FLAG_COPY);
	/* (lwIP caps the MSS at TCP_MSS, so not expected.) Several pieces
	 * gathered first, so that tcp_write takes them all or nothing. */
	all = malloc(len);
	if (all == NULL)
		return ERR_MEM;
	for (i = 0; i < n; i++) {
		memcpy(all + at, pc[i].iov_base, pc[i].iov_len);
		at += pc[i].iov_len;
	}
	err = enqueue(pcb, all, len, TCP_WRITE_FLAG_COPY);
	free(all);
	return err;
}

/* What copy_in()'s @err means for a send of @len bytes (@what: the
 * caller's name in its errors). */
static long
copied(struct pst_conn *c, err_t err, size_t len, const char *what)
{
	if (err == ERR_MEM) {
		c->stats.send_eagain++;
		block(c);
		return pst_fail(EAGAIN, "%s: send queue full", what);
	}
	if (err != ERR_OK)
		return pst_fail(-pst_lwip_errno(err), "%s: %s", what,
				pst_strerror(pst_lwip_errno(err)));
	c->stats.bytes_sent += len;
	output(c);
	return (long)len;
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
	if (len == 0 || queue_full(c)) {
		c->stats.send_eagain++;
		return pst_fail(EAGAIN, "send: send buffer full");
	}
	err = copy_in(c->pcb, &(struct iovec){ (void *)(uintptr_t)data, len }, 1, (u16_t)len);
	return copied(c, err, len, "send");
}

long
pst_conn_sendv(struct pst_conn *c, const struct iovec *iov, unsigned int n)
{
	size_t len = 0;
	unsigned int i;
	err_t err;

	if (c == NULL || (iov == NULL && n > 0) || n > PST_SENDV_MAX)
		return pst_fail(EINVAL, "sendv: NULL argument or too many pieces");
	if (c->pcb == NULL || c->gone || !c->established)
		return pst_fail(ENOTCONN, "sendv: connection is not open");
	for (i = 0; i < n; i++) {
		if (iov[i].iov_len > UINT16_MAX || (iov[i].iov_base == NULL && iov[i].iov_len > 0))
			return pst_fail(EINVAL, "sendv: NULL or long piece");
		len += iov[i].iov_len;
	}
	if (len > UINT16_MAX)
		return pst_fail(EINVAL, "sendv: over 65535 bytes");
	if (len == 0)
		return 0;
	if (tcp_sndbuf(c->pcb) < len || queue_full(c)) {
		c->stats.send_eagain++;
		return pst_fail(EAGAIN, "sendv: send buffer full");
	}
	err = copy_in(c->pcb, iov, n, (u16_t)len);
	return copied(c, err, len, "sendv");
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

/* One name sent; @run_last: the unsent queue's last segment within a run
 * of names (pst_tcp_append_ref_run), NULL-initialised by the caller. */
static long
send_name(struct pst_conn *c, pst_name name, struct tcp_seg **run_last)
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
	if (tcp_sndbuf(c->pcb) < len || queue_full(c)) {
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
	/* Referenced in place (PBUF_ROM), with tcp_write's segments but not
	 * its per-call work (tcp_zc.c). */
	if (c->pcb->snd_wnd_max < 2)
		c->pcb->snd_wnd_max = 2; /* as enqueue() */
	err = pst_tcp_append_ref_run(c->pcb, data, len, run_last);
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

long
pst_conn_send_name(struct pst_conn *c, pst_name name)
{
	struct tcp_seg *last = NULL;

	return send_name(c, name, &last);
}

long
pst_conn_send_names(struct pst_conn *c, const pst_name *names, unsigned int n)
{
	unsigned int i;
	int in_cb;
	struct tcp_seg *last = NULL;
	long r = 0;

	if (c == NULL || (names == NULL && n > 0))
		return pst_fail(EINVAL, "send_names: NULL argument");
	/* Inside the run, output waits as it does inside a callback: the
	 * names' segments leave together, after the last one, and nothing
	 * touches the unsent queue between them, so the queue's last segment
	 * is found once for the run. */
	in_cb = c->in_cb;
	c->in_cb = 1;
	for (i = 0; i < n; i++) {
		r = send_name(c, names[i], &last);
		if (r < 0)
			break;
	}
	c->in_cb = in_cb;
	if (i > 0 && c->pcb != NULL)
		output(c);
	return i > 0 || n == 0 ? (long)i : r;
}

int
pst_conn_stats(const struct pst_conn *c, struct pst_conn_stats *stats)
{
	if (c == NULL || stats == NULL)
		return pst_fail(EINVAL, "conn stats: NULL argument");
	*stats = c->stats;
	stats->window_granted = c->granted;
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

/* Close now: the application's close outside a callback, or the poll's
 * for a close deferred from one. */
static void
conn_close_now(struct pst_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	conn_detach(c);
	c->pcb = NULL;
	if (pcb != NULL) {
		/* lwIP resets a connection closed with window it never
		 * reopened (unconsumed data): give it all back, this close is
		 * graceful. */
		pcb->rcv_wnd = TCP_WND_MAX(pcb);
		if (tcp_close(pcb) != ERR_OK) {
			/* Out of memory for the FIN: reset instead of leaking. */
			tcp_abort(pcb);
			pcb = NULL;
		}
	}
	if (pcb != NULL && c->zc_len > 0) {
		/* Bytes sent by name are still unacknowledged: stay until they
		 * are, to unpin their buffers (or until lwIP gives up). */
		linger(c, pcb);
		return;
	}
	conn_free(c);
}

int
pst_conn_close(struct pst_conn *c)
{
	if (c == NULL)
		return pst_fail(EINVAL, "close: NULL connection");
	if (c->deferred || c->gone)
		return 0;
	/* Its holds end now (the application forgets their ids). */
	window_retire(c);
	if (c->in_cb && c->pcb != NULL) {
		/* Inside lwIP's processing of this connection's segment, which
		 * may still carry data or a FIN for it: closing under lwIP's
		 * feet reset the connection (or, before windows were settled,
		 * leaked the segment and a lingering connection). The poll
		 * closes it once lwIP is done; until then it takes no more
		 * callbacks. */
		c->deferred = 1;
		c->close_next = c->tcp->closing;
		c->tcp->closing = c;
		return 0;
	}
	if (c->in_cb) {
		c->gone = 1; /* its PCB is gone: freed when the callback returns */
		return 0;
	}
	conn_close_now(c);
	return 0;
}

void
pst_tcp_close_deferred(struct pst_tcp *tcp)
{
	struct pst_conn *c;

	while ((c = tcp->closing) != NULL) {
		tcp->closing = c->close_next;
		c->deferred = 0;
		conn_close_now(c);
	}
}

void
pst_conn_abort(struct pst_conn *c)
{
	if (c == NULL)
		return;
	conn_detach(c);
	window_retire(c);
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
pst_tcp_open(struct pst_pool *pool, const struct pst_stack_config *cfg)
{
	struct pst_tcp *tcp = calloc(1, sizeof(*tcp));
	struct pst_pool_stats ps;
	struct pst_pool_info pi;
	uint64_t reserve, budget, per_conn;

	if (tcp == NULL || pst_pool_info(pool, &pi) != 0 || pst_pool_stats(pool, &ps) != 0) {
		free(tcp);
		pst_fail(ENOMEM, "stack: out of memory");
		return NULL;
	}
	tcp->pool = pool;
	tcp->buf_size = pi.buf_size;
	tcp->buf_count = (uint32_t)pi.buf_count;
	tcp->gather_below = pi.buf_size / GATHER_DIV;
	if (tcp->gather_below > TCP_MSS)
		tcp->gather_below = TCP_MSS;
	tcp->g_index = UINT32_MAX;
	tcp->g_refs = calloc(tcp->buf_count, sizeof(*tcp->g_refs));
	if (tcp->g_refs == NULL) {
		free(tcp);
		pst_fail(ENOMEM, "stack: out of memory");
		return NULL;
	}
	/* Budgets in buffers; a held window byte costs at most a buffer per
	 * gather_below bytes (smaller segments are copied when held). */
	reserve = cfg->rx_reserve ? cfg->rx_reserve : ps.free / 8;
	budget = ps.free > reserve ? ps.free - reserve : 0;
	tcp->base_free = ps.free;
	tcp->base_store = ps.kept + ps.releasing;
	tcp->reserve = reserve;
	per_conn = cfg->conn_rx_buffers ? cfg->conn_rx_buffers : budget / 16;
	if (per_conn == 0)
		per_conn = 1;
	tcp->budget = (int64_t)(budget * tcp->gather_below);
	tcp->credit = tcp->budget;
	tcp->conn_wnd = per_conn * tcp->gather_below > TCP_WND ? TCP_WND
		      : (uint32_t)(per_conn * tcp->gather_below);
	share_update(tcp);
	tcp->zw_timeout = cfg->zero_window_timeout_ms < 0 ? 0
			: cfg->zero_window_timeout_ms > 0 ? (uint32_t)cfg->zero_window_timeout_ms
			: ZW_DEFAULT_MS;
	tcp->ap_window = cfg->ack_progress_ms < 0 ? 0
		       : cfg->ack_progress_ms > 0 ? (uint32_t)cfg->ack_progress_ms
		       : AP_DEFAULT_MS;
	tcp->ap_rate = cfg->ack_progress_min_rate ? cfg->ack_progress_min_rate : AP_DEFAULT_RATE;
	return tcp;
}

void
pst_tcp_stats(const struct pst_tcp *tcp, struct pst_stack_stats *st)
{
	st->rx_held_bytes = tcp->held_bytes;
	st->rx_gathered = tcp->gathered;
	st->rx_window_credit = tcp->credit;
	st->tcp_zero_window_aborts = tcp->zw_aborts;
	st->tcp_ack_progress_aborts = tcp->ap_aborts;
}

void
pst_tcp_close(struct pst_tcp *tcp)
{
	if (tcp == NULL)
		return;
	if (tcp->zw_timer)
		sys_untimeout(tcp_tick, tcp);
	pst_tcp_abort_all(tcp);
	gather_retire(tcp, &tcp->g_index);
	free(tcp->g_refs);
	free(tcp->segs);
	free(tcp);
}

/* Abort every connection: a reset to each peer, then its error callback,
 * which frees it. */
static void
abort_connections(struct pst_tcp *tcp)
{
	struct tcp_pcb *pcb, *next;

	pst_tcp_close_deferred(tcp);
	for (pcb = tcp_active_pcbs; pcb != NULL; pcb = next) {
		next = pcb->next;
		tcp_abort(pcb);
	}
	for (pcb = tcp_tw_pcbs; pcb != NULL; pcb = next) {
		next = pcb->next;
		tcp_abort(pcb);
	}
}

void
pst_tcp_abort_all(struct pst_tcp *tcp)
{
	struct pst_listener *l;

	abort_connections(tcp);
	while (tcp_listen_pcbs.listen_pcbs != NULL) {
		struct tcp_pcb_listen *lpcb = tcp_listen_pcbs.listen_pcbs;

		free(lpcb->callback_arg); /* the pst_listener */
		tcp_arg((struct tcp_pcb *)lpcb, NULL);
		tcp_close((struct tcp_pcb *)lpcb);
	}
	while ((l = tcp->stopped) != NULL) {
		tcp->stopped = l->next_stopped;
		free(l);
	}
}

void
pst_tcp_fail_stop(struct pst_tcp *tcp)
{
	abort_connections(tcp);
	/* Closed, lwIP answers a SYN with a reset; the objects stay the
	 * application's, which may still pst_listener_close() them. */
	while (tcp_listen_pcbs.listen_pcbs != NULL) {
		struct tcp_pcb_listen *lpcb = tcp_listen_pcbs.listen_pcbs;
		struct pst_listener *l = lpcb->callback_arg;

		tcp_arg((struct tcp_pcb *)lpcb, NULL);
		tcp_accept((struct tcp_pcb *)lpcb, NULL);
		tcp_close((struct tcp_pcb *)lpcb);
		if (l == NULL)
			continue;
		l->pcb = NULL;
		l->next_stopped = tcp->stopped;
		tcp->stopped = l;
	}
}
