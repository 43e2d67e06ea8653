/* af_elf.h - function symbols of ELF objects, read without allocating
   through malloc (memory comes from af_mem_alloc). */
#ifndef AF_ELF_H
#define AF_ELF_H

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

#endif
