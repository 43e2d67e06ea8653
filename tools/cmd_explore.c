/* cmd_explore.c - `allocfail explore`: fail each allocation call site of a
   program in turn and classify what happens.
   A reference run (twice, to learn whether the output is deterministic)
   records the exit status, the output hashes and the census of call
   sites. Each call site in scope then gets a run that fails it (its first
   hit by default); call sites first reached in such a run are error paths
   that allocate, and join the queue with the failures that reach them, so
   that error paths inside error paths are explored too. Runs go in
   parallel, each in its own process group, with a timeout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "af_glob.h"
#include "af_fmt.h"
#include "af_tool.h"
#include "census.h"
#include "explore.h"
#include "filetree.h"
#include "json.h"
#include "runner.h"
#include "symbolize.h"

static const char usage[] =
    "usage: allocfail explore [OPTIONS] [--] COMMAND [ARGS...]\n"
    "Fail each allocation call site of COMMAND in turn and report which failures\n"
    "are not handled: crash, hang, silent (exit 0 with changed output), sanitizer\n"
    "report; deliberate aborts are listed.\n"
    "\n"
    "  --mode first|every|nth  fail a site's first hit (default), every hit, or\n"
    "                          allocation 1, 2, ... N of the whole run in turn\n"
    "  --scope GLOB            explore sites in modules matching GLOB (repeatable;\n"
    "                          default: all but the C runtime and the loader)\n"
    "  --exclude FILE          call sites to skip, one MODULE+0xOFFSET per line\n"
    "  --depth N               error paths inside error paths, N deep (default 3)\n"
    "  --jobs N                parallel runs (default: the number of CPUs)\n"
    "  --timeout SEC           per run (default: 10 x the reference run, at least 5)\n"
    "  --budget N|SECs         stop after N runs, or after SEC seconds (e.g. 300s)\n"
    "  --stdin FILE            standard input of every run (default: /dev/null)\n"
    "  --isolate               run each in its own empty temporary directory\n"
    "  --fork                  one run for all sites: fork at each site's first hit,\n"
    "                          the child takes the failure (single-threaded programs\n"
    "                          that write only to stdout/stderr; checked, else falls\n"
    "                          back to a run per site); --jobs N such runs share the\n"
    "                          sites\n"
    "  --status N              the command's normal exit status (default 0; diff's 1\n"
    "                          when the files differ): a run that exits N with\n"
    "                          other output, or 0 where N is not, is silent\n"
    "  --abort-is-bug          count SIGABRT on allocation failure as a bug\n"
    "  --backend next          forward to the next allocator (ASan/LSan builds)\n"
    "  --rules FILE, --rule R  rules added to every run (e.g. nofail exclusions)\n"
    "  --shard K/N             explore the K-th of N deterministic shares\n"
    "  --json FILE, --junit FILE, --sarif FILE\n"
    "                          write the report in these formats ('-': stdout)\n"
    "  --keep                  keep the runs' logs (their directory is printed)\n"
    "  -q, --quiet             no progress line\n"
    "\n"
    "Exit status: 0 no crash, hang, silent or sanitizer finding; 1 at least one;\n"
    "2 usage error; 125 internal error.\n";

enum { MODE_FIRST, MODE_EVERY, MODE_NTH };
static const char *const mode_names[] = {"first", "every", "nth"};

/* Modules never explored by default: the C runtime, the loader (the shim
   itself is never a call site). Same list as the shim's. */
static const char *const runtime_modules =
    "libc.so*,ld-linux*.so*,ld64.so*,libstdc++.so*,libgcc_s.so*,libpthread.so*,libdl.so*,"
    "librt.so*,libm.so*,libc++.so*,libc++abi.so*,libasan.so*,libubsan.so*,liblsan.so*,"
    "libtsan.so*,libhwasan.so*";

struct task {
	char *site, *module;
	int runtime;
	int depth;
	char **chain; /* sites failed before this one, root first */
	long nth;     /* MODE_NTH */
	int root;     /* index of the depth-0 ancestor (shard key) */
	int forked;   /* done by --fork's driver run */
};

struct result {
	int outcome;
	int status;
	char *detail;
	struct jv *inj;   /* the inject event */
	struct jv *crash; /* the crash event */
	char *crash_site;
	char **new_sites; /* sites of this run not seen before */
	char **new_modules;
	int *new_runtime;
	int nnew;
	double secs;
	int injected;
	int interrupted; /* the run was cut short by an interrupt: not a result */
	char *internal; /* the run could not be made: why */
};

/* Runs that could not be made (explore then exits 125): the first why. */
static int internal_errors;
static char *internal_first;

static struct {
	int mode, jobs, isolate, abort_is_bug, max_depth, quiet, keep, fork;
	int status; /* --status: the command's normal exit status */
	double timeout, budget_secs;
	long budget_runs;
	const char *stdin_path, *backend, *json, *junit, *sarif;
	int shard_k, shard_n;
	struct strv scope, exclude;
	struct ruleopts base;
	char **cmd;
	int ncmd;
	char *path;
	char tmp[PATH_MAX];
} o;

/* shared state */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct task *tasks;
static int ntasks, captasks, next_task, inflight;
static long runs_done;
static double t_start;
static struct report rep;
static struct census known; /* every site ever seen */
static uint64_t ref_out_hash;
static size_t ref_out_len;
/* --isolate: what the reference runs left in their directories */
static struct filetree ref_tree[2];
static int ref_tree_unread; /* one of them could not be read */
static int files_judged;    /* both read: runs' files are compared */
static long nth_stop = -1; /* MODE_NTH: first n that injected nothing */
static volatile sig_atomic_t stopping; /* the signal that interrupted explore */


static uint64_t fnv(const char *s)
{
	return af_fnv64(AF_FNV64_INIT, s, strlen(s));
}

static int in_scope(const char *module, int runtime)
{
	if (!module || !strcmp(module, "?"))
		return 0;
	const char *base = strrchr(module, '/');
	base = base ? base + 1 : module;
	if (o.scope.n) {
		for (int i = 0; i < o.scope.n; i++)
			if (af_glob(o.scope.v[i], strchr(o.scope.v[i], '/') ? module : base))
				return 1;
		return 0;
	}
	return !runtime;
}

static int excluded(const char *site)
{
	for (int i = 0; i < o.exclude.n; i++)
		if (!strcmp(o.exclude.v[i], site))
			return 1;
	return 0;
}

