/* livesample.c - what the live-memory sampler sees when allocations and
   frees take the quick path (the census or the summary, no limit): blocks
   made and freed again, by free() and by realloc(), must leave it, blocks
   held must stay. RLIMIT_AS makes a real out-of-memory: its report lists
   the call sites holding the most live memory. With "sites", also
   allocations made inside libc (strdup, asprintf): counted at the
   program's call site through libc's frames (af_cfi.c's rules), and no
   out-of-memory. With "threads", the blocks made and freed are made by
   four threads at once, and each frees its neighbour's: the sampler's
   adds and removes race. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define NOINLINE __attribute__((noinline))
#define N 8192

NOINLINE void *site_tmp(size_t n)
{
	return malloc(n);
}

NOINLINE void *site_grow(void *p, size_t n)
{
	return realloc(p, n);
}

NOINLINE void *site_hold(size_t n)
{
	return calloc(1, n);
}

NOINLINE void *site_fill(size_t n)
{
	return malloc(n);
}

NOINLINE char *site_dup_a(const char *s)
{
	return strdup(s);
}

NOINLINE char *site_dup_b(const char *s)
{
	return strdup(s);
}

NOINLINE char *site_print(int i)
{
	char *p;
	return asprintf(&p, "block %d of %s", i, "livesample") < 0 ? NULL : p;
}

NOINLINE char *site_print_once(int i)
{
	char *p;
	return asprintf(&p, "block %d of %s", i, "livesample") < 0 ? NULL : p;
}

static void *blocks[N];

#define THREADS 4
static int nthreads = 1;
static pthread_barrier_t made;

/* thread k of nthreads makes blocks k, k + nthreads, ... of each kind,
   then frees those of thread k + 1 (alone, its own): 32 MiB made and
   freed; then 32 MiB grown by realloc, moved by realloc to site_hold's
   size class and freed */
static void *churn(void *arg)
{
	int k = (int)(long)arg, next = (k + 1) % nthreads;
	for (int round = 0; round < 2; round++) {
		for (int i = k; i < N; i += nthreads)
			blocks[i] = round ? site_grow(site_grow(NULL, 64), 4096) : site_tmp(4096);
		pthread_barrier_wait(&made);
		for (int i = next; i < N; i += nthreads)
			free(round ? site_grow(blocks[i], 8192) : blocks[i]);
		pthread_barrier_wait(&made);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 && strcmp(argv[1], "threads") == 0;
	int fill = argc < 2 || threads;
	/* main is thread 0; the churn comes before the limit, which is the
	   fill's alone */
	pthread_t t[THREADS];
	nthreads = threads ? THREADS : 1;
	pthread_barrier_init(&made, NULL, (unsigned)nthreads);
	for (long k = 1; k < nthreads; k++)
		if (pthread_create(&t[k], NULL, churn, (void *)k) != 0)
			return 2;
	churn(NULL);
	for (int k = 1; k < nthreads; k++)
		pthread_join(t[k], NULL);
	struct rlimit r = {(rlim_t)768 << 20, (rlim_t)768 << 20};
	if (setrlimit(RLIMIT_AS, &r) != 0)
		return 2;
	/* 64 MiB held */
	for (int i = 0; i < N; i++)
		blocks[i] = site_hold(8192);
	if (!fill) {
		free(site_fill(1000));
		/* one strdup (the same return address in libc) from two callers,
		   N and 2N times; asprintf the same way N times and once */
		for (int i = 0; i < N; i++) {
			free(site_dup_a("livesample"));
			free(site_dup_b("livesample, longer"));
			free(site_dup_b("livesample"));
			free(site_print(i % 10));
		}
		free(site_print_once(5));
		return 0;
	}
	/* then 1000-byte blocks until the address space is full */
	for (unsigned long i = 0;; i++)
		if (!site_fill(1000)) {
			printf("NULL after %lu\n", i);
			return 3;
		}
}
