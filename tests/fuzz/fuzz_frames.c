/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: frames into the stack. Raw Ethernet frames go through
 * the netif RX path of a real stack instance (DPDK's EAL with a ring port:
 * frames enqueued on its RX ring, in mbufs of the stack's own mempool so
 * they take the zero-copy path), with lwIP's TCP behind it and an
 * application that holds, keeps, echoes and closes what it receives.
 *
 * An input is a sequence of records, each starting with an opcode byte:
 *   0 a TCP segment from peer connection c (0..3, port 40000 + c) to port
 *     80: flags, sequence and acknowledgement as offsets from what each
 *     side sent so far (so the fuzzer can follow a handshake whatever the
 *     stack's initial sequence number), window, options, payload;
 *     checksums correct
 *   1 a raw frame: up to 1514 bytes; optionally addressed to the stack's
 *     MAC, with the IPv4 and TCP/UDP checksums made right
 *   2 the clock advances (1 byte, in units of 64 ms)
 *   3 the application's policy for received segments (1 byte: hold, keep,
 *     echo, close, abort)
 *   4 a few polls
 * Every frame is followed by a poll; what the stack sends is read and
 * freed. lwIP's state is global, so each input starts from a reset: every
 * connection aborted, held and kept buffers let go, the clock advanced
 * past the timers of what is left. Invariant (the leak check): after the
 * reset the pool is back at its baseline (lent, kept, releasing), and lwIP
 * asserted nothing.
 * The clock is the input's (pst_lwip_set_clock; the stack then checks
 * lwIP's timers at every poll), so every run repeats. FZ_TRACE=1 prints
 * the TCP segments in and out.
 */
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "fuzz_util.h"
#include "paste.h"
#include "paste_errno.h"
#include "paste_stack.h"
#include "paste_tcp.h"
#include "sys_arch_stats.h"

#include "fuzz_lwip_reset.h"

#define STACK_IP 0xc6120001u /* 198.18.0.1 */
#define PEER_IP 0xc6120002u  /* 198.18.0.2 */
#define PORT 80
#define PEERS 4
#define MAX_CONNS 64
#define MAX_KEPT 256

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 2 };
static uint8_t stack_mac[6];
static struct rte_ring *rx_ring, *tx_ring;
static struct rte_mempool *rx_mp;
static struct pst_stack *stack;
static struct pst_pool *pool;
static struct pst_pool_stats baseline;
static uint32_t now_ms;

static uint32_t
fuzz_clock(void)
{
	return now_ms;
}

/* ---- the application ---------------------------------------------------------- */

enum { P_HOLD = 1, P_KEEP = 2, P_ECHO = 4, P_CLOSE = 8, P_ABORT = 16 };
static uint8_t policy;
static struct pst_conn *conns[MAX_CONNS];
static unsigned int n_conns;
static pst_name kept[MAX_KEPT];
static unsigned int n_kept;

static void
conn_forget(struct pst_conn *c)
{
	for (unsigned int i = 0; i < n_conns; i++)
		if (conns[i] == c) {
			conns[i] = conns[--n_conns];
			return;
		}
}

static void
on_recv(void *arg, struct pst_conn *c, const struct pst_segment *segs, unsigned int n)
{
	(void)arg;
	if (n == 0) {
		conn_forget(c); /* invalid once closed, no callback follows */
		pst_conn_close(c);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		const volatile uint8_t *b = segs[i].data;
		struct pst_held h;
		pst_name name;

		/* Every byte of a segment can be read (under ASan, the bytes
		 * of its buffer outside the frame are poisoned). */
		for (uint32_t j = 0; j < segs[i].len; j++)
			(void)b[j];
		if ((policy & P_KEEP) && n_kept < MAX_KEPT &&
		    pst_conn_keep(c, &segs[i], &name) == 0)
			kept[n_kept++] = name;
		else if ((policy & P_HOLD) && pst_conn_hold(c, &segs[i], &h) == 0 &&
			 h.len % 2 == 0)
			pst_conn_unhold(c, h.id); /* some holds end at once */
		if (policy & P_ECHO)
			pst_conn_send(c, segs[i].data, segs[i].len);
	}
	if (policy & P_ABORT) {
		conn_forget(c);
		pst_conn_abort(c);
	} else if (policy & P_CLOSE) {
		conn_forget(c);
		pst_conn_close(c);
	}
}

