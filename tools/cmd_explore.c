/* cmd_explore.c - `allocfail explore`: fail each allocation call site of a
   program in turn and classify what happens.
   A reference run (twice, to learn whether the output is deterministic)
   records the exit status, the outputs and the census of call sites.
   Each call site in scope then gets a run that fails it (its first hit by
   default); call sites first reached in such a run are error paths that
   allocate, and join the queue with the failures that reach them, so that
   error paths inside error paths are explored too. Runs go in parallel,
   each in its own process group, with a timeout (explore_queue.c); each is
   judged by classify() on the facts it left (explore_run.c); the findings
   are grouped by root cause and written (report*.c). */
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

#include "af_fmt.h"
#include "af_glob.h"
#include "contexts.h"
#include "explore_int.h"

static const char usage[] =
    "usage: allocfail explore [OPTIONS] [--] COMMAND [ARGS...]\n"
    "       allocfail explore [OPTIONS] --tests SOURCE\n"
    "Fail each allocation call site of COMMAND in turn and report which failures\n"
    "are not handled: crash, assert, hang, warned or silent (the normal exit status\n"
    "with changed output), sanitizer report; deliberate aborts are listed.\n"
    "Findings are grouped by root cause.\n"
    "\n"
    "  --mode first|every|nth  fail a site's first hit (default), every hit, or\n"
    "                          allocation 1, 2, ... N of the whole run in turn\n"
    "  --scope GLOB            explore sites in modules matching GLOB (repeatable;\n"
    "                          default: all but the C runtime and the loader)\n"
    "  --exclude FILE          call sites to skip, one MODULE+0xOFFSET per line\n"
    "  --depth N               error paths inside error paths, N deep (default 3)\n"
    "  --context N             a call site reached from several callers (a wrapper)\n"
    "                          is failed in each calling context, up to N frames\n"
    "                          above it (default 4; 0: each call site once)\n"
    "  --wrapper GLOB          a call site in a function matching GLOB is failed in\n"
    "                          each calling context, whatever its first run showed\n"
    "  --not-wrapper GLOB      ... and one in a function matching GLOB only once\n"
    "  --jobs N                parallel runs (default: the number of CPUs)\n"
    "  --timeout SEC           per run at most (each run's: 10 x the reference run,\n"
    "                          at least 5 s, at most SEC)\n"
    "  --budget N|SECs         stop after N runs, or after SEC seconds (e.g. 300s)\n"
    "  --stdin FILE            standard input of every run (default: /dev/null)\n"
    "  --isolate               run each in its own empty temporary directory\n"
    "  --no-fork               a run of its own per site (or allocation); by default\n"
    "                          one run serves them all, forking at each where it is\n"
    "                          safe (one thread, the command's own process, outside\n"
    "                          the C runtime), and the child takes the failure;\n"
    "                          --jobs N such runs share them; not with --isolate\n"
    "  --fork                  the default: refused with --isolate\n"
    "  --status N              the command's normal exit status (default 0; diff's 1\n"
    "                          when the files differ): a run that exits N with\n"
    "                          other output, or 0 where N is not, is silent\n"
    "  --abort-is-bug          count deliberate aborts on allocation failure as bugs\n"
    "  --baseline FILE         groups in FILE (a JSON report, or one key a line) are\n"
    "                          known: listed, but not counted in the exit status\n"
    "  --write-baseline FILE   write the keys of this run's groups to FILE\n"
    "  --stacks N              the top N frames of each injection stack in the table\n"
    "  --backend next          forward to the next allocator (ASan/LSan builds)\n"
    "  --rules FILE, --rule R  rules added to every run (e.g. nofail exclusions)\n"
    "  --shard K/N             explore the K-th of N deterministic shares\n"
    "  --scope-optional        a --scope that matches no module is not an error\n"
    "  --tests SOURCE          explore a test suite instead of COMMAND: a meson or\n"
    "                          CMake build directory, or a file of test commands,\n"
    "                          one a line (see allocfail(1))\n"
    "  --once                  with --tests: each site in the first test reaching it\n"
    "  --json FILE, --junit FILE, --sarif FILE\n"
    "                          write the report in these formats ('-': stdout)\n"
    "  --keep                  keep the runs' logs (their directory is printed)\n"
    "  -q, --quiet             no progress line\n"
    "\n"
    "Exit status: 0 no new bug (crash, assert, hang, warned, silent, sanitizer);\n"
    "1 at least one; 2 usage error; 125 internal error.\n";

