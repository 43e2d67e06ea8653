/* limitwait.c - under `limit=1M`: main fills the limit to the last KiB
   (costly blocks, then 1 KiB ones under noretry); a second thread, which holds
   small blocks, frees one and goes idle, keeping what it freed as its own
   credit. A small request of main's, retried, must still get that memory.
   Then a nofail request at the full limit waits (retries) until the other
   thread frees the rest, instead of failing or passing the limit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "allocfail.h"

#define NSMALL 64
static void *small[NSMALL];
static pthread_barrier_t b;

static _Atomic int freeing; /* the holder has started to free the rest */

static void *holder(void *arg)
{
	(void)arg;
	for (int i = 0; i < NSMALL; i++)
		small[i] = malloc(4096);
	pthread_barrier_wait(&b); /* held */
	pthread_barrier_wait(&b); /* main filled the limit */
	free(small[0]);
	pthread_barrier_wait(&b); /* freed one; idle until main got it */
	pthread_barrier_wait(&b);
	usleep(300000);
	freeing = 1;
	for (int i = 1; i < NSMALL; i++)
		free(small[i]);
	return NULL;
}

int main(void)
{
	printf("start\n"); /* stdio's buffer, before the limit is full */
	pthread_barrier_init(&b, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, holder, NULL);
	pthread_barrier_wait(&b);
	static void *big[64], *tiny[2048];
	int n = 0, m = 0;
	while (n < 64 && (big[n] = malloc(40 << 10)))
		n++;
	/* to the last KiB: noretry gives the real failure at once */
	unsigned nr = allocfail_noretry_save();
	while (m < 2048 && (tiny[m] = malloc(1024)))
		m++;
	allocfail_noretry_restore(nr);
	printf("filled: %s\n", n > 0 && n < 64 && m < 2048 ? "yes" : "no");
	pthread_barrier_wait(&b);
	pthread_barrier_wait(&b);
	void *p = malloc(2048); /* small: retried until it gets the freed block */
	printf("small after another thread freed: %s\n", p ? "ok" : "NULL");
	pthread_barrier_wait(&b);
	unsigned c = allocfail_nofail_save();
	void *q = malloc(64 << 10); /* waits for the holder's other frees */
	int waited = freeing;
	allocfail_nofail_restore(c);
	printf("nofail at the limit: %s\n", !q ? "NULL" : waited ? "ok after a wait" : "ok at once, past the limit");
	pthread_join(t, NULL);
	free(p);
	free(q);
	for (int i = 0; i < n; i++)
		free(big[i]);
	for (int i = 0; i < m; i++)
		free(tiny[i]);
	return 0;
}
