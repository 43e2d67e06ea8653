/* af_addr.c - what a code address is: its module, function and the rules
   that accept it. Each distinct address is resolved once (module by the
   lock-free _dl_find_object, function by our own ELF symbol table reader)
   and kept in a read-mostly hash table: a hit costs a hash and a load or
   two, no lock and no write.
   dlclose: the shim's dlclose() marks dead every module that is no longer
   mapped where it was, and a module whose range is reused by a newly seen
   one is marked dead too; a dead module's cached addresses and verdicts
   stop matching (see docs/design.md). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "af.h"
#include "af_addr.h"
#include "af_sites.h"
#include "af_cfi.h"
#include "af_elf.h"
#include "af_glob.h"
#include "af_runtime.h"


/* The address table starts at 2^9 slots (one 4 KiB page) and doubles up
   to 2^20: a slot lands on a page by hash, and a short run that resolves a
   few dozen addresses should not fault in the pages of a big table. */
#define CACHE_MIN_BITS 9
#define CACHE_MAX_BITS 20
#define PROBES 64
#define MAXMODS 4096

struct af_mod af_unknown_mod = {.path = "?", .base = "?", .alive = 1, .syms_state = -1, .id = -1};

static struct af_mod *mods[MAXMODS];
static _Atomic int nmods;
static _Atomic(struct af_ptab *) cache; /* of struct af_addr (af_ptab.c) */
static int cache_full_warned;