const char *const mode_names[] = {"first", "every", "nth"};

volatile sig_atomic_t explore_stopping;

static void on_signal(int sig)
{
	explore_stopping = sig;
	runner_stop = 1; /* the runs in flight end now, not at their timeouts */
}

static void read_exclude(struct explore_opts *o, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die_usage("explore: cannot read '%s': %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	while (getline(&line, &cap, f) > 0) {
		n++;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		char *end = p;
		while (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '#')
			end++;
		*end = 0;
		uint64_t off;
		if (site_offset(p, &off) < 0)
			die_usage("%s:%d: expected a call site as MODULE+0xOFFSET, got '%s'", path, n, p);
		strv_add(&o->exclude, p);
	}
	free(line);
	fclose(f);
}

static void parse_options(struct explore_opts *o, int argc, char **argv)
{
	o->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	o->max_depth = 3;
	o->context = 4;
	o->fork = -1; /* unless asked: fork, but not with --isolate */
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			exit(0);
		}
		if (ruleopts_parse(&o->base, argc, argv, &i)) {
			if (o->base.log || o->base.summary || o->base.seed)
				die_usage("explore: --log, --summary and --seed are set by explore itself");
			if (o->base.backend)
				o->backend = o->base.backend;
			continue;
		}
#define VALUE()                                                                          \
	(i + 1 < argc ? argv[++i] : (die_usage("explore: %s needs a value", a), (char *)NULL))
		if (!strcmp(a, "--mode")) {
			const char *v = VALUE();
			o->mode = -1;
			for (int k = 0; k < 3; k++)
				if (!strcmp(v, mode_names[k]))
					o->mode = k;
			if (o->mode < 0)
				die_usage("explore: --mode '%s': expected first, every or nth", v);
		} else if (!strcmp(a, "--scope")) {
			const char *v = VALUE();
			if (af_glob_check(v))
				die_usage("explore: --scope '%s': %s", v, af_glob_check(v));
			strv_add(&o->scope, v);
		} else if (!strcmp(a, "--exclude")) {
			read_exclude(o, VALUE());
		} else if (!strcmp(a, "--jobs") || !strcmp(a, "-j")) {
			o->jobs = (int)opt_number("explore", "--jobs", VALUE(), 1, 1024);
		} else if (!strcmp(a, "--depth")) {
			o->max_depth = (int)opt_number("explore", "--depth", VALUE(), 0, 16);
		} else if (!strcmp(a, "--wrapper") || !strcmp(a, "--not-wrapper")) {
			const char *v = VALUE();
			if (af_glob_check(v))
				die_usage("explore: %s '%s': %s", a, v, af_glob_check(v));
			strv_add(!strcmp(a, "--wrapper") ? &o->wrappers : &o->not_wrappers, v);
		} else if (!strcmp(a, "--context")) {
			o->context = (int)opt_number("explore", "--context", VALUE(), 0, 8);
		} else if (!strcmp(a, "--stacks")) {
			o->stacks = (int)opt_number("explore", "--stacks", VALUE(), 0, 64);
		} else if (!strcmp(a, "--timeout")) {
			o->timeout = opt_seconds("explore", "--timeout", VALUE());
		} else if (!strcmp(a, "--budget")) {
			const char *v = VALUE();
			char *end;
			long n = strtol(v, &end, 10);
			if (!*end && n > 0)
				o->budget_runs = n;
			else
				o->budget_secs = opt_seconds("explore", "--budget", v);
		} else if (!strcmp(a, "--stdin")) {
			o->stdin_path = VALUE();
			if (access(o->stdin_path, R_OK) != 0)
				die_usage("explore: cannot read '%s': %s", o->stdin_path, strerror(errno));
			char real[PATH_MAX];
			if (realpath(o->stdin_path, real))
				o->stdin_path = xstrdup(real);
		} else if (!strcmp(a, "--isolate")) {
			o->isolate = 1;
		} else if (!strcmp(a, "--fork")) {
			o->fork = 1;
		} else if (!strcmp(a, "--no-fork")) {
			o->fork = 0;
		} else if (!strcmp(a, "--status")) {
			/* 126 and up: the shell's "cannot run" and signals */
			o->status = (int)opt_number("explore", "--status", VALUE(), 0, 125);
		} else if (!strcmp(a, "--scope-optional")) {
			o->scope_optional = 1;
		} else if (!strcmp(a, "--abort-is-bug")) {
			o->abort_is_bug = 1;
		} else if (!strcmp(a, "--baseline")) {
			o->baseline = VALUE();
		} else if (!strcmp(a, "--write-baseline")) {
			o->write_baseline = VALUE();
		} else if (!strcmp(a, "--json")) {
			o->json = VALUE();
		} else if (!strcmp(a, "--junit")) {
			o->junit = VALUE();
		} else if (!strcmp(a, "--sarif")) {
			o->sarif = VALUE();
		} else if (!strcmp(a, "--shard")) {
			opt_shard("explore", VALUE(), &o->shard_k, &o->shard_n);
		} else if (!strcmp(a, "--keep")) {
			o->keep = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			o->quiet = 1;
		} else if (a[0] == '-') {
			die_usage("explore: unknown option '%s' (see allocfail explore --help)", a);
		} else {
			break;
		}
