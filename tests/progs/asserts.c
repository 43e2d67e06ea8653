/* asserts.c - two allocation sites: one whose failure trips an assert()
   (a broken invariant: a crash, not a deliberate abort), one that aborts on
   purpose after saying so, as xmalloc does. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __attribute__((noinline)) char *checked(size_t n)
{
	char *p = malloc(n);
	assert(p != NULL);
	return p;
}

static __attribute__((noinline)) char *xmalloc(size_t n)
{
	char *p = malloc(n);
	if (!p) {
		fputs("asserts: out of memory\n", stderr);
		abort();
	}
	return p;
}

int main(void)
{
	char *a = checked(16), *b = xmalloc(16);
	strcpy(a, "a");
	strcpy(b, "b");
	printf("%s%s\n", a, b);
	free(a);
	free(b);
	return 0;
}
