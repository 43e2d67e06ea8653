/* explore_run.c - one run of explore's: the rules that make its failure,
   its environment, the command line that repeats it, and the facts it
   left (status, outputs, the shim's log and census) handed to classify(). */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "af_glob.h"
#include "af_runtime.h"
#include "explore_int.h"
#include "symbolize.h"

int explore_in_scope(const struct explore *x, const char *module, int runtime)
{
	if (!module || !strcmp(module, "?"))
		return 0;
	const char *base = strrchr(module, '/');
	base = base ? base + 1 : module;
	if (x->o.scope.n) {
		for (int i = 0; i < x->o.scope.n; i++)
			if (af_glob(x->o.scope.v[i], strchr(x->o.scope.v[i], '/') ? module : base))
				return 1;
		return 0;
	}
	return !runtime;
}

int explore_excluded(const struct explore *x, const char *site)
{
	for (int i = 0; i < x->o.exclude.n; i++)
		if (!strcmp(x->o.exclude.v[i], site))
			return 1;
	return 0;
}

/* The rules of one run, as ALLOCFAIL_RULE text and as reproducer options. */
void explore_task_rules(const struct explore *x, const struct task *t, struct strv *rules)
{
	for (int i = 0; i < x->o.exclude.n; i++)
		strv_addf(rules, "nofail site=%s", x->o.exclude.v[i]);
	if (x->o.mode == MODE_NTH) {
		if (x->o.scope.n) {
			char *globs = strv_join(x->o.scope.v, x->o.scope.n, ",");
			strv_addf(rules, "fail module=%s nth=%ld", globs, t->nth);
			free(globs);
		} else {
			strv_addf(rules, "nofail module=%s", AF_RUNTIME_MODULES);
			strv_addf(rules, "fail nth=%ld", t->nth);
		}
		return;
	}
	const char *suffix = x->o.mode == MODE_FIRST ? " nth=1" : "";
	for (int i = 0; i < t->depth; i++)
		strv_addf(rules, "fail site=%s%s", t->chain[i], suffix);
	strv_addf(rules, "fail site=%s%s", t->site, suffix);
}

/* The command line that repeats a run: a hang's with explore's timeout,
   an --isolate run's in a new empty directory, as explore ran them. */
