#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planted.h"

int main(void)
{
	char *c = copy("x");
	/* planted in the test's own code: unchecked */
	char *label = malloc(16);
	strcpy(label, "joined:");
	char *j = join("ab", c);
	printf("%s %s\n", label, j);
	free(label);
	free(j);
	free(c);
	return 0;
}
