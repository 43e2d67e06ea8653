/* af_init.c - configuration and lifecycle of the shim.
   Two steps. The first allocation (libstdc++ allocates before any
   constructor runs) only chooses the backend, with nothing but our own
   string helpers, dlsym and raw system calls: it may come from inside a
   sanitizer runtime's initialization, whose interceptors (readlink, strlen,
   write...) are not usable yet. Allocations until the second step are
   served by the backend, without rules. The second step, reading the
   configuration, runs in the shim's constructor, after the runtimes the
   program depends on are initialized and before its main. A bad
   configuration prints one line and exits with status 125 there. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "af.h"
#include "af_addr.h"
#include "af_fork.h"
#include "af_limit.h"
#include "af_log.h"
#include "af_sites.h"
#include "af_fmt.h"

extern char **environ;

pthread_mutex_t af_lock = PTHREAD_MUTEX_INITIALIZER;
struct af_global af_g = {.log_fd = -1, .census_fd = -1, .stderr_fd = 2};
_Atomic int af_state;
AF_TLS struct af_thread af_t;


static const char *const known_env[] = {
    "ALLOCFAIL_RULES", "ALLOCFAIL_RULE",    "ALLOCFAIL_BACKEND", "ALLOCFAIL_LOG",
    "ALLOCFAIL_SEED",  "ALLOCFAIL_SUMMARY", "ALLOCFAIL_CENSUS",  "ALLOCFAIL_SHIM", "ALLOCFAIL_FORK",
    "ALLOCFAIL_LOG_NAMES", "ALLOCFAIL_CONTEXT",
};
#define NKNOWN ((int)(sizeof known_env / sizeof *known_env))

uint64_t af_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The environment as the process started. environ is set before any
   allocation can reach us in every glibc we know; /proc/self/environ is
   the fallback should an allocation come earlier. */
static char proc_env[65536];
static char *proc_envv[1024];

static char **env_vector(void)
{
	if (environ)
		return environ;
	if (proc_envv[0])
		return proc_envv;
	int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, proc_env, sizeof proc_env - 2);
	close(fd);
	if (n <= 0)
		return NULL;
	proc_env[n] = 0;
	int k = 0;
	for (char *p = proc_env; p < proc_env + n && k < 1023; p += strlen(p) + 1)
		proc_envv[k++] = p;
	return proc_envv;
}

/* "NAME=" prefix test without libc (see the top of this file). */
static const char *after_name(const char *entry, const char *name)
{
	while (*name && *entry == *name) {
		entry++;
		name++;
	}
	return *name == 0 && *entry == '=' ? entry + 1 : NULL;
}

const char *af_getenv(const char *name)
{
	for (char **env = env_vector(); env && *env; env++) {
		const char *v = after_name(*env, name);
		if (v)
			return v;
	}
	return NULL;
}

static int same(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

void af_fatal_config(const char *msg)
{
	af_say(2, "%s", msg);
	/* not _exit(): sanitizer runtimes intercept it */
	syscall(SYS_exit_group, 125);
	__builtin_unreachable();
}

__attribute__((format(printf, 1, 2), noreturn)) static void fatal(const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	af_vfmt(msg, sizeof msg, fmt, ap);
	va_end(ap);
	af_fatal_config(msg);
}

/* Every ALLOCFAIL_* variable must be one we know: a misspelt one would
   otherwise be ignored and the run would test nothing. */
static void check_env_names(void)
{
	for (char **env = env_vector(); env && *env; env++) {
		if (strncmp(*env, "ALLOCFAIL_", 10) != 0)
			continue;
		const char *eq = strchr(*env, '=');
		size_t n = eq ? (size_t)(eq - *env) : strlen(*env);
		int ok = 0;
		for (int i = 0; i < NKNOWN && !ok; i++)
			ok = strlen(known_env[i]) == n && strncmp(known_env[i], *env, n) == 0;
		if (ok)
			continue;
		char name[128];
		af_fmt(name, sizeof name, "%.*s", (int)n, *env);
		const char *sug = af_suggest(name, known_env, NKNOWN);
		if (sug)
			fatal("unknown environment variable %s (did you mean %s?)", name, sug);
		fatal("unknown environment variable %s: allocfail reads ALLOCFAIL_RULES, "
		      "ALLOCFAIL_RULE, ALLOCFAIL_BACKEND, ALLOCFAIL_LOG, ALLOCFAIL_LOG_NAMES, "
		      "ALLOCFAIL_SEED and ALLOCFAIL_SUMMARY",
		      name);
	}
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&af_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&af_lock);
}

/* A forked child's own state, without the locks atfork_prepare took
   (af_fork.c forks without running the atfork handlers). */
void af_fork_child_reset(void)
{
	af_limit_atfork_child();
	af_sites_atfork_child();
	af_log_atfork_child();
	af_crash_atfork_child();
	af_api_atfork_child();
}

static void atfork_child(void)
{
	pthread_mutex_unlock(&af_lock);
	af_fork_child_reset();
}

