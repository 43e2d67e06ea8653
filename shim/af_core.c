/* af_core.c - the slow path: what to do with one allocation when rules,
   the simulated limit, the census or a real failure are involved.
   Order, as in Linux: scopes and reservations (no injection), then the
   first matching rule (nofail beats everything), the per-thread fail-nth
   hook, the rule's triggers; then the backend under the simulated limit;
   then, for a real failure, the size class semantics: costly and noretry
   requests fail at once, small ones are retried ("too small to fail"). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "af.h"
#include "af_cfi.h"
#include "af_glob.h"
#include "af_fmt.h"

#define SAMPLE_INTERVAL (512 * 1024)

_Atomic uint64_t af_early_bytes; /* served before the configuration */

static struct af_stream *thread_draws(struct af_thread *t);
static int should_fail(struct af_thread *t, const struct af_rule *r, uint64_t size);

/* ---- raw allocation with limit accounting ----------------------------- */

static void *raw(const struct af_req *rq, size_t align)
{
	if (rq->old)
		return af_be_realloc(rq->old, rq->size);
	if (align) {
		void *p = af_be_aligned(align, rq->size);
		if (p && rq->zero)
			memset(p, 0, rq->size);
		return p;
	}
	return rq->zero ? af_be_calloc(rq->size) : af_be_malloc(rq->size);
}

/* force: the request may not be refused by the limit (shim-internal,
   reservations); it is still counted. */
static void *attempt(const struct af_req *rq, size_t align, int force)
{
	if (!(af_g.mode & AF_M_LIMIT))
		return raw(rq, align);
	struct af_thread *t = &af_t;
	size_t old = rq->old ? af_be_usable(rq->old) : 0;
	size_t need = rq->size > old ? rq->size - old : 0;
	/* a reservation pays first; what it cannot cover, the pool does, and
	   the pool may not refuse it */
	size_t pool = t->resv && !t->guard ? (size_t)af_resv_draw(t, (int64_t)need) : need;
	if (af_limit_take(t, pool, force) < 0)
		return NULL;
	void *p = raw(rq, align);
	if (!p) {
		af_limit_give(t, need);
		return NULL;
	}
	size_t now = af_be_usable(p);
	/* settle the estimate against the real usable sizes */
	int64_t delta = (int64_t)now - (int64_t)old - (int64_t)need;
	if (delta > 0)
		af_limit_take(t, (size_t)delta, 1);
	else if (delta < 0)
		af_limit_give(t, (size_t)-delta);
	return p;
}

/* ---- matcher context: stack, call site and thread name, each computed
   at most once per allocation and only when a rule needs it ------------ */

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

/* The thread's walk caches, allocated on its first walk (NULL: none, past
   its exit destructor or out of memory; the walks then go without). The
   caller holds the guard. */
static __attribute__((noinline)) struct af_walks *thread_walks(struct af_thread *t)
{
	if (t->private_gone)
		return NULL;
	struct af_walks *w = af_imalloc(sizeof *w);
	if (!w)
		return NULL;
	memset(w, 0, sizeof *w);
	t->walks = w;
	af_thread_register_exit(t);
	return w;
}

/* The thread's walk caches, allocated when it has none yet. */
static inline struct af_walks *walks_of(struct af_thread *t)
{
	return AF_LIKELY(t->walks != NULL) ? t->walks : thread_walks(t);
}

/* A thread's cache of frame addresses seen lately: entry q filled for pc
   (NULL: the thread has no cache yet). A thread-local stand-in when the
   address table is full (its scratch entry is the next lookup's too) or
   the thread has no cache: good for one step of a walk. */
