/* af_limit.c - the simulated memory limit (`set limit=SIZE`).
   A global pool holds the bytes not yet handed out. Each thread draws
   credit from it in chunks and spends it locally, so most allocations and
   frees touch only the thread's own cache line (an atomic add on it, in
   this slow path only). A thread returns credit beyond two chunks, and all
   of it when it exits. When the pool refuses a request, the refused thread
   takes every other thread's credit back into the pool and tries again, so
   memory freed anywhere reaches a thread waiting at the limit, and idle
   threads cannot hold back memory below the limit. Chunks are at most
   limit/256. Reservations (allocfail.h) draw from the same pool. */
#define _GNU_SOURCE
#include <pthread.h>
#include <time.h>

#include "af.h"
#include "af_limit.h"


static _Atomic int64_t avail;
static int64_t chunk;
static struct af_thread *threads;
static pthread_key_t exit_key;
static int key_ok;

static void thread_exit(void *p);

void af_limit_init(uint64_t limit)
{
	/* what was allocated before the configuration counts too */
	atomic_store(&avail, (int64_t)limit - (int64_t)atomic_load(&af_early_bytes));
	chunk = (int64_t)(limit / 256);
	if (chunk > 256 * 1024)
		chunk = 256 * 1024;
	if (chunk < 64)
		chunk = 0;
	key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
}

void af_thread_register(struct af_thread *t)
{
	if (t->registered)
		return;
	t->registered = 1;
	pthread_mutex_lock(&af_lock);
	t->next = threads;
	threads = t;
	pthread_mutex_unlock(&af_lock);
	if (key_ok)
		pthread_setspecific(exit_key, t);
}

static void give_back(int64_t n)
{
	if (n)
		atomic_fetch_add_explicit(&avail, n, memory_order_relaxed);
}

/* Every thread's positive credit back into the pool. The owners change
   their credit with atomic adds only, so taking it with a compare-and-swap
   never loses or doubles a byte; an owner that finds its credit gone draws
   from the pool again. */
static void steal_credit(void)
{
	pthread_mutex_lock(&af_lock);
	for (struct af_thread *t = threads; t; t = t->next) {
		int64_t c = atomic_load_explicit(&t->credit, memory_order_relaxed);
		while (c > 0 && !atomic_compare_exchange_weak_explicit(&t->credit, &c, 0,
								       memory_order_relaxed,
								       memory_order_relaxed))
			;
		if (c > 0)
			give_back(c);
	}
	pthread_mutex_unlock(&af_lock);
}

/* n bytes from the pool for the calling thread: n alone, or n and a chunk
   of credit when the pool has it. */
static int draw(struct af_thread *t, int64_t need, int force)
{
	int64_t want = need + chunk;
	int64_t a = atomic_load_explicit(&avail, memory_order_relaxed);
	for (;;) {
		int64_t take;
		if (a >= want)
			take = want;
		else if (a >= need || force)
			take = need;
		else
			return -1;
		if (atomic_compare_exchange_weak_explicit(&avail, &a, a - take, memory_order_relaxed,
							  memory_order_relaxed)) {
			atomic_fetch_add_explicit(&t->credit, take, memory_order_relaxed);
			return 0;
		}
	}
}

/* A thread past its exit destructor keeps no credit: it uses the pool
   directly, so nothing is left behind in freed thread memory. */
static int take_direct(int64_t n, int force)
{
	int64_t a = atomic_load_explicit(&avail, memory_order_relaxed);
	for (;;) {
		if (a < n && !force)
			return -1;
		if (atomic_compare_exchange_weak_explicit(&avail, &a, a - n, memory_order_relaxed,
							  memory_order_relaxed))
			return 0;
	}
}

int af_limit_take(struct af_thread *t, size_t n, int force)
{
	if (AF_UNLIKELY(t->registered <= 0)) {
		if (t->registered < 0)
			return take_direct((int64_t)n, force);
		af_thread_register(t);
	}
	int64_t c = atomic_fetch_sub_explicit(&t->credit, (int64_t)n, memory_order_relaxed);
	if (c >= (int64_t)n)
		return 0;
	/* the credit went below zero: cover it from the pool */
	int64_t need = (int64_t)n - (c > 0 ? c : 0);
	if (draw(t, need, force) == 0)
		return 0;
	/* refused: take back what other threads hold, and try once more */
	steal_credit();
	if (draw(t, need, force) == 0)
		return 0;
	atomic_fetch_add_explicit(&t->credit, (int64_t)n, memory_order_relaxed);
	return -1;
}

