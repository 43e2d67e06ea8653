/* census.c - call sites with known counts for the census test. */
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

NOINLINE void *site_a(void)
{
	return malloc(24);
}

NOINLINE void *site_b(size_t n)
{
	return calloc(n, 8);
}

NOINLINE char *site_c(void)
{
	return strdup("census");
}

NOINLINE void *site_d(void)
{
	return malloc(40000);
}

int main(void)
{
	for (int i = 0; i < 10; i++)
		free(site_a());
	for (int i = 0; i < 3; i++)
		free(site_b((size_t)i + 1));
	for (int i = 0; i < 5; i++)
		free(site_c());
	for (int i = 0; i < 2; i++)
		free(site_d());
	return 0;
}
