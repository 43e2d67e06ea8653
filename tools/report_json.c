/* report_json.c - the explore report as JSON (format 2), and read back for
   `allocfail merge`. Every site and frame has both "site" and
   "function", so a name seen in the table can be searched for here. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore.h"
#include "json.h"

#define FORMAT 2

static void put_opt_str(FILE *f, const char *s)
{
	if (s)
		json_put_str(f, s);
	else
		fputs("null", f);
}

/* ,"key":"s" (or null) */
static void put_opt_field(FILE *f, const char *key, const char *s)
{
	fprintf(f, ",\"%s\":", key);
	put_opt_str(f, s);
}

/* "site":..,"module":..,"function":..,"file":..,"line":N — a place in
   code as every site and frame gives it */
static void put_place(FILE *f, const char *site, const char *module, const char *func,
		      const char *file, int line)
{
	fputs("\"site\":", f);
	put_opt_str(f, site);
	put_opt_field(f, "module", module);
	put_opt_field(f, "function", func);
	put_opt_field(f, "file", file);
	fprintf(f, ",\"line\":%d", line);
}

static void put_stack(FILE *f, const struct stackv *st)
{
	fputc('[', f);
	for (int i = 0; i < st->n; i++) {
		const struct frame *fr = &st->f[i];
		fputs(i ? ",{" : "{", f);
		put_place(f, fr->pc, fr->module, fr->func, fr->file, fr->line);
		put_opt_field(f, "pc", fr->pc);
		fputc('}', f);
	}
	fputc(']', f);
}

static void put_strs(FILE *f, char *const *v, int n)
{
	fputc('[', f);
	for (int k = 0; k < n; k++) {
		if (k)
			fputc(',', f);
		json_put_str(f, v[k]);
	}
	fputc(']', f);
}

