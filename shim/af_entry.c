/* af_entry.c - the exported malloc family. Built with -fno-builtin so the
   compiler does not rewrite these into each other, and without a frame
   pointer: the plain path is a handful of instructions. The plain path
   (nothing configured, jemalloc backend) tests one thread-local flag and
   calls jemalloc; the quick path's common case (quick_hit()) is tested
   inline too and shares that call; everything else leaves for a function
   of its own, and every failure goes to af_slow (af_slow.c), which is
   handed the call site and the entry point's CFA: its walks start from
   the program's frame whatever frames of the shim lie in between. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "af.h"
#include "af_sites.h"

/* glibc 2.26 dropped cfree from its headers; programs built before still
   call it */
void cfree(void *p);

#define RA __builtin_return_address(0)
/* The entry point's CFA: the stack pointer of its caller's frame, where the
   quick path's walk through the C runtime starts (af_quick_stack). */
#define CFA __builtin_dwarf_cfa()

/* The plain path's one test (see af.h). */
static inline int plain(void)
{
	return AF_LIKELY(af_t.plain);
}

/* The quick path: no rule can match this request (a per-thread memo by
   call site, entry point and size interval). With the census or the
   summary the memo also holds the call site, which counted() counts
   after the allocation succeeded (quick_hit()'s callers count before);
   an allocation the sampler takes, or a realloc of a sampled block, goes
   the slow way. A failure takes the slow path. */
static inline __attribute__((always_inline)) int quick_memo(int fn, size_t n, void *ra, void *cfa,
							    void *old)
{
	struct af_thread *t = &af_t;
	struct af_walks *w = t->walks; /* the slow path allocates them */
	if (AF_UNLIKELY(!w))
		return 0;
	if (t->qcount && ((uint64_t)t->sample_left < n || (old && af_maybe_sampled(old))))
		return 0;
	int k = AF_LIKELY(n >= t->iv_lo && n < t->iv_hi) ? t->iv_k : af_quick_size_interval(t, n);
	uint64_t key = af_qkey((uintptr_t)ra, fn, k);
	struct af_qsite *q = af_qslot(w, (uintptr_t)ra);
	int v = AF_LIKELY(q->key == key &&
			  q->gen == atomic_load_explicit(&af_g.mod_gen, memory_order_relaxed))
			? q->verdict
			: af_quick_verdict(q, key, fn, k, (uintptr_t)ra, n);
	if (AF_LIKELY(v == AF_Q_PLAIN))
		return 1;
	if (v == AF_Q_STACK)
		return af_quick_stack(fn, n, (uintptr_t)ra, (uintptr_t)cfa);
	if (v != AF_Q_DRAW)
		return 0;
	/* a probability rule: most calls are a decrement of the thread's
	   stream, which the verdict found (t->draws is set) */
	if (AF_LIKELY(af_stream_skip(&t->draws[q->rule])))
		return 1;
	return af_quick_draw(t, q);
}

/* The allocations after an injection (AF_T_COUNT, for the crash report)
   are counted here when the quick path serves them: the slow path would
   decide them as the memo does, at ten times the cost, for up to
   AF_COUNT_MAX calls after each injection. quick_hit() and the plain path
   still leave them (t->quick is 0), for quick(). 1: the quick path's
   (counted); 0: the slow path's, which counts it. */
static __attribute__((noinline)) int quick_after(int fn, size_t n, void *ra, void *cfa, void *old)
{
	struct af_thread *t = &af_t;
	if (t->slow != AF_T_COUNT || !af_g.quick || t->guard)
		return 0;
	if (!quick_memo(fn, n, ra, cfa, old))
		return 0;
	if (++t->since_injection >= AF_COUNT_MAX) {
		t->slow &= ~AF_T_COUNT;
		af_thread_update(t);
	}
	return 1;
}

static inline __attribute__((always_inline)) int quick(int fn, size_t n, void *ra, void *cfa, void *old)
{
	if (AF_UNLIKELY(!af_t.quick))
		return quick_after(fn, n, ra, cfa, old);
	return quick_memo(fn, n, ra, cfa, old);
}

/* The backend refused what quick() served: the slow path's turn, which
   counts the call after an injection that quick_after() counted already;
   the one count is taken back first. */
