/* ctxthreads.c - a wrapper reached from several callers, two frames
   above the call site (grow() through its plumbing, grow_inner()): three
   callers before the process starts a second thread, two after. A caller
   of each kind checks the failure; one of each does not. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static NOINLINE char *grow_inner(size_t n)
{
	char *p = malloc(n);
	return p;
}

static NOINLINE char *grow(size_t n)
{
	char *p = grow_inner(n);
	return p;
}

static NOINLINE int checks(const char *who, size_t n)
{
	char *p = grow(n);
	if (!p) {
		fprintf(stderr, "ctxthreads: %s: out of memory\n", who);
		return -1;
	}
	strcpy(p, who);
	free(p);
	return 0;
}

static NOINLINE int early_a(void) { return checks("early_a", 16); }
static NOINLINE int early_b(void) { return checks("early_b", 24); }

static NOINLINE int early_careless(void)
{
	char *p = grow(32);
	strcpy(p, "early"); /* bug */
	free(p);
	return 0;
}

static NOINLINE int late_c(void) { return checks("late_c", 40); }

static NOINLINE int late_careless(void)
{
	char *p = grow(48);
	memset(p, 'l', 8); /* bug */
	free(p);
	return 0;
}

static int wake[2];

static void *idle(void *arg)
{
	char c;
	(void)arg;
	while (read(wake[0], &c, 1) < 0)
		;
	return NULL;
}

int main(void)
{
	int bad = 0;
	bad |= early_a();
	bad |= early_b();
	early_careless();
	pthread_t th;
	if (pipe(wake) != 0 || pthread_create(&th, NULL, idle, NULL) != 0)
		return 2;
	bad |= late_c();
	late_careless();
	if (write(wake[1], "x", 1) != 1 || pthread_join(th, NULL) != 0)
		return 2;
	if (bad) {
		fputs("ctxthreads: a step failed\n", stderr);
		return 1;
	}
	puts("ok");
	return 0;
}
