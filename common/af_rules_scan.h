/* af_rules_scan.h - what the rule parser's files share (af_rules_parse.c
   scans lines and rules, af_rules_keys.c parses each key's value): the
   scanner's state and its error helper. Not for other users of the rule
   language (af_rules.h is theirs). */
#ifndef AF_RULES_SCAN_H
#define AF_RULES_SCAN_H

#include "af_rules.h"

struct scan {
	struct af_policy *pol;
	const char *file; /* interned */
	int line;
	const char *bol; /* beginning of the line, for columns */
	const char *p, *end;
	int inline_text;  /* ';' separates lines */
	struct af_error *err;
};

/* "FILE:LINE:COL: message" into the scanner's error, at column at; -1. */
__attribute__((format(printf, 3, 4))) int af_rules_fail_at(struct scan *s, const char *at,
							   const char *fmt, ...);
/* n bytes of s, NUL-terminated, in af_mem memory (NULL: out of memory). */
char *af_rules_dupn(const char *s, size_t n);
/* A comma list of key's value v (at: its place, for errors) into l. */
int af_rules_split_list(struct scan *s, const char *at, const char *key, const char *v,
			struct af_list *l);
void af_rules_free_list(struct af_list *l);

/* Each key's value, parsed and validated into the rule (af_rules_keys.c);
   0, or -1 with the scanner's error set. */
int af_rules_key_fn(struct scan *s, const char *at, const char *v, uint32_t *mask);
int af_rules_key_sizes(struct scan *s, const char *at, const char *v, struct af_rule *r);
int af_rules_key_globs(struct scan *s, const char *at, const char *key, const char *v,
		       struct af_list *l);
int af_rules_key_threads(struct scan *s, const char *at, const char *v, struct af_list *l);
int af_rules_key_sites(struct scan *s, const char *at, const char *v, struct af_rule *r);
int af_rules_key_int_range(struct scan *s, const char *at, const char *key, const char *v,
			   int64_t lo, int64_t hi, int64_t *out);
int af_rules_key_probability(struct scan *s, const char *at, const char *v, struct af_rule *r);

#endif
