/* af_rules_keys.c - each key's value in a rule line: entry points, size
   classes and ranges, globs, thread names, call sites and their calling
   contexts, integer triggers and probabilities, parsed and validated with
   an error that names the line and column. */
#define _GNU_SOURCE
#include "af_rules_scan.h"

#include <stdlib.h>
#include <string.h>

#include "af_fmt.h"
#include "af_glob.h"
#include "af_math.h"
#include "af_trigger.h"

/* ---- matcher values --------------------------------------------------- */

int af_rules_key_fn(struct scan *s, const char *at, const char *v, uint32_t *mask)
{
	struct af_list l = {0};
	if (af_rules_split_list(s, at, "fn", v, &l) < 0) {
		af_rules_free_list(&l);
		return -1;
	}
	*mask = 0;
	for (int i = 0; i < l.n; i++) {
		const char *why = af_glob_check(l.v[i]);
		if (why) {
			af_rules_fail_at(s, at, "bad pattern '%s' in fn=: %s", l.v[i], why);
			af_rules_free_list(&l);
			return -1;
		}
		uint32_t m = 0;
		for (int f = 0; f < AF_FN_COUNT; f++)
			if (af_glob(l.v[i], af_fn_names[f]))
				m |= 1u << f;
		if (!m) {
			const char *sug = af_suggest(l.v[i], af_fn_names, AF_FN_COUNT);
			if (sug)
				af_rules_fail_at(s, at, "unknown entry point '%s' in fn= (did you mean '%s'?)",
					l.v[i], sug);
			else
				af_rules_fail_at(s, at,
					"unknown entry point '%s' in fn=: expected malloc, calloc, "
					"realloc, reallocarray, posix_memalign, aligned_alloc, memalign, "
					"valloc or pvalloc",
					l.v[i]);
			af_rules_free_list(&l);
			return -1;
		}
		*mask |= m;
	}
	af_rules_free_list(&l);
	return 0;
}

static int parse_one_size(const char *t, struct af_size *z)
{
	uint64_t a, b;
	z->kind = AF_SZ_RANGE;
	if (strcmp(t, "small") == 0) {
		z->kind = AF_SZ_SMALL;
		return 0;
	}
	if (strcmp(t, "costly") == 0) {
		z->kind = AF_SZ_COSTLY;
		return 0;
	}
	if (t[0] == '<' && t[1] == '=') {
		if (af_parse_size(t + 2, &b) < 0)
			return -1;
		z->lo = 0;
		z->hi = b;
		return 0;
	}
	if (t[0] == '<') {
		if (af_parse_size(t + 1, &b) < 0 || b == 0)
			return -1;
		z->lo = 0;
		z->hi = b - 1;
		return 0;
	}
	if (t[0] == '>' && t[1] == '=') {
		if (af_parse_size(t + 2, &a) < 0)
			return -1;
		z->lo = a;
		z->hi = UINT64_MAX;
		return 0;
	}
	if (t[0] == '>') {
		if (af_parse_size(t + 1, &a) < 0 || a == UINT64_MAX)
			return -1;
		z->lo = a + 1;
		z->hi = UINT64_MAX;
		return 0;
	}
	const char *dots = strstr(t, "..");
	if (dots) {
		char left[64];
		size_t n = (size_t)(dots - t);
		if (n == 0 || n >= sizeof left)
			return -1;
		memcpy(left, t, n);
		left[n] = 0;
		if (af_parse_size(left, &a) < 0 || af_parse_size(dots + 2, &b) < 0 || a > b)
			return -1;
		z->lo = a;
		z->hi = b;
		return 0;
	}
	if (af_parse_size(t, &a) < 0)
		return -1;
	z->lo = z->hi = a;
	return 0;
}

/* key's comma list v into l, and a zeroed array of as many items of
   `size` bytes each; NULL with the error set and l freed. */
static void *split_with_array(struct scan *s, const char *at, const char *key, const char *v,
			      struct af_list *l, size_t size)
{
	if (af_rules_split_list(s, at, key, v, l) < 0) {
		af_rules_free_list(l);
		return NULL;
	}
	void *a = af_mem_alloc(size * (size_t)l->n);
	if (!a) {
		af_rules_free_list(l);
		af_rules_fail_at(s, at, "out of memory");
		return NULL;
	}
	return a; /* zeroed, as af_mem_alloc's memory is */
}

int af_rules_key_sizes(struct scan *s, const char *at, const char *v, struct af_rule *r)
{
	struct af_list l = {0};
	r->sizes = split_with_array(s, at, "size", v, &l, sizeof *r->sizes);
	if (!r->sizes)
		return -1;
	for (int i = 0; i < l.n; i++) {
		if (parse_one_size(l.v[i], &r->sizes[i]) < 0) {
			af_rules_fail_at(s, at,
				"invalid size '%s': expected small, costly, N, <N, <=N, >N, >=N or "
				"N..M (K, M, G suffixes are powers of 1024)",
				l.v[i]);
			af_rules_free_list(&l);
			return -1;
		}
		r->sizes[i].text = l.v[i];
		l.v[i] = NULL;
		r->nsizes++;
	}
	af_rules_free_list(&l);
	return 0;
}

int af_rules_key_globs(struct scan *s, const char *at, const char *key, const char *v,
		       struct af_list *l)
{
	if (af_rules_split_list(s, at, key, v, l) < 0)
		return -1;
	for (int i = 0; i < l->n; i++) {
		const char *why = af_glob_check(l->v[i]);
		if (why)
			return af_rules_fail_at(s, at, "bad pattern '%s' in %s=: %s", l->v[i], key, why);
	}
	return 0;
}

