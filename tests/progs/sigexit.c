/* sigexit.c - a thread that allocates at one call site and exits, with a
   SIGUSR1 handler that allocates at the same call site and at one of its
   own. The test runs it
   under gdb, which delivers the signal at chosen points of the shim's
   thread-exit destructor; handled() is where gdb stops after the handler's
   allocation. Prints "ok" and exits 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void *alloc_here(size_t n)
{
	void *p = malloc(n);
	__asm__ volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) void handled(void)
{
	__asm__ volatile("");
}

static void on_usr1(int sig)
{
	(void)sig;
	free(alloc_here(40));
	free(malloc(24)); /* a call site of its own, new to the census */
	handled();
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		free(alloc_here(40));
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	pthread_join(th, NULL);
	printf("ok\n");
	return 0;
}
