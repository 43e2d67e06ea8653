/* testsuite.c - reads a test suite for explore --tests: meson's
   `meson introspect --tests`, CTest's `ctest --show-only=json-v1`, or a
   file with one test command a line (NAME=VALUE words first set its
   environment; it runs in the file's directory). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wordexp.h>

#include "json.h"
#include "testsuite.h"

/* The standard output of argv run in cwd, or NULL with err set. */
static char *capture(char *const *argv, const char *cwd, char *err, size_t errcap)
{
	int fd[2];
	if (pipe(fd) < 0) {
		snprintf(err, errcap, "cannot make a pipe: %s", strerror(errno));
		return NULL;
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	char buf[65536];
	ssize_t n;
	while (pid > 0 && (n = read(fd[0], buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, m);
	fclose(m);
	close(fd[0]);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(err, errcap, "'%s' failed (%s)", argv[0],
			 pid < 0 ? strerror(errno)
			 : WIFEXITED(st) && WEXITSTATUS(st) == 127 ? "not found"
								  : "a non-zero exit status");
		free(text);
		return NULL;
	}
	return text;
}

static struct suite_test *add_test(struct testsuite *s, const char *name)
{
	s->t = xrealloc(s->t, sizeof *s->t * (size_t)(s->n + 1));
	struct suite_test *t = &s->t[s->n++];
	memset(t, 0, sizeof *t);
	t->name = xstrdup(name);
	return t;
}

static void add_strs(struct strv *v, const struct jv *a)
{
	for (int i = 0; a && a->t == J_ARR && i < a->n; i++)
		if (a->items[i].t == J_STR)
			strv_add(v, a->items[i].s);
}

/* The JSON argv prints (run in cwd; NULL: here) into *doc, and the array
   of tests in it: at key, or the whole of it where key is NULL. NULL with
   err "WHAT DIR: PROBLEM[: the parser's error]" where there is none. */
static const struct jv *capture_tests(char **argv, const char *cwd, const char *key,
				      struct jv **doc, const char *what, const char *dir,
				      const char *problem, char *err, size_t errcap)
{
	*doc = NULL;
	char *text = capture(argv, cwd, err, errcap);
	if (!text)
		return NULL;
	char perr[256];
	struct jv *v = json_parse(text, strlen(text), perr, sizeof perr);
	free(text);
	const struct jv *list = v && key ? json_get(v, key) : v;
	if (!list || list->t != J_ARR) {
		snprintf(err, errcap, "%s %s: %s%s%s", what, dir, problem, v ? "" : ": ", v ? "" : perr);
		json_free(v);
		return NULL;
	}
	*doc = v;
	return list;
}

/* A test's timeout in seconds; 0 for none (absent, not a number, <= 0). */
static double timeout_of(const struct jv *to)
{
	return to && to->t == J_NUM && to->num > 0 ? to->num : 0;
}

static int read_meson(const char *dir, struct testsuite *s, char *err, size_t errcap)
{
	char *argv[] = {"meson", "introspect", "--tests", (char *)dir, NULL};
	struct jv *v;
	const struct jv *tests = capture_tests(argv, NULL, NULL, &v, "meson introspect --tests", dir,
					       "not a list of tests", err, errcap);
	if (!tests)
		return -1;
	for (int i = 0; i < tests->n; i++) {
		const struct jv *x = &tests->items[i];
		const char *name = json_str(x, "name");
		if (!name)
			continue;
		/* meson's own suite name makes names unique across subprojects */
		const struct jv *suite = json_get(x, "suite");
		char *full = suite && suite->t == J_ARR && suite->n && suite->items[0].t == J_STR
				 ? xasprintf("%s:%s", suite->items[0].s, name)
				 : xstrdup(name);
		struct suite_test *t = add_test(s, full);
		free(full);
		add_strs(&t->argv, json_get(x, "cmd"));
		/* meson test runs a test in the build directory unless it says */
		t->cwd = xstrdup(json_str(x, "workdir") ? json_str(x, "workdir") : s->tree);
		const struct jv *env = json_get(x, "env");
		for (int k = 0; env && env->t == J_OBJ && k < env->n; k++)
			if (env->items[k].t == J_STR)
				strv_addf(&t->env, "%s=%s", env->keys[k], env->items[k].s);
		t->timeout = timeout_of(json_get(x, "timeout"));
		t->serial = !json_bool(x, "is_parallel", 1);
	}
	json_free(v);
	return 0;
}

static const struct jv *ctest_prop(const struct jv *props, const char *name)
{
	for (int i = 0; props && props->t == J_ARR && i < props->n; i++) {
		const char *n = json_str(&props->items[i], "name");
		if (n && !strcmp(n, name))
			return json_get(&props->items[i], "value");
	}
	return NULL;
}

static int read_ctest(const char *dir, struct testsuite *s, char *err, size_t errcap)
{
	char *argv[] = {"ctest", "--show-only=json-v1", NULL};
	struct jv *v;
	const struct jv *tests = capture_tests(argv, dir, "tests", &v, "ctest --show-only=json-v1 in",
					       dir, "no list of tests", err, errcap);
	if (!tests)
		return -1;
	for (int i = 0; i < tests->n; i++) {
		const struct jv *x = &tests->items[i];
		const char *name = json_str(x, "name");
		const struct jv *cmd = json_get(x, "command");
		if (!name || !cmd) /* a test whose executable is not built */
			continue;
		struct suite_test *t = add_test(s, name);
		add_strs(&t->argv, cmd);
		const struct jv *props = json_get(x, "properties");
		const struct jv *wd = ctest_prop(props, "WORKING_DIRECTORY");
		t->cwd = xstrdup(wd && wd->t == J_STR ? wd->s : dir);
		add_strs(&t->env, ctest_prop(props, "ENVIRONMENT"));
		t->timeout = timeout_of(ctest_prop(props, "TIMEOUT"));
		const struct jv *rs = ctest_prop(props, "RUN_SERIAL");
		t->serial = rs && rs->t == J_BOOL && rs->b;
		add_strs(&t->locks, ctest_prop(props, "RESOURCE_LOCK"));
	}
	json_free(v);
	return 0;
}

static int is_env_word(const char *w)
{
	const char *eq = strchr(w, '=');
	if (!eq || eq == w)
		return 0;
	for (const char *p = w; p < eq; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (p > w && *p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

static int read_list(const char *path, struct testsuite *s, char *err, size_t errcap)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errcap, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ln = 0, rc = 0;
	while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
		ln++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = 0;
		char *p = line + strspn(line, " \t");
		if (!*p || *p == '#')
			continue;
		wordexp_t we;
		/* quoting as a shell's, but no command substitution */
		if (wordexp(p, &we, WRDE_NOCMD) != 0) {
			snprintf(err, errcap, "%s:%d: cannot split '%s' into words (quotes, or a $( ) that "
				 "is not run)", path, ln, p);
			rc = -1;
			break;
		}
		size_t k = 0;
		while (k < we.we_wordc && is_env_word(we.we_wordv[k]))
			k++;
		if (k == we.we_wordc) {
			snprintf(err, errcap, "%s:%d: no command in '%s'", path, ln, p);
			wordfree(&we);
			rc = -1;
			break;
		}
		struct suite_test *t = add_test(s, p);
		for (size_t j = 0; j < we.we_wordc; j++)
			strv_add(j < k ? &t->env : &t->argv, we.we_wordv[j]);
		t->cwd = xstrdup(s->tree);
		wordfree(&we);
	}
	free(line);
	fclose(f);
	return rc;
}

int testsuite_read(const char *source, struct testsuite *s, char *err, size_t errcap)
{
	memset(s, 0, sizeof *s);
	char real[PATH_MAX];
	struct stat st;
	if (!realpath(source, real) || stat(real, &st) < 0) {
		snprintf(err, errcap, "--tests '%s': %s", source, strerror(errno));
		return -1;
	}
	int rc;
	if (S_ISDIR(st.st_mode)) {
		s->tree = xstrdup(real);
		char *mi = xasprintf("%s/meson-info", real), *ct = xasprintf("%s/CTestTestfile.cmake", real);
		if (access(mi, F_OK) == 0) {
			s->kind = "meson";
			rc = read_meson(real, s, err, errcap);
		} else if (access(ct, F_OK) == 0) {
			s->kind = "ctest";
			rc = read_ctest(real, s, err, errcap);
		} else {
			snprintf(err, errcap, "--tests '%s': neither a meson build directory (meson-info/) "
				 "nor a CMake one (CTestTestfile.cmake)", source);
			rc = -1;
		}
		free(mi);
		free(ct);
	} else {
		char *slash = strrchr(real, '/');
		s->tree = slash == real ? xstrdup("/") : strndup(real, (size_t)(slash - real));
		s->kind = "list";
		rc = read_list(real, s, err, errcap);
	}
	if (rc == 0 && !s->n) {
		snprintf(err, errcap, "--tests '%s': the suite has no tests", source);
		rc = -1;
	}
	return rc;
}

int suite_may_share(const struct suite_test *a, const struct suite_test *b)
{
	if (a->serial || b->serial)
		return 0;
	for (int i = 0; i < a->locks.n; i++)
		for (int k = 0; k < b->locks.n; k++)
			if (!strcmp(a->locks.v[i], b->locks.v[k]))
				return 0;
	return 1;
}
