/* af_elf.h - function symbols of ELF objects, read without allocating
   through malloc (memory comes from af_mem_alloc). */
#ifndef AF_ELF_H
#define AF_ELF_H

#include <stddef.h>
#include <stdint.h>

struct af_sym {
	uint64_t start, end; /* ELF virtual addresses */
	const char *name;    /* the preferred of its names */
	int bind;
	int alias, nalias;   /* its other names: aliases[alias .. alias+nalias) */
};

struct af_symtab {
	int n;
	int has_symtab; /* static functions are known */
	int from_debug; /* found in a separate debug file */
	struct af_sym *v;
	const char **aliases;
};

/* NULL when the file cannot be read as ELF. */
struct af_symtab *af_symtab_load(const char *path);
/* The function containing vaddr, or NULL. */
const struct af_sym *af_symtab_find(const struct af_symtab *st, uint64_t vaddr);

/* A mapped ELF file, and the helpers the line reader shares. */
struct af_image {
	const unsigned char *base;
	size_t len;
};
int af_image_map(const char *path, struct af_image *im);
void af_image_unmap(struct af_image *im);
/* The contents of a named section present in the file (not NOBITS, not
   compressed), or NULL. */
const void *af_image_section(const struct af_image *im, const char *name, size_t *size);
/* The separate debug file (build-id, then .gnu_debuglink, under
   /usr/lib/debug) holding `section`, or -1. */
int af_image_debug(const char *path, const struct af_image *im, const char *section,
		   struct af_image *dbg);

/* Source lines from .debug_line (DWARF 2 to 5), read without libdw. */
struct af_lines;
struct af_lines *af_lines_load(const char *path);
/* file and line of the code at vaddr; 0 on success. */
int af_lines_find(const struct af_lines *t, uint64_t vaddr, const char **file, int *line);

#endif
