/* explore_fork.c - the forking runs: runs of the program, each as the
   reference, in which the shim forks at each key of its share of the queue
   (a call site's first hit, or a calling context's; in --mode nth,
   allocation k) and the child takes the failure (shim/af_fork.c). Explore
   calls it twice: for the call sites, then for the calling contexts that
   their forked children queued (a plain site's failure came back out of a
   wrapper). A forking run's children run one
   after another, so with --jobs N the depth-0 keys are dealt to up to N
   forking runs that run in parallel (at least 4 keys each: every one is a
   program start). A run's children count only if the run itself then
   behaved exactly as the reference did; otherwise, for the keys it could
   not fork (the shim says why) and for the children that did not handle
   their failure, the runs of their own follow. */
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
	int *idx; /* the tasks it lists, in order */
	int listed;
	int ok; /* ran, and behaved as the reference did */
	const char *why;
	double stop; /* seconds after its start that it stops forking; 0: never */
	pthread_t th;
	int started; /* in a thread of its own */
};

/* A task's key in a forking run's list: its call site, or in --mode nth
   its allocation number. */
static const char *task_key(const struct explore *x, const struct task *t, char *buf, size_t cap)
{
	if (x->o.mode != MODE_NTH)
		return t->site;
	snprintf(buf, cap, "%ld", t->nth);
	return buf;
}

