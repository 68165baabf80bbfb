/* SPDX-License-Identifier: BSD-3-Clause */
/* lwIP's error codes as paste reports them (lwip_errno.c). */
#ifndef PST_LWIP_ERRNO_H
#define PST_LWIP_ERRNO_H

/* Errno value of an lwIP err_t, negative; 0 for ERR_OK. */
int pst_lwip_errno(signed char err);

#endif /* PST_LWIP_ERRNO_H */