static void
on_closed(void *arg, struct pst_conn *c, int err)
{
	(void)arg;
	(void)err;
	conn_forget(c);
}

static void
on_accept(void *arg, struct pst_conn *c)
{
	static const struct pst_conn_callbacks cb = { .recv = on_recv, .closed = on_closed };

	(void)arg;
	if (n_conns == MAX_CONNS) {
		pst_conn_abort(c);
		return;
	}
	conns[n_conns++] = c;
	pst_conn_set_callbacks(c, &cb, NULL);
}

/* ---- setup ---------------------------------------------------------------------- */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64];
	char *eal[] = { "fuzz_frames", "--no-huge", "-m", "256", "--no-pci",
			"--no-shconf", "--no-telemetry", prefix, "--iova-mode=va",
			"--log-level=*:error", NULL };
	struct pst_pool_config pc = { .buf_size = 2176, .buf_count = 2048,
				      .persist_mode = PST_PERSIST_FLUSH };
	struct pst_stack_config sc = { .ipv4_addr = STACK_IP, .n_mbufs = 512,
				       .rx_desc = 512, .tx_desc = 512,
				       .busy_poll = 1 /* never sleep */ };
	char path[160];
	int port;

	(void)argc;
	(void)argv;
	snprintf(prefix, sizeof(prefix), "--file-prefix=fzf%ld", (long)getpid());
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		fz_fail("rte_eal_init failed");
	rx_ring = rte_ring_create("fz_rx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	tx_ring = rte_ring_create("fz_tx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (rx_ring == NULL || tx_ring == NULL)
		fz_fail("rte_ring_create failed");
	port = rte_eth_from_rings("fz_port", &rx_ring, 1, &tx_ring, 1, SOCKET_ID_ANY);
	if (port < 0)
		fz_fail("rte_eth_from_rings failed");
	pc.path = fz_path("frames", "pool", path, sizeof(path));
	unlink(path);
	pool = pst_pool_create(&pc);
	if (pool == NULL)
		fz_fail("pool: %s", pst_strerror(pst_errno));
	sc.port_id = (uint16_t)port;
	sc.pool = pool;
	pst_lwip_set_clock(fuzz_clock);
	stack = pst_stack_create(&sc);
	if (stack == NULL)
		fz_fail("stack: %s", pst_strerror(pst_errno));
	pst_stack_mac(stack, stack_mac);
	if (pst_stack_add_arp(stack, PEER_IP, peer_mac) != 0 ||
	    pst_tcp_listen(stack, PORT, on_accept, NULL) == NULL)
		fz_fail("arp/listen: %s", pst_strerror(pst_errno));
	rx_mp = rte_mempool_lookup("pst_rx_0");
	if (rx_mp == NULL)
		rx_mp = rte_mempool_lookup("pst_rx_1");
	if (rx_mp == NULL)
		fz_fail("the stack's mempool is not pst_rx_<port>");
	pst_stack_poll(stack);
	pst_pool_stats(pool, &baseline);
	return 0;
}

/* ---- what goes out ------------------------------------------------------------- */

/* FZ_TRACE=1 in the environment: every TCP segment in and out on stderr,
 * with the input's clock, to follow what a crashing input does. */
static void
trace(const char *dir, int c, uint8_t flags, uint32_t seq, uint32_t ack, int len,
      uint16_t win)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FZ_TRACE") != NULL;
	if (on)
		fprintf(stderr, "%-3s t=%u ms peer %d flags %02x seq %u ack %u len %d win %u\n",
			dir, now_ms, c, flags, seq, ack, len, win);
}

/* What each side sent so far on peer connection c (next sequence numbers). */
static uint32_t peer_next[PEERS], stack_next[PEERS];

