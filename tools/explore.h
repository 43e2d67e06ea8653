/* explore.h - the results of `allocfail explore`, shared with `merge`:
   what happened when each call site was failed, the findings, and the
   findings grouped by root cause, with writers for people (a table) and
   for CI (JSON, JUnit, SARIF). report.c groups and ranks; report_*.c
   write and read. */
#ifndef AF_EXPLORE_H
#define AF_EXPLORE_H

#include <stdint.h>
#include <stdio.h>

#include "af_tool.h"
#include "classify.h"

struct frame {
	char *pc;     /* module+0xoffset (the JSON's "site" and "pc") */
	char *module; /* path */
	char *func;
	char *file;
	int line;
};

struct stackv {
	int n;
	struct frame *f;
};

/* A call site and what failing it did. */
struct siteres {
	char *site, *module, *func, *file;
	int line;
	int runtime;
	int depth;     /* 0: reached by the reference run; k: under k failures */
	char **chain;  /* sites failed first to reach this one (depth of them) */
	int outcome;
	int status;    /* exit status as a shell reports it; -1: timed out */
	char *detail;
	char *reproducer;
	double secs;
	char *test;    /* explore --tests: the test it was explored in */
	long order;    /* where the reference run reached it (its task's, or
			  for a calling context its call site's, place in the
			  queue); -1: found by other runs, whose order depends
			  on when they ended */
};

/* An outcome other than handled at one injection site (and crash site). */
struct finding {
	int cls;
	char *inj_site, *crash_site; /* crash_site: NULL when there is none */
	struct stackv inj, crash;
	char *detail;
	char *reproducer;
	char *proc;      /* "NAME (pid N)": the process that took the failure, when
			    not the command's own */
	char *signature; /* what tells two silent or warned runs apart */
	int depth;
	char *parent;    /* the site failed first to reach this one (depth > 0) */
	int count;       /* runs that produced it */
	int group;       /* index in report.g (report_group) */
	char *test;      /* explore --tests: the test that showed it */
	int unconfirmed; /* --tests: its reproducer, run alone, ended otherwise */
};

/* explore --tests: one test of the suite. */
struct testres {
	char *name;
	char *note;     /* why it was not explored, or NULL */
	int sites;      /* call sites failed */
	int skipped;    /* sites in scope skipped: shown a bug in (or, --once,
			   explored by) an earlier test */
	long runs;
	double secs;
	double timeout; /* per run, from its reference run */
};

/* Findings of one root cause: the unit a maintainer acts on, and the
   unit of SARIF, JUnit and baselines. */
struct group {
	char *key;    /* survives a rebuild: class and function names */
	int cls;      /* the worst of its findings */
	int *fi;      /* its findings, the first the representative */
	int n;
	int sites;    /* distinct injection sites */
	int library;  /* injected outside the program's own executable */
	int known;    /* in the baseline */
};

/* Calling contexts of one site explored at most. */
#define CONTEXTS_MAX 64

/* Why a key (a call site, or allocation k in --mode nth) offered to a
   forking run got a run of its own instead of a forked child. */
enum {
	NF_THREADS,    /* reached with more than one thread */
	NF_RUNTIME,    /* reached inside the C runtime */
	NF_SUBPROCESS, /* reached in a process the command started, or a vfork child */
	NF_EXEC,       /* forked in two images of the command's process (an exec) */
	NF_SIGCHLD,    /* the program handles SIGCHLD */
	NF_OUTPUT,     /* stdout or stderr was not a file there */
	NF_BUDGET,     /* reached after the budget ran out */
	NF_UNREACHED,  /* the forking run did not reach it */
	NF_RUN,        /* the forking run did not behave as the reference did */
	NF_SETUP,      /* the child could not be set up or read */
	NF_UNHANDLED,  /* forked, not handled: confirmed by a run of its own */
	NF_COUNT
};
extern const char *const not_forked_names[NF_COUNT];

