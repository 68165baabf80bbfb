/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'net': the kernel's packets land in the pool file.
 *
 * The test moves itself into a private network namespace (it vanishes with
 * the process, so nothing is left behind), brings its loopback up, and runs
 * DPDK's net_af_packet driver on it with the pool's mempool. UDP datagrams
 * sent through the kernel are received by the real driver, which copies each
 * frame into an mbuf data buffer: every one of those must lie inside the
 * pool file mapping, and kept frames must read back by name after the pool
 * is closed and reopened. Needs root (CAP_SYS_ADMIN, CAP_NET_RAW).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "paste_mbuf.h"
#include "paste_pool.h"

#define N_DGRAMS 256
#define UDP_PORT 9999
#define MAGIC "paste-afpacket-"
#define PAYLOAD_LEN 1200

static char pool_path[128];
static uint16_t port;

static int
loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int ret;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (ret == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return ret;
}

static int
env_setup(void)
{
	char *argv[] = {
		"test_afpacket_rx", "--no-huge", "-m", "256", "--no-pci",
		"--no-shconf", "--no-telemetry", "--iova-mode=va",
		"--log-level=lib.eal:error",
		"--vdev=net_af_packet0,iface=lo,qpairs=1", NULL,
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "test_afpacket_rx: unshare(CLONE_NEWNET): %s (needs root)\n",
			strerror(errno));
		return -1;
	}
	if (loopback_up() != 0) {
		fprintf(stderr, "test_afpacket_rx: cannot bring lo up: %s\n",
			strerror(errno));
		return -1;
	}
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "test_afpacket_rx: rte_eal_init: %s\n",
			rte_strerror(rte_errno));
		return -1;
	}
	if (rte_eth_dev_get_port_by_name("net_af_packet0", &port) != 0) {
		fprintf(stderr, "test_afpacket_rx: no net_af_packet0 port\n");
		return -1;
	}
	snprintf(pool_path, sizeof(pool_path), "/dev/shm/pst-test-afpacket-%d.pool",
		 (int)getpid());
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unlink(pool_path);
	rte_eal_cleanup();
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
make_payload(char *p, unsigned int seq)
{
	unsigned int i;

	memset(p, 0, PAYLOAD_LEN);
	snprintf(p, PAYLOAD_LEN, MAGIC "%05u", seq);
	for (i = 32; i < PAYLOAD_LEN; i++)
		p[i] = (char)(seq + i);
}

