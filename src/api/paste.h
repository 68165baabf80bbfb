/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * paste: a userspace TCP/IP stack over DPDK whose packet buffers live in
 * persistent memory. Include this header to get the whole public API.
 */
#ifndef PASTE_H
#define PASTE_H

#include "paste_errno.h"
#include "paste_pool.h"
#include "paste_media.h"
#include "paste_mbuf.h"
#include "paste_stack.h"
#include "paste_tcp.h"
#include "paste_udp.h"
#include "paste_port.h"

#endif /* PASTE_H */
