/* af_backend.c - where memory really comes from.
   jemalloc: Debian's libjemalloc_pic.a with every public symbol renamed to
   afje_* at build time (shim/jemalloc-rename.sh) and hidden by the version
   script, so its malloc/free never land in the process's global scope. The
   plain malloc/calloc/realloc/free are jemalloc's fastest paths; mallocx
   serves alignment and sallocx usable sizes.
   next: the allocator after the shim in symbol lookup (glibc, or the ASan
   runtime), found with dlsym(RTLD_NEXT); dlsym's own allocations are served
   from a static bootstrap pool whose blocks are never freed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "af_fmt.h"

#include "af.h"

#define AFJE_ALIGN(a) ((int)(ffsll((long long)(a)) - 1))
#define AFJE_ZERO 0x40

int af_backend = AF_BE_JEMALLOC;
#define backend af_backend

void *(*af_next_malloc)(size_t);
void *(*af_next_calloc)(size_t, size_t);
void *(*af_next_realloc)(void *, size_t);
void (*af_next_free)(void *);
#define next_malloc af_next_malloc
#define next_calloc af_next_calloc
#define next_realloc af_next_realloc
#define next_free af_next_free
static int (*next_posix_memalign)(void **, size_t, size_t);
static size_t (*next_usable)(void *);
static int (*next_trim)(size_t);
static struct mallinfo2 (*next_mallinfo2)(void);

/* ---- bootstrap pool for dlsym --------------------------------------- */

#define POOL_SIZE (256 * 1024)
static _Alignas(64) unsigned char pool[POOL_SIZE];
static _Atomic size_t pool_used;

struct pool_hdr {
	size_t size;
	size_t pad;
};

static void *pool_alloc(size_t n, size_t align)
{
	if (align < 16)
		align = 16;
	size_t need = n + sizeof(struct pool_hdr) + align;
	size_t off = atomic_fetch_add(&pool_used, (need + 15) & ~(size_t)15);
	if (off + need > POOL_SIZE)
		return NULL;
	uintptr_t base = (uintptr_t)pool + off + sizeof(struct pool_hdr);
	uintptr_t p = (base + align - 1) & ~(uintptr_t)(align - 1);
	((struct pool_hdr *)p)[-1].size = n;
	return (void *)p; /* static storage: already zero */
}

int af_be_owns_bootstrap(void *p)
{
	return (unsigned char *)p >= pool && (unsigned char *)p < pool + POOL_SIZE;
}

static void *resolve(const char *name, int required)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f && required) {
		af_say(2, "ALLOCFAIL_BACKEND=next: no next definition of %s in the process", name);
		_exit(125);
	}
	return f;
}

void af_backend_init(int which)
{
	backend = which;
	if (which != AF_BE_NEXT)
		return;
	next_malloc = resolve("malloc", 1);
	next_calloc = resolve("calloc", 1);
	next_realloc = resolve("realloc", 1);
	next_free = resolve("free", 1);
	next_posix_memalign = resolve("posix_memalign", 1);
	next_usable = resolve("malloc_usable_size", 1);
	next_trim = resolve("malloc_trim", 0);
	next_mallinfo2 = resolve("mallinfo2", 0);
}

/* ---- the program's memory --------------------------------------------- */

void *af_be_aligned(size_t align, size_t n)
{
	if (n == 0)
		n = 1;
	if (backend == AF_BE_JEMALLOC)
		return afje_mallocx(n, AFJE_ALIGN(align));
	if (!next_posix_memalign)
		return pool_alloc(n, align);
	void *p = NULL;
	if (align < sizeof(void *))
		align = sizeof(void *);
	return next_posix_memalign(&p, align, n) == 0 ? p : NULL;
}

/* the slow half of af_be_realloc (af_backend.h) */
void *af_be_realloc_pool(void *p, size_t n)
{
	void *q = af_be_malloc(n);
	if (q) {
		size_t old = ((struct pool_hdr *)p)[-1].size;
		memcpy(q, p, old < n ? old : n);
	}
	return q;
}

void *af_be_pool_alloc(size_t n)
{
	return pool_alloc(n, 16);
}

size_t af_be_usable(void *p)
{
	if (AF_LIKELY(backend == AF_BE_JEMALLOC))
		return afje_sallocx(p, 0);
	if (af_be_owns_bootstrap(p))
		return ((struct pool_hdr *)p)[-1].size;
	return next_usable(p);
}

void af_be_purge(void)
{
	if (backend == AF_BE_JEMALLOC)
		afje_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
	else if (next_trim)
		next_trim(0);
}

uint64_t af_be_allocated(void)
{
	if (backend == AF_BE_JEMALLOC) {
		uint64_t epoch = 1;
		size_t sz = sizeof epoch;
		afje_mallctl("epoch", &epoch, &sz, &epoch, sz);
		size_t allocated = 0;
		sz = sizeof allocated;
		if (afje_mallctl("stats.allocated", &allocated, &sz, NULL, 0) == 0)
			return allocated;
		return 0;
	}
	if (next_mallinfo2)
		return next_mallinfo2().uordblks;
	return 0;
}

/* ---- the shim's own memory -------------------------------------------- */

/* With anything configured the shim's tables come from an arena of their
   own, without a thread cache: a signal handler that allocates (not
   async-signal-safe, but common) may interrupt the program's allocation
   inside jemalloc, holding a lock of its arena, and the handler's call may
   then run the shim's slow work (an address seen for the first time).
   With the program's arena that work waited for the lock the interrupted
   call held, for good; the program's own blocks take the locks they would
   take without the shim. The arena is made once the configuration asks
   for more than the plain path: mallctl builds jemalloc's control tree
   (page faults that a process with nothing configured never pays).
   Blocks from before then are freed the same way, into their own arena. */
static int iflags; /* MALLOCX_ARENA(internal) | MALLOCX_TCACHE_NONE, or 0 */
#define AFJE_ARENA(a) ((int)(((unsigned)(a) + 1) << 20))
#define AFJE_TCACHE_NONE (1 << 8)

void af_be_internal_arena(void)
{
	unsigned a;
	size_t sz = sizeof a;
	if (!iflags && afje_mallctl("arenas.create", &a, &sz, NULL, 0) == 0)
		iflags = AFJE_ARENA(a) | AFJE_TCACHE_NONE;
}

void *af_imalloc(size_t n)
{
	return afje_mallocx(n ? n : 1, iflags | AFJE_ZERO);
}

void *af_imalloc_own(size_t n)
{
	/* whole cache lines of its own: the shim's arena has no thread
	   cache, so two threads' small blocks would otherwise sit side by
	   side, and their owners' writes (a probability stream's countdown)
	   would bounce the line between them (2 threads: 1.45x -> 3.0x) */
	size_t line = 64;
	return afje_mallocx((n + line - 1) / line * line, iflags | AFJE_ZERO | AFJE_ALIGN(line));
}

void af_ifree(void *p)
{
	if (p)
		afje_dallocx(p, AFJE_TCACHE_NONE);
}

void *af_mem_alloc(size_t n)
{
	return af_imalloc(n);
}

void af_mem_free(void *p)
{
	af_ifree(p);
}
