/* explore_fork.c - --fork: runs of the program, each as the reference, in
   which the shim forks at the first hit of each call site of its share of
   the queue and the child takes the failure (shim/af_fork.c). A forking
   run's children run one after another, so with --jobs N the depth-0 sites
   are dealt to up to N forking runs that run in parallel (at least 4 sites
   each: every one is a program start). A run's children count only if the
   run itself then behaved exactly as the reference did; otherwise, and for
   the sites it could not fork, the runs of their own follow. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "explore_int.h"

struct driver {
	struct explore *x;
	char *dir;
	int listed;
	int ok; /* ran, and behaved as the reference did */
	const char *why;
	pthread_t th;
	int started; /* in a thread of its own */
};

static void *driver_run(void *arg)
{
	struct driver *d = arg;
	struct explore *x = d->x;
	d->why = "it could not be run";
	struct strv rules = {0};
	for (int i = 0; i < x->o.base.inline_rules.n; i++)
		strv_add(&rules, x->o.base.inline_rules.v[i]);
	for (int i = 0; i < x->o.exclude.n; i++)
		strv_addf(&rules, "nofail site=%s", x->o.exclude.v[i]);
	char *log = xasprintf("%s/driver.log", d->dir), *cen = xasprintf("%s/driver.census", d->dir);
	char *fork = xasprintf("%ld:%s", (long)(x->o.timeout * 1000), d->dir);
	struct strv envc = explore_run_env(x, &rules, log, cen, fork);
	strv_free(&rules);
	free(log);
	free(cen);
	free(fork);
	char **argv = explore_argv(x);
	char *out = xasprintf("%s/driver.out", d->dir), *err = xasprintf("%s/driver.err", d->dir);
	double limit = x->o.timeout * (d->listed + 2);
	if (x->o.budget_secs > 0 && limit > x->o.budget_secs)
		limit = x->o.budget_secs;
	struct runspec rs = {.argv = argv, .env = envc.v, .stdin_path = x->o.stdin_path, .timeout = limit,
			     .out_path = out, .err_path = err};
	struct runres rr = {0};
	int ran = run_child(&rs, &rr) == 0;
	free(argv);
	free(out);
	free(err);
	strv_free(&envc);
	if (ran) {
		d->why = rr.interrupted			   ? "it was interrupted"
			 : rr.deadlocked		   ? "it deadlocked"
			 : rr.timed_out			   ? "it did not finish in time"
			 : shell_status(rr.wstatus) != x->o.status ? "another exit status"
			 : rr.out_hash != x->ref_out_hash || rr.out_len != x->ref_out_len ? "other output"
											   : NULL;
		d->ok = d->why == NULL;
	}
	runres_free(&rr);
	return NULL;
}

/* Each forked child of d: a run like any other. Returns how many sites
   the forking run listed that it forked no child for. */
static int driver_collect(struct explore *x, const struct driver *d)
{
	char *rp = xasprintf("%s/results", d->dir);
	FILE *f = fopen(rp, "r");
	free(rp);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int children = 0;
	while (f && (n = getline(&line, &cap, f)) > 0) {
		struct jv *v = json_parse(line, (size_t)n, NULL, 0);
		const char *site = v ? json_str(v, "site") : NULL;
		int k = x->next_task;
		while (site && k < x->ntasks &&
		       (x->tasks[k].depth || x->tasks[k].forked || strcmp(x->tasks[k].site, site)))
			k++;
		if (!site || k == x->ntasks) {
			json_free(v);
			continue;
		}
		children++;
		long id = (long)json_int(v, "n", 0);
		char *cerr = xasprintf("%s/%ld.err", d->dir, id);
		char *clog = xasprintf("%s/%ld.log", d->dir, id), *ccen = xasprintf("%s/%ld.census", d->dir, id);
		struct runres cr = {0};
		cr.wstatus = (int)json_int(v, "wstatus", 0);
		cr.timed_out = json_bool(v, "timed_out", 0);
		cr.secs = json_get(v, "secs") ? json_get(v, "secs")->num : 0;
		cr.pid = (long)json_int(v, "pid", 0);
		/* stdout as the forking run hashed it (it removed the file); a
		   child whose stdout it could not read gets a run of its own */
		const char *oh = json_str(v, "out_hash");
		if (oh && runres_read_outputs(&cr, NULL, cerr) == 0 &&
		    !(WIFEXITED(cr.wstatus) && WEXITSTATUS(cr.wstatus) == 125 && !cr.err_len)) {
			cr.out_hash = strtoull(oh, NULL, 16);
			cr.out_len = (size_t)json_int(v, "out_len", 0);
			struct task copy = x->tasks[k];
			struct result res;
			memset(&res, 0, sizeof res);
			explore_judge(x, &copy, &res, &cr, NULL, clog, ccen);
			/* a child that did not handle the failure is run again on its
			   own, which decides: a finding always comes from a run that
			   its reproducer repeats, never from an artefact of forking */
			if (res.v.outcome == O_HANDLED) {
				x->tasks[k].forked = 1;
				x->rep.forked++;
				pthread_mutex_lock(&x->mu);
				explore_record(x, &copy, &res);
				pthread_mutex_unlock(&x->mu);
			}
			result_free(&res);
		}
		runres_free(&cr);
		free(cerr);
		free(clog);
		free(ccen);
		json_free(v);
	}
	free(line);
	if (f)
		fclose(f);
	return d->listed - children;
}

