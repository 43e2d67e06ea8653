/* What mallinfo2, mallinfo, malloc_trim and malloc_stats say about 10 MB
   held and then freed: one line each. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 4000
#define SIZE 2500

int main(void)
{
	static char *held[N];
	struct mallinfo2 a = mallinfo2();
	struct mallinfo a1 = mallinfo();
	for (int i = 0; i < N; i++) {
		held[i] = malloc(SIZE);
		memset(held[i], 1, SIZE);
	}
	struct mallinfo2 b = mallinfo2();
	struct mallinfo b1 = mallinfo();
	printf("mallinfo2 in use grew by 10 MB: %s\n",
	       b.uordblks >= a.uordblks + (size_t)N * SIZE ? "yes" : "no");
	printf("mallinfo in use grew by 10 MB: %s\n",
	       b1.uordblks >= a1.uordblks + N * SIZE ? "yes" : "no");
	printf("mallinfo2 heap holds it: %s\n",
	       b.arena + b.hblkhd >= b.uordblks && b.uordblks + b.fordblks >= (size_t)N * SIZE
		       ? "yes"
		       : "no");
	for (int i = 0; i < N; i++)
		free(held[i]);
	struct mallinfo2 c = mallinfo2();
	printf("mallinfo2 in use after free: %s\n",
	       c.uordblks < a.uordblks + (size_t)N * SIZE / 10 ? "back" : "still");
	fflush(stdout);
	malloc_stats();
	int t1 = malloc_trim(0);
	int t2 = malloc_trim(0);
	printf("malloc_trim after free: %d, again: %d\n", t1, t2);
	return 0;
}
