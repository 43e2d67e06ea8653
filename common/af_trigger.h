/* af_trigger.h - when a matched `fail` rule fires: the trigger predicate
   (the semantics of Linux's lib/fault-inject.c should_fail()), the
   counters it keeps while a program runs, and the probability streams the
   shim's allocation path draws from. The rule itself is read-only here. */
#ifndef AF_TRIGGER_H
#define AF_TRIGGER_H

#include <stdatomic.h>
#include <stdint.h>

#include "af_rules.h"

/* What a rule's triggers count, process-wide (a forked child gets a
   copy): struct af_policy's state[i] for rule i. */
struct af_rule_state {
	_Atomic uint64_t nth_count, interval_count;
	_Atomic uint64_t draws; /* of the process-wide stream */
	_Atomic int64_t times_left, space_left;
};

/* Sets the counters to the start: none counted, all of times= and space=
   left. */
void af_rule_state_reset(const struct af_rule *r, struct af_rule_state *s);

/* The trigger predicate of a matched `fail` rule, checked in the order of
   Linux's should_fail(): nth, times, space, interval, probability.
   Thread-safe; 1 means inject. Probability draws come from the rule's
   process-wide stream. */
int af_rule_should_fail(const struct af_rule *r, struct af_rule_state *s, uint64_t size);

/* The same with the caller's own draw stream for probability: salt tells
   streams apart (salt 0 is the rule's documented stream). The shim gives
   each thread one, so that a draw writes no shared memory. */
struct af_stream {
	uint64_t left; /* calls until the next failure, that one included; 0
			  only before the first gap is drawn */
	uint64_t k;    /* gaps drawn so far */
};
int af_rule_should_fail_stream(const struct af_rule *r, struct af_rule_state *s, uint64_t size,
			       struct af_stream *st, uint64_t salt);

/* 1 when a matched `fail` rule can never fire again: an nth= rule past its
   count, or one with all of its times= used. It still decides the calls
   it matches (no later rule is consulted for them), as a nofail rule
   would, and fails none of them. */
int af_rule_spent(const struct af_rule *r, const struct af_rule_state *s);

/* 1 when probability is the rule's only trigger (and it is below 100%):
   such a rule can be decided by one draw. */
int af_rule_probability_only(const struct af_rule *r);
/* One call of a stream: 1 when it fails. A stream does not draw per call:
   it draws the gap to its next failure (geometric, with the rule's
   probability) and counts down, so that a call that does not fail costs a
   decrement. The k-th gap of stream salt is a function of the rule's seed
   alone: the same seed, the same failures. */
int af_stream_step(const struct af_rule *r, struct af_stream *st, uint64_t salt);
/* The first gap of a stream not stepped yet, drawn as its first step would
   draw it: the quick path's skip wants a stream that holds one. */
void af_stream_prime(const struct af_rule *r, struct af_stream *st, uint64_t salt);
/* The part of af_stream_step that most calls take, inlined on the quick
   path, for a stream that holds a gap (stepped or primed: it never holds
   0 again): 1 when this call does not fail, counted; 0 when it is the
   failing one, left to af_stream_step. One decrement and its flags. */
static inline int af_stream_skip(struct af_stream *st)
{
	if (__builtin_expect(--st->left != 0, 1))
		return 1;
	st->left = 1; /* as it was: the step takes this call */
	return 0;
}

#endif
