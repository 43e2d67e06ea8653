/* af_crash.c - crash attribution. After the first injected failure, a
   handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT records the
   signal, the fault address, the crash stack (raw module+offset; the
   command symbolizes it later) and the most recent injections, both in the
   log and as a short block on stderr. It runs on an alternate stack, uses
   only pre-formatted data, lock-free lookups and write(2), then hands the
   signal to whatever handler was there before (the program's, or the
   default) so that exit status and core dumps are unchanged.
   The handler is installed at an injection, never before: a process in
   which nothing was injected keeps its signal dispositions untouched. If
   the program installs its own handler later, the next injection puts
   ours back in front of it.
   A fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE raised by an instruction) that
   the program has a handler for goes to that handler first, called from
   ours: a garbage collector's or a JIT's guard page is handled there and
   the instruction then runs; it is a crash only when the handler leaves
   the process to die (it restored the default) or the same fault comes
   back three times in a row. A process reports one crash: the first
   thread to crash writes the report, one that crashes meanwhile waits for
   it to be written, and once it is, no injection installs the handler
   again (in the moment between handing the signal on and the instruction
   faulting again, another thread's injection had put it back, and the
   crash was reported once more each time). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "af.h"
#include "af_addr.h"
#include "af_crash.h"
#include "af_log.h"
#include "af_fmt.h"

static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define NSIGS 5
static struct sigaction prev[NSIGS];
static int installed[NSIGS];
_Atomic int af_crash_armed;
static pthread_mutex_t crash_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic pid_t reporter;    /* the thread that writes the report */
static _Atomic int report_written;
static _Atomic int handed_over;   /* a crash was reported: never arm again */

/* this thread's last fault that went to the program's handler */
static AF_TLS struct {
	uintptr_t pc, addr;
	int sig, times;
} last_fault;

/* The most recent injections, formatted when they happen. */
#define RECENT 4
struct recent {
	_Atomic unsigned gen; /* odd while being written */
	uint64_t seq;
	pid_t tid;
	char what[600];  /* "malloc(48) at prog+0x1234 (parse_record reader.c:51) [rules:3]" */
	char stack[2048]; /* "prog+0x1234 parse_record | prog+0x1300 main | ..." */
};
static struct recent recent[RECENT];
static _Atomic unsigned recent_next;

static const char *signame(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGABRT: return "SIGABRT";
	}
	return "signal";
}

/* ---- per-thread alternate stacks ---------------------------------------- */

#define ALTSTACK_SIZE (64 * 1024)
static pthread_key_t altstack_key;
static int altstack_key_ok;

static void altstack_free(void *p)
{
	stack_t off = {.ss_flags = SS_DISABLE};
	stack_t cur;
	if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == p)
		sigaltstack(&off, NULL);
	munmap(p, ALTSTACK_SIZE);
}

void af_crash_thread(struct af_thread *t)
{
	t->altstack = 1;
	stack_t cur;
	if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
		return; /* the program has one: keep it */
	void *m = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	if (m == MAP_FAILED)
		return;
	stack_t ss = {.ss_sp = m, .ss_size = ALTSTACK_SIZE};
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(m, ALTSTACK_SIZE);
		return;
	}
	if (altstack_key_ok)
		pthread_setspecific(altstack_key, m);
}

/* ---- recording an injection --------------------------------------------- */

static void frame_text(struct af_buf *b, uintptr_t pc)
{
	struct af_addr *a = af_addr_get(pc);
	af_buf_fmt(b, "%s+0x%lx", a->mod->base, (unsigned long)(pc - a->mod->bias));
	uintptr_t off;
	const char *fn = af_addr_func(a, &off);
	if (fn)
		af_buf_fmt(b, " %s", fn);
	const char *file;
	int line;
	if (af_srcline(a, &file, &line) == 0) {
		const char *slash = strrchr(file, '/');
		af_buf_fmt(b, " (%s:%d)", slash ? slash + 1 : file, line);
	}
}

void af_crash_note(const struct af_req *rq, const char *rule, const uintptr_t *frames, int n,
		   int cs, uint64_t seq)
{
	unsigned k = atomic_fetch_add(&recent_next, 1) % RECENT;
	struct recent *r = &recent[k];
	atomic_fetch_add(&r->gen, 1);
	r->seq = seq;
	r->tid = (pid_t)syscall(SYS_gettid);
	struct af_buf b;
	af_buf_init(&b, r->what, sizeof r->what);
	af_buf_fmt(&b, "%s(%zu) at ", af_fn_names[rq->fn], rq->size);
	frame_text(&b, frames[cs]);
	af_buf_fmt(&b, " [%s]", rule);
	af_buf_init(&b, r->stack, sizeof r->stack);
	for (int i = 0; i < n && i < 12; i++) {
		if (i)
			af_buf_puts(&b, " | ");
		frame_text(&b, frames[i]);
	}
	atomic_fetch_add(&r->gen, 1);
}

