/* threadcount.c - exact census counts from threads: 4 threads each call
   site K (K = 0..79) K + 1 times, more sites than a thread's table of
   counts has slots; the threads are joined before exit, and main then
   calls site 0 five times. The census must say 4 (K + 1) for each site,
   and 4 + 5 for site 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define SITE(k)                                                               \
	static __attribute__((noinline)) void site##k(void)                   \
	{                                                                     \
		void *p = malloc(8 + (k));                                    \
		__asm__ volatile("" ::"r"(p) : "memory");                     \
		free(p);                                                      \
	}
#define TEN(d) SITE(d##0) SITE(d##1) SITE(d##2) SITE(d##3) SITE(d##4) \
	SITE(d##5) SITE(d##6) SITE(d##7) SITE(d##8) SITE(d##9)
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7) SITE(8) SITE(9)
TEN(1) TEN(2) TEN(3) TEN(4) TEN(5) TEN(6) TEN(7)

#define REF(k) site##k
#define REFTEN(d) REF(d##0), REF(d##1), REF(d##2), REF(d##3), REF(d##4), \
	REF(d##5), REF(d##6), REF(d##7), REF(d##8), REF(d##9)
static void (*const sites[80])(void) = {
	REF(0), REF(1), REF(2), REF(3), REF(4), REF(5), REF(6), REF(7), REF(8), REF(9),
	REFTEN(1), REFTEN(2), REFTEN(3), REFTEN(4), REFTEN(5), REFTEN(6), REFTEN(7)};

static void *worker(void *arg)
{
	(void)arg;
	/* interleaved, so that sites sharing a slot take it from each other */
	for (int round = 0; round < 80; round++)
		for (int k = round; k < 80; k++)
			sites[k]();
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0)
			return 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 5; i++)
		sites[0]();
	puts("done");
	return 0;
}