int write_json(const char *path, const struct report *r)
{
	FILE *f = report_open(path);
	if (!f)
		return -1;
	fprintf(f, "{\"allocfail\":\"%s\",\"format\":%d,\"command\":", ALLOCFAIL_VERSION, FORMAT);
	put_strs(f, r->cmd, r->ncmd);
	put_opt_field(f, "program", r->program);
	put_opt_field(f, "mode", r->mode);
	fprintf(f, ",\"shard\":[%d,%d],\"abort_is_bug\":%s,\"reference_status\":%d,"
		   "\"nondeterministic\":%s,\"runs\":%ld,\"forked\":%d,\"forked_contexts\":%d,"
		   "\"seconds\":%.3f,"
		   "\"unexplored\":%d,\"baseline\":%s,\"new_bugs\":%d,",
		r->shard_k, r->shard_n, r->abort_is_bug ? "true" : "false", r->ref_status,
		r->nondeterministic ? "true" : "false", r->runs, r->forked, r->contexts_forked, r->secs,
		r->budget_hit,
		r->has_baseline ? "true" : "false", report_bugs(r));
	fprintf(f, "\"contexts\":{\"wrappers\":%d,\"found\":%d,\"explored\":%d,\"kept\":%d,"
		   "\"cut\":%d},",
		r->wrappers, r->contexts_found, r->contexts_explored, r->contexts_kept, r->contexts_cut);
	fprintf(f, "\"not_forked\":{");
	for (int k = 0, n = 0; k < NF_COUNT; k++)
		if (r->not_forked[k])
			fprintf(f, "%s\"%s\":%d", n++ ? "," : "", not_forked_names[k], r->not_forked[k]);
	fprintf(f, "},\"fork_why\":");
	put_opt_str(f, r->fork_why);
	char *note = fork_note(r);
	put_opt_field(f, "fork_note", note);
	free(note);
	fprintf(f, ",\"timeout\":%.3f,\"excluded\":%d,\"once\":%s,\"programs\":", r->timeout,
		r->excluded, r->once ? "true" : "false");
	put_strs(f, r->programs.v, r->programs.n);
	fputs(",\n\"tests\":[", f);
	for (int i = 0; i < r->ntests; i++) {
		const struct testres *t = &r->tests[i];
		fprintf(f, "%s\n{\"name\":", i ? "," : "");
		json_put_str(f, t->name);
		put_opt_field(f, "note", t->note);
		fprintf(f, ",\"sites\":%d,\"skipped\":%d,\"runs\":%ld,\"seconds\":%.3f,\"timeout\":%.3f}",
			t->sites, t->skipped, t->runs, t->secs, t->timeout);
	}
	fprintf(f, "],\n\"sites\":[");
	for (int i = 0; i < r->nsites; i++) {
		const struct siteres *s = &r->sites[i];
		fputs(i ? ",\n{" : "\n{", f);
		put_place(f, s->site, s->module, s->func, s->file, s->line);
		fprintf(f, ",\"runtime\":%s,\"depth\":%d,\"chain\":", s->runtime ? "true" : "false",
			s->depth);
		put_strs(f, s->chain, s->depth);
		fprintf(f, ",\"outcome\":\"%s\",\"status\":%d,\"seconds\":%.3f,\"detail\":",
			outcome_names[s->outcome], s->status, s->secs);
		put_opt_str(f, s->detail);
		put_opt_field(f, "reproducer", s->reproducer);
		put_opt_field(f, "test", s->test);
		fputc('}', f);
	}
	fprintf(f, "\n],\n\"findings\":[");
	for (int i = 0; i < r->nf; i++) {
		const struct finding *x = &r->f[i];
		const struct group *g = x->group >= 0 ? &r->g[x->group] : NULL;
		fprintf(f, "%s\n{\"class\":\"%s\",\"bug\":%s,\"group\":", i ? "," : "",
			outcome_names[x->cls], outcome_is_bug(r, x->cls) ? "true" : "false");
		put_opt_str(f, g ? g->key : NULL);
		fputs(",\"injection_site\":", f);
		json_put_str(f, x->inj_site);
		put_opt_field(f, "function", x->inj.n ? x->inj.f[0].func : NULL);
		put_opt_field(f, "crash_site", x->crash_site);
		put_opt_field(f, "crash_function", x->crash.n ? x->crash.f[0].func : NULL);
		put_opt_field(f, "process", x->proc);
		put_opt_field(f, "signature", x->signature);
		fprintf(f, ",\"depth\":%d,\"parent\":", x->depth);
		put_opt_str(f, x->parent);
		put_opt_field(f, "detail", x->detail);
		put_opt_field(f, "reproducer", x->reproducer);
		put_opt_field(f, "test", x->test);
		fprintf(f, ",\"unconfirmed\":%s", x->unconfirmed ? "true" : "false");
		fprintf(f, ",\"count\":%d,\"injection_stack\":", x->count);
		put_stack(f, &x->inj);
		fputs(",\"crash_stack\":", f);
		put_stack(f, &x->crash);
		fputc('}', f);
	}
	fprintf(f, "\n],\n\"groups\":[");
	for (int i = 0; i < r->ng; i++) {
		const struct group *g = &r->g[i];
		const struct finding *x = &r->f[g->fi[0]];
		fprintf(f, "%s\n{\"key\":", i ? "," : "");
		json_put_str(f, g->key);
		fprintf(f, ",\"class\":\"%s\",\"bug\":%s,\"known\":%s,\"library\":%s,\"sites\":[",
			outcome_names[g->cls], outcome_is_bug(r, g->cls) ? "true" : "false",
			g->known ? "true" : "false", g->library ? "true" : "false");
		int n = 0;
		for (int k = 0; k < g->n; k++) {
			const struct finding *y = &r->f[g->fi[k]];
			if (!group_first_of_site(r, g, k))
				continue;
			fprintf(f, "%s{\"site\":", n++ ? "," : "");
			json_put_str(f, y->inj_site);
			put_opt_field(f, "function", y->inj.n ? y->inj.f[0].func : NULL);
			put_opt_field(f, "reproducer", y->reproducer);
			fputc('}', f);
		}
		fprintf(f, "],\"count\":%d,\"detail\":", g->n);
		put_opt_str(f, x->detail);
		fputc('}', f);
	}
	fprintf(f, "\n]}\n");
	return report_close(f, path);
}

/* ---- reading JSON back (merge) ------------------------------------------- */

