/* lockfork.c - a lock held across an allocation and taken again on its
   failure path, for explore --fork. The mutex checks its owner, a thread
   id: in a child the shim forked at the allocation that id is another
   thread's, so the child's unlock fails (EPERM) and the failure path's
   lock waits for good. Run on its own, the failure is handled: a message
   and exit 1. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu;
static int failures;

int main(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&mu, &a);
	for (int i = 0; i < 3; i++) {
		pthread_mutex_lock(&mu);
		char *p = malloc(64 + (size_t)i);
		pthread_mutex_unlock(&mu);
		if (!p) {
			pthread_mutex_lock(&mu);
			failures++;
			pthread_mutex_unlock(&mu);
			fprintf(stderr, "lockfork: out of memory (%d)\n", failures);
			return 1;
		}
		snprintf(p, 64, "item %d", i);
		puts(p);
		free(p);
	}
	return 0;
}