/* ---- the handler ---------------------------------------------------------- */

extern int _dl_find_object(void *, struct dl_find_object *) __attribute__((weak));

/* Module of pc by the lock-free, async-signal-safe _dl_find_object. */
static const char *peek_module(uintptr_t pc, uintptr_t *off)
{
	struct dl_find_object fo;
	if (!_dl_find_object || _dl_find_object((void *)pc, &fo) != 0)
		return NULL;
	struct link_map *lm = fo.dlfo_link_map;
	*off = pc - (lm ? lm->l_addr : 0);
	return lm && lm->l_name && lm->l_name[0] ? lm->l_name : af_g.exe;
}

/* pc lies in this library (jemalloc included) or in the libunwind it
   loaded: a crash there is the program's bad free or realloc more often
   than not, or its stack overflowing while the shim walked it, and its
   site is the caller's. _dl_find_object is lock-free, fine in a signal
   handler. */
static int in_shim(uintptr_t pc)
{
	struct dl_find_object fo, self;
	if (!_dl_find_object || _dl_find_object((void *)pc, &fo) != 0)
		return 0;
	if (af_unw_link_map && fo.dlfo_link_map == af_unw_link_map)
		return 1;
	return _dl_find_object((void *)&in_shim, &self) == 0 && fo.dlfo_link_map == self.dlfo_link_map;
}

/* A SIGSEGV at an address near the stack pointer: the stack ran out (its
   guard page, or the main thread's limit). 64 KiB covers the largest frame
   a compiler allocates before touching it without probes. */
#define AF_OVERFLOW_REACH ((uintptr_t)64 << 10)

static int stack_overflow(int sig, const siginfo_t *si, const void *uc)
{
	if (sig != SIGSEGV)
		return 0;
	uintptr_t sp = (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RSP];
	uintptr_t a = (uintptr_t)si->si_addr;
	return a < sp ? sp - a <= AF_OVERFLOW_REACH : a - sp <= AF_OVERFLOW_REACH;
}

static void peek_site(struct af_buf *b, uintptr_t pc)
{
	uintptr_t off;
	const char *path = peek_module(pc, &off);
	if (!path) {
		af_buf_fmt(b, "0x%lx", (unsigned long)pc);
		return;
	}
	const char *base = strrchr(path, '/');
	af_buf_fmt(b, "%s+0x%lx", base ? base + 1 : path, (unsigned long)off);
}

static int peek_frame(struct af_buf *b, uintptr_t pc, int exact)
{
	uintptr_t off;
	const char *path = peek_module(pc, &off);
	if (!path) {
		af_buf_fmt(b, "{\"pc\":\"0x%lx\"", (unsigned long)pc);
		return 0;
	}
	char site[512];
	struct af_buf sb;
	af_buf_init(&sb, site, sizeof site);
	peek_site(&sb, pc);
	af_buf_puts(b, "{\"pc\":");
	af_buf_json(b, site);
	af_buf_puts(b, ",\"module\":");
	af_buf_json(b, path);
	const char *fn = af_addr_peek_func(pc, exact);
	if (fn) {
		af_buf_puts(b, ",\"func\":");
		af_buf_json(b, fn);
	}
	if (exact)
		af_buf_puts(b, ",\"fault\":true");
	return 1;
}

