/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pst_tcp_append_ref and pst_tcp_append_copy (tcp_zc.c) against lwIP's
 * tcp_write: two connections (lwIP PCBs, no network) take the same random
 * writes, through tcp_write on one and, on the other, references through
 * pst_tcp_append_ref and copies through pst_tcp_append_copy (in up to
 * three pieces) or, now and then, tcp_write, with lwIP's own segment splits and
 * acknowledgements of the head segment in between. After every step both
 * unsent queues hold the same segments (lengths, sequence numbers, flags,
 * header lengths, bytes) and the one built here keeps lwIP's accounting
 * (queue length in pbufs, send buffer, last byte queued) with no lwIP
 * assertion failed; referenced bytes are referenced, never copied.
 * Runs of references go through pst_tcp_append_ref_run too, which must
 * build the same queue and name its real last segment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lwip/init.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "sys_arch_stats.h"
#include "tcp_zc.h"

enum { SRC_LEN = 64 * 1024, STEPS = 400 };

static uint8_t src[SRC_LEN];   /* referenced bytes: a pool buffer's */
static uint8_t copy_src[4096]; /* copied bytes */
static unsigned int seed;

static unsigned int
rnd(unsigned int n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

static int
setup_lwip(void **state)
{
	static int done;
	size_t i;

	(void)state;
	if (!done) {
		lwip_init();
		done = 1;
	}
	for (i = 0; i < SRC_LEN; i++)
		src[i] = (uint8_t)(i * 7 + (i >> 8));
	for (i = 0; i < sizeof(copy_src); i++)
		copy_src[i] = (uint8_t)(0xa5 ^ i);
	return 0;
}

static struct tcp_pcb *
pcb_make(u16_t mss, u32_t wnd_max, int ts)
{
	struct tcp_pcb *pcb = tcp_new();

	assert_non_null(pcb);
	pcb->state = ESTABLISHED;
	pcb->mss = mss;
	pcb->snd_wnd_max = wnd_max;
	pcb->snd_lbb = 1000;
	pcb->local_port = 6379;
	pcb->remote_port = 40000;
	if (ts)
		tcp_set_flags(pcb, TF_TIMESTAMP);
	return pcb;
}

static void
pcb_drop(struct tcp_pcb *pcb)
{
	tcp_segs_free(pcb->unsent);
	pcb->unsent = NULL;
	pcb->state = CLOSED;
	tcp_free(pcb);
}

/* The data bytes of @seg (after its TCP header and options). */
static void
seg_bytes(const struct tcp_seg *seg, uint8_t *out)
{
	u16_t got = pbuf_copy_partial(seg->p, out, seg->len,
				      (u16_t)(seg->p->tot_len - seg->len));

	assert_int_equal(got, seg->len);
}

/* Both queues the same, @b's accounting lwIP's. */
static void
compare(const struct tcp_pcb *a, const struct tcp_pcb *b)
{
	static uint8_t ba[2048], bb[2048];
	const struct tcp_seg *sa = a->unsent, *sb = b->unsent;
	u16_t qlen = 0;

	for (; sa != NULL && sb != NULL; sa = sa->next, sb = sb->next) {
		assert_int_equal(sa->len, sb->len);
		assert_int_equal(sa->flags, sb->flags);
		assert_int_equal(sa->tcphdr->seqno, sb->tcphdr->seqno);
		assert_int_equal(sa->tcphdr->_hdrlen_rsvd_flags, sb->tcphdr->_hdrlen_rsvd_flags);
		assert_int_equal(sb->tcphdr->src, sa->tcphdr->src);
		assert_int_equal(sb->tcphdr->dest, sa->tcphdr->dest);
		assert_ptr_equal(sb->tcphdr, sb->p->payload);
		assert_int_equal(sb->p->tot_len,
				 TCP_HLEN + LWIP_TCP_OPT_LENGTH(sb->flags) + sb->len);
		assert_true(sb->len <= sizeof(bb));
		seg_bytes(sa, ba);
		seg_bytes(sb, bb);
		assert_memory_equal(ba, bb, sa->len);
		qlen = (u16_t)(qlen + pbuf_clen(sb->p));
	}
	assert_null(sa);
	assert_null(sb);
	assert_int_equal(qlen, b->snd_queuelen);
	assert_int_equal(a->snd_lbb, b->snd_lbb);
	assert_int_equal(a->snd_buf, b->snd_buf);
	assert_int_equal(pst_lwip_assert_count(), 0);
}

/* The head segment acknowledged (what tcp_receive does with it). */
static void
ack_head(struct tcp_pcb *pcb)
{
	struct tcp_seg *seg = pcb->unsent;

	pcb->unsent = seg->next;
	if (pcb->unsent == NULL)
		pcb->unsent_oversize = 0;
	pcb->snd_queuelen = (u16_t)(pcb->snd_queuelen - pbuf_clen(seg->p));
	pcb->snd_buf += seg->len;
	tcp_seg_free(seg);
}

static void
run(u16_t mss, u32_t wnd_max, int ts, unsigned int seed0)
{
	struct tcp_pcb *a = pcb_make(mss, wnd_max, ts), *b = pcb_make(mss, wnd_max, ts);
	struct tcp_seg *run_last = NULL, *last;
	unsigned int step, next_ref = 0;

	seed = seed0;
	for (step = 0; step < STEPS; step++) {
		unsigned int op = rnd(16), off;
		u16_t len;

		/* Acknowledged now and then, as a peer would, so the queue
		 * stays under lwIP's limit of pbufs however small the
		 * segments are. */
		while (b->snd_queuelen > 600) {
			ack_head(a);
			ack_head(b);
			run_last = NULL; /* a run ends where anything else runs */
		}

		if (op < 5) {
			len = (u16_t)(1 + rnd(op == 0 ? 3000 : 200));
			off = rnd(sizeof(copy_src) - 3000);
			assert_int_equal(tcp_write(a, copy_src + off, len, TCP_WRITE_FLAG_COPY), ERR_OK);
			if (op == 4) {
				/* lwIP's own copy on the built queue too: it
				 * fills the room the builder announced */
				assert_int_equal(tcp_write(b, copy_src + off, len,
							   TCP_WRITE_FLAG_COPY), ERR_OK);
			} else {
				/* the same bytes as up to three pieces */
				struct iovec pc[3];
				u16_t c1 = (u16_t)rnd(len + 1u), c2 = (u16_t)rnd(len - c1 + 1u);

				pc[0] = (struct iovec){ copy_src + off, c1 };
				pc[1] = (struct iovec){ copy_src + off + c1, c2 };
				pc[2] = (struct iovec){ copy_src + off + c1 + c2,
							(size_t)(len - c1 - c2) };
				assert_int_equal(pst_tcp_append_copy(b, pc, 3, len), ERR_OK);
			}
		} else if (op < 12) {
			len = (u16_t)(1 + rnd(op == 5 ? 9000 : 1500));
			/* Often the bytes right after the last reference (a
			 * value's next piece in the same buffer): widened. */
			off = op < 8 && next_ref + len <= SRC_LEN ? next_ref
								  : rnd(SRC_LEN - len);
			assert_int_equal(tcp_write(a, src + off, len, 0), ERR_OK);
			if (rnd(3) != 0) {
				assert_int_equal(pst_tcp_append_ref_run(b, src + off, len,
									&run_last), ERR_OK);
				for (last = b->unsent; last->next != NULL; last = last->next)
					;
				assert_ptr_equal(run_last, last);
			} else {
				assert_int_equal(pst_tcp_append_ref(b, src + off, len), ERR_OK);
				run_last = NULL;
			}
			next_ref = off + len;
			compare(a, b);
			continue;
		} else if (op < 14) {
			u16_t split;

			if (a->unsent == NULL || a->unsent->len < 2)
				continue;
			split = (u16_t)(1 + rnd(a->unsent->len - 1u));
			assert_int_equal(tcp_split_unsent_seg(a, split), ERR_OK);
			assert_int_equal(tcp_split_unsent_seg(b, split), ERR_OK);
		} else {
			if (a->unsent == NULL)
				continue;
			ack_head(a);
			ack_head(b);
		}
		run_last = NULL;
		compare(a, b);
	}
	pcb_drop(a);
	pcb_drop(b);
}

static void
test_like_tcp_write(void **state)
{
	(void)state;
	run(1460, 4 * 1024 * 1024, 1, 1);
	run(1460, 4 * 1024 * 1024, 0, 2);
	run(536, 65535, 1, 3);
	/* Half the largest window offered is smaller than the MSS. */
	run(1460, 1000, 1, 4);
	run(1460, 300, 0, 5);
}

/* References stay references: every data pbuf of a queue built only by
 * pst_tcp_append_ref points into the referenced bytes, and a piece that
 * follows the last one in memory widens it instead of adding a pbuf. */
static void
test_references_in_place(void **state)
{
	struct tcp_pcb *b = pcb_make(1460, 4 * 1024 * 1024, 1);
	const struct tcp_seg *seg;
	const struct pbuf *q;
	u16_t before;

	(void)state;
	assert_int_equal(pst_tcp_append_ref(b, src + 100, 1000), ERR_OK);
	before = b->snd_queuelen;
	assert_int_equal(pst_tcp_append_ref(b, src + 1100, 200), ERR_OK);
	assert_int_equal(b->snd_queuelen, before);   /* widened */
	assert_int_equal(pst_tcp_append_ref(b, src + 5000, 200), ERR_OK);
	assert_int_equal(b->snd_queuelen, before + 1); /* one reference more */
	assert_int_equal(pst_tcp_append_ref(b, src + 9000, 5000), ERR_OK);
	for (seg = b->unsent; seg != NULL; seg = seg->next)
		for (q = seg->p->next; q != NULL; q = q->next) {
			assert_true((const uint8_t *)q->payload >= src);
			assert_true((const uint8_t *)q->payload + q->len <= src + SRC_LEN);
		}
	/* The last segment is pushed. */
	for (seg = b->unsent; seg->next != NULL; seg = seg->next)
		;
	assert_int_equal(TCPH_FLAGS(seg->tcphdr) & TCP_PSH, TCP_PSH);
	pcb_drop(b);
}

/* Nothing queued and nothing changed when the bytes do not fit or the
 * connection does not send. */
static void
test_refusals(void **state)
{
	struct tcp_pcb *b = pcb_make(1460, 4 * 1024 * 1024, 1);
	struct tcp_seg *last;
	u32_t lbb;

	(void)state;
	assert_int_equal(pst_tcp_append_ref(b, src, 3000), ERR_OK);
	lbb = b->snd_lbb;
	b->snd_buf = 100;
	assert_int_equal(pst_tcp_append_ref(b, src, 101), ERR_MEM);
	assert_int_equal(b->snd_lbb, lbb);
	assert_int_equal(b->snd_buf, 100);
	last = b->unsent->next;
	assert_int_equal(pst_tcp_append_ref_run(b, src, 101, &last), ERR_MEM);
	assert_ptr_equal(last, b->unsent->next); /* a refusal leaves it */
	assert_int_equal(b->snd_lbb, lbb);
	b->snd_buf = TCP_SND_BUF;
	b->snd_queuelen = TCP_SND_QUEUELEN;
	assert_int_equal(pst_tcp_append_ref(b, src, 10), ERR_MEM);
	b->snd_queuelen = 4; /* 3000 bytes: two segments of two pbufs */
	b->state = FIN_WAIT_1;
	assert_int_equal(pst_tcp_append_ref(b, src, 10), ERR_CONN);
	b->state = ESTABLISHED;
	assert_int_equal(pst_tcp_append_ref(b, src, 0), ERR_OK);
	assert_int_equal(b->snd_lbb, lbb);
	assert_int_equal(pst_lwip_assert_count(), 0);
	pcb_drop(b);
}

/* Copies: the pieces' bytes in order, lwIP's room after them announced;
 * refused without a change as references are. */
static void
test_copies(void **state)
{
	struct tcp_pcb *b = pcb_make(1460, 4 * 1024 * 1024, 1);
	struct iovec pc[3] = {
		{ "$5\r\n", 4 }, { "hello", 5 }, { "\r\n", 2 },
	};
	uint8_t out[32];
	u32_t lbb;

	(void)state;
	assert_int_equal(pst_tcp_append_copy(b, pc, 3, 11), ERR_OK);
	assert_non_null(b->unsent);
	assert_null(b->unsent->next);
	assert_int_equal(b->unsent->len, 11);
	assert_null(b->unsent->p->next);          /* one pbuf: headers and data */
	assert_int_equal(b->snd_queuelen, 1);
	assert_int_equal(b->unsent_oversize, 1460 - 12 - 11);
	seg_bytes(b->unsent, out);
	assert_memory_equal(out, "$5\r\nhello\r\n", 11);
	assert_int_equal(TCPH_FLAGS(b->unsent->tcphdr) & TCP_PSH, TCP_PSH);
	/* The next copy fills the room: still one pbuf. */
	assert_int_equal(pst_tcp_append_copy(b, pc + 1, 2, 7), ERR_OK);
	assert_int_equal(b->unsent->len, 18);
	assert_null(b->unsent->p->next);
	seg_bytes(b->unsent, out);
	assert_memory_equal(out, "$5\r\nhello\r\nhello\r\n", 18);
	lbb = b->snd_lbb;
	b->snd_buf = 10;
	assert_int_equal(pst_tcp_append_copy(b, pc, 3, 11), ERR_MEM);
	assert_int_equal(b->snd_lbb, lbb);
	assert_int_equal(b->unsent->len, 18);
	b->snd_buf = TCP_SND_BUF;
	b->state = FIN_WAIT_1;
	assert_int_equal(pst_tcp_append_copy(b, pc, 3, 11), ERR_CONN);
	b->state = ESTABLISHED;
	assert_int_equal(pst_lwip_assert_count(), 0);
	pcb_drop(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_like_tcp_write),
		cmocka_unit_test(test_references_in_place),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_copies),
	};

	return cmocka_run_group_tests(tests, setup_lwip, NULL);
}
