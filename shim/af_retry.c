/* af_retry.c - too small to fail: a small request's real failure is
   retried (memory purged, a growing back-off) until the timeout, with the
   canary line naming the stuck call site once, then the OOM action; and
   requests that can never succeed fail at once whatever the action. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <time.h>

#include "af.h"
#include "af_limit.h"
#include "af_log.h"
#include "af_sites.h"
#include "af_fmt.h"
#include "af_slow.h"
#include "af_walk.h"


static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}



static void oom_abort(struct ctx *c, unsigned tries, uint64_t ns)
{
	struct af_req *rq = c->rq;
	char site[256];
	af_site_name(af_ctx_callsite_pc(c), site, sizeof site);
	int fd = af_g.stderr_fd;
	af_say(fd, "out of memory: %s(%zu) at %s still failing after %u tries in %llu ms; oom=abort",
	       af_fn_names[rq->fn], rq->size, site, tries, (unsigned long long)(ns / 1000000));
	if (af_g.mode & AF_M_LIMIT)
		af_say(fd, "live: %lld bytes of limit %llu", (long long)af_limit_live(),
		       (unsigned long long)af_g.pol.set.limit);
	else
		af_say(fd, "live: %llu bytes", (unsigned long long)af_be_allocated());
	uintptr_t top[8];
	uint64_t bytes[8];
	int n = af_sample_top(top, bytes, 8);
	if (!af_g.sampling)
		af_say(fd, "(the call sites holding the most live memory are sampled with a limit "
			   "or ALLOCFAIL_SUMMARY=1)");
	if (n) {
		af_say(fd, "call sites holding the most live memory (sampled, 1 in %d KiB):",
		       AF_SAMPLE_INTERVAL / 1024);
		for (int i = 0; i < n; i++)
			af_say(fd, "  %10llu  %s", (unsigned long long)bytes[i],
			       af_site_name(top[i], site, sizeof site));
	}
}

void *af_retry(struct ctx *c, size_t align, int sem)
{
	uint64_t start = af_now_ns(), backoff = 1000000; /* 1 ms, doubling to 64 ms */
	unsigned tries = 1;
	int warned = 0;
	struct af_site *site = af_site_get(af_ctx_callsite(c), c->rq);
	af_site_event(site, AF_EV_RETRY);
	for (;;) {
		af_be_purge();
		sleep_ns(backoff);
		if (backoff < 64000000)
			backoff *= 2;
		void *p = af_attempt(c->rq, align, 0);
		if (p) {
			return p;
		}
		tries++;
		uint64_t ns = af_now_ns() - start;
		if (!warned && tries >= af_g.pol.set.retry_warn) {
			warned = 1;
			if (af_site_warn_once(site)) {
				af_ctx_stack(c);
				af_report_canary(c->rq, c->frames, c->nframes, c->cs, tries, ns);
			}
		}
		if (sem == AF_SEM_RETRY && ns >= af_g.pol.set.retry_timeout_ns) {
			af_ctx_stack(c);
			int action = af_g.pol.set.oom;
			af_site_event(site, AF_EV_OOM);
			af_report_oom(c->rq, c->frames, c->nframes, c->cs, tries, ns, action);
			if (action == AF_OOM_ABORT) {
				oom_abort(c, tries, ns);
				abort();
			}
			if (action == AF_OOM_FAIL) {
					return NULL;
			}
			sem = AF_SEM_FOREVER;
		}
	}
}

/* ---- requests that can never succeed ------------------------------------ */

/* The user address space: the power of two above the top of the initial
   stack, where the loader put the program's file name (2^47 on x86-64
   with 4-level page tables; mappings above that need a hint). */
static uint64_t address_space(void)
{
	uintptr_t top = (uintptr_t)getauxval(AT_EXECFN);
	if (!top)
		top = (uintptr_t)__builtin_frame_address(0);
	return (uint64_t)1 << (64 - __builtin_clzll((unsigned long long)top));
}

/* Why a failed request can never succeed, whatever is freed or however
   long it waits (Linux's __GFP_NOFAIL likewise fails orders beyond
   MAX_ORDER); NULL when it could. Asked only after a real failure. */
const char *af_impossible(const struct af_req *rq)
{
	uint64_t space = address_space(), span;
	if (rq->align >= space)
		return "alignment beyond the address space";
	if (__builtin_add_overflow((uint64_t)rq->size, (uint64_t)rq->align, &span) ||
	    span > space)
		return "beyond the address space";
	if ((af_g.mode & AF_M_LIMIT) && rq->size > af_g.pol.set.limit)
		return "beyond the limit";
	return NULL;
}