static uint64_t random_seed(void)
{
	uint64_t s = 0;
	if (syscall(SYS_getrandom, &s, sizeof s, 1 /* GRND_NONBLOCK */) != (long)sizeof s)
		s = af_now_ns() ^ ((uint64_t)getpid() << 32);
	return s;
}

static int any_probability(void)
{
	for (int i = 0; i < af_g.pol.nrules; i++) {
		const struct af_rule *r = af_g.pol.rules[i];
		if (r->action == AF_ACT_FAIL && (r->given & (1u << AF_K_PROBABILITY)) && !r->prob_all)
			return 1;
	}
	return 0;
}

static void configure(void)
{
	struct af_error err;
	const char *v;

	check_env_names();
	af_policy_init(&af_g.pol);
	if ((v = af_getenv("ALLOCFAIL_RULES"))) {
		if (!*v)
			fatal("ALLOCFAIL_RULES is empty: expected the path of a rule file");
		if (af_policy_parse_file(&af_g.pol, v, &err) < 0) {
			/* the file itself: name the variable; its contents: file:line:col */
			if (!strncmp(err.msg, "cannot read rules file", 22))
				fatal("ALLOCFAIL_RULES: %s", err.msg);
			af_fatal_config(err.msg);
		}
	}
	if ((v = af_getenv("ALLOCFAIL_RULE"))) {
		const char *q = v;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == ';')
			q++;
		if (!*q)
			fatal("ALLOCFAIL_RULE is empty: expected rules, such as 'fail caller=parse nth=1'");
		if (af_policy_parse_text(&af_g.pol, v, strlen(v), "ALLOCFAIL_RULE", &err) < 0)
			af_fatal_config(err.msg);
	}
	if ((v = af_getenv("ALLOCFAIL_SEED"))) {
		uint64_t s;
		if (af_parse_u64(v, &s) < 0)
			fatal("ALLOCFAIL_SEED='%s': expected an unsigned 64-bit integer", v);
		af_g.pol.set.seed = s;
		af_g.pol.set.given |= 1u << AF_S_SEED;
	}
	if (!(af_g.pol.set.given & (1u << AF_S_SEED))) {
		af_g.pol.set.seed = random_seed();
		af_g.seed_random = 1;
	}
	af_policy_finish(&af_g.pol);

	const char *log = af_getenv("ALLOCFAIL_LOG"), *from = "ALLOCFAIL_LOG";
	if (log && !*log)
		fatal("ALLOCFAIL_LOG is empty: expected a file path or 'stderr'");
	if (!log) {
		log = af_g.pol.set.log;
		from = "set log=";
	}
	if (log && strcmp(log, "stderr") != 0) {
		const char *why;
		if (af_out_open(AF_OUT_LOG, log, &why) < 0)
			fatal("%s: cannot open log '%s': %s", from, log, why);
	}
	if ((v = af_getenv("ALLOCFAIL_LOG_NAMES"))) {
		/* explore names the frames itself, once per address for all its
		   runs, instead of every run reading symbol and line tables */
		if (strcmp(v, "0") == 0)
			af_g.no_names = 1;
		else if (strcmp(v, "1") != 0)
			fatal("ALLOCFAIL_LOG_NAMES='%s': expected 1 or 0", v);
	}
	if ((v = af_getenv("ALLOCFAIL_CENSUS"))) {
		const char *why;
		if (af_out_open(AF_OUT_CENSUS, v, &why) < 0)
			fatal("ALLOCFAIL_CENSUS: cannot open census '%s': %s", v, why);
		af_g.mode |= AF_M_CENSUS;
	}
	if ((v = af_getenv("ALLOCFAIL_CONTEXT"))) {
		/* set by allocfail explore and sites for the reference run */
		uint64_t d;
		if (af_parse_u64(v, &d) < 0 || d > AF_CTX_MAX)
			fatal("ALLOCFAIL_CONTEXT='%s': expected frames above the call site, 0 to %d", v,
			      AF_CTX_MAX);
		if (d && !(af_g.mode & AF_M_CENSUS))
			fatal("ALLOCFAIL_CONTEXT needs ALLOCFAIL_CENSUS (it is explore's)");
		af_g.context_depth = (int)d;
	}
	if ((v = af_getenv("ALLOCFAIL_FORK"))) {
		/* set by allocfail explore --fork, which also sets the census */
		const char *why;
		if (!(af_g.mode & AF_M_CENSUS))
			fatal("ALLOCFAIL_FORK needs ALLOCFAIL_CENSUS (it is explore's)");
		if (af_fork_init(v, &why) < 0)
			fatal("ALLOCFAIL_FORK='%s': %s", v, why);
		af_g.mode |= AF_M_FORK;
	}
	if ((v = af_getenv("ALLOCFAIL_SUMMARY"))) {
		if (strcmp(v, "1") == 0) {
			af_g.mode |= AF_M_SUMMARY;
			/* Programs may close stderr before exit (coreutils does);
			   keep a descriptor of our own, high enough not to shift
			   the program's numbering. */
			if (fcntl(2, F_GETFD) >= 0)
				af_g.stderr_fd = af_fd_high((int)syscall(SYS_fcntl, 2, F_DUPFD_CLOEXEC, 3));
		}
		else if (strcmp(v, "0") != 0)
			fatal("ALLOCFAIL_SUMMARY='%s': expected 1 or 0", v);
	}
	if (af_match_compile(&af_g.match, &af_g.pol) < 0)
		fatal("out of memory while compiling the rules");
	af_g.threshold = af_policy_threshold(&af_g.pol.set);
	af_g.seed = af_g.pol.set.seed;
	if (af_g.pol.nrules)
		af_g.mode |= AF_M_RULES;
	if (af_g.pol.set.limit) {
		af_g.mode |= AF_M_LIMIT;
		af_limit_init(af_g.pol.set.limit);
	}
	af_g.need_stack = af_g.mode != 0 || af_g.log_fd >= 0;
}

