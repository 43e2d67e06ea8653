/* af_log.c - what the shim tells the user. With a log file (ALLOCFAIL_LOG
   or `set log=`), one JSON object per line per event, each line written by
   a single write(2) on an O_APPEND descriptor, so threads and forked
   children never interleave. Without one, short human lines on stderr
   (injections rate-limited). Canary and OOM lines always reach stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "af.h"
#include "af_addr.h"
#include "af_crash.h"
#include "af_fork.h"
#include "af_limit.h"
#include "af_log.h"
#include "af_sites.h"
#include "af_fmt.h"

#define STDERR_INJECTIONS 50
#define LOG_LINE 32768

static _Atomic uint64_t seq;

/* One buffer for log lines, not one per thread: 32 KiB of initial-exec
   TLS would come out of every thread's stack (a thread created with a
   64 KiB stack then failed with EINVAL). Log lines are rare (injections,
   canaries, OOM); the crash handler has a buffer of its own. */
static char log_buf[LOG_LINE];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static char *log_buf_take(void)
{
	pthread_mutex_lock(&log_lock);
	return log_buf;
}

static void log_buf_give(void)
{
	pthread_mutex_unlock(&log_lock);
}

/* In a forked child: the forking thread is the only one, and another
   thread may have held the lock at the fork. */
void af_log_atfork_child(void)
{
	pthread_mutex_init(&log_lock, NULL);
}
static _Atomic unsigned stderr_injections;

/* The log and the census are the program's descriptors too: it may close
   them (daemons close everything above 2) and get the same number back for
   a file of its own, where our lines would then land. So they live high
   (from AF_FD_HIGH up, not shifting the program's numbering), and before
   each write the descriptor is checked to still be the file we opened;
   if not, the path is opened again. Raw system calls: this also runs in
   the crash handler. */
static struct af_out {
	const char *path;
	unsigned long dev, ino;
} outs[2];

static int open_checked(const char *path, const char **why, struct stat *st)
{
	/* O_NONBLOCK: a FIFO planted at the path must not block the program */
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path,
			      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
				      O_NONBLOCK,
			      0644);
	if (fd < 0) {
		*why = errno == ELOOP	 ? "it is a symbolic link, which is refused"
		       : errno == ENXIO ? "it is a FIFO or socket, not a regular file or a terminal"
					: NULL; /* strerror: not in a signal handler */
		return -1;
	}
	if (syscall(SYS_fstat, fd, st) < 0 || !(S_ISREG(st->st_mode) || S_ISCHR(st->st_mode))) {
		syscall(SYS_close, fd);
		*why = "it is not a regular file or a terminal";
		return -1;
	}
	syscall(SYS_fcntl, fd, F_SETFL, O_APPEND);
	return af_fd_high(fd);
}

int af_out_open(int which, const char *path, const char **why)
{
	struct stat st;
	int fd = open_checked(path, why, &st);
	if (fd < 0) {
		if (!*why)
			*why = strerror(errno);
		return -1;
	}
	outs[which].path = path;
	outs[which].dev = st.st_dev;
	outs[which].ino = st.st_ino;
	atomic_store(which == AF_OUT_LOG ? &af_g.log_fd : &af_g.census_fd, fd);
	return fd;
}

/* strerror() is not async-signal-safe (it may translate, and allocate):
   the errors a write to a file can meet, by name. */
static const char *write_error(int err)
{
	switch (err) {
	case ENOSPC: return "No space left on device";
	case EDQUOT: return "Disk quota exceeded";
	case EFBIG: return "File too large";
	case EIO: return "Input/output error";
	case EROFS: return "Read-only file system";
	case EBADF: return "Bad file descriptor";
	default: return NULL;
	}
}

/* A log that cannot be written (a full disk) would be lost without a
   word, and the run look clean: said once per process on stderr. */
static void write_failed(int which, int err)
{
	static _Atomic int said[2];
	if (atomic_exchange(&said[which], 1))
		return;
	const char *what = which == AF_OUT_LOG ? "log" : "census", *why = write_error(err);
	if (why)
		af_say(af_g.stderr_fd, "cannot write the %s '%s': %s; its events are lost", what,
		       outs[which].path, why);
	else
		af_say(af_g.stderr_fd, "cannot write the %s '%s': error %d; its events are lost",
		       what, outs[which].path, err);
}

