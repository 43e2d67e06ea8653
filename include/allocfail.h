/* allocfail.h - let a program steer allocfail from inside.
 *
 * Every function here works whether or not liballocfail.so is loaded: the
 * calls go through weak references (in position-independent code) or a
 * cached dlsym() lookup (in non-PIE code, where the linker would resolve a
 * weak reference to 0 for good), and without the shim they do nothing and
 * return the neutral value documented with each. So the annotations can
 * stay in production code; nothing needs to be linked (glibc 2.34 and later
 * have dlsym in libc; pkg-config's `allocfail` adds -ldl for older ones).
 *
 * Thread scope: scopes, reservations and the fail-nth hook apply to the
 * calling thread only. Errors: functions that can fail return a negative
 * errno value.
 */
#ifndef ALLOCFAIL_H
#define ALLOCFAIL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The shim's entry points. Call the static inline functions below, which
 * check that the shim is there first. */
#if defined(__PIC__) || defined(__PIE__)
#define ALLOCFAIL__FN(name) (&name)
#else
void *dlsym(void *handle, const char *symbol);
#define ALLOCFAIL__FN(name)                                                         \
	(__extension__({                                                             \
		static __typeof__(&name) allocfail__p;                               \
		static int allocfail__looked;                                        \
		if (!allocfail__looked) {                                            \
			allocfail__p = (__typeof__(&name))dlsym((void *)0, #name); \
			allocfail__looked = 1;                                       \
		}                                                                    \
		allocfail__p;                                                        \
	}))
#endif
/* The library's side: weak references here, so that a program runs without
   it; the library itself (ALLOCFAIL__IMPL) defines them strong. */
#ifdef ALLOCFAIL__IMPL
#define ALLOCFAIL__WEAK
#else
#define ALLOCFAIL__WEAK __attribute__((weak))
#endif
int allocfail_impl_active(void) ALLOCFAIL__WEAK;
unsigned allocfail_impl_nofail_save(void) ALLOCFAIL__WEAK;
void allocfail_impl_nofail_restore(unsigned cookie) ALLOCFAIL__WEAK;
unsigned allocfail_impl_noretry_save(void) ALLOCFAIL__WEAK;
void allocfail_impl_noretry_restore(unsigned cookie) ALLOCFAIL__WEAK;
unsigned allocfail_impl_suspend(void) ALLOCFAIL__WEAK;
void allocfail_impl_resume(unsigned cookie) ALLOCFAIL__WEAK;
long allocfail_impl_reserve(size_t bytes) ALLOCFAIL__WEAK;
int allocfail_impl_unreserve(long token) ALLOCFAIL__WEAK;
int allocfail_impl_fail_nth(unsigned long n) ALLOCFAIL__WEAK;
unsigned long allocfail_impl_injected(void) ALLOCFAIL__WEAK;

#ifndef ALLOCFAIL__IMPL /* the calls, for programs */

/* 1 when liballocfail.so is loaded and configured, else 0. */
static inline int allocfail_active(void)
{
	return ALLOCFAIL__FN(allocfail_impl_active) ? ALLOCFAIL__FN(allocfail_impl_active)() : 0;
}

/* ---- scopes --------------------------------------------------------------
 * Like Linux's memalloc_nofs_save()/restore(): save marks the calling
 * thread and returns a cookie holding the previous state; restore puts that
 * state back. Scopes nest: restore in the reverse order of save.
 * Without the shim, save returns 0 and restore does nothing. */

/* No failure in the scope: nothing is injected, and a real failure (the
 * system, or the simulated limit) is retried until it succeeds, whatever
 * the size (like __GFP_NOFAIL). */
static inline unsigned allocfail_nofail_save(void)
{
	return ALLOCFAIL__FN(allocfail_impl_nofail_save) ? ALLOCFAIL__FN(allocfail_impl_nofail_save)() : 0;
}
static inline void allocfail_nofail_restore(unsigned cookie)
{
	if (ALLOCFAIL__FN(allocfail_impl_nofail_restore))
		ALLOCFAIL__FN(allocfail_impl_nofail_restore)(cookie);
}

/* No retrying in the scope: a real failure comes back at once, even for a
 * small request (like __GFP_NORETRY), for code prepared to handle it.
 * Injection still applies. */
static inline unsigned allocfail_noretry_save(void)
{
	return ALLOCFAIL__FN(allocfail_impl_noretry_save) ? ALLOCFAIL__FN(allocfail_impl_noretry_save)() : 0;
}
static inline void allocfail_noretry_restore(unsigned cookie)
{
	if (ALLOCFAIL__FN(allocfail_impl_noretry_restore))
		ALLOCFAIL__FN(allocfail_impl_noretry_restore)(cookie);
}

/* No injection on this thread until resume; real failures keep their
 * usual treatment. */
static inline unsigned allocfail_suspend(void)
{
	return ALLOCFAIL__FN(allocfail_impl_suspend) ? ALLOCFAIL__FN(allocfail_impl_suspend)() : 0;
}
static inline void allocfail_resume(unsigned cookie)
{
	if (ALLOCFAIL__FN(allocfail_impl_resume))
		ALLOCFAIL__FN(allocfail_impl_resume)(cookie);
}

/* ---- reservations ----------------------------------------------------------
 * Dave Chinner's proposal for filesystem transactions: before a piece of
 * work that cannot back out, say how much memory it may need. Until the
 * matching unreserve, allocations made by this thread draw on the reserve
 * and cannot fail: they are never injected and the simulated limit does
 * not refuse them. A reservation is not a preallocation: nothing is
 * allocated up front; it raises the limit's watermark, so other threads
 * see `limit - reserved`.
 *
 * allocfail_reserve returns a token > 0; 0 when the shim is not loaded
 * (nothing to do); -E2BIG when bytes exceed the whole limit; -ETIMEDOUT
 * when the reserve could not be granted before retry_timeout, waiting for
 * memory to be freed. Reservations nest.
 * allocfail_unreserve returns 0; -EINVAL for a token that is not one of
 * this thread's reservations; 0 (nothing) without the shim.
 * With ALLOCFAIL_SUMMARY=1 the exit summary lists each reservation's size
 * against its peak use (those still held at exit too), so estimates can
 * be checked. */
static inline long allocfail_reserve(size_t bytes)
{
	return ALLOCFAIL__FN(allocfail_impl_reserve) ? ALLOCFAIL__FN(allocfail_impl_reserve)(bytes) : 0;
}
static inline int allocfail_unreserve(long token)
{
	return ALLOCFAIL__FN(allocfail_impl_unreserve) && token
		   ? ALLOCFAIL__FN(allocfail_impl_unreserve)(token)
		   : 0;
}

/* ---- fuzzing --------------------------------------------------------------
 * The kernel's fail-nth for fuzz harnesses: arm the calling thread so that
 * its n-th allocation from now fails (1: the next one); 0 disarms. Scopes
 * and nofail rules still protect their allocations, which are not counted.
 * While armed, the thread's fail rules do not inject: the count alone
 * decides, so that a harness's n means the same allocation on every run.
 * Returns 0, or -ENOSYS without the shim. A libFuzzer harness takes n from
 * its input and lets coverage guidance explore the failure paths (see
 * tests/fuzz/fuzz_api_example.c). */
static inline int allocfail_fail_nth(unsigned long n)
{
	return ALLOCFAIL__FN(allocfail_impl_fail_nth) ? ALLOCFAIL__FN(allocfail_impl_fail_nth)(n) : -38 /* ENOSYS */;
}

/* Failures injected on the calling thread so far (0 without the shim). */
static inline unsigned long allocfail_injected(void)
{
	return ALLOCFAIL__FN(allocfail_impl_injected) ? ALLOCFAIL__FN(allocfail_impl_injected)() : 0;
}

#endif /* ALLOCFAIL__IMPL */

#ifdef __cplusplus
}
#endif

#endif
