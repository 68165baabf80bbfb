/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Errors of the paste library.
 *
 * Calls that return a pointer give NULL on failure and set ::pst_errno to a
 * positive error code. Calls that return int give 0 (or a non-negative
 * count) on success and a negative error code on failure. Error codes are
 * either ordinary errno values (ENOENT, ENOMEM, ENOBUFS, EINVAL, ...) or the
 * paste-specific PST_E* values below, which lie above the errno range.
 * The library never calls exit() or abort() on bad input.
 */
#ifndef PASTE_ERRNO_H
#define PASTE_ERRNO_H

#ifdef __cplusplus
extern "C" {
#endif

/** First paste-specific error code; everything below is an errno value. */
#define PST_EBASE 2000

/** Pool file refused: it is not a paste pool (bad magic). */
#define PST_EFOREIGN (PST_EBASE + 1)
/** Pool file refused: written with another layout version (newer and
 *  unknown, or older and lacking what this library relies on). */
#define PST_EVERSION (PST_EBASE + 2)
/** Pool file refused: shorter than its header says it must be. */
#define PST_ETRUNC (PST_EBASE + 3)
/** Pool file refused: geometry differs from what the caller asked for. */
#define PST_EGEOMETRY (PST_EBASE + 4)
/** Pool file refused: the header checksum does not match its contents. */
#define PST_ECRC (PST_EBASE + 5)
/** Pool file refused: header fields are inconsistent with each other. */
#define PST_ECORRUPT (PST_EBASE + 6)
/** A pool root slot belongs to another application or index kind. */
#define PST_EOWNER (PST_EBASE + 7)
/** One past the last paste-specific error code. */
#define PST_ELAST (PST_EBASE + 8)

/**
 * Error code of the last failed call of this thread (positive).
 * Set by calls that return NULL; int-returning calls set it too.
 */
extern __thread int pst_errno;

/**
 * Describe an error code.
 *
 * @param err
 *   An error code, positive or negative (the sign is ignored).
 * @return
 *   A static, human-readable string; never NULL.
 */
const char *pst_strerror(int err);

/**
 * Describe the last failure of this thread in detail (which file, which
 * field, what was expected), in the manner of libpmem2's errormsg().
 *
 * @return
 *   A thread-local string, empty when no call has failed yet.
 */
const char *pst_errormsg(void);

#ifdef __cplusplus
}
#endif

#endif /* PASTE_ERRNO_H */