static int crash_stack(void *uc, uintptr_t *pcs, int max)
{
	int n = af_unwind_signal(uc, pcs, max);
	if (n > 0)
		return n;
	pcs[0] = (uintptr_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	return 1;
}

/* The crash record in the log and the block on stderr. */
static void report(int sig, siginfo_t *si, void *uc)
{
	{
		uintptr_t pcs[64];
		int n = crash_stack(uc, pcs, 64);
		unsigned long after = af_t.since_injection;
		int overflow = stack_overflow(sig, si, uc);
		/* the crash site: the first frame outside the C runtime and the
		   shim, as for allocation call sites */
		int cs = 0;
		for (int i = 0; i < n; i++) {
			uintptr_t off;
			const char *path = peek_module(pcs[i], &off);
			if (path && !af_is_runtime_path(path) && !in_shim(pcs[i])) {
				cs = i;
				break;
			}
		}
		char name[17] = {0};
		prctl(PR_GET_NAME, name);

		/* the log: one line */
		if (af_g.log_fd >= 0) {
			static char line[16384];
			struct af_buf b;
			af_buf_init(&b, line, sizeof line - 64);
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			af_buf_fmt(&b,
				   "{\"ev\":\"crash\",\"seq\":%llu,\"time\":%lld.%09ld,\"pid\":%d,"
				   "\"tid\":%ld,\"thread\":",
				   (unsigned long long)af_log_next_seq(), (long long)ts.tv_sec,
				   ts.tv_nsec, (int)getpid(), (long)syscall(SYS_gettid));
			af_buf_json(&b, name);
			af_buf_fmt(&b, ",\"signal\":\"%s\",\"signo\":%d,\"code\":%d,\"addr\":\"%p\"",
				   signame(sig), sig, si->si_code, si->si_addr);
			if (overflow)
				af_buf_puts(&b, ",\"overflow\":true");
			if (af_t.injected)
				af_buf_fmt(&b, ",\"after\":%lu", after);
			else /* nothing was injected on this thread */
				af_buf_puts(&b, ",\"after\":null");
			af_buf_fmt(&b, ",\"crash_site\":%d,\"stack\":[", cs);
			for (int i = 0; i < n; i++) {
				size_t mark = b.len;
				if (i)
					af_buf_putc(&b, ',');
				peek_frame(&b, pcs[i], i == 0);
				af_buf_putc(&b, '}');
				if (b.truncated) {
					b.len = mark;
					b.truncated = 0;
					break;
				}
			}
			af_buf_puts(&b, "],\"recent\":[");
			int first = 1;
			for (unsigned i = 0; i < RECENT; i++) {
				struct recent *r = &recent[i];
				unsigned g = atomic_load(&r->gen);
				if (!r->seq || (g & 1))
					continue;
				af_buf_fmt(&b, "%s%llu", first ? "" : ",", (unsigned long long)r->seq);
				first = 0;
			}
			b.cap += 64;
			af_buf_puts(&b, "]}\n");
			af_out_write(AF_OUT_LOG, line, b.len);
		}

		/* stderr: a short block */
		char where[600];
		struct af_buf w;
		af_buf_init(&w, where, sizeof where);
		const char *fn = af_addr_peek_func(pcs[cs], cs == 0);
		if (fn)
			af_buf_fmt(&w, "%s ", fn);
		af_buf_putc(&w, '(');
		peek_site(&w, pcs[cs]);
		af_buf_putc(&w, ')');
		if (cs > 0) {
			const char *top = af_addr_peek_func(pcs[0], 1);
			if (top)
				af_buf_fmt(&w, " via %s", top);
		}
		int fd = af_g.stderr_fd;
		char detail[64];
		if (overflow)
			af_fmt(detail, sizeof detail, "stack overflow at %p", si->si_addr);
		else if (sig == SIGSEGV || sig == SIGBUS)
			af_fmt(detail, sizeof detail, "address %p", si->si_addr);
		else
			af_fmt(detail, sizeof detail, "code %d", si->si_code);
		if (!af_t.injected)
			af_say(fd, "%s (%s) in %s, on a thread where no failure was injected "
				   "(there was one on another thread)",
			       signame(sig), detail, where);
		else if (after >= AF_COUNT_MAX)
			af_say(fd, "%s (%s) in %s, more than %d allocations after an injected failure "
				   "on this thread",
			       signame(sig), detail, where, AF_COUNT_MAX);
		else
			af_say(fd, "%s (%s) in %s, %lu allocation%s after an injected failure on this "
				   "thread",
			       signame(sig), detail, where, after, after == 1 ? "" : "s");
		unsigned last = atomic_load(&recent_next);
		for (unsigned i = 0; i < RECENT && i < last; i++) {
			struct recent *r = &recent[(last - 1 - i) % RECENT];
			unsigned g = atomic_load(&r->gen);
			if (g & 1)
				continue;
			af_say(fd, "  injected #%llu%s: %s", (unsigned long long)r->seq,
			       r->tid == (pid_t)syscall(SYS_gettid) ? "" : " (another thread)", r->what);
			if (i == 0)
				af_say(fd, "    injection stack: %s", r->stack);
		}
		char stack[1024];
		struct af_buf s;
		af_buf_init(&s, stack, sizeof stack);
		for (int i = 0; i < n && i < 8; i++) {
			if (i)
				af_buf_puts(&s, " | ");
			peek_site(&s, pcs[i]);
			const char *f = af_addr_peek_func(pcs[i], i == 0);
			if (f)
				af_buf_fmt(&s, " %s", f);
		}
		af_say(fd, "  crash stack: %s", stack);
		if (af_g.log_fd >= 0)
			af_say(fd, "  (allocfail report LOG shows both stacks with file:line)");
	}
}

/* The first thread to get here reports; any other waits until the report
   is written (its signal's default action would end the process in the
   middle of it). A thread crashing again inside its own report does not
   wait for itself. */
static void report_once(int sig, siginfo_t *si, void *uc)
{
	pid_t me = (pid_t)syscall(SYS_gettid), first = 0;
	if (atomic_compare_exchange_strong(&reporter, &first, me)) {
		atomic_store(&handed_over, 1);
		report(sig, si, uc);
		atomic_store(&report_written, 1);
		return;
	}
	if (first == me)
		return;
	struct timespec ms = {0, 1000000};
	while (!atomic_load(&report_written))
		nanosleep(&ms, NULL);
}

static int is_function(const struct sigaction *sa)
{
	return !(sa->sa_flags & SA_SIGINFO) && (sa->sa_handler == SIG_DFL || sa->sa_handler == SIG_IGN)
		       ? 0
		       : sa->sa_sigaction != NULL;
}

/* The program's handler, called as the kernel would have: its mask added
   to the one at the fault, the signal itself blocked unless SA_NODEFER,
   the default restored first under SA_RESETHAND. */
static void call_program(const struct sigaction *p, int sig, siginfo_t *si, void *uc)
{
	sigset_t m = ((ucontext_t *)uc)->uc_sigmask, old;
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&p->sa_mask, s) == 1)
			sigaddset(&m, s);
	if (!(p->sa_flags & SA_NODEFER))
		sigaddset(&m, sig);
	if (p->sa_flags & SA_RESETHAND) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigaction(sig, &dfl, NULL);
	}
	pthread_sigmask(SIG_SETMASK, &m, &old);
	if (p->sa_flags & SA_SIGINFO)
		p->sa_sigaction(sig, si, uc);
	else
		p->sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The same fault as the last one on this thread, for the third time in a
   row: the program's handler returned without curing it. */