char *explore_reproducer(const struct explore *x, const struct task *t, int outcome)
{
	const struct explore_opts *o = &x->o;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	char *me = shell_quote(self_command());
	if (o->isolate)
		fputs("(cd \"$(mktemp -d)\" && ", m);
	fprintf(m, "%s run", me);
	free(me);
	if (outcome == O_HANG)
		fprintf(m, " --timeout %g", o->timeout);
	if (o->backend)
		fprintf(m, " --backend %s", o->backend);
	if (o->base.rules_file) {
		char *q = shell_quote(o->base.rules_file);
		fprintf(m, " --rules %s", q);
		free(q);
	}
	struct strv rules = {0};
	for (int i = 0; i < o->base.inline_rules.n; i++)
		strv_add(&rules, o->base.inline_rules.v[i]);
	explore_task_rules(x, t, &rules);
	for (int i = 0; i < rules.n; i++) {
		int is_set = !strncmp(rules.v[i], "set ", 4);
		char *q = shell_quote(is_set ? rules.v[i] + 4 : rules.v[i]);
		fprintf(m, " %s %s", is_set ? "--set" : "--rule", q);
		free(q);
	}
	strv_free(&rules);
	fputs(" --", m);
	for (int i = 0; i < o->ncmd; i++) {
		/* the command by its full path where it runs in another directory */
		char *q = shell_quote(i == 0 && o->isolate ? o->path : o->cmd[i]);
		fprintf(m, " %s", q);
		free(q);
	}
	if (o->stdin_path) {
		char *q = shell_quote(o->stdin_path);
		fprintf(m, " < %s", q);
		free(q);
	}
	if (o->isolate)
		fputc(')', m);
	fclose(m);
	return out;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A frame of the log, said for people: "func (file:line)" or its pc. */
static char *log_frame_where(const struct jv *fr, int exact)
{
	struct sym s = sym_of_frame(fr, exact);
	char buf[1024];
	sym_where(&s, buf, sizeof buf);
	if (!buf[0])
		snprintf(buf, sizeof buf, "%s", json_str(fr, "pc") ? json_str(fr, "pc") : "?");
	return xstrdup(buf);
}

/* The module is the preloaded library itself (jemalloc inside it). */
static int is_shim(const char *module)
{
	const char *shim = find_shim();
	struct stat a, b;
	return module && shim && stat(module, &a) == 0 && stat(shim, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The module is libunwind, which the shim loads to walk stacks. */
static int is_unwinder(const char *module)
{
	const char *base = module ? strrchr(module, '/') : NULL;
	base = base ? base + 1 : module;
	return base && !strncmp(base, "libunwind.so", 12);
}

/* The command's argv, with its resolved path first (free the vector only). */
char **explore_argv(const struct explore *x)
{
	char **argv = xmalloc(sizeof *argv * (size_t)(x->o.ncmd + 1));
	argv[0] = x->o.path;
	for (int i = 1; i < x->o.ncmd; i++)
		argv[i] = x->o.cmd[i];
	argv[x->o.ncmd] = NULL;
	return argv;
}

/* The environment of an injecting run (a run of its own, or a forking
   run): its rules, log and census, and fork if not NULL (ALLOCFAIL_FORK). */
struct strv explore_run_env(struct explore *x, const struct strv *rules, const char *log,
			    const char *cen, const char *fork)
{
	struct strv extra = {0};
	char *all = strv_lines(rules->v, rules->n);
	if (all[0])
		strv_addf(&extra, "ALLOCFAIL_RULE=%s", all);
	free(all);
	strv_addf(&extra, "ALLOCFAIL_LOG=%s", log);
	strv_addf(&extra, "ALLOCFAIL_CENSUS=%s", cen);
	strv_addf(&extra, "ALLOCFAIL_SEED=1");
	/* frames unnamed: symbolize() names them here, once per address for
	   every run, where each run read symbol and line tables again */
	strv_addf(&extra, "ALLOCFAIL_LOG_NAMES=0");
	if (fork)
		strv_addf(&extra, "ALLOCFAIL_FORK=%s", fork);
	struct ruleopts ro = {0};
	ro.rules_file = x->o.base.rules_file;
	ro.backend = x->o.backend;
	ro.clean = 1;
	pthread_mutex_lock(&x->mu);
	char **env = child_env(&ro, (const char *const *)extra.v);
	/* child_env returns a shared vector: copy it */
	struct strv envc = {0};
	for (char **e = env; *e; e++)
		strv_add(&envc, *e);
	pthread_mutex_unlock(&x->mu);
	strv_free(&extra);
	return envc;
}

void explore_run_task(struct explore *x, const struct task *t, int id, struct result *res)
{
	memset(res, 0, sizeof *res);
	char *dir = xasprintf("%s/run-%d", x->o.tmp, id);
	if (mkdir(dir, 0700) < 0) {
		res->v.outcome = O_UNREACHED;
		res->internal = xasprintf("cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return;
	}
	char *log = xasprintf("%s/log", dir), *cen = xasprintf("%s/census", dir);
	char *out = xasprintf("%s/out", dir), *err = xasprintf("%s/err", dir);
	char *cwd = NULL;
	if (x->o.isolate) {
		cwd = xasprintf("%s/cwd", dir);
		mkdir(cwd, 0700);
	}
	struct strv rules = {0};
	for (int i = 0; i < x->o.base.inline_rules.n; i++)
		strv_add(&rules, x->o.base.inline_rules.v[i]);
	explore_task_rules(x, t, &rules);
	struct strv envc = explore_run_env(x, &rules, log, cen, NULL);
	strv_free(&rules);
	char **argv = explore_argv(x);
	/* outputs to files: the shim tells where in stderr each process's
	   part begins and ends */
	struct runspec rs = {.argv = argv, .env = envc.v, .stdin_path = x->o.stdin_path, .cwd = cwd,
			     .timeout = x->o.timeout, .out_path = out, .err_path = err};
	struct runres rr;
	if (run_child(&rs, &rr) < 0) {
		res->v.outcome = O_UNREACHED;
		res->internal = xasprintf("cannot run '%s': %s", x->o.path, strerror(errno));
		goto done;
	}
	if (rr.interrupted) { /* explore was interrupted: no result */
		res->interrupted = 1;
		runres_free(&rr);
		goto done;
	}
	char *files = NULL;
	if (x->files_judged) {
		struct filetree ft;
		if (filetree_read(&ft, cwd) == 0)
			files = filetree_diff(&x->ref_tree[0], &ft);
		else
			files = xasprintf("what it left cannot be read (%s)", strerror(errno));
		filetree_free(&ft);
	}
	explore_judge(x, t, res, &rr, files, log, cen);
	free(files);
	runres_free(&rr);
done:
	free(argv);
	strv_free(&envc);
	if (!x->o.keep)
		rm_rf(dir);
	free(dir);
	free(log);
	free(cen);
	free(out);
	free(err);
	free(cwd);
}

int explore_call_site(const struct jv *stack)
{
	int cs = 0;
	while (cs < stack->n && json_bool(&stack->items[cs], "runtime", 0))
		cs++;
	return cs;
}

/* skip_runtime: start at the call site, as injection sites are reported. */
void explore_stack(const struct jv *a, struct stackv *st, int crash, int skip_runtime)
{
	if (!a || a->t != J_ARR)
		return;
	int from = skip_runtime ? explore_call_site(a) : 0;
	if (from == a->n)
		from = 0;
	st->f = xmalloc(sizeof *st->f * (size_t)(a->n ? a->n : 1));
	for (int i = from; i < a->n; i++) {
		const struct jv *x = &a->items[i];
		struct frame *fr = &st->f[st->n++];
		fr->pc = xstrdup(json_str(x, "pc") ? json_str(x, "pc") : "?");
		fr->module = json_str(x, "module") ? xstrdup(json_str(x, "module")) : NULL;
		struct sym s = sym_of_frame(x, crash && i == 0);
		fr->func = s.func ? xstrdup(s.func) : NULL;
		fr->file = s.file ? xstrdup(s.file) : NULL;
		fr->line = s.line;
	}
}

/* The events of a run's log that judge it. */
struct logfacts {
	struct jv *inj, *crash;
	long *pids; /* the processes that injected the failure of interest */
	int npids;
	struct jv **exits;
	int nexits;
	long first_err_at; /* stderr's end at the run's first injection (an error
			      path's run fails its parents first), -1 unknown */
};

static void read_log(const struct explore *x, const struct task *t, const char *log,
		     struct logfacts *lf)
{
	FILE *f = fopen(log, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while (f && (n = getline(&line, &cap, f)) > 0) {
		struct jv *v = json_parse(line, (size_t)n, NULL, 0);
		const char *ev = v ? json_str(v, "ev") : NULL;
		if (ev && !strcmp(ev, "inject")) {
			long at = (long)json_int(v, "err_at", -1);
			if (at >= 0 && (lf->first_err_at < 0 || at < lf->first_err_at))
				lf->first_err_at = at;
			/* the log's "mod+0xoff (func)" against the task's call site
			   (a context task's: the part before '<') */
			const char *k = json_str(v, "site");
			size_t base = t->site ? strcspn(t->site, "<") : 0;
			if (x->o.mode == MODE_NTH ||
			    (k && t->site && strcspn(k, " ") == base && !strncmp(k, t->site, base))) {
				lf->pids = xrealloc(lf->pids, sizeof *lf->pids * (size_t)(lf->npids + 1));
				lf->pids[lf->npids++] = (long)json_int(v, "pid", 0);
				if (!lf->inj) {
					lf->inj = v;
					v = NULL;
				}
			}
		} else if (ev && !strcmp(ev, "crash") && !lf->crash) {
			lf->crash = v;
			v = NULL;
		} else if (ev && !strcmp(ev, "exit")) {
			lf->exits = xrealloc(lf->exits, sizeof *lf->exits * (size_t)(lf->nexits + 1));
			lf->exits[lf->nexits++] = v;
			v = NULL;
		}
		json_free(v);
	}
	free(line);
	if (f)
		fclose(f);
}

/* The exit of a process (not the top one) that took the failure: one
   that said it failed, else the first. */
static const struct jv *injector_exit(const struct logfacts *lf, long top)
{
	const struct jv *pick = NULL;
	for (int i = 0; i < lf->nexits; i++) {
		long pid = (long)json_int(lf->exits[i], "pid", 0);
		int took = 0;
		for (int k = 0; k < lf->npids && !took; k++)
			took = lf->pids[k] == pid;
		if (!took || pid == top)
			continue;
		if (!pick || (json_int(pick, "status", 0) == 0 && json_int(lf->exits[i], "status", 0)))
			pick = lf->exits[i];
	}
	return pick;
}

/* Sites a run reached that no run had: error paths that allocate. They
   become known when the result is recorded (explore_record), not here: a
   forked child's result may be set aside for a run of its own, which must
   find them new again. */
static void new_sites(struct explore *x, const char *cen, struct result *res)
{
	struct census c = {0};
	census_read(&c, cen);
	pthread_mutex_lock(&x->mu);
	for (int i = 0; i < c.n; i++)
		if (!census_find(&x->known, c.v[i]->key)) {
			res->nv = xrealloc(res->nv, sizeof *res->nv * (size_t)(res->nnew + 1));
			struct newsite *s = &res->nv[res->nnew++];
			s->key = xstrdup(c.v[i]->key);
			s->module = xstrdup(c.v[i]->module);
			s->runtime = c.v[i]->runtime;
		}
	pthread_mutex_unlock(&x->mu);
	census_free(&c);
}

/* A stack of the log (frames as objects with "pc", or as strings) holds pc. */
static int stack_has(const struct jv *st, const char *pc)
{
	for (int i = 0; st && st->t == J_ARR && i < st->n; i++) {
		const struct jv *f = &st->items[i];
		const char *s = f->t == J_STR ? f->s : json_str(f, "pc");
		if (s && !strcmp(s, pc))
			return 1;
	}
	return 0;
}

/* The injection's context (its call site and --context frames above it),
   and how far the failure came back out: the first of those return
   addresses still on the stack the process that took it ended with (by
   exit() or a crash). Unknown (a timeout, an _exit) leaves end_known 0. */
static void how_far_back(const struct explore *x, const struct logfacts *lf, const struct runres *rr,
			 struct result *res)
{
	const struct jv *st = lf->inj ? json_get(lf->inj, "stack") : NULL;
	if (!st || st->t != J_ARR)
		return;
	int cs = explore_call_site(st);
	if (cs + 1 >= st->n)
		return;
	struct strv chain = {0};
	for (int i = cs; i < st->n && i <= cs + x->o.context; i++)
		strv_add(&chain, json_str(&st->items[i], "pc") ? json_str(&st->items[i], "pc") : "?");
	res->context = strv_join(chain.v, chain.n, "<");
	strv_free(&chain);
	long pid = (long)json_int(lf->inj, "pid", 0);
	if (rr->timed_out)
		return;
	const struct jv *end = NULL;
	if (lf->crash && json_int(lf->crash, "pid", 0) == pid)
		end = json_get(lf->crash, "stack");
	for (int i = 0; !end && i < lf->nexits; i++)
		if (json_int(lf->exits[i], "pid", 0) == pid)
			end = json_get(lf->exits[i], "stack");
	if (!end)
		return;
	res->end_known = 1;
	for (int k = 1; k <= x->o.context && cs + k < st->n && !res->kept_at; k++) {
		const char *pc = json_str(&st->items[cs + k], "pc");
		if (pc && stack_has(end, pc))
			res->kept_at = k;
	}
}

void explore_judge(struct explore *x, const struct task *t, struct result *res,
		   const struct runres *rr, const char *files, const char *log, const char *cen)
{
	res->secs = rr->secs;
	res->status = rr->timed_out ? -1 : shell_status(rr->wstatus);
	struct logfacts lf = {0};
	lf.first_err_at = -1;
	read_log(x, t, log, &lf);
	new_sites(x, cen, res);

	struct run_facts f = {0};
	f.injected = lf.inj != NULL;
	f.nth_mode = x->o.mode == MODE_NTH;
	f.timed_out = rr->timed_out;
	f.deadlocked = rr->deadlocked;
	f.timeout = x->o.timeout;
	f.exited = !rr->timed_out && WIFEXITED(rr->wstatus);
	f.status = f.exited ? WEXITSTATUS(rr->wstatus) : 0;
	f.signo = !rr->timed_out && WIFSIGNALED(rr->wstatus) ? WTERMSIG(rr->wstatus) : 0;
	f.normal_status = x->o.status;
	f.out_same = rr->out_hash == x->ref_out_hash && rr->out_len == x->ref_out_len;
	f.out_len = rr->out_len;
	f.out_hash = rr->out_hash;
	f.ref_out_len = x->ref_out_len;
	f.nondeterministic = x->rep.nondeterministic;
	f.files = files;
	f.err = rr->err;
	f.ref_err = x->ref_err;

	/* the process that took the failure, and the part of stderr written
	   from the injection to its exit (or to the end) */
	const struct jv *ex = injector_exit(&lf, rr->pid);
	/* what was said from the run's first failure on: an error path's run
	   fails the failures that reach it first, and their messages are
	   its too */
	long at = lf.inj ? lf.first_err_at : -1;
	long end = ex ? (long)json_int(ex, "err_at", -1) : -1;
	char *after = NULL, *proc = NULL;
	if (at >= 0 && (size_t)at <= rr->err_len)
		after = xstrdup(rr->err + at);
	if (after && end >= at && (size_t)end <= rr->err_len)
		proc = strndup(rr->err + at, (size_t)(end - at));
	f.err_after = after;
	f.err_proc = proc;
	if (ex) {
		f.proc_known = 1;
		f.proc_pid = (long)json_int(ex, "pid", 0);
		f.proc_name = json_str(ex, "argv0");
		f.proc_status = (int)json_int(ex, "status", 0);
	}

	/* a crash, where it was and what lies below it */
	char *where = NULL, *top = NULL;
	if (lf.crash) {
		const struct jv *st = json_get(lf.crash, "stack");
		int cs = (int)json_int(lf.crash, "crash_site", 0);
		f.crashed = 1;
		f.crash_signo = (int)json_int(lf.crash, "signo", 0);
		f.overflow = json_bool(lf.crash, "overflow", 0);
		if (st && st->t == J_ARR && cs < st->n) {
			where = log_frame_where(&st->items[cs], cs == 0);
			res->crash_site = xstrdup(json_str(&st->items[cs], "pc") ? json_str(&st->items[cs], "pc")
										   : "?");
		}
		if (st && st->t == J_ARR && cs > 0 && cs < st->n && f.crash_signo != SIGABRT) {
			top = log_frame_where(&st->items[0], 1);
			f.top_in_alloc = is_shim(json_str(&st->items[0], "module"));
			f.top_in_unwinder = is_unwinder(json_str(&st->items[0], "module"));
		}
		long cpid = (long)json_int(lf.crash, "pid", 0);
		if (cpid != rr->pid) {
			const char *name = lf.inj && json_int(lf.inj, "pid", 0) == cpid ? json_str(lf.inj, "argv0") : NULL;
			res->proc = xasprintf("%s (pid %ld)", name ? name : "a child process", cpid);
		}
	}
	f.crash_where = where;
	f.crash_top = top;
	classify(&f, &res->v);
	if (ex && !res->proc)
		res->proc = xasprintf("%s (pid %ld)", f.proc_name ? f.proc_name : "?", f.proc_pid);
	res->inj = lf.inj;
	res->crash = lf.crash;
	how_far_back(x, &lf, rr, res);
	free(where);
	free(top);
	free(after);
	free(proc);
	free(lf.pids);
	for (int i = 0; i < lf.nexits; i++)
		json_free(lf.exits[i]);
	free(lf.exits);
}

void result_free(struct result *r)
{
	free(r->v.detail);
	free(r->v.signature);
	free(r->internal);
	free(r->proc);
	json_free(r->inj);
	json_free(r->crash);
	free(r->crash_site);
	free(r->context);
	for (int i = 0; i < r->nnew; i++) {
		free(r->nv[i].key);
		free(r->nv[i].module);
	}
	free(r->nv);
}
