/* af_mem.h - memory for the objects common/ builds (rules, symbol tables,
   line tables). The shim routes it to its own memory (af_imalloc,
   shim/af_backend.c), never the program's malloc; everything else links
   af_mem_libc.c. Returned memory is zeroed. */
#ifndef AF_MEM_H
#define AF_MEM_H

#include <stddef.h>

void *af_mem_alloc(size_t n);
void af_mem_free(void *p);

#endif
