/* explore_out.c - the explore report as a table, JSON, JUnit and SARIF, and
   JSON read back for `allocfail merge`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "af_tool.h"
#include "explore.h"
#include "json.h"
#include "symbolize.h"

const char *const outcome_names[O_COUNT] = {"handled", "abort",     "crash",    "hang",
					    "silent",  "sanitizer", "unreached"};

static const char *const outcome_text[O_COUNT] = {
    "the failure was handled",
    "a deliberate abort (SIGABRT) on allocation failure",
    "the program crashed after an allocation failed",
    "the program hung after an allocation failed",
    "the program exited 0 but its output changed: data lost without an error",
    "a sanitizer reported an error after an allocation failed",
    "the failure run did not reach the call site",
};

int outcome_is_bug(const struct report *r, int cls)
{
	return cls == O_CRASH || cls == O_HANG || cls == O_SILENT || cls == O_SANITIZER ||
	       (cls == O_ABORT && r->abort_is_bug);
}

int outcome_rank(int cls)
{
	static const int rank[O_COUNT] = {[O_CRASH] = 0,   [O_SANITIZER] = 1, [O_HANG] = 2,
					  [O_SILENT] = 3,  [O_ABORT] = 4,     [O_HANDLED] = 5,
					  [O_UNREACHED] = 6};
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

struct finding *report_add_finding(struct report *r, int cls, const char *inj, const char *crash)
{
	for (int i = 0; i < r->nf; i++) {
		struct finding *f = &r->f[i];
		if (f->cls == cls && !strcmp(f->inj_site, inj) &&
		    ((!f->crash_site && !crash) || (f->crash_site && crash && !strcmp(f->crash_site, crash)))) {
			return f;
		}
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

static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int d = outcome_rank(x->cls) - outcome_rank(y->cls);
	if (d)
		return d;
	return strcmp(x->inj_site, y->inj_site);
}

void report_sort(struct report *r)
{
	qsort(r->f, (size_t)r->nf, sizeof *r->f, cmp_finding);
}

int report_bugs(const struct report *r)
{
	int n = 0;
	for (int i = 0; i < r->nf; i++)
		n += outcome_is_bug(r, r->f[i].cls);
	return n;
}

static const char *where(const struct stackv *st, int i, char *buf, size_t cap)
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

void write_table(FILE *out, const struct report *r)
{
	int counts[O_COUNT] = {0};
	for (int i = 0; i < r->nsites; i++)
		counts[r->sites[i].outcome]++;
	fprintf(out, "allocfail explore: %d call site%s failed in %ld run%s (%.1f s): ", r->nsites,
		r->nsites == 1 ? "" : "s", r->runs, r->runs == 1 ? "" : "s", r->secs);
	/* handled by a non-zero exit without a word to the user: counted
	   apart, a failure nobody could diagnose */
	int mute = 0;
	for (int i = 0; i < r->nsites; i++)
		mute += r->sites[i].outcome == O_HANDLED && r->sites[i].detail &&
			strstr(r->sites[i].detail, "without a message") != NULL;
	int first = 1;
	for (int c = 0; c < O_COUNT; c++)
		if (counts[c]) {
			fprintf(out, "%s%d %s", first ? "" : ", ", counts[c], outcome_names[c]);
			if (c == O_HANDLED && mute)
				fprintf(out, " (%d by an exit status without a message)", mute);
			first = 0;
		}
	if (first)
		fprintf(out, "nothing to explore: no allocation call site in scope");
	fprintf(out, "\n");
	if (r->hint)
		fprintf(out, "note: %s\n", r->hint);
	if (r->forked)
		fprintf(out, "note: --fork: %d of these failures ran as children of one run\n", r->forked);
	if (r->nondeterministic)
		fprintf(out, "note: the reference output differs between two clean runs, so 'silent' "
			     "is not judged\n");
	if (r->budget_hit)
		fprintf(out, "note: the budget ran out with %d call site%s unexplored\n", r->budget_hit,
			r->budget_hit == 1 ? "" : "s");
	if (!r->nf) {
		if (r->nsites)
			fprintf(out, "no findings: every failure was handled%s\n",
				mute ? ", though not always with a message" : "");
		return;
	}
	fprintf(out, "\n%-10s %-44s %s\n", "CLASS", "INJECTION SITE", "WHAT HAPPENED");
	for (int i = 0; i < r->nf; i++) {
		const struct finding *f = &r->f[i];
		char a[1024];
		where(&f->inj, 0, a, sizeof a);
		fprintf(out, "%-10s %-44s %s%s\n", outcome_names[f->cls], a, f->detail ? tty(f->detail) : "",
			outcome_is_bug(r, f->cls) ? "" : " (not counted as a bug)");
		if (f->count > 1)
			fprintf(out, "%-10s %-44s (%d runs)\n", "", "", f->count);
		fprintf(out, "  reproduce: %s\n", f->reproducer ? f->reproducer : "?");
	}
	int bugs = report_bugs(r);
	/* the line above counts sites, by the worst each did; this one
	   findings, of which one site may have several */
	int at = 0;
	for (int i = 0; i < r->nf; i++) {
		int seen = 0;
		for (int k = 0; k < i && !seen; k++)
			seen = !strcmp(r->f[k].inj_site, r->f[i].inj_site);
		at += !seen;
	}
	char sites[96] = "";
	if (at < r->nf)
		snprintf(sites, sizeof sites, " at %d call site%s (counted once above, by the worst)", at,
			 at == 1 ? "" : "s");
	fprintf(out, "\n%d finding%s%s, %d of them bug%s\n", r->nf, r->nf == 1 ? "" : "s", sites, bugs,
		bugs == 1 ? "" : "s");
}

