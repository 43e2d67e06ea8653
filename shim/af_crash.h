/* af_crash.h - crash attribution after an injected failure (af_crash.c). */
#ifndef AF_CRASH_H
#define AF_CRASH_H

#include "af.h"

/* ---- crash attribution (af_crash.c) ----------------------------------- */

extern _Atomic int af_crash_armed;
void af_crash_arm(void);
void af_crash_thread(struct af_thread *t);
void af_crash_note(const struct af_req *rq, const char *rule, const uintptr_t *frames, int n,
		   int cs, uint64_t seq);
uint64_t af_log_next_seq(void);

#endif
