/* af_backend.h - the backend's plain family, inline on the allocation
   path (see af_backend.c for the backends themselves). */
#ifndef AF_BACKEND_H
#define AF_BACKEND_H

#include <stddef.h>

void *afje_malloc(size_t n);
void *afje_calloc(size_t n, size_t m);
void *afje_realloc(void *p, size_t n);
void afje_free(void *p);
void *afje_mallocx(size_t n, int flags);
void afje_dallocx(void *p, int flags);
size_t afje_sallocx(const void *p, int flags);
int afje_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

extern int af_backend; /* AF_BE_*, set before the first allocation */
extern void *(*af_next_malloc)(size_t);
extern void *(*af_next_calloc)(size_t, size_t);
extern void *(*af_next_realloc)(void *, size_t);
extern void (*af_next_free)(void *);
void *af_be_pool_alloc(size_t n);
void *af_be_realloc_pool(void *p, size_t n);
int af_be_owns_bootstrap(void *p);

/* glibc aligns every block to 16 bytes on x86-64, and programs rely on it
   (pointer tagging in the low bits, SSE); jemalloc's smallest class is 8
   bytes with 8-byte alignment, so tiny requests are rounded up. */
static inline size_t af_min16(size_t n)
{
	return n < 16 ? 16 : n;
}

static inline void *af_be_malloc(size_t n)
{
	if (__builtin_expect(af_backend == 0, 1))
		return afje_malloc(af_min16(n));
	if (__builtin_expect(!af_next_malloc, 0))
		return af_be_pool_alloc(n);
	return af_next_malloc(n);
}

static inline void *af_be_calloc(size_t n)
{
	if (__builtin_expect(af_backend == 0, 1))
		return afje_calloc(1, af_min16(n));
	if (__builtin_expect(!af_next_calloc, 0))
		return af_be_pool_alloc(n);
	return af_next_calloc(1, n);
}

static inline void *af_be_realloc(void *p, size_t n)
{
	if (__builtin_expect(af_backend == 0, 1))
		return afje_realloc(p, af_min16(n));
	if (__builtin_expect(af_be_owns_bootstrap(p), 0))
		return af_be_realloc_pool(p, n);
	return af_next_realloc(p, n);
}

static inline void af_be_free(void *p)
{
	if (__builtin_expect(af_backend == 0, 1)) {
		afje_free(p);
		return;
	}
	if (__builtin_expect(af_be_owns_bootstrap(p), 0))
		return;
	af_next_free(p);
}

#endif
