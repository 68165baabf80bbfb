/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwIP netif over a DPDK ethdev port: zero-copy receive into pool buffers,
 * copy transmit from DRAM mbufs, drain before every TX burst.
 *
 * Receive: the driver wrote the frame into a pool buffer attached to an mbuf.
 * The mbuf is immediately given a fresh buffer (pst_pool_mbuf_swap) and goes
 * back to the mempool; the received buffer becomes a custom pbuf handed to
 * lwIP. Whatever lwIP or the application holds (out-of-order segments, data
 * not yet consumed, kept buffers) therefore never takes an mbuf away from RX.
 * Freeing the pbuf returns the buffer to the pool unless it was kept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

/* glibc's <netinet/ip.h> (through rte_ip.h) and lwIP both define the IPv4
 * fragment flags, with the same values. */
#undef IP_RF
#undef IP_DF
#undef IP_MF
#undef IP_OFFMASK
#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#include "asan_poison.h"
#include "chksum.h"
#include "cpu.h"
#include "error.h"
#include "farewell.h"
#include "fault.h"
#include "idle.h"
#include "netif_dpdk.h"
#include "paste_mbuf.h"
#include "pool_stack.h"

#define RX_BURST 32
/* Bursts offered to a full TX ring in one poll before the rest waits for
 * the next poll: a few, since what the port has not taken stays queued. */
#define TX_RETRIES 8

/* A received frame as lwIP holds it: a custom pbuf over the pool buffer,
 * and the device that gets the buffer back when lwIP frees the pbuf. */
struct rx_pbuf {
	struct pbuf_custom pc;         /* first: lwIP frees the pbuf */
	struct pst_netif_dpdk *dev;
};

struct pst_netif_dpdk {
	uint16_t port;
	uint16_t queue;
	struct pst_pool *pool;
	struct rte_mempool *rx_mp;     /* the pool's mempool: data in the file */
	struct rte_mempool *tx_mp;     /* DRAM mbufs for outgoing copies */
	struct rx_pbuf *rx_pbufs;      /* one per pool buffer */
	/* Zero-copy TX: one shared-info per pool buffer attached to mbufs. */
	struct rte_mbuf_ext_shared_info *tx_shinfo;
	struct rte_ether_addr mac;
	uint16_t mtu;
	uint64_t tx_offloads;          /* RTE_ETH_TX_OFFLOAD_* in use */
	uint64_t tx_ring_full;         /* transmits that left frames queued */
	uint64_t drain_cycles;         /* TSC cycles in the drains of the pool
					* (pst_netif_dpdk_drain_cycles()) */
	uint64_t rx_burst_cycles;      /* ... in the driver's RX bursts that got frames */
	int tx_attach;                 /* sends by name attached, not copied */
	int tx_sw_tcp_cksum;           /* TCP checksums summed here, on the frame */
	uint64_t rx_offloads;
	int started;

	struct rte_mbuf *tx_queue[PST_NETIF_TX_QUEUE_MAX];
	unsigned int n_tx;
	struct pbuf *rx_held;          /* a frame delayed by rx-reorder */
	struct pst_fault fault;
	struct pst_farewell fw;        /* net_memif: peers that leave */
	int failed;                    /* a drain failed: resets and ARP only */
	void (*tx_hook)(void *ctx, unsigned int n);
	void *tx_hook_ctx;

	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_nobufs, rx_bad_csum, rx_copied, rx_truncated, tx_dropped, tx_zc_segments;
	uint64_t fault_drops, fault_dups, fault_reorders, fault_corrupts;
};

void
pst_netif_dpdk_set_tx_hook(struct pst_netif_dpdk *dev,
			   void (*fn)(void *ctx, unsigned int n), void *ctx)
{
	dev->tx_hook = fn;
	dev->tx_hook_ctx = ctx;
}

static void
rx_pbuf_free(struct pbuf *p)
{
	struct rx_pbuf *rp = (struct rx_pbuf *)p;
	struct pst_netif_dpdk *dev = rp->dev;

	pst_pool_release_if_lent(dev->pool, (uint32_t)(rp - dev->rx_pbufs));
}

/* Drivers that copy every transmitted frame out of its mbufs (into a
 * kernel ring, a tap write, a shared-memory ring, a capture file): an
 * attached pool buffer is copied there anyway, so attaching costs an mbuf
 * per piece, a reference and a release callback after transmission for
 * nothing; copying into the frame is cheaper. */
static const char *const copying_drivers[] = {
	"net_af_packet", "net_tap", "net_memif", "net_pcap",
};

static int
tx_attach_wanted(enum pst_tx_zero_copy mode, const char *driver)
{
	size_t i;

	if (mode == PST_TX_ZC_ON)
		return 1;
	if (mode == PST_TX_ZC_OFF)
		return 0;
	for (i = 0; i < sizeof(copying_drivers) / sizeof(copying_drivers[0]); i++)
		if (driver != NULL && strcmp(driver, copying_drivers[i]) == 0)
			return 0;
	return 1;
}

