/* af_rules_scan.h - what the rule parser's files share (af_rules_scan.c
   scans lines, af_rules_parse.c reads rules, include and files,
   af_rules_set.c settings, af_rules_keys.c each key's value): the
   scanner's state, its reading and error functions, the integer ranges.
   Not for other users of the rule language (af_rules.h is theirs). */
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

/* The keys and settings whose value is an integer in a range, the range
   (hi 0: not an integer key). */
struct int_range {
	int64_t lo, hi;
};

/* The scanner (af_rules_scan.c). */

/* Whether q is at the end of the line: the text's end, a newline, or ';'
   in --rule text. Inline: it is asked once per character scanned. */
static inline int af_rules_is_eol(const struct scan *s, const char *q)
{
	return q >= s->end || *q == '\n' || (s->inline_text && *q == ';');
}
void af_rules_skip_ws(struct scan *s);
/* Whether s->p starts a comment (the rest of the line). */
int af_rules_at_comment(struct scan *s);
size_t af_rules_word_len(struct scan *s, const char *q);
/* A value at s->p into *out (af_mem memory) and its place into *at; 0, or
   -1 with the error set. */
int af_rules_read_value(struct scan *s, char **out, const char **at);
/* The key of a key=value pair at s->p: its index in names (what: "key" or
   "setting", expected: the error's list of them), or -1 with the error
   set. s->p stays at the key. */
int af_rules_read_key(struct scan *s, const char *const *names, int count, const char *what,
		      const char *expected);
int af_rules_read_pair_value(struct scan *s, const char *key, char **v, const char **vat);
/* The index of the n bytes at w among words, or -1. */
int af_rules_find_word(const char *w, size_t n, const char *const *words, int count);

/* "FILE:LINE:COL: message" into the scanner's error, at column at; -1. */
__attribute__((format(printf, 3, 4))) int af_rules_fail_at(struct scan *s, const char *at,
							   const char *fmt, ...);
int af_rules_fail_unknown(struct scan *s, const char *at, const char *what, const char *w,
			  const char *const *words, int count, const char *expected);
int af_rules_fail_invalid(struct scan *s, const char *at, const char *key, const char *v,
			  const char *expected);
/* n bytes of s, NUL-terminated, in af_mem memory (NULL: out of memory). */
char *af_rules_dupn(const char *s, size_t n);
/* A comma list of key's value v (at: its place, for errors) into l. */
int af_rules_split_list(struct scan *s, const char *at, const char *key, const char *v,
			struct af_list *l);
void af_rules_free_list(struct af_list *l);

/* Settings (af_rules_set.c): the key=value pairs of a `set` line (at: its
   start), and one pair at s->p; 0, or -1 with the scanner's error set. */
int af_rules_parse_set(struct scan *s, const char *at);
int af_rules_parse_set_pair(struct scan *s);

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
