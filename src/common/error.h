/* SPDX-License-Identifier: BSD-3-Clause */
/* Recording failures: every failing library call goes through here so that
 * pst_errno and pst_errormsg() always describe the same failure. */
#ifndef PST_ERROR_H
#define PST_ERROR_H

#include "paste_errno.h"

/* Set pst_errno to |err| and the message from a printf format.
 * Returns -|err| so callers can write `return pst_fail(...)`. */
int pst_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* PST_ERROR_H */
