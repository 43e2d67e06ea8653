/* af_rules_parse.c - rule files and --rule texts into a struct af_policy:
   each line's first word, a rule's keys checked against each other and
   the rule added to the policy, include, and the public entry points
   (the scanner is af_rules_scan.c's, `set` lines af_rules_set.c's, each
   key's value af_rules_keys.c's, the values' own syntax
   af_rules_values.c's). */
#define _GNU_SOURCE
#include "af_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "af_fmt.h"
#include "af_math.h"
#include "af_trigger.h"
#include "af_rules_scan.h"


const char *const af_fn_names[AF_FN_COUNT] = {
    "malloc",        "calloc",  "realloc", "reallocarray", "posix_memalign",
    "aligned_alloc", "memalign", "valloc", "pvalloc",
};

const char *const af_action_names[3] = {"fail", "nofail", "noretry"};

static const char *const key_names[AF_K_COUNT] = {
    "fn",   "size", "caller", "in",    "notin",    "module",      "site",
    "thread", "depth", "nth", "times", "space", "interval", "probability",
};

static const struct int_range key_ranges[AF_K_COUNT] = {
    [AF_K_DEPTH] = {1, 128},
    [AF_K_NTH] = {1, INT64_MAX},
    [AF_K_TIMES] = {-1, INT64_MAX},
    [AF_K_INTERVAL] = {1, INT64_MAX},
};

static const char *const line_words[] = {"fail", "nofail", "noretry", "set", "include"};

/* ---- the policy's strings --------------------------------------------- */

static const char *intern(struct af_policy *p, const char *s)
{
	for (int i = 0; i < p->nstrings; i++)
		if (strcmp(p->strings[i], s) == 0)
			return p->strings[i];
	if (p->nstrings == p->capstrings) {
		int cap = p->capstrings ? p->capstrings * 2 : 8;
		char **v = af_mem_alloc(sizeof *v * (size_t)cap);
		if (!v)
			return "?";
		if (p->strings)
			memcpy(v, p->strings, sizeof *v * (size_t)p->nstrings);
		af_mem_free(p->strings);
		p->strings = v;
		p->capstrings = cap;
	}
	char *d = af_rules_dupn(s, strlen(s));
	if (!d)
		return "?";
	p->strings[p->nstrings++] = d;
	return d;
}

/* ---- rules ------------------------------------------------------------ */

static void rule_free(struct af_rule *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nsizes; i++)
		af_mem_free(r->sizes[i].text);
	af_mem_free(r->sizes);
	af_rules_free_list(&r->caller);
	af_rules_free_list(&r->in);
	af_rules_free_list(&r->notin);
	af_rules_free_list(&r->module);
	af_rules_free_list(&r->thread);
	for (int i = 0; i < r->nsites; i++) {
		af_mem_free(r->sites[i].module);
		for (int k = 0; k < r->sites[i].nctx; k++)
			af_mem_free(r->sites[i].ctx[k].module);
		af_mem_free(r->sites[i].ctx);
	}
	af_mem_free(r->sites);
	af_mem_free(r);
}

