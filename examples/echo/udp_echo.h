/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-echo --udp: the UDP echo (udp_echo.c). */
#ifndef ECHO_UDP_ECHO_H
#define ECHO_UDP_ECHO_H

#include <stdint.h>

#include "paste.h"

/*
 * Echo datagrams on @port; control datagrams on @port + 1 ("stats",
 * "release"). @rcvbuf: the echo socket's receive budget in buffers (0: the
 * default). @hold: keep datagrams instead of echoing them, until a
 * "release" on the control port. Returns 0 or -1 (reported).
 */
int udp_echo_start(struct pst_stack *stack, uint16_t port, uint32_t rcvbuf,
		   int hold);

/* Print the final counters and close the sockets. */
void udp_echo_stop(void);

#endif /* ECHO_UDP_ECHO_H */
