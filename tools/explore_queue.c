/* explore_queue.c - explore's queue of failures to make, the workers that
   make them in parallel, and the recording of each result into the
   report (where error paths found on the way join the queue). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "af_glob.h"
#include "contexts.h"
#include "explore_int.h"

void explore_add_task(struct explore *x, const char *site, const char *module, int runtime,
		      int depth, char **chain, long nth, int root)
{
	if (x->ntasks == x->captasks) {
		x->captasks = x->captasks ? x->captasks * 2 : 64;
		x->tasks = xrealloc(x->tasks, sizeof *x->tasks * (size_t)x->captasks);
	}
	struct task *t = &x->tasks[x->ntasks];
	memset(t, 0, sizeof *t);
	t->site = site ? xstrdup(site) : NULL;
	t->module = module ? xstrdup(module) : NULL;
	t->runtime = runtime;
	t->depth = depth;
	t->nth = nth;
	t->root = root < 0 ? x->ntasks : root;
	if (depth) {
		t->chain = xmalloc(sizeof *t->chain * (size_t)depth);
		for (int i = 0; i < depth; i++)
			t->chain[i] = xstrdup(chain[i]);
	}
	x->ntasks++;
}

/* The site's entry in the report, made on its first result. */
static struct siteres *site_entry(struct explore *x, const struct task *t, const struct result *res,
				  const char *key)
{
	struct report *rep = &x->rep;
	for (int i = 0; x->o.mode == MODE_NTH && i < rep->nsites; i++)
		if (!strcmp(rep->sites[i].site, key))
			return &rep->sites[i];
	struct siteres *s = report_add_site(rep, key);
	s->module = t->module ? xstrdup(t->module) : NULL;
	s->runtime = t->runtime;
	s->depth = t->depth;
	s->order = t->depth ? -1 : t->root; /* a context: its plain site's */
	s->chain = t->depth ? xmalloc(sizeof *s->chain * (size_t)t->depth) : NULL;
	for (int i = 0; i < t->depth; i++)
		s->chain[i] = xstrdup(t->chain[i]);
	const struct jv *st = res->inj ? json_get(res->inj, "stack") : NULL;
	if (st && st->t == J_ARR && st->n) {
		int cs = explore_call_site(st);
		const struct jv *fr = &st->items[cs == st->n ? 0 : cs];
		s->func = json_str(fr, "func") ? xstrdup(json_str(fr, "func")) : NULL;
		s->file = json_str(fr, "file") ? xstrdup(json_str(fr, "file")) : NULL;
		s->line = (int)json_int(fr, "line", 0);
		if (!s->module && json_str(fr, "module"))
			s->module = xstrdup(json_str(fr, "module"));
	}
	struct site *k = s->func ? NULL : census_find(&x->known, key);
	if (k) {
		census_symbolize(&x->known);
		s->func = k->sym.func ? xstrdup(k->sym.func) : NULL;
		s->file = k->sym.file ? xstrdup(k->sym.file) : NULL;
		s->line = k->sym.line;
		if (!s->module)
			s->module = xstrdup(k->module);
	}
	s->outcome = O_COUNT; /* set by the caller */
	s->status = res->status;
	s->secs = res->secs;
	return s;
}

static void add_finding(struct explore *x, const struct task *t, const struct result *res,
			const char *key, const char *repro)
{
	int cls = res->v.outcome;
	int at_crash = cls == O_CRASH || cls == O_ABORT || cls == O_ASSERT;
	struct finding *f = report_add_finding(&x->rep, cls, key, at_crash ? res->crash_site : NULL);
	if (!f->count) {
		f->detail = res->v.detail ? xstrdup(res->v.detail) : NULL;
		f->reproducer = xstrdup(repro);
		f->proc = res->proc ? xstrdup(res->proc) : NULL;
		f->signature = res->v.signature ? xstrdup(res->v.signature) : NULL;
		f->depth = t->depth;
		f->parent = t->depth ? xstrdup(t->chain[t->depth - 1]) : NULL;
		/* the injection stack from the call site down */
		const struct jv *st = res->inj ? json_get(res->inj, "stack") : NULL;
		explore_stack(st, &f->inj, 0, 1);
		if (res->crash) {
			/* from the crash site down, as for injections */
			explore_stack(json_get(res->crash, "stack"), &f->crash, 1, 0);
			int cs = (int)json_int(res->crash, "crash_site", 0);
			if (cs > 0 && cs < f->crash.n) {
				memmove(f->crash.f, f->crash.f + cs, sizeof *f->crash.f * (size_t)(f->crash.n - cs));
				f->crash.n -= cs;
			}
		}
	}
	f->count++;
}

