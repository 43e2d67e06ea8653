/* explore_tests.c - `allocfail explore --tests SOURCE`: explore a project's
   test suite (testsuite.c reads it), each test a whole explore of its own
   (its reference runs, its sites, its queue) run as a child `allocfail
   explore` in the test's directory and environment, their JSON reports
   merged into one that names the test of each finding.
   Runs of one test never overlap (a test may write into its directory);
   tests run side by side in the --jobs slots as the suite allows (a
   serial test alone, one holder of a resource lock at a time). A site
   that showed a bug in one test is excluded from the tests started after
   (with --once, every site explored). Each bug is run again alone, by its
   reproducer, before it is counted. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "explore_int.h"
#include "testsuite.h"

extern char **environ;

struct topts {
	const char *source;
	int once, jobs, quiet, keep, shard_k, shard_n, user_scope;
	double ceiling, budget_secs;
	const char *json, *junit, *sarif, *baseline, *write_baseline;
	struct strv fwd; /* options handed to each test's explore */
};

/* One test's explore, running or done. */
struct trun {
	pid_t pid;
	int state; /* 0 waiting, 1 running, 2 done */
	double t0;
};

struct tx {
	struct topts o;
	struct testsuite s;
	struct trun *r;
	char tmp[PATH_MAX];
	struct strv shown; /* sites that showed a bug (--once: explored) */
	struct report rep;
	int done, running, internal, sites;
	double t_start;
};

static volatile sig_atomic_t tests_stopping;

static void on_stop(int sig)
{
	tests_stopping = sig;
}

int explore_tests_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--tests"))
			return 1;
	return 0;
}

static void parse(struct topts *o, int argc, char **argv)
{
	o->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
#define VALUE() (i + 1 < argc ? argv[++i] : (die_usage("explore: %s needs a value", a), (char *)NULL))
		if (!strcmp(a, "--tests"))
			o->source = VALUE();
		else if (!strcmp(a, "--once"))
			o->once = 1;
		else if (!strcmp(a, "--jobs") || !strcmp(a, "-j"))
			o->jobs = (int)opt_number("explore", "--jobs", VALUE(), 1, 1024);
		else if (!strcmp(a, "--timeout"))
			o->ceiling = opt_seconds("explore", "--timeout", VALUE());
		else if (!strcmp(a, "--budget")) {
			const char *v = VALUE();
			o->budget_secs = opt_seconds("explore", "--budget", v);
		} else if (!strcmp(a, "--shard")) {
			opt_shard("explore", VALUE(), &o->shard_k, &o->shard_n);
		} else if (!strcmp(a, "--json"))
			o->json = VALUE();
		else if (!strcmp(a, "--junit"))
			o->junit = VALUE();
		else if (!strcmp(a, "--sarif"))
			o->sarif = VALUE();
		else if (!strcmp(a, "--baseline"))
			o->baseline = VALUE();
		else if (!strcmp(a, "--write-baseline"))
			o->write_baseline = VALUE();
		else if (!strcmp(a, "--keep"))
			o->keep = 1;
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			o->quiet = 1;
		else if (!strcmp(a, "--") || a[0] != '-')
			die_usage("explore: --tests runs the suite's own commands; no COMMAND is given with it");
		else {
			if (!strcmp(a, "--scope"))
				o->user_scope = 1;
			/* each test's explore checks it, with its value */
			strv_add(&o->fwd, a);
			if (i + 1 < argc && argv[i + 1][0] != '-')
				strv_add(&o->fwd, argv[++i]);
		}
#undef VALUE
	}
	check_report_paths("explore", o->json, o->junit, o->sarif);
	if (o->write_baseline)
		check_report_paths("explore", o->write_baseline, NULL, NULL);
}

/* Tests of this shard: dealt out when there are enough of them; else
   every test, each exploring its share of the sites. */
