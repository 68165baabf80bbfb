/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-echo --udp: each datagram is kept where the NIC put it, sent back
 * by name from that buffer, and released. A datagram the driver had to
 * copy (no name) is echoed by copy.
 *
 * With --hold the datagrams are kept and not echoed: the socket's receive
 * budget fills up and a flood is dropped and counted instead of taking the
 * pool. A second socket (port + 1) answers "stats" with the counters and
 * "release" by releasing every held datagram; it has its own budget, so it
 * still answers while the echo socket is full.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udp_echo.h"

#define HOLD_MAX 65536

static struct pst_udp_sock *echo_sock, *ctl_sock;
static struct pst_stack *the_stack;
static struct pst_pool *pool;
static pst_name *held;
static unsigned int n_held;
static int holding;

static void
echo_copy(struct pst_udp_sock *sock, uint32_t ip, uint16_t port,
	  const struct pst_segment *segs, unsigned int n)
{
	static char buf[65536];
	size_t len = pst_segments_copy(segs, n, 0, buf, sizeof(buf));

	pst_udp_sendto(sock, ip, port, buf, len);
}

static void
on_echo(void *arg, struct pst_udp_sock *sock, uint32_t ip, uint16_t port,
	const struct pst_segment *segs, unsigned int n)
{
	pst_name name;

	(void)arg;
	if (holding) {
		unsigned int i;

		for (i = 0; i < n && n_held < HOLD_MAX; i++)
			if (pst_udp_keep(sock, &segs[i], &name) == 0)
				held[n_held++] = name;
		return;
	}
	if (n != 1 || pst_udp_keep(sock, &segs[0], &name) != 0) {
		echo_copy(sock, ip, port, segs, n);
		return;
	}
	pst_udp_sendto_name(sock, ip, port, name);
	/* Waits for the NIC when the frame holds the buffer. */
	pst_udp_release(sock, name);
}

static int
format_stats(char *out, size_t size)
{
	struct pst_udp_global_stats g;
	struct pst_stack_stats ss;
	struct pst_pool_stats ps;
	struct pst_udp_stats st;

	pst_udp_stats(echo_sock, &st);
	pst_udp_global_stats(the_stack, &g);
	pst_pool_stats(pool, &ps);
	pst_stack_stats(the_stack, &ss);
	return snprintf(out, size,
			"rx=%lu kept=%lu dropped_budget=%lu bad_len=%lu held=%lu "
			"budget=%lu tx=%lu tx_zc_bytes=%lu tx_errors=%lu "
			"frag_dropped=%lu bad_csum=%lu pool_free=%lu frames_in=%lu "
			"stack_dropped=%lu",
			(unsigned long)st.rx_datagrams, (unsigned long)st.rx_segments_kept,
			(unsigned long)st.rx_dropped_budget, (unsigned long)st.rx_dropped_bad_len,
			(unsigned long)st.rcv_held, (unsigned long)st.rcv_budget,
			(unsigned long)st.tx_datagrams, (unsigned long)st.tx_bytes_zc,
			(unsigned long)st.tx_errors, (unsigned long)g.ip_fragments_dropped,
			(unsigned long)g.rx_bad_checksum, (unsigned long)ps.free,
			(unsigned long)ss.rx_packets, (unsigned long)ss.rx_dropped);
}

static void
on_ctl(void *arg, struct pst_udp_sock *sock, uint32_t ip, uint16_t port,
	const struct pst_segment *segs, unsigned int n)
{
	char cmd[16] = "", reply[512];
	size_t len = pst_segments_copy(segs, n, 0, cmd, sizeof(cmd) - 1);
	int r;

	(void)arg;
	cmd[len] = '\0';
	if (strcmp(cmd, "release") == 0) {
		unsigned int released = n_held;

		while (n_held > 0)
			pst_udp_release(echo_sock, held[--n_held]);
		r = snprintf(reply, sizeof(reply), "released %u", released);
	} else if (strcmp(cmd, "stats") == 0) {
		r = format_stats(reply, sizeof(reply));
	} else {
		r = snprintf(reply, sizeof(reply), "unknown command");
	}
	pst_udp_sendto(sock, ip, port, reply, (size_t)r);
}

int
udp_echo_start(struct pst_stack *stack, uint16_t port, uint32_t rcvbuf, int hold)
{
	the_stack = stack;
	pool = pst_stack_pool(stack);
	holding = hold;
	held = calloc(HOLD_MAX, sizeof(*held));
	if (held == NULL)
		return -1;
	echo_sock = pst_udp_bind(stack, port, on_echo, NULL);
	if (echo_sock == NULL)
		return -1;
	if (rcvbuf != 0 && pst_udp_set_rcvbuf(echo_sock, rcvbuf) != 0)
		return -1;
	ctl_sock = pst_udp_bind(stack, (uint16_t)(port + 1), on_ctl, NULL);
	return ctl_sock == NULL ? -1 : 0;
}

void
udp_echo_stop(void)
{
	char line[512];

	if (echo_sock != NULL) {
		format_stats(line, sizeof(line));
		printf("paste-echo: udp %s\n", line);
		while (n_held > 0)
			pst_udp_release(echo_sock, held[--n_held]);
	}
	pst_udp_close(echo_sock);
	pst_udp_close(ctl_sock);
	echo_sock = ctl_sock = NULL;
	free(held);
	held = NULL;
}
