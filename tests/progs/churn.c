/* churn.c - many small and costly allocations, some through the C runtime
   (strdup, fopen, setlocale), counting the failures of each size class.
   Single-threaded, so a seed repeats its failures exactly. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int small = argc > 1 ? atoi(argv[1]) : 10000, costly = argc > 2 ? atoi(argv[2]) : 1000;
	int small_failed = 0, costly_failed = 0, runtime_failed = 0;
	setlocale(LC_ALL, "");
	for (int i = 0; i < small; i++) {
		char *p = malloc((size_t)(1 + i % 32768));
		small_failed += p == NULL;
		free(p);
	}
	for (int i = 0; i < costly; i++) {
		char *p = malloc((size_t)(32769 + i * 97));
		costly_failed += p == NULL;
		free(p);
	}
	for (int i = 0; i < 200; i++) {
		char *s = strdup("through the C runtime");
		runtime_failed += s == NULL;
		free(s);
		FILE *f = fopen("/dev/null", "r");
		if (f) {
			char buf[16];
			if (!fgets(buf, sizeof buf, f))
				runtime_failed += 0;
			fclose(f);
		} else {
			runtime_failed++;
		}
	}
	printf("small %d/%d costly %d/%d runtime %d/400\n", small_failed, small, costly_failed,
	       costly, runtime_failed);
	return 0;
}
