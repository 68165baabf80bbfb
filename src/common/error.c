/* SPDX-License-Identifier: BSD-3-Clause */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

__thread int pst_errno;
static __thread char last_msg[512];

/* |err| without abs(INT_MIN)'s undefined behaviour. */
static int
magnitude(int err)
{
	if (err == INT_MIN)
		return INT_MAX;
	return err < 0 ? -err : err;
}

int
pst_fail(int err, const char *fmt, ...)
{
	va_list ap;

	err = magnitude(err);
	pst_errno = err;
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	return -err;
}

const char *
pst_errormsg(void)
{
	return last_msg;
}

const char *
pst_strerror(int err)
{
	const char *desc;

	err = magnitude(err);
	switch (err) {
	case PST_EFOREIGN:
		return "not a paste pool file (bad magic)";
	case PST_EVERSION:
		return "pool file has another layout version";
	case PST_ETRUNC:
		return "pool file is truncated";
	case PST_EGEOMETRY:
		return "pool geometry differs from the one asked for";
	case PST_ECRC:
		return "pool header checksum mismatch";
	case PST_ECORRUPT:
		return "pool header fields are inconsistent";
	case PST_EOWNER:
		return "pool root slot belongs to another owner";
	default:
		break;
	}
	if (err > PST_EBASE)
		return "unknown paste error";
	/* strerrordesc_np() returns static strings, or NULL for values glibc
	 * does not know, where strerror() would format into a buffer. */
	desc = strerrordesc_np(err);
	return desc != NULL ? desc : "unknown error";
}
