/* af_walk.c - the stack of one allocation, its call site and thread name
   for the matcher (see af_walk.h): the thread's walk caches, frame rules
   learned once per address, and libunwind where they fail. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/prctl.h>

#include "af.h"
#include "af_addr.h"
#include "af_limit.h"
#include "af_cfi.h"
#include "af_glob.h"
#include "af_slow.h"
#include "af_walk.h"

/* The thread's walk caches, allocated on its first walk (NULL: none, past
   its exit destructor or out of memory; the walks then go without). The
   caller holds the guard. */
__attribute__((noinline)) struct af_walks *af_thread_walks(struct af_thread *t)
{
	if (t->private_gone)
		return NULL;
	struct af_walks *w = af_imalloc_own(sizeof *w);
	if (!w)
		return NULL;
	memset(w, 0, sizeof *w);
	t->walks = w;
	/* quick_hit()'s pointer, where the quick path is on already; not
	   af_thread_update(): a new thread's gates open on its first trip
	   through af_alloc_slow, which sets up its crash handling first */
	t->qwalks = t->quick ? w : NULL;
	af_thread_register_exit(t);
	return w;
}


/* A thread's cache of frame addresses seen lately: entry q filled for pc
   (NULL: the thread has no cache yet). A thread-local stand-in when the
   address table is full (its scratch entry is the next lookup's too) or
   the thread has no cache: good for one step of a walk. */
__attribute__((noinline)) struct af_qframe *af_frame_fill(struct af_thread *t, struct af_qframe *q,
							       uintptr_t pc, unsigned gen)
{
	static AF_TLS struct af_qframe stand_in;
	struct af_walks *w;
	if (!q && (w = af_thread_walks(t)))
		q = &w->qframe[(pc >> 2) & (AF_QFRAMES - 1)];
	struct af_addr *a = af_addr_get(pc);
	if (a->transient || !q)
		q = &stand_in;
	q->pc = pc;
	q->a = a;
	q->gen = gen;
	q->through = passes_up(a);
	q->rule = atomic_load_explicit(&a->cfi, memory_order_relaxed);
	return q;
}


void af_ctx_stack(struct ctx *c)
{
	if (c->have_stack)
		return;
	c->have_stack = 1;
	struct af_thread *t = &af_t;
	if (c->rq->frames) { /* captured by af_slow */
		c->frames = c->rq->frames;
		c->nframes = c->rq->nframes;
	} else if (walks_of(t)) {
		c->frames = t->walks->frames;
		c->nframes = af_stack(c->rq->ra, c->frames, AF_MAX_FRAMES);
	} else { /* no memory for the buffer: the return address alone */
		c->one = (uintptr_t)c->rq->ra;
		c->frames = &c->one;
		c->nframes = 1;
	}
	/* the call site: the first frame outside the runtime and the shim */
	c->cs = 0;
	for (int i = 0; i < c->nframes; i++) {
		if (!passes_up(frame_addr(t, c->frames[i]))) {
			c->cs = i;
			break;
		}
	}
}


/* A frame rule of a (learned on its first walk, af_cfi.h), checked once
   against libunwind from the live stack before it is trusted. */
uint64_t af_frame_rule(struct af_addr *a, uintptr_t pc, uintptr_t sp)
{
	uint64_t r = atomic_load_explicit(&a->cfi, memory_order_relaxed);
	if (r != 0)
		return r;
	int32_t k, ro;
	const struct af_mod *m = a->mod;
	r = AF_CFI_NONE;
	int rc = m->eh_hdr ? af_cfi_sp_rule(m->eh_hdr, m->eh_lo, m->eh_hi, pc - 1, &k, &ro) : 0;
	if (rc == 1 && af_unwind_check(pc, sp, k, ro))
		r = af_cfi_pack(k, ro);
	else if (rc == 2 && af_unwind_check(pc, sp, 0, 0))
		r = AF_CFI_END;
	atomic_store_explicit(&a->cfi, r, memory_order_relaxed);
	return r;
}


/* The call site: the return address itself when it lies in the program,
   else the first frame outside the C runtime (strdup -> its caller). */
struct af_addr *af_ctx_callsite(struct ctx *c)
{
	if (c->csaddr)
		return c->csaddr;
	struct af_addr *a = af_addr_get((uintptr_t)c->rq->ra);
	if (passes_up(a)) {
		struct af_addr *up;
		if (!c->have_stack && !c->rq->frames &&
		    (up = callsite_up(&af_t, (uintptr_t)c->rq->ra, c->rq->cfa, NULL)))
			return c->csaddr = up;
		af_ctx_stack(c);
		if (c->cs > 0)
			a = af_addr_get(c->frames[c->cs]);
	}
	return c->csaddr = a;
}

uintptr_t af_ctx_callsite_pc(struct ctx *c)
{
	return af_ctx_callsite(c)->pc;
}

const uint64_t *af_cb_site_mask(void *p)
{
	return af_ctx_callsite((struct ctx *)p)->site;
}


/* A frame against one MODULE+0xOFFSET of a site= value. */
static int frame_is(struct af_addr *a, const struct af_siteref *ref)
{
	if (a->pc - a->mod->bias != ref->offset)
		return 0;
	return af_glob(ref->module, strchr(ref->module, '/') ? a->mod->path : a->mod->base);
}

int af_ctx_site_match(struct ctx *c, const struct af_rule *r, int from)
{
	struct af_thread *t = &af_t;
	af_ctx_stack(c);
	if (c->cs >= c->nframes)
		return -1;
	struct af_addr *cs = frame_addr(t, c->frames[c->cs]);
	for (int i = from; i < r->nsites; i++) {
		const struct af_siteref *ref = &r->sites[i];
		if (!frame_is(cs, ref) || c->cs + ref->nctx >= c->nframes)
			continue;
		int k = 0;
		while (k < ref->nctx && frame_is(frame_addr(t, c->frames[c->cs + 1 + k]), &ref->ctx[k]))
			k++;
		if (k == ref->nctx)
			return i;
	}
	return -1;
}

int af_cb_stack_ok(void *p, const struct af_rule *r)
{
	struct ctx *c = p;
	if (r->has_context && af_ctx_site_match(c, r, 0) < 0)
		return 0;
	af_ctx_stack(c);
	int depth = r->depth ? r->depth : af_g.pol.set.depth;
	int n = c->nframes < depth ? c->nframes : depth;
	int in = 0;
	struct af_thread *t = &af_t;
	for (int i = 0; i < n; i++) {
		struct af_addr *a = frame_addr(t, c->frames[i]);
		if (!a->in)
			continue;
		if (r->notin.n && af_bit(a->notin, r->index))
			return 0;
		if (af_bit(a->in, r->index))
			in = 1;
	}
	return r->in.n ? in : 1;
}

int af_cb_thread_ok(void *p, const struct af_rule *r)
{
	struct ctx *c = p;
	if (!c->have_name) {
		c->have_name = 1;
		if (prctl(PR_GET_NAME, c->name) != 0)
			c->name[0] = 0;
		c->name[16] = 0;
	}
	return af_rule_thread_ok(r, c->name);
}
