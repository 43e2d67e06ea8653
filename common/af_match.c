/* af_match.c - compile rules into bitsets and find the first match. */
#include "af_match.h"

#include <string.h>

#include "af_glob.h"

static void set_bit(uint64_t *v, int i)
{
	v[i >> 6] |= 1ull << (i & 63);
}

static int size_ok(const struct af_rule *r, uint64_t size)
{
	if (!r->nsizes)
		return 1;
	for (int i = 0; i < r->nsizes; i++)
		if (size >= r->sizes[i].lo && size <= r->sizes[i].hi)
			return 1;
	return 0;
}

static int any_glob(const struct af_list *l, const char *s)
{
	if (!s)
		return 0;
	for (int i = 0; i < l->n; i++)
		if (af_glob(l->v[i], s))
			return 1;
	return 0;
}

/* A function matches when any of its names does (strdup / __strdup). */
static int func_glob(const struct af_list *l, const struct af_frameinfo *f)
{
	if (any_glob(l, f->func))
		return 1;
	for (int i = 0; i < f->naliases; i++)
		if (any_glob(l, f->aliases[i]))
			return 1;
	return 0;
}

/* module= and site= name an object by basename, or by full path when the
   pattern holds a '/'. */
static int module_ok(const char *pat, const struct af_frameinfo *f)
{
	if (!f->module)
		return 0;
	return af_glob(pat, strchr(pat, '/') ? f->module : f->basename);
}

int af_rule_site_ok(const struct af_rule *r, const struct af_frameinfo *f)
{
	if (r->caller.n && !func_glob(&r->caller, f))
		return 0;
	if (r->module.n) {
		int ok = 0;
		for (int i = 0; i < r->module.n && !ok; i++)
			ok = module_ok(r->module.v[i], f);
		if (!ok)
			return 0;
	}
	if (r->nsites) {
		int ok = 0;
		for (int i = 0; i < r->nsites && !ok; i++)
			ok = r->sites[i].offset == f->offset && module_ok(r->sites[i].module, f);
		if (!ok)
			return 0;
	}
	return 1;
}

int af_rule_thread_ok(const struct af_rule *r, const char *name)
{
	return any_glob(&r->thread, name);
}

static int has_site(const struct af_rule *r)
{
	return r->caller.n || r->module.n || r->nsites;
}

int af_match_compile(struct af_match *m, const struct af_policy *p)
{
	memset(m, 0, sizeof *m);
	m->pol = p;
	m->nrules = p->nrules;
	m->nwords = (p->nrules + 63) / 64;
	if (!m->nwords)
		m->nwords = 1;
	int W = m->nwords;

	/* size interval bounds: the rules' sizes, and the costly threshold,
	   so that an interval's requests are all small or all costly (the
	   shim's memo entries count them on one counter) */
	int maxb = 2;
	for (int i = 0; i < p->nrules; i++)
		maxb += 2 * p->rules[i]->nsizes;
	m->bounds = af_mem_alloc(sizeof(uint64_t) * (size_t)maxb);
	m->fn_cand = af_mem_alloc(sizeof(uint64_t) * (size_t)(AF_FN_COUNT * W));
	m->site_rules = af_mem_alloc(sizeof(uint64_t) * (size_t)W);
	m->stack_rules = af_mem_alloc(sizeof(uint64_t) * (size_t)W);
	m->thread_rules = af_mem_alloc(sizeof(uint64_t) * (size_t)W);
	if (!m->bounds || !m->fn_cand || !m->site_rules || !m->stack_rules || !m->thread_rules)
		return -1;
	int nb = 0;
	m->bounds[nb++] = 0;
	uint64_t thr = af_policy_threshold(&p->set);
	if (thr != UINT64_MAX)
		m->bounds[nb++] = thr + 1;
	for (int i = 0; i < p->nrules; i++)
		for (int j = 0; j < p->rules[i]->nsizes; j++) {
			const struct af_size *z = &p->rules[i]->sizes[j];
			m->bounds[nb++] = z->lo;
			if (z->hi != UINT64_MAX)
				m->bounds[nb++] = z->hi + 1;
		}
	/* insertion sort + unique: rule counts are small */
	for (int i = 1; i < nb; i++)
		for (int j = i; j > 0 && m->bounds[j - 1] > m->bounds[j]; j--) {
			uint64_t t = m->bounds[j];
			m->bounds[j] = m->bounds[j - 1];
			m->bounds[j - 1] = t;
		}
	int u = 0;
	for (int i = 0; i < nb; i++)
		if (u == 0 || m->bounds[u - 1] != m->bounds[i])
			m->bounds[u++] = m->bounds[i];
	m->nbounds = u;
	m->size_cand = af_mem_alloc(sizeof(uint64_t) * (size_t)(u * W));
	if (!m->size_cand)
		return -1;

	for (int i = 0; i < p->nrules; i++) {
		const struct af_rule *r = p->rules[i];
		for (int f = 0; f < AF_FN_COUNT; f++)
			if (r->fnmask & (1u << f))
				set_bit(m->fn_cand + f * W, i);
		for (int k = 0; k < u; k++)
			if (size_ok(r, m->bounds[k]))
				set_bit(m->size_cand + k * W, i);
		if (has_site(r))
			set_bit(m->site_rules, i);
		if (r->in.n || r->notin.n || r->has_context) {
			set_bit(m->stack_rules, i);
			m->any_stack = 1;
			int d = r->depth ? r->depth : p->set.depth;
			/* a context: the C runtime's frames below the call site,
			   the site, its context */
			if (r->has_context && d < 16 + 1 + AF_CTX_MAX)
				d = 16 + 1 + AF_CTX_MAX;
			if (d > m->max_depth)
				m->max_depth = d;
		}
		if (r->thread.n)
			set_bit(m->thread_rules, i);
		if (r->caller.n || r->in.n || r->notin.n)
			m->need_names = 1;
	}
	m->stack_cand = af_mem_alloc((size_t)(AF_FN_COUNT * u));
	if (!m->stack_cand)
		return -1;
	for (int f = 0; f < AF_FN_COUNT; f++)
		for (int k = 0; k < u; k++)
			for (int w = 0; w < W; w++)
				if (m->fn_cand[f * W + w] & m->size_cand[k * W + w] & m->stack_rules[w])
					m->stack_cand[f * u + k] = 1;
	return 0;
}

