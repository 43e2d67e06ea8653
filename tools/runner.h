/* runner.h - run a command as a child in its own process group, with a
   timeout, capturing stdout/stderr as hashes (and stderr's text, for
   sanitizer reports and messages). */
#ifndef AF_RUNNER_H
#define AF_RUNNER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Set (from a signal handler) to end every run at once: its process group
   is killed and the run marked interrupted. Waits never last longer than
   about 20 ms (the deadlock watch), so each run sees it soon. */
extern volatile sig_atomic_t runner_stop;

struct runspec {
	char *const *argv;
	char *const *env;
	const char *stdin_path; /* NULL: /dev/null */
	const char *cwd;        /* NULL: inherit */
	double timeout;         /* seconds; 0: none */
	int passthrough;        /* 1: stdout/stderr go to ours, not captured */
	const char *out_path, *err_path; /* stdout/stderr to these files
					    (explore --fork), read back after */
};

struct runres {
	int wstatus;
	int timed_out;   /* killed at the timeout, or when deadlocked */
	int deadlocked;  /* killed early: af_proc_deadlocked said so twice */
	int interrupted; /* killed because runner_stop was set */
	int exec_failed; /* errno of a failed exec, else 0 */
	uint64_t out_hash, err_hash;
	size_t out_len, err_len, err_cap;
	char *err; /* stderr text (up to 1 MiB), NUL-terminated */
	double secs;
	long pid;        /* the command's process (its group's leader) */
};

/* 0 when the child ran (whatever its status), -1 on an internal error. */
int run_child(const struct runspec *s, struct runres *r);
void runres_free(struct runres *r);
/* The output part of r (hashes, lengths, stderr's text) from files; a NULL
   path leaves that part as it is (reset). */
int runres_read_outputs(struct runres *r, const char *out_path, const char *err_path);

#endif
