/* evilname.c - names a terminal must not obey. The test patches the
   function name below, in a copy of this binary, into escape sequences
   (the symbol table and DWARF hold it), as a crafted binary would have
   it; the thread's name has some of its own. The function's malloc is
   used without a NULL check: an injected failure crashes there. */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#define NOINLINE __attribute__((noinline))

NOINLINE char *evil_placeholder_function_name(void)
{
	char *p = malloc(32);
	strcpy(p, "x");
	return p;
}

int main(void)
{
	prctl(PR_SET_NAME, "t\x1b]0;pwn\x07");
	free(evil_placeholder_function_name());
	return 0;
}
