#include <stdio.h>
#include <stdlib.h>

#include "planted.h"

int main(void)
{
	struct table *t = table_open(3);
	if (!t) {
		fprintf(stderr, "test-names: out of memory\n");
		return 1;
	}
	printf("first: %s\n", table_name(t, 0));
	table_close(t);
	char *c = copy("abc");
	printf("copy: %s\n", c);
	free(c);
	return 0;
}
