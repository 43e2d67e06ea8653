/* test_math.c - the shim's own log, log1p, exp and round (common/af_math.c) against
   glibc's libm: within 2 ulp on a million points spread over every binade
   they are used on, and exact at the special values; round exactly. */
#include <math.h>
#include <stdint.h>

#include "af_math.h"
#include "harness.h"

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next(void)
{
	uint64_t z = af_mix64(rng);
	rng += 0x9e3779b97f4a7c15ull;
	return z;
}

/* a double with a random mantissa and an exponent uniform in [lo, hi] */
static double spread(int lo, int hi)
{
	uint64_t r = next();
	int e = lo + (int)(r % (uint64_t)(hi - lo + 1));
	return ldexp(1.0 + (double)(next() >> 12) * 0x1p-52, e);
}

static double ulps(double got, double want)
{
	if (got == want)
		return 0;
	if (isnan(got) || isnan(want) || isinf(got) || isinf(want))
		return INFINITY;
	double ulp = nextafter(fabs(want), INFINITY) - fabs(want);
	return fabs(got - want) / ulp;
}

static double worst;
static double worst_at;

static void compare(double (*mine)(double), double (*ref)(double), double x)
{
	double u = ulps(mine(x), ref(x));
	if (u > worst) {
		worst = u;
		worst_at = x;
	}
}

static void report(const char *what)
{
	printf("    %s: worst %.3f ulp at %a\n", what, worst, worst_at);
	CHECK(worst <= 2.0);
	worst = 0;
}

static void test_ln(void)
{
	for (int i = 0; i < 300000; i++)
		compare(af_ln, log, spread(-1074, 1023));
	/* the uniform draws of a probability stream: (k + 1) 2^-53 */
	for (int i = 0; i < 300000; i++)
		compare(af_ln, log, (double)((next() >> 11) + 1) * 0x1p-53);
	/* around 1, where the result is small */
	for (int i = 0; i < 100000; i++)
		compare(af_ln, log, 1.0 + (double)((int64_t)next() >> 20) * 0x1p-52);
	report("log");
	CHECK(af_ln(1.0) == 0.0);
	CHECK(af_ln(0.0) == -INFINITY);
	CHECK(isnan(af_ln(-1.0)));
	CHECK(isnan(af_ln(NAN)));
	CHECK(af_ln(INFINITY) == INFINITY);
	CHECK(ulps(af_ln(0x1p-1074), log(0x1p-1074)) <= 2);
	CHECK(ulps(af_ln(0x1p-53), log(0x1p-53)) <= 2);
}

static void test_ln1p(void)
{
	/* -p for every probability a rule can hold: 2^-64 up to just below 1 */
	for (int i = 0; i < 200000; i++)
		compare(af_ln1p, log1p, -spread(-64, -1));
	for (int i = 0; i < 200000; i++)
		compare(af_ln1p, log1p, spread(-1074, 60));
	for (int i = 0; i < 50000; i++)
		compare(af_ln1p, log1p, -1.0 + (double)(next() >> 11) * 0x1p-53);
	report("log1p");
	CHECK(af_ln1p(0.0) == 0.0);
	CHECK(af_ln1p(-1.0) == -INFINITY);
	CHECK(isnan(af_ln1p(-2.0)));
	CHECK(ulps(af_ln1p(-0x1p-64), log1p(-0x1p-64)) <= 2);
	CHECK(ulps(af_ln1p(-0.5), log1p(-0.5)) <= 2);
	CHECK(ulps(af_ln1p(1.0), log1p(1.0)) <= 2);
}

static void test_exp(void)
{
	for (int i = 0; i < 200000; i++) {
		double x = -745.0 + (double)(next() >> 11) * 0x1p-53 * (745.0 + 709.7);
		compare(af_exp, exp, x);
	}
	for (int i = 0; i < 50000; i++)
		compare(af_exp, exp, (double)((int64_t)next() >> 11) * 0x1p-60);
	report("exp");
	CHECK(af_exp(0.0) == 1.0);
	CHECK(af_exp(710.0) == INFINITY);
	CHECK(af_exp(-746.0) == 0.0);
	CHECK(ulps(af_exp(709.7), exp(709.7)) <= 2);
	CHECK(isnan(af_exp(NAN)));
}

static void test_round(void)
{
	static const double v[] = {0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, 0.49999999999999994,
				   -0.49999999999999994, 4503599627370495.5, 0x1p52, 0x1p52 + 1,
				   1e300, -1e300, INFINITY, -INFINITY, 7.0, -7.25, 123456.5};
	for (unsigned i = 0; i < sizeof v / sizeof *v; i++) {
		double a = af_round(v[i]), b = round(v[i]);
		CHECK(a == b && signbit(a) == signbit(b));
	}
	CHECK(isnan(af_round(NAN)));
	for (int i = 0; i < 200000; i++) {
		double x = (double)((int64_t)next() >> 20) * 0x1p-8;
		if (af_round(x) != round(x)) {
			printf("    round(%a): %a, libm %a\n", x, af_round(x), round(x));
			CHECK(0);
			break;
		}
	}
}

int main(void)
{
	static const struct h_test tests[] = {T(test_ln), T(test_ln1p), T(test_exp), T(test_round)};
	return h_run(tests, 4);
}
