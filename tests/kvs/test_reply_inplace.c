/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': a RESP bulk reply sent from the pool in place
 * (reply_inplace.c). The header and the trailer are taken from the pool
 * only where it holds exactly those bytes around the value, within the
 * value's buffer; anything else is left to be sent as bytes.
 */
#include "../unit/pst_test_util.h"

#include "kv_index.h"
#include "reply_inplace.h"

#define BUF_SIZE 2176u

static struct pst_pool *pool;
static char path[PATH_MAX];

/* Write @s at @off in buffer @index. */
static void
put(uint32_t index, uint16_t off, const char *s)
{
	char *p = pst_pool_name_to_addr(pool, pst_name_make(index, off, (uint16_t)strlen(s)));

	assert_non_null(p);
	memcpy(p, s, strlen(s));
}

/* A value of one or two names. */
struct value2 {
	struct kv_value v;
	pst_name names[2];
};

static void
check(const struct value2 *val, const char *hdr, int want_hdr, int want_trailer,
      pst_name first, pst_name last)
{
	struct kv_inplace in;

	kv_reply_inplace(pool, BUF_SIZE, &val->v, hdr, strlen(hdr), &in);
	assert_int_equal(in.hdr, want_hdr);
	assert_int_equal(in.trailer, want_trailer);
	assert_true(in.first == first);
	assert_true(in.last == last);
}

static void
test_one_name(void **state)
{
	struct value2 val = { .v = { .len = 5, .n = 1 } };

	(void)state;
	put(1, 100, "$5\r\nhello\r\n");
	val.names[0] = pst_name_make(1, 104, 5);
	/* The whole reply: one name over header, value and trailer. */
	check(&val, "$5\r\n", 1, 1, pst_name_make(1, 100, 11), pst_name_make(1, 100, 11));
	/* Another header (a length the client wrote with a leading zero):
	 * the trailer only. */
	check(&val, "$05\r\n", 0, 1, pst_name_make(1, 104, 7), pst_name_make(1, 104, 7));
	/* No CR LF after the value. */
	put(1, 109, "\r\r");
	check(&val, "$5\r\n", 1, 0, pst_name_make(1, 100, 9), pst_name_make(1, 100, 9));
	/* Too near the start of its buffer for a header (a copied value
	 * starts at 0), and the bytes before it are not looked at. */
	put(2, 0, "hello\r\n");
	val.names[0] = pst_name_make(2, 0, 5);
	check(&val, "$5\r\n", 0, 1, pst_name_make(2, 0, 7), pst_name_make(2, 0, 7));
	/* Ending at its buffer's end: the trailer would leave the buffer,
	 * even though the next buffer starts with CR LF. */
	put(3, BUF_SIZE - 9, "$5\r\nhello");
	put(4, 0, "\r\n");
	val.names[0] = pst_name_make(3, BUF_SIZE - 5, 5);
	check(&val, "$5\r\n", 1, 0, pst_name_make(3, BUF_SIZE - 9, 9),
	      pst_name_make(3, BUF_SIZE - 9, 9));
}

static void
test_two_names(void **state)
{
	struct value2 val = { .v = { .len = 5, .n = 2 } };

	(void)state;
	/* "hel" ends one segment, "lo\r\n" starts the next. */
	put(5, 200, "$5\r\nhel");
	put(6, 60, "lo\r\n");
	val.names[0] = pst_name_make(5, 204, 3);
	val.names[1] = pst_name_make(6, 60, 2);
	check(&val, "$5\r\n", 1, 1, pst_name_make(5, 200, 7), pst_name_make(6, 60, 4));
	/* Neither piece there: the names as they are. */
	put(5, 200, "xxxx");
	put(6, 62, "\n\r");
	check(&val, "$5\r\n", 0, 0, val.names[0], val.names[1]);
}

static int
group_setup(void **state)
{
	(void)state;
	if (tu_group_setup_common("kvinplace") != 0)
		return -1;
	tu_path(path, sizeof(path), "inplace");
	pool = tu_must_create(path, BUF_SIZE, 64, PST_PERSIST_FLUSH);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	tu_close(pool);
	unlink(path);
	return tu_group_teardown_common();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_name),
		cmocka_unit_test(test_two_names),
	};

	return cmocka_run_group_tests_name("kvs_reply_inplace", tests, group_setup,
					   group_teardown);
}
