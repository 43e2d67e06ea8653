/* report_table.c - the explore report for people: a summary line, notes,
   and a row per group of findings, the program's own first, worst first. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore.h"

#define SITE_W 44
/* Library groups above this many are counted a line per module. */
#define LIBRARY_ROWS 12
/* Sites of one group named under its row. */
#define GROUP_SITES 4

/* s cut to w columns (bytes; a cut UTF-8 sequence is dropped whole). */
static const char *cut(const char *s, int w, char *buf, size_t cap)
{
	size_t n = strlen(s);
	if (n <= (size_t)w || (size_t)w + 1 > cap) {
		snprintf(buf, cap, "%s", s);
		return buf;
	}
	size_t k = (size_t)w - 3;
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	snprintf(buf, cap, "%.*s...", (int)k, s);
	return buf;
}

/* explore --tests: a line for the suite, and one for each test that was
   not explored or skipped sites. */
static void test_lines(FILE *out, const struct report *r)
{
	int explored = 0, skipped = 0;
	double lo = 0, hi = 0;
	for (int i = 0; i < r->ntests; i++) {
		const struct testres *t = &r->tests[i];
		explored += !t->note;
		skipped += t->skipped;
		if (t->timeout > 0 && (!lo || t->timeout < lo))
			lo = t->timeout;
		if (t->timeout > hi)
			hi = t->timeout;
	}
	fprintf(out, "tests: %d of %d explored", explored, r->ntests);
	if (hi > 0)
		fprintf(out, lo < hi ? "; each run's timeout from its test's reference run: %g to %g s"
				     : "; each run's timeout from its test's reference run: %g s",
			lo, hi);
	if (skipped)
		fprintf(out, "; %d site%s skipped where an earlier test had %s", skipped,
			skipped == 1 ? "" : "s", r->once ? "explored them (--once)" : "shown a bug there");
	fputc('\n', out);
	for (int i = 0; i < r->ntests; i++)
		if (r->tests[i].note)
			fprintf(out, "note: test %s: %s\n", tty(r->tests[i].name), tty(r->tests[i].note));
}

static void summary(FILE *out, const struct report *r)
{
	int counts[O_COUNT] = {0};
	for (int i = 0; i < r->nsites; i++)
		counts[r->sites[i].outcome]++;
	fprintf(out, "allocfail explore: %d call site%s failed in %ld run%s (%.1f s", r->nsites,
		r->nsites == 1 ? "" : "s", r->runs, r->runs == 1 ? "" : "s", r->secs);
	/* what a budget left out: sites, or in --mode nth allocations */
	if (r->budget_hit)
		fprintf(out, "; the budget ran out with %d %s%s unexplored", r->budget_hit,
			r->mode && !strcmp(r->mode, "nth") ? "allocation" : "call site",
			r->budget_hit == 1 ? "" : "s");
	fprintf(out, "): ");
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
	if (r->ntests)
		test_lines(out, r);
	else if (r->timeout > 0)
		fprintf(out, "note: each run's timeout: %g s (from the reference run)\n", r->timeout);
	if (r->hint)
		fprintf(out, "note: %s\n", r->hint);
	char *note = fork_note(r);
	if (note)
		fprintf(out, "note: fork: %s\n", note);
	free(note);
	if (r->nondeterministic)
		fprintf(out, "note: the reference output differs between two clean runs, so 'silent' "
			     "and 'warned' are not judged by output\n");
	if (r->wrappers) {
		char kept[128] = "", cut[64] = "";
		if (r->contexts_kept)
			snprintf(kept, sizeof kept, ", %d not (the site's own code ends the process on "
				 "failure, alike in every context)", r->contexts_kept);
		if (r->contexts_cut)
			snprintf(cut, sizeof cut, ", %d over the limit of %d a site", r->contexts_cut,
				 CONTEXTS_MAX);
		fprintf(out, "note: %d call site%s reached from several callers: %d calling contexts, "
			     "%d explored%s%s\n",
			r->wrappers, r->wrappers == 1 ? "" : "s", r->contexts_found, r->contexts_explored,
			kept, cut);
	}
	if (!r->nf && r->nsites)
		fprintf(out, "no findings: every failure was handled%s\n",
			mute ? ", though not always with a message" : "");
}

static void site_line(FILE *out, const struct finding *f, const char *lead)
{
	char w[1024], c[256];
	finding_where(f, w, sizeof w);
	fprintf(out, "%s%-*s %s", lead, SITE_W, cut(w, SITE_W, c, sizeof c), tty(f->inj_site));
	fprintf(out, "%s%s\n", f->proc ? " in " : "", f->proc ? tty(f->proc) : "");
}