/* Linux keeps a thread's name in 16 bytes with its NUL (TASK_COMM_LEN):
   a pattern that needs more can never match, and a rule with it would
   silently test nothing. */
#define THREAD_NAME_MAX 15

int af_rules_key_threads(struct scan *s, const char *at, const char *v, struct af_list *l)
{
	if (af_rules_key_globs(s, at, "thread", v, l) < 0)
		return -1;
	for (int i = 0; i < l->n; i++)
		if (af_glob_min_len(l->v[i]) > THREAD_NAME_MAX)
			return af_rules_fail_at(s, at,
				       "thread name '%s' can never match: Linux thread names have at "
				       "most %d bytes",
				       l->v[i], THREAD_NAME_MAX);
	return 0;
}

/* One MODULE+0xOFFSET of a site= value, n bytes at p, into ref. */
static int parse_siteref(struct scan *s, const char *at, const char *item, const char *p, size_t n,
			 struct af_siteref *ref)
{
	const char *plus = NULL;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '+')
			plus = p + i;
	char num[24];
	size_t k = plus ? n - (size_t)(plus + 1 - p) : 0;
	uint64_t off;
	if (!plus || plus == p || k >= sizeof num || strncmp(plus + 1, "0x", 2) != 0 ||
	    (memcpy(num, plus + 1, k), num[k] = 0, af_parse_u64(num, &off) < 0))
		return af_rules_fail_at(s, at, "invalid site '%s': expected MODULE+0xOFFSET, as `allocfail "
				      "sites` prints it (a calling context: SITE<MODULE+0xOFFSET...)",
			       item);
	ref->module = af_rules_dupn(p, (size_t)(plus - p));
	ref->offset = off;
	return ref->module ? 0 : af_rules_fail_at(s, at, "out of memory");
}

int af_rules_key_sites(struct scan *s, const char *at, const char *v, struct af_rule *r)
{
	struct af_list l = {0};
	r->sites = split_with_array(s, at, "site", v, &l, sizeof *r->sites);
	if (!r->sites)
		return -1;
	for (int i = 0; i < l.n; i++) {
		struct af_siteref *ref = &r->sites[r->nsites++];
		const char *item = l.v[i];
		int nparts = 1;
		for (const char *c = item; *c; c++)
			nparts += *c == '<';
		if (nparts - 1 > AF_CTX_MAX) {
			af_rules_fail_at(s, at, "calling context '%s' names %d frames above the call site: at most %d",
				item, nparts - 1, AF_CTX_MAX);
			af_rules_free_list(&l);
			return -1;
		}
		if (nparts > 1) {
			r->has_context = 1;
			ref->ctx = af_mem_alloc(sizeof *ref->ctx * (size_t)(nparts - 1));
			if (!ref->ctx) {
				af_rules_free_list(&l);
				return af_rules_fail_at(s, at, "out of memory");
			}
		}
		const char *p = item;
		for (int k = 0; k < nparts; k++) {
			size_t n = strcspn(p, "<");
			struct af_siteref *dst = k ? &ref->ctx[ref->nctx++] : ref;
			if (parse_siteref(s, at, item, p, n, dst) < 0) {
				af_rules_free_list(&l);
				return -1;
			}
			p += n + (p[n] == '<');
		}
	}
	af_rules_free_list(&l);
	return 0;
}

int af_rules_key_int_range(struct scan *s, const char *at, const char *key, const char *v,
			   int64_t lo, int64_t hi, int64_t *out)
{
	int neg = v[0] == '-';
	uint64_t u;
	if (af_parse_u64(v + neg, &u) < 0 || u > (uint64_t)INT64_MAX)
		goto bad;
	int64_t x = neg ? -(int64_t)u : (int64_t)u;
	if (x < lo || x > hi)
		goto bad;
	*out = x;
	return 0;
bad:
	if (lo == -1)
		return af_rules_fail_at(s, at, "invalid %s '%s': expected -1 (unlimited) or a count from 0",
			       key, v);
	if (hi == INT64_MAX)
		return af_rules_fail_at(s, at, "invalid %s '%s': expected an integer >= %lld", key, v,
			       (long long)lo);
	return af_rules_fail_at(s, at, "invalid %s '%s': expected an integer from %lld to %lld", key, v,
		       (long long)lo, (long long)hi);
}

int af_rules_key_probability(struct scan *s, const char *at, const char *v, struct af_rule *r)
{
	const char *p = v;
	uint64_t num;
	int scale;
	if (af_parse_decimal(&p, &num, &scale) < 0 || (*p && strcmp(p, "%") != 0))
		goto bad;
	uint64_t den = af_pow10u(scale) * 100;
	if (num > den)
		goto bad;
	if (num == den) {
		r->prob_all = 1;
		r->prob = UINT64_MAX;
	} else {
		unsigned __int128 t = ((unsigned __int128)num << 64) / den;
		r->prob_all = 0;
		r->prob = (uint64_t)t;
	}
	/* canonical text: integer part, fraction without trailing zeros */
	uint64_t ip = num / af_pow10u(scale), fp = num % af_pow10u(scale);
	int sc = scale;
	while (sc > 0 && fp % 10 == 0) {
		fp /= 10;
		sc--;
	}
	if (sc)
		af_fmt(r->prob_text, sizeof r->prob_text, "%llu.%0*llu%%", (unsigned long long)ip, sc,
		       (unsigned long long)fp);
	else
		af_fmt(r->prob_text, sizeof r->prob_text, "%llu%%", (unsigned long long)ip);
	return 0;
bad:
	return af_rules_fail_at(s, at,
		       "invalid probability '%s': expected a percentage from 0 to 100, "
		       "fractions allowed (e.g. 0.5%%)",
		       v);
}