/* UDP payload of a frame if it is one of ours, with its sequence number. */
static const char *
our_payload(struct rte_mbuf *m, unsigned int *seq, uint16_t *offset)
{
	const char *frame = rte_pktmbuf_mtod(m, const char *);
	const struct rte_ether_hdr *eth = (const void *)frame;
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *udp;
	size_t l3, l4;

	if (m->data_len < sizeof(*eth) + sizeof(*ip) + sizeof(*udp) + PAYLOAD_LEN ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return NULL;
	l3 = sizeof(*eth);
	ip = (const void *)(frame + l3);
	if (ip->next_proto_id != IPPROTO_UDP)
		return NULL;
	l4 = l3 + rte_ipv4_hdr_len(ip);
	udp = (const void *)(frame + l4);
	if (udp->dst_port != rte_cpu_to_be_16(UDP_PORT))
		return NULL;
	if (memcmp(frame + l4 + sizeof(*udp), MAGIC, strlen(MAGIC)) != 0)
		return NULL;
	*seq = (unsigned int)atoi(frame + l4 + sizeof(*udp) + strlen(MAGIC));
	*offset = (uint16_t)(l4 + sizeof(*udp));
	return frame + *offset;
}

static void
test_afpacket_rx_into_pool(void **state)
{
	struct pst_pool_config cfg = {
		.path = pool_path, .buf_count = 4096, .persist_mode = PST_PERSIST_FLUSH,
	};
	static pst_name names[N_DGRAMS];
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	struct rte_mbuf *rx[32];
	struct rte_eth_conf conf;
	struct rte_mempool *mp;
	struct pst_pool_info info;
	struct pst_pool *pool;
	char payload[PAYLOAD_LEN];
	unsigned int sent = 0, received = 0, frames = 0, outside = 0, seq, i;
	uint16_t n, off;
	double deadline;
	int sock, sink;

	(void)state;
	memset(names, 0xff, sizeof(names));
	unlink(pool_path);
	pool = pst_pool_create(&cfg);
	assert_non_null(pool);
	mp = pst_pool_mempool_create(pool, "mp_afpacket", 1024, 32, 0, SOCKET_ID_ANY);
	assert_non_null(mp);
	memset(&conf, 0, sizeof(conf));
	assert_int_equal(rte_eth_dev_configure(port, 1, 1, &conf), 0);
	assert_int_equal(rte_eth_rx_queue_setup(port, 0, 512, SOCKET_ID_ANY, NULL, mp), 0);
	assert_int_equal(rte_eth_tx_queue_setup(port, 0, 512, SOCKET_ID_ANY, NULL), 0);
	assert_int_equal(rte_eth_dev_start(port), 0);
	assert_int_equal(pst_pool_dma_map(pool, port), 0);

	/* A bound socket keeps the kernel from answering with ICMP errors. */
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	sink = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(sink >= 0);
	assert_int_equal(bind(sink, (struct sockaddr *)&dst, sizeof(dst)), 0);
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(sock >= 0);

	deadline = now_s() + 20.0;
	while (received < N_DGRAMS && now_s() < deadline) {
		/* Send a few at a time so the driver's ring never overflows. */
		for (i = 0; i < 8 && sent < N_DGRAMS; i++, sent++) {
			make_payload(payload, sent);
			assert_int_equal(sendto(sock, payload, PAYLOAD_LEN, 0,
						(struct sockaddr *)&dst, sizeof(dst)),
					 PAYLOAD_LEN);
		}
		n = rte_eth_rx_burst(port, 0, rx, 32);
		for (i = 0; i < n; i++) {
			const char *p;

			frames++;
			if (!pst_pool_name_valid(pool, pst_mbuf_name(pool, rx[i])))
				outside++;
			p = our_payload(rx[i], &seq, &off);
			if (p != NULL && seq < N_DGRAMS && names[seq] == PST_NAME_INVALID) {
				make_payload(payload, seq);
				assert_memory_equal(p, payload, PAYLOAD_LEN);
				assert_int_equal(pst_pool_flush(pool, p, PAYLOAD_LEN), 0);
				assert_int_equal(pst_mbuf_keep(pool, rx[i], &names[seq]), 0);
				/* Narrow the name from the frame to the payload. */
				names[seq] = pst_name_make(pst_name_index(names[seq]),
							   (uint16_t)(pst_name_offset(names[seq]) + off),
							   PAYLOAD_LEN);
				received++;
			}
		}
		assert_int_equal(pst_pool_drain(pool), 0);
		rte_pktmbuf_free_bulk(rx, n);
		if (n == 0)
			usleep(100);
	}
	print_message("  %u datagrams sent, %u frames received, %u kept\n",
		      sent, frames, received);
	assert_int_equal(received, N_DGRAMS);
	assert_int_equal(outside, 0);

	close(sock);
	close(sink);
	assert_int_equal(rte_eth_dev_stop(port), 0);
	assert_int_equal(pst_pool_mempool_close(pool), 0);
	pst_pool_info(pool, &info);
	pst_pool_close(pool);

	/* The kept payloads are storage now: they read back by name. */
	cfg.buf_count = 0;
	pool = pst_pool_open(&cfg);
	assert_non_null(pool);
	assert_int_equal(pst_pool_verify(pool), 0);
	for (seq = 0; seq < N_DGRAMS; seq++) {
		make_payload(payload, seq);
		assert_memory_equal(pst_pool_name_to_addr(pool, names[seq]), payload,
				    PAYLOAD_LEN);
	}
	pst_pool_close(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_afpacket_rx_into_pool),
	};

	if (env_setup() != 0)
		return 1;
	return cmocka_run_group_tests_name("net_afpacket_rx", tests, NULL,
					   group_teardown);
}