struct report {
	char **cmd;
	int ncmd;
	char *program; /* the executable's path, as the log names modules */
	char *mode;
	int shard_k, shard_n;
	int abort_is_bug;
	int ref_status;
	struct siteres *sites;
	int nsites, capsites;
	struct finding *f;
	int nf, capf;
	struct group *g;
	int ng;
	long runs;
	double secs;
	int budget_hit;  /* sites left unexplored */
	int forked;      /* sites done by forked children, not runs of their own */
	int not_forked[NF_COUNT]; /* keys offered to forking runs, by why not */
	char *fork_why;  /* NF_RUN: how the forking run differed, or NULL */
	/* calling contexts (--context): of the sites reached from several
	   callers, the contexts found, those explored, those not explored
	   because the site's own code ends the process on failure (an
	   xmalloc: every context would end alike), and those over the cap */
	int wrappers, contexts_found, contexts_explored, contexts_kept, contexts_cut;
	int contexts_forked; /* of those explored, decided by forked children
				(counted in forked too) */
	char *hint;      /* a note for the table (not in the JSON), or NULL */
	int nondeterministic; /* the reference output changes between runs */
	int *shards_read;     /* merge: the K of each report read */
	int nshards_read, shard_n_read;
	/* --baseline: the keys of accepted groups */
	struct strv baseline;
	int has_baseline;
	int stacks; /* --stacks N: frames of the injection stack in the table */
	double timeout; /* per run (seconds): --timeout, or from the reference */
	int excluded;   /* sites in scope skipped by --exclude */
	/* explore --tests: the tests, and their executables (findings
	   elsewhere are the library's, not the tests' own code) */
	struct testres *tests;
	int ntests;
	int once; /* --once */
	struct strv programs;
};

int outcome_is_bug(const struct report *r, int cls);
/* Rank for "worst first". */
int outcome_rank(int cls);
/* Two strings that may be NULL are the same (both NULL, or equal). */
int same_opt(const char *a, const char *b);
struct finding *report_add_finding(struct report *r, int cls, const char *inj, const char *crash);
struct siteres *report_add_site(struct report *r, const char *site);
struct testres *report_add_test(struct report *r, const char *name);
/* Groups the findings (report.g) and sorts them worst first, the
   program's own before libraries. */
void report_group(struct report *r);
/* 1 when g's k-th finding is the first of its injection site in g. */
int group_first_of_site(const struct report *r, const struct group *g, int k);
/* Groups that are bugs and not in the baseline. */
int report_bugs(const struct report *r);
/* Reads a baseline: an explore JSON report, or one group key a line
   (# comments); 0, or -1 with err set. */
int report_read_baseline(struct report *r, const char *path, char *err, size_t errcap);
int write_baseline(const char *path, const struct report *r);

void write_table(FILE *f, const struct report *r);
int write_json(const char *path, const struct report *r);
int write_junit(const char *path, const struct report *r);
int write_sarif(const char *path, const struct report *r);
/* The table (on stdout, or on stderr when a report goes to stdout: '-'),
   then the reports asked for; 0, or EXIT_INTERNAL when one could not be
   written. */
int write_reports(const struct report *r, const char *json, const char *junit, const char *sarif);
/* Usage check before any work: at most one report on stdout, and each
   file can be created. Dies with status 2 otherwise. */
void check_report_paths(const char *cmd, const char *json, const char *junit, const char *sarif);
/* Reads a report written by write_json and merges it into r. */
int read_json(const char *path, struct report *r, char *err, size_t errcap);

/* How the keys offered to forking runs went, said for people (the
   table's note and the JSON's "fork_note"); NULL when none was. */
char *fork_note(const struct report *r);

/* Shared by the writers. */
const char *outcome_text(int cls);
const char *frame_where(const struct stackv *st, int i, char *buf, size_t cap);
/* The finding's injection site for people; for a calling context, the
   call site's function and the place of the outermost caller it names
   ("grow < parse_item (x.c:12)"). */
const char *finding_where(const struct finding *f, char *buf, size_t cap);
FILE *report_open(const char *path);
int report_close(FILE *f, const char *path);

/* 'single-quoted' for a shell. */
char *shell_quote(const char *s);

#endif
