/* nested.c - an error path that allocates: when load_table() fails, the
   error report builds its message in a fresh buffer without checking it.
   Only failing both allocations shows the crash. With an argument the
   program aborts after the report (a failure not handled: explore --fork
   sets its forked child aside and runs it on its own). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static NOINLINE void report_error(const char *what)
{
	char *msg = malloc(128);
	strcpy(msg, "nested: cannot "); /* no check: the bug is on the error path */
	strcat(msg, what);
	fprintf(stderr, "%s\n", msg);
	free(msg);
}

static NOINLINE int *load_table(void)
{
	int *t = malloc(64 * sizeof *t);
	if (!t) {
		report_error("load the table");
		return NULL;
	}
	for (int i = 0; i < 64; i++)
		t[i] = i * i;
	return t;
}

int main(int argc, char **argv)
{
	(void)argv;
	int *t = load_table();
	if (!t && argc > 1)
		abort();
	if (!t)
		return 1;
	printf("%d\n", t[63]);
	free(t);
	return 0;
}
