/* report.c - the explore report as data: sites, findings, and findings
   grouped by root cause (docs/design.md, "Findings and groups"), ranked
   worst first; baselines of accepted groups. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explore.h"
#include "json.h"
#include "symbolize.h"

static const char *const texts[O_COUNT] = {
    [O_HANDLED] = "the failure was handled",
    [O_ABORT] = "a deliberate abort on allocation failure (abort(), or a trap after the "
		"process's message)",
    [O_ASSERT] = "an assertion failed after an allocation failed",
    [O_CRASH] = "the program crashed after an allocation failed",
    [O_HANG] = "the program hung after an allocation failed",
    [O_WARNED] = "the program printed a diagnostic but exited with its normal status and "
		 "changed output: the status hides the loss",
    [O_SILENT] = "the program exited with its normal status and changed output without a "
		 "word: data lost silently",
    [O_SANITIZER] = "a sanitizer reported an error after an allocation failed",
    [O_UNREACHED] = "the failure run did not reach the call site",
};

const char *outcome_text(int cls)
{
	return texts[cls];
}

const char *const not_forked_names[NF_COUNT] = {
	"threads", "runtime", "subprocess", "exec", "sigchld", "output",
	"budget", "unreached", "run", "setup", "unhandled",
};

char *fork_note(const struct report *r)
{
	static const char *const says[NF_UNHANDLED] = {
	    "reached with more than one thread",
	    "reached inside the C runtime",
	    "reached in a process the command started (or a vfork child)",
	    "reached again after the command's exec",
	    "the program handles SIGCHLD",
	    "stdout or stderr was not a file",
	    "reached after the budget ran out",
	    "not reached by the forking run",
	    "the forking run did not behave as the reference did",
	    "the child could not be set up",
	};
	int own = 0;
	for (int k = 0; k < NF_UNHANDLED; k++)
		own += r->not_forked[k];
	int offered = r->forked + own + r->not_forked[NF_UNHANDLED];
	if (!offered)
		return NULL;
	const char *unit = r->mode && !strcmp(r->mode, "nth") ? "allocations" : "call sites";
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	fprintf(m, "%d of %d %s failed in forked children", r->forked, offered, unit);
	if (r->contexts_forked)
		fprintf(m, " (%d of them calling contexts)", r->contexts_forked);
	if (own)
		fprintf(m, "; %d got runs of their own:", own);
	for (int k = 0, n = 0; k < NF_UNHANDLED; k++) {
		if (!r->not_forked[k])
			continue;
		fprintf(m, "%s %d %s", n++ ? "," : "", r->not_forked[k], says[k]);
		if (k == NF_RUN && r->fork_why)
			fprintf(m, " (%s)", r->fork_why);
	}
	if (r->not_forked[NF_UNHANDLED])
		fprintf(m, "; %d forked children did not handle the failure and were confirmed by "
			   "runs of their own", r->not_forked[NF_UNHANDLED]);
	fclose(m);
	return out;
}

int outcome_is_bug(const struct report *r, int cls)
{
	return cls == O_CRASH || cls == O_ASSERT || cls == O_HANG || cls == O_WARNED ||
	       cls == O_SILENT || cls == O_SANITIZER || (cls == O_ABORT && r->abort_is_bug);
}

int outcome_rank(int cls)
{
	static const int rank[O_COUNT] = {[O_CRASH] = 0,   [O_SANITIZER] = 1, [O_ASSERT] = 2,
					  [O_HANG] = 3,    [O_SILENT] = 4,    [O_WARNED] = 5,
					  [O_ABORT] = 6,   [O_HANDLED] = 7,   [O_UNREACHED] = 8};
	return rank[cls];
}

char *shell_quote(const char *s)
{
	int plain = *s != 0;
	for (const char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%",
			    *p))
			plain = 0;
	if (plain)
		return xstrdup(s);
	size_t n = 3;
	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	char *q = xmalloc(n), *o = q;
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = 0;
	return q;
}

int same_opt(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

struct finding *report_add_finding(struct report *r, int cls, const char *inj, const char *crash)
{
	for (int i = 0; i < r->nf; i++) {
		struct finding *f = &r->f[i];
		if (f->cls == cls && !strcmp(f->inj_site, inj) && same_opt(f->crash_site, crash))
			return f;
	}
	if (r->nf == r->capf) {
		r->capf = r->capf ? r->capf * 2 : 16;
		r->f = xrealloc(r->f, sizeof *r->f * (size_t)r->capf);
	}
	struct finding *f = &r->f[r->nf++];
	memset(f, 0, sizeof *f);
	f->cls = cls;
	f->inj_site = xstrdup(inj);
	f->crash_site = crash ? xstrdup(crash) : NULL;
	f->group = -1;
	return f;
}

struct siteres *report_add_site(struct report *r, const char *site)
{
	if (r->nsites == r->capsites) {
		r->capsites = r->capsites ? r->capsites * 2 : 32;
		r->sites = xrealloc(r->sites, sizeof *r->sites * (size_t)r->capsites);
	}
	struct siteres *s = &r->sites[r->nsites++];
	memset(s, 0, sizeof *s);
	s->site = xstrdup(site);
	return s;
}

struct testres *report_add_test(struct report *r, const char *name)
{
	r->tests = xrealloc(r->tests, sizeof *r->tests * (size_t)(r->ntests + 1));
	struct testres *t = &r->tests[r->ntests++];
	memset(t, 0, sizeof *t);
	t->name = xstrdup(name);
	return t;
}

const char *frame_where(const struct stackv *st, int i, char *buf, size_t cap)
{
	buf[0] = 0;
	if (i < 0 || i >= st->n)
		return buf;
	struct sym s = {st->f[i].func, st->f[i].file, st->f[i].line};
	sym_where(&s, buf, cap);
	if (!buf[0])
		snprintf(buf, cap, "%s", st->f[i].pc ? tty(st->f[i].pc) : "?");
	return buf;
}

const char *finding_where(const struct finding *f, char *buf, size_t cap)
{
	if (!f->inj.n) {
		snprintf(buf, cap, "%s", tty(f->inj_site));
		return buf;
	}
	/* a calling context: the call site's function < its caller's place */
	int nctx = 0;
	for (const char *p = f->inj_site; (p = strchr(p, '<')); p++)
		nctx++;
	if (!nctx || f->inj.n <= nctx)
		return frame_where(&f->inj, 0, buf, cap);
	char up[1024];
	frame_where(&f->inj, nctx, up, sizeof up);
	snprintf(buf, cap, "%s < %s", f->inj.f[0].func ? tty(f->inj.f[0].func) : tty(f->inj.f[0].pc), up);
	return buf;
}

