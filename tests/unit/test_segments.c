/* SPDX-License-Identifier: BSD-3-Clause */
/* Suite 'unit': walking messages that span several received segments. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "paste_tcp.h"

/* "GET key\r\n" split as a peer's TCP stack might split it. */
static const char *parts[] = { "GE", "T k", "", "ey\r", "\n" };
static struct pst_segment segs[5];

static int
setup(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		segs[i].data = parts[i];
		segs[i].len = (uint32_t)strlen(parts[i]);
		segs[i].name = PST_NAME_INVALID;
	}
	return 0;
}

static void
test_copy_across_segments(void **state)
{
	char buf[32];

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pst_segments_copy(segs, 5, 0, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "GET key\r\n");
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pst_segments_copy(segs, 5, 4, buf, 3), 3);
	assert_string_equal(buf, "key");
	assert_int_equal(pst_segments_copy(segs, 5, 9, buf, 1), 0);
	assert_int_equal(pst_segments_copy(segs, 5, 100, buf, 1), 0);
	assert_int_equal(pst_segments_copy(segs, 0, 0, buf, 1), 0);
}

static void
test_find_across_segments(void **state)
{
	(void)state;
	assert_int_equal(pst_segments_find(segs, 5, 0, '\r'), 7);
	assert_int_equal(pst_segments_find(segs, 5, 0, '\n'), 8);
	assert_int_equal(pst_segments_find(segs, 5, 0, 'G'), 0);
	assert_int_equal(pst_segments_find(segs, 5, 1, 'G'), -1);
	assert_int_equal(pst_segments_find(segs, 5, 3, ' '), 3);
	assert_int_equal(pst_segments_find(segs, 5, 4, ' '), -1);
	assert_int_equal(pst_segments_find(segs, 5, 9, '\n'), -1);
}

static void
test_locate(void **state)
{
	unsigned int seg;
	size_t off;

	(void)state;
	assert_int_equal(pst_segments_locate(segs, 5, 0, &seg, &off), 0);
	assert_int_equal(seg, 0);
	assert_int_equal(off, 0);
	/* Offset 5 is 'k' + 1: the empty segment is skipped. */
	assert_int_equal(pst_segments_locate(segs, 5, 5, &seg, &off), 0);
	assert_int_equal(seg, 3);
	assert_int_equal(off, 0);
	assert_int_equal(pst_segments_locate(segs, 5, 8, &seg, &off), 0);
	assert_int_equal(seg, 4);
	assert_int_equal(pst_segments_locate(segs, 5, 9, &seg, &off), -ERANGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_across_segments),
		cmocka_unit_test(test_find_across_segments),
		cmocka_unit_test(test_locate),
	};

	return cmocka_run_group_tests_name("unit_segments", tests, setup, NULL);
}
