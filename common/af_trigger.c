/* af_trigger.c - when a matched fail rule fires: the semantics of Linux's
   lib/fault-inject.c should_fail(), over a read-only rule and the counters
   beside it, and the probability streams. */
#include "af_trigger.h"

#include "af_math.h"

void af_rule_state_reset(const struct af_rule *r, struct af_rule_state *s)
{
	atomic_store(&s->nth_count, 0);
	atomic_store(&s->interval_count, 0);
	atomic_store(&s->draws, 0);
	atomic_store(&s->times_left, r->times);
	atomic_store(&s->space_left, (int64_t)r->space);
}

int af_rule_probability_only(const struct af_rule *r)
{
	return r->action == AF_ACT_FAIL && !r->prob_all &&
	       (r->given & AF_TRIGGER_KEYS) == (1u << AF_K_PROBABILITY);
}

/* The process-wide stream (no thread's own): one draw per call, from a
   shared counter. */
static int shared_draw(const struct af_rule *r, struct af_rule_state *s)
{
	uint64_t n = atomic_fetch_add_explicit(&s->draws, 1, memory_order_relaxed);
	return af_mix64(r->seed + n * 0x9e3779b97f4a7c15ull) < r->prob;
}

/* The k-th gap of a stream: calls up to and including the next failure,
   Geometric(p) on 1, 2, ... by inversion of a uniform draw in (0, 1];
   log(1 - p) is the rule's, computed once when it was parsed. */
static uint64_t stream_gap(const struct af_rule *r, uint64_t k, uint64_t salt)
{
	uint64_t seed = salt ? r->seed ^ af_mix64(salt) : r->seed;
	uint64_t z = af_mix64(seed + k * 0x9e3779b97f4a7c15ull);
	double u = (double)((z >> 11) + 1) * 0x1.0p-53;
	double g = af_ln(u) / r->prob_ln1m; /* >= 0: the conversion floors it */
	return g >= 1e18 ? (uint64_t)1e18 : (uint64_t)g + 1;
}

void af_stream_prime(const struct af_rule *r, struct af_stream *st, uint64_t salt)
{
	if (st->left == 0)
		st->left = stream_gap(r, st->k++, salt);
}

int af_stream_step(const struct af_rule *r, struct af_stream *st, uint64_t salt)
{
	if (!r->prob)
		return 0;
	af_stream_prime(r, st, salt); /* its first call */
	if (--st->left != 0)
		return 0;
	/* the next gap now, not at the next call: the same gaps at the same
	   calls, and a stream that never holds 0 for the quick path's skip */
	st->left = stream_gap(r, st->k++, salt);
	return 1;
}

int af_rule_spent(const struct af_rule *r, const struct af_rule_state *s)
{
	if (r->nth) /* it fires at its count, whatever times= says */
		return atomic_load_explicit(&s->nth_count, memory_order_relaxed) >= r->nth;
	return atomic_load_explicit(&s->times_left, memory_order_relaxed) == 0;
}

int af_rule_should_fail(const struct af_rule *r, struct af_rule_state *s, uint64_t size)
{
	return af_rule_should_fail_stream(r, s, size, NULL, 0);
}

int af_rule_should_fail_stream(const struct af_rule *r, struct af_rule_state *s, uint64_t size,
			       struct af_stream *st, uint64_t salt)
{
	if (r->nth) {
		uint64_t k = atomic_fetch_add_explicit(&s->nth_count, 1, memory_order_relaxed) + 1;
		if (k != r->nth)
			return 0;
		goto fail;
	}
	if (atomic_load_explicit(&s->times_left, memory_order_relaxed) == 0)
		return 0;
	if (r->given & (1u << AF_K_SPACE)) {
		int64_t sp = atomic_load_explicit(&s->space_left, memory_order_relaxed);
		while (sp > 0 && (uint64_t)sp > size) {
			if (atomic_compare_exchange_weak_explicit(&s->space_left, &sp,
								  sp - (int64_t)size,
								  memory_order_relaxed,
								  memory_order_relaxed))
				return 0;
		}
	}
	if (r->interval > 1) {
		uint64_t c =
		    atomic_fetch_add_explicit(&s->interval_count, 1, memory_order_relaxed) + 1;
		if (c % r->interval)
			return 0;
	}
	if (!r->prob_all && !(st ? af_stream_step(r, st, salt) : shared_draw(r, s)))
		return 0;
fail:;
	/* Claim one of the remaining `times`; -1 is unlimited. Losing the
	   race for the last one means this call does not fail. */
	int64_t t = atomic_load_explicit(&s->times_left, memory_order_relaxed);
	while (t != -1) {
		if (t == 0)
			return r->nth ? 1 : 0;
		if (atomic_compare_exchange_weak_explicit(&s->times_left, &t, t - 1,
							  memory_order_relaxed, memory_order_relaxed))
			break;
	}
	return 1;
}
