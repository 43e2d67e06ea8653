/* util.c - helpers shared by the subcommands: messages, memory, child
   environments, finding the shim and the command. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "af_fmt.h"
#include "af_tool.h"

extern char **environ;

/* Messages quote names and text from outside (arguments, rule files,
   logs, the program's symbols): written for a terminal (tty()). */
static void vsay(const char *fmt, va_list ap)
{
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0) {
		fputs("allocfail: out of memory\n", stderr);
		return;
	}
	fprintf(stderr, "allocfail: %s\n", tty(msg));
	free(msg);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

const char *tty(const char *s)
{
	enum { RING = 8 };
	static __thread char *ring[RING];
	static __thread size_t caps[RING];
	static __thread unsigned next;
	if (!s)
		return NULL;
	size_t need = 4 * strlen(s) + 1; /* each byte at worst \xHH */
	unsigned k = next++ % RING;
	if (caps[k] < need) {
		ring[k] = xrealloc(ring[k], need);
		caps[k] = need;
	}
	struct af_buf b;
	af_buf_init(&b, ring[k], need);
	af_buf_text(&b, s);
	return ring[k];
}

static void oom(void)
{
	fputs("allocfail: out of memory\n", stderr);
	exit(EXIT_INTERNAL);
}

void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		oom();
	return d;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	return s;
}

void strv_add(struct strv *s, const char *x)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, sizeof(char *) * (size_t)s->cap);
	}
	s->v[s->n++] = xstrdup(x);
	s->v[s->n] = NULL;
}

void strv_addf(struct strv *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *x;
	if (vasprintf(&x, fmt, ap) < 0)
		oom();
	va_end(ap);
	strv_add(s, x);
	free(x);
}

void strv_free(struct strv *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

char *strv_join(char *const *v, int n, const char *sep)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(v[i]) + strlen(sep);
	char *all = xmalloc(len), *o = all;
	*o = 0;
	for (int i = 0; i < n; i++)
		o = stpcpy(stpcpy(o, v[i]), i + 1 < n ? sep : "");
	return all;
}

char *strv_lines(char *const *v, int n)
{
	char *j = strv_join(v, n, "\n");
	char *all = n ? xasprintf("%s\n", j) : xstrdup("");
	free(j);
	return all;
}

/* A tmpfs with room, for scratch files: creating and deleting files on a
   disk file system costs a run more than the run itself (ext4's inode
   allocator, measured in docs/performance.md). */
static int roomy_tmpfs(const char *dir)
{
	struct statfs fs;
	return dir && *dir == '/' && statfs(dir, &fs) == 0 && fs.f_type == 0x01021994 /* TMPFS_MAGIC */ &&
	       (unsigned long long)fs.f_bavail * (unsigned long long)fs.f_bsize >= (256ull << 20) &&
	       access(dir, W_OK | X_OK) == 0;
}

const char *scratch_parent(int memory)
{
	const char *t = getenv("TMPDIR");
	if (t && *t)
		return t;
	if (memory) {
		const char *x = getenv("XDG_RUNTIME_DIR");
		if (roomy_tmpfs(x))
			return x;
		if (roomy_tmpfs("/dev/shm"))
			return "/dev/shm";
	}
	return "/tmp";
}

static const char *shim_path;
static pthread_once_t shim_once = PTHREAD_ONCE_INIT;

static const char *locate_shim(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("ALLOCFAIL_SHIM");
	if (env && *env)
		return access(env, R_OK) == 0 ? env : NULL;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			if (snprintf(path, sizeof path, "%s/../shim/liballocfail.so", exe) >= (int)sizeof path)
				return NULL;
			if (access(path, R_OK) == 0) {
				char real[PATH_MAX];
				if (realpath(path, real)) {
					snprintf(path, sizeof path, "%s", real);
					return path;
				}
			}
		}
	}
	snprintf(path, sizeof path, "%s/liballocfail.so", ALLOCFAIL_LIBDIR);
	return access(path, R_OK) == 0 ? path : NULL;
}

static void locate_shim_once(void)
{
	shim_path = locate_shim();
}

/* Looked up once: explore's workers ask for it at once, and the lookup
   writes a static buffer. */
const char *find_shim(void)
{
	pthread_once(&shim_once, locate_shim_once);
	return shim_path;
}

