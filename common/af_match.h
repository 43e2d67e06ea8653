/* af_match.h - the rules compiled for the allocation path.
   A policy becomes bitsets: the rules admitting each entry point, the rules
   admitting each interval of the size axis, and, per code address, the
   rules whose caller/module/site matchers accept it. Deciding is then an
   AND of a few words and a scan for the first set bit, whatever the number
   of rules. Plain C: the shim supplies call-site facts through callbacks. */
#ifndef AF_MATCH_H
#define AF_MATCH_H

#include <stdint.h>

#include "af_rules.h"

/* What is known of one code address. */
struct af_frameinfo {
	const char *module;   /* full path of the object */
	const char *basename; /* its last component */
	const char *func;     /* symbol name, NULL when unknown */
	const char *const *aliases; /* its other names */
	int naliases;
	uint64_t offset;      /* address - load bias: the ELF virtual address */
};

struct af_match {
	const struct af_policy *pol;
	int nrules, nwords;
	uint64_t *fn_cand;   /* AF_FN_COUNT x nwords */
	int nbounds;
	uint64_t *bounds;    /* starts of the size intervals, bounds[0] == 0; none
				straddles the costly threshold */
	uint64_t *size_cand; /* nbounds x nwords */
	uint64_t *site_rules;  /* rules with caller=, module= or site= */
	uint64_t *stack_rules; /* rules with in=, notin= or a calling context */
	uint64_t *thread_rules;
	int any_stack; /* some rule looks at the stack: capture it early */
	int need_names; /* some matcher needs function names */
	int max_depth;  /* frames any of stack_rules looks at */
	/* per (fn, size interval): 1 when one of stack_rules is a
	   candidate, so the stack is worth capturing early */
	unsigned char *stack_cand; /* AF_FN_COUNT x nbounds */
};

/* A query: the cheap facts, and callbacks for the expensive ones, which
   af_match_first calls at most once each and only when a candidate rule
   needs them. */
struct af_query {
	int fn;
	uint64_t size;
	void *ctx;
	/* mask over rules: bit set when the rule's call-site matchers accept
	   the call site (rules without such matchers: always set) */
	const uint64_t *(*site_mask)(void *ctx);
	/* 1 when rule r's in=/notin= accept the stack */
	int (*stack_ok)(void *ctx, const struct af_rule *r);
	/* 1 when rule r's thread= accepts the current thread */
	int (*thread_ok)(void *ctx, const struct af_rule *r);
};

/* The size interval holding size: the last bound at or below it. */
static inline int af_match_interval(const struct af_match *m, uint64_t size)
{
	int lo = 0, hi = m->nbounds - 1;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (m->bounds[mid] <= size)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

int af_match_compile(struct af_match *m, const struct af_policy *p);
void af_match_free(struct af_match *m);
/* The first rule whose matchers all accept the query, or -1. */
int af_match_first(const struct af_match *m, struct af_query *q);
/* Per-address masks (nwords each): site: rules whose call-site matchers
   accept `f` as the call site; in/notin: rules with an in=/notin= pattern
   matching f's function. Any output may be NULL. */
void af_match_addr_masks(const struct af_match *m, const struct af_frameinfo *f,
			 uint64_t *site, uint64_t *in, uint64_t *notin);
/* The single-rule predicates behind those masks, for tests and tools. */
int af_rule_site_ok(const struct af_rule *r, const struct af_frameinfo *f);
int af_rule_thread_ok(const struct af_rule *r, const char *thread_name);

static inline int af_bit(const uint64_t *v, int i)
{
	return (int)((v[i >> 6] >> (i & 63)) & 1);
}

#endif
