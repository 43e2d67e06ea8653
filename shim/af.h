/* af.h - internals shared by the files of liballocfail.so (never installed).
   Everything here is hidden; only af_entry.c and af_api.c export. */
#ifndef AF_H
#define AF_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "af_backend.h"
#include "af_fmt.h"
#include "af_match.h"
#include "af_ptab.h"
#include "af_trigger.h"

#define AF_EXPORT __attribute__((visibility("default")))
#define AF_LIKELY(x) __builtin_expect(!!(x), 1)
#define AF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define AF_TLS __thread __attribute__((tls_model("initial-exec")))
#define AF_MAX_FRAMES 128
#define AF_QFRAMES 256 /* a thread's cache of frame addresses (af_walk.h) */
#define AF_QSITES 64   /* the quick path's verdicts a thread keeps (af_entry.c) */
#define AF_QCHAIN 6    /* frames an AF_Q_STACK memo holds (af_quick.c) */
/* From libunwind-x86_64.h: the cursor's and the context's sizes */
#define AF_UNW_CURSOR_WORDS 127
#define AF_UNW_CONTEXT_BYTES 1024 /* sizeof(unw_context_t), a ucontext_t, is 968 */

/* ---- per-thread state ------------------------------------------------- */

struct af_site;
struct af_tc_ctr; /* af_sites.h */

/* A reservation (allocfail.h): a stack per thread. */
struct af_resv {
	long id;
	uint64_t size;
	int64_t left;       /* reserve bytes not drawn yet (with a limit) */
	int64_t used, peak; /* net bytes allocated by the thread meanwhile */
	struct af_resv *prev;
	struct af_resv *anext, **aprev; /* all held reservations (summary) */
	char thread[17];
};

/* A thread's caches for the quick path, walks to the call site and stack
   walks (af_walk.c), allocated by its first slow-path call when rules or
   the census are on: at 19 KiB they would more than quadruple the shim's
   thread-local storage, which glibc carves out of every thread's stack,
   refusing a thread whose stack cannot hold it (a 16 KiB stack,
   PTHREAD_STACK_MIN: tests/progs/smallstack.c). */
struct af_walks {
	/* the quick path's verdicts per (return address, entry point, size
	   interval) */
	struct af_qsite {
		uint64_t key;       /* af_qkey(ra, fn, k) */
		unsigned gen;       /* af_g.mod_gen when decided: the verdict holds
				       while no module has gone since (its own
				       with it), checked without a pointer to chase */
		int verdict;        /* AF_Q_* */
		struct af_tc_ctr *ctr; /* af_g.counting, AF_Q_PLAIN or AF_Q_DRAW:
					  this thread's counter of the site's
					  small or costly calls (the interval
					  decides which), where quick_hit()
					  counts; NULL: count_quick()'s turn */
		struct af_site *site; /* af_g.counting: its call site (ra), or
					 for AF_Q_STACK the last call's */
		int rule;           /* AF_Q_DRAW: the rule that draws */
		/* quick_hit()'s one step for every verdict: a decrement of
		   *cnt that reaches 0 leaves for the verdict's own case. The
		   countdown of this thread's stream of the rule for AF_Q_DRAW
		   (t->draws[rule].left); else own, far from 0 for
		   AF_Q_PLAIN, 1 for the others */
		uint64_t *cnt;
		uint64_t own;
	} __attribute__((aligned(64))) qsite[AF_QSITES]; /* an index is a shift */
	/* frame addresses seen lately */
	struct af_qframe {
		uintptr_t pc;
		struct af_addr *a;
		uint64_t rule; /* a->cfi once learned, 0 before */
		unsigned gen;  /* af_g.mod_gen when filled */
		int through;   /* a lies in the C runtime or the shim */
	} qframe[AF_QFRAMES];
	/* AF_Q_STACK verdicts' memo (af_quick_stack), by qsite entry: the
	   return addresses the last plain walk from ra loaded, each at its
	   offset from the entry point's CFA, the last the call site; n = 0:
	   none. The same values at the same places: the same call site. */
	struct af_qchain {
		unsigned gen; /* af_g.mod_gen when made */
		int n;
		int32_t off[AF_QCHAIN];
		uintptr_t pc[AF_QCHAIN];
	} qchain[AF_QSITES];
	/* the slow path's whole stack (its struct ctx), used with the guard
	   held: not on the program's stack */
	uintptr_t frames[AF_MAX_FRAMES];
	/* af_unwind.c's context, cursor and trace, for the same reason */
	struct af_unw_scratch {
		_Alignas(16) uint64_t ctx[AF_UNW_CONTEXT_BYTES / 8];
		uint64_t cursor[AF_UNW_CURSOR_WORDS];
		uintptr_t buf[AF_MAX_FRAMES + 16];
	} unw;
};

