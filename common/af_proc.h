/* af_proc.h - what /proc says of another process: whether it waits for
   good on a lock. Plain C, shared by the shim (--fork's children) and the
   command (runs of their own). */
#ifndef AF_PROC_H
#define AF_PROC_H

/* 1 when pid can never go on by itself: it has one thread, that thread
   waits on a private futex with no timeout (a lock already held, by
   itself or by a thread that does not exist in it), and it catches no
   signal whose handler could end the wait (only the crash signals, which
   the shim may catch, and glibc's internal ones). 0 when it may go on, or
   when /proc does not say (another user's process, no /proc). */
int af_proc_deadlocked(int pid);

#endif
