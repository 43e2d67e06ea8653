/* af_math.h - log, log1p, exp and round without libm (see af_math.c). */
#ifndef AF_MATH_H
#define AF_MATH_H

double af_ln(double x);
double af_ln1p(double x);
double af_exp(double x);
double af_round(double x); /* halfway cases away from zero */

#endif