/* key=value pairs of an action line. */
static int parse_rule(struct scan *s, int action, const char *action_at)
{
	struct af_policy *pol = s->pol;
	struct af_rule *r = af_mem_alloc(sizeof *r);
	if (!r)
		return af_rules_fail_at(s, action_at, "out of memory");
	r->action = action;
	r->file = s->file;
	r->line = s->line;
	r->fnmask = (1u << AF_FN_COUNT) - 1;
	r->times = -1;
	r->prob_all = 1; /* probability defaults to 100% */
	r->prob = UINT64_MAX;
	const char *key_at[AF_K_COUNT] = {0};

	for (;;) {
		af_rules_skip_ws(s);
		if (af_rules_is_eol(s, s->p) || af_rules_at_comment(s))
			break;
		const char *at = s->p;
		int k = af_rules_read_key(s, key_names, AF_K_COUNT, "key",
					  "expected fn, size, caller, in, notin, module, site, "
					  "thread, depth, nth, times, space, interval or probability");
		if (k < 0)
			goto fail;
		if (r->given & (1u << k)) {
			af_rules_fail_at(s, at, "duplicate key '%s' (a comma list ORs values)", key_names[k]);
			goto fail;
		}
		if (action != AF_ACT_FAIL && ((1u << k) & AF_TRIGGER_KEYS)) {
			af_rules_fail_at(s, at, "'%s' is a trigger and only applies to fail rules",
				key_names[k]);
			goto fail;
		}
		s->p += strlen(key_names[k]);
		const char *vat;
		char *v;
		if (af_rules_read_pair_value(s, key_names[k], &v, &vat) < 0)
			goto fail;
		r->given |= 1u << k;
		key_at[k] = at;
		const struct int_range *range = &key_ranges[k];
		int64_t x = 0;
		uint64_t u;
		int rc = range->hi ? af_rules_key_int_range(s, vat, key_names[k], v, range->lo,
							     range->hi, &x)
				   : 0;
		switch (k) {
		case AF_K_FN: rc = af_rules_key_fn(s, vat, v, &r->fnmask); break;
		case AF_K_SIZE: rc = af_rules_key_sizes(s, vat, v, r); break;
		case AF_K_CALLER: rc = af_rules_key_globs(s, vat, "caller", v, &r->caller); break;
		case AF_K_IN: rc = af_rules_key_globs(s, vat, "in", v, &r->in); break;
		case AF_K_NOTIN: rc = af_rules_key_globs(s, vat, "notin", v, &r->notin); break;
		case AF_K_MODULE: rc = af_rules_key_globs(s, vat, "module", v, &r->module); break;
		case AF_K_THREAD: rc = af_rules_key_threads(s, vat, v, &r->thread); break;
		case AF_K_SITE: rc = af_rules_key_sites(s, vat, v, r); break;
		case AF_K_DEPTH: r->depth = (int)x; break;
		case AF_K_NTH: r->nth = (uint64_t)x; break;
		case AF_K_TIMES: r->times = x; break;
		case AF_K_INTERVAL: r->interval = (uint64_t)x; break;
		case AF_K_SPACE:
			if (af_parse_size(v, &u) < 0 || u > (uint64_t)INT64_MAX)
				rc = af_rules_fail_invalid(s, vat, "space", v,
							   "a size in bytes (K, M, G suffixes are "
							   "powers of 1024)");
			r->space = u;
			break;
		case AF_K_PROBABILITY: rc = af_rules_key_probability(s, vat, v, r); break;
		}
		af_mem_free(v);
		if (rc < 0)
			goto fail;
	}
	if ((r->given & (1u << AF_K_DEPTH)) &&
	    !(r->given & ((1u << AF_K_IN) | (1u << AF_K_NOTIN)))) {
		af_rules_fail_at(s, key_at[AF_K_DEPTH], "depth= only applies to in= and notin=");
		goto fail;
	}
	if ((r->given & (1u << AF_K_NTH)) &&
	    (r->given & (AF_TRIGGER_KEYS & ~(1u << AF_K_NTH)))) {
		int other = AF_K_TIMES;
		while (!(r->given & (1u << other)))
			other++;
		af_rules_fail_at(s, key_at[other],
			"'%s' cannot be combined with nth= (nth decides alone, as fail-nth "
			"does in Linux)",
			key_names[other]);
		goto fail;
	}
	if (pol->nrules >= AF_MAX_RULES) {
		af_rules_fail_at(s, action_at, "too many rules: at most %d are supported", AF_MAX_RULES);
		goto fail;
	}
	if (pol->nrules == pol->caprules) {
		int cap = pol->caprules ? pol->caprules * 2 : 16;
		const struct af_rule **v = af_mem_alloc(sizeof *v * (size_t)cap);
		/* the counters start at af_policy_finish: nothing to copy */
		struct af_rule_state *st = af_mem_alloc(sizeof *st * (size_t)cap);
		if (!v || !st) {
			af_mem_free(v);
			af_mem_free(st);
			af_rules_fail_at(s, action_at, "out of memory");
			goto fail;
		}
		if (pol->rules)
			memcpy(v, pol->rules, sizeof *v * (size_t)pol->nrules);
		af_mem_free(pol->rules);
		af_mem_free(pol->state);
		pol->rules = v;
		pol->state = st;
		pol->caprules = cap;
	}
	/* once per rule here, not once per gap a stream draws */
	r->prob_ln1m = af_ln1p(-((double)r->prob * 0x1.0p-64));
	r->index = pol->nrules;
	pol->rules[pol->nrules++] = r;
	return 0;
fail:
	rule_free(r);
	return -1;
}

/* ---- files and include ------------------------------------------------ */

#define RULES_FILE_MAX (64 << 20)

/* The whole file, read until end of file: st_size is no guide for pipes
   (bash's <(...)), FIFOs, or /proc, whose files say 0 bytes and are not. */
