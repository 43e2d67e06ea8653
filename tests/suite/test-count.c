#include <stdio.h>
#include <stdlib.h>

#include "planted.h"

int main(void)
{
	struct table *t = table_open(3);
	if (!t) {
		fprintf(stderr, "test-count: out of memory\n");
		return 1;
	}
	printf("%d entries\n", table_count(t));
	table_close(t);
	return 0;
}