#undef VALUE
	}
	if (i >= argc)
		die_usage("explore: no command given (see allocfail explore --help)");
	ruleopts_check(&o->base);
	o->cmd = argv + i;
	o->ncmd = argc - i;
	o->path = find_command(argv[i]);
	if (!o->path)
		die_usage("explore: cannot run '%s': %s", argv[i], strerror(errno));
	if (o->isolate && o->path[0] != '/') {
		/* runs with --isolate start in another directory; not realpath():
		   a multi-call program tells its personality by its name */
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			die_usage("explore: cannot run '%s': the current directory: %s", argv[i],
				  strerror(errno));
		char *abs = xasprintf("%s/%s", cwd, o->path);
		free(o->path);
		o->path = abs;
	}
	check_preloadable("explore: ", argv[i], o->path);
	if (!find_shim())
		die_usage("explore: cannot find liballocfail.so (ALLOCFAIL_SHIM=PATH names it)");
	check_report_paths("explore", o->json, o->junit, o->sarif);
	if (o->write_baseline)
		check_report_paths("explore", o->write_baseline, NULL, NULL);
	if (o->fork == 1 && o->isolate)
		die_usage("explore: --fork and --isolate do not go together: the children of one "
			  "run share its working directory");
	if (o->fork < 0)
		o->fork = !o->isolate;
}

/* A run with no injection: 0, or the status explore ends with (after a
   message) when it could not be made or did not succeed. */
