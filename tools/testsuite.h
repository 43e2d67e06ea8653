/* testsuite.h - a project's test suite as explore --tests reads it: each
   test a command with its own working directory, environment, timeout
   and the suite's word on running it beside others. */
#ifndef AF_TESTSUITE_H
#define AF_TESTSUITE_H

#include "af_tool.h"

struct suite_test {
	char *name;
	struct strv argv;
	char *cwd;        /* absolute */
	struct strv env;  /* NAME=VALUE set for this test (on top of ours) */
	double timeout;   /* the suite's limit in seconds; 0: none given */
	int serial;       /* run with nothing else (is_parallel false, RUN_SERIAL) */
	struct strv locks; /* RESOURCE_LOCK: never beside a test holding one */
};

/* 1 when tests a and b may run at the same time: neither is serial, and
   they hold no RESOURCE_LOCK in common. */
int suite_may_share(const struct suite_test *a, const struct suite_test *b);

struct testsuite {
	const char *kind; /* "meson", "ctest", "list" */
	char *tree;       /* the build tree (absolute): the default scope */
	struct suite_test *t;
	int n;
};

/* Reads SOURCE: a meson build directory, a CMake build directory, or a
   file of test commands, one a line. 0, or -1 with err set. */
int testsuite_read(const char *source, struct testsuite *s, char *err, size_t errcap);

#endif
