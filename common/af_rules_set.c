/* af_rules_set.c - settings, from a `set` line of a rule file or from
   --set: each setting's name, its value validated (an integer in a range,
   one of a few words, a size, a duration, a seed, a path) into struct
   af_settings with the file and line that set it, and a setting set twice
   in one file refused. */
#define _GNU_SOURCE
#include "af_rules_scan.h"

#include <string.h>

#include "af_fmt.h"

const char *const af_setting_names[AF_S_COUNT] = {
    "costly_order", "page_size", "small", "retry_warn", "retry_timeout",
    "oom",          "limit",     "seed",  "depth",      "log",
};

static const struct int_range setting_ranges[AF_S_COUNT] = {
    [AF_S_COSTLY_ORDER] = {0, 20},
    [AF_S_RETRY_WARN] = {1, 1000000000},
    [AF_S_DEPTH] = {1, 128},
};

/* The settings whose value is one of a few words, the words (the value is
   the word's index) and the error's list of them. */
static const char *const small_words[] = {"retry", "noretry"}; /* small_noretry */
static const char *const oom_words[] = {"abort", "fail", "wait"}; /* enum af_oom */
struct word_choice {
	const char *const *words;
	int n;
	const char *expected;
};
static const struct word_choice setting_words[AF_S_COUNT] = {
    [AF_S_SMALL] = {small_words, 2, "retry or noretry"},
    [AF_S_OOM] = {oom_words, 3, "abort, fail or wait"},
};

/* The index of v among c's words, or -1 with the error set. */
static int pick_word(struct scan *s, const char *at, const char *key, const char *v,
		     const struct word_choice *c)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(v, c->words[i]) == 0)
			return i;
	return af_rules_fail_invalid(s, at, key, v, c->expected);
}

static int apply_setting(struct scan *s, const char *at, int k, const char *v)
{
	struct af_settings *st = &s->pol->set;
	uint64_t u;
	int64_t x = 0;
	int w = 0;
	const struct int_range *range = &setting_ranges[k];
	if (range->hi && af_rules_key_int_range(s, at, af_setting_names[k], v, range->lo, range->hi,
						&x) < 0)
		return -1;
	if (setting_words[k].n && (w = pick_word(s, at, af_setting_names[k], v, &setting_words[k])) < 0)
		return -1;
	switch (k) {
	case AF_S_COSTLY_ORDER:
		st->costly_order = (unsigned)x;
		break;
	case AF_S_PAGE_SIZE:
		if (af_parse_size(v, &u) < 0 || u < 256 || u > (1ull << 30) || (u & (u - 1)))
			return af_rules_fail_invalid(s, at, "page_size", v,
						     "a power of two from 256 to 1G");
		st->page_size = u;
		break;
	case AF_S_SMALL:
		st->small_noretry = w;
		break;
	case AF_S_RETRY_WARN:
		st->retry_warn = (unsigned)x;
		break;
	case AF_S_RETRY_TIMEOUT:
		if (af_parse_duration(v, &u) < 0)
			return af_rules_fail_invalid(s, at, "retry_timeout", v,
						     "a duration such as 10s, 500ms or 2m");
		st->retry_timeout_ns = u;
		break;
	case AF_S_OOM:
		st->oom = (enum af_oom)w;
		break;
	case AF_S_LIMIT:
		if (af_parse_size(v, &u) < 0 || u > (uint64_t)INT64_MAX)
			return af_rules_fail_invalid(s, at, "limit", v,
						     "a size in bytes, 0 for none (K, M, G suffixes "
						     "are powers of 1024)");
		st->limit = u;
		break;
	case AF_S_SEED:
		if (af_parse_u64(v, &u) < 0)
			return af_rules_fail_invalid(s, at, "seed", v, "an unsigned 64-bit integer");
		st->seed = u;
		break;
	case AF_S_DEPTH:
		st->depth = (int)x;
		break;
	case AF_S_LOG:
		af_mem_free(st->log);
		st->log = af_rules_dupn(v, strlen(v));
		if (!st->log)
			return af_rules_fail_at(s, at, "out of memory");
		break;
	}
	st->given |= 1u << k;
	st->origin_file[k] = s->file;
	st->origin_line[k] = s->line;
	return 0;
}

int af_rules_parse_set_pair(struct scan *s)
{
	const char *at = s->p;
	int k = af_rules_read_key(s, af_setting_names, AF_S_COUNT, "setting",
				  "expected costly_order, page_size, small, retry_warn, "
				  "retry_timeout, oom, limit, seed, depth or log");
	if (k < 0)
		return -1;
	struct af_settings *st = &s->pol->set;
	if ((st->given & (1u << k)) && st->origin_file[k] == s->file)
		return af_rules_fail_at(s, at, "setting '%s' is already set at %s:%d", af_setting_names[k],
					st->origin_file[k], st->origin_line[k]);
	s->p += strlen(af_setting_names[k]);
	const char *vat;
	char *v;
	if (af_rules_read_pair_value(s, af_setting_names[k], &v, &vat) < 0)
		return -1;
	int rc = apply_setting(s, vat, k, v);
	af_mem_free(v);
	return rc;
}

int af_rules_parse_set(struct scan *s, const char *at)
{
	int n = 0;
	for (;;) {
		af_rules_skip_ws(s);
		if (af_rules_is_eol(s, s->p) || af_rules_at_comment(s))
			break;
		if (af_rules_parse_set_pair(s) < 0)
			return -1;
		n++;
	}
	if (!n)
		return af_rules_fail_at(s, at, "set needs at least one key=value");
	return 0;
}
