/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwIP options of paste. Only what differs from lwIP's opt.h is here, each
 * with the reason. lwIP is compiled from Debian's 2.1.3 source with this
 * file; Debian's prebuilt liblwip fixes NO_SYS=0, copies every TX segment
 * and checks every checksum in software, which the zero-copy path cannot use.
 */
#ifndef PST_LWIPOPTS_H
#define PST_LWIPOPTS_H

/* ---- system ---------------------------------------------------------- */
/* Run to completion on one lcore: no OS threads, semaphores or mailboxes;
 * the poll loop calls lwIP directly and drives its timers. */
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_TIMERS 1
/* The driver also includes glibc's <netinet/in.h> (through DPDK), which
 * defines htons & co.: lwIP must not define them again. */
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1
/* One lwIP instance per process and lcore, one netif per instance. */
#define LWIP_SINGLE_NETIF 1

/* ---- memory ---------------------------------------------------------- */
/* 64-bit machine: align heap and pool elements to 8 bytes. */
#define MEM_ALIGNMENT 8
/* The heap for TX segments (PBUF_RAM) and headers is the C library's.
 * lwIP's own heap is a first-fit list whose mem_malloc() walks the blocks
 * allocated before it: thousands of unacknowledged segments on a busy
 * server. Received data never lives here; TCP_SND_BUF bounds what a
 * connection holds. */
#define MEM_LIBC_MALLOC 1
/* PBUF_REF/ROM descriptors for zero-copy sends of pool data: one per name
 * sent and not yet acknowledged, across all connections, so pipelined
 * reads of large values hold thousands. The most lwIP can count (16 bits). */
#define MEMP_NUM_PBUF 65535
/* Thousands of concurrent connections (RPC and KV benchmarks). */
#define MEMP_NUM_TCP_PCB 4096
#define MEMP_NUM_TCP_PCB_LISTEN 16
/* Queued segments: unsent + unacked + out-of-order across all PCBs
 * (lwIP counts pool elements in 16 bits: at most 65535). */
#define MEMP_NUM_TCP_SEG 65535
/* Received frames are custom pbufs over pool buffers (see netif); lwIP's
 * own PBUF_POOL is only used for the few frames it generates itself. */
#define PBUF_POOL_SIZE 512
#define LWIP_SUPPORT_CUSTOM_PBUF 1
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 4)

/* ---- link and IP ----------------------------------------------------- */
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
/* Testbeds and benchmarks pin the peer's MAC so no ARP exchange can race
 * the first packet. */
#define ETHARP_SUPPORT_STATIC_ENTRIES 1
#define ARP_TABLE_SIZE 64
/* Keep packets waiting for ARP instead of dropping all but the last. */
#define ARP_QUEUEING 1
#define MEMP_NUM_ARP_QUEUE 256
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ICMP 1
#define LWIP_UDP 1
/* UDP sockets per stack (pst_udp_bind refuses past it with ENOMEM). */
#define MEMP_NUM_UDP_PCB 64
#define LWIP_RAW 0
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
/* Fragments are dropped and counted: a TCP peer with a proper MSS never
 * sends them, and reassembly would copy payload out of pool buffers. */
#define IP_REASSEMBLY 0
#define IP_FRAG 0

/* ---- TCP ------------------------------------------------------------- */
#define LWIP_TCP 1
#define TCP_MSS 1460
/* Window scaling with a 4 MiB window: 10 GbE at LAN round-trip times
 * (tens to hundreds of microseconds) needs more than 64 KiB in flight. */
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 7
#define TCP_WND (4 * 1024 * 1024)
#define TCP_SND_BUF (4 * 1024 * 1024)
/* Segments and pbufs one connection may have queued (unsent and
 * unacknowledged), counted in pbufs: lwIP's segment and pbuf pools
 * (MEMP_NUM_TCP_SEG, MEMP_NUM_PBUF) are every connection's, and at
 * 4 x TCP_SND_BUF / TCP_MSS (11,491) six connections whose peers stopped
 * reading took all of one of them from the others. 1,024 pbufs hold about
 * 1.4 MB of full copied segments, or a 1 MiB value sent by name in 2 KiB
 * pieces, in flight; past that a send is refused (-EAGAIN) until the peer
 * acknowledges. tcp.c also keeps the last 1/8 of both pools for
 * connections with less than 64 queued (pst_conn_send). */
