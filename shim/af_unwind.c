/* af_unwind.c - stack capture with libunwind, loaded with
   dlopen(RTLD_LOCAL) from the shim's constructor: linked normally, Debian's
   libunwind.so.8 would enter the global scope, where its _Unwind_* and
   backtrace() could take over the program's C++ exceptions and backtrace().
   Only unw_backtrace is used on the allocation path (its per-thread trace
   cache makes it ~10 ns a frame warm); names are never asked of libunwind. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "af.h"

/* From libunwind-common.h: the caching policy values. */
#define AF_UNW_CACHE_PER_THREAD 2

static int (*p_backtrace)(void **, int);

int af_unwind_init(void)
{
	if (p_backtrace)
		return 0;
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -1;
	int (*set_caching)(void *, int) = (int (*)(void *, int))dlsym(h, "_ULx86_64_set_caching_policy");
	void **as = dlsym(h, "_ULx86_64_local_addr_space");
	if (set_caching && as)
		set_caching(*as, AF_UNW_CACHE_PER_THREAD);
	p_backtrace = (int (*)(void **, int))dlsym(h, "unw_backtrace");
	return p_backtrace ? 0 : -1;
}

int af_unwind_ready(void)
{
	return p_backtrace != NULL;
}

int af_stack(void *ra, uintptr_t *out, int max)
{
	out[0] = (uintptr_t)ra;
	if (!p_backtrace || max <= 1)
		return 1;
	void *buf[AF_MAX_FRAMES + 16];
	int want = max + 16 < AF_MAX_FRAMES + 16 ? max + 16 : AF_MAX_FRAMES + 16;
	int n = p_backtrace(buf, want);
	/* the shim's own frames come first; the caller's starts at ra */
	int i = 0;
	while (i < n && buf[i] != ra)
		i++;
	if (i == n)
		return 1;
	int k = 0;
	for (; i < n && k < max; i++)
		out[k++] = (uintptr_t)buf[i];
	return k;
}
