/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': KEYS's and SCAN MATCH's glob patterns (examples/kvs/glob.h)
 * against redis-server 7.0's own answers: the table below is what KEYS
 * returned there for each pattern over the keys listed (generated once with
 * redis-py against a local redis-server 7.0.15; a '1' per key it matched).
 * Plus patterns that would take exponential time or deep recursion in a
 * naive backtracking matcher.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "glob.h"

/* Generated from redis-server 7.0.15's KEYS answers over these keys. */
static const char *const keys[] = {
	"",
	"\x61",
	"\x62",
	"\x61\x62",
	"\x61\x62\x63",
	"\x61\x58\x63",
	"\x61\x2a\x63",
	"\x61\x3f\x63",
	"\x61\x5b\x63",
	"\x61\x5d\x63",
	"\x61\x5c\x63",
	"\x61\x2d\x63",
	"\x68\x65\x6c\x6c\x6f",
	"\x68\x61\x6c\x6c\x6f",
	"\x68\x78\x6c\x6c\x6f",
	"\x68\x6c\x6c\x6f",
	"\x68\x65\x65\x65\x65\x6c\x6c\x6f",
	"\x68\x5e\x6c\x6c\x6f",
	"\x5e",
	"\x5d",
	"\x5b",
	"\x5c",
	"\x2d",
	"\x78\x80\x79",
	"\x78\xff\x79",
	"\x78\x7f\x79",
	"\x66\x6f\x6f\x3a\x62\x61\x72\x3a\x62\x61\x7a",
	"\x66\x6f\x6f\x3a\x3a",
	"\x2a",
	"\x3f",
	"\x61\x61\x61\x61\x61\x61\x61\x61\x61\x62",
	"\x7a",
};
static const struct { const char *pat; size_t plen; const char *matches; } cases[] = {
	{ "\x2a", 1, "11111111111111111111111111111111" },
	{ "\x2a\x2a", 2, "01111111111111111111111111111111" },
	{ "", 0, "10000000000000000000000000000000" },
	{ "\x61", 1, "01000000000000000000000000000000" },
	{ "\x3f", 1, "01100000000000000011111000001101" },
	{ "\x3f\x3f", 2, "00010000000000000000000000000000" },
	{ "\x61\x2a", 2, "01011111111100000000000000000010" },
	{ "\x2a\x63", 2, "00001111111100000000000000000000" },
	{ "\x61\x2a\x63", 3, "00001111111100000000000000000000" },
	{ "\x61\x3f\x63", 3, "00001111111100000000000000000000" },
	{ "\x68\x3f\x6c\x6c\x6f", 5, "00000000000011100100000000000000" },
	{ "\x68\x2a\x6c\x6c\x6f", 5, "00000000000011111100000000000000" },
	{ "\x68\x5b\x61\x65\x5d\x6c\x6c\x6f", 8, "00000000000011000000000000000000" },
	{ "\x68\x5b\x5e\x65\x5d\x6c\x6c\x6f", 8, "00000000000001100100000000000000" },
	{ "\x68\x5b\x61\x2d\x62\x5d\x6c\x6c\x6f", 9, "00000000000001000000000000000000" },
	{ "\x68\x5b\x62\x2d\x61\x5d\x6c\x6c\x6f", 9, "00000000000001000000000000000000" },
	{ "\x61\x5b\x2a\x5d\x63", 5, "00000010000000000000000000000000" },
	{ "\x61\x5c\x2a\x63", 4, "00000010000000000000000000000000" },
	{ "\x61\x5c\x3f\x63", 4, "00000001000000000000000000000000" },
	{ "\x61\x5b\x5c\x5d\x5d\x63", 6, "00000000010000000000000000000000" },
	{ "\x61\x5b\x5d\x5d\x63", 5, "00000000000000000000000000000000" },
	{ "\x61\x5b", 2, "00000000000000000000000000000000" },
	{ "\x61\x5b\x63", 3, "00000000000000000000000000000000" },
	{ "\x5b", 1, "00000000000000000000000000000000" },
	{ "\x5b\x5e", 2, "01100000000000000011111000001101" },
	{ "\x5b\x5d", 2, "00000000000000000000000000000000" },
	{ "\x5b\x5e\x5d", 3, "01100000000000000011111000001101" },
	{ "\x61\x5c", 2, "00000000000000000000000000000000" },
	{ "\x5c", 1, "00000000000000000000010000000000" },
	{ "\x61\x5b\x5c", 3, "00000000000000000000000000000000" },
	{ "\x61\x5b\x78\x2d", 4, "00000000000000000000000000000000" },
	{ "\x61\x5b\x2d\x63\x5d\x63", 6, "00000000000100000000000000000000" },
	{ "\x61\x5b\x63\x2d\x5d\x63", 6, "00010000000000000000000000000000" },
	{ "\x61\x5b\x5e\x2d\x5d\x63", 6, "00001111111000000000000000000000" },
	{ "\x78\x5b\x7f\x2d\x81\x5d\x79", 7, "00000000000000000000000011000000" },
	{ "\x78\x5b\x80\x2d\xff\x5d\x79", 7, "00000000000000000000000110000000" },
	{ "\x78\x5b\x61\x2d\x80\x5d\x79", 7, "00000000000000000000000110000000" },
	{ "\x78\x3f\x79", 3, "00000000000000000000000111000000" },
	{ "\x66\x6f\x6f\x3a\x2a", 5, "00000000000000000000000000110000" },
	{ "\x2a\x3a\x2a", 3, "00000000000000000000000000110000" },
	{ "\x2a\x3a\x2a\x3a\x2a", 5, "00000000000000000000000000110000" },
	{ "\x66\x6f\x6f\x3a\x2a\x3a", 6, "00000000000000000000000000010000" },
	{ "\x61\x2a\x61\x2a\x61\x2a\x61\x2a\x62", 9, "00000000000000000000000000000010" },
	{ "\x2a\x61\x2a", 3, "01011111111101000000000000100010" },
	{ "\x5b\x61\x2d\x7a\x5d", 5, "01100000000000000000000000000001" },
	{ "\x5b\x21\x61\x5d", 4, "01000000000000000000000000000000" },
	{ "\x5c\x61", 2, "01000000000000000000000000000000" },
	{ "\x68\x5c\x5b\x5e\x65\x5d\x6c\x6c\x6f", 9, "00000000000000000000000000000000" },
	{ "\x2a\x5c", 2, "00000000000000000000010000000000" },
	{ "\x2a\x5b", 2, "00000000000000000000000000000000" },
	{ "\x5b\x2a", 2, "00000000000000000000000000001000" },
	{ "\x61\x5b\x62\x2d\x5d", 5, "00010000000000000000000000000000" },
	{ "\x5b\x5c\x5c\x5d", 4, "00000000000000000000010000000000" },
	{ "\x61\x5b\x5e\x5d", 4, "00010000000000000000000000000000" },
	{ "\x68\x5b\x61\x65", 4, "00000000000000000000000000000000" },
	{ "\x3f\x2a", 2, "01111111111111111111111111111111" },
	{ "\x2a\x3f", 2, "01111111111111111111111111111111" },
	{ "\x2a\x3f\x3f\x2a", 4, "00011111111111111100000111110010" },
	{ "\x5b\x7a\x2d\x61\x5d", 5, "01100000000000000000000000000001" },
	{ "\x61\x5d\x63", 3, "00000000010000000000000000000000" },
	{ "\x61\x5c\x5d\x63", 4, "00000000010000000000000000000000" },
	{ "\x5b\x5d\x5d", 3, "00000000000000000000000000000000" },
	{ "\x5e", 1, "00000000000000000010000000000000" },
};