static void add_task(const char *site, const char *module, int runtime, int depth, char **chain,
		     long nth, int root)
{
	if (ntasks == captasks) {
		captasks = captasks ? captasks * 2 : 64;
		tasks = xrealloc(tasks, sizeof *tasks * (size_t)captasks);
	}
	struct task *t = &tasks[ntasks];
	memset(t, 0, sizeof *t);
	t->site = site ? xstrdup(site) : NULL;
	t->module = module ? xstrdup(module) : NULL;
	t->runtime = runtime;
	t->depth = depth;
	t->nth = nth;
	t->root = root < 0 ? ntasks : root;
	if (depth) {
		t->chain = xmalloc(sizeof *t->chain * (size_t)depth);
		for (int i = 0; i < depth; i++)
			t->chain[i] = xstrdup(chain[i]);
	}
	ntasks++;
}

/* The rules of one run, as ALLOCFAIL_RULE text and as reproducer options. */
static void task_rules(const struct task *t, struct strv *rules)
{
	for (int i = 0; i < o.exclude.n; i++)
		strv_addf(rules, "nofail site=%s", o.exclude.v[i]);
	if (o.mode == MODE_NTH) {
		if (o.scope.n) {
			char *globs = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&globs, &len);
			for (int i = 0; i < o.scope.n; i++)
				fprintf(m, "%s%s", i ? "," : "", o.scope.v[i]);
			fclose(m);
			strv_addf(rules, "fail module=%s nth=%ld", globs, t->nth);
			free(globs);
		} else {
			strv_addf(rules, "nofail module=%s", runtime_modules);
			strv_addf(rules, "fail nth=%ld", t->nth);
		}
		return;
	}
	const char *suffix = o.mode == MODE_FIRST ? " nth=1" : "";
	for (int i = 0; i < t->depth; i++)
		strv_addf(rules, "fail site=%s%s", t->chain[i], suffix);
	strv_addf(rules, "fail site=%s%s", t->site, suffix);
}

/* The command line that repeats a run: a hang's with explore's timeout,
   an --isolate run's in a new empty directory, as explore ran them. */
static char *reproducer(const struct task *t, int outcome)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	char *me = shell_quote(self_command());
	if (o.isolate)
		fputs("(cd \"$(mktemp -d)\" && ", m);
	fprintf(m, "%s run", me);
	free(me);
	if (outcome == O_HANG)
		fprintf(m, " --timeout %g", o.timeout);
	if (o.backend)
		fprintf(m, " --backend %s", o.backend);
	if (o.base.rules_file) {
		char *q = shell_quote(o.base.rules_file);
		fprintf(m, " --rules %s", q);
		free(q);
	}
	struct strv rules = {0};
	for (int i = 0; i < o.base.inline_rules.n; i++)
		strv_add(&rules, o.base.inline_rules.v[i]);
	task_rules(t, &rules);
	for (int i = 0; i < rules.n; i++) {
		int is_set = !strncmp(rules.v[i], "set ", 4);
		char *q = shell_quote(is_set ? rules.v[i] + 4 : rules.v[i]);
		fprintf(m, " %s %s", is_set ? "--set" : "--rule", q);
		free(q);
	}
	strv_free(&rules);
	fputs(" --", m);
	for (int i = 0; i < o.ncmd; i++) {
		/* the command by its full path where it runs in another directory */
		char *q = shell_quote(i == 0 && o.isolate ? o.path : o.cmd[i]);
		fprintf(m, " %s", q);
		free(q);
	}
	if (o.stdin_path) {
		char *q = shell_quote(o.stdin_path);
		fprintf(m, " < %s", q);
		free(q);
	}
	if (o.isolate)
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

static void rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A sanitizer report's summary line, or NULL; *is_crash when it reports a
   fatal signal (ASan handles SEGV itself) rather than a memory error. */
static const char *sanitizer_line(const char *err, int *is_crash)
{
	static const char *const marks[] = {"ERROR: AddressSanitizer: ", "ERROR: LeakSanitizer: ",
					    "ERROR: MemorySanitizer: ", "WARNING: ThreadSanitizer: ",
					    "ERROR: UndefinedBehaviorSanitizer: ", "runtime error: "};
	static const char *const fatal[] = {"SEGV", "stack-overflow", "BUS", "FPE", "ILL"};
	*is_crash = 0;
	for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
		const char *p = strstr(err, marks[i]);
		if (!p)
			continue;
		const char *kind = p + strlen(marks[i]);
		for (size_t k = 0; i == 0 && k < sizeof fatal / sizeof *fatal; k++)
			if (!strncmp(kind, fatal[k], strlen(fatal[k])))
				*is_crash = 1;
		const char *summary = strstr(err, "SUMMARY: ");
		return summary ? summary + 9 : p;
	}
	return NULL;
}

static char *first_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	size_t n = nl ? (size_t)(nl - s) : strlen(s);
	if (n > 200)
		n = 200;
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	return d;
}

