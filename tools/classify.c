/* classify.c - explore's judgement of one run (see classify.h). */
#define _GNU_SOURCE
#include "classify.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "af_tool.h"

const char *const outcome_names[O_COUNT] = {"handled", "abort",  "assert",    "crash",    "hang",
					    "warned",  "silent", "sanitizer", "unreached"};

const char *sanitizer_line(const char *err, int *fatal)
{
	static const char *const marks[] = {"ERROR: AddressSanitizer: ", "ERROR: LeakSanitizer: ",
					    "ERROR: MemorySanitizer: ", "WARNING: ThreadSanitizer: ",
					    "ERROR: UndefinedBehaviorSanitizer: ", "runtime error: "};
	static const char *const signals[] = {"SEGV", "stack-overflow", "BUS", "FPE", "ILL"};
	*fatal = 0;
	for (size_t i = 0; err && i < sizeof marks / sizeof *marks; i++) {
		const char *p = strstr(err, marks[i]);
		if (!p)
			continue;
		const char *kind = p + strlen(marks[i]);
		for (size_t k = 0; i == 0 && k < sizeof signals / sizeof *signals; k++)
			if (!strncmp(kind, signals[k], strlen(signals[k])))
				*fatal = 1;
		const char *summary = strstr(err, "SUMMARY: ");
		return summary ? summary + 9 : p;
	}
	return NULL;
}

