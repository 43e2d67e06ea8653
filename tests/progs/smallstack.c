/* smallstack.c - a thread with a 64 KiB stack, as servers with many
   threads use: the shim's thread-local storage comes out of that stack,
   so it must stay small. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *work(void *arg)
{
	char *p = malloc(100);
	free(p);
	return arg;
}

int main(void)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	pthread_t t;
	int rc = pthread_create(&t, &a, work, NULL);
	printf("create: %s\n", rc ? strerror(rc) : "ok");
	if (!rc)
		pthread_join(t, NULL);
	return rc != 0;
}
