/* Allocates 1,000-byte blocks, each touched and kept, until malloc
   returns NULL, then says so and exits 0: a program that handles running
   out of memory (run it under ulimit -v). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	unsigned long n = 0;
	char *p;
	errno = 0;
	while ((p = malloc(1000)) != NULL) {
		p[0] = 1;
		n++;
	}
	int e = errno;
	printf("NULL after %s blocks, errno=%d\n", n > 1000 ? "many" : "few", e);
	return 0;
}
