/* af_sites.c - allocation call sites: counts for the census (read by
   `allocfail sites` and `explore`) and the exit summary, and the
   once-per-site memory of the retry canary. Only the census, the summary
   and rare events (injections, retries) come here; the plain path never does. */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "af.h"
#include "af_addr.h"
#include "af_limit.h"
#include "af_log.h"
#include "af_resv.h"
#include "af_sites.h"
#include "af_fmt.h"


/* The table grows from 2^9 slots (one page) to 2^17, as the address table
   does (af_addr.c): a run that meets a few dozen sites touches one page. */
#define SITE_MIN_BITS 9
#define SITE_MAX_BITS 17
#define PROBES 256

struct af_site {
	uintptr_t pc; /* first: the key in the table (af_ptab.c) */
	struct af_mod *mod;
	int runtime;
	int first_fn;
	uint64_t first_size;
	_Atomic uint64_t bytes, small, costly, injected, retries, ooms; /* calls: small + costly */
	_Atomic int warned;
	_Atomic int forked; /* explore --fork: its first hit was seen (af_fork.c) */
	struct af_site *all; /* every site, newest first: the exit and fork
				walks visit the sites, not the table's slots */
};

static _Atomic(struct af_ptab *) table; /* of struct af_site (af_ptab.c) */
static const struct af_ptab_shape shape = {SITE_MIN_BITS, SITE_MAX_BITS, PROBES, NULL};
static struct af_site *_Atomic sites; /* the list through af_site.all */
static struct af_site overflow; /* when the table is full */

void af_site_key(const struct af_site *s, char *buf, size_t cap)
{
	af_fmt(buf, cap, "%s+0x%lx", s->mod->base, (unsigned long)(s->pc - s->mod->bias));
}

static void census_site(const struct af_site *s, const struct af_req *rq)
{
	char line[1024];
	struct af_buf b;
	af_buf_init(&b, line, sizeof line - 1);
	af_buf_fmt(&b, "{\"ev\":\"site\",\"pid\":%d,\"site\":", (int)getpid());
	char name[512];
	af_site_key(s, name, sizeof name);
	af_buf_json(&b, name);
	af_buf_puts(&b, ",\"module\":");
	af_buf_json(&b, s->mod->path);
	af_buf_fmt(&b, ",\"runtime\":%s", s->runtime ? "true" : "false");
	if (rq)
		af_buf_fmt(&b, ",\"fn\":\"%s\",\"size\":%zu", af_fn_names[rq->fn], rq->size);
	af_buf_puts(&b, "}\n");
	if (!b.truncated)
		af_out_write(AF_OUT_CENSUS, line, b.len);
}

static struct af_site *lookup(struct af_ptab *t, uintptr_t pc, const struct af_mod *mod)
{
	unsigned h = af_ptab_hash(pc, t->bits), mask = (1u << t->bits) - 1;
	for (unsigned i = 0; i < PROBES; i++) {
		struct af_site *s = atomic_load_explicit(&t->slot[(h + i) & mask], memory_order_acquire);
		if (!s)
			break;
		if (s->pc == pc && s->mod == mod)
			return s;
	}
	return NULL;
}

struct af_site *af_site_get(struct af_addr *a, const struct af_req *rq)
{
	struct af_site *s = atomic_load_explicit(&a->census, memory_order_acquire);
	if (AF_LIKELY(s != NULL))
		return s;
	uintptr_t pc = a->pc;
	struct af_ptab *t = atomic_load_explicit(&table, memory_order_acquire);
	s = t ? lookup(t, pc, a->mod) : NULL;
	if (s) {
		atomic_store_explicit(&a->census, s, memory_order_release);
		return s;
	}
	pthread_mutex_lock(&af_lock);
	t = atomic_load_explicit(&table, memory_order_relaxed);
	s = t ? lookup(t, pc, a->mod) : NULL;
	long slot = -1;
	if (!s && (t = af_ptab_room(&table, pc, &shape, &slot)) && slot >= 0)
		s = af_imalloc(sizeof *s);
	if (s && !s->pc) {
		s->pc = pc;
		s->mod = a->mod;
		s->runtime = a->mod->runtime || a->mod->shim;
		if (rq) {
			s->first_fn = rq->fn;
			s->first_size = rq->size;
		}
		af_ptab_put(t, slot, s);
		s->all = atomic_load_explicit(&sites, memory_order_relaxed);
		atomic_store_explicit(&sites, s, memory_order_release);
		if (af_g.census_fd >= 0)
			census_site(s, rq);
	}
	if (s)
		atomic_store_explicit(&a->census, s, memory_order_release);
	else
		s = &overflow;
	pthread_mutex_unlock(&af_lock);
	return s;
}