static int reference_run(struct explore *x, int k, struct runres *r)
{
	const struct explore_opts *o = &x->o;
	char *cen = xasprintf("%s/reference-%d", o->tmp, k);
	char *out = xasprintf("%s/reference-%d.out", o->tmp, k);
	char *err = xasprintf("%s/reference-%d.err", o->tmp, k);
	/* the first reference run also lists each site's calling contexts */
	char *extra[] = {xasprintf("ALLOCFAIL_CENSUS=%s", cen),
			 k == 0 && o->context && o->mode != MODE_NTH ? xasprintf("ALLOCFAIL_CONTEXT=%d", o->context)
								   : NULL,
			 NULL};
	struct ruleopts ro = {0};
	ro.rules_file = o->base.rules_file;
	ro.inline_rules = o->base.inline_rules;
	ro.backend = o->backend;
	ro.clean = 1;
	char **env = child_env(&ro, (const char *const *)extra);
	char **cargv = explore_argv(x);
	/* outputs to files, as the runs that fail have them */
	struct runspec rs = {.argv = cargv, .env = env, .stdin_path = o->stdin_path,
			     .timeout = x->ref_timeout, .out_path = out, .err_path = err};
	x->ref_runs++;
	if (o->isolate) {
		char *cwd = xasprintf("%s/reference-cwd-%d", o->tmp, k);
		mkdir(cwd, 0700);
		rs.cwd = cwd;
	}
	int rc = 0;
	if (run_child(&rs, r) < 0) {
		warnx_("explore: cannot run '%s': %s", o->cmd[0], strerror(errno));
		rc = EXIT_INTERNAL;
		goto done;
	}
	if (r->exec_failed) {
		rm_rf(o->tmp);
		die_usage("explore: cannot run '%s': %s", o->cmd[0], strerror(r->exec_failed));
	}
	if (r->interrupted) {
		warnx_("explore: interrupted during the reference run; nothing was explored");
		rc = 128 + (int)explore_stopping;
		goto done;
	}
	int st = shell_status(r->wstatus);
	int fatal;
	const char *san = sanitizer_line(r->err, &fatal);
	if (r->timed_out || st != o->status || san) {
		char *m = message_of(r->err);
		char why[256], sb[32];
		if (r->timed_out && r->deadlocked)
			snprintf(why, sizeof why, "it deadlocked (its one thread waits for good on a lock)");
		else if (r->timed_out)
			snprintf(why, sizeof why, "it did not finish in %g s", rs.timeout);
		else if (san)
			snprintf(why, sizeof why, "%.*s", (int)strcspn(san, "\n"), san);
		else if (WIFSIGNALED(r->wstatus))
			snprintf(why, sizeof why, "killed by %s", signame(WTERMSIG(r->wstatus), sb, sizeof sb));
		else if (strstr(r->err, "ASan runtime does not come first")) {
			rm_rf(o->tmp);
			die_usage("explore: '%s' is an AddressSanitizer build: explore it with "
				  "--backend next", o->cmd[0]);
		} else
			snprintf(why, sizeof why, "exit status %d", st);
		int exited = !r->timed_out && !san && WIFEXITED(r->wstatus);
		if (exited && o->status == 0 && st <= 125)
			warnx_("explore: the reference run (no injection) already fails: %s%s%s "
			       "(explore needs a command that succeeds on its own; --status %d if that "
			       "is its normal result)",
			       why, m ? ": " : "", m ? m : "", st);
		else if (exited && o->status != 0)
			warnx_("explore: the reference run (no injection) exits %d, not %d as --status "
			       "says%s%s",
			       st, o->status, m ? ": " : "", m ? m : "");
		else
			warnx_("explore: the reference run (no injection) already fails: %s%s%s "
			       "(explore needs a command that succeeds on its own)",
			       why, m ? ": " : "", m ? m : "");
		free(m);
		rc = EXIT_USAGE;
		goto done;
	}
	if (o->isolate && filetree_read(&x->ref_tree[k], rs.cwd) < 0) {
		warnx_("explore: cannot read what the reference run left in its directory (%s): "
		       "files are not compared", strerror(errno));
		x->ref_tree_unread = 1;
	}
	if (k == 0)
		census_read(&x->known, cen);
	x->ref_secs = x->ref_secs > r->secs ? x->ref_secs : r->secs;
done:
	if (rc)
		rm_rf(o->tmp);
	free(cen);
	free(out);
	free(err);
	free(extra[0]);
	free(extra[1]);
	free(cargv);
	free((char *)rs.cwd);
	return rc;
}

/* A --scope that names no module of the program is a mistake, not
   "nothing to explore". */
static void check_scope(struct explore *x)
{
	for (int i = 0; !x->o.scope_optional && i < x->o.scope.n; i++) {
		const char *g = x->o.scope.v[i];
		int hit = 0;
		char seen[1024] = "";
		size_t len = 0;
		for (int k = 0; k < x->known.n && !hit; k++) {
			const char *m = x->known.v[k]->module, *base = strrchr(m, '/');
			base = base ? base + 1 : m;
			hit = af_glob(g, strchr(g, '/') ? m : base);
			if (!strstr(seen, base) && len + strlen(base) + 3 < sizeof seen)
				len += (size_t)snprintf(seen + len, sizeof seen - len, "%s%s", len ? ", " : "", base);
		}
		if (!hit) {
			rm_rf(x->o.tmp);
			die_usage("explore: --scope '%s' matches no module that allocates in the reference run "
				  "(those are: %s)", g, seen[0] ? seen : "none");
		}
	}
}

