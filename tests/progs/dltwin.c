/* dltwin.c - loads each library named on the command line, calls its
   entry(100), unloads it, and prints whether the allocation succeeded and
   whether the library was mapped where the first one was. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	void *first = NULL;
	for (int i = 1; i < argc; i++) {
		void *h = dlopen(argv[i], RTLD_NOW);
		if (!h) {
			fprintf(stderr, "dltwin: %s\n", dlerror());
			return 1;
		}
		void *(*entry)(size_t) = (void *(*)(size_t))dlsym(h, "entry");
		Dl_info di;
		dladdr((void *)entry, &di);
		if (!first)
			first = di.dli_fbase;
		void *p = entry(100);
		printf("%d %s%s\n", i, p ? "ok" : "NULL", di.dli_fbase == first ? "" : " (elsewhere)");
		free(p);
		dlclose(h);
	}
	return 0;
}