/* ---- groups -------------------------------------------------------------- */

static const char *base_of(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path ? path : "?";
}

/* A shared library by the naming convention of the dynamic linker (NAME.so,
   NAME.so.VERSION), as against an executable of the command. */
static int is_shared_object(const char *path)
{
	const char *b = base_of(path), *so = strstr(b, ".so");
	return so && (so[3] == 0 || so[3] == '.');
}

/* A frame as a key that survives a rebuild: module and function; only a
   frame without a name falls back to its offset. */
static char *frame_key(const struct frame *fr, const char *fallback)
{
	if (!fr)
		return xstrdup(fallback ? fallback : "?");
	if (fr->func)
		return xasprintf("%s:%s", base_of(fr->module ? fr->module : fr->pc), fr->func);
	return xstrdup(fr->pc ? fr->pc : "?");
}

static const char *family(int cls)
{
	/* a crash and an assertion at one place are one root cause (a run
	   may trip the assertion or crash just past it) */
	return cls == O_ASSERT ? outcome_names[O_CRASH] : outcome_names[cls];
}

/* The group key of a finding alone (before error paths are folded). */
static char *finding_key(const struct finding *f)
{
	const struct frame *inj = f->inj.n ? &f->inj.f[0] : NULL;
	const struct frame *crash = f->crash.n ? &f->crash.f[0] : NULL;
	char *where, *key;
	switch (f->cls) {
	case O_ABORT:
		/* a deliberate end says why: one message, one behaviour of the
		   module's (xmalloc, g_error, an uncaught bad_alloc), however many
		   places reach it */
		if (f->signature) {
			const struct frame *at = crash ? crash : inj;
			where = xstrdup(base_of(at && at->module ? at->module : f->inj_site));
			key = xasprintf("%s|%s|%s", family(f->cls), where, f->signature);
			break;
		}
		/* fall through */
	case O_CRASH:
	case O_ASSERT:
		if (!crash && f->cls == O_ASSERT && f->signature) {
			/* the assertion in a process that took no failure (no crash
			   record): its text names its place */
			where = xstrdup("");
			key = xasprintf("%s|%s", family(f->cls), f->signature);
			break;
		}
		where = crash ? frame_key(crash, NULL) : frame_key(inj, f->inj_site);
		key = xasprintf("%s|%s", family(f->cls), where);
		break;
	case O_WARNED: /* one diagnostic, one behaviour of the program's */
		where = xstrdup(base_of(inj && inj->module ? inj->module : f->inj_site));
		key = xasprintf("%s|%s|%s", family(f->cls), where, f->signature ? f->signature : "");
		break;
	default:
		where = frame_key(crash ? crash : inj, f->inj_site);
		key = f->signature ? xasprintf("%s|%s|%s", family(f->cls), where, f->signature)
				   : xasprintf("%s|%s", family(f->cls), where);
	}
	free(where);
	return key;
}

