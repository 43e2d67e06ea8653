/* af_limit.h - the simulated memory limit and reservations' share of it
   (af_limit.c). */
#ifndef AF_LIMIT_H
#define AF_LIMIT_H

#include "af.h"

/* ---- simulated limit and reservations (af_limit.c) -------------------- */

void af_limit_init(uint64_t limit);
void af_limit_atfork_child(void);
/* allocfail_reserve's share of the limit: 0, or -1 when it could not be
   had within timeout_ns */
int af_limit_reserve(int64_t n, uint64_t timeout_ns);
void af_limit_unreserve(int64_t n);
int af_limit_take(struct af_thread *t, size_t n, int force);
void af_limit_give(struct af_thread *t, size_t n);
int64_t af_limit_live(void);
void af_limit_thread_exit(struct af_thread *t);
void af_thread_register(struct af_thread *t);
/* Frees the thread's shim-private memory when it exits. */
void af_thread_register_exit(struct af_thread *t);
void af_sites_thread_exit(struct af_thread *t); /* from that destructor */

#endif
