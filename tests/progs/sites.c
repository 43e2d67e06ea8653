/* sites.c - allocation call sites with known shapes, for the matcher
   tests. Usage: sites PLUGIN [STEP...]; runs the named steps (all when
   none is named) and prints "STEP ok" or "STEP NULL" for each. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static void report(const char *label, void *p)
{
	printf("%s %s\n", label, p ? "ok" : "NULL");
	free(p);
}

static NOINLINE char *alloc_static(size_t n)
{
	return malloc(n);
}

NOINLINE char *via_strdup(const char *s)
{
	return strdup(s);
}

NOINLINE char *level3(size_t n)
{
	char *p = malloc(n);
	__asm__ volatile("" ::: "memory");
	return p;
}

NOINLINE char *level2(size_t n)
{
	char *p = level3(n);
	__asm__ volatile("" ::: "memory");
	return p;
}

NOINLINE char *level1(size_t n)
{
	char *p = level2(n);
	__asm__ volatile("" ::: "memory");
	return p;
}

NOINLINE void *zeroed(size_t n)
{
	return calloc(n, 1);
}

static void *thread_result;

static void *worker(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker-1");
	thread_result = malloc(400);
	return NULL;
}

static int want(int argc, char **argv, const char *step)
{
	if (argc <= 2)
		return 1;
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], step) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (want(argc, argv, "static"))
		report("static", alloc_static(100));
	if (want(argc, argv, "strdup"))
		report("strdup", via_strdup("hello"));
	if (want(argc, argv, "deep"))
		report("deep", level1(200));
	if (want(argc, argv, "calloc"))
		report("calloc", zeroed(300));
	if (want(argc, argv, "32k"))
		report("32k", malloc(32768));
	if (want(argc, argv, "32k+1"))
		report("32k+1", malloc(32769));
	if (want(argc, argv, "main"))
		report("main", malloc(500));
	if (want(argc, argv, "thread")) {
		pthread_t t;
		if (pthread_create(&t, NULL, worker, NULL) != 0) {
			printf("thread not created\n");
			return 1;
		}
		pthread_join(t, NULL);
		report("thread", thread_result);
	}
	if (want(argc, argv, "plugin")) {
		void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			printf("dlopen failed: %s\n", dlerror());
			return 1;
		}
		char *(*fn)(size_t) = (char *(*)(size_t))dlsym(h, "plugin_alloc");
		report("plugin", fn(600));
		dlclose(h);
	}
	return 0;
}
