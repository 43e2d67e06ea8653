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
/* Whether to fork at this listed key (a call site at its first hit, or
   the count of the nth rule): 1 when the process can; 0 when the key is
   not listed, or (recorded in the results with the reason) it cannot. */
int af_fork_wanted(const char *key, int in_runtime);
/* 1 in the child, which fails the request; 0 in the parent, after the
   child ended, and wherever it did not fork. site: the call site, which
   an --mode every child goes on failing at each hit. */
int af_fork_at(const char *key, struct af_site *site);
/* In an --mode every child: s is the site it fails. */
int af_fork_fails(struct af_site *s);
#define AF_RULE_FORK (-3) /* the injection of explore --fork's child */

#endif
