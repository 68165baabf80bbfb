/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the glob patterns of KEYS and SCAN MATCH, with Redis 7.0's
 * meaning (its stringmatchlen, case-sensitive): '*' any run of bytes, '?'
 * one byte, [abc] [^abc] [a-z] classes (reversed ranges allowed, compared
 * as C's signed char), '\' escaping the next byte, in and out of classes.
 * Its corner cases are Redis's too: an unterminated class runs to the end
 * of the pattern, a trailing '\' is a literal '\', and the empty key
 * matches only the empty pattern (KEYS and SCAN treat the pattern "*" as
 * "every key" before any match).
 */
#ifndef KVS_GLOB_H
#define KVS_GLOB_H

#include <stddef.h>

/* 1 if @s (@slen bytes) matches the pattern @pat (@plen bytes), else 0.
 * Iterative: its stack does not grow with the pattern, and a failed match
 * after a '*' never retries an earlier '*' (a later one failing at every
 * position means no earlier choice can succeed), so a pattern of k stars
 * costs O(k * slen) token tests, not exponential time. */
int kv_glob_match(const char *pat, size_t plen, const char *s, size_t slen);

#endif /* KVS_GLOB_H */
