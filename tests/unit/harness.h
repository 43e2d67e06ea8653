/* harness.h - a tiny unit test harness: each TEST runs in a forked child,
   so a crash fails one test and not the run; CHECK records and continues. */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int h_failed;

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			h_failed++;                                                       \
			printf("    FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);               \
		}                                                                         \
	} while (0)

#define CHECK_STR(a, b)                                                                   \
	do {                                                                              \
		const char *a_ = (a), *b_ = (b);                                          \
		if (strcmp(a_, b_) != 0) {                                                \
			h_failed++;                                                       \
			printf("    FAIL %s:%d: %s\n      got:      %s\n      expected: %s\n", \
			       __FILE__, __LINE__, #a, a_, b_);                           \
		}                                                                         \
	} while (0)

#define CHECK_EQ(a, b)                                                                    \
	do {                                                                              \
		long long a_ = (long long)(a), b_ = (long long)(b);                       \
		if (a_ != b_) {                                                           \
			h_failed++;                                                       \
			printf("    FAIL %s:%d: %s == %lld, expected %lld\n", __FILE__,        \
			       __LINE__, #a, a_, b_);                                     \
		}                                                                         \
	} while (0)

typedef void (*h_test_fn)(void);
struct h_test {
	const char *name;
	h_test_fn fn;
};

static int h_run(const struct h_test *tests, int n)
{
	int bad = 0;
	for (int i = 0; i < n; i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			h_failed = 0;
			tests[i].fn();
			fflush(stdout);
			_exit(h_failed ? 1 : 0);
		}
		int st;
		waitpid(pid, &st, 0);
		int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		if (WIFSIGNALED(st))
			printf("    died of signal %d\n", WTERMSIG(st));
		printf("%s %d - %s\n", ok ? "ok" : "not ok", i + 1, tests[i].name);
		bad += !ok;
	}
	printf("# %d tests, %d failed\n", n, bad);
	return bad ? 1 : 0;
}

#define T(fn) {#fn, fn}

#endif
