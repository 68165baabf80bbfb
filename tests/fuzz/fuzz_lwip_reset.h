/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PST_FUZZ_LWIP_RESET_H
#define PST_FUZZ_LWIP_RESET_H

/* Abort every TCP connection of lwIP's (fuzz_lwip_reset.c). */
void fz_lwip_abort_all(void);

#endif /* PST_FUZZ_LWIP_RESET_H */
