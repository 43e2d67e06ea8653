/* differ.c - a diff-like program whose normal result is exit status 1
   ("the inputs differ"), for explore --status. It compares two built-in
   lists and prints the lines that differ; each allocation fails its own
   way:
     pair_buf   handled: a message and exit 2 (diff's "trouble")
     line_copy  silent: the line is skipped, still exit 1 (output lost)
     verdict    silent: taken as "no differences", exit 0 (a wrong answer) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static const char *left[] = {"alpha", "beta", "gamma", "delta"};
static const char *right[] = {"alpha", "BETA", "gamma", "DELTA"};

static NOINLINE char *pair_buf(void)
{
	char *b = malloc(128);
	if (!b) {
		fputs("differ: out of memory\n", stderr);
		exit(2);
	}
	return b;
}

static NOINLINE char *line_copy(const char *s)
{
	char *c = malloc(strlen(s) + 1);
	if (c) /* the planted bug: a failure drops the line */
		strcpy(c, s);
	return c;
}

static NOINLINE int verdict(int ndiff)
{
	int *v = malloc(sizeof *v);
	if (!v) /* the planted bug: a failure reads as "no differences" */
		return 0;
	*v = ndiff > 0;
	int r = *v;
	free(v);
	return r;
}

int main(void)
{
	char *buf = pair_buf();
	int ndiff = 0;
	for (size_t i = 0; i < sizeof left / sizeof *left; i++) {
		if (strcmp(left[i], right[i]) == 0)
			continue;
		ndiff++;
		char *l = line_copy(left[i]);
		if (!l)
			continue;
		snprintf(buf, 128, "%zu: %s | %s", i + 1, l, right[i]);
		puts(buf);
		free(l);
	}
	free(buf);
	if (!verdict(ndiff))
		return 0;
	return 1;
}
