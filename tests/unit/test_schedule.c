/* test_schedule.c - which tests of a suite --tests may run side by side:
   meson's is_parallel false and CTest's RUN_SERIAL run alone, CTest's
   RESOURCE_LOCK keeps two holders of one lock apart. */
#include "harness.h"
#include "testsuite.h"

static struct suite_test test(int serial, const char *lock1, const char *lock2)
{
	struct suite_test t = {0};
	t.serial = serial;
	if (lock1)
		strv_add(&t.locks, lock1);
	if (lock2)
		strv_add(&t.locks, lock2);
	return t;
}

static void parallel_tests_share(void)
{
	struct suite_test a = test(0, NULL, NULL), b = test(0, NULL, NULL);
	CHECK_EQ(suite_may_share(&a, &b), 1);
}

static void serial_runs_alone(void)
{
	struct suite_test a = test(1, NULL, NULL), b = test(0, NULL, NULL);
	CHECK_EQ(suite_may_share(&a, &b), 0);
	CHECK_EQ(suite_may_share(&b, &a), 0);
	CHECK_EQ(suite_may_share(&a, &a), 0);
}

static void locks_keep_holders_apart(void)
{
	struct suite_test a = test(0, "db", "net"), b = test(0, "cache", "net"), c = test(0, "cache", NULL),
			  d = test(0, "db2", NULL);
	CHECK_EQ(suite_may_share(&a, &b), 0); /* both hold net */
	CHECK_EQ(suite_may_share(&b, &c), 0); /* both hold cache */
	CHECK_EQ(suite_may_share(&a, &c), 1);
	CHECK_EQ(suite_may_share(&a, &d), 1); /* names, not prefixes */
}

int main(void)
{
	static const struct h_test tests[] = {T(parallel_tests_share), T(serial_runs_alone),
					      T(locks_keep_holders_apart)};
	return h_run(tests, sizeof tests / sizeof *tests);
}
