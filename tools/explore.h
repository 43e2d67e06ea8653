/* explore.h - the results of `allocfail explore`, shared with `merge`:
   what happened when each call site was failed, and the findings, with
   writers for people (a table) and for CI (JSON, JUnit, SARIF). */
#ifndef AF_EXPLORE_H
#define AF_EXPLORE_H

#include <stdint.h>
#include <stdio.h>

enum outcome {
	O_HANDLED,   /* exit != 0 with a message, or output as in the reference */
	O_ABORT,     /* SIGABRT: a deliberate xmalloc-style abort */
	O_CRASH,     /* SIGSEGV, SIGBUS, SIGILL, SIGFPE (or another fatal signal) */
	O_HANG,      /* past the timeout */
	O_SILENT,    /* exit 0 but stdout differs: data lost without an error */
	O_SANITIZER, /* an ASan/UBSan/LSan report */
	O_UNREACHED, /* the failure run never reached the site */
	O_COUNT
};
extern const char *const outcome_names[O_COUNT];

struct frame {
	char *pc;     /* module+0xoffset */
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
};

/* A bug (or an abort), deduplicated by (injection site, crash site). */
struct finding {
	int cls;
	char *inj_site, *crash_site; /* crash_site: NULL when there is none */
	struct stackv inj, crash;
	char *detail;
	char *reproducer;
	int count; /* runs that produced it */
};

struct report {
	char **cmd;
	int ncmd;
	char *mode;
	int shard_k, shard_n;
	int abort_is_bug;
	int ref_status;
	struct siteres *sites;
	int nsites, capsites;
	struct finding *f;
	int nf, capf;
	long runs;
	double secs;
	int budget_hit;  /* sites left unexplored */
	int forked;      /* sites done by --fork's children, not runs of their own */
	char *hint;      /* a note for the table (not in the JSON), or NULL */
	int nondeterministic; /* the reference output changes between runs */
	int *shards_read;     /* merge: the K of each report read */
	int nshards_read, shard_n_read;
};

int outcome_is_bug(const struct report *r, int cls);
/* Rank for "worst first". */
int outcome_rank(int cls);
struct finding *report_add_finding(struct report *r, int cls, const char *inj, const char *crash);
struct siteres *report_add_site(struct report *r, const char *site);
void report_sort(struct report *r);
int report_bugs(const struct report *r);

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

/* 'single-quoted' for a shell. */
char *shell_quote(const char *s);

#endif
