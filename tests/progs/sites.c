/* sites.c - allocation call sites with known shapes, for the matcher
   tests. Usage: sites PLUGIN [STEP...]; runs the named steps (all when
   none is named) and prints "STEP ok" or "STEP NULL" for each. The step
   "dups" runs only when named: strdup in a loop from two callers and at two
   sizes (the quick path's memo of strdup's caller, af_quick_stack), and
   prints how many of each failed, and which of via_strdup2's calls failed
   first. */
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

NOINLINE char *via_strdup2(const char *s)
{
	return strdup(s);
}

/* strdup or strndup, by the same call instruction: through a pointer to a
   function of two arguments (strdup ignores the second, as the x86-64 ABI
   allows), so that one return address in the program is the caller of two
   return addresses in libc */
typedef char *(*dupfn)(const char *, size_t);

NOINLINE char *via_ptr(dupfn f, const char *s, size_t n)
{
	char *p = f(s, n);
	__asm__ volatile("" ::: "memory");
	return p;
}

NOINLINE char *via_ptr2(dupfn f, const char *s, size_t n)
{
	char *p = f(s, n);
	__asm__ volatile("" ::: "memory");
	return p;
}

/* A thread takes the slow path for a while after each injection (to count
   what follows it), so each count's failing calls come last: 999 rounds of
   calls that no rule of the tests fails, which leave the quick path's memos
   behind, then the round that may fail. */
static void dups(void)
{
	static const char longer[] = "a string of more than a hundred characters, which "
				     "puts strdup's request in a size interval of its own "
				     "here";
	dupfn dup_as2 = (dupfn)dlsym(RTLD_DEFAULT, "strdup");
	int a = 0, b = 0, l = 0, x = 0, nb = 0, bfirst = 0;
	for (int i = 0; i < 1000; i++) {
		char *p;
		a += !(p = via_strdup("hello"));
		free(p);
		/* twice from one caller: the second call finds the first's memo,
		   which a rule that did not fire (nth=2) must not have left */
		for (int j = 0; j < 2; j++) {
			nb++;
			if (!(p = via_strdup2("hello")) && !b++)
				bfirst = nb;
			free(p);
		}
		/* via_ptr's memo, found plain through strdup at a small size, is
		   not strndup's at a larger one, although another caller made
		   strndup's memo for that size */
		a += !(p = via_ptr(dup_as2, "hello", 0));
		free(p);
		free(via_ptr2(strndup, longer, 200));
		if (i < 999)
			continue;
		/* the memo from via_strdup at a small size is not its memo at a
		   larger one */
		a += !(p = via_strdup("hello"));
		free(p);
		l += !(p = via_strdup(longer));
		free(p);
		x += !(p = via_ptr(strndup, longer, 200));
		free(p);
	}
	printf("dups %d %d %d %d first %d\n", a, b, l, x, bfirst);
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
	if (argc > 2 && want(argc, argv, "dups"))
		dups();
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
