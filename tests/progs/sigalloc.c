/* sigalloc.c - a SIGALRM handler that allocates (not async-signal-safe,
   but common) while the program's one thread allocates. An interval timer
   fires every 20 microseconds; the handler mallocs, writes and frees
   blocks of two sizes, which it allocates once before the timer starts.
   Prints "ok" and exits 0.
   Usage: sigalloc [ALLOCS] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t signals;

#define KEEP 16

static void on_alarm(int sig)
{
	(void)sig;
	size_t n = signals % 2 ? 40 : 200;
	char *p = malloc(n);
	if (p) {
		memset(p, 1, n);
		free(p);
	}
	signals++;
}

int main(int argc, char **argv)
{
	long allocs = argc > 1 ? atol(argv[1]) : 200000;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	/* the handler's sizes are served from the allocator's thread cache
	   from now on, without a lock of its own (glibc and jemalloc alike) */
	on_alarm(SIGALRM);
	on_alarm(SIGALRM);
	struct itimerval it = {{0, 20}, {0, 20}};
	setitimer(ITIMER_REAL, &it, NULL);
	void *keep[KEEP] = {0};
	for (long i = 0; i < allocs; i++) {
		int k = (int)(i % KEEP);
		free(keep[k]);
		switch (i % 4) {
		case 0: keep[k] = malloc(8 + (size_t)(i % 50) * 8); break;
		case 1: keep[k] = strdup("a string of some length"); break;
		case 2: keep[k] = calloc(3, 24 + (size_t)(i % 7)); break;
		default: keep[k] = realloc(NULL, 40 + (size_t)(i % 3) * 80); break;
		}
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	for (int k = 0; k < KEEP; k++)
		free(keep[k]);
	printf("ok\n");
	return 0;
}
