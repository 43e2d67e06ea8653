/* symbolize.h - module+offset to function and file:line, offline. */
#ifndef AF_SYMBOLIZE_H
#define AF_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct sym {
	const char *func; /* demangled when C++; NULL if unknown */
	const char *file; /* NULL if unknown */
	int line;
};

/* exact: offset is a faulting instruction, not a return address. */
void symbolize(const char *module, uint64_t offset, int exact, struct sym *out);
/* "base+0xOFF" -> offset; 0 on success. */
int site_offset(const char *site, uint64_t *off);
/* "func (file:line)", "func", or "" into buf; file shortened to its
   last two components; names as tty() writes them. */
const char *sym_where(const struct sym *s, char *buf, size_t cap);

struct jv;
/* A frame of the shim's log ("pc", "module", and "func", "file", "line"
   where it named them): its names, those it left out from symbolize(). */
struct sym sym_of_frame(const struct jv *fr, int exact);

#endif