/* A rules file that is not a regular file (bash's <(...), a FIFO, a
   character device) can be read once only, and a /dev/fd/N path means
   nothing to the program's processes: it is read here, once, and the
   program reads a private copy, removed when the command exits. (Not
   ALLOCFAIL_RULE: there ';' separates lines, in a file it does not.) */
static char *rules_copy, *rules_copy_dir;

static void remove_rules_copy(void)
{
	unlink(rules_copy);
	rmdir(rules_copy_dir);
}

static void rules_option(struct ruleopts *o, const char *val)
{
	struct stat st;
	if (stat(val, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		struct af_error err;
		if (af_policy_read_file(val, &o->rules_text, &o->rules_len, &err) < 0)
			die_usage("--rules: %s", err.msg);
		const char *parent = scratch_parent(1);
		rules_copy_dir = xasprintf("%s/allocfail-rules-XXXXXX", parent);
		if (!mkdtemp(rules_copy_dir))
			die_usage("--rules '%s': cannot create a directory in %s for a copy: %s", val,
				  parent, strerror(errno));
		rules_copy = xasprintf("%s/rules", rules_copy_dir);
		atexit(remove_rules_copy);
		FILE *f = fopen(rules_copy, "w");
		if (!f || fwrite(o->rules_text, 1, o->rules_len, f) != o->rules_len || fclose(f))
			die_usage("--rules '%s': cannot write a copy to %s: %s", val, rules_copy,
				  strerror(errno));
		o->rules_stream = val;
		o->rules_file = rules_copy;
		return;
	}
	char real[PATH_MAX];
	if (!realpath(val, real))
		die_usage("--rules: cannot read rules file '%s': %s", val, strerror(errno));
	o->rules_file = xstrdup(real);
}

/* Relative to where the command was started, not to wherever a process
   of the program is when it writes (a child that changed directory
   would write a log of its own, and report would miss its events). */
static const char *absolute_log(const char *val)
{
	if (val[0] == '/' || !strcmp(val, "stderr") || !*val)
		return val;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		die_usage("--log '%s': cannot tell the current directory: %s", val, strerror(errno));
	return xasprintf("%s/%s", cwd, val);
}

int ruleopts_parse(struct ruleopts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *val = NULL;
	static const char *const with_value[] = {"--rules", "--rule", "--set", "--log",
						  "--backend", "--seed"};
	int k = -1;
	for (int j = 0; j < 6; j++) {
		size_t n = strlen(with_value[j]);
		if (strncmp(a, with_value[j], n) == 0 && (a[n] == 0 || a[n] == '=')) {
			k = j;
			if (a[n] == '=')
				val = a + n + 1;
			else if (*i + 1 < argc)
				val = argv[++*i];
			else
				die_usage("%s needs a value", with_value[j]);
			break;
		}
	}
	if (k < 0) {
		if (strcmp(a, "--summary") == 0) {
			o->summary = 1;
			return 1;
		}
		return 0;
	}
	switch (k) {
	case 0:
		if (o->rules_file)
			die_usage("--rules given twice (use include lines to combine files)");
		rules_option(o, val);
		break;
	case 1:
		if (!val[strspn(val, " \t\n;")])
			die_usage("--rule '%s': expected a rule, such as 'fail caller=parse nth=1'", val);
		strv_add(&o->inline_rules, val);
		break;
	case 2:
		if (!strchr(val, '=') || strpbrk(val, ";\n#"))
			die_usage("--set '%s': expected KEY=VALUE ... (settings only)", val);
		strv_addf(&o->inline_rules, "set %s", val);
		break;
	case 3: o->log = absolute_log(val); break;
	case 4:
		if (strcmp(val, "jemalloc") && strcmp(val, "next"))
			die_usage("--backend '%s': expected jemalloc or next", val);
		o->backend = val;
		break;
	case 5: {
		uint64_t s;
		if (af_parse_u64(val, &s) < 0)
			die_usage("--seed '%s': expected an unsigned 64-bit integer", val);
		o->seed = val;
		break;
	}
	}
	return 1;
}

void ruleopts_check(const struct ruleopts *o)
{
	struct af_policy p;
	struct af_error err;
	af_policy_init(&p);
	/* a copy's messages name the file given, not the copy */
	if (o->rules_stream &&
	    af_policy_parse_file_text(&p, o->rules_text, o->rules_len, o->rules_stream, &err) < 0)
		die_usage("%s", err.msg);
	if (!o->rules_stream && o->rules_file && af_policy_parse_file(&p, o->rules_file, &err) < 0)
		die_usage("%s", err.msg);
	for (int i = 0; i < o->inline_rules.n; i++) {
		const char *r = o->inline_rules.v[i];
		int is_set = strncmp(r, "set ", 4) == 0;
		if (af_policy_parse_text(&p, r, strlen(r), is_set ? "--set" : "--rule", &err) < 0) {
			/* columns of a --set count from its value, not from the
			   "set " put in front of it */
			int line, col, at = 0;
			if (is_set && sscanf(err.msg, "--set:%d:%d:%n", &line, &col, &at) == 2 && at &&
			    col > 4)
				die_usage("--set:%d:%d:%s", line, col - 4, err.msg + at);
			die_usage("%s", err.msg);
		}
	}
	af_policy_free(&p);
}

static void set_var(struct strv *env, const char *name, const char *value)
{
	size_t n = strlen(name);
	for (int i = 0; i < env->n; i++)
		if (strncmp(env->v[i], name, n) == 0 && env->v[i][n] == '=') {
			free(env->v[i]);
			env->v[i] = xasprintf("%s=%s", name, value);
			return;
		}
	strv_addf(env, "%s=%s", name, value);
}

char **child_env(const struct ruleopts *o, const char *const *extra)
{
	static struct strv env;
	strv_free(&env);
	for (char **e = environ; *e; e++) {
		/* without options (census runs) nothing of the caller's own
		   rules, log or summary leaks in */
		if ((!o || o->clean) && !strncmp(*e, "ALLOCFAIL_", 10) &&
		    strncmp(*e, "ALLOCFAIL_SHIM=", 15) &&
		    strncmp(*e, "ALLOCFAIL_BACKEND=", 18))
			continue;
		strv_add(&env, *e);
	}
	const char *shim = find_shim();
	if (!shim) {
		warnx_("cannot find liballocfail.so (looked beside this program and in %s; "
		       "ALLOCFAIL_SHIM=PATH names it)",
		       ALLOCFAIL_LIBDIR);
		exit(EXIT_INTERNAL);
	}
	const char *old = getenv("LD_PRELOAD");
	if (old && *old) {
		char *v = xasprintf("%s:%s", shim, old);
		set_var(&env, "LD_PRELOAD", v);
		free(v);
	} else {
		set_var(&env, "LD_PRELOAD", shim);
	}
	if (o) {
		if (o->rules_file)
			set_var(&env, "ALLOCFAIL_RULES", o->rules_file);
		if (o->inline_rules.n) {
			char *all = strv_lines(o->inline_rules.v, o->inline_rules.n);
			set_var(&env, "ALLOCFAIL_RULE", all);
			free(all);
		}
		if (o->log)
			set_var(&env, "ALLOCFAIL_LOG", o->log);
		if (o->backend)
			set_var(&env, "ALLOCFAIL_BACKEND", o->backend);
		if (o->seed)
			set_var(&env, "ALLOCFAIL_SEED", o->seed);
		if (o->summary)
			set_var(&env, "ALLOCFAIL_SUMMARY", "1");
	}
	const char *be = o && o->backend ? o->backend : getenv("ALLOCFAIL_BACKEND");
	if (be && !strcmp(be, "next")) {
		/* ASan insists on coming first in the library list; under the
		   shim it cannot, and need not (the shim forwards to it) */
		const char *as = getenv("ASAN_OPTIONS");
		char *v = xasprintf("%s%sverify_asan_link_order=0", as ? as : "", as && *as ? ":" : "");
		set_var(&env, "ASAN_OPTIONS", v);
		free(v);
	}
	for (; extra && *extra; extra++) {
		const char *eq = strchr(*extra, '=');
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)(eq - *extra), *extra);
		set_var(&env, name, eq + 1);
	}
	return env.v;
}

