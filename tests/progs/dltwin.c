/* dltwin.c - loads each library named on the command line, calls its
   entry(100) and entry_dup(), unloads it, and prints whether the allocation
   succeeded, how many of entry_dup's failed, and whether the library was
   mapped where the first one was. */
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
		int (*entry_dup)(void) = (int (*)(void))dlsym(h, "entry_dup");
		printf("%d %s dups %d%s\n", i, p ? "ok" : "NULL", entry_dup ? entry_dup() : -1,
		       di.dli_fbase == first ? "" : " (elsewhere)");
		free(p);
		dlclose(h);
	}
	return 0;
}
