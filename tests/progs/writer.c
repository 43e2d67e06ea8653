/* writer.c - a program whose result is files (explore --isolate): it
   writes out.txt (four lines), index.txt, and stamp.txt with its process
   id (a file that differs from run to run, so it judges nothing), then
   prints "done". Each allocation fails its own way:
     out_buf    handled: a message and exit 1
     line_copy  silent: a line is missing from out.txt, stdout unchanged
     note_buf   silent: error.log is left behind, exit 0
     index_buf  silent: index.txt is not written, exit 0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static const char *lines[] = {"alpha", "beta", "gamma", "delta"};

static NOINLINE char *out_buf(size_t size)
{
	char *b = malloc(size);
	if (b)
		return b;
	fputs("writer: out of memory\n", stderr);
	exit(1);
}

/* the planted bug: a failure returns NULL, and the caller drops the line */
static NOINLINE char *line_copy(const char *s)
{
	size_t n = strlen(s) + 1;
	char *c = malloc(n);
	return c ? memcpy(c, s, n) : NULL;
}

static NOINLINE void note_buf(void)
{
	char *n = malloc(64);
	if (!n) { /* the planted bug: a note instead of an error */
		FILE *f = fopen("error.log", "w");
		if (f) {
			fputs("no memory for the note\n", f);
			fclose(f);
		}
		return;
	}
	free(n);
}

static NOINLINE int index_buf(void)
{
	char *i = malloc(48);
	if (!i) /* the planted bug: the index is skipped, quietly */
		return 0;
	snprintf(i, 48, "%zu lines\n", sizeof lines / sizeof *lines);
	FILE *f = fopen("index.txt", "w");
	if (!f) {
		free(i);
		return -1;
	}
	fputs(i, f);
	fclose(f);
	free(i);
	return 0;
}

int main(void)
{
	char *buf = out_buf(256);
	FILE *out = fopen("out.txt", "w");
	if (!out) {
		perror("writer: out.txt");
		return 1;
	}
	for (size_t k = 0; k < sizeof lines / sizeof *lines; k++) {
		char *l = line_copy(lines[k]);
		if (!l)
			continue;
		snprintf(buf, 256, "%zu %s\n", k + 1, l);
		fputs(buf, out);
		free(l);
	}
	if (fclose(out) != 0)
		return 1;
	FILE *st = fopen("stamp.txt", "w");
	if (!st)
		return 1;
	fprintf(st, "%ld\n", (long)getpid());
	fclose(st);
	note_buf();
	if (index_buf() < 0)
		return 1;
	free(buf);
	puts("done");
	return 0;
}
