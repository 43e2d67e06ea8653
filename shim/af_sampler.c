/* af_sampler.c - the live-memory sampler: one allocation per
   AF_SAMPLE_INTERVAL bytes is remembered with its call site, so that the
   OOM report and the summary can name the call sites holding the most
   live memory (with a limit, the census or the summary). */
#define _GNU_SOURCE
#include <pthread.h>

#include "af.h"
#include "af_slow.h"
#include "af_walk.h"


#define NSAMPLES 8192
struct sample {
	_Atomic uintptr_t ptr; /* 0 empty, 1 deleted */
	uintptr_t site;
	uint64_t weight;
};
static struct sample samples[NSAMPLES];
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic unsigned char af_sample_filter[AF_SAMPLE_BUCKETS];

/* Counters saturate: a bucket at 255 stays set, which only costs lookups. */
static void filter_add(uintptr_t p)
{
	_Atomic unsigned char *c = &af_sample_filter[af_sample_bucket((void *)p)];
	unsigned char v = atomic_load(c);
	if (v < 255)
		atomic_store(c, (unsigned char)(v + 1));
}

static void filter_remove(uintptr_t p)
{
	_Atomic unsigned char *c = &af_sample_filter[af_sample_bucket((void *)p)];
	unsigned char v = atomic_load(c);
	if (v > 0 && v < 255)
		atomic_store(c, (unsigned char)(v - 1));
}

static inline unsigned sample_hash(uintptr_t p)
{
	return (unsigned)((p >> 4) * 0xc2b2ae3d27d4eb4full >> 51) & (NSAMPLES - 1);
}

void af_sample_add(uintptr_t p, uintptr_t site, uint64_t weight)
{
	pthread_mutex_lock(&sample_lock);
	unsigned h = sample_hash(p);
	for (unsigned i = 0; i < NSAMPLES / 2; i++) {
		struct sample *s = &samples[(h + i) & (NSAMPLES - 1)];
		uintptr_t cur = atomic_load_explicit(&s->ptr, memory_order_relaxed);
		if (cur <= 1) {
			s->site = site;
			s->weight = weight;
			atomic_store_explicit(&s->ptr, p, memory_order_release);
			filter_add(p); /* under sample_lock: counters change one at a time */
			break;
		}
	}
	pthread_mutex_unlock(&sample_lock);
}

void af_sample_free(void *vp)
{
	uintptr_t p = (uintptr_t)vp;
	unsigned h = sample_hash(p);
	for (unsigned i = 0; i < NSAMPLES / 2; i++) {
		struct sample *s = &samples[(h + i) & (NSAMPLES - 1)];
		uintptr_t cur = atomic_load_explicit(&s->ptr, memory_order_acquire);
		if (cur == 0)
			return;
		if (cur == p) {
			pthread_mutex_lock(&sample_lock);
			if (atomic_load_explicit(&s->ptr, memory_order_relaxed) == p) {
				atomic_store_explicit(&s->ptr, 1, memory_order_release);
				filter_remove(p);
			}
			pthread_mutex_unlock(&sample_lock);
			return;
		}
	}
}

/* Top call sites by sampled live bytes; returns how many. */
int af_sample_top(uintptr_t *site, uint64_t *bytes, int max)
{
	int n = 0;
	for (unsigned i = 0; i < NSAMPLES; i++) {
		if (atomic_load_explicit(&samples[i].ptr, memory_order_acquire) <= 1)
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



void af_sample_lock(int lock)
{
	if (lock)
		pthread_mutex_lock(&sample_lock);
	else
		pthread_mutex_unlock(&sample_lock);
}