/* KEYS and SCAN take the pattern "*" for every key before matching
 * (Redis's allkeys): the one way the empty key is matched by a star. */
static int
keys_match(const char *pat, size_t plen, const char *s, size_t slen)
{
	return (plen == 1 && pat[0] == '*') || kv_glob_match(pat, plen, s, slen);
}

static void
test_redis_table(void **state)
{
	size_t i, k, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(strlen(cases[i].matches), sizeof(keys) / sizeof(keys[0]));
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			int want = cases[i].matches[k] == '1';
			int got = keys_match(cases[i].pat, cases[i].plen, keys[k], strlen(keys[k]));

			if (got != want) {
				printf("pattern #%zu (%zu bytes) key #%zu: %d, redis %d\n", i,
				       cases[i].plen, k, got, want);
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/* Bytes past the pattern's length are not read: a pattern that is a
 * prefix of a longer buffer means what its length says. */
static void
test_lengths(void **state)
{
	(void)state;
	assert_true(kv_glob_match("a*zzz", 2, "abc", 3));
	assert_false(kv_glob_match("abc", 2, "abc", 3));
	assert_true(kv_glob_match("a\0b", 3, "a\0b", 3));
	assert_false(kv_glob_match("a\0b", 3, "a\0c", 3));
	assert_true(kv_glob_match("a?b", 3, "a\0b", 3));
}

/* "a*a*a*...b" against "aaaa...": exponential for a matcher that retries
 * every earlier star; and 100,000 stars, which would recurse that deep. */
static void
test_hard_patterns(void **state)
{
	static char pat[200001], s[250];
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < 30; i++) {
		pat[n++] = 'a';
		pat[n++] = '*';
	}
	pat[n++] = 'b';
	memset(s, 'a', sizeof(s));
	assert_false(kv_glob_match(pat, n, s, sizeof(s)));
	s[sizeof(s) - 1] = 'b';
	assert_true(kv_glob_match(pat, n, s, sizeof(s)));
	for (n = 0; n + 2 <= sizeof(pat) - 1; n += 2) {
		pat[n] = '*';
		pat[n + 1] = 'a';
	}
	assert_true(kv_glob_match(pat, 2 * 100, s, 100));
	assert_false(kv_glob_match(pat, n, s, sizeof(s)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redis_table),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_hard_patterns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