static void
drain_tx(void)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(tx_ring, (void **)&m) == 0) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, void *);
		const struct rte_ipv4_hdr *ip = (const void *)(eth + 1);
		const struct rte_tcp_hdr *tcp = (const void *)(ip + 1);
		uint16_t dport;
		uint32_t end;

		if (m->data_len >= sizeof(*eth) + sizeof(*ip) + sizeof(*tcp) &&
		    eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
		    ip->next_proto_id == IPPROTO_TCP && ip->version_ihl == 0x45) {
			dport = rte_be_to_cpu_16(tcp->dst_port);
			trace("out", dport - 40000, tcp->tcp_flags, rte_be_to_cpu_32(tcp->sent_seq),
			      rte_be_to_cpu_32(tcp->recv_ack),
			      rte_be_to_cpu_16(ip->total_length) - 20 - (tcp->data_off >> 4) * 4,
			      rte_be_to_cpu_16(tcp->rx_win));
			end = rte_be_to_cpu_32(tcp->sent_seq) +
			      (uint32_t)(rte_be_to_cpu_16(ip->total_length) - 20 -
					 (tcp->data_off >> 4) * 4) +
			      !!(tcp->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG));
			if (dport >= 40000 && dport < 40000 + PEERS &&
			    (int32_t)(end - stack_next[dport - 40000]) > 0)
				stack_next[dport - 40000] = end;
		}
		rte_pktmbuf_free(m);
	}
}

static void
poll_once(void)
{
	pst_stack_poll(stack);
	drain_tx();
}

/* ---- what comes in ------------------------------------------------------------- */

static void
inject(struct rte_mbuf *m)
{
	if (rte_ring_enqueue(rx_ring, m) != 0)
		rte_pktmbuf_free(m);
	poll_once();
}

static struct rte_mbuf *
frame_alloc(uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(rx_mp);

	if (m == NULL)
		return NULL;
	if (rte_pktmbuf_append(m, len) == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	return m;
}

static void
fix_checksums(struct rte_mbuf *m, uint16_t len)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, void *);
	struct rte_ipv4_hdr *ip = (void *)(eth + 1);
	size_t ihl, l4_len;

	if (len < sizeof(*eth) + sizeof(*ip) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return;
	ihl = (size_t)(ip->version_ihl & 0xf) * 4;
	if (ihl < sizeof(*ip) || sizeof(*eth) + ihl > len ||
	    rte_be_to_cpu_16(ip->total_length) < ihl ||
	    sizeof(*eth) + rte_be_to_cpu_16(ip->total_length) > len)
		return;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	l4_len = rte_be_to_cpu_16(ip->total_length) - ihl;
	if (ip->next_proto_id == IPPROTO_TCP && l4_len >= sizeof(struct rte_tcp_hdr)) {
		struct rte_tcp_hdr *tcp = (void *)((uint8_t *)ip + ihl);

		tcp->cksum = 0;
		tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	} else if (ip->next_proto_id == IPPROTO_UDP && l4_len >= sizeof(struct rte_udp_hdr)) {
		struct rte_udp_hdr *udp = (void *)((uint8_t *)ip + ihl);

		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	}
}

static void
raw_frame(struct fz_in *in)
{
	uint8_t fix = fz_u8(in);
	uint16_t len = (uint16_t)(fz_u16(in) % 1515);
	struct rte_mbuf *m = frame_alloc(len);
	uint8_t *p;

	if (m == NULL)
		return;
	p = rte_pktmbuf_mtod(m, uint8_t *);
	memset(p, 0, len);
	fz_bytes(in, p, len);
	if ((fix & 1) && len >= 12) {
		memcpy(p, stack_mac, 6);
		memcpy(p + 6, peer_mac, 6);
	}
	if (fix & 2)
		fix_checksums(m, len);
	inject(m);
}

