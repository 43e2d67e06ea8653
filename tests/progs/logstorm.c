/* logstorm.c - threads in forked processes allocating under a
   probability rule, so that many processes and threads write the log at
   once. Each process prints how many of its workers' allocations failed. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define ALLOCS 400

static __attribute__((noinline)) void *worker(void *arg)
{
	(void)arg;
	uintptr_t failed = 0;
	for (int i = 0; i < ALLOCS; i++) {
		void *p = malloc((size_t)(16 + i));
		failed += p == NULL;
		free(p);
	}
	return (void *)failed;
}

static unsigned long storm(void)
{
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	unsigned long failed = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		failed += (uintptr_t)r;
	}
	return failed;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	pid_t kids[3];
	for (int k = 0; k < 3; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			printf("failed %lu\n", storm());
			_exit(0);
		}
	}
	printf("failed %lu\n", storm());
	for (int k = 0; k < 3; k++)
		waitpid(kids[k], NULL, 0);
	return 0;
}
