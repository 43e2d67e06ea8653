/* af_walk.h - the matcher's context for one allocation (its stack, call
   site and thread name, each computed at most once and only when a rule
   needs it) and the walks that find them: by the frame rules learned from
   the unwind tables, through the thread's cache of frame addresses, or
   with libunwind. Shared by the slow path (af_slow.c), the quick path's
   helpers (af_quick.c) and too small to fail (af_retry.c); the inline
   steps are the quick path's, kept inline. The caller holds the guard. */
#ifndef AF_WALK_H
#define AF_WALK_H

#include "af.h"
#include "af_addr.h"

/* frames unwound first to find a call site reached through the C runtime */
#define AF_CS_SHALLOW 8

struct ctx {
	struct af_req *rq;
	size_t old_usable; /* realloc under a reservation */
	uintptr_t *frames; /* af_slow's, or the thread's walks' buffer (the
			      guard is held), or &one without either */
	uintptr_t one;
	int nframes, cs;
	int have_stack;
	struct af_addr *csaddr;
	int have_name;
	char name[17];
};

/* Frames whose allocations belong to their caller: the C runtime's and the
   shim's (af_addr.c's runtime globs). */
static inline int passes_up(const struct af_addr *a)
{
	return a->mod->runtime || a->mod->shim;
}


struct af_walks *af_thread_walks(struct af_thread *t);
struct af_qframe *af_frame_fill(struct af_thread *t, struct af_qframe *q, uintptr_t pc, unsigned gen);
uint64_t af_frame_rule(struct af_addr *a, uintptr_t pc, uintptr_t sp);

/* The thread's walk caches, allocated when it has none yet. */
static inline struct af_walks *walks_of(struct af_thread *t)
{
	return AF_LIKELY(t->walks != NULL) ? t->walks : af_thread_walks(t);
}


/* The frame cache's entry for pc, w being the thread's caches (loaded by
   the caller, once a walk). */
static inline __attribute__((always_inline)) struct af_qframe *frame_entry_in(struct af_thread *t,
									     struct af_walks *w,
									     uintptr_t pc, unsigned gen)
{
	if (AF_UNLIKELY(!w))
		return af_frame_fill(t, NULL, pc, gen);
	struct af_qframe *q = &w->qframe[(pc >> 2) & (AF_QFRAMES - 1)];
	if (AF_LIKELY(q->pc == pc && q->gen == gen))
		return q;
	return af_frame_fill(t, q, pc, gen);
}

/* af_addr_get through the thread's cache: stacks repeat */
static inline __attribute__((always_inline)) struct af_addr *frame_addr(struct af_thread *t, uintptr_t pc)
{
	return frame_entry_in(t, t->walks, pc, atomic_load_explicit(&af_g.mod_gen, memory_order_relaxed))->a;
}


/* The call site of a request whose return address ra lies in the C
   runtime or the shim, from a few frames unwound: the first frame outside
   both, or ra itself when the whole stack is theirs, as
   af_ctx_stack finds it in a whole stack (which only an injection's
   report needs). NULL: the call site is deeper than that. The caller
   holds the guard (libunwind may allocate). Inlined: a frame of its own
   would be one more for every unwind. */
static inline __attribute__((always_inline)) struct af_addr *shallow_callsite(struct af_thread *t,
									    uintptr_t ra)
{
	uintptr_t f[AF_CS_SHALLOW];
	int got = af_stack((void *)ra, f, AF_CS_SHALLOW);
	for (int i = 1; i < got; i++) {
		struct af_addr *a = frame_addr(t, f[i]);
		if (!passes_up(a))
			return a;
	}
	return got < AF_CS_SHALLOW ? frame_addr(t, ra) : NULL;
}


/* One step of a walk by frame rules: from the frame of pc at stack
   pointer *sp (entry q), to its caller's (*pc, *sp). Returns the rule:
   AF_CFI_NONE (no usable rule: libunwind's turn), AF_CFI_END (q is the
   outermost frame) or a step that was taken. The caller holds the guard
   (af_frame_rule may call libunwind). */
static inline __attribute__((always_inline)) uint64_t rule_step(struct af_qframe *q, uintptr_t *pc,
								 uintptr_t *sp)
{
	uint64_t r = q->rule;
	if (AF_UNLIKELY(r == 0))
		r = q->rule = af_frame_rule(q->a, *pc, *sp);
	if (r != AF_CFI_NONE && r != AF_CFI_END) {
		*sp += (uintptr_t)(intptr_t)(int32_t)(r >> 32);
		*pc = *(const uintptr_t *)(*sp + (uintptr_t)(intptr_t)(int32_t)r);
	}
	return r;
}

/* The call site of a request whose return address ra lies in the runtime
   or the shim: the first frame outside both, or ra when the whole stack is
   theirs. By the frame rules from sp, the entry point's CFA (0: unknown),
   a load a frame; else by libunwind's few frames (shallow_callsite).
   NULL: deeper than AF_CS_SHALLOW frames. With ch, the return addresses
   the rules loaded and where, when they found the call site in at most
   AF_QCHAIN frames (else ch->n = 0). The caller holds the guard. */
static inline __attribute__((always_inline)) struct af_addr *callsite_up(struct af_thread *t,
									uintptr_t ra, uintptr_t sp,
									struct af_qchain *ch)
{
	unsigned gen = atomic_load_explicit(&af_g.mod_gen, memory_order_relaxed);
	uintptr_t pc = ra, cfa = sp;
	struct af_walks *w = walks_of(t);
	if (ch)
		ch->n = 0;
	for (int i = 0; sp && i < AF_CS_SHALLOW; i++) {
		struct af_qframe *q = frame_entry_in(t, w, pc, gen);
		if (i > 0 && !q->through) {
			if (ch && i <= AF_QCHAIN) {
				ch->n = i;
				ch->gen = gen;
			}
			return q->a;
		}
		uint64_t r = rule_step(q, &pc, &sp);
		if (r == AF_CFI_END)
			return frame_addr(t, ra);
		if (r == AF_CFI_NONE)
			break;
		if (ch && i < AF_QCHAIN) {
			intptr_t off = (intptr_t)(sp - cfa) + (int32_t)r;
			if (off < 0 || off > INT32_MAX)
				ch = NULL; /* not a stack a memo can hold */
			else
				ch->off[i] = (int32_t)off, ch->pc[i] = pc;
		}
	}
	return shallow_callsite(t, ra);
}


/* The whole stack of the request (captured once); c->cs: its call site's
   index, the first frame outside the runtime and the shim. */
void af_ctx_stack(struct ctx *c);
/* The call site: the return address itself when it lies in the program,
   else the first frame outside the C runtime (strdup -> its caller). */
struct af_addr *af_ctx_callsite(struct ctx *c);
uintptr_t af_ctx_callsite_pc(struct ctx *c);
/* The matcher's callbacks (af_match.h's struct af_query). */
const uint64_t *af_cb_site_mask(void *p);
int af_cb_stack_ok(void *p, const struct af_rule *r);
/* site=A<B<C: the first of r's sites, from index from on, that is the
   call site with the frames above it as its context names them (a site
   without a context: the call site alone); -1 if none. */
int af_ctx_site_match(struct ctx *c, const struct af_rule *r, int from);
int af_cb_thread_ok(void *p, const struct af_rule *r);

#endif