void af_out_write(int which, const char *s, size_t n)
{
	_Atomic int *fdp = which == AF_OUT_LOG ? &af_g.log_fd : &af_g.census_fd;
	int fd = atomic_load(fdp);
	if (fd < 0)
		return;
	struct stat st;
	if (syscall(SYS_fstat, fd, &st) < 0 || st.st_dev != outs[which].dev ||
	    st.st_ino != outs[which].ino) {
		/* not ours any more: never write into the program's file */
		const char *why;
		int nfd = open_checked(outs[which].path, &why, &st);
		if (nfd < 0)
			return;
		int expect = fd;
		if (!atomic_compare_exchange_strong(fdp, &expect, nfd)) {
			syscall(SYS_close, nfd); /* another thread was first */
			nfd = expect;
		}
		fd = nfd;
		outs[which].dev = st.st_dev;
		outs[which].ino = st.st_ino;
	}
	int err = af_write_all(fd, s, n);
	if (err)
		write_failed(which, err);
}

uint64_t af_log_next_seq(void)
{
	return atomic_fetch_add(&seq, 1) + 1;
}

static void header_seq(struct af_buf *b, const char *ev, uint64_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char name[17] = {0};
	prctl(PR_GET_NAME, name);
	af_buf_fmt(b, "{\"ev\":\"%s\",\"seq\":%llu,\"time\":%lld.%09ld,\"pid\":%d,\"tid\":%ld,\"thread\":",
		   ev, (unsigned long long)n, (long long)ts.tv_sec, ts.tv_nsec, (int)getpid(),
		   (long)syscall(SYS_gettid));
	af_buf_json(b, name);
}

static void header(struct af_buf *b, const char *ev)
{
	header_seq(b, ev, af_log_next_seq());
}

void af_resolve_frames(const uintptr_t *frames, int n)
{
	for (int i = 0; i < n; i++) {
		struct af_addr *a = af_addr_get(frames[i]);
		uintptr_t off;
		const char *file;
		int line;
		af_addr_func(a, &off);
		af_srcline(a, &file, &line);
	}
}

void af_log_frame(struct af_buf *b, uintptr_t pc)
{
	struct af_addr *a = af_addr_get(pc);
	char site[512];
	af_fmt(site, sizeof site, "%s+0x%lx", a->mod->base, (unsigned long)(pc - a->mod->bias));
	af_buf_puts(b, "{\"pc\":");
	af_buf_json(b, site);
	af_buf_puts(b, ",\"module\":");
	af_buf_json(b, a->mod->path);
	uintptr_t off;
	const char *fn = af_addr_func(a, &off);
	if (fn) {
		af_buf_puts(b, ",\"func\":");
		af_buf_json(b, fn);
		af_buf_fmt(b, ",\"off\":%lu", (unsigned long)off);
	}
	const char *file;
	int line;
	if (af_srcline(a, &file, &line) == 0) {
		af_buf_puts(b, ",\"file\":");
		af_buf_json(b, file);
		af_buf_fmt(b, ",\"line\":%d", line);
	}
	if (a->mod->runtime || a->mod->shim)
		af_buf_puts(b, ",\"runtime\":true");
	af_buf_putc(b, '}');
}

static void request(struct af_buf *b, const struct af_req *rq, const uintptr_t *frames, int n,
		    int cs)
{
	af_buf_fmt(b, ",\"fn\":\"%s\",\"size\":%zu,\"class\":\"%s\"", af_fn_names[rq->fn], rq->size,
		   af_req_costly(rq) ? "costly" : "small");
	char site[512];
	af_buf_puts(b, ",\"site\":");
	af_buf_json(b, af_site_name(frames[cs], site, sizeof site));
	int depth = af_g.pol.set.depth;
	af_buf_puts(b, ",\"stack\":[");
	/* keep room to close the line; frames that do not fit are dropped
	   whole, and the line says so */
	size_t cap = b->cap;
	b->cap = cap > 64 ? cap - 64 : cap;
	int cut = 0;
	for (int i = 0; i < n && i < depth; i++) {
		size_t mark = b->len;
		if (i)
			af_buf_putc(b, ',');
		af_log_frame(b, frames[i]);
		if (b->truncated) {
			b->len = mark;
			b->p[mark] = 0;
			b->truncated = 0;
			cut = 1;
			break;
		}
	}
	b->cap = cap;
	af_buf_putc(b, ']');
	if (cut)
		af_buf_puts(b, ",\"stack_truncated\":true");
}

static void emit(struct af_buf *b)
{
	af_buf_puts(b, "}\n");
	af_out_write(AF_OUT_LOG, b->p, b->len);
}

