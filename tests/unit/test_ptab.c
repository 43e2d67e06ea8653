/* test_ptab.c - the shim's pointer tables (shim/af_ptab.c, built here on
   its own: it needs only mmap): entries are found after every growth,
   colliding keys take the next slots, a table stops at its largest size
   3/4 full, growth drops what keep() refuses, and readers that probe
   without a lock while a writer grows the table find every entry
   published before they looked. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "af_ptab.h"
#include "harness.h"

struct entry {
	uintptr_t pc; /* first: the key */
	uintptr_t value;
	int alive;
};

/* What af_addr.c and af_sites.c do: probe from the hash to the first
   empty slot. */
static struct entry *lookup(struct af_ptab *t, uintptr_t pc)
{
	unsigned h = af_ptab_hash(pc, t->bits), mask = (1u << t->bits) - 1;
	for (unsigned i = 0; i < t->probes; i++) {
		struct entry *e = atomic_load_explicit(&t->slot[(h + i) & mask], memory_order_acquire);
		if (!e)
			break;
		if (e->pc == pc)
			return e;
	}
	return NULL;
}

static _Atomic(struct af_ptab *) root;

/* 0 when there was room, -1 when not. */
static int insert(struct entry *e, const struct af_ptab_shape *shape)
{
	long slot;
	struct af_ptab *t = af_ptab_room(&root, e->pc, shape, &slot);
	if (slot < 0)
		return -1;
	af_ptab_put(t, slot, e);
	return 0;
}

static struct af_ptab *current(void)
{
	return atomic_load_explicit(&root, memory_order_acquire);
}

static uintptr_t key(int i)
{
	return 0x400000 + (uintptr_t)i * 16; /* code addresses: aligned, close */
}

static struct entry entries[1 << 16];

static void test_put_lookup(void)
{
	static const struct af_ptab_shape shape = {6, 6, 64, NULL};
	CHECK(current() == NULL);
	for (int i = 0; i < 40; i++) {
		entries[i] = (struct entry){key(i), (uintptr_t)i * 7, 1};
		CHECK_EQ(insert(&entries[i], &shape), 0);
	}
	struct af_ptab *t = current();
	CHECK_EQ(t->bits, 6);
	CHECK_EQ(t->used, 40);
	for (int i = 0; i < 40; i++)
		CHECK(lookup(t, key(i)) == &entries[i]);
	CHECK(lookup(t, key(40)) == NULL);
	CHECK(lookup(t, key(-1)) == NULL);
	CHECK(lookup(t, 0) == NULL);
}

/* Keys of one hash at 2^bits slots. */
static int colliding(uintptr_t *v, int n, unsigned bits)
{
	unsigned want = af_ptab_hash(key(0), bits);
	int k = 0;
	for (int i = 0; k < n && i < 1 << 22; i++)
		if (af_ptab_hash(key(i), bits) == want)
			v[k++] = key(i);
	return k;
}

/* n keys of one hash at 2^8 slots into v, inserted in order as
   entries[0..n-1]: the first `fits` go in, the others do not. */
static void insert_colliding(uintptr_t *v, int n, const struct af_ptab_shape *shape, int fits)
{
	CHECK_EQ(colliding(v, n, 8), n);
	for (int i = 0; i < n; i++) {
		entries[i] = (struct entry){v[i], (uintptr_t)i, 1};
		CHECK_EQ(insert(&entries[i], shape), i < fits ? 0 : -1);
	}
}

static void test_collisions(void)
{
	static const struct af_ptab_shape shape = {8, 8, 64, NULL};
	uintptr_t v[10];
	insert_colliding(v, 10, &shape, 10);
	struct af_ptab *t = current();
	unsigned h = af_ptab_hash(v[0], 8);
	for (int i = 0; i < 10; i++) {
		CHECK(lookup(t, v[i]) == &entries[i]);
		/* linear probing: the i-th of a hash is i slots on */
		CHECK(atomic_load(&t->slot[(h + (unsigned)i) & 255]) == &entries[i]);
	}
}

/* From 2^4 slots to 2^8: each growth doubles, at 3/4 full, keeps every
   entry and the table before it; at 2^8, 192 entries and no more. */
static void test_growth_to_full(void)
{
	static const struct af_ptab_shape shape = {4, 8, 256, NULL};
	int n = 0;
	unsigned bits = 4;
	for (;; n++) {
		entries[n] = (struct entry){key(n), (uintptr_t)n, 1};
		if (insert(&entries[n], &shape) < 0)
			break;
		struct af_ptab *t = current();
		if (t->bits != bits) {
			CHECK_EQ(t->bits, bits + 1);
			CHECK_EQ(n, (int)(3u << bits) / 4); /* the one that did not fit */
			CHECK(t->older && t->older->bits == bits);
			bits = t->bits;
		}
		for (int i = 0; i <= n; i++)
			if (lookup(t, key(i)) != &entries[i]) {
				printf("    key %d lost after %d entries\n", i, n + 1);
				h_failed++;
				return;
			}
	}
	CHECK_EQ(n, 192);
	CHECK_EQ(current()->bits, 8);
	CHECK_EQ(current()->used, 192);
	/* full: no slot, whatever the key */
	for (int i = 0; i < 50; i++) {
		struct entry e = {key(100000 + i), 0, 1};
		CHECK_EQ(insert(&e, &shape), -1);
	}
	CHECK(lookup(current(), key(191)) == &entries[191]);
}