struct af_thread {
	int guard;              /* > 0 while the shim itself runs on this thread */
	unsigned nofail;        /* scope depths (allocfail.h) */
	unsigned noretry;
	unsigned suspend;
	unsigned long fail_nth; /* 0: disarmed; else fail when it counts down to 0 */
	unsigned long injected; /* failures injected on this thread */
	_Atomic int64_t credit; /* simulated-limit bytes this thread may use */
	int64_t sample_left;    /* bytes until the next sampled allocation */
	struct af_resv *resv;   /* innermost reservation */
	struct af_thread *next; /* registry of live threads */
	int registered;
	int sample_started;
	unsigned slow;                 /* AF_T_*: this thread needs the slow path */
	int plain;              /* af_g.fast && !slow: the entry points may take
				   their plain path; 0 in a new thread, whose
				   first allocation's slow path sets it */
	int quick;              /* af_g.quick and nothing on this thread:
				   the entry points try quick() first */
	int qcount;             /* af_g.quick and af_g.counting, and nothing on
				   this thread but the count after an injection:
				   quick() also counts by call site and keeps
				   the sampler */
	int free_plain;         /* free() needs nothing of the shim: no limit,
				   reservation or sampler, the jemalloc backend */
	/* the quick path's caches: the last size interval (and the verdicts,
	   in walks) */
	uint64_t iv_lo, iv_hi;
	int iv_k;
	uint64_t iv_kbits; /* af_qkey(0, 0, iv_k) */
	int pending;       /* rule + 1 whose draw fired in quick() */
	/* probability draws: this thread's own stream of each rule */
	struct af_stream *draws; /* this thread's stream of each rule, on first use */
	uint64_t salt;     /* 0 for the first thread to draw */
	int private_gone;  /* past the thread's exit destructor */
	struct af_tcounts *counts; /* census and summary counts, on first use */
	struct af_walks *walks; /* its caches: by the first slow-path call with
				   the quick path on, or the first walk; NULL
				   before, and past the exit destructor */
	struct af_walks *qwalks; /* walks when quick, else NULL: quick_hit()'s
				    first test */
	unsigned long since_injection; /* allocations since the last injection */
	int altstack;                  /* the crash handler's stack is set up */
};

extern AF_TLS struct af_thread af_t;

#define AF_COUNT_MAX 1000

enum {
	AF_T_NTH = 1u << 0,   /* the fail-nth hook is armed */
	AF_T_COUNT = 1u << 1, /* count allocations after an injection */
	AF_T_RESV = 1u << 2,  /* a reservation is held */
};

static inline void af_thread_update(struct af_thread *t);

/* ---- global state, written once by af_init ---------------------------- */

enum { AF_BE_JEMALLOC, AF_BE_NEXT };

enum {
	AF_M_RULES = 1u << 0,   /* some rule may decide */
	AF_M_LIMIT = 1u << 1,   /* simulated limit accounting */
	AF_M_CENSUS = 1u << 2,  /* count every allocation by call site */
	AF_M_SUMMARY = 1u << 3, /* same, printed at exit */
	AF_M_FORK = 1u << 4,    /* explore --fork: fork at listed sites */
};

struct af_global {
	int backend;
	unsigned mode;
	int quick; /* rules, the census, the summary or --fork's forking
		      (nothing else) and the jemalloc backend: allocations no
		      rule can match are served without the slow path, and
		      free() is plain unless the sampler runs */
	int counting; /* the census or the summary: every allocation is
			 counted by call site (on the quick path too) */
	int sampling; /* the live-memory sampler runs: a limit, the census or
			 the summary */
	int fast; /* configured, mode == 0 and the jemalloc backend: the plain
		     path suffices (the next backend always takes the slow
		     path, whose frames sanitizer stack traces walk through) */
	struct af_policy pol;
	struct af_match match;
	uint64_t threshold; /* largest small request */
	int need_stack;     /* load libunwind */
	int context_depth;  /* ALLOCFAIL_CONTEXT: the census records each call
			       site's calling contexts, this many frames above
			       it (every allocation then takes the slow path) */
	int no_names;       /* ALLOCFAIL_LOG_NAMES=0: frames as module+offset only */
	_Atomic int log_fd;    /* JSON log, -1: none (af_out_write) */
	_Atomic int census_fd; /* census stream for the command, -1: none */
	int stderr_fd;
	int seed_random;
	uint64_t seed;
	char exe[4096];     /* /proc/self/exe */
	size_t page;
	_Atomic unsigned mod_gen; /* bumped when a module is found gone or a
				     rule is spent: the threads' cached frame
				     entries and quick verdicts are stale */
	/* rules that can never fire again (af_rule_spent): the quick path's
	   verdicts take them for nofail rules, so that a spent `fail nth=`
	   or `times=` costs no more than one that never matched */
	_Atomic uint64_t spent[AF_MAX_RULES / 64];
};

extern struct af_global af_g;

static inline void af_thread_update(struct af_thread *t)
{
	int ok = t->slow == 0;
	/* counting the allocations after an injection leaves quick() on
	   (af_entry.c's quick_after()) and free() plain */
	int ok_after = (t->slow & ~AF_T_COUNT) == 0;
	t->plain = af_g.fast && ok;
	t->quick = af_g.quick && ok;
	t->qcount = af_g.quick && af_g.counting && ok_after;
	t->free_plain = (af_g.fast || (af_g.quick && !af_g.sampling)) && ok_after;
	t->qwalks = t->quick ? t->walks : NULL;
}
extern _Atomic int af_state; /* 0 new, 1 initializing, 2 ready */