static _Atomic int backend_state; /* 0 none, 1 choosing, 2 chosen */
static int ctor_ran;
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;

/* Step one: the backend, before anything else can allocate. */
static void init_backend(void)
{
	int expect = 0;
	if (!atomic_compare_exchange_strong(&backend_state, &expect, 1)) {
		while (atomic_load_explicit(&backend_state, memory_order_acquire) != 2)
			sched_yield();
		return;
	}
	struct af_thread *t = &af_t;
	t->guard++;
	const char *be = af_getenv("ALLOCFAIL_BACKEND");
	int backend = AF_BE_JEMALLOC;
	if (be && same(be, "next"))
		backend = AF_BE_NEXT;
	else if (be && !same(be, "jemalloc"))
		fatal("ALLOCFAIL_BACKEND='%s': expected jemalloc or next", be);
	if (backend == AF_BE_JEMALLOC && dlsym(RTLD_DEFAULT, "__asan_init"))
		fatal("this program is built with AddressSanitizer: its allocator must stay in "
		      "charge, so use ALLOCFAIL_BACKEND=next (allocfail --backend next)");
	af_g.backend = backend;
	af_backend_init(backend);
	atomic_store_explicit(&backend_state, 2, memory_order_release);
	t->guard--;
}

/* Step two: the configuration. */
static void configure_once(void)
{
	pthread_mutex_lock(&config_lock);
	if (af_ready()) {
		pthread_mutex_unlock(&config_lock);
		return;
	}
	struct af_thread *t = &af_t;
	t->guard++;
	af_g.page = (size_t)sysconf(_SC_PAGESIZE);
	ssize_t n = readlink("/proc/self/exe", af_g.exe, sizeof af_g.exe - 1);
	af_g.exe[n > 0 ? n : 0] = 0;
	configure();
	if (af_g.need_stack)
		af_be_internal_arena();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	af_g.fast = af_g.mode == 0 && af_g.backend == AF_BE_JEMALLOC;
	af_g.quick = af_g.mode != 0 && af_g.backend == AF_BE_JEMALLOC &&
		     !(af_g.mode & ~(unsigned)(AF_M_RULES | AF_M_CENSUS | AF_M_SUMMARY | AF_M_FORK));
	if (af_g.context_depth) /* every allocation's context: the slow path */
		af_g.quick = 0;
	af_g.counting = (af_g.mode & (AF_M_CENSUS | AF_M_SUMMARY)) != 0;
	af_g.sampling = (af_g.mode & (AF_M_LIMIT | AF_M_CENSUS | AF_M_SUMMARY)) != 0;
	atomic_store_explicit(&af_state, 2, memory_order_release);
	if (af_g.seed_random && any_probability())
		af_report_seed(af_g.seed);
	t->guard--;
	pthread_mutex_unlock(&config_lock);
}

/* 1 when the configuration is in place; 0 while allocations must be
   served without it (before the constructor). */
int af_init(void)
{
	if (atomic_load_explicit(&backend_state, memory_order_acquire) != 2)
		init_backend();
	if (!ctor_ran)
		return 0;
	configure_once();
	return 1;
}

/* MALLOC_CONF=prof:true, read from jemalloc's own option variable:
   mallctl() would build its control tree, 23 page faults in every process */
extern bool je_opt_prof;

__attribute__((constructor)) static void af_ctor(void)
{
	if (atomic_load_explicit(&backend_state, memory_order_acquire) != 2)
		init_backend();
	ctor_ran = 1;
	/* what opens here must not take a low descriptor the program left
	   closed (af_fd.c) */
	unsigned plugged = af_fd_plug();
	configure_once();
	if (af_g.need_stack) {
		af_t.guard++;
		if (af_unwind_init() < 0)
			fatal("cannot load libunwind.so.8, which the rules, the log or the census "
			      "need (install libunwind8)");
		af_t.guard--;
	} else if (af_g.backend == AF_BE_JEMALLOC && je_opt_prof) {
		/* jemalloc's heap profiler takes its stacks from af_jeglue.c,
		   which takes them from libunwind */
		af_t.guard++;
		af_unwind_init();
		af_t.guard--;
	}
	af_fd_unplug(plugged);
}

__attribute__((destructor)) static void af_dtor(void)
{
	if (!af_ready())
		return;
	af_t.guard++;
	af_sites_exit();
	af_t.guard--;
}
