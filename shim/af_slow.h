/* af_slow.h - what the files of the slow path share (af_slow.c,
   af_retry.c, af_sampler.c, af_quick.c, af_walk.c). */
#ifndef AF_SLOW_H
#define AF_SLOW_H

#include "af.h"
#include "af_walk.h"

/* One allocation in AF_SAMPLE_INTERVAL bytes is sampled. */
#define AF_SAMPLE_INTERVAL (512 * 1024)

/* The backend under the simulated limit; force: the request may not be
   refused by the limit (shim-internal, or a reservation's). */
void *af_attempt(const struct af_req *rq, size_t align, int force);

/* What a real failure gets: returned at once, retried until the timeout
   and then the OOM action, or retried for good (nofail). */
enum { AF_SEM_FAIL, AF_SEM_RETRY, AF_SEM_FOREVER };
void *af_retry(struct ctx *c, size_t align, int sem);
/* Why a failed request can never succeed, or NULL when it could. */
const char *af_impossible(const struct af_req *rq);

void af_sample_add(uintptr_t p, uintptr_t site, uint64_t weight);
/* Top call sites by sampled live bytes; returns how many. */
int af_sample_top(uintptr_t *site, uint64_t *bytes, int max);

/* This thread's probability streams (nrules), allocated on first use. */
struct af_stream *af_thread_draws(struct af_thread *t);
/* The rule's triggers, with this thread's stream for probability. */
int af_should_fail(struct af_thread *t, const struct af_rule *r, uint64_t size);
/* Rule i can never fire again: the quick path may serve what it matches. */
void af_rule_mark_spent(int i);

#endif
