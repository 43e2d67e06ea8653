/* Makes the requests named on the command line, each from main, and prints
   what each returned: "malloc:N", "calloc:N:M", "realloc:N" (of a live
   block), "memalign:A:N", "aligned_alloc:A:N", "posix_memalign:A:N". Sizes
   and alignments are numbers or powers of two written "2^K"; "max" is
   SIZE_MAX. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t num(const char *s)
{
	if (!strcmp(s, "max"))
		return SIZE_MAX;
	if (!strncmp(s, "2^", 2))
		return (size_t)1 << strtoul(s + 2, NULL, 10);
	return strtoull(s, NULL, 0);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char fn[32];
		char a[32] = "", b[32] = "";
		sscanf(argv[i], "%31[^:]:%31[^:]:%31s", fn, a, b);
		void *p = NULL;
		int rc = -1;
		errno = 0;
		if (!strcmp(fn, "malloc"))
			p = malloc(num(a));
		else if (!strcmp(fn, "calloc"))
			p = calloc(num(a), num(b));
		else if (!strcmp(fn, "realloc")) {
			void *q = malloc(16);
			p = realloc(q, num(a));
			if (!p)
				free(q);
		} else if (!strcmp(fn, "memalign"))
			p = memalign(num(a), num(b));
		else if (!strcmp(fn, "aligned_alloc"))
			p = aligned_alloc(num(a), num(b));
		else if (!strcmp(fn, "posix_memalign"))
			rc = posix_memalign(&p, num(a), num(b));
		int e = errno;
		if (rc >= 0)
			printf("%s: rc=%d errno=%d\n", argv[i], rc, e);
		else
			printf("%s: %s errno=%d\n", argv[i], p ? "ok" : "NULL", e);
		free(p);
	}
	return 0;
}
