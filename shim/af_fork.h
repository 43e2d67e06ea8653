/* af_fork.h - explore's forking at a call site (af_fork.c). */
#ifndef AF_FORK_H
#define AF_FORK_H

#include "af.h"

/* ---- explore --fork (af_fork.c) --------------------------------------- */

int af_fork_init(const char *spec, const char **why);
/* explore --mode nth's counting rule in a forking run: it matches what a
   run of its own's `fail nth=K` does and never fails */
#define AF_FORK_NTH_COUNTER ((uint64_t)INT64_MAX)
extern int af_fork_nth; /* the forking run forks at allocation k, not sites */
/* The listed calling contexts of one call site (af_fork.c). */
struct af_fork_group;
struct ctx;
/* The site's listed contexts when some are still to be met in this
   process, else NULL: then the site is forked at as a plain key, at its
   first hit. */
struct af_fork_group *af_fork_group(struct af_site *site);
/* The first of g's contexts, from index from on, that this allocation is
   at (its stack walked and matched as a rule's site=A<B<C is) and that no
   earlier hit met: its index, its key in key; -1 when none. Each context
   is met once; when all are, the site is marked forked and the quick path
   serves it from then on. */
int af_fork_context(struct af_fork_group *g, struct af_site *site, struct ctx *c, int from,
		    char *key, size_t cap);
/* Whether to fork at this listed key (a call site at its first hit, or
   the count of the nth rule): 1 when the process can; 0 when the key is
   not listed, or (recorded in the results with the reason) it cannot. */
int af_fork_wanted(const char *key, int in_runtime);
/* 1 in the child, which fails the request; 0 in the parent, after the
   child ended, and wherever it did not fork. site: the call site, which
   an --mode every child goes on failing at each hit (g, ctx: from that
   calling context only; NULL, -1: from any). */
int af_fork_at(const char *key, struct af_site *site, const struct af_fork_group *g, int ctx);
/* In an --mode every child: s, reached as c's stack shows, is the site (in
   its context) it fails. */
int af_fork_fails(struct af_site *s, struct ctx *c);
#define AF_RULE_FORK (-3) /* the injection of explore --fork's child */

#endif
