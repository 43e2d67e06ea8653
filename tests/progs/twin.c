/* twin.c - built twice, as libtwina.so (TWIN_FN twin_a) and libtwinb.so
   (TWIN_FN twin_b): two libraries with the same layout, which the loader
   maps at the same address when one is unloaded before the other is
   loaded (dltwin.c). */
#include <stdlib.h>

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