char *find_command(const char *cmd)
{
	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK) == 0)
			return xstrdup(cmd);
		return NULL;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int saved = ENOENT;
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		char *full = xasprintf("%.*s/%s", (int)n, n ? path : ".", cmd);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(full, X_OK) == 0)
				return full;
			saved = EACCES;
		}
		free(full);
		path += n + (colon ? 1 : 0);
		if (!colon)
			break;
	}
	errno = saved;
	return NULL;
}

static int is_static_elf(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	Elf64_Ehdr eh;
	int result = 0;
	if (read(fd, &eh, sizeof eh) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
	    (eh.e_type == ET_EXEC || eh.e_type == ET_DYN)) {
		int interp = 0, dynamic = 0;
		for (int i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph)) !=
			    (ssize_t)sizeof ph)
				break;
			interp |= ph.p_type == PT_INTERP;
			dynamic |= ph.p_type == PT_DYNAMIC;
		}
		/* static-pie has PT_DYNAMIC but no interpreter */
		result = !interp && (eh.e_type == ET_EXEC || dynamic);
	}
	close(fd);
	return result;
}

/* Why the loader would run path in secure-execution mode (AT_SECURE), in
   which it ignores LD_PRELOAD: NULL when it would not. Set-user-ID and
   set-group-ID bits count unless they change nothing for us (our own file,
   our group) or the file system ignores them (nosuid); file capabilities
   count for anyone but root, who holds them all already. */