static int in_shard(const struct tx *x, int i)
{
	const struct topts *o = &x->o;
	return !o->shard_n || x->s.n < o->shard_n || i % o->shard_n == o->shard_k - 1;
}

static int may_start(const struct tx *x, int i)
{
	if (x->running >= x->o.jobs)
		return 0;
	for (int k = 0; k < x->s.n; k++)
		if (x->r[k].state == 1 && !suite_may_share(&x->s.t[i], &x->s.t[k]))
			return 0;
	return 1;
}

static void start(struct tx *x, int i)
{
	const struct suite_test *t = &x->s.t[i];
	char *exc = xasprintf("%s/exclude-%d", x->tmp, i);
	FILE *f = fopen(exc, "w");
	for (int k = 0; f && k < x->shown.n; k++)
		fprintf(f, "%s\n", x->shown.v[k]);
	if (f)
		fclose(f);
	struct strv av = {0};
	char *me = self_exe();
	strv_add(&av, me);
	strv_add(&av, "explore");
	strv_add(&av, "-q");
	strv_add(&av, "--scope-optional");
	strv_add(&av, "--json");
	strv_addf(&av, "%s/test-%d.json", x->tmp, i);
	strv_add(&av, "--jobs");
	strv_add(&av, "1");
	strv_add(&av, "--exclude");
	strv_add(&av, exc);
	double ceiling = t->timeout;
	if (x->o.ceiling && (!ceiling || x->o.ceiling < ceiling))
		ceiling = x->o.ceiling;
	if (ceiling) {
		strv_add(&av, "--timeout");
		strv_addf(&av, "%g", ceiling);
	}
	if (x->o.budget_secs) {
		double left = x->o.budget_secs - (mono_now() - x->t_start);
		strv_add(&av, "--budget");
		strv_addf(&av, "%gs", left > 1 ? left : 1);
	}
	if (x->o.shard_n && x->s.n < x->o.shard_n)
	{
		strv_add(&av, "--shard");
		strv_addf(&av, "%d/%d", x->o.shard_k, x->o.shard_n);
	}
	if (!x->o.user_scope)
	{
		strv_add(&av, "--scope");
		strv_addf(&av, "%s/*", x->s.tree);
	}
	for (int k = 0; k < x->o.fwd.n; k++)
		strv_add(&av, x->o.fwd.v[k]);
	strv_add(&av, "--");
	for (int k = 0; k < t->argv.n; k++)
		strv_add(&av, t->argv.v[k]);
	char *out = xasprintf("%s/test-%d.out", x->tmp, i);
	char *err = xasprintf("%s/test-%d.err", x->tmp, i);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		for (int k = 0; k < t->env.n; k++)
			putenv(t->env.v[k]);
		if (freopen(out, "w", stdout) && freopen(err, "w", stderr) && chdir(t->cwd) == 0)
			execv(me, av.v);
		fprintf(stderr, "allocfail: explore: cannot run the test's explore in %s: %s\n", t->cwd,
			strerror(errno));
		_exit(EXIT_INTERNAL);
	}
	x->r[i].pid = pid;
	x->r[i].state = 1;
	x->r[i].t0 = mono_now();
	x->running++;
	if (pid < 0) { /* recorded when reaped: as a test that failed to start */
		x->r[i].state = 2;
		x->running--;
	}
	strv_free(&av);
	free(me);
	free(exc);
	free(out);
	free(err);
}

/* The first line a test's explore said about why it did not explore. */
static char *why_not(const struct tx *x, int i, int st)
{
	char *path = xasprintf("%s/test-%d.err", x->tmp, i);
	size_t len;
	char *text = read_whole(path, &len);
	free(path);
	char *line = NULL;
	for (char *p = text; p && *p && !line; p += strcspn(p, "\n"), p += *p == '\n') {
		size_t n = strcspn(p, "\n");
		const char *pre = "allocfail: explore: ";
		if (n > strlen(pre) && !strncmp(p, pre, strlen(pre)))
			line = strndup(p + strlen(pre), n - strlen(pre));
	}
	free(text);
	if (!line)
		line = xasprintf("its explore ended with status %d", st);
	return line;
}