/* One call site taking most allocations (an allocator wrapper, a C
   runtime call): its first hit says little about the others. */
static void wrapper_hint(struct explore *x)
{
	uint64_t total = 0;
	const struct site *top = NULL;
	for (int k = 0; k < x->known.n; k++) {
		const struct site *s = x->known.v[k];
		if (!explore_in_scope(x, s->module, s->runtime))
			continue;
		total += s->calls;
		if (!top || s->calls > top->calls)
			top = s;
	}
	if (!top || total < 100 || top->calls * 2 <= total)
		return;
	struct strv ctx = {0};
	int cut;
	int n = x->o.context ? contexts_of(top->chains, top->nchains, x->o.context, 1 << 20, &ctx, &cut)
			     : 0;
	strv_free(&ctx);
	if (n)
		x->rep.hint = xasprintf("%s makes %llu of the %llu allocations in scope; the first hit "
					"of %d of its %d calling contexts is failed (--mode nth goes further)",
					top->key, (unsigned long long)top->calls, (unsigned long long)total,
					n < CONTEXTS_MAX ? n : CONTEXTS_MAX, n);
	else
		x->rep.hint = xasprintf("%s makes %llu of the %llu allocations in scope; only its first is "
					"failed here (--mode every or --mode nth go further)",
					top->key, (unsigned long long)top->calls, (unsigned long long)total);
}

static void fill_queue(struct explore *x)
{
	const struct explore_opts *o = &x->o;
	if (o->mode == MODE_NTH) {
		long total = 0;
		for (int k = 0; k < x->known.n; k++)
			if (explore_in_scope(x, x->known.v[k]->module, x->known.v[k]->runtime))
				total += (long)x->known.v[k]->calls;
		for (long n = 1; n <= total + 1; n++)
			if (!o->shard_n || n % o->shard_n == o->shard_k - 1)
				explore_add_task(x, NULL, NULL, 0, 0, NULL, n, -1);
		return;
	}
	for (int k = 0; k < x->known.n; k++) {
		struct site *s = x->known.v[k];
		if (!explore_in_scope(x, s->module, s->runtime))
			continue;
		if (explore_excluded(x, s->key)) {
			x->rep.excluded++;
			continue;
		}
		if (o->shard_n &&
		    (int)(af_fnv64(AF_FNV64_INIT, s->key, strlen(s->key)) % (uint64_t)o->shard_n) != o->shard_k - 1)
			continue;
		explore_add_task(x, s->key, s->module, s->runtime, 0, NULL, 0, -1);
	}
}

static int make_scratch(struct explore *x)
{
	/* the runs' logs, census and outputs: in memory unless --isolate puts
	   the program's own files there too */
	snprintf(x->o.tmp, sizeof x->o.tmp, "%s/allocfail-explore-XXXXXX", scratch_parent(!x->o.isolate));
	if (!mkdtemp(x->o.tmp)) {
		warnx_("explore: cannot create a temporary directory in %s: %s",
		       scratch_parent(!x->o.isolate), strerror(errno));
		return -1;
	}
	/* absolute: the runs' logs are named in their environment, and
	   --isolate runs them in directories of their own */
	char abs_tmp[PATH_MAX];
	if (x->o.tmp[0] != '/' && realpath(x->o.tmp, abs_tmp))
		snprintf(x->o.tmp, sizeof x->o.tmp, "%s", abs_tmp);
	return 0;
}