static const char *secure_exec(const char *path)
{
	struct stat st;
	struct statvfs fs;
	if (stat(path, &st) < 0 || (statvfs(path, &fs) == 0 && (fs.f_flag & ST_NOSUID)))
		return NULL;
	if ((st.st_mode & S_ISUID) && st.st_uid != geteuid())
		return "set-user-ID";
	if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != getegid())
		return "set-group-ID";
	if (geteuid() != 0 && getxattr(path, "security.capability", NULL, 0) >= 0)
		return "given file capabilities";
	return NULL;
}

void check_preloadable(const char *prefix, const char *name, const char *path)
{
	const char *why;
	if (is_static_elf(path))
		die_usage("%s'%s' is statically linked: LD_PRELOAD cannot reach its allocator", prefix,
			  name);
	if ((why = secure_exec(path)))
		die_usage("%s'%s' is %s: the dynamic loader ignores LD_PRELOAD for it "
			  "(secure-execution mode)",
			  prefix, name, why);
}

double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int shell_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EXIT_INTERNAL;
}

long opt_number(const char *cmd, const char *opt, const char *v, long lo, long hi)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < lo || n > hi)
		die_usage("%s: %s '%s': expected a number from %ld to %ld", cmd, opt, v, lo, hi);
	return n;
}

void opt_shard(const char *cmd, const char *v, int *k, int *n)
{
	char tail;
	if (sscanf(v, "%d/%d%c", k, n, &tail) != 2 || *n < 1 || *k < 1 || *k > *n)
		die_usage("%s: --shard '%s': expected K/N with 1 <= K <= N", cmd, v);
}

double opt_seconds(const char *cmd, const char *opt, const char *v)
{
	uint64_t ns;
	if (af_parse_duration(v, &ns) < 0 || ns == 0)
		die_usage("%s: %s '%s': expected a duration in seconds (e.g. 10, 2.5, 500ms)", cmd, opt, v);
	return (double)ns / 1e9;
}

char *self_exe(void)
{
	char p[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", p, sizeof p - 1);
	if (n <= 0)
		return xstrdup("allocfail");
	p[n] = 0;
	return xstrdup(p);
}

const char *self_command(void)
{
	static char *name;
	if (name)
		return name;
	char found[PATH_MAX], *self = self_exe();
	char *p = find_command("allocfail");
	int same = p && realpath(p, found) && !strcmp(found, self);
	free(p);
	name = xstrdup(same ? "allocfail" : self);
	free(self);
	return name;
}

char *read_whole_or_say(const char *path, size_t *len, const char *what, char *err,
			size_t errcap)
{
	char *text = read_whole(path, len);
	if (!text)
		snprintf(err, errcap, "%s'%s': %s", what, path, strerror(errno));
	return text;
}

void put_escaped(FILE *f, const char *s, escape_fn escape)
{
	char buf[16];
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		const char *e = escape(*p, buf);
		if (e)
			fputs(e, f);
		else
			fputc(*p, f);
	}
}

char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *text = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&text, &n);
	char buf[65536];
	size_t k;
	while ((k = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, k, m);
	int bad = ferror(f);
	fclose(f);
	fclose(m);
	if (bad) {
		free(text);
		errno = EIO;
		return NULL;
	}
	*len = n;
	return text;
}
