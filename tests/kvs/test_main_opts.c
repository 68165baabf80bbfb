/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite 'unit': the options paste-kvs and linux-kvs share
 * (kv_main_parse_opt): a value that cannot be carried as far as where it
 * is used is refused on the command line, not wrapped there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "main_shared.h"

/* --pm-drain-delay-us reaches the pool in nanoseconds, 32 bits of them:
 * 4294967 us is the most that fits; one more wrapped to 705 ns. */
static void
test_drain_delay_bound(void **state)
{
	struct kv_main_opts o = KV_MAIN_OPTS_DEFAULT("unused");

	(void)state;
	assert_int_equal(kv_main_parse_opt(&o, 'd', "0"), 0);
	assert_int_equal(o.drain_delay_us, 0);
	assert_int_equal(kv_main_parse_opt(&o, 'd', "10"), 0);
	assert_int_equal(o.drain_delay_us, 10);
	assert_int_equal(kv_main_parse_opt(&o, 'd', "4294967"), 0);
	assert_int_equal(o.drain_delay_us, 4294967);
	assert_true((uint64_t)o.drain_delay_us * 1000 <= UINT32_MAX);
	assert_int_equal(kv_main_parse_opt(&o, 'd', "4294968"), -1);
	assert_int_equal(kv_main_parse_opt(&o, 'd', "4294967295"), -1);
	assert_int_equal(kv_main_parse_opt(&o, 'd', "99999999999"), -1);
	assert_int_equal(kv_main_parse_opt(&o, 'd', "-1"), -1);
	/* a refused value leaves the last good one */
	assert_int_equal(o.drain_delay_us, 4294967);
}

/* --pool-buf-size: what the pool accepts (a multiple of 64 in the names'
 * 16 bits, 512 at least for the indexes), refused on the command line
 * otherwise; 2176 by default. */
static void
test_pool_buf_size(void **state)
{
	struct kv_main_opts o = KV_MAIN_OPTS_DEFAULT("unused");
	const int opt = 'z' + 256;

	(void)state;
	assert_int_equal(o.pool_buf_size, 2176);
	assert_int_equal(kv_main_parse_opt(&o, opt, "1664"), 0);
	assert_int_equal(o.pool_buf_size, 1664);
	assert_int_equal(kv_main_parse_opt(&o, opt, "512"), 0);
	assert_int_equal(kv_main_parse_opt(&o, opt, "65472"), 0);
	assert_int_equal(o.pool_buf_size, 65472);
	assert_int_equal(kv_main_parse_opt(&o, opt, "65536"), -1);
	assert_int_equal(kv_main_parse_opt(&o, opt, "448"), -1); /* the indexes' least */
	assert_int_equal(kv_main_parse_opt(&o, opt, "1665"), -1);
	assert_int_equal(kv_main_parse_opt(&o, opt, "0"), -1);
	/* a refused value leaves the last good one */
	assert_int_equal(o.pool_buf_size, 65472);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain_delay_bound),
		cmocka_unit_test(test_pool_buf_size),
	};

	return cmocka_run_group_tests_name("kvs_main_opts", tests, NULL, NULL);
}
