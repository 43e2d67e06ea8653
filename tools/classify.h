/* classify.h - explore's judgement of one run: what failing an allocation
   did. A pure function of the facts a run left (gathered by explore_run.c
   from its status, output, log and census): no files, no globals, so that
   tests/unit/test_classify.c holds its rules as a table. allocfail(1)
   states each rule; the order of the checks below is theirs. */
#ifndef AF_CLASSIFY_H
#define AF_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

enum outcome {
	O_HANDLED,   /* reported: an exit status other than the normal one */
	O_ABORT,     /* a deliberate end: abort() or a trap after the process's message */
	O_ASSERT,    /* an assertion failed */
	O_CRASH,     /* a fatal signal, or glibc's heap or stack checks */
	O_HANG,      /* past the timeout, or deadlocked */
	O_WARNED,    /* the normal status and other output, after a new diagnostic */
	O_SILENT,    /* the normal status and other output, nothing said */
	O_SANITIZER, /* an ASan/UBSan/LSan/MSan/TSan report */
	O_UNREACHED, /* the run never reached the failure of interest */
	O_COUNT
};
extern const char *const outcome_names[O_COUNT];

/* Everything classify() looks at. Strings may be NULL where unknown. */
struct run_facts {
	int injected;          /* the failure of interest was injected */
	int nth_mode;          /* --mode nth: "no such allocation" when not */
	int timed_out, deadlocked;
	double timeout;        /* seconds, for the detail */

	/* the command's top process */
	int exited, status;    /* exited normally with status, or */
	int signo;             /* killed by signo */
	int normal_status;     /* --status */
	int out_same;          /* stdout as the reference's */
	size_t out_len, ref_out_len;
	uint64_t out_hash;
	int nondeterministic;  /* the reference's stdout changes run to run */
	const char *files;     /* --isolate: how the files left differ, or NULL */

	/* stderr: the command's, what came after the injection (NULL: not
	   known apart), the part of that written until the process that took
	   the failure exited (NULL: not known), and the reference run's */
	const char *err, *err_after, *err_proc, *ref_err;

	/* the process that took the failure, when it said how it ended
	   (ALLOCFAIL_LOG's "exit" event) and is not the top process */
	int proc_known;
	const char *proc_name;
	long proc_pid;
	int proc_status;

	/* a crash event of the shim's (any process of the command) */
	int crashed, crash_signo, overflow;
	const char *crash_where; /* the crash site, for people */
	const char *crash_top;   /* the innermost frame when it lies below the
				    crash site (in the C runtime), or NULL */
	int top_in_alloc;        /* that frame is in the shim (the allocator) */
	int top_in_unwinder;     /* ... in libunwind, under the shim's walk */
};

struct verdict {
	int outcome;
	char *detail;    /* malloc'ed */
	char *signature; /* silent, warned, sanitizer: what tells two such
			    runs apart (malloc'ed; digits folded), else NULL */
};

void classify(const struct run_facts *f, struct verdict *v);

/* A sanitizer's report in err: its summary line, or NULL; *fatal when it
   reports a fatal signal (ASan catches SEGV itself) rather than a memory
   error. */
const char *sanitizer_line(const char *err, int *fatal);
/* The first line of err that is the program's (not allocfail's, not a
   sanitizer's), at most 200 bytes, malloc'ed; NULL if none. */
char *message_of(const char *err);
/* "SIGSEGV" */
const char *signame(int sig, char *buf, size_t cap);

#endif