static int read_file(const char *path, char **buf, size_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		*err = errno;
	else if (S_ISDIR(st.st_mode))
		*err = EISDIR;
	else
		*err = 0;
	if (*err) {
		close(fd);
		return -1;
	}
	/* room for the file, its NUL, and the read that finds the end */
	size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < RULES_FILE_MAX
			     ? (size_t)st.st_size + 2
			     : 4096,
	       n = 0;
	char *b = af_mem_alloc(cap);
	for (;;) {
		if (b && n + 1 == cap) {
			if (n >= RULES_FILE_MAX) {
				close(fd);
				af_mem_free(b);
				*err = EFBIG;
				return -1;
			}
			/* af_mem_* has no realloc (in the shim: its own arena) */
			char *bigger = af_mem_alloc(cap * 2);
			if (bigger)
				memcpy(bigger, b, n);
			af_mem_free(b);
			b = bigger;
			cap *= 2;
		}
		if (!b) {
			close(fd);
			*err = ENOMEM;
			return -1;
		}
		ssize_t r = read(fd, b + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = errno;
			close(fd);
			af_mem_free(b);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

static int parse_buffer(struct af_policy *p, const char *text, size_t len, const char *file,
			int inline_text, struct af_error *err);

static const char *read_error(int e)
{
	if (e == EFBIG)
		return "larger than 64 MiB";
	return strerror(e);
}

static int do_include(struct scan *s, const char *at)
{
	af_rules_skip_ws(s);
	if (af_rules_is_eol(s, s->p) || af_rules_at_comment(s))
		return af_rules_fail_at(s, at, "include needs a file name");
	const char *vat;
	char *name;
	if (af_rules_read_value(s, &name, &vat) < 0)
		return -1;
	af_rules_skip_ws(s);
	if (!af_rules_is_eol(s, s->p) && !af_rules_at_comment(s)) {
		af_mem_free(name);
		return af_rules_fail_at(s, s->p, "unexpected text after the include file name");
	}
	char path[PATH_MAX];
	if (name[0] == '/' || s->inline_text) {
		af_fmt(path, sizeof path, "%s", name);
	} else {
		const char *slash = strrchr(s->file, '/');
		if (slash)
			af_fmt(path, sizeof path, "%.*s/%s", (int)(slash - s->file), s->file, name);
		else
			af_fmt(path, sizeof path, "%s", name);
	}
	af_mem_free(name);
	struct af_policy *pol = s->pol;
	char real[PATH_MAX];
	if (!realpath(path, real))
		return af_rules_fail_at(s, vat, "cannot read included file '%s': %s", path, strerror(errno));
	for (int i = 0; i < pol->include_depth; i++)
		if (strcmp(pol->include_stack[i], real) == 0)
			return af_rules_fail_at(s, vat, "include cycle: '%s' includes itself", path);
	if (pol->include_depth >= 15)
		return af_rules_fail_at(s, vat, "includes nested more than 15 deep");
	char *buf;
	size_t len;
	int e;
	if (read_file(path, &buf, &len, &e) < 0)
		return af_rules_fail_at(s, vat, "cannot read included file '%s': %s", path, read_error(e));
	pol->include_stack[pol->include_depth++] = intern(pol, real);
	int rc = parse_buffer(pol, buf, len, intern(pol, path), 0, s->err);
	pol->include_depth--;
	af_mem_free(buf);
	return rc;
}

static int parse_line(struct scan *s)
{
	af_rules_skip_ws(s);
	if (af_rules_is_eol(s, s->p) || af_rules_at_comment(s))
		return 0;
	const char *at = s->p;
	size_t n = af_rules_word_len(s, s->p);
	int w = n ? af_rules_find_word(s->p, n, line_words, 5) : -1;
	if (w < 0) {
		const char *q = s->p;
		while (!af_rules_is_eol(s, q) && *q != ' ' && *q != '\t')
			q++;
		char word[64];
		af_fmt(word, sizeof word, "%.*s", (int)(q - at), at);
		return af_rules_fail_unknown(s, at, "action", word, line_words, 5,
					     "a line starts with fail, nofail, noretry, set or "
					     "include");
	}
	s->p += n;
	if (!af_rules_is_eol(s, s->p) && *s->p != ' ' && *s->p != '\t' && *s->p != '\r' && *s->p != '#')
		return af_rules_fail_at(s, s->p, "expected whitespace after '%.*s'", (int)n, at);
	switch (w) {
	case 0: return parse_rule(s, AF_ACT_FAIL, at);
	case 1: return parse_rule(s, AF_ACT_NOFAIL, at);
	case 2: return parse_rule(s, AF_ACT_NORETRY, at);
	case 3: return af_rules_parse_set(s, at);
	default: return do_include(s, at);
	}
}

static int parse_buffer(struct af_policy *p, const char *text, size_t len, const char *file,
			int inline_text, struct af_error *err)
{
	struct scan s = {p, file, 1, text, text, text + len, inline_text, err};
	while (s.p < s.end) {
		if (s.p == text || s.p[-1] == '\n')
			s.bol = s.p;
		if (memchr(s.p, 0, (size_t)(s.end - s.p))) {
			const char *z = memchr(s.p, 0, (size_t)(s.end - s.p));
			const char *nl = memchr(s.p, '\n', (size_t)(s.end - s.p));
			if (!nl || z < nl)
				return af_rules_fail_at(&s, z, "NUL byte in rule text");
		}
		if (parse_line(&s) < 0)
			return -1;
		/* advance to the end of the line (or ';') */
		while (s.p < s.end && !af_rules_is_eol(&s, s.p))
			s.p++;
		if (s.p < s.end) {
			if (*s.p == '\n')
				s.line++;
			s.p++;
		}
	}
	return 0;
}

/* ---- public entry points ---------------------------------------------- */

void af_policy_init(struct af_policy *p)
{
	memset(p, 0, sizeof *p);
	p->set.costly_order = 3;
	p->set.page_size = 4096;
	/* no rule and no setting: real failures reach the program as they
	   would without the shim; the kernel's retrying is a policy
	   (policies/kernel.rules) */
	p->set.small_noretry = 1;
	p->set.retry_warn = 16;
	p->set.retry_timeout_ns = 10ull * 1000000000ull;
	p->set.oom = AF_OOM_ABORT;
	p->set.depth = 32;
}

void af_policy_free(struct af_policy *p)
{
	for (int i = 0; i < p->nrules; i++)
		rule_free((struct af_rule *)p->rules[i]);
	af_mem_free(p->rules);
	af_mem_free(p->state);
	for (int i = 0; i < p->nstrings; i++)
		af_mem_free(p->strings[i]);
	af_mem_free(p->strings);
	af_mem_free(p->set.log);
	memset(p, 0, sizeof *p);
}

int af_policy_read_file(const char *path, char **text, size_t *len, struct af_error *err)
{
	int e;
	if (read_file(path, text, len, &e) < 0) {
		af_fmt(err->msg, sizeof err->msg, "cannot read rules file '%s': %s", path,
		       read_error(e));
		return -1;
	}
	return 0;
}

int af_policy_parse_file_text(struct af_policy *p, const char *text, size_t len, const char *path,
			      struct af_error *err)
{
	char real[PATH_MAX];
	int pushed = 0;
	if (realpath(path, real) && p->include_depth < 15) {
		p->include_stack[p->include_depth++] = intern(p, real);
		pushed = 1;
	}
	int rc = parse_buffer(p, text, len, intern(p, path), 0, err);
	if (pushed)
		p->include_depth--;
	return rc;
}

int af_policy_parse_file(struct af_policy *p, const char *path, struct af_error *err)
{
	char *buf;
	size_t len;
	if (af_policy_read_file(path, &buf, &len, err) < 0)
		return -1;
	int rc = af_policy_parse_file_text(p, buf, len, path, err);
	af_mem_free(buf);
	return rc;
}

int af_policy_parse_text(struct af_policy *p, const char *text, size_t len, const char *origin,
			 struct af_error *err)
{
	return parse_buffer(p, text, len, intern(p, origin), 1, err);
}

int af_policy_set(struct af_policy *p, const char *kv, const char *origin, struct af_error *err)
{
	struct scan s = {p, intern(p, origin), 1, kv, kv, kv + strlen(kv), 0, err};
	af_rules_skip_ws(&s);
	if (af_rules_is_eol(&s, s.p))
		return af_rules_fail_at(&s, s.p, "expected key=value");
	if (af_rules_parse_set_pair(&s) < 0)
		return -1;
	af_rules_skip_ws(&s);
	if (!af_rules_is_eol(&s, s.p))
		return af_rules_fail_at(&s, s.p, "unexpected text after the value");
	return 0;
}

void af_policy_finish(struct af_policy *p)
{
	uint64_t thr = af_policy_threshold(&p->set);
	for (int i = 0; i < p->nrules; i++) {
		/* the parser's own rule, the last time it is written */
		struct af_rule *r = (struct af_rule *)p->rules[i];
		for (int j = 0; j < r->nsizes; j++) {
			struct af_size *z = &r->sizes[j];
			if (z->kind == AF_SZ_SMALL) {
				z->lo = 0;
				z->hi = thr;
			} else if (z->kind == AF_SZ_COSTLY) {
				z->lo = thr + 1;
				z->hi = UINT64_MAX;
			}
		}
		r->seed = af_mix64(p->set.seed ^ af_mix64((uint64_t)i + 1));
		af_rule_state_reset(r, &p->state[i]);
	}
}