/* After a plain site's first failure: the site's other calling contexts
   join the queue, when the census saw it reached from several callers and
   the failure came back out of its function (a wrapper that returns NULL
   to its callers; one that ends the process, as xmalloc does, would end it
   alike in every context). */
static void queue_contexts(struct explore *x, const struct task *t, const struct result *res)
{
	if (x->o.mode == MODE_NTH || !x->o.context || t->depth || !t->site || strchr(t->site, '<') ||
	    !res->inj)
		return;
	struct site *s = census_find(&x->known, t->site);
	if (!s || s->nchains < 2)
		return;
	/* --wrapper and --not-wrapper decide by the site's function */
	int forced = 0;
	if (x->o.wrappers.n || x->o.not_wrappers.n) {
		census_symbolize(&x->known);
		const char *fn = s->sym.func;
		for (int i = 0; fn && i < x->o.not_wrappers.n; i++)
			if (af_glob(x->o.not_wrappers.v[i], fn))
				return;
		for (int i = 0; fn && i < x->o.wrappers.n && !forced; i++)
			forced = af_glob(x->o.wrappers.v[i], fn);
	}
	struct strv ctx = {0};
	int cut;
	int n = contexts_of(s->chains, s->nchains, x->o.context, CONTEXTS_MAX, &ctx, &cut);
	if (n) {
		x->rep.wrappers++;
		x->rep.contexts_found += n + cut;
		x->rep.contexts_cut += cut;
	}
	for (int i = 0; i < n; i++) {
		/* the one the first hit took is done: this run */
		size_t l = strlen(ctx.v[i]);
		if (res->context && !strncmp(res->context, ctx.v[i], l) &&
		    (res->context[l] == 0 || res->context[l] == '<')) {
			x->rep.contexts_explored++;
			continue;
		}
		/* the failure came back out of every frame below the context's
		   outermost caller (the wrapper and its plumbing) */
		int frames = 1;
		for (const char *p = ctx.v[i]; (p = strchr(p, '<')); p++)
			frames++;
		if (!forced && (!res->end_known || (res->kept_at && res->kept_at < frames))) {
			x->rep.contexts_kept++;
			continue;
		}
		x->rep.contexts_explored++;
		explore_add_task(x, ctx.v[i], t->module, t->runtime, 0, NULL, 0, t->root);
	}
	strv_free(&ctx);
}

void explore_record(struct explore *x, const struct task *t, struct result *res)
{
	x->runs_done++;
	if (res->internal) {
		if (!x->internal_errors++)
			x->internal_first = xstrdup(res->internal);
		return;
	}
	int injected = res->inj != NULL;
	if (x->o.mode == MODE_NTH && !injected) {
		if (x->nth_stop < 0 || t->nth < x->nth_stop)
			x->nth_stop = t->nth;
		return;
	}
	/* nth mode: the site the nth allocation was made at; else the task's
	   site (a calling context keeps its frames) */
	char *key = x->o.mode != MODE_NTH && t->site ? xstrdup(t->site)
		    : res->inj && json_str(res->inj, "site")
			? strndup(json_str(res->inj, "site"), strcspn(json_str(res->inj, "site"), " "))
			: xstrdup("?");
	char *repro = explore_reproducer(x, t, res->v.outcome);
	struct siteres *s = site_entry(x, t, res, key);
	if (s->outcome == O_COUNT || outcome_rank(res->v.outcome) < outcome_rank(s->outcome)) {
		s->outcome = res->v.outcome;
		free(s->detail);
		s->detail = res->v.detail ? xstrdup(res->v.detail) : NULL;
		free(s->reproducer);
		s->reproducer = xstrdup(repro);
	}
	if (res->v.outcome != O_HANDLED && res->v.outcome != O_UNREACHED)
		add_finding(x, t, res, key, repro);
	free(repro);
	free(key);
	queue_contexts(x, t, res);
	/* error paths that allocate: known from now on, and queued under
	   the failures that reach them (once: another run may have found
	   one since this run was judged) */
	int queue = x->o.mode != MODE_NTH && t->depth < x->o.max_depth && injected;
	char **chain = xmalloc(sizeof(char *) * (size_t)(t->depth + 1));
	for (int i = 0; i < t->depth; i++)
		chain[i] = t->chain[i];
	chain[t->depth] = t->site;
	for (int i = 0; i < res->nnew; i++) {
		const struct newsite *n = &res->nv[i];
		if (census_find(&x->known, n->key))
			continue;
		census_add(&x->known, n->key, n->module, n->runtime);
		if (queue && explore_in_scope(x, n->module, n->runtime) && !explore_excluded(x, n->key))
			explore_add_task(x, n->key, n->module, n->runtime, t->depth + 1, chain, 0, t->root);
	}
	free(chain);
}