static __attribute__((noinline)) void *slow_after_quick(int fn, size_t n, size_t align, int zero,
							void *old, void *ra, void *cfa)
{
	struct af_thread *t = &af_t;
	if ((t->slow & AF_T_COUNT) && !t->guard && t->since_injection > 0)
		t->since_injection--;
	return af_slow(fn, n, align, zero, old, ra, cfa);
}

/* quick()'s common case alone, with no call in it: the memo holds a plain
   verdict for this request, or a probability rule's whose draw does not
   fire now (then the stream has been stepped). 1: serve it as the plain
   path does (the census's count made, before the backend's call, on the
   counter the memo entry holds); 2: serve it and count it after (X_go:
   the entry holds no counter); -1: the memo says the slow path decides (a
   stack rule, a counter); 0 changes nothing: quick() then decides
   (X_rest). With no call, it needs only the registers a call clobbers
   anyway, so malloc and calloc test it inline after the plain flag and
   share the plain path's call of the backend, which keeps only the size
   across it (the call site and the CFA are the entry point's own, read
   from its frame should the backend fail): quick() with its calls in one
   function with the backend's call had to keep six registers. */
static inline __attribute__((always_inline)) int quick_hit(int fn, size_t n, void *ra, void *old)
{
	struct af_thread *t = &af_t;
	struct af_walks *w = t->qwalks;
	if (!w)
		return 0;
	int qcount = t->qcount; /* once: the stream's store may alias it */
	if (qcount && ((uint64_t)t->sample_left < n || (old && af_maybe_sampled(old))))
		return 0;
	if (AF_UNLIKELY(n < t->iv_lo || n >= t->iv_hi))
		return 0;
	struct af_qsite *q = af_qslot(w, (uintptr_t)ra);
	if (AF_UNLIKELY(q->key != ((uintptr_t)ra | t->iv_kbits | af_qkey(0, fn, 0)) ||
			q->gen != atomic_load_explicit(&af_g.mod_gen, memory_order_relaxed)))
		return 0;
	/* one decrement for a plain verdict and a probability rule's alike
	   (see struct af_qsite); 0 is the verdict's own case */
	if (AF_UNLIKELY(--*q->cnt == 0)) {
		if (q->verdict != AF_Q_PLAIN) {
			*q->cnt = 1; /* as it was: the stream's step, or the verdict's case */
			return q->verdict == AF_Q_SLOW ? -1 : 0;
		}
		q->own = AF_QOWN_PLAIN;
	}
	if (!qcount)
		return 1;
	struct af_tc_ctr *c = q->ctr;
	if (AF_UNLIKELY(c == NULL))
		return 2;
	af_tc_count(c, n);
	t->sample_left -= (int64_t)n;
	return 1;
}

/* What quick_hit() counted, taken back when the backend refused the
   request: the slow path then serves it, and counts what it serves. The
   memo's entry is found again by the call site; had a signal handler's
   call changed it meanwhile, what cannot be found stays counted (a count
   too many, never an underflow). */
static __attribute__((noinline)) void uncount_quick(size_t n, void *ra)
{
	struct af_thread *t = &af_t;
	struct af_tc_ctr *c = t->walks ? af_qslot(t->walks, (uintptr_t)ra)->ctr : NULL;
	if (!c || atomic_load_explicit(&c->bytes, memory_order_relaxed) < n ||
	    atomic_load_explicit(&c->calls, memory_order_relaxed) < 1)
		return;
	af_own_add(&c->bytes, -(uint64_t)n);
	af_own_add(&c->calls, -(uint64_t)1);
	t->sample_left += (int64_t)n;
}

/* The backend refused what the plain path or quick_hit() served: the slow
   path's turn, with the census's count taken back first. Out of line: the
   plain path keeps nothing for it across the backend's call. */
static __attribute__((noinline)) void *refused(int fn, size_t n, int zero, void *old, void *ra,
					       void *cfa)
{
	if (AF_UNLIKELY(af_t.qcount))
		uncount_quick(n, ra);
	return af_slow(fn, n, 0, zero, old, ra, cfa);
}
#define REFUSED(fn, n, zero, old) refused(fn, n, zero, old, RA, CFA)

/* After quick() said yes and the allocation succeeded: the census's and
   the summary's count, in this thread's own table (af_sites.c). Out of
   line, reached by a tail call, for the same registers. */
