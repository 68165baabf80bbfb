/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: glob matching (glob.h), written for Redis's semantics: the
 * unit test (tests/kvs/test_glob.c) holds redis-server 7.0's answers for
 * the corner cases.
 */
#include <stdint.h>

#include "glob.h"

/* The pattern byte at @i, or NUL past its end: Redis reads its patterns
 * as NUL-terminated strings there. */
static inline char
at(const char *p, size_t plen, size_t i)
{
	return i < plen ? p[i] : '\0';
}

/* A bracket class starting at p[i] == '[' against byte @c. Returns
 * whether it matched; *next is the index just past the class (or past the
 * pattern's end, for an unterminated one). */
static int
class_match(const char *p, size_t plen, size_t i, char c, size_t *next)
{
	int negate, match = 0;

	i++;
	negate = at(p, plen, i) == '^';
	if (negate)
		i++;
	for (;;) {
		size_t rem = plen - i;   /* i <= plen throughout */

		if (at(p, plen, i) == '\\' && rem >= 2) {
			i++;
			if (p[i] == c)
				match = 1;
		} else if (at(p, plen, i) == ']') {
			break;
		} else if (rem == 0) {
			/* Unterminated: the class ends with the pattern. */
			i--;
			break;
		} else if (rem >= 3 && p[i + 1] == '-') {
			int lo = (signed char)p[i], hi = (signed char)p[i + 2];
			int x = (signed char)c;

			if (lo > hi) {
				int t = lo;

				lo = hi;
				hi = t;
			}
			i += 2;
			if (x >= lo && x <= hi)
				match = 1;
		} else if (p[i] == c) {
			match = 1;
		}
		i++;
	}
	*next = i + 1;
	return negate ? !match : match;
}

/* The one-byte token at p[i] (not '*') against @c; *next past it. */
static int
token_match(const char *p, size_t plen, size_t i, char c, size_t *next)
{
	switch (p[i]) {
	case '?':
		*next = i + 1;
		return 1;
	case '[':
		return class_match(p, plen, i, c, next);
	case '\\':
		if (plen - i >= 2)
			i++;
		/* fall through */
	default:
		*next = i + 1;
		return p[i] == c;
	}
}

int
kv_glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0, next;

	/* Redis matches token by token while both remain: nothing, not even
	 * "*", matches the empty string but the empty pattern. */
	if (slen == 0)
		return plen == 0;
	for (;;) {
		if (pi < plen && si < slen) {
			if (pat[pi] == '*') {
				while (pi + 1 < plen && pat[pi + 1] == '*')
					pi++;
				if (pi + 1 == plen)
					return 1;
				/* The rest of the pattern from here, then from
				 * each later byte in turn. */
				star_p = ++pi;
				star_s = si;
				continue;
			}
			if (token_match(pat, plen, pi, s[si], &next)) {
				pi = next;
				si++;
				continue;
			}
		} else if (si == slen) {
			/* The string is used up: trailing stars match nothing. */
			while (pi < plen && pat[pi] == '*')
				pi++;
			if (pi == plen)
				return 1;
		}
		/* No match from here: move the last '*''s end one byte on, as
		 * long as a byte is left for the rest of the pattern. */
		if (star_p == SIZE_MAX || ++star_s >= slen)
			return 0;
		pi = star_p;
		si = star_s;
	}
}
