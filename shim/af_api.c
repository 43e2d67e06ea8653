/* af_api.c - the entry points behind include/allocfail.h: scopes,
   reservations and the fail-nth hook, all per thread. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>

#include "af.h"
#include "af_addr.h"
#include "af_limit.h"
#include "af_log.h"
#include "af_resv.h"
#include "af_fmt.h"
#define ALLOCFAIL__IMPL /* the definitions of the header's weak references */
#include "allocfail.h"


static void update_slow(struct af_thread *t)
{
	t->slow = (t->slow & AF_T_COUNT) | (t->fail_nth ? AF_T_NTH : 0) | (t->resv ? AF_T_RESV : 0);
	af_thread_update(t);
}

AF_EXPORT int allocfail_impl_active(void)
{
	return af_ready();
}

/* A scope of the thread's (nofail, noretry, suspend) begins: the flag is
   set, and its old value is the cookie that ends the scope. */
static unsigned scope_begin(unsigned *flag)
{
	unsigned old = *flag;
	*flag = 1;
	return old;
}

static void scope_end(unsigned *flag, unsigned cookie)
{
	*flag = cookie ? 1 : 0;
}

AF_EXPORT unsigned allocfail_impl_nofail_save(void)
{
	return scope_begin(&af_t.nofail);
}

AF_EXPORT void allocfail_impl_nofail_restore(unsigned cookie)
{
	scope_end(&af_t.nofail, cookie);
}

AF_EXPORT unsigned allocfail_impl_noretry_save(void)
{
	return scope_begin(&af_t.noretry);
}

AF_EXPORT void allocfail_impl_noretry_restore(unsigned cookie)
{
	scope_end(&af_t.noretry, cookie);
}

AF_EXPORT unsigned allocfail_impl_suspend(void)
{
	return scope_begin(&af_t.suspend);
}

AF_EXPORT void allocfail_impl_resume(unsigned cookie)
{
	scope_end(&af_t.suspend, cookie);
}

AF_EXPORT int allocfail_impl_fail_nth(unsigned long n)
{
	af_t.fail_nth = n;
	update_slow(&af_t);
	return 0;
}

AF_EXPORT unsigned long allocfail_impl_injected(void)
{
	return af_t.injected;
}

/* ---- reservations ------------------------------------------------------- */

struct done_resv {
	long id;
	uint64_t size;
	int64_t peak;
	char thread[17];
};

#define DONE_MAX 64
static struct done_resv done[DONE_MAX];
static int ndone, ndone_lost;
static _Atomic long next_id = 1;
static pthread_mutex_t resv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct af_resv *held; /* every reservation not yet released */

/* In a forked child: another thread may have held the lock at the fork. */
void af_api_atfork_child(void)
{
	pthread_mutex_init(&resv_lock, NULL);
}

AF_EXPORT long allocfail_impl_reserve(size_t bytes)
{
	if (!af_ready())
		return 0;
	struct af_thread *t = &af_t;
	t->guard++;
	long rc;
	if ((af_g.mode & AF_M_LIMIT) && bytes > af_g.pol.set.limit) {
		rc = -E2BIG;
	} else if ((af_g.mode & AF_M_LIMIT) && bytes > 0 &&
		   af_limit_reserve((int64_t)bytes, af_g.pol.set.retry_timeout_ns) < 0) {
		rc = -ETIMEDOUT;
	} else {
		struct af_resv *r = af_imalloc(sizeof *r);
		if (!r) {
			if (af_g.mode & AF_M_LIMIT)
				af_limit_unreserve((int64_t)bytes);
			rc = -ENOMEM;
		} else {
			r->id = atomic_fetch_add(&next_id, 1);
			r->size = bytes;
			r->left = (af_g.mode & AF_M_LIMIT) ? (int64_t)bytes : 0;
			r->prev = t->resv;
			t->resv = r;
			update_slow(t);
			rc = r->id;
			prctl(PR_GET_NAME, r->thread);
			pthread_mutex_lock(&resv_lock);
			r->anext = held;
			r->aprev = &held;
			if (held)
				held->aprev = &r->anext;
			held = r;
			pthread_mutex_unlock(&resv_lock);
		}
	}
	t->guard--;
	return rc;
}

AF_EXPORT int allocfail_impl_unreserve(long token)
{
	struct af_thread *t = &af_t;
	struct af_resv **pp = &t->resv;
	while (*pp && (*pp)->id != token)
		pp = &(*pp)->prev;
	if (!*pp)
		return -EINVAL;
	struct af_resv *r = *pp;
	*pp = r->prev;
	update_slow(t);
	t->guard++;
	if (r->left > 0)
		af_limit_unreserve(r->left);
	pthread_mutex_lock(&resv_lock);
	*r->aprev = r->anext;
	if (r->anext)
		r->anext->aprev = r->aprev;
	if (ndone < DONE_MAX) {
		struct done_resv *d = &done[ndone++];
		d->id = r->id;
		d->size = r->size;
		d->peak = r->peak;
		memcpy(d->thread, r->thread, sizeof d->thread);
	} else {
		ndone_lost++;
	}
	pthread_mutex_unlock(&resv_lock);
	af_ifree(r);
	t->guard--;
	return 0;
}

/* An allocation (n > 0) or free (n < 0) on a thread holding reservations:
   the use of the innermost one. */
void af_resv_use(struct af_thread *t, int64_t n)
{
	struct af_resv *r = t->resv;
	r->used += n;
	if (r->used > r->peak)
		r->peak = r->used;
}

/* For the limit: take up to n bytes from the innermost reserve; returns
   what it could not cover. */
int64_t af_resv_draw(struct af_thread *t, int64_t n)
{
	struct af_resv *r = t->resv;
	int64_t from = r->left < n ? r->left : n;
	if (from < 0)
		from = 0;
	r->left -= from;
	return n - from;
}

void af_resv_summary(int fd)
{
	pthread_mutex_lock(&resv_lock);
	for (int i = 0; i < ndone; i++) {
		const struct done_resv *d = &done[i];
		unsigned pct = d->size ? (unsigned)(d->peak * 100 / (int64_t)d->size) : 0;
		af_say(fd, "reservation #%ld (thread %s): %llu bytes reserved, peak use %lld (%u%%)%s",
		       d->id, d->thread, (unsigned long long)d->size, (long long)d->peak, pct,
		       d->peak > (int64_t)d->size ? ": the estimate is too small" : "");
	}
	if (ndone_lost)
		af_say(fd, "... and %d more reservations", ndone_lost);
	for (const struct af_resv *r = held; r; r = r->anext) {
		unsigned pct = r->size ? (unsigned)(r->peak * 100 / (int64_t)r->size) : 0;
		af_say(fd, "reservation #%ld (thread %s): %llu bytes reserved, still held at exit, "
			   "peak use %lld (%u%%)%s",
		       r->id, r->thread, (unsigned long long)r->size, (long long)r->peak, pct,
		       r->peak > (int64_t)r->size ? ": the estimate is too small" : "");
	}
	pthread_mutex_unlock(&resv_lock);
}

/* ---- dlclose ----------------------------------------------------------- */

/* Exported so that the cached facts about code addresses (module, function,
   the rules that accept them) are dropped for a library that is unloaded:
   another one mapped at the same address later must not inherit them. */
AF_EXPORT int dlclose(void *handle)
{
	static int (*real)(void *);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "dlclose");
	if (!real)
		return -1;
	int rc = real(handle);
	if (rc == 0 && af_ready())
		af_addr_unloaded();
	return rc;
}
