/* limit.c - drives the simulated limit.
   limit BIG SMALL: allocate BIG, then SMALL; report each result.
   limit wait KEEP HELD SMALL: the main thread allocates KEEP and HELD; a
   second thread frees HELD after 200 ms while the main thread asks for
   SMALL, which must then succeed. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *held;

static void *release_later(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 200 * 1000 * 1000};
	nanosleep(&ts, NULL);
	free(held);
	return NULL;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 5 && strcmp(argv[1], "wait") == 0) {
		void *keep = malloc(strtoul(argv[2], NULL, 0));
		held = malloc(strtoul(argv[3], NULL, 0));
		if (!keep || !held) {
			printf("big NULL\n");
			return 1;
		}
		pthread_t t;
		pthread_create(&t, NULL, release_later, NULL);
		void *p = malloc(strtoul(argv[4], NULL, 0));
		printf("small %s\n", p ? "ok" : "NULL");
		pthread_join(t, NULL);
		free(p);
		free(keep);
		return p ? 0 : 1;
	}
	void *a = malloc(strtoul(argv[1], NULL, 0));
	printf("big %s errno=%d\n", a ? "ok" : "NULL", a ? 0 : errno);
	void *b = malloc(strtoul(argv[2], NULL, 0));
	printf("small %s errno=%d\n", b ? "ok" : "NULL", b ? 0 : errno);
	free(a);
	free(b);
	return 0;
}