static char *first_line(const char *s)
{
	size_t n = strcspn(s, "\n");
	if (n > 200)
		n = 200;
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* A line of the program's own: not allocfail's, not a sanitizer's
   ("==pid==" banners, indented frames), not empty. */
static int own_line(const char *p)
{
	return strncmp(p, "allocfail:", 10) != 0 && p[0] != '=' && p[0] != '\n' && p[0] != ' ' &&
	       p[0] != 0;
}

/* The line at p appears as a whole line of text. */
static int has_line(const char *text, const char *p)
{
	size_t n = strcspn(p, "\n");
	for (const char *t = text; t && *t;) {
		size_t m = strcspn(t, "\n");
		if (m == n && !memcmp(t, p, n))
			return 1;
		t = t[m] ? t + m + 1 : NULL;
	}
	return 0;
}

/* The first own line of err that ref (if not NULL) does not have. */
static char *new_message(const char *err, const char *ref)
{
	for (const char *p = err; p && *p;) {
		const char *nl = strchr(p, '\n');
		if (own_line(p) && !(ref && has_line(ref, p)))
			return first_line(p);
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

char *message_of(const char *err)
{
	return new_message(err, NULL);
}

const char *signame(int sig, char *buf, size_t cap)
{
	const char *n = sigabbrev_np(sig);
	snprintf(buf, cap, "SIG%s", n ? n : "?");
	return buf;
}

/* The line of an assertion that failed: glibc's and musl's assert(),
   GLib's g_assert, C++ runtimes' (all say "Assertion" or "assertion
   failed"). */
static const char *assertion(const char *err)
{
	static const char *const marks[] = {"Assertion `", "Assertion failed", "assertion failed"};
	for (size_t i = 0; err && i < sizeof marks / sizeof *marks; i++) {
		const char *p = strstr(err, marks[i]);
		if (p) {
			while (p > err && p[-1] != '\n')
				p--;
			return p;
		}
	}
	return NULL;
}

/* glibc's own reasons to abort: a corrupted heap, a smashed stack, a
   fortified buffer overflow. These are crashes that glibc caught. (Not
   "Fatal glibc error:", which glibc also says when it ends the process on
   purpose at out of memory.) */
static const char *glibc_fatal(const char *err)
{
	static const char *const marks[] = {
	    "free(): ",	   "malloc(): ",	"realloc(): ",		     "double free or corruption",
	    "munmap_chunk(): ", "malloc_consolidate(): ", "corrupted size vs. prev_size", "*** stack smashing detected",
	    "*** buffer overflow detected"};
	for (const char *p = err; p && *p;) {
		for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
			if (!strncmp(p, marks[i], strlen(marks[i])))
				return p;
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static char *crash_detail(const struct run_facts *f, int sig)
{
	char sb[32];
	const char *sn = signame(sig, sb, sizeof sb);
	const char *w = f->crash_where, *top = f->crash_top;
	if (f->overflow && top && !f->top_in_alloc && !f->top_in_unwinder)
		return xasprintf("stack overflow (%s) in %s, called from %s", sn, top, w ? w : "?");
	if (f->overflow) /* perhaps in the shim's walk of it: the program's own */
		return xasprintf("stack overflow (%s)%s%s%s", sn, w ? " in " : "", w ? w : "",
				 top ? " (the last frames were allocfail's walk of the stack)" : "");
	if (top && f->top_in_alloc) /* the program's bad free or realloc, as a rule */
		return xasprintf("%s inside the allocator (%s), called from %s: a double or invalid "
				 "free? (--backend next lets glibc check it)",
				 sn, top, w ? w : "?");
	if (top)
		return xasprintf("%s in %s, called from %s", sn, top, w ? w : "?");
	return xasprintf("%s%s%s", sn, w ? " in " : "", w ? w : "");
}

/* s with each run of digits folded to '#', at most 120 bytes: a message
   that names a size or a line number is the same message. */
static char *fold_digits(const char *s)
{
	size_t n = strcspn(s, "\n");
	char *d = xmalloc(n + 1), *o = d;
	for (size_t i = 0; i < n && o - d < 120; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (o == d || o[-1] != '#')
				*o++ = '#';
		} else {
			*o++ = s[i];
		}
	}
	*o = 0;
	return d;
}

/* Ended by a signal (or a sanitizer's report of one). */
static void judge_signal(const struct run_facts *f, int san_fatal, const char *san, struct verdict *v)
{
	int sig = f->crashed ? f->crash_signo : f->signo ? f->signo : SIGSEGV;
	const char *said = f->err_after ? f->err_after : f->err;
	char sb[32];
	const char *as = NULL, *gf = NULL;
	char *m = NULL;
	if (sig == SIGPIPE && !san_fatal) {
		/* it wrote to a pipe whose reader had gone: a process of the
		   command that stopped, for one after it reported the failure */
		v->outcome = O_HANDLED;
		char *said_m = message_of(said);
		v->detail = said_m ? xasprintf("SIGPIPE (a process it wrote to had gone) after: %s", said_m)
				   : xstrdup("SIGPIPE (a process it wrote to had gone)");
		free(said_m);
	} else if (san_fatal) {
		v->outcome = O_CRASH;
		v->detail = first_line(san);
	} else if ((sig == SIGABRT || sig == SIGTRAP) && (as = assertion(said))) {
		v->outcome = O_ASSERT;
		char *l = first_line(as);
		v->detail = xasprintf("%s: %s", signame(sig, sb, sizeof sb), l);
		v->signature = fold_digits(as);
		free(l);
	} else if (sig == SIGABRT && (gf = glibc_fatal(said))) {
		v->outcome = O_CRASH;
		char *l = first_line(gf);
		char *w = crash_detail(f, sig);
		v->detail = xasprintf("%s; glibc: %s", w, l);
		free(w);
		free(l);
	} else if (sig == SIGABRT || (sig == SIGTRAP && (m = new_message(said, f->ref_err)))) {
		/* a deliberate end: xmalloc's abort(), an uncaught bad_alloc
		   (terminate), g_error's trap after its message */
		if (!m)
			m = new_message(said, f->ref_err);
		v->outcome = O_ABORT;
		v->signature = m ? fold_digits(m) : NULL;
		v->detail = xasprintf("%s %s%s%s%s", signame(sig, sb, sizeof sb),
				      m ? "after: " : "without a message",
				      m ? m : "", f->crash_where ? " in " : "",
				      f->crash_where ? f->crash_where : "");
	} else {
		v->outcome = O_CRASH;
		v->detail = crash_detail(f, sig);
	}
	free(m);
}

/* The normal exit status, but other output or other files. */
static void judge_loss(const struct run_facts *f, const char *what, struct verdict *v)
{
	char *m = new_message(f->err_after ? f->err_after : f->err, f->ref_err);
	v->outcome = m ? O_WARNED : O_SILENT;
	v->detail = m ? xasprintf("%s, after the message: %s", what, m) : xasprintf("%s", what);
	if (m)
		v->signature = fold_digits(m);
	else if (f->files)
		v->signature = fold_digits(f->files);
	else
		v->signature = xasprintf("stdout:%zu:%016llx", f->out_len, (unsigned long long)f->out_hash);
	free(m);
}

void classify(const struct run_facts *f, struct verdict *v)
{
	int san_fatal;
	const char *san = sanitizer_line(f->err, &san_fatal);
	v->detail = v->signature = NULL;
	if (!f->injected) {
		v->outcome = O_UNREACHED;
		v->detail = xstrdup(f->nth_mode ? "no such allocation in the run"
						: "the run did not reach this call site");
	} else if (f->timed_out && f->deadlocked) {
		v->outcome = O_HANG;
		v->detail = xstrdup("deadlocked: its one thread waits for good on a lock (a futex wait "
				    "without a timeout, no signal handler to end it); the process group "
				    "was killed");
	} else if (f->timed_out) {
		v->outcome = O_HANG;
		v->detail = xasprintf("no exit after %g s; the process group was killed", f->timeout);
	} else if (san && !san_fatal) {
		v->outcome = O_SANITIZER;
		v->detail = first_line(san);
		v->signature = fold_digits(san);
	} else if (f->crashed || !f->exited || san_fatal) {
		judge_signal(f, san_fatal, san, v);
	} else if (f->proc_known && f->proc_status != 0) {
		/* a process of the command said it failed; what its parent made
		   of that is the parent's business */
		v->outcome = O_HANDLED;
		const char *said = f->err_proc ? f->err_proc : f->err_after ? f->err_after : f->err;
		char *m = message_of(said);
		/* what the command then made of it: a shell pipeline goes on by
		   design, a program that drops its helper's failure does not;
		   nothing in a run tells them apart, so it is said, not judged */
		const char *then = f->status == f->normal_status && (!f->out_same || f->files) &&
					   !f->nondeterministic
				       ? "; the command then exited normally with other output"
				       : "";
		v->detail = m ? xasprintf("%s (pid %ld) exit %d: %s%s", f->proc_name ? f->proc_name : "?",
					  f->proc_pid, f->proc_status, m, then)
			      : xasprintf("%s (pid %ld) exit %d without a message%s",
					  f->proc_name ? f->proc_name : "?", f->proc_pid, f->proc_status, then);
		free(m);
	} else if (f->status == f->normal_status) {
		int st = f->status;
		char *what = NULL;
		if ((f->out_same || f->nondeterministic) && f->files)
			what = xasprintf("exit %d%s, but the files it left differ: %s", st,
					 f->out_same ? " with the reference output" : "", f->files);
		else if (!f->out_same && !f->nondeterministic)
			what = xasprintf("exit %d, but stdout differs from the reference (%zu bytes, not %zu)",
					 st, f->out_len, f->ref_out_len);
		if (what) {
			judge_loss(f, what, v);
			free(what);
		} else {
			v->outcome = O_HANDLED;
			v->detail = f->out_same ? xasprintf("exit %d with the reference output", st)
						: xasprintf("exit %d (the output is not compared: it "
							    "changes between clean runs)",
							    st);
		}
	} else if (f->status == 0) {
		/* --status N, N > 0: success is not the command's normal result
		   (diff: "no differences"), so claiming it is a wrong answer */
		char *what = xasprintf("exit 0, where the reference exits %d", f->normal_status);
		judge_loss(f, what, v);
		free(what);
	} else {
		v->outcome = O_HANDLED;
		char *m = message_of(f->err_after ? f->err_after : f->err);
		v->detail = m ? xasprintf("exit %d: %s", f->status, m)
			      : xasprintf("exit %d without a message", f->status);
		free(m);
	}
}
