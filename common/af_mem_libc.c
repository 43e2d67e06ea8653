/* af_mem_libc.c - af_mem_* over the C library, for code outside the shim
   (the command, unit tests, the fuzzer). */
#include <stdlib.h>

#include "af_mem.h"

void *af_mem_alloc(size_t n)
{
	return calloc(1, n ? n : 1);
}

void af_mem_free(void *p)
{
	free(p);
}
