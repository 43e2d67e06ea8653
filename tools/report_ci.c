/* report_ci.c - the explore report for CI: JUnit and SARIF 2.1.0, one
   result per group of findings (so CI shows each root cause once), with
   its other call sites and the crash site as related locations. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explore.h"
#include "json.h"
#include "symbolize.h"

/* ---- JUnit --------------------------------------------------------------- */

static const char *xml_escape(unsigned char c, char *buf)
{
	switch (c) {
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '&': return "&amp;";
	case '"': return "&quot;";
	case '\'': return "&apos;";
	default:
		if (c < 0x20 && c != '\n' && c != '\t') {
			snprintf(buf, 16, "&#%d;", c == '\r' ? 13 : 0xfffd);
			return buf;
		}
		return NULL;
	}
}

static void xml(FILE *f, const char *s)
{
	put_escaped(f, s, xml_escape);
}

/* The site is one of a group's. */
static int in_group(const struct report *r, const struct siteres *s)
{
	for (int i = 0; i < r->nf; i++)
		if (!strcmp(r->f[i].inj_site, s->site) && r->f[i].cls == s->outcome)
			return 1;
	return 0;
}

static void junit_group(FILE *f, const struct report *r, const struct group *g)
{
	const struct finding *x = &r->f[g->fi[0]];
	char w[1024];
	frame_where(&x->inj, 0, w, sizeof w);
	fprintf(f, "    <testcase classname=\"allocfail.%s\" name=\"", outcome_names[g->cls]);
	xml(f, g->key);
	fprintf(f, "\" time=\"0\">");
	if (g->known && outcome_is_bug(r, g->cls)) {
		fprintf(f, "<skipped message=\"known: in the baseline\"/>");
	} else if (outcome_is_bug(r, g->cls)) {
		fprintf(f, "\n      <failure type=\"%s\" message=\"", outcome_names[g->cls]);
		xml(f, x->detail ? x->detail : outcome_text(g->cls));
		fprintf(f, "\">");
		xml(f, outcome_text(g->cls));
		fprintf(f, "\ninjection site: ");
		xml(f, w);
		fprintf(f, " (");
		xml(f, x->inj_site);
		fprintf(f, ")\nreproduce: ");
		xml(f, x->reproducer);
		if (g->sites > 1) {
			fprintf(f, "\n%d call sites:", g->sites);
			for (int k = 0; k < g->n; k++) {
				const struct finding *y = &r->f[g->fi[k]];
				fprintf(f, "\n  ");
				xml(f, y->inj_site);
				fprintf(f, " ");
				xml(f, frame_where(&y->inj, 0, w, sizeof w));
			}
		}
		for (int k = 0; k < x->crash.n && k < 16; k++) {
			fprintf(f, k ? "\n  " : "\ncrash stack:\n  ");
			xml(f, frame_where(&x->crash, k, w, sizeof w));
		}
		fprintf(f, "</failure>\n    ");
	} else {
		fprintf(f, "<system-out>");
		xml(f, outcome_names[g->cls]);
		fprintf(f, ": ");
		xml(f, x->detail);
		fprintf(f, "</system-out>");
	}
	fprintf(f, "</testcase>\n");
}