extern int _dl_find_object(void *, struct dl_find_object *) __attribute__((weak));

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int af_is_runtime_path(const char *path)
{
	const char *base = basename_of(path);
	char glob[32];
	for (const char *p = AF_RUNTIME_MODULES; *p;) {
		size_t n = strcspn(p, ",");
		if (n < sizeof glob) {
			memcpy(glob, p, n);
			glob[n] = 0;
			if (af_glob(glob, base))
				return 1;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

static int entry_alive(const void *e)
{
	return ((const struct af_addr *)e)->mod->alive;
}

static const struct af_ptab_shape shape = {CACHE_MIN_BITS, CACHE_MAX_BITS, PROBES, entry_alive};

/* pc's live entry in t (of module mod, when not NULL), or NULL. */
static struct af_addr *lookup(struct af_ptab *t, uintptr_t pc, const struct af_mod *mod)
{
	unsigned h = af_ptab_hash(pc, t->bits), mask = (1u << t->bits) - 1;
	for (unsigned i = 0; i < PROBES; i++) {
		struct af_addr *a = atomic_load_explicit(&t->slot[(h + i) & mask], memory_order_acquire);
		if (!a)
			break;
		if (a->pc == pc && a->mod->alive && (!mod || a->mod == mod))
			return a;
	}
	return NULL;
}

/* Memory for module records and their paths when the heap has none: a
   report about memory running out is the one most likely to need it, and
   it should still name the module ("?+0x55..." names nothing). Taken
   with af_lock held; never given back, as module records never are. */
static _Alignas(16) unsigned char spare[8192];
static size_t spare_used;

static void *mod_alloc(size_t n)
{
	void *p = af_imalloc(n);
	if (p || spare_used + n > sizeof spare)
		return p;
	p = spare + spare_used;
	spare_used += (n + 15) & ~(size_t)15;
	return p; /* static storage: already zero */
}

static char *copy(const char *s)
{
	size_t n = strlen(s);
	char *d = mod_alloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* Module of pc; called with af_lock held (fo already looked up). */
static struct af_mod *module_locked(const struct dl_find_object *fo)
{
	uintptr_t start = (uintptr_t)fo->dlfo_map_start, end = (uintptr_t)fo->dlfo_map_end;
	for (int i = nmods - 1; i >= 0; i--)
		if (mods[i]->alive && mods[i]->link_map == fo->dlfo_link_map && mods[i]->start == start)
			return mods[i];
	if (nmods == MAXMODS)
		return &af_unknown_mod;
	/* a new object: any older one overlapping it was unloaded */
	for (int i = 0; i < nmods; i++)
		if (mods[i]->alive && mods[i]->start < end && start < mods[i]->end)
			mods[i]->alive = 0, atomic_fetch_add(&af_g.mod_gen, 1);
	struct link_map *lm = fo->dlfo_link_map;
	struct af_mod *m = mod_alloc(sizeof *m);
	if (!m)
		return &af_unknown_mod;
	const char *name = lm && lm->l_name && lm->l_name[0] ? lm->l_name : af_g.exe;
	m->path = copy(name);
	if (!m->path)
		m->path = "?";
	m->base = basename_of(m->path);
	m->start = start;
	m->end = end;
	m->bias = lm ? lm->l_addr : 0;
	m->link_map = lm;
	m->alive = 1;
	m->id = nmods;
	uintptr_t self = (uintptr_t)&af_addr_get;
	m->shim = self >= start && self < end;
	m->runtime = af_is_runtime_path(m->path);
	/* the unwind tables, for the walks by frame rules (af_walk.c) */
	uintptr_t hdr = (uintptr_t)fo->dlfo_eh_frame;
	if (hdr && af_cfi_segment(start, m->bias, hdr, &m->eh_lo, &m->eh_hi) == 0)
		m->eh_hdr = hdr;
	mods[nmods] = m;
	atomic_store_explicit(&nmods, nmods + 1, memory_order_release);
	return m;
}

/* The module's mapped symbol tables, opened once; NULL if unreadable. */
static struct af_symscan *scan_locked(struct af_mod *m)
{
	struct af_symscan *sc = atomic_load_explicit(&m->scan, memory_order_relaxed);
	if (sc || m->syms_state)
		return sc;
	sc = af_imalloc(sizeof *sc);
	if (!sc || af_symscan_open(m->path, sc) < 0) {
		if (sc)
			af_ifree(sc);
		m->syms_state = -1;
		return NULL;
	}
	atomic_store_explicit(&m->scan, sc, memory_order_release);
	return sc;
}

static void load_syms_locked(struct af_mod *m)
{
	if (m->syms_state)
		return;
	struct af_symscan *sc = scan_locked(m);
	m->syms = sc ? af_symtab_build(sc) : NULL;
	m->syms_state = m->syms ? 1 : -1;
}

static void resolve_func(struct af_addr *a)
{
	struct af_mod *m = a->mod;
	if (m->syms_state <= 0)
		return;
	const struct af_sym *s = af_symtab_find(m->syms, a->pc - 1 - m->bias);
	if (s) {
		const struct af_symtab *st = m->syms;
		a->aliases = st->aliases + s->alias;
		a->naliases = s->nalias;
		a->func_off = a->pc - m->bias - s->start;
		a->func = s->name;
	}
}

static AF_TLS struct af_addr scratch;
static AF_TLS uint64_t scratch_masks[3 * 16];

static void fill(struct af_addr *a, uint64_t *masks)
{
	if (af_g.match.need_names) {
		load_syms_locked(a->mod);
		resolve_func(a);
	}
	if (masks) {
		int W = af_g.match.nwords;
		a->site = masks;
		a->in = masks + W;
		a->notin = masks + 2 * W;
		struct af_frameinfo fi;
		af_addr_frameinfo(a, &fi);
		af_match_addr_masks(&af_g.match, &fi, a->site, a->in, a->notin);
	}
}

static struct af_addr *insert(uintptr_t pc, struct dl_find_object *fo, int found)
{
	pthread_mutex_lock(&af_lock);
	struct af_mod *mod = found ? module_locked(fo) : &af_unknown_mod;
	/* another thread may have inserted it meanwhile */
	struct af_ptab *t = atomic_load_explicit(&cache, memory_order_relaxed);
	struct af_addr *seen = t ? lookup(t, pc, mod) : NULL;
	if (seen) {
		pthread_mutex_unlock(&af_lock);
		return seen;
	}
	long slot;
	t = af_ptab_room(&cache, pc, &shape, &slot);
	int room = slot >= 0;
	int rules = (af_g.mode & AF_M_RULES) != 0;
	int W = af_g.match.nwords;
	struct af_addr *a = NULL;
	if (room)
		a = af_imalloc(sizeof *a + (rules ? sizeof(uint64_t) * 3 * (size_t)W : 0));
	if (a) {
		a->pc = pc;
		a->mod = mod;
		fill(a, rules ? (uint64_t *)(a + 1) : NULL);
		af_ptab_put(t, slot, a);
	} else {
		/* table full: resolve into this thread's scratch entry */
		if (!cache_full_warned) {
			cache_full_warned = 1;
			af_say(af_g.stderr_fd, "%s: matching by stack gets slower",
			       !t || room ? "no memory for the address cache" : "address cache full");
		}
		a = &scratch;
		memset(a, 0, sizeof *a);
		a->transient = 1;
		a->pc = pc;
		a->mod = mod;
		fill(a, rules && W <= 16 ? scratch_masks : NULL);
	}
	pthread_mutex_unlock(&af_lock);
	return a;
}

struct af_addr *af_addr_get(uintptr_t pc)
{
	struct af_ptab *t = atomic_load_explicit(&cache, memory_order_acquire);
	struct af_addr *hit = AF_LIKELY(t != NULL) ? lookup(t, pc, NULL) : NULL;
	if (AF_LIKELY(hit != NULL))
		return hit;
	struct dl_find_object fo;
	int found;
	if (_dl_find_object) {
		found = _dl_find_object((void *)pc, &fo) == 0;
	} else {
		/* glibc < 2.35: dladdr1 takes the loader lock, so never under ours */
		Dl_info info;
		struct link_map *lm = NULL;
		found = dladdr1((void *)pc, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm;
		if (found) {
			fo.dlfo_link_map = lm;
			fo.dlfo_map_start = info.dli_fbase;
			fo.dlfo_map_end = (char *)info.dli_fbase + 1;
			fo.dlfo_eh_frame = NULL;
		}
	}
	return insert(pc, &fo, found);
}

void af_addr_frameinfo(const struct af_addr *a, struct af_frameinfo *f)
{
	f->module = a->mod->path;
	f->basename = a->mod->base;
	f->func = a->func;
	f->aliases = a->aliases;
	f->naliases = a->naliases;
	f->offset = a->pc - a->mod->bias;
}

/* Names for the log and reports: the first few addresses of a module are
   found by scanning its symbol tables, and only a module asked about more
   often gets the sorted table. A short run that injects once then pays
   for a scan of the few modules on that stack, not for sorting libc's
   ten thousand symbols (docs/performance.md). Rules on names build the
   table at once (fill). */
#define SCANS_BEFORE_TABLE 16

const char *af_addr_func(struct af_addr *a, uintptr_t *off)
{
	if (af_g.no_names) /* ALLOCFAIL_LOG_NAMES=0: the reader names frames */
		return NULL;
	if (!a->func && a->mod->syms_state == 0) {
		pthread_mutex_lock(&af_lock);
		struct af_mod *m = a->mod;
		if (!a->func && m->syms_state == 0) {
			struct af_symscan *sc = m->scans < SCANS_BEFORE_TABLE ? scan_locked(m) : NULL;
			uint64_t start;
			const char *fn;
			if (sc) {
				m->scans++;
				if ((fn = af_symscan_find(sc, a->pc - 1 - m->bias, &start))) {
					a->func_off = a->pc - m->bias - start;
					a->func = fn;
				}
			} else {
				load_syms_locked(m);
			}
		}
		pthread_mutex_unlock(&af_lock);
	}
	if (!a->func)
		resolve_func(a);
	if (off)
		*off = a->func_off;
	return a->func;
}

const char *af_site_name(uintptr_t pc, char *buf, size_t cap)
{
	struct af_addr *a = af_addr_get(pc);
	uintptr_t off;
	const char *fn = af_addr_func(a, &off);
	if (fn)
		af_fmt(buf, cap, "%s+0x%lx (%s)", a->mod->base, (unsigned long)(pc - a->mod->bias), fn);
	else
		af_fmt(buf, cap, "%s+0x%lx", a->mod->base, (unsigned long)(pc - a->mod->bias));
	return buf;
}

/* For the crash handler: no lock, no allocation, no loading. The function
   containing pc (pc - 1 for a return address) if its module's symbols are
   already loaded, else NULL. */
const char *af_addr_peek_func(uintptr_t pc, int exact)
{
	struct dl_find_object fo;
	if (!_dl_find_object || _dl_find_object((void *)pc, &fo) != 0)
		return NULL;
	int n = atomic_load_explicit(&nmods, memory_order_acquire);
	for (int i = n - 1; i >= 0; i--) {
		struct af_mod *m = mods[i];
		if (m->alive && m->link_map == fo.dlfo_link_map &&
		    m->start == (uintptr_t)fo.dlfo_map_start) {
			uint64_t vaddr = pc - m->bias - (exact ? 0 : 1), start;
			if (m->syms_state == 1) {
				const struct af_sym *s = af_symtab_find(m->syms, vaddr);
				return s ? s->name : NULL;
			}
			/* a scan reads mapped memory only: safe here */
			struct af_symscan *sc = atomic_load_explicit(&m->scan, memory_order_acquire);
			return sc ? af_symscan_find(sc, vaddr, &start) : NULL;
		}
	}
	return NULL;
}

/* After a dlclose(): the modules that are gone, found by asking the loader
   (lock-free) whether each still maps where it did. A library loaded
   later at the same address is then seen as new, not as the old one. */
void af_addr_unloaded(void)
{
	if (!_dl_find_object)
		return;
	pthread_mutex_lock(&af_lock);
	for (int i = 0; i < nmods; i++) {
		struct af_mod *m = mods[i];
		struct dl_find_object fo;
		if (!m->alive || m->shim)
			continue;
		if (_dl_find_object((void *)m->start, &fo) != 0 || fo.dlfo_link_map != m->link_map ||
		    (uintptr_t)fo.dlfo_map_start != m->start || (uintptr_t)fo.dlfo_map_end != m->end)
			m->alive = 0, atomic_fetch_add(&af_g.mod_gen, 1);
	}
	pthread_mutex_unlock(&af_lock);
}