static __attribute__((noinline)) void *count_quick(void *p, size_t n, size_t footprint, void *ra)
{
	struct af_thread *t = &af_t;
	t->sample_left -= (int64_t)n;
	af_site_count_quick(t, af_qslot(t->walks, (uintptr_t)ra)->site, n, footprint > af_g.threshold);
	return p;
}

static inline void *counted_as(void *p, size_t n, size_t footprint, void *ra)
{
	if (AF_UNLIKELY(af_t.qcount))
		return count_quick(p, n, footprint, ra);
	return p;
}

static inline void *counted(void *p, size_t n, void *ra)
{
	return counted_as(p, n, n, ra);
}


/* The entry points test the plain path first and leave everything else to
   a function of its own, by a tail call: quick() needs registers, and
   sharing a function with it cost the plain path five pushes and pops
   (measured: 1.22x jemalloc per malloc/free pair before). quick_hit(),
   which calls nothing, is the exception (see there): malloc and calloc
   leave only for X_go (the backend, then the count) and X_rest (all of
   quick(), then the backend or the slow path). */

/* malloc's and calloc's backend call (fn a constant: folded) */
static inline __attribute__((always_inline)) void *zalloc(int fn, size_t n)
{
	return fn == AF_FN_CALLOC ? afje_calloc(1, af_min16(n)) : afje_malloc(af_min16(n));
}

/* X_go: quick_hit() said serve it, and count it */
static inline __attribute__((always_inline)) void *go(int fn, size_t n, void *ra, void *cfa)
{
	void *p = zalloc(fn, n);
	if (AF_LIKELY(p != NULL))
		return counted(p, n, ra);
	return slow_after_quick(fn, n, 0, fn == AF_FN_CALLOC, NULL, ra, cfa);
}

/* X_go and X_rest (all of quick(), then X_go or the slow path) of malloc
   and calloc: functions of their own (a tail call's target each), so a
   macro */
#define QUICK_ENTRY(x, FN)                                                              \
	static __attribute__((noinline)) void *x##_go(size_t n, void *ra, void *cfa)    \
	{                                                                               \
		return go(FN, n, ra, cfa);                                              \
	}                                                                               \
	static __attribute__((noinline)) void *x##_rest(size_t n, void *ra, void *cfa)  \
	{                                                                               \
		if (quick(FN, n, ra, cfa, NULL))                                        \
			return x##_go(n, ra, cfa);                                      \
		return af_slow(FN, n, 0, FN == AF_FN_CALLOC, NULL, ra, cfa);            \
	}
QUICK_ENTRY(malloc, AF_FN_MALLOC)
QUICK_ENTRY(calloc, AF_FN_CALLOC)

/* malloc and calloc themselves, inlined into each (RA and CFA are the
   entry point's) */
static inline __attribute__((always_inline)) void *alloc_entry(int fn, size_t n)
{
	int zero = fn == AF_FN_CALLOC;
	int h = 1;
	if (AF_LIKELY(plain()) || (h = quick_hit(fn, n, RA, NULL)) == 1) {
		void *p = zalloc(fn, n);
		if (AF_LIKELY(p != NULL))
			return p;
		return REFUSED(fn, n, zero, NULL);
	}
	if (h < 0)
		return af_slow(fn, n, 0, zero, NULL, RA, CFA);
	if (h)
		return zero ? calloc_go(n, RA, CFA) : malloc_go(n, RA, CFA);
	return zero ? calloc_rest(n, RA, CFA) : malloc_rest(n, RA, CFA);
}

AF_EXPORT void *malloc(size_t n)
{
	return alloc_entry(AF_FN_MALLOC, n);
}

AF_EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t n;
	if (AF_UNLIKELY(__builtin_mul_overflow(nmemb, size, &n))) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc_entry(AF_FN_CALLOC, n);
}

AF_EXPORT void free(void *p)
{
	/* jemalloc never changes the program's errno (af_jeglue.c), so the
	   plain free is a tail call, NULL included (jemalloc's free does
	   nothing with it); so is the quick path's with the sampler (the
	   census, the summary, as qcount says; no limit, free_plain says the
	   rest), with the sampler's filter to test first */
	struct af_thread *t = &af_t;
	if (AF_LIKELY(t->free_plain)) {
		afje_free(p);
		return;
	}
	if (AF_UNLIKELY(p == NULL))
		return;
	if (AF_LIKELY(t->qcount) && AF_LIKELY(!af_maybe_sampled(p))) {
		afje_free(p);
		return;
	}
	af_free_slow(p);
}