static int budget_left(const struct explore *x)
{
	if (explore_stopping)
		return 0;
	if (x->o.budget_runs && x->runs_done + x->inflight >= x->o.budget_runs)
		return 0;
	if (x->o.budget_secs > 0 && mono_now() - x->t_start >= x->o.budget_secs)
		return 0;
	return 1;
}

static void progress(const struct explore *x)
{
	if (x->o.quiet || !isatty(2))
		return;
	int found = x->rep.nf;
	double el = mono_now() - x->t_start;
	int left = x->ntasks - x->next_task + x->inflight;
	double eta = x->runs_done ? (double)left * el / (double)x->runs_done : 0;
	fprintf(stderr,
		"\r\033[Kallocfail explore: %ld runs done, %d queued, %d finding%s, %.0f s, about %.0f s left",
		x->runs_done, left, found, found == 1 ? "" : "s", el, eta);
}

/* --mode nth: the queue goes on until a run injects nothing */
static void extend_nth(struct explore *x)
{
	if (x->o.mode == MODE_NTH && x->nth_stop < 0 && x->next_task >= x->ntasks && x->ntasks)
		explore_add_task(x, NULL, NULL, 0, 0, NULL,
				 x->tasks[x->ntasks - 1].nth + (x->o.shard_n ? x->o.shard_n : 1), -1);
}

/* The end of the tasks this pass of the workers takes. */
static int pass_end(const struct explore *x)
{
	return x->task_end >= 0 && x->task_end < x->ntasks ? x->task_end : x->ntasks;
}

static void *worker(void *arg)
{
	struct explore *x = arg;
	pthread_mutex_lock(&x->mu);
	for (;;) {
		while (x->next_task >= pass_end(x) && x->inflight > 0 && budget_left(x))
			pthread_cond_wait(&x->cv, &x->mu);
		if (x->next_task >= pass_end(x) || !budget_left(x))
			break;
		struct task *t = &x->tasks[x->next_task];
		int id = x->next_task++;
		if (x->o.mode == MODE_NTH && x->nth_stop >= 0 && t->nth > x->nth_stop)
			continue;
		if (t->forked) {
			extend_nth(x);
			continue;
		}
		x->inflight++;
		struct task copy = *t; /* tasks may be reallocated meanwhile */
		pthread_mutex_unlock(&x->mu);
		struct result res;
		explore_run_task(x, &copy, id, &res);
		pthread_mutex_lock(&x->mu);
		x->inflight--;
		if (!res.interrupted)
			explore_record(x, &copy, &res);
		result_free(&res);
		extend_nth(x);
		progress(x);
		pthread_cond_broadcast(&x->cv);
	}
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

void explore_workers(struct explore *x)
{
	pthread_t *th = xmalloc(sizeof *th * (size_t)x->o.jobs);
	for (int k = 0; k < x->o.jobs; k++)
		pthread_create(&th[k], NULL, worker, x);
	for (int k = 0; k < x->o.jobs; k++)
		pthread_join(th[k], NULL);
	free(th);
	if (!x->o.quiet && isatty(2))
		fputs("\r\033[K", stderr);
}
