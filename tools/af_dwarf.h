/* af_dwarf.h - source lines and function names from DWARF and ELF symbol
   tables, through elfutils' libdw (linked by the command), for its offline
   symbolization. Never used inside a program: Debian's libdw loads
   libdebuginfod and its network stack from its constructor (see
   common/af_dwline.c).
   Separate debug files (build-id or .gnu_debuglink under /usr/lib/debug)
   are found by libdw's standard search.
   Not thread-safe (neither is a Dwfl, nor the cache of objects here):
   its one caller, symbolize.c, calls it under its own lock. */
#ifndef AF_DWARF_H
#define AF_DWARF_H

#include <stdint.h>

/* For the object at path and an ELF virtual address in it (for a return
   address, pass address - 1): file and line of the code. Strings stay
   valid for the life of the process. 0 on success, -1 when unknown. */
int af_dwarf_srcline(const char *path, uint64_t vaddr, const char **file, int *line);
/* The function symbol containing vaddr and the offset into it. */
int af_dwarf_func(const char *path, uint64_t vaddr, const char **name, uint64_t *off);

#endif
