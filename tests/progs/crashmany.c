/* crashmany.c - crashes while other threads keep having failures injected.
   crashmany storm   four threads allocate (the rules fail their
                     allocations) while the main thread dereferences NULL
   crashmany two     the same, and two threads crash at once
   crashmany guard   no crash: the program's own SIGSEGV handler opens a
                     guard page and returns, as a garbage collector's
                     write barrier does; prints "handled 3" */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static atomic_long failures;
static pthread_barrier_t both;

static NOINLINE void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		void *p = malloc(64);
		if (!p)
			atomic_fetch_add(&failures, 1);
		free(p);
	}
	return NULL;
}

static NOINLINE void crash_here(void)
{
	volatile int *null = NULL;
	*null = 1;
}

static void *crasher(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&both);
	crash_here();
	return NULL;
}

static char *page;
static long pagesize;
static int handled;

static void open_page(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char *a = si->si_addr;
	if (a < page || a >= page + pagesize)
		abort();
	mprotect(page, (size_t)pagesize, PROT_READ | PROT_WRITE);
	handled++;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "storm";
	if (strcmp(mode, "guard") == 0) {
		pagesize = sysconf(_SC_PAGESIZE);
		page = mmap(NULL, (size_t)pagesize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = open_page;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSEGV, &sa, NULL);
		void *p = malloc(100); /* the rules fail it: the shim's handler goes in front */
		for (int i = 0; i < 3; i++) {
			page[i] = 1;
			mprotect(page, (size_t)pagesize, PROT_NONE);
		}
		printf("handled %d%s\n", handled, p ? " (nothing injected)" : "");
		free(p);
		return 0;
	}
	pthread_t t;
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t, NULL, worker, NULL) != 0)
			return 1;
	while (atomic_load(&failures) < 1000)
		sched_yield();
	if (strcmp(mode, "two") == 0) {
		pthread_barrier_init(&both, NULL, 2);
		if (pthread_create(&t, NULL, crasher, NULL) != 0)
			return 1;
		crasher(NULL);
	}
	crash_here();
	return 0;
}
