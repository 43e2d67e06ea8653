/* test_classify.c - explore's classifier as a table: one case per rule of
   allocfail(1)'s CLASSES, each a run's facts and the outcome and detail
   they must give. */
#include <signal.h>

#include "classify.h"
#include "harness.h"

struct tcase {
	const char *name;
	struct run_facts f;
	int outcome;
	const char *detail; /* a prefix of the detail */
	const char *signature; /* exact, or NULL for none */
};

/* the top process exited 0, as the reference did, with its output */
#define CLEAN .injected = 1, .exited = 1, .out_same = 1, .out_len = 10, .ref_out_len = 10, .err = ""

static const struct tcase cases[] = {
    {"not reached", {.injected = 0, .exited = 1, .err = ""}, O_UNREACHED,
     "the run did not reach this call site", NULL},
    {"nth: no such allocation", {.injected = 0, .nth_mode = 1, .exited = 1, .err = ""}, O_UNREACHED,
     "no such allocation in the run", NULL},
    {"deadlocked", {CLEAN, .exited = 0, .timed_out = 1, .deadlocked = 1}, O_HANG, "deadlocked: ", NULL},
    {"timed out", {CLEAN, .exited = 0, .timed_out = 1, .timeout = 5}, O_HANG,
     "no exit after 5 s; the process group was killed", NULL},
    {"sanitizer report", {CLEAN, .exited = 1, .status = 1,
      .err = "==1==ERROR: LeakSanitizer: detected memory leaks\nSUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).\n"},
     O_SANITIZER, "AddressSanitizer: 24 byte(s) leaked", "AddressSanitizer: # byte(s) leaked in # allocation(s)."},
    {"sanitizer's SEGV is a crash", {CLEAN, .exited = 1, .status = 1,
      .err = "==1==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000000\nSUMMARY: AddressSanitizer: SEGV x.c:3 in f\n"},
     O_CRASH, "AddressSanitizer: SEGV x.c:3 in f", NULL},
    {"assert()", {CLEAN, .exited = 0, .signo = SIGABRT, .crashed = 1, .crash_signo = SIGABRT,
      .err = "prog: x.c:12: checked: Assertion `p != NULL' failed.\n"},
     O_ASSERT, "SIGABRT: prog: x.c:12: checked: Assertion `p != NULL' failed.",
     "prog: x.c:#: checked: Assertion `p != NULL' failed."},
    {"an assertion after the process that took the failure exited", {CLEAN, .exited = 0,
      .signo = SIGABRT, .proc_known = 1, .proc_name = "m4", .proc_pid = 9, .proc_status = 1,
      .err = "m4: memory exhausted\nbison: x.c:3: f: Assertion `loc' failed.\n",
      .err_after = "m4: memory exhausted\nbison: x.c:3: f: Assertion `loc' failed.\n",
      .err_proc = "m4: memory exhausted\n"},
     O_ASSERT, "SIGABRT: bison: x.c:3: f: Assertion `loc' failed.", "bison: x.c:#: f: Assertion `loc' failed."},
    {"g_assert", {CLEAN, .exited = 0, .signo = SIGABRT,
      .err = "**\nERROR:x.c:12:f: assertion failed: (p != NULL)\n"},
     O_ASSERT, "SIGABRT: ERROR:x.c:12:f: assertion failed", "ERROR:x.c:#:f: assertion failed: (p != NULL)"},
    {"glibc's heap check is a crash", {CLEAN, .exited = 0, .signo = SIGABRT, .crashed = 1,
      .crash_signo = SIGABRT, .crash_where = "f (x.c:3)", .err = "free(): double free detected in tcache 2\n"},
     O_CRASH, "SIGABRT in f (x.c:3); glibc: free(): double free detected", NULL},
    {"abort after a message", {CLEAN, .exited = 0, .signo = SIGABRT, .crashed = 1, .crash_signo = SIGABRT,
      .crash_where = "xmalloc (x.c:9)", .err = "prog: out of memory\n"},
     O_ABORT, "SIGABRT after: prog: out of memory in xmalloc (x.c:9)", "prog: out of memory"},
    {"glibc ends the process on purpose at out of memory", {CLEAN, .exited = 0, .signo = SIGABRT,
      .err = "Fatal glibc error: failed to register TLS destructor: out of memory\n"},
     O_ABORT, "SIGABRT after: Fatal glibc error: failed to register TLS destructor",
     "Fatal glibc error: failed to register TLS destructor: out of memory"},
    {"abort without a message", {CLEAN, .exited = 0, .signo = SIGABRT, .err = ""}, O_ABORT,
     "SIGABRT without a message", NULL},
    {"uncaught bad_alloc", {CLEAN, .exited = 0, .signo = SIGABRT,
      .err = "terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc\n"},
     O_ABORT, "SIGABRT after: terminate called after throwing an instance of 'std::bad_alloc'",
     "terminate called after throwing an instance of 'std::bad_alloc'"},
    {"g_error's trap after its message", {CLEAN, .exited = 0, .signo = SIGTRAP,
      .err = "\n(prog:42): GLib-ERROR **: 10:00:00.000: failed to allocate 24 bytes\n"},
     O_ABORT, "SIGTRAP after: (prog:42): GLib-ERROR **",
     "(prog:#): GLib-ERROR **: #:#:#.#: failed to allocate # bytes"},
    {"a trap without a message", {CLEAN, .exited = 0, .signo = SIGTRAP, .err = ""}, O_CRASH, "SIGTRAP",
     NULL},
    {"SIGPIPE after its reader reported the failure and went", {CLEAN, .exited = 0, .signo = SIGPIPE,
      .proc_known = 1, .proc_name = "m4", .proc_pid = 5, .proc_status = 1,
      .err = "m4: memory exhausted\n", .err_after = "m4: memory exhausted\n"},
     O_HANDLED, "SIGPIPE (a process it wrote to had gone) after: m4: memory exhausted", NULL},
    {"a trap whose message the reference printed too", {CLEAN, .exited = 0, .signo = SIGTRAP,
      .err = "prog: starting\n", .ref_err = "prog: starting\n"}, O_CRASH, "SIGTRAP", NULL},
    {"SIGSEGV at the crash site", {CLEAN, .exited = 0, .signo = SIGSEGV, .crashed = 1,
      .crash_signo = SIGSEGV, .crash_where = "parse (x.c:56)"},
     O_CRASH, "SIGSEGV in parse (x.c:56)", NULL},
    {"SIGSEGV in the C runtime", {CLEAN, .exited = 0, .signo = SIGSEGV, .crashed = 1,
      .crash_signo = SIGSEGV, .crash_where = "parse (x.c:56)", .crash_top = "strlen"},
     O_CRASH, "SIGSEGV in strlen, called from parse (x.c:56)", NULL},
    {"inside the allocator", {CLEAN, .exited = 0, .signo = SIGSEGV, .crashed = 1,
      .crash_signo = SIGSEGV, .crash_where = "f (x.c:5)", .crash_top = "je_free", .top_in_alloc = 1},
     O_CRASH, "SIGSEGV inside the allocator (je_free), called from f (x.c:5): a double or invalid free?",
     NULL},
    {"stack overflow", {CLEAN, .exited = 0, .signo = SIGSEGV, .crashed = 1, .crash_signo = SIGSEGV,
      .overflow = 1, .crash_where = "recurse (x.c:7)", .crash_top = "alloc_more"},
     O_CRASH, "stack overflow (SIGSEGV) in alloc_more, called from recurse (x.c:7)", NULL},
    {"a crash in a child process, the command exits 0", {CLEAN, .crashed = 1, .crash_signo = SIGSEGV,
      .crash_where = "g (y.c:1)"}, O_CRASH, "SIGSEGV in g (y.c:1)", NULL},
    {"a process of a pipeline reports it, the pipeline exits 0", {CLEAN, .out_same = 0, .out_len = 3,
      .proc_known = 1, .proc_name = "sort", .proc_pid = 42, .proc_status = 2,
      .err = "sort: memory exhausted\n", .err_after = "sort: memory exhausted\n"},
     O_HANDLED, "sort (pid 42) exit 2: sort: memory exhausted; the command then exited normally "
		"with other output", NULL},
    {"a process reports it, the command's output is the reference's", {CLEAN, .proc_known = 1,
      .proc_name = "sort", .proc_pid = 42, .proc_status = 2, .err = "sort: memory exhausted\n",
      .err_after = "sort: memory exhausted\n"},
     O_HANDLED, "sort (pid 42) exit 2: sort: memory exhausted", NULL},
    {"a process exits 1 without a word", {CLEAN, .out_same = 0, .proc_known = 1, .proc_name = "uniq",
      .proc_pid = 7, .proc_status = 1, .err_after = ""},
     O_HANDLED, "uniq (pid 7) exit 1 without a message", NULL},
    {"a process exits 0 and the output is short: silent", {CLEAN, .out_same = 0, .out_len = 3,
      .out_hash = 0xab, .proc_known = 1, .proc_name = "sort", .proc_pid = 42, .proc_status = 0,
      .err_after = ""},
     O_SILENT, "exit 0, but stdout differs from the reference (3 bytes, not 10)",
     "stdout:3:00000000000000ab"},
    {"warned: a new diagnostic, the normal status, other output", {CLEAN, .out_same = 0, .out_len = 3,
      .err = "prog: warning: cannot compile regex 12\n"},
     O_WARNED, "exit 0, but stdout differs from the reference (3 bytes, not 10), after the message: "
	       "prog: warning: cannot compile regex 12",
     "prog: warning: cannot compile regex #"},
    {"a diagnostic the reference printed too is not new", {CLEAN, .out_same = 0, .out_len = 3,
      .out_hash = 1, .err = "prog: note\n", .ref_err = "prog: note\n"},
     O_SILENT, "exit 0, but stdout differs", "stdout:3:0000000000000001"},
    {"what was said before the injection is not a diagnostic of it", {CLEAN, .out_same = 0,
      .out_len = 3, .out_hash = 1, .err = "prog: loading\n", .err_after = ""},
     O_SILENT, "exit 0, but stdout differs", "stdout:3:0000000000000001"},
    {"allocfail's own lines are not the program's", {CLEAN, .out_same = 0, .out_len = 3,
      .out_hash = 1, .err = "allocfail: injected #1\n"},
     O_SILENT, "exit 0, but stdout differs", "stdout:3:0000000000000001"},
    {"the reference output", {CLEAN}, O_HANDLED, "exit 0 with the reference output", NULL},
    {"output not compared", {CLEAN, .out_same = 0, .nondeterministic = 1}, O_HANDLED,
     "exit 0 (the output is not compared: it changes between clean runs)", NULL},
    {"the files differ", {CLEAN, .files = "out.txt: 12 bytes, not 40"}, O_SILENT,
     "exit 0 with the reference output, but the files it left differ: out.txt: 12 bytes, not 40",
     "out.txt: # bytes, not #"},
    {"--status 1: exit 0 is a wrong answer", {CLEAN, .normal_status = 1, .status = 0}, O_SILENT,
     "exit 0, where the reference exits 1", "stdout:10:0000000000000000"},
    {"--status 1: exit 1 with other output", {CLEAN, .normal_status = 1, .status = 1, .out_same = 0,
      .out_len = 2}, O_SILENT, "exit 1, but stdout differs", "stdout:2:0000000000000000"},
    {"another status with a message", {CLEAN, .status = 2, .out_same = 0,
      .err = "prog: out of memory\n"}, O_HANDLED, "exit 2: prog: out of memory", NULL},
    {"another status without a message", {CLEAN, .status = 3, .out_same = 0}, O_HANDLED,
     "exit 3 without a message", NULL},
};

static void all_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct tcase *c = &cases[i];
		struct verdict v;
		classify(&c->f, &v);
		int ok = v.outcome == c->outcome && v.detail &&
			 !strncmp(v.detail, c->detail, strlen(c->detail)) &&
			 (c->signature ? v.signature && !strcmp(v.signature, c->signature) : !v.signature);
		if (!ok) {
			h_failed++;
			printf("    FAIL case '%s': got %s \"%s\" [%s], expected %s \"%s\" [%s]\n", c->name,
			       outcome_names[v.outcome], v.detail ? v.detail : "(null)",
			       v.signature ? v.signature : "-", outcome_names[c->outcome], c->detail,
			       c->signature ? c->signature : "-");
		}
		free(v.detail);
		free(v.signature);
	}
}

/* every class has a case */
static void every_class(void)
{
	int seen[O_COUNT] = {0};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		seen[cases[i].outcome] = 1;
	for (int c = 0; c < O_COUNT; c++)
		if (!seen[c]) {
			h_failed++;
			printf("    FAIL no case gives %s\n", outcome_names[c]);
		}
}

int main(void)
{
	static const struct h_test tests[] = {T(all_cases), T(every_class)};
	return h_run(tests, sizeof tests / sizeof *tests);
}
