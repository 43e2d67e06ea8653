/* plugin.c - a library for dlopen tests: it allocates in its constructor,
   in a function, and frees in its destructor. */
#include <stdlib.h>
#include <string.h>

static char *kept;

__attribute__((constructor)) static void plugin_init(void)
{
	kept = malloc(1000);
	if (kept)
		memset(kept, 7, 1000);
}

__attribute__((destructor)) static void plugin_fini(void)
{
	free(kept);
}

static __attribute__((noinline)) char *plugin_static_alloc(size_t n)
{
	return malloc(n);
}

char *plugin_alloc(size_t n)
{
	char *p = plugin_static_alloc(n);
	if (p)
		memset(p, 1, n);
	return p;
}