static int fault_persists(int sig, const siginfo_t *si, const void *uc)
{
	uintptr_t pc = (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	uintptr_t addr = (uintptr_t)si->si_addr;
	if (last_fault.sig == sig && last_fault.pc == pc && last_fault.addr == addr)
		return ++last_fault.times >= 3;
	last_fault.sig = sig;
	last_fault.pc = pc;
	last_fault.addr = addr;
	last_fault.times = 1;
	return 0;
}

static void handler(int sig, siginfo_t *si, void *uc)
{
	int idx = 0;
	while (idx < NSIGS && sigs[idx] != sig)
		idx++;
	int saved = errno;
	struct sigaction p = prev[idx];
	int fault = si->si_code > 0 && sig != SIGABRT;
	if (fault && is_function(&p) && !atomic_load(&handed_over) && !fault_persists(sig, si, uc)) {
		call_program(&p, sig, si, uc);
		struct sigaction cur;
		sigaction(sig, NULL, &cur);
		if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == handler) {
			/* handled (the instruction now runs), or it comes back */
			errno = saved;
			return;
		}
		/* the program put a disposition of its own: a handler of its
		   takes the fault from here; the default ends the process when
		   the instruction faults again, and that is the crash */
		installed[idx] = 0;
		if (is_function(&cur)) {
			errno = saved;
			return;
		}
		report_once(sig, si, uc);
		errno = saved;
		return;
	}
	report_once(sig, si, uc);
	/* hand the signal on: restore what was there and let it act */
	sigaction(sig, &p, NULL);
	installed[idx] = 0;
	if (si->si_code <= 0 || sig == SIGABRT) {
		/* sent (raise, kill, abort): send it again; it is delivered with
		   the restored disposition once this handler returns */
		syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
	}
	/* a fault re-executes the instruction and faults again */
	errno = saved;
}

/* In a forked child: another thread may have held the lock at the fork. */
void af_crash_atfork_child(void)
{
	pthread_mutex_init(&crash_lock, NULL);
	atomic_store(&reporter, 0);
	atomic_store(&report_written, 0);
	atomic_store(&handed_over, 0);
}

void af_crash_arm(void)
{
	if (atomic_load(&handed_over))
		return; /* the crash is reported and the signal handed on */
	pthread_mutex_lock(&crash_lock);
	if (!altstack_key_ok)
		altstack_key_ok = pthread_key_create(&altstack_key, altstack_free) == 0;
	for (int i = 0; i < NSIGS; i++) {
		struct sigaction cur;
		if (sigaction(sigs[i], NULL, &cur) != 0)
			continue;
		if (installed[i] && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == handler)
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = handler;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigfillset(&sa.sa_mask);
		if (sigaction(sigs[i], &sa, &prev[i]) == 0)
			installed[i] = 1;
	}
	atomic_store(&af_crash_armed, 1);
	pthread_mutex_unlock(&crash_lock);
}
