/* af_rules.h - the rule language as data: what a policy holds once its
   rule files and --rule texts are parsed, the parser that builds it
   (af_rules_parse.c) and the normalized form `allocfail check` prints
   (af_rules_print.c). The trigger predicate that runs on the allocation
   path, and the counters it keeps, are af_trigger.h's.

   There is no umbrella header: a file includes what it uses. The matcher
   and the command need the rules alone; the shim and the tests that fire
   triggers include af_trigger.h, which includes this file. Plain C with no
   preload assumptions, so that the command, the unit tests and the fuzzer
   use exactly the code the shim runs. */
#ifndef AF_RULES_H
#define AF_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "af_mem.h"

enum af_fn {
	AF_FN_MALLOC,
	AF_FN_CALLOC,
	AF_FN_REALLOC,
	AF_FN_REALLOCARRAY,
	AF_FN_POSIX_MEMALIGN,
	AF_FN_ALIGNED_ALLOC,
	AF_FN_MEMALIGN,
	AF_FN_VALLOC,
	AF_FN_PVALLOC,
	AF_FN_COUNT
};
extern const char *const af_fn_names[AF_FN_COUNT];

enum af_action { AF_ACT_FAIL, AF_ACT_NOFAIL, AF_ACT_NORETRY };
extern const char *const af_action_names[3];

enum af_oom { AF_OOM_ABORT, AF_OOM_FAIL, AF_OOM_WAIT };

/* One alternative of size=: an inclusive range, or a size class that is
   resolved against the threshold once all settings are known. */
enum { AF_SZ_RANGE, AF_SZ_SMALL, AF_SZ_COSTLY };
struct af_size {
	int kind;
	uint64_t lo, hi;
	char *text;
};

struct af_list {
	int n;
	char **v;
};

/* Frames a calling context names above its call site, at most. */
#define AF_CTX_MAX 8

/* A call site, MODULE+0xOFFSET, and optionally its calling context: the
   return addresses above it, innermost first (site=A<B<C). */
struct af_siteref {
	char *module;
	uint64_t offset;
	int nctx;
	struct af_siteref *ctx; /* nctx frames; their own nctx is 0 */
};

/* Bits of af_rule.given, one per key, in the canonical print order. */
enum af_key {
	AF_K_FN,
	AF_K_SIZE,
	AF_K_CALLER,
	AF_K_IN,
	AF_K_NOTIN,
	AF_K_MODULE,
	AF_K_SITE,
	AF_K_THREAD,
	AF_K_DEPTH,
	AF_K_NTH,
	AF_K_TIMES,
	AF_K_SPACE,
	AF_K_INTERVAL,
	AF_K_PROBABILITY,
	AF_K_COUNT
};

struct af_rule {
	int action;
	int index;        /* position in the policy, 0-based */
	const char *file; /* interned origin: a path, "ALLOCFAIL_RULE", "--rule" */
	int line;
	unsigned given;   /* 1u << af_key for each key present */

	uint32_t fnmask;  /* bit per enum af_fn; all bits when fn= is absent */
	int nsizes;
	struct af_size *sizes;
	struct af_list caller, in, notin, module, thread;
	int nsites;
	struct af_siteref *sites;
	int has_context; /* some site names a calling context */
	int depth; /* frames for in/notin; 0: the global setting */

	/* Triggers, lib/fault-inject.c order: nth, times, space, interval,
	   probability. Their counters are struct af_rule_state (af_trigger.h). */
	uint64_t nth;
	int64_t times; /* -1: unlimited */
	uint64_t space;
	uint64_t interval;
	uint64_t prob;  /* fires when a 64-bit draw is below this */
	int prob_all;   /* 100%: no draw */
	char prob_text[32];
	double prob_ln1m; /* log(1 - prob / 2^64): the streams' gaps divide by it */
	uint64_t seed;    /* of the rule's draws; set by af_policy_finish */
};

/* The keys that say when a matched fail rule fires. */
#define AF_TRIGGER_KEYS                                                              \
	((1u << AF_K_NTH) | (1u << AF_K_TIMES) | (1u << AF_K_SPACE) | (1u << AF_K_INTERVAL) | \
	 (1u << AF_K_PROBABILITY))

