/* contexts.h - which calling contexts of a call site explore fails: a pure
   function of the chains the census saw (tests/unit/test_contexts.c). */
#ifndef AF_CONTEXTS_H
#define AF_CONTEXTS_H

#include "af_tool.h"

/* chains: "SITE<RA1<RA2..." as the census lists them, for one site. A
   context extends from the site upward through frames reached from one
   caller only (a wrapper's plumbing: sqlite3MemMalloc under
   mallocWithAlarm under sqlite3Malloc), then while the frames so far were
   reached from at least two distinct callers (the function they end in
   is a wrapper, or called from several places), at most depth frames
   above the site; a chain that never branches within depth is the plain
   site. Appends to out the distinct contexts, in the order the
   chains came, when there are at least two (else the plain site is the
   one context, and nothing is appended); at most max of them, the number
   left out in *cut. Returns how many were appended. */
int contexts_of(char *const *chains, int n, int depth, int max, struct strv *out, int *cut);

#endif