void af_match_free(struct af_match *m)
{
	af_mem_free(m->bounds);
	af_mem_free(m->fn_cand);
	af_mem_free(m->size_cand);
	af_mem_free(m->site_rules);
	af_mem_free(m->stack_rules);
	af_mem_free(m->thread_rules);
	af_mem_free(m->stack_cand);
	memset(m, 0, sizeof *m);
}

void af_match_addr_masks(const struct af_match *m, const struct af_frameinfo *f, uint64_t *site,
			 uint64_t *in, uint64_t *notin)
{
	int W = m->nwords;
	if (site)
		memset(site, 0, sizeof(uint64_t) * (size_t)W);
	if (in)
		memset(in, 0, sizeof(uint64_t) * (size_t)W);
	if (notin)
		memset(notin, 0, sizeof(uint64_t) * (size_t)W);
	for (int i = 0; i < m->nrules; i++) {
		const struct af_rule *r = m->pol->rules[i];
		if (site && (!has_site(r) || af_rule_site_ok(r, f)))
			set_bit(site, i);
		if (in && r->in.n && func_glob(&r->in, f))
			set_bit(in, i);
		if (notin && r->notin.n && func_glob(&r->notin, f))
			set_bit(notin, i);
	}
}

int af_match_first(const struct af_match *m, struct af_query *q)
{
	if (!m->nrules)
		return -1;
	int W = m->nwords;
	const uint64_t *fc = m->fn_cand + q->fn * W;
	const uint64_t *sc = m->size_cand + af_match_interval(m, q->size) * W;
	const uint64_t *site = NULL;
	int site_done = 0;
	for (int w = 0; w < W; w++) {
		uint64_t c = fc[w] & sc[w];
		if (c & m->site_rules[w]) {
			if (!site_done) {
				site = q->site_mask ? q->site_mask(q->ctx) : NULL;
				site_done = 1;
			}
			c &= ~m->site_rules[w] | (site ? site[w] : 0);
		}
		while (c) {
			int b = __builtin_ctzll(c);
			c &= c - 1;
			int i = w * 64 + b;
			const struct af_rule *r = m->pol->rules[i];
			if (((m->stack_rules[w] >> b) & 1) && !(q->stack_ok && q->stack_ok(q->ctx, r)))
				continue;
			if (((m->thread_rules[w] >> b) & 1) &&
			    !(q->thread_ok && q->thread_ok(q->ctx, r)))
				continue;
			return i;
		}
	}
	return -1;
}