int af_init(void);

static inline int af_ready(void)
{
	return atomic_load_explicit(&af_state, memory_order_acquire) == 2;
}

/* ---- backends (af_backend.c) ------------------------------------------ */

void af_backend_init(int backend);
void *af_be_aligned(size_t align, size_t n);
size_t af_be_usable(void *p);
void af_be_purge(void);
uint64_t af_be_allocated(void); /* bytes in use by the program, 0 if unknown */

/* The shim's own memory: never injected, never counted. */
void *af_imalloc(size_t n);
/* The same for state one thread writes often (its streams, counts,
   caches): cache lines of its own, shared with no other thread's. */
void *af_imalloc_own(size_t n);
void af_ifree(void *p);
void af_be_internal_arena(void);

/* ---- slow paths (af_slow.c, af_quick.c, af_sampler.c) ------------------------------------------- */

struct af_req {
	int fn;
	size_t size;  /* bytes requested (nmemb * size for calloc) */
	size_t align; /* 0: default */
	int zero;
	void *old;    /* realloc */
	void *ra;     /* return address into the caller of the entry point */
	uintptr_t *frames; /* the stack, when af_slow captured it early */
	int nframes;
	int decided;       /* >= 0: af_slow decided to inject by this rule;
			      AF_DECIDED_NO: not to inject; -1: undecided */
	uintptr_t cfa;     /* the entry point's CFA (0: unknown): where a walk
			      by frame rules starts */
};
#define AF_DECIDED_NO (-3)

void *af_alloc_slow(struct af_req *rq);

/* A request is costly when its size or its alignment is over the
   threshold: memalign(1 << 40, 10) needs a region of a terabyte, and a
   failure of it is no "small" failure to retry (the kernel's order
   likewise covers both). */
static inline int af_req_costly(const struct af_req *rq)
{
	return (rq->align > rq->size ? rq->align : rq->size) > af_g.threshold;
}
/* The same with the request as arguments: keeps the callers frameless. */
void *af_slow(int fn, size_t n, size_t align, int zero, void *old, void *ra, void *cfa);

/* the verdict entry of return address ra in the thread's caches w */
static inline struct af_qsite *af_qslot(struct af_walks *w, uintptr_t ra)
{
	return &w->qsite[(ra >> 2) & (AF_QSITES - 1)];
}

/* The quick path (af_g.quick: see there). A return address
   holds 47 bits; the entry point and the size interval (fewer than 2^12:
   at most 2 bounds a rule, 1024 rules) fill the rest of the key. */
static inline uint64_t af_qkey(uintptr_t ra, int fn, int k)
{
	return (uint64_t)ra | ((uint64_t)fn << 60) | ((uint64_t)k << 47);
}
enum { AF_Q_SLOW, AF_Q_PLAIN, AF_Q_DRAW, AF_Q_STACK };
#define AF_QOWN_PLAIN (1ull << 62) /* an AF_Q_PLAIN entry's countdown */
/* AF_Q_STACK: the return address lies in the C runtime and the verdict
   (or the census's count) depends on the call site further up: a few
   frames are unwound and it decides; NULL: the slow path's turn */
int af_quick_stack(int fn, size_t n, uintptr_t ra, uintptr_t cfa);
int af_quick_size_interval(struct af_thread *t, size_t size);
int af_quick_draw(struct af_thread *t, struct af_qsite *q);
int af_quick_verdict(struct af_qsite *q, uint64_t key, int fn, int k, uintptr_t ra, size_t n);
/* The thread's memo entries that count in its table's slot e forget it:
   it is another site's now. */
struct af_tc_slot;
void af_quick_forget(struct af_thread *t, const struct af_tc_slot *e);
extern _Atomic uint64_t af_early_bytes;
void af_free_slow(void *p);
void af_sample_free(void *p);
/* The shim's lock for its tables (sites, modules, the limit): only off the
   allocation path of an allocation that is not injected. */
extern pthread_mutex_t af_lock;

/* The sampler's filter for free(): a counter per bucket of pointer hashes;
   non-zero when a live sampled block may hash there. The sampler runs
   only with a limit, the census or the summary: free() then takes its
   slow path, and the quick path (census or summary) reads it for the
   block realloc() is given. The plain path never reads it. */
#define AF_SAMPLE_BUCKETS 8192
extern _Atomic unsigned char af_sample_filter[AF_SAMPLE_BUCKETS];
/* multiplicative: allocators place objects at regular strides, which a
   plain shift-and-mask would map onto the same buckets */
static inline unsigned af_sample_bucket(const void *p)
{
	return (unsigned)(((uintptr_t)p * 0x9e3779b97f4a7c15ull) >> 51);
}
static inline int af_maybe_sampled(const void *p)
{
	return atomic_load_explicit(&af_sample_filter[af_sample_bucket(p)], memory_order_relaxed);
}

/* ---- misc ------------------------------------------------------------- */

uint64_t af_now_ns(void);
const char *af_getenv(const char *name);
void af_fatal_config(const char *msg) __attribute__((noreturn));

#endif
