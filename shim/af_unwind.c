/* af_unwind.c - stack capture with libunwind, loaded with
   dlopen(RTLD_LOCAL) from the shim's constructor: linked normally, Debian's
   libunwind.so.8 would enter the global scope, where its _Unwind_* and
   backtrace() could take over the program's C++ exceptions and backtrace().
   Only unw_backtrace is used on the allocation path (its per-thread trace
   cache makes it ~10 ns a frame warm); names are never asked of libunwind. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/stat.h>

#include "af.h"
#include "af_addr.h"
#include "af_log.h"

/* From libunwind-common.h: the caching policy values. */
#define AF_UNW_CACHE_PER_THREAD 2

int (*af_unw_backtrace)(void **, int);
void *af_unw_link_map;
#define p_backtrace af_unw_backtrace
static int (*p_init_local2)(void *cursor, void *uc, int flag);
static int (*p_getcontext)(void *uc);
static int can_step; /* everything step_backtrace and walk call was found */
static int (*p_step)(void *cursor);
static int (*p_get_reg)(void *cursor, int reg, uint64_t *val);

/* libunwind tests addresses by writing them into a pipe it keeps open in
   a static int[2], made by its first setup (the caching policy's call
   below). pipe2 takes the lowest free numbers: 3 and 4, shifting the
   program's own numbering, or 0-2 left closed. The pipe is moved from
   AF_FD_HIGH up: its variable is the one pair of ints in libunwind's
   initialized data that went from {-1, -1} to two new pipe ends. */
#define PIPE_SCAN 4096 /* ints of initialized data looked at */

struct data_seg {
	uintptr_t base, lo, hi;
};

static int find_data(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct data_seg *d = arg;
	if (info->dlpi_addr != d->base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
			d->lo = (d->base + ph->p_vaddr + 3) & ~(uintptr_t)3;
			d->hi = d->base + ph->p_vaddr + ph->p_filesz;
			return 1;
		}
	}
	return 1;
}

static int is_pipe(int fd)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void setup_moving_pipe(void (*setup)(void *), void *arg)
{
	struct data_seg d = {af_unw_link_map ? ((struct link_map *)af_unw_link_map)->l_addr : 0, 0, 0};
	if (!af_unw_link_map || !dl_iterate_phdr(find_data, &d) || d.hi <= d.lo) {
		setup(arg);
		return;
	}
	int *v = (int *)d.lo;
	size_t n = (d.hi - d.lo) / sizeof(int);
	if (n > PIPE_SCAN)
		n = PIPE_SCAN;
	unsigned char was[PIPE_SCAN / 8] = {0}; /* v[i], v[i+1] were -1, -1 */
	for (size_t i = 0; i + 1 < n; i++)
		if (v[i] == -1 && v[i + 1] == -1)
			was[i / 8] |= (unsigned char)(1u << (i % 8));
	setup(arg);
	int *pair = NULL;
	for (size_t i = 0; i + 1 < n; i++) {
		if (!(was[i / 8] & (1u << (i % 8))) || v[i] < 0 || v[i + 1] < 0 || v[i] == v[i + 1] ||
		    !is_pipe(v[i]) || !is_pipe(v[i + 1]))
			continue;
		if (pair)
			return; /* two candidates: leave it be */
		pair = &v[i];
	}
	if (!pair)
		return;
	for (int k = 0; k < 2; k++)
		pair[k] = af_fd_high(pair[k]);
}

static void set_caching(void *h)
{
	int (*policy)(void *, int) = (int (*)(void *, int))dlsym(h, "_ULx86_64_set_caching_policy");
	void **as = dlsym(h, "_ULx86_64_local_addr_space");
	if (policy && as)
		policy(*as, AF_UNW_CACHE_PER_THREAD);
}

int af_unwind_init(void)
{
	if (p_backtrace)
		return 0;
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -1;
	if (dlinfo(h, RTLD_DI_LINKMAP, &af_unw_link_map) != 0)
		af_unw_link_map = NULL;
	setup_moving_pipe(set_caching, h);
	p_backtrace = (int (*)(void **, int))dlsym(h, "unw_backtrace");
	*(void **)&p_init_local2 = dlsym(h, "_ULx86_64_init_local2");
	*(void **)&p_getcontext = dlsym(h, "_Ux86_64_getcontext");
	*(void **)&p_step = dlsym(h, "_ULx86_64_step");
	*(void **)&p_get_reg = dlsym(h, "_ULx86_64_get_reg");
	can_step = p_getcontext && p_init_local2 && p_step && p_get_reg;
	return p_backtrace ? 0 : -1;
}

/* From libunwind-x86_64.h: the signal-frame flag of unw_init_local2 and
   the register number of the instruction pointer (the cursor's and the
   context's sizes are in af.h). */
#define AF_UNW_INIT_SIGNAL_FRAME 1
#define AF_UNW_X86_64_RIP 16

/* unw_backtrace's fast path keeps a per-thread trace cache of 256 KiB,
   initialized in full on a thread's first call: 64 page faults, which is a
   large part of a short run's cost when it only needs a stack or two (a
   call site reached through the C runtime, an injection's log line). A
   thread's first stacks are taken frame by frame instead, through
   libunwind's small DWARF cache; a thread that keeps asking gets the fast
   path. Both give the same frames. */