void explore_fork(struct explore *x)
{
	int total = 0;
	for (int i = x->next_task; i < x->ntasks; i++)
		if (!x->tasks[i].depth && (!x->o.budget_runs || total < x->o.budget_runs))
			total++;
	int nd = x->o.jobs < total / 4 ? x->o.jobs : total / 4;
	if (nd < 1)
		nd = 1;
	struct driver *dv = xmalloc(sizeof *dv * (size_t)nd);
	int written = 1;
	for (int k = 0; k < nd; k++) {
		memset(&dv[k], 0, sizeof dv[k]);
		dv[k].x = x;
		dv[k].dir = xasprintf("%s/fork-%d", x->o.tmp, k + 1);
		char *sp = xasprintf("%s/sites", dv[k].dir);
		FILE *f = written && mkdir(dv[k].dir, 0700) == 0 ? fopen(sp, "w") : NULL;
		/* the sites dealt in turn, so that each run's share spans the
		   program */
		for (int i = x->next_task, dealt = 0; f && i < x->ntasks && dealt < total; i++)
			if (!x->tasks[i].depth && dealt++ % nd == k) {
				fprintf(f, "%s\n", x->tasks[i].site);
				dv[k].listed++;
			}
		if (written && (!f || fclose(f) != 0)) {
			warnx_("explore: --fork: cannot write %s: %s", sp, strerror(errno));
			written = 0;
		}
		free(sp);
	}
	if (!written) {
		x->rep.fork_note = xstrdup("nothing was forked: its list of sites could not be written");
		for (int k = 0; k < nd; k++)
			free(dv[k].dir);
		free(dv);
		return;
	}
	for (int k = 1; k < nd; k++)
		if (!(dv[k].started = pthread_create(&dv[k].th, NULL, driver_run, &dv[k]) == 0))
			driver_run(&dv[k]);
	driver_run(&dv[0]);
	for (int k = 1; k < nd; k++)
		if (dv[k].started)
			pthread_join(dv[k].th, NULL);
	int all_ok = 1, failed = 0, unforked = 0;
	const char *why = NULL;
	for (int k = 0; k < nd; k++) {
		if (!dv[k].ok) {
			if (!why)
				why = dv[k].why;
			failed += dv[k].listed;
			all_ok = 0;
			continue;
		}
		x->runs_done++; /* the forking run itself */
		unforked += driver_collect(x, &dv[k]);
	}
	if (failed && !explore_stopping)
		x->rep.fork_note = xasprintf("%d of %d call sites were not forked: a forking run did not "
					     "behave as the reference did (%s); they got runs of their own",
					     failed, total, why);
	else if (unforked)
		x->rep.fork_note = xasprintf("%d of %d call sites were not forked (reached only with "
					     "more than one thread, inside the C runtime, in a child "
					     "process, or not at all in one run); they got runs of "
					     "their own",
					     unforked, total);
	/* two runs without injection, the same output; a forking run that
	   differed calls for a second reference run, which judges */
	x->ref_confirmed = all_ok;
	for (int k = 0; k < nd; k++)
		free(dv[k].dir);
	free(dv);
}
