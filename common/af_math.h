/* af_math.h - log, log1p, exp and round without libm (see af_math.c), and
   the splitmix64 step the rules' generators hash with. */
#ifndef AF_MATH_H
#define AF_MATH_H

#include <stdint.h>

double af_ln(double x);
double af_ln1p(double x);
double af_exp(double x);
double af_round(double x); /* halfway cases away from zero */

/* The splitmix64 step used by the rule generators. */
static inline uint64_t af_mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