int write_junit(const char *path, const struct report *r)
{
	FILE *f = report_open(path);
	if (!f)
		return -1;
	int tests = r->ng, failures = 0, skipped = 0;
	for (int i = 0; i < r->ng; i++) {
		int bug = outcome_is_bug(r, r->g[i].cls);
		failures += bug && !r->g[i].known;
		skipped += bug && r->g[i].known;
	}
	for (int i = 0; i < r->nsites; i++)
		if (!in_group(r, &r->sites[i])) {
			tests++;
			skipped += r->sites[i].outcome == O_UNREACHED;
		}
	char *cmd = strv_join(r->cmd, r->ncmd, " ");
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"allocfail explore\" tests=\"%d\" failures=\"%d\" time=\"%.3f\">\n",
		tests, failures, r->secs);
	fprintf(f, "  <testsuite name=\"allocfail explore: ");
	xml(f, cmd);
	free(cmd);
	fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"%.3f\">\n", tests,
		failures, skipped, r->secs);
	for (int i = 0; i < r->ng; i++)
		junit_group(f, r, &r->g[i]);
	/* the call sites whose failure was handled (or not reached): a
	   passing (or skipped) test case each */
	for (int i = 0; i < r->nsites; i++) {
		const struct siteres *s = &r->sites[i];
		if (in_group(r, s))
			continue;
		const char *slash = s->module ? strrchr(s->module, '/') : NULL;
		struct sym sy = {s->func, s->file, s->line};
		char w[1024];
		sym_where(&sy, w, sizeof w);
		fprintf(f, "    <testcase classname=\"");
		xml(f, slash ? slash + 1 : s->module ? s->module : "?");
		fprintf(f, "\" name=\"");
		xml(f, s->site);
		if (w[0]) {
			fprintf(f, " ");
			xml(f, w);
		}
		fprintf(f, "\" time=\"%.3f\">", s->secs);
		if (s->outcome == O_UNREACHED) {
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
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	return report_close(f, path);
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

static void sarif_result(FILE *f, const struct report *r, const struct group *g, const char *cwd)
{
	const struct finding *x = &r->f[g->fi[0]];
	char b[1024], sites[64] = "";
	if (g->sites > 1)
		snprintf(sites, sizeof sites, " (%d call sites, one root cause)", g->sites);
	char *msg = xasprintf("%s: %s%s%s%s. Reproduce: %s", outcome_text(g->cls),
			      x->detail ? x->detail : "", x->crash.n ? "; crash site " : "",
			      x->crash.n ? frame_where(&x->crash, 0, b, sizeof b) : "", sites,
			      x->reproducer ? x->reproducer : "?");
	fprintf(f, "{\"ruleId\":\"allocfail/%s\",\"level\":\"%s\",\"message\":{\"text\":",
		outcome_names[g->cls], outcome_is_bug(r, g->cls) ? "error" : "note");
	json_put_str(f, msg);
	free(msg);
	fputs("},\"locations\":[", f);
	struct frame fallback = {x->inj_site, x->inj_site, NULL, NULL, 0};
	sarif_location(f, x->inj.n ? &x->inj.f[0] : &fallback, cwd, NULL, -1);
	fputs("],\"relatedLocations\":[", f);
	int id = 0;
	if (x->crash.n) {
		char *m = xasprintf("crash site: %s", frame_where(&x->crash, 0, b, sizeof b));
		sarif_location(f, &x->crash.f[0], cwd, m, id++);
		free(m);
	}
	for (int k = 1; k < g->n; k++) {
		const struct finding *y = &r->f[g->fi[k]];
		if (!y->inj.n)
			continue;
		char *m = xasprintf("also injected here: %s (%s)", frame_where(&y->inj, 0, b, sizeof b),
				    y->inj_site);
		fputs(id ? "," : "", f);
		sarif_location(f, &y->inj.f[0], cwd, m, id++);
		free(m);
	}
	fputs("],\"partialFingerprints\":{\"allocfailGroup/v1\":", f);
	json_put_str(f, g->key);
	fputs("}", f);
	if (r->has_baseline)
		fprintf(f, ",\"baselineState\":\"%s\"", g->known ? "unchanged" : "new");
	fputs("}", f);
}

int write_sarif(const char *path, const struct report *r)
{
	FILE *f = report_open(path);
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
		json_put_str(f, outcome_text(c));
		fprintf(f, "},\"defaultConfiguration\":{\"level\":\"%s\"}}",
			c == O_ABORT && !r->abort_is_bug ? "note" : "error");
	}
	fprintf(f, "]}},\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":");
	char *root = xasprintf("file://%s/", strcmp(cwd, "/") ? cwd : "");
	json_put_str(f, root);
	free(root);
	fprintf(f, "}},\"results\":[");
	for (int i = 0; i < r->ng; i++) {
		fputs(i ? ",\n" : "\n", f);
		sarif_result(f, r, &r->g[i], cwd);
	}
	fprintf(f, "\n]}]}\n");
	return report_close(f, path);
}