static int cmp_opt(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

/* A total order of findings, so that a report does not depend on the
   order in which parallel runs ended: error paths after their parents,
   then by injection site, test, reproducer (unique to a run's failure). */
static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int d;
	if (x->depth != y->depth)
		return x->depth - y->depth;
	if ((d = strcmp(x->inj_site, y->inj_site)) || (d = cmp_opt(x->test, y->test)) ||
	    (d = cmp_opt(x->reproducer, y->reproducer)) || (d = x->cls - y->cls))
		return d;
	return cmp_opt(x->detail, y->detail);
}

/* Sites in the order the reference run reached them, then those that
   other runs found (error paths, calling contexts) by their keys: a report
   does not depend on the order in which parallel runs ended. */
static int cmp_site(const void *a, const void *b)
{
	const struct siteres *x = a, *y = b;
	int d;
	if ((d = cmp_opt(x->test, y->test)) || (d = x->depth - y->depth))
		return d;
	if (x->order >= 0 && y->order >= 0 && x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if ((x->order < 0) != (y->order < 0))
		return x->order < 0 ? 1 : -1;
	for (int i = 0; i < x->depth; i++)
		if ((d = strcmp(x->chain[i], y->chain[i])))
			return d;
	return strcmp(x->site, y->site);
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->library != y->library)
		return x->library - y->library;
	int d = outcome_rank(x->cls) - outcome_rank(y->cls);
	if (d)
		return d;
	return strcmp(x->key, y->key);
}

static void groups_free(struct report *r)
{
	for (int i = 0; i < r->ng; i++) {
		free(r->g[i].key);
		free(r->g[i].fi);
	}
	free(r->g);
	r->g = NULL;
	r->ng = 0;
}

void report_group(struct report *r)
{
	groups_free(r);
	qsort(r->sites, (size_t)r->nsites, sizeof *r->sites, cmp_site);
	if (!r->nf)
		return;
	/* parents before the error paths they lead to */
	qsort(r->f, (size_t)r->nf, sizeof *r->f, cmp_finding);
	char **keys = xmalloc(sizeof *keys * (size_t)r->nf);
	for (int i = 0; i < r->nf; i++) {
		struct finding *f = &r->f[i];
		keys[i] = NULL;
		/* an error path that only repeats its parent's outcome is the
		   parent's root cause */
		for (int p = 0; f->depth && f->parent && p < r->nf && !keys[i]; p++) {
			const struct finding *q = &r->f[p];
			if (p != i && q->depth < f->depth && !strcmp(q->inj_site, f->parent) &&
			    q->cls == f->cls && same_opt(q->crash_site, f->crash_site) && keys[p])
				keys[i] = xstrdup(keys[p]);
		}
		if (!keys[i])
			keys[i] = finding_key(f);
	}
	r->g = xmalloc(sizeof *r->g * (size_t)r->nf);
	for (int i = 0; i < r->nf; i++) {
		struct finding *f = &r->f[i];
		struct group *g = NULL;
		for (int j = 0; j < r->ng && !g; j++)
			if (!strcmp(r->g[j].key, keys[i]))
				g = &r->g[j];
		if (!g) {
			g = &r->g[r->ng++];
			memset(g, 0, sizeof *g);
			g->key = xstrdup(keys[i]);
			g->cls = f->cls;
			g->fi = xmalloc(sizeof *g->fi * (size_t)r->nf);
			const struct frame *inj = f->inj.n ? &f->inj.f[0] : NULL;
			g->library = inj && inj->module && is_shared_object(inj->module);
			for (int b = 0; b < r->baseline.n && !g->known; b++)
				g->known = !strcmp(r->baseline.v[b], g->key);
		}
		int seen = 0;
		for (int j = 0; j < g->n && !seen; j++)
			seen = !strcmp(r->f[g->fi[j]].inj_site, f->inj_site);
		g->sites += !seen;
		g->fi[g->n++] = i;
		if (outcome_rank(f->cls) < outcome_rank(g->cls))
			g->cls = f->cls;
	}
	for (int i = 0; i < r->nf; i++)
		free(keys[i]);
	free(keys);
	qsort(r->g, (size_t)r->ng, sizeof *r->g, cmp_group);
	for (int j = 0; j < r->ng; j++)
		for (int k = 0; k < r->g[j].n; k++)
			r->f[r->g[j].fi[k]].group = j;
}