static void group_rows(FILE *out, const struct report *r, const struct group *g)
{
	const struct finding *f = &r->f[g->fi[0]];
	char w[1024], c[256];
	finding_where(f, w, sizeof w);
	fprintf(out, "%-10s %-*s %s%s%s\n", outcome_names[g->cls], SITE_W, cut(w, SITE_W, c, sizeof c),
		f->detail ? tty(f->detail) : "", outcome_is_bug(r, g->cls) ? "" : " (not counted as a bug)",
		g->known ? " [known: in the baseline]" : "");
	fprintf(out, "%-10s %s", "", tty(f->inj_site));
	fprintf(out, "%s%s", f->proc ? " in " : "", f->proc ? tty(f->proc) : "");
	if (f->test)
		fprintf(out, " in test %s", tty(f->test));
	if (g->sites > 1)
		fprintf(out, "; %d call sites, one root cause; also:", g->sites);
	else if (f->count > 1)
		fprintf(out, " (%d runs)", f->count);
	fputc('\n', out);
	int shown = 0;
	for (int k = 1; g->sites > 1 && k < g->n && shown < GROUP_SITES; k++) {
		if (!group_first_of_site(r, g, k))
			continue;
		site_line(out, &r->f[g->fi[k]], "             ");
		shown++;
	}
	if (g->sites > shown + 1)
		fprintf(out, "             and %d more (the JSON report lists every one)\n",
			g->sites - shown - 1);
	for (int k = 0; k < r->stacks && k < f->inj.n; k++) {
		fprintf(out, "  %s %s", k ? "     " : "stack:", frame_where(&f->inj, k, w, sizeof w));
		fprintf(out, "  %s\n", f->inj.f[k].pc ? tty(f->inj.f[k].pc) : "");
	}
	fprintf(out, "  reproduce: %s\n", f->reproducer ? tty(f->reproducer) : "?");
}

/* The library groups, a line per module. */
static void library_lines(FILE *out, const struct report *r, int from)
{
	const char **mods = xmalloc(sizeof *mods * (size_t)r->ng);
	int nm = 0;
	for (int i = from; i < r->ng; i++) {
		const struct finding *f = &r->f[r->g[i].fi[0]];
		const char *m = f->inj.n && f->inj.f[0].module ? f->inj.f[0].module : "?";
		int seen = 0;
		for (int k = 0; k < nm && !seen; k++)
			seen = !strcmp(mods[k], m);
		if (!seen)
			mods[nm++] = m;
	}
	for (int k = 0; k < nm; k++) {
		int counts[O_COUNT] = {0}, n = 0, sites = 0;
		for (int i = from; i < r->ng; i++) {
			const struct finding *f = &r->f[r->g[i].fi[0]];
			const char *m = f->inj.n && f->inj.f[0].module ? f->inj.f[0].module : "?";
			if (strcmp(m, mods[k]))
				continue;
			counts[r->g[i].cls]++;
			n++;
			sites += r->g[i].sites;
		}
		const char *b = strrchr(mods[k], '/');
		fprintf(out, "%-10s %-*s %d group%s at %d call site%s:", "library", SITE_W, tty(b ? b + 1 : mods[k]),
			n, n == 1 ? "" : "s", sites, sites == 1 ? "" : "s");
		for (int c = 0, first = 1; c < O_COUNT; c++)
			if (counts[c]) {
				fprintf(out, "%s %d %s", first ? "" : ",", counts[c], outcome_names[c]);
				first = 0;
			}
		fputc('\n', out);
	}
	free(mods);
}

void write_table(FILE *out, const struct report *r)
{
	summary(out, r);
	if (!r->ng)
		return;
	int libs = 0, sites = 0;
	for (int i = 0; i < r->ng; i++)
		libs += r->g[i].library;
	for (int i = 0; i < r->nf; i++) {
		int seen = 0;
		for (int k = 0; k < i && !seen; k++)
			seen = !strcmp(r->f[k].inj_site, r->f[i].inj_site);
		sites += !seen;
	}
	fprintf(out, "\n%-10s %-*s %s\n", "CLASS", SITE_W, "INJECTION SITE", "WHAT HAPPENED");
	int i = 0;
	if (r->ntests && r->ng && !r->g[0].library)
		fprintf(out, "In the tests' own code:\n");
	for (; i < r->ng && !r->g[i].library; i++)
		group_rows(out, r, &r->g[i]);
	if (libs > LIBRARY_ROWS) {
		fprintf(out, "\nIn shared libraries (%d groups; the JSON report lists them, --scope "
			     "narrows the exploration):\n", libs);
		library_lines(out, r, i);
	} else {
		if (libs && (i || r->ntests))
			fprintf(out, "\nIn shared libraries:\n");
		for (; i < r->ng; i++)
			group_rows(out, r, &r->g[i]);
	}
	int bugs = report_bugs(r), known = 0;
	for (int k = 0; k < r->ng; k++)
		known += r->g[k].known && outcome_is_bug(r, r->g[k].cls);
	char extra[96] = "";
	if (r->has_baseline)
		snprintf(extra, sizeof extra, " (%d more known from the baseline)", known);
	fprintf(out, "\n%d finding%s from %d call site%s, %d %sbug%s%s\n", r->ng,
		r->ng == 1 ? "" : "s", sites, sites == 1 ? "" : "s", bugs, r->has_baseline ? "new " : "",
		bugs == 1 ? "" : "s", extra);
}