AF_EXPORT void cfree(void *p)
{
	free(p);
}

/* realloc's backend call; realloc(NULL, n) is malloc's */
static inline __attribute__((always_inline)) void *re_alloc(void *p, size_t n)
{
	return p ? afje_realloc(p, af_min16(n)) : afje_malloc(af_min16(n));
}

/* realloc's X_go and X_rest (see malloc's) */
static __attribute__((noinline)) void *realloc_go(void *p, size_t n, int fn, void *ra, void *cfa)
{
	void *q = re_alloc(p, n);
	if (AF_LIKELY(q != NULL))
		return counted(q, n, ra);
	return slow_after_quick(fn, n, 0, 0, p, ra, cfa);
}

static __attribute__((noinline)) void *realloc_rest(void *p, size_t n, int fn, void *ra, void *cfa)
{
	if (quick(fn, n, ra, cfa, p))
		return realloc_go(p, n, fn, ra, cfa);
	return af_slow(fn, n, 0, 0, p, ra, cfa);
}

/* realloc and reallocarray, as malloc goes: the plain path and
   quick_hit() in the entry point itself (inlined into it, so RA and CFA
   are the entry point's own) */
static inline __attribute__((always_inline)) void *do_realloc(void *p, size_t n, int fn)
{
	if (p != NULL && n == 0) { /* glibc: realloc(p, 0) frees p and returns NULL */
		free(p);
		return NULL;
	}
	int h = 1;
	if (AF_LIKELY(plain()) || (h = quick_hit(fn, n, RA, p)) == 1) {
		void *q = re_alloc(p, n);
		if (AF_LIKELY(q != NULL))
			return q;
		return REFUSED(fn, n, 0, p);
	}
	if (h < 0)
		return af_slow(fn, n, 0, 0, p, RA, CFA);
	return h ? realloc_go(p, n, fn, RA, CFA) : realloc_rest(p, n, fn, RA, CFA);
}

AF_EXPORT void *realloc(void *p, size_t n)
{
	return do_realloc(p, n, AF_FN_REALLOC);
}

AF_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(p, n, AF_FN_REALLOCARRAY);
}

/* glibc 2.36 memalign semantics, which aligned_alloc shares: a
   non-power-of-two alignment is rounded up; one above 2^63, which cannot
   be rounded to a power of two, is EINVAL; 2^63 itself is only more than
   any address space holds: ENOMEM, from the slow path. */
static inline void *do_memalign(size_t align, size_t n, int fn, void *ra, void *cfa)
{
	if (align > ((size_t)1 << 63)) {
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
	int pl = plain();
	if (pl || quick(fn, n, ra, cfa, NULL)) {
		void *p = align ? af_be_aligned(align, n) : af_be_malloc(n);
		if (AF_LIKELY(p != NULL))
			return pl ? p : counted_as(p, n, align > n ? align : n, ra);
		return slow_after_quick(fn, n, align, 0, NULL, ra, cfa);
	}
	return af_slow(fn, n, align, 0, NULL, ra, cfa);
}

AF_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	int e = errno;
	void *p = do_memalign(align, n, AF_FN_POSIX_MEMALIGN, RA, CFA);
	if (!p)
		return ENOMEM; /* errno ENOMEM too, as glibc leaves it */
	errno = e;
	*out = p;
	return 0;
}

AF_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return do_memalign(align, n, AF_FN_ALIGNED_ALLOC, RA, CFA);
}

AF_EXPORT void *memalign(size_t align, size_t n)
{
	return do_memalign(align, n, AF_FN_MEMALIGN, RA, CFA);
}

static size_t page_size(void)
{
	if (!af_g.page)
		af_g.page = (size_t)sysconf(_SC_PAGESIZE);
	return af_g.page;
}

AF_EXPORT void *valloc(size_t n)
{
	return do_memalign(page_size(), n, AF_FN_VALLOC, RA, CFA);
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
	return do_memalign(pg, r, AF_FN_PVALLOC, RA, CFA);
}

AF_EXPORT size_t malloc_usable_size(void *p)
{
	return p ? af_be_usable(p) : 0;
}
