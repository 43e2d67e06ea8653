/* af_rules_scan.c - the rule parser's line scanner: whitespace, comments
   and line ends (a newline, or ';' in --rule text), bare words, quoted
   values, key=value pairs and comma lists, and the errors that name the
   file, line and column of what is wrong. What a line means is
   af_rules_parse.c's and af_rules_set.c's; what a value means,
   af_rules_keys.c's. */
#define _GNU_SOURCE
#include "af_rules_scan.h"

#include <stdarg.h>
#include <string.h>

#include "af_fmt.h"

/* ---- small helpers ---------------------------------------------------- */

char *af_rules_dupn(const char *s, size_t n)
{
	char *d = af_mem_alloc(n + 1);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* ---- the line scanner ------------------------------------------------- */

__attribute__((format(printf, 3, 4))) int af_rules_fail_at(struct scan *s, const char *at,
							   const char *fmt, ...)
{
	struct af_buf b;
	af_buf_init(&b, s->err->msg, sizeof s->err->msg);
	af_buf_fmt(&b, "%s:%d:%d: ", s->file, s->line, (int)(at - s->bol) + 1);
	va_list ap;
	va_start(ap, fmt);
	size_t room = b.cap - b.len;
	size_t n = af_vfmt(b.p + b.len, room, fmt, ap);
	va_end(ap);
	(void)n;
	return -1;
}

void af_rules_skip_ws(struct scan *s)
{
	while (!af_rules_is_eol(s, s->p) && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r'))
		s->p++;
}

int af_rules_at_comment(struct scan *s)
{
	return !af_rules_is_eol(s, s->p) && *s->p == '#';
}

/* A bare word [A-Za-z0-9_-]+; returns its length. */
size_t af_rules_word_len(struct scan *s, const char *q)
{
	size_t n = 0;
	while (!af_rules_is_eol(s, q + n) &&
	       (q[n] == '_' || q[n] == '-' || (q[n] >= 'a' && q[n] <= 'z') ||
		(q[n] >= 'A' && q[n] <= 'Z') || (q[n] >= '0' && q[n] <= '9')))
		n++;
	return n;
}

/* Reads a value: up to whitespace, where "..." segments (with \" and \\)
   may hold spaces, '#' and ';'. Segments concatenate, as in a shell. No
   length limit but the line's: a value never outgrows the line it is read
   from, so the normalized form of any rule (sizes spelled out, as
   af_rule_format prints them) parses again. */
int af_rules_read_value(struct scan *s, char **out, const char **at)
{
	*at = s->p;
	const char *q = s->p;
	const char *eol = memchr(q, '\n', (size_t)(s->end - q));
	char *buf = af_mem_alloc((size_t)((eol ? eol : s->end) - q) + 1);
	if (!buf)
		return af_rules_fail_at(s, *at, "out of memory");
	size_t n = 0;
	while (!af_rules_is_eol(s, q) && *q != ' ' && *q != '\t' && *q != '\r') {
		if (*q == '"') {
			const char *open = q++;
			while (q < s->end && *q != '\n' && *q != '"') {
				if (*q == '\\' && q + 1 < s->end && (q[1] == '"' || q[1] == '\\'))
					q++;
				if ((unsigned char)*q < 0x20 || *q == 0x7f) {
					af_mem_free(buf);
					return af_rules_fail_at(s, q, "control character 0x%02x in a value",
								(unsigned char)*q);
				}
				buf[n++] = *q++;
			}
			if (q >= s->end || *q != '"') {
				af_mem_free(buf);
				return af_rules_fail_at(s, open, "unterminated quoted value");
			}
			q++;
			continue;
		}
		if ((unsigned char)*q < 0x20 || *q == 0x7f) {
			af_mem_free(buf);
			return af_rules_fail_at(s, q, "control character 0x%02x in a value", (unsigned char)*q);
		}
		buf[n++] = *q++;
	}
	buf[n] = 0;
	s->p = q;
	*out = buf;
	return 0;
}

/* Splits a comma list; empty items are an error. */
int af_rules_split_list(struct scan *s, const char *at, const char *key, const char *v,
			struct af_list *l)
{
	int n = 1;
	for (const char *q = v; *q; q++)
		n += *q == ',';
	l->v = af_mem_alloc(sizeof(char *) * (size_t)n);
	if (!l->v)
		return af_rules_fail_at(s, at, "out of memory");
	const char *start = v;
	for (const char *q = v;; q++) {
		if (*q == ',' || *q == 0) {
			if (q == start)
				return af_rules_fail_at(s, at,
							"empty item in %s= (a comma list needs a "
							"value between commas)",
							key);
			char *item = af_rules_dupn(start, (size_t)(q - start));
			if (!item)
				return af_rules_fail_at(s, at, "out of memory");
			l->v[l->n++] = item;
			start = q + 1;
			if (*q == 0)
				break;
		}
	}
	return 0;
}

void af_rules_free_list(struct af_list *l)
{
	for (int i = 0; i < l->n; i++)
		af_mem_free(l->v[i]);
	af_mem_free(l->v);
	l->v = NULL;
	l->n = 0;
}

int af_rules_find_word(const char *w, size_t n, const char *const *words, int count)
{
	for (int i = 0; i < count; i++)
		if (strlen(words[i]) == n && strncmp(words[i], w, n) == 0)
			return i;
	return -1;
}

/* The error for a word that is none of words (what: "key", "setting",
   "action"): the nearest one as a suggestion, else what may stand there. */
int af_rules_fail_unknown(struct scan *s, const char *at, const char *what, const char *w,
			  const char *const *words, int count, const char *expected)
{
	const char *sug = af_suggest(w, words, count);
	if (sug)
		return af_rules_fail_at(s, at, "unknown %s '%s' (did you mean '%s'?)", what, w, sug);
	return af_rules_fail_at(s, at, "unknown %s '%s': %s", what, w, expected);
}

/* "invalid KEY 'v': expected ..."; -1. */
int af_rules_fail_invalid(struct scan *s, const char *at, const char *key, const char *v,
			  const char *expected)
{
	return af_rules_fail_at(s, at, "invalid %s '%s': expected %s", key, v, expected);
}

/* The key of a key=value pair at s->p: its index in names, or -1 with the
   scanner's error set (not a key=value; a setting on a rule line where
   names are the rule keys; an unknown key). */
int af_rules_read_key(struct scan *s, const char *const *names, int count, const char *what,
		      const char *expected)
{
	const char *at = s->p;
	size_t kl = af_rules_word_len(s, s->p);
	if (kl == 0 || af_rules_is_eol(s, s->p + kl) || s->p[kl] != '=') {
		const char *q = s->p;
		while (!af_rules_is_eol(s, q) && *q != ' ' && *q != '\t')
			q++;
		return af_rules_fail_at(s, at, "expected key=value, got '%.*s'", (int)(q - at), at);
	}
	int k = af_rules_find_word(s->p, kl, names, count);
	if (k < 0) {
		char w[64];
		af_fmt(w, sizeof w, "%.*s", (int)kl, s->p);
		if (names != af_setting_names &&
		    af_rules_find_word(w, kl, af_setting_names, AF_S_COUNT) >= 0)
			return af_rules_fail_at(s, at, "'%s' is a setting: write it on a `set` line", w);
		return af_rules_fail_unknown(s, at, what, w, names, count, expected);
	}
	return k;
}

/* The value after "key=" (s->p at the '='): 0 with *v in af_mem memory
   and *vat its place, or -1 with the error set (an empty value is one). */
int af_rules_read_pair_value(struct scan *s, const char *key, char **v, const char **vat)
{
	s->p++;
	if (af_rules_read_value(s, v, vat) < 0)
		return -1;
	if (!**v) {
		af_mem_free(*v);
		return af_rules_fail_at(s, *vat, "empty value for '%s'", key);
	}
	return 0;
}
