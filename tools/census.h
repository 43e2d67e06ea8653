/* census.h - the call sites a run reached, read from the shim's census
   stream (ALLOCFAIL_CENSUS), merged over every process of the run. */
#ifndef AF_CENSUS_H
#define AF_CENSUS_H

#include <stdint.h>

#include "symbolize.h"

struct site {
	char *key;    /* "base+0xOFF" */
	char *module; /* full path */
	uint64_t off;
	uint64_t calls, bytes, small, costly, injected;
	int runtime;
	int order;    /* discovery order */
	char *first_fn;
	uint64_t first_size;
	struct sym sym;
	int symbolized;
	char **chains; /* its calling contexts, "SITE<RA<RA...", as seen */
	int nchains;
};

struct census {
	struct site **v;
	int n, cap;
	int errors; /* unparseable lines */
	/* processes that reported sites, and whether each reported its
	   counts (written at exit: a process ended by _exit or a signal
	   reports none) */
	struct { long pid; int counted; } *procs;
	int nprocs;
};
/* Processes whose counts are missing. */
int census_uncounted(const struct census *c);

/* Merge a census file into c; 0 on success, -1 if it cannot be read. */
int census_read(struct census *c, const char *path);
struct site *census_find(struct census *c, const char *key);
struct site *census_add(struct census *c, const char *key, const char *module, int runtime);
void census_symbolize(struct census *c);
void census_free(struct census *c);
/* "small", "costly" or "mixed" */
const char *site_class(const struct site *s);

#endif
