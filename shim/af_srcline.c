/* af_srcline.c - file:line of code addresses for the injection log.
   Placeholder until libdw symbolization lands: reports nothing. */
#include "af.h"

int af_srcline_init(void)
{
	return -1;
}

int af_srcline(struct af_addr *a, const char **file, int *line)
{
	(void)a;
	(void)file;
	(void)line;
	return -1;
}
