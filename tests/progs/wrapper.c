/* wrapper.c - allocation through wrappers. grow() returns NULL to its six
   callers, three of which dereference it unchecked; xmalloc() aborts on
   failure, whoever called it. A call site is grow()'s call of malloc,
   shared by all six: only calling contexts tell the callers apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static NOINLINE char *grow(size_t n)
{
	char *p = malloc(n);
	return p; /* the caller checks, or not */
}

static NOINLINE void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fputs("wrapper: out of memory\n", stderr);
		abort();
	}
	return p;
}

static NOINLINE int careful_a(void)
{
	char *p = grow(16);
	if (!p)
		return -1;
	strcpy(p, "a");
	free(p);
	return 0;
}
static NOINLINE int careful_b(void)
{
	char *p = grow(24);
	if (!p)
		return -1;
	strcpy(p, "b");
	free(p);
	return 0;
}
static NOINLINE int careful_c(void)
{
	char *p = grow(32);
	if (!p)
		return -1;
	strcpy(p, "c");
	free(p);
	return 0;
}
static NOINLINE int careless_d(void)
{
	char *p = grow(40);
	strcpy(p, "d"); /* bug */
	free(p);
	return 0;
}
static NOINLINE int careless_e(void)
{
	char *p = grow(48);
	p[0] = 'e'; /* bug */
	free(p);
	return 0;
}
static NOINLINE int careless_f(void)
{
	char *p = grow(56);
	memset(p, 'f', 8); /* bug */
	free(p);
	return 0;
}

static NOINLINE void use_x(int i)
{
	char *p = xmalloc(8 + (size_t)i);
	p[0] = 'x';
	free(p);
}

static NOINLINE void use_y(void)
{
	char *p = xmalloc(100);
	p[0] = 'y';
	free(p);
}

int main(void)
{
	int bad = 0;
	bad |= careful_a();
	bad |= careful_b();
	bad |= careful_c();
	careless_d();
	careless_e();
	careless_f();
	for (int i = 0; i < 6; i++)
		use_x(i);
	use_y();
	if (bad) {
		fputs("wrapper: a step failed\n", stderr);
		return 1;
	}
	puts("ok");
	return 0;
}