int group_first_of_site(const struct report *r, const struct group *g, int k)
{
	for (int j = 0; j < k; j++)
		if (!strcmp(r->f[g->fi[j]].inj_site, r->f[g->fi[k]].inj_site))
			return 0;
	return 1;
}

/* A group none of whose findings came back when run alone is not
   counted: it came from runs side by side, not from the failure. */
static int group_confirmed(const struct report *r, const struct group *g)
{
	for (int k = 0; k < g->n; k++)
		if (!r->f[g->fi[k]].unconfirmed)
			return 1;
	return 0;
}

int report_bugs(const struct report *r)
{
	int n = 0;
	for (int i = 0; i < r->ng; i++)
		n += outcome_is_bug(r, r->g[i].cls) && !r->g[i].known && group_confirmed(r, &r->g[i]);
	return n;
}

/* ---- baselines ----------------------------------------------------------- */

int report_read_baseline(struct report *r, const char *path, char *err, size_t errcap)
{
	size_t len;
	char *text = read_whole_or_say(path, &len, "--baseline ", err, errcap);
	if (!text)
		return -1;
	r->has_baseline = 1;
	const char *p = text;
	while (p < text + len && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	if (p < text + len && *p == '{') {
		char perr[256];
		struct jv *v = json_parse(text, len, perr, sizeof perr);
		const struct jv *gs = v ? json_get(v, "groups") : NULL;
		if (!gs || gs->t != J_ARR) {
			snprintf(err, errcap, "--baseline '%s': not an allocfail explore JSON report%s%s",
				 path, v ? " with groups" : ": ", v ? "" : perr);
			json_free(v);
			free(text);
			return -1;
		}
		for (int i = 0; i < gs->n; i++)
			if (json_str(&gs->items[i], "key"))
				strv_add(&r->baseline, json_str(&gs->items[i], "key"));
		json_free(v);
		free(text);
		return 0;
	}
	int line = 0;
	for (char *s = text, *nl; s && *s; s = nl) {
		nl = strchr(s, '\n');
		if (nl)
			*nl++ = 0;
		line++;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strlen(s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
			s[--n] = 0;
		if (!*s || *s == '#')
			continue;
		if (!strchr(s, '|')) {
			snprintf(err, errcap, "%s:%d: expected a group key (CLASS|WHERE...), got '%.60s'",
				 path, line, s);
			free(text);
			return -1;
		}
		strv_add(&r->baseline, s);
	}
	free(text);
	return 0;
}

int write_baseline(const char *path, const struct report *r)
{
	FILE *f = report_open(path);
	if (!f)
		return -1;
	fprintf(f, "# allocfail explore baseline: one accepted group key a line\n");
	for (int i = 0; i < r->ng; i++)
		fprintf(f, "%s\n", r->g[i].key);
	return report_close(f, path);
}

/* ---- output files -------------------------------------------------------- */

FILE *report_open(const char *path)
{
	if (!strcmp(path, "-"))
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		warnx_("cannot write '%s': %s", path, strerror(errno));
	return f;
}

int report_close(FILE *f, const char *path)
{
	if (f == stdout)
		return fflush(f) == 0 ? 0 : -1;
	if (fclose(f) != 0) {
		warnx_("cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int write_reports(const struct report *r, const char *json, const char *junit, const char *sarif)
{
	int to_stdout = (json && !strcmp(json, "-")) || (junit && !strcmp(junit, "-")) ||
			(sarif && !strcmp(sarif, "-"));
	write_table(to_stdout ? stderr : stdout, r);
	int rc = 0;
	if (json && write_json(json, r) < 0)
		rc = EXIT_INTERNAL;
	if (junit && write_junit(junit, r) < 0)
		rc = EXIT_INTERNAL;
	if (sarif && write_sarif(sarif, r) < 0)
		rc = EXIT_INTERNAL;
	return rc;
}

void check_report_paths(const char *cmd, const char *json, const char *junit, const char *sarif)
{
	const char *paths[] = {json, junit, sarif};
	const char *opts[] = {"--json", "--junit", "--sarif"};
	int dash = 0;
	for (int i = 0; i < 3; i++) {
		if (!paths[i])
			continue;
		if (!strcmp(paths[i], "-")) {
			if (dash++)
				die_usage("%s: only one report can go to standard output ('-')", cmd);
			continue;
		}
		int fd = open(paths[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			die_usage("%s: %s '%s': cannot write: %s", cmd, opts[i], paths[i], strerror(errno));
		close(fd);
	}
}
