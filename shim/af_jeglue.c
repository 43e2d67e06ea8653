/* af_jeglue.c - what jemalloc's archive asks of libraries beyond libc.
   jemalloc-rename.sh renames its references to log, exp, round,
   _Unwind_Backtrace and _Unwind_GetIP to the afje_* below, so that the shim needs neither
   libm nor libgcc_s: two libraries (and libgcc_s's cpuid-probing
   constructor) fewer in every process it is preloaded into. All five are
   used only by jemalloc's heap profiler (MALLOC_CONF=prof:true). Its
   backtraces come from libunwind here, which the constructor loads when
   the profiler is on. */
#include "af.h"
#include "af_math.h"

double afje_log(double x);
double afje_exp(double x);
double afje_round(double x);
int afje_unwind_backtrace(int (*fn)(void *ctx, void *arg), void *arg);
uintptr_t afje_unwind_getip(void *ctx);

double afje_log(double x)
{
	return af_ln(x);
}

double afje_exp(double x)
{
	return af_exp(x);
}

double afje_round(double x)
{
	return af_round(x);
}

/* _Unwind_Backtrace's contract as jemalloc uses it: fn is called for each
   frame, innermost first, until it returns something other than
   _URC_NO_REASON (0); the context it gets is only passed back to
   _Unwind_GetIP. Here a context is the address of a frame's pc. */
#define AF_URC_END_OF_STACK 5

int afje_unwind_backtrace(int (*fn)(void *ctx, void *arg), void *arg)
{
	uintptr_t pcs[AF_MAX_FRAMES];
	int n = af_unw_backtrace ? af_unw_backtrace((void **)pcs, AF_MAX_FRAMES) : 0;
	for (int i = 0; i < n; i++)
		if (fn(&pcs[i], arg) != 0)
			break;
	return AF_URC_END_OF_STACK;
}

uintptr_t afje_unwind_getip(void *ctx)
{
	return *(const uintptr_t *)ctx;
}
