/* af_slow.c - the slow path: what to do with one allocation when rules,
   the simulated limit, the census or a real failure are involved; and the
   medium path, for a process with rules only and nothing armed on the
   thread. Order, as in Linux: scopes and reservations (no injection),
   then the first matching rule (nofail beats everything), the per-thread
   fail-nth hook, the rule's triggers; then the backend under the
   simulated limit; then, for a real failure, the size class semantics:
   costly and noretry requests fail at once, small ones are retried ("too
   small to fail", af_retry.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "af.h"
#include "af_addr.h"
#include "af_crash.h"
#include "af_fork.h"
#include "af_limit.h"
#include "af_log.h"
#include "af_resv.h"
#include "af_sites.h"
#include "af_fmt.h"
#include "af_slow.h"
#include "af_walk.h"

_Atomic uint64_t af_early_bytes; /* served before the configuration */

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
void *af_attempt(const struct af_req *rq, size_t align, int force)
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


/* ---- the slow path ---------------------------------------------------- */

/* Forks at the listed key when this process can: 1 in the child, which
   fails the request. Only where the program itself called the allocator:
   inside the C runtime (setlocale, say) a lock may be held whose owner is
   a thread id, which the child does not have. g, i: the calling context
   the key names, or NULL, -1. */
static int fork_here(struct ctx *c, const char *key, struct af_site *site,
		     const struct af_fork_group *g, int i)
{
	if (!af_fork_wanted(key, passes_up(af_addr_get((uintptr_t)c->rq->ra))))
		return 0;
	/* what the child's log will look up, looked up once here */
	af_ctx_stack(c);
	af_resolve_frames(c->frames, c->nframes);
	return af_fork_at(key, site, g, i);
}

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
		void *p = af_attempt(rq, rq->align, 1);
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

	struct ctx c = {.rq = rq, .old_usable = t->resv && rq->old ? af_be_usable(rq->old) : 0};

	int rule = -1, action = -1;
	if (rq->decided >= 0) { /* af_slow drew and decided */
		rule = rq->decided;
		action = AF_ACT_FAIL;
	} else if (af_g.mode & AF_M_RULES) {
		struct af_query q = {rq->fn, rq->size, &c, af_cb_site_mask, af_cb_stack_ok, af_cb_thread_ok};
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
			inject = af_should_fail(t, af_g.pol.rules[rule], rq->size);
		}
	}

	if (AF_UNLIKELY(af_g.mode & AF_M_FORK) && !inject && !shielded) {
		struct af_site *site = af_site_get(af_ctx_callsite(&c), rq);
		/* a site with calling contexts listed stays here until each has
		   been met; any other at its first hit (the quick path serves it
		   from then on) */
		struct af_fork_group *g = af_fork_group(site);
		int first = !g && af_site_fork_once(site);
		char key[512];
		key[0] = 0;
		if (af_fork_fails(site, &c)) {
			inject = 1;
		} else if (af_fork_nth) {
			/* the allocation the counting rule just counted */
			if (rule >= 0 && action == AF_ACT_FAIL &&
			    af_g.pol.rules[rule]->nth == AF_FORK_NTH_COUNTER)
				af_fmt(key, sizeof key, "%llu",
				       (unsigned long long)atomic_load(&af_g.pol.state[rule].nth_count));
			inject = key[0] && fork_here(&c, key, site, NULL, -1);
		} else if (g) {
			/* the contexts are matched on the whole stack, not the
			   few frames af_slow took for the rules */
			if (rq->frames) {
				rq->frames = NULL;
				c.have_stack = 0;
				c.csaddr = NULL;
			}
			/* each listed context this allocation is at, at its first
			   hit, as `fail site=CTX nth=1` of a run of its own */
			for (int i = 0; !inject && (i = af_fork_context(g, site, &c, i, key, sizeof key)) >= 0; i++)
				inject = fork_here(&c, key, site, g, i);
		} else if (first) {
			af_site_key(site, key, sizeof key);
			inject = fork_here(&c, key, site, NULL, -1);
		}
		if (inject) {
			/* the child: in --mode nth its counting rule has done what
			   a run's `fail nth=K` does, which is then spent */
			if (af_fork_nth && rule >= 0)
				af_rule_mark_spent(rule);
			rule = AF_RULE_FORK;
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
		if (af_g.counting) {
			struct af_site *site = af_site_get(af_ctx_callsite(&c), rq);
			af_site_count(site, rq->size, af_req_costly(rq));
			af_site_event(site, AF_EV_INJECT);
		}
		af_ctx_stack(&c);
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
		t->sample_left = AF_SAMPLE_INTERVAL;
		af_thread_update(t);
	}
	/* the sampler: one allocation per AF_SAMPLE_INTERVAL bytes */
	if (af_g.sampling) {
		int64_t left = t->sample_left - (int64_t)rq->size;
		if (left < 0 || rq->size >= ((size_t)1 << 62)) {
			sampled = 1;
			left = AF_SAMPLE_INTERVAL;
		}
		t->sample_left = left;
	}
	if (af_g.sampling && rq->old && af_maybe_sampled(rq->old))
		af_sample_free(rq->old);

	/* a reservation cannot be refused by the limit (what it did not cover
	   shows in the summary); nofail is refused like anything else and
	   then retried until memory is freed, as __GFP_NOFAIL loops */
	int nofail = t->nofail || t->resv || action == AF_ACT_NOFAIL;
	void *p = af_attempt(rq, align, t->resv != NULL);
	if (AF_UNLIKELY(!p)) {
		int sem;
		if (nofail)
			sem = AF_SEM_FOREVER;
		else if (t->noretry || action == AF_ACT_NORETRY || af_g.pol.set.small_noretry ||
			 af_req_costly(rq))
			sem = AF_SEM_FAIL;
		else
			sem = AF_SEM_RETRY;
		const char *never = sem != AF_SEM_FAIL ? af_impossible(rq) : NULL;
		if (never) { /* the retries would never end */
			af_ctx_stack(&c);
			af_report_impossible(rq, c.frames, c.nframes, c.cs, never,
					     sem == AF_SEM_FOREVER ? "nofail" : "small=retry");
			sem = AF_SEM_FAIL;
		}
		if (sem != AF_SEM_FAIL)
			p = af_retry(&c, align, sem);
		if (!p) {
			t->guard--;
			errno = ENOMEM;
			return NULL;
		}
	}
	if (sampled)
		af_sample_add((uintptr_t)p, af_ctx_callsite_pc(&c),
			   rq->size > AF_SAMPLE_INTERVAL ? rq->size : AF_SAMPLE_INTERVAL);
	if (t->resv)
		af_resv_use(t, (int64_t)af_be_usable(p) - (int64_t)c.old_usable);
	if (af_g.counting) {
		struct af_site *site = af_site_get(af_ctx_callsite(&c), rq);
		af_site_count(site, rq->size, af_req_costly(rq));
		if (af_g.context_depth) {
			af_ctx_stack(&c);
			int n = c.nframes - c.cs;
			af_site_context(site, c.frames + c.cs, n < 1 + af_g.context_depth ? n : 1 + af_g.context_depth);
		}
	}
	t->guard--;
	errno = saved_errno;
	return p;
}


/* The medium path, for a process with rules only and nothing armed on this
   thread: match the rules (with the stack af_slow captured), and when
   nothing can inject (no rule, a nofail or noretry rule, a probability
   that does not fire), allocate plainly. NULL: the slow path takes over,
   with rq->decided saying what was decided here. */
static void *medium(struct af_req *rq)
{
	struct af_thread *t = &af_t;
	struct ctx c = {.rq = rq};
	t->guard++; /* address lookups may load symbol tables */
	struct af_query q = {rq->fn, rq->size, &c, af_cb_site_mask, af_cb_stack_ok, af_cb_thread_ok};
	int rule = af_match_first(&af_g.match, &q);
	int go_slow = 0;
	if (rule >= 0 && af_g.pol.rules[rule]->action == AF_ACT_FAIL) {
		const struct af_rule *r = af_g.pol.rules[rule];
		struct af_stream *d = af_rule_probability_only(r) ? af_thread_draws(t) : NULL;
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

/* The stack from ra (at stack pointer sp, the entry point's CFA) by the
   frame rules: up to max frames, fewer when the outermost frame comes
   first, as libunwind would give them. -1: a frame without a usable rule
   (libunwind's turn). The caller holds the guard (af_frame_rule may call
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

