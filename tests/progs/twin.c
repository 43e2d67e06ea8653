/* twin.c - built twice, as libtwina.so (TWIN_FN twin_a, TWIN_DUP
   twin_dup_a) and libtwinb.so (twin_b, twin_dup_b): two libraries with the
   same layout, which the loader maps at the same address when one is
   unloaded before the other is loaded (dltwin.c). */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void *TWIN_FN(size_t n)
{
	void *p = malloc(n);
	__asm__ volatile("" ::: "memory");
	return p;
}

void *entry(size_t n)
{
	return TWIN_FN(n);
}

__attribute__((noinline)) char *TWIN_DUP(const char *s)
{
	char *p = strdup(s);
	__asm__ volatile("" ::: "memory");
	return p;
}

/* strdup from one call site, 100 times (the quick path keeps what it found
   of the call site for the next call): how many failed */
int entry_dup(void)
{
	int failed = 0;
	for (int i = 0; i < 100; i++) {
		char *p = TWIN_DUP("twin");
		failed += !p;
		free(p);
	}
	return failed;
}