/* ---- calling contexts ------------------------------------------------------

   With ALLOCFAIL_CONTEXT=N (explore's and sites' reference run), each
   allocation's call site and the N return addresses above it: the first
   time a chain is seen, the census gets a line naming it. Only that one run pays for it
   (every allocation walks its stack); explore decides from these lines
   which sites are wrappers and which of their contexts to fail. The set of
   chains seen is a table of their hashes, kept once per process. */
#define CTX_BITS 15
static uint64_t ctx_seen[1u << CTX_BITS];
static unsigned ctx_count;

static int ctx_new(uint64_t h)
{
	h |= 1; /* 0 marks a free slot */
	unsigned mask = (1u << CTX_BITS) - 1;
	if (ctx_count >= mask / 4 * 3)
		return 0; /* full: the contexts after these go unlisted */
	for (unsigned i = (unsigned)h & mask;; i = (i + 1) & mask) {
		if (ctx_seen[i] == h)
			return 0;
		if (!ctx_seen[i]) {
			ctx_seen[i] = h;
			ctx_count++;
			return 1;
		}
	}
}

void af_context_key(char *buf, size_t cap, const uintptr_t *frames, int n)
{
	size_t used = 0;
	buf[0] = 0;
	for (int i = 0; i < n && used < cap; i++) {
		struct af_addr *a = af_addr_get(frames[i]);
		used += af_fmt(buf + used, cap - used, "%s%s+0x%lx", i ? "<" : "", a->mod->base,
			       (unsigned long)(frames[i] - a->mod->bias));
	}
}

void af_site_context(struct af_site *s, const uintptr_t *frames, int n)
{
	if (s == &overflow || n < 1 || af_g.census_fd < 0)
		return;
	uint64_t h = AF_FNV64_INIT;
	for (int i = 0; i < n; i++)
		h = af_fnv64(h, &frames[i], sizeof frames[i]);
	pthread_mutex_lock(&af_lock);
	int fresh = ctx_new(h);
	pthread_mutex_unlock(&af_lock);
	if (!fresh)
		return;
	char line[2048], key[512];
	struct af_buf b;
	af_buf_init(&b, line, sizeof line - 1);
	af_buf_fmt(&b, "{\"ev\":\"context\",\"pid\":%d,\"site\":", (int)getpid());
	af_site_key(s, key, sizeof key);
	af_buf_json(&b, key);
	char chain[1536];
	af_context_key(chain, sizeof chain, frames, n);
	af_buf_puts(&b, ",\"context\":");
	af_buf_json(&b, chain);
	af_buf_puts(&b, "}\n");
	if (!b.truncated)
		af_out_write(AF_OUT_CENSUS, line, b.len);
}

/* ---- counts, per thread ---------------------------------------------------

   The census and the summary count every allocation by call site. Atomic
   adds on the site's own counters put one cache line under every thread
   that allocates there: measured with bench/malloc-bench (all threads at
   one site), 37 ns a pair at 1 thread and 63-114 ns at 2. Each thread
   counts in a small table of its own instead (by site; a slot taken by
   another site is first added to the site's counters), written by its
   owner alone with plain loads and stores. A thread's table goes into the
   sites' counters at its exit destructor (af_thread_register_exit's); at
   process exit the exiting thread adds in every table, its own emptied,
   those of threads still running as they are: theirs count as of that
   moment, and a slot one of them moves meanwhile may count twice or not
   at all. A site's calls are its small plus its costly ones. */

static struct af_tcounts *tables;

static void add_to(_Atomic uint64_t *site, _Atomic uint64_t *slot, int take)
{
	uint64_t n = take ? atomic_exchange_explicit(slot, 0, memory_order_relaxed)
			  : atomic_load_explicit(slot, memory_order_relaxed);
	atomic_fetch_add_explicit(site, n, memory_order_relaxed);
}

/* The slot's counts into its site's; take: the slot's counters are
   emptied (its owner only), else left as they are. The slot stays its
   site's: the memo entries that count in it stay right. */
