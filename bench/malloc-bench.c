/* malloc-bench.c - allocation throughput per thread.
   malloc-bench pair|mix|dup THREADS ITERATIONS
   pair: each iteration frees one of 64 slots and mallocs it again, with
   sizes mixed from 8 to 4096 bytes (one malloc/free pair).
   mix:  the same with realloc and calloc in turn.
   dup:  the same with strdup of 8 to 263 bytes: the allocation is made
         inside libc, its call site is one frame up (free/strdup pairs).
   Prints the wall time per iteration of one thread, in ns: with threads
   running in parallel, a flat figure across thread counts means no
   contention. NULL results (injected failures) are tolerated. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long iters;
static int mix, dup;
static char text[272];
static pthread_barrier_t start;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static __attribute__((noinline)) void *work(void *arg)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	void *slot[64] = {0};
	pthread_barrier_wait(&start);
	for (long i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned k = (unsigned)(x & 63);
		size_t n = 8 + ((x >> 8) & 0xff) * ((x >> 16) & 1 ? 1 : 16);
		if (dup) {
			free(slot[k]);
			slot[k] = strdup(text + 263 - (n & 0xff));
		} else if (!mix) {
			free(slot[k]);
			slot[k] = malloc(n);
		} else if (i & 1) {
			void *p = realloc(slot[k], n);
			if (p)
				slot[k] = p;
		} else {
			free(slot[k]);
			slot[k] = calloc(1, n);
		}
		if (slot[k])
			*(volatile char *)slot[k] = 1;
	}
	for (int k = 0; k < 64; k++)
		free(slot[k]);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: malloc-bench pair|mix|dup THREADS ITERATIONS\n");
		return 2;
	}
	mix = strcmp(argv[1], "mix") == 0;
	dup = strcmp(argv[1], "dup") == 0;
	memset(text, 'x', 263);
	int n = atoi(argv[2]);
	iters = atol(argv[3]);
	pthread_t t[256];
	pthread_barrier_init(&start, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, work, (void *)(uintptr_t)i);
	pthread_barrier_wait(&start);
	double t0 = now();
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	double el = now() - t0;
	printf("%.2f\n", el / (double)iters);
	return 0;
}
