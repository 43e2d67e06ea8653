/* af_log.h - what the shim tells the user: the JSON log, stderr lines, and
   the log's and census's descriptors (af_log.c). */
#ifndef AF_LOG_H
#define AF_LOG_H

#include "af.h"

/* ---- diagnostics (af_log.c) ------------------------------------------- */

void af_log_atfork_child(void);
void af_crash_atfork_child(void);
void af_api_atfork_child(void);
void af_report_injection(const struct af_req *rq, int rule, const uintptr_t *frames,
			 int nframes, int cs);
void af_report_canary(const struct af_req *rq, const uintptr_t *frames, int nframes, int cs,
		      unsigned tries, uint64_t ns);
void af_report_oom(const struct af_req *rq, const uintptr_t *frames, int nframes, int cs,
		   unsigned tries, uint64_t ns, int action);
/* A request that would have been retried (semantics: "nofail" or "retry")
   failed at once, as it can never succeed (why). */
void af_report_impossible(const struct af_req *rq, const uintptr_t *frames, int nframes, int cs,
			  const char *why, const char *semantics);

/* The log and the census (AF_OUT_*): opened high, refusing symbolic
   links and anything but files and terminals; each write checks that the
   descriptor is still the file (see af_log.c). */
enum { AF_OUT_LOG, AF_OUT_CENSUS };
int af_out_open(int which, const char *path, const char **why);

/* af_fd.c: descriptors the shim keeps open live from here up */
#define AF_FD_HIGH 1000
int af_fd_high(int fd);     /* fd moved to AF_FD_HIGH or above (close-on-exec) */
unsigned af_fd_plug(void);  /* /dev/null on the closed ones of 0-2; which */
void af_fd_unplug(unsigned plugged);
void af_out_write(int which, const char *s, size_t n);
void af_report_seed(uint64_t seed);
void af_log_frame(struct af_buf *b, uintptr_t pc);
/* Resolve what the log will want of these frames (names, lines) now, into
   the caches: explore --fork's children inherit them. */
void af_resolve_frames(const uintptr_t *frames, int n);
/* Source file and line of a code address (libdw), cached; -1 if unknown. */
int af_srcline(struct af_addr *a, const char **file, int *line);

#endif
