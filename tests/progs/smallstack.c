/* smallstack.c - a thread with a small stack (KiB, default 64), as servers
   with many threads use, down to glibc's PTHREAD_STACK_MIN of 16 KiB: the
   shim's thread-local storage comes out of that stack, so it must stay
   small, and what the shim does on that stack must fit in it. The thread
   allocates directly and through libc (strdup: a walk to the call site). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *work(void *arg)
{
	for (int i = 0; i < 100; i++) {
		free(malloc(100));
		free(strdup("smallstack"));
	}
	return arg;
}

int main(int argc, char **argv)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, (size_t)(argc > 1 ? atoi(argv[1]) : 64) << 10);
	pthread_t t;
	int rc = pthread_create(&t, &a, work, NULL);
	printf("create: %s\n", rc ? strerror(rc) : "ok");
	if (!rc)
		pthread_join(t, NULL);
	return rc != 0;
}
