/* reserve.c - a reservation under a limit with four threads contending.
   One thread reserves RESERVE bytes and allocates within them; three others
   allocate as much as they can. The reserved thread must never see a
   failure; the others must, once the pool minus the reserve is used up.
   Then a reservation larger than the limit is refused. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "allocfail.h"

#define RESERVE (2 << 20)
#define CHUNK 16384

static pthread_barrier_t go;
static int reserved_failures, reserved_allocs, others_failed[3];
static long token;

static void *reserved(void *arg)
{
	(void)arg;
	token = allocfail_reserve(RESERVE);
	pthread_barrier_wait(&go); /* the reserve is taken before the others start */
	void *keep[RESERVE / CHUNK];
	int n = 0;
	for (int i = 0; i < (RESERVE / CHUNK) * 9 / 10; i++) {
		void *p = malloc(CHUNK);
		reserved_failures += p == NULL;
		reserved_allocs++;
		if (p)
			keep[n++] = p;
	}
	pthread_barrier_wait(&go); /* the others are done */
	for (int i = 0; i < n; i++)
		free(keep[i]);
	allocfail_unreserve(token);
	return NULL;
}

static void *greedy(void *arg)
{
	int k = (int)(long)arg;
	pthread_barrier_wait(&go);
	void **keep = calloc(1024, sizeof *keep);
	int n = 0;
	while (n < 1024) {
		void *p = malloc(CHUNK);
		if (!p) {
			others_failed[k] = 1;
			break;
		}
		keep[n++] = p;
	}
	pthread_barrier_wait(&go);
	for (int i = 0; i < n; i++)
		free(keep[i]);
	free(keep);
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	pthread_barrier_init(&go, NULL, 4);
	pthread_create(&t[0], NULL, reserved, NULL);
	for (long k = 0; k < 3; k++)
		pthread_create(&t[k + 1], NULL, greedy, (void *)k);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("token %s\n", token > 0 ? "ok" : "bad");
	printf("reserved thread: %d failures in %d allocations\n", reserved_failures, reserved_allocs);
	printf("others failed: %d %d %d\n", others_failed[0], others_failed[1], others_failed[2]);
	printf("too large: %s\n", allocfail_reserve(64 << 20) == -E2BIG ? "E2BIG" : "?");
	return 0;
}
