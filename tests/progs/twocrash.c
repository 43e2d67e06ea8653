/* twocrash.c - one allocation call site (make) reached from two callers,
   each of which crashes on its own line when make's allocation fails: two
   bugs at one injection site, which --mode nth tells apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __attribute__((noinline)) char *make(void)
{
	return malloc(32);
}

static __attribute__((noinline)) void first(void)
{
	char *p = make();
	strcpy(p, "first");
	puts(p);
	free(p);
}

static __attribute__((noinline)) void second(void)
{
	char *p = make();
	p[3] = 'x';
	puts("second");
	free(p);
}

int main(void)
{
	first();
	second();
	return 0;
}
