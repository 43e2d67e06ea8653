/* af_sites.h - allocation call sites: census counts (per thread, inline
   for the quick path), calling contexts and the exit summary (af_sites.c). */
#ifndef AF_SITES_H
#define AF_SITES_H

#include "af.h"

/* ---- per-site statistics, census, summary (af_sites.c) ---------------- */

struct af_site;
struct af_site *af_site_get(struct af_addr *a, const struct af_req *rq);
int af_site_warn_once(struct af_site *s);
void af_site_count(struct af_site *s, size_t n, int costly);

/* A thread's census counts (af_sites.c): a slot per site hash, written by
   its owner only, with plain loads and stores; a slot's counter of small
   and of costly calls each, so that the quick path's memo entry, whose
   size interval lies on one side of the threshold, can hold the one it
   counts in (af_qsite.ctr). */
#define AF_TC_SLOTS 64
struct af_tc_ctr {
	_Atomic uint64_t calls, bytes;
};
struct af_tcounts {
	struct af_tc_slot {
		struct af_site *_Atomic site;
		struct af_tc_ctr c[2]; /* small, costly */
	} slot[AF_TC_SLOTS];
	struct af_tcounts *next; /* the live threads' tables (af_lock) */
};

static inline struct af_tc_slot *af_tc_slot_of(struct af_tcounts *c, const struct af_site *s)
{
	return &c->slot[((uintptr_t)s * 0x9e3779b97f4a7c15ull) >> 58];
}

static inline void af_own_add(_Atomic uint64_t *c, uint64_t n)
{
	/* the owner is the only writer: no read-modify-write needed */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* One call of n bytes on counter k. */
static inline __attribute__((always_inline)) void af_tc_count(struct af_tc_ctr *k, size_t n)
{
	af_own_add(&k->calls, 1);
	af_own_add(&k->bytes, n);
}

/* The count in table c (the thread's own, or NULL: none yet) when s
   already holds its slot (as it does but for the first call, or after
   another site took the slot): 1; else 0, and nothing counted. */
static inline __attribute__((always_inline)) int af_tc_hit(struct af_tcounts *c,
							  const struct af_site *s, size_t n,
							  int costly)
{
	if (AF_UNLIKELY(c == NULL))
		return 0;
	struct af_tc_slot *e = af_tc_slot_of(c, s);
	if (AF_UNLIKELY(atomic_load_explicit(&e->site, memory_order_relaxed) != s))
		return 0;
	af_tc_count(&e->c[costly], n);
	return 1;
}

/* The counter of s's small (costly 0) or costly calls in this thread's
   table, its slot taken for s if another site held it (the memo entries
   that pointed into that slot forget it: af_quick_forget); NULL when the
   thread can have no table (past its exit destructor, out of memory). */
struct af_tc_ctr *af_tc_claim(struct af_thread *t, struct af_site *s, int costly);

/* af_site_count inline for the quick path: the slot's count, else the
   function's turn. */
static inline void af_site_count_quick(struct af_thread *t, struct af_site *s, size_t n, int costly)
{
	if (AF_UNLIKELY(!af_tc_hit(t->counts, s, n, costly)))
		af_site_count(s, n, costly);
}
/* ALLOCFAIL_CONTEXT: frames[0] is s's call site, frames[1..n) the return
   addresses above it; a chain not seen before goes to the census. */
void af_site_context(struct af_site *s, const uintptr_t *frames, int n);
/* A calling context's key as site=A<B<C names it: frames[0..n) as
   MODULE+0xOFF, joined by '<' (cut short at cap). */
void af_context_key(char *buf, size_t cap, const uintptr_t *frames, int n);
int af_site_forked(struct af_site *s); /* its first hit was seen (--fork) */
void af_site_event(struct af_site *s, int what); /* AF_EV_* */
enum { AF_EV_INJECT, AF_EV_RETRY, AF_EV_OOM };
void af_sites_atfork_child(void);
void af_sites_exit(void);
const char *af_site_name(uintptr_t pc, char *buf, size_t cap);
void af_site_key(const struct af_site *s, char *buf, size_t cap); /* MODULE+0xOFF */
int af_site_fork_once(struct af_site *s); /* 1 the first time */

#endif
