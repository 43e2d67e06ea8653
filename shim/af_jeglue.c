/* af_jeglue.c - what jemalloc's archive asks of the rest of the system,
   given to it on the shim's terms. jemalloc-rename.sh renames its
   references to the functions below.

   - log, exp, round, _Unwind_Backtrace, _Unwind_GetIP: so that the shim
     needs neither libm nor libgcc_s, two libraries (and libgcc_s's
     cpuid-probing constructor) fewer in every process it is preloaded
     into. All five are used only by jemalloc's heap profiler
     (MALLOC_CONF=prof:true), whose backtraces come from libunwind here
     (the constructor loads it when the profiler is on).
   - mmap, without MAP_NORESERVE (see there).
   - errno, and every libc call of jemalloc's that can set it: jemalloc
     keeps an errno of its own, so that it never changes the program's.
     free() must leave errno alone (POSIX 2024; glibc does since 2.33), and
     jemalloc's free purges pages with madvise, which can fail (measured:
     Debian's libjemalloc.so.2 changed errno in 2000 of 2000 frees when
     madvise failed, tests/progs/errnokeep.c). With jemalloc's errno apart,
     free() is a tail call into jemalloc, not a call that saves and restores
     errno around it: 1.2 ns of a 13 ns malloc/free pair
     (docs/performance.md). jemalloc's own reads of errno (its messages
     after a failed munmap, say) see what the failed call set. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "af.h"
#include "af_addr.h"
#include "af_math.h"

/* ---- jemalloc's own errno ------------------------------------------------ */

static AF_TLS int je_errno;

int *afje_errno_location(void);
int *afje_errno_location(void)
{
	return &je_errno;
}

/* Calls libc; what it leaves in errno becomes jemalloc's, and the
   program's errno is as it was. */
#define JE_CALL(type, call)                                                                    \
	do {                                                                                   \
		int saved_ = errno;                                                            \
		type r_ = call;                                                                \
		je_errno = errno;                                                              \
		errno = saved_;                                                                \
		return r_;                                                                     \
	} while (0)

#define JE_SYS(type, name, params, args)                                                       \
	type afje_sys_##name params;                                                           \
	type afje_sys_##name params                                                            \
	{                                                                                      \
		JE_CALL(type, name args);                                                      \
	}

/* Without MAP_NORESERVE, which jemalloc adds when the kernel overcommits:
   glibc's malloc maps without it, so that the kernel's heuristic refuses a
   mapping no memory could ever back, and malloc(64 TiB) or
   memalign(1 << 40, 10) is NULL, not a block that faults when touched.
   Only jemalloc's mappings of new address space come here; when one of
   its growths is refused it maps the request's own size. */
void *afje_sys_mmap(void *a, size_t n, int prot, int fl, int fd, off_t off);
void *afje_sys_mmap(void *a, size_t n, int prot, int fl, int fd, off_t off)
{
	JE_CALL(void *, mmap(a, n, prot, fl & ~MAP_NORESERVE, fd, off));
}
JE_SYS(int, munmap, (void *a, size_t n), (a, n))
JE_SYS(int, madvise, (void *a, size_t n, int advice), (a, n, advice))
JE_SYS(int, mprotect, (void *a, size_t n, int prot), (a, n, prot))
JE_SYS(void *, sbrk, (intptr_t n), (n))
JE_SYS(int, close, (int fd), (fd))
JE_SYS(int, creat, (const char *path, mode_t mode), (path, mode))
JE_SYS(ssize_t, readlink, (const char *path, char *buf, size_t n), (path, buf, n))
JE_SYS(long, sysconf, (int name), (name))
JE_SYS(int, clock_gettime, (clockid_t c, struct timespec *ts), (c, ts))
JE_SYS(int, gettimeofday, (struct timeval *tv, void *tz), (tv, tz))
JE_SYS(int, sched_getcpu, (void), ())
JE_SYS(int, sched_getaffinity, (pid_t pid, size_t n, cpu_set_t *set), (pid, n, set))
JE_SYS(int, sched_setaffinity, (pid_t pid, size_t n, const cpu_set_t *set), (pid, n, set))
JE_SYS(char *, secure_getenv, (const char *name), (name))
JE_SYS(char *, strerror_r, (int e, char *buf, size_t n), (e, buf, n))
JE_SYS(void *, dlsym, (void *h, const char *name), (h, name))
JE_SYS(int, pthread_create,
       (pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg),
       (t, attr, fn, arg))
JE_SYS(int, pthread_join, (pthread_t t, void **ret), (t, ret))
JE_SYS(int, pthread_setname_np, (pthread_t t, const char *name), (t, name))
JE_SYS(int, pthread_getname_np, (pthread_t t, char *name, size_t n), (t, name, n))

int afje_sys_open(const char *path, int flags, ...);
int afje_sys_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	JE_CALL(int, open(path, flags, mode));
}

/* jemalloc calls syscall() with at most three arguments (read, write,
   open, close, madvise); six are passed on, as the kernel takes them. */
long afje_sys_syscall(long nr, ...);
long afje_sys_syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	JE_CALL(long, syscall(nr, a, b, c, d, e, f));
}

/* ---- libm and libgcc_s, for the heap profiler ----------------------------- */

double afje_log(double x);
double afje_exp(double x);
double afje_round(double x);
int afje_unwind_backtrace(int (*fn)(void *ctx, void *arg), void *arg);
uintptr_t afje_unwind_getip(void *ctx);

double afje_log(double x)
{
	return af_ln(x);
}

double afje_exp(double x)
{
	return af_exp(x);
}

double afje_round(double x)
{
	return af_round(x);
}

/* _Unwind_Backtrace's contract as jemalloc uses it: fn is called for each
   frame, innermost first, until it returns something other than
   _URC_NO_REASON (0); the context it gets is only passed back to
   _Unwind_GetIP. Here a context is the address of a frame's pc. */
#define AF_URC_END_OF_STACK 5

int afje_unwind_backtrace(int (*fn)(void *ctx, void *arg), void *arg)
{
	uintptr_t pcs[AF_MAX_FRAMES];
	int n = af_unw_backtrace ? af_unw_backtrace((void **)pcs, AF_MAX_FRAMES) : 0;
	for (int i = 0; i < n; i++)
		if (fn(&pcs[i], arg) != 0)
			break;
	return AF_URC_END_OF_STACK;
}

uintptr_t afje_unwind_getip(void *ctx)
{
	return *(const uintptr_t *)ctx;
}
