/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Header prediction (tcp_fast.c) against lwIP's own input. Two PCBs start
 * alike and take the same random segments through ip4_input(), one with
 * the prediction off (lwIP's tcp_process() for every segment), one with
 * it on: in-sequence data (most of them), with and without PSH and
 * timestamps, window changes, old and future ACKs, duplicates, segments
 * ahead of the expected one (lwIP's out-of-order queue, then the hole
 * filled), segments over the window, FIN, URG, pure ACKs, the window
 * reopened by the application at random, a receive callback that refuses
 * data now and then. After every segment both PCBs hold the same state,
 * both applications received the same bytes, and lwIP asserted nothing.
 * The segments the prediction took are counted, so the test also fails
 * when it never runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lwip/init.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/tcp.h"

#include "stack_internal.h"
#include "tcp_input_hook.h"

#include "sys_arch_stats.h"

#define LOCAL_IP 0x0a000001u  /* 10.0.0.1 */
#define REMOTE_IP 0x0a000002u /* 10.0.0.2 */
#define STEPS 3000
#define MAX_DATA 1460

static struct pst_stack st; /* its netif and output batch only */
static unsigned int seed = 12345;

struct app {
	uint8_t got[STEPS * 64];
	size_t n_got;
	int refuse; /* refuse the next delivery */
	int recv_calls;
};

static struct app apps[2];

static unsigned int
rnd(unsigned int n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

static err_t
out_none(struct netif *nif, struct pbuf *p, const ip4_addr_t *dst)
{
	(void)nif;
	(void)p;
	(void)dst;
	return ERR_OK;
}

static err_t
nif_init(struct netif *nif)
{
	nif->output = out_none;
	nif->mtu = 1500;
	nif->flags = NETIF_FLAG_UP | NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

/* Keeps a digest of the bytes (their sum and length) per delivery, as
 * paste's own callback frees the chain. */
static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct app *a = &apps[pcb->remote_port - 40000];
	struct pbuf *q;

	(void)arg;
	(void)err;
	if (p == NULL)
		return ERR_OK;
	if (a->refuse) {
		a->refuse = 0;
		return ERR_MEM;
	}
	a->recv_calls++;
	for (q = p; q != NULL; q = q->next) {
		size_t room = sizeof(a->got) - a->n_got;
		size_t n = q->len < room ? q->len : room;

		memcpy(a->got + a->n_got, q->payload, n);
		a->n_got += n;
	}
	pbuf_free(p);
	return ERR_OK;
}

/* No callback argument: paste's out-of-order limit reads it as its
 * connection (none: one buffer out of order). */
static struct tcp_pcb *
pcb_make(u16_t remote_port)
{
	struct tcp_pcb *pcb = tcp_new();

	assert_non_null(pcb);
	ip_addr_set_ip4_u32(&pcb->local_ip, lwip_htonl(LOCAL_IP));
	ip_addr_set_ip4_u32(&pcb->remote_ip, lwip_htonl(REMOTE_IP));
	pcb->local_port = 6379;
	pcb->remote_port = remote_port;
	pcb->state = ESTABLISHED;
	pcb->mss = 1460;
	pcb->rcv_nxt = 5000;
	pcb->rcv_wnd = 8192;
	pcb->rcv_ann_wnd = 8192;
	pcb->rcv_ann_right_edge = 5000 + 8192;
	pcb->snd_nxt = 9000;
	pcb->lastack = 9000;
	pcb->snd_lbb = 9000;
	pcb->snd_wnd = 20000;
	pcb->snd_wl1 = 4000;
	pcb->snd_wl2 = 9000;
	pcb->ts_lastacksent = 5000;
	tcp_set_flags(pcb, TF_TIMESTAMP);
	tcp_recv(pcb, on_recv);
	TCP_REG_ACTIVE(pcb);
	return pcb;
}

/* An IPv4 segment to port 6379 from @sport: @opts timestamps or none. */
static struct pbuf *
frame(u16_t sport, u32_t seq, u32_t ack, u8_t flags, u16_t wnd, int ts, u32_t tsval,
      const uint8_t *data, u16_t len)
{
	u16_t thl = ts ? 32 : 20, tot = (u16_t)(IP_HLEN + thl + len);
	struct pbuf *p = pbuf_alloc(PBUF_RAW, tot, PBUF_RAM);
	uint8_t *b;
	struct ip_hdr *ip;
	ip_addr_t src, dst;

	assert_non_null(p);
	b = p->payload;
	memset(b, 0, IP_HLEN + thl);
	ip = (struct ip_hdr *)b;
	IPH_VHL_SET(ip, 4, IP_HLEN / 4);
	IPH_LEN_SET(ip, lwip_htons(tot));
	IPH_TTL_SET(ip, 64);
	IPH_PROTO_SET(ip, IP_PROTO_TCP);
	ip->src.addr = lwip_htonl(REMOTE_IP);
	ip->dest.addr = lwip_htonl(LOCAL_IP);
	IPH_CHKSUM_SET(ip, inet_chksum(ip, IP_HLEN));
	b += IP_HLEN;
	b[0] = (uint8_t)(sport >> 8);
	b[1] = (uint8_t)sport;
	b[2] = 6379 >> 8;
	b[3] = 6379 & 0xff;
	b[4] = (uint8_t)(seq >> 24);
	b[5] = (uint8_t)(seq >> 16);
	b[6] = (uint8_t)(seq >> 8);
	b[7] = (uint8_t)seq;
	b[8] = (uint8_t)(ack >> 24);
	b[9] = (uint8_t)(ack >> 16);
	b[10] = (uint8_t)(ack >> 8);
	b[11] = (uint8_t)ack;
	b[12] = (uint8_t)((thl / 4) << 4);
	b[13] = flags;
	b[14] = (uint8_t)(wnd >> 8);
	b[15] = (uint8_t)wnd;
	if (ts) {
		b[20] = 1;
		b[21] = 1;
		b[22] = 8;
		b[23] = 10;
		b[24] = (uint8_t)(tsval >> 24);
		b[25] = (uint8_t)(tsval >> 16);
		b[26] = (uint8_t)(tsval >> 8);
		b[27] = (uint8_t)tsval;
	}
	memcpy(b + thl, data, len);
	ip_addr_set_ip4_u32(&src, lwip_htonl(REMOTE_IP));
	ip_addr_set_ip4_u32(&dst, lwip_htonl(LOCAL_IP));
	p->payload = b;
	p->len = p->tot_len = (u16_t)(thl + len);
	{
		u16_t sum = ip_chksum_pseudo(p, IP_PROTO_TCP, p->tot_len, &src, &dst);

		memcpy(b + 16, &sum, 2); /* lwIP's sums are stored as they are */
	}
	p->payload = b - IP_HLEN;
	p->len = p->tot_len = tot;
	return p;
}

static void
assert_same(const struct tcp_pcb *a, const struct tcp_pcb *b)
{
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->rcv_nxt, b->rcv_nxt);
	assert_int_equal(a->rcv_wnd, b->rcv_wnd);
	assert_int_equal(a->rcv_ann_wnd, b->rcv_ann_wnd);
	assert_int_equal(a->rcv_ann_right_edge, b->rcv_ann_right_edge);
	assert_int_equal(a->snd_wnd, b->snd_wnd);
	assert_int_equal(a->snd_wnd_max, b->snd_wnd_max);
	assert_int_equal(a->snd_wl1, b->snd_wl1);
	assert_int_equal(a->snd_wl2, b->snd_wl2);
	assert_int_equal(a->snd_nxt, b->snd_nxt);
	assert_int_equal(a->lastack, b->lastack);
	assert_int_equal(a->dupacks, b->dupacks);
	assert_int_equal(a->tmr, b->tmr);
	assert_int_equal(a->keep_cnt_sent, b->keep_cnt_sent);
	assert_int_equal(a->persist_probe, b->persist_probe);
	assert_int_equal(a->ts_recent, b->ts_recent);
	assert_int_equal(a->rttest, b->rttest);
	assert_int_equal(a->rto, b->rto);
	assert_int_equal(a->cwnd, b->cwnd);
	assert_int_equal(a->ooseq == NULL, b->ooseq == NULL);
	assert_int_equal(a->refused_data == NULL, b->refused_data == NULL);
	if (a->refused_data != NULL)
		assert_int_equal(a->refused_data->tot_len, b->refused_data->tot_len);
	assert_memory_equal(a->rcv_sacks, b->rcv_sacks, sizeof(a->rcv_sacks));
	assert_int_equal(apps[0].n_got, apps[1].n_got);
	assert_memory_equal(apps[0].got, apps[1].got, apps[0].n_got);
	assert_int_equal(apps[0].recv_calls, apps[1].recv_calls);
}

static void
test_same_as_lwip(void **state)
{
	static uint8_t data[MAX_DATA + 64]; /* a segment starts up to 63 bytes in */
	struct tcp_pcb *pcb[2];
	unsigned int step, taken = 0, i;
	u32_t seq = 5000, tsval = 100;
	ip4_addr_t ip, mask, gw;

	(void)state;
	lwip_init();
	IP4_ADDR(&ip, 10, 0, 0, 1);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	IP4_ADDR(&gw, 0, 0, 0, 0);
	assert_non_null(netif_add(&st.netif, &ip, &mask, &gw, NULL, nif_init, ip4_input));
	netif_set_default(&st.netif);
	netif_set_up(&st.netif);
	netif_set_link_up(&st.netif);
	st.batch.batching = 1; /* replies wait, as inside a receive burst */
	memset(apps, 0, sizeof(apps));
	pcb[0] = pcb_make(40000);
	pcb[1] = pcb_make(40001);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 7);

	for (step = 0; step < STEPS; step++) {
		unsigned int kind = rnd(100);
		u32_t s = seq, ack = 9000;
		u16_t len = (u16_t)(1 + rnd(64)), wnd = 20000;
		u8_t flags = TCP_ACK | (rnd(2) ? TCP_PSH : 0);
		int ts = rnd(4) != 0, refuse = rnd(40) == 0;

		tsval += rnd(3);
		if (kind < 8)
			wnd = (u16_t)(19000 + rnd(3000));     /* window moves */
		else if (kind < 11)
			ack = 9000 - 1 - rnd(100);           /* an old ACK */
		else if (kind < 13)
			ack = 9001 + rnd(100);               /* ACKs what was never sent */
		else if (kind < 18)
			s = seq + 1 + rnd(200);              /* ahead: out of order */
		else if (kind < 21)
			s = seq - rnd(100) - 1;              /* a duplicate, or overlapping */
		else if (kind < 23)
			len = (u16_t)(pcb[0]->rcv_wnd + 1 + rnd(50) > MAX_DATA ?
				      MAX_DATA : pcb[0]->rcv_wnd + 1 + rnd(50)); /* over */
		else if (kind < 25)
			len = 0;                             /* a pure ACK */
		else if (kind < 26)
			flags |= TCP_URG;
		else if (kind < 27 && step > STEPS - 50)
			flags |= TCP_FIN;
		for (i = 0; i < 2; i++) {
			struct pbuf *p = frame((u16_t)(40000 + i), s, ack, flags, wnd, ts,
					       tsval, data + (step % 64), len);

			apps[i].refuse = refuse;
			pst_tcp_fast_on = (int)i;
			if (i == 1 && pst_tcp_fast_ok(pcb[1], s, ack, len, flags))
				taken++;
			assert_int_equal(ip4_input(p, &st.netif), ERR_OK);
		}
		pst_tcp_fast_on = 1;
		assert_same(pcb[0], pcb[1]);
		/* Keep the stream moving: the expected sequence number. */
		seq = pcb[0]->rcv_nxt;
		/* The application reopens the window now and then. */
		if (rnd(3) == 0) {
			u16_t n = (u16_t)(TCP_WND_MAX(pcb[0]) - pcb[0]->rcv_wnd);

			n = (u16_t)rnd(n + 1u);
			tcp_recved(pcb[0], n);
			tcp_recved(pcb[1], n);
			assert_same(pcb[0], pcb[1]);
		}
		/* The timers tick now and then (tmr, delayed ACK). */
		if (rnd(20) == 0)
			tcp_ticks++;
		if (pcb[0]->state != ESTABLISHED)
			break;
	}
	print_message("%u steps, %u predicted, %d deliveries, %zu bytes\n", step, taken,
		      apps[1].recv_calls, apps[1].n_got);
	/* Most segments were the predicted kind, and were taken. */
	assert_true(taken > step / 2);
	assert_true(apps[1].recv_calls > 0);
	assert_int_equal(pst_lwip_assert_count(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_lwip),
	};

	return cmocka_run_group_tests_name("tcp_fast", tests, NULL, NULL);
}
