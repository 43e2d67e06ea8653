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

struct af_image {
	const unsigned char *base;
	size_t len;
};

/* A file's symbol tables, mapped but not read: the function containing an
   address by a linear scan, which costs less than building the sorted
   table when only a few addresses are asked about (an injection's stack).
   Both give the same answer. */
struct af_symscan {
	struct af_image im, dbg; /* dbg: the separate debug file, if used */
	const void *tab, *dyn;   /* section headers of .symtab and .dynsym */
	int from_debug;
};
int af_symscan_open(const char *path, struct af_symscan *s);
void af_symscan_close(struct af_symscan *s);
/* The name of the function containing vaddr and its start, or NULL. No
   lock, no allocation: usable from a signal handler once open. */
const char *af_symscan_find(const struct af_symscan *s, uint64_t vaddr, uint64_t *start);

/* NULL when the file cannot be read as ELF. */
struct af_symtab *af_symtab_load(const char *path);
/* The sorted table from an open scan, which must stay mapped (the names
   point into it); NULL when out of memory. */
struct af_symtab *af_symtab_build(const struct af_symscan *s);
/* The function containing vaddr, or NULL. */
const struct af_sym *af_symtab_find(const struct af_symtab *st, uint64_t vaddr);

/* In an address table (symbols, line rows): n entries of `size` bytes,
   sorted by the uint64_t at offset `key` in each; the index of the last
   whose key is <= v, or -1 where none is. */
int af_addr_table_find(const void *base, int n, size_t size, size_t key, uint64_t v);

/* A mapped ELF file, and the helpers the line reader shares. */
int af_image_map(const char *path, struct af_image *im);
void af_image_unmap(struct af_image *im);
/* The contents of a named section present in the file (not NOBITS, not
   compressed), or NULL. */
const void *af_image_section(const struct af_image *im, const char *name, size_t *size);
/* The separate debug file (build-id, then .gnu_debuglink, under
   /usr/lib/debug) holding `section`, or -1. */
int af_image_debug(const char *path, const struct af_image *im, const char *section,
		   struct af_image *dbg);

#endif