int cmd_explore(int argc, char **argv)
{
	static struct explore ex; /* large; one per process */
	struct explore *x = &ex;
	if (explore_tests_wanted(argc, argv))
		return explore_tests(argc, argv);
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	x->nth_stop = -1;
	parse_options(&x->o, argc, argv);
	struct report *rep = &x->rep;
	if (x->o.baseline) {
		char err[512];
		if (report_read_baseline(rep, x->o.baseline, err, sizeof err) < 0)
			die_usage("explore: %s", err);
	}
	if (make_scratch(x) < 0)
		return EXIT_INTERNAL;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	x->t_start = mono_now();
	rep->cmd = x->o.cmd;
	rep->ncmd = x->o.ncmd;
	char real[PATH_MAX];
	rep->program = xstrdup(realpath(x->o.path, real) ? real : x->o.path);
	rep->mode = (char *)mode_names[x->o.mode];
	rep->shard_k = x->o.shard_k ? x->o.shard_k : 1;
	rep->shard_n = x->o.shard_n ? x->o.shard_n : 1;
	rep->abort_is_bug = x->o.abort_is_bug;
	rep->ref_status = x->o.status;
	rep->stacks = x->o.stacks;

	/* the reference run, twice; when forking, the forking run is the
	   second when its output is the same (explore_fork) */
	struct runres ref[2];
	x->ref_timeout = x->o.timeout ? x->o.timeout : 300;
	for (int k = 0; k < (x->o.fork ? 1 : 2); k++) {
		int e = reference_run(x, k, &ref[k]);
		if (e)
			return e;
	}
	check_scope(x);
	x->ref_out_hash = ref[0].out_hash;
	x->ref_out_len = ref[0].out_len;
	x->ref_err = xstrdup(ref[0].err);
	if (!x->o.fork)
		rep->nondeterministic = ref[0].out_hash != ref[1].out_hash || ref[0].out_len != ref[1].out_len;
	/* no forking with --isolate: both references ran */
	x->files_judged = x->o.isolate && !x->ref_tree_unread;
	if (x->files_judged)
		filetree_settle(&x->ref_tree[0], &x->ref_tree[1]);
	if (x->o.mode == MODE_FIRST)
		wrapper_hint(x);
	/* from the reference run, --timeout the ceiling: a long limit given
	   for a slow suite is not burnt whole by every hang */
	double derived = x->ref_secs * 10 > 5 ? x->ref_secs * 10 : 5;
	if (!x->o.timeout || derived < x->o.timeout)
		x->o.timeout = derived;
	rep->timeout = x->o.timeout;
	runres_free(&ref[0]);
	if (!x->o.fork)
		runres_free(&ref[1]);

	fill_queue(x);
	x->task_end = -1;
	int plain_end = x->ntasks;
	if (x->o.fork) {
		explore_fork(x, x->next_task, "fork");
		if (!x->ref_confirmed && !explore_stopping) { /* the second reference run after all */
			int e = reference_run(x, 1, &ref[1]);
			if (e)
				return e;
			rep->nondeterministic = ref[0].out_hash != ref[1].out_hash ||
						ref[0].out_len != ref[1].out_len;
			runres_free(&ref[1]);
		}
		/* the calling contexts: once every plain site is decided (the
		   rest by runs of their own) all are queued, and are offered to
		   forking runs of their own; only plain sites queue contexts */
		if (x->o.mode != MODE_NTH && !explore_stopping) {
			x->task_end = plain_end;
			explore_workers(x);
			x->task_end = -1;
			if (!explore_stopping)
				explore_fork(x, plain_end, "fork-contexts");
		}
	}
	explore_workers(x);

	rep->runs = x->runs_done + x->ref_runs;
	rep->secs = mono_now() - x->t_start;
	/* what the budget left out: the tasks no run reached, in --mode nth
	   those before the first allocation that was not there */
	for (int k = x->next_task; k < x->ntasks; k++)
		if (!x->tasks[k].forked &&
		    (x->o.mode != MODE_NTH || x->nth_stop < 0 || x->tasks[k].nth < x->nth_stop))
			rep->budget_hit++;
	report_group(rep);
	int rc = write_reports(rep, x->o.json, x->o.junit, x->o.sarif);
	if (x->o.write_baseline && write_baseline(x->o.write_baseline, rep) < 0)
		rc = EXIT_INTERNAL;
	if (x->o.keep)
		fprintf(stderr, "allocfail: the runs' logs are in %s\n", x->o.tmp);
	else
		rm_rf(x->o.tmp);
	if (explore_stopping)
		warnx_("explore: interrupted; the report covers the runs that finished");
	if (x->internal_errors) {
		warnx_("explore: %d run%s could not be made (%s); the report is incomplete",
		       x->internal_errors, x->internal_errors == 1 ? "" : "s", x->internal_first);
		return EXIT_INTERNAL;
	}
	if (rc)
		return rc;
	return report_bugs(rep) ? 1 : 0;
}
