/* crashy.c - programs that crash after an allocation fails.
   crashy deref      parse_record() uses malloc's NULL: SIGSEGV
   crashy handler    the same, with the program's own SIGSEGV handler
   crashy overflow   unbounded recursion after the failure: stack overflow
   crashy abort      xmalloc-style abort() on failure
   crashy fpe        division by zero after the failure
   crashy badfree    frees a pointer malloc never returned after the
                     failure: the crash is inside the allocator
   crashy deepalloc  retries a failed allocation one level deeper, on a
                     256 KiB thread: with every attempt failed the stack
                     runs out, most likely in the shim's walk of it
   crashy late N     late_alloc()'s malloc fails; N allocations and frees
                     later (malloc, calloc, realloc in turn) it writes
                     through NULL: SIGSEGV */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

struct record {
	char name[40];
	int fields;
};

static NOINLINE struct record *parse_record(const char *text)
{
	struct record *r = malloc(sizeof *r);
	strcpy(r->name, text); /* the planted bug: no NULL check */
	r->fields = 1;
	return r;
}

static NOINLINE int recurse(int n)
{
	volatile char pad[256];
	pad[0] = (char)n;
	return recurse(n + 1) + pad[0];
}

static NOINLINE void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fputs("crashy: out of memory\n", stderr);
		abort();
	}
	return p;
}

/* the planted bug: no bound on the retries */
static NOINLINE void *deep_alloc(int n)
{
	void *p = malloc(16);
	if (!p)
		return deep_alloc(n + 1);
	return p;
}

static void *deep_thread(void *arg)
{
	(void)arg;
	free(deep_alloc(0));
	return NULL;
}

static NOINLINE char *late_alloc(void)
{
	return malloc(100);
}

/* N allocations after a failed one, then the planted bug */
static NOINLINE int late(long n)
{
	char *p = late_alloc();
	if (p) {
		free(p);
		return 0;
	}
	for (long i = 0; i < n; i++) {
		size_t z = 24 + (size_t)(i % 100);
		void *q = i % 3 == 0 ? malloc(z) : i % 3 == 1 ? calloc(1, z) : realloc(NULL, z);
		free(q);
	}
	*(volatile char *)p = 1;
	return 1;
}

static void own_handler(int sig)
{
	static const char msg[] = "crashy: own handler ran\n";
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(3);
	signal(sig, SIG_DFL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "deref";
	if (strcmp(mode, "handler") == 0)
		signal(SIGSEGV, own_handler);
	for (int i = 0; i < 3; i++) {
		void *warm = malloc(16 + (size_t)i);
		free(warm);
	}
	if (strcmp(mode, "overflow") == 0) {
		char *p = malloc(100);
		if (!p)
			return recurse(0);
		free(p);
		return 0;
	}
	if (strcmp(mode, "deepalloc") == 0) {
		pthread_attr_t a;
		pthread_t t;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 256 << 10);
		if (pthread_create(&t, &a, deep_thread, NULL) != 0)
			return 1;
		pthread_join(t, NULL);
		return 0;
	}
	if (strcmp(mode, "late") == 0)
		return late(argc > 2 ? atol(argv[2]) : 0);
	if (strcmp(mode, "abort") == 0) {
		free(xmalloc(64));
		return 0;
	}
	if (strcmp(mode, "badfree") == 0) {
		static char not_heap[4096];
		char *p = malloc(100);
		free(p ? p : not_heap + 64); /* the planted bug */
		return 0;
	}
	if (strcmp(mode, "fpe") == 0) {
		char *p = malloc(100);
		volatile int zero = p != NULL;
		printf("%d\n", 100 / zero);
		free(p);
		return 0;
	}
	struct record *r = parse_record("first record");
	printf("%s %d\n", r->name, r->fields);
	free(r);
	return 0;
}
