/* outcomes.c - one allocation failure, handled or not in each of the ways
   explore tells apart (argv[1] picks the way; tests/test_findings.py):
     handler  says "memory exhausted" and exits 2 (as sort does in a pipeline)
     trap     says it cannot go on, then raises SIGTRAP (as g_error does)
     warn     warns, goes on, exits 0 with part of its output
     silent   exits 0 with part of its output, without a word
     five     five call sites whose failures crash at one place
     fold     an error path that allocates and ends as its parent did
     said     the same after a warning: the error path's run says it too
   Built with -DEXTRA an unrelated function moves every offset (a rebuild
   after an unrelated change, for baselines). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

#ifdef EXTRA
NOINLINE int unrelated(int x)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%d-%d-%d", x, x * 3, x * 7);
	return (int)strlen(buf) + printf("%s", x > 1000 ? buf : "");
}
#endif

static NOINLINE int handler(void)
{
	char *p = malloc(64);
	if (!p) {
		fputs("outcomes: memory exhausted\n", stderr);
		exit(2);
	}
	for (int i = 0; i < 5; i++)
		printf("line %d\n", i);
	free(p);
	return 0;
}

static NOINLINE int trap(void)
{
	char *p = malloc(64);
	if (!p) {
		fputs("outcomes-ERROR **: failed to allocate 64 bytes\n", stderr);
		raise(SIGTRAP);
	}
	puts("trap: fine");
	free(p);
	return 0;
}

static NOINLINE int warn(void)
{
	puts("header");
	char *p = malloc(64);
	if (!p)
		fputs("outcomes: warning: no memory for the index; going on without it\n", stderr);
	else
		puts("index");
	free(p);
	return 0;
}

static NOINLINE int silent(void)
{
	puts("header");
	char *p = malloc(64);
	if (p)
		puts("body");
	free(p);
	return 0;
}

/* five: each site leaves its slot NULL; use() reads them all */
static char *slot[5];
static NOINLINE void use(void)
{
	size_t n = 0;
	for (int i = 0; i < 5; i++)
		n += strlen(slot[i]);
	printf("%zu\n", n);
}
static NOINLINE void fill0(void) { slot[0] = malloc(8); if (slot[0]) strcpy(slot[0], "a"); }
static NOINLINE void fill1(void) { slot[1] = malloc(8); if (slot[1]) strcpy(slot[1], "b"); }
static NOINLINE void fill2(void) { slot[2] = malloc(8); if (slot[2]) strcpy(slot[2], "c"); }
static NOINLINE void fill3(void) { slot[3] = malloc(8); if (slot[3]) strcpy(slot[3], "d"); }
static NOINLINE void fill4(void) { slot[4] = malloc(8); if (slot[4]) strcpy(slot[4], "e"); }

/* fold: the error path of load() allocates a note, and whether the note
   is there or not, the run ends as load()'s failure alone does; said:
   load()'s failure warns first */
static NOINLINE void give_up(void)
{
	char *note = malloc(32);
	free(note);
	puts("partial");
	exit(0);
}
static NOINLINE void load(int say)
{
	char *p = malloc(100);
	if (!p) {
		if (say)
			fputs("outcomes: warning: no table, going on without it\n", stderr);
		give_up();
	}
	puts("whole");
	puts("whole");
	free(p);
}

int main(int argc, char **argv)
{
	const char *way = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IOLBF, 0);
#ifdef EXTRA
	unrelated(argc);
#endif
	if (!strcmp(way, "handler"))
		return handler();
	if (!strcmp(way, "trap"))
		return trap();
	if (!strcmp(way, "warn"))
		return warn();
	if (!strcmp(way, "silent"))
		return silent();
	if (!strcmp(way, "five")) {
		fill0(), fill1(), fill2(), fill3(), fill4();
		use();
		return 0;
	}
	if (!strcmp(way, "fold") || !strcmp(way, "said")) {
		load(!strcmp(way, "said"));
		return 0;
	}
	fprintf(stderr, "usage: outcomes handler|trap|warn|silent|five|fold|said\n");
	return 64;
}