/* Global settings (`set key=value`). `given` has bit AF_S_* per key set. */
enum af_setting {
	AF_S_COSTLY_ORDER,
	AF_S_PAGE_SIZE,
	AF_S_SMALL,
	AF_S_RETRY_WARN,
	AF_S_RETRY_TIMEOUT,
	AF_S_OOM,
	AF_S_LIMIT,
	AF_S_SEED,
	AF_S_DEPTH,
	AF_S_LOG,
	AF_S_COUNT
};
extern const char *const af_setting_names[AF_S_COUNT];

struct af_settings {
	unsigned given;
	unsigned costly_order;     /* default 3 */
	uint64_t page_size;        /* default 4096 */
	int small_noretry;         /* default 1: real failures return at once */
	unsigned retry_warn;       /* tries before the canary; default 16 */
	uint64_t retry_timeout_ns; /* default 10 s */
	int oom;                   /* enum af_oom; default abort */
	uint64_t limit;            /* bytes; 0: no simulated limit */
	uint64_t seed;
	int depth;                 /* default 32 */
	char *log;                 /* NULL: stderr */
	/* where each setting was last set, for duplicate diagnostics */
	const char *origin_file[AF_S_COUNT];
	int origin_line[AF_S_COUNT];
};

/* Rules in one policy, files and --rule texts together: the quick path
   keys its verdicts by a rule's size bounds in 12 bits (af_qkey), two
   bounds a rule. The parser refuses rule 1025, in the command and the
   shim alike. */
#define AF_MAX_RULES 1024

struct af_rule_state;

/* Rules are read-only once parsed (only the parser and af_policy_finish
   write them, through their own pointers); what changes while a program
   runs is state[i], rule i's trigger counters, beside them. */
struct af_policy {
	struct af_settings set;
	int nrules, caprules;
	const struct af_rule **rules;
	struct af_rule_state *state; /* nrules of them */
	/* interned file names and other strings owned by the policy */
	int nstrings, capstrings;
	char **strings;
	int include_depth;
	const char *include_stack[16];
};

/* An error: "file:line:col: message", ready to print after "allocfail: ". */
struct af_error {
	char msg[640];
};

void af_policy_init(struct af_policy *p);
void af_policy_free(struct af_policy *p);
/* The text of a rule file, read to its end whatever kind of file it is
   (a pipe, a FIFO, /proc), NUL-terminated, freed with af_mem_free; 0, or
   -1 with "cannot read rules file ..." in err. */
int af_policy_read_file(const char *path, char **text, size_t *len, struct af_error *err);
/* Parse a rule file (include resolved relative to it). 0 or -1 with err. */
int af_policy_parse_file(struct af_policy *p, const char *path, struct af_error *err);
/* The same with the file's text read already. */
int af_policy_parse_file_text(struct af_policy *p, const char *text, size_t len, const char *path,
			      struct af_error *err);
/* Parse rules given as text; lines are separated by newlines or ';'.
   origin names the source in messages ("ALLOCFAIL_RULE", "--rule"). */
int af_policy_parse_text(struct af_policy *p, const char *text, size_t len,
			 const char *origin, struct af_error *err);
/* Parse one `key=value` as if it were a `set` line. */
int af_policy_set(struct af_policy *p, const char *kv, const char *origin,
		  struct af_error *err);
/* After parsing: resolve size classes, seed the rules' generators and
   set their counters to the start. */
void af_policy_finish(struct af_policy *p);

/* Small/costly threshold: page_size << costly_order. */
static inline uint64_t af_policy_threshold(const struct af_settings *s)
{
	return s->page_size << s->costly_order;
}

/* Normalized text of a rule / of the settings, for `check` and logs. */
size_t af_rule_format(const struct af_rule *r, char *buf, size_t cap);
size_t af_settings_format(const struct af_settings *s, char *buf, size_t cap);

/* Parsers shared with the command line. Return 0 on success. */
int af_parse_size(const char *s, uint64_t *out);
int af_parse_duration(const char *s, uint64_t *ns);
int af_parse_u64(const char *s, uint64_t *out);
/* A decimal number at *ps (advanced past it) as num / 10^scale: 0, or -1
   when there is none or it has more than 17 decimals or overflows; and
   10^n. For the parsers of durations and percentages. */
int af_parse_decimal(const char **ps, uint64_t *num, int *scale);
uint64_t af_pow10u(int n);

/* Closest word to `word` among `words` (edit distance <= 2), or NULL. */
const char *af_suggest(const char *word, const char *const *words, int n);

#endif