/* A command line that repeats a test's run alone: in its directory, with
   its environment; without the nofail rules of sites other tests showed
   bugs at, which change nothing where a site's own hits are failed (not
   in --mode nth, where they change the count). */
static char *in_test(const struct tx *x, const struct suite_test *t, const char *repro)
{
	char *own = xstrdup(repro);
	for (int k = 0; x->rep.mode && strcmp(x->rep.mode, "nth") && k < x->shown.n; k++) {
		char *rule = xasprintf("nofail site=%s", x->shown.v[k]);
		char *q = shell_quote(rule), *opt = xasprintf(" --rule %s", q), *at;
		while ((at = strstr(own, opt)))
			memmove(at, at + strlen(opt), strlen(at + strlen(opt)) + 1);
		free(rule);
		free(q);
		free(opt);
	}
	repro = own;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	char *q = shell_quote(t->cwd);
	fprintf(m, "cd %s && ", q);
	free(q);
	if (t->env.n)
		fputs("env", m);
	for (int k = 0; k < t->env.n; k++) {
		q = shell_quote(t->env.v[k]);
		fprintf(m, " %s", q);
		free(q);
	}
	fprintf(m, "%s%s", t->env.n ? " " : "", repro);
	fclose(m);
	free(own);
	return out;
}

static void add_shown(struct tx *x, const char *site)
{
	for (int k = 0; k < x->shown.n; k++)
		if (!strcmp(x->shown.v[k], site))
			return;
	strv_add(&x->shown, site);
}

static int test_index(const struct tx *x, const char *name)
{
	for (int i = 0; name && i < x->s.n; i++)
		if (!strcmp(x->s.t[i].name, name))
			return i;
	return -1;
}

/* The test's report into the whole, each site and finding naming it. */
static void absorb(struct tx *x, int i, struct report *tr, struct testres *res)
{
	const struct suite_test *t = &x->s.t[i];
	struct report *r = &x->rep;
	if (!r->mode) {
		r->mode = tr->mode;
		r->abort_is_bug = tr->abort_is_bug;
		r->ref_status = tr->ref_status;
	}
	for (int k = 0; k < tr->nsites; k++) {
		struct siteres *s = report_add_site(r, tr->sites[k].site);
		free(s->site);
		*s = tr->sites[k];
		s->test = xstrdup(t->name);
		if (s->reproducer) {
			char *rp = in_test(x, t, s->reproducer);
			free(s->reproducer);
			s->reproducer = rp;
		}
		if (x->o.once)
			add_shown(x, s->site);
	}
	for (int k = 0; k < tr->nf; k++) {
		struct finding *g = &tr->f[k];
		struct finding *f = report_add_finding(r, g->cls, g->inj_site, g->crash_site);
		if (outcome_is_bug(r, g->cls))
			add_shown(x, g->inj_site);
		if (f->count) { /* known from another test */
			f->count += g->count;
			/* side by side, the later test may end first: the finding
			   is the first test's, in the suite's order */
			if (test_index(x, f->test) > i) {
				free(f->test);
				f->test = xstrdup(t->name);
				free(f->reproducer);
				f->reproducer = g->reproducer ? in_test(x, t, g->reproducer) : NULL;
			}
			continue;
		}
		char *inj = f->inj_site, *crash = f->crash_site;
		*f = *g;
		f->inj_site = inj;
		f->crash_site = crash;
		f->test = xstrdup(t->name);
		f->group = -1;
		if (f->reproducer) {
			char *rp = in_test(x, t, f->reproducer);
			free(f->reproducer);
			f->reproducer = rp;
		}
	}
	res->sites = tr->nsites;
	res->skipped = tr->excluded;
	res->runs = tr->runs;
	res->timeout = tr->timeout;
	r->runs += tr->runs;
	r->budget_hit += tr->budget_hit;
	r->nondeterministic |= tr->nondeterministic;
	if (tr->timeout > r->timeout)
		r->timeout = tr->timeout;
	x->sites += tr->nsites;
}

