/* forker.c - fork from a process whose other threads are allocating; the
   child must be able to allocate (no lock inherited held) and exit cleanly. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;

static void *spin(void *arg)
{
	(void)arg;
	while (!stop) {
		void *p[64];
		for (int i = 0; i < 64; i++)
			p[i] = malloc((size_t)(16 + i * 37));
		for (int i = 0; i < 64; i++)
			free(p[i]);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, spin, NULL);
	int ok = 0;
	for (int round = 0; round < 50; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			char *s = NULL;
			for (int i = 0; i < 1000; i++) {
				free(s);
				s = malloc((size_t)(i + 1) * 8);
				if (!s)
					_exit(3);
				memset(s, 1, (size_t)(i + 1) * 8);
			}
			free(s);
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("%d of 50 children ok\n", ok);
	return ok == 50 ? 0 : 1;
}
