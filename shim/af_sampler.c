/* af_sampler.c - the live-memory sampler: one allocation per
   AF_SAMPLE_INTERVAL bytes is remembered with its call site, so that the
   OOM report and the summary can name the call sites holding the most
   live memory (with a limit, the census or the summary). */
#define _GNU_SOURCE

#include "af.h"
#include "af_slow.h"
#include "af_walk.h"


#define NSAMPLES 8192
/* A sample's ptr: */
enum { S_EMPTY = 0, /* never used: ends a probe */
       S_DELETED = 1,
       S_FILLING = 2 /* claimed, its site and weight being written */ };
struct sample {
	_Atomic uintptr_t ptr; /* S_*, or the sampled block */
	uintptr_t site;
	uint64_t weight;
};
static struct sample samples[NSAMPLES];
_Atomic unsigned char af_sample_filter[AF_SAMPLE_BUCKETS];

/* No lock: one shared mutex had every sampled allocation and free of two
   threads bounce its cache line between them (the census at 2 threads:
   about 0.1x jemalloc's time a malloc/free pair). A slot is claimed by a
   compare-and-swap, a filter counter changes by one; counters saturate
   (a bucket at 255 stays set, which only costs lookups). The filter may
   say "maybe" of a block no sample holds, never "no" of one it does: the
   count goes up before a sample is published and down after it is
   removed, so that a fork between the two leaves a child that only looks
   in vain. */
static void filter_add(uintptr_t p)
{
	_Atomic unsigned char *c = &af_sample_filter[af_sample_bucket((void *)p)];
	unsigned char v = atomic_load_explicit(c, memory_order_relaxed);
	while (v < 255 && !atomic_compare_exchange_weak_explicit(c, &v, (unsigned char)(v + 1),
								memory_order_relaxed,
								memory_order_relaxed))
		;
}

static void filter_remove(uintptr_t p)
{
	_Atomic unsigned char *c = &af_sample_filter[af_sample_bucket((void *)p)];
	unsigned char v = atomic_load_explicit(c, memory_order_relaxed);
	while (v > 0 && v < 255 &&
	       !atomic_compare_exchange_weak_explicit(c, &v, (unsigned char)(v - 1),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

static inline unsigned sample_hash(uintptr_t p)
{
	return (unsigned)((p >> 4) * 0xc2b2ae3d27d4eb4full >> 51) & (NSAMPLES - 1);
}

void af_sample_add(uintptr_t p, uintptr_t site, uint64_t weight)
{
	unsigned h = sample_hash(p);
	for (unsigned i = 0; i < NSAMPLES / 2; i++) {
		struct sample *s = &samples[(h + i) & (NSAMPLES - 1)];
		uintptr_t cur = atomic_load_explicit(&s->ptr, memory_order_relaxed);
		if (cur > S_DELETED ||
		    !atomic_compare_exchange_strong_explicit(&s->ptr, &cur, S_FILLING,
							     memory_order_acquire,
							     memory_order_relaxed))
			continue;
		filter_add(p);
		s->site = site;
		s->weight = weight;
		atomic_store_explicit(&s->ptr, p, memory_order_release);
		return;
	}
}

void af_sample_free(void *vp)
{
	uintptr_t p = (uintptr_t)vp;
	unsigned h = sample_hash(p);
	for (unsigned i = 0; i < NSAMPLES / 2; i++) {
		struct sample *s = &samples[(h + i) & (NSAMPLES - 1)];
		uintptr_t cur = atomic_load_explicit(&s->ptr, memory_order_acquire);
		if (cur == S_EMPTY)
			return;
		if (cur == p) {
			/* the block's one free: no other thread removes it */
			if (atomic_compare_exchange_strong_explicit(&s->ptr, &cur, S_DELETED,
								    memory_order_release,
								    memory_order_relaxed))
				filter_remove(p);
			return;
		}
	}
}

/* Top call sites by sampled live bytes; returns how many. */
int af_sample_top(uintptr_t *site, uint64_t *bytes, int max)
{
	int n = 0;
	for (unsigned i = 0; i < NSAMPLES; i++) {
		if (atomic_load_explicit(&samples[i].ptr, memory_order_acquire) <= S_FILLING)
			continue;
		uintptr_t s = samples[i].site;
		int j = 0;
		while (j < n && site[j] != s)
			j++;
		if (j == n) {
			if (n == max)
				continue;
			site[n] = s;
			bytes[n++] = 0;
		}
		bytes[j] += samples[i].weight;
	}
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && bytes[j - 1] < bytes[j]; j--) {
			uint64_t b = bytes[j];
			bytes[j] = bytes[j - 1];
			bytes[j - 1] = b;
			uintptr_t s = site[j];
			site[j] = site[j - 1];
			site[j - 1] = s;
		}
	return n;
}