static void reaped(struct tx *x, int i, int wst)
{
	struct testres *res = report_add_test(&x->rep, x->s.t[i].name);
	res->secs = mono_now() - x->r[i].t0;
	int st = shell_status(wst);
	char *js = xasprintf("%s/test-%d.json", x->tmp, i);
	struct report tr = {0};
	char err[512];
	if ((st == 0 || st == 1) && read_json(js, &tr, err, sizeof err) == 0) {
		absorb(x, i, &tr, res);
		if (!tr.nsites)
			res->note = xstrdup("the shim saw no allocation in scope: the test does not "
					    "allocate in the project's code, or runs where LD_PRELOAD does "
					    "not reach (valgrind, a static binary)");
	} else {
		res->note = why_not(x, i, st);
		if (st == EXIT_INTERNAL || st > 128)
			x->internal++;
	}
	free(js);
}

static void progress(const struct tx *x, int total)
{
	if (x->o.quiet || !isatty(2))
		return;
	double el = mono_now() - x->t_start;
	int left = total - x->done;
	double eta = x->done ? el * left / x->done : 0;
	if (x->o.budget_secs && x->o.budget_secs - el < eta)
		eta = x->o.budget_secs - el > 0 ? x->o.budget_secs - el : 0;
	fprintf(stderr,
		"\r\033[Kallocfail explore: %d/%d tests done (%d running), %d sites, %ld runs, %d "
		"finding%s, %.0f s, about %.0f s left",
		x->done, total, x->running, x->sites, x->rep.runs, x->rep.nf, x->rep.nf == 1 ? "" : "s",
		el, eta);
}

/* Each bug once more, alone, by its reproducer: a result of runs side by
   side that does not come back is marked, not counted. The exit status
   is compared (silent and warned runs keep theirs, so for them this only
   shows that the run still ends as it did). */
static void confirm(struct tx *x)
{
	struct report *r = &x->rep;
	for (int i = 0; i < r->nf && !tests_stopping; i++) {
		struct finding *f = &r->f[i];
		if (!outcome_is_bug(r, f->cls) || !f->reproducer)
			continue;
		const struct siteres *s = NULL;
		for (int k = 0; k < r->nsites && !s; k++)
			if (!strcmp(r->sites[k].site, f->inj_site) && r->sites[k].test && f->test &&
			    !strcmp(r->sites[k].test, f->test) && r->sites[k].outcome == f->cls)
				s = &r->sites[k];
		if (!s)
			continue;
		char *argv[] = {"/bin/sh", "-c", f->reproducer, NULL};
		char *out = xasprintf("%s/confirm.out", x->tmp), *err = xasprintf("%s/confirm.err", x->tmp);
		struct runspec rs = {.argv = argv, .env = environ, .timeout = r->timeout * 2 + 10,
				     .out_path = out, .err_path = err};
		struct runres rr;
		if (run_child(&rs, &rr) == 0 && !rr.interrupted) {
			int st = rr.timed_out ? -1 : shell_status(rr.wstatus);
			int again = s->status == -1 ? st == -1 || st == 124 : st == s->status;
			if (!again) {
				f->unconfirmed = 1;
				char *d = xasprintf("did not come back when run alone (%s %d, not %d): "
						    "nondeterministic; %s",
						    st == -1 ? "timed out," : "exit", st, s->status,
						    f->detail ? f->detail : "");
				free(f->detail);
				f->detail = d;
			}
			r->runs++;
		}
		runres_free(&rr);
		free(out);
		free(err);
	}
}