/* ---- JSON ---------------------------------------------------------------- */

static void put_opt_str(FILE *f, const char *s)
{
	if (s)
		json_put_str(f, s);
	else
		fputs("null", f);
}

static void put_stack(FILE *f, const struct stackv *st)
{
	fputc('[', f);
	for (int i = 0; i < st->n; i++) {
		const struct frame *fr = &st->f[i];
		fprintf(f, "%s{\"pc\":", i ? "," : "");
		put_opt_str(f, fr->pc);
		fputs(",\"module\":", f);
		put_opt_str(f, fr->module);
		fputs(",\"function\":", f);
		put_opt_str(f, fr->func);
		fputs(",\"file\":", f);
		put_opt_str(f, fr->file);
		fprintf(f, ",\"line\":%d}", fr->line);
	}
	fputc(']', f);
}

static FILE *open_out(const char *path)
{
	if (!strcmp(path, "-"))
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		warnx_("cannot write '%s': %s", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path)
{
	if (f == stdout)
		return fflush(f) == 0 ? 0 : -1;
	if (fclose(f) != 0) {
		warnx_("cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int write_json(const char *path, const struct report *r)
{
	FILE *f = open_out(path);
	if (!f)
		return -1;
	fprintf(f, "{\"allocfail\":\"%s\",\"format\":1,\"command\":[", ALLOCFAIL_VERSION);
	for (int i = 0; i < r->ncmd; i++) {
		if (i)
			fputc(',', f);
		json_put_str(f, r->cmd[i]);
	}
	fprintf(f, "],\"mode\":");
	put_opt_str(f, r->mode);
	fprintf(f, ",\"shard\":[%d,%d],\"abort_is_bug\":%s,\"reference_status\":%d,"
		   "\"nondeterministic\":%s,\"runs\":%ld,\"forked\":%d,\"seconds\":%.3f,"
		   "\"unexplored\":%d,",
		r->shard_k, r->shard_n, r->abort_is_bug ? "true" : "false", r->ref_status,
		r->nondeterministic ? "true" : "false", r->runs, r->forked, r->secs, r->budget_hit);
	fprintf(f, "\n\"sites\":[");
	for (int i = 0; i < r->nsites; i++) {
		const struct siteres *s = &r->sites[i];
		fprintf(f, "%s\n{\"site\":", i ? "," : "");
		json_put_str(f, s->site);
		fputs(",\"module\":", f);
		put_opt_str(f, s->module);
		fputs(",\"function\":", f);
		put_opt_str(f, s->func);
		fputs(",\"file\":", f);
		put_opt_str(f, s->file);
		fprintf(f, ",\"line\":%d,\"runtime\":%s,\"depth\":%d,\"chain\":[", s->line,
			s->runtime ? "true" : "false", s->depth);
		for (int k = 0; k < s->depth; k++) {
			if (k)
				fputc(',', f);
			json_put_str(f, s->chain[k]);
		}
		fprintf(f, "],\"outcome\":\"%s\",\"status\":%d,\"seconds\":%.3f,\"detail\":",
			outcome_names[s->outcome], s->status, s->secs);
		put_opt_str(f, s->detail);
		fputs(",\"reproducer\":", f);
		put_opt_str(f, s->reproducer);
		fputc('}', f);
	}
	fprintf(f, "\n],\n\"findings\":[");
	for (int i = 0; i < r->nf; i++) {
		const struct finding *x = &r->f[i];
		fprintf(f, "%s\n{\"class\":\"%s\",\"bug\":%s,\"injection_site\":", i ? "," : "",
			outcome_names[x->cls], outcome_is_bug(r, x->cls) ? "true" : "false");
		json_put_str(f, x->inj_site);
		fputs(",\"crash_site\":", f);
		put_opt_str(f, x->crash_site);
		fputs(",\"detail\":", f);
		put_opt_str(f, x->detail);
		fputs(",\"reproducer\":", f);
		put_opt_str(f, x->reproducer);
		fprintf(f, ",\"count\":%d,\"injection_stack\":", x->count);
		put_stack(f, &x->inj);
		fputs(",\"crash_stack\":", f);
		put_stack(f, &x->crash);
		fputc('}', f);
	}
	fprintf(f, "\n]}\n");
	return close_out(f, path);
}

/* ---- JUnit --------------------------------------------------------------- */

static void xml(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if (*p < 0x20 && *p != '\n' && *p != '\t')
				fprintf(f, "&#%d;", *p == '\r' ? 13 : 0xfffd);
			else
				fputc(*p, f);
		}
	}
}

static const struct finding *finding_of(const struct report *r, const struct siteres *s)
{
	for (int i = 0; i < r->nf; i++)
		if (!strcmp(r->f[i].inj_site, s->site) && r->f[i].cls == s->outcome)
			return &r->f[i];
	return NULL;
}

/* One <failure>: the class, what happened, the reproducer and the crash
   stack when there is one. */
static void junit_failure(FILE *f, int cls, const char *detail, const char *reproducer,
			  const struct stackv *crash)
{
	fprintf(f, "      <failure type=\"%s\" message=\"", outcome_names[cls]);
	xml(f, detail ? detail : outcome_text[cls]);
	fprintf(f, "\">");
	xml(f, outcome_text[cls]);
	fprintf(f, "\nreproduce: ");
	xml(f, reproducer);
	if (crash && crash->n) {
		fprintf(f, "\ncrash stack:");
		for (int k = 0; k < crash->n && k < 16; k++) {
			char b[1024];
			fprintf(f, "\n  ");
			xml(f, where(crash, k, b, sizeof b));
		}
	}
	fprintf(f, "</failure>\n");
}

/* A bug finding that its site's test case does not show. */
static int is_extra_finding(const struct report *r, const struct finding *x)
{
	if (!outcome_is_bug(r, x->cls))
		return 0;
	for (int i = 0; i < r->nsites; i++)
		if (!strcmp(r->sites[i].site, x->inj_site) && outcome_is_bug(r, r->sites[i].outcome) &&
		    finding_of(r, &r->sites[i]) == x)
			return 0;
	return 1;
}

int write_junit(const char *path, const struct report *r)
{
	FILE *f = open_out(path);
	if (!f)
		return -1;
	int failures = 0, skipped = 0, extra = 0;
	for (int i = 0; i < r->nsites; i++) {
		failures += outcome_is_bug(r, r->sites[i].outcome);
		skipped += r->sites[i].outcome == O_UNREACHED;
	}
	for (int i = 0; i < r->nf; i++)
		extra += is_extra_finding(r, &r->f[i]);
	failures += extra;
	char cmd[2048] = "";
	size_t n = 0;
	for (int i = 0; i < r->ncmd && n < sizeof cmd - 2; i++)
		n += (size_t)snprintf(cmd + n, sizeof cmd - n, "%s%s", i ? " " : "", r->cmd[i]);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"allocfail explore\" tests=\"%d\" failures=\"%d\" time=\"%.3f\">\n",
		r->nsites + extra, failures, r->secs);
	fprintf(f, "  <testsuite name=\"allocfail explore: ");
	xml(f, cmd);
	fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"%.3f\">\n",
		r->nsites + extra, failures, skipped, r->secs);
	for (int i = 0; i < r->nsites; i++) {
		const struct siteres *s = &r->sites[i];
		const char *slash = s->module ? strrchr(s->module, '/') : NULL;
		char name[2048];
		struct sym sy = {s->func, s->file, s->line};
		char w[1024];
		sym_where(&sy, w, sizeof w);
		snprintf(name, sizeof name, "%s%s%s", s->site, w[0] ? " " : "", w);
		fprintf(f, "    <testcase classname=\"");
		xml(f, slash ? slash + 1 : s->module ? s->module : "?");
		fprintf(f, "\" name=\"");
		xml(f, name);
		fprintf(f, "\" time=\"%.3f\">", s->secs);
		if (outcome_is_bug(r, s->outcome)) {
			const struct finding *x = finding_of(r, s);
			fprintf(f, "\n");
			junit_failure(f, s->outcome, s->detail, s->reproducer, x ? &x->crash : NULL);
			fprintf(f, "    ");
		} else if (s->outcome == O_UNREACHED) {
			fprintf(f, "<skipped message=\"the failure run did not reach this call site\"/>");
		} else {
			fprintf(f, "<system-out>");
			xml(f, outcome_names[s->outcome]);
			if (s->detail) {
				fprintf(f, ": ");
				xml(f, s->detail);
			}
			fprintf(f, "</system-out>");
		}
		fprintf(f, "</testcase>\n");
	}
	/* more bugs at a site than its test case shows (another crash site,
	   or --mode nth/every): a test case each, so each bug fails once */
	for (int i = 0; i < r->nf; i++) {
		const struct finding *x = &r->f[i];
		if (!is_extra_finding(r, x))
			continue;
		char w[1024];
		where(&x->inj, 0, w, sizeof w);
		fprintf(f, "    <testcase classname=\"allocfail\" name=\"");
		xml(f, x->inj_site);
		fprintf(f, " ");
		xml(f, w);
		fprintf(f, " (%s at ", outcome_names[x->cls]);
		xml(f, x->crash_site ? x->crash_site : "-");
		fprintf(f, ")\" time=\"0\">\n");
		junit_failure(f, x->cls, x->detail, x->reproducer, &x->crash);
		fprintf(f, "    </testcase>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	return close_out(f, path);
}

/* ---- SARIF 2.1.0 --------------------------------------------------------- */

static void sarif_location(FILE *f, const struct frame *fr, const char *cwd, const char *msg,
			   int id)
{
	fputs("{", f);
	if (id >= 0)
		fprintf(f, "\"id\":%d,", id);
	if (msg) {
		fputs("\"message\":{\"text\":", f);
		json_put_str(f, msg);
		fputs("},", f);
	}
	fputs("\"physicalLocation\":{\"artifactLocation\":{", f);
	const char *path = fr->file ? fr->file : fr->module;
	size_t cl = strlen(cwd);
	if (path && path[0] == '/' && !strncmp(path, cwd, cl) && path[cl] == '/') {
		fputs("\"uri\":", f);
		json_put_str(f, path + cl + 1);
		fputs(",\"uriBaseId\":\"SRCROOT\"", f);
	} else {
		char *uri = xasprintf("%s%s", path && path[0] == '/' ? "file://" : "", path ? path : "?");
		fputs("\"uri\":", f);
		json_put_str(f, uri);
		free(uri);
	}
	fputs("}", f);
	if (fr->file && fr->line > 0)
		fprintf(f, ",\"region\":{\"startLine\":%d}", fr->line);
	fputs("}", f);
	if (fr->func) {
		fputs(",\"logicalLocations\":[{\"fullyQualifiedName\":", f);
		json_put_str(f, fr->func);
		fputs(",\"kind\":\"function\"}]", f);
	}
	fputs("}", f);
}

int write_sarif(const char *path, const struct report *r)
{
	FILE *f = open_out(path);
	if (!f)
		return -1;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		strcpy(cwd, "/");
	fprintf(f, "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
		   "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"allocfail\",\"version\":\"%s\","
		   "\"informationUri\":\"https://example.invalid/allocfail\",\"rules\":[",
		ALLOCFAIL_VERSION);
	int nr = 0;
	for (int c = 0; c < O_COUNT; c++) {
		if (c == O_HANDLED || c == O_UNREACHED)
			continue;
		fprintf(f, "%s{\"id\":\"allocfail/%s\",\"name\":\"%s\",\"shortDescription\":{\"text\":",
			nr++ ? "," : "", outcome_names[c], outcome_names[c]);
		json_put_str(f, outcome_text[c]);
		fprintf(f, "},\"defaultConfiguration\":{\"level\":\"%s\"}}",
			c == O_ABORT && !r->abort_is_bug ? "note" : "error");
	}
	fprintf(f, "]}},\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":");
	char *root = xasprintf("file://%s/", strcmp(cwd, "/") ? cwd : "");
	json_put_str(f, root);
	free(root);
	fprintf(f, "}},\"results\":[");
	for (int i = 0; i < r->nf; i++) {
		const struct finding *x = &r->f[i];
		char a[1024], b[1024];
		where(&x->inj, 0, a, sizeof a);
		char *msg = xasprintf("%s: %s%s%s. Reproduce: %s", outcome_text[x->cls],
				      x->detail ? x->detail : "", x->crash.n ? "; crash site " : "",
				      x->crash.n ? where(&x->crash, 0, b, sizeof b) : "",
				      x->reproducer ? x->reproducer : "?");
		fprintf(f, "%s\n{\"ruleId\":\"allocfail/%s\",\"level\":\"%s\",\"message\":{\"text\":",
			i ? "," : "", outcome_names[x->cls],
			outcome_is_bug(r, x->cls) ? "error" : "note");
		json_put_str(f, msg);
		free(msg);
		fputs("},\"locations\":[", f);
		if (x->inj.n) {
			sarif_location(f, &x->inj.f[0], cwd, NULL, -1);
		} else {
			struct frame fr = {x->inj_site, x->inj_site, NULL, NULL, 0};
			sarif_location(f, &fr, cwd, NULL, -1);
		}
		fputs("],\"relatedLocations\":[", f);
		if (x->crash.n) {
			char *m = xasprintf("crash site: %s", where(&x->crash, 0, b, sizeof b));
			sarif_location(f, &x->crash.f[0], cwd, m, 0);
			free(m);
		}
		fputs("],\"partialFingerprints\":{\"allocfailSite/v1\":", f);
		char *fp = xasprintf("%s|%s|%s", outcome_names[x->cls], x->inj_site,
				     x->crash_site ? x->crash_site : "-");
		json_put_str(f, fp);
		free(fp);
		fputs("}}", f);
	}
	fprintf(f, "\n]}]}\n");
	return close_out(f, path);
}

/* ---- reading JSON back (merge) ------------------------------------------- */

static char *dup_opt(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void read_stack(const struct jv *a, struct stackv *st)
{
	if (st->n || !a || a->t != J_ARR)
		return;
	st->f = xmalloc(sizeof *st->f * (size_t)(a->n ? a->n : 1));
	for (int i = 0; i < a->n; i++) {
		const struct jv *x = &a->items[i];
		struct frame *fr = &st->f[st->n++];
		fr->pc = dup_opt(json_str(x, "pc"));
		fr->module = dup_opt(json_str(x, "module"));
		fr->func = dup_opt(json_str(x, "function"));
		fr->file = dup_opt(json_str(x, "file"));
		fr->line = (int)json_int(x, "line", 0);
	}
}

int read_json(const char *path, struct report *r, char *err, size_t errcap)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errcap, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	char buf[65536];
	size_t k;
	while ((k = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, k, m);
	fclose(f);
	fclose(m);
	char perr[256];
	struct jv *v = json_parse(text, len, perr, sizeof perr);
	free(text);
	if (!v || json_int(v, "format", 0) != 1 || !json_get(v, "sites") || !json_get(v, "findings")) {
		snprintf(err, errcap, "'%s' is not an allocfail explore report%s%s", path, v ? "" : ": ",
			 v ? "" : perr);
		json_free(v);
		return -1;
	}
	const struct jv *cmd = json_get(v, "command");
	if (!r->ncmd && cmd && cmd->t == J_ARR) {
		r->cmd = xmalloc(sizeof *r->cmd * (size_t)(cmd->n + 1));
		for (int i = 0; i < cmd->n; i++)
			r->cmd[r->ncmd++] = xstrdup(cmd->items[i].t == J_STR ? cmd->items[i].s : "?");
		r->mode = dup_opt(json_str(v, "mode"));
		r->abort_is_bug = json_bool(v, "abort_is_bug", 0);
		r->ref_status = (int)json_int(v, "reference_status", 0);
	} else if (cmd && cmd->t == J_ARR) {
		int same = cmd->n == r->ncmd;
		for (int i = 0; same && i < cmd->n; i++)
			same = cmd->items[i].t == J_STR && !strcmp(cmd->items[i].s, r->cmd[i]);
		if (!same) {
			snprintf(err, errcap, "'%s' explored a different command", path);
			json_free(v);
			return -1;
		}
	}
	const struct jv *sh = json_get(v, "shard");
	int sk = sh && sh->t == J_ARR && sh->n == 2 ? (int)sh->items[0].num : 1;
	int sn = sh && sh->t == J_ARR && sh->n == 2 ? (int)sh->items[1].num : 1;
	const char *why = NULL;
	if (r->nshards_read && strcmp(json_str(v, "mode") ? json_str(v, "mode") : "", r->mode ? r->mode : ""))
		why = "was explored in another --mode";
	else if (r->nshards_read && json_bool(v, "abort_is_bug", 0) != r->abort_is_bug)
		why = "differs in --abort-is-bug";
	else if (r->nshards_read && json_int(v, "reference_status", 0) != r->ref_status)
		why = "differs in --status";
	else if (r->nshards_read && sn != r->shard_n_read)
		why = "is a shard of another --shard K/N split";
	for (int i = 0; !why && i < r->nshards_read; i++)
		if (r->shards_read[i] == sk)
			why = sn > 1 ? "is a shard already read (the same K)" : "repeats a report already read";
	if (why) {
		snprintf(err, errcap, "'%s' %s", path, why);
		json_free(v);
		return -1;
	}
	r->shards_read = xrealloc(r->shards_read, sizeof(int) * (size_t)(r->nshards_read + 1));
	r->shards_read[r->nshards_read++] = sk;
	r->shard_n_read = sn;
	r->runs += json_int(v, "runs", 0);
	r->forked += (int)json_int(v, "forked", 0);
	double secs = json_get(v, "seconds") ? json_get(v, "seconds")->num : 0;
	if (secs > r->secs)
		r->secs = secs; /* shards run side by side */
	r->budget_hit += (int)json_int(v, "unexplored", 0);
	r->nondeterministic |= json_bool(v, "nondeterministic", 0);
	const struct jv *sites = json_get(v, "sites");
	for (int i = 0; i < sites->n; i++) {
		const struct jv *x = &sites->items[i];
		const char *site = json_str(x, "site");
		const struct jv *chain = json_get(x, "chain");
		if (!site)
			continue;
		int dup = 0;
		for (int k2 = 0; k2 < r->nsites && !dup; k2++) {
			struct siteres *o = &r->sites[k2];
			if (strcmp(o->site, site) || !chain || chain->t != J_ARR || o->depth != chain->n)
				continue;
			dup = 1;
			for (int c = 0; c < o->depth; c++)
				if (chain->items[c].t != J_STR || strcmp(chain->items[c].s, o->chain[c]))
					dup = 0;
		}
		if (dup)
			continue;
		struct siteres *s = report_add_site(r, site);
		s->module = dup_opt(json_str(x, "module"));
		s->func = dup_opt(json_str(x, "function"));
		s->file = dup_opt(json_str(x, "file"));
		s->line = (int)json_int(x, "line", 0);
		s->runtime = json_bool(x, "runtime", 0);
		s->status = (int)json_int(x, "status", 0);
		s->detail = dup_opt(json_str(x, "detail"));
		s->reproducer = dup_opt(json_str(x, "reproducer"));
		s->secs = json_get(x, "seconds") ? json_get(x, "seconds")->num : 0;
		const char *o = json_str(x, "outcome");
		for (int c = 0; o && c < O_COUNT; c++)
			if (!strcmp(o, outcome_names[c]))
				s->outcome = c;
		if (chain && chain->t == J_ARR) {
			s->chain = xmalloc(sizeof *s->chain * (size_t)(chain->n + 1));
			for (int c = 0; c < chain->n; c++)
				s->chain[s->depth++] = xstrdup(chain->items[c].t == J_STR ? chain->items[c].s : "?");
		}
	}
	const struct jv *fs = json_get(v, "findings");
	for (int i = 0; i < fs->n; i++) {
		const struct jv *x = &fs->items[i];
		const char *cls = json_str(x, "class"), *inj = json_str(x, "injection_site");
		int c = -1;
		for (int k2 = 0; cls && k2 < O_COUNT; k2++)
			if (!strcmp(cls, outcome_names[k2]))
				c = k2;
		if (c < 0 || !inj)
			continue;
		struct finding *fd = report_add_finding(r, c, inj, json_str(x, "crash_site"));
		fd->count += (int)json_int(x, "count", 1);
		if (!fd->detail)
			fd->detail = dup_opt(json_str(x, "detail"));
		if (!fd->reproducer)
			fd->reproducer = dup_opt(json_str(x, "reproducer"));
		read_stack(json_get(x, "injection_stack"), &fd->inj);
		read_stack(json_get(x, "crash_stack"), &fd->crash);
	}
	json_free(v);
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