static int
port_setup(struct pst_netif_dpdk *dev, const struct pst_stack_config *cfg)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct rte_eth_rxconf rxq;
	struct rte_eth_txconf txq;
	uint16_t rxd = cfg->rx_desc ? cfg->rx_desc : 1024;
	uint16_t txd = cfg->tx_desc ? cfg->tx_desc : 1024;
	int ret;

	ret = rte_eth_dev_info_get(dev->port, &info);
	if (ret != 0)
		return pst_fail(ret, "port %u: %s", dev->port, rte_strerror(-ret));
	memset(&conf, 0, sizeof(conf));
	/* Offload the checksums the port offers; lwIP computes the rest. */
	dev->rx_offloads = info.rx_offload_capa &
		(RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
		 RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
	dev->tx_offloads = info.tx_offload_capa &
		(RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
		 RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	conf.rxmode.offloads = dev->rx_offloads;
	conf.txmode.offloads = dev->tx_offloads;
	dev->tx_attach = tx_attach_wanted(cfg->tx_zero_copy, info.driver_name) &&
			 (dev->tx_offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	/* Sleeping when idle wakes on the RX interrupt where the driver has
	 * one; a driver that refuses it is configured without (idle.c falls
	 * back to timed sleeps). */
	conf.intr_conf.rxq = pst_idle_wants_rx_intr(cfg) ? 1 : 0;
	ret = rte_eth_dev_configure(dev->port, 1, 1, &conf);
	if (ret != 0 && conf.intr_conf.rxq) {
		conf.intr_conf.rxq = 0;
		ret = rte_eth_dev_configure(dev->port, 1, 1, &conf);
	}
	if (ret == 0)
		ret = rte_eth_dev_adjust_nb_rx_tx_desc(dev->port, &rxd, &txd);
	if (ret != 0)
		return pst_fail(ret, "port %u: configure: %s", dev->port, rte_strerror(-ret));
	rxq = info.default_rxconf;
	rxq.offloads = conf.rxmode.offloads;
	txq = info.default_txconf;
	txq.offloads = conf.txmode.offloads;
	ret = rte_eth_rx_queue_setup(dev->port, 0, rxd, rte_eth_dev_socket_id(dev->port),
				     &rxq, dev->rx_mp);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(dev->port, 0, txd,
					     rte_eth_dev_socket_id(dev->port), &txq);
	if (ret != 0)
		return pst_fail(ret, "port %u: queue setup: %s", dev->port, rte_strerror(-ret));
	ret = rte_eth_macaddr_get(dev->port, &dev->mac);
	if (ret == 0)
		ret = rte_eth_dev_get_mtu(dev->port, &dev->mtu);
	if (ret != 0)
		return pst_fail(ret, "port %u: MAC/MTU: %s", dev->port, rte_strerror(-ret));
	pst_farewell_init(&dev->fw, dev->port, dev->queue, dev->tx_mp, &dev->mac,
			  info.driver_name);
	if (cfg->farewell_key != NULL) {
		ret = pst_farewell_set_key(&dev->fw, cfg->farewell_key, cfg->farewell_key_len);
		if (ret != 0)
			return pst_fail(ret, "port %u: farewell key of %zu bytes: %s",
					dev->port, cfg->farewell_key_len,
					ret == -EINVAL ? "want 16 to 64" : "libsodium failed");
	}
	ret = pst_pool_dma_map(dev->pool, dev->port);
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_start(dev->port);
	if (ret != 0)
		return pst_fail(ret, "port %u: start: %s", dev->port, rte_strerror(-ret));
	dev->started = 1;
	return 0;
}

struct pst_netif_dpdk *
pst_netif_dpdk_open(const struct pst_stack_config *cfg)
{
	struct pst_netif_dpdk *dev;
	struct pst_pool_info info;
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned int n_mbufs = cfg->n_mbufs ? cfg->n_mbufs : 4096;
	uint64_t i;

	if (!rte_eth_dev_is_valid_port(cfg->port_id) || cfg->queue_id != 0) {
		pst_fail(EINVAL, "port %u queue %u: no such port, or queue not 0",
			 cfg->port_id, cfg->queue_id);
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		pst_fail(ENOMEM, "stack: out of memory");
		return NULL;
	}
	dev->port = cfg->port_id;
	dev->pool = cfg->pool;
	if (pst_fault_init(&dev->fault, &cfg->faults) != 0)
		goto fail;
	pst_pool_info(cfg->pool, &info);
	dev->rx_pbufs = calloc(info.buf_count, sizeof(*dev->rx_pbufs));
	dev->tx_shinfo = calloc(info.buf_count, sizeof(*dev->tx_shinfo));
	if (dev->rx_pbufs == NULL || dev->tx_shinfo == NULL) {
		pst_fail(ENOMEM, "stack: out of memory for %llu receive pbufs",
			 (unsigned long long)info.buf_count);
		goto fail;
	}
	for (i = 0; i < info.buf_count; i++) {
		dev->rx_pbufs[i].pc.custom_free_function = rx_pbuf_free;
		dev->rx_pbufs[i].dev = dev;
	}
	snprintf(name, sizeof(name), "pst_rx_%u", dev->port);
	dev->rx_mp = pst_pool_mempool_create(cfg->pool, name, n_mbufs, 256, 0,
					     rte_eth_dev_socket_id(dev->port));
	if (dev->rx_mp == NULL)
		goto fail;
	snprintf(name, sizeof(name), "pst_tx_%u", dev->port);
	dev->tx_mp = rte_pktmbuf_pool_create(name, 8191, 256, 0,
					     RTE_MBUF_DEFAULT_BUF_SIZE,
					     rte_eth_dev_socket_id(dev->port));
	if (dev->tx_mp == NULL) {
		pst_fail(rte_errno, "stack: TX mempool: %s", rte_strerror(rte_errno));
		goto fail;
	}
	if (port_setup(dev, cfg) != 0)
		goto fail;
	return dev;
fail:
	{
		int err = pst_errno;

		if (dev->started)
			rte_eth_dev_stop(dev->port);
		rte_mempool_free(dev->tx_mp);
		if (dev->rx_mp != NULL)
			pst_pool_mempool_close(cfg->pool);
		pst_farewell_fini(&dev->fw);
		free(dev->rx_pbufs);
		free(dev->tx_shinfo);
		free(dev);
		pst_errno = err;
	}
	return NULL;
}

void
pst_netif_dpdk_close(struct pst_netif_dpdk *dev)
{
	unsigned int i;

	if (dev == NULL)
		return;
	if (dev->rx_held != NULL)
		pbuf_free(dev->rx_held);
	for (i = 0; i < dev->n_tx; i++)
		rte_pktmbuf_free(dev->tx_queue[i]);
	if (dev->started) {
		/* A memif peer that knows we leave is in no burst when our
		 * disconnect unmaps its rings (farewell.h). */
		(void)pst_farewell_leave(&dev->fw);
		rte_eth_dev_stop(dev->port);
	}
	/* Virtual devices hold no mbufs once stopped, and their port can be
	 * used again. A NIC's rings still hold some: only closing the port
	 * returns them, before their mempools may go. */
	if (rte_mempool_in_use_count(dev->tx_mp) != 0 ||
	    pst_pool_mempool_close(dev->pool) == -EBUSY) {
		rte_eth_dev_close(dev->port);
		pst_pool_mempool_close(dev->pool);
	}
	rte_mempool_free(dev->tx_mp);
	pst_farewell_fini(&dev->fw);
	free(dev->rx_pbufs);
	free(dev->tx_shinfo);
	free(dev);
}

/* ---- transmit --------------------------------------------------------- */

/* Fill in what a checksum-offloading port needs: header lengths, flags, and
 * the pseudo-header sum in the L4 checksum field. */
static void
tx_offload_prepare(const struct pst_netif_dpdk *dev, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip;
	size_t l3;

	if (dev->tx_offloads == 0 || m->data_len < sizeof(*eth) + sizeof(*ip) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return;
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	l3 = rte_ipv4_hdr_len(ip);
	m->l2_len = sizeof(*eth);
	m->l3_len = l3;
	m->ol_flags |= RTE_MBUF_F_TX_IPV4;
	if (dev->tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		ip->hdr_checksum = 0;
		m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
	}
	if (ip->next_proto_id == IPPROTO_TCP &&
	    (dev->tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) &&
	    m->data_len >= sizeof(*eth) + l3 + sizeof(struct rte_tcp_hdr)) {
		struct rte_tcp_hdr *tcp = (void *)((char *)ip + l3);

		m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
		tcp->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else if (ip->next_proto_id == IPPROTO_UDP &&
		   (dev->tx_offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) &&
		   m->data_len >= sizeof(*eth) + l3 + sizeof(struct rte_udp_hdr)) {
		struct rte_udp_hdr *udp = (void *)((char *)ip + l3);

		m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	}
}

static void
flip_byte(struct pst_fault *f, uint8_t *data, uint32_t len)
{
	if (len > 0)
		data[pst_fault_pick(f, len)] ^= (uint8_t)(1u << pst_fault_pick(f, 8));
}

static void
tx_enqueue(struct pst_netif_dpdk *dev, struct rte_mbuf *m)
{
	/* A full queue is transmitted early, after its own drain, so the
	 * order "drain, then transmit" holds even then. When that drain
	 * fails, or the port takes none of it, the queue stays full: the
	 * frame is dropped, and TCP sends it again later. */
	if (dev->n_tx == PST_NETIF_TX_QUEUE_MAX)
		(void)pst_netif_dpdk_drain_and_transmit(dev);
	if (dev->n_tx == PST_NETIF_TX_QUEUE_MAX) {
		rte_pktmbuf_free(m);
		dev->tx_dropped++;
		return;
	}
	dev->tx_queue[dev->n_tx++] = m;
}

/* The NIC let go of the last mbuf attached to a kept buffer; @addr is
 * inside that buffer. */
static void
tx_ext_free(void *addr, void *opaque)
{
	struct pst_netif_dpdk *dev = opaque;

	pst_pool_unpin(dev->pool, pst_pool_buf_index(dev->pool, addr));
}

/*
 * Zero-copy TX: a pbuf referencing a kept pool buffer (a send by name)
 * becomes an mbuf segment attached to that buffer instead of a copy. The
 * buffer stays held until the last such mbuf is freed after transmission.
 * Returns NULL when the bytes must be copied instead.
 */
static struct rte_mbuf *
attach_kept(struct pst_netif_dpdk *dev, const struct pbuf *q)
{
	struct rte_mbuf_ext_shared_info *shinfo;
	struct rte_mbuf *m;
	uint32_t index;

	if (!dev->tx_attach ||
	    !(pbuf_match_type(q, PBUF_ROM) || pbuf_match_type(q, PBUF_REF)))
		return NULL;
	index = pst_pool_buf_index(dev->pool, q->payload);
	if (index == UINT32_MAX)
		return NULL;
	shinfo = &dev->tx_shinfo[index];
	if (rte_mbuf_ext_refcnt_read(shinfo) == 0) {
		/* First attachment: pin the buffer (fails unless kept). */
		if (pst_pool_pin(dev->pool, index) != 0)
			return NULL;
		shinfo->free_cb = tx_ext_free;
		shinfo->fcb_opaque = dev;
		rte_mbuf_ext_refcnt_set(shinfo, 1);
	} else {
		rte_mbuf_ext_refcnt_update(shinfo, 1);
	}
	m = rte_pktmbuf_alloc(dev->tx_mp);
	if (m == NULL) {
		/* Drop our reference again; the callback unpins at zero. */
		if (rte_mbuf_ext_refcnt_update(shinfo, -1) == 0) {
			pst_pool_unpin(dev->pool, index);
		}
		return NULL;
	}
	rte_pktmbuf_attach_extbuf(m, q->payload, rte_mem_virt2iova(q->payload),
				  q->len, shinfo);
	m->data_len = q->len;
	m->pkt_len = q->len;
	dev->tx_zc_segments++;
	return m;
}

/* Append the bytes of @q from @off to the chain ending at *last, copying
 * into mbufs. Returns 0 or -1. */
static int
append_copy(struct pst_netif_dpdk *dev, struct rte_mbuf *head,
	    struct rte_mbuf **last, const struct pbuf *q)
{
	uint16_t done = 0, n;
	struct rte_mbuf *seg;

	while (done < q->len) {
		seg = *last;
		if (rte_pktmbuf_tailroom(seg) == 0 || RTE_MBUF_HAS_EXTBUF(seg)) {
			if (!(dev->tx_offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS))
				return -1;
			seg = rte_pktmbuf_alloc(dev->tx_mp);
			if (seg == NULL)
				return -1;
			(*last)->next = seg;
			*last = seg;
			head->nb_segs++;
		}
		n = (uint16_t)RTE_MIN((uint32_t)(q->len - done),
				      (uint32_t)rte_pktmbuf_tailroom(seg));
		memcpy(rte_pktmbuf_append(seg, n), (const char *)q->payload + done, n);
		if (seg != head)
			head->pkt_len += n;
		done = (uint16_t)(done + n);
	}
	return 0;
}

/* A frame as an mbuf chain: headers and ordinary payload copied, kept pool
 * buffers attached in place. NULL when out of mbufs or too big. */
static struct rte_mbuf *
frame_to_mbuf(struct pst_netif_dpdk *dev, struct pbuf *p)
{
	struct rte_mbuf *head, *last, *ext;
	const struct pbuf *q;

	head = rte_pktmbuf_alloc(dev->tx_mp);
	if (head == NULL)
		return NULL;
	last = head;
	for (q = p; q != NULL; q = q->next) {
		if (q->len == 0)
			continue;
		/* Headers always go first, copied: the offload code parses them
		 * from the first segment. */
		ext = q != p ? attach_kept(dev, q) : NULL;
		if (ext != NULL) {
			last->next = ext;
			last = ext;
			head->nb_segs++;
			head->pkt_len += ext->data_len;
			continue;
		}
		if (append_copy(dev, head, &last, q) != 0)
			goto fail;
	}
	return head;
fail:
	rte_pktmbuf_free(head);
	return NULL;
}

/* Most mbuf segments a frame's checksum walks at once (a frame of kept
 * pieces attached one per segment); longer chains are summed by parts. */
#define CKSUM_PIECES 16

/*
 * The TCP checksum of an IPv4 frame, where the port does not compute it:
 * summed over the frame once it is copied, in one run over its contiguous
 * bytes (or a few, for attached pieces), not by lwIP pbuf by pbuf before
 * (a header, the pieces of replies sent by name, each a call, ending
 * anywhere). lwIP leaves the field zero on this netif (netif_init).
 */
static void
tx_tcp_cksum(struct rte_mbuf *m)
{
	struct pst_chksum_piece pc[CKSUM_PIECES];
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	const struct rte_mbuf *seg;
	uint32_t l3, l4_len, off, left, sum;
	unsigned int n = 0;
	int odd = 0;

	if (m->data_len < sizeof(*eth) + sizeof(*ip) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return;
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	l3 = rte_ipv4_hdr_len(ip);
	if (ip->next_proto_id != IPPROTO_TCP ||
	    m->data_len < sizeof(*eth) + l3 + sizeof(*tcp) ||
	    rte_be_to_cpu_16(ip->total_length) < l3 + sizeof(*tcp))
		return;
	l4_len = rte_be_to_cpu_16(ip->total_length) - l3;
	if (sizeof(*eth) + l3 + l4_len > m->pkt_len)
		return;
	tcp = (struct rte_tcp_hdr *)((char *)ip + l3);
	tcp->cksum = 0;
	sum = pst_ipv4_pseudo_sum(&ip->src_addr, IPPROTO_TCP, (uint16_t)l4_len);
	off = (uint32_t)sizeof(*eth) + l3;
	left = l4_len;
	for (seg = m; seg != NULL && left > 0; seg = seg->next, off = 0) {
		uint32_t len = RTE_MIN((uint32_t)seg->data_len - off, left);

		pc[n].data = rte_pktmbuf_mtod_offset(seg, const char *, off);
		pc[n].len = len;
		left -= len;
		if (++n == CKSUM_PIECES || seg->next == NULL || left == 0) {
			uint32_t part = pst_inet_chksum_pieces(pc, n), i;

			/* This batch after an odd count of bytes. */
			sum += odd ? (uint32_t)__builtin_bswap16((uint16_t)part) : part;
			for (i = 0; i < n; i++)
				odd ^= (int)(pc[i].len & 1);
			n = 0;
		}
	}
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	tcp->cksum = (uint16_t)~sum;
}

static err_t
linkoutput(struct netif *nif, struct pbuf *p)
{
	struct pst_netif_dpdk *dev = nif->state;
	struct pst_fault *f = &dev->fault;
	struct rte_mbuf *m, *dup;

	m = frame_to_mbuf(dev, p);
	if (m == NULL) {
		dev->tx_dropped++;
		return ERR_MEM;
	}
	if (dev->tx_sw_tcp_cksum)
		tx_tcp_cksum(m);
	tx_offload_prepare(dev, m);
	if (f->enabled) {
		if (pst_fault_roll(f, f->cfg.tx_drop)) {
			dev->fault_drops++;
			rte_pktmbuf_free(m);
			return ERR_OK;
		}
		if (pst_fault_roll(f, f->cfg.tx_corrupt)) {
			dev->fault_corrupts++;
			flip_byte(f, rte_pktmbuf_mtod(m, uint8_t *), m->data_len);
		}
		if (pst_fault_roll(f, f->cfg.tx_dup)) {
			dup = rte_pktmbuf_copy(m, dev->tx_mp, 0, UINT32_MAX);
			if (dup != NULL) {
				dev->fault_dups++;
				tx_enqueue(dev, dup);
			}
		}
		if (dev->n_tx > 0 && dev->n_tx < PST_NETIF_TX_QUEUE_MAX &&
		    pst_fault_roll(f, f->cfg.tx_reorder)) {
			/* Goes out before the frame queued last. */
			dev->fault_reorders++;
			dev->tx_queue[dev->n_tx] = dev->tx_queue[dev->n_tx - 1];
			dev->tx_queue[dev->n_tx - 1] = m;
			dev->n_tx++;
			return ERR_OK;
		}
	}
	tx_enqueue(dev, m);
	return ERR_OK;
}

static void
drop_queued(struct pst_netif_dpdk *dev)
{
	unsigned int i;

	for (i = 0; i < dev->n_tx; i++)
		rte_pktmbuf_free(dev->tx_queue[i]);
	dev->tx_dropped += dev->n_tx;
	dev->n_tx = 0;
}

/* 1 for what a stopped stack may still send: ARP, and TCP segments that
 * carry nothing but a reset. A data segment, a FIN or a UDP datagram could
 * answer a request whose effects were never made durable. */
static int
undrained_ok(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const void *)(eth + 1);
	const struct rte_tcp_hdr *tcp;
	uint32_t l3;

	if (m->data_len < sizeof(*eth))
		return 0;
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
		return 1;
	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    m->data_len < sizeof(*eth) + sizeof(*ip) || ip->next_proto_id != IPPROTO_TCP)
		return 0;
	l3 = rte_ipv4_hdr_len(ip);
	if (m->pkt_len != m->data_len ||
	    m->data_len < sizeof(*eth) + l3 + sizeof(*tcp))
		return 0;
	tcp = (const void *)((const char *)ip + l3);
	return (tcp->tcp_flags & RTE_TCP_RST_FLAG) &&
	       rte_be_to_cpu_16(ip->total_length) == l3 + (uint32_t)((tcp->data_off >> 4) * 4);
}

void
pst_netif_dpdk_fail_stop(struct pst_netif_dpdk *dev)
{
	drop_queued(dev);
	dev->failed = 1;
}

/* A stopped port sends without a drain (none can succeed), and only what
 * undrained_ok() lets through. */
static void
keep_undrained_ok(struct pst_netif_dpdk *dev)
{
	unsigned int i, n = 0;

	for (i = 0; i < dev->n_tx; i++) {
		if (undrained_ok(dev->tx_queue[i])) {
			dev->tx_queue[n++] = dev->tx_queue[i];
			continue;
		}
		rte_pktmbuf_free(dev->tx_queue[i]);
		dev->tx_dropped++;
	}
	dev->n_tx = n;
}

static int
timed_drain(struct pst_netif_dpdk *dev)
{
	uint64_t t0 = pst_cycles();
	int ret = pst_pool_drain(dev->pool);

	dev->drain_cycles += pst_cycles() - t0;
	return ret;
}

int
pst_netif_dpdk_drain_and_transmit(struct pst_netif_dpdk *dev)
{
	unsigned int sent = 0, tries = 0, i;
	int ret;

	if (dev->failed) {
		keep_undrained_ok(dev);
		goto transmit;
	}

	/* The durability rule: nothing leaves before the flushes issued so
	 * far are drained. On failure nothing is sent; the frames wait for
	 * a drain that succeeds (tx_enqueue drops what does not fit).
	 * Without frames to send, a poll still ends with a drain when it
	 * flushed or released something: kept data is durable, and released
	 * buffers return to RX, even when no reply follows. */
	if (dev->n_tx == 0 && !pst_pool_drain_pending(dev->pool))
		return 0;
	ret = timed_drain(dev);
	if (ret != 0 || dev->n_tx == 0)
		return ret;
transmit:
	/* Nobody touches the port while its peer is gone (farewell.h).
	 * What is queued waits: if the peer stayed (a forged farewell),
	 * it goes out when the park times out; if it went, the next poll
	 * after the link cycled drops it. */
	if (dev->fw.parked)
		return 0;
	if (dev->tx_hook != NULL)
		dev->tx_hook(dev->tx_hook_ctx, dev->n_tx);
	while (sent < dev->n_tx && tries++ < TX_RETRIES)
		sent += rte_eth_tx_burst(dev->port, dev->queue, dev->tx_queue + sent,
					 (uint16_t)(dev->n_tx - sent));
	for (i = 0; i < sent; i++) {
		dev->tx_packets++;
		dev->tx_bytes += dev->tx_queue[i]->pkt_len;
	}
	/* The ring stayed full: the port is behind (a memif whose reader
	 * shares a busy core, a NIC at line rate). What it has not taken
	 * waits, in order, at the head of the queue for the next poll;
	 * dropped, it would wait for TCP's retransmission timer instead,
	 * hundreds of milliseconds for a reply. */
	if (sent < dev->n_tx) {
		memmove(dev->tx_queue, dev->tx_queue + sent,
			(dev->n_tx - sent) * sizeof(dev->tx_queue[0]));
		dev->tx_ring_full++;
	}
	dev->n_tx -= sent;
	return (int)sent;
}

uint64_t
pst_netif_dpdk_drain_cycles(const struct pst_netif_dpdk *dev)
{
	return dev->drain_cycles;
}

unsigned int
pst_netif_dpdk_tx_pending(const struct pst_netif_dpdk *dev)
{
	return dev->n_tx;
}

/* ---- receive ---------------------------------------------------------- */

/* lwIP 2.1.3 reads a protocol header before checking that the frame
 * holds one: etharp_input() a whole ARP header, ip4_input() the IPv4
 * total length. Ethernet pads frames to 60 bytes on the wire, a veth or
 * a ring does not, so a short frame made lwIP read stale bytes of the pool
 * buffer past it. Both were found by the frames fuzz target. Such frames
 * are dropped, and counted, before lwIP sees them; the headers past these
 * (IP options, TCP, UDP, ICMP) lwIP checks against the frame itself. */
static int
truncated(const struct pbuf *p)
{
	const struct rte_ether_hdr *eth = p->payload;

	if (p->len < sizeof(*eth))
		return 0; /* ethernet_input() drops it */
	switch (eth->ether_type) {
	case RTE_BE16(RTE_ETHER_TYPE_ARP):
		return p->len < sizeof(*eth) + sizeof(struct rte_arp_hdr);
	case RTE_BE16(RTE_ETHER_TYPE_IPV4):
		return p->len < sizeof(*eth) + sizeof(struct rte_ipv4_hdr);
	default:
		return 0;
	}
}

static void
input(struct pst_netif_dpdk *dev, struct netif *nif, struct pbuf *p)
{
	dev->rx_packets++;
	dev->rx_bytes += p->tot_len;
	if (truncated(p)) {
		dev->rx_truncated++;
		pbuf_free(p);
		return;
	}
	if (nif->input(p, nif) != ERR_OK)
		pbuf_free(p);
}

/* Multi-segment frames (jumbo frames on ports that scatter) are rare on
 * the paths paste serves; they are copied into one lwIP pbuf. */
static struct pbuf *
rx_copy_chain(struct rte_mbuf *m)
{
	struct pbuf *p;
	uint16_t off = 0;

	if (m->pkt_len > UINT16_MAX)
		return NULL;
	p = pbuf_alloc(PBUF_RAW, (u16_t)m->pkt_len, PBUF_RAM);
	if (p == NULL)
		return NULL;
	for (; m != NULL; m = m->next) {
		pbuf_take_at(p, rte_pktmbuf_mtod(m, void *), m->data_len, off);
		off = (uint16_t)(off + m->data_len);
	}
	return p;
}

/* Sanitizer builds: the bytes of a received buffer outside its frame
 * (headroom, the tail after data_len) are poisoned, so that a parser
 * reading past the frame fails instead of reading stale bytes. */
static void
rx_poison_outside(struct pst_netif_dpdk *dev, uint32_t index, const char *data,
		  uint16_t len)
{
#ifdef PST_ASAN
	struct pst_pool_info info;
	char *buf = pst_pool_buf_addr(dev->pool, index);

	if (buf == NULL || pst_pool_info(dev->pool, &info) != 0)
		return;
	pst_poison(buf, (size_t)(data - buf));
	pst_poison(data + len, (size_t)(buf + info.buf_size - (data + len)));
#else
	(void)dev;
	(void)index;
	(void)data;
	(void)len;
#endif
}

/* Turn a received mbuf into a pbuf over its pool buffer; the mbuf itself
 * goes back to the mempool with a fresh buffer. NULL when dropped. */
static struct pbuf *
rx_to_pbuf(struct pst_netif_dpdk *dev, struct rte_mbuf *m)
{
	struct pbuf *p;
	uint32_t index;
	char *data;
	uint16_t len;

	if (m->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_BAD)) {
		dev->rx_bad_csum++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	/* Scattered frames, and frames in mbufs of another mempool (a
	 * loopback ring returning our own DRAM TX mbufs, memif in zero-copy
	 * mode), are copied into one lwIP pbuf: not zero copy, counted. */
	if (m->nb_segs > 1 || m->pool != dev->rx_mp) {
		p = rx_copy_chain(m);
		rte_pktmbuf_free(m);
		if (p == NULL)
			dev->rx_nobufs++;
		else
			dev->rx_copied++;
		return p;
	}
	len = m->data_len;
	data = rte_pktmbuf_mtod(m, char *);
	if (pst_pool_mbuf_swap(dev->pool, m, &index) != 0) {
		/* No spare buffer: drop rather than shrink RX. TCP resends. */
		dev->rx_nobufs++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	rte_pktmbuf_free(m);
	rx_poison_outside(dev, index, data, len);
	p = pbuf_alloced_custom(PBUF_RAW, len, PBUF_REF, &dev->rx_pbufs[index].pc,
				data, len);
	if (p == NULL) {
		pst_pool_release_if_lent(dev->pool, index);
		dev->rx_nobufs++;
	}
	return p;
}

unsigned int
pst_netif_dpdk_rx(struct pst_netif_dpdk *dev, struct netif *nif)
{
	struct pst_fault *f = &dev->fault;
	struct rte_mbuf *pkts[RX_BURST];
	struct pbuf *p, *dup;
	uint64_t t0;
	uint16_t n, i;

	if ((dev->fw.parked || dev->fw.refusing) && pst_farewell_parked(&dev->fw))
		return 0;
	if (dev->fw.peer_gone) {
		/* For the peer that left; TCP sends again to whoever comes. */
		dev->fw.peer_gone = 0;
		drop_queued(dev);
	}
	t0 = pst_cycles();
	n = rte_eth_rx_burst(dev->port, dev->queue, pkts, RX_BURST);
	if (n > 0)
		dev->rx_burst_cycles += pst_cycles() - t0;
	for (i = 0; i < n; i++) {
		if (dev->fw.enabled && pst_farewell_input(&dev->fw, pkts[i]))
			continue;
		p = rx_to_pbuf(dev, pkts[i]);
		if (p == NULL)
			continue;
		if (!f->enabled) {
			input(dev, nif, p);
			continue;
		}
		if (pst_fault_roll(f, f->cfg.rx_drop)) {
			dev->fault_drops++;
			pbuf_free(p);
			continue;
		}
		if (pst_fault_roll(f, f->cfg.rx_corrupt)) {
			dev->fault_corrupts++;
			flip_byte(f, p->payload, p->len);
		}
		/* The copy goes in second: TCP keeps the first of two
		 * duplicates, and that must be the frame in the pool buffer. */
		dup = NULL;
		if (pst_fault_roll(f, f->cfg.rx_dup)) {
			dup = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
			if (dup != NULL)
				dev->fault_dups++;
		}
		if (dev->rx_held == NULL && pst_fault_roll(f, f->cfg.rx_reorder)) {
			dev->fault_reorders++;
			dev->rx_held = p;
			if (dup != NULL)
				pbuf_free(dup);
			continue;
		}
		input(dev, nif, p);
		if (dup != NULL)
			input(dev, nif, dup);
		if (dev->rx_held != NULL) {
			struct pbuf *held = dev->rx_held;

			dev->rx_held = NULL;
			input(dev, nif, held);
		}
	}
	/* A held frame waits at most one idle poll. */
	if (n == 0 && dev->rx_held != NULL) {
		p = dev->rx_held;
		dev->rx_held = NULL;
		input(dev, nif, p);
	}
	return n;
}

/* ---- lwIP netif ------------------------------------------------------- */

signed char
pst_netif_dpdk_netif_init(struct netif *nif)
{
	struct pst_netif_dpdk *dev = nif->state;
	u16_t csum = NETIF_CHECKSUM_ENABLE_ALL;

	nif->name[0] = 'p';
	nif->name[1] = 'd';
	nif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(nif->hwaddr, dev->mac.addr_bytes, ETH_HWADDR_LEN);
	nif->mtu = dev->mtu;
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
		     NETIF_FLAG_LINK_UP;
	nif->output = etharp_output;
	nif->linkoutput = linkoutput;
	/* Checksums the port computes or verifies are not done twice. */
	if (dev->tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
		csum &= (u16_t)~NETIF_CHECKSUM_GEN_IP;
	/* Without the port's, TCP's is summed on the copied frame
	 * (tx_tcp_cksum): lwIP leaves it zero. */
	dev->tx_sw_tcp_cksum = !(dev->tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM);
	csum &= (u16_t)~NETIF_CHECKSUM_GEN_TCP;
	if (dev->tx_offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
		csum &= (u16_t)~NETIF_CHECKSUM_GEN_UDP;
	if (dev->rx_offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
		csum &= (u16_t)~NETIF_CHECKSUM_CHECK_IP;
	if (dev->rx_offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM)
		csum &= (u16_t)~NETIF_CHECKSUM_CHECK_TCP;
	if (dev->rx_offloads & RTE_ETH_RX_OFFLOAD_UDP_CKSUM)
		csum &= (u16_t)~NETIF_CHECKSUM_CHECK_UDP;
	NETIF_SET_CHECKSUM_CTRL(nif, csum);
	return ERR_OK;
}

void
pst_netif_dpdk_stats(const struct pst_netif_dpdk *dev, struct pst_stack_stats *s)
{
	s->rx_packets = dev->rx_packets;
	s->rx_bytes = dev->rx_bytes;
	s->tx_packets = dev->tx_packets;
	s->tx_bytes = dev->tx_bytes;
	s->rx_nobufs = dev->rx_nobufs;
	s->rx_bad_csum = dev->rx_bad_csum;
	s->rx_copied = dev->rx_copied;
	s->rx_truncated = dev->rx_truncated;
	s->tx_zero_copy_segments = dev->tx_zc_segments;
	s->tx_dropped = dev->tx_dropped;
	s->tx_ring_full = dev->tx_ring_full;
	s->rx_burst_cycles = dev->rx_burst_cycles;
	s->fault_drops = dev->fault_drops;
	s->fault_dups = dev->fault_dups;
	s->fault_reorders = dev->fault_reorders;
	s->fault_corrupts = dev->fault_corrupts;
	s->peer_farewells = dev->fw.parks;
	s->peer_farewell_timeouts = dev->fw.park_timeouts;
	s->peer_farewells_refused = dev->fw.refused;
}

void
pst_netif_dpdk_mac(const struct pst_netif_dpdk *dev, uint8_t mac[6])
{
	memcpy(mac, dev->mac.addr_bytes, 6);
}
