/* SPDX-License-Identifier: BSD-3-Clause */
/* Suite 'unit': the driver's seeded fault decisions. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fault.h"

static void
test_disabled_when_all_zero(void **state)
{
	struct pst_fault_config cfg = { .seed = 5 };
	struct pst_fault f;
	int i, hits = 0;

	(void)state;
	assert_int_equal(pst_fault_init(&f, &cfg), 0);
	assert_false(f.enabled);
	for (i = 0; i < 10000; i++)
		hits += pst_fault_roll(&f, 0.0);
	assert_int_equal(hits, 0);
	assert_int_equal(pst_fault_init(&f, NULL), 0);
	assert_false(f.enabled);
}

static void
test_rejects_bad_probabilities(void **state)
{
	struct pst_fault_config cfg = { .rx_drop = 1.5 };
	struct pst_fault f;

	(void)state;
	assert_int_equal(pst_fault_init(&f, &cfg), -EINVAL);
	cfg.rx_drop = 0;
	cfg.tx_corrupt = -0.1;
	assert_int_equal(pst_fault_init(&f, &cfg), -EINVAL);
	cfg.tx_corrupt = NAN;
	assert_int_equal(pst_fault_init(&f, &cfg), -EINVAL);
	cfg.tx_corrupt = 1.0;
	assert_int_equal(pst_fault_init(&f, &cfg), 0);
	assert_true(f.enabled);
}

/* Each of the eight probabilities is checked, and named when refused. */
static void
test_every_probability_checked(void **state)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "rx_drop", offsetof(struct pst_fault_config, rx_drop) },
		{ "rx_dup", offsetof(struct pst_fault_config, rx_dup) },
		{ "rx_reorder", offsetof(struct pst_fault_config, rx_reorder) },
		{ "rx_corrupt", offsetof(struct pst_fault_config, rx_corrupt) },
		{ "tx_drop", offsetof(struct pst_fault_config, tx_drop) },
		{ "tx_dup", offsetof(struct pst_fault_config, tx_dup) },
		{ "tx_reorder", offsetof(struct pst_fault_config, tx_reorder) },
		{ "tx_corrupt", offsetof(struct pst_fault_config, tx_corrupt) },
	};
	struct pst_fault f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct pst_fault_config cfg = { .seed = 1 };
		double bad = 2.0, good = 0.5;

		memcpy((char *)&cfg + fields[i].off, &bad, sizeof(bad));
		assert_int_equal(pst_fault_init(&f, &cfg), -EINVAL);
		assert_non_null(strstr(pst_errormsg(), fields[i].name));
		memcpy((char *)&cfg + fields[i].off, &good, sizeof(good));
		assert_int_equal(pst_fault_init(&f, &cfg), 0);
		assert_true(f.enabled);
	}
}

/* One seed, one sequence of decisions: a failing test can be replayed. */
static void
test_same_seed_same_decisions(void **state)
{
	struct pst_fault_config cfg = { .seed = 42, .rx_drop = 0.3 };
	struct pst_fault a, b, c;
	int i, differ = 0;

	(void)state;
	pst_fault_init(&a, &cfg);
	pst_fault_init(&b, &cfg);
	cfg.seed = 43;
	pst_fault_init(&c, &cfg);
	for (i = 0; i < 1000; i++) {
		int x = pst_fault_roll(&a, 0.3);

		assert_int_equal(x, pst_fault_roll(&b, 0.3));
		differ += x != pst_fault_roll(&c, 0.3);
	}
	assert_true(differ > 0);
}

static void
test_rates_match_probabilities(void **state)
{
	struct pst_fault_config cfg = { .seed = 7, .rx_drop = 0.01 };
	const double ps[] = { 0.01, 0.1, 0.5, 1.0 };
	struct pst_fault f;
	unsigned int i, k, hits;

	(void)state;
	pst_fault_init(&f, &cfg);
	for (k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		hits = 0;
		for (i = 0; i < 200000; i++)
			hits += (unsigned int)pst_fault_roll(&f, ps[k]);
		/* Binomial: 200000 draws stay well within 10% of the mean. */
		assert_true(fabs(hits / 200000.0 - ps[k]) <= ps[k] * 0.1);
	}
	for (i = 0; i < 1000; i++)
		assert_true(pst_fault_pick(&f, 7) < 7);
	assert_int_equal(pst_fault_pick(&f, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled_when_all_zero),
		cmocka_unit_test(test_rejects_bad_probabilities),
		cmocka_unit_test(test_every_probability_checked),
		cmocka_unit_test(test_same_seed_same_decisions),
		cmocka_unit_test(test_rates_match_probabilities),
	};

	return cmocka_run_group_tests_name("unit_fault", tests, NULL, NULL);
}