static void
tcp_segment(struct fz_in *in)
{
	uint8_t c = fz_u8(in) % PEERS, flags = fz_u8(in);
	int16_t seq_off = (int16_t)fz_u16(in), ack_off = (int16_t)fz_u16(in);
	uint16_t window = fz_u16(in);
	uint8_t opt_len = (uint8_t)((fz_u8(in) % 11) * 4);
	uint16_t pay_len = (uint16_t)(fz_u16(in) % 1461);
	uint16_t len = (uint16_t)(sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
				  sizeof(struct rte_tcp_hdr) + opt_len + pay_len);
	struct rte_mbuf *m = frame_alloc(len);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	uint8_t *opt;

	if (m == NULL)
		return;
	eth = rte_pktmbuf_mtod(m, void *);
	ip = (void *)(eth + 1);
	tcp = (void *)(ip + 1);
	opt = (uint8_t *)(tcp + 1);
	memset(eth, 0, len);
	memcpy(&eth->dst_addr, stack_mac, 6);
	memcpy(&eth->src_addr, peer_mac, 6);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - sizeof(*eth)));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(PEER_IP);
	ip->dst_addr = rte_cpu_to_be_32(STACK_IP);
	tcp->src_port = rte_cpu_to_be_16((uint16_t)(40000 + c));
	tcp->dst_port = rte_cpu_to_be_16(PORT);
	tcp->sent_seq = rte_cpu_to_be_32(peer_next[c] + (uint32_t)seq_off);
	tcp->recv_ack = rte_cpu_to_be_32(stack_next[c] + (uint32_t)ack_off);
	tcp->data_off = (uint8_t)(((sizeof(*tcp) + opt_len) / 4) << 4);
	tcp->tcp_flags = flags;
	tcp->rx_win = rte_cpu_to_be_16(window);
	fz_bytes(in, opt, opt_len);
	memset(opt + opt_len, 'x', pay_len);
	fz_bytes(in, opt + opt_len, pay_len);
	fix_checksums(m, len);
	trace("in", c, flags, peer_next[c] + (uint32_t)seq_off, stack_next[c] + (uint32_t)ack_off,
	      pay_len, window);
	/* In order: the peer's next sequence number moves on. */
	if (seq_off == 0)
		peer_next[c] += pay_len + !!(flags & RTE_TCP_SYN_FLAG) +
				!!(flags & RTE_TCP_FIN_FLAG);
	inject(m);
}

/* ---- reset and the leak check ------------------------------------------------ */

static void
advance(uint32_t ms)
{
	/* In steps, so that every timer runs in order. */
	for (uint32_t t = 0; t < ms; t += 250) {
		now_ms += ms - t < 250 ? ms - t : 250;
		poll_once();
	}
}

static void
reset(void)
{
	struct pst_pool_stats st;

	while (n_conns > 0)
		pst_conn_abort(conns[--n_conns]);
	fz_lwip_abort_all();
	for (unsigned int i = 0; i < n_kept; i++)
		FZ_CHECK(pst_pool_release(pool, pst_name_index(kept[i])) == 0,
			 "release of a kept buffer: %s", pst_strerror(pst_errno));
	n_kept = 0;
	/* Past the timers of what is left: pending ARP requests, delayed
	 * ACKs (every connection is gone). */
	advance(30 * 1000);
	poll_once();
	FZ_CHECK(pst_pool_drain(pool) == 0, "drain: %s", pst_strerror(pst_errno));
	pst_pool_stats(pool, &st);
	FZ_CHECK(st.lent == baseline.lent && st.kept == baseline.kept && st.releasing == 0,
		 "pool not back at its baseline: lent %llu (%llu), kept %llu (%llu), "
		 "releasing %llu", (unsigned long long)st.lent,
		 (unsigned long long)baseline.lent, (unsigned long long)st.kept,
		 (unsigned long long)baseline.kept, (unsigned long long)st.releasing);
	FZ_CHECK(pst_lwip_assert_count() == 0, "lwIP asserted");
	memset(peer_next, 0, sizeof(peer_next));
	memset(stack_next, 0, sizeof(stack_next));
	policy = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	unsigned int records = 0;

	while (in.left > 0 && records++ < 256) {
		switch (fz_u8(&in) % 5) {
		case 0: tcp_segment(&in); break;
		case 1: raw_frame(&in); break;
		case 2: advance((uint32_t)fz_u8(&in) * 64); break;
		case 3: policy = fz_u8(&in); break;
		default:
			for (unsigned int i = fz_u8(&in) % 8; i > 0; i--)
				poll_once();
			break;
		}
	}
	reset();
	return 0;
}
