/* resvwait.c - reservations that must wait: under `limit=1M` and
   `retry_timeout=200ms`, a reserve that does not fit times out; one that
   fits once another thread frees memory is granted; a zero-byte reserve
   is granted even when a reservation's thread overdrew the pool; and one
   reservation is still held at exit, for the summary. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "allocfail.h"

static void *big;

static void *release(void *arg)
{
	(void)arg;
	usleep(50000);
	free(big);
	return NULL;
}

int main(void)
{
	big = malloc(700 << 10); /* 768 KiB in jemalloc's size classes */
	printf("big: %s\n", big ? "ok" : "failed");
	long r = allocfail_reserve(512 << 10);
	printf("reserve while full: %s\n", r == -ETIMEDOUT ? "ETIMEDOUT" : r > 0 ? "granted" : "?");
	pthread_t t;
	pthread_create(&t, NULL, release, NULL);
	r = allocfail_reserve(512 << 10);
	printf("reserve after a free: %s\n", r > 0 ? "granted" : "refused");
	pthread_join(t, NULL);
	allocfail_unreserve(r);

	long small = allocfail_reserve(1000);
	void *over = malloc(2 << 20); /* beyond the reserve: it cannot fail */
	printf("past the reserve and the limit: %s\n", over ? "ok" : "failed");
	r = allocfail_reserve(0);
	printf("reserve 0 when overdrawn: %s\n", r > 0 ? "granted" : "refused");
	allocfail_unreserve(r);
	allocfail_unreserve(small);
	free(over);

	printf("held at exit: %s\n", allocfail_reserve(1000) > 0 ? "granted" : "refused");
	return 0;
}