static void tc_add(struct af_tc_slot *e, int take)
{
	struct af_site *s = atomic_load_explicit(&e->site, memory_order_relaxed);
	if (!s)
		return;
	add_to(&s->bytes, &e->c[0].bytes, take);
	add_to(&s->bytes, &e->c[1].bytes, take);
	add_to(&s->small, &e->c[0].calls, take);
	add_to(&s->costly, &e->c[1].calls, take);
}

void af_sites_thread_exit(struct af_thread *t)
{
	struct af_tcounts *c = t->counts;
	if (!c)
		return;
	pthread_mutex_lock(&af_lock);
	for (int i = 0; i < AF_TC_SLOTS; i++)
		tc_add(&c->slot[i], 1);
	for (struct af_tcounts **pp = &tables; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	pthread_mutex_unlock(&af_lock);
	t->counts = NULL;
	af_ifree(c);
}

struct af_tc_ctr *af_tc_claim(struct af_thread *t, struct af_site *s, int costly)
{
	struct af_tcounts *c = t->counts;
	if (AF_UNLIKELY(!c) && !t->private_gone && (c = af_imalloc_own(sizeof *c))) {
		pthread_mutex_lock(&af_lock);
		c->next = tables;
		tables = c;
		pthread_mutex_unlock(&af_lock);
		t->counts = c;
		af_thread_register_exit(t);
	}
	if (AF_UNLIKELY(!c))
		return NULL;
	struct af_tc_slot *e = af_tc_slot_of(c, s);
	if (AF_UNLIKELY(atomic_load_explicit(&e->site, memory_order_relaxed) != s)) {
		af_quick_forget(t, e);
		tc_add(e, 1);
		atomic_store_explicit(&e->site, s, memory_order_relaxed);
	}
	return &e->c[costly];
}

void af_site_count(struct af_site *s, size_t n, int costly)
{
	struct af_tc_ctr *k = af_tc_claim(&af_t, s, costly);
	if (AF_UNLIKELY(!k)) { /* past the thread's exit destructor */
		atomic_fetch_add_explicit(&s->bytes, n, memory_order_relaxed);
		atomic_fetch_add_explicit(costly ? &s->costly : &s->small, 1, memory_order_relaxed);
		return;
	}
	af_tc_count(k, n);
}

/* At process exit, before the counts are written. */
static void tc_exit_totals(void)
{
	pthread_mutex_lock(&af_lock);
	for (struct af_tcounts *c = tables; c; c = c->next)
		for (int i = 0; i < AF_TC_SLOTS; i++)
			tc_add(&c->slot[i], c == af_t.counts);
	pthread_mutex_unlock(&af_lock);
}

static uint64_t calls_of(const struct af_site *s)
{
	return atomic_load(&s->small) + atomic_load(&s->costly);
}

void af_site_event(struct af_site *s, int what)
{
	_Atomic uint64_t *c = what == AF_EV_INJECT ? &s->injected
			      : what == AF_EV_RETRY ? &s->retries
						    : &s->ooms;
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

int af_site_warn_once(struct af_site *s)
{
	return atomic_exchange(&s->warned, 1) == 0;
}

void af_sites_atfork_child(void)
{
	/* only the forking thread exists: the other tables go, its own is
	   emptied below with every site's counters */
	struct af_tcounts *mine = af_t.counts;
	for (struct af_tcounts *c = tables, *next; c; c = next) {
		next = c->next;
		if (c != mine)
			af_ifree(c);
	}
	tables = mine;
	if (mine) { /* emptied; each slot stays its site's, as the memo has it */
		mine->next = NULL;
		for (int i = 0; i < AF_TC_SLOTS; i++)
			memset(mine->slot[i].c, 0, sizeof mine->slot[i].c);
	}
	/* the child counts its own allocations; the sites stay known */
	for (struct af_site *s = atomic_load(&sites); s; s = s->all) {
		atomic_store(&s->bytes, 0);
		atomic_store(&s->small, 0);
		atomic_store(&s->costly, 0);
		atomic_store(&s->injected, 0);
		atomic_store(&s->retries, 0);
		atomic_store(&s->ooms, 0);
	}
}

static int collect(struct af_site **out, int max)
{
	int n = 0;
	for (struct af_site *s = atomic_load(&sites); s && n < max; s = s->all) {
		if (calls_of(s) + atomic_load(&s->injected) > 0)
			out[n++] = s;
	}
	/* by calls, descending; ties by address for a stable order */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0; j--) {
			uint64_t a = calls_of(out[j - 1]), b = calls_of(out[j]);
			if (a > b || (a == b && out[j - 1]->pc < out[j]->pc))
				break;
			struct af_site *t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* At exit, the counts of every site, written twenty lines at a time:
   af_out_write checks that the descriptor is still ours before each write
   (one fstat), which per line was three system calls a site. */
static void census_counts(void)
{
	char out[4096]; /* on the stack of whichever thread exits: a small one */
	size_t used = 0;
	int pid = (int)getpid();
	for (struct af_site *s = atomic_load(&sites); s; s = s->all) {
		if (!calls_of(s))
			continue;
		char line[768], name[512];
		struct af_buf b;
		af_buf_init(&b, line, sizeof line - 1);
		af_site_key(s, name, sizeof name);
		af_buf_fmt(&b, "{\"ev\":\"count\",\"pid\":%d,\"site\":", pid);
		af_buf_json(&b, name);
		af_buf_puts(&b, ",\"module\":");
		af_buf_json(&b, s->mod->path);
		af_buf_fmt(&b,
			   ",\"runtime\":%s,\"calls\":%llu,\"bytes\":%llu,\"small\":%llu,"
			   "\"costly\":%llu,\"injected\":%llu}\n",
			   s->runtime ? "true" : "false", (unsigned long long)calls_of(s),
			   (unsigned long long)atomic_load(&s->bytes),
			   (unsigned long long)atomic_load(&s->small),
			   (unsigned long long)atomic_load(&s->costly),
			   (unsigned long long)atomic_load(&s->injected));
		if (b.truncated)
			continue;
		if (used + b.len > sizeof out) {
			af_out_write(AF_OUT_CENSUS, out, used);
			used = 0;
		}
		memcpy(out + used, line, b.len);
		used += b.len;
	}
	if (used)
		af_out_write(AF_OUT_CENSUS, out, used);
}

static void summary(void)
{
	enum { MAX = 4096, SHOW = 40 };
	static struct af_site *v[MAX];
	int n = collect(v, MAX);
	uint64_t calls = 0, inj = 0, ret = 0, oom = 0;
	for (int i = 0; i < n; i++) {
		calls += calls_of(v[i]);
		inj += atomic_load(&v[i]->injected);
		ret += atomic_load(&v[i]->retries);
		oom += atomic_load(&v[i]->ooms);
	}
	int fd = af_g.stderr_fd;
	af_say(fd,
	       "summary of pid %d: %llu allocations at %d call sites; %llu injected failures, "
	       "%llu retried, %llu OOM",
	       (int)getpid(), (unsigned long long)calls, n, (unsigned long long)inj,
	       (unsigned long long)ret, (unsigned long long)oom);
	if (!n)
		return;
	af_say(fd, "%10s %12s %6s %6s %4s  %s", "calls", "bytes", "inject", "retry", "oom",
	       "call site");
	for (int i = 0; i < n && i < SHOW; i++) {
		char name[512];
		af_say(fd, "%10llu %12llu %6llu %6llu %4llu  %s%s",
		       (unsigned long long)calls_of(v[i]),
		       (unsigned long long)atomic_load(&v[i]->bytes),
		       (unsigned long long)atomic_load(&v[i]->injected),
		       (unsigned long long)atomic_load(&v[i]->retries),
		       (unsigned long long)atomic_load(&v[i]->ooms),
		       af_site_name(v[i]->pc, name, sizeof name), v[i]->runtime ? " [runtime]" : "");
	}
	if (n > SHOW)
		af_say(fd, "... and %d more call sites", n - SHOW);
}

void af_sites_exit(void)
{
	tc_exit_totals();
	if (af_g.census_fd >= 0)
		census_counts();
	if (af_g.mode & AF_M_SUMMARY) {
		summary();
		af_resv_summary(af_g.stderr_fd);
	}
}

int af_site_forked(struct af_site *s)
{
	return s == &overflow || atomic_load_explicit(&s->forked, memory_order_relaxed);
}

int af_site_fork_once(struct af_site *s)
{
	return s != &overflow && atomic_exchange_explicit(&s->forked, 1, memory_order_relaxed) == 0;
}