void af_limit_give(struct af_thread *t, size_t n)
{
	if (AF_UNLIKELY(t->registered <= 0)) {
		if (t->registered < 0) {
			give_back((int64_t)n);
			return;
		}
		af_thread_register(t);
	}
	int64_t c = atomic_fetch_add_explicit(&t->credit, (int64_t)n, memory_order_relaxed) + (int64_t)n;
	while (c > 2 * chunk) {
		if (atomic_compare_exchange_weak_explicit(&t->credit, &c, chunk, memory_order_relaxed,
							  memory_order_relaxed)) {
			give_back(c - chunk);
			break;
		}
	}
}

/* Bytes in use: the limit less what is in the pool and held as credit. */
int64_t af_limit_live(void)
{
	int64_t held = 0;
	pthread_mutex_lock(&af_lock);
	for (struct af_thread *t = threads; t; t = t->next)
		held += atomic_load_explicit(&t->credit, memory_order_relaxed);
	pthread_mutex_unlock(&af_lock);
	return (int64_t)af_g.pol.set.limit - atomic_load(&avail) - held;
}

void af_limit_thread_exit(struct af_thread *t)
{
	give_back(atomic_exchange_explicit(&t->credit, 0, memory_order_relaxed));
}

static pthread_key_t private_key;
static pthread_once_t private_once = PTHREAD_ONCE_INIT;

static void private_exit(void *p)
{
	struct af_thread *t = p;
	t->guard++; /* a signal handler's allocation meanwhile is the backend's:
		       its slow path would wait for af_lock, held below */
	/* the pointers first, then what they point to: a signal handler's
	   allocation on this thread reaches the memo by qwalks (quick_hit()
	   tests no guard), and the memo's entries point into the streams */
	struct af_walks *w = t->walks;
	struct af_stream *d = t->draws;
	t->qwalks = NULL;
	t->walks = NULL;
	t->draws = NULL;
	t->private_gone = 1; /* later draws use the rules' shared streams, and
				counts the sites' own counters */
	atomic_signal_fence(memory_order_seq_cst);
	af_ifree(w);
	af_ifree(d);
	af_sites_thread_exit(t);
	t->guard--;
}

static void private_init(void)
{
	pthread_key_create(&private_key, private_exit);
}

void af_thread_register_exit(struct af_thread *t)
{
	pthread_once(&private_once, private_init);
	pthread_setspecific(private_key, t);
}

static void thread_exit(void *p)
{
	struct af_thread *t = p;
	t->guard++; /* a signal handler's allocation meanwhile is the backend's:
		       its slow path would wait for af_lock, held below */
	af_limit_thread_exit(t);
	pthread_mutex_lock(&af_lock);
	for (struct af_thread **pp = &threads; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	pthread_mutex_unlock(&af_lock);
	t->registered = -1;
	t->guard--;
}

/* In a forked child only the forking thread exists. */
void af_limit_atfork_child(void)
{
	struct af_thread *self = &af_t;
	for (struct af_thread *t = threads; t; t = t->next)
		if (t != self)
			give_back(atomic_exchange_explicit(&t->credit, 0, memory_order_relaxed));
	threads = self->registered ? self : NULL;
	if (self->registered)
		self->next = NULL;
}

/* Reservations ---------------------------------------------------------- */

/* Take n bytes out of the pool for a reservation: others then see
   limit - reserved. Waits up to timeout_ns for memory to be freed. */
int af_limit_reserve(int64_t n, uint64_t timeout_ns)
{
	uint64_t start = af_now_ns();
	for (;;) {
		int64_t a = atomic_load_explicit(&avail, memory_order_relaxed);
		while (a >= n) {
			if (atomic_compare_exchange_weak_explicit(&avail, &a, a - n,
								  memory_order_relaxed,
								  memory_order_relaxed))
				return 0;
		}
		steal_credit();
		if (atomic_load_explicit(&avail, memory_order_relaxed) >= n)
			continue;
		if (af_now_ns() - start >= timeout_ns)
			return -1;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

void af_limit_unreserve(int64_t n)
{
	give_back(n);
}
