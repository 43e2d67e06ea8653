/* af_heapinfo.c - glibc's questions about the heap (mallinfo2, mallinfo,
   malloc_stats, malloc_trim), answered about the heap the program really
   uses. Left to glibc, they describe glibc's own heap, which under the
   jemalloc backend holds nothing of the program's: a program that watches
   its memory with mallinfo2 saw none of it, and malloc_trim released
   nothing. With the next backend they are the next allocator's.
   mallopt stays glibc's: its parameters tune glibc's heap, which jemalloc
   has no counterpart for (README, Limits). These are not on any
   allocation path; jemalloc's statistics cost a refresh of its counters. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>

#include "af.h"

struct je_heap {
	size_t allocated, mapped, purgeable;
};

/* jemalloc's totals, refreshed; 0 when its statistics are unavailable */
static struct je_heap je_heap(void)
{
	struct je_heap h = {0, 0, 0};
	uint64_t epoch = 1;
	size_t sz = sizeof epoch;
	afje_mallctl("epoch", &epoch, &sz, &epoch, sz);
	sz = sizeof(size_t);
	afje_mallctl("stats.allocated", &h.allocated, &sz, NULL, 0);
	afje_mallctl("stats.mapped", &h.mapped, &sz, NULL, 0);
	/* pages freed but still held, which a purge gives back: all arenas */
	size_t dirty = 0, muzzy = 0, page = 0;
	afje_mallctl("stats.arenas.4096.pdirty", &dirty, &sz, NULL, 0);
	afje_mallctl("stats.arenas.4096.pmuzzy", &muzzy, &sz, NULL, 0);
	afje_mallctl("arenas.page", &page, &sz, NULL, 0);
	h.purgeable = (dirty + muzzy) * page;
	return h;
}

static void *next_fn(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

AF_EXPORT struct mallinfo2 mallinfo2(void)
{
	struct mallinfo2 m = {0};
	if (af_backend != AF_BE_JEMALLOC) {
		struct mallinfo2 (*f)(void) = next_fn("mallinfo2");
		return f ? f() : m;
	}
	struct je_heap h = je_heap();
	m.arena = h.mapped;
	m.uordblks = h.allocated;
	m.fordblks = h.mapped > h.allocated ? h.mapped - h.allocated : 0;
	m.keepcost = h.purgeable;
	return m;
}

static int clamp(size_t n)
{
	return n > INT_MAX ? INT_MAX : (int)n;
}

AF_EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo m = {0};
	if (af_backend != AF_BE_JEMALLOC) {
		struct mallinfo (*f)(void) = next_fn("mallinfo");
		return f ? f() : m;
	}
	struct mallinfo2 w = mallinfo2();
	m.arena = clamp(w.arena);
	m.uordblks = clamp(w.uordblks);
	m.fordblks = clamp(w.fordblks);
	m.keepcost = clamp(w.keepcost);
	return m;
}

/* glibc's format, without its per-arena blocks: jemalloc's arenas are not
   glibc's, and the totals are what is asked. */
AF_EXPORT void malloc_stats(void)
{
	if (af_backend != AF_BE_JEMALLOC) {
		void (*f)(void) = next_fn("malloc_stats");
		if (f)
			f();
		return;
	}
	struct je_heap h = je_heap();
	fprintf(stderr,
		"Total (incl. mmap):\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
		"max mmap regions = %10u\nmax mmap bytes   = %10lu\n",
		h.mapped, h.allocated, 0u, 0ul);
}

/* 1 when memory was given back to the system, as glibc's */
AF_EXPORT int malloc_trim(size_t pad)
{
	if (af_backend != AF_BE_JEMALLOC) {
		int (*f)(size_t) = next_fn("malloc_trim");
		return f ? f(pad) : 0;
	}
	size_t before = je_heap().purgeable;
	af_be_purge();
	return before > 0;
}