int explore_tests(int argc, char **argv)
{
	static struct tx tx;
	struct tx *x = &tx;
	parse(&x->o, argc, argv);
	if (!x->o.source)
		die_usage("explore: --tests needs a value");
	char err[1024];
	if (testsuite_read(x->o.source, &x->s, err, sizeof err) < 0)
		die_usage("explore: %s", err);
	struct report *r = &x->rep;
	if (x->o.baseline && report_read_baseline(r, x->o.baseline, err, sizeof err) < 0)
		die_usage("explore: %s", err);
	snprintf(x->tmp, sizeof x->tmp, "%s/allocfail-tests-XXXXXX", scratch_parent(1));
	if (!mkdtemp(x->tmp)) {
		warnx_("explore: cannot create a temporary directory: %s", strerror(errno));
		return EXIT_INTERNAL;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	x->t_start = mono_now();
	r->cmd = xmalloc(sizeof *r->cmd * 2);
	r->cmd[0] = xstrdup("--tests");
	r->cmd[1] = xstrdup(x->o.source);
	r->ncmd = 2;
	r->once = x->o.once;
	r->shard_k = x->o.shard_k ? x->o.shard_k : 1;
	r->shard_n = x->o.shard_n ? x->o.shard_n : 1;
	x->r = xmalloc(sizeof *x->r * (size_t)x->s.n);
	memset(x->r, 0, sizeof *x->r * (size_t)x->s.n);
	int total = 0;
	for (int i = 0; i < x->s.n; i++) {
		const struct suite_test *t = &x->s.t[i];
		if (!in_shard(x, i)) {
			x->r[i].state = 2;
			continue;
		}
		total++;
		char real[PATH_MAX], *p = t->argv.n ? find_command(t->argv.v[0]) : NULL;
		if (p && realpath(p, real))
			strv_add(&r->programs, real);
		free(p);
	}
	int next = 0;
	for (;;) {
		while (next < x->s.n && x->r[next].state == 2)
			next++;
		/* in the suite's order: a later test may skip what this one shows */
		while (!tests_stopping && next < x->s.n && x->r[next].state == 0 && may_start(x, next) &&
		       !(x->o.budget_secs && mono_now() - x->t_start >= x->o.budget_secs)) {
			start(x, next);
			next++;
			while (next < x->s.n && x->r[next].state == 2)
				next++;
		}
		progress(x, total);
		if (!x->running)
			break;
		int wst;
		pid_t pid = waitpid(-1, &wst, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		for (int i = 0; i < x->s.n; i++)
			if (x->r[i].state == 1 && x->r[i].pid == pid) {
				x->r[i].state = 2;
				x->running--;
				x->done++;
				reaped(x, i, wst);
			}
	}
	for (int i = next; i < x->s.n; i++)
		if (x->r[i].state == 0) /* interrupted, or out of budget */
			report_add_test(r, x->s.t[i].name)->note =
			    xstrdup(tests_stopping ? "not explored: interrupted"
						   : "not explored: the budget ran out");
	if (!x->o.quiet && isatty(2))
		fputs("\r\033[K", stderr);
	confirm(x);
	r->secs = mono_now() - x->t_start;
	report_group(r);
	int rc = write_reports(r, x->o.json, x->o.junit, x->o.sarif);
	if (x->o.write_baseline && write_baseline(x->o.write_baseline, r) < 0)
		rc = EXIT_INTERNAL;
	if (x->o.keep)
		fprintf(stderr, "allocfail: the tests' explore reports are in %s\n", x->tmp);
	else
		rm_rf(x->tmp);
	if (tests_stopping)
		warnx_("explore: interrupted; the report covers the tests that finished");
	if (x->internal) {
		warnx_("explore: %d test%s could not be explored for an internal error; the report is "
		       "incomplete", x->internal, x->internal == 1 ? "" : "s");
		return EXIT_INTERNAL;
	}
	if (rc)
		return rc;
	return report_bugs(r) ? 1 : 0;
}
