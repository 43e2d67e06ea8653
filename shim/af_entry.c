/* af_entry.c - the exported malloc family. Built with -fno-builtin so the
   compiler does not rewrite these into each other.
   The plain path (no rules, no limit, no census, nothing armed on this
   thread) is: one load of a read-only global, one thread-local countdown
   for the live-memory sampler, and the backend call. Everything else, and
   every failure, goes to af_alloc_slow (af_core.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "af.h"

#define RA __builtin_return_address(0)
#define SAMPLE_ALIGN 4096

static inline int plain(void)
{
	return AF_LIKELY(af_g.fast) && AF_LIKELY(af_t.slow == 0);
}

/* The sampler: one allocation per ~512 KiB is recorded with its call site,
   so that an OOM report can name the sites holding live memory. Sampled
   blocks are page-aligned, which lets free() skip the lookup for others. */
static inline int not_sampled(size_t n)
{
	int64_t left = af_t.sample_left - (int64_t)n;
	if (AF_LIKELY(left >= 0 && n < ((size_t)1 << 62))) {
		af_t.sample_left = left;
		return 1;
	}
	return 0;
}

static inline int maybe_sampled(const void *p)
{
	return ((uintptr_t)p & (SAMPLE_ALIGN - 1)) == 0;
}

AF_EXPORT void *malloc(size_t n)
{
	if (plain() && not_sampled(n)) {
		void *p = af_be_malloc(n);
		if (AF_LIKELY(p != NULL))
			return p;
	}
	struct af_req rq = {AF_FN_MALLOC, n, 0, 0, NULL, RA};
	return af_alloc_slow(&rq);
}

AF_EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t n;
	if (AF_UNLIKELY(__builtin_mul_overflow(nmemb, size, &n))) {
		errno = ENOMEM;
		return NULL;
	}
	if (plain() && not_sampled(n)) {
		void *p = af_be_calloc(n);
		if (AF_LIKELY(p != NULL))
			return p;
	}
	struct af_req rq = {AF_FN_CALLOC, n, 0, 1, NULL, RA};
	return af_alloc_slow(&rq);
}

AF_EXPORT void free(void *p)
{
	if (AF_UNLIKELY(p == NULL))
		return;
	if (AF_LIKELY(af_g.fast) && AF_LIKELY(af_t.slow == 0) && !maybe_sampled(p)) {
		int e = errno;
		af_be_free(p);
		errno = e;
		return;
	}
	af_free_slow(p);
}

AF_EXPORT void cfree(void *p)
{
	free(p);
}

static inline void *do_realloc(void *p, size_t n, int fn, void *ra)
{
	if (p == NULL) {
		if (plain() && not_sampled(n)) {
			void *q = af_be_malloc(n);
			if (AF_LIKELY(q != NULL))
				return q;
		}
		struct af_req rq = {fn, n, 0, 0, NULL, ra};
		return af_alloc_slow(&rq);
	}
	if (n == 0) { /* glibc: realloc(p, 0) frees p and returns NULL */
		free(p);
		return NULL;
	}
	if (plain() && !maybe_sampled(p) && not_sampled(n)) {
		void *q = af_be_realloc(p, n);
		if (AF_LIKELY(q != NULL))
			return q;
	}
	struct af_req rq = {fn, n, 0, 0, p, ra};
	return af_alloc_slow(&rq);
}

AF_EXPORT void *realloc(void *p, size_t n)
{
	return do_realloc(p, n, AF_FN_REALLOC, RA);
}

AF_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(p, n, AF_FN_REALLOCARRAY, RA);
}

/* glibc 2.36 memalign semantics, which aligned_alloc shares: a
   non-power-of-two alignment is rounded up; an impossible one is EINVAL. */
static inline void *do_memalign(size_t align, size_t n, int fn, void *ra)
{
	if (align > ((size_t)1 << 62)) {
		errno = EINVAL;
		return NULL;
	}
	if (align & (align - 1)) {
		size_t a = 1;
		while (a < align)
			a <<= 1;
		align = a;
	}
	if (align < 16)
		align = 0; /* malloc's own alignment covers it */
	if (plain() && not_sampled(n)) {
		void *p = align ? af_be_aligned(align, n) : af_be_malloc(n);
		if (AF_LIKELY(p != NULL))
			return p;
	}
	struct af_req rq = {fn, n, align, 0, NULL, ra};
	return af_alloc_slow(&rq);
}

AF_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	int e = errno;
	void *p = do_memalign(align, n, AF_FN_POSIX_MEMALIGN, RA);
	if (!p)
		return ENOMEM;
	errno = e;
	*out = p;
	return 0;
}

AF_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return do_memalign(align, n, AF_FN_ALIGNED_ALLOC, RA);
}

AF_EXPORT void *memalign(size_t align, size_t n)
{
	return do_memalign(align, n, AF_FN_MEMALIGN, RA);
}

static size_t page_size(void)
{
	if (!af_g.page)
		af_g.page = (size_t)sysconf(_SC_PAGESIZE);
	return af_g.page;
}

AF_EXPORT void *valloc(size_t n)
{
	return do_memalign(page_size(), n, AF_FN_VALLOC, RA);
}

AF_EXPORT void *pvalloc(size_t n)
{
	size_t pg = page_size();
	size_t r;
	if (__builtin_add_overflow(n, pg - 1, &r)) {
		errno = ENOMEM;
		return NULL;
	}
	r &= ~(pg - 1);
	if (r == 0)
		r = pg;
	return do_memalign(pg, r, AF_FN_PVALLOC, RA);
}

AF_EXPORT size_t malloc_usable_size(void *p)
{
	return p ? af_be_usable(p) : 0;
}