static void *driver_run(void *arg)
{
	struct driver *d = arg;
	struct explore *x = d->x;
	d->why = "it could not be run";
	struct strv rules = {0};
	for (int i = 0; i < x->o.base.inline_rules.n; i++)
		strv_add(&rules, x->o.base.inline_rules.v[i]);
	/* in --mode nth, the rule of a run of its own with a count that is
	   never reached: the shim forks at the counts listed */
	struct task counter = {.nth = INT64_MAX};
	if (x->o.mode == MODE_NTH)
		explore_task_rules(x, &counter, &rules);
	else
		for (int i = 0; i < x->o.exclude.n; i++)
			strv_addf(&rules, "nofail site=%s", x->o.exclude.v[i]);
	char *log = xasprintf("%s/driver.log", d->dir), *cen = xasprintf("%s/driver.census", d->dir);
	char *fork = xasprintf("%ld:%s:%ld:%s", (long)(x->o.timeout * 1000), mode_names[x->o.mode],
			       d->stop > 0 ? (long)(d->stop * 1000) + 1 : 0L, d->dir);
	struct strv envc = explore_run_env(x, &rules, log, cen, fork);
	strv_free(&rules);
	free(log);
	free(cen);
	free(fork);
	char **argv = explore_argv(x);
	char *out = xasprintf("%s/driver.out", d->dir), *err = xasprintf("%s/driver.err", d->dir);
	double limit = x->o.timeout * (d->listed + 2);
	/* past its stop it runs on as the reference does: the child then
	   running, and the rest of the program */
	if (d->stop > 0 && limit > d->stop + 2 * x->o.timeout)
		limit = d->stop + 2 * x->o.timeout;
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

/* The position in d's list of the task with this key, searched from *at
   on (the results come in the list's order, as a rule); -1 if none. */
static int find_listed(const struct explore *x, const struct driver *d, const char *key, int *at)
{
	char buf[32];
	for (int n = 0; n < d->listed; n++) {
		int k = (*at + n) % d->listed;
		if (!strcmp(task_key(x, &x->tasks[d->idx[k]], buf, sizeof buf), key)) {
			*at = k;
			return k;
		}
	}
	return -1;
}

/* One forked child's result: a run like any other. Returns the NF_ reason
   its task gets a run of its own, or -1 when the child decided it. */
static int child_result(struct explore *x, const struct driver *d, int ti, const struct jv *v)
{
	long id = (long)json_int(v, "pid", 0); /* its files are named by its pid */
	char *cerr = xasprintf("%s/%ld.err", d->dir, id);
	char *clog = xasprintf("%s/%ld.log", d->dir, id), *ccen = xasprintf("%s/%ld.census", d->dir, id);
	struct runres cr = {0};
	cr.wstatus = (int)json_int(v, "wstatus", 0);
	cr.timed_out = json_bool(v, "timed_out", 0);
	cr.secs = json_num(v, "secs", 0);
	cr.pid = (long)json_int(v, "pid", 0);
	int why = NF_SETUP;
	/* stdout as the forking run hashed it (it removed the file); a child
	   whose stdout it could not read gets a run of its own */
	const char *oh = json_str(v, "out_hash");
	if (oh && runres_read_outputs(&cr, NULL, cerr) == 0 &&
	    !(WIFEXITED(cr.wstatus) && WEXITSTATUS(cr.wstatus) == 125 && !cr.err_len)) {
		cr.out_hash = strtoull(oh, NULL, 16);
		cr.out_len = (size_t)json_int(v, "out_len", 0);
		struct task copy = x->tasks[ti];
		struct result res;
		memset(&res, 0, sizeof res);
		explore_judge(x, &copy, &res, &cr, NULL, clog, ccen);
		/* a child that did not handle the failure is run again on its
		   own, which decides: a finding always comes from a run that its
		   reproducer repeats, never from an artefact of forking */
		why = NF_UNHANDLED;
		if (res.v.outcome == O_HANDLED && res.inj) {
			why = -1;
			x->tasks[ti].forked = 1;
			pthread_mutex_lock(&x->mu);
			x->rep.forked++;
			x->rep.contexts_forked += strchr(copy.site ? copy.site : "", '<') != NULL;
			explore_record(x, &copy, &res);
			pthread_mutex_unlock(&x->mu);
		}
		result_free(&res);
	}
	runres_free(&cr);
	free(cerr);
	free(clog);
	free(ccen);
	return why;
}

/* What became of each key of d's list: a forked child that decided it, or
   the reason it gets a run of its own (counted in the report). */
static void driver_collect(struct explore *x, const struct driver *d)
{
	int *note = xmalloc(sizeof *note * (size_t)(d->listed ? d->listed : 1));
	struct jv **child = xmalloc(sizeof *child * (size_t)(d->listed ? d->listed : 1));
	for (int k = 0; k < d->listed; k++) {
		note[k] = -1;
		child[k] = NULL;
	}
	char *rp = xasprintf("%s/results", d->dir);
	FILE *f = fopen(rp, "r");
	free(rp);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int at = 0;
	while (f && (n = getline(&line, &cap, f)) > 0) {
		struct jv *v = json_parse(line, (size_t)n, NULL, 0);
		const char *key = v ? json_str(v, "site") : NULL;
		int k = key ? find_listed(x, d, key, &at) : -1;
		const char *nf = k >= 0 ? json_str(v, "not_forked") : NULL;
		if (nf && note[k] < 0) {
			/* any process that could not fork it: a run of its own
			   also fails it there (a process the command ran, say) */
			note[k] = NF_SETUP;
			for (int r = 0; r < NF_UNHANDLED; r++)
				if (!strcmp(nf, not_forked_names[r]))
					note[k] = r;
		} else if (k >= 0 && !nf && !child[k]) {
			child[k] = v;
			v = NULL;
		} else if (k >= 0 && !nf && note[k] < 0) {
			/* forked twice: the command exec'd, and a run of its own
			   fails the key in both images */
			note[k] = NF_EXEC;
		}
		json_free(v);
	}
	free(line);
	if (f)
		fclose(f);
	for (int k = 0; k < d->listed; k++) {
		int why = note[k] >= 0 ? note[k]
			  : child[k]   ? child_result(x, d, d->idx[k], child[k])
				       : NF_UNREACHED;
		if (why >= 0)
			x->rep.not_forked[why]++;
		json_free(child[k]);
	}
	free(note);
	free(child);
}

/* Whether task i is one for a forking run that starts at from: a call
   site, a calling context or an allocation, not an error path. */
static int offered(const struct explore *x, int from, int i)
{
	return i >= from && !x->tasks[i].depth && !x->tasks[i].forked;
}

void explore_fork(struct explore *x, int from, const char *name)
{
	/* the budget: the forking runs are runs, and so is each child */
	long room = x->o.budget_runs ? x->o.budget_runs - x->runs_done : -1;
	int avail = 0;
	for (int i = from; i < x->ntasks; i++)
		avail += offered(x, from, i);
	int nd = x->o.jobs < avail / 4 ? x->o.jobs : avail / 4;
	if (nd < 1)
		nd = 1;
	if (room >= 0 && nd > room / 2)
		nd = (int)(room / 2);
	long total = room >= 0 ? room - nd : avail;
	if (total > avail)
		total = avail;
	if (nd < 1 || total < 1)
		return;
	double stop = 0;
	if (x->o.budget_secs > 0) {
		stop = x->o.budget_secs - (mono_now() - x->t_start);
		if (stop <= 0)
			return;
	}
	struct driver *dv = xmalloc(sizeof *dv * (size_t)nd);
	memset(dv, 0, sizeof *dv * (size_t)nd);
	int written = 1;
	for (int k = 0; k < nd; k++) {
		dv[k].x = x;
		dv[k].stop = stop;
		dv[k].dir = xasprintf("%s/%s-%d", x->o.tmp, name, k + 1);
		dv[k].idx = xmalloc(sizeof(int) * (size_t)total);
		char *sp = xasprintf("%s/sites", dv[k].dir);
		FILE *f = written && mkdir(dv[k].dir, 0700) == 0 ? fopen(sp, "w") : NULL;
		/* the keys dealt in turn, so that each run's share spans the
		   program */
		char buf[32];
		for (int i = from, dealt = 0; f && i < x->ntasks && dealt < total; i++)
			if (offered(x, from, i) && dealt++ % nd == k) {
				fprintf(f, "%s\n", task_key(x, &x->tasks[i], buf, sizeof buf));
				dv[k].idx[dv[k].listed++] = i;
			}
		if (written && (!f || fclose(f) != 0)) {
			warnx_("explore: cannot write %s: %s", sp, strerror(errno));
			written = 0;
		}
		free(sp);
	}
	if (written) {
		for (int k = 1; k < nd; k++)
			if (!(dv[k].started = pthread_create(&dv[k].th, NULL, driver_run, &dv[k]) == 0))
				driver_run(&dv[k]);
		driver_run(&dv[0]);
		for (int k = 1; k < nd; k++)
			if (dv[k].started)
				pthread_join(dv[k].th, NULL);
	}
	int all_ok = written;
	for (int k = 0; k < nd; k++) {
		if (!dv[k].ok) {
			if (!x->rep.fork_why && dv[k].why && written)
				x->rep.fork_why = xstrdup(dv[k].why);
			x->rep.not_forked[written ? NF_RUN : NF_SETUP] += dv[k].listed;
			all_ok = 0;
			continue;
		}
		x->runs_done++; /* the forking run itself */
		driver_collect(x, &dv[k]);
	}
	if (explore_stopping)
		memset(x->rep.not_forked, 0, sizeof x->rep.not_forked);
	/* two runs without injection, the same output; a forking run that
	   differed calls for a second reference run, which judges */
	x->ref_confirmed |= all_ok;
	for (int k = 0; k < nd; k++) {
		free(dv[k].dir);
		free(dv[k].idx);
	}
	free(dv);
}