#define AF_STEPPED_STACKS 64
static AF_TLS unsigned stepped;

/* The instruction pointers from an initialized cursor on. */
static int walk(uint64_t *cursor, uintptr_t *out, int max)
{
	int n = 0;
	do {
		uint64_t ip;
		if (p_get_reg(cursor, AF_UNW_X86_64_RIP, &ip) < 0 || ip == 0)
			break;
		out[n++] = (uintptr_t)ip;
	} while (n < max && p_step(cursor) > 0);
	return n;
}

static int step_backtrace(struct af_unw_scratch *u, int max)
{
	if (p_getcontext(u->ctx) < 0 || p_init_local2(u->cursor, u->ctx, 0) < 0)
		return 0;
	return walk(u->cursor, u->buf, max);
}

static int stack_with(struct af_unw_scratch *u, void *ra, uintptr_t *out, int max)
{
	int want = max + 16 < AF_MAX_FRAMES + 16 ? max + 16 : AF_MAX_FRAMES + 16;
	int n;
	if (stepped < AF_STEPPED_STACKS && can_step) {
		stepped++;
		n = step_backtrace(u, want);
	} else {
		n = p_backtrace((void **)u->buf, want);
	}
	/* the shim's own frames come first; the caller's starts at ra */
	int i = 0;
	while (i < n && u->buf[i] != (uintptr_t)ra)
		i++;
	if (i == n)
		return 1;
	int k = 0;
	for (; i < n && k < max; i++)
		out[k++] = u->buf[i];
	return k;
}

/* Without the thread's walk caches (out of memory, past its exit
   destructor): the scratch on the stack, in a frame of its own. */
static __attribute__((noinline)) int stack_local(void *ra, uintptr_t *out, int max)
{
	struct af_unw_scratch u;
	return stack_with(&u, ra, out, max);
}

/* The scratch (context, cursor, trace) is the thread's, in its walk
   caches, not on the program's stack, which may be a small thread's:
   callers hold the guard, so that nothing on this thread unwinds into it
   meanwhile. */
static struct af_unw_scratch *scratch(void)
{
	struct af_walks *w = af_t.walks;
	return w ? &w->unw : NULL;
}

int af_stack(void *ra, uintptr_t *out, int max)
{
	out[0] = (uintptr_t)ra;
	if (!p_backtrace || max <= 1)
		return 1;
	struct af_unw_scratch *u = scratch();
	return u ? stack_with(u, ra, out, max) : stack_local(ra, out, max);
}

/* The stack of a signal's ucontext, from the faulting instruction on.
   libunwind's local unwinding is async-signal-safe. 0 if unavailable. */
int af_unwind_signal(void *uc, uintptr_t *out, int max)
{
	if (!p_init_local2 || !p_step || !p_get_reg)
		return 0;
	uint64_t cursor[AF_UNW_CURSOR_WORDS];
	if (p_init_local2(cursor, uc, AF_UNW_INIT_SIGNAL_FRAME) < 0)
		return 0;
	return walk(cursor, out, max);
}

/* From libunwind-x86_64.h: the stack pointer's register number. */
#define AF_UNW_X86_64_RSP 7

static int check_with(struct af_unw_scratch *u, uintptr_t pc, uintptr_t sp, int32_t cfa_off,
		      int32_t ra_off)
{
	void *cursor = u->cursor;
	if (p_getcontext(u->ctx) < 0 || p_init_local2(cursor, u->ctx, 0) < 0)
		return 0;
	for (int i = 0; i < AF_MAX_FRAMES; i++) {
		uint64_t ip, rsp;
		if (p_get_reg(cursor, AF_UNW_X86_64_RIP, &ip) < 0 || p_get_reg(cursor, AF_UNW_X86_64_RSP, &rsp) < 0)
			return 0;
		if (rsp > sp)
			return 0; /* past it: the stack grows down */
		if (ip == pc && rsp == sp) {
			if (cfa_off == 0) /* the rule says: the outermost frame */
				return p_step(cursor) == 0;
			uintptr_t cfa = sp + (uintptr_t)(intptr_t)cfa_off;
			if (p_step(cursor) <= 0 || p_get_reg(cursor, AF_UNW_X86_64_RIP, &ip) < 0 ||
			    p_get_reg(cursor, AF_UNW_X86_64_RSP, &rsp) < 0)
				return 0;
			return rsp == cfa && ip == *(const uintptr_t *)(cfa + (uintptr_t)(intptr_t)ra_off);
		}
		if (p_step(cursor) <= 0)
			return 0;
	}
	return 0;
}

static __attribute__((noinline)) int check_local(uintptr_t pc, uintptr_t sp, int32_t cfa_off,
						 int32_t ra_off)
{
	struct af_unw_scratch u;
	return check_with(&u, pc, sp, cfa_off, ra_off);
}

int af_unwind_check(uintptr_t pc, uintptr_t sp, int32_t cfa_off, int32_t ra_off)
{
	if (!can_step)
		return 0;
	struct af_unw_scratch *u = scratch();
	return u ? check_with(u, pc, sp, cfa_off, ra_off) : check_local(pc, sp, cfa_off, ra_off);
}
