/* af_ptab.h - lock-free-read hash tables keyed by pc (an entry's first
   member), grown under af_lock (af_ptab.c). */
#ifndef AF_PTAB_H
#define AF_PTAB_H

#include <stdatomic.h>
#include <stdint.h>

struct af_ptab {
	unsigned bits, probes, used;
	struct af_ptab *older; /* kept: a reader may still be probing it */
	_Atomic(void *) slot[];
};
struct af_ptab_shape {
	unsigned min_bits, max_bits, probes;
	int (*keep)(const void *entry); /* entries worth moving on growth */
};
static inline unsigned af_ptab_hash(uintptr_t pc, unsigned bits)
{
	return (unsigned)((pc * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}
/* With af_lock held: the current table, grown if it had to be, and in
   *slot a free slot for pc, or -1 when there is no room (or memory). */
struct af_ptab *af_ptab_room(_Atomic(struct af_ptab *) *root, uintptr_t pc,
			     const struct af_ptab_shape *shape, long *slot);
void af_ptab_put(struct af_ptab *t, long slot, void *entry);

#endif
