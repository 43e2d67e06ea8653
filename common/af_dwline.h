/* af_dwline.h - source lines from DWARF .debug_line (versions 2 to 5),
   read without libdw and without malloc (memory from af_mem_alloc). */
#ifndef AF_DWLINE_H
#define AF_DWLINE_H

#include <stddef.h>
#include <stdint.h>

struct af_lines;

/* The line table of an ELF file (or of its separate debug file); NULL when
   it has none that can be read. */
struct af_lines *af_lines_load(const char *path);

/* The sections a line table is read from, as bytes in memory: .debug_str
   and .debug_line_str may be absent (NULL). Names are copied, so the
   sections need not outlive the table. Malformed contents stop the reading
   at the unit they are in; the units read before it are kept. NULL only
   when out of memory. */
struct af_dwsections {
	const void *line;
	size_t nline;
	const char *str, *line_str;
	size_t nstr, nline_str;
};
struct af_lines *af_lines_parse(const struct af_dwsections *s);

/* file and line of the code at vaddr; 0 on success, -1 when unknown. */
int af_lines_find(const struct af_lines *t, uint64_t vaddr, const char **file, int *line);
void af_lines_free(struct af_lines *t);

#endif
