/* af_quick.c - the quick path's helpers (the inline part is af_entry.c's
   quick()): what the rules decide for a (call site, entry point, size
   interval), kept in the thread's memo; the walk through the C runtime to
   the call site for AF_Q_STACK verdicts; and the probability draws, a
   stream per thread, which the slow and medium paths share. */
#define _GNU_SOURCE

#include "af.h"
#include "af_addr.h"
#include "af_limit.h"
#include "af_sites.h"
#include "af_slow.h"
#include "af_walk.h"

/* ---- probability draws: a stream per thread ----------------------------- */

static _Atomic uint64_t next_salt;

/* This thread's draw counters (nrules), allocated on first use; the first
   thread to draw gets salt 0, the rule's documented stream, so that a
   single-threaded program repeats exactly under the same seed. */
struct af_stream *af_thread_draws(struct af_thread *t)
{
	if (AF_UNLIKELY(!t->draws)) {
		if (t->private_gone)
			return NULL;
		t->draws = af_imalloc_own(sizeof(struct af_stream) *
				      (size_t)(af_g.pol.nrules ? af_g.pol.nrules : 1));
		t->salt = atomic_fetch_add(&next_salt, 1);
		af_thread_register_exit(t);
	}
	return t->draws;
}

int af_should_fail(struct af_thread *t, const struct af_rule *r, uint64_t size)
{
	struct af_stream *d = af_thread_draws(t);
	struct af_rule_state *s = &af_g.pol.state[r->index];
	int fail = d ? af_rule_should_fail_stream(r, s, size, &d[r->index], t->salt)
		     : af_rule_should_fail(r, s, size);
	if (af_rule_spent(r, s))
		af_rule_mark_spent(r->index);
	return fail;
}

void af_rule_mark_spent(int i)
{
	uint64_t bit = 1ull << (i % 64);
	_Atomic uint64_t *w = &af_g.spent[i / 64];
	if (atomic_load_explicit(w, memory_order_relaxed) & bit)
		return;
	/* the verdicts made before are stale: each thread's memo decides
	   again at its next call, and sees the bit set first */
	atomic_fetch_or(w, bit);
	atomic_fetch_add(&af_g.mod_gen, 1);
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
			if (r->action != AF_ACT_FAIL ||
			    (atomic_load_explicit(&af_g.spent[w], memory_order_relaxed) & bit))
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
	int lo = af_match_interval(m, size);
	t->iv_k = lo;
	t->iv_kbits = af_qkey(0, 0, lo);
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
	/* no key while the entry is rewritten: a signal handler's call finds
	   no verdict in it rather than half of one */
	q->key = 0;
	atomic_signal_fence(memory_order_seq_cst);
	/* the generation first: a module that goes after it makes it stale */
	q->gen = atomic_load_explicit(&af_g.mod_gen, memory_order_relaxed);
	struct af_addr *a = af_addr_get(ra);
	int outside = passes_up(a); /* the call site is further up */
	int rule = 0, v;
	struct af_stream *st = NULL;
	q->ctr = NULL;
	q->site = NULL;
	t->walks->qchain[q - t->walks->qsite].n = 0; /* quick() found the caches */
	v = quick_decide(fn, k, outside || !a->site ? NULL : a, &rule);
	if (v == AF_Q_STACK && !outside)
		v = AF_Q_SLOW; /* no masks for this address */
	if (v == AF_Q_DRAW) { /* quick_hit() steps the stream without a test */
		struct af_stream *d = af_thread_draws(t);
		if (d) {
			st = &d[rule];
			af_stream_prime(af_g.pol.rules[rule], st, t->salt);
		} else {
			v = AF_Q_SLOW;
		}
	}
	int keep = 1;
	if (af_g.counting && v != AF_Q_SLOW) {
		if (outside) {
			v = AF_Q_STACK; /* counting it needs the call site */
		} else if (!(q->site = quick_site(a, fn, n, ra))) {
			v = AF_Q_SLOW; /* and kept only once the site is forked */
			keep = 0;
		} else {
			/* the interval lies on one side of the threshold */
			q->ctr = af_tc_claim(t, q->site, n > af_g.threshold);
		}
	}
	q->rule = rule;
	q->verdict = v;
	if (v == AF_Q_DRAW) {
		q->cnt = &st->left;
	} else {
		q->own = v == AF_Q_PLAIN ? AF_QOWN_PLAIN : 1;
		q->cnt = &q->own;
	}
	if (keep) {
		atomic_signal_fence(memory_order_seq_cst);
		q->key = key;
	}
	t->guard--;
	return v;
}

void af_quick_forget(struct af_thread *t, const struct af_tc_slot *e)
{
	struct af_walks *w = t->walks;
	if (!w)
		return;
	uintptr_t lo = (uintptr_t)e->c, hi = (uintptr_t)(e->c + 2);
	for (int i = 0; i < AF_QSITES; i++) {
		uintptr_t c = (uintptr_t)w->qsite[i].ctr;
		if (c >= lo && c < hi)
			w->qsite[i].ctr = NULL;
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
int af_quick_draw(struct af_thread *t, struct af_qsite *q)
{
	if (t->guard) /* a signal handler's call while the shim works here */
		return 1;
	t->guard++;
	struct af_stream *d = af_thread_draws(t);
	t->guard--;
	if (!d)
		return 0;
	int rule = q->rule;
	if (!af_stream_step(af_g.pol.rules[rule], &d[rule], t->salt))
		return 1;
	t->pending = rule + 1;
	return 0;
}