static void rule_name(char *buf, size_t cap, int rule)
{
	if (rule == -2)
		af_fmt(buf, cap, "allocfail_fail_nth");
	else if (rule == AF_RULE_FORK)
		af_fmt(buf, cap, "explore --fork");
	else if (rule >= 0)
		af_fmt(buf, cap, "%s:%d", af_g.pol.rules[rule]->file, af_g.pol.rules[rule]->line);
	else
		af_fmt(buf, cap, "?");
}

/* Where fd 2 ends, when it is a regular file (explore's runs): the
   stderr a process wrote after an injection lies between this at the
   injection and this at its exit. -1 when it cannot be known (a pipe, a
   terminal). */
static long long stderr_end(void)
{
	struct stat st;
	if (syscall(SYS_fstat, 2, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	return (long long)st.st_size;
}

static void name_and_stderr(struct af_buf *b)
{
	af_buf_puts(b, ",\"argv0\":");
	af_buf_json(b, program_invocation_short_name ? program_invocation_short_name : "?");
	af_buf_fmt(b, ",\"err_at\":%lld", stderr_end());
}

/* A process that took an injected failure says how it ended, so that
   explore judges the process that failed, not the command around it (a
   pipeline, a shell script, make). Registered at the first injection,
   where the log is on: glibc hands on_exit handlers the exit status. A
   process ended by a signal is told of by the crash handler; one ended by
   _exit() says nothing. */
static void on_exit_event(int status, void *arg)
{
	(void)arg;
	if (af_g.log_fd < 0)
		return;
	/* where exit() was called: explore tells by it whether an allocation
	   wrapper ended the process itself or handed its failure back */
	enum { FRAMES = 24 };
	uintptr_t frames[FRAMES];
	struct af_thread *t = &af_t;
	t->guard++; /* the walk and the names may allocate */
	int n = af_stack(__builtin_return_address(0), frames, FRAMES);
	char *line = log_buf_take();
	struct af_buf b;
	af_buf_init(&b, line, LOG_LINE - 4);
	header(&b, "exit");
	af_buf_fmt(&b, ",\"status\":%d", status & 0xff);
	name_and_stderr(&b);
	af_buf_puts(&b, ",\"stack\":[");
	for (int i = 0; i < n; i++) {
		struct af_addr *a = af_addr_get(frames[i]);
		char site[512];
		af_fmt(site, sizeof site, "%s+0x%lx", a->mod->base, (unsigned long)(frames[i] - a->mod->bias));
		if (i)
			af_buf_putc(&b, ',');
		af_buf_json(&b, site);
	}
	af_buf_putc(&b, ']');
	emit(&b);
	log_buf_give();
	t->guard--;
}

static _Atomic int exit_hooked;

/* The calling context the injecting rule named, as its site= key
   ("SITE<RA<RA..."): the call site and as many frames above it as the
   longest context of the rule's sites (the one that matched is a prefix).
   Out of line: its buffer must not weigh on every injection's frame (a
   thread's stack may be 16 KiB). */
static __attribute__((noinline)) void context_key(struct af_buf *b, const struct af_rule *r,
						  const uintptr_t *frames, int n, int cs)
{
	int depth = 0;
	for (int i = 0; i < r->nsites; i++)
		if (r->sites[i].nctx > depth)
			depth = r->sites[i].nctx;
	char key[768];
	af_context_key(key, sizeof key, frames + cs, depth + 1 < n - cs ? depth + 1 : n - cs);
	af_buf_puts(b, ",\"context\":");
	af_buf_json(b, key);
}

void af_report_injection(const struct af_req *rq, int rule, const uintptr_t *frames, int n,
			 int cs)
{
	/* the guard is held: on_exit's own allocation goes straight through */
	if (af_g.log_fd >= 0 && !atomic_exchange(&exit_hooked, 1))
		on_exit(on_exit_event, NULL);
	char rn[512];
	rule_name(rn, sizeof rn, rule);
	uint64_t sq = af_log_next_seq();
	af_crash_note(rq, rn, frames, n, cs, sq);
	af_crash_arm();
	if (!af_t.altstack)
		af_crash_thread(&af_t);
	if (af_g.log_fd >= 0) {
		char *line = log_buf_take();
		struct af_buf b;
		af_buf_init(&b, line, LOG_LINE - 4);
		header_seq(&b, "inject", sq);
		name_and_stderr(&b);
		af_buf_puts(&b, ",\"rule\":");
		af_buf_json(&b, rn);
		if (rule >= 0 && rule < af_g.pol.nrules && af_g.pol.rules[rule]->has_context)
			context_key(&b, af_g.pol.rules[rule], frames, n, cs);
		request(&b, rq, frames, n, cs);
		emit(&b);
		log_buf_give();
		return;
	}
	unsigned k = atomic_fetch_add(&stderr_injections, 1);
	if (k > STDERR_INJECTIONS)
		return;
	if (k == STDERR_INJECTIONS) {
		af_say(af_g.stderr_fd, "further injected failures are not shown; ALLOCFAIL_LOG=FILE "
				       "records them all");
		return;
	}
	char site[512];
	af_say(af_g.stderr_fd, "injected #%llu: %s(%zu) fails at %s [%s]", (unsigned long long)sq,
	       af_fn_names[rq->fn], rq->size, af_site_name(frames[cs], site, sizeof site), rn);
}

void af_report_canary(const struct af_req *rq, const uintptr_t *frames, int n, int cs,
		      unsigned tries, uint64_t ns)
{
	char site[512];
	af_say(af_g.stderr_fd,
	       "possible memory allocation deadlock: %s(%zu) at %s retried %u times for %llu ms",
	       af_fn_names[rq->fn], rq->size, af_site_name(frames[cs], site, sizeof site), tries,
	       (unsigned long long)(ns / 1000000));
	if (af_g.log_fd >= 0) {
		char *line = log_buf_take();
		struct af_buf b;
		af_buf_init(&b, line, LOG_LINE - 4);
		header(&b, "canary");
		af_buf_fmt(&b, ",\"tries\":%u,\"ms\":%llu", tries, (unsigned long long)(ns / 1000000));
		request(&b, rq, frames, n, cs);
		emit(&b);
		log_buf_give();
	}
}

void af_report_oom(const struct af_req *rq, const uintptr_t *frames, int n, int cs,
		   unsigned tries, uint64_t ns, int action)
{
	static const char *const names[] = {"abort", "fail", "wait"};
	char site[512];
	if (action != AF_OOM_ABORT) /* abort prints its own report */
		af_say(af_g.stderr_fd, "out of memory: %s(%zu) at %s still failing after %u tries; "
				       "oom=%s",
		       af_fn_names[rq->fn], rq->size, af_site_name(frames[cs], site, sizeof site),
		       tries, names[action]);
	if (af_g.log_fd >= 0) {
		char *line = log_buf_take();
		struct af_buf b;
		af_buf_init(&b, line, LOG_LINE - 4);
		header(&b, "oom");
		af_buf_fmt(&b, ",\"action\":\"%s\",\"tries\":%u,\"ms\":%llu", names[action], tries,
			   (unsigned long long)(ns / 1000000));
		if (af_g.mode & AF_M_LIMIT)
			af_buf_fmt(&b, ",\"live\":%lld,\"limit\":%llu", (long long)af_limit_live(),
				   (unsigned long long)af_g.pol.set.limit);
		request(&b, rq, frames, n, cs);
		emit(&b);
		log_buf_give();
	}
}

static _Atomic unsigned stderr_impossible;

void af_report_impossible(const struct af_req *rq, const uintptr_t *frames, int n, int cs,
			  const char *why, const char *semantics)
{
	if (af_g.log_fd >= 0) {
		char *line = log_buf_take();
		struct af_buf b;
		af_buf_init(&b, line, LOG_LINE - 4);
		header(&b, "impossible");
		af_buf_puts(&b, ",\"why\":");
		af_buf_json(&b, why);
		af_buf_fmt(&b, ",\"instead_of\":\"%s\"", semantics);
		request(&b, rq, frames, n, cs);
		emit(&b);
		log_buf_give();
		return;
	}
	/* the first one: a loop of them would bury the program's own output */
	if (atomic_fetch_add(&stderr_impossible, 1))
		return;
	char site[512];
	af_say(af_g.stderr_fd,
	       "%s(%zu) at %s can never succeed (%s): failed at once, not retried as %s "
	       "would (ALLOCFAIL_LOG=FILE records every such request)",
	       af_fn_names[rq->fn], rq->size, af_site_name(frames[cs], site, sizeof site), why,
	       semantics);
}

void af_report_seed(uint64_t seed)
{
	if (af_g.log_fd >= 0) {
		char line[512];
		struct af_buf b;
		af_buf_init(&b, line, LOG_LINE - 4);
		header(&b, "seed");
		af_buf_fmt(&b, ",\"seed\":%llu", (unsigned long long)seed);
		emit(&b);
	} else {
		af_say(af_g.stderr_fd, "random seed %llu (ALLOCFAIL_SEED=%llu repeats this run)",
		       (unsigned long long)seed, (unsigned long long)seed);
	}
}