static __attribute__((noinline)) struct af_qframe *frame_fill(struct af_thread *t, struct af_qframe *q,
							       uintptr_t pc, unsigned gen)
{
	static AF_TLS struct af_qframe stand_in;
	struct af_walks *w;
	if (!q && (w = thread_walks(t)))
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

/* The frame cache's entry for pc, w being the thread's caches (loaded by
   the caller, once a walk). */
static inline __attribute__((always_inline)) struct af_qframe *frame_entry_in(struct af_thread *t,
									     struct af_walks *w,
									     uintptr_t pc, unsigned gen)
{
	if (AF_UNLIKELY(!w))
		return frame_fill(t, NULL, pc, gen);
	struct af_qframe *q = &w->qframe[(pc >> 2) & (AF_QFRAMES - 1)];
	if (AF_LIKELY(q->pc == pc && q->gen == gen))
		return q;
	return frame_fill(t, q, pc, gen);
}

/* af_addr_get through the thread's cache: stacks repeat */
static inline __attribute__((always_inline)) struct af_addr *frame_addr(struct af_thread *t, uintptr_t pc)
{
	return frame_entry_in(t, t->walks, pc, atomic_load_explicit(&af_g.mod_gen, memory_order_relaxed))->a;
}

static void ctx_stack(struct ctx *c)
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

/* The call site of a request whose return address ra lies in the C
   runtime or the shim, from a few frames unwound: the first frame outside
   both, or ra itself when the whole stack is theirs, as
   ctx_stack finds it in a whole stack (which only an injection's
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

/* A frame rule of a (learned on its first walk, af_cfi.h), checked once
   against libunwind from the live stack before it is trusted. */
static uint64_t frame_rule(struct af_addr *a, uintptr_t pc, uintptr_t sp)
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

/* One step of a walk by frame rules: from the frame of pc at stack
   pointer *sp (entry q), to its caller's (*pc, *sp). Returns the rule:
   AF_CFI_NONE (no usable rule: libunwind's turn), AF_CFI_END (q is the
   outermost frame) or a step that was taken. The caller holds the guard
   (frame_rule may call libunwind). */
static inline __attribute__((always_inline)) uint64_t rule_step(struct af_qframe *q, uintptr_t *pc,
								 uintptr_t *sp)
{
	uint64_t r = q->rule;
	if (AF_UNLIKELY(r == 0))
		r = q->rule = frame_rule(q->a, *pc, *sp);
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

/* The call site: the return address itself when it lies in the program,
   else the first frame outside the C runtime (strdup -> its caller). */
static struct af_addr *ctx_callsite(struct ctx *c)
{
	if (c->csaddr)
		return c->csaddr;
	struct af_addr *a = af_addr_get((uintptr_t)c->rq->ra);
	if (passes_up(a)) {
		struct af_addr *up;
		if (!c->have_stack && !c->rq->frames &&
		    (up = callsite_up(&af_t, (uintptr_t)c->rq->ra, c->rq->cfa, NULL)))
			return c->csaddr = up;
		ctx_stack(c);
		if (c->cs > 0)
			a = af_addr_get(c->frames[c->cs]);
	}
	return c->csaddr = a;
}

static uintptr_t ctx_callsite_pc(struct ctx *c)
{
	return ctx_callsite(c)->pc;
}

static const uint64_t *cb_site_mask(void *p)
{
	return ctx_callsite((struct ctx *)p)->site;
}


/* A frame against one MODULE+0xOFFSET of a site= value. */
static int frame_is(struct af_addr *a, const struct af_siteref *ref)
{
	if (a->pc - a->mod->bias != ref->offset)
		return 0;
	return af_glob(ref->module, strchr(ref->module, '/') ? a->mod->path : a->mod->base);
}

/* site=A<B<C: some site of r is the call site with the frames above it
   as its context names them (a site without a context: the call site
   alone). */
static int contexts_ok(struct ctx *c, const struct af_rule *r)
{
	struct af_thread *t = &af_t;
	ctx_stack(c);
	if (c->cs >= c->nframes)
		return 0;
	struct af_addr *cs = frame_addr(t, c->frames[c->cs]);
	for (int i = 0; i < r->nsites; i++) {
		const struct af_siteref *ref = &r->sites[i];
		if (!frame_is(cs, ref) || c->cs + ref->nctx >= c->nframes)
			continue;
		int k = 0;
		while (k < ref->nctx && frame_is(frame_addr(t, c->frames[c->cs + 1 + k]), &ref->ctx[k]))
			k++;
		if (k == ref->nctx)
			return 1;
	}
	return 0;
}

static int cb_stack_ok(void *p, const struct af_rule *r)
{
	struct ctx *c = p;
	if (r->has_context && !contexts_ok(c, r))
		return 0;
	ctx_stack(c);
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

static int cb_thread_ok(void *p, const struct af_rule *r)
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

/* ---- the sampler ------------------------------------------------------ */

#define NSAMPLES 8192
struct sample {
	_Atomic uintptr_t ptr; /* 0 empty, 1 deleted */
	uintptr_t site;
	uint64_t weight;
};
static struct sample samples[NSAMPLES];
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic unsigned char af_sample_filter[AF_SAMPLE_BUCKETS];

/* Counters saturate: a bucket at 255 stays set, which only costs lookups. */
static void filter_add(uintptr_t p)
{
	_Atomic unsigned char *c = &af_sample_filter[af_sample_bucket((void *)p)];
	unsigned char v = atomic_load(c);
	if (v < 255)
		atomic_store(c, (unsigned char)(v + 1));
}

static void filter_remove(uintptr_t p)
{
	_Atomic unsigned char *c = &af_sample_filter[af_sample_bucket((void *)p)];
	unsigned char v = atomic_load(c);
	if (v > 0 && v < 255)
		atomic_store(c, (unsigned char)(v - 1));
}

static inline unsigned sample_hash(uintptr_t p)
{
	return (unsigned)((p >> 4) * 0xc2b2ae3d27d4eb4full >> 51) & (NSAMPLES - 1);
}

static void sample_add(uintptr_t p, uintptr_t site, uint64_t weight)
{
	pthread_mutex_lock(&sample_lock);
	unsigned h = sample_hash(p);
	for (unsigned i = 0; i < NSAMPLES / 2; i++) {
		struct sample *s = &samples[(h + i) & (NSAMPLES - 1)];
		uintptr_t cur = atomic_load_explicit(&s->ptr, memory_order_relaxed);
		if (cur <= 1) {
			s->site = site;
			s->weight = weight;
			atomic_store_explicit(&s->ptr, p, memory_order_release);
			filter_add(p); /* under sample_lock: counters change one at a time */
			break;
		}
	}
	pthread_mutex_unlock(&sample_lock);
}

void af_sample_free(void *vp)
{
	uintptr_t p = (uintptr_t)vp;
	unsigned h = sample_hash(p);
	for (unsigned i = 0; i < NSAMPLES / 2; i++) {
		struct sample *s = &samples[(h + i) & (NSAMPLES - 1)];
		uintptr_t cur = atomic_load_explicit(&s->ptr, memory_order_acquire);
		if (cur == 0)
			return;
		if (cur == p) {
			pthread_mutex_lock(&sample_lock);
			if (atomic_load_explicit(&s->ptr, memory_order_relaxed) == p) {
				atomic_store_explicit(&s->ptr, 1, memory_order_release);
				filter_remove(p);
			}
			pthread_mutex_unlock(&sample_lock);
			return;
		}
	}
}

/* Top call sites by sampled live bytes; returns how many. */
static int sample_top(uintptr_t *site, uint64_t *bytes, int max)
{
	int n = 0;
	for (unsigned i = 0; i < NSAMPLES; i++) {
		if (atomic_load_explicit(&samples[i].ptr, memory_order_acquire) <= 1)
			continue;
		uintptr_t s = samples[i].site;
		int j = 0;
		while (j < n && site[j] != s)
			j++;
		if (j == n) {
			if (n == max)
				continue;
			site[n] = s;
			bytes[n++] = 0;
		}
		bytes[j] += samples[i].weight;
	}
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && bytes[j - 1] < bytes[j]; j--) {
			uint64_t b = bytes[j];
			bytes[j] = bytes[j - 1];
			bytes[j - 1] = b;
			uintptr_t s = site[j];
			site[j] = site[j - 1];
			site[j - 1] = s;
		}
	return n;
}


/* ---- too small to fail ------------------------------------------------ */

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

enum { SEM_FAIL, SEM_RETRY, SEM_FOREVER };

static void oom_abort(struct ctx *c, unsigned tries, uint64_t ns)
{
	struct af_req *rq = c->rq;
	char site[256];
	af_site_name(ctx_callsite_pc(c), site, sizeof site);
	int fd = af_g.stderr_fd;
	af_say(fd, "out of memory: %s(%zu) at %s still failing after %u tries in %llu ms; oom=abort",
	       af_fn_names[rq->fn], rq->size, site, tries, (unsigned long long)(ns / 1000000));
	if (af_g.mode & AF_M_LIMIT)
		af_say(fd, "live: %lld bytes of limit %llu", (long long)af_limit_live(),
		       (unsigned long long)af_g.pol.set.limit);
	else
		af_say(fd, "live: %llu bytes", (unsigned long long)af_be_allocated());
	uintptr_t top[8];
	uint64_t bytes[8];
	int n = sample_top(top, bytes, 8);
	if (!af_g.sampling)
		af_say(fd, "(the call sites holding the most live memory are sampled with a limit "
			   "or ALLOCFAIL_SUMMARY=1)");
	if (n) {
		af_say(fd, "call sites holding the most live memory (sampled, 1 in %d KiB):",
		       SAMPLE_INTERVAL / 1024);
		for (int i = 0; i < n; i++)
			af_say(fd, "  %10llu  %s", (unsigned long long)bytes[i],
			       af_site_name(top[i], site, sizeof site));
	}
}

static void *retry(struct ctx *c, size_t align, int sem)
{
	uint64_t start = af_now_ns(), backoff = 1000000; /* 1 ms, doubling to 64 ms */
	unsigned tries = 1;
	int warned = 0;
	struct af_site *site = af_site_get(ctx_callsite(c), c->rq);
	af_site_event(site, AF_EV_RETRY);
	for (;;) {
		af_be_purge();
		sleep_ns(backoff);
		if (backoff < 64000000)
			backoff *= 2;
		void *p = attempt(c->rq, align, 0);
		if (p) {
			return p;
		}
		tries++;
		uint64_t ns = af_now_ns() - start;
		if (!warned && tries >= af_g.pol.set.retry_warn) {
			warned = 1;
			if (af_site_warn_once(site)) {
				ctx_stack(c);
				af_report_canary(c->rq, c->frames, c->nframes, c->cs, tries, ns);
			}
		}
		if (sem == SEM_RETRY && ns >= af_g.pol.set.retry_timeout_ns) {
			ctx_stack(c);
			int action = af_g.pol.set.oom;
			af_site_event(site, AF_EV_OOM);
			af_report_oom(c->rq, c->frames, c->nframes, c->cs, tries, ns, action);
			if (action == AF_OOM_ABORT) {
				oom_abort(c, tries, ns);
				abort();
			}
			if (action == AF_OOM_FAIL) {
					return NULL;
			}
			sem = SEM_FOREVER;
		}
	}
}

/* ---- requests that can never succeed ------------------------------------ */

/* The user address space: the power of two above the top of the initial
   stack, where the loader put the program's file name (2^47 on x86-64
   with 4-level page tables; mappings above that need a hint). */
static uint64_t address_space(void)
{
	uintptr_t top = (uintptr_t)getauxval(AT_EXECFN);
	if (!top)
		top = (uintptr_t)__builtin_frame_address(0);
	return (uint64_t)1 << (64 - __builtin_clzll((unsigned long long)top));
}

/* Why a failed request can never succeed, whatever is freed or however
   long it waits (Linux's __GFP_NOFAIL likewise fails orders beyond
   MAX_ORDER); NULL when it could. Asked only after a real failure. */
static const char *impossible(const struct af_req *rq)
{
	uint64_t space = address_space(), span;
	if (rq->align >= space)
		return "alignment beyond the address space";
	if (__builtin_add_overflow((uint64_t)rq->size, (uint64_t)rq->align, &span) ||
	    span > space)
		return "beyond the address space";
	if ((af_g.mode & AF_M_LIMIT) && rq->size > af_g.pol.set.limit)
		return "beyond the limit";
	return NULL;
}

/* ---- the slow path ---------------------------------------------------- */

void *af_alloc_slow(struct af_req *rq)
{
	struct af_thread *t = &af_t;
	if (AF_UNLIKELY(!af_ready())) {
		/* before the configuration (see af_init.c), or made by it */
		if (t->guard || !af_init()) {
			void *p = raw(rq, rq->align);
			if (!p)
				errno = ENOMEM;
			else if (!af_ready()) /* counted by the limit, if one is set; the
						 next backend is not asked, as it may be a
						 sanitizer still initializing */
				atomic_fetch_add(&af_early_bytes, af_g.backend == AF_BE_JEMALLOC
									  ? af_be_usable(p)
									  : rq->size);
			return p;
		}
	}
	if (t->guard) {
		void *p = attempt(rq, rq->align, 1);
		if (!p)
			errno = ENOMEM;
		return p;
	}
	t->guard++;
	int saved_errno = errno;
	/* after an injection, allocations are counted for the crash report,
	   exactly up to AF_COUNT_MAX; then the thread returns to the fast
	   paths and a crash reports "more than AF_COUNT_MAX" */
	if (t->slow & AF_T_COUNT) {
		if (++t->since_injection >= AF_COUNT_MAX) {
			t->slow &= ~AF_T_COUNT;
			af_thread_update(t);
		}
	}
	if (AF_UNLIKELY(atomic_load_explicit(&af_crash_armed, memory_order_relaxed) && !t->altstack))
		af_crash_thread(t);

	struct ctx c;
	c.rq = rq;
	c.frames = NULL;
	c.old_usable = t->resv && rq->old ? af_be_usable(rq->old) : 0;
	c.have_stack = 0;
	c.nframes = 0;
	c.cs = 0;
	c.csaddr = NULL;
	c.have_name = 0;

	int rule = -1, action = -1;
	if (rq->decided >= 0) { /* af_slow drew and decided */
		rule = rq->decided;
		action = AF_ACT_FAIL;
	} else if (af_g.mode & AF_M_RULES) {
		struct af_query q = {rq->fn, rq->size, &c, cb_site_mask, cb_stack_ok, cb_thread_ok};
		rule = af_match_first(&af_g.match, &q);
		if (rule >= 0)
			action = af_g.pol.rules[rule]->action;
	}
	int shielded = t->nofail || t->suspend || t->resv || action == AF_ACT_NOFAIL;

	int inject = 0;
	if (!shielded) {
		if (t->fail_nth) {
			if (--t->fail_nth == 0) {
				inject = 1;
				rule = -2; /* the fail-nth hook */
				t->slow &= ~AF_T_NTH;
				af_thread_update(t);
			}
		} else if (rq->decided >= 0) {
			inject = 1;
		} else if (action == AF_ACT_FAIL && rq->decided != AF_DECIDED_NO) {
			inject = should_fail(t, af_g.pol.rules[rule], rq->size);
		}
	}

	if (AF_UNLIKELY(af_g.mode & AF_M_FORK) && !inject && !shielded) {
		struct af_site *site = af_site_get(ctx_callsite(&c), rq);
		/* at its first hit (the quick path serves it from then on) */
		int first = af_site_fork_once(site);
		char key[512];
		key[0] = 0;
		if (af_fork_fails(site)) {
			inject = 1;
			rule = AF_RULE_FORK;
		} else if (af_fork_nth) {
			/* the allocation the counting rule just counted */
			if (rule >= 0 && action == AF_ACT_FAIL &&
			    af_g.pol.rules[rule]->nth == AF_FORK_NTH_COUNTER)
				af_fmt(key, sizeof key, "%llu",
				       (unsigned long long)atomic_load(&af_g.pol.state[rule].nth_count));
		} else if (first) {
			af_site_key(site, key, sizeof key);
		}
		/* only where the program itself called the allocator: inside the
		   C runtime (setlocale, say) a lock may be held whose owner is
		   a thread id, which the child does not have */
		if (key[0] && af_fork_wanted(key, passes_up(af_addr_get((uintptr_t)rq->ra)))) {
			/* what the child's log will look up, looked up once here */
			ctx_stack(&c);
			af_resolve_frames(c.frames, c.nframes);
			if (af_fork_at(key, site)) {
				inject = 1;
				rule = AF_RULE_FORK;
			}
		}
	}

	if (inject) {
		/* the log and the crash record want the whole stack, not only
		   the rules' depth af_slow may have captured */
		if (rq->frames && rq->nframes >= af_g.match.max_depth) {
			rq->frames = NULL;
			c.have_stack = 0;
			c.csaddr = NULL;
		}
		t->injected++;
		t->slow |= AF_T_COUNT;
		af_thread_update(t);
		t->since_injection = 0;
		if (af_g.mode & (AF_M_CENSUS | AF_M_SUMMARY)) {
			struct af_site *site = af_site_get(ctx_callsite(&c), rq);
			af_site_count(site, rq->size, af_req_costly(rq));
			af_site_event(site, AF_EV_INJECT);
		}
		ctx_stack(&c);
		af_report_injection(rq, rule, c.frames, c.nframes, c.cs);
		t->guard--;
		errno = ENOMEM;
		return NULL;
	}

	/* The sampler decides before allocating: a sampled block is aligned. */
	size_t align = rq->align;
	int sampled = 0;
	/* a new thread's first trip here sets its gates */
	if (!t->sample_started) {
		t->sample_started = 1;
		t->sample_left = SAMPLE_INTERVAL;
		af_thread_update(t);
	}
	/* the sampler: one allocation per SAMPLE_INTERVAL bytes */
	if (af_g.sampling) {
		int64_t left = t->sample_left - (int64_t)rq->size;
		if (left < 0 || rq->size >= ((size_t)1 << 62)) {
			sampled = 1;
			left = SAMPLE_INTERVAL;
		}
		t->sample_left = left;
	}
	if (af_g.sampling && rq->old && af_maybe_sampled(rq->old))
		af_sample_free(rq->old);

	/* a reservation cannot be refused by the limit (what it did not cover
	   shows in the summary); nofail is refused like anything else and
	   then retried until memory is freed, as __GFP_NOFAIL loops */
	int nofail = t->nofail || t->resv || action == AF_ACT_NOFAIL;
	void *p = attempt(rq, align, t->resv != NULL);
	if (AF_UNLIKELY(!p)) {
		int sem;
		if (nofail)
			sem = SEM_FOREVER;
		else if (t->noretry || action == AF_ACT_NORETRY || af_g.pol.set.small_noretry ||
			 af_req_costly(rq))
			sem = SEM_FAIL;
		else
			sem = SEM_RETRY;
		const char *never = sem != SEM_FAIL ? impossible(rq) : NULL;
		if (never) { /* the retries would never end */
			ctx_stack(&c);
			af_report_impossible(rq, c.frames, c.nframes, c.cs, never,
					     sem == SEM_FOREVER ? "nofail" : "small=retry");
			sem = SEM_FAIL;
		}
		if (sem != SEM_FAIL)
			p = retry(&c, align, sem);
		if (!p) {
			t->guard--;
			errno = ENOMEM;
			return NULL;
		}
	}
	if (sampled)
		sample_add((uintptr_t)p, ctx_callsite_pc(&c),
			   rq->size > SAMPLE_INTERVAL ? rq->size : SAMPLE_INTERVAL);
	if (t->resv)
		af_resv_use(t, (int64_t)af_be_usable(p) - (int64_t)c.old_usable);
	if (af_g.mode & (AF_M_CENSUS | AF_M_SUMMARY)) {
		struct af_site *site = af_site_get(ctx_callsite(&c), rq);
		af_site_count(site, rq->size, af_req_costly(rq));
		if (af_g.context_depth) {
			ctx_stack(&c);
			int n = c.nframes - c.cs;
			af_site_context(site, c.frames + c.cs, n < 1 + af_g.context_depth ? n : 1 + af_g.context_depth);
		}
	}
	t->guard--;
	errno = saved_errno;
	return p;
}

/* ---- probability draws: a stream per thread ----------------------------- */

static _Atomic uint64_t next_salt;

/* This thread's draw counters (nrules), allocated on first use; the first
   thread to draw gets salt 0, the rule's documented stream, so that a
   single-threaded program repeats exactly under the same seed. */
static struct af_stream *thread_draws(struct af_thread *t)
{
	if (AF_UNLIKELY(!t->draws)) {
		if (t->private_gone)
			return NULL;
		t->draws = af_imalloc(sizeof(struct af_stream) *
				      (size_t)(af_g.pol.nrules ? af_g.pol.nrules : 1));
		t->salt = atomic_fetch_add(&next_salt, 1);
		af_thread_register_exit(t);
	}
	return t->draws;
}

static int should_fail(struct af_thread *t, const struct af_rule *r, uint64_t size)
{
	struct af_stream *d = thread_draws(t);
	struct af_rule_state *s = &af_g.pol.state[r->index];
	return d ? af_rule_should_fail_stream(r, s, size, &d[r->index], t->salt)
		 : af_rule_should_fail(r, s, size);
}

/* ---- the quick path: no rule can match; the census counts here too ---- */

/* What the rules decide for a (call site, entry point, size interval),
   when that alone decides: AF_Q_PLAIN when nothing can inject (no rule
   matches, or the first match is nofail or noretry), AF_Q_DRAW when the
   first match is a fail rule whose only trigger is a probability (one
   draw decides), AF_Q_SLOW when stacks, thread names or shared counters
   are involved, AF_Q_STACK when a call-site matcher would decide and the
   call site is further up the stack (a = NULL). */
static int quick_decide(int fn, int k, struct af_addr *a, int *rule)
{
	const struct af_match *m = &af_g.match;
	int W = m->nwords;
	const uint64_t *fc = m->fn_cand + fn * W, *sc = m->size_cand + k * W;
	for (int w = 0; w < W; w++) {
		uint64_t c = fc[w] & sc[w];
		if (a) /* the call-site rules that reject this address, at once */
			c &= ~(m->site_rules[w] & ~a->site[w]);
		while (c) {
			int b = __builtin_ctzll(c);
			c &= c - 1;
			uint64_t bit = 1ull << b;
			if ((m->stack_rules[w] | m->thread_rules[w]) & bit)
				return AF_Q_SLOW;
			if (m->site_rules[w] & bit) {
				if (!a)
					return AF_Q_STACK; /* the call site decides */
				if (!(a->site[w] & bit))
					continue; /* its call-site matchers reject this site */
			}
			const struct af_rule *r = af_g.pol.rules[w * 64 + b];
			if (r->action != AF_ACT_FAIL)
				return AF_Q_PLAIN;
			if (af_rule_probability_only(r)) {
				*rule = r->index;
				return AF_Q_DRAW;
			}
			return AF_Q_SLOW;
		}
	}
	return AF_Q_PLAIN;
}

int af_quick_size_interval(struct af_thread *t, size_t size)
{
	const struct af_match *m = &af_g.match;
	int lo = 0, hi = m->nbounds - 1;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (m->bounds[mid] <= size)
			lo = mid;
		else
			hi = mid - 1;
	}
	t->iv_k = lo;
	t->iv_lo = m->bounds[lo];
	t->iv_hi = lo + 1 < m->nbounds ? m->bounds[lo + 1] : UINT64_MAX;
	return lo;
}

/* The census's site for a request the quick path serves at call site a;
   NULL under --fork until the slow path has seen the site's first hit
   (it may fork there). */
static struct af_site *quick_site(struct af_addr *a, int fn, size_t n, uintptr_t ra)
{
	struct af_req rq = {fn, n, 0, 0, NULL, (void *)ra, NULL, 0, -1, 0};
	struct af_site *site = af_site_get(a, &rq);
	return (af_g.mode & AF_M_FORK) && !af_site_forked(site) ? NULL : site;
}

int af_quick_verdict(struct af_qsite *q, uint64_t key, int fn, int k, uintptr_t ra, size_t n)
{
	struct af_thread *t = &af_t;
	if (t->guard) /* a signal handler's call while the shim works here: the
			 backend's, leaving the memo as the interrupted call does */
		return AF_Q_SLOW;
	t->guard++; /* af_addr_get and af_site_get may allocate (symbol tables) */
	/* the generation first: a module that goes after it makes it stale */
	q->gen = atomic_load_explicit(&af_g.mod_gen, memory_order_relaxed);
	struct af_addr *a = af_addr_get(ra);
	int outside = passes_up(a); /* the call site is further up */
	q->key = key;
	q->rule = 0;
	q->site = NULL;
	t->walks->qchain[q - t->walks->qsite].n = 0; /* quick() found the caches */
	q->verdict = quick_decide(fn, k, outside || !a->site ? NULL : a, &q->rule);
	if (q->verdict == AF_Q_STACK && !outside)
		q->verdict = AF_Q_SLOW; /* no masks for this address */
	if (af_g.counting && q->verdict != AF_Q_SLOW) {
		if (outside) {
			q->verdict = AF_Q_STACK; /* counting it needs the call site */
		} else if (!(q->site = quick_site(a, fn, n, ra))) {
			q->verdict = AF_Q_SLOW; /* and kept only once the site is forked */
			q->key = 0;
		}
	}
	t->guard--;
	return q->verdict;
}

/* The stack from ra (at stack pointer sp, the entry point's CFA) by the
   frame rules: up to max frames, fewer when the outermost frame comes
   first, as libunwind would give them. -1: a frame without a usable rule
   (libunwind's turn). The caller holds the guard (frame_rule may call
   libunwind). */
static int ruled_stack(struct af_thread *t, uintptr_t ra, uintptr_t sp, uintptr_t *out, int max)
{
	unsigned gen = atomic_load_explicit(&af_g.mod_gen, memory_order_relaxed);
	uintptr_t pc = ra;
	struct af_walks *w = walks_of(t);
	for (int n = 0;;) {
		out[n++] = pc;
		if (n == max)
			return n;
		uint64_t r = rule_step(frame_entry_in(t, w, pc, gen), &pc, &sp);
		if (r == AF_CFI_END)
			return n;
		if (r == AF_CFI_NONE)
			return -1;
	}
}

/* quick()'s AF_Q_STACK case: find the call site a few frames up (NULL:
   deeper), decide with its rule masks, and with the census put its site in
   the memo's entry, where counted() reads it. 1: allocate plainly; 0: the
   slow path's turn (a rule may fire there, the site is deeper, --fork has
   not seen its first hit, or the shim itself is running: libunwind
   allocates). cfa: the entry point's, the stack pointer of ra's frame.
   Out of line, with the entry and the size interval found again from ra
   and the thread (quick() has just set them): the plain verdict's
   registers. */
static __attribute__((noinline)) int quick_walk(struct af_thread *t, struct af_qsite *q,
						struct af_qchain *ch, int fn, size_t n, uintptr_t ra,
						uintptr_t cfa)
{
	t->guard++;
	struct af_addr *a = callsite_up(t, ra, cfa, ch);
	int rule, ok = a && quick_decide(fn, t->iv_k, a->site ? a : NULL, &rule) == AF_Q_PLAIN;
	if (ok && af_g.counting)
		ok = (q->site = quick_site(a, fn, n, ra)) != NULL;
	if (!ok)
		ch->n = 0; /* the memo holds plain verdicts only */
	t->guard--;
	return ok;
}

/* A call from ra whose stack holds the return addresses of the last plain
   walk from ra (same entry point and size interval: the qsite entry's key)
   at the same places is plain at the same call site: each frame's rule is
   fixed by its address, so the same addresses lead the walk to the same
   slots, and the call site's masks to the same verdict. The loads'
   addresses do not depend on loaded values, unlike the walk's. */
int af_quick_stack(int fn, size_t n, uintptr_t ra, uintptr_t cfa)
{
	struct af_thread *t = &af_t;
	if (t->guard)
		return 0;
	struct af_walks *w = t->walks; /* quick() found them */
	struct af_qsite *q = af_qslot(w, ra);
	struct af_qchain *ch = &w->qchain[q - w->qsite];
	int m = ch->n;
	if (AF_LIKELY(m > 0) && AF_LIKELY(cfa != 0) &&
	    AF_LIKELY(ch->gen == atomic_load_explicit(&af_g.mod_gen, memory_order_relaxed))) {
		int i = 0;
		/* in order: a slot is read only when the frames below it are the
		   memo's, so it lies in a live frame */
		while (i < m && *(const uintptr_t *)(cfa + (uintptr_t)ch->off[i]) == ch->pc[i])
			i++;
		if (AF_LIKELY(i == m))
			return 1;
	}
	return quick_walk(t, q, ch, fn, n, ra, cfa);
}

/* A AF_Q_DRAW verdict: 1 when the draw does not fire (plain), 0 when it
   does, and then the slow path injects without drawing again. */
int af_quick_draw(struct af_thread *t, int rule)
{
	if (t->guard) /* a signal handler's call while the shim works here */
		return 1;
	t->guard++;
	struct af_stream *d = thread_draws(t);
	t->guard--;
	if (!d)
		return 0;
	if (!af_stream_step(af_g.pol.rules[rule], &d[rule], t->salt))
		return 1;
	t->pending = rule + 1;
	return 0;
}

/* The medium path, for a process with rules only and nothing armed on this
   thread: match the rules (with the stack af_slow captured), and when
   nothing can inject (no rule, a nofail or noretry rule, a probability
   that does not fire), allocate plainly. NULL: the slow path takes over,
   with rq->decided saying what was decided here. */
static void *medium(struct af_req *rq)
{
	struct af_thread *t = &af_t;
	struct ctx c;
	c.rq = rq;
	c.frames = NULL;
	c.old_usable = 0;
	c.have_stack = 0;
	c.nframes = 0;
	c.cs = 0;
	c.csaddr = NULL;
	c.have_name = 0;
	t->guard++; /* address lookups may load symbol tables */
	struct af_query q = {rq->fn, rq->size, &c, cb_site_mask, cb_stack_ok, cb_thread_ok};
	int rule = af_match_first(&af_g.match, &q);
	int go_slow = 0;
	if (rule >= 0 && af_g.pol.rules[rule]->action == AF_ACT_FAIL) {
		const struct af_rule *r = af_g.pol.rules[rule];
		struct af_stream *d = af_rule_probability_only(r) ? thread_draws(t) : NULL;
		if (!d)
			go_slow = 1; /* counters shared by definition: the slow path */
		else if (af_stream_step(r, &d[r->index], t->salt)) {
			rq->decided = rule;
			go_slow = 1;
		} else {
			rq->decided = AF_DECIDED_NO;
		}
	}
	/* still guarded while the backend serves it: a signal handler's call
	   meanwhile goes straight to the backend, not into the shim's slow
	   work, which allocates on its own */
	void *p = go_slow ? NULL : raw(rq, rq->align);
	t->guard--;
	return p;
}

/* Every entry point reaches here by a tail call, so the only frame of the
   shim on the stack is this one: when a rule with in=/notin= may decide,
   the stack is captured here, as shallow as it gets, and only as deep as
   the rules look (plus this frame). */
void *af_slow(int fn, size_t n, size_t align, int zero, void *old, void *ra, void *cfa)
{
	struct af_req rq = {fn, n, align, zero, old, ra, NULL, 0, -1, (uintptr_t)cfa};
	const struct af_match *m = &af_g.match;
	/* libunwind gives the rules max_depth + 1 frames from ra, after this
	   one; as many on the program's stack (a thread's may be small: 16
	   KiB), one when no rule looks at the stack */
	int want = m->any_stack ? m->max_depth + 2 : 1;
	int cap = want < AF_MAX_FRAMES ? want : AF_MAX_FRAMES;
	uintptr_t frames[cap];
	struct af_thread *t = &af_t;
	if (AF_UNLIKELY(!t->walks) && t->quick && !t->guard) {
		t->guard++; /* the quick path's caches, for the next call */
		walks_of(t);
		t->guard--;
	}
	if (t->pending) { /* quick() drew, and the draw fired */
		rq.decided = t->pending - 1;
		t->pending = 0;
		return af_alloc_slow(&rq);
	}
	if (m->any_stack && af_unw_backtrace && af_ready() && !t->guard) {
		int k = n >= t->iv_lo && n < t->iv_hi ? t->iv_k : af_quick_size_interval(t, n);
		if (m->stack_cand[fn * m->nbounds + k]) {
			/* libunwind may allocate (its dynamic TLS): guarded */
			t->guard++;
			/* by the frame rules: from ra, without this frame */
			int got = ruled_stack(t, (uintptr_t)ra, (uintptr_t)cfa, frames,
					      want - 1 < cap ? want - 1 : cap);
			if (got > 0) {
				t->guard--;
				rq.frames = frames;
				rq.nframes = got;
			} else {
				got = af_unw_backtrace((void **)frames, cap);
				t->guard--;
				int i = 0;
				while (i < got && frames[i] != (uintptr_t)ra)
					i++;
				if (i < got) {
					rq.frames = frames + i;
					rq.nframes = got - i;
				}
			}
		}
	}
	if (t->quick && !t->qcount && !t->guard && !t->nofail && !t->suspend && af_ready()) {
		void *p = medium(&rq);
		if (p)
			return p;
	}
	return af_alloc_slow(&rq);
}

void af_free_slow(void *p)
{
	int e = errno;
	if (AF_UNLIKELY(af_be_owns_bootstrap(p)))
		return;
	if (af_g.sampling && af_maybe_sampled(p))
		af_sample_free(p);
	struct af_thread *t = &af_t;
	if ((af_g.mode & AF_M_LIMIT) || t->resv) {
		size_t n = af_be_usable(p);
		af_be_free(p);
		if (af_g.mode & AF_M_LIMIT)
			af_limit_give(t, n);
		if (t->resv && !t->guard)
			af_resv_use(t, -(int64_t)n);
	} else {
		af_be_free(p);
	}
	errno = e;
}

void af_sample_lock(int lock)
{
	if (lock)
		pthread_mutex_lock(&sample_lock);
	else
		pthread_mutex_unlock(&sample_lock);
}
