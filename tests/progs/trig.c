/* trig.c - N allocations of SIZE bytes from one call site; prints the
   1-based numbers of those that failed, on one line: what a trigger
   (nth, times, space, interval, probability) did, end to end. Past 100
   allocations it prints how many failed, unless a third argument says
   "list". */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

static __attribute__((noinline)) void *one(size_t n)
{
	return malloc(n);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20;
	size_t size = argc > 2 ? (size_t)atol(argv[2]) : 100;
	int list = argc > 3 && strcmp(argv[3], "list") == 0;
	long failed = 0;
	for (long i = 1; i <= n; i++) {
		void *p = one(size);
		if (!p) {
			if (n <= 100 || list)
				printf("%s%ld", failed ? " " : "", i);
			failed++;
		}
		free(p);
	}
	if (n > 100 && !list)
		printf("%ld", failed);
	printf("\n");
	return 0;
}