/* The program's own first stderr line (not ours, not a sanitizer's). */
static char *message_of(const char *err)
{
	for (const char *p = err; p && *p;) {
		const char *nl = strchr(p, '\n');
		if (strncmp(p, "allocfail:", 10) != 0 && p[0] != '=' && p[0] != '\n' && p[0] != ' ')
			return first_line(p);
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static const char *signame(int sig)
{
	static char buf[32];
	const char *n = sigabbrev_np(sig);
	snprintf(buf, sizeof buf, "SIG%s", n ? n : "?");
	return buf;
}

static char *frame_where(const struct jv *fr, int exact)
{
	struct sym s = {json_str(fr, "func"), json_str(fr, "file"), (int)json_int(fr, "line", 0)};
	struct sym d;
	uint64_t off;
	if ((!s.file || !s.func) && json_str(fr, "module") && site_offset(json_str(fr, "pc"), &off) == 0) {
		symbolize(json_str(fr, "module"), off, exact, &d);
		if (d.func)
			s.func = d.func;
		if (!s.file) {
			s.file = d.file;
			s.line = d.line;
		}
	}
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

static char *site_key(const char *logsite)
{
	/* "mod+0xoff (func)" -> "mod+0xoff" */
	const char *sp = strchr(logsite, ' ');
	size_t n = sp ? (size_t)(sp - logsite) : strlen(logsite);
	char *d = xmalloc(n + 1);
	memcpy(d, logsite, n);
	return d;
}

/* What a run did (shared by runs of their own and --fork's children):
   the injection of interest and a crash from its log, the sites it
   reached first from its census, the outcome from its status and output. */
static void classify(const struct task *t, struct result *res, struct runres *rr, const char *files,
		     const char *log,
		     const char *cen)
{
	res->secs = rr->secs;
	res->status = rr->timed_out ? -1 : shell_status(rr->wstatus);

	/* the log: the injection of interest, and a crash */
	FILE *f = fopen(log, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while (f && (n = getline(&line, &cap, f)) > 0) {
		struct jv *v = json_parse(line, (size_t)n, NULL, 0);
		const char *ev = v ? json_str(v, "ev") : NULL;
		if (ev && !strcmp(ev, "inject") && !res->inj) {
			char *k = json_str(v, "site") ? site_key(json_str(v, "site")) : NULL;
			if (o.mode == MODE_NTH || (k && !strcmp(k, t->site))) {
				res->inj = v;
				v = NULL;
			}
			free(k);
		} else if (ev && !strcmp(ev, "crash") && !res->crash) {
			res->crash = v;
			v = NULL;
		}
		json_free(v);
	}
	free(line);
	if (f)
		fclose(f);
	res->injected = res->inj != NULL;

	/* the census: sites not seen before are error paths that allocate;
	   they become known when the result is recorded (record()), not
	   here: a forked child's result may be set aside for a run of its
	   own, which must find them new again */
	struct census c = {0};
	census_read(&c, cen);
	pthread_mutex_lock(&mu);
	for (int i = 0; i < c.n; i++)
		if (!census_find(&known, c.v[i]->key)) {
			res->new_sites = xrealloc(res->new_sites, sizeof(char *) * (size_t)(res->nnew + 1));
			res->new_modules = xrealloc(res->new_modules, sizeof(char *) * (size_t)(res->nnew + 1));
			res->new_runtime = xrealloc(res->new_runtime, sizeof(int) * (size_t)(res->nnew + 1));
			res->new_sites[res->nnew] = xstrdup(c.v[i]->key);
			res->new_modules[res->nnew] = xstrdup(c.v[i]->module);
			res->new_runtime[res->nnew++] = c.v[i]->runtime;
		}
	pthread_mutex_unlock(&mu);
	census_free(&c);

	/* classify */
	int san_crash;
	const char *san = sanitizer_line(rr->err, &san_crash);
	if (res->crash) {
		const struct jv *st = json_get(res->crash, "stack");
		int cs = (int)json_int(res->crash, "crash_site", 0);
		if (st && st->t == J_ARR && cs < st->n)
			res->crash_site = xstrdup(json_str(&st->items[cs], "pc") ? json_str(&st->items[cs], "pc") : "?");
	}
	if (!res->injected) {
		res->outcome = O_UNREACHED;
		res->detail = xstrdup(o.mode == MODE_NTH ? "no such allocation in the run"
							  : "the run did not reach this call site");
	} else if (rr->timed_out && rr->deadlocked) {
		res->outcome = O_HANG;
		res->detail = xstrdup("deadlocked: its one thread waits for good on a lock (a futex "
				      "wait without a timeout, no signal handler to end it); the process "
				      "group was killed");
	} else if (rr->timed_out) {
		res->outcome = O_HANG;
		res->detail = xasprintf("no exit after %g s; the process group was killed", o.timeout);
	} else if (san && !san_crash) {
		res->outcome = O_SANITIZER;
		res->detail = first_line(san);
	} else if (res->crash || WIFSIGNALED(rr->wstatus) || san_crash) {
		int sig = res->crash ? (int)json_int(res->crash, "signo", 0)
			  : WIFSIGNALED(rr->wstatus) ? WTERMSIG(rr->wstatus) : SIGSEGV;
		/* SIGABRT is a deliberate xmalloc-style abort, unless it is an
		   assertion that failed: a broken invariant, i.e. a crash */
		const char *as = sig == SIGABRT ? strstr(rr->err, "Assertion `") : NULL;
		res->outcome = sig == SIGABRT && !as ? O_ABORT : O_CRASH;
		char *w = NULL, *top = NULL;
		int in_alloc = 0; /* the crash is inside the allocator */
		int in_unwinder = 0; /* inside the libunwind the shim loaded */
		/* the shim saw the fault next to the stack pointer */
		int overflow = res->crash && json_bool(res->crash, "overflow", 0);
		if (res->crash) {
			const struct jv *st = json_get(res->crash, "stack");
			int cs = (int)json_int(res->crash, "crash_site", 0);
			if (st && st->t == J_ARR && cs < st->n)
				w = frame_where(&st->items[cs], cs == 0);
			/* the crash itself was in the C runtime: say where too */
			if (st && st->t == J_ARR && cs > 0 && cs < st->n && sig != SIGABRT) {
				top = frame_where(&st->items[0], 1);
				in_alloc = is_shim(json_str(&st->items[0], "module"));
				in_unwinder = is_unwinder(json_str(&st->items[0], "module"));
			}
		}
		if (san_crash)
			res->detail = first_line(san);
		else if (as)
			res->detail = xasprintf("assertion failed: %.*s", (int)strcspn(as, "\n"), as);
		else if (overflow && top && !in_alloc && !in_unwinder)
			res->detail = xasprintf("stack overflow (%s) in %s, called from %s", signame(sig), top,
						w);
		else if (overflow) /* perhaps in the shim's walk of it: the program's own */
			res->detail = xasprintf("stack overflow (%s)%s%s%s", signame(sig), w ? " in " : "",
						w ? w : "",
						top ? " (the last frames were allocfail's walk of the stack)" : "");
		else if (top && in_alloc) /* the program's bad free or realloc, as a rule */
			res->detail = xasprintf("%s inside the allocator (%s), called from %s: a double or "
						"invalid free? (--backend next lets glibc check it)",
						signame(sig), top, w);
		else if (top)
			res->detail = xasprintf("%s in %s, called from %s", signame(sig), top, w);
		else
			res->detail = xasprintf("%s%s%s", signame(sig), w ? " in " : "", w ? w : "");
		free(w);
		free(top);
	} else if (WIFEXITED(rr->wstatus) && WEXITSTATUS(rr->wstatus) == o.status) {
		int st = o.status;
		int same_out = rr->out_hash == ref_out_hash && rr->out_len == ref_out_len;
		if ((same_out || rep.nondeterministic) && files) {
			/* --isolate: the output was the reference's, the files not */
			res->outcome = O_SILENT;
			res->detail = xasprintf("exit %d%s, but the files it left differ: %s", st,
						same_out ? " with the reference output" : "", files);
		} else if (same_out) {
			res->outcome = O_HANDLED;
			res->detail = xasprintf("exit %d with the reference output", st);
		} else if (rep.nondeterministic) {
			res->outcome = O_HANDLED;
			res->detail = xasprintf("exit %d (the output is not compared: it changes between "
						"clean runs)", st);
		} else {
			res->outcome = O_SILENT;
			res->detail = xasprintf("exit %d, but stdout differs from the reference (%zu bytes, "
						"not %zu)",
						st, rr->out_len, ref_out_len);
		}
	} else if (WIFEXITED(rr->wstatus) && WEXITSTATUS(rr->wstatus) == 0) {
		/* --status N, N > 0: success is not the command's normal result
		   (diff: "no differences"), so claiming it is a wrong answer */
		res->outcome = O_SILENT;
		res->detail = xasprintf("exit 0, where the reference exits %d", o.status);
	} else {
		res->outcome = O_HANDLED;
		char *m = message_of(rr->err);
		res->detail = m ? xasprintf("exit %d: %s", WEXITSTATUS(rr->wstatus), m)
				: xasprintf("exit %d without a message", WEXITSTATUS(rr->wstatus));
		free(m);
	}
}

/* The command's argv, with its resolved path first (free the vector only). */
static char **cmd_argv(void)
{
	char **argv = xmalloc(sizeof *argv * (size_t)(o.ncmd + 1));
	argv[0] = o.path;
	for (int i = 1; i < o.ncmd; i++)
		argv[i] = o.cmd[i];
	argv[o.ncmd] = NULL;
	return argv;
}

/* The environment of an injecting run (a run of its own, or a forking
   run): its rules, log and census, and fork if not NULL (ALLOCFAIL_FORK). */
static struct strv run_env(const struct strv *rules, const char *log, const char *cen,
			   const char *fork)
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
	ro.rules_file = o.base.rules_file;
	ro.backend = o.backend;
	ro.clean = 1;
	pthread_mutex_lock(&mu);
	char **env = child_env(&ro, (const char *const *)extra.v);
	/* child_env returns a shared vector: copy it */
	struct strv envc = {0};
	for (char **e = env; *e; e++)
		strv_add(&envc, *e);
	pthread_mutex_unlock(&mu);
	strv_free(&extra);
	return envc;
}

static void run_task(const struct task *t, int id, struct result *res)
{
	memset(res, 0, sizeof *res);
	char *dir = xasprintf("%s/run-%d", o.tmp, id);
	if (mkdir(dir, 0700) < 0) {
		res->outcome = O_UNREACHED;
		res->internal = xasprintf("cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return;
	}
	char *log = xasprintf("%s/log", dir), *cen = xasprintf("%s/census", dir);
	char *cwd = NULL;
	if (o.isolate) {
		cwd = xasprintf("%s/cwd", dir);
		mkdir(cwd, 0700);
	}
	struct strv rules = {0};
	for (int i = 0; i < o.base.inline_rules.n; i++)
		strv_add(&rules, o.base.inline_rules.v[i]);
	task_rules(t, &rules);
	struct strv envc = run_env(&rules, log, cen, NULL);
	strv_free(&rules);
	char **argv = cmd_argv();
	struct runspec rs = {.argv = argv, .env = envc.v, .stdin_path = o.stdin_path, .cwd = cwd, .timeout = o.timeout};
	struct runres rr;
	if (run_child(&rs, &rr) < 0) {
		res->outcome = O_UNREACHED;
		res->internal = xasprintf("cannot run '%s': %s", o.path, strerror(errno));
		goto out;
	}
	if (rr.interrupted) { /* explore was interrupted: no result */
		res->interrupted = 1;
		runres_free(&rr);
		goto out;
	}
	char *files = NULL;
	if (files_judged) {
		struct filetree ft;
		if (filetree_read(&ft, cwd) == 0)
			files = filetree_diff(&ref_tree[0], &ft);
		else
			files = xasprintf("what it left cannot be read (%s)", strerror(errno));
		filetree_free(&ft);
	}
	classify(t, res, &rr, files, log, cen);
	free(files);
	runres_free(&rr);
out:
	free(argv);
	strv_free(&envc);
	if (!o.keep)
		rm_rf(dir);
	free(dir);
	free(log);
	free(cen);
	free(cwd);
}

/* skip_runtime: start at the call site (the first frame the log does not
   mark as C runtime), as injection sites are reported. */
static void stack_from(const struct jv *a, struct stackv *st, int crash, int skip_runtime)
{
	if (!a || a->t != J_ARR)
		return;
	int from = 0;
	while (skip_runtime && from < a->n && json_bool(&a->items[from], "runtime", 0))
		from++;
	if (from == a->n)
		from = 0;
	st->f = xmalloc(sizeof *st->f * (size_t)(a->n ? a->n : 1));
	for (int i = from; i < a->n; i++) {
		const struct jv *x = &a->items[i];
		struct frame *fr = &st->f[st->n++];
		fr->pc = xstrdup(json_str(x, "pc") ? json_str(x, "pc") : "?");
		fr->module = json_str(x, "module") ? xstrdup(json_str(x, "module")) : NULL;
		struct sym s = {json_str(x, "func"), json_str(x, "file"), (int)json_int(x, "line", 0)};
		uint64_t off;
		if ((!s.func || !s.file) && fr->module && site_offset(fr->pc, &off) == 0) {
			struct sym d;
			symbolize(fr->module, off, crash && i == 0, &d);
			if (d.func)
				s.func = d.func;
			if (!s.file) {
				s.file = d.file;
				s.line = d.line;
			}
		}
		fr->func = s.func ? xstrdup(s.func) : NULL;
		fr->file = s.file ? xstrdup(s.file) : NULL;
		fr->line = s.line;
	}
}

/* Record one result (called with mu held). */
static void record(const struct task *t, struct result *res)
{
	runs_done++;
	if (res->internal) {
		if (!internal_errors++)
			internal_first = xstrdup(res->internal);
		return;
	}
	if (o.mode == MODE_NTH) {
		if (!res->injected) {
			if (nth_stop < 0 || t->nth < nth_stop)
				nth_stop = t->nth;
			return;
		}
	}
	char *inj_key = res->inj ? site_key(json_str(res->inj, "site")) : xstrdup(t->site ? t->site : "?");
	struct siteres *s = NULL;
	if (o.mode == MODE_NTH) {
		for (int i = 0; i < rep.nsites && !s; i++)
			if (!strcmp(rep.sites[i].site, inj_key))
				s = &rep.sites[i];
	}
	char *repro = reproducer(t, res->outcome);
	if (!s) {
		s = report_add_site(&rep, inj_key);
		s->module = t->module ? xstrdup(t->module) : NULL;
		s->runtime = t->runtime;
		s->depth = t->depth;
		s->chain = t->depth ? xmalloc(sizeof *s->chain * (size_t)t->depth) : NULL;
		for (int i = 0; i < t->depth; i++)
			s->chain[i] = xstrdup(t->chain[i]);
		const struct jv *st = res->inj ? json_get(res->inj, "stack") : NULL;
		int cs = 0;
		if (st && st->t == J_ARR) {
			/* the call site frame: the first outside the C runtime */
			while (cs < st->n && json_bool(&st->items[cs], "runtime", 0))
				cs++;
			if (cs == st->n)
				cs = 0;
			if (cs < st->n) {
				const struct jv *fr = &st->items[cs];
				s->func = json_str(fr, "func") ? xstrdup(json_str(fr, "func")) : NULL;
				s->file = json_str(fr, "file") ? xstrdup(json_str(fr, "file")) : NULL;
				s->line = (int)json_int(fr, "line", 0);
				if (!s->module && json_str(fr, "module"))
					s->module = xstrdup(json_str(fr, "module"));
			}
		}
		if (!s->func) {
			struct site *k = census_find(&known, inj_key);
			if (k) {
				census_symbolize(&known);
				s->func = k->sym.func ? xstrdup(k->sym.func) : NULL;
				s->file = k->sym.file ? xstrdup(k->sym.file) : NULL;
				s->line = k->sym.line;
				if (!s->module)
					s->module = xstrdup(k->module);
			}
		}
		s->outcome = res->outcome;
		s->status = res->status;
		s->detail = res->detail ? xstrdup(res->detail) : NULL;
		s->reproducer = xstrdup(repro);
		s->secs = res->secs;
	} else if (outcome_rank(res->outcome) < outcome_rank(s->outcome)) {
		s->outcome = res->outcome;
		free(s->detail);
		s->detail = res->detail ? xstrdup(res->detail) : NULL;
		free(s->reproducer);
		s->reproducer = xstrdup(repro);
	}
	if (res->outcome != O_HANDLED && res->outcome != O_UNREACHED) {
		struct finding *f = report_add_finding(&rep, res->outcome, inj_key,
						       res->outcome == O_CRASH || res->outcome == O_ABORT
							   ? res->crash_site
							   : NULL);
		if (!f->count) {
			f->detail = res->detail ? xstrdup(res->detail) : NULL;
			f->reproducer = xstrdup(repro);
			/* the injection stack from the call site down */
			const struct jv *st = res->inj ? json_get(res->inj, "stack") : NULL;
			stack_from(st, &f->inj, 0, 1);
			if (res->crash) {
				/* from the crash site down, as for injections */
				const struct jv *cst = json_get(res->crash, "stack");
				stack_from(cst, &f->crash, 1, 0);
				int cs = (int)json_int(res->crash, "crash_site", 0);
				if (cs > 0 && cs < f->crash.n) {
					memmove(f->crash.f, f->crash.f + cs,
						sizeof *f->crash.f * (size_t)(f->crash.n - cs));
					f->crash.n -= cs;
				}
			}
		}
		f->count++;
	}
	free(repro);
	free(inj_key);
	/* error paths that allocate: known from now on, and queued under
	   the failures that reach them (once: another run may have found
	   one since this run was classified) */
	int queue = o.mode != MODE_NTH && t->depth < o.max_depth && res->injected;
	char **chain = xmalloc(sizeof(char *) * (size_t)(t->depth + 1));
	for (int i = 0; i < t->depth; i++)
		chain[i] = t->chain[i];
	chain[t->depth] = t->site;
	for (int i = 0; i < res->nnew; i++) {
		if (census_find(&known, res->new_sites[i]))
			continue;
		census_add(&known, res->new_sites[i], res->new_modules[i], res->new_runtime[i]);
		if (queue && in_scope(res->new_modules[i], res->new_runtime[i]) &&
		    !excluded(res->new_sites[i]))
			add_task(res->new_sites[i], res->new_modules[i], res->new_runtime[i], t->depth + 1,
				 chain, 0, t->root);
	}
	free(chain);
}

static void free_result(struct result *r)
{
	free(r->detail);
	free(r->internal);
	json_free(r->inj);
	json_free(r->crash);
	free(r->crash_site);
	for (int i = 0; i < r->nnew; i++) {
		free(r->new_sites[i]);
		free(r->new_modules[i]);
	}
	free(r->new_sites);
	free(r->new_modules);
	free(r->new_runtime);
}

static int budget_left(void)
{
	if (stopping)
		return 0;
	if (o.budget_runs && runs_done + inflight >= o.budget_runs)
		return 0;
	if (o.budget_secs > 0 && mono_now() - t_start >= o.budget_secs)
		return 0;
	return 1;
}

static void progress(void)
{
	if (o.quiet || !isatty(2))
		return;
	int bugs = report_bugs(&rep);
	double el = mono_now() - t_start;
	int left = ntasks - next_task + inflight;
	double eta = runs_done ? (double)left * el / (double)runs_done : 0;
	fprintf(stderr, "\r\033[Kallocfail explore: %ld runs done, %d queued, %d finding%s, %.0f s, about %.0f s left",
		runs_done, left, bugs, bugs == 1 ? "" : "s", el, eta);
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (next_task >= ntasks && inflight > 0 && budget_left())
			pthread_cond_wait(&cv, &mu);
		if (next_task >= ntasks || !budget_left())
			break;
		struct task *t = &tasks[next_task];
		int id = next_task++;
		if (o.mode == MODE_NTH && nth_stop >= 0 && t->nth > nth_stop)
			continue;
		if (t->forked)
			continue;
		inflight++;
		struct task copy = *t; /* tasks may be reallocated meanwhile */
		pthread_mutex_unlock(&mu);
		struct result res;
		run_task(&copy, id, &res);
		pthread_mutex_lock(&mu);
		inflight--;
		if (!res.interrupted)
			record(&copy, &res);
		free_result(&res);
		if (o.mode == MODE_NTH && nth_stop < 0 && next_task >= ntasks && ntasks)
			add_task(NULL, NULL, 0, 0, NULL, tasks[ntasks - 1].nth + (o.shard_n ? o.shard_n : 1),
				 -1);
		progress();
		pthread_cond_broadcast(&cv);
	}
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* --fork: runs of the program, each as the reference, in which the shim
   forks at the first hit of each call site of its share of the queue and
   the child takes the failure (shim/af_fork.c). A forking run's children
   run one after another, so with --jobs N the depth-0 sites are dealt to
   up to N forking runs that run in parallel (at least 4 sites each: every
   one is a program start). A run's children count only if the run itself
   then behaved exactly as the reference did; otherwise, and for the sites
   it could not fork, the runs of their own follow. */
static int ref_confirmed;

struct driver {
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
	d->why = "it could not be run";
	struct strv rules = {0};
	for (int i = 0; i < o.base.inline_rules.n; i++)
		strv_add(&rules, o.base.inline_rules.v[i]);
	for (int i = 0; i < o.exclude.n; i++)
		strv_addf(&rules, "nofail site=%s", o.exclude.v[i]);
	char *log = xasprintf("%s/driver.log", d->dir), *cen = xasprintf("%s/driver.census", d->dir);
	char *fork = xasprintf("%ld:%s", (long)(o.timeout * 1000), d->dir);
	struct strv envc = run_env(&rules, log, cen, fork);
	strv_free(&rules);
	free(log);
	free(cen);
	free(fork);
	char **argv = cmd_argv();
	char *out = xasprintf("%s/driver.out", d->dir), *err = xasprintf("%s/driver.err", d->dir);
	double limit = o.timeout * (d->listed + 2);
	if (o.budget_secs > 0 && limit > o.budget_secs)
		limit = o.budget_secs;
	struct runspec rs = {.argv = argv, .env = envc.v, .stdin_path = o.stdin_path, .timeout = limit,
			     .out_path = out, .err_path = err};
	struct runres rr = {0};
	int ran = run_child(&rs, &rr) == 0;
	free(argv);
	free(out);
	free(err);
	strv_free(&envc);
	if (ran) {
		d->why = rr.interrupted			? "it was interrupted"
			 : rr.deadlocked		? "it deadlocked"
			 : rr.timed_out			? "it did not finish in time"
			 : shell_status(rr.wstatus) != o.status ? "another exit status"
			 : rr.out_hash != ref_out_hash || rr.out_len != ref_out_len ? "other output"
										     : NULL;
		d->ok = d->why == NULL;
	}
	runres_free(&rr);
	return NULL;
}

/* Each forked child of d: a run like any other. */
static void driver_collect(const struct driver *d)
{
	char *rp = xasprintf("%s/results", d->dir);
	FILE *f = fopen(rp, "r");
	free(rp);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while (f && (n = getline(&line, &cap, f)) > 0) {
		struct jv *v = json_parse(line, (size_t)n, NULL, 0);
		const char *site = v ? json_str(v, "site") : NULL;
		int k = next_task;
		while (site && k < ntasks && (tasks[k].depth || tasks[k].forked || strcmp(tasks[k].site, site)))
			k++;
		if (!site || k == ntasks) {
			json_free(v);
			continue;
		}
		long id = (long)json_int(v, "n", 0);
		char *cerr = xasprintf("%s/%ld.err", d->dir, id);
		char *clog = xasprintf("%s/%ld.log", d->dir, id), *ccen = xasprintf("%s/%ld.census", d->dir, id);
		struct runres cr = {0};
		cr.wstatus = (int)json_int(v, "wstatus", 0);
		cr.timed_out = json_bool(v, "timed_out", 0);
		cr.secs = json_get(v, "secs") ? json_get(v, "secs")->num : 0;
		/* stdout as the forking run hashed it (it removed the file); a
		   child whose stdout it could not read gets a run of its own */
		const char *oh = json_str(v, "out_hash");
		if (oh && runres_read_outputs(&cr, NULL, cerr) == 0 &&
		    !(WIFEXITED(cr.wstatus) && WEXITSTATUS(cr.wstatus) == 125 && !cr.err_len)) {
			cr.out_hash = strtoull(oh, NULL, 16);
			cr.out_len = (size_t)json_int(v, "out_len", 0);
			struct task copy = tasks[k];
			struct result res;
			memset(&res, 0, sizeof res);
			classify(&copy, &res, &cr, NULL, clog, ccen);
			/* a child that did not handle the failure is run again on its
			   own, which decides: a finding always comes from a run that
			   its reproducer repeats, never from an artefact of forking */
			if (res.outcome == O_HANDLED) {
				tasks[k].forked = 1;
				rep.forked++;
				pthread_mutex_lock(&mu);
				record(&copy, &res);
				pthread_mutex_unlock(&mu);
			}
			free_result(&res);
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
}

static void fork_driver(void)
{
	int total = 0;
	for (int i = next_task; i < ntasks; i++)
		if (!tasks[i].depth && (!o.budget_runs || total < o.budget_runs))
			total++;
	int nd = o.jobs < total / 4 ? o.jobs : total / 4;
	if (nd < 1)
		nd = 1;
	struct driver *dv = xmalloc(sizeof *dv * (size_t)nd);
	int written = 1;
	for (int k = 0; k < nd; k++) {
		memset(&dv[k], 0, sizeof dv[k]);
		dv[k].dir = xasprintf("%s/fork-%d", o.tmp, k + 1);
		char *sp = xasprintf("%s/sites", dv[k].dir);
		FILE *f = written && mkdir(dv[k].dir, 0700) == 0 ? fopen(sp, "w") : NULL;
		/* the sites dealt in turn, so that each run's share spans the
		   program */
		for (int i = next_task, dealt = 0; f && i < ntasks && dealt < total; i++)
			if (!tasks[i].depth && dealt++ % nd == k) {
				fprintf(f, "%s\n", tasks[i].site);
				dv[k].listed++;
			}
		if (written && (!f || fclose(f) != 0)) {
			warnx_("explore: --fork: cannot write %s: %s", sp, strerror(errno));
			written = 0;
		}
		free(sp);
	}
	if (!written) {
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
	int all_ok = 1;
	for (int k = 0; k < nd; k++) {
		if (!dv[k].ok) {
			if (all_ok && !stopping)
				warnx_("explore: --fork: a forking run did not behave as the reference did "
				       "(%s); its call sites get runs of their own", dv[k].why);
			all_ok = 0;
			continue;
		}
		runs_done++; /* the forking run itself */
		driver_collect(&dv[k]);
	}
	/* two runs without injection, the same output; a forking run that
	   differed calls for a second reference run, which judges */
	ref_confirmed = all_ok;
	for (int k = 0; k < nd; k++)
		free(dv[k].dir);
	free(dv);
}

static void on_signal(int sig)
{
	stopping = sig;
	runner_stop = 1; /* the runs in flight end now, not at their timeouts */
}

static void read_exclude(const char *path)
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
		strv_add(&o.exclude, p);
	}
	free(line);
	fclose(f);
}

/* Two clean runs whose outputs differ: 'silent' cannot be judged. */
static int outputs_differ(const struct runres *a, const struct runres *b)
{
	return a->out_hash != b->out_hash || a->out_len != b->out_len;
}

/* A run with no injection: 0, or the status explore ends with (after a
   message) when it could not be made or did not succeed. */
static double ref_secs, ref_timeout;
static int ref_runs;
static int reference_run(int k, struct runres *r)
{
	char *cen = xasprintf("%s/reference-%d", o.tmp, k);
	char *extra[] = {xasprintf("ALLOCFAIL_CENSUS=%s", cen), NULL};
	struct ruleopts ro = {0};
	ro.rules_file = o.base.rules_file;
	ro.inline_rules = o.base.inline_rules;
	ro.backend = o.backend;
	ro.clean = 1;
	char **env = child_env(&ro, (const char *const *)extra);
	char **cargv = cmd_argv();
	struct runspec rs = {.argv = cargv, .env = env, .stdin_path = o.stdin_path, .timeout = ref_timeout};
	ref_runs++;
	if (o.isolate) {
		char *cwd = xasprintf("%s/reference-cwd-%d", o.tmp, k);
		mkdir(cwd, 0700);
		rs.cwd = cwd;
	}
	if (run_child(&rs, r) < 0) {
		warnx_("explore: cannot run '%s': %s", o.cmd[0], strerror(errno));
		rm_rf(o.tmp);
		return EXIT_INTERNAL;
	}
	if (r->exec_failed) {
		rm_rf(o.tmp);
		die_usage("explore: cannot run '%s': %s", o.cmd[0], strerror(r->exec_failed));
	}
	if (r->interrupted) {
		rm_rf(o.tmp);
		warnx_("explore: interrupted during the reference run; nothing was explored");
		return 128 + (int)stopping;
	}
	int st = shell_status(r->wstatus);
	int sc;
	const char *san = sanitizer_line(r->err, &sc);
	if (r->timed_out || st != o.status || san) {
		char *m = message_of(r->err);
		char why[256];
		if (r->timed_out && r->deadlocked)
			snprintf(why, sizeof why, "it deadlocked (its one thread waits for good on a lock)");
		else if (r->timed_out)
			snprintf(why, sizeof why, "it did not finish in %g s", rs.timeout);
		else if (san)
			snprintf(why, sizeof why, "%.*s", (int)strcspn(san, "\n"), san);
		else if (WIFSIGNALED(r->wstatus))
			snprintf(why, sizeof why, "killed by %s", signame(WTERMSIG(r->wstatus)));
		else if (strstr(r->err, "ASan runtime does not come first")) {
			rm_rf(o.tmp);
			die_usage("explore: '%s' is an AddressSanitizer build: explore it with "
				  "--backend next", o.cmd[0]);
		} else
			snprintf(why, sizeof why, "exit status %d", st);
		int exited = !r->timed_out && !san && WIFEXITED(r->wstatus);
		if (exited && o.status == 0 && st <= 125)
			warnx_("explore: the reference run (no injection) already fails: %s%s%s "
			       "(explore needs a command that succeeds on its own; --status %d if that "
			       "is its normal result)",
			       why, m ? ": " : "", m ? m : "", st);
		else if (exited && o.status != 0)
			warnx_("explore: the reference run (no injection) exits %d, not %d as --status "
			       "says%s%s",
			       st, o.status, m ? ": " : "", m ? m : "");
		else
			warnx_("explore: the reference run (no injection) already fails: %s%s%s "
			       "(explore needs a command that succeeds on its own)",
			       why, m ? ": " : "", m ? m : "");
		free(m);
		rm_rf(o.tmp);
		return EXIT_USAGE;
	}
	if (o.isolate && filetree_read(&ref_tree[k], rs.cwd) < 0) {
		warnx_("explore: cannot read what the reference run left in its directory (%s): "
		       "files are not compared", strerror(errno));
		ref_tree_unread = 1;
	}
	if (k == 0)
		census_read(&known, cen);
	ref_secs = ref_secs > r->secs ? ref_secs : r->secs;
	free(cen);
	free(extra[0]);
	free(cargv);
	free((char *)rs.cwd);
	return 0;
}

int cmd_explore(int argc, char **argv)
{
	o.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	o.max_depth = 3;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (ruleopts_parse(&o.base, argc, argv, &i)) {
			if (o.base.log || o.base.summary || o.base.seed)
				die_usage("explore: --log, --summary and --seed are set by explore itself");
			if (o.base.backend)
				o.backend = o.base.backend;
			continue;
		}
#define VALUE()                                                                          \
	(i + 1 < argc ? argv[++i] : (die_usage("explore: %s needs a value", a), (char *)NULL))
		if (!strcmp(a, "--mode")) {
			const char *v = VALUE();
			o.mode = -1;
			for (int k = 0; k < 3; k++)
				if (!strcmp(v, mode_names[k]))
					o.mode = k;
			if (o.mode < 0)
				die_usage("explore: --mode '%s': expected first, every or nth", v);
		} else if (!strcmp(a, "--scope")) {
			const char *v = VALUE();
			if (af_glob_check(v))
				die_usage("explore: --scope '%s': %s", v, af_glob_check(v));
			strv_add(&o.scope, v);
		} else if (!strcmp(a, "--exclude")) {
			read_exclude(VALUE());
		} else if (!strcmp(a, "--jobs") || !strcmp(a, "-j")) {
			o.jobs = (int)opt_number("explore", "--jobs", VALUE(), 1, 1024);
		} else if (!strcmp(a, "--depth")) {
			o.max_depth = (int)opt_number("explore", "--depth", VALUE(), 0, 16);
		} else if (!strcmp(a, "--timeout")) {
			o.timeout = opt_seconds("explore", "--timeout", VALUE());
		} else if (!strcmp(a, "--budget")) {
			const char *v = VALUE();
			char *end;
			long n = strtol(v, &end, 10);
			if (!*end && n > 0)
				o.budget_runs = n;
			else
				o.budget_secs = opt_seconds("explore", "--budget", v);
		} else if (!strcmp(a, "--stdin")) {
			o.stdin_path = VALUE();
			if (access(o.stdin_path, R_OK) != 0)
				die_usage("explore: cannot read '%s': %s", o.stdin_path, strerror(errno));
			char real[PATH_MAX];
			if (realpath(o.stdin_path, real))
				o.stdin_path = xstrdup(real);
		} else if (!strcmp(a, "--isolate")) {
			o.isolate = 1;
		} else if (!strcmp(a, "--fork")) {
			o.fork = 1;
		} else if (!strcmp(a, "--status")) {
			/* 126 and up: the shell's "cannot run" and signals */
			o.status = (int)opt_number("explore", "--status", VALUE(), 0, 125);
		} else if (!strcmp(a, "--abort-is-bug")) {
			o.abort_is_bug = 1;
		} else if (!strcmp(a, "--json")) {
			o.json = VALUE();
		} else if (!strcmp(a, "--junit")) {
			o.junit = VALUE();
		} else if (!strcmp(a, "--sarif")) {
			o.sarif = VALUE();
		} else if (!strcmp(a, "--shard")) {
			const char *v = VALUE();
			char tail;
			if (sscanf(v, "%d/%d%c", &o.shard_k, &o.shard_n, &tail) != 2 || o.shard_n < 1 ||
			    o.shard_k < 1 || o.shard_k > o.shard_n)
				die_usage("explore: --shard '%s': expected K/N with 1 <= K <= N", v);
		} else if (!strcmp(a, "--keep")) {
			o.keep = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			o.quiet = 1;
		} else if (a[0] == '-') {
			die_usage("explore: unknown option '%s' (see allocfail explore --help)", a);
		} else {
			break;
		}
	}
	if (i >= argc)
		die_usage("explore: no command given (see allocfail explore --help)");
	ruleopts_check(&o.base);
	o.cmd = argv + i;
	o.ncmd = argc - i;
	o.path = find_command(argv[i]);
	if (!o.path)
		die_usage("explore: cannot run '%s': %s", argv[i], strerror(errno));
	if (o.isolate && o.path[0] != '/') {
		/* runs with --isolate start in another directory; not realpath():
		   a multi-call program tells its personality by its name */
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			die_usage("explore: cannot run '%s': the current directory: %s", argv[i],
				  strerror(errno));
		char *abs = xasprintf("%s/%s", cwd, o.path);
		free(o.path);
		o.path = abs;
	}
	check_preloadable("explore: ", argv[i], o.path);
	if (!find_shim())
		die_usage("explore: cannot find liballocfail.so (ALLOCFAIL_SHIM=PATH names it)");
	check_report_paths("explore", o.json, o.junit, o.sarif);
	if (o.fork && o.mode != MODE_FIRST)
		die_usage("explore: --fork works with --mode first only");
	if (o.fork && o.isolate)
		die_usage("explore: --fork and --isolate do not go together: the children of one "
			  "run share its working directory");
	/* the runs' logs, census and --fork's output copies: in memory unless
	   --isolate puts the program's own files there too */
	snprintf(o.tmp, sizeof o.tmp, "%s/allocfail-explore-XXXXXX", scratch_parent(!o.isolate));
	if (!mkdtemp(o.tmp)) {
		warnx_("explore: cannot create a temporary directory in %s: %s",
		       scratch_parent(!o.isolate), strerror(errno));
		return EXIT_INTERNAL;
	}
	/* absolute: the runs' logs are named in their environment, and
	   --isolate runs them in directories of their own */
	char abs_tmp[PATH_MAX];
	if (o.tmp[0] != '/' && realpath(o.tmp, abs_tmp))
		snprintf(o.tmp, sizeof o.tmp, "%s", abs_tmp);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	t_start = mono_now();
	rep.cmd = o.cmd;
	rep.ncmd = o.ncmd;
	rep.mode = (char *)mode_names[o.mode];
	rep.shard_k = o.shard_k ? o.shard_k : 1;
	rep.shard_n = o.shard_n ? o.shard_n : 1;
	rep.abort_is_bug = o.abort_is_bug;

	/* the reference run, twice; with --fork, the forking run is the
	   second when its output is the same (fork_driver) */
	struct runres ref[2];
	ref_timeout = o.timeout ? o.timeout : 300;
	for (int k = 0; k < (o.fork ? 1 : 2); k++) {
		int e = reference_run(k, &ref[k]);
		if (e)
			return e;
	}
	/* a --scope that names no module of the program is a mistake, not
	   "nothing to explore" */
	for (int i = 0; i < o.scope.n; i++) {
		const char *g = o.scope.v[i];
		int hit = 0;
		char seen[1024] = "";
		size_t len = 0;
		for (int k = 0; k < known.n && !hit; k++) {
			const char *m = known.v[k]->module, *base = strrchr(m, '/');
			base = base ? base + 1 : m;
			hit = af_glob(g, strchr(g, '/') ? m : base);
			if (!strstr(seen, base) && len + strlen(base) + 3 < sizeof seen)
				len += (size_t)snprintf(seen + len, sizeof seen - len, "%s%s", len ? ", " : "", base);
		}
		if (!hit) {
			rm_rf(o.tmp);
			die_usage("explore: --scope '%s' matches no module that allocates in the reference run "
				  "(those are: %s)", g, seen[0] ? seen : "none");
		}
	}
	ref_out_hash = ref[0].out_hash;
	ref_out_len = ref[0].out_len;
	if (!o.fork)
		rep.nondeterministic = outputs_differ(&ref[0], &ref[1]);
	/* --fork is not allowed with --isolate: both references ran */
	files_judged = o.isolate && !ref_tree_unread;
	if (files_judged)
		filetree_settle(&ref_tree[0], &ref_tree[1]);
	if (o.mode == MODE_FIRST) {
		/* one call site taking most allocations (an allocator wrapper, a
		   C runtime call): its first hit says little about the others */
		uint64_t total = 0;
		const struct site *top = NULL;
		for (int k = 0; k < known.n; k++) {
			const struct site *s = known.v[k];
			if (!in_scope(s->module, s->runtime))
				continue;
			total += s->calls;
			if (!top || s->calls > top->calls)
				top = s;
		}
		if (top && total >= 100 && top->calls * 2 > total)
			rep.hint = xasprintf("%s makes %llu of the %llu allocations in scope; only its first is "
					     "failed here (--mode every or --mode nth go further)",
					     top->key, (unsigned long long)top->calls,
					     (unsigned long long)total);
	}
	rep.ref_status = o.status;
	if (!o.timeout)
		o.timeout = ref_secs * 10 > 5 ? ref_secs * 10 : 5;
	runres_free(&ref[0]);
	if (!o.fork)
		runres_free(&ref[1]);

	/* the queue */
	if (o.mode == MODE_NTH) {
		long total = 0;
		for (int k = 0; k < known.n; k++)
			if (in_scope(known.v[k]->module, known.v[k]->runtime))
				total += (long)known.v[k]->calls;
		for (long n = 1; n <= total + 1; n++)
			if (!o.shard_n || n % o.shard_n == o.shard_k - 1)
				add_task(NULL, NULL, 0, 0, NULL, n, -1);
	} else {
		for (int k = 0; k < known.n; k++) {
			struct site *s = known.v[k];
			if (!in_scope(s->module, s->runtime) || excluded(s->key))
				continue;
			if (o.shard_n && (int)(fnv(s->key) % (uint64_t)o.shard_n) != o.shard_k - 1)
				continue;
			add_task(s->key, s->module, s->runtime, 0, NULL, 0, -1);
		}
	}

	if (o.fork) {
		fork_driver();
		if (!ref_confirmed) { /* the second reference run after all */
			int e = reference_run(1, &ref[1]);
			if (e)
				return e;
			rep.nondeterministic = outputs_differ(&ref[0], &ref[1]);
			runres_free(&ref[1]);
		}
	}

	pthread_t *th = xmalloc(sizeof *th * (size_t)o.jobs);
	for (int k = 0; k < o.jobs; k++)
		pthread_create(&th[k], NULL, worker, NULL);
	for (int k = 0; k < o.jobs; k++)
		pthread_join(th[k], NULL);
	if (!o.quiet && isatty(2))
		fputs("\r\033[K", stderr);

	rep.runs = runs_done + ref_runs;
	rep.secs = mono_now() - t_start;
	if (o.mode == MODE_NTH) {
		for (int k = next_task; k < ntasks; k++)
			if (nth_stop < 0 || tasks[k].nth < nth_stop)
				rep.budget_hit++;
	} else {
		rep.budget_hit = ntasks - next_task;
	}
	report_sort(&rep);
	int rc = write_reports(&rep, o.json, o.junit, o.sarif);
	if (o.keep)
		fprintf(stderr, "allocfail: the runs' logs are in %s\n", o.tmp);
	else
		rm_rf(o.tmp);
	if (stopping)
		warnx_("explore: interrupted; the report covers the runs that finished");
	if (internal_errors) {
		warnx_("explore: %d run%s could not be made (%s); the report is incomplete",
		       internal_errors, internal_errors == 1 ? "" : "s", internal_first);
		return EXIT_INTERNAL;
	}
	if (rc)
		return rc;
	return report_bugs(&rep) ? 1 : 0;
}
