/* explore_int.h - the parts of `allocfail explore`, sharing one context:
   cmd_explore.c (options, reference runs, the whole), explore_run.c (one
   run: its rules, its facts, its verdict), explore_queue.c (the queue,
   the workers, recording results), explore_fork.c (--fork's forking
   runs). Judgement is classify.c's; reports are report*.c's. */
#ifndef AF_EXPLORE_INT_H
#define AF_EXPLORE_INT_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "af_tool.h"
#include "census.h"
#include "explore.h"
#include "filetree.h"
#include "json.h"
#include "runner.h"

enum { MODE_FIRST, MODE_EVERY, MODE_NTH };
/* --mode's words, as ALLOCFAIL_FORK and the report say them too */
extern const char *const mode_names[];

struct explore_opts {
	int mode, jobs, isolate, abort_is_bug, max_depth, quiet, keep, stacks;
	int context; /* --context N: frames of calling context (0: plain sites) */
	int fork; /* forking runs first (the default); --no-fork, --isolate: not */
	int status; /* --status: the command's normal exit status */
	int scope_optional; /* a --scope matching nothing is not an error */
	double timeout, budget_secs;
	long budget_runs;
	const char *stdin_path, *backend, *json, *junit, *sarif, *baseline, *write_baseline;
	int shard_k, shard_n;
	struct strv scope, exclude;
	struct strv wrappers, not_wrappers; /* --wrapper, --not-wrapper globs */
	struct ruleopts base;
	char **cmd;
	int ncmd;
	char *path; /* the command, resolved */
	char tmp[PATH_MAX];
};

/* A failure to make: a call site (its first hit, or every hit), under the
   failures that reach it; or, in nth mode, the nth allocation. */
struct task {
	char *site, *module;
	int runtime;
	int depth;
	char **chain; /* sites failed before this one, root first */
	long nth;     /* MODE_NTH */
	int root;     /* index of the depth-0 ancestor (shard key) */
	int forked;   /* done by a forked child of a forking run */
};

/* A site a run reached that no run had reached before. */
struct newsite {
	char *key, *module;
	int runtime;
};

/* What one run did. */
struct result {
	struct verdict v;
	int status;
	struct jv *inj;   /* the inject event */
	struct jv *crash; /* the crash event */
	char *crash_site;
	char *proc;       /* the process that took it, when not the top one */
	struct newsite *nv;
	int nnew;
	double secs;
	int interrupted; /* the run was cut short by an interrupt: not a result */
	int end_known;   /* the process that took the failure said where it
			    ended: its crash's or its exit()'s stack */
	int kept_at;     /* the first k >= 1 whose return address above the
			    call site (of the injection's stack) was still on
			    that stack, 0 if none: the failure had not come back
			    out of the function below it */
	char *context;   /* the injection's call site and the frames above it,
			    "SITE<RA<RA..." (--context frames) */
	char *internal;  /* the run could not be made: why */
};

struct explore {
	struct explore_opts o;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct task *tasks;
	int ntasks, captasks, next_task, inflight;
	int task_end; /* the workers take the tasks before it only; -1: all */
	long runs_done;
	double t_start;
	struct report rep;
	struct census known; /* every site ever seen */
	/* the reference run */
	uint64_t ref_out_hash;
	size_t ref_out_len;
	char *ref_err;
	double ref_secs, ref_timeout;
	int ref_runs;
	int ref_confirmed; /* a forking run behaved as the reference */
	/* --isolate: what the reference runs left in their directories */
	struct filetree ref_tree[2];
	int ref_tree_unread; /* one of them could not be read */
	int files_judged;    /* both read: runs' files are compared */
	long nth_stop;       /* MODE_NTH: first n that injected nothing */
	int internal_errors; /* runs that could not be made (explore exits 125) */
	char *internal_first;
};

/* The signal that interrupted explore, or 0. */
extern volatile sig_atomic_t explore_stopping;

/* explore_run.c */
int explore_in_scope(const struct explore *x, const char *module, int runtime);
int explore_excluded(const struct explore *x, const char *site);
char **explore_argv(const struct explore *x);
/* The rules that make t's failure (exclusions first). */
void explore_task_rules(const struct explore *x, const struct task *t, struct strv *rules);
struct strv explore_run_env(struct explore *x, const struct strv *rules, const char *log,
			    const char *cen, const char *fork);
void explore_run_task(struct explore *x, const struct task *t, int id, struct result *res);
/* The facts of a finished run, judged: from its status and outputs (rr),
   log and census files, and how its files differ (or NULL). */
void explore_judge(struct explore *x, const struct task *t, struct result *res,
		   const struct runres *rr, const char *files, const char *log, const char *cen);
char *explore_reproducer(const struct explore *x, const struct task *t, int outcome);
/* The call site's frame in a stack array of the log: the first it does
   not mark as C runtime (stack->n when it marks them all). */
int explore_call_site(const struct jv *stack);
void explore_stack(const struct jv *a, struct stackv *st, int crash, int skip_runtime);
void result_free(struct result *r);
void rm_rf(const char *dir);

/* explore_queue.c */
void explore_add_task(struct explore *x, const char *site, const char *module, int runtime,
		      int depth, char **chain, long nth, int root);
/* Records one result (mu held). */
void explore_record(struct explore *x, const struct task *t, struct result *res);
void explore_workers(struct explore *x);

/* explore_tests.c: --tests SOURCE, a whole test suite */
int explore_tests_wanted(int argc, char **argv);
int explore_tests(int argc, char **argv);

/* explore_fork.c: the forking runs, before the runs of their own, for
   the depth-0 tasks from index from on that no child has decided (call
   sites, calling contexts or allocations); name: their directories' */
void explore_fork(struct explore *x, int from, const char *name);

#endif
