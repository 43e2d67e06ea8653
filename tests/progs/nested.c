/* nested.c - an error path that allocates: when load_table() fails, the
   error report builds its message in a fresh buffer without checking it.
   Only failing both allocations shows the crash. */
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

int main(void)
{
	int *t = load_table();
	if (!t)
		return 1;
	printf("%d\n", t[63]);
	free(t);
	return 0;
}