static char *dup_opt(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* A field read back only where the reports read before had none. */
static void keep_first(char **dst, const struct jv *x, const char *key)
{
	if (!*dst)
		*dst = dup_opt(json_str(x, key));
}

/* An array of strings, copied (an item that is not a string as "?"). */
static char **dup_strs(const struct jv *a, int *n)
{
	char **v = xmalloc(sizeof *v * (size_t)(a->n + 1));
	for (*n = 0; *n < a->n; ++*n)
		v[*n] = xstrdup(a->items[*n].t == J_STR ? a->items[*n].s : "?");
	return v;
}

/* put_place() read back, but for the site */
static void read_place(const struct jv *x, char **module, char **func, char **file, int *line)
{
	*module = dup_opt(json_str(x, "module"));
	*func = dup_opt(json_str(x, "function"));
	*file = dup_opt(json_str(x, "file"));
	*line = (int)json_int(x, "line", 0);
}

static void read_stack(const struct jv *a, struct stackv *st)
{
	if (st->n || !a || a->t != J_ARR)
		return;
	st->f = xmalloc(sizeof *st->f * (size_t)(a->n ? a->n : 1));
	for (int i = 0; i < a->n; i++) {
		const struct jv *x = &a->items[i];
		struct frame *fr = &st->f[st->n++];
		fr->pc = dup_opt(json_str(x, "site") ? json_str(x, "site") : json_str(x, "pc"));
		read_place(x, &fr->module, &fr->func, &fr->file, &fr->line);
	}
}

static int class_of(const char *name)
{
	for (int c = 0; name && c < O_COUNT; c++)
		if (!strcmp(name, outcome_names[c]))
			return c;
	return -1;
}

/* The report's own settings against those of the reports read before. */
static const char *mismatch(const struct report *r, const struct jv *v, int sk, int sn)
{
	if (!r->nshards_read)
		return NULL;
	if (strcmp(json_str(v, "mode") ? json_str(v, "mode") : "", r->mode ? r->mode : ""))
		return "was explored in another --mode";
	if (json_bool(v, "abort_is_bug", 0) != r->abort_is_bug)
		return "differs in --abort-is-bug";
	if (json_int(v, "reference_status", 0) != r->ref_status)
		return "differs in --status";
	if (sn != r->shard_n_read)
		return "is a shard of another --shard K/N split";
	for (int i = 0; i < r->nshards_read; i++)
		if (r->shards_read[i] == sk)
			return sn > 1 ? "is a shard already read (the same K)" : "repeats a report already read";
	return NULL;
}

static void read_tests(struct report *r, const struct jv *v)
{
	const struct jv *p = json_get(v, "programs");
	for (int i = 0; p && p->t == J_ARR && i < p->n; i++) {
		int seen = p->items[i].t != J_STR;
		for (int k = 0; k < r->programs.n && !seen; k++)
			seen = !strcmp(r->programs.v[k], p->items[i].s);
		if (!seen)
			strv_add(&r->programs, p->items[i].s);
	}
	const struct jv *ts = json_get(v, "tests");
	for (int i = 0; ts && ts->t == J_ARR && i < ts->n; i++) {
		const struct jv *x = &ts->items[i];
		const char *name = json_str(x, "name");
		if (!name)
			continue;
		/* a test whose sites were dealt out to shards: one test */
		struct testres *t = NULL;
		for (int k = 0; k < r->ntests && !t; k++)
			if (!strcmp(r->tests[k].name, name))
				t = &r->tests[k];
		if (!t) {
			t = report_add_test(r, name);
			t->note = dup_opt(json_str(x, "note"));
		} else if (!json_str(x, "note")) {
			free(t->note);
			t->note = NULL;
		}
		t->sites += (int)json_int(x, "sites", 0);
		t->skipped += (int)json_int(x, "skipped", 0);
		t->runs += json_int(x, "runs", 0);
		double secs = json_num(x, "seconds", 0);
		double to = json_num(x, "timeout", 0);
		t->secs = secs > t->secs ? secs : t->secs;
		t->timeout = to > t->timeout ? to : t->timeout;
	}
}

static void read_sites(struct report *r, const struct jv *sites)
{
	for (int i = 0; i < sites->n; i++) {
		const struct jv *x = &sites->items[i];
		const char *site = json_str(x, "site");
		const struct jv *chain = json_get(x, "chain");
		if (!site)
			continue;
		int dup = 0;
		for (int k2 = 0; k2 < r->nsites && !dup; k2++) {
			struct siteres *o = &r->sites[k2];
			if (strcmp(o->site, site) || !chain || chain->t != J_ARR || o->depth != chain->n ||
			    !same_opt(o->test, json_str(x, "test")))
				continue;
			dup = 1;
			for (int c = 0; c < o->depth; c++)
				if (chain->items[c].t != J_STR || strcmp(chain->items[c].s, o->chain[c]))
					dup = 0;
		}
		if (dup)
			continue;
		struct siteres *s = report_add_site(r, site);
		read_place(x, &s->module, &s->func, &s->file, &s->line);
		s->runtime = json_bool(x, "runtime", 0);
		s->status = (int)json_int(x, "status", 0);
		s->detail = dup_opt(json_str(x, "detail"));
		s->reproducer = dup_opt(json_str(x, "reproducer"));
		s->secs = json_num(x, "seconds", 0);
		s->test = dup_opt(json_str(x, "test"));
		int c = class_of(json_str(x, "outcome"));
		s->outcome = c < 0 ? O_HANDLED : c;
		if (chain && chain->t == J_ARR)
			s->chain = dup_strs(chain, &s->depth);
	}
}

static void read_findings(struct report *r, const struct jv *fs)
{
	for (int i = 0; i < fs->n; i++) {
		const struct jv *x = &fs->items[i];
		int c = class_of(json_str(x, "class"));
		const char *inj = json_str(x, "injection_site");
		if (c < 0 || !inj)
			continue;
		struct finding *fd = report_add_finding(r, c, inj, json_str(x, "crash_site"));
		fd->count += (int)json_int(x, "count", 1);
		keep_first(&fd->detail, x, "detail");
		keep_first(&fd->reproducer, x, "reproducer");
		keep_first(&fd->proc, x, "process");
		keep_first(&fd->signature, x, "signature");
		keep_first(&fd->parent, x, "parent");
		keep_first(&fd->test, x, "test");
		fd->unconfirmed = json_bool(x, "unconfirmed", 0);
		fd->depth = (int)json_int(x, "depth", 0);
		read_stack(json_get(x, "injection_stack"), &fd->inj);
		read_stack(json_get(x, "crash_stack"), &fd->crash);
	}
}

int read_json(const char *path, struct report *r, char *err, size_t errcap)
{
	size_t len;
	char *text = read_whole_or_say(path, &len, "cannot read ", err, errcap);
	if (!text)
		return -1;
	char perr[256];
	struct jv *v = json_parse(text, len, perr, sizeof perr);
	free(text);
	if (!v || !json_get(v, "sites") || !json_get(v, "findings")) {
		snprintf(err, errcap, "'%s' is not an allocfail explore report%s%s", path, v ? "" : ": ",
			 v ? "" : perr);
		json_free(v);
		return -1;
	}
	if (json_int(v, "format", 0) != FORMAT) {
		snprintf(err, errcap, "'%s' is an explore report of another format (%lld, not %d): "
			 "explore again with this version", path, (long long)json_int(v, "format", 0), FORMAT);
		json_free(v);
		return -1;
	}
	const struct jv *cmd = json_get(v, "command");
	if (!r->ncmd && cmd && cmd->t == J_ARR) {
		r->cmd = dup_strs(cmd, &r->ncmd);
		r->mode = dup_opt(json_str(v, "mode"));
		r->program = dup_opt(json_str(v, "program"));
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
	const char *why = mismatch(r, v, sk, sn);
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
	r->contexts_forked += (int)json_int(v, "forked_contexts", 0);
	double secs = json_num(v, "seconds", 0);
	if (secs > r->secs)
		r->secs = secs; /* shards run side by side */
	r->budget_hit += (int)json_int(v, "unexplored", 0);
	r->nondeterministic |= json_bool(v, "nondeterministic", 0);
	const struct jv *cx = json_get(v, "contexts");
	r->wrappers += (int)json_int(cx, "wrappers", 0);
	r->contexts_found += (int)json_int(cx, "found", 0);
	r->contexts_explored += (int)json_int(cx, "explored", 0);
	r->contexts_kept += (int)json_int(cx, "kept", 0);
	r->contexts_cut += (int)json_int(cx, "cut", 0);
	double to = json_num(v, "timeout", 0);
	if (to > r->timeout)
		r->timeout = to;
	r->excluded += (int)json_int(v, "excluded", 0);
	r->once |= json_bool(v, "once", 0);
	read_tests(r, v);
	const struct jv *nf = json_get(v, "not_forked");
	for (int k = 0; k < NF_COUNT; k++)
		r->not_forked[k] += nf ? (int)json_int(nf, not_forked_names[k], 0) : 0;
	keep_first(&r->fork_why, v, "fork_why");
	read_sites(r, json_get(v, "sites"));
	read_findings(r, json_get(v, "findings"));
	json_free(v);
	return 0;
}
