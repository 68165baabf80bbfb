/* SPDX-License-Identifier: BSD-3-Clause */
/* NO_SYS=1: lwIP needs no threads, semaphores or mailboxes from the port. */
#ifndef PST_ARCH_SYS_ARCH_H
#define PST_ARCH_SYS_ARCH_H
#endif
