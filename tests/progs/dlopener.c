/* dlopener.c - dlopen/dlclose a library that allocates, many times. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 200, got = 0;
	for (int i = 0; i < rounds; i++) {
		void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			return 1;
		}
		char *(*fn)(size_t) = (char *(*)(size_t))dlsym(h, "plugin_alloc");
		char *p = fn((size_t)(100 + i));
		if (p)
			got++;
		free(p);
		dlclose(h);
	}
	printf("%d of %d allocations in the plugin succeeded\n", got, rounds);
	return 0;
}
