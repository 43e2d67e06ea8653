/* af_ptab.c - the hash tables of code addresses (af_addr.c) and of call
   sites (af_sites.c). Readers probe without a lock; writers hold af_lock.
   A table starts small and, when 3/4 full or out of probes, is replaced by
   one twice the size: a short run touches a page or two, not megabytes
   (each new key lands on a page by hash). The old table stays, for readers
   still probing it. An entry's first member is its key, a pc. */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/mman.h>

#include "af_ptab.h"

static long free_slot(struct af_ptab *t, uintptr_t pc)
{
	unsigned mask = (1u << t->bits) - 1, h = af_ptab_hash(pc, t->bits);
	for (unsigned i = 0; i < t->probes; i++)
		if (!atomic_load_explicit(&t->slot[(h + i) & mask], memory_order_relaxed))
			return (h + i) & mask;
	return -1;
}

/* A table of 2^bits slots holding old's entries that keep() accepts. */
static struct af_ptab *grow(struct af_ptab *old, unsigned bits, unsigned probes,
			    int (*keep)(const void *))
{
	size_t size = sizeof(struct af_ptab) + sizeof(void *) * ((size_t)1 << bits);
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	struct af_ptab *t = m;
	t->bits = bits;
	t->probes = probes;
	t->older = old;
	for (size_t i = 0; old && i < ((size_t)1 << old->bits); i++) {
		void *e = atomic_load_explicit(&old->slot[i], memory_order_relaxed);
		if (!e || (keep && !keep(e)))
			continue;
		long k = free_slot(t, *(const uintptr_t *)e);
		if (k < 0) { /* not below 3/4 full; keep the old table */
			munmap(m, size);
			return NULL;
		}
		atomic_store_explicit(&t->slot[k], e, memory_order_relaxed);
		t->used++;
	}
	return t;
}

struct af_ptab *af_ptab_room(_Atomic(struct af_ptab *) *root, uintptr_t pc,
			     const struct af_ptab_shape *shape, long *slot)
{
	struct af_ptab *t = atomic_load_explicit(root, memory_order_relaxed);
	if (!t && (t = grow(NULL, shape->min_bits, shape->probes, NULL)))
		atomic_store_explicit(root, t, memory_order_release);
	*slot = -1;
	if (!t)
		return NULL;
	long k = free_slot(t, pc);
	if ((k < 0 || t->used + 1 > (3u << t->bits) / 4) && t->bits < shape->max_bits) {
		struct af_ptab *g = grow(t, t->bits + 1, shape->probes, shape->keep);
		if (g) {
			atomic_store_explicit(root, g, memory_order_release);
			t = g;
			k = free_slot(t, pc);
		}
	}
	if (k >= 0 && t->used + 1 <= (3u << t->bits) / 4)
		*slot = k;
	return t;
}

void af_ptab_put(struct af_ptab *t, long slot, void *entry)
{
	atomic_store_explicit(&t->slot[slot], entry, memory_order_release);
	t->used++;
}
