/* af_math.c - the four functions of libm that the shim needs: log and
   log1p for the gap of a probability stream, and log, exp and round for
   jemalloc's heap profiler (its references are renamed to these by
   jemalloc-rename.sh). With them the shim does not pull libm into a
   program that does not use it: one library fewer to map and relocate in
   every process it is preloaded into (docs/performance.md).

   Both logarithms reduce to log(1 + x) = 2 atanh(x / (2 + x)), a series in
   t = x / (2 + x) of odd powers; exp reduces its argument by multiples of
   log 2. tests/unit/test_math.c holds them within 2 ulp of glibc's libm
   over every binade they are used on. */
#include <stdint.h>
#include <string.h>

#include "af_math.h"

/* log 2 split in two: k * LN2_HI is exact for |k| < 2^11 */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10

static double bits_to_double(uint64_t b)
{
	double d;
	memcpy(&d, &b, sizeof d);
	return d;
}

static uint64_t double_to_bits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof b);
	return b;
}

/* 2 atanh(t) - 2t, for |t| <= 1/3: the series t^3/3 + t^5/5 + ... doubled,
   summed from its small end, to below 2^-60 relative. */
static double atanh_tail2(double t)
{
	double t2 = t * t, s = 0;
	int n = 39; /* (1/9)^19 / 39 < 2^-64 */
	for (; n >= 3; n -= 2)
		s = s * t2 + 1.0 / n;
	return 2 * t * t2 * s;
}

/* log(1 + x) for -0.5 <= x <= 1, with x exact */
static double ln1p_near(double x)
{
	double t = x / (2 + x);
	/* log(1+x) = 2t + tail; 2t = x - x t, with x t formed so that the
	   leading term carries no rounding of the division; the small terms
	   are summed first */
	return x + (atanh_tail2(t) - x * t);
}

double af_ln(double x)
{
	if (!(x > 0)) /* 0, negatives and NaN */
		return x == 0 ? -__builtin_inf() : __builtin_nan("");
	if (x == __builtin_inf())
		return x;
	int e = 0;
	uint64_t b = double_to_bits(x);
	if ((b >> 52) == 0) { /* subnormal: make it normal first */
		x *= 0x1p54;
		e = -54;
		b = double_to_bits(x);
	}
	e += (int)(b >> 52) - 1023;
	/* m in [1, 2), then into [sqrt(1/2), sqrt(2)) */
	double m = bits_to_double((b & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
	if (m > 1.41421356237309504880) {
		m *= 0.5;
		e++;
	}
	/* m - 1 is exact; log 2's low part goes in before its high part */
	return e * LN2_HI + (e * LN2_LO + ln1p_near(m - 1));
}

double af_ln1p(double x)
{
	if (x >= -0.5 && x <= 1)
		return ln1p_near(x);
	if (x == -1)
		return -__builtin_inf();
	if (x < -1 || x != x)
		return __builtin_nan("");
	/* 1 + x rounded to u, and log(1 + x) = log(u) + (1 + x - u) / u to first
	   order, with 1 + x - u formed exactly */
	double u = 1 + x;
	return af_ln(u) + (x - (u - 1)) / u;
}

double af_exp(double x)
{
	if (x != x)
		return x;
	if (x > 709.782712893383973096)
		return __builtin_inf();
	if (x < -745.133219101941108420)
		return 0;
	/* k = x / log 2 to the nearest (a conversion truncates; no libm) */
	double q = x * 1.44269504088896340736;
	int k = (int)(q >= 0 ? q + 0.5 : q - 0.5);
	double kd = k;
	double r = (x - kd * LN2_HI) - kd * LN2_LO; /* |r| <= 0.347 */
	/* e^r by its Taylor series from the small end: r^18/18! < 2^-70 */
	double s = 1;
	for (int n = 18; n >= 1; n--)
		s = 1 + s * r / n;
	/* times 2^k in two steps, so that neither factor leaves the range */
	int k1 = k / 2, k2 = k - k1;
	return s * bits_to_double((uint64_t)(k1 + 1023) << 52) *
	       bits_to_double((uint64_t)(k2 + 1023) << 52);
}

/* to the nearest integer, halfway cases away from zero */
double af_round(double x)
{
	if (!(x > -0x1p52 && x < 0x1p52)) /* an integer already, or NaN */
		return x;
	double t = (double)(long long)x; /* toward zero; x - t is exact */
	if (x - t >= 0.5)
		return t + 1;
	if (x - t <= -0.5)
		return t - 1;
	return __builtin_copysign(t, x); /* -0.0 for -0.0 and (-0.5, 0) */
}