/* Out of probes before 3/4 full: the table grows all the same. */
static void test_probes_exhausted(void)
{
	static const struct af_ptab_shape shape = {8, 9, 4, NULL};
	uintptr_t v[5];
	insert_colliding(v, 5, &shape, 5);
	struct af_ptab *t = current();
	CHECK_EQ(t->bits, 9);
	for (int i = 0; i < 5; i++)
		CHECK(lookup(t, v[i]) == &entries[i]);
}

/* Same, at the largest size: no room for the fifth of a hash. */
static void test_probes_exhausted_at_max(void)
{
	static const struct af_ptab_shape shape = {8, 8, 4, NULL};
	uintptr_t v[5];
	insert_colliding(v, 5, &shape, 4);
	CHECK_EQ(current()->used, 4);
}

static int alive(const void *e)
{
	return ((const struct entry *)e)->alive;
}

/* Growth moves only what keep() accepts (entries of unloaded modules). */
static void test_keep(void)
{
	static const struct af_ptab_shape shape = {4, 6, 64, alive};
	for (int i = 0; i < 12; i++) {
		entries[i] = (struct entry){key(i), (uintptr_t)i, i % 3 != 0};
		CHECK_EQ(insert(&entries[i], &shape), 0);
	}
	/* the 13th grows the table: the four dead are left behind */
	entries[12] = (struct entry){key(12), 12, 1};
	CHECK_EQ(insert(&entries[12], &shape), 0);
	struct af_ptab *t = current();
	CHECK_EQ(t->bits, 5);
	CHECK_EQ(t->used, 9);
	for (int i = 0; i <= 12; i++)
		CHECK(lookup(t, key(i)) == (i % 3 != 0 || i == 12 ? &entries[i] : NULL));
	CHECK(lookup(t->older, key(3)) == &entries[3]);
}

/* ---- readers against a growing table -------------------------------- */

#define NKEYS 40000
static _Atomic int published;
static _Atomic int done;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static _Atomic int started;
static _Atomic long passes[2];

/* Looks up published keys, newest first (those a growth moves last),
   until the writer is done; a reader reads the root before each probe, as
   the shim's readers do. */
static void *reader(void *arg)
{
	long *misses = arg;
	int me = atomic_fetch_add(&started, 1);
	while (!atomic_load(&done)) {
		atomic_fetch_add(&passes[me], 1);
		int n = atomic_load_explicit(&published, memory_order_acquire);
		for (int i = n - 1; i >= 0 && i >= n - 256; i--) {
			struct entry *e = lookup(current(), key(i));
			if (!e || e->pc != key(i) || e->value != (uintptr_t)i * 3)
				misses[0]++;
			misses[1]++;
		}
	}
	return NULL;
}

static void test_readers_while_growing(void)
{
	static const struct af_ptab_shape shape = {4, 16, 64, NULL};
	pthread_t th[2];
	long misses[2][2] = {{0}}; /* misses, lookups */
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader, misses[i]);
	while (atomic_load(&started) < 2)
		sched_yield();
	int grown = 0;
	for (int i = 0; i < NKEYS; i++) {
		entries[i] = (struct entry){key(i), (uintptr_t)i * 3, 1};
		/* before a growth, both readers are seen probing */
		struct af_ptab *before = current();
		if (before && before->used + 1 > (3u << before->bits) / 4) {
			long p0 = atomic_load(&passes[0]), p1 = atomic_load(&passes[1]);
			while (atomic_load(&passes[0]) < p0 + 2 || atomic_load(&passes[1]) < p1 + 2)
				sched_yield();
		}
		pthread_mutex_lock(&lock);
		int r = insert(&entries[i], &shape);
		grown += before && current() != before;
		pthread_mutex_unlock(&lock);
		CHECK_EQ(r, 0);
		atomic_store_explicit(&published, i + 1, memory_order_release);
	}
	atomic_store(&done, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(misses[0][0] + misses[1][0], 0);
	CHECK(misses[0][1] > 0 && misses[1][1] > 0);
	CHECK_EQ(grown, 12); /* 2^4 to 2^16 */
	CHECK_EQ(current()->bits, 16);
	for (int i = 0; i < NKEYS; i++)
		if (lookup(current(), key(i)) != &entries[i]) {
			CHECK(lookup(current(), key(i)) == &entries[i]);
			break;
		}
}

int main(void)
{
	static const struct h_test tests[] = {
		T(test_put_lookup),       T(test_collisions),              T(test_growth_to_full),
		T(test_probes_exhausted), T(test_probes_exhausted_at_max), T(test_keep),
		T(test_readers_while_growing),
	};
	return h_run(tests, (int)(sizeof tests / sizeof *tests));
}