#define TCP_SND_QUEUELEN 1024
/* The writable (sent) callback fires once 32 KiB of send buffer are free;
 * lwIP requires the low-water mark to fit a 16-bit counter. */
#define TCP_SNDLOWAT (32 * 1024)
/* lwIP checks TCP_WND against PBUF_POOL_SIZE, but received segments live in
 * pool buffers (custom pbufs), not in PBUF_POOL: that check does not apply. */
#define LWIP_DISABLE_TCP_SANITY_CHECKS 1
/* Out-of-order segments keep their pool buffers; the netif has already
 * swapped a fresh buffer into the mbuf, so RX stays filled. */
#define TCP_QUEUE_OOSEQ 1
/* ... but each pins a whole pool buffer, even for one byte, so their
 * bytes lying inside the window does not bound their buffers: a queue is
 * counted in buffers against its connection's grant, what the grant leaves
 * after the bytes the application holds, one buffer per gather_below bytes
 * (pst_tcp_oos_limit(), tcp.c), and at most 256 segments (and 256 full
 * segments' bytes). lwIP drops the rest of the queue past that (its SACK
 * blocks with it), and the peer retransmits. */
#define TCP_OOSEQ_MAX_BYTES (256 * TCP_MSS)
#define TCP_OOSEQ_MAX_PBUFS 256
struct tcp_pcb;
unsigned short pst_tcp_oos_limit(const struct tcp_pcb *pcb);
#define TCP_OOSEQ_PBUFS_LIMIT(pcb) pst_tcp_oos_limit(pcb)
#define LWIP_TCP_SACK_OUT 1
#define LWIP_TCP_TIMESTAMPS 1
/* Bounded listen backlogs give a clean refusal under connection floods. */
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 255
/* Keep the last segment open for appends: fewer, fuller segments. */
#define TCP_OVERSIZE TCP_MSS
#define LWIP_TCP_KEEPALIVE 1

/* ---- checksums ------------------------------------------------------- */
/* Per-netif control: generation and checking are switched off for what
 * the DPDK port offloads and stay in software otherwise. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
/* What stays in software is summed by paste's routine (chksum.c), 32 bits
 * a step where lwIP's loop takes 16. */
unsigned short pst_inet_chksum(const void *data, int len);
#define LWIP_CHKSUM pst_inet_chksum
#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_GEN_UDP 1
#define CHECKSUM_GEN_ICMP 1
#define CHECKSUM_CHECK_IP 1
#define CHECKSUM_CHECK_TCP 1
#define CHECKSUM_CHECK_UDP 1
#define CHECKSUM_CHECK_ICMP 1
/* TX builds chained pbufs (headers + payload in place): never flatten a
 * segment into one copied pbuf. */
#define LWIP_NETIF_TX_SINGLE_PBUF 0

/* ---- statistics and debugging ---------------------------------------- */
/* Drop counters (checksum, length, protocol errors) come from lwIP's. */
#define LWIP_STATS 1
#define LINK_STATS 1
#define IP_STATS 1
#define ICMP_STATS 1
#define TCP_STATS 1
#define UDP_STATS 1
/* MIB-II counters: TCP retransmissions (mib2.tcpretranssegs). */
#define MIB2_STATS 1
#define LWIP_STATS_DISPLAY 0
/* LWIP_DEBUG stays undefined: lwIP tests it with #ifdef, so any value,
 * even 0, compiles its debug code in (LWIP_ERROR then prints). */

#endif /* PST_LWIPOPTS_H */
